"""`make slides` rebuilds only the decks that are out of date (survey/slides.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from survey import slides


def touch(path: Path, mtime: float) -> Path:
    path.write_text(path.name)
    os.utime(path, (mtime, mtime))
    return path


def makers(tmp_path: Path, monkeypatch, mtime: float) -> Path:
    """A deck maker (survey/slides.py) and a venv stamp made at ``mtime``; returns the
    notebook, made then too."""
    monkeypatch.setattr(slides, "__file__", str(touch(tmp_path / "slides.py", mtime)))
    monkeypatch.setattr(slides, "VENV_STAMP", touch(tmp_path / ".installed", mtime))
    return touch(tmp_path / "02_part.ipynb", mtime)


def deck(tmp_path: Path, notebook: Path, mtime: float, text: str = "a deck") -> Path:
    path = tmp_path / slides.deck_name(notebook)
    path.write_text(text)
    os.utime(path, (mtime, mtime))
    return path


def test_a_deck_made_after_everything_that_shapes_it_is_up_to_date(tmp_path, monkeypatch):
    notebook = makers(tmp_path, monkeypatch, 1000)
    assert slides.is_up_to_date(deck(tmp_path, notebook, 2000), notebook)


@pytest.mark.parametrize("changed", ["02_part.ipynb", "slides.py", ".installed"])
def test_a_deck_is_stale_once_its_notebook_or_a_deck_maker_changed(tmp_path, monkeypatch, changed):
    notebook = makers(tmp_path, monkeypatch, 1000)
    made = deck(tmp_path, notebook, 2000)
    touch(tmp_path / changed, 3000)
    assert not slides.is_up_to_date(made, notebook)


def test_a_missing_or_unfinished_deck_is_stale(tmp_path, monkeypatch):
    notebook = makers(tmp_path, monkeypatch, 1000)
    assert not slides.is_up_to_date(tmp_path / "absent.slides.html", notebook)
    # nbconvert wrote it, and the run stopped before mermaid was pointed at the local copy.
    unfinished = deck(tmp_path, notebook, 2000, f"import('{slides.MERMAID_CDN}')")
    assert not slides.is_up_to_date(unfinished, notebook)
