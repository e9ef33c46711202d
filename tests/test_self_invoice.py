"""Self-service e-invoice requests (扫码开票 / 申请开票) through real HTTP, against the simulated platform."""

import re
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import HttpCase, tagged

from ..fapiao import selfinvoice
from .common import BUYER_TAX_ID, L10nCnEinvCase

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
TITLE = {"title_type": "company", "name": "上海某某贸易有限公司", "tax_id": BUYER_TAX_ID,
         "address_phone": "上海市浦东新区世纪大道 100 号 021-12345678",
         "bank_account": "中国工商银行上海分行 1001 2345 6789", "email": "finance@shopper.example.cn"}


@tagged("post_install", "-at_install", "post_install_l10n")
class TestSelfInvoice(L10nCnEinvCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)
        cls.shopper = cls.env["res.partner"].create({"name": "网店顾客", "email": "shopper@example.cn"})
        cls.other = cls.env["res.partner"].create({"name": "另一位顾客", "email": "other@example.cn"})
        cls.portal_user = cls.env["res.users"].create({
            "name": "网店顾客", "login": "shopper_portal", "password": "shopper_portal_pw",
            "partner_id": cls.shopper.id, "company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)],
            "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
        })

    def make_order(self, partner=None, confirm=True):
        order = self.env["sale.order"].create({
            "partner_id": (partner or self.shopper).id, "company_id": self.company.id,
            "order_line": [Command.create({"product_id": self.product_service.id, "product_uom_qty": 2})],
        })
        if confirm:
            order.action_confirm()
        return order

    def link(self, order):
        return order._l10n_cn_einv_request()._l10n_cn_einv_path()

    def form_token(self, path):
        response = self.url_open(path)
        self.assertEqual(response.status_code, 200, response.text[:2000])
        return CSRF_RE.search(response.text).group(1)

    def submit(self, path, csrf=None, **values):
        data = {**TITLE, **values, "csrf_token": csrf or self.form_token(path)}
        return self.url_open(path, data=data)

    def invoices(self, order):
        order.invalidate_recordset()
        return order.invoice_ids.filtered(lambda move: move.state != "cancel")

    # --- the happy path --------------------------------------------------------------------

    def test_company_title_issues_the_e_invoice_and_mails_it(self):
        order = self.make_order()
        path = self.link(order)
        page = self.url_open(path)
        self.assertEqual(page.status_code, 200)
        self.assertIn("申请开票", page.text)
        self.assertIn('name="viewport"', page.text)
        response = self.submit(path)
        self.assertEqual(response.status_code, 200, response.text[:3000])
        self.assertTrue(response.url.endswith(path), "the submit redirects to the request page")
        invoice = self.invoices(order)
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")
        self.assertEqual((invoice.l10n_cn_einv_buyer_name, invoice.l10n_cn_einv_buyer_tax_id,
                          invoice.l10n_cn_einv_buyer_email, invoice.l10n_cn_einv_buyer_is_natural_person),
                         (TITLE["name"], BUYER_TAX_ID, TITLE["email"], False))
        self.assertEqual(invoice.l10n_cn_einv_buyer_bank_account, TITLE["bank_account"])
        self.assertEqual(self.issued_on_platform(), 1)
        self.assertIn(invoice.l10n_cn_einv_number, response.text)
        self.assertIn("已开具", response.text)
        self.assertIn('http-equiv="refresh"', response.text, "refreshes until the PDF is here")
        # the files, then the mail, come through the poll cron
        self.receive_files()
        page = self.url_open(path)
        self.assertNotIn('http-equiv="refresh"', page.text)
        pdf_url = invoice.get_portal_url(suffix="/l10n_cn_einvoice/pdf").replace("&", "&amp;")
        self.assertIn(pdf_url, page.text)
        self.opener.cookies.clear()
        pdf = self.url_open(invoice.get_portal_url(suffix="/l10n_cn_einvoice/pdf"))
        self.assertEqual((pdf.status_code, pdf.content), (200, invoice.l10n_cn_einv_pdf_id.raw))
        self.assertEqual(invoice.l10n_cn_einv_delivery_state, "queued")
        mail = self.env["mail.mail"].search([("model", "=", "account.move"), ("res_id", "=", invoice.id)])
        addresses = mail.mapped("email_to") + mail.recipient_ids.mapped("email")
        self.assertIn(TITLE["email"], " ".join(filter(None, addresses)))
        request = order._l10n_cn_einv_request()
        self.assertEqual((request.state, request.buyer_tax_id, request.move_ids), ("submitted", BUYER_TAX_ID, invoice))

    def test_natural_person_title(self):
        order = self.make_order()
        response = self.submit(self.link(order), title_type="person", name="张三", tax_id="", bank_account="",
                               address_phone="", email="zhang.san@example.cn")
        self.assertEqual(response.status_code, 200, response.text[:3000])
        invoice = self.invoices(order)
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")
        self.assertTrue(invoice.l10n_cn_einv_buyer_is_natural_person)
        self.assertEqual((invoice.l10n_cn_einv_buyer_name, invoice.l10n_cn_einv_buyer_tax_id), ("张三", False))

    # --- refusals: nothing created, nothing issued ----------------------------------------

    def assert_nothing_created(self, order):
        self.assertFalse(self.invoices(order))
        self.assertEqual(self.issued_on_platform(), 0)

    def test_every_problem_listed_in_chinese_nothing_created(self):
        order = self.make_order()
        path = self.link(order)
        response = self.submit(path, name="", tax_id="91310000MA1FL0XL38", email="not-an-address")
        self.assertEqual(response.status_code, 422)
        self.assertIn("纳税人识别号", response.text)
        self.assertIn("请填写发票抬头", response.text)
        self.assertIn("不是有效的邮箱地址", response.text)
        self.assertIn('value="not-an-address"', response.text, "what was typed is kept")
        response = self.submit(path, tax_id="")
        self.assertEqual(response.status_code, 422)
        self.assertIn("统一社会信用代码", response.text)
        self.assert_nothing_created(order)
        self.assertEqual(order._l10n_cn_einv_request().state, "open")

    def test_forged_or_wrong_link(self):
        order = self.make_order()
        request = order._l10n_cn_einv_request()
        token = request.sudo().access_token
        csrf = self.form_token(self.link(order))
        forged = token[:-1] + ("A" if token[-1] != "A" else "B")
        for path in (f"/l10n_cn_einvoice/request/{request.id}/{forged}",
                     f"/l10n_cn_einvoice/request/{request.id + 1000}/{token}",
                     f"/l10n_cn_einvoice/request/{request.id}/x"):
            self.assertEqual(self.url_open(path).status_code, 404)
            response = self.submit(path, csrf=csrf)
            self.assertEqual(response.status_code, 404)
            self.assertIn("链接无效", response.text)
        # another order's link does not open this one
        other = self.make_order(partner=self.other)
        self.assertNotEqual(other._l10n_cn_einv_request().sudo().access_token, token)
        self.assert_nothing_created(order)

    def test_submit_without_csrf_token_is_refused(self):
        order = self.make_order()
        path = self.link(order)
        self.form_token(path)
        response = self.url_open(path, data={**TITLE})
        self.assertEqual(response.status_code, 400)
        self.assert_nothing_created(order)

    def test_expired_link(self):
        order = self.make_order()
        order.date_order = fields.Datetime.now() - timedelta(days=100)
        path = self.link(order)
        request = order._l10n_cn_einv_request()
        self.assertEqual(request.expires_at, selfinvoice.expires_at(order.date_order, "next_month_end"))
        response = self.url_open(path)
        self.assertEqual(response.status_code, 410)
        self.assertIn("已过期", response.text)
        csrf = CSRF_RE.search(self.url_open(f"/my/orders/{order.id}?access_token={order._portal_ensure_token()}")
                              .text).group(1)
        self.assertEqual(self.submit(path, csrf=csrf).status_code, 410)
        self.assert_nothing_created(order)

    def test_expiry_follows_the_company_setting(self):
        self.company.l10n_cn_einv_request_period = "month_end"
        order = self.make_order()
        self.assertEqual(order._l10n_cn_einv_request().expires_at,
                         selfinvoice.expires_at(order.date_order, "month_end"))

    def test_order_already_e_invoiced(self):
        order = self.make_order()
        path = self.link(order)
        csrf = self.form_token(path)
        order.action_l10n_cn_einv_issue()
        self.assertEqual(self.issued_on_platform(), 1)
        response = self.url_open(path)
        self.assertEqual(response.status_code, 409)
        self.assertIn("已开具", response.text)
        response = self.submit(path, csrf=csrf)
        self.assertEqual(response.status_code, 409)
        self.assertEqual(len(self.invoices(order)), 1)
        self.assertEqual(self.issued_on_platform(), 1)
        self.assertNotEqual(self.invoices(order).l10n_cn_einv_buyer_name, "另一个抬头")

    def test_unconfirmed_order_is_refused(self):
        order = self.make_order(confirm=False)
        response = self.url_open(self.link(order))
        self.assertEqual(response.status_code, 409)
        self.assert_nothing_created(order)

    def test_double_submit_issues_once(self):
        order = self.make_order()
        path = self.link(order)
        csrf = self.form_token(path)
        first = self.submit(path, csrf=csrf)
        self.assertEqual(first.status_code, 200)
        replay = self.submit(path, csrf=csrf, name="另一个抬头", tax_id="")
        self.assertEqual(replay.status_code, 409)
        self.assertIn("只开具一次", replay.text)
        invoice = self.invoices(order)
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.l10n_cn_einv_buyer_name, TITLE["name"])
        self.assertEqual(self.issued_on_platform(), 1)

    def test_rate_limit_per_request_and_per_address(self):
        order = self.make_order()
        path = self.link(order)
        csrf = self.form_token(path)
        for _attempt in range(selfinvoice.RATE_PER_REQUEST):
            self.assertEqual(self.submit(path, csrf=csrf, email="bad").status_code, 422)
        response = self.submit(path, csrf=csrf)
        self.assertEqual(response.status_code, 429)
        self.assertIn("请求过于频繁", response.text)
        self.assert_nothing_created(order)
        # the address's own limit, over several orders
        self.env.cr.execute("DELETE FROM l10n_cn_einv_request_hit")
        orders = [self.make_order() for _index in range(selfinvoice.RATE_PER_ADDRESS // selfinvoice.RATE_PER_REQUEST)]
        for other in orders:
            for _attempt in range(selfinvoice.RATE_PER_REQUEST):
                self.assertEqual(self.submit(self.link(other), csrf=csrf, email="bad").status_code, 422)
        self.assertEqual(self.submit(self.link(self.make_order()), csrf=csrf).status_code, 429)

    # --- the portal: 申请开票 on the order ----------------------------------------------------

    def test_portal_request_of_own_order(self):
        order = self.make_order()
        self.authenticate("shopper_portal", "shopper_portal_pw")
        page = self.url_open(f"/my/orders/{order.id}")
        self.assertEqual(page.status_code, 200)
        self.assertIn(f"/my/orders/{order.id}/l10n_cn_einvoice/request", page.text)
        response = self.url_open(f"/my/orders/{order.id}/l10n_cn_einvoice/request")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.url.endswith(self.link(order)))
        csrf = CSRF_RE.search(response.text).group(1)
        result = self.submit(self.link(order), csrf=csrf)
        self.assertEqual(result.status_code, 200)
        self.assertEqual(self.invoices(order).l10n_cn_einv_state, "issued")
        page = self.url_open(f"/my/orders/{order.id}")
        self.assertNotIn(f"/my/orders/{order.id}/l10n_cn_einvoice/request", page.text, "offered once only")

    def test_portal_request_of_another_customers_order(self):
        order = self.make_order(partner=self.other)
        self.authenticate("shopper_portal", "shopper_portal_pw")
        response = self.url_open(f"/my/orders/{order.id}/l10n_cn_einvoice/request")
        self.assertEqual(response.status_code, 403)
        self.assertIn("不是您的订单", response.text)
        self.assertFalse(self.env["l10n_cn_einv.request"].sudo().search(
            [("res_model", "=", "sale.order"), ("res_id", "=", order.id)]))
        self.assert_nothing_created(order)

    def test_portal_request_with_the_orders_access_token(self):
        order = self.make_order(partner=self.other)
        response = self.url_open(f"/my/orders/{order.id}/l10n_cn_einvoice/request"
                                 f"?access_token={order._portal_ensure_token()}")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.url.endswith(self.link(order)))

    # --- in a browser, on a phone -------------------------------------------------------------

    def test_request_on_a_phone_in_the_browser(self):
        order = self.make_order()
        self.browser_size = "375x667"
        self.touch_enabled = True
        self.start_tour(self.link(order), "l10n_cn_einvoice_self_invoice_tour")
        invoice = self.invoices(order)
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")
        self.assertEqual(invoice.l10n_cn_einv_buyer_tax_id, BUYER_TAX_ID)
        self.assertEqual(self.issued_on_platform(), 1)
