"""Self-service e-invoice requests (扫码开票 / 申请开票) through real HTTP, against the simulated platform."""

import logging
import re
from datetime import timedelta

import requests

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.tests import HttpCase, tagged

from ..fapiao import selfinvoice
from .common import BUYER_TAX_ID, SERVICE_CODE, L10nCnEinvCase
from .test_einvoice_concurrency import ServedQueueCase

_logger = logging.getLogger(__name__)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
KIND_RE = re.compile(r'data-kind="(\w+)"')
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

    @staticmethod
    def chatter(record):
        record.invalidate_recordset()
        return "\n".join(message.body or "" for message in record.message_ids)

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
        self.assertEqual((invoice.l10n_cn_einv_state, invoice.l10n_cn_einv_invoice_type), ("issued", "02"),
                         "an ordinary invoice (普票) unless a special one is asked for")
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
        # the page speaks Chinese; the note is for the shop's staff, in the company's language
        self.assertEqual(self.company.partner_id.lang, "en_US")
        self.assertIn(f"The customer requested an e-invoice (from 127.0.0.1): Ordinary invoice (普票), "
                      f"title {TITLE['name']}, taxpayer id {BUYER_TAX_ID}, to be sent to {TITLE['email']}.",
                      self.chatter(order), "the order's chatter says who asked for what")
        # the back office lists it
        self.assertIn(request, self.env["l10n_cn_einv.request"].search([("state", "=", "submitted")]))
        self.env["l10n_cn_einv.request"].get_views([(False, "list"), (False, "form"), (False, "search")])

    def test_order_invoiced_without_e_invoice_gets_it_on_its_invoice(self):
        """An online order paid and invoiced by Odoo, not e-invoiced: the e-invoice is issued for that
        invoice, with the customer's title; no second invoice."""
        order = self.make_order()
        invoice = order._create_invoices()
        invoice.action_post()
        self.assertEqual((order.invoice_status, invoice.l10n_cn_einv_state), ("invoiced", "not_needed"))
        response = self.submit(self.link(order))
        self.assertEqual(response.status_code, 200, response.text[:3000])
        self.assertEqual(self.invoices(order), invoice)
        self.assertEqual((invoice.l10n_cn_einv_state, invoice.l10n_cn_einv_buyer_tax_id), ("issued", BUYER_TAX_ID))
        self.assertEqual(self.issued_on_platform(), 1)

    def test_invoice_the_platform_would_refuse_is_not_created(self):
        """The invoice is checked by the Issue button's local rules before anything is kept: a product
        without a classification code leaves no invoice and sends nothing."""
        uncoded = self._create_product(name="未编码商品", lst_price=50.0, type="service", invoice_policy="order",
                                       taxes_id=[Command.set(self.tax_6.ids)])
        order = self.env["sale.order"].create({
            "partner_id": self.shopper.id, "company_id": self.company.id,
            "order_line": [Command.create({"product_id": uncoded.id, "product_uom_qty": 1})]})
        order.action_confirm()
        response = self.submit(self.link(order))
        self.assertEqual(response.status_code, 409)
        self.assertIn("无法在线开具", response.text)
        self.assert_nothing_created(order)
        self.assertEqual(order._l10n_cn_einv_request().state, "open")
        self.assertFalse(self.env["account.move"].search([("invoice_origin", "=", order.name)]))

    def test_company_asks_for_a_special_vat_invoice_where_the_shop_offers_it(self):
        order = self.make_order()
        path = self.link(order)
        self.assertNotIn('name="invoice_type"', self.url_open(path).text, "普票 only unless the shop offers 专票")
        response = self.submit(path, invoice_type="01")    # as a crafted request would
        self.assertEqual(response.status_code, 422)
        self.assertIn("只开具普通发票", response.text)
        self.assert_nothing_created(order)
        self.company.l10n_cn_einv_request_special = True
        self.assertIn('name="invoice_type" value="01"', self.url_open(path).text, "the page offers 专票")
        response = self.submit(path, invoice_type="01")
        self.assertEqual(response.status_code, 200, response.text[:3000])
        invoice = self.invoices(order)
        self.assertEqual((invoice.l10n_cn_einv_state, invoice.l10n_cn_einv_invoice_type), ("issued", "01"),
                         invoice.l10n_cn_einv_error)
        self.assertEqual(order._l10n_cn_einv_request().invoice_type, "01")
        self.assertEqual(self.issued_on_platform(), 1)
        self.assertIn("Special VAT invoice (专票)", self.chatter(order), "the chatter says a 专票 was asked for")

    def test_special_vat_invoice_refused_to_a_natural_person_nothing_created(self):
        self.company.l10n_cn_einv_request_special = True
        order = self.make_order()
        response = self.submit(self.link(order), title_type="person", invoice_type="01", name="张三", tax_id="",
                               email="")
        self.assertEqual(response.status_code, 422)
        self.assertIn("增值税专用发票只能开具给单位", response.text)
        self.assertIn("请填写接收电子发票的邮箱", response.text, "with every other problem")
        self.assertIn('value="01" checked', response.text, "what was chosen is kept")
        self.assert_nothing_created(order)
        self.assertEqual(order._l10n_cn_einv_request().state, "open")

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

    def test_expired_link_is_not_offered_on_the_portal(self):
        order = self.make_order()
        order.date_order = fields.Datetime.now() - timedelta(days=100)
        page = self.url_open(f"/my/orders/{order.id}?access_token={order._portal_ensure_token()}")
        self.assertEqual(page.status_code, 200)
        self.assertNotIn("/l10n_cn_einvoice/request", page.text)

    def test_pending_result_page_refreshes_until_issued(self):
        self.set_faults(pending=1.0, pending_seconds=60)
        order = self.make_order()
        path = self.link(order)
        response = self.submit(path)
        self.assertEqual(response.status_code, 200, response.text[:3000])
        invoice = self.invoices(order)
        self.assertEqual(invoice.l10n_cn_einv_state, "pending")
        self.assertIn('http-equiv="refresh"', response.text)
        self.assertIn("fa-spinner", response.text)
        self.assertNotIn("o_l10n_cn_einv_request_pdf", response.text)
        self.simulator.reset(self.account())
        self.simulator.advance_clock(61)
        # the poll cron, which the submit triggered for a few seconds later
        moves = self.env["account.move"]
        moves._l10n_cn_einv_cron_poll_pending(company_ids=self.company.ids)
        moves._l10n_cn_einv_cron_fetch_missing_documents(company_ids=self.company.ids)
        self.env.invalidate_all()
        page = self.url_open(path)
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")
        self.assertIn(invoice.l10n_cn_einv_number, page.text)
        self.assertIn("o_l10n_cn_einv_request_pdf", page.text)
        self.assertNotIn('http-equiv="refresh"', page.text)
        self.assertEqual(self.issued_on_platform(), 1)

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

    def test_portal_request_in_the_browser(self):
        order = self.make_order()
        portal_user = self.env["res.users"].search([("login", "=", "shopper_portal")])
        portal_user.password = "shopper_portal"    # the tour signs in with the login as password
        self.start_tour(f"/my/orders/{order.id}", "l10n_cn_einvoice_portal_request_tour", login="shopper_portal")
        invoice = self.invoices(order)
        self.assertEqual((invoice.l10n_cn_einv_state, invoice.l10n_cn_einv_buyer_tax_id), ("issued", BUYER_TAX_ID),
                         invoice.l10n_cn_einv_error)
        self.assertEqual(self.issued_on_platform(), 1)
        page = self.url_open(f"/my/orders/{order.id}")    # still signed in as the customer
        self.assertIn(order.name, page.text)
        self.assertNotIn("o_l10n_cn_einv_request_link", page.text, "offered once only")

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


