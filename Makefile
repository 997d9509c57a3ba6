# Two commands: `make run` (set up and start the demo) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
SIM_PORT ?= 8001
# The missing-PLAYGROUND_TOKEN_KEYS warning is said once, by the app server, not by every step.
QUIET_KEYS := PYTHONWARNINGS="ignore:PLAYGROUND_TOKEN_KEYS is not set"
CHROMIUM := /usr/bin/chromium

.PHONY: run test lint bench-relay bench-pages bench-soak clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

# Set up everything (venv, pinned requirements, SQLite database, demo account and
# simulator branch), then serve the gateway simulator and the app until Ctrl+C.
run: $(VENV)/.installed
	$(QUIET_KEYS) $(PY) manage.py migrate --noinput
	$(QUIET_KEYS) PLAYGROUND_DEMO=1 SIMULATOR_URL=http://127.0.0.1:$(SIM_PORT) $(PY) manage.py seed_demo
	$(QUIET_KEYS) $(PY) manage.py mark_interrupted
	@# Ctrl+C reaches every process of the terminal's group; the trap stops the two servers by
	@# their ids (`kill 0` signalled this shell again from inside its own trap) and waits for them.
	@$(QUIET_KEYS) $(PY) manage.py simulate_gateway --port $(SIM_PORT) & sim=$$!; \
	PLAYGROUND_DEMO=1 SIMULATOR_URL=http://127.0.0.1:$(SIM_PORT) $(PY) -m playground.serve -b $(HOST) -p $(PORT) playground.asgi:application & app=$$!; \
	stop() { trap - INT TERM EXIT; kill $$sim $$app 2>/dev/null; wait; }; \
	trap 'stop; echo "  Stopped."; exit 0' INT TERM; trap stop EXIT; \
	up=; for i in $$(seq 300); do \
	  kill -0 $$app 2>/dev/null && kill -0 $$sim 2>/dev/null || break; \
	  $(PY) -c "import socket as s; [s.create_connection(a, 1).close() for a in (('$(HOST)', $(PORT)), ('127.0.0.1', $(SIM_PORT)))]" 2>/dev/null && { up=1; break; }; \
	  sleep 0.2; \
	done; \
	[ -n "$$up" ] || { echo "  The servers did not start: see the lines above."; exit 1; }; \
	echo; \
	echo "  Gateway Playground: http://$(HOST):$(PORT)/   (log in as demo / demo)"; \
	echo "  Gateway simulator:  http://127.0.0.1:$(SIM_PORT)/ (the demo branch points at it)"; \
	echo "  Ctrl+C stops both."; \
	echo; \
	wait

# The whole suite (lint, types, migrations, tests): SQLite and the in-memory layer by default; DATABASE_URL / REDIS_URL switch.
test: $(VENV)/.installed
	@test -x $(CHROMIUM) || { echo "make test: the browser tests need Debian's Chromium at $(CHROMIUM) (apt-get install chromium)."; exit 1; }
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

bench-soak: $(VENV)/.installed
	$(PY) bench/soak.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles
