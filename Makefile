# One command to run the app, one to run the tests; both install what they need first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
REQUIREMENTS := requirements.txt requirements-test.txt $(wildcard requirements-ml.txt)
FRONTEND := $(shell find frontend training/ml/web -type f 2>/dev/null)
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite runs on this many processes (pytest-xdist), a test file per process at a time (module
# fixtures, a trained model or the deployed stack, are built once). Each process has a test database
# and a Redis database of its own (tests/xdist_redis.py); each test a bucket of its own.
# `make test TEST_WORKERS=0` runs it in one process.
TEST_WORKERS ?= 2

.PHONY: run test install build browser lint clean

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: $(REQUIREMENTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -r ,$(REQUIREMENTS))
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

build: static/dist/.built

static/dist/.built: node_modules/.installed $(FRONTEND)
	npm run --silent build
	touch $@

# The end-to-end tests drive Debian's Chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

var:
	mkdir -p var

# Links (the login line below, invitations) name the address served unless ANNOTATOR_BASE_URL says
# otherwise, so `make run PORT=8765` prints a login URL that works.
run: export ANNOTATOR_BASE_URL ?= http://$(HOST):$(PORT)
run: install build var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py ensure_admin
	$(BIN)/python manage.py runall $(HOST):$(PORT)

test: install build browser
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	npm run --silent typecheck

clean:
	rm -rf $(VENV) node_modules static/dist
