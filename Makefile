# Two commands on a fresh machine: `make demo` and `make test`. Both build .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench study ablation clean clean-cache

# torch is installed first, pinned, so that no later step pulls an unpinned (CUDA) build.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/cryptofolio demo

# Two steps: the quick suite, then the multi-process and minute-long tests (marked slow). CI runs both.
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"
	$(BIN)/python -m pytest -m slow

# mypy sees the installed layout through links: build/typecheck/cryptofolio/{envs,agents,...}.
TYPECHECK := build/typecheck/cryptofolio
FLOORS := cli/__init__.py cli/__main__.py cli/cli.py cli/commands envs agents training evaluation configs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)
	for floor in $(FLOORS); do ln -s "$$(pwd)/$$floor" $(TYPECHECK)/; done
	$(BIN)/mypy

# The walk-forward results study on ../shared/data, run by hand: writes docs/results.md (about 98 minutes
# on 2 cores: README, "Results on real prices").
study: $(STAMP)
	$(BIN)/cryptofolio study --market ../shared/data/binance-daily --publish docs

ablation: $(STAMP)
	$(BIN)/cryptofolio ablation --market ../shared/data/binance-daily --publish docs --no-progress-bar --workers $$(nproc)

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

clean-cache:  # numba does not notice edits to an inlined kernel in another file (or a renamed module): clear
	find envs -name "*.nb[ic]" -delete

clean:
	rm -rf $(VENV) build *.egg-info
