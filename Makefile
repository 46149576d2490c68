# One Makefile for the whole project. `make run` and `make test` set up what they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# The first interpreter of that version that really runs (a pyenv shim may exist but refuse).
find_python = $(firstword $(foreach p,$(shell command -v python$(1)) $(wildcard $(HOME)/.pyenv/versions/$(1).*/bin/python$(1)),$(shell $(p) -c 'import sys; print("$(p)" if sys.version_info[:2] == ($(subst .,$(comma),$(1))) else "")' 2>/dev/null)))
comma := ,
PYTHON311 ?= $(call find_python,3.11)
PYTHON310 ?= $(call find_python,3.10)
VENV := .venv
RASA_VENV := .venv-rasa
PY := $(VENV)/bin/python
RASA_PY := $(abspath $(RASA_VENV))/bin/python
RASA := $(abspath $(RASA_VENV))/bin/rasa
MODEL := bot/models/current.tar.gz
RASA_INPUTS := $(shell find bot/config.yml bot/domain bot/data bot/components -type f -not -name '*.pyc' 2>/dev/null)
export TF_CPP_MIN_LOG_LEVEL := 3
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: print-pythons help setup constraints run train generate check-knowledge validate check coverage typecheck lint-js hooks test test-unit test-backend test-backend-sqlite test-timing test-actions test-components test-stories test-e2e test-dialogues test-channels test-hostile test-privacy test-faults scale-test chat eval eval-ablation eval-dev learn bench bench-quick bench-analytics soak lint format clean

help:
	@echo "Start and try:"
	@echo "  make run            set up, train if needed, start the whole stack; prints the chat and console URLs"
	@echo "  make chat           the same, then chat with the bot in the terminal"
	@echo "Check and test:"
	@echo "  make check          the fast loop (no Rasa server): knowledge, lint, unit, backend on SQLite, actions, components, coverage; timed"
	@echo "  make test           set up and run every test (what CI runs)"
	@echo "  make lint           ruff, biome (browser scripts) and mypy"
	@echo "  make typecheck      mypy only: strict for backend, channels, common, actions; bot's Rasa code on 3.10"
	@echo "  make lint-js        biome on the widget and the console scripts"
	@echo "  make format         ruff format and fixes, biome format and fixes"
	@echo "  make coverage       the coverage report of the last make check, failing under the floor"
	@echo "  make test-unit      tests/unit (the channel service's core against an in-memory Rasa among them)"
	@echo "  make test-backend   the backend's suite on SQLite, then on PostgreSQL (apt-get when missing)"
	@echo "  make test-backend-sqlite  the backend's suite on SQLite only"
	@echo "  make test-timing    the tests marked timing (wall-clock comparisons), alone and serially"
	@echo "  make test-actions   the account actions against a real backend"
	@echo "  make test-components  the custom NLU components and rasa_server.py, in the Rasa environment"
	@echo "  make test-stories   rasa test core on tests/stories"
	@echo "  make test-e2e       conversations through the real Rasa server and action server"
	@echo "  make test-dialogues whole conversations as people type them, 4 languages"
	@echo "  make test-channels  widget and console in Chromium (apt-get when missing), Telegram on a fake Bot API"
	@echo "  make test-hostile   forged commands, floods, injections, schemathesis on every channel"
	@echo "  make test-privacy   personal data only where it may be, retention and forget"
	@echo "  make test-faults    faults on real processes (PostgreSQL via apt-get when missing)"
	@echo "  make scale-test     2 Rasa, 2 action servers, 2 channel services behind nginx: every tracker checked"
	@echo "NLU and performance:"
	@echo "  make train          train the model (only when its inputs changed)"
	@echo "  make eval           NLU evaluation: this pipeline vs Rasa's stock pipeline on the held-out set"
	@echo "  make eval-dev       make eval on the development set, where changes are tried first"
	@echo "  make eval-ablation  make eval-dev, plus variants of this pipeline that each change one choice"
	@echo "  make learn          write the examples staff labelled on the console's failures page into"
	@echo "                      bot/data/nlu/<lang>.yml (a marked section; never tests/nlu); then"
	@echo "                      git diff, make train and make eval-dev show the effect"
	@echo "  make bench          benchmark: NLU quality, latency and throughput under load, reply time per"
	@echo "                      turn, CPU per message, memory, training (bench/results/README.md)"
	@echo "  make bench-quick    a short benchmark for development (under 10 minutes; never trains a stock model)"
	@echo "  make bench-analytics  the console's analytics page on 100 000 synthetic conversations, SQLite and PostgreSQL"
	@echo "  make soak           steady load through the channel service for SOAK_MINUTES (default 20)"
	@echo "Content and set-up:"
	@echo "  make generate       regenerate the bot's responses and guides from knowledge/"
	@echo "  make check-knowledge  fail on a missing language, source or date, or stale generated files"
	@echo "  make validate       rasa data validate"
	@echo "  make setup          create both virtual environments (.venv, .venv-rasa)"
	@echo "  make constraints    install pyproject.toml's dependencies, then freeze .venv into constraints.txt"
	@echo "  make hooks          install the pre-commit hooks (.pre-commit-config.yaml) in this clone"
	@echo "  make print-pythons  the Python 3.11 and 3.10 interpreters found"
	@echo "  make clean          delete models, build output and Rasa's caches"

