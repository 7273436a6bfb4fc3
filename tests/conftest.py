"""Shared pytest set-up: where evcxr builds, and a per-notebook timing report."""

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))

# One evcxr build directory per notebook, kept between runs so that a warm run only checks
# freshness. Never shared: two kernels building in one directory at once corrupt each other.
BUILD_ROOT = REPO / ".build" / "evcxr"


@pytest.fixture
def build_dir(request) -> Path:
    """A build directory that belongs to this test alone."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    return BUILD_ROOT / name


def pytest_terminal_summary(terminalreporter):
    """Print the time each notebook took, including under pytest-xdist."""
    lines = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            for key, value in getattr(report, "user_properties", []):
                if key == "notebook_timing":
                    lines.append(f"{outcome:6} {value}")
    if lines:
        terminalreporter.write_sep("-", "notebook times")
        for line in sorted(lines, key=lambda line: line.split()[1]):
            terminalreporter.write_line(line)
