from odoo import Command
from odoo.exceptions import ValidationError
from odoo.tests import tagged

from odoo.addons.account.tests.common import AccountTestInvoicingCommon
from odoo.addons.l10n_cn_einvoice.fapiao.documents import Party
from odoo.addons.l10n_cn_einvoice.fapiao.errors import InvalidTaxpayerId
from odoo.addons.l10n_cn_einvoice.fapiao.taxid import validate_taxpayer_id

RICE = "1030102010100000000"          # 大米, 9 %
SOFTWARE = "3040201010000000000"      # 软件开发服务, 6 %
MILLED_GRAIN = "1030102010000000000"  # summary row above 大米
VALID_USCC = "91350100M000100Y43"


@tagged("post_install", "-at_install")
class TestProductPartner(AccountTestInvoicingCommon):
    """Products carry a classification code checked against their taxes; partners an invoice title."""

    @classmethod
    @AccountTestInvoicingCommon.setup_country("cn")
    def setUpClass(cls):
        super().setUpClass()
        Code = cls.env["l10n_cn_einv.tax.code"]
        cls.rice, cls.software, cls.milled_grain = (
            Code.search([("code", "=", code)]) for code in (RICE, SOFTWARE, MILLED_GRAIN))
        cls.vat_13 = cls.env["account.chart.template"].ref("l10n_cn_sales_excluded_13")
        cls.vat_9 = cls.env["account.chart.template"].ref("l10n_cn_sales_excluded_9")
        cls.food = cls.env["product.category"].create({"name": "Food", "l10n_cn_einv_tax_code_id": cls.rice.id})
        cls.grain = cls.env["product.category"].create({"name": "Grain", "parent_id": cls.food.id})
        cls.no_code = cls.env["product.category"].create({"name": "Uncoded"})

    def _product(self, name, category, taxes, code=False):
        return self.env["product.template"].create({
            "name": name, "categ_id": category.id, "taxes_id": [Command.set(taxes.ids)],
            "l10n_cn_einv_tax_code_id": code and code.id,
        })

    def _check_lines(self, action):
        self.assertEqual(action["res_model"], "l10n_cn_einv.tax.code.check")
        check = self.env["l10n_cn_einv.tax.code.check"].browse(action["res_id"])
        return [(line.move_id, line.product_tmpl_id, line.problem) for line in check.line_ids]

    # --- Products ---------------------------------------------------------------

    def test_code_inherited_from_the_nearest_category(self):
        rice = self._product("东北大米", self.grain, self.vat_9)
        self.assertFalse(rice.l10n_cn_einv_tax_code_id)
        self.assertEqual(self.grain.l10n_cn_einv_effective_tax_code_id, self.rice)
        self.assertEqual(rice.l10n_cn_einv_effective_tax_code_id, self.rice)
        self.assertEqual(rice.product_variant_id.l10n_cn_einv_effective_tax_code_id, self.rice)
        rice.l10n_cn_einv_tax_code_id = self.software
        self.assertEqual(rice.l10n_cn_einv_effective_tax_code_id, self.software)
        self.grain.l10n_cn_einv_tax_code_id = self.software
        self.assertEqual(self._product("糯米", self.grain, self.vat_9).l10n_cn_einv_effective_tax_code_id,
                         self.software)

    def test_only_leaf_usable_codes_are_offered(self):
        for model in ("product.template", "product.category"):
            domain = self.env[model]._fields["l10n_cn_einv_tax_code_id"].domain
            offered = self.env["l10n_cn_einv.tax.code"].search(domain)
            self.assertIn(self.rice, offered)
            self.assertNotIn(self.milled_grain, offered)

    def test_suggest_codes_from_the_product_name(self):
        product = self._product("有机东北大米 5kg", self.no_code, self.vat_9)
        suggestions = product._l10n_cn_einv_suggest_tax_codes(limit=3)
        self.assertEqual(suggestions[0], self.rice)
        self.assertLessEqual(len(suggestions), 3)
        self.assertTrue(all(not code.is_summary and code.usable for code in suggestions))

        action = product.product_variant_id.action_l10n_cn_einv_suggest_tax_codes()
        wizard = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(wizard.tax_code_id, self.rice)
        wizard.action_apply()
        self.assertEqual(product.l10n_cn_einv_tax_code_id, self.rice)

    def test_validation_lists_every_product_problem(self):
        fine = self._product("东北大米", self.grain, self.vat_9)
        wrong_rate = self._product("香米", self.grain, self.vat_13)
        uncoded = self._product("杂货", self.no_code, self.vat_9)
        summary = self._product("谷物", self.no_code, self.vat_9, code=self.milled_grain)
        action = self.env.ref("l10n_cn_einvoice.action_l10n_cn_einv_check_product_tax_codes").with_context(
            active_model="product.template", active_ids=(fine + wrong_rate + uncoded + summary).ids).run()
        problems = self._check_lines(action)
        self.assertEqual([product for _move, product, _problem in problems], list(wrong_rate + uncoded + summary))
        self.assertIn("13%", problems[0][2])
        self.assertIn("which allows 9%、0%", problems[0][2])     # 大米 is exempt (免税): 0 % as well
        self.assertIn("no tax classification code", problems[1][2])
        self.assertIn("summary row", problems[2][2])

        self.software.usable = False
        fine.l10n_cn_einv_tax_code_id = self.software
        self.assertIn("no longer usable", fine._l10n_cn_einv_tax_code_problems()[0])

    def test_validation_says_so_when_everything_is_fine(self):
        fine = self._product("东北大米", self.grain, self.vat_9)
        action = self.env["l10n_cn_einv.tax.code.check"]._l10n_cn_einv_check_products(fine)
        self.assertEqual(action["tag"], "display_notification")
        self.assertEqual(action["params"]["type"], "success")

    def test_validation_of_an_invoice_uses_the_line_taxes(self):
        fine = self._product("东北大米", self.grain, self.vat_9)
        invoice = self.init_invoice("out_invoice", products=fine.product_variant_id + fine.product_variant_id,
                                    taxes=self.vat_13)
        action = self.env.ref("l10n_cn_einvoice.action_l10n_cn_einv_check_move_tax_codes").with_context(
            active_model="account.move", active_ids=invoice.ids).run()
        problems = self._check_lines(action)
        self.assertEqual(len(problems), 1)     # two lines, one sentence
        self.assertEqual(problems[0][:2], (invoice, fine))
        self.assertIn("13%", problems[0][2])

    # --- Partners ---------------------------------------------------------------

    def test_partner_taxpayer_id_refused_with_the_taxid_message(self):
        with self.assertRaises(InvalidTaxpayerId) as expected:
            validate_taxpayer_id("91350100M000100Y44")
        values = {"name": "福州某有限公司", "is_company": True, "country_id": self.env.ref("base.cn").id,
                  "vat": "91350100M000100Y44"}
        with self.assertRaises(ValidationError) as caught:
            self.env["res.partner"].with_context(lang="en_US").create(values)
        self.assertIn(expected.exception.message, str(caught.exception))
        self.assertNotIn(expected.exception.message_zh, str(caught.exception), "one language only")
        self.env["res.lang"]._activate_lang("zh_CN")
        with self.assertRaises(ValidationError) as caught:
            self.env["res.partner"].with_context(lang="zh_CN").create(values)
        self.assertIn(expected.exception.message_zh, str(caught.exception))
        self.assertNotIn(expected.exception.message, str(caught.exception), "one language only")
        # A title makes the partner Chinese even without a country.
        with self.assertRaises(ValidationError):
            self.env["res.partner"].create({"name": "某公司", "vat": "123", "l10n_cn_einv_title_name": "某公司"})
        # Elsewhere the vat is not a Chinese taxpayer id.
        self.env["res.partner"].create({"name": "Somewhere Ltd", "vat": "123",
                                        "country_id": self.env.ref("base.us").id})

    def test_natural_person_without_taxpayer_id(self):
        person = self.env["res.partner"].create({
            "name": "张三", "country_id": self.env.ref("base.cn").id, "email": "zhangsan@example.com",
            "l10n_cn_einv_is_natural_person": True,
        })
        party = person._l10n_cn_einv_party()
        self.assertEqual((party.name, party.tax_id, party.natural_person, party.email),
                         ("张三", "", True, "zhangsan@example.com"))

    def test_party_from_the_title_of_the_commercial_partner(self):
        company = self.env["res.partner"].create({
            "name": "Fuzhou Trading", "is_company": True, "country_id": self.env.ref("base.cn").id,
            "vat": " 91350100m000100y43 ", "email": "finance@example.com",
            "l10n_cn_einv_title_name": "福州某贸易有限公司",
            "l10n_cn_einv_address_phone": "福州市鼓楼区五四路1号 0591-87654321",
            "l10n_cn_einv_bank_account": "中国工商银行福州分行 1402 0200 0900 1234 567",
            "l10n_cn_einv_email": "fapiao@example.com",
        })
        buyer = self.env["res.partner"].create({
            "name": "李四", "parent_id": company.id, "type": "invoice", "email": "lisi@example.com",
        })
        self.assertEqual(buyer.l10n_cn_einv_title_name, "福州某贸易有限公司")   # synced from the company
        self.assertEqual(buyer._l10n_cn_einv_party(), Party(
            name="福州某贸易有限公司", tax_id=VALID_USCC, address="福州市鼓楼区五四路1号", phone="0591-87654321",
            bank_name="中国工商银行福州分行", bank_account="1402 0200 0900 1234 567", email="lisi@example.com",
        ))
        self.assertEqual(company._l10n_cn_einv_party().email, "fapiao@example.com")

    def test_party_falls_back_on_the_partner_address_phone_and_bank(self):
        partner = self.env["res.partner"].create({
            "name": "厦门某公司", "is_company": True, "country_id": self.env.ref("base.cn").id,
            "vat": VALID_USCC, "city": "厦门市", "street": "思明区湖滨南路2号", "phone": "0592-1234567",
            "email": "ap@example.com",
            "bank_ids": [Command.create({
                "acc_number": "0200004509001234567",
                "bank_id": self.env["res.bank"].create({"name": "中国银行厦门分行"}).id,
            })],
        })
        self.assertEqual(partner._l10n_cn_einv_party(), Party(
            name="厦门某公司", tax_id=VALID_USCC, address="厦门市 思明区湖滨南路2号", phone="0592-1234567",
            bank_name="中国银行厦门分行", bank_account="0200004509001234567", email="ap@example.com",
        ))
