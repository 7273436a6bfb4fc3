"""The notebook runner must reject every way a notebook can fail, and accept a good one.

Each fixture under tests/fixtures/ is a tiny notebook with one failure mode. evcxr reports
most of these cells as successful, so these tests prove the runner's own judgement.
"""

import fcntl
import inspect
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import pytest
from jupyter_core.utils import run_sync
from nbclient import NotebookClient

from survey import DISPLAY_NAME, KERNEL_NAME, REPO, runner, slots
from survey.kernelspec import EVCXR_CONFIG_DIR, kernel_spec
from survey.runner import (
    NOT_YET_MARKER,
    PASS_MARKER,
    SOLUTION_TAG,
    STARTER_TAG,
    KernelSession,
    NotebookReport,
    StrayOutputClient,
    cell_failures,
    cpu_turn,
    exercise_layout_failures,
    rejudge_verdicts,
    run_cell,
    run_cell_past_build_hiccups,
    run_notebook,
    verdict_failures,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Dependency-free cells compile in about a second; a fixture that needs the support crate
# may build it first.
CELL_TIMEOUT = 120
HANG_TIMEOUT = 8

REJECTED = {
    "bad_compile": "mismatched types",
    "bad_panic": "boom in the cell",
    "bad_question_mark": "invalid digit",
    "bad_thread_panic": "boom on a background thread",
    "bad_thread_panic_last": "after the last cell",
    "bad_task_panic": "boom inside a task",
    "bad_error_output": "no_such_command",
    "bad_hang": "no result after",
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_runner_rejects(name, kernel_session, record_property):
    timeout = HANG_TIMEOUT if name == "bad_hang" else CELL_TIMEOUT
    report = kernel_session.run(FIXTURES / f"{name}.ipynb", cell_timeout=timeout)
    record_property("notebook_timing", report.timing())
    assert not report.ok, f"{name} was accepted"
    assert REJECTED[name] in "\n".join(report.failures), report.failures
    if name == "bad_hang":
        assert kernel_session.km is None, "a kernel still running a cell is not reused"
    else:
        assert kernel_session.km is not None, "a cleared kernel runs the next notebook"
    if name == "bad_panic":
        # The run stops at the first failing cell: the cell after it never runs.
        assert [cell.index for cell in report.cells] == [0]


def test_runner_accepts_deliberate_panics_through_support(kernel_session, record_property):
    report = kernel_session.run(FIXTURES / "good.ipynb", cell_timeout=CELL_TIMEOUT)
    record_property("notebook_timing", report.timing())
    assert report.ok, "\n".join(report.failures)
    printed = "".join(
        output.get("text", "")
        for cell in report.notebook.cells
        for output in cell.get("outputs", [])
    )
    assert "expected panic in thread" in printed
    assert "caught: shown on purpose" in printed


def test_runner_judges_each_exercise_cell(kernel_session, record_property):
    # One kernel for every exercise case: a wrong verdict does not stop the run, so each cell
    # of tests/fixtures/exercises.ipynb is judged on its own, up to the untagged todo!().
    report = kernel_session.run(FIXTURES / "exercises.ipynb", cell_timeout=CELL_TIMEOUT)
    record_property("notebook_timing", report.timing())
    by_cell = {}
    for failure in report.failures:
        by_cell.setdefault(int(re.match(r"cell (\d+)", failure)[1]), []).append(failure)
    assert [cell.index for cell in report.cells] == [1, 2, 3, 4, 5, 6, 7], report.timing()
    printed = {
        index: "".join(output.get("text", "") for output in cell.get("outputs", []))
        for index, cell in enumerate(report.notebook.cells)
    }
    # A good exercise: the starter says "Not yet" because of its todo!(), quietly, and the
    # solution passes the same check.
    assert 2 not in by_cell and 3 not in by_cell, report.failures
    assert f"{NOT_YET_MARKER} — three naps at once: your code still reaches a todo!()" in printed[2]
    assert "   Hint: tokio::join!(a, b, c)" in printed[2]
    assert f"{PASS_MARKER} — three naps at once" in printed[3]
    assert "panicked" not in printed[2] + printed[3]
    # Each wrong cell is reported, as itself.
    assert by_cell[4] == [by_cell[4][0]] and "a starter that passes as shipped" in by_cell[4][0]
    assert "the solution fails its check" in by_cell[5][0]
    assert "the sum should be 4, but your code gave 5" in by_cell[5][0]
    assert f"not tagged {STARTER_TAG}" in by_cell[6][0]
    # An untagged todo!() still panics on stderr and fails the notebook, as any panic does.
    assert "panic" in by_cell[7][0] and "not yet implemented" in by_cell[7][0]
    assert sorted(by_cell) == [4, 5, 6, 7], report.failures


def test_the_verdict_markers_are_support_s():
    source = (REPO / "support" / "src" / "exercise.rs").read_text()
    assert f'pub const PASS_MARKER: &str = "{PASS_MARKER}";' in source
    assert f'pub const NOT_YET_MARKER: &str = "{NOT_YET_MARKER}";' in source


def stream(name, text):
    return {"output_type": "stream", "name": name, "text": text}


NOT_YET = f"{NOT_YET_MARKER} — task: the sum should be 4\n   Hint: add\n"
CORRECT = f"{PASS_MARKER} — task: the sum is 4\n"


@pytest.mark.parametrize(
    ("role", "printed", "failure"),
    [
        (STARTER_TAG, NOT_YET, None),
        (STARTER_TAG, CORRECT, "a starter that passes as shipped"),
        (STARTER_TAG, NOT_YET + CORRECT, "a starter that passes as shipped"),
        (STARTER_TAG, "nothing\n", "no verdict"),
        (SOLUTION_TAG, CORRECT, None),
        (SOLUTION_TAG, NOT_YET, "the solution fails its check"),
        (SOLUTION_TAG, CORRECT + NOT_YET, "the solution fails its check"),
        (SOLUTION_TAG, "", "no verdict"),
        (None, CORRECT, None),
        (None, "plain output\n", None),
        (None, NOT_YET, f"not tagged {STARTER_TAG}"),
    ],
)
def test_verdicts_are_judged_by_the_cell_s_tag(role, printed, failure):
    failures = verdict_failures("cell 3", role, [stream("stdout", printed)])
    if failure is None:
        assert failures == []
    else:
        assert len(failures) == 1 and failure in failures[0], failures


def test_a_verdict_on_stderr_or_in_display_data_does_not_count():
    outputs = [
        stream("stderr", CORRECT),
        {"output_type": "display_data", "data": {"text/plain": CORRECT}},
    ]
    assert "no verdict" in verdict_failures("cell 3", SOLUTION_TAG, outputs)[0]


def exercise_notebook(*cells):
    """A notebook of code cells given as (tags, source_hidden), and a markdown cell as "md"."""
    notebook = nbformat.v4.new_notebook()
    for cell in cells:
        if cell == "md":
            notebook.cells.append(nbformat.v4.new_markdown_cell("text"))
            continue
        tags, hidden = cell
        metadata = {"tags": list(tags)}
        if hidden:
            metadata["jupyter"] = {"source_hidden": True}
        notebook.cells.append(nbformat.v4.new_code_cell("1", metadata=metadata))
    return notebook


STARTER = ([STARTER_TAG], False)
SOLUTION = ([SOLUTION_TAG], True)
PLAIN = ([], False)


@pytest.mark.parametrize(
    ("cells", "failure"),
    [
        ((STARTER, SOLUTION, PLAIN, STARTER, "md", PLAIN, SOLUTION), None),
        ((PLAIN,), None),
        ((STARTER, ([SOLUTION_TAG], False)), "cell 1: an exercise-solution must be collapsed"),
        ((STARTER, PLAIN), "cell 0: an exercise-starter with no exercise-solution"),
        ((STARTER, STARTER, SOLUTION), "cell 0: an exercise-starter with no exercise-solution"),
        ((SOLUTION, STARTER, SOLUTION), "cell 0: an exercise-solution with no exercise-starter"),
        ((([STARTER_TAG, SOLUTION_TAG], True),), "cell 0: tagged both"),
    ],
)
def test_exercise_cells_must_come_in_collapsed_pairs(cells, failure):
    failures = exercise_layout_failures(exercise_notebook(*cells))
    if failure is None:
        assert failures == []
    else:
        assert any(failure in f for f in failures), failures


def test_exercise_tags_belong_on_code_cells():
    notebook = exercise_notebook(STARTER, SOLUTION)
    notebook.cells[0] = nbformat.v4.new_markdown_cell("task", metadata={"tags": [STARTER_TAG]})
    failures = exercise_layout_failures(notebook)
    assert any("is a tag for code cells, not markdown" in f for f in failures), failures


def test_a_mis_tagged_exercise_fails_before_a_kernel_starts(tmp_path):
    path = tmp_path / "untidy.ipynb"
    nbformat.write(exercise_notebook(STARTER), path)
    report = run_notebook(path)
    assert not report.ok and report.cells == [], "no cell may run"
    assert "with no exercise-solution" in report.failures[0]


def code_notebook(path: Path, *sources: str) -> Path:
    """Writes a notebook of code cells (no dependencies: they compile in a second) to ``path``."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    notebook.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": DISPLAY_NAME}
    nbformat.write(notebook, path)
    return path


def printed(report: NotebookReport) -> str:
    """Everything a notebook's cells showed as text."""
    return "".join(
        output.get("text", "") + output.get("data", {}).get("text/plain", "")
        for cell in report.notebook.cells
        for output in cell.get("outputs", [])
    )


def test_a_session_reuses_its_kernel_and_each_notebook_starts_clean(tmp_path):
    pid = 'println!("cells run in process {}", std::process::id());'
    first = code_notebook(tmp_path / "first.ipynb", pid, "let left_by_first: u32 = 1;", ":vars")
    failing = code_notebook(tmp_path / "failing.ipynb", 'panic!("boom");')
    last = code_notebook(tmp_path / "last.ipynb", pid, ":vars")
    with KernelSession(build_dir=tmp_path / "slot") as session:
        before = session.run(first, cell_timeout=CELL_TIMEOUT)
        kernel = session.km
        assert before.ok, before.failures
        assert not session.run(failing, cell_timeout=CELL_TIMEOUT).ok
        assert session.km is kernel, "a notebook that failed (not a hang) leaves its kernel too"
        after = session.run(last, cell_timeout=CELL_TIMEOUT)
        assert after.ok, after.failures
        assert session.km is kernel
    assert "left_by_first" in printed(before)
    assert "left_by_first" not in printed(after), "the next notebook starts without it"
    assert "boom" not in printed(after), "nor with what the failed one left"
    [first_pid] = re.findall(r"process (\d+)", printed(before))
    [last_pid] = re.findall(r"process (\d+)", printed(after))
    assert first_pid != last_pid, "the next notebook's cells run in a new process"


def test_a_kernel_runs_cells_when_its_build_dir_shares_a_folder_with_the_toolchain(tmp_path):
    # A clone and ~/.rustup under one home folder: the cells' libstd must still be found
    # (slots.rust_library_path says why it would not be).
    sysroot = subprocess.run(
        ["rustc", "--print", "sysroot"], capture_output=True, text=True, check=True
    ).stdout.strip()
    beside_the_toolchain = Path(sysroot).parents[2]  # ~/.rustup/toolchains/NAME -> ~
    notebook = code_notebook(tmp_path / "hello.ipynb", 'println!("hello");')
    with (
        tempfile.TemporaryDirectory(dir=beside_the_toolchain) as build_root,
        KernelSession(build_dir=Path(build_root) / "slot") as session,
    ):
        report = session.run(notebook, cell_timeout=CELL_TIMEOUT)
    assert report.ok, report.failures
    assert "hello" in printed(report)


class ScriptedClient:
    """Stands in for the kernel's client in run_cell: each execution gets the next outputs."""

    timeout = 1

    def __init__(self, *outputs):
        self.outputs = list(outputs)
        self.stray = []

    def execute_cell(self, cell, index):
        cell.outputs = self.outputs.pop(0)


COMPILE_ERROR = {"output_type": "error", "ename": "Error", "evalue": "mismatched types"}


def test_a_starter_that_does_not_compile_fails_the_notebook_as_a_starter():
    report = NotebookReport(path=Path("x.ipynb"))
    starter = exercise_notebook(STARTER).cells[0]
    assert not run_cell(ScriptedClient([COMPILE_ERROR]), starter, 4, report)
    assert "cell 4 (exercise-starter): the starter does not run cleanly" in report.failures[0]
    assert "mismatched types" in report.failures[1]


def test_a_starter_whose_todo_panics_outside_its_check_fails_the_notebook():
    report = NotebookReport(path=Path("x.ipynb"))
    starter = exercise_notebook(STARTER).cells[0]
    panic = stream("stderr", "thread 'main' panicked at src/lib.rs:1:1:\nnot yet implemented\n")
    assert not run_cell(ScriptedClient([stream("stdout", NOT_YET), panic]), starter, 4, report)
    assert "does not run cleanly" in report.failures[0] and "panic" in report.failures[1]


def test_a_wrong_verdict_does_not_stop_the_run_and_survives_a_later_retry():
    report = NotebookReport(path=Path("x.ipynb"))
    solution, plain = exercise_notebook(SOLUTION, PLAIN).cells
    assert run_cell(ScriptedClient([stream("stdout", NOT_YET)]), solution, 3, report)
    assert len(report.failures) == 1
    # A build hiccup in a later cell is retried; the earlier verdict failure stays.
    hiccup = {"output_type": "error", "ename": "Error", "evalue": "Failed to wrap rustc"}
    client = ScriptedClient([hiccup], [stream("stdout", "fine\n")])
    assert run_cell_past_build_hiccups(client, plain, 5, report)
    assert report.retried_cells == [5]
    assert len(report.failures) == 1 and "the solution fails its check" in report.failures[0]


def test_a_verdict_that_arrives_after_its_cell_finished_is_judged_again():
    report = NotebookReport(path=Path("x.ipynb"))
    (solution,) = exercise_notebook(SOLUTION).cells
    assert run_cell(ScriptedClient([]), solution, 3, report), "no verdict yet: not a stop"
    assert report.failures, "a solution without its verdict fails"
    solution.outputs.append(stream("stdout", f"{PASS_MARKER} — three naps at once\n"))
    rejudge_verdicts(report, [(3, solution)])
    assert report.ok, report.failures


def test_stderr_lines_are_reported_together():
    failures = cell_failures(
        "cell 3",
        [
            stream("stderr", "thread 'x' panicked at a.rs:1:1:\n"),
            stream("stderr", "boom\n"),
        ],
    )
    assert len(failures) == 1
    assert "panic" in failures[0] and "boom" in failures[0]


def test_clean_output_has_no_failures():
    assert (
        cell_failures(
            "cell 0",
            [
                stream("stdout", "all good\n"),
                {"output_type": "display_data", "data": {}},
            ],
        )
        == []
    )


def test_a_panic_message_on_stdout_is_still_a_failure():
    assert cell_failures("cell 0", [stream("stdout", "thread 'main' panicked at x.rs:1:1\n")])


def is_free(lock: Path, mode: int) -> bool:
    """Whether ``lock`` could be taken in ``mode`` now (by another process, as flock sees it)."""
    with open(lock, "a") as probe:
        try:
            fcntl.flock(probe, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(probe, fcntl.LOCK_UN)
        return True


@pytest.fixture
def cpu_locks(tmp_path, monkeypatch):
    """The CPU turn's locks, in ``tmp_path`` rather than the pool's."""
    monkeypatch.setattr(runner, "CPU_LOCK", tmp_path / "cpu.lock")
    monkeypatch.setattr(runner, "CPU_QUEUE_LOCK", tmp_path / "cpu-queue.lock")


def test_cells_share_the_cores_and_a_measuring_cell_has_them_alone(cpu_locks):
    with cpu_turn():
        assert is_free(runner.CPU_LOCK, fcntl.LOCK_SH), "two cells run at once"
        assert not is_free(runner.CPU_LOCK, fcntl.LOCK_EX), "a measuring cell waits for them"
    with cpu_turn(exclusive=True):
        assert not is_free(runner.CPU_LOCK, fcntl.LOCK_SH), "no cell runs beside it"
    assert is_free(runner.CPU_LOCK, fcntl.LOCK_EX), "every turn ends with its cell"


def test_a_measuring_cell_waiting_for_its_turn_is_not_overtaken(cpu_locks):
    # flock has no queue: without the queue lock, a stream of shared turns could keep a
    # measuring cell waiting for ever.
    order = []
    with cpu_turn():
        waiting = threading.Thread(target=lambda: exclusive_turn(order))
        waiting.start()
        deadline = time.monotonic() + 10
        while is_free(runner.CPU_QUEUE_LOCK, fcntl.LOCK_EX) and time.monotonic() < deadline:
            time.sleep(0.01)
        newcomer = threading.Thread(target=lambda: shared_turn(order))
        newcomer.start()
        time.sleep(0.3)
        assert order == [], "both wait while a cell runs"
    waiting.join(10)
    newcomer.join(10)
    assert order == ["measuring cell", "next cell"]


def exclusive_turn(order: list) -> None:
    with cpu_turn(exclusive=True):
        time.sleep(0.1)
        order.append("measuring cell")


def shared_turn(order: list) -> None:
    with cpu_turn():
        order.append("next cell")


def test_kernels_running_at_once_get_separate_build_dirs_and_reuse_them(tmp_path):
    with slots.free_slot(tmp_path) as first, slots.free_slot(tmp_path) as second:
        assert first != second, "two kernels at once never share a build directory"
        assert slots.is_cold(first)
    with slots.free_slot(tmp_path) as later:
        assert later == first, "a free warm directory is reused before a new one is made"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["slot-0", "slot-1"]


def test_a_slot_is_warm_only_once_the_dependency_set_is_built_there(tmp_path):
    deps = tmp_path / "target" / "x86_64-unknown-linux-gnu" / "debug" / "deps"
    deps.mkdir(parents=True)
    assert slots.is_cold(tmp_path), "cells without dependencies leave target/ behind"
    (deps / "libsupport-0123456789abcdef.rlib").touch()
    assert not slots.is_cold(tmp_path)


def test_the_launcher_holds_its_slot_for_the_kernels_life(tmp_path):
    # A stand-in for evcxr_jupyter: reports the build directory it was given, then waits.
    kernel = tmp_path / "fake_kernel.sh"
    kernel.write_text('#!/bin/sh\necho "$EVCXR_TMPDIR"\nread line\n')
    kernel.chmod(0o755)
    launcher = [sys.executable, "-m", "survey.slots", str(kernel)]
    env = {k: v for k, v in os.environ.items() if k != "EVCXR_TMPDIR"}
    env["SURVEY_BUILD_ROOT"] = str(tmp_path / "pool")
    # Started outside the repository, as Jupyter starts kernels (in the notebook's folder):
    # the package must come from the venv's install, not from the current directory.
    with subprocess.Popen(
        launcher,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as running:
        slot = Path(running.stdout.readline().strip())
        assert slot.name == "slot-0"
        with slots.free_slot(tmp_path / "pool") as other:
            assert other.name == "slot-1", "the running kernel still holds slot-0"
        running.communicate("done\n")
    with slots.free_slot(tmp_path / "pool") as after:
        assert after.name == "slot-0", "the slot is free once the kernel has exited"


def test_the_kernel_spec_starts_kernels_through_the_installed_launcher(tmp_path):
    spec = kernel_spec(tmp_path / "evcxr_jupyter", python="/venv/bin/python")
    assert spec["argv"][:3] == ["/venv/bin/python", "-m", "survey.slots"]
    assert spec["argv"][3:] == [
        str(tmp_path / "evcxr_jupyter"),
        "--control_file",
        "{connection_file}",
    ]
    assert spec["display_name"] == DISPLAY_NAME
    assert (Path(spec["env"]["EVCXR_CONFIG_DIR"]) / "init.evcxr").is_file()
    assert EVCXR_CONFIG_DIR.name == "evcxr"


def test_the_kernel_spec_in_the_venv_is_the_survey_s():
    # The one `make kernel` installed: the runner starts kernels by this name.
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert spec.argv[1:3] == ["-m", "survey.slots"], spec.argv


def test_the_overridden_private_nbclient_method_still_has_its_signature():
    # StrayOutputClient overrides NotebookClient._async_poll_output_msg, which is private:
    # an nbclient upgrade that renames it or changes its parameters would silently bypass
    # the override, and output written after a cell finished would be dropped again.
    assert "_async_poll_output_msg" in vars(NotebookClient), "nbclient renamed the method"
    ours = inspect.signature(StrayOutputClient._async_poll_output_msg)
    theirs = inspect.signature(NotebookClient._async_poll_output_msg)
    assert list(ours.parameters) == list(theirs.parameters)


class ScriptedIopub:
    """Stands in for a kernel client's iopub channel: hands out the given messages in order."""

    def __init__(self, *messages):
        self.messages = list(messages)

    async def get_msg(self, timeout=None):
        return self.messages.pop(0)


def iopub_message(parent: str, msg_type: str, content: dict) -> dict:
    return {
        "parent_header": {"msg_id": parent},
        "msg_type": msg_type,
        "content": content,
        "header": {"msg_type": msg_type},
        "metadata": {},
    }


def test_output_that_arrives_after_its_cell_finished_is_kept_in_that_cell():
    # evcxr relays a cell's stdout from a thread of its own; on a loaded machine a line can
    # reach iopub after the cell's reply, tagged with the finished cell's request.
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("first"), nbformat.v4.new_code_cell("second")]
    )
    client = StrayOutputClient(notebook, record_timing=False)
    client.cell_of_message["first-request"] = 0
    client.kc = type("Client", (), {})()
    client.kc.iopub_channel = ScriptedIopub(
        iopub_message("first-request", "stream", {"name": "stdout", "text": "late line\n"}),
        iopub_message("second-request", "status", {"execution_state": "idle"}),
    )
    run_sync(client._async_poll_output_msg)("second-request", notebook.cells[1], 1)
    assert notebook.cells[0].outputs == [
        nbformat.v4.new_output("stream", name="stdout", text="late line\n")
    ]
    assert client.stray == [(0, "stdout", "late line\n")], "and it is still judged"
