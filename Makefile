# l10n_cn_einvoice: the commands a newcomer and CI use. See README.md.
PYTHON ?= python3
export PYTHON

.PHONY: setup test pytest pytest-odoo wheel wheel-check lint lint-test demo bench soak clean i18n

setup:  ## install everything needed (idempotent)
	bash scripts/setup.sh

# make test: lint, the pure fapiao tests, the wheel and pytest-odoo checks, then the
# Odoo tests in a fresh database; ends with run_tests.py's "N passed, M failed" line.
# ODOO_ONLY=1 (a quick run of ODOO_TEST_TAGS) leaves out the wheel and pytest-odoo checks.
test: lint-test
	@status=0; \
	if [ -z "$$ODOO_ONLY" ]; then $(PYTHON) scripts/ecosystem.py check || status=1; fi; \
	$(PYTHON) scripts/run_tests.py || status=1; \
	if [ $$status != 0 ]; then echo "make test FAILED (see above)"; fi; \
	exit $$status

pytest:  ## only the pure fapiao tests (no Odoo, whatever pytest plugins are installed)
	$(PYTHON) -m pytest fapiao/tests -q

pytest-odoo:  ## the Odoo tests through pytest-odoo (PYTEST_ODOO_DB=db reuses a database; ARGS="tests/test_x.py -k y")
	$(PYTHON) scripts/ecosystem.py pytest-odoo $(ARGS)

wheel:  ## build dist/odoo_addon_l10n_cn_einvoice-18.0.*.whl with whool
	$(PYTHON) scripts/ecosystem.py wheel

wheel-check:  ## build the wheel, install it into a fresh venv and odoo-bin -i the addon from it
	$(PYTHON) scripts/ecosystem.py wheel-check

# make lint runs every check of .pre-commit-config.yaml (the OCA's: ruff,
# pylint-odoo, oca-checks-odoo-module, oca-checks-po, pre-commit-hooks).
# make test runs all of it; LINT_SKIP=hook,... leaves hooks out of a local run.
LINT_SKIP ?=
lint:  ## the OCA's checks, all of them (pre-commit run --all-files)
	@$(PYTHON) -c "import pre_commit" 2>/dev/null \
		|| { echo "make lint: pre-commit is not installed: run 'make setup'"; exit 1; }
	@git rev-parse --is-inside-work-tree >/dev/null 2>&1 \
		|| { echo "make lint: pre-commit checks the files git tracks: run it in a git clone"; exit 1; }
	$(PYTHON) -m pre_commit run --all-files --show-diff-on-failure

lint-test:
	@[ -z "$(LINT_SKIP)" ] || echo "make test skips these lint hooks until their findings are fixed: $(LINT_SKIP)"
	@SKIP="$(LINT_SKIP)" $(MAKE) --no-print-directory lint

demo:  ## Odoo with the addon on a demo database (DEMO_DB, DEMO_PORT)
	bash scripts/demo.sh

bench:  ## benchmarks, written to bench/RESULTS.md
	$(PYTHON) bench/run.py

# make soak: a real prefork Odoo server (2 HTTP, 3 cron workers) issues SOAK_INVOICES (2,000)
# invoices through its own scheduler against the sandbox process (300 ms, 50/s, 30 % faults), one
# cron worker killed on the way; checked from the database and the platform, bench/SOAK.md.
soak:  ## the real-server soak (SOAK_INVOICES=N, SOAK_DB=db), written to bench/SOAK.md
	$(PYTHON) bench/soak_server.py

clean:
	rm -rf .odoo .pytest_cache .ruff_cache dist build

i18n:  ## re-export i18n/l10n_cn_einvoice.pot, merge it into i18n/zh_CN.po, list what is untranslated (I18N_DB=db to reuse a database)
	bash scripts/i18n.sh $(I18N_DB)
