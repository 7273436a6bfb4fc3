"""The notebook runner must reject every way a notebook can fail, and accept a good one.

Each fixture under tests/fixtures/ is a tiny notebook with one failure mode. evcxr reports
most of these cells as successful, so these tests prove the runner's own judgement.
"""

import fcntl
import inspect
import os
import subprocess
import sys
from pathlib import Path

import pytest
from nbclient import NotebookClient

from survey import DISPLAY_NAME, KERNEL_NAME, slots
from survey.kernelspec import EVCXR_CONFIG_DIR, kernel_spec
from survey.runner import StrayOutputClient, cell_failures, locked, run_notebook

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
def test_runner_rejects(name, record_property):
    timeout = HANG_TIMEOUT if name == "bad_hang" else CELL_TIMEOUT
    report = run_notebook(FIXTURES / f"{name}.ipynb", cell_timeout=timeout)
    record_property("notebook_timing", report.timing())
    assert not report.ok, f"{name} was accepted"
    assert REJECTED[name] in "\n".join(report.failures), report.failures


def test_runner_accepts_deliberate_panics_through_support(record_property):
    report = run_notebook(FIXTURES / "good.ipynb", cell_timeout=CELL_TIMEOUT)
    record_property("notebook_timing", report.timing())
    assert report.ok, "\n".join(report.failures)
    printed = "".join(
        output.get("text", "")
        for cell in report.notebook.cells
        for output in cell.get("outputs", [])
    )
    assert "expected panic in thread" in printed
    assert "caught: shown on purpose" in printed


def test_runner_stops_at_the_first_failing_cell():
    report = run_notebook(FIXTURES / "bad_panic.ipynb", cell_timeout=CELL_TIMEOUT)
    assert [cell.index for cell in report.cells] == [0]


def stream(name, text):
    return {"output_type": "stream", "name": name, "text": text}


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


def test_an_exclusive_notebook_waits_for_shared_ones(tmp_path):
    # The CPU lock: running notebooks hold it shared, a CPU-measuring one needs it alone.
    lock = tmp_path / "cpu.lock"
    with (
        locked(lock, fcntl.LOCK_SH),
        locked(lock, fcntl.LOCK_SH),
        open(lock) as probe,
        pytest.raises(BlockingIOError),
    ):
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    with open(lock) as probe:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free again


def test_kernels_running_at_once_get_separate_build_dirs_and_reuse_them(tmp_path):
    with slots.free_slot(tmp_path) as first, slots.free_slot(tmp_path) as second:
        assert first != second, "two kernels at once never share a build directory"
        assert slots.is_cold(first)
    with slots.free_slot(tmp_path) as later:
        assert later == first, "a free warm directory is reused before a new one is made"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["slot-0", "slot-1"]


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
