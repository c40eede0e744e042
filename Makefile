# Two entry points, each doing its own set-up: `make run` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# MiniStack pins botocore exactly: its own virtualenv, reached over HTTP only (see requirements/ministack.txt).
MINISTACK_VENV  := .venv-ministack
MINISTACK_STAMP := $(MINISTACK_VENV)/.installed

# Offline? Point SOURCE at a local cifar-100-python.tar.gz.
SOURCE ?=
RUN_ARGS := $(if $(SOURCE),--source $(SOURCE),)

.PHONY: run test bench install ministack clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(MINISTACK_STAMP): requirements/ministack.txt
	$(PYTHON) -m venv $(MINISTACK_VENV)
	$(MINISTACK_VENV)/bin/pip install --quiet -r requirements/ministack.txt
	touch $(MINISTACK_STAMP)

install: $(STAMP)

ministack: $(MINISTACK_STAMP)

run: $(STAMP)
	$(BIN)/scones run $(RUN_ARGS)

test: $(STAMP) $(MINISTACK_STAMP)
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) $(MINISTACK_VENV) .pytest_cache .hypothesis build *.egg-info
