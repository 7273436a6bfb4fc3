"""Execute every notebook of the survey headless; each one must run clean."""

from pathlib import Path

import pytest

from nbrunner import run_notebook

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb")
)


def test_all_seventeen_parts_will_be_found():
    # Guards the glob: a renamed folder must not turn the suite into "nothing to run".
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_clean(notebook, record_property):
    report = run_notebook(notebook)
    record_property("notebook_timing", report.timing())
    assert report.ok, "\n".join([report.timing(), *report.failures])
