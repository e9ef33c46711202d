"""Issue 16: the queue's lanes (several cron workers sending at once) and its throughput settings."""

from odoo.exceptions import UserError
from odoo.tests import tagged

from ..models.account_move import MAX_QUEUE_LANES
from .common import L10nCnEinvCase

QUEUE_CODE = "model._l10n_cn_einv_cron_process_queue()"


@tagged("post_install", "-at_install", "post_install_l10n")
class TestQueueLanes(L10nCnEinvCase):

    def set_lanes(self, lanes):
        self.env["res.config.settings"].create({"l10n_cn_einv_queue_lanes": lanes}).execute()
        return self.env["account.move"]._l10n_cn_einv_queue_crons()

    def test_lanes_follow_the_setting_and_run_the_queue(self):
        crons = self.set_lanes(3)
        self.assertEqual(len(crons), 3)
        self.assertEqual(set(crons.mapped("code")), {QUEUE_CODE})
        self.assertTrue(all(crons.mapped("active")))
        self.assertEqual(len(set(crons.mapped("name"))), 3, "each lane is told apart in the scheduled actions")
        chinese = crons.with_context(lang="zh_CN").mapped("name") if self.env["res.lang"]._lang_get("zh_CN") else []
        self.assertEqual(len(set(chinese)), len(chinese))
        # every lane is asked to run when work is queued
        before = self.env["ir.cron.trigger"].search_count([("cron_id", "in", crons.ids)])
        self.env["account.move"]._l10n_cn_einv_trigger_queue()
        self.assertEqual(self.env["ir.cron.trigger"].search_count([("cron_id", "in", crons.ids)]), before + 3)
        # fewer lanes: the extra scheduled actions go, the one in the data stays
        crons = self.set_lanes(1)
        self.assertEqual(crons, self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_process_queue"))
        self.assertEqual(self.env["ir.cron"].search_count([("code", "=", QUEUE_CODE)]), 1)

    def test_a_lane_issues_like_the_main_action(self):
        lane = self.set_lanes(2) - self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_process_queue")
        moves = self.make_invoice() | self.make_invoice()
        moves._l10n_cn_einv_enqueue()
        lane.method_direct_trigger()
        self.assertEqual(set(moves.mapped("l10n_cn_einv_state")), {"issued"})
        self.assertEqual(self.issued_on_platform(), 2)

    def test_lanes_and_requests_in_flight_out_of_range_are_refused(self):
        for lanes in (0, MAX_QUEUE_LANES + 1):
            with self.assertRaisesRegex(UserError, "Sending lanes must be between 1 and 16"):
                self.env["res.config.settings"].create({"l10n_cn_einv_queue_lanes": lanes})
        with self.assertRaisesRegex(UserError, "Requests in flight must be between 1 and 32"):
            self.company.l10n_cn_einv_parallel_requests = 33
        self.company.l10n_cn_einv_parallel_requests = 0
        self.assertEqual(self.company._l10n_cn_einv_parallel_requests(),
                         self.company._l10n_cn_einv_capabilities().parallel_requests, "empty: the platform's default")
