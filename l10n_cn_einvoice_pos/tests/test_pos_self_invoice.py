"""扫码开票 from a receipt: Odoo's own ticket QR code leads the shopper to the 数电票 request page."""

import re
from urllib.parse import urlsplit

from odoo.tests import HttpCase, tagged

from odoo.addons.l10n_cn_einvoice.tests.common import BUYER_TAX_ID

from .common import L10nCnEinvPosCase

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TITLE = {"title_type": "company", "name": "上海某某贸易有限公司", "tax_id": BUYER_TAX_ID,
         "address_phone": "", "bank_account": "", "email": "finance@shopper.example.cn"}


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPosSelfInvoice(L10nCnEinvPosCase, HttpCase):

    def request_page(self, order):
        """Where the receipt's QR code (/pos/ticket, then /pos/ticket/validate) leads."""
        response = self.url_open(f"/pos/ticket/validate?access_token={order.access_token}", allow_redirects=False)
        self.assertEqual(response.status_code, 303, response.text[:500])
        path = urlsplit(response.headers["Location"]).path
        self.assertTrue(path.startswith("/l10n_cn_einvoice/request/"), path)
        return path

    def test_walk_in_receipt_qr_code_issues_the_e_invoice_with_the_shoppers_title(self):
        session = self.open_session()
        _result, order = self.sync(self.order_data(session, to_invoice=False))
        self.assertFalse(order.account_move)
        path = self.request_page(order)
        form = self.url_open(path)
        self.assertEqual(form.status_code, 200)
        response = self.url_open(path, data={**TITLE, "csrf_token": CSRF_RE.search(form.text).group(1)})
        self.assertEqual(response.status_code, 200, response.text[:500])
        order.invalidate_recordset()
        move = order.account_move
        self.assertTrue(move, "the purchase is invoiced on the shopper's request")
        self.assertEqual((move.l10n_cn_einv_state, move.l10n_cn_einv_buyer_name, move.l10n_cn_einv_buyer_tax_id),
                         ("issued", TITLE["name"], BUYER_TAX_ID), move.l10n_cn_einv_error)
        self.assertEqual(order.partner_id.vat, BUYER_TAX_ID, "a walk-in purchase is invoiced to the title's customer")
        self.assertEqual(move.l10n_cn_einv_pos_config_id, self.pos_config)
        self.assertEqual(self.issued_on_platform(), 1)
        # the same QR code again: the status page, never a second e-invoice
        again = self.url_open(self.request_page(order))
        self.assertIn(move.l10n_cn_einv_number, again.text)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_purchase_e_invoiced_at_the_till_is_refused(self):
        session = self.open_session()
        _result, order = self.sync(self.order_data(session, partner=self.buyer))
        self.assertEqual(order.account_move.l10n_cn_einv_state, "issued")
        response = self.url_open(self.request_page(order))
        self.assertEqual(response.status_code, 409)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_forged_ticket_token_finds_nothing(self):
        response = self.url_open("/pos/ticket/validate?access_token=forged", allow_redirects=False)
        self.assertEqual(response.status_code, 404)

    def test_a_store_company_opened_later_in_china_prints_the_qr_code(self):
        china, elsewhere, turned_off = self.env["res.company"].create([
            {"name": "深圳某某服饰有限公司", "country_id": self.env.ref("base.cn").id},
            {"name": "Boutique Lyon SARL", "country_id": self.env.ref("base.fr").id},
            {"name": "广州某某服饰有限公司", "country_id": self.env.ref("base.cn").id,
             "point_of_sale_use_ticket_qr_code": False},
        ])
        self.assertTrue(china.point_of_sale_use_ticket_qr_code)
        self.assertFalse(elsewhere.point_of_sale_use_ticket_qr_code)
        self.assertFalse(turned_off.point_of_sale_use_ticket_qr_code, "what the creator chose is kept")
