"""JupyterLab and a headless Chromium for the browser test (tests/test_browser.py).

The headless runner (survey/runner.py) proves that the lessons' code runs; it does not prove
that a person who opens a notebook in JupyterLab and presses "Run All" sees it work: that the
kernel spec is found and named, that outputs render, that the figures load. This module starts
a JupyterLab of its own and drives it from Chromium through Playwright, the way such a person
would, without touching anything of the user's:

* the server listens on 127.0.0.1, on a free port, with a random token;
* Jupyter's configuration, data, runtime, settings and workspace folders are fresh temporary
  ones (``JUPYTER_*_DIR``, ``JUPYTERLAB_*_DIR``), so the user's settings and saved layouts do
  not apply and nothing is written to them. The venv's kernel spec stays visible: it lives in
  the venv's ``share/jupyter/kernels``, which is searched whatever those variables say;
* its settings turn autosave off (the notebooks it opens are copies anyway, see
  ``lesson_copy``) and the news and update checks off (they would reach the internet and put
  a toast over the screenshots);
* ``--LabApp.expose_app_in_browser`` gives the page ``window.jupyterapp``, through which the
  test opens notebooks and runs commands exactly as the menus do.

Chromium is Debian's (``/usr/bin/chromium``): Playwright's own browser download needs a host
this project does not reach. `make browser-tools` installs it when missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from survey import REPO

# Debian's package puts it here; other distributions call it chromium-browser.
CHROMIUM_NAMES = ("chromium", "chromium-browser")
# A cold JupyterLab start on a loaded 2-core machine: a few seconds, ten times that at worst.
SERVER_START_TIMEOUT = 120
# JupyterLab settings for the test's server (see the module docstring).
LAB_SETTINGS = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


# The notebooks the browser test runs through JupyterLab's "Run All": the start page and two
# fast lessons with figures. Where that test can run (Chromium is installed), it judges them
# as the headless runner would, and tests/test_notebooks.py does not run them a second time.
BROWSER_NOTEBOOKS = [
    path
    for path in (
        REPO / "notebooks" / "00_start_here.ipynb",
        *sorted((REPO / "notebooks").glob("02_*.ipynb"))[:1],
        *sorted((REPO / "notebooks").glob("11_*.ipynb"))[:1],
    )
    if path.is_file()
]


def chromium() -> str | None:
    """The path of the system's Chromium, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lesson_copy(notebooks: list[Path], workdir: Path) -> Path:
    """Copies the notebooks into ``workdir/notebooks`` and links ``workdir/support`` to the
    repository's crate; returns the notebooks' folder.

    The copies are what JupyterLab opens, so whatever the run does to them (outputs, a save)
    never reaches the committed notebooks. Their setup cell's ``:dep support = { path =
    "../support" }`` resolves through the link, and evcxr canonicalises a dependency's path
    before building, so the kernel builds the same ``support`` as a kernel started from
    notebooks/ does, in the same (warm) build directories."""
    folder = workdir / "notebooks"
    folder.mkdir(parents=True, exist_ok=True)
    for notebook in notebooks:
        shutil.copy2(notebook, folder / notebook.name)
    link = workdir / "support"
    if not link.exists():
        link.symlink_to(REPO / "support", target_is_directory=True)
    return folder


@dataclass
class Lab:
    """A running JupyterLab server."""

    base_url: str
    token: str
    root: Path
    process: subprocess.Popen

    def url(self, path: str = "lab", query: str = "") -> str:
        return f"{self.base_url}/{path}?token={self.token}{'&' + query if query else ''}"

    def api(self, path: str):
        """GET ``/api/PATH`` as JSON."""
        with urllib.request.urlopen(self.url(f"api/{path}"), timeout=10) as response:
            return json.load(response)


def write_settings(settings_dir: Path) -> None:
    for plugin, values in LAB_SETTINGS.items():
        path = settings_dir / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


