# Một cửa portal: developer and CI entry points. `make help` lists the targets.
#
# The virtual environment is .venv (Python 3.11). Installs are pinned: requirements*.txt name the
# direct dependencies, constraints.txt pins everything else. Stamp files inside .venv record what
# was installed, so a second `make run` / `make test` does not reinstall unless a pin changed.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.NOTPARALLEL:
MAKEFLAGS += --no-print-directory

VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check --no-input
STAMP_RUNTIME := $(VENV)/.installed-runtime
STAMP_DEV := $(VENV)/.installed-dev
# cyclonedx-bom lives in its own environment inside .venv (requirements-sbom.txt; decision 0059).
SBOM_TOOL := $(VENV)/sbom
STAMP_SBOM_TOOL := $(SBOM_TOOL)/.installed
# semgrep lives in its own environment inside .venv too (requirements-semgrep.txt, every pin there; decision
# 0068): its pins of click, jsonschema and packaging differ from constraints.txt's. Local rules only (.semgrep/).
SEMGREP_VENV := $(VENV)/semgrep
STAMP_SEMGREP := $(SEMGREP_VENV)/.installed
SEMGREP := $(SEMGREP_VENV)/bin/semgrep
# Offline: no registry config, no metrics, no version check. Shipped code and templates only (as bandit);
# --no-git-ignore so files not yet committed are scanned too. .semgrep/ holds the rules and their samples.
SEMGREP_FLAGS := --metrics off --disable-version-check
SEMGREP_SCAN_ARGS := --config .semgrep --error $(SEMGREP_FLAGS) --timeout 60 --jobs 2 --quiet --no-git-ignore \
	--exclude .semgrep --exclude tests --exclude bench --exclude scripts --exclude docs --exclude locale \
	--exclude static --exclude .venv --exclude var --exclude node_modules --exclude .git --exclude .hypothesis

# python3.11, else python3 when it is 3.11 (Debian 12's python3 is).
BOOTSTRAP_PYTHON ?= $(shell command -v python3.11 2>/dev/null || { python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null && command -v python3; })
export BOOTSTRAP_PYTHON

# Message catalogues: Python code and templates of the project (domain "django"), no line
# numbers (file names only), so moving code does not make the committed catalogues stale.
# DEBUG=true only lets the settings load without production secrets.
I18N_ENV := DEBUG=true DJANGO_SETTINGS_MODULE=portal.settings.base
MAKEMESSAGES_ARGS := -l vi -l en --domain django --extension html,txt,py --add-location file --no-obsolete \
	--ignore var --ignore tests --ignore bench --ignore docs --ignore scripts --ignore node_modules
COMPILEMESSAGES_ARGS := --ignore .venv --ignore var --ignore node_modules --ignore .git

.PHONY: help run test soak soak-load soak-venv lint format security semgrep-venv sbom messages check-messages deploy-check clean distclean install install-dev system-check

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

run: system-check install ## start the portal with demo data, worker, beat and simulators (Ctrl-C stops all)
	@scripts/run.sh

test: install-dev ## run the whole test suite (SQLite unless DATABASE_URL is set)
	$(VENV)/bin/pytest $(PYTEST_ARGS)

soak: install-dev ## delivery faults (15 min), fuzz (20 min), sqlmap (10 min; SOAK_SQLMAP=0 skips), PostgreSQL crash (12), network faults (10), load (20); docs/soak.md
	FAULT_ROUNDS=$${FAULT_ROUNDS:-3} FAULT_CHANGES=$${FAULT_CHANGES:-3000} FAULT_DOSSIERS=$${FAULT_DOSSIERS:-300} \
		FAULT_RECOVERY_SECONDS=$${FAULT_RECOVERY_SECONDS:-300} \
		timeout --signal=INT --kill-after=60 900 $(VENV)/bin/pytest -q -s tests/integrations/test_delivery_faults.py
	api_seed=$${API_FUZZ_SEED:-$$RANDOM}; parser_seed=$${PARSER_FUZZ_SEED:-$$RANDOM}; \
	echo "fuzz seeds (rerun with them): API_FUZZ_SEED=$$api_seed PARSER_FUZZ_SEED=$$parser_seed"; \
	API_FUZZ_EXAMPLES=$${API_FUZZ_EXAMPLES:-50} API_FUZZ_SEED=$$api_seed \
		PARSER_FUZZ_EXAMPLES=$${PARSER_FUZZ_EXAMPLES:-5000} PARSER_FUZZ_SEED=$$parser_seed \
		timeout --signal=INT --kill-after=60 1200 $(VENV)/bin/pytest -q tests/security/test_api_fuzz.py tests/security/test_parser_fuzz.py
	@if [ "$${SOAK_SQLMAP:-1}" = 1 ]; then scripts/sqlmap-soak.sh; fi
	PORTAL_SOAK=1 timeout --signal=INT --kill-after=60 720 $(VENV)/bin/pytest -q -s tests/soak/test_postgres_crash.py
	PORTAL_SOAK=1 timeout --signal=INT --kill-after=60 600 $(VENV)/bin/pytest -q -s tests/soak/test_network_faults.py
	@$(MAKE) soak-load

SOAK_VENV := var/soak-venv
STAMP_SOAK := $(SOAK_VENV)/.installed-load

