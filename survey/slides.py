"""Static reveal.js decks of the notebooks (`make slides`), that work offline.

``jupyter nbconvert --to slides`` writes one HTML file per notebook that loads reveal.js and its
helpers from URLs. nbconvert's defaults are CDNs (unpkg, cdnjs), so a deck opened in a room
without internet shows no slides at all: reveal.js itself is loaded through require.js, and
neither arrives. Here every one of those URLs points at a pinned copy under
``.build/slides/vendor/``, installed from the npm registry, by a path relative to the decks: a
deck works opened from disk (file://) and served over HTTP alike, as long as it stays next to
its ``vendor/`` folder.

What nbconvert 7.17's reveal template loads, and from which package:

* ``{reveal_url_prefix}/dist/reveal.js``, ``/dist/reveal.css``, ``/dist/theme/THEME.css`` and
  ``/plugin/notes/notes.js``: the reveal.js 4 layout (the template's default is
  reveal.js@4.0.2; reveal.js 5 moved nothing the template names, 6 did), so the last 4.x;
* require.js, which loads reveal.js (``require([...])``), and jQuery, used when a deck scrolls;
* MathJax 2 (the template calls ``MathJax.Hub`` on every slide change, so MathJax 3 will not
  do): ``MathJax.js`` with the TeX-AMS_CHTML-full configuration, and only the files that
  configuration loads;
* mermaid, an ES module (it renders ```` ```mermaid ```` blocks). Browsers load ES modules
  only over HTTP, so on file:// a deck's mermaid diagrams stay text; everything else works.

Notebooks without slide metadata still make a deck: until a notebook says which cells start a
slide (``metadata.slideshow.slide_type``), every cell is a slide of its own
(``EveryCellASlide``); without it nbconvert would put the whole notebook on one slide.

Usage (the Makefile's ``slides`` target)::

    python -m survey.slides vendor                      # the pinned copies, if missing
    python -m survey.slides build NOTEBOOK...           # the decks and index.html
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import html
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from survey import REPO

# Where `make slides` writes the decks, index.html and the vendored packages.
SLIDES_DIR = REPO / ".build" / "slides"
VENDOR = "vendor"
# Written by `make venv` after each install into the venv (nbconvert and its templates).
VENV_STAMP = REPO / ".venv" / ".installed"
# Records which pinned package (and which of its files) a vendor folder holds; a folder
# without it, or with another, is reinstalled.
STAMP = ".installed"


@dataclass(frozen=True)
class Package:
    """An npm package the decks load, pinned by version and by the tarball's integrity hash
    (the registry's ``dist.integrity``), and the files of it that are kept."""

    name: str
    version: str
    integrity: str
    # Globs inside the package (fnmatch: ``*`` crosses folders); the rest of it is not kept.
    keep: tuple[str, ...]

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"


PACKAGES = (
    Package(
        "reveal.js",
        "4.6.1",
        "sha512-1CW0auaXNPmwmvQ7TwpszwVxMi2Xr5cTS3J3EBC/HHgbPF32Dn7aiu/LKWDOGjMbaDwKQiGmfqcoGQ74HUHCMw==",
        ("LICENSE", "dist/*", "plugin/*"),
    ),
    Package(
        "requirejs",
        "2.3.7",
        "sha512-DouTG8T1WanGok6Qjg2SXuCMzszOo0eHeH9hDZ5Y4x8Je+9JB38HdTLT4/VA8OaUhBa0JPVHJ0pyBkM1z+pDsw==",
        ("README.md", "require.js"),
    ),
    Package(
        "jquery",
        "3.7.1",
        "sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==",
        ("LICENSE.txt", "dist/jquery.min.js"),
    ),
    Package(
        "mathjax",
        "2.7.9",
        "sha512-NOGEDTIM9+MrsqnjPEjVGNx4q0GQxqm61yQwSK+/5S59i26wId5IC5gNu9/bu8+CCVl5p9G2IHcAl/wJa+5+BQ==",
        (
            "LICENSE",
            "MathJax.js",
            "config/TeX-AMS_CHTML-full.js",
            "config/Safe.js",
            "extensions/*",
            "jax/element/*",
            "jax/input/TeX/*",
            "jax/output/CommonHTML/*",
            "jax/output/PreviewHTML/*",
            "fonts/HTML-CSS/TeX/woff/*",
            "localization/en/*",
        ),
    ),
    Package(
        "mermaid",
        "11.10.0",
        "sha512-oQsFzPBy9xlpnGxUqLbVY8pvknLlsNIJ0NWwi8SUJjhbP1IT0E0o1lfhU4iYV3ubpy+xkzkaOyDUQMn06vQElQ==",
        ("README.md", "dist/mermaid.esm.min.mjs", "dist/chunks/mermaid.esm.min/*.mjs"),
    ),
)

# nbconvert's options that point the reveal template's URLs at the vendored copies, relative
# to the deck, and the theme: nbconvert's default, "simple", imports its fonts from Google's
# servers, while "white" (the template's own fallback) ships its font in reveal.js.
NBCONVERT_OPTIONS = {
    "SlidesExporter.reveal_theme": "white",
    "SlidesExporter.reveal_url_prefix": f"{VENDOR}/reveal.js",
    "SlidesExporter.require_js_url": f"{VENDOR}/requirejs/require.js",
    "SlidesExporter.jquery_url": f"{VENDOR}/jquery/dist/jquery.min.js",
    "SlidesExporter.mathjax_url": f"{VENDOR}/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
}
# All but mermaid's: nbconvert 7.17 declares HTMLExporter.mermaid_js_url without
# `config=True`, so no option reaches it, and the decks are rewritten after nbconvert instead
# (`localise_mermaid`). An ES module import needs the "./".
MERMAID_CDN = HTMLExporter.class_traits()["mermaid_js_url"].default_value
MERMAID_LOCAL = f"./{VENDOR}/mermaid/dist/mermaid.esm.min.mjs"


class EveryCellASlide(Preprocessor):
    """Until a notebook has slide metadata, every cell is a slide of its own.

    nbconvert makes the first cell a slide and every cell without ``slide_type`` a
    continuation of the one before, so a notebook nobody has marked up yet would be one long
    slide. Once any cell has a ``slide_type``, the notebook is left as its author marked it.
    nbconvert runs this on its own copy of the notebook (before the reveal template's own
    preprocessor, which reads ``slide_type``); the file is not touched."""

    def preprocess(self, nb, resources):
        marked = any(cell.metadata.get("slideshow", {}).get("slide_type") for cell in nb.cells)
        if not marked:
            for cell in nb.cells:
                cell.metadata.setdefault("slideshow", {})["slide_type"] = "slide"
        return nb, resources


def integrity_of(tarball: Path) -> str:
    """The tarball's hash in npm's ``dist.integrity`` form."""
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def stamp_text(package: Package) -> str:
    """What a vendor folder's stamp says: a change of pin or of the kept files reinstalls."""
    return f"{package.spec} {package.integrity}\n" + "".join(f"{g}\n" for g in package.keep)


def is_installed(package: Package, vendor: Path) -> bool:
    stamp = vendor / package.name / STAMP
    return stamp.is_file() and stamp.read_text() == stamp_text(package)


def install(package: Package, vendor: Path) -> None:
    """Fetches the package's tarball with ``npm pack``, checks its hash against the pin and
    unpacks the kept files into ``vendor/NAME`` (replacing what was there)."""
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("slides: npm is required to fetch reveal.js (make slides installs it as root)")
    vendor.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=vendor, prefix=".fetch-") as scratch:
        # Absolute: npm runs inside the scratch folder, where a relative path would not lead.
        scratch = Path(scratch).resolve()
        packed = subprocess.run(
            [npm, "pack", "--silent", "--pack-destination", str(scratch), package.spec],
            capture_output=True,
            text=True,
            cwd=scratch,
        )
        tarballs = list(scratch.glob("*.tgz"))
        if packed.returncode != 0 or len(tarballs) != 1:
            sys.exit(f"slides: npm pack {package.spec} failed:\n{packed.stderr.strip()}")
        found = integrity_of(tarballs[0])
        if found != package.integrity:
            sys.exit(
                f"slides: {package.spec} from the registry is not the pinned tarball"
                f" (integrity {found}, pinned {package.integrity})"
            )
        staging = scratch / package.name
        kept = 0
        with tarfile.open(tarballs[0]) as tar:
            for member in tar.getmembers():
                # npm tarballs hold one folder, "package/".
                relative = member.name.partition("/")[2]
                if member.isfile() and any(fnmatch.fnmatch(relative, g) for g in package.keep):
                    member.name = relative
                    tar.extract(member, staging, filter="data")
                    kept += 1
        if kept == 0:
            sys.exit(f"slides: nothing of {package.spec} matched {package.keep}")
        (staging / STAMP).write_text(stamp_text(package))
        target = vendor / package.name
        shutil.rmtree(target, ignore_errors=True)
        staging.rename(target)
    print(f"slides: {package.spec} installed into {target} ({kept} files)")


