from odoo import Command
from odoo.tests import HttpCase, tagged

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
