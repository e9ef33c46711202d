"""The end-to-end tests, run again against the 诺诺 simulator: issuing from a sale order and an
invoice, on payment, red reversal (from a return too), inbound forms, the login lapse, delivery,
the customer portal (the OFD too), retries under faults, concurrency and the soak. Each class
inherits every test of the class it names, written against the simulator contract
(tests/common.py); the classes run against the default provider in their own modules. 诺诺's
callbacks (unsigned nudges, unlike the reference protocol's signed events) are tested in
test_nuonuo."""

import dataclasses

from odoo.tests import tagged

from . import (
    test_auto_issue,
    test_delivery,
    test_einvoice_concurrency,
    test_einvoice_issue,
    test_login_session,
    test_portal,
    test_red_reversal,
    test_returns,
    test_soak,
)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestEinvoiceIssueOnNuonuo(test_einvoice_issue.TestEinvoiceIssue):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install", "post_install_l10n")
class TestAutoIssueOnNuonuo(test_auto_issue.TestAutoIssue):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install", "post_install_l10n")
class TestRedReversalOnNuonuo(test_red_reversal.TestRedReversal):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True

    def test_a_dead_serial_number_continues_under_a_new_one(self):
        """诺诺 issues a red invoice itself, under an order number of its own: a serial number of
        ours that another system took on the same app does not hold it up."""
        blue = self.issued_invoice()
        credit = self.credit_note(blue, post=False)
        taken = credit._l10n_cn_einv_serial()
        other = self.make_invoice()
        with self.company._l10n_cn_einv_provider() as client:
            client.issue(dataclasses.replace(other._l10n_cn_einv_document(), serial_no=taken))
        credit.action_post()
        form = credit.l10n_cn_einv_credit_form_ids
        self.assert_red_issued(form, credit)
        self.assertNotEqual(credit.l10n_cn_einv_number, other.l10n_cn_einv_number)
        self.assertEqual(self.red_on_platform(), 1)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestReturnsOnNuonuo(test_returns.TestReturns):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install", "post_install_l10n")
class TestLoginSessionOnNuonuo(test_login_session.TestLoginSession):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install")
class TestDeliveryOnNuonuo(test_delivery.TestDelivery):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install", "post_install_l10n")
class TestQueueConcurrencyOnNuonuo(test_einvoice_concurrency.TestQueueConcurrency):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install", "post_install_l10n")
class TestSoakOnNuonuo(test_soak.TestSoak):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True


@tagged("post_install", "-at_install")
class TestPortalOnNuonuo(test_portal.TestPortal):
    provider_code = "nuonuo"
    allow_inherited_tests_method = True
