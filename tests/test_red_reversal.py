import dataclasses
from decimal import Decimal

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from ..fapiao.documents import RedFormLine
from ..models.l10n_cn_einv_guard import flow
from ..models.l10n_cn_einv_red_form import deterministic_serial
from .common import L10nCnEinvCase


class RedReversalCase(L10nCnEinvCase):
    """Helpers shared by the red reversal and the return tests."""

    def issued_invoice(self, lines=None):
        move = self.make_invoice(lines)
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        return move

    def credit_note(self, blue, quantities=None, reason="01", post=True):
        """A credit note through the reversal wizard; ``quantities`` {line index: quantity}
        keeps only those lines, with those quantities."""
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=blue.ids).create({"l10n_cn_einv_red_reason": reason,
                                                             "journal_id": blue.journal_id.id})
        credit = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        if quantities is not None:
            lines = credit.invoice_line_ids.filtered(lambda line: line.display_type == "product")
            credit.write({"invoice_line_ids": [
                Command.update(line.id, {"quantity": quantities[index]}) if index in quantities
                else Command.delete(line.id) for index, line in enumerate(lines)]})
        if post:
            credit.action_post()
        return credit

    def run_red_cron(self):
        return self.env["l10n_cn_einv.red.form"]._l10n_cn_einv_cron_process(company_ids=self.company.ids)

    def requests_sent(self):
        return self.platform_stats()["requests"]

    def red_on_platform(self):
        return self.platform_stats()["red_invoices"]

    def assert_red_issued(self, form, credit):
        self.assertEqual(form.state, "red_issued")
        self.assertRegex(form.red_invoice_number, r"^\d{20}$")
        self.assertEqual(credit.l10n_cn_einv_state, "issued")
        self.assertEqual(credit.l10n_cn_einv_number, form.red_invoice_number)
        self.assertEqual(credit.l10n_cn_einv_serial_no, form.red_serial_no)
        if not credit.l10n_cn_einv_pdf_id:
            self.receive_files()
        self.assertTrue(credit.l10n_cn_einv_pdf_id.raw.startswith(b"%PDF"))
        self.assertEqual(form.red_pdf_id, credit.l10n_cn_einv_pdf_id)
        self.assertIn(form.red_invoice_number.encode(), form.red_xml_id.raw)

    def activity_summaries(self, move):
        return move.activity_ids.mapped("summary")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestRedReversal(RedReversalCase):

    def test_full_credit_note_issues_the_red_invoice_at_once(self):
        blue = self.issued_invoice()
        red_before = self.red_on_platform()
        credit = self.credit_note(blue)
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual(len(form), 1)
        self.assertEqual(form.blue_move_id, blue)
        self.assertEqual((form.platform_status, form.direction, form.reason), ("01", "outbound", "01"))
        self.assertTrue(form.full_reversal)
        self.assertTrue(form.serial_no.startswith("RF"))
        self.assertTrue(form.serial_no.endswith(f"{credit.id:010d}"))
        self.assert_red_issued(form, credit)
        self.assertEqual(self.red_on_platform() - red_before, 1)
        self.assertEqual(form.line_ids.mapped("quantity"), [-2.0])
        self.assertEqual((form.total_amount, form.total_tax, form.total_with_tax), (-2000.0, -260.0, -2260.0))
        self.assertEqual((blue.l10n_cn_einv_red_status, blue.l10n_cn_einv_red_amount), ("full", 2260.0))
        self.assertEqual(blue.l10n_cn_einv_red_form_count, 1)
        self.assertEqual(blue.action_l10n_cn_einv_open_red_forms()["res_id"], form.id)
        # the form's exchanges on the form, the red invoice's (the credit note's own submission) on the credit note
        self.assertEqual(form.log_ids.mapped("service").count(self.service("red_apply")), 1)
        self.assertNotIn(self.service("red_apply"), credit.l10n_cn_einv_log_ids.mapped("service"))
        self.assertEqual(credit.l10n_cn_einv_log_ids.sorted("id").mapped("service")[-len(self.file_formats()):],
                         [self.service("download")] * len(self.file_formats()))
        # a fully reversed invoice refuses any further reversal
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=blue.ids).create({"journal_id": blue.journal_id.id})
        with self.assertRaisesRegex(UserError, "already fully red-reversed"):
            wizard.refund_moves()

    def test_partial_credit_notes_then_over_reversal_is_refused(self):
        blue = self.issued_invoice([(self.product_printer, 2, 1000.0), (self.product_service, 3, 300.0)])
        first = self.credit_note(blue, quantities={0: 1})
        form = first.l10n_cn_einv_credit_form_ids
        self.assertFalse(form.full_reversal)
        self.assertEqual([(line.blue_line_no, line.quantity, line.amount, line.tax_amount) for line in form.line_ids],
                         [(1, -1.0, -1000.0, -130.0)])
        self.assertEqual(form.line_ids.product_id, self.product_printer)
        self.assert_red_issued(form, first)
        self.assertEqual((blue.l10n_cn_einv_red_status, blue.l10n_cn_einv_red_amount), ("partial", 1130.0))

        second = self.credit_note(blue, quantities={0: 1, 1: 3}, reason="03", post=False)
        third = self.credit_note(blue, quantities={0: 1}, post=False)
        second.action_post()
        self.assert_red_issued(second.l10n_cn_einv_credit_form_ids, second)
        self.assertEqual(second.l10n_cn_einv_credit_form_ids.reason, "03")
        self.assertEqual(blue.l10n_cn_einv_red_status, "full")

        requests = self.requests_sent()
        with self.assertRaises(UserError) as caught:
            third.action_post()
        self.assertIn("already fully reversed", str(caught.exception))
        self.assertEqual(third.state, "draft")
        self.assertFalse(third.l10n_cn_einv_credit_form_ids)
        self.assertEqual(self.requests_sent(), requests, "nothing was sent")

    def test_more_than_the_line_is_refused_naming_line_and_amounts(self):
        blue = self.issued_invoice([(self.product_printer, 2, 1000.0), (self.product_service, 1, 300.0)])
        requests, invoices = self.requests_sent(), self.platform_stats()["invoices"]
        credit = self.credit_note(blue, quantities={0: 3}, post=False)
        with self.assertRaises(UserError) as caught:
            credit.action_post()
        message = str(caught.exception)
        self.assertIn("Line 1 (", message)
        self.assertIn("-3", message)
        self.assertIn("2.00 of 2.00", message)
        self.assertEqual(credit.state, "draft")
        self.assertFalse(self.env["l10n_cn_einv.red.form"].search([("blue_move_id", "=", blue.id)]))
        self.assertEqual((self.requests_sent(), self.platform_stats()["invoices"]), (requests, invoices))

    def test_a_line_not_on_the_invoice_is_refused(self):
        blue = self.issued_invoice()
        credit = self.credit_note(blue, post=False)
        credit.write({"invoice_line_ids": [Command.create({"product_id": self.product_service.id, "quantity": 1,
                                                           "price_unit": 300.0})]})
        with self.assertRaisesRegex(UserError, "is not a line of"):
            credit.action_post()
        self.assertEqual(credit.state, "draft")

    def test_discounted_line_is_reversed_by_amount(self):
        blue = self.make_invoice(post=False)
        blue.invoice_line_ids.discount = 10.0
        blue.action_post()
        blue.action_l10n_cn_einv_issue()
        self.assertEqual(blue.l10n_cn_einv_state, "issued")
        credit = self.credit_note(blue, quantities={0: 1})
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual([(line.blue_line_no, line.quantity, line.amount, line.tax_amount) for line in form.line_ids],
                         [(1, 0.0, -900.0, -117.0)], "on the discounted line, by amount only")
        self.assert_red_issued(form, credit)
        second = self.credit_note(blue, quantities={0: 1})
        self.assert_red_issued(second.l10n_cn_einv_credit_form_ids, second)
        self.assertEqual(blue.l10n_cn_einv_red_status, "full")

    def test_platform_refusal_fails_the_form_and_alerts(self):
        blue = self.issued_invoice()
        # an invoice number the platform does not know: a refusal that is never retried
        with flow():
            blue.l10n_cn_einv_number = "26350000000099999999"
        credit = self.credit_note(blue)
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual(credit.state, "posted")
        self.assertEqual((form.state, form.form_number), ("failed", False))
        self.assertIn({"reference": "3002", "nuonuo": "E9999"}[self.provider_spec.code], form.error)
        self.assertIn("Red-letter form failed", self.activity_summaries(blue))
        self.assertEqual(self.run_red_cron(), 0, "a failed form is not retried by itself")

    def test_users_without_red_form_rights_go_through_the_flows(self):
        blue = self.issued_invoice()
        company = {"company_id": self.company.id, "company_ids": [Command.set(self.company.ids)]}
        billing = new_test_user(self.env, login="cn_billing", groups="account.group_account_invoice", **company)
        user = new_test_user(self.env, login="cn_einv_user", groups="l10n_cn_einvoice.group_l10n_cn_einv_user",
                             **company)
        credit = self.credit_note(blue, post=False)
        # Red-reversing is an e-invoice user's act (issue 11): a billing user alone may not.
        with self.assertRaises(AccessError):
            credit.with_user(billing).action_post()
        self.assertFalse(credit.l10n_cn_einv_credit_form_ids)
        credit.with_user(user).action_post()
        form = credit.l10n_cn_einv_credit_form_ids
        self.assert_red_issued(form, credit)
        self.assertEqual(form.log_ids[:1].operator_id, user)
        seen = credit.with_user(billing).read(["l10n_cn_einv_credit_form_state", "l10n_cn_einv_red_form_count"])[0]
        self.assertEqual((seen["l10n_cn_einv_credit_form_state"], seen["l10n_cn_einv_red_form_count"]),
                         ("red_issued", 1))
        self.assertEqual(blue.with_user(billing).l10n_cn_einv_red_status, "full")
        # an e-invoice user (not a manager) confirms an inbound form
        other = self.issued_invoice()
        self.simulator.buyer_apply_red_form(other.l10n_cn_einv_number, "01")
        forms = self.env["l10n_cn_einv.red.form"].with_user(user)
        forms.action_l10n_cn_einv_fetch_inbound()
        inbound = forms.search([("blue_move_id", "=", other.id)])
        inbound.action_l10n_cn_einv_confirm()
        self.assertEqual(inbound.state, "red_issued")
        self.assertEqual(other.l10n_cn_einv_red_status, "full")

    def test_never_issued_invoice_is_not_red_reversed(self):
        requests = self.requests_sent()
        move = self.make_invoice()
        with self.assertRaisesRegex(UserError, "never issued as an e-invoice"):
            move._l10n_cn_einv_red_reverse()
        # an ordinary credit note of it is Odoo's business only: no form, nothing sent
        credit = self.credit_note(move)
        self.assertEqual(credit.state, "posted")
        self.assertFalse(credit.l10n_cn_einv_credit_form_ids)
        self.assertEqual(credit.l10n_cn_einv_state, "not_needed")
        self.assertEqual(self.requests_sent(), requests)

    def test_buyer_confirmed_use_so_the_form_waits_for_the_buyer(self):
        blue = self.issued_invoice()
        self.simulator.buyer_confirm_use(blue.l10n_cn_einv_number)
        credit = self.credit_note(blue)
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual((form.state, form.platform_status), ("awaiting", "02"))
        self.assertTrue(form.expires_at)
        self.assertFalse(form.red_invoice_number)
        self.assertEqual(credit.l10n_cn_einv_state, "not_needed")
        self.assertEqual(credit.l10n_cn_einv_credit_form_state, "awaiting")
        with self.assertRaisesRegex(UserError, "revoke them"):
            credit.button_draft()
        self.run_red_cron()
        self.assertEqual(form.state, "awaiting", "the buyer has not answered")
        self.simulator.buyer_confirm(form.form_number)
        self.run_red_cron()
        self.assertEqual(form.platform_status, "04")
        self.assert_red_issued(form, credit)
        self.assertEqual(blue.l10n_cn_einv_red_status, "full")

    def test_buyer_refusal_ends_the_form_and_alerts(self):
        blue = self.issued_invoice()
        self.simulator.buyer_confirm_use(blue.l10n_cn_einv_number)
        form = self.credit_note(blue).l10n_cn_einv_credit_form_ids
        self.simulator.buyer_reject(form.form_number)
        self.run_red_cron()
        self.assertEqual((form.state, form.platform_status), ("refused", "05"))
        self.assertIn("Red-letter form refused", self.activity_summaries(blue))
        self.assertEqual(self.run_red_cron(), 0, "nothing left to follow")

    def test_unconfirmed_form_lapses_after_72_hours(self):
        blue = self.issued_invoice()
        self.simulator.buyer_confirm_use(blue.l10n_cn_einv_number)
        form = self.credit_note(blue).l10n_cn_einv_credit_form_ids
        self.simulator.advance_clock(72 * 3600 + 1)
        self.run_red_cron()
        self.assertEqual((form.state, form.platform_status), ("lapsed", "07"))
        self.assertIn("Red-letter form lapsed", self.activity_summaries(blue))
        # the lapsed form holds nothing: the credit note can be reset and applied for again
        credit = form.credit_move_id
        credit.button_draft()
        credit.action_post()
        forms = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual(len(forms), 2)
        self.assertEqual(forms[0].serial_no, deterministic_serial(
            self.env, "RF", credit.id, 1, self.provider_spec.capabilities.serial_max_length), "a serial of its own")
        self.assertEqual(forms[0].state, "awaiting")

    def test_revoke(self):
        blue = self.issued_invoice()
        self.simulator.buyer_confirm_use(blue.l10n_cn_einv_number)
        form = self.credit_note(blue).l10n_cn_einv_credit_form_ids
        form.action_l10n_cn_einv_revoke()
        self.assertEqual((form.state, form.platform_status), ("revoked", "08"))
        self.assertFalse(self.activity_summaries(blue), "we revoked it ourselves")
        self.assertIn(self.service("red_revoke"), form.log_ids.mapped("service"))
        with self.assertRaisesRegex(UserError, "can be revoked"):
            form.action_l10n_cn_einv_revoke()
        self.assertEqual(blue.l10n_cn_einv_red_status, "none")
        form.credit_move_id.button_draft()

    def test_busy_platform_is_retried_with_the_same_serial(self):
        blue = self.issued_invoice()
        self.set_faults(busy=1.0, retry_after=0)
        credit = self.credit_note(blue)
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual((form.state, form.attempts), ("draft", 1))
        self.assertTrue(form.next_attempt)
        self.assertIn("busy", form.error)
        serial = form.serial_no
        self.assertEqual(self.run_red_cron(), 0, "not due yet")
        self.simulator.set_faults(self.account())
        self.env.flush_all()
        self.env.cr.execute("UPDATE l10n_cn_einv_red_form SET next_attempt = NOW() AT TIME ZONE 'UTC' "
                            "- INTERVAL '1 second' WHERE id = %s", [form.id])
        form.invalidate_recordset()
        self.assertEqual(self.run_red_cron(), 1)
        self.assertEqual(form.serial_no, serial)
        self.assert_red_issued(form, credit)

    def test_a_dead_serial_number_continues_under_a_new_one(self):
        """Another system of the same platform account took the serial number the credit note's red
        invoice is to carry: the platform refuses it as used for good (nothing is issued under it),
        and the red invoice goes on under a new one instead of failing."""
        blue = self.issued_invoice()
        credit = self.credit_note(blue, post=False)
        taken = credit._l10n_cn_einv_serial()          # what the credit note will send under
        other = self.make_invoice()
        with self.company._l10n_cn_einv_provider() as client:
            client.issue(dataclasses.replace(other._l10n_cn_einv_document(), serial_no=taken))
        credit.action_post()
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual(form.state, "applied")
        self.assertEqual(credit.l10n_cn_einv_state, "to_issue", "not a failure: it goes on")
        self.assertNotEqual(credit.l10n_cn_einv_serial_no, taken)
        self.assertFalse(credit.l10n_cn_einv_uncertain, "nothing to ask the platform under the new serial number")
        self.assertEqual(self.red_on_platform(), 0)
        self.make_due(credit)
        self.run_queue()
        # the queue leaves the files to the files cron, as for any invoice it issues
        self.env["account.move"]._l10n_cn_einv_cron_fetch_missing_documents(company_ids=self.company.ids)
        self.assert_red_issued(form, credit)
        self.assertEqual(self.red_on_platform(), 1)

    def test_inbound_form_confirmed_gives_credit_note_and_red_invoice(self):
        blue = self.issued_invoice([(self.product_printer, 2, 1000.0), (self.product_service, 1, 300.0)])
        self.simulator.buyer_apply_red_form(blue.l10n_cn_einv_number, "02", lines=[RedFormLine(
            blue_line_no=1, quantity=Decimal("-1"), amount=Decimal("-1000.00"), tax_amount=Decimal("-130.00"))])
        forms = self.env["l10n_cn_einv.red.form"]
        forms.action_l10n_cn_einv_fetch_inbound()
        form = forms.search([("blue_move_id", "=", blue.id)])
        self.assertEqual((form.direction, form.applicant, form.state, form.platform_status, form.reason),
                         ("inbound", "buyer", "awaiting", "03", "02"))
        self.assertEqual(forms.search([("direction", "=", "inbound"), ("platform_status", "=", "03"),
                                       ("id", "=", form.id)]), form, "listed under To Confirm")
        self.assertEqual(form.line_ids.move_line_id, blue.invoice_line_ids[0])
        forms.action_l10n_cn_einv_fetch_inbound()
        self.assertEqual(forms.search_count([("blue_move_id", "=", blue.id)]), 1, "fetched once")

        form.action_l10n_cn_einv_confirm()
        credit = form.credit_move_id
        self.assertEqual((credit.move_type, credit.state, credit.reversed_entry_id), ("out_refund", "posted", blue))
        self.assertEqual(credit.l10n_cn_einv_red_reason, "02")
        self.assertEqual(credit.invoice_line_ids.mapped("quantity"), [1.0])
        self.assertEqual(credit.amount_total, 1130.0)
        self.assertEqual(credit.l10n_cn_einv_credit_form_ids, form, "no second form for the credit note")
        self.assert_red_issued(form, credit)
        self.assertEqual((blue.l10n_cn_einv_red_status, blue.l10n_cn_einv_red_amount), ("partial", 1130.0))

    def test_inbound_form_refused(self):
        blue = self.issued_invoice()
        self.simulator.buyer_apply_red_form(blue.l10n_cn_einv_number, "01")
        forms = self.env["l10n_cn_einv.red.form"]
        forms.action_l10n_cn_einv_fetch_inbound()
        form = forms.search([("blue_move_id", "=", blue.id)])
        self.assertTrue(form.full_reversal is False and form.total_with_tax == -2260.0)
        form.action_l10n_cn_einv_refuse()
        self.assertEqual((form.state, form.platform_status), ("refused", "06"))
        self.assertFalse(form.credit_move_id)
        self.assertEqual(blue.l10n_cn_einv_red_status, "none")
        with self.assertRaisesRegex(UserError, "can be confirmed"):
            form.action_l10n_cn_einv_confirm()

    def test_void_is_refused_for_fully_digitalised_invoices(self):
        blue = self.issued_invoice()
        requests = self.requests_sent()
        with self.assertRaises(UserError) as caught:
            blue.with_context(lang="en_US").action_l10n_cn_einv_void()
        self.assertIn("cannot be voided, only red-reversed", str(caught.exception))
        self.assertNotIn("数电票不能作废", str(caught.exception), "one language only")
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)
        with self.assertRaises(UserError) as caught:
            blue.with_context(lang="zh_CN").action_l10n_cn_einv_void()
        self.assertIn("数电票不能作废", str(caught.exception))
        self.assertNotIn("cannot be voided", str(caught.exception), "one language only")
        self.assertEqual(self.requests_sent(), requests)
        self.assertEqual(blue.l10n_cn_einv_state, "issued")

    def test_batch_red_reverse_summarises_each_invoice(self):
        issued = self.issued_invoice()
        plain = self.make_invoice()
        action = (issued | plain).action_l10n_cn_einv_red_reverse_batch()
        result = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(result.summary, "2 records: Done 1, Not Done 1")
        first, second = result.line_ids
        self.assertEqual((first.name, first.outcome), (issued.name, "done"))
        self.assertIn("Red Invoice Issued", first.detail)
        self.assertEqual((second.name, second.outcome), (plain.name, "refused"))
        self.assertIn("never issued", second.detail)
        self.assertEqual(issued.l10n_cn_einv_red_status, "full")
        self.assertEqual(issued.payment_state, "reversed", "the unpaid invoice is settled by its credit note")
        self.assertFalse(self.env["account.move"].search([("reversed_entry_id", "=", plain.id)]),
                         "nothing half done for the refused one")

    def test_wizard_asks_the_reason(self):
        blue = self.issued_invoice()
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=blue.ids).create({"journal_id": blue.journal_id.id})
        self.assertTrue(wizard.l10n_cn_einv_red_applicable)
        self.assertEqual(wizard.l10n_cn_einv_red_reason, "01")
        plain = self.make_invoice()
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=plain.ids).create({"journal_id": plain.journal_id.id})
        self.assertFalse(wizard.l10n_cn_einv_red_applicable)

    def test_reverse_and_create_invoice_red_reverses_in_full(self):
        blue = self.issued_invoice()
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=blue.ids).create({"l10n_cn_einv_red_reason": "01",
                                                             "journal_id": blue.journal_id.id})
        wizard.modify_moves()
        credit = self.env["account.move"].search([("reversed_entry_id", "=", blue.id)])
        self.assert_red_issued(credit.l10n_cn_einv_credit_form_ids, credit)
        self.assertEqual(blue.payment_state, "reversed")
