"""Execute notebooks headless on the survey's evcxr kernel and judge the result.

evcxr is lenient in ways that would let a broken lesson pass: a cell that panics, or whose `?`
returns an error, prints to stderr and still reports success; a panic on a background thread
prints whenever the thread gets to it. So the runner judges each cell itself:

* an ``error`` output (compile errors, kernel errors) fails the notebook;
* any text on stderr fails it. The notebooks never write to stderr on purpose: deliberate
  panics go through ``support::expect_panic``, which reports on stdout. Panics, ``?`` errors
  (which evcxr prints with ``{:?}``, so they have no fixed prefix to look for) and stray
  background-thread output all land here;
* a cell that runs longer than the per-cell timeout fails it (a hang);
* after the last cell the runner runs one more, non-compiling cell and waits a moment, so that
  stderr a background thread writes late is still seen.

"Your turn" exercises (support/src/exercise.rs) are marked with standard Jupyter cell tags, never
recognised by their text: ``exercise-starter`` on the cell the attendee completes, and
``exercise-solution``, with ``metadata.jupyter.source_hidden`` set, on its collapsed answer.
Their checks print a verdict line on stdout, "✅ Correct" or "❌ Not yet", and the runner
judges it:

* a solution cell must print "✅ Correct" and no "❌ Not yet";
* a starter cell must print "❌ Not yet" and no "✅ Correct": a starter that passes as shipped
  fails the notebook. Its "Not yet" is no error, but a starter that does not compile, or writes
  to stderr, fails the notebook like any cell (with a note saying it is a starter);
* "❌ Not yet" anywhere else (a solution that lost its tag, a lesson's check) fails it;
* before the kernel starts: every starter is followed by its solution before the next starter,
  solutions are collapsed, and the tags are on code cells only.

A wrong verdict does not stop the run (later cells do not depend on an exercise's answer), so
one run reports every exercise that is wrong; any other failure stops it at that cell.

Notebooks run one after another (the command line's list, a pytest worker's share) take turns
in one kernel: after each notebook, evcxr's ``:clear`` gives the next one a clean process to
run in, without the ten seconds a new kernel spends before its first lesson cell (see
``KernelSession``, which also says when a kernel is not reused).

With ``--write``, a notebook that passes is saved in the form JupyterLab saves it
(survey/labformat.py), so that re-running a notebook changes only what the run changed.

Usage as a command (the Makefile's ``part_NN`` and ``notebooks`` targets)::

    python -m survey.runner [--print] [--write] NOTEBOOK...
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import ensure_async, run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellTimeoutError, DeadKernelError
from nbconvert.filters import strip_ansi

from survey import KERNEL_NAME, slots
from survey.labformat import normalise

# evcxr build directories: a pool of slots, reused by the kernels that follow (see
# survey/slots.py), with evcxr's cache beside them.
BUILD_ROOT = slots.BUILD_ROOT
# The kernels' own logs (cargo's progress, evcxr's errors), one per notebook.
LOG_DIR = BUILD_ROOT / "logs"
# Held while a setup cell builds the dependencies into a new build directory. Kernels running
# at once share evcxr's compilation cache, and two cold builds filling it at the same time
# were seen to corrupt it ("Compilation failed, but no parsable errors were found"). A warm
# build directory only checks freshness and does not touch the cache, so it needs no turn.
SETUP_LOCK = BUILD_ROOT / "setup.lock"
# Every cell holds this lock shared while it runs; a cell that measures what the cores can
# do (a speed-up, a throughput against Python) holds it alone, so that no other kernel
# competes for the cores it is measuring. Such a cell carries the tag EXCLUSIVE_CPU_TAG.
# Taking turns cell by cell, not notebook by notebook, keeps the other pytest worker busy
# while a measuring notebook compiles and runs its other cells.
CPU_LOCK = BUILD_ROOT / "cpu.lock"
# Held for a moment by everyone on the way to CPU_LOCK, and by a cell that needs the cores
# alone while it waits for the running cells to finish: flock has no queue, and without
# this a stream of shared turns from the other workers could keep it waiting for ever.
CPU_QUEUE_LOCK = BUILD_ROOT / "cpu-queue.lock"
EXCLUSIVE_CPU_TAG = "exclusive-cpu"
# evcxr's own hiccups under load (its rustc wrapper reading a cache entry being written):
# not the notebook's fault, so a cell whose build fails this way gets one more try.
TRANSIENT_BUILD_ERRORS = ("Failed to wrap rustc", "no parsable errors were found")
# A lesson cell takes a second or two; two minutes means it hangs.
DEFAULT_CELL_TIMEOUT = 120
# The setup cell (the first code cell) may build the whole dependency set cold: about a
# minute on two cores, more on a loaded machine.
SETUP_CELL_TIMEOUT = 600
# Runs after the last cell. `:vars` is an evcxr command, so nothing compiles; the pause gives
# background threads time to write what they still have.
DRAIN_SOURCE = ":vars"
DRAIN_PAUSE_SECONDS = 0.5
# Runs after each notebook, so that the kernel can run the next one (KernelSession).
CLEAR_SOURCE = ":clear"
PANIC = re.compile(r"panicked at")
# Exercise cells, by their Jupyter tags (metadata.tags), and the markers support::exercise
# starts its verdict lines with (PASS_MARKER and NOT_YET_MARKER in support/src/exercise.rs).
STARTER_TAG = "exercise-starter"
SOLUTION_TAG = "exercise-solution"
PASS_MARKER = "✅ Correct"
NOT_YET_MARKER = "❌ Not yet"


@dataclass
class CellReport:
    index: int
    seconds: float
    first_line: str


@dataclass
class NotebookReport:
    path: Path
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)
    cells: list[CellReport] = field(default_factory=list)
    notebook: nbformat.NotebookNode | None = None
    # Cells run a second time after a build hiccup (see TRANSIENT_BUILD_ERRORS).
    retried_cells: list[int] = field(default_factory=list)
    # A cell that never answered: its kernel is still busy with it, and cannot be reused.
    hung: bool = False
    # The failures that are exercise verdicts (also in ``failures``): judged after each
    # cell, and again once late output has arrived (rejudge_verdicts).
    verdict_failures: list[str] = field(default_factory=list)
    # A cell with `:dep` failed: the build directory or the kernel may be at fault, and
    # would fail every notebook after it, so the kernel is not reused.
    dependencies_failed: bool = False

    @property
    def ok(self) -> bool:
        return not self.failures

    def timing(self) -> str:
        slowest = sorted(self.cells, key=lambda c: c.seconds, reverse=True)[:3]
        worst = ", ".join(f"cell {c.index}: {c.seconds:.1f} s" for c in slowest)
        retried = "".join(f", cell {index} retried" for index in self.retried_cells)
        return (
            f"{self.path.name}: {self.seconds:.1f} s, {len(self.cells)} cells"
            f" (slowest {worst}{retried})"
        )


class StrayOutputClient(NotebookClient):
    """A NotebookClient that keeps output arriving after its cell finished.

    evcxr tags each line of output with the latest execute request. A line written just after
    a cell finished (stderr is not flushed before the reply) or by a background thread between
    cells is tagged with a cell nbclient no longer listens to, and nbclient drops it. This
    client collects such lines in ``stray`` as (cell index, stream name, text), and appends
    the ones whose cell it knows to that cell's outputs, where JupyterLab shows them too (it
    files output by its parent request, not by arrival). On a loaded machine even a cell's
    first ``println!`` can arrive after the cell's reply: evcxr relays the child's stdout from
    a thread of its own.

    It does so by overriding a PRIVATE nbclient method, ``_async_poll_output_msg`` (as of
    nbclient 0.11.0): the override is nbclient's own loop plus the ``elif`` branch. nbclient
    has no public hook for a message whose parent is not the running cell (the ``on_cell_*``
    hooks only see the running cell), and reading iopub alongside nbclient would race it for
    the same messages. An nbclient upgrade must re-check this method: that it still exists
    with this signature, is still the only reader of iopub during a cell, and still ends on
    ``CellExecutionComplete``. ``test_runner.py`` checks the signature, and its
    ``bad_thread_panic`` fixtures fail if late output is dropped again.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stray: list[tuple[int, str, str]] = []
        self.cell_of_message: dict[str, int] = {}
        # The notebook's own cells; the runner's extra cells (run_extra_cell) come after.
        self.notebook_cells = len(self.nb.cells)

    # PRIVATE nbclient method overridden (see the class docstring): re-check on upgrade.
    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        self.cell_of_message[parent_msg_id] = cell_index
        while True:
            msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=None))
            parent = msg["parent_header"].get("msg_id")
            if parent == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    return
            elif msg["msg_type"] == "stream":
                origin = self.cell_of_message.get(parent, -1)
                name, text = msg["content"]["name"], msg["content"]["text"]
                self.stray.append((origin, name, text))
                if 0 <= origin < self.notebook_cells:
                    append_stream(self.nb.cells[origin].outputs, name, text)


