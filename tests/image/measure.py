"""What one attendee costs a JupyterHub: the figures in WORKSHOP.md, "Running the room".

Runs each notebook given, in a fresh kernel started the way JupyterLab starts one (the kernel
spec, so survey/slots.py picks the build directory: the warm slot-0 when nothing else runs),
and after its last cell reports:

* the memory of the kernel and its child processes (resident set, summed), and the kernel's
  own peak (VmHWM);
* the CPU seconds of the run: the kernel's, plus those of the compilers it waited for
  (cargo and rustc run as its children);
* the wall time of the setup cell and of the whole notebook.

Then the disk of the build directory and of evcxr's compilation cache (du). Meant to run as
the image's user inside the simulated image of tests/test_image.py, through its `start`,
with the environment SimulatedImage.run gives (HOME, PATH with the image's Python first,
NB_PYTHON_PREFIX, and LD_LIBRARY_PATH when its Python is a copy):

    cd $SIM/home && ./start python tests/image/measure.py notebooks/0*.ipynb

It changes nothing in the notebooks. Not part of `make check` (it takes minutes).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
from nbclient import NotebookClient

from survey import KERNEL_NAME, slots


def kernel_tree_figures(pid: int) -> tuple[int, int, float]:
    """(RSS of the kernel and its children, the kernel's peak RSS, CPU seconds), in bytes
    and seconds. CPU counts the kernel, its live children, and the children it waited for."""
    kernel = psutil.Process(pid)
    tree = [kernel, *kernel.children(recursive=True)]
    rss = sum(process.memory_info().rss for process in tree)
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(int(line.split()[1]) * 1024 for line in status.splitlines() if "VmHWM" in line)
    times = kernel.cpu_times()
    cpu = times.user + times.system + times.children_user + times.children_system
    for child in tree[1:]:
        child_times = child.cpu_times()
        cpu += child_times.user + child_times.system
    return rss, peak, cpu


def measure(path: Path) -> str:
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=600,
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    started = time.monotonic()
    setup_seconds = None
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code":
                continue
            cell_started = time.monotonic()
            client.execute_cell(cell, index)
            if setup_seconds is None:
                setup_seconds = time.monotonic() - cell_started
        wall = time.monotonic() - started
        rss, peak, cpu = kernel_tree_figures(client.km.provisioner.process.pid)
    return (
        f"{path.name}: RSS after the last cell {rss / 2**20:.0f} MiB (kernel peak"
        f" {peak / 2**20:.0f} MiB), CPU {cpu:.1f} s, wall {wall:.1f} s,"
        f" setup cell {setup_seconds:.1f} s"
    )


def main(argv: list[str]) -> int:
    for name in argv:
        print(measure(Path(name)), flush=True)
    for folder in (slots.BUILD_ROOT / "slot-0", slots.CACHE_HOME):
        du = subprocess.run(["du", "-sh", str(folder)], capture_output=True, text=True)
        print(f"disk: {du.stdout.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
