from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user, tagged

from ..models.l10n_cn_einv_guard import flow
from .common import L10nCnEinvCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestDashboard(L10nCnEinvCase):
    """Monitoring figures, the analysis view and alerts, against known data.

    Invoices are put straight into e-invoice states with known times (as the
    issuing flow would leave them); every test's records are rolled back, so
    the company holds exactly what the test made."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_2 = cls.setup_other_company(name="分店 Branch Store")["company"]
        cls._connect_company(cls.company_2, "91330100MA27XF6T0L")
        cls.manager = new_test_user(
            cls.env, login="einv_monitor_manager", name="E-Invoice Manager", email="manager@seller.example.cn",
            groups="base.group_user,l10n_cn_einvoice.group_l10n_cn_einv_manager",
            company_id=cls.company.id, company_ids=[Command.set(cls.company.ids)])
        cls.user_2 = new_test_user(
            cls.env, login="einv_branch_user", name="Branch Accountant",
            groups="base.group_user,account.group_account_invoice,l10n_cn_einvoice.group_l10n_cn_einv_user",
            company_id=cls.company_2.id, company_ids=[Command.set(cls.company_2.ids)])

    def setUp(self):
        super().setUp()
        self.now = fields.Datetime.now().replace(microsecond=0)
        self.both = self.env(context=dict(self.env.context, allowed_company_ids=[self.company.id, self.company_2.id]))

    def einvoice(self, state, submitted_ago=None, issued_ago=None, company=None, lines=None):
        """An invoice left in ``state``, first submitted and issued the given seconds before now."""
        if company and company != self.company:
            move = self.env["account.move"].with_company(company).create({
                "move_type": "out_invoice", "partner_id": self.buyer.id, "company_id": company.id,
                "invoice_date": fields.Date.today(),
                "invoice_line_ids": [Command.create({"name": "服务费", "quantity": 1, "price_unit": 100.0,
                                                     "tax_ids": []})],
            })
            move.action_post()
        else:
            move = self.make_invoice(lines=lines)
        vals = {"l10n_cn_einv_state": state}
        if submitted_ago is not None:
            vals["l10n_cn_einv_submitted_at"] = self.now - timedelta(seconds=submitted_ago)
        if issued_ago is not None:
            vals["l10n_cn_einv_issue_time"] = self.now - timedelta(seconds=issued_ago)
            vals["l10n_cn_einv_number"] = f"2644{move.id:016d}"
        with flow():    # set-up: as the flow would have left it
            move.write(vals)
        return move

    def figures(self, companies=None):
        Dashboard = self.env["l10n_cn_einv.dashboard"]
        return Dashboard._l10n_cn_einv_figures((companies or self.company).ids, now=self.now)

    # --- figures ---------------------------------------------------------------------------------------

    def test_issue_times_and_exception_rate(self):
        # 3 issued now, 60 s, 120 s and 600 s after their submission; 1 failed: 1 of 4 submitted failed.
        for seconds in (60, 120, 600):
            self.einvoice("issued", submitted_ago=seconds, issued_ago=0)
        self.einvoice("failed", submitted_ago=300)
        self.einvoice("issued", submitted_ago=40 * 86400, issued_ago=40 * 86400 - 5)  # outside 30 days
        self.einvoice("not_needed")
        total = self.figures()[self.company.id]
        self.assertEqual(total["issued_today"], 3)
        self.assertEqual(total["failed_count"], 1)
        self.assertEqual(total["pending_count"], 0)
        self.assertEqual((total["submitted_30d"], total["failed_30d"]), (4, 1))
        self.assertEqual(total["exception_rate"], 25.0)
        self.assertEqual(total["issue_median_seconds"], 120.0)
        # percentile_cont: 120 + 0.9 * (600 - 120), interpolated at rank 0.95 * (3 - 1) = 1.9.
        self.assertAlmostEqual(total["issue_p95_seconds"], 552.0, places=6)
        self.assertIsNone(total["sync_lag_seconds"])

        dashboard = self.env["l10n_cn_einv.dashboard"].create({"company_id": self.company.id})
        self.assertEqual((dashboard.issued_today, dashboard.failed_count, dashboard.exception_rate), (3, 1, 25.0))
        self.assertEqual(dashboard.issue_median_display, "2 min 00 s")
        self.assertEqual(dashboard.issue_p95_display, "9 min 12 s")
        self.assertEqual(dashboard.sync_lag_display, "nothing pending")
        self.assertGreaterEqual(dashboard.issued_month, 3)

    def test_pending_backlog_and_sync_lag(self):
        self.einvoice("pending", submitted_ago=3600)
        self.einvoice("submitting", submitted_ago=600)
        self.einvoice("to_issue")
        self.einvoice("failed", submitted_ago=40 * 86400)     # failed long ago: not in the 30-day rate
        total = self.figures()[self.company.id]
        self.assertEqual(total["pending_count"], 3)
        self.assertEqual(total["sync_lag_seconds"], 3600.0)
        self.assertEqual(total["oldest_pending_at"], self.now - timedelta(seconds=3600))
        self.assertEqual((total["submitted_30d"], total["failed_30d"], total["exception_rate"]), (2, 0, 0.0))
        self.assertIsNone(total["issue_median_seconds"])
        dashboard = self.env["l10n_cn_einv.dashboard"].create({"company_id": self.company.id})
        self.assertEqual(dashboard.pending_count, 3)
        self.assertAlmostEqual(dashboard.sync_lag_seconds, 3600, delta=120)
        self.assertEqual(dashboard.action_open_pending()["domain"][-1],
                         ("l10n_cn_einv_state", "in", ("to_issue", "submitting", "pending")))

    def test_days_are_china_days(self):
        from ..fapiao.chinatime import china_midnight_utc, china_month_start_utc

        # 2026-11-20 17:30 UTC is 2026-11-21 01:30 in China.
        moment = fields.Datetime.to_datetime("2026-11-20 17:30:00")
        self.assertEqual(china_midnight_utc(moment), fields.Datetime.to_datetime("2026-11-20 16:00:00"))
        self.assertEqual(china_month_start_utc(moment, months=1), fields.Datetime.to_datetime("2026-11-30 16:00:00"))

    # --- credit quota ----------------------------------------------------------------------------------

    def test_quota_from_platform_and_unavailable(self):
        app_id = self.company.sudo().l10n_cn_einv_app_id
        self.sandbox.add_app(app_id, quota="500000")
        before = self.env["l10n_cn_einv.dashboard"].create({"company_id": self.company.id})
        self.assertEqual(before.quota_state, "available")
        self.assertEqual(before.quota_total, 500000.0)
        used_before = before.quota_used
        self.make_invoice().action_l10n_cn_einv_issue()        # 2 x 1000.00 excl. tax
        after = self.env["l10n_cn_einv.dashboard"].create({"company_id": self.company.id})
        self.assertEqual(after.quota_used - used_before, 2000.0)
        self.assertEqual(after.quota_remaining, 500000.0 - after.quota_used)
        self.assertTrue(self.env["l10n_cn_einv.log"].search(
            [("company_id", "=", self.company.id), ("service", "=", "quota.query")]))

        self.set_faults(busy=1.0)
        down = self.env["l10n_cn_einv.dashboard"].create({"company_id": self.company.id})
        self.assertEqual(down.quota_state, "unavailable")
        self.assertIn(self.company.name, down.quota_message)
        self.assertEqual(down.issued_today, after.issued_today, "the other figures do not need the platform")

    # --- head office and companies ----------------------------------------------------------------------

    def test_head_office_and_company_isolation(self):
        self.einvoice("issued", submitted_ago=30, issued_ago=0)
        self.einvoice("failed", submitted_ago=30, company=self.company_2)
        self.einvoice("issued", submitted_ago=90, issued_ago=0, company=self.company_2)

        head_office = self.both["l10n_cn_einv.dashboard"].create({})
        self.assertEqual((head_office.issued_today, head_office.failed_count), (2, 1))
        self.assertEqual(head_office.exception_rate, 33.33)
        self.assertEqual(head_office.issue_median_seconds, 60.0)
        self.assertIn(self.company.name, head_office.company_table)
        self.assertIn("分店 Branch Store", head_office.company_table)

        branch_view = self.env["l10n_cn_einv.dashboard"].with_user(self.user_2).create({})
        self.assertEqual((branch_view.issued_today, branch_view.failed_count), (1, 1))
        self.assertFalse(branch_view.company_table, "one company: no per-company table")
        # Choosing the first company changes nothing: only the user's companies are counted.
        self.assertEqual(branch_view._scope(), self.company_2)

        rows = self.env["l10n_cn_einv.report"].with_user(self.user_2).search([])
        self.assertEqual(rows.company_id, self.company_2)
        self.assertEqual(len(rows.move_id), 2)

    # --- the analysis view -------------------------------------------------------------------------------

    def test_analysis_one_row_per_line_invoice_measures_once(self):
        move = self.einvoice("issued", submitted_ago=100, issued_ago=0, lines=[
            (self.product_printer, 2, 1000.0), (self.product_service, 1, 300.0)])
        self.einvoice("failed", submitted_ago=50)
        rows = self.env["l10n_cn_einv.report"].search([("company_id", "=", self.company.id)])
        self.assertEqual(len(rows), 3)
        lines = rows.filtered(lambda r: r.move_id == move)
        self.assertEqual(sorted(lines.mapped("amount_untaxed")), [300.0, 2000.0])
        self.assertEqual(sorted(lines.mapped("amount_total")), [318.0, 2260.0])
        self.assertEqual(lines.tax_code_id, self.code_printer | self.code_service)
        self.assertEqual(sum(lines.mapped("invoice_count")), 1)

        groups = self.env["l10n_cn_einv.report"]._read_group(
            [("company_id", "=", self.company.id)], ["state"],
            ["invoice_count:sum", "failed_count:sum", "issue_seconds:avg", "amount_total:sum"])
        by_state = {state: rest for state, *rest in groups}
        self.assertEqual(by_state["issued"], [1, 0, 100.0, 2578.0])
        self.assertEqual(by_state["failed"][:2], [1, 1])

        by_code = dict(self.env["l10n_cn_einv.report"]._read_group(
            [("company_id", "=", self.company.id), ("move_id", "=", move.id)], ["tax_code_id"],
            ["amount_untaxed:sum"]))
        self.assertEqual(by_code[self.code_service], 300.0)
        action = self.env["l10n_cn_einv.dashboard"].create({}).action_open_by_tax_code()
        self.assertEqual(action["context"]["graph_groupbys"], ["tax_code_id"])

    # --- alerts ---------------------------------------------------------------------------------------------

    def alerts(self):
        return self.env["mail.activity"].search([
            ("res_model", "=", "res.partner"), ("res_id", "=", self.company.partner_id.id)])

    def alert_mails(self):
        return self.env["mail.mail"].search([("subject", "like", f"[{self.company.name}]")])

    def run_alert_cron(self):
        return self.env["res.company"]._l10n_cn_einv_cron_check_alerts()

    def test_alerts_once_a_day_per_condition(self):
        self.company.write({"l10n_cn_einv_alert_failure_rate": 20.0, "l10n_cn_einv_alert_backlog": 2,
                            "l10n_cn_einv_alert_quota": 0.0})
        for seconds in (60, 120, 600):
            self.einvoice("issued", submitted_ago=seconds, issued_ago=0)
        self.einvoice("failed", submitted_ago=30)
        self.einvoice("pending", submitted_ago=30)                  # 1 of 5 failed: 20 %

        self.assertEqual(self.run_alert_cron(), 1)
        activities = self.alerts()
        self.assertIn(self.manager, activities.user_id)
        self.assertTrue(all("failure rate" in summary for summary in activities.mapped("summary")))
        mails = self.alert_mails()
        self.assertEqual(len(mails), 1)
        self.assertIn(self.manager.partner_id, mails.recipient_ids)
        self.assertIn("1 of the 5 e-invoices", mails.body_html)

        # The cron runs every 15 minutes: nothing more today for the same condition...
        self.assertEqual(self.run_alert_cron(), 0)
        self.assertEqual(self.alerts(), activities)
        self.assertEqual(len(self.alert_mails()), 1)

        # ... but a new condition is alerted at once.
        self.einvoice("to_issue")
        self.assertEqual(self.run_alert_cron(), 1)
        backlog = self.alerts() - activities
        self.assertTrue(backlog)
        self.assertTrue(all("2 e-invoices pending" in summary for summary in backlog.mapped("summary")))
        self.assertEqual(len(self.alert_mails()), 2)

        # The next day, still passed: alerted again, once.
        yesterday = (fields.Date.from_string(self.company.l10n_cn_einv_alerts_sent["failure_rate"])
                     - timedelta(days=1)).isoformat()
        self.company.l10n_cn_einv_alerts_sent = {"failure_rate": yesterday, "backlog": yesterday}
        self.assertEqual(self.run_alert_cron(), 2)
        self.assertEqual(self.run_alert_cron(), 0)
        self.assertEqual(len(self.alert_mails()), 4)

    def test_no_alert_below_thresholds(self):
        self.company.write({"l10n_cn_einv_alert_failure_rate": 30.0, "l10n_cn_einv_alert_backlog": 5,
                            "l10n_cn_einv_alert_quota": 0.0})
        for seconds in (60, 120, 600):
            self.einvoice("issued", submitted_ago=seconds, issued_ago=0)
        self.einvoice("failed", submitted_ago=30)                   # 25 % < 30 %
        self.assertEqual(self.run_alert_cron(), 0)
        self.assertFalse(self.alerts())
        self.assertFalse(self.alert_mails())

    def test_quota_alert_and_platform_down(self):
        self.company.write({"l10n_cn_einv_alert_failure_rate": 0.0, "l10n_cn_einv_alert_backlog": 0})
        self.sandbox.add_app(self.company.sudo().l10n_cn_einv_app_id, quota="1000")
        self.company.l10n_cn_einv_alert_quota = 5000.0
        self.set_faults(busy=1.0)
        self.assertEqual(self.run_alert_cron(), 0, "no answer from the platform: no alert, no error")
        self.set_faults(busy=0.0)
        self.assertEqual(self.run_alert_cron(), 1)
        self.assertTrue(self.alerts())
        self.assertTrue(all("credit quota low" in summary for summary in self.alerts().mapped("summary")))
        self.assertEqual(self.run_alert_cron(), 0)
