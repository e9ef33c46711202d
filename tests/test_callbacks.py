import contextlib
import json
import uuid
from datetime import timedelta

from odoo import fields
from odoo.tests import HttpCase, new_test_user, tagged

from ..fapiao import protocol
from ..models import l10n_cn_einv_platform as platform
from .common import ADDON_LOGGER, PENDING_SECONDS, L10nCnEinvCase, captured_log


@tagged("post_install", "-at_install")
class TestCallbacks(L10nCnEinvCase, HttpCase):
    """Callbacks POSTed over real HTTP to the Odoo test server, by hand and by the sandbox platform."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.l10n_cn_einv_callback_enabled = True
        cls.path = f"/l10n_cn_einvoice/callback/{cls.company.id}"
        credentials = platform.tooling_credentials(cls.company)    # the platform's copy of them
        cls.app_id = credentials["app_id"]
        cls.secret = credentials["app_secret"]
        cls.sm4_key = bytes.fromhex(credentials["sm4_key"])

    # --- helpers ---------------------------------------------------------------------------

    def post(self, payload=None, *, body=None, secret=None, timestamp=None, nonce=None, headers=None):
        body = protocol.seal(self.sm4_key, payload) if body is None else body
        signed = protocol.request_headers(self.app_id, secret or self.secret, self.path, body,
                                          timestamp=timestamp, nonce=nonce)
        if headers is not None:
            signed = headers
        return self.url_open(self.path, data=body, headers=signed)

    @staticmethod
    def event(event, data):
        return {"eventId": f"evt-{uuid.uuid4().hex}", "event": event, "occurredAt": "2026-11-23T08:00:00+08:00",
                "data": data}

    def resolved_on_platform(self, move):
        """Let the platform issue a pending invoice; its result as the platform sends it."""
        self.simulator.advance_clock(PENDING_SECONDS + 1)
        data = next(row for row in self.sandbox.invoices(self.app_id)
                    if row["serialNo"] == move.l10n_cn_einv_serial_no)
        self.assertEqual(data["status"], "issued")
        return {key: value for key, value in data.items()
                if key not in ("appId", "kind", "sellerTaxId", "useConfirmed")}

    def logs(self, code=None):
        domain = [("company_id", "=", self.company.id), ("service", "like", "callback")]
        if code:
            domain.append(("code", "=", code))
        return self.env["l10n_cn_einv.log"].search(domain)

    def assert_refused(self, response, status, code):
        """Refused after the signature verified: the platform's, so in the interaction log."""
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["code"], code)
        log = self.logs(code)[:1]
        self.assertTrue(log, f"no log line with code {code}")
        self.assertFalse(log.succeeded)
        self.assertEqual(log.http_status, status)
        self.assertTrue(log.error)

    def stored(self):
        """What a request could have stored: log lines, nonces, events, and the refusal counts."""
        self.env.invalidate_all()
        counts = {reason: count for reason, count in self.env["l10n_cn_einv.callback.refusal"].sudo()._read_group(
            [("company_id", "=", self.company.id)], ["reason"], ["count:sum"])}
        return {"logs": self.env["l10n_cn_einv.log"].sudo().search_count([]),
                "nonces": self.env["l10n_cn_einv.callback.nonce"].sudo().search_count([]),
                "events": self.env["l10n_cn_einv.callback.event"].sudo().search_count([]),
                "refusals": self.env["l10n_cn_einv.callback.refusal"].sudo().search_count([]),
                "counts": counts}

    @contextlib.contextmanager
    def assert_counted_only(self, reason, times=1):
        """Requests refused before authentication store nothing but ``times`` more of ``reason``."""
        before = self.stored()
        yield
        after = self.stored()
        expected = dict(before["counts"], **{reason: before["counts"].get(reason, 0) + times})
        self.assertEqual(after["counts"], expected)
        self.assertEqual({key: after[key] for key in ("logs", "nonces", "events")},
                         {key: before[key] for key in ("logs", "nonces", "events")}, "nothing else is stored")

    def assert_refused_unauthenticated(self, response, status, code, reason):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.json()["code"], code)
        self.assertEqual(protocol.CODE[reason], code)

    def assert_secrets_not_logged(self):
        for log in self.logs():
            text = f"{log.request} {log.response} {log.message} {log.error}"
            self.assertNotIn(self.secret, text)
            self.assertNotIn(self.sm4_key.hex(), text)

    # --- accepted callbacks ----------------------------------------------------------------

    def test_invoice_issued_callback_issues_the_pending_invoice_once(self):
        move = self.pending_invoice()
        payload = self.event("invoice.issued", self.resolved_on_platform(move))
        response = self.post(payload)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["code"], "0000")
        # The answer is signed for the platform, bound to its nonce.
        self.assertTrue(response.headers.get(protocol.H_SIGNATURE))

        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(move.l10n_cn_einv_number, payload["data"]["invoiceNumber"])
        self.assertTrue(move.l10n_cn_einv_pdf_id.raw.startswith(b"%PDF"))
        self.assertTrue(move.l10n_cn_einv_xml_id)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")   # delivered once the mail leaves
        log = self.logs("0000")
        self.assertEqual(len(log), 1)
        self.assertEqual(log.service, "callback.invoice.issued")
        self.assertEqual(log.move_id, move)
        self.assertEqual(log.serial_no, move.l10n_cn_einv_serial_no)
        event = self.env["l10n_cn_einv.callback.event"].search([("event_id", "=", payload["eventId"])])
        self.assertEqual((event.res_model, event.res_id), ("account.move", move.id))

        # The platform delivers the same event again: answered 0000, nothing changes.
        messages, mails = len(move.message_ids), self.env["mail.mail"].search_count([])
        issue_time = move.l10n_cn_einv_issue_time
        response = self.post(payload)
        self.assertEqual(response.status_code, 200, response.text)
        self.assertEqual(response.json()["code"], "0000")
        self.assertEqual(len(move.message_ids), messages)
        self.assertEqual(self.env["mail.mail"].search_count([]), mails)
        self.assertEqual(move.l10n_cn_einv_issue_time, issue_time)
        self.assertEqual(len(self.logs("0000")), 2)
        self.assertIn("already processed", self.logs("0000")[0].message)
        self.assert_secrets_not_logged()

    def test_invoice_failed_callback(self):
        move = self.pending_invoice()
        serial = move.l10n_cn_einv_serial_no
        response = self.post(self.event("invoice.failed", {
            "serialNo": serial, "status": "failed", "failureCode": "ISSUE_FAILED",
            "failureMessage": "开票失败 / issue failed"}))
        self.assertEqual(response.json()["code"], "0000", response.text)
        self.assertEqual(move.l10n_cn_einv_state, "failed")
        self.assertIn("ISSUE_FAILED", move.l10n_cn_einv_error)
        self.assertNotEqual(move.l10n_cn_einv_serial_no, serial)

    def test_result_for_an_invoice_already_issued_changes_nothing(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        number = move.l10n_cn_einv_number
        response = self.post(self.event("invoice.failed", {
            "serialNo": move.l10n_cn_einv_serial_no, "status": "failed", "failureCode": "X"}))
        self.assertEqual(response.json()["code"], "0000", response.text)
        self.assertEqual((move.l10n_cn_einv_state, move.l10n_cn_einv_number), ("issued", number))

    def test_unknown_serial_number_is_answered_not_found_for_a_retry(self):
        response = self.post(self.event("invoice.issued", {"serialNo": "OE-NO-SUCH-SERIAL", "status": "issued"}))
        self.assert_refused(response, 404, "3002")
        # Not marked as processed: the platform's next attempt is handled afresh.
        self.assertFalse(self.env["l10n_cn_einv.callback.event"].search([("company_id", "=", self.company.id)]))

    def test_unknown_event_is_acknowledged(self):
        response = self.post(self.event("quota.changed", {"remaining": "10.00"}))
        self.assertEqual(response.json()["code"], "0000", response.text)
        self.assertIn("ignored", self.logs("0000").message)

    # --- refused callbacks -----------------------------------------------------------------

    def test_wrong_signature(self):
        move = self.pending_invoice()
        payload = self.event("invoice.issued", self.resolved_on_platform(move))
        nonce = protocol.new_nonce()
        with self.assert_counted_only("BAD_SIGNATURE"):
            self.assert_refused_unauthenticated(self.post(payload, secret="forged-secret", nonce=nonce), 401, "2003",
                                                "BAD_SIGNATURE")
        self.assertEqual(move.l10n_cn_einv_state, "pending")
        # A forged callback does not burn the nonce it carried.
        response = self.post(payload, nonce=nonce)
        self.assertEqual(response.json()["code"], "0000", response.text)
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assert_secrets_not_logged()

    def test_tampered_body(self):
        move = self.pending_invoice()
        payload = self.event("invoice.issued", self.resolved_on_platform(move))
        body = protocol.seal(self.sm4_key, payload)
        headers = protocol.request_headers(self.app_id, self.secret, self.path, body)
        other = protocol.seal(self.sm4_key, payload)   # same payload, another IV: other bytes
        with self.assert_counted_only("BAD_SIGNATURE"):
            self.assert_refused_unauthenticated(self.post(body=other, headers=headers), 401, "2003", "BAD_SIGNATURE")
        self.assertEqual(move.l10n_cn_einv_state, "pending")

    def test_stale_timestamp(self):
        move = self.pending_invoice()
        payload = self.event("invoice.issued", self.resolved_on_platform(move))
        with self.assert_counted_only("STALE_TIMESTAMP", times=2):
            for offset in (-301_000, 301_000):
                self.assert_refused_unauthenticated(self.post(payload, timestamp=protocol.now_ms() + offset), 401,
                                                    "2004", "STALE_TIMESTAMP")
        self.assertEqual(move.l10n_cn_einv_state, "pending")

    def test_replayed_nonce(self):
        move = self.pending_invoice()
        nonce = protocol.new_nonce()
        response = self.post(self.event("ping", {}), nonce=nonce)
        self.assertEqual(response.json()["code"], "0000", response.text)
        payload = self.event("invoice.issued", self.resolved_on_platform(move))
        with self.assert_counted_only("REPLAYED_NONCE"):
            self.assert_refused_unauthenticated(self.post(payload, nonce=nonce), 401, "2005", "REPLAYED_NONCE")
        self.assertEqual(move.l10n_cn_einv_state, "pending")

    def test_old_nonces_are_pruned(self):
        nonces = self.env["l10n_cn_einv.callback.nonce"]
        self.assertTrue(nonces._l10n_cn_einv_claim(self.company, "a" * 32))
        self.assertFalse(nonces._l10n_cn_einv_claim(self.company, "a" * 32))
        self.env.cr.execute("UPDATE l10n_cn_einv_callback_nonce SET received_at = %s WHERE nonce = %s",
                            [fields.Datetime.now() - timedelta(minutes=11), "a" * 32])
        self.assertTrue(nonces._l10n_cn_einv_claim(self.company, "b" * 32))
        self.assertFalse(nonces.search([("nonce", "=", "a" * 32)]))

    def test_malformed_bodies(self):
        move = self.pending_invoice()
        self.assert_refused(self.post(body=b"this is not json"), 400, "1002")
        self.assert_refused(self.post(body=json.dumps({"encryption": "SM4-CBC", "data": "AAAA"}).encode()),
                            400, "1003")
        self.assert_refused(self.post({"event": "invoice.issued", "data": {}}), 400, "1001")
        self.assert_refused(self.post(self.event("invoice.issued", {"serialNo": move.l10n_cn_einv_serial_no,
                                                                    "totalAmount": "1e5"})), 400, "1001")
        self.assertEqual(move.l10n_cn_einv_state, "pending")

    def test_missing_headers_and_disabled_callbacks(self):
        payload = self.event("ping", {})
        body = protocol.seal(self.sm4_key, payload)
        with self.assert_counted_only("MISSING_AUTH"):
            self.assert_refused_unauthenticated(self.post(body=body, headers={"Content-Type": "application/json"}),
                                                401, "2006", "MISSING_AUTH")
        with self.assert_counted_only("UNKNOWN_APP"):
            self.assert_refused_unauthenticated(self.post(payload, headers=protocol.request_headers(
                "odoo-not-this-one", self.secret, self.path, body)), 401, "2001", "UNKNOWN_APP")
        self.company.l10n_cn_einv_callback_enabled = False
        with self.assert_counted_only("UNKNOWN_APP"):
            self.assert_refused_unauthenticated(self.post(payload), 401, "2001", "UNKNOWN_APP")
        # a company that does not exist (or a number no company can have): nothing anywhere
        before = self.stored()
        for company_id in (999999, 2 ** 31, 10 ** 30):
            response = self.url_open(f"/l10n_cn_einvoice/callback/{company_id}", data=body,
                                     headers=protocol.request_headers(self.app_id, self.secret, self.path, body))
            self.assertEqual(response.status_code, 401)
            self.assertEqual(response.json()["code"], "2001")
        self.assertEqual(self.stored(), before)

    def test_a_flood_of_forged_callbacks_is_counted_in_bounded_storage(self):
        """What an anonymous client sends, however much and whatever it chooses, adds no row to the
        interaction log (an audit record nobody may delete) and no nonce; only one counter per company and
        reason grows, and the server log gets one line, not one per request."""
        move = self.pending_invoice()
        payload = self.event("invoice.issued", self.resolved_on_platform(move))
        body = protocol.seal(self.sm4_key, payload)
        before = self.stored()
        sent = {"BAD_SIGNATURE": 0, "STALE_TIMESTAMP": 0, "MISSING_AUTH": 0, "UNKNOWN_APP": 0}
        with captured_log() as logged:
            for index in range(12):
                nonce = f"{index:02d}{uuid.uuid4().hex}"    # every request a fresh nonce of its choosing
                forged = protocol.request_headers(self.app_id, f"guess-{index}", self.path, body, nonce=nonce)
                self.post(body=body, headers=forged)
                sent["BAD_SIGNATURE"] += 1
                self.post(payload, timestamp=protocol.now_ms() - 3_600_000 - index, nonce=nonce)
                sent["STALE_TIMESTAMP"] += 1
                self.post(body=body, headers={**forged, protocol.H_NONCE: "x" * (index + 1)})
                sent["MISSING_AUTH"] += 1
                self.post(body=body, headers={**forged, protocol.H_APP_ID: f"app-{uuid.uuid4().hex}"})
                sent["UNKNOWN_APP"] += 1
        after = self.stored()
        self.assertEqual(after["logs"], before["logs"], "no interaction log line for a stranger")
        self.assertEqual((after["nonces"], after["events"]), (before["nonces"], before["events"]))
        self.assertEqual(after["counts"], {reason: before["counts"].get(reason, 0) + count
                                           for reason, count in sent.items()})
        self.assertLessEqual(after["refusals"] - before["refusals"], len(sent), "one row per company and reason")
        lines = [text for _level, name, text in logged if name.startswith(ADDON_LOGGER) and "refused" in text]
        self.assertLessEqual(len(lines), len(sent), lines[:10])
        self.assertEqual(move.l10n_cn_einv_state, "pending")
        # and the platform itself still gets through
        self.assertEqual(self.post(payload).json()["code"], "0000")
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(len(self.logs("0000")), 1)

    def test_refusal_counts_are_shown_to_the_companys_e_invoice_managers(self):
        with self.assert_counted_only("BAD_SIGNATURE", times=2):
            for _attempt in range(2):
                self.post(self.event("ping", {}), secret="forged-secret")
        other = self.setup_other_company(name="深圳分店")["company"]
        users = {
            "manager": new_test_user(self.env, "einv_cb_manager", groups="l10n_cn_einvoice.group_l10n_cn_einv_manager",
                                     company_id=self.company.id, company_ids=self.company.ids),
            "foreign": new_test_user(self.env, "einv_cb_foreign", groups="l10n_cn_einvoice.group_l10n_cn_einv_manager",
                                     company_id=other.id, company_ids=other.ids),
            "einv_user": new_test_user(self.env, "einv_cb_user", groups="l10n_cn_einvoice.group_l10n_cn_einv_user",
                                       company_id=self.company.id, company_ids=self.company.ids),
        }
        # the menu's list, as the web client asks for it
        spec = {"company_id": {"fields": {"display_name": {}}}, "reason": {}, "count": {}, "last_seen": {}}
        self.authenticate("einv_cb_manager", "einv_cb_manager")
        records = self.make_jsonrpc_request("/web/dataset/call_kw/l10n_cn_einv.callback.refusal/web_search_read", {
            "model": "l10n_cn_einv.callback.refusal", "method": "web_search_read", "args": [],
            "kwargs": {"domain": [], "specification": spec}})["records"]
        self.assertEqual([(row["reason"], row["count"], row["company_id"]["id"]) for row in records],
                         [("BAD_SIGNATURE", 2, self.company.id)])
        menu = self.env.ref("l10n_cn_einvoice.menu_l10n_cn_einv_callback_refusal")
        self.assertIn(menu.id, self.env["ir.ui.menu"].with_user(users["manager"])._visible_menu_ids())
        self.assertNotIn(menu.id, self.env["ir.ui.menu"].with_user(users["einv_user"])._visible_menu_ids())
        # another company's manager sees neither these counts nor the events and nonces of this company
        self.post(self.event("ping", {}))   # an accepted callback: one event, one nonce
        for model in ("l10n_cn_einv.callback.refusal", "l10n_cn_einv.callback.event", "l10n_cn_einv.callback.nonce"):
            self.assertTrue(self.env[model].with_user(users["manager"]).search([]), model)
            self.assertFalse(self.env[model].with_user(users["foreign"]).search([]), model)
        # and an e-invoice user, who is not a manager, has no access to them at all
        self.assertFalse(self.env["l10n_cn_einv.callback.refusal"].with_user(users["einv_user"])
                         .has_access("read"))

    # --- the sandbox platform calling back ------------------------------------------------------------

    def test_callback_url_of_the_company(self):
        self.assertEqual(self.company.l10n_cn_einv_callback_url, self.base_url() + self.path)

    def test_embedded_sandbox_is_told_the_callback_url(self):
        company = self.env["res.company"].create({
            "name": "回调测试有限公司", "country_id": self.env.ref("base.cn").id,
            "currency_id": self.env.ref("base.CNY").id, "l10n_cn_einv_callback_enabled": True})
        self.assertTrue(platform.uses_embedded_simulator(company))
        simulator = platform.embedded_simulator(platform.spec_of(company))
        account = simulator.account_key(platform.tooling_credentials(company))

        def callback_url():
            return simulator.sandbox.get_app(account).callback_url
        with company._l10n_cn_einv_provider():
            self.assertEqual(callback_url(), f"{self.base_url()}/l10n_cn_einvoice/callback/{company.id}")
        company.l10n_cn_einv_callback_enabled = False
        with company._l10n_cn_einv_provider():
            self.assertEqual(callback_url(), "")

    def listen_for_callbacks(self):
        """Point the sandbox's callbacks at this test server. Called only once the test's data is
        flushed and right before the platform change: a callback must never arrive while this
        thread still uses the cursor that the server thread shares."""
        self.env.flush_all()
        self.sandbox.add_app(self.app_id, callback_url=self.company.l10n_cn_einv_callback_url)
        self.addCleanup(self.sandbox.add_app, self.app_id, callback_url="")

    def test_sandbox_calls_back_when_a_pending_invoice_is_issued(self):
        move = self.pending_invoice()
        serial = move.l10n_cn_einv_serial_no
        self.listen_for_callbacks()
        self.simulator.advance_clock(PENDING_SECONDS + 1)
        delivery = self.wait_for_callback(lambda row: row["references"].get("serial_no") == serial)
        self.assertEqual(delivery["event"], "invoice.issued")
        # Issued without any poll: the callback did it.
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertTrue(move.l10n_cn_einv_number)
        self.assertTrue(move.l10n_cn_einv_pdf_id)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")   # delivered once the mail leaves
        self.assertEqual(self.logs("0000").move_id, move)

    def issued_invoice(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        return move

    def test_sandbox_calls_back_when_the_buyer_confirms_a_red_form(self):
        blue = self.issued_invoice()
        self.simulator.buyer_confirm_use(blue.l10n_cn_einv_number)
        wizard = self.env["account.move.reversal"].with_context(active_model="account.move", active_ids=blue.ids) \
            .create({"l10n_cn_einv_red_reason": "01", "journal_id": blue.journal_id.id})
        credit = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        credit.action_post()
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual((form.state, form.platform_status), ("awaiting", "02"))
        self.listen_for_callbacks()
        self.simulator.buyer_confirm(form.form_number)
        delivery = self.wait_for_callback(lambda row: row["references"].get("form_number") == form.form_number)
        self.assertEqual(delivery["event"], "redform.changed")
        self.assertEqual((form.state, form.platform_status), ("confirmed", "04"))
        log = self.logs("0000")
        self.assertEqual(log.service, "callback.redform.changed")
        self.assertEqual((log.res_model, log.res_id), ("l10n_cn_einv.red.form", form.id))

    def test_sandbox_calls_back_when_the_buyer_raises_a_red_form(self):
        blue = self.issued_invoice()
        self.listen_for_callbacks()
        number = self.simulator.buyer_apply_red_form(blue.l10n_cn_einv_number, "01")
        self.wait_for_callback(lambda row: row["references"].get("form_number") == number)
        form = self.env["l10n_cn_einv.red.form"].search([("form_number", "=", number)])
        self.assertEqual((form.direction, form.state, form.platform_status, form.blue_move_id),
                         ("inbound", "awaiting", "03", blue))
