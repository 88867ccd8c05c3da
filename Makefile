# dom-gateway: the two commands a newcomer needs are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed

.PHONY: demo test lint bench serve clean

$(STAMP): setup.cfg setup.py pyproject.toml gateway/signing/_streebog.c gateway/signing/_streebog_tables.h
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[postgres,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m gateway.cli demo --workdir .demo

test: $(STAMP)
	$(PY) -m pytest -q tests

lint: $(STAMP)
	$(VENV)/bin/ruff check gateway providers tests benchmarks
	$(VENV)/bin/mypy  # strict, over gateway/ and providers/ (pyproject.toml [tool.mypy])

bench: $(STAMP)
	$(PY) -m benchmarks.run

serve: $(STAMP)
	$(VENV)/bin/gateway serve

clean:
	rm -rf $(VENV) .demo .pytest_cache build *.egg-info
