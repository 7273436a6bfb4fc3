"""Execute every notebook of the survey headless; each one must run clean."""

from pathlib import Path

import pytest

from nbrunner import run_notebook

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")
)


def test_parts_are_numbered_from_01_without_gaps():
    # Guards the glob: a renamed folder must not turn the suite into "nothing to run", and a
    # part that went missing must not go unnoticed.
    numbers = [int(notebook.name[:2]) for notebook in NOTEBOOKS]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert len(numbers) >= 2


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_clean(notebook, record_property):
    report = run_notebook(notebook)
    record_property("notebook_timing", report.timing())
    assert report.ok, "\n".join([report.timing(), *report.failures])
