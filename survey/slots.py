"""Build directories for the survey's kernels, and the launcher that hands one to each kernel.

evcxr compiles every cell in a build directory (EVCXR_TMPDIR). By default each kernel gets a
new temporary one, so every kernel starts by building the survey's dependency set into it
again (about 15 s with evcxr's cache, a minute without). Every notebook has the same
dependency set, so a directory an earlier kernel left behind is already warm: its setup cell
only checks freshness (about 5 s). Two kernels must never build in one directory at once,
though. So the directories form a pool of "slots" under .build/evcxr/, one per kernel running
at once, each held with a lock for its kernel's life and reused by the kernels that follow.

evcxr's compilation cache (`:cache` in init.evcxr) is kept beside the slots rather than in
~/.cache. A cached crate comes back with the dependency info of the directory it was first
built in, and for a crate whose build script generates code (serde_core) that info names a
file in that directory. If the directory is gone, cargo finds the crate stale and rebuilds it
and everything above it for every cell. With the cache here, its entries point into slots,
which live and die with it.

The kernel spec (survey/kernelspec.py) starts kernels through this module:

    python -m survey.slots EVCXR_JUPYTER ARGS...

It takes a free slot and execs evcxr_jupyter in it, keeping the slot's lock open across the
exec. The headless runner (survey/runner.py) chooses slots itself, because it needs to know
whether a slot is cold; it sets EVCXR_TMPDIR, and the launcher then leaves it alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from survey import REPO

# Where the pool lives; SURVEY_BUILD_ROOT moves it (the runner's own tests use that).
BUILD_ROOT = Path(os.environ.get("SURVEY_BUILD_ROOT", REPO / ".build" / "evcxr"))
CACHE_HOME = BUILD_ROOT / "cache"


def kernel_env(slot: Path) -> dict[str, str]:
    """The environment variables that put a kernel in ``slot`` with the pool's cache, and
    let it load its cells (see ``rust_library_path``)."""
    return {
        "EVCXR_TMPDIR": str(slot),
        "XDG_CACHE_HOME": str(CACHE_HOME),
        "LD_LIBRARY_PATH": rust_library_path(),
    }


@functools.cache
def rust_library_path() -> str:
    """LD_LIBRARY_PATH with the toolchain's library folder (where libstd-*.so is) first.

    evcxr loads each cell as a shared library that needs Rust's libstd. The library's RUNPATH
    is a path relative to the folder cargo built it in (`$ORIGIN/../..` up to the common
    parent of the build directory and the toolchain, then down), but evcxr loads it from the
    folder above, one level off. The path still works when that common parent is `/`, since
    `..` stops there (a clone under /work, a toolchain under /root), and fails when it is not
    (a clone and ~/.rustup both under the home folder): the kernel dies at its first cell with
    "dlopen failed". Naming the folder here works wherever the two live."""
    libdir = subprocess.run(
        ["rustc", "--print", "target-libdir"], capture_output=True, text=True, check=True
    ).stdout.strip()
    inherited = os.environ.get("LD_LIBRARY_PATH")
    return f"{libdir}:{inherited}" if inherited else libdir


def is_cold(slot: Path) -> bool:
    """Whether the survey's dependency set has not been built in ``slot`` yet.

    The test is the `support` library itself, not just a `target/` folder: a kernel that only
    ran cells without dependencies (the runner's own fixtures) leaves a `target/` behind, and
    a slot that looked warm because of it would build the whole set without taking the
    runner's setup lock, at the same time as another cold build (see runner.SETUP_LOCK)."""
    return not any(slot.glob("target/*/debug/deps/libsupport-*.rlib"))


def take_free_slot(root: Path = BUILD_ROOT) -> tuple[Path, int]:
    """Locks the first slot under ``root`` that no other kernel holds and returns it with the
    file descriptor of its lock (closing it frees the slot). Slots are tried in order, so the
    warm ones (the low numbers) are reused first; a new one is made only when all are busy."""
    for index in itertools.count():
        slot = root / f"slot-{index}"
        slot.mkdir(parents=True, exist_ok=True)
        lock = os.open(slot / "in-use.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(lock)
            continue
        return slot.resolve(), lock
    raise AssertionError("unreachable: itertools.count() never ends")


@contextlib.contextmanager
def free_slot(root: Path = BUILD_ROOT) -> Iterator[Path]:
    """A free slot under ``root``, held until the block ends."""
    slot, lock = take_free_slot(root)
    try:
        yield slot
    finally:
        os.close(lock)


def launch(argv: list[str]) -> None:
    """Execs ``argv`` (evcxr_jupyter and its arguments) in a free slot, unless the caller
    already chose a build directory."""
    if "EVCXR_TMPDIR" in os.environ:
        os.execv(argv[0], argv)
    slot, lock = take_free_slot()
    # The lock must outlive the exec: the kernel process holds the slot until it exits.
    os.set_inheritable(lock, True)
    os.execve(argv[0], argv, {**os.environ, **kernel_env(slot)})


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python -m survey.slots EVCXR_JUPYTER [ARGS...]")
    launch(sys.argv[1:])
