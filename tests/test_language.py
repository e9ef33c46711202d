"""What a Chinese accountant reads is Chinese only, what an English one reads is English only:
the problems of an invoice (all of them at once), the error field, the chatter and activity
notes the crons write as OdooBot, and the platform's connection errors."""

import re

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..models import l10n_cn_einv_platform as platform
from .common import L10nCnEinvCase

# an English sentence: two English words of three letters or more in a row
ENGLISH = re.compile(r"[A-Za-z]{3,}[ ,]+[A-Za-z]{3,}")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestEinvoiceLanguage(L10nCnEinvCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)

    def chinese_company(self):
        self.company.partner_id.lang = "zh_CN"

    def assert_chinese_only(self, text):
        self.assertTrue(text and CHINESE.search(text), f"no Chinese in {text!r}")
        self.assertNotRegex(text, ENGLISH, "no English sentence next to the Chinese one")

    def assert_english_only(self, text):
        self.assertTrue(text, "empty")
        self.assertNotRegex(text, r"[\u4e00-\u9fff]{2,}[，。；：]", f"no Chinese sentence in {text!r}")

    def faulty_invoice(self):
        """A 专票 without the buyer's taxpayer id, a line without code and a line whose rate does
        not fit its code: problems of the buyer, of two lines, and of a rate."""
        nameless = self._create_product(name="无编码商品", lst_price=10.0, taxes_id=[Command.set(self.tax_13.ids)])
        wrong_rate = self._create_product(name="打印机九", lst_price=10.0, taxes_id=[Command.set(
            self._percent_tax(9.0, self.company).ids)], l10n_cn_einv_tax_code_id=self.code_printer.id)
        move = self.make_invoice(lines=[(wrong_rate, 1, 10.0), (nameless, 1, 10.0)])
        move.l10n_cn_einv_invoice_type = "01"
        move.l10n_cn_einv_buyer_tax_id = False
        return move

    def unreachable(self):
        """The company's platform address points where nothing answers."""
        self.company.write({platform.setting_field(self.provider_spec, setting): "http://127.0.0.1:9"
                            for setting in self.provider_spec.settings
                            if setting.name in self.simulator.service_settings()})

    # --- every problem at once, in one language ----------------------------------------------

    def test_the_issue_button_lists_every_problem_in_chinese_only(self):
        self.chinese_company()
        move = self.faulty_invoice()
        with self.assertRaises(UserError) as caught:
            move.with_context(lang="zh_CN").action_l10n_cn_einv_issue()
        message = str(caught.exception)
        self.assertIn("购买方纳税人识别号", message)          # the buyer ...
        self.assertIn("第 1 行（打印机九）", message)           # ... the rate of line 1 ...
        self.assertIn("9%", message)
        self.assertIn("第 2 行（无编码商品）", message)          # ... and the code of line 2, at once
        for key in ("taxId", "taxRate", "buyer.", "lines["):
            self.assertNotIn(key, message)
        for line in message.splitlines()[1:]:
            if line.strip() and line.strip() != f"{move.name}:":
                self.assert_chinese_only(line)

    def test_an_english_user_reads_every_problem_in_english_only(self):
        move = self.faulty_invoice()
        with self.assertRaises(UserError) as caught:
            move.with_context(lang="en_US").action_l10n_cn_einv_issue()
        message = str(caught.exception)
        self.assertIn("buyer taxpayer id", message)
        self.assertIn("Line 1 (打印机九) tax rate 9%", message)
        self.assertIn("Line 2 (无编码商品)", message)
        self.assert_english_only(message)

    def test_automatic_issue_fails_with_every_problem_in_the_companys_language(self):
        """A payment processed by a cron (OdooBot, no language): the error field and the managers'
        activity are in the company's language."""
        self.chinese_company()
        self.company.l10n_cn_einv_auto_issue = True
        self.company.l10n_cn_einv_rollout_percent = 100
        move = self.faulty_invoice()
        self.assertFalse(self.env.context.get("lang"))
        move._l10n_cn_einv_auto_enqueue()
        self.assertEqual(move.l10n_cn_einv_state, "failed")
        self.assertIn("购买方纳税人识别号", move.l10n_cn_einv_error)
        self.assertIn("第 2 行（无编码商品）", move.l10n_cn_einv_error)
        for line in move.l10n_cn_einv_error.splitlines():
            self.assert_chinese_only(line)
        activity = move.activity_ids[:1]
        self.assert_chinese_only(activity.summary)
        self.assert_chinese_only(re.sub(r"<[^>]+>", "", str(activity.note)))

    # --- the crons write in the company's language ---------------------------------------------

    def test_the_cron_writes_chatter_in_the_companys_language(self):
        self.chinese_company()
        self.set_faults(busy=1.0, retry_after=0)
        move = self.make_invoice()
        move.with_context(lang="zh_CN").action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "to_issue")
        self.assert_chinese_only(move.l10n_cn_einv_error)
        self.simulator.set_faults(self.account())
        self.make_due(move)
        self.assertFalse(self.env.context.get("lang"), "the cron's environment has no language")
        self.run_queue()
        self.env["account.move"]._l10n_cn_einv_cron_poll_pending(company_ids=self.company.ids)
        self.env["account.move"]._l10n_cn_einv_cron_fetch_missing_documents(company_ids=self.company.ids)
        self.env.cr.precommit.run()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        messages = move.message_ids
        bodies = " ".join(re.sub(r"<[^>]+>", " ", str(m.body)) for m in messages)
        self.assertNotIn("E-invoice files received", bodies)
        self.assertNotIn("issued on the tax platform", bodies)
        self.assertIn("已在税务平台开具", bodies)
        self.assertIn("已收到数电票文件", bodies)
        labels = messages.tracking_value_ids.mapped("new_value_char") + messages.tracking_value_ids.mapped(
            "old_value_char")
        self.assertTrue(labels)
        for label in labels:
            self.assert_chinese_only(label)
            self.assertNotIn(label, ("Submitting", "Issued", "To Issue"))

    def test_the_cron_writes_english_for_an_english_company(self):
        self.set_faults(busy=1.0, retry_after=0)
        move = self.make_invoice()
        move.with_context(lang="en_US").action_l10n_cn_einv_issue()
        self.assert_english_only(move.l10n_cn_einv_error)
        self.simulator.set_faults(self.account())
        self.make_due(move)
        self.run_queue()
        self.env.cr.precommit.run()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        labels = move.message_ids.tracking_value_ids.mapped("new_value_char")
        self.assertIn("Issued", labels)

    # --- the platform out of reach --------------------------------------------------------------

    def test_an_unreachable_platform_reads_as_plain_chinese(self):
        self.chinese_company()
        self.unreachable()
        company = self.company.with_context(lang="zh_CN")
        with self.assertRaises(UserError) as caught:
            company.action_l10n_cn_einv_test_connection()
        self.assertIn("无法连接", str(caught.exception))
        self.assert_chinese_only(str(caught.exception))
        quota, error = company._l10n_cn_einv_quota()
        self.assertIsNone(quota)
        self.assertIn("无法连接", error)
        self.assert_chinese_only(error)
        self.assertNotIn("quota", error)
        dashboard = self.env["l10n_cn_einv.dashboard"].with_context(lang="zh_CN").create({})
        self.assertIn("无法连接", dashboard.quota_message)
        self.assertNotIn("ConnectionError", dashboard.quota_message)
        move = self.make_invoice()
        move.with_context(lang="zh_CN").action_l10n_cn_einv_issue()
        self.assertIn("无法连接", move.l10n_cn_einv_error)
        self.assert_chinese_only(move.l10n_cn_einv_error)

    def test_an_unreachable_platform_reads_as_plain_english(self):
        self.unreachable()
        with self.assertRaises(UserError) as caught:
            self.company.with_context(lang="en_US").action_l10n_cn_einv_test_connection()
        self.assertIn("could not be reached", str(caught.exception))
        self.assert_english_only(str(caught.exception))