@contextlib.contextmanager
def jupyterlab(
    root: Path, state: Path, log: Path, env: dict[str, str] | None = None
) -> Iterator[Lab]:
    """A JupyterLab serving ``root``, with its own Jupyter folders under ``state`` and its
    output in ``log``; ``env`` is added to its environment (and so its kernels'). Stopped,
    kernels and all, when the block ends."""
    port, token = free_port(), secrets.token_hex(16)
    folders = {
        "JUPYTER_CONFIG_DIR": state / "config",
        "JUPYTER_DATA_DIR": state / "data",
        "JUPYTER_RUNTIME_DIR": state / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": state / "settings",
        "JUPYTERLAB_WORKSPACES_DIR": state / "workspaces",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    write_settings(folders["JUPYTERLAB_SETTINGS_DIR"])
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--ServerApp.open_browser=False",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
    ]
    if os.geteuid() == 0:
        command.append("--allow-root")
    environment = {**os.environ, **{k: str(v) for k, v in folders.items()}, **(env or {})}
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as log_file:
        process = subprocess.Popen(
            command,
            cwd=root,
            env=environment,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        lab = Lab(f"http://127.0.0.1:{port}", token, root, process)
        try:
            wait_until_serving(lab, log)
            yield lab
        finally:
            stop(process)


def wait_until_serving(lab: Lab, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while True:
        try:
            lab.api("status")
            return
        except OSError:
            if lab.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited at start; see {log}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"jupyter lab did not answer within {SERVER_START_TIMEOUT} s; see {log}"
                ) from None
            time.sleep(0.25)


def stop(process: subprocess.Popen) -> None:
    """SIGTERM lets the server shut its kernels down; what is left after 30 s is killed."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(10)


# JavaScript run in the page, through window.jupyterapp (JupyterLab's application object).

# Whether the current notebook is open, loaded and its kernel choice settled.
JS_NOTEBOOK_READY = """path => {
    const w = window.jupyterapp.shell.currentWidget;
    return !!(w && w.context && w.context.path === path && w.context.isReady
              && w.sessionContext && w.sessionContext.isReady);
}"""

# The kernel of the current notebook, and the run state of its code cells.
JS_RUN_STATE = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
    const cells = [];
    const model = w.content.model.cells;
    for (let i = 0; i < model.length; i++) {
        const c = model.get(i);
        if (c.type === 'code') {
            cells.push({index: i, state: c.executionState, count: c.executionCount});
        }
    }
    return {kernelName: kernel ? kernel.name : null, status: kernel ? kernel.status : null,
            displayName: w.sessionContext.kernelDisplayName, cells};
}"""

# What every code cell of the current notebook shows: its outputs (from the model) and the
# stderr and error areas JupyterLab drew (from the page).
JS_OUTPUTS = """() => {
    const w = window.jupyterapp.shell.currentWidget;
    const cells = [];
    w.content.widgets.forEach((cell, index) => {
        if (cell.model.type !== 'code') return;
        const outputs = cell.model.outputs.toJSON();
        cells.push({
            index,
            count: cell.model.executionCount,
            source: cell.model.sharedModel.getSource().split('\\n')[0],
            errors: outputs.filter(o => o.output_type === 'error')
                           .map(o => `${o.ename}: ${o.evalue}`),
            stderr: outputs.filter(o => o.output_type === 'stream' && o.name === 'stderr')
                           .map(o => Array.isArray(o.text) ? o.text.join('') : o.text).join(''),
            outputs,
        });
    });
    const drawnStderr = w.node.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').length;
    return {cells, drawnStderr};
}"""

# Every image in the current notebook's outputs, brought into view and decoded.
JS_FIGURES = """async () => {
    const w = window.jupyterapp.shell.currentWidget;
    const figures = [];
    for (const img of w.node.querySelectorAll('.jp-OutputArea-output img')) {
        img.scrollIntoView({block: 'center'});
        let decoded = true;
        try { await img.decode(); } catch (e) { decoded = false; }
        const box = img.getBoundingClientRect();
        figures.push({decoded, complete: img.complete, naturalWidth: img.naturalWidth,
                      naturalHeight: img.naturalHeight, width: box.width, height: box.height,
                      src: img.src.slice(0, 40)});
    }
    return figures;
}"""

# Shuts every kernel down (the server waits for their processes to end) and closes every
# document and panel without asking about unsaved changes.
JS_CLOSE_ALL = """async () => {
    const app = window.jupyterapp;
    const widgets = Array.from(app.shell.widgets('main'));
    for (const w of widgets) {
        if (w.context && w.context.model) w.context.model.dirty = false;
    }
    await app.serviceManager.sessions.shutdownAll();
    for (const w of widgets) w.dispose();
}"""

# Starts "Run All" and keeps its promise's outcome (true if every cell ran without error).
JS_RUN_ALL = """() => {
    window.__surveyRunAll = undefined;
    window.jupyterapp.commands.execute('notebook:run-all-cells')
        .then(ok => { window.__surveyRunAll = ok === false ? 'failed' : 'done'; },
              error => { window.__surveyRunAll = 'error: ' + error; });
}"""


def dismiss_dialogs(page) -> list[str]:
    """Accepts any JupyterLab dialog on the page; returns their titles."""
    titles = []
    while page.locator(".jp-Dialog").count():
        titles.append(page.locator(".jp-Dialog .jp-Dialog-header").first.inner_text().strip())
        # A click through the DOM: a toast over the button must not make it miss.
        page.evaluate("() => document.querySelector('.jp-Dialog .jp-mod-accept').click()")
        page.wait_for_timeout(300)
    return titles


def open_notebook(page, path: str, timeout: float) -> list[str]:
    """Opens ``path`` (relative to the server's root) as JupyterLab's File > Open does and
    waits until its kernel is started and idle; returns the titles of dialogs it dismissed."""
    page.evaluate(
        "path => { window.jupyterapp.commands.execute("
        "'docmanager:open', {path, factory: 'Notebook'}); }",
        path,
    )
    dialogs = []
    deadline = time.monotonic() + timeout
    while not page.evaluate(JS_NOTEBOOK_READY, path):
        dialogs += dismiss_dialogs(page)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not open within {timeout} s")
        page.wait_for_timeout(250)
    while page.evaluate(JS_RUN_STATE)["status"] != "idle":
        dialogs += dismiss_dialogs(page)
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path}: the kernel was not idle within {timeout} s")
        page.wait_for_timeout(250)
    return dialogs


