"""Install the survey's Jupyter kernel spec into the active environment (the venv).

The kernel is evcxr_jupyter with EVCXR_CONFIG_DIR pointing at this folder, so every kernel
started for the survey reads init.evcxr (dependency cache on) whatever the user's own evcxr
configuration says. It is started through kernel_slots.py, which runs it in a build directory
of the survey's pool (warm after the first kernel) with the pool's compilation cache.

Usage: python evcxr/install_kernel.py PATH_TO_evcxr_jupyter
"""

import json
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

KERNEL_NAME = "rust-async-survey"
DISPLAY_NAME = "Rust (async survey)"


def kernel_spec(evcxr_jupyter: Path, config_dir: Path) -> dict:
    # Started through kernel_slots.py, which gives each kernel a warm build directory.
    launcher = [sys.executable, str(config_dir / "kernel_slots.py")]
    return {
        "argv": [*launcher, str(evcxr_jupyter), "--control_file", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "rust",
        "interrupt_mode": "message",
        "env": {"EVCXR_CONFIG_DIR": str(config_dir)},
    }


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    evcxr_jupyter = Path(sys.argv[1]).resolve()
    if not evcxr_jupyter.is_file():
        sys.exit(f"install_kernel: {evcxr_jupyter} is not a file")
    config_dir = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as staging:
        spec_file = Path(staging) / "kernel.json"
        spec_file.write_text(json.dumps(kernel_spec(evcxr_jupyter, config_dir), indent=2))
        KernelSpecManager().install_kernel_spec(staging, KERNEL_NAME, prefix=sys.prefix)
    print(f"kernel spec {KERNEL_NAME!r} installed into {sys.prefix}")


if __name__ == "__main__":
    main()
