# Orbit: `make run` starts everything, `make test` runs the suite.
# With DATABASE_URL / REDIS_URL unset both use embedded PostgreSQL and Redis under var/.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint check-translations manage bench-seed bench-pages bench-feed bench-tagging bench-settlement bench-webhook bench-smoke clean-var

run: $(VENV)/.run-deps
	@$(PY) -m tools.launch run

test: $(VENV)/.dev-deps
	$(PY) -m tools.launch test $(ARGS)

# Fails listing strings missing from (or empty or fuzzy in) the Chinese catalogue; needs GNU gettext.
check-translations: $(VENV)/.run-deps
	DEBUG=1 $(PY) manage.py check_translations

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

# Every bench at a small size (about two minutes), so that none rots: CI runs this.
bench-smoke: $(VENV)/.dev-deps
	$(PY) -m tools.launch bench bench/seed.py --users 300 --posts 2000 --events 10000
	$(PY) -m tools.launch bench bench/tagging.py --posts 200 --repeat 1
	$(PY) -m tools.launch bench bench/webhook.py --batches 3 --batch-size 200 --accounts 300 --senders 1
	$(PY) -m tools.launch bench bench/settlement.py --events 20000 --users 2000 --creators 200 --posts 3000 --repeat 1 --reseed --drop
	$(PY) -m tools.launch bench bench/pages.py --posts 3000 --users 300 --events 10000 --requests 10 --warmup 3
	$(PY) -m tools.launch bench bench/feed.py --users 500 --posts 3000 --events 10000 --duration 3 --warmup 1 --clients 4 --redis-users 50

$(PY):
	@echo "Creating a virtualenv in $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed. tools/pip_install.py shows one status line
# instead of pip's wall of text (the first install takes a few minutes).
$(VENV)/.run-deps: requirements.txt | $(PY)
	@echo "Installing Orbit's pinned requirements into $(VENV) (the first time takes a few minutes)"
	@$(PY) -m tools.pip_install -r requirements.txt
	@touch $@

$(VENV)/.dev-deps: requirements.txt requirements-dev.txt | $(PY)
	@echo "Installing Orbit's pinned requirements and test tools into $(VENV) (the first time takes a few minutes)"
	@$(PY) -m tools.pip_install -r requirements-dev.txt
	@touch $(VENV)/.run-deps $@

# Stops nothing: stop `make run` first. Removes the embedded databases' data.
clean-var:
	rm -rf var/