def run_all(page, setup_timeout: float, cell_timeout: float) -> tuple[str, list[str]]:
    """Clears every output, then runs Run > Run All Cells and waits for it to finish.

    Waits as long as cells keep finishing: the first code cell (which may build the
    dependencies) gets ``setup_timeout`` seconds, every later one ``cell_timeout``. Returns
    how it ended ("done", "failed" if a cell failed, or why it was given up) and the titles
    of dialogs dismissed on the way."""
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
    page.evaluate(JS_RUN_ALL)
    dialogs = []
    finished_before, last_progress = -1, time.monotonic()
    while True:
        dialogs += dismiss_dialogs(page)
        outcome = page.evaluate("() => window.__surveyRunAll")
        if outcome:
            return outcome, dialogs
        cells = page.evaluate(JS_RUN_STATE)["cells"]
        finished = sum(1 for c in cells if c["count"] is not None and c["state"] != "running")
        now = time.monotonic()
        if finished != finished_before:
            finished_before, last_progress = finished, now
        allowed = cell_timeout if finished else setup_timeout
        if now - last_progress > allowed:
            running = [c["index"] for c in cells if c["state"] == "running"]
            return f"no cell finished for {allowed:.0f} s (running: cells {running})", dialogs
        page.wait_for_timeout(500)
