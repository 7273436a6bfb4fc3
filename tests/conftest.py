"""Shared pytest set-up: the runner on the import path, and a per-notebook timing report."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


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
