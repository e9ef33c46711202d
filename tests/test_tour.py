from datetime import datetime, time

from odoo import Command, fields
from odoo.tests import HttpCase, tagged

from ..fapiao.chinatime import china_today
from ..models.l10n_cn_einv_guard import flow
from ..wizard.l10n_cn_einv_period_wizard import _previous_month
from .common import L10nCnEinvCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestIssueTour(L10nCnEinvCase, HttpCase):
    """In a real browser: a sale order's Issue e-invoice button ends with the number shown."""

    def test_issue_e_invoice_from_a_sale_order_in_the_browser(self):
        admin = self.env.ref("base.user_admin")
        admin.write({"company_ids": [Command.link(self.company.id)], "company_id": self.company.id,
                     "groups_id": [Command.link(self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager").id)]})
        order = self.env["sale.order"].create({
            "partner_id": self.buyer.id, "company_id": self.company.id,
            "order_line": [Command.create({"product_id": self.product_service.id, "product_uom_qty": 1})],
        })
        order.action_confirm()
        self.start_tour(f"/odoo/orders/{order.id}", "l10n_cn_einvoice_issue_tour", login="admin")
        self.assertEqual(order.invoice_ids.l10n_cn_einv_state, "issued")
        self.assertRegex(order.l10n_cn_einv_number, r"^2635\d{16}$")
        self.assertEqual(self.issued_on_platform(), 1)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestTour(L10nCnEinvCase, HttpCase):
    """In a real browser, as an e-invoice manager: what the buttons of the addon do."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.write({
            "company_ids": [Command.link(cls.company.id)], "company_id": cls.company.id,
            "groups_id": [Command.link(cls.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager").id),
                          Command.link(cls.env.ref("sales_team.group_sale_manager").id)],
        })

    def issue_from_a_new_record(self, url, tour, model):
        """Run ``tour`` from ``url`` (a new record's form) -> the one record of ``model`` it created."""
        before = self.env[model].search([])
        self.start_tour(url, tour, login="admin")
        created = self.env[model].search([]) - before
        self.assertEqual(len(created), 1, "exactly the record created, no blank one after it")
        self.assertEqual(created.l10n_cn_einv_state, "issued")
        self.assertRegex(created.l10n_cn_einv_number, r"^\d{20}$")
        self.assertFalse(self.env["account.move"].search([("company_id", "=", self.company.id),
                                                          ("state", "=", "draft"), ("amount_total", "=", 0)]))
        return created

    def test_issue_from_a_sale_order_just_created_stays_on_it(self):
        self.issue_from_a_new_record("/odoo/sales/new", "l10n_cn_einvoice_new_order_tour", "sale.order")

    def test_issue_from_an_invoice_just_created_stays_on_it(self):
        self.issue_from_a_new_record("/odoo/invoicing/new", "l10n_cn_einvoice_new_invoice_tour", "account.move")

    def test_every_button_of_the_addon(self):
        """Each list and form button the addon adds, clicked in the browser: no traceback, no error dialog."""
        issued = self.make_invoice()
        issued.action_l10n_cn_einv_issue()
        other = self.make_invoice()
        other.action_l10n_cn_einv_issue()
        self.simulator.buyer_apply_red_form(other.l10n_cn_einv_number, "01")
        self.start_tour("/odoo/action-l10n_cn_einvoice.action_l10n_cn_einv_red_form",
                        "l10n_cn_einvoice_red_form_buttons_tour", login="admin")
        self.assertEqual(other.l10n_cn_einv_red_status, "full")

        self.start_tour(f"/odoo/invoicing/{issued.id}", "l10n_cn_einvoice_invoice_buttons_tour", login="admin")
        self.assertEqual(issued.l10n_cn_einv_delivery_state, "queued")

        failed = self.make_invoice()
        with flow():
            failed.write({"l10n_cn_einv_state": "failed", "l10n_cn_einv_error": "connection lost"})
        self.start_tour(f"/odoo/invoicing/{failed.id}", "l10n_cn_einvoice_failed_invoice_buttons_tour", login="admin")
        self.assertEqual(failed.l10n_cn_einv_state, "issued")

        self.make_invoice()
        self.start_tour("/odoo/invoicing", "l10n_cn_einvoice_invoice_list_buttons_tour", login="admin")
        self.start_tour("/odoo/action-l10n_cn_einvoice.action_l10n_cn_einv_dashboard",
                        "l10n_cn_einvoice_dashboard_buttons_tour", login="admin")
        self.start_tour("/odoo/action-account.action_account_config", "l10n_cn_einvoice_settings_buttons_tour",
                        login="admin")

    # --- the buttons of the states a record reaches less often ------------------------------------

    def red_form_url(self, form):
        return f"/odoo/action-l10n_cn_einvoice.action_l10n_cn_einv_red_form/{form.id}"

    def credit_note(self, blue):
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=blue.ids).create({"l10n_cn_einv_red_reason": "01",
                                                                     "journal_id": blue.journal_id.id})
        credit = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        credit.action_post()
        return credit.l10n_cn_einv_credit_form_ids

    def test_resume_after_login_on_an_invoice_and_on_a_red_form(self):
        """The login wizard's buttons (Show QR code, Logged in: resume) from an invoice and a red form."""
        self.set_faults(login_lapsed=1.0)
        waiting = self.make_invoice()
        waiting.action_l10n_cn_einv_issue()
        self.assertEqual(waiting.l10n_cn_einv_state, "waiting_login")
        self.simulator.reset(self.account())     # the drawer logged in again
        self.start_tour(f"/odoo/invoicing/{waiting.id}", "l10n_cn_einvoice_resume_after_login_tour", login="admin")
        self.assertEqual(waiting.l10n_cn_einv_state, "to_issue", "resumed: queued again at once")

        blue = self.make_invoice()
        blue.action_l10n_cn_einv_issue()
        self.set_faults(login_lapsed=1.0)
        form = self.credit_note(blue)
        self.assertEqual(form.state, "waiting_login")
        self.simulator.reset(self.account())
        self.start_tour(self.red_form_url(form), "l10n_cn_einvoice_resume_after_login_tour", login="admin")
        self.assertNotEqual(form.state, "waiting_login")

    def test_red_form_buttons(self):
        """Refuse (an inbound form), Refresh and Revoke (an outbound one awaiting the buyer), Retry (a failed one)."""
        inbound_blue = self.make_invoice()
        inbound_blue.action_l10n_cn_einv_issue()
        self.simulator.buyer_apply_red_form(inbound_blue.l10n_cn_einv_number, "01")
        forms = self.env["l10n_cn_einv.red.form"]
        forms.action_l10n_cn_einv_fetch_inbound()
        inbound = forms.search([("blue_move_id", "=", inbound_blue.id)])
        self.start_tour(self.red_form_url(inbound), "l10n_cn_einvoice_red_form_refuse_tour", login="admin")
        self.assertEqual(inbound.state, "refused")

        awaited_blue = self.make_invoice()
        awaited_blue.action_l10n_cn_einv_issue()
        self.simulator.buyer_confirm_use(awaited_blue.l10n_cn_einv_number)
        awaited = self.credit_note(awaited_blue)
        self.assertEqual(awaited.state, "awaiting")
        self.start_tour(self.red_form_url(awaited), "l10n_cn_einvoice_red_form_revoke_tour", login="admin")
        self.assertEqual(awaited.state, "revoked")

        failed_blue = self.make_invoice()
        failed_blue.action_l10n_cn_einv_issue()
        self.set_faults(busy=1.0, retry_after=0)
        failed = self.credit_note(failed_blue)
        self.simulator.reset(self.account())
        self.assertFalse(failed.form_number)
        with flow():
            failed.write({"state": "failed", "error": "connection lost", "next_attempt": False})
        self.start_tour(self.red_form_url(failed), "l10n_cn_einvoice_red_form_retry_tour", login="admin")
        self.assertEqual(failed.state, "red_issued")

    def test_invoice_list_action_menu(self):
        """Retry failed e-invoices, Download E-Invoice Files (zip), Red-reverse selected, Issue e-invoices."""
        issued = self.make_invoice()
        issued.action_l10n_cn_einv_issue()
        failed = self.make_invoice()
        with flow():
            failed.write({"l10n_cn_einv_state": "failed", "l10n_cn_einv_error": "connection lost"})
        new = self.make_invoice()
        self.start_tour("/odoo/invoicing", "l10n_cn_einvoice_invoice_list_actions_tour", login="admin")
        self.assertEqual(failed.l10n_cn_einv_state, "issued")
        self.assertEqual(new.l10n_cn_einv_state, "issued")
        self.assertEqual((issued | failed).mapped("l10n_cn_einv_red_status").count("full"), 1,
                         "one of the two issued invoices red-reversed")

    def test_get_token_on_a_nuonuo_company(self):
        self.company.l10n_cn_einv_provider = "nuonuo"
        self.start_tour("/odoo/action-account.action_account_config", "l10n_cn_einvoice_nuonuo_settings_buttons_tour",
                        login="admin")

    def test_product_and_classification_code_buttons(self):
        laptop = self.env["product.template"].create({"name": "笔记本电脑", "taxes_id": [Command.set(self.tax_13.ids)]})
        self.start_tour(f"/odoo/action-account.product_product_action_sellable/{laptop.id}",
                        "l10n_cn_einvoice_product_buttons_tour", login="admin")
        self.assertTrue(laptop.l10n_cn_einv_tax_code_id)
        self.start_tour("/odoo/action-l10n_cn_einvoice.action_l10n_cn_einv_tax_code",
                        "l10n_cn_einvoice_tax_code_buttons_tour", login="admin")

    def test_report_wizards(self):
        """The audit report's Print, the period's Print List and Download Files (zip), on an issued invoice."""
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.start_tour("/odoo/action-l10n_cn_einvoice.action_l10n_cn_einv_audit_wizard",
                        "l10n_cn_einvoice_audit_wizard_buttons_tour", login="admin")
        # the period wizard proposes the previous month (China time): issued then
        first_day = _previous_month(china_today(fields.Datetime.now()))[0]
        with flow():
            move.l10n_cn_einv_issue_time = datetime.combine(first_day, time(4))   # 12:00 in China
        self.start_tour("/odoo/action-l10n_cn_einvoice.action_l10n_cn_einv_period_wizard",
                        "l10n_cn_einvoice_period_wizard_buttons_tour", login="admin")
