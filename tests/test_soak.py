"""Soak: two cron workers drain a queue while the platform misbehaves.

`make test` runs a small version; `make soak` sets L10N_CN_EINV_SOAK_INVOICES=2000.
"""

import base64
import logging
import os
import re
import time

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from .common import ADDON_LOGGER, captured_log, secret_values, service
from .test_einvoice_concurrency import CommittedQueueCase

SOAK_INVOICES = int(os.environ.get("L10N_CN_EINV_SOAK_INVOICES", "60"))
SETTINGS = {"l10n_cn_einvoice.read_timeout": "1.0", "l10n_cn_einvoice.submit_lease": "30"}


@tagged("post_install", "-at_install", "post_install_l10n")
class TestSoak(CommittedQueueCase):

    def _set_params(self, values):
        with self.env.registry.cursor() as cr:
            params = api.Environment(cr, SUPERUSER_ID, {})["ir.config_parameter"]
            previous = {key: params.get_param(key) for key in values}
            for key, value in values.items():
                params.set_param(key, value or False)
        return previous

    def _queue_left(self, move_ids):
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT l10n_cn_einv_state, COUNT(*) FROM account_move WHERE id IN %s GROUP BY 1",
                       [tuple(move_ids)])
            return dict(cr.fetchall())

    def test_two_workers_under_30_percent_faults_issue_every_invoice_exactly_once(self):
        logged = self.enterContext(captured_log())  # for _assert_no_secret_written, until the cleanups
        company_id, move_ids, account = self._committed_queue(count=SOAK_INVOICES)
        previous = self._set_params(SETTINGS)
        self.addCleanup(self._set_params, previous)  # an unset parameter is removed again (None)
        with self.env.registry.cursor() as cr:  # retry at once: the soak is about outcomes, not waits
            api.Environment(cr, SUPERUSER_ID, {})["res.company"].browse(company_id).l10n_cn_einv_retry_schedule = \
                ",".join(["0"] * 15)
        # Every fault a failure of the request as the client sees it (a slow answer is none), so that
        # the log can be checked against them: busy, the answer lost after the platform acted (drop),
        # no answer in time, an answer that is not the platform's format.
        self.simulator.set_faults(account, busy=0.06, retry_after=0, drop=0.06, timeout=0.06, timeout_seconds=1.5,
                                  malformed=0.06, seed=20261121)
        deadline = time.monotonic() + max(300, SOAK_INVOICES * 0.5)

        def worker():
            while time.monotonic() < deadline:
                if not self._run_queue(company_id):
                    left = self._queue_left(move_ids)
                    if left.get("pending"):   # a platform that issues asynchronously: its poll cron
                        self._run_poll(company_id)
                    if not (left.get("to_issue") or left.get("submitting") or left.get("pending")):
                        return
                    time.sleep(0.1)  # the rest is leased by the other worker or waiting its turn

        errors = self._run_workers(worker)
        self.simulator.reset(account)
        self.assertWorkersRan(errors)
        self.assertEqual(self._queue_left(move_ids), {"issued": SOAK_INVOICES}, "nothing stuck or failed")
        self.assertEqual(self._issued(account), (SOAK_INVOICES,) * 3,
                         "none lost, none issued twice, one serial and one number each")
        injected = self.simulator.stats(account)["failed_requests"]
        # About a quarter of the requests fail on average; the bound only has to tell faults on
        # from off, without being flaky on the 60 invoices of make test (5 of 60 was seen once).
        self.assertGreaterEqual(injected, max(3, SOAK_INVOICES * 0.05), "the faults really happened")
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT COUNT(*) FROM l10n_cn_einv_log WHERE company_id = %s AND NOT succeeded", [company_id])
            logged_failures = cr.fetchone()[0]
            cr.execute("SELECT COUNT(DISTINCT move_id) FROM l10n_cn_einv_log WHERE company_id = %s "
                       "AND service = %s", [company_id, service(self.provider_spec, "issue")])
            sent = cr.fetchone()[0]
        # every injected failure is in the log; on a loaded machine a request that was not made slow
        # may still miss the read time-out, and is logged as the failure it is
        self.assertGreaterEqual(logged_failures, injected, "every failure is in the interaction log")
        self.assertLessEqual(logged_failures - injected, max(2, SOAK_INVOICES // 50), "only a few genuinely slow")
        self.assertEqual(sent, SOAK_INVOICES)
        self._assert_no_secret_written(company_id, logged)

    def _assert_no_secret_written(self, company_id, logged):
        """Nothing the soak wrote (interaction log, chatter, errors, and the server log's
        records with their tracebacks, at DEBUG for the addon) contains a secret."""
        with self.env.registry.cursor() as cr:
            secrets = secret_values(self.provider_spec,
                                    api.Environment(cr, SUPERUSER_ID, {})["res.company"].browse(company_id))
            cr.execute("""
                SELECT concat_ws(' ', request, response, error, message) FROM l10n_cn_einv_log
                 WHERE company_id = %(company)s
                UNION ALL
                SELECT body::text FROM mail_message WHERE model = 'account.move'
                   AND res_id IN (SELECT id FROM account_move WHERE company_id = %(company)s)
                UNION ALL
                SELECT concat_ws(' ', l10n_cn_einv_error, l10n_cn_einv_qr_payload) FROM account_move
                 WHERE company_id = %(company)s
            """, {"company": company_id})
            written = [row[0] or "" for row in cr.fetchall()]
        self.assertGreater(sum(map(len, written)), 10000, "the scan saw what the soak wrote")
        exchanges = [level for level, name, _text in logged if name.startswith(f"{ADDON_LOGGER}.fapiao.")
                     and name.endswith(".client")]
        self.assertGreaterEqual(exchanges.count(logging.DEBUG), SOAK_INVOICES, "the log scan saw every issue's line")
        written += [text for _level, _name, text in logged]
        # a key in hex (SM4) may be written in capitals or in base64 too
        hex_forms = [form for secret in secrets if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", secret)
                     for form in (secret.upper(), base64.b64encode(bytes.fromhex(secret)).decode())]
        self.assertTrue(secrets)
        for secret in [*secrets, *hex_forms]:
            self.assertFalse([text for text in written if secret in text][:3])
