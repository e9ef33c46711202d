# l10n_cn_einvoice: the commands a newcomer and CI use. See README.md.
PYTHON ?= python3
export PYTHON

.PHONY: setup test pytest lint demo bench soak clean

setup:  ## install everything needed (idempotent)
	bash scripts/setup.sh

test: lint  ## pure fapiao tests, then the Odoo tests in a fresh database
	$(PYTHON) scripts/run_tests.py

pytest:  ## only the pure fapiao tests
	$(PYTHON) -m pytest fapiao/tests -q

lint:
	$(PYTHON) -m ruff check .

demo:  ## run Odoo with the addon on a demo database
	bash scripts/demo.sh

bench:  ## benchmarks, written to bench/RESULTS.md
	$(PYTHON) bench/run.py

soak:  ## two cron workers, 30 % injected faults, 2,000 invoices
	L10N_CN_EINV_SOAK_INVOICES=$${SOAK_INVOICES:-2000} ODOO_ONLY=1 \
	ODOO_TEST_TAGS=/l10n_cn_einvoice:TestSoak $(PYTHON) scripts/run_tests.py

clean:
	rm -rf .odoo .pytest_cache .ruff_cache

.PHONY: i18n
i18n:  ## re-export i18n/l10n_cn_einvoice.pot, merge it into i18n/zh_CN.po, list what is untranslated (I18N_DB=db to reuse a database)
	bash scripts/i18n.sh $(I18N_DB)
