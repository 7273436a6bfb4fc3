//! Rich output for evcxr: how a value shows itself as a picture in Jupyter.
//!
//! evcxr reads the cell's stdout; a block between `EVCXR_BEGIN_CONTENT <mime>` and
//! `EVCXR_END_CONTENT` becomes one entry of the cell's display data. evcxr keeps one entry per
//! MIME type per cell, so a cell shows one figure: split cells that would show two.
//!
//! A figure is sent as `text/html` holding an `<img>` whose source is the SVG as a base64 data
//! URI, plus a `text/plain` fallback (the text timeline) for terminals and text exports.
//! Why not plain `image/svg+xml`, or the SVG inline in the HTML? Both render while the cell
//! runs, but a notebook opened from disk is *untrusted*: JupyterLab then refuses SVG outputs
//! and strips inline `<svg>` from HTML, so the committed notebooks would show only text. An
//! `<img>` with a data URI survives sanitising, in JupyterLab, nbconvert's HTML and on GitHub.

use base64::Engine;
use std::io::Write;

/// Prints an SVG figure (with `alt` as its description) and a text fallback as one display item.
pub(crate) fn emit_figure(svg: &str, alt: &str, text: &str) {
    emit(&[("text/html", &figure_html(svg, alt)), ("text/plain", text)]);
}

/// Prints `markdown` (rendered by Jupyter, code blocks highlighted) with a plain-text fallback.
pub(crate) fn emit_markdown(markdown: &str, text: &str) {
    emit(&[("text/markdown", markdown), ("text/plain", text)]);
}

/// Prints `text` as the cell's plain-text display item.
pub(crate) fn emit_text(text: &str) {
    emit(&[("text/plain", text)]);
}

fn figure_html(svg: &str, alt: &str) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(svg);
    format!(
        "<img alt=\"{}\" src=\"data:image/svg+xml;base64,{data}\"/>",
        escape_attribute(alt)
    )
}

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn emit(items: &[(&str, &str)]) {
    let mut out = std::io::stdout().lock();
    for (mime, content) in items {
        // A failed write means evcxr's pipe is gone (the kernel is shutting down): nothing to show.
        let _ = write!(
            out,
            "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n"
        );
    }
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figure_is_an_img_with_the_svg_as_a_data_uri() {
        let html = figure_html("<svg/>", "a \"quoted\" <title>");
        assert_eq!(
            html,
            "<img alt=\"a &quot;quoted&quot; &lt;title&gt;\" \
             src=\"data:image/svg+xml;base64,PHN2Zy8+\"/>"
        );
    }
}
