# Rust async survey: set-up, the notebooks, and the checks.
#
#   make lab      JupyterLab on the notebooks (installs whatever is missing first)
#   make check    every test: fmt, clippy, cargo test, ruff, every notebook headless
#
# Every target that needs the tools depends on `setup`, which is idempotent: it installs only
# what is missing or at the wrong version.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# cargo install puts evcxr_jupyter here, and the kernel needs cargo and rustc on PATH.
export PATH := $(HOME)/.cargo/bin:$(PATH)

# The evcxr the survey is tested with, written once, in support/src/environment.rs (the
# start-here notebook checks it too).
EVCXR_VERSION := $(shell sed -n 's/^pub const EVCXR_VERSION: &str = "\(.*\)";$$/\1/p' support/src/environment.rs)
VENV := .venv
PY := $(VENV)/bin/python
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9][0-9]_*.ipynb))
# Every Python path ruff checks: the survey package (runner, kernel launcher, kernel spec,
# notebook normaliser), its tests, and the benchmark scripts.
PY_PATHS := survey tests bench
# The default addresses of `make server` and `make mr-server` are the servers' own
# (`DEFAULT_ADDR` in support/src/mock_http.rs and support/src/mini_redis/server.rs), read from
# there so that each is written down once; bench/run.py starts its servers on free ports.
rust_default_addr = $(shell sed -n 's/^pub const DEFAULT_ADDR: &str = "\(.*\)";$$/\1/p' $(1))
MOCK_ADDR := $(call rust_default_addr,support/src/mock_http.rs)
MR_ADDR := $(call rust_default_addr,support/src/mini_redis/server.rs)
# Notebooks run in parallel kernels, each with its own build directory.
JOBS ?= 2

.PHONY: help setup venv evcxr rust-src kernel lab check test-rust test-python notebooks server \
        mr-server mr-client bench bench-venv bench-tools clean distclean constraints

help:
	@echo "make lab        JupyterLab on notebooks/ (after setup)"
	@echo "make check      fmt, clippy, cargo test, ruff, and every notebook executed headless"
	@echo "make part_NN    execute notebook NN headless and print its outputs"
	@echo "make notebooks  re-execute every notebook in place (refreshes committed outputs)"
	@echo "make server     the mock HTTP server on $(MOCK_ADDR)"
	@echo "make mr-server  the mini Redis of part 17 on $(MR_ADDR)"
	@echo "make mr-client  a line-protocol client for it (CLIENT=redis: redis-cli)"
	@echo "make bench      throughput and latency of the servers, checked against the speed goals"
	@echo "make slides     a reveal.js deck per notebook in $(SLIDES_DIR)/ (works offline)"
	@echo "make setup      install what is missing: venv, Jupyter stack, evcxr_jupyter, rust-src, kernel"
	@echo "make clean      remove build outputs (make distclean also removes the venv)"

setup: venv evcxr rust-src kernel

# The venv is brought up to date when the pins or pyproject.toml change; the stamp records a
# finished install. The survey package (survey/) is installed editable in the same pip run,
# so every caller imports it by name, and edits to it need no reinstall.
venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	@command -v python3 >/dev/null || { echo "python3 is required (3.10 or newer)"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt \
	    --editable .
	touch $@

evcxr:
	@command -v cargo >/dev/null || { echo "cargo is required: install Rust with rustup"; exit 1; }
	@if cargo install --list | grep -qx 'evcxr_jupyter v$(EVCXR_VERSION):'; then \
	    echo "evcxr_jupyter $(EVCXR_VERSION) is installed"; \
	else \
	    echo "installing evcxr_jupyter $(EVCXR_VERSION) (about 8 minutes on 2 cores)"; \
	    cargo install --locked evcxr_jupyter --version =$(EVCXR_VERSION); \
	fi

# evcxr needs the standard library's source to infer the types of variables.
rust-src:
	@if [ -d "$$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then \
	    echo "rust-src is installed"; \
	else \
	    rustup component add rust-src; \
	fi

kernel: venv evcxr
	@$(PY) -m survey.kernelspec "$$(command -v evcxr_jupyter)"

# Jupyter refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# A cold machine builds the dependency set before JupyterLab opens, with cargo's progress in
# the terminal, instead of in a first notebook cell that would sit silent for a minute.
lab: setup
	$(PY) -m survey.warm
	$(VENV)/bin/jupyter lab --ServerApp.ip=127.0.0.1 --notebook-dir=notebooks $(ALLOW_ROOT)

check: setup test-rust test-python test-image

test-rust:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --workspace --locked

test-python: browser-tools slides
	$(VENV)/bin/ruff check $(PY_PATHS)
	$(VENV)/bin/ruff format --check $(PY_PATHS)
	$(PY) -m pytest tests -n $(JOBS) --dist worksteal

part_%: setup
	@notebook=$$(ls notebooks/$*_*.ipynb 2>/dev/null | head -n 1); \
	if [ -z "$$notebook" ]; then echo "no notebook notebooks/$*_*.ipynb"; exit 1; fi; \
	$(PY) -m survey.runner --print "$$notebook"

notebooks: setup
	$(PY) -m survey.runner --write $(NOTEBOOKS)

server:
	cargo run --release --locked -p support --bin mock-server -- $(MOCK_ADDR)

mr-server:
	cargo run --release --locked -p support --bin mr-server -- $(MR_ADDR) $(ARGS)

# nc for the line protocol, redis-cli for RESP; installed from Debian when missing (as root).
CLIENT ?= nc
mr-client:
	@case "$(CLIENT)" in \
	    nc) tool=nc; package=netcat-openbsd; run="nc $(subst :, ,$(MR_ADDR))"; \
	        hint="PUT greeting hello / GET greeting / QUIT";; \
	    redis) tool=redis-cli; package=redis-tools; \
	        run="redis-cli -h $(word 1,$(subst :, ,$(MR_ADDR))) -p $(word 2,$(subst :, ,$(MR_ADDR)))"; \
	        hint="SET greeting hello / GET greeting / PING / QUIT";; \
	    *) echo "CLIENT must be nc or redis"; exit 2;; \
	esac; \
	if ! command -v $$tool >/dev/null; then \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        apt-get update -qq && apt-get install -y -qq $$package; \
	    else echo "$$tool is missing: install $$package"; exit 1; fi; \
	fi; \
	echo "talking to the mini Redis on $(MR_ADDR) (start it with make mr-server); try: $$hint"; \
	exec $$run