def append_stream(outputs: list, name: str, text: str) -> None:
    """Add ``text`` to a cell's ``name`` stream, as the kernel's own stream messages are."""
    if outputs and outputs[-1].get("output_type") == "stream" and outputs[-1].name == name:
        outputs[-1].text += text
    else:
        outputs.append(nbformat.v4.new_output("stream", name=name, text=text))


def cell_failures(where: str, outputs: list[dict]) -> list[str]:
    """What is wrong with one cell's outputs (``where`` names the cell); empty if nothing."""
    failures = []
    stderr = "".join(
        o.get("text", "")
        for o in outputs
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    if stderr.strip():
        what = "panic" if PANIC.search(stderr) else "output on stderr (an error returned by `?`?)"
        failures.append(f"{where}: {what}:\n{indent(stderr)}")
    for output in outputs:
        kind = output.get("output_type")
        if kind == "error":
            detail = "\n".join(output.get("traceback") or [output.get("evalue", "")])
            failures.append(f"{where}: error:\n{indent(strip_ansi(detail))}")
        elif (
            kind == "stream"
            and output.get("name") == "stdout"
            and PANIC.search(output.get("text", ""))
        ):
            failures.append(f"{where}: panic on stdout:\n{indent(output['text'])}")
    return failures


def indent(text: str, head: int = 600, tail: int = 2400) -> str:
    """Indents a failure's detail, shortened in the middle: a compiler's log puts the
    context first and the error last, and both matter."""
    text = text.strip()
    if len(text) > head + tail:
        text = text[:head] + "\n[...]\n" + text[-tail:]
    return "\n".join("    " + line for line in text.splitlines())


def run_notebook(
    path: Path,
    cell_timeout: float = DEFAULT_CELL_TIMEOUT,
    startup_timeout: float = 60,
    build_dir: Path | None = None,
    setup_timeout: float = SETUP_CELL_TIMEOUT,
) -> NotebookReport:
    """Execute every code cell of the notebook at ``path`` in a fresh kernel and judge it.

    ``build_dir`` is evcxr's build directory (EVCXR_TMPDIR), by default a free slot of the
    pool (survey/slots.py); the kernel's own log goes to LOG_DIR.

    The first code cell gets ``setup_timeout`` (it may build the dependencies), every other
    cell ``cell_timeout``. Execution stops at the first failing cell: later cells usually
    depend on it, and their errors would only bury the first one.
    """
    with KernelSession(startup_timeout=startup_timeout, build_dir=build_dir) as session:
        return session.run(path, cell_timeout=cell_timeout, setup_timeout=setup_timeout)


class KernelSession:
    """A build directory (a slot of the pool) held for a run of several notebooks, and the
    kernel running in it, reused from one notebook to the next.

    A new evcxr kernel spends about 10 s before its first lesson cell, most of it in evcxr's
    rust-analyzer, which loads the sources of the standard library when the kernel starts and
    again, with those of every dependency, when the setup cell's `:dep` changes the crate's
    Cargo.toml. After each notebook, the session sends the kernel evcxr's `:clear`: it
    forgets every item and variable and restarts the process that runs the cells (their
    threads, servers and statics go with it, a panicked thread's too), and keeps what was
    loaded and built. The next notebook's setup cell then finds the same Cargo.toml and
    starts as in a fresh kernel, without those seconds.

    A kernel is reused only for a notebook in the same folder (the kernel's working
    directory, which the setup cell's `:dep` path is relative to). After a hang (the kernel
    is still running the cell), a dead kernel, a failed `:dep` cell (the fault may be the
    build directory's, and would fail every notebook after it), or a `:clear` that fails or
    is followed by more output, the next notebook gets a fresh kernel in the same build
    directory.

    `:clear` kills the cells' process outright (SIGKILL: no destructor runs), so a program a
    cell started as a child process (a Python server, `redis-cli`) outlives it unless the
    cell stopped it; the lessons stop theirs in the cell that starts them.
    """

    def __init__(self, startup_timeout: float = 60, build_dir: Path | None = None):
        self.startup_timeout = startup_timeout
        self._chosen_dir = build_dir
        self._held = contextlib.ExitStack()
        self.build_dir: Path | None = None
        # The running kernel, its client, the folder it runs in and its log, or None.
        self.km = None
        self.kc = None
        self.folder: Path | None = None
        self.log = None

    def __enter__(self) -> KernelSession:
        slot = self._chosen_dir or self._held.enter_context(slots.free_slot())
        self.build_dir = Path(slot).resolve()
        self.build_dir.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop_kernel()
        self._held.close()

    def run(
        self,
        path: Path,
        cell_timeout: float = DEFAULT_CELL_TIMEOUT,
        setup_timeout: float = SETUP_CELL_TIMEOUT,
    ) -> NotebookReport:
        """Execute and judge the notebook at ``path`` (see :func:`run_notebook`), in the
        session's kernel if it can be reused, else in a fresh one."""
        path = Path(path)
        report = NotebookReport(path=path)
        notebook = nbformat.read(path, as_version=4)
        report.notebook = notebook
        # A mis-tagged exercise is an authoring mistake: said at once, without a kernel.
        report.failures.extend(exercise_layout_failures(notebook))
        if not report.ok:
            return report
        folder = path.parent.resolve()
        if folder != self.folder:
            self.stop_kernel()
        started = time.monotonic()
        reusable = False
        try:
            client = self._client(notebook, path, cell_timeout)
            cold_build = slots.is_cold(self.build_dir)
            with contextlib.ExitStack() as kernel:
                # A new kernel's start is seconds of CPU (rust-analyzer loads the standard
                # library): it takes a shared turn like a cell.
                with cpu_turn():
                    kernel.enter_context(client.setup_kernel(**self._start_options()))
                self.kc = client.kc
                run_cells(client, notebook, report, (setup_timeout, cell_timeout), cold_build)
                reusable = not (report.dependencies_failed or report.hung)
                reusable = reusable and clear_for_next(client, report)
        except DeadKernelError as error:
            report.failures.append(f"the kernel died: {error}")
        except RuntimeError as error:
            # jupyter_client's way of saying the kernel did not start (evcxr exited at once).
            report.failures.append(f"the kernel did not start: {error}")
        finally:
            if not reusable:
                self.stop_kernel()
        report.seconds = time.monotonic() - started
        return report

    def _client(self, notebook, path: Path, cell_timeout: float) -> StrayOutputClient:
        """A client for ``notebook`` on the session's kernel, started by the client's
        ``setup_kernel`` if there is none yet (the session owns it either way)."""
        if self.km is None:
            LOG_DIR.mkdir(parents=True, exist_ok=True)
            # Closed in stop_kernel, with the kernel that writes to it.
            self.log = open(LOG_DIR / f"{path.stem}.log", "w")  # noqa: SIM115
            self.log.write(f"EVCXR_TMPDIR={self.build_dir}\n")
            self.km = AsyncKernelManager(kernel_name=KERNEL_NAME)
            self.kc = None
            self.folder = path.parent.resolve()
        else:
            self.log.write(f"--- the same kernel, cleared, runs {path.name}\n")
        self.log.flush()
        client = StrayOutputClient(
            notebook,
            km=self.km,
            kernel_name=KERNEL_NAME,
            timeout=cell_timeout,
            startup_timeout=self.startup_timeout,
            allow_errors=True,
            # No per-cell timestamps in cell.metadata.execution: they change on every run, so
            # they would turn every re-run into a diff of every cell; JupyterLab does not keep
            # them either unless told to ("Record cell timing", off by default).
            record_timing=False,
            resources={"metadata": {"path": str(self.folder)}},
        )
        client.kc = self.kc
        return client

    def _start_options(self) -> dict:
        """What ``setup_kernel`` starts a kernel with (unused when the kernel runs)."""
        env = {**os.environ, **slots.kernel_env(self.build_dir)}
        return {"env": env, "stdout": self.log, "stderr": self.log}

    def stop_kernel(self) -> None:
        """Shut the kernel down at once (it holds nothing worth a graceful goodbye)."""
        if self.km is None:
            return
        try:
            if run_sync(self.km.is_alive)():
                run_sync(self.km.shutdown_kernel)(now=True)
        finally:
            run_sync(self.km.cleanup_resources)()
            if self.kc is not None:
                self.kc.stop_channels()
            self.log.close()
            self.km = self.kc = self.folder = self.log = None


def clear_for_next(client: StrayOutputClient, report: NotebookReport) -> bool:
    """Send evcxr's `:clear` after a notebook (see KernelSession); False if the kernel must
    not run another notebook.

    After a notebook that passed, anything the clear shows is the kernel's fault and fails
    the run. After one that failed, the failed cell's last words (a panic's stderr, written
    late) may arrive tagged with the clear, so only an error from the clear itself counts;
    a pause and one more cell then take whatever the old process still had in its pipe, so
    that it cannot land in the next notebook's first cell."""
    passed = report.ok
    try:
        outputs = run_extra_cell(client, CLEAR_SOURCE)
        if passed:
            failures = cell_failures("clearing the kernel for the next notebook", outputs)
            report.failures.extend(failures + stray_failures(client))
            return report.ok
        if any(output.get("output_type") == "error" for output in outputs):
            return False
        # Until a pause passes in silence, a few times at most; a kernel still talking
        # after that is not given the next notebook.
        for _ in range(3):
            client.stray.clear()
            late = wait_for_late_output(client)
            if not client.stray and not any(o.get("name") == "stderr" for o in late):
                return True
        return False
    except CellTimeoutError:
        what = f"`{CLEAR_SOURCE}`" if passed else f"`{CLEAR_SOURCE}` or `{DRAIN_SOURCE}`"
        report.failures.append(f"the kernel did not answer {what} (the next one starts fresh)")
        return False


def run_cells(client, notebook, report: NotebookReport, timeouts, cold_build: bool) -> None:
    """Run the code cells in order in the started kernel, stopping at the first failure.

    ``timeouts`` is (setup cell, other cells); a cold build's setup cell waits its turn."""
    setup_timeout, cell_timeout = timeouts
    code_cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    passed_cells = []
    for position, (index, cell) in enumerate(code_cells):
        is_setup = position == 0
        client.timeout = setup_timeout if is_setup else cell_timeout
        exclusive = EXCLUSIVE_CPU_TAG in cell.metadata.get("tags", [])
        with (
            cpu_turn(exclusive),
            locked(SETUP_LOCK) if is_setup and cold_build else contextlib.nullcontext(),
        ):
            passed = run_cell_past_build_hiccups(client, cell, index, report)
        if not passed:
            report.dependencies_failed = ":dep" in cell.source
            break
        passed_cells.append((index, cell))
    else:
        drain(client, report)
    rejudge_verdicts(report, passed_cells)


def rejudge_verdicts(report: NotebookReport, cells: list) -> None:
    """Judge the exercise verdicts of ``cells`` (index, cell) again, on their final outputs.

    A check prints its verdict with ``println!``, and evcxr relays it from a thread of its
    own: under load the line can reach iopub after the cell's reply, when run_cell has
    already judged the cell. StrayOutputClient has added it to its cell since."""
    for failure in report.verdict_failures:
        report.failures.remove(failure)
    report.verdict_failures = []
    for index, cell in cells:
        failures = verdict_failures(f"cell {index}", exercise_role(cell), cell.outputs)
        report.failures.extend(failures)
        report.verdict_failures.extend(failures)


@contextlib.contextmanager
def locked(lock_path: Path, mode: int = fcntl.LOCK_EX):
    """Holds a lock on ``lock_path`` across processes (pytest-xdist workers): exclusive by
    default, shared with ``fcntl.LOCK_SH``."""
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as lock_file:
        fcntl.flock(lock_file, mode)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


@contextlib.contextmanager
def cpu_turn(exclusive: bool = False):
    """Holds CPU_LOCK, shared or (``exclusive``) alone, taken in turn through CPU_QUEUE_LOCK:
    a cell that needs the cores alone waits for the cells running now, and none start
    meanwhile."""
    with contextlib.ExitStack() as turn:
        with locked(CPU_QUEUE_LOCK):
            turn.enter_context(locked(CPU_LOCK, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH))
        yield


def run_cell_past_build_hiccups(
    client: StrayOutputClient, cell, index: int, report: NotebookReport
) -> bool:
    """Run a cell, once more if evcxr's build tripped over itself. Safe to repeat: a cell
    whose build failed never ran. Failures of earlier cells (exercise verdicts, which do not
    stop the run) are kept as they are."""
    earlier = len(report.failures)
    passed = run_cell(client, cell, index, report)
    failures = report.failures[earlier:]
    transient = [f for f in failures if any(e in f for e in TRANSIENT_BUILD_ERRORS)]
    if passed or len(transient) != len(failures):
        return passed
    del report.failures[earlier:]
    report.retried_cells.append(index)
    return run_cell(client, cell, index, report)


def run_cell(client: StrayOutputClient, cell, index: int, report: NotebookReport) -> bool:
    """Execute one cell, record its time and failures; False if the run must stop here.

    An exercise's wrong verdict is recorded but does not stop the run (see the module
    docstring)."""
    cell_started = time.monotonic()
    try:
        client.execute_cell(cell, index)
    except CellTimeoutError:
        report.failures.append(f"cell {index}: no result after {client.timeout} s (a hang?)")
        report.hung = True
        return False
    finally:
        first_line = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
        report.cells.append(CellReport(index, time.monotonic() - cell_started, first_line))
    where = f"cell {index}"
    role = exercise_role(cell)
    errors = cell_failures(where, cell.outputs)
    if errors and role:
        errors.insert(0, exercise_error(where, role))
    errors.extend(stray_failures(client))
    report.failures.extend(errors)
    if errors:
        return False
    verdicts = verdict_failures(where, role, cell.outputs)
    report.failures.extend(verdicts)
    report.verdict_failures.extend(verdicts)
    return True


def exercise_role(cell) -> str | None:
    """``STARTER_TAG`` or ``SOLUTION_TAG`` if the cell is tagged as part of an exercise."""
    tags = cell.get("metadata", {}).get("tags", [])
    for role in (STARTER_TAG, SOLUTION_TAG):
        if role in tags:
            return role
    return None


def exercise_layout_failures(notebook: nbformat.NotebookNode) -> list[str]:
    """What is wrong with how the notebook's exercise cells are tagged; empty if nothing.

    Each ``exercise-starter`` is followed by its ``exercise-solution`` (other cells may come
    between) before the next starter; solutions are collapsed (``metadata.jupyter.
    source_hidden``); the tags are on code cells, one of the two per cell."""
    failures = []
    open_starter = None
    for index, cell in enumerate(notebook.cells):
        where = f"cell {index}"
        tags = cell.get("metadata", {}).get("tags", [])
        roles = [role for role in (STARTER_TAG, SOLUTION_TAG) if role in tags]
        if not roles:
            continue
        if len(roles) > 1:
            failures.append(f"{where}: tagged both {STARTER_TAG} and {SOLUTION_TAG}")
            continue
        if cell.cell_type != "code":
            failures.append(f"{where}: {roles[0]} is a tag for code cells, not {cell.cell_type}")
            continue
        if roles[0] == STARTER_TAG:
            if open_starter is not None:
                failures.append(f"cell {open_starter}: an {STARTER_TAG} with no {SOLUTION_TAG}")
            open_starter = index
            continue
        if open_starter is None:
            failures.append(f"{where}: an {SOLUTION_TAG} with no {STARTER_TAG} before it")
        open_starter = None
        if cell.metadata.get("jupyter", {}).get("source_hidden") is not True:
            failures.append(
                f"{where}: an {SOLUTION_TAG} must be collapsed: set its metadata.jupyter."
                "source_hidden to true (JupyterLab: View > Collapse Selected Code)"
            )
    if open_starter is not None:
        failures.append(f"cell {open_starter}: an {STARTER_TAG} with no {SOLUTION_TAG}")
    return failures


def exercise_error(where: str, role: str) -> str:
    """The note put before the errors of an exercise cell that did not run cleanly."""
    if role == STARTER_TAG:
        return (
            f"{where} ({STARTER_TAG}): the starter does not run cleanly as shipped. It must"
            f" compile and run, and its support::exercise check must print {NOT_YET_MARKER!r}"
            " (keep the todo!() inside the code the check runs); instead:"
        )
    return f"{where} ({SOLUTION_TAG}): the solution does not run cleanly:"


def verdict_failures(where: str, role: str | None, outputs: list[dict]) -> list[str]:
    """What is wrong with the verdicts a cell's checks printed on stdout, given its role."""
    stdout = "".join(
        o.get("text", "")
        for o in outputs
        if o.get("output_type") == "stream" and o.get("name") == "stdout"
    )
    passed = PASS_MARKER in stdout
    not_yet = NOT_YET_MARKER in stdout
    verdicts = "\n".join(
        line
        for line in stdout.splitlines()
        if PASS_MARKER in line or NOT_YET_MARKER in line or line.lstrip().startswith("Hint:")
    )
    if role == STARTER_TAG:
        if passed:
            return [
                f"{where} ({STARTER_TAG}): a starter that passes as shipped: its check must say"
                f" {NOT_YET_MARKER!r} until the attendee has written the answer:\n"
                + indent(verdicts)
            ]
        if not not_yet:
            return [
                f"{where} ({STARTER_TAG}): no verdict: a starter must run a support::exercise"
                f" check that prints {NOT_YET_MARKER!r} as shipped"
            ]
    elif role == SOLUTION_TAG:
        if not_yet:
            return [f"{where} ({SOLUTION_TAG}): the solution fails its check:\n" + indent(verdicts)]
        if not passed:
            return [
                f"{where} ({SOLUTION_TAG}): no verdict: a solution must run a support::exercise"
                f" check that prints {PASS_MARKER!r}"
            ]
    elif not_yet:
        return [
            f"{where}: a check says {NOT_YET_MARKER!r} in a cell not tagged {STARTER_TAG}"
            f" (a solution that lost its {SOLUTION_TAG} tag, or a lesson whose check fails):\n"
            + indent(verdicts)
        ]
    return []


def drain(client: StrayOutputClient, report: NotebookReport) -> None:
    """Give background threads a last chance to write, and judge what they write."""
    try:
        outputs = wait_for_late_output(client)
    except CellTimeoutError:
        report.failures.append(f"`{DRAIN_SOURCE}` after the last cell had no answer")
        report.hung = True
        return
    report.failures.extend(cell_failures("after the last cell", outputs))
    report.failures.extend(stray_failures(client))


def wait_for_late_output(client: StrayOutputClient) -> list[dict]:
    """Pause, then run DRAIN_SOURCE: what the kernel still had to say arrives meanwhile, in
    ``client.stray`` or in the returned outputs."""
    time.sleep(DRAIN_PAUSE_SECONDS)
    return run_extra_cell(client, DRAIN_SOURCE)


def run_extra_cell(client: StrayOutputClient, source: str) -> list[dict]:
    """Execute ``source`` after the notebook's cells; returns its outputs."""
    extra = nbformat.v4.new_code_cell(source)
    # nbclient stores the executed cell back into the notebook, so the extra cell must be in
    # it while it runs; it is removed again so that a written notebook does not carry it.
    client.nb.cells.append(extra)
    try:
        client.execute_cell(extra, len(client.nb.cells) - 1)
    finally:
        client.nb.cells.remove(extra)
    return extra.outputs


def stray_failures(client: StrayOutputClient) -> list[str]:
    """Judge (and forget) the output that arrived after its cell had finished."""
    failures = []
    for origin in sorted({origin for origin, _, _ in client.stray}):
        outputs = [
            {"output_type": "stream", "name": name, "text": text}
            for cell, name, text in client.stray
            if cell == origin
        ]
        where = (
            f"cell {origin} (written after the cell finished)" if origin >= 0 else "between cells"
        )
        failures.extend(cell_failures(where, outputs))
    client.stray.clear()
    return failures


def output_text(output: dict) -> str:
    """The plain-text form of one output, as a terminal shows it."""
    if output.get("output_type") == "stream":
        return output.get("text", "")
    if output.get("output_type") == "error":
        return strip_ansi("\n".join(output.get("traceback") or [output.get("evalue", "")]))
    data = output.get("data", {})
    if "text/plain" in data:
        return data["text/plain"]
    kinds = ", ".join(sorted(data))
    return f"[{kinds}]"


def print_outputs(report: NotebookReport) -> None:
    """Print each code cell's first line and its outputs, like running a script."""
    for index, cell in enumerate(report.notebook.cells):
        if cell.cell_type != "code" or not cell.get("outputs"):
            continue
        first_line = cell.source.strip().splitlines()[0]
        print(f"\n── cell {index}: {first_line}")
        for output in cell.outputs:
            print(output_text(output).rstrip("\n"))


def write_notebook(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Save an executed notebook the way JupyterLab would save it (see survey/labformat.py),
    so that a re-run and a save from JupyterLab leave the same file."""
    nbformat.write(normalise(notebook), path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--print", action="store_true", help="print every cell's outputs")
    parser.add_argument("--write", action="store_true", help="save outputs into passing notebooks")
    parser.add_argument("--cell-timeout", type=float, default=DEFAULT_CELL_TIMEOUT)
    args = parser.parse_args(argv)

    failed = 0
    with KernelSession() as session:
        for path in args.notebooks:
            failed += not report_on(session.run(path, cell_timeout=args.cell_timeout), args)
    return 1 if failed else 0


def report_on(report: NotebookReport, args: argparse.Namespace) -> bool:
    """Print what the command line asked for about one notebook, save it if asked and it
    passed; returns whether it passed."""
    if args.print:
        print_outputs(report)
    print(("ok     " if report.ok else "FAILED ") + report.timing())
    for failure in report.failures:
        print(f"  {failure}")
    if report.ok and args.write:
        write_notebook(report.notebook, report.path)
    return report.ok


if __name__ == "__main__":
    sys.exit(main())
