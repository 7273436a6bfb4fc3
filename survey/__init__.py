"""The survey's Python tools: the headless notebook runner, the kernel launcher and the
kernel spec installer, plus the notebook normaliser they share.

They are tools that work on this repository (its notebooks, its ``.build/`` directory, its
``evcxr/`` configuration), so the package is installed *editable* into the venv by
``make venv`` and finds the repository from its own location. A regular (copying) install
would put it in site-packages, where ``REPO`` would point at the wrong place.

The kernel's name and display name are defined here once: the kernel spec installs under
them, and the runner starts kernels by that name.
"""

from pathlib import Path

KERNEL_NAME = "rust-async-survey"
DISPLAY_NAME = "Rust (async survey)"
# The repository this package lives in (editable install: the source tree itself).
REPO = Path(__file__).resolve().parent.parent
