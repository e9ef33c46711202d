"""The drawer's tax-bureau login lapses: nothing fails, everything waits, and resumes once a
manager says the login is back. Written against the simulator contract only."""

import base64

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import new_test_user, tagged

from .common import L10nCnEinvCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestLoginSession(L10nCnEinvCase):

    def lapse_login(self):
        self.set_faults(login_lapsed=1.0)

    def login_again(self):
        self.simulator.reset(self.account())

    def resume(self, records=None):
        """A manager clicks "Resume after login" (on ``records``, else in the settings) and confirms
        the login in the wizard it opens."""
        action = (records or self.company).action_l10n_cn_einv_resume_after_login()
        self.assertEqual(action["res_model"], "l10n_cn_einv.login.wizard")
        return self.env[action["res_model"]].browse(action["res_id"]).action_resume()

    def login_requests(self):
        return self.env["mail.activity"].search([
            ("res_model", "=", "res.partner"), ("res_id", "=", self.company.partner_id.id),
            ("summary", "=", "Log in to the tax bureau again")])

    def test_issue_waits_for_the_login_then_resumes_with_the_same_serial(self):
        self.lapse_login()
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "waiting_login", "a lapsed login is not a failure")
        self.assertFalse(move.l10n_cn_einv_number)
        self.assertEqual(self.issued_on_platform(), 0)
        serial = move.l10n_cn_einv_serial_no
        self.assertRegex(move.l10n_cn_einv_error.lower(), r"log ?in")
        # the managers are asked to log in again, once however many invoices wait
        asked = self.login_requests()
        self.assertTrue(asked)
        other = self.make_invoice()
        other.action_l10n_cn_einv_issue()
        self.assertEqual(other.l10n_cn_einv_state, "waiting_login")
        self.assertEqual(self.login_requests(), asked)
        # the queue leaves them alone while the login is lapsed
        self.env["account.move"]._l10n_cn_einv_cron_process_queue()
        self.assertEqual((move | other).mapped("l10n_cn_einv_state"), ["waiting_login"] * 2)

        self.login_again()
        self.resume(move)
        self.assertEqual(move.l10n_cn_einv_state, "to_issue")
        self.assertFalse((self.company.l10n_cn_einv_alerts_sent or {}).get("login"), "the next lapse asks again")
        self.env["account.move"]._l10n_cn_einv_cron_process_queue()
        self.assertEqual((move | other).mapped("l10n_cn_einv_state"), ["issued"] * 2)
        self.assertEqual(move.l10n_cn_einv_serial_no, serial, "resumed under the same serial number")
        self.assertEqual(self.issued_on_platform(), 2)

    def test_the_queue_stops_at_the_first_lapse_and_the_rest_waits_unsent(self):
        for in_flight, invoices in ((1, 3), (3, 9)):
            with self.subTest(in_flight=in_flight):
                self.company.l10n_cn_einv_parallel_requests = in_flight
                moves = self.env["account.move"].concat(*(self.make_invoice() for _ in range(invoices)))
                moves._l10n_cn_einv_enqueue()
                requests = self.platform_stats()["requests"]
                self.lapse_login()
                self.env["account.move"]._l10n_cn_einv_cron_process_queue()
                self.assertEqual(moves.mapped("l10n_cn_einv_state"), ["waiting_login"] * invoices)
                # one refusal is enough to stop: only the requests already in flight beside it were sent
                self.assertLessEqual(self.platform_stats()["requests"] - requests, in_flight)
                self.login_again()
                self.resume(moves[0])

    def test_red_reversal_waits_for_the_login_too(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.lapse_login()
        credit = move._l10n_cn_einv_make_credit_note("01")
        credit.action_post()
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual(form.state, "waiting_login")
        self.login_again()
        self.resume(form)
        self.env["l10n_cn_einv.red.form"]._l10n_cn_einv_cron_process()
        self.env["account.move"]._l10n_cn_einv_cron_process_queue()
        self.assertEqual(form.state, "red_issued")
        self.assertEqual(credit.l10n_cn_einv_state, "issued")
        self.assertEqual(form.red_invoice_number, credit.l10n_cn_einv_number)

    def test_the_manager_logs_in_with_the_platforms_qr_code(self):
        """Where the platform offers the session, the wizard shows its QR code, and nothing resumes
        until the platform says the drawer scanned it."""
        self.assertTrue(self.provider_spec.capabilities.login_session)
        self.lapse_login()
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        action = move.action_l10n_cn_einv_resume_after_login()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertTrue(wizard.login_session)
        self.assertEqual(wizard.waiting_count, 1)
        with self.assertRaises(UserError):
            wizard.action_resume()      # the platform says the drawer is not logged in
        self.assertEqual(move.l10n_cn_einv_state, "waiting_login")
        wizard.action_show_qr_code()
        self.assertTrue(wizard.qr_content)
        self.assertTrue(base64.b64decode(wizard.qr_image).startswith(b"\x89PNG"), "a QR code to scan")
        self.assertGreater(wizard.qr_expires_at, fields.Datetime.now())
        with self.assertRaises(UserError):
            wizard.action_resume()      # shown, not scanned yet
        self.assertEqual(move.l10n_cn_einv_state, "waiting_login")
        self.simulator.scan_login_qr(self.account())
        wizard.action_resume()
        self.assertEqual(move.l10n_cn_einv_state, "to_issue")
        self.run_queue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")

    def test_only_managers_of_the_company_resume(self):
        self.lapse_login()
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        user = new_test_user(self.env, "einv_user_login", groups="account.group_account_invoice,"
                             "l10n_cn_einvoice.group_l10n_cn_einv_user", company_id=self.company.id)
        with self.assertRaises(AccessError):
            move.with_user(user).action_l10n_cn_einv_resume_after_login()
        with self.assertRaises(AccessError):
            self.company.with_user(user).sudo().action_l10n_cn_einv_resume_after_login()
        with self.assertRaises(AccessError):
            self.env["l10n_cn_einv.login.wizard"].with_user(user).create({"company_id": self.company.id})
        wizard = self.env["l10n_cn_einv.login.wizard"].create({"company_id": self.company.id})
        with self.assertRaises(AccessError):
            wizard.with_user(user).sudo().action_resume()
        self.assertEqual(move.l10n_cn_einv_state, "waiting_login")

    def test_a_waiting_invoice_is_queued_not_issued(self):
        self.lapse_login()
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        # printed content is locked as in the queue ...
        with self.assertRaises(UserError):
            move.write({"invoice_date": "2026-11-21"})
        # ... and, nothing having been issued, resetting it takes it out of the queue
        move.button_draft()
        self.assertEqual((move.state, move.l10n_cn_einv_state), ("draft", "not_needed"))