@tagged("post_install", "-at_install", "post_install_l10n")
class TestSelfInvoiceConcurrency(ServedQueueCase):
    """Submits of one request at the same moment, each on its own connection to a real Odoo server
    (HttpCase serves every request on the test's one cursor, one at a time, so it cannot show
    what concurrent transactions do): one invoice, one 数电票."""

    def _committed_order(self):
        """A confirmed sale order of a committed company on the simulator -> (order id, request path, account)."""
        with self.env.registry.cursor() as cr:
            # this machine's address starts afresh: earlier runs' submits count within the window
            cr.execute("DELETE FROM l10n_cn_einv_request_hit WHERE key = 'addr:127.0.0.1'")
            env, company, account, product, _buyer = self._committed_company(
                api.Environment(cr, SUPERUSER_ID, {}), "自助开票测试有限公司",
                product_name="软件维护服务", tax_percent=6.0, tax_code=SERVICE_CODE,
                type="service", invoice_policy="order", lst_price=300.0)
            shopper = env["res.partner"].create({"name": "网店顾客", "email": "shopper@example.cn",
                                                 "company_id": company.id})
            order = env["sale.order"].with_company(company).create({
                "partner_id": shopper.id, "company_id": company.id,
                "order_line": [Command.create({"product_id": product.id, "product_uom_qty": 1})]})
            order.action_confirm()
            return order.id, order._l10n_cn_einv_request()._l10n_cn_einv_path(), account

    def test_concurrent_submits_issue_once(self):
        order_id, path, account = self._committed_order()
        sessions = [requests.Session() for _index in range(2)]
        forms = []
        for session in sessions:
            page = session.get(self.base_url + path, timeout=60)
            self.assertEqual(page.status_code, 200, page.text[:2000])
            forms.append((session, CSRF_RE.search(page.text).group(1)))
        submits = [forms[0], forms[1], forms[0], forms[1]]    # two people, each clicking twice
        answers = self._at_once(lambda session, csrf: session.post(
            self.base_url + path, data={**TITLE, "csrf_token": csrf}, timeout=120), submits)
        statuses = sorted(answer.status_code for answer in answers)
        self.assertEqual(statuses, [200, 409, 409, 409], [answer.text[:500] for answer in answers])
        kinds = sorted(KIND_RE.search(answer.text).group(1) for answer in answers if answer.status_code == 409)
        _logger.info("concurrent submits answered: one issued, then %s", kinds)
        self.assertTrue(set(kinds) <= {"busy", "replayed"}, kinds)
        for answer in answers:
            if answer.status_code == 409:
                self.assertRegex(answer.text, "正在处理|只开具一次|being processed|issued once only")
        self.assertEqual(self._count("""
            SELECT COUNT(DISTINCT move.id) FROM account_move move
              JOIN account_move_line line ON line.move_id = move.id
              JOIN sale_order_line_invoice_rel rel ON rel.invoice_line_id = line.id
              JOIN sale_order_line sol ON sol.id = rel.order_line_id
             WHERE sol.order_id = %s AND move.state != 'cancel'""", order_id), 1)
        self.assertEqual(len(self.simulator.issued(account)), 1)
        # and once more, afterwards: the request is submitted
        again = sessions[0].post(self.base_url + path, data={**TITLE, "csrf_token": forms[0][1]}, timeout=60)
        self.assertEqual(again.status_code, 409)
        self.assertEqual(len(self.simulator.issued(account)), 1)
