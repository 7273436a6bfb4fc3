"""The lessons as a person meets them: JupyterLab in a real (headless) browser, and the slides.

For a few fast lessons (and the start page when there is one), JupyterLab opens a copy of the
notebook, "Run All Cells" runs it on the survey's kernel, and the test checks what the page
then shows: the kernel's name, an execution count on every code cell, no error and nothing on
stderr, and every figure loaded. The live slideshow (jupyterlab-myst-revealjs) must show the
markdown, and a deck from `make slides` must load reveal.js from its vendored copy, with no
request leaving the machine, and move from the first slide to the second.

Screenshots of each step go to .build/browser/; look at them after a change to the notebooks'
look. survey/browser.py holds the JupyterLab and page plumbing.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import os
import threading
import time
import urllib.parse
from pathlib import Path

import nbformat
import pytest

from survey import DISPLAY_NAME, KERNEL_NAME, REPO, browser, slides, slots
from survey.runner import (
    DEFAULT_CELL_TIMEOUT,
    SETUP_CELL_TIMEOUT,
    SETUP_LOCK,
    cell_failures,
    cpu_turn,
    exercise_role,
    locked,
    verdict_failures,
)

SHOTS = REPO / ".build" / "browser"
NOTEBOOKS = REPO / "notebooks"
# The start page and two fast lessons with figures (survey/browser.py says why these).
LESSONS = browser.BROWSER_NOTEBOOKS
# The deck opened from `make slides`, and the notebook whose live slideshow is checked.
DECK_NOTEBOOK = next(iter(sorted(NOTEBOOKS.glob("02_*.ipynb"))), None)
# Opening a notebook: JupyterLab loads it and starts the kernel (evcxr starts in a second or
# two, much slower on a loaded machine).
OPEN_TIMEOUT = 180
# The browser draws after the kernel: some slack on top of the runner's cell timeouts.
BROWSER_SLACK = 60
VIEWPORT = {"width": 1400, "height": 1000}


def test_lessons_are_found():
    # Guards the globs: a renamed lesson must not turn the browser test into nothing.
    assert len([p for p in LESSONS if not p.name.startswith("00_")]) == 2, LESSONS


@pytest.fixture(scope="module")
def chromium_browser():
    """Debian's Chromium under Playwright; skipped (not failed) only where it cannot be
    installed: `make browser-tools` installs it when run as root, as CI is."""
    executable = browser.chromium()
    if executable is None:
        if os.geteuid() != 0:
            pytest.skip("chromium is not installed (as root, `make browser-tools` installs it)")
        pytest.fail(
            "chromium is not installed: run `make browser-tools` (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def lab(chromium_browser, tmp_path_factory):
    """A JupyterLab on copies of the lessons, its page loaded, and whether its kernels' build
    directory was cold. The kernels it starts (one at a time) build in one slot of the pool,
    held for the whole module, as the runner's kernels do."""
    workdir = tmp_path_factory.mktemp("lab")
    copies = [LESSONS, [DECK_NOTEBOOK] if DECK_NOTEBOOK else []]
    browser.lesson_copy(sorted({p for group in copies for p in group}), workdir)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with (
        slots.free_slot() as slot,
        browser.jupyterlab(
            workdir,
            tmp_path_factory.mktemp("jupyter"),
            SHOTS / "jupyterlab.log",
            env=slots.kernel_env(slot),
        ) as server,
    ):
        page = chromium_browser.new_page(viewport=VIEWPORT)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url("lab", "reset"))
        page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell", timeout=120e3)
        page.evaluate("() => window.jupyterapp.restored")
        state = {"server": server, "page": page, "cold": slots.is_cold(slot), "errors": errors}
        try:
            yield state
        finally:
            page.close()


def close_notebook(lab_state) -> None:
    """Shuts the kernel down and closes the notebook (and the slideshow) unsaved; waits until
    the server has no kernel left, so that the next kernel has the build directory to itself."""
    page, server = lab_state["page"], lab_state["server"]
    page.evaluate(browser.JS_CLOSE_ALL)
    deadline = time.monotonic() + 60
    while server.api("kernels"):
        assert time.monotonic() < deadline, "a kernel did not shut down within 60 s"
        time.sleep(0.5)


