# Orbit: `make run` starts everything, `make test` runs the suite.
# With DATABASE_URL / REDIS_URL unset both use embedded PostgreSQL and Redis under var/.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint typecheck lock check-translations manage bench-seed bench-pages bench-feed bench-tagging bench-settlement bench-webhook bench-payouts bench-load bench-ranking bench-smoke clean-var

run: $(VENV)/.run-deps
	@$(PY) -m tools.launch run

# CI (CI=true) runs the suite on two pytest-xdist workers, one per core of its box. Locally one
# process, which starts a single file fastest; ARGS="-n auto" runs the whole suite in parallel.
TEST_WORKERS ?= $(if $(filter true 1,$(CI)),2)
test: $(VENV)/.dev-deps
	$(PY) -m tools.launch test $(if $(TEST_WORKERS),-n $(TEST_WORKERS)) $(ARGS)

# Fails listing strings missing from (or empty or fuzzy in) the Chinese catalogue; needs GNU gettext.
check-translations: $(VENV)/.run-deps
	DEBUG=1 $(PY) manage.py check_translations

# Style, then the import contracts in .importlinter (apps depend one way, no circles inside an app).
lint: $(VENV)/.dev-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

# mypy with the Django and DRF stubs over the files listed in pyproject.toml ([tool.mypy] files).
typecheck: $(VENV)/.dev-deps
	$(VENV)/bin/mypy

# Any manage.py command on the same data stores, e.g. make manage ARGS="createsuperuser"
manage: $(VENV)/.run-deps
	$(PY) -m tools.launch manage $(ARGS)

bench-seed: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/seed.py $(ARGS)

bench-pages: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/pages.py $(ARGS)

bench-tagging: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/tagging.py $(ARGS)

bench-feed: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/feed.py $(ARGS)

bench-settlement: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/settlement.py $(ARGS)

bench-webhook: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/webhook.py $(ARGS)

bench-payouts: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/payouts.py $(ARGS)

# Rankers against readers' true taste in a simulated community (about five minutes); ARGS="--size ci" for the small one.
bench-ranking: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/ranking_quality.py $(ARGS)

# 200 people against the stack as `make run` starts it; ARGS="--soak 1800" for the 30-minute soak.
bench-load: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/load.py $(ARGS)

# Every bench at a small size (about two minutes), so that none rots: CI runs this.
bench-smoke: $(VENV)/.bench-deps
	$(PY) -m tools.launch bench bench/seed.py --users 300 --posts 2000 --events 10000
	$(PY) -m tools.launch bench bench/tagging.py --posts 200 --repeat 1
	$(PY) -m tools.launch bench bench/webhook.py --batches 3 --batch-size 200 --accounts 300 --senders 1
	$(PY) -m tools.launch bench bench/payouts.py --creators 300 --confirm-delay-ms 50 --drop
	$(PY) -m tools.launch bench bench/settlement.py --events 20000 --users 2000 --creators 200 --posts 3000 --repeat 1 --backlog 20000 --reseed --drop
	$(PY) -m tools.launch bench bench/pages.py --size smoke
	$(PY) -m tools.launch bench bench/feed.py --users 500 --posts 3000 --events 10000 --duration 3 --warmup 1 --clients 4 --redis-users 50
	$(PY) -m tools.launch bench bench/load.py --users 20 --spawn-rate 20 --duration 10 --size small
	$(PY) -m tools.launch bench bench/ranking_quality.py --size ci --readers 40 --creators 10 --posts 160 --days 4

$(PY):
	@echo "Creating a virtualenv in $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Reinstall only when a lock file changed. Each lock file is complete (every package pinned, with
# hashes) and holds the one below it: local = base + embedded stores, dev = local + tests and lint,
# bench = dev + the load generator. tools/pip_install.py shows one status line instead of pip's wall
# of text (the first install takes a few minutes).
$(VENV)/.run-deps: requirements/local.txt | $(PY)
	@echo "Installing Orbit's pinned requirements into $(VENV) (the first time takes a few minutes)"
	@$(PY) -m tools.pip_install --require-hashes -r requirements/local.txt
	@touch $@

$(VENV)/.dev-deps: requirements/dev.txt | $(PY)
	@echo "Installing Orbit's pinned requirements and test tools into $(VENV) (the first time takes a few minutes)"
	@$(PY) -m tools.pip_install --require-hashes -r requirements/dev.txt
	@touch $(VENV)/.run-deps $@

$(VENV)/.bench-deps: requirements/bench.txt | $(PY)
	@echo "Installing Orbit's pinned requirements, test tools and load generator into $(VENV)"
	@$(PY) -m tools.pip_install --require-hashes -r requirements/bench.txt
	@touch $(VENV)/.run-deps $(VENV)/.dev-deps $@

# After editing a requirements/*.in file: rewrites every lock file, in order, each held to the pins
# of the one below it (pip-tools in a throwaway virtualenv, never in $(VENV)). Versions already
# locked stay unless an .in file asks for another; UPGRADE=1 takes the newest allowed.
PIP_TOOLS_VENV := $(or $(TMPDIR),/tmp)/orbit-pip-tools
lock:
	@test -x $(PIP_TOOLS_VENV)/bin/pip-compile || { $(PYTHON) -m venv $(PIP_TOOLS_VENV) && $(PIP_TOOLS_VENV)/bin/pip install --quiet pip-tools==7.7.0; }
	@for layer in base local dev bench; do \
		echo "locking requirements/$$layer.txt"; \
		CUSTOM_COMPILE_COMMAND="make lock" $(PIP_TOOLS_VENV)/bin/pip-compile --quiet --generate-hashes \
			--allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links $(if $(UPGRADE),--upgrade) \
			-o requirements/$$layer.txt requirements/$$layer.in || exit 1; \
	done

# Stops nothing: stop `make run` first. Removes the embedded databases' data.
clean-var:
	rm -rf var/