setup: $(VENV)/.installed $(RASA_VENV)/.installed

# constraints.txt pins every package of .venv (make constraints writes it from the installed env).
$(VENV)/.installed: pyproject.toml constraints.txt
	@test -n "$(PYTHON311)" || { echo "Python 3.11 not found: set PYTHON311=/path/to/python3.11"; exit 1; }
	$(PYTHON311) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[dev]" -c constraints.txt
	touch $@

# After a change of pyproject.toml's dependencies: install them, then freeze the result.
constraints:
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m pip freeze --exclude-editable | grep -v '^pip==' > constraints.txt
	touch $(VENV)/.installed

# Biome for the two browser scripts (pinned in package.json and package-lock.json).
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(RASA_VENV)/.installed: bot/requirements.txt bot/constraints.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (Rasa 3.6 needs it): set PYTHON310=/path/to/python3.10"; exit 1; }
	$(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_PY) -m pip install -q --upgrade pip
	$(RASA_PY) -m pip install -q -r bot/requirements.txt -c bot/constraints.txt
	touch $@

generate: $(VENV)/.installed
	$(PY) -m knowledge.build

check-knowledge: $(VENV)/.installed
	$(PY) -m knowledge.build --check

train: $(MODEL)

$(MODEL): $(VENV)/.installed $(RASA_VENV)/.installed $(RASA_INPUTS)
	$(PY) -m knowledge.build --check
	cd bot && $(RASA) train --domain domain --data data --config config.yml --out models --fixed-model-name current

run: setup train
	$(PY) -m devstack serve

chat: setup train
	$(PY) -m devstack chat

validate: $(RASA_VENV)/.installed
	cd bot && $(RASA) data validate --domain domain --data data --config config.yml

test: setup check-knowledge lint validate test-unit test-backend test-timing test-actions test-components train test-stories test-e2e test-dialogues test-channels test-hostile test-privacy test-faults

# The fast loop before a commit: no model, no Rasa server, no apt-get (`make test` runs everything).
# The channel service's core is in it against an in-memory Rasa (tests/unit/test_conversations.py).
# Coverage of the 3.11 suites, with the floor of pyproject.toml ([tool.coverage.report] fail_under).
CHECK_STEPS := check-knowledge lint test-unit test-backend-sqlite test-actions test-components coverage
check: setup
	@start=$$(date +%s); status=0; rm -f build/.coverage; \
	$(MAKE) --no-print-directory $(CHECK_STEPS) COV_ARGS="--cov --cov-append --cov-report= --cov-fail-under=0" || status=$$?; \
	echo "make check: $$([ $$status = 0 ] && echo passed || echo FAILED) in $$(( $$(date +%s) - start )) s"; \
	exit $$status

coverage: $(VENV)/.installed
	$(VENV)/bin/coverage report

test-unit: $(VENV)/.installed
	$(PY) -m pytest $(COV_ARGS) tests/unit

test-backend-sqlite: $(VENV)/.installed
	$(PY) -m pytest $(COV_ARGS) -m "not timing" tests/backend

# The backend's suite runs on SQLite, then on PostgreSQL (installed and started by
# scripts/ci_postgres.sh with apt-get when missing; needs root or sudo).
test-backend: test-backend-sqlite
	TEST_DATABASE_URL="$$(scripts/ci_postgres.sh)" $(PY) -m pytest -m "not timing" tests/backend

# Tests that compare wall-clock durations (pyproject.toml's `timing` marker): on their own, one
# after the other, after the other suites, so that nothing else of the run competes for the cores.
test-timing: $(VENV)/.installed
	$(PY) -m pytest -m timing --ignore=tests/components tests

test-actions: $(VENV)/.installed
	$(PY) -m pytest $(COV_ARGS) tests/actions

# tests/components/postgres needs PostgreSQL: make test-faults runs it.
test-components: $(RASA_VENV)/.installed
	cd bot && $(RASA_PY) -m pytest -p no:cacheprovider --ignore=../tests/components/postgres ../tests/components

test-stories: $(MODEL)
	cd bot && $(RASA) test core --model models/current.tar.gz --stories ../tests/stories \
		--fail-on-prediction-errors --out ../build/test-stories

test-e2e: setup $(MODEL)
	$(PY) -m pytest tests/e2e

# Whole conversations as people type them (tests/dialogues/README.md), over Rasa's REST channel.
test-dialogues: setup $(MODEL)
	$(PY) -m pytest tests/dialogues

