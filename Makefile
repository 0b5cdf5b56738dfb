# Sportello URP: every target installs what is missing first.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
SPACY_DIR := var/spacy/it_urp
SPACY_MODEL := $(SPACY_DIR)/meta.json
MODEL := models/urp.tar.gz
TRAIN_INPUTS := $(shell find data -name '*.yml') domain.yml config.yml $(SPACY_MODEL) $(wildcard components/*.py urp/nlu/*.py)
RASA := $(BIN)/rasa
PIP := $(BIN)/pip install --quiet --no-deps
# The machine's pip configuration names index folders that may not exist: drop that noise.
QUIET_PIP := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }
# Quieter TensorFlow and no telemetry from Rasa.
export TF_CPP_MIN_LOG_LEVEL := 2
export RASA_TELEMETRY_ENABLED := false
export PYTHONHASHSEED := 0
# Rasa 3.6 pins SQLAlchemy 1.4 and uses APIs that 2.0 removed: that is known, not news.
export SQLALCHEMY_SILENCE_UBER_WARNING := 1
URP_RASA_PORT ?= 5005
URP_ACTIONS_PORT ?= 5055
export URP_ACTION_ENDPOINT ?= http://127.0.0.1:$(URP_ACTIONS_PORT)/webhook
export URP_CALLBACK_URL ?= http://127.0.0.1:5034/bot
export URP_TRACKER_DB ?= var/rasa-tracker.db

.PHONY: help install run run-prod nginx shell test train eval-nlu eval-faq bench validate lint unit e2e clean browser audit nlu-gate nlu-baseline

help:
	@echo "make run       avvia l'assistente in locale (installa e addestra se serve)"
	@echo "make run-prod  profilo di produzione: 2 repliche dietro nginx, PostgreSQL, Redis, RabbitMQ"
	@echo "make test      tutta la suite (quella che esegue la CI)"
	@echo "make install   crea .venv dalle dipendenze bloccate"
	@echo "make train     addestra il modello in models/"
	@echo "make eval-nlu  cross-validation e report sul test set separato"
	@echo "make eval-faq  misura la ricerca nelle FAQ (test set separato, soglie, tempi)"
	@echo "make nlu-baseline  aggiorna apposta il riferimento NLU del controllo in make test"
	@echo "make bench     benchmark di prestazioni"

# The lock is installed with --no-deps so that exactly the pinned versions land.
# Rasa 3.6 declares Requires-Python <3.11, hence the separate second step
# (see docs/install.md).
$(INSTALLED): requirements/lock.txt requirements/rasa-no-deps.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --prefer-binary -r requirements/lock.txt $(QUIET_PIP)
	$(PIP) --ignore-requires-python -r requirements/rasa-no-deps.txt $(QUIET_PIP)
	$(PIP) --no-build-isolation -e . $(QUIET_PIP)
	$(BIN)/python -m urp.tools.check_install
	touch $@

$(SPACY_MODEL): $(INSTALLED) data/nlu/gazetteers.yml urp/nlu/spacy_pipeline.py urp/core/dates.py
	$(BIN)/urp nlp build --out $(SPACY_DIR)

install: $(INSTALLED) $(SPACY_MODEL)

$(MODEL): $(INSTALLED) $(TRAIN_INPUTS)
	$(RASA) train --fixed-model-name urp --out models
	touch $@

train: install $(MODEL)

run: install $(MODEL)
	scripts/run.sh

# The production profile against the local PostgreSQL, Redis and RabbitMQ (docs/deployment.md).
run-prod: install nginx $(MODEL)
	scripts/run-prod.sh

# Chat in the terminal with the assistant started by `make run` (its action server, with the
# secret it asks of every call: URP_ACTION_SECRET, or the one `make run` keeps in var/).
shell: install $(MODEL)
	@secret="$${URP_ACTION_SECRET:-$$(cat var/action-secret 2>/dev/null || true)}"; \
	test -n "$$secret" || { echo "Avvia prima l'assistente con make run (in un altro terminale)." >&2; exit 1; }; \
	URP_ACTION_SECRET="$$secret" $(RASA) shell --model $(MODEL) --port $$(( $(URP_RASA_PORT) + 1 ))

# Every warning fails, except Rasa's false positive on form questions (see the module).
validate: install
	$(BIN)/python -m urp.tools.validate

# The import contracts (pyproject.toml, [tool.importlinter]): the layers, the features'
# declared edges, no cycle. No cache: the whole graph takes two seconds.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache --no-logo

unit: install browser
	$(BIN)/pytest -m "not e2e"

e2e: install browser nginx $(MODEL)
	$(RASA) test core --model $(MODEL) --stories tests/stories --fail-on-prediction-errors --out results/stories
	$(BIN)/pytest -m e2e

test: lint validate audit unit e2e nlu-gate

# pip-audit in its own venv (it needs packaging>=23, Rasa 3.6 pins <21). --strict: a package
# the vulnerability service cannot answer for fails the audit instead of passing silently.
AUDIT_VENV := .venv-audit
$(AUDIT_VENV)/.installed: requirements/audit.txt
	$(PYTHON) -m venv $(AUDIT_VENV)
	$(AUDIT_VENV)/bin/pip install --quiet --no-deps -r requirements/audit.txt $(QUIET_PIP)
	touch $@

# In `make test`: where PyPI's vulnerability data cannot be reached (this project's
# development and CI machines see only a package mirror) it says so, loudly, and does not
# fail the suite; wherever it can be reached, any finding not accepted fails it.
# URP_AUDIT_REQUIRED=1 makes an unreachable service a failure too (release machines).
audit: $(AUDIT_VENV)/.installed
	@if $(AUDIT_VENV)/bin/python scripts/vulnerability_service.py; then \
		$(AUDIT_VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off \
			-r requirements/lock.txt -r requirements/rasa-no-deps.txt \
			$$(grep -v '^#' requirements/audit-accepted.txt | awk 'NF {print "--ignore-vuln", $$1}'); \
	else \
		echo "*** pip-audit NON ESEGUITO: i dati sulle vulnerabilità di PyPI non sono raggiungibili da questa macchina ***"; \
		test "$${URP_AUDIT_REQUIRED:-0}" != 1; \
	fi

# EVAL_NLU_ARGS=--diet adds the DIET pipelines to the comparison (slow: minutes each).
eval-nlu: install
	$(BIN)/python -m urp.tools.eval_nlu $(EVAL_NLU_ARGS)

# The FAQ search on tests/faq/ (never used for retrieval nor tuning): docs/nlu-report.md.
eval-faq: install
	$(BIN)/python -m urp.tools.eval_faq

# The regression gate: held-out macro-F1 of the trained model against docs/nlu-baseline.json.
nlu-gate: install $(MODEL)
	$(BIN)/python -m urp.tools.nlu_gate

# Only on purpose, committed with the report of `make eval-nlu`.
nlu-baseline: install $(MODEL)
	$(BIN)/python -m urp.tools.nlu_gate --update

bench: install nginx $(MODEL)
	$(BIN)/python -m benchmarks

# The browser tests drive Debian's Chromium: Playwright downloads no browser of its own.
browser:
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }

# make run-prod's balancer (and its e2e test): Debian's nginx, run as a plain process.
nginx:
	test -x /usr/sbin/nginx || { apt-get update && apt-get install -y nginx; }

clean:
	rm -rf models/*.tar.gz results var/spacy