def committed_figures(notebook: Path) -> int:
    """How many figures (images) the committed outputs of ``notebook`` have."""
    count = 0
    for cell in json.loads(notebook.read_text())["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            count += "".join(data.get("text/html", "")).count("<img")
            count += sum(1 for mime in data if mime.startswith("image/"))
    return count


@pytest.mark.parametrize("notebook", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_clean_in_jupyterlab(lab, notebook, record_property):
    page = lab["page"]
    path = f"notebooks/{notebook.name}"
    lab["errors"].clear()
    started = time.monotonic()
    try:
        # Like every notebook run, it shares the cores; a cold build directory builds alone.
        with (
            cpu_turn(),
            locked(SETUP_LOCK) if lab["cold"] else contextlib.nullcontext(),
        ):
            dialogs = browser.open_notebook(page, path, OPEN_TIMEOUT)
            kernel = page.evaluate(browser.JS_RUN_STATE)
            ran = opened = time.monotonic()
            outcome, more_dialogs = browser.run_all(
                page, SETUP_CELL_TIMEOUT + BROWSER_SLACK, DEFAULT_CELL_TIMEOUT + BROWSER_SLACK
            )
            run_seconds = time.monotonic() - ran
            lab["cold"] = False
        page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.scrollToItem(0, 'start')"
        )
        page.wait_for_timeout(500)
        page.screenshot(path=SHOTS / f"{notebook.stem}-top.png")
        outputs = page.evaluate(browser.JS_OUTPUTS)
        figures = page.evaluate(browser.JS_FIGURES)
        if figures:
            # JS_FIGURES leaves the last figure in view.
            page.wait_for_timeout(500)
            page.screenshot(path=SHOTS / f"{notebook.stem}-figure.png")
        state = page.evaluate(browser.JS_RUN_STATE)
        checked = time.monotonic()
    finally:
        close_notebook(lab)
    record_property(
        "notebook_timing",
        f"browser {notebook.name}: {time.monotonic() - started:.1f} s (open {opened - started:.1f},"
        f" run all {run_seconds:.1f}, checks {checked - opened - run_seconds:.1f},"
        f" close {time.monotonic() - checked:.1f})",
    )

    assert kernel["kernelName"] == KERNEL_NAME, kernel
    assert kernel["displayName"] == DISPLAY_NAME, kernel
    assert outcome == "done", f"Run All: {outcome}"
    assert state["status"] == "idle", state
    counts = [cell["count"] for cell in outputs["cells"]]
    assert None not in counts, f"code cells without an execution count: {outputs['cells']}"
    assert counts == sorted(counts), f"cells ran out of order: {counts}"
    problems = [
        f"cell {cell['index']} ({cell['source']}): {cell['errors'] or cell['stderr'][:500]}"
        for cell in outputs["cells"]
        if cell["errors"] or cell["stderr"].strip()
    ]
    assert not problems, "errors or stderr in the outputs:\n" + "\n".join(problems)
    # The headless runner's judgement of the same outputs (panics on stdout, exercise
    # verdicts): tests/test_notebooks.py leaves these notebooks to this test.
    failures = judged_as_the_runner_would(notebook, outputs["cells"])
    assert not failures, "\n".join(failures)
    assert outputs["drawnStderr"] == 0, "JupyterLab drew stderr or error outputs"
    if committed_figures(notebook):
        assert figures, "the committed notebook has figures; the run showed none"
    unloaded = [f for f in figures if not (f["naturalWidth"] and f["width"] and f["decoded"])]
    assert not unloaded, f"figures that did not load or are not shown: {unloaded}"
    assert not dialogs + more_dialogs, f"dialogs came up: {dialogs + more_dialogs}"
    assert not lab["errors"], f"errors in the page: {lab['errors']}"


def judged_as_the_runner_would(notebook: Path, cells: list[dict]) -> list[str]:
    """The failures survey.runner would find in these outputs of ``notebook``'s code cells
    (JS_OUTPUTS's cells, by index), with each cell's exercise role from its tags."""
    committed = nbformat.read(notebook, as_version=4).cells
    failures = []
    for cell in cells:
        where = f"cell {cell['index']}"
        role = exercise_role(committed[cell["index"]])
        failures += cell_failures(where, cell["outputs"])
        failures += verdict_failures(where, role, cell["outputs"])
    return failures


# The slide shown now in the live slideshow: its markdown's text, and its code cells.
JS_LIVE_SLIDE = """() => {
    const slide = document.querySelector('.reveal .slides section.present');
    if (!slide) return null;
    const markdown = Array.from(slide.querySelectorAll('.jp-Slideshow-markdownCell'));
    return {markdown: markdown.length,
            markdownText: markdown.map(m => m.innerText.trim()).join(' ').length,
            code: slide.querySelectorAll('.jp-CodeCell').length,
            sections: document.querySelectorAll('.reveal .slides section').length};
}"""


@pytest.mark.skipif(DECK_NOTEBOOK is None, reason="no part 02")
def test_live_slideshow_shows_the_markdown(lab):
    """The pinned live-slides extension on the pinned JupyterLab: its slides carry the
    notebook's markdown (the failure reported for jupyterlab-rise on newer JupyterLabs is
    blank markdown cells, jupyterlab-contrib/rise#137)."""
    page = lab["page"]
    path = f"notebooks/{DECK_NOTEBOOK.name}"
    try:
        browser.open_notebook(page, path, OPEN_TIMEOUT)
        page.evaluate("() => { window.jupyterapp.commands.execute('slideshow:open'); }")
        page.wait_for_selector(".reveal .slides section.present", timeout=60e3)
        page.wait_for_timeout(1500)
        seen = []
        for step in range(6):
            seen.append(page.evaluate(JS_LIVE_SLIDE))
            page.screenshot(path=SHOTS / f"live-slide-{step + 1}.png")
            page.evaluate(
                "() => document.querySelector('.reveal .controls .navigate-right').click()"
            )
            page.wait_for_timeout(600)
    finally:
        close_notebook(lab)
    assert seen[0] and seen[0]["sections"] > 1, f"no slides: {seen}"
    with_markdown = [s for s in seen if s and s["markdown"]]
    assert with_markdown, f"no slide with markdown in the first six: {seen}"
    blank = [s for s in with_markdown if s["markdownText"] == 0]
    assert not blank, f"slides whose markdown is blank: {blank}"


@contextlib.contextmanager
def served(folder: Path):
    """``folder`` over HTTP on 127.0.0.1, in a thread."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def slides_deck() -> Path:
    """The deck of DECK_NOTEBOOK that `make slides` wrote (`make check` runs it first),
    rebuilt if it is out of date (slides.build skips it otherwise)."""
    slides.build([DECK_NOTEBOOK], slides.SLIDES_DIR, index=False)
    return slides.SLIDES_DIR / slides.deck_name(DECK_NOTEBOOK)


@pytest.mark.skipif(DECK_NOTEBOOK is None, reason="no part 02")
def test_slides_deck_works_offline(chromium_browser):
    deck = slides_deck()
    page = chromium_browser.new_page(viewport=VIEWPORT)
    errors, failed, outside = [], [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("requestfailed", lambda request: failed.append(request.url))
    # A vendored file that is missing (the browser asks for its own favicon).
    page.on(
        "response",
        lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico") and failed.append(r.url),
    )

    def only_local(route):
        # Nothing may leave the machine: every request is to the test's server or a file.
        url = urllib.parse.urlsplit(route.request.url)
        if url.scheme in ("file", "data") or url.hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    try:
        with served(deck.parent) as base:
            page.goto(f"{base}/{deck.name}")
            first, second = walk_two_slides(page, "deck")
        served_problems = (list(outside), list(failed), list(errors))
        # Opened from disk too. Chromium loads no ES module from file://, so mermaid (which
        # renders ```mermaid blocks) fails there and nothing else does: only that is allowed.
        page.goto(deck.as_uri())
        from_disk = walk_two_slides(page, "deck-file")
    finally:
        page.close()
    outside, failed, errors = served_problems
    assert first == {"h": 0, "v": 0}, first
    assert second != first, f"Reveal.next() stayed on {first}"
    assert from_disk[1] != from_disk[0], f"from disk, Reveal.next() stayed on {from_disk[0]}"
    assert not outside, f"requests that would leave the machine: {outside}"
    assert not failed, f"requests that failed: {failed}"
    assert not errors, f"errors in the page: {errors}"


# The deck's reveal.js API. nbconvert's template loads reveal.js through require.js, as an
# AMD module, so there is no window.Reveal: require.js hands out the loaded module.
JS_REVEAL = (
    f"require('{slides.NBCONVERT_OPTIONS['SlidesExporter.reveal_url_prefix']}/dist/reveal.js')"
)


def walk_two_slides(page, name: str) -> tuple[dict, dict]:
    """Waits for reveal.js, screenshots the first slide, moves on, screenshots the second;
    returns both slides' indices."""
    page.wait_for_function(
        f"() => {{ try {{ return {JS_REVEAL}.isReady(); }} catch (e) {{ return false; }} }}",
        timeout=60e3,
    )
    indices = f"() => {{ const i = {JS_REVEAL}.getIndices(); return {{h: i.h, v: i.v}}; }}"
    first = page.evaluate(indices)
    page.wait_for_timeout(500)
    page.screenshot(path=SHOTS / f"{name}-slide-1.png")
    page.evaluate(f"() => {JS_REVEAL}.next()")
    page.wait_for_timeout(1200)  # the slide transition
    second = page.evaluate(indices)
    page.screenshot(path=SHOTS / f"{name}-slide-2.png")
    return first, second
