"""The e-invoice document as the accountant reads it: 价税合计（大写） on blue and red e-invoices, the
line's unit in Chinese whatever the clicking user's language, and the 红字 mark clear of 发票号码.

The PDFs are the reference platform's (its sandbox renders them), read back as text with positions."""

from odoo.tests import new_test_user, tagged

from ..fapiao.tests.pdftext import column_of, find_text, page_texts, row_of
from .test_red_reversal import RedReversalCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestEinvoiceDocument(RedReversalCase):

    provider_code = "reference"   # the layout under test is the reference sandbox's

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        units = cls.env.ref("uom.product_uom_unit")
        # what Odoo's Chinese translation calls "Units" (loaded here whether or not the terms are)
        units.update_field_translations("name", {"zh_CN": "单位"})
        cls.uom_set = cls.env["uom.uom"].create({
            "name": "Set", "category_id": units.category_id.id, "uom_type": "bigger", "factor_inv": 1.0})
        cls.uom_set.update_field_translations("name", {"zh_CN": "台"})
        cls.product_printer.write({"uom_id": cls.uom_set.id, "uom_po_id": cls.uom_set.id})

    def issue_as(self, lang, lines=None):
        """Issue an invoice as an accountant whose interface is in ``lang``."""
        user = new_test_user(self.env, login=f"accountant_{lang}", lang=lang, company_id=self.company.id,
                             groups="account.group_account_invoice,l10n_cn_einvoice.group_l10n_cn_einv_manager")
        move = self.make_invoice(lines).with_user(user)
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.receive_files()
        return move

    @staticmethod
    def total_row(texts):
        """What 价税合计（大写） is followed by, left to right."""
        return [placed.text for placed in row_of(texts, "价税合计（大写）")]

    def test_blue_and_red_e_invoices_print_the_total_in_capital_numerals(self):
        blue = self.issue_as("zh_CN")
        self.assertEqual(self.total_row(page_texts(blue.l10n_cn_einv_pdf_id.raw)),
                         ["贰仟贰佰陆拾圆整", "（小写）¥2260.00"])
        credit = self.credit_note(blue)
        self.assert_red_issued(credit.l10n_cn_einv_credit_form_ids, credit)
        red = page_texts(credit.l10n_cn_einv_pdf_id.raw)
        self.assertEqual(self.total_row(red), ["（负数）贰仟贰佰陆拾圆整", "（小写）¥-2260.00"])

    def test_the_red_mark_does_not_cover_the_invoice_number(self):
        credit = self.credit_note(self.issue_as("zh_CN"))
        self.assert_red_issued(credit.l10n_cn_einv_credit_form_ids, credit)
        texts = page_texts(credit.l10n_cn_einv_pdf_id.raw)
        mark, number = find_text(texts, "红字"), find_text(texts, f"发票号码：{credit.l10n_cn_einv_number}")
        self.assertFalse(mark.overlaps(number), f"红字 {mark.box} overlaps 发票号码 {number.box}")

    def test_the_unit_is_the_chinese_name_of_the_unit_of_measure_whatever_the_language(self):
        lines = [(self.product_printer, 2, 1000.0), (self.product_service, 1, 300.0)]
        self.assertEqual(self.product_service.uom_id, self.env.ref("uom.product_uom_unit"))
        for lang in ("en_US", "zh_CN"):
            with self.subTest(lang=lang):
                move = self.issue_as(lang, lines)
                self.assertEqual([line.unit for line in move._l10n_cn_einv_document().lines], ["台", ""])
                texts = page_texts(move.l10n_cn_einv_pdf_id.raw)
                self.assertEqual(column_of(texts, "单位"), ["台"], "Units prints blank, the Set as 台")
                self.assertFalse([placed.text for placed in texts if "Unit" in placed.text or "Set" in placed.text])
                self.assertEqual([placed.text for placed in texts if "单位" in placed.text], ["单位"],
                                 "单位 is the column's title only")

    def test_a_unit_without_a_translation_prints_its_name_and_no_unit_prints_blank(self):
        box = self.env["uom.uom"].create({"name": "托盘", "category_id": self.uom_set.category_id.id,
                                          "uom_type": "bigger", "factor_inv": 1.0})
        self.product_printer.write({"uom_id": box.id, "uom_po_id": box.id})
        move = self.make_invoice([(self.product_printer, 1, 1000.0)], post=False)
        move.invoice_line_ids.write({"product_uom_id": box.id})
        self.assertEqual(move._l10n_cn_einv_document().lines[0].unit, "托盘")
        move.invoice_line_ids.write({"product_uom_id": False})
        self.assertEqual(move._l10n_cn_einv_document().lines[0].unit, "")
