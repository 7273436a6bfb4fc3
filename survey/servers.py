"""Server programs run for a measurement (``make bench``), and the line that says where they
listen.

Every server program of the survey (the Rust mock HTTP server and mini Redis, the Python
servers in bench/) prints ``listening on HOST:PORT`` as its first line on stdout, once its
socket is bound. Started on ``127.0.0.1:0``, a server gets a port from the operating system,
and that line is the only way to learn which; it is also the moment it is ready. This beats
the alternatives: choosing a "free" port first races with every other program that binds
one in between, and polling with connects wastes time and cannot tell a slow start from a
server that is not coming. (``support::listening`` is the Rust side of the same line.)

redis-server, measured for comparison, cannot take port 0 (to it, 0 means "no TCP at all"),
so it is given a port and ``running`` waits for its own readiness line instead.
"""

from __future__ import annotations

import contextlib
import queue
import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence

# The first line of every server program of the survey.
ANNOUNCEMENT = re.compile(r"listening on (?P<address>\S+:\d+)")
# A cold start of a release binary takes milliseconds; this is for a machine under load.
START_TIMEOUT_SECONDS = 30.0
# How much of a failed server's stderr an error message quotes.
STDERR_TAIL = 2000


class ServerError(RuntimeError):
    """A server program did not start: it exited, said something else, or said nothing."""


@contextlib.contextmanager
def running(
    command: Sequence[str],
    ready: re.Pattern[str] = ANNOUNCEMENT,
    *,
    first_line: bool = True,
    timeout: float = START_TIMEOUT_SECONDS,
) -> Iterator[re.Match[str]]:
    """Runs ``command`` for the duration of the block, once it printed a line matching
    ``ready`` (by default the survey's ``listening on HOST:PORT``, as its first line); yields
    that line's match, so ``match["address"]`` is where it listens. The server is stopped
    when the block ends, whatever happens in it.

    Its stderr goes to a temporary file, not a pipe: nobody reads a pipe while the server
    runs, and a chatty server would block on a full one; the file is quoted if it fails."""
    with tempfile.TemporaryFile(mode="w+") as stderr:
        process = subprocess.Popen(
            list(command), stdout=subprocess.PIPE, stderr=stderr, text=True, bufsize=1
        )
        try:
            try:
                match = wait_for_line(process, ready, first_line=first_line, timeout=timeout)
            except ServerError as error:
                stop(process)
                raise ServerError(f"{error}{quoted_stderr(stderr)}") from None
            yield match
        finally:
            stop(process)


def wait_for_line(
    process: subprocess.Popen[str],
    ready: re.Pattern[str],
    *,
    first_line: bool,
    timeout: float,
) -> re.Match[str]:
    """Reads ``process``'s stdout until a line matches ``ready`` (only the first line when
    ``first_line``) and returns the match. Raises ServerError if the process exits first,
    prints another first line, or says nothing within ``timeout`` seconds.

    A thread reads the lines, because a pipe read cannot time out; it keeps reading after
    the match, throwing the rest away, so that the server never blocks writing to a full
    pipe. (A selector on the pipe would avoid the thread but not the draining.)"""
    name = process.args[0] if isinstance(process.args, list) else process.args
    lines: queue.Queue[str | None] = queue.Queue()
    matched = threading.Event()

    def pump() -> None:
        for line in process.stdout:
            if not matched.is_set():
                lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, name=f"stdout of {name}", daemon=True).start()
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                code = process.wait()
                raise ServerError(f"{name} exited with code {code} before it was ready")
            match = ready.fullmatch(line.rstrip("\r\n"))
            if match:
                matched.set()
                return match
            if first_line:
                raise ServerError(
                    f"{name}'s first line was {line.rstrip()!r}; expected {ready.pattern!r}"
                )
    except queue.Empty:
        raise ServerError(
            f"{name} printed no line matching {ready.pattern!r} within {timeout:g} s"
        ) from None


def stop(process: subprocess.Popen[str]) -> None:
    """Terminate ``process`` and wait for it; kill it if it does not go within 10 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def quoted_stderr(stderr) -> str:
    """The end of what a failed server wrote to stderr, indented, or nothing."""
    stderr.seek(0)
    text = stderr.read().strip()[-STDERR_TAIL:]
    if not text:
        return ""
    return "; its stderr:\n" + "\n".join("    " + line for line in text.splitlines())
