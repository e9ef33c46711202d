from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import L10nCnEinvPosCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPosTour(L10nCnEinvPosCase, HttpCase):
    """Through the real Point of Sale in a browser."""

    def cashier(self):
        return self.env["res.users"].create({
            "name": "收银员", "login": "l10n_cn_einv_pos_tour_cashier", "password": "l10n_cn_einv_pos_tour_cashier",
            "email": "cashier@shop.example.cn",
            "company_id": self.company.id, "company_ids": [Command.set(self.company.ids)],
            "groups_id": [Command.set([self.env.ref("point_of_sale.group_pos_user").id,
                                       self.env.ref("account.group_account_invoice").id,
                                       self.env.ref("base.group_user").id])],
        })

    def test_sale_with_a_walk_in_title_prints_the_e_invoice_number(self):
        cashier = self.cashier()
        self.pos_config.with_user(cashier).open_ui()
        self.start_tour(f"/pos/ui?config_id={self.pos_config.id}", "l10n_cn_einvoice_pos_title_tour",
                        login=cashier.login)
        order = self.pos_config.current_session_id.order_ids
        self.assertEqual(len(order), 1)
        self.assertEqual(order.partner_id.vat, "91110108MA01A7XW0E")
        self.assertEqual(order.account_move.l10n_cn_einv_buyer_name, "北京某某科技有限公司")
        self.assertEqual(order.l10n_cn_einv_state, "issued")
        self.assertRegex(order.l10n_cn_einv_number, r"^\d{20}$")
        self.assertEqual(order.account_move.l10n_cn_einv_pos_config_id, self.pos_config)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_customer_title_shown_and_pending_e_invoice_on_the_receipt(self):
        cashier = self.cashier()
        self.pos_config.with_user(cashier).open_ui()
        session = self.pos_config.current_session_id
        # an earlier sale to the customer: the till loads the customers it sells to most
        _result, earlier = self.sync(self.order_data(session, partner=self.buyer, to_invoice=False))
        self.set_faults(busy=1.0)
        self.start_tour(f"/pos/ui?config_id={self.pos_config.id}", "l10n_cn_einvoice_pos_pending_tour",
                        login=cashier.login)
        order = session.order_ids - earlier
        self.assertEqual(order.partner_id, self.buyer)
        self.assertEqual(order.l10n_cn_einv_state, "to_issue")
        self.simulator.reset(self.account())
        self.make_due(order.account_move)
        self.run_queue()
        self.assertEqual(order.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)
