# Lepton Lab — the two commands a newcomer needs:
#   make lab    create .venv, install everything, start JupyterLab on notebooks/
#   make test   the whole suite: lint, types, TypeScript, Python, notebooks, browser
# Everything else here serves those two.

SHELL := /bin/bash
VENV ?= .venv
PYTHON ?= python3
BIN := $(abspath $(VENV))/bin
export PATH := $(BIN):$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1
export TF_CPP_MIN_LOG_LEVEL := 2

STAMP := $(VENV)/.lepton-installed
TS_SOURCES := $(wildcard labextension/src/*.ts labextension/style/*) package.json tsconfig.json
LABEXT := lepton_lab/labextension/package.json
PORT ?= 8888
LAB_ARGS ?=

.PHONY: lab test install build system-deps lint types ts-test py-test browser-test clean help

help:
	@echo "make lab    install (first time) and start JupyterLab on notebooks/"
	@echo "make test   install (first time) and run the whole test suite"

# --- environment ---------------------------------------------------------

$(STAMP): pyproject.toml package.json
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# The build hook runs jlpm + rspack, so this also builds the labextension.
	@# The ray extra too: the suite runs the Ray executor on a local two-node cluster it starts.
	$(BIN)/python -m pip install --quiet --editable ".[test,ray]"
	@# Point the installed labextension at the build folder so `make build` is picked up live
	@# (JupyterLab 4.6 deprecates `jupyter labextension develop` in favour of jupyter-builder's).
	$(BIN)/jupyter-builder develop --overwrite . >/dev/null
	@touch $@

install: $(STAMP) $(LABEXT)

$(LABEXT): $(TS_SOURCES) | $(STAMP)
	$(BIN)/jlpm install --silent
	$(BIN)/jlpm build:prod
	@touch $@

build: $(LABEXT)

# Debian packages the browser and dataset tests use. Installed only when we are
# root with apt (CI); elsewhere those tests say why they are skipped.
system-deps:
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  need=""; \
	  [ -x /usr/bin/chromium ] || need="$$need chromium"; \
	  [ -d /usr/share/datasets/fashion-mnist ] || need="$$need dataset-fashion-mnist"; \
	  [ -x /usr/bin/espeak-ng ] || need="$$need espeak-ng"; \
	  for p in fortunes:sports fortunes-de:de fortunes-es:es fortunes-it:it fortunes-pl:pl fortunes-cs:cs \
	           fortunes-ru:ru fortunes-eo:eo fortunes-br:brasil fortunes-zh:chinese; do \
	    [ -e "/usr/share/games/fortunes/$${p#*:}" ] || need="$$need $${p%%:*}"; \
	  done; \
	  if [ -n "$$need" ]; then \
	    echo "apt-get install$$need"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$need >/dev/null; \
	  fi; \
	fi

# --- the two commands ----------------------------------------------------

lab: install
	cd notebooks && $(BIN)/jupyter lab --port=$(PORT) $$( [ "$$(id -u)" = 0 ] && echo --allow-root ) $(LAB_ARGS)

test: install system-deps
	@bash tests/run_suite.sh

# --- stages (also usable one by one) ------------------------------------

lint: install
	$(BIN)/ruff check lepton_lab tests bench
	$(BIN)/lint-imports  # layer contracts: [tool.importlinter] in pyproject.toml
	$(BIN)/jlpm check:types  # labextension/src/types.ts is generated from the pydantic models

types: install
	$(BIN)/mypy

ts-test: install
	$(BIN)/jlpm test

py-test: install
	$(BIN)/pytest -m "not browser" -n 2 --dist loadfile

browser-test: install system-deps
	$(BIN)/pytest -m browser

clean:
	rm -rf lib build-test lepton_lab/labextension tsconfig.tsbuildinfo .pytest_cache .mypy_cache .ruff_cache
