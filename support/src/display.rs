//! Rich output for evcxr: how a value shows itself as a picture in Jupyter.
//!
//! evcxr reads the cell's stdout; a block between `EVCXR_BEGIN_CONTENT <mime>` and
//! `EVCXR_END_CONTENT` becomes one entry of the cell's display data. We send an SVG picture
//! and a plain-text fallback: JupyterLab and GitHub draw the SVG, while a terminal run
//! (`make part_NN`) or a text export prints the text. evcxr keeps one entry per MIME type per
//! cell, so a cell shows one figure: split cells that would show two.

use std::io::Write;

/// Prints `svg` and `text` as one display item for evcxr.
pub(crate) fn emit(svg: &str, text: &str) {
    let mut out = std::io::stdout().lock();
    // A failed write means evcxr's pipe is gone: the kernel is shutting down, nothing to show.
    let _ = write!(
        out,
        "EVCXR_BEGIN_CONTENT image/svg+xml\n{svg}\nEVCXR_END_CONTENT\n\
         EVCXR_BEGIN_CONTENT text/plain\n{text}\nEVCXR_END_CONTENT\n"
    );
    let _ = out.flush();
}

/// Prints `text` as the cell's plain-text display item.
pub(crate) fn emit_text(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "EVCXR_BEGIN_CONTENT text/plain\n{text}\nEVCXR_END_CONTENT\n"
    );
    let _ = out.flush();
}
