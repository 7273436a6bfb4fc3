"""Notebooks in exactly the form JupyterLab 4.6 saves them after running them.

A notebook the runner executed and the same notebook run in JupyterLab and saved should be the
same file, and opening and saving it without running anything should change nothing; otherwise
every re-run and every workshop turns into a diff of every cell. Checked in a real browser
(JupyterLab 4.6.6, Chromium, Playwright): open and save leaves a file byte for byte as it was,
in this form and in nbclient's; running cells is what changes it, like this (read from
JupyterLab 4.6.3 and @jupyter/ydoc 4.1, the versions requirements.txt pins or pulls in):

* Timing metadata. nbclient's ``record_timing`` writes ``cell.metadata.execution``
  (four timestamps per cell); JupyterLab's "Record cell timing" is off by default, and a cell
  it runs loses the key. ``normalise`` drops it. (The runner also turns ``record_timing`` off,
  so nothing new is recorded; dropping it here cleans notebooks written before that.)
* Stream outputs. nbclient appends one output per stream message. JupyterLab's output model
  (``OutputAreaModel._add``) merges an output into the previous one when both are ``stream``
  outputs of the same ``name``, and runs stream text through a small terminal emulation:
  ``\\r`` returns to the start of the line, ``\\b`` deletes backwards, ``\\n`` appends a line.
  ``normalise`` does both, with a port of that emulation (``process_text``).
* ``collapsed`` and ``jupyter.outputs_hidden`` are kept in step (nbformat 4.4 has both), and
  a missing ``kernelspec`` or ``language_info`` gets the empty one JupyterLab adds.

What needs no code here: the JSON layout (the Jupyter server writes with ``nbformat.write``,
as the runner does), ``metadata.trusted`` (nbformat strips it when writing) and transient
output data (never stored). JupyterLab does not upgrade an nbformat 4.4 notebook to 4.5 when it
saves one, so neither does this; the survey's notebooks are 4.5.

Usage, to normalise notebooks in place without executing them::

    python -m survey.labformat [--check] NOTEBOOK...
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

# The characters JupyterLab's stream emulation acts on (a character class, so \x08 is
# backspace; spelled out because "\b" would read as a word boundary to most readers).
STREAM_CONTROL = re.compile("[\n\x08\r]")


def normalise(notebook: NotebookNode) -> NotebookNode:
    """Rewrite ``notebook`` in place into the form JupyterLab saves; returns it.

    Idempotent, and it never executes anything: it only rearranges what is there."""
    ensure_lab_metadata(notebook.metadata)
    for cell in notebook.cells:
        sync_collapsed(cell.metadata)
        if cell.cell_type == "code":
            cell.metadata.pop("execution", None)
            cell.outputs = lab_outputs(cell.outputs)
    return notebook


def is_normal(notebook: NotebookNode) -> bool:
    """Whether saving ``notebook`` from JupyterLab would leave it unchanged."""
    return normalise(copy.deepcopy(notebook)) == notebook


def ensure_lab_metadata(metadata: NotebookNode) -> None:
    """The empty ``language_info`` and ``kernelspec`` JupyterLab adds when they are missing
    (NotebookModel._ensureMetadata). A kernel fills in the real ones; the runner does not
    touch them."""
    if metadata.get("language_info") is None:
        metadata["language_info"] = {"name": ""}
    if metadata.get("kernelspec") is None:
        metadata["kernelspec"] = {"name": "", "display_name": ""}


def sync_collapsed(metadata: NotebookNode) -> None:
    """Keep ``collapsed`` and ``jupyter.outputs_hidden`` equal, as @jupyter/ydoc's
    ``setMetadata`` does on load: ``collapsed`` wins when both are there."""
    if metadata.get("collapsed") is not None:
        jupyter = metadata.setdefault("jupyter", {})
        jupyter["outputs_hidden"] = metadata["collapsed"]
    elif metadata.get("jupyter", {}).get("outputs_hidden") is not None:
        metadata["collapsed"] = metadata["jupyter"]["outputs_hidden"]


def lab_outputs(outputs: list[NotebookNode]) -> list[NotebookNode]:
    """A cell's outputs as JupyterLab's output model holds them: each run of consecutive
    ``stream`` outputs with the same ``name`` merged into its first, and stream text passed
    through JupyterLab's terminal emulation (``process_text``).

    Any other output ends a run, so stdout, a figure, then stdout stay three outputs, and so
    do stdout, stderr, stdout: merging across them would reorder what the reader sees."""
    merged: list[NotebookNode] = []
    last_stream: NotebookNode | None = None
    cursor = 0  # where the emulation's cursor is in the last stream's text
    for output in outputs:
        output = copy.deepcopy(output)
        if output.output_type != "stream":
            last_stream = None
        elif last_stream is not None and output.name == last_stream.name:
            last_stream.text, cursor = process_text(cursor, output.text, last_stream.text)
            continue
        else:
            output.text, cursor = process_text(0, output.text)
            last_stream = output
        merged.append(output)
    return merged


def process_text(cursor: int, new_text: str, text: str = "") -> tuple[str, int]:
    """Write ``new_text`` into ``text`` at ``cursor``; returns the text and the new cursor.

    A line-for-line port of ``Private.processText`` in JupyterLab's
    packages/outputarea/src/model.ts (4.6), quirks included, because the point is to match
    its output, not to be a better terminal: a backspace in the middle of a line removes the
    character before the cursor *and* the one under it, and a newline always goes to the end
    of the text. (JavaScript indexes UTF-16 code units, Python code points; the two differ
    only for a backspace next to a character outside the Basic Multilingual Plane.)"""
    if not STREAM_CONTROL.search(new_text):
        return text[:cursor] + new_text + text[cursor + len(new_text) :], cursor + len(new_text)
    start = 0
    while True:
        control = STREAM_CONTROL.search(new_text, start)
        end = control.start() if control else len(new_text)
        chunk = new_text[start:end]
        text = text[:cursor] + chunk + text[cursor + len(chunk) :]
        cursor += len(chunk)
        if control is None:
            return text, cursor
        start = end + 1
        if control.group() == "\x08":
            if cursor > 0 and text[cursor - 1] != "\n":
                text = text[: cursor - 1] + text[cursor + 1 :]
                cursor -= 1
        elif control.group() == "\r":
            while cursor > 0 and text[cursor - 1] != "\n":
                cursor -= 1
        else:
            text += "\n"
            cursor = len(text)


def main(argv: list[str] | None = None) -> int:
    """Normalise notebooks in place (or, with ``--check``, only list those that are not)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a notebook would change"
    )
    args = parser.parse_args(argv)
    changed = []
    for path in args.notebooks:
        # As the Jupyter server reads it for JupyterLab: converted to nbformat 4.
        notebook = nbformat.read(path, as_version=4)
        if is_normal(notebook):
            continue
        changed.append(path)
        if not args.check:
            nbformat.write(normalise(notebook), path)
    verb = "not in JupyterLab's form" if args.check else "normalised"
    for path in changed:
        print(f"{verb}: {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
