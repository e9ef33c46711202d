"""The same callback delivered several times at once, over real HTTP, each request on its own
database connection: the platform retries, and its retries can overlap.

HttpCase serves every request on the test's one cursor, one at a time, so it cannot show what
concurrent transactions do (and the test run's own HTTP server waits for the registry lock the
runner holds). So the data is committed (CommittedQueueCase) and a real Odoo server, started for
the class on the same database, answers the requests: each in its own thread, cursor and
transaction, as in production.
"""

import logging
import uuid

import requests

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from ..fapiao import protocol
from ..models import l10n_cn_einv_platform as platform
from .test_einvoice_concurrency import ServedQueueCase

_logger = logging.getLogger(__name__)
DELIVERIES = 8
PENDING_SECONDS = 60


@tagged("post_install", "-at_install", "post_install_l10n")
class TestConcurrentCallbacks(ServedQueueCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # callbacks signed and sealed in our protocol's own format: the reference platform itself
        cls.sandbox = cls.simulator.sandbox

    def _pending_company(self):
        """A committed company whose one invoice is pending on the platform, then issued there;
        callbacks enabled. Returns (company id, move id, credentials, the platform's result)."""
        company_id, (move_id,), app_id = self._committed_queue(count=1)
        self.simulator.set_faults(app_id, pending=1.0, pending_seconds=PENDING_SECONDS)
        with self.env.registry.cursor() as cr:
            company = api.Environment(cr, SUPERUSER_ID, {})["res.company"].browse(company_id)
            company.l10n_cn_einv_callback_enabled = True
            credentials = platform.tooling_credentials(company)
        self.assertEqual(self._run_queue(company_id), 1)
        self.assertEqual(self._move_row(move_id)[0], "pending")
        self.simulator.reset(app_id)
        self.simulator.advance_clock(PENDING_SECONDS + 1)
        serial = self._serial(move_id)
        data = next(row for row in self.sandbox.invoices(app_id) if row["serialNo"] == serial)
        self.assertEqual(data["status"], "issued")
        result = {key: value for key, value in data.items()
                  if key not in ("appId", "kind", "sellerTaxId", "useConfirmed")}
        # the files take a while to download: the first delivery is still at work when the others arrive
        self.simulator.set_faults(app_id, slow=1.0, slow_seconds=0.3)
        self.addCleanup(self.simulator.reset, app_id)
        return company_id, move_id, credentials, result

    def _serial(self, move_id):
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT l10n_cn_einv_serial_no FROM account_move WHERE id = %s", [move_id])
            return cr.fetchone()[0]

    def _deliver_together(self, requests_to_send):
        """POST every (path, body, headers) at the same moment, each on its own connection."""
        return self._at_once(lambda path, body, headers: requests.post(
            self.base_url + path, data=body, headers=headers, timeout=120), requests_to_send)

    def test_the_same_event_delivered_at_once_is_applied_once_and_never_fails(self):
        company_id, move_id, credentials, result = self._pending_company()
        path = f"/l10n_cn_einvoice/callback/{company_id}"
        payload = {"eventId": f"evt-{uuid.uuid4().hex}", "event": "invoice.issued",
                   "occurredAt": "2026-11-23T08:00:00+08:00", "data": result}
        sm4_key = bytes.fromhex(credentials["sm4_key"])

        def delivery():   # as the platform sends each attempt: sealed and signed afresh, a nonce of its own
            body = protocol.seal(sm4_key, payload)
            return path, body, protocol.request_headers(credentials["app_id"], credentials["app_secret"], path, body)

        answers = self._deliver_together([delivery() for _attempt in range(DELIVERIES)])
        outcomes = [(answer.status_code, answer.json()["code"], answer.json().get("message", "")) for answer in answers]
        self.assertFalse([outcome for outcome in outcomes if outcome[0] >= 500 and outcome[1] != "9001"], outcomes)
        applied = [outcome for outcome in outcomes if outcome[:2] == (200, "0000") and "already" not in outcome[2]]
        self.assertEqual(len(applied), 1, outcomes)
        for status, code, message in outcomes:
            if (status, code, message) != applied[0]:
                self.assertIn((status, code), [(200, "0000"), (503, "9001")], outcomes)
                self.assertRegex(message, "already processed" if code == "0000" else "being processed")
        self.assertTrue(all(answer.headers.get(protocol.H_SIGNATURE) for answer in answers), "signed answers")
        # the platform delivers the busy ones again: already processed, now
        busy = sum(1 for _status, code, _message in outcomes if code == "9001")
        for answer in self._deliver_together([delivery() for _attempt in range(busy)]) if busy else ():
            self.assertEqual((answer.status_code, answer.json()["code"]), (200, "0000"))
            self.assertIn("already processed", answer.json()["message"])

        state, _uncertain, _leased, number = self._move_row(move_id)
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT l10n_cn_einv_error FROM account_move WHERE id = %s", [move_id])
            error = cr.fetchone()[0]
        self.assertEqual((state, number), ("issued", result["invoiceNumber"]), error)
        self.assertEqual(self._count("SELECT COUNT(*) FROM l10n_cn_einv_callback_event WHERE company_id = %s "
                                     "AND event_id = %s", company_id, payload["eventId"]), 1)
        # every delivery was the platform's: each in the interaction log, the one that applied it with the invoice
        self.assertEqual(self._count("SELECT COUNT(*) FROM l10n_cn_einv_log WHERE company_id = %s "
                                     "AND service = 'callback.invoice.issued'", company_id), DELIVERIES + busy)
        self.assertEqual(self._count("SELECT COUNT(*) FROM l10n_cn_einv_log WHERE company_id = %s AND "
                                     "service = 'callback.invoice.issued' AND move_id = %s", company_id, move_id), 1)

    def test_one_request_replayed_at_once_is_accepted_once(self):
        company_id, _move_id, credentials, _result = self._pending_company()
        path = f"/l10n_cn_einvoice/callback/{company_id}"
        body = protocol.seal(bytes.fromhex(credentials["sm4_key"]), {
            "eventId": f"evt-{uuid.uuid4().hex}", "event": "ping", "data": {}})
        headers = protocol.request_headers(credentials["app_id"], credentials["app_secret"], path, body)
        answers = self._deliver_together([(path, body, headers)] * DELIVERIES)
        outcomes = sorted((answer.status_code, answer.json()["code"]) for answer in answers)
        self.assertEqual(outcomes, [(200, "0000")] + [(401, "2005")] * (DELIVERIES - 1))
        # once more, alone: counts another request could not add without waiting are added by this one
        answer = requests.post(self.base_url + path, data=body, headers=headers, timeout=60)
        self.assertEqual((answer.status_code, answer.json()["code"]), (401, "2005"))
        self.assertEqual(self._count("SELECT COUNT(*) FROM l10n_cn_einv_callback_nonce WHERE company_id = %s",
                                     company_id), 1)
        self.assertEqual(self._count("SELECT COALESCE(SUM(count), 0) FROM l10n_cn_einv_callback_refusal "
                                     "WHERE company_id = %s AND reason = 'REPLAYED_NONCE'", company_id),
                         DELIVERIES)

    def test_forged_requests_at_once_are_all_refused_and_counted(self):
        company_id, _move_id, credentials, _result = self._pending_company()
        path = f"/l10n_cn_einvoice/callback/{company_id}"
        body = protocol.seal(bytes.fromhex(credentials["sm4_key"]), {"eventId": "evt-x", "event": "ping", "data": {}})
        forged = [(path, body, protocol.request_headers(credentials["app_id"], f"guess-{index}", path, body))
                  for index in range(DELIVERIES)]
        answers = self._deliver_together(forged)
        self.assertEqual([(answer.status_code, answer.json()["code"]) for answer in answers],
                         [(401, "2003")] * DELIVERIES)
        # counts another request could not add without waiting are added by the next one
        requests.post(self.base_url + forged[0][0], data=body, headers=forged[0][2], timeout=60)
        self.assertEqual(self._count("SELECT COALESCE(SUM(count), 0) FROM l10n_cn_einv_callback_refusal "
                                     "WHERE company_id = %s AND reason = 'BAD_SIGNATURE'", company_id), DELIVERIES + 1)
        self.assertEqual(self._count("SELECT COUNT(*) FROM l10n_cn_einv_log WHERE company_id = %s "
                                     "AND service LIKE 'callback%%'", company_id), 0)
        self.assertEqual(self._count("SELECT COUNT(*) FROM l10n_cn_einv_callback_nonce WHERE company_id = %s",
                                     company_id), 0)