soak-load: install-dev $(STAMP_SOAK) ## T38 held load (locust, 10 min) and T39 read baseline + overload (wrk, locust; 5 min)
	@command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk (Debian)" >&2; exit 1; }
	timeout --signal=INT --kill-after=60 780 $(PY) bench/load.py held
	timeout --signal=INT --kill-after=60 420 $(PY) bench/load.py read

soak-venv: $(STAMP_SOAK) ## the load generator's own virtualenv (var/soak-venv, bench/requirements-load.txt)

$(STAMP_SOAK): bench/requirements-load.txt | $(PY)
	@[ -x $(SOAK_VENV)/bin/python ] || $(BOOTSTRAP_PYTHON) -m venv $(SOAK_VENV)
	$(SOAK_VENV)/bin/python -m pip --disable-pip-version-check --no-input install --quiet -r bench/requirements-load.txt
	@touch $@

lint: install-dev ## ruff check + ruff format --check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

security: install-dev $(STAMP_SEMGREP) ## bandit + local semgrep rules (.semgrep/, their tests first) over the shipped code; each waiver names its rule
	@# (-x adds to [tool.bandit] exclude_dirs: .semgrep/ holds deliberately unsafe rule samples)
	$(VENV)/bin/bandit -c pyproject.toml -r . -q -x ./.semgrep
	@# the rules' annotated samples first (semgrep skips hidden folders as targets: run it from inside)
	cd .semgrep && $(abspath $(SEMGREP)) scan --test $(SEMGREP_FLAGS) .
	$(SEMGREP) scan $(SEMGREP_SCAN_ARGS) .

semgrep-venv: $(STAMP_SEMGREP) ## semgrep's own virtualenv (.venv/semgrep, requirements-semgrep.txt)

$(STAMP_SEMGREP): requirements-semgrep.txt | $(PY)
	@rm -rf $(SEMGREP_VENV)
	$(BOOTSTRAP_PYTHON) -m venv $(SEMGREP_VENV)
	$(SEMGREP_VENV)/bin/python -m pip --disable-pip-version-check --no-input install --quiet -r requirements-semgrep.txt
	$(SEMGREP_VENV)/bin/python -m pip check
	$(SEMGREP_VENV)/bin/python scripts/pins_check.py requirements-semgrep.txt
	@touch $@

sbom: $(STAMP_SBOM_TOOL) ## runtime pins in a fresh venv, pip check, every package pinned, CycloneDX SBOM -> var/sbom.json
	@BOOTSTRAP_PYTHON="$(BOOTSTRAP_PYTHON)" SBOM_TOOL="$(SBOM_TOOL)" scripts/sbom.sh

format: install-dev ## apply ruff's fixes and formatting
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

messages: install ## regenerate locale/*/LC_MESSAGES/django.po (vi, en) and compile the .mo files
	$(I18N_ENV) $(PY) manage.py makemessages $(MAKEMESSAGES_ARGS)
	$(I18N_ENV) $(PY) manage.py compilemessages $(COMPILEMESSAGES_ARGS)

check-messages: install ## fail when the committed .po/.mo files are not what `make messages` gives
	@PY="$(abspath $(PY))" MAKEMESSAGES_ARGS="$(MAKEMESSAGES_ARGS)" COMPILEMESSAGES_ARGS="$(COMPILEMESSAGES_ARGS)" \
		I18N_ENV="$(I18N_ENV)" scripts/check-messages.sh

deploy-check: install ## manage.py check --deploy --fail-level WARNING with docs/production.env.example
	@PY="$(PY)" scripts/deploy-check.sh

install: $(STAMP_RUNTIME) ## create .venv and install the runtime pins

install-dev: $(STAMP_DEV) ## create .venv and install the runtime and test/lint pins

system-check: ## check (as root on Debian: install) the system packages `make run` needs
	@scripts/system-deps.sh

$(PY):
	@if [ -z "$(BOOTSTRAP_PYTHON)" ]; then \
		echo "Python 3.11 is needed (Debian 12: apt-get install python3 python3-venv)." >&2; exit 1; fi
	@echo "Creating $(VENV) with $(BOOTSTRAP_PYTHON)"
	@$(BOOTSTRAP_PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
		echo "venv creation failed; on Debian: apt-get install python3-venv" >&2; exit 1; }

$(STAMP_RUNTIME): requirements.txt constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -r requirements.txt
	@touch $@

$(STAMP_DEV): requirements.txt requirements-dev.txt constraints.txt | $(PY)
	$(PIP) install --quiet -c constraints.txt -r requirements.txt -r requirements-dev.txt
	@touch $@ $(STAMP_RUNTIME)

$(STAMP_SBOM_TOOL): requirements-sbom.txt constraints.txt | $(PY)
	@rm -rf $(SBOM_TOOL)
	$(BOOTSTRAP_PYTHON) -m venv $(SBOM_TOOL)
	$(SBOM_TOOL)/bin/python -m pip --disable-pip-version-check --no-input install --quiet -c constraints.txt -r requirements-sbom.txt
	$(SBOM_TOOL)/bin/python -m pip check
	@touch $@

clean: ## remove var/ (demo database, queues, collected static), caches and test artefacts
	rm -rf var .pytest_cache .ruff_cache htmlcov .coverage coverage.xml test-results playwright-report
	find . -path ./.venv -prune -o -type d -name __pycache__ -exec rm -rf {} +

distclean: clean ## clean, and remove .venv as well
	rm -rf $(VENV)
