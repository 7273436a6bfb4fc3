"""Execute every notebook of the survey headless; each one must run clean."""

import pytest

from survey import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_parts_are_found_and_numbered_once_each():
    # Guards the glob: a renamed folder must not turn the suite into "nothing to run".
    numbers = [int(notebook.name[:2]) for notebook in NOTEBOOKS]
    assert numbers, "no notebooks found"
    assert len(set(numbers)) == len(numbers), f"a part number is used twice: {numbers}"
    assert all(0 <= number <= 17 for number in numbers), numbers


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_clean(notebook, kernel_session, record_property):
    report = kernel_session.run(notebook)
    record_property("notebook_timing", report.timing())
    assert report.ok, "\n".join([report.timing(), *report.failures])
