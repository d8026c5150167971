# The setup contract: every target bootstraps .venv itself on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: demo test test-fast lint bench tour clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# runtime install: the library, its CLI and the report extras
$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[fast,io,report]"
	touch $@

# test install: everything the suite and the benchmarks use (torch pinned to the CPU build 2.13.0)
$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e ".[test,all]"
	touch $@ $(VENV)/.installed-run

demo: $(VENV)/.installed-run
	$(VENV)/bin/l2kit report --out l2kit-report.html
	@echo "The report is at $(CURDIR)/l2kit-report.html (open file://$(CURDIR)/l2kit-report.html in a browser)"

tour: $(VENV)/.installed-run
	$(PY) examples/tour.py

# the style (ruff) and architecture (import-linter: layers, no cycles, lazy imports included) checks
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests benchmarks examples
	$(VENV)/bin/lint-imports

# everything: lint, unit tests, doctests, property tests and tests/integration
test: lint
	$(PY) -m pytest -n 2 --timeout=900 $(PYTEST_ARGS)

# the inner loop: everything but tests/integration (CLI subprocesses, Dask cluster, browser, examples)
test-fast: $(VENV)/.installed-test
	$(PY) -m pytest -n 2 --timeout=300 -m "not integration" $(PYTEST_ARGS)

# ONLY="bench_linear bench_peers" reruns those modules and keeps the others' results in BENCHMARKS.md
bench: $(VENV)/.installed-test
	$(PY) -m benchmarks --out BENCHMARKS.md $(if $(ONLY),--update --only $(ONLY))

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build src/*.egg-info
