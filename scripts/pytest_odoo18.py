"""pytest plugin: what Odoo 18's own test runner sets and pytest-odoo 2.3 leaves unset.

While tests run, odoo.tests.loader.run_suite sets ``odoo.modules.module.current_test``.
Odoo reads it before committing (``account.move.send._can_commit``, which this addon's
issuing uses too) and before talking to an SMTP server (``ir.mail_server``). pytest-odoo
sets it only for Odoo 19 and later: under it, an Odoo 18 test would commit its
transaction, or try to send real mail. ``make pytest-odoo`` loads this plugin
(``-p pytest_odoo18`` with scripts/ on PYTHONPATH).
"""

import pytest


@pytest.fixture(scope="session", autouse=True)
def odoo_current_test():
    from odoo.modules import module  # noqa: PLC0415 - only once pytest-odoo has configured Odoo

    module.current_test = True
    yield
    module.current_test = False
