# Two commands: `make run` (set up and start the demo) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SIM_PORT ?= 8001

.PHONY: run test lint bench-relay bench-pages clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Set up everything (venv, pinned requirements, SQLite database, demo account and
# simulator branch), then serve the gateway simulator and the app until Ctrl+C.
run: $(VENV)/.installed
	$(PY) manage.py migrate --noinput
	PLAYGROUND_DEMO=1 SIMULATOR_URL=http://127.0.0.1:$(SIM_PORT) $(PY) manage.py seed_demo
	$(PY) manage.py mark_interrupted
	@echo
	@echo "  Gateway Playground: http://$(HOST):$(PORT)/   (log in as demo / demo)"
	@echo "  Gateway simulator:  http://127.0.0.1:$(SIM_PORT)/ (the demo branch points at it)"
	@echo
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py simulate_gateway --port $(SIM_PORT) & \
	PLAYGROUND_DEMO=1 $(PY) -m daphne -b $(HOST) -p $(PORT) playground.asgi:application

# The whole suite (lint, types, migrations, tests): SQLite and the in-memory layer by default; DATABASE_URL / REDIS_URL switch.
test: $(VENV)/.installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -q

lint: $(VENV)/.installed
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench-relay: $(VENV)/.installed
	$(PY) bench/relay.py

bench-pages: $(VENV)/.installed
	$(PY) bench/pages.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
