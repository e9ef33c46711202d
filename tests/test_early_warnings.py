"""Problems are caught where they are made: the product form, the new customer, the posting."""

from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import Form, tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon

RICE = "1030102010100000000"          # 大米: 9 % (and 0 %, exempt)
COMPUTER = "1090509010000000000"      # 电子计算机整机: 13 %
PRINTER = "1090511030000000000"       # 输出设备及装置
BAD_USCC = "91350100M000100Y44"       # check character wrong


@tagged("post_install", "-at_install")
class TestEarlyWarnings(AccountTestInvoicingCommon):

    @classmethod
    @AccountTestInvoicingCommon.setup_country("cn")
    def setUpClass(cls):
        super().setUpClass()
        Code = cls.env["l10n_cn_einv.tax.code"]
        cls.rice = Code.search([("code", "=", RICE)])
        cls.computer = Code.search([("code", "=", COMPUTER)])
        cls.vat_13 = cls.env["account.chart.template"].ref("l10n_cn_sales_excluded_13")
        cls.vat_9 = cls.env["account.chart.template"].ref("l10n_cn_sales_excluded_9")
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)

    # --- the product form ---------------------------------------------------------------

    def test_product_form_warns_when_the_tax_does_not_fit_the_code(self):
        form = Form(self.env["product.template"])
        form.name = "东北大米"
        form.l10n_cn_einv_tax_code_id = self.rice
        form.taxes_id.clear()
        form.taxes_id.add(self.vat_13)
        self.assertIn("13%", form.l10n_cn_einv_tax_code_warning)
        self.assertIn("9%", form.l10n_cn_einv_tax_code_warning)
        product = form.save()        # a warning, not a refusal
        self.assertTrue(product.l10n_cn_einv_tax_code_warning)
        popup = product._onchange_l10n_cn_einv_tax_code_warning()
        self.assertEqual(popup["warning"]["message"], product.l10n_cn_einv_tax_code_warning)

        product.taxes_id = self.vat_9
        self.assertFalse(product.l10n_cn_einv_tax_code_warning)
        self.assertFalse(product._onchange_l10n_cn_einv_tax_code_warning())

    def test_product_warning_in_chinese(self):
        product = self.env["product.template"].create({
            "name": "东北大米", "l10n_cn_einv_tax_code_id": self.rice.id, "taxes_id": [Command.set(self.vat_13.ids)]})
        warning = product.with_context(lang="zh_CN").l10n_cn_einv_tax_code_warning
        self.assertIn("13%", warning)
        self.assertNotIn("is not allowed", warning)
        self.assertIn("不", warning)
        popup = product.with_context(lang="zh_CN")._onchange_l10n_cn_einv_tax_code_warning()
        self.assertNotIn("does not fit", popup["warning"]["title"])

    def test_a_product_without_code_is_not_warned_on_its_form(self):
        product = self.env["product.template"].create({"name": "杂货", "taxes_id": [Command.set(self.vat_13.ids)]})
        self.assertFalse(product.l10n_cn_einv_tax_code_warning)

    # --- suggestions ----------------------------------------------------------------------

    def test_suggestions_rank_the_laptop_first_and_show_the_rates(self):
        laptop = self.env["product.template"].create({"name": "联想笔记本"})
        self.assertEqual(laptop._l10n_cn_einv_suggest_tax_codes()[:1], self.computer)
        action = laptop.action_l10n_cn_einv_suggest_tax_codes()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        first = wizard.line_ids[0]
        self.assertEqual(first.tax_code_id, self.computer)
        self.assertEqual(first.allowed_rates, "13%")
        self.assertNotIn("家具", wizard.line_ids.mapped("short_name"))
        printer = self.env["product.template"].create({"name": "激光打印机"})
        self.assertEqual(printer._l10n_cn_einv_suggest_tax_codes()[:1].code, PRINTER)
        rice = self.env["product.template"].create({"name": "东北大米"})
        wizard = self.env["l10n_cn_einv.tax.code.suggest"].create({"product_tmpl_id": rice.id})
        self.assertEqual(wizard.line_ids[0].tax_code_id, self.rice)
        self.assertEqual(wizard.line_ids[0].allowed_rates, "9%、0%")
        wizard.line_ids[0].action_use()
        self.assertEqual(rice.l10n_cn_einv_tax_code_id, self.rice)

    # --- the new customer -----------------------------------------------------------------

    def test_new_customer_of_a_chinese_company_is_in_china(self):
        form = Form(self.env["res.partner"])
        self.assertEqual(form.country_id, self.env.ref("base.cn"))
        form.name = "福州某有限公司"
        form.vat = BAD_USCC
        with self.assertRaises(ValidationError):
            form.save()
        with self.assertRaises(ValidationError):
            self.env["res.partner"].create({"name": "福州某有限公司", "vat": BAD_USCC})
        # said otherwise, the customer is elsewhere and its vat not a Chinese taxpayer id
        self.env["res.partner"].create({"name": "Somewhere Ltd", "vat": "123",
                                        "country_id": self.env.ref("base.us").id})

    def test_customer_of_a_company_elsewhere_gets_no_chinese_default(self):
        self.env.company.country_id = self.env.ref("base.us")
        self.assertFalse(self.env["res.partner"].default_get(["country_id"]).get("country_id"))

    # --- posting --------------------------------------------------------------------------

    def _uncoded_invoice(self):
        product = self.env["product.product"].create({"name": "杂货", "taxes_id": [Command.set(self.vat_13.ids)]})
        return self.init_invoice("out_invoice", products=product, taxes=self.vat_13)

    def test_posting_an_invoice_that_cannot_be_issued_warns_and_posts(self):
        invoice = self._uncoded_invoice()
        action = invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("no tax classification code", action["params"]["message"])
        self.assertIn("no tax classification code", invoice.l10n_cn_einv_issue_warning)
        note = invoice.message_ids[:1]
        self.assertIn("cannot be issued as an e-invoice", note.body)
        self.assertIn("no tax classification code", note.body)

    def test_posting_warns_in_chinese(self):
        invoice = self._uncoded_invoice().with_context(lang="zh_CN")
        action = invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        self.assertNotIn("no tax classification code", action["params"]["message"])
        self.assertNotIn("cannot be issued", invoice.message_ids[:1].body)
        self.assertNotIn("no tax classification code", invoice.l10n_cn_einv_issue_warning)

    def test_posting_a_fine_invoice_says_nothing(self):
        self.env.company.vat = "91110108MA01ABCD1E"
        product = self.env["product.product"].create({
            "name": "东北大米", "l10n_cn_einv_tax_code_id": self.rice.id, "taxes_id": [Command.set(self.vat_9.ids)]})
        partner = self.env["res.partner"].create({
            "name": "福州某有限公司", "is_company": True, "vat": "91350100M000100Y43", "email": "a@example.com"})
        invoice = self.init_invoice("out_invoice", partner=partner, products=product, taxes=self.vat_9)
        invoice.currency_id = self.env.ref("base.CNY")
        result = invoice.action_post()
        self.assertEqual(invoice.state, "posted")
        if invoice.l10n_cn_einv_issue_warning:
            self.fail(invoice.l10n_cn_einv_issue_warning)
        self.assertFalse(result)
