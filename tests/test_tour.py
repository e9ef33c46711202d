from odoo import Command
from odoo.tests import HttpCase, tagged

from ..models.l10n_cn_einv_guard import flow
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
