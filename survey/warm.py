"""Warm a build directory before JupyterLab opens, so that an attendee's first cell takes seconds.

The first kernel on a machine builds the survey's whole dependency set (tokio, reqwest, axum,
plotters, ...): about a minute on two cores, during which a notebook shows nothing but a busy
kernel. ``make lab`` runs this module first. When the pool's first build directory (the one the
first lab kernel gets, see survey/slots.py) has never been built in, it runs the survey's setup
cell headless in it and prints cargo's progress as the crates compile; when the directory is
warm it says so and returns at once.

Usage: python -m survey.warm
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat

from survey import KERNEL_NAME, REPO, slots
from survey.runner import LOG_DIR, run_notebook

# The setup cell every part starts with; warming runs the same lines, with the path made
# absolute because the notebook that runs them lives outside notebooks/.
SETUP_CELL = f':dep support = {{ path = "{REPO / "support"}" }}\nuse support::prelude::*;'
NAME = "warm-build-directory"


def is_warm() -> bool:
    """Whether the build directory the first kernel gets has been built in."""
    return not slots.is_cold(slots.BUILD_ROOT / "slot-0")


def follow_progress(log: Path, done: threading.Event) -> None:
    """Print each crate cargo starts compiling, numbered, until ``done`` is set."""
    printed = 0
    while not done.is_set():
        time.sleep(0.5)
        if not log.exists():
            continue
        compiling = [line.strip() for line in log.read_text(errors="replace").splitlines()]
        compiling = [line for line in compiling if line.startswith("Compiling ")]
        for line in compiling[printed:]:
            printed += 1
            print(f"  [{printed:>3}] {line}", flush=True)


def warm() -> bool:
    """Build the dependencies into the first build directory; True if the setup cell passed."""
    with tempfile.TemporaryDirectory() as scratch:
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP_CELL)])
        notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": KERNEL_NAME}
        path = Path(scratch) / f"{NAME}.ipynb"
        nbformat.write(notebook, path)
        done = threading.Event()
        progress = threading.Thread(target=follow_progress, args=(LOG_DIR / f"{NAME}.log", done))
        progress.start()
        try:
            report = run_notebook(path)
        finally:
            done.set()
            progress.join()
    for failure in report.failures:
        print(f"  {failure}")
    return report.ok


def main() -> int:
    if is_warm():
        print("The build directory is warm: notebooks start in seconds.")
        return 0
    print(
        "First start on this machine: building the survey's dependencies once, so that every\n"
        "notebook then starts in seconds (about a minute on two cores; JupyterLab opens after).",
        flush=True,
    )
    started = time.monotonic()
    if not warm():
        print("Warming failed (see above); JupyterLab opens anyway, and the first cell builds.")
        return 0
    print(f"Built in {time.monotonic() - started:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