def vendor_packages(vendor: Path) -> None:
    """Installs every pinned package that is missing or at another version; idempotent."""
    for package in PACKAGES:
        if is_installed(package, vendor):
            print(f"slides: {package.spec} is installed")
        else:
            install(package, vendor)


def notebook_title(path: Path) -> str:
    """The first heading of the notebook's first markdown cell, else its file name."""
    notebook = json.loads(path.read_text())
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") == "markdown":
            source = "".join(cell.get("source", ""))
            for line in source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
            break
    return path.stem


def deck_name(notebook: Path) -> str:
    """The file nbconvert writes for ``notebook`` (``--to slides``)."""
    return f"{notebook.stem}.slides.html"


def nbconvert_command(notebooks: list[Path], out_dir: Path) -> list[str]:
    """``jupyter nbconvert --to slides`` with every URL pointed at the vendored copies."""
    jupyter = Path(sys.executable).with_name("jupyter")
    return [
        str(jupyter),
        "nbconvert",
        "--log-level=WARN",
        "--to",
        "slides",
        "--output-dir",
        str(out_dir),
        # By its import name: this file also runs as __main__ (python -m survey.slides).
        "--SlidesExporter.preprocessors=survey.slides.EveryCellASlide",
        *(f"--{option}={value}" for option, value in NBCONVERT_OPTIONS.items()),
        *map(str, notebooks),
    ]


