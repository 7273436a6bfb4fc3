"""Notebooks are written in the form JupyterLab saves them (survey/labformat.py)."""

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from survey import REPO
from survey.labformat import is_normal, normalise, process_text
from survey.runner import write_notebook

NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NORMALISE_COMMAND = ".venv/bin/python -m survey.labformat notebooks/*.ipynb"


def stream(name, text):
    return new_output("stream", name=name, text=text)


def figure():
    return new_output("display_data", data={"text/plain": "[figure]"})


def timed_cell(outputs):
    cell = new_code_cell("{ };", outputs=outputs, execution_count=1)
    cell.metadata["execution"] = {"iopub.status.busy": "2026-01-01T00:00:00.000000Z"}
    return cell


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_committed_notebook_is_in_jupyterlab_form(notebook):
    assert is_normal(nbformat.read(notebook, as_version=4)), (
        f"{notebook.name} is not in the form JupyterLab saves; fix: {NORMALISE_COMMAND}"
    )


def test_consecutive_streams_of_one_name_are_merged():
    cell = timed_cell([stream("stdout", "a\n"), stream("stdout", "b\n"), stream("stdout", "c")])
    normalise(new_notebook(cells=[cell]))
    assert cell.outputs == [stream("stdout", "a\nb\nc")]


def test_other_outputs_and_other_streams_end_a_run():
    outputs = [
        stream("stdout", "a\n"),
        stream("stderr", "warning\n"),
        stream("stdout", "b\n"),
        figure(),
        stream("stdout", "c\n"),
    ]
    cell = timed_cell(list(outputs))
    normalise(new_notebook(cells=[cell]))
    assert cell.outputs == outputs


def test_timing_metadata_is_dropped_and_the_rest_kept():
    cell = timed_cell([])
    cell.metadata["tags"] = ["keep"]
    normalise(new_notebook(cells=[cell]))
    assert cell.metadata == {"tags": ["keep"]}


def test_normalise_is_idempotent_and_is_normal_says_so():
    notebook = new_notebook(cells=[timed_cell([stream("stdout", "a"), stream("stdout", "b")])])
    assert not is_normal(notebook)
    normalise(notebook)
    assert is_normal(notebook)
    before = nbformat.writes(notebook)
    assert nbformat.writes(normalise(notebook)) == before


def test_carriage_returns_and_backspaces_behave_as_in_jupyterlab():
    # Cases worked through JupyterLab's processText by hand.
    assert process_text(0, "10%\r50%\r100%\n") == ("100%\n", 5)
    assert process_text(0, "abc\x08d") == ("abd", 3)
    assert process_text(0, "ab\rc\n") == ("cb\n", 3)
    assert process_text(0, "line\r\n") == ("line\n", 5)
    # A carriage return never goes back past a newline.
    assert process_text(0, "one\ntwo\rT") == ("one\nTwo", 5)


def test_a_carriage_return_in_a_later_stream_output_rewrites_the_merged_line():
    cell = timed_cell([stream("stdout", "progress 1"), stream("stdout", "\rprogress 2\n")])
    normalise(new_notebook(cells=[cell]))
    assert cell.outputs == [stream("stdout", "progress 2\n")]


def test_collapsed_and_outputs_hidden_are_kept_in_step():
    cell = timed_cell([])
    cell.metadata["collapsed"] = True
    normalise(new_notebook(cells=[cell]))
    assert cell.metadata == {"collapsed": True, "jupyter": {"outputs_hidden": True}}


def test_the_runner_writes_notebooks_in_jupyterlab_form(tmp_path):
    # As nbclient leaves a notebook: one output per stream message, timestamps per cell.
    executed = new_notebook(
        cells=[timed_cell([stream("stdout", "first\n"), stream("stdout", "second\n")])]
    )
    path = tmp_path / "executed.ipynb"
    write_notebook(executed, path)
    written = nbformat.read(path, as_version=4)
    assert is_normal(written)
    assert written.cells[0].outputs == [stream("stdout", "first\nsecond\n")]
    assert "execution" not in written.cells[0].metadata
