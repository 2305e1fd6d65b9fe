# Orbit: `make run` starts everything, `make test` runs the suite.
# With DATABASE_URL / REDIS_URL unset both use embedded PostgreSQL and Redis under var/.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint manage bench-seed bench-pages bench-feed bench-tagging bench-settlement bench-webhook clean-var

run: $(VENV)/.run-deps
	$(PY) -m tools.launch run

test: $(VENV)/.dev-deps
	$(PY) -m tools.launch test $(ARGS)

lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# Any manage.py command on the same data stores, e.g. make manage ARGS="createsuperuser"
manage: $(VENV)/.run-deps
	$(PY) -m tools.launch manage $(ARGS)

bench-seed: $(VENV)/.dev-deps
	$(PY) -m tools.launch bench bench/seed.py $(ARGS)

bench-pages: $(VENV)/.dev-deps
	$(PY) -m tools.launch bench bench/pages.py $(ARGS)

bench-tagging: $(VENV)/.dev-deps
	$(PY) -m tools.launch bench bench/tagging.py $(ARGS)

bench-feed: $(VENV)/.dev-deps
	$(PY) -m tools.launch bench bench/feed.py $(ARGS)

bench-settlement: $(VENV)/.dev-deps
	$(PY) -m tools.launch bench bench/settlement.py $(ARGS)

bench-webhook: $(VENV)/.dev-deps
	$(PY) -m tools.launch bench bench/webhook.py $(ARGS)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.run-deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.run-deps $@

# Stops nothing: stop `make run` first. Removes the embedded databases' data.
clean-var:
	rm -rf var/
