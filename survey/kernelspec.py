"""Install the survey's Jupyter kernel spec into the active environment (the venv).

The kernel is evcxr_jupyter with EVCXR_CONFIG_DIR pointing at the repository's evcxr/ folder,
so every kernel started for the survey reads evcxr/init.evcxr (dependency cache on) whatever
the user's own evcxr configuration says. It is started through ``python -m survey.slots``,
which runs it in a build directory of the survey's pool (warm after the first kernel) with
the pool's compilation cache. JupyterLab (``make lab``) and the headless runner both start
kernels from this spec.

Usage: python -m survey.kernelspec PATH_TO_evcxr_jupyter
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from survey import DISPLAY_NAME, KERNEL_NAME, REPO

# evcxr reads init.evcxr from here.
EVCXR_CONFIG_DIR = REPO / "evcxr"


def kernel_spec(evcxr_jupyter: Path, python: str = sys.executable) -> dict:
    """The kernel.json for ``evcxr_jupyter``, launched by ``python -m survey.slots``.

    ``-m`` rather than a path to slots.py: the launcher imports the package like every other
    caller does, so it needs no ``sys.path`` edits, and moving the file inside the package
    does not break installed specs. The price is that ``python`` must be the venv's
    interpreter, in which the package is installed; ``sys.executable`` is, when this runs
    from the Makefile."""
    return {
        "argv": [
            python,
            "-m",
            "survey.slots",
            str(evcxr_jupyter),
            "--control_file",
            "{connection_file}",
        ],
        "display_name": DISPLAY_NAME,
        "language": "rust",
        "interrupt_mode": "message",
        "env": {"EVCXR_CONFIG_DIR": str(EVCXR_CONFIG_DIR)},
    }


def package_is_installed(python: str = sys.executable) -> bool:
    """Whether ``python`` imports this very package when started outside the repository.

    Jupyter starts kernels in the notebook's folder, where the repository root is not on the
    import path; only the venv's (editable) install makes ``survey`` importable there. Asking
    the interpreter itself is the direct test: checking the installed distribution's metadata
    would not notice a second checkout's install shadowing this one."""
    probe = subprocess.run(
        [python, "-c", "import survey; print(survey.__file__)"],
        cwd="/",
        capture_output=True,
        text=True,
    )
    found = probe.stdout.strip()
    return probe.returncode == 0 and Path(found).resolve() == REPO / "survey" / "__init__.py"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    evcxr_jupyter = Path(argv[0]).resolve()
    if not evcxr_jupyter.is_file():
        print(f"kernelspec: {evcxr_jupyter} is not a file", file=sys.stderr)
        return 1
    if not package_is_installed():
        print(
            f"kernelspec: {sys.executable} does not import this checkout's survey package"
            " outside the repository; install it with `make venv` (pip install -e .)",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory() as staging:
        spec_file = Path(staging) / "kernel.json"
        spec_file.write_text(json.dumps(kernel_spec(evcxr_jupyter), indent=2))
        KernelSpecManager().install_kernel_spec(staging, KERNEL_NAME, prefix=sys.prefix)
    print(f"kernel spec {KERNEL_NAME!r} installed into {sys.prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