# The channels' tests drive the widget and the console in Debian's Chromium (installed with
# apt-get when missing) and Telegram against a local Bot API server.
# axe-core (package.json) audits the widget and the console against WCAG 2.1 A/AA there.
test-channels: setup $(MODEL) node_modules/.installed
	scripts/install_chromium.sh
	$(PY) -m pytest tests/channels

# Hostile and bad input on every channel (forged commands, floods, binary, injections) and a
# schemathesis run of the channel service's API.
test-hostile: setup $(MODEL)
	$(PY) -m pytest tests/hostile

# A whole conversation with a PESEL, an e-mail and a phone number, every service at debug level: the
# raw values end up only in the backend's database; retention and forget delete what they should.
test-privacy: setup $(MODEL)
	$(PY) -m pytest tests/privacy

# Faults on real processes; the channel service's database is PostgreSQL (scripts/ci_postgres.sh).
# Then Rasa's tracker store on PostgreSQL: a forget while a turn writes (Rasa's environment).
test-faults: setup $(MODEL)
	FAULTS_DATABASE_URL="$$(PG_TEST_DB=onboarding_faults scripts/ci_postgres.sh)" $(PY) -m pytest tests/faults
	cd bot && TRACKER_DATABASE_URL="$$(PG_TEST_DB=onboarding_tracker ../scripts/ci_postgres.sh)" \
		$(RASA_PY) -m pytest -p no:cacheprovider ../tests/components/postgres

# Scale-out on real parts (deploy/README.md): PostgreSQL, Redis and nginx (installed with apt-get
# when missing, run on free ports), many conversations at once, every tracker checked after.
scale-test: setup $(MODEL)
	$(PY) -m deploy.scale

eval: setup train
	$(PY) -m knowledge.build --check
	cd bot && $(RASA_PY) ../scripts/eval_nlu.py

# On the development set: the pipeline's choices are made there, never on the held-out set.
eval-ablation: setup train
	$(PY) -m knowledge.build --check
	cd bot && $(RASA_PY) ../scripts/eval_nlu.py --set dev --ablation

# The development set (tests/nlu/dev_*.yml): where a change of the data is tried first.
eval-dev: setup train
	$(PY) -m knowledge.build --check
	cd bot && $(RASA_PY) ../scripts/eval_nlu.py --set dev

# The labels staff gave on the console's failures page, from the channel service's database
# (CHANNELS_DATABASE_URL; LEARN_ARGS="--database-url …" for another, "--dry-run" to only report),
# into a marked section at the end of bot/data/nlu/<lang>.yml: de-duplicated, test-set texts refused,
# new topics listed for a person. Run by a person, who reviews the diff; make eval-dev shows the effect.
learn: $(VENV)/.installed
	$(PY) -m scripts.learn $(LEARN_ARGS)

# A benchmark, not a test: prints figures and writes bench/results/<date>/report.md, never fails on a
# threshold. The NLU figures and the stock model are make eval's (it trains the stock model only when
# its inputs changed; the benchmark never does); BENCH_STEP_SECONDS (default 30) bounds each load step.
bench: train eval
	$(PY) -m bench

# For development: short load steps, sessions of 100 turns, the project's NLU figures only (scored
# when stale); the stock pipeline only when make eval left its model and figures.
bench-quick: setup train
	cd bot && $(RASA_PY) ../scripts/eval_nlu.py --only project
	$(PY) -m bench --quick

# The console's analytics on 100 000 synthetic conversations: fills SQLite, then PostgreSQL
# (scripts/ci_postgres.sh, apt-get when missing), and prints the page's time per period.
bench-analytics: $(VENV)/.installed
	$(PY) -m bench.analytics

# Steady load through the channel service for SOAK_MINUTES (default 20); report in bench/results/.
soak: train
	$(PY) -m bench soak

# mypy twice: strict on 3.11 for the files pyproject.toml names (backend, channels, common, the
# action server), then bot/'s Rasa code on the Python it runs on (Rasa itself untyped: ignored).
BOT_RASA_CODE := bot/components bot/rasa_server.py bot/rasa_internals.py bot/incremental_tracker.py bot/masking_tracker_store.py bot/tracker_admin.py
lint: $(VENV)/.installed lint-js typecheck
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --python-version 3.10 $(BOT_RASA_CODE)

lint-js: node_modules/.installed
	node_modules/.bin/biome ci --error-on-warnings

format: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .
	node_modules/.bin/biome check --write

# The checks of .pre-commit-config.yaml before every commit of this clone.
hooks: $(VENV)/.installed
	$(VENV)/bin/pre-commit install

clean:
	rm -rf bot/models build bot/.rasa .rasa

print-pythons:
	@echo "3.11: $(PYTHON311)"; echo "3.10: $(PYTHON310)"
