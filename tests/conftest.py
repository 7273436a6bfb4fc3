"""Shared pytest set-up: one kernel session per test process, and a per-notebook timing report.

The code under test is the ``survey`` package, which ``make venv`` installs editable into the
venv, so the tests import it by name.
"""

import pytest

from survey.runner import KernelSession


@pytest.fixture(scope="session")
def kernel_session():
    """A build directory and a kernel that the notebooks run by this test process (each
    pytest-xdist worker is one) take in turn: the next notebook from the same folder reuses
    the kernel after evcxr's `:clear`, unless the last one left it unfit, by a hang for
    example (survey.runner.KernelSession lists the cases)."""
    with KernelSession() as session:
        yield session


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
