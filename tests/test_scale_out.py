"""Issue 16: the queue's lanes (several cron workers sending at once) and its throughput settings."""

import time
from unittest.mock import patch

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import tagged

from ..models import account_move
from ..models.account_move import MAX_QUEUE_LANES
from .common import L10nCnEinvCase
from .test_einvoice_concurrency import CommittedQueueCase

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

    def test_files_wait_while_the_company_issues_except_those_a_person_awaits(self):
        """Downloads are requests within the platform's rate: issuing goes first, but the invoice a
        person just clicked still gets its PDF; the rest once the queue is empty."""
        clicked = self.env["account.move"]
        for _ in range(2):
            move = self.make_invoice()
            move.action_l10n_cn_einv_issue()
            clicked |= move
        self.assertEqual(clicked.mapped("l10n_cn_einv_files_awaited"), [True, True])
        bulk = self.make_invoice()
        bulk._l10n_cn_einv_enqueue()
        self.run_queue()
        self.assertEqual((bulk.l10n_cn_einv_state, bulk.l10n_cn_einv_files_awaited), ("issued", False))
        queued = self.make_invoice()
        queued._l10n_cn_einv_enqueue()
        files_cron = self.env["account.move"]._l10n_cn_einv_cron_fetch_missing_documents
        with patch.object(account_move, "FILES_WHILE_ISSUING", 1):
            files_cron(company_ids=self.company.ids)
            self.assertEqual((clicked | bulk).filtered("l10n_cn_einv_pdf_id"), clicked[-1],
                             "while the queue is busy: the newest invoice a person waits for, no other")
            self.assertEqual(clicked.mapped("l10n_cn_einv_files_awaited"), [True, False])
            self.run_queue()
            self.assertEqual(queued.l10n_cn_einv_state, "issued")
            files_cron(company_ids=self.company.ids)
        everything = clicked | bulk | queued
        self.assertTrue(all(everything.mapped("l10n_cn_einv_pdf_id")), "all of them once the queue is empty")
        self.assertFalse(any(everything.mapped("l10n_cn_einv_files_awaited")))

    def test_a_file_that_never_downloads_does_not_hold_back_newer_ones(self):
        lost = self.make_invoice()
        lost.action_l10n_cn_einv_issue()
        # its platform no longer has it (another account, a platform reset): the download fails each time
        lost._l10n_cn_einv_write({"l10n_cn_einv_number": "26350000000099999999", "l10n_cn_einv_files_awaited": False})
        newer = self.make_invoice()
        newer.action_l10n_cn_einv_issue()
        newer._l10n_cn_einv_write({"l10n_cn_einv_files_awaited": False})    # a bulk issue's, say
        fetched = self.env["account.move"]._l10n_cn_einv_cron_fetch_missing_documents(
            limit=1, company_ids=self.company.ids)
        self.assertEqual(fetched, newer, "the newest first")
        self.assertTrue(newer.l10n_cn_einv_pdf_id)
        self.assertFalse(lost.l10n_cn_einv_pdf_id)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestLaneRetries(CommittedQueueCase):
    """A lane run by Odoo's scheduler and the retries due soon after its last batch."""

    def _lane_run(self, company_id, **context):
        """One run of the queue on its own connection, committing as a cron does -> (processed, seconds)."""
        with self.env.registry.cursor() as cr:
            cr.transaction = api.Transaction(self.env.registry)
            env = api.Environment(cr, SUPERUSER_ID, {"l10n_cn_einv_commit": True, **context})
            began = time.monotonic()
            processed = env["account.move"]._l10n_cn_einv_cron_process_queue(company_ids=[company_id], time_budget=10)
            return processed, time.monotonic() - began

    def _retry_in(self, move_ids, seconds):
        with self.env.registry.cursor() as cr:
            cr.execute("UPDATE account_move SET l10n_cn_einv_next_attempt = NOW() AT TIME ZONE 'UTC' "
                       "+ make_interval(secs => %s) WHERE id IN %s", [seconds, tuple(move_ids)])

    def _state(self, move_ids):
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT l10n_cn_einv_state FROM account_move WHERE id IN %s", [tuple(move_ids)])
            return {row[0] for row in cr.fetchall()}

    def test_a_lane_waits_for_a_retry_due_within_its_time_budget(self):
        lane = self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_process_queue")
        company_id, move_ids, _account = self._committed_queue(count=1)
        self._retry_in(move_ids, 3)
        # called outside the scheduler (a batch action, a test), it does not wait
        self.assertEqual(self._lane_run(company_id)[0], 0)
        self.assertEqual(self._state(move_ids), {"to_issue"})
        # a cron worker would not run the lane again before its next wake-up, up to 69 s later
        processed, seconds = self._lane_run(company_id, cron_id=lane.id)
        self.assertEqual(processed, 1)
        self.assertGreater(seconds, 1.5, "it waited for the retry")
        self.assertEqual(self._state(move_ids), {"issued"})
        # due after the run's time budget: left to the next run
        company_id, move_ids, _account = self._committed_queue(count=1)
        self._retry_in(move_ids, 30)
        processed, seconds = self._lane_run(company_id, cron_id=lane.id)
        self.assertEqual((processed, self._state(move_ids)), (0, {"to_issue"}))
        self.assertLess(seconds, 5)