# Speed goals are checked here, never in `make check`: timings on a shared CI machine are noise.
bench: bench-tools bench-venv
	cargo build --release --locked -p support --bins
	$(PY) bench/run.py

# aiohttp, the Python reference for the mock HTTP server, goes into the venv only for
# `make bench`: `make check` and `make lab` have no use for it. Its own pins extend the
# Jupyter stack's (bench/constraints.txt lists only what constraints.txt does not).
bench-venv: $(VENV)/.bench-installed
$(VENV)/.bench-installed: bench/requirements.txt bench/constraints.txt $(VENV)/.installed
	$(PY) -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt \
	    -c constraints.txt -c bench/constraints.txt
	touch $@

# The peers the benchmark compares against, from Debian's packages, when they are missing.
bench-tools:
	@missing=""; \
	for tool in redis-server:redis-server redis-benchmark:redis-tools wrk:wrk; do \
	    command -v $${tool%%:*} >/dev/null || missing="$$missing $${tool##*:}"; \
	done; \
	if [ -z "$$missing" ]; then echo "redis-server, redis-benchmark and wrk are installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq $$missing; \
	else echo "missing:$$missing (install them to include those comparisons)"; fi

# A reveal.js deck per notebook, and an index.html, in $(SLIDES_DIR)/ (README, "Slides"), made
# by `jupyter nbconvert --to slides`. The decks load reveal.js and its helpers from copies in
# $(SLIDES_DIR)/vendor/, pinned in survey/slides.py and fetched once from the npm registry, by
# a relative path: they work offline, opened from disk or served.
SLIDES_DIR := .build/slides
.PHONY: slides slides-vendor browser-tools
slides: slides-vendor
	$(PY) -m survey.slides --out $(SLIDES_DIR) build $(NOTEBOOKS)

slides-vendor: venv
	@command -v npm >/dev/null || { \
	    if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	        apt-get update -qq && apt-get install -y -qq npm; \
	    else echo "npm is missing: install Node.js with npm, which fetches reveal.js"; exit 1; fi; }
	$(PY) -m survey.slides --out $(SLIDES_DIR) vendor

# Debian's Chromium, which tests/test_browser.py drives, installed when missing (as root; else
# that test is skipped and says why). Playwright's own browser download is not used.
browser-tools:
	@if command -v chromium >/dev/null; then echo "chromium is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq chromium; \
	else echo "chromium is missing (apt-get install chromium): the browser test will be skipped"; fi

# The image for the no-install options (WORKSHOP.md, "Running the room"): repo2docker's
# Dockerfile for the root environment.yml, postBuild and start, shellcheck on the scripts, and
# a simulated image build as an unprivileged user (tests/test_image.py; the first run compiles
# evcxr_jupyter into a cache outside the clone). repo2docker gets a venv of its own, pinned in
# tests/image/; shellcheck comes from Debian when missing (as root).
IMAGE_VENV := .build/repo2docker-venv
.PHONY: test-image image-tools
test-image: setup image-tools
	SURVEY_IMAGE_CHECK=1 $(PY) -m pytest tests/test_image.py

image-tools: $(IMAGE_VENV)/.installed
	@if command -v shellcheck >/dev/null; then echo "shellcheck is installed"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq shellcheck; \
	else echo "shellcheck is missing (apt-get install shellcheck): the image test will fail"; fi

$(IMAGE_VENV)/.installed: tests/image/requirements.txt tests/image/constraints.txt
	python3 -m venv $(IMAGE_VENV)
	$(IMAGE_VENV)/bin/pip install --quiet --disable-pip-version-check \
	    -r tests/image/requirements.txt -c tests/image/constraints.txt
	touch $@

# Rewrites constraints.txt from a fresh install of requirements.txt, then
# bench/constraints.txt from bench/requirements.txt installed on top (only the extra packages).
constraints:
	rm -rf .build/constraints-venv
	python3 -m venv .build/constraints-venv
	.build/constraints-venv/bin/pip install --quiet -r requirements.txt
	{ echo "# Every package the pinned Jupyter stack pulls in, frozen: installs are reproducible."; \
	  echo "# Regenerate with 'make constraints' after changing requirements.txt."; \
	  .build/constraints-venv/bin/pip freeze; } > constraints.txt
	.build/constraints-venv/bin/pip install --quiet -r bench/requirements.txt -c constraints.txt
	{ echo "# What bench/requirements.txt adds to constraints.txt, frozen (installed with both)."; \
	  echo "# Regenerate with 'make constraints' after changing bench/requirements.txt."; \
	  { .build/constraints-venv/bin/pip freeze | grep -vxFf constraints.txt || true; }; } > bench/constraints.txt
	rm -rf .build/constraints-venv

clean:
	cargo clean
	rm -rf .build .pytest_cache .ruff_cache tests/__pycache__ survey/__pycache__ bench/__pycache__

distclean: clean
	rm -rf $(VENV)
