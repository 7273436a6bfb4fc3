"""Execute every notebook of the survey headless; each one must run clean.

The few that tests/test_browser.py runs through JupyterLab, and judges the same way, are not
run a second time here where that test runs."""

import pytest

from survey import REPO, browser

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_parts_are_found_and_numbered_once_each():
    # Guards the glob: a renamed folder must not turn the suite into "nothing to run".
    numbers = [int(notebook.name[:2]) for notebook in NOTEBOOKS]
    assert numbers, "no notebooks found"
    assert numbers == list(range(len(numbers))), f"parts 00 to NN, each once: {numbers}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_notebook_runs_clean(notebook, kernel_session, record_property):
    if notebook in browser.BROWSER_NOTEBOOKS and browser.chromium():
        pytest.skip("run and judged in JupyterLab by tests/test_browser.py")
    report = kernel_session.run(notebook)
    record_property("notebook_timing", report.timing())
    assert report.ok, "\n".join([report.timing(), *report.failures])
