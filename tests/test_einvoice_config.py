from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models import l10n_cn_einv_platform as platform
from .common import L10nCnEinvCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestEinvoiceConfig(L10nCnEinvCase):

    def test_fresh_company_works_on_the_embedded_sandbox_without_set_up(self):
        company = self.env["res.company"].create({
            "name": "新开业有限公司", "country_id": self.env.ref("base.cn").id,
            "currency_id": self.env.ref("base.CNY").id})
        self.assertEqual(company.l10n_cn_einv_environment, "sandbox")
        self.assertFalse(company.l10n_cn_einv_endpoint)
        credentials = platform.tooling_credentials(company)
        self.assertTrue(credentials["app_secret"] and credentials["sm4_key"])
        action = company.action_l10n_cn_einv_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("remaining", action["params"]["message"])
        log = self.env["l10n_cn_einv.log"].search([("company_id", "=", company.id)])
        self.assertEqual(log.mapped("service"), ["quota.query"])
        self.assertTrue(log.succeeded)

    def test_every_company_gets_its_own_credentials(self):
        first, second = self.env["res.company"].create([{"name": "甲公司"}, {"name": "乙公司"}])
        first._l10n_cn_einv_generate_credentials()
        second._l10n_cn_einv_generate_credentials()
        self.assertNotEqual(first.l10n_cn_einv_app_id, second.l10n_cn_einv_app_id)
        first, second = platform.tooling_credentials(first), platform.tooling_credentials(second)
        self.assertNotEqual(first["app_secret"], second["app_secret"])
        self.assertNotEqual(first["sm4_key"], second["sm4_key"])

    def test_settings_secrets_are_write_only(self):
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        self.assertFalse(settings.l10n_cn_einv_app_secret_input)
        self.assertIn("App Secret ✓", settings.l10n_cn_einv_secrets_status)
        settings.l10n_cn_einv_sm4_key_input = "00112233445566778899aabbccddeeff"
        settings.execute()
        self.assertEqual(platform.tooling_credentials(self.company)["sm4_key"], "00112233445566778899aabbccddeeff")
        self.assertFalse(self.env["res.config.settings"].with_company(self.company).create({})
                         .l10n_cn_einv_sm4_key_input)

    def test_sandbox_secrets_do_not_count_in_production(self):
        """Going live: the secrets generated for the sandbox show as not set in production, and the
        platform is not called with them; the production ones entered then count."""
        company = self.company.sudo()
        self.assertTrue(company.l10n_cn_einv_app_secret_set)
        company.write({"l10n_cn_einv_environment": "production", "l10n_cn_einv_endpoint": "https://fapiao.example.cn"})
        self.assertFalse(company.l10n_cn_einv_app_secret_set)
        self.assertFalse(company.l10n_cn_einv_sm4_key_set)
        settings = self.env["res.config.settings"].with_company(self.company).create({})
        self.assertIn("App Secret ✗", settings.l10n_cn_einv_secrets_status)
        self.assertIn("App Secret", ", ".join(platform.missing_settings(company)))
        with self.assertRaisesRegex(UserError, "missing"):
            self.make_invoice().action_l10n_cn_einv_issue()
        company.write({"l10n_cn_einv_app_secret": "production-secret-0123456789",
                       "l10n_cn_einv_sm4_key": "00112233445566778899aabbccddeeff"})
        self.assertTrue(company.l10n_cn_einv_app_secret_set)
        self.assertFalse(platform.missing_settings(company))
        self.assertEqual(platform.tooling_credentials(company)["app_secret"], "production-secret-0123456789")
        # back in the sandbox, the production secrets are not the sandbox's either
        company.l10n_cn_einv_environment = "sandbox"
        self.assertFalse(company.l10n_cn_einv_app_secret_set)

    def test_retry_schedule_is_checked(self):
        with self.assertRaisesRegex(Exception, "whole numbers of seconds"):
            self.company.l10n_cn_einv_retry_schedule = "10, soon, 60"
        self.company.l10n_cn_einv_retry_schedule = "5,15"
        self.assertEqual(self.company._l10n_cn_einv_retry_waits(), [5, 15])

    def test_catalogue_sync_from_the_platform_is_incremental(self):
        codes = self.env["l10n_cn_einv.tax.code"]
        codes._l10n_cn_einv_sync_from_platform(self.company)
        since = codes._l10n_cn_einv_catalogue_since()
        self.assertGreater(since, 0)
        changed = codes.search([("code", "=", "3040201990000000000")])._l10n_cn_einv_entry()
        changed.short_name = "其他软件服务"
        added = codes.search([("code", "=", "3040201010000000000")])._l10n_cn_einv_entry()
        added.code, added.name, added.keywords = "3040201980000000000", "数据标注服务", "数据标注"
        self.sandbox.upsert_catalogue([changed, added])
        counts = codes._l10n_cn_einv_sync_from_platform(self.company)
        self.assertEqual((counts["created"], counts["updated"]), (1, 1))
        self.assertEqual(codes.search([("code", "=", "3040201990000000000")]).short_name, "其他软件服务")
        new = codes.search([("code", "=", "3040201980000000000")])
        self.assertEqual(new.parent_id.code, "3040201000000000000")
        self.assertEqual(codes._l10n_cn_einv_catalogue().get("3040201980000000000").name, "数据标注服务")

    def test_catalogue_cron_waits_out_a_busy_platform(self):
        """A passing failure leaves the table as it is and tries again in an hour, without failing
        the cron (a traceback in the server log, and a failure Odoo counts towards deactivating it)."""
        codes = self.env["l10n_cn_einv.tax.code"]
        self.company.sequence = -1     # the cron asks the first Chinese company's platform
        self.set_faults(busy=1.0, retry_after=0)
        cron = self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_sync_catalogue")
        since = codes._l10n_cn_einv_catalogue_since()
        with self.assertLogs("odoo.addons.l10n_cn_einvoice.models.tax_code", "WARNING") as logged:
            codes._l10n_cn_einv_cron_sync_catalogue()
        self.assertIn("not synchronised this time", logged.output[0])
        self.assertEqual(codes._l10n_cn_einv_catalogue_since(), since, "nothing applied")
        trigger = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)], order="id desc", limit=1)
        self.assertGreater(trigger.call_at, fields.Datetime.now() + timedelta(minutes=59))

    def test_companies_see_only_their_own_e_invoices_and_logs(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        other = self.setup_other_company(name="杭州分店")["company"]
        self._connect_company(other, "91330100MA27XF6T0L")
        user = self.env["res.users"].create({
            "name": "Hangzhou accountant", "login": "hz_accountant", "email": "hz@seller.example.cn",
            "company_id": other.id, "company_ids": [Command.set(other.ids)],
            "groups_id": [Command.set([self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager").id,
                                       self.env.ref("account.group_account_manager").id])],
        })
        self.assertFalse(self.env["l10n_cn_einv.log"].with_user(user).search([]))
        self.assertFalse(self.env["account.move"].with_user(user).search([("l10n_cn_einv_state", "=", "issued")]))
        with self.assertRaises(AccessError):
            move.with_user(user).read(["l10n_cn_einv_number"])
        # and the other company's queue run leaves this company's invoices alone
        queued = self.make_invoice()
        queued._l10n_cn_einv_enqueue()
        self.assertEqual(self.env["account.move"]._l10n_cn_einv_cron_process_queue(company_ids=other.ids), 0)
        self.assertEqual(queued.l10n_cn_einv_state, "to_issue")

    def test_log_lines_cannot_be_changed_or_deleted_within_five_years(self):
        self.company.action_l10n_cn_einv_test_connection()
        line = self.env["l10n_cn_einv.log"].search([("company_id", "=", self.company.id)], limit=1)
        self.assertTrue(line)
        self.assertEqual(line.retention_until.year, line.create_date.year + 5)
        # even the superuser, past access rights, meets the audit and retention rules
        with self.assertRaisesRegex(UserError, "audit record"):
            line.sudo().write({"code": "0000"})
        with self.assertRaisesRegex(UserError, "5 years"):
            line.sudo().unlink()
        with self.assertRaisesRegex(UserError, "audit record"):
            line.write({"code": "0000"})
        with self.assertRaises(AccessError):  # an e-invoice manager has no delete right at all
            line.unlink()
        user = self.env["res.users"].create({
            "name": "E-invoice user", "login": "einv_user_log", "company_id": self.company.id,
            "company_ids": [Command.set(self.company.ids)],
            "groups_id": [Command.set([self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_user").id])],
        })
        for refused in (lambda: line.with_user(user).write({"code": "0000"}), line.with_user(user).unlink):
            with self.assertRaises(UserError):  # AccessError is a UserError too
                refused()
