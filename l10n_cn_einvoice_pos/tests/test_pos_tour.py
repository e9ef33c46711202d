from urllib.parse import urlencode

from odoo import Command
from odoo.tests import HttpCase, tagged

from .common import L10nCnEinvPosCase

WALK_IN_TITLE = ("北京某某科技有限公司", "91110108MA01A7XW0E")    # the one the tours type in


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

    def sell_at_the_till(self, tour):
        """A cashier's session at the till, through ``tour`` -> the orders it sold."""
        cashier = self.cashier()
        self.pos_config.with_user(cashier).open_ui()
        self.start_tour(f"/pos/ui?config_id={self.pos_config.id}", tour, login=cashier.login)
        return self.pos_config.current_session_id.order_ids

    def test_sale_with_a_walk_in_title_prints_the_e_invoice_number(self):
        order = self.sell_at_the_till("l10n_cn_einvoice_pos_title_tour")
        self.assertEqual(len(order), 1)
        self.assertEqual(order.partner_id.vat, WALK_IN_TITLE[1])
        self.assertEqual(order.account_move.l10n_cn_einv_buyer_name, WALK_IN_TITLE[0])
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

    def test_walk_in_sale_then_the_shopper_requests_the_e_invoice_on_a_phone(self):
        order = self.sell_at_the_till("l10n_cn_einvoice_pos_receipt_qr_tour")
        self.assertEqual(len(order), 1)
        self.assertFalse(order.partner_id or order.account_move or order.to_invoice)
        self.assertEqual(self.issued_on_platform(), 0)
        # the receipt's QR code on the shopper's phone (/pos/ticket finds the order, then validates
        # its access token): no login, a page in Chinese
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)
        self.browser_size = "375x667"
        self.touch_enabled = True
        # what the receipt prints, as the shopper copies it into Odoo's form behind the QR code
        receipt = urlencode({"ticket": order.pos_reference, "date": order.date_order.date().isoformat(),
                             "code": order.ticket_code})
        self.start_tour(f"/pos/ticket?{receipt}", "l10n_cn_einvoice_pos_request_on_a_phone_tour")
        order.invalidate_recordset()
        move = order.account_move
        self.assertTrue(move, "the purchase is invoiced on the shopper's request")
        self.assertEqual((move.l10n_cn_einv_state, move.l10n_cn_einv_buyer_name, move.l10n_cn_einv_buyer_tax_id),
                         ("issued", *WALK_IN_TITLE), move.l10n_cn_einv_error)
        self.assertEqual(order.partner_id.vat, WALK_IN_TITLE[1], "invoiced to the title's customer")
        self.assertEqual(move.l10n_cn_einv_buyer_email, "fin@example.cn")
        self.assertEqual(self.issued_on_platform(), 1)
        # the poll cron fetches the files; the same QR code then offers the PDF (the status page)
        self.receive_files()
        page = self.url_open(f"/pos/ticket/validate?access_token={order.access_token}")
        pdf_url = move.get_portal_url(suffix="/l10n_cn_einvoice/pdf")
        self.assertIn(pdf_url.replace("&", "&amp;"), page.text)
        pdf = self.url_open(pdf_url)
        self.assertEqual((pdf.status_code, pdf.content), (200, move.l10n_cn_einv_pdf_id.raw))
        self.assertEqual(self.issued_on_platform(), 1)
