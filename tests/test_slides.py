"""`make slides` rebuilds only the decks that are out of date (survey/slides.py)."""

from __future__ import annotations

import os
from pathlib import Path

from survey import slides


def touch(path: Path, mtime: float) -> Path:
    path.write_text(path.name)
    os.utime(path, (mtime, mtime))
    return path


def test_a_deck_newer_than_its_notebook_and_the_deck_maker_is_up_to_date(tmp_path):
    made = max(Path(slides.__file__).stat().st_mtime, slides.VENV_STAMP.stat().st_mtime)
    notebook = touch(tmp_path / "02_part.ipynb", made - 60)
    deck = touch(tmp_path / slides.deck_name(notebook), made + 60)
    assert slides.is_up_to_date(deck, notebook)


def test_a_deck_is_rebuilt_after_its_notebook_or_the_deck_maker_changed(tmp_path):
    made = max(Path(slides.__file__).stat().st_mtime, slides.VENV_STAMP.stat().st_mtime)
    notebook = touch(tmp_path / "02_part.ipynb", made + 120)
    deck = touch(tmp_path / slides.deck_name(notebook), made + 60)
    assert not slides.is_up_to_date(deck, notebook), "the notebook changed after the deck"
    touch(notebook, made - 120)
    touch(deck, made - 60)
    assert not slides.is_up_to_date(deck, notebook), "survey/slides.py changed after the deck"
    assert not slides.is_up_to_date(tmp_path / "absent.slides.html", notebook)