def localise_mermaid(deck: Path) -> None:
    """Points the deck's mermaid import at the vendored copy (see MERMAID_CDN)."""
    text = deck.read_text()
    imports = text.count(f"'{MERMAID_CDN}'")
    if imports != 1:
        sys.exit(
            f"slides: {deck} imports mermaid from {MERMAID_CDN} {imports} times, not once:"
            " has nbconvert's reveal template changed?"
        )
    deck.write_text(text.replace(f"'{MERMAID_CDN}'", f"'{MERMAID_LOCAL}'"))


def write_index(notebooks: list[Path], out_dir: Path) -> Path:
    """An index.html that links every deck, with the notebook's title."""
    items = "\n".join(
        f'    <li><a href="{html.escape(deck_name(nb))}">{html.escape(notebook_title(nb))}</a></li>'
        for nb in notebooks
    )
    index = out_dir / "index.html"
    index.write_text(
        f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Rust async, by example: slides</title>
  <style>
    body {{ font-family: sans-serif; max-width: 44em; margin: 3em auto; line-height: 1.5; }}
    li {{ margin: 0.3em 0; }}
  </style>
</head>
<body>
  <h1>Rust async, by example: slides</h1>
  <p>One reveal.js deck per notebook, as committed (with its outputs). Arrow keys move,
  <kbd>S</kbd> opens the speaker notes, <kbd>Esc</kbd> shows an overview.</p>
  <ol>
{items}
  </ol>
</body>
</html>
"""
    )
    return index


def build(notebooks: list[Path], out_dir: Path = SLIDES_DIR, index: bool = True) -> list[Path]:
    """Writes a deck per notebook into ``out_dir``, and an index of them unless ``index`` is
    false (a rebuild of some decks must not shrink the index); returns the decks."""
    vendor = out_dir / VENDOR
    missing = [p.spec for p in PACKAGES if not is_installed(p, vendor)]
    if missing:
        sys.exit(f"slides: {', '.join(missing)} missing in {vendor}: run `make slides`")
    notebooks = [Path(nb) for nb in notebooks]
    out_dir.mkdir(parents=True, exist_ok=True)
    stale = [nb for nb in notebooks if not is_up_to_date(out_dir / deck_name(nb), nb)]
    if stale:
        subprocess.run(nbconvert_command(stale, out_dir), check=True)
    absent = [out_dir / deck_name(nb) for nb in stale if not (out_dir / deck_name(nb)).is_file()]
    if absent:
        sys.exit(f"slides: nbconvert did not write {', '.join(map(str, absent))}")
    for notebook in stale:
        localise_mermaid(out_dir / deck_name(notebook))
    where = write_index(notebooks, out_dir) if index else out_dir
    print(f"slides: {len(stale)} of {len(notebooks)} decks rebuilt; open {where}")
    return [out_dir / deck_name(nb) for nb in notebooks]


def is_up_to_date(deck: Path, notebook: Path) -> bool:
    """Whether ``deck`` was written after ``notebook`` and after what shapes every deck: this
    file (the options, the pinned reveal.js) and the venv's last install (nbconvert's
    templates), and finished. As make decides: the decks are the slow part of ``make
    check``'s set-up."""
    if not deck.is_file():
        return False
    makers = [notebook, Path(__file__), VENV_STAMP]
    newest_maker = max(path.stat().st_mtime for path in makers if path.exists())
    # A deck still importing mermaid from the CDN was left by a run that stopped between
    # nbconvert and localise_mermaid.
    return deck.stat().st_mtime > newest_maker and MERMAID_CDN not in deck.read_text()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m survey.slides", description=__doc__)
    parser.add_argument("--out", type=Path, default=SLIDES_DIR, help="the decks' folder")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("vendor", help="install the pinned reveal.js and helpers if missing")
    build_parser = commands.add_parser("build", help="write the decks and index.html")
    build_parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    if args.command == "vendor":
        vendor_packages(args.out / VENDOR)
    else:
        build(args.notebooks, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
