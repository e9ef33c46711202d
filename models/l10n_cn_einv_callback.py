"""Callbacks from the tax platform (docs/protocol.md §8).

The platform POSTs events signed and encrypted exactly like a request. A
callback is accepted only when, in this order (the platform's own order of
checks, §3.5): the authentication headers are present, the application id is
the company's, the timestamp is within the 300 s window, the HMAC-SM3
signature verifies with the company's app secret, and the nonce was never
seen (a nonce is remembered only once its signature verified, so forged
callbacks cannot burn nonces). Then the body must decrypt with the company's
SM4 key into ``{"eventId", "event", "occurredAt", "data"}``.

Each ``eventId`` is processed once: its row in ``l10n_cn_einv.callback.event``
is written in the same transaction as the change the event brings, so a
second delivery of the same event is answered ``0000`` ("already processed")
and changes nothing. Deliveries of one event that arrive together never fail:
the first takes a transaction lock on the event and applies it, the others
are answered busy (the platform retries) or, once it committed, already
processed; none of the claims can raise a serialization failure.

Callbacks authenticated by their signature are written to the interaction log
(refused or not). Requests refused before that (see
l10n_cn_einv_callback_refusal) store nothing but a count per company and
reason: anybody can POST to the URL, and the log is kept five years.

The company's secrets are used through its Keyring (l10n_cn_einv_platform):
the callback checks signatures and opens bodies without ever holding them.
"""

import contextlib
import logging
import time
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY
from odoo.tools import SQL

from ..fapiao import documents, protocol
from ..fapiao.client import Exchange
from ..fapiao.errors import CryptoError, ValidationFailed
from . import l10n_cn_einv_platform as platform
from .l10n_cn_einv_callback_refusal import log_refusal
from .l10n_cn_einv_vault import SecretUnreadable

_logger = logging.getLogger(__name__)

REQUIRED_HEADERS = (protocol.H_APP_ID, protocol.H_TIMESTAMP, protocol.H_NONCE, protocol.H_SIGNATURE)
LOGGED_HEADERS = (protocol.H_APP_ID, protocol.H_TIMESTAMP, protocol.H_NONCE, protocol.H_SIGN_TYPE)
# A nonce can be replayed only while its timestamp is fresh: at most the window on either side of
# the moment it was first seen. Older ones are pruned.
NONCE_RETENTION = timedelta(milliseconds=2 * protocol.TIMESTAMP_WINDOW_MS)
INVOICE_EVENTS = ("invoice.issued", "invoice.failed")
RED_FORM_EVENT = "redform.changed"
# States in which a platform result still means something for the blue invoice.
ACCEPTS_ISSUED = ("to_issue", "submitting", "pending", "failed")
ACCEPTS_FAILED = ("to_issue", "submitting", "pending")
ALREADY_PROCESSED = "event already processed: nothing changed"
BUSY_RETRY_AFTER = 5    # seconds the platform is asked to wait before delivering a busy event again
JSON = {"Content-Type": "application/json; charset=utf-8"}
# A claim that meets a concurrent one: a row another transaction inserted (and committed after this
# transaction's snapshot) answers a unique or a serialization failure instead of "nothing to do".
CLAIM_CONFLICTS = (psycopg2.errors.UniqueViolation, psycopg2.errors.SerializationFailure)


class CallbackRefused(Exception):
    """A callback answered with a refusal: ``code_name`` of protocol.RETURN_CODES, and why."""

    def __init__(self, code_name, reason):
        super().__init__(reason)
        self.code_name = code_name
        self.reason = reason


class L10nCnEinvCallbackNonce(models.Model):
    _name = "l10n_cn_einv.callback.nonce"
    _description = "E-Invoice Callback Nonce"
    _log_access = False

    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    nonce = fields.Char(required=True, readonly=True)
    received_at = fields.Datetime(required=True, readonly=True, index=True)

    _sql_constraints = [
        ("l10n_cn_einv_nonce_unique", "UNIQUE(company_id, nonce)", "A callback nonce is used only once."),
    ]

    @api.model
    def _l10n_cn_einv_claim(self, company, nonce):
        """Remember ``nonce`` for ``company``; False when it was already used. Forgets old nonces."""
        now = fields.Datetime.now()
        cr = self.env.cr
        # one pruner at a time; another's deletions committed after this snapshot fail it: skipped,
        # the next callback prunes
        with contextlib.suppress(psycopg2.OperationalError), cr.savepoint(flush=False):
            cr.execute(SQL("""
                DELETE FROM l10n_cn_einv_callback_nonce
                 WHERE received_at < %s
                   AND (SELECT pg_try_advisory_xact_lock(hashtext('l10n_cn_einv_callback_nonce_prune')))
            """, now - NONCE_RETENTION), log_exceptions=False)
        try:
            with cr.savepoint(flush=False):
                cr.execute(SQL("""
                    INSERT INTO l10n_cn_einv_callback_nonce (company_id, nonce, received_at) VALUES (%s, %s, %s)
                    ON CONFLICT (company_id, nonce) DO NOTHING RETURNING id
                """, company.id, nonce, now), log_exceptions=False)
                return bool(cr.fetchone())
        except CLAIM_CONFLICTS:
            return False    # the same nonce in a concurrent request: a replay


class L10nCnEinvCallbackEvent(models.Model):
    _name = "l10n_cn_einv.callback.event"
    _description = "E-Invoice Callback Event"
    _order = "id desc"
    _rec_name = "event_id"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    event_id = fields.Char("Event ID", required=True, readonly=True)
    event = fields.Char(required=True, readonly=True)
    occurred_at = fields.Char(readonly=True)
    res_model = fields.Char("Related Model", readonly=True)
    res_id = fields.Many2oneReference("Related Record", model_field="res_model", readonly=True)
    note = fields.Char(readonly=True)

    _sql_constraints = [
        ("l10n_cn_einv_event_unique", "UNIQUE(company_id, event_id)", "A callback event is processed only once."),
    ]

    @api.model
    def _l10n_cn_einv_claim(self, company, payload):
        """Record the event for this transaction: the event row, False when it was processed before.

        Raises CallbackRefused("SYSTEM_BUSY") while another transaction processes the same event
        (it holds the event's transaction lock): the platform delivers it again later. A delivery
        whose snapshot predates the commit of the one that processed it meets that row as a unique
        or serialization failure: processed before, too."""
        cr = self.env.cr
        # processed and committed before this transaction began: no need to wait for anybody
        cr.execute(SQL("SELECT 1 FROM l10n_cn_einv_callback_event WHERE company_id = %s AND event_id = %s",
                       company.id, payload["eventId"]))
        if cr.fetchone():
            return False
        cr.execute(SQL("SELECT pg_try_advisory_xact_lock(hashtext('l10n_cn_einv_callback_event'), hashtext(%s))",
                       f"{company.id}:{payload['eventId']}"))
        if not cr.fetchone()[0]:
            raise CallbackRefused("SYSTEM_BUSY", f"event {payload['eventId']} is being processed right now")
        try:
            with cr.savepoint(flush=False):
                cr.execute(SQL("""
                    INSERT INTO l10n_cn_einv_callback_event (company_id, event_id, event, occurred_at,
                                                             create_uid, create_date, write_uid, write_date)
                    VALUES (%s, %s, %s, %s, %s, NOW() AT TIME ZONE 'UTC', %s, NOW() AT TIME ZONE 'UTC')
                    ON CONFLICT (company_id, event_id) DO NOTHING RETURNING id
                """, company.id, payload["eventId"], payload["event"], str(payload.get("occurredAt") or "")[:64],
                    self.env.uid, self.env.uid), log_exceptions=False)
                row = cr.fetchone()
        except CLAIM_CONFLICTS:
            return False
        return self.browse(row[0]) if row else False


class L10nCnEinvCallback(models.AbstractModel):
    _name = "l10n_cn_einv.callback"
    _description = "E-Invoice Platform Callbacks"

    # --- the envelope ----------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_receive(self, company_id, path, headers, body):
        """Answer one callback POSTed to ``path``: ``(http_status, response headers, response body)``.

        ``headers`` is a case-insensitive mapping; runs as superuser (the caller is the platform)."""
        started = time.time()
        company = self.env["res.company"].browse(company_id).exists() if 0 < company_id < 2 ** 31 else None
        if not company:
            # nothing to count it against, and nothing stored: the server log, aggregated
            log_refusal(self.env.cr.dbname, None, "UNKNOWN_APP", "unknown company")
            status, answer = protocol.response_body(None, "UNKNOWN_APP", message="unknown company")
            return status, dict(JSON), answer
        company = company.sudo()
        keyring = None
        try:
            keyring = self._l10n_cn_einv_authenticate(company, path, headers, body)
        except CallbackRefused as refusal:
            # not the platform, as far as we know: a count and (at most now and then) a server log line
            log_refusal(self.env.cr.dbname, company.id, refusal.code_name, refusal.reason)
            self.env["l10n_cn_einv.callback.refusal"]._l10n_cn_einv_count(company, refusal.code_name)
            return self._l10n_cn_einv_answer(company, keyring, path, headers, refusal.code_name, message=refusal.reason)
        exchange = Exchange(
            service="callback", path=path, started_at=started,
            request={"headers": {name: headers.get(name) for name in LOGGED_HEADERS if headers.get(name)},
                     "bodyBytes": len(body)})
        record, code_name, reason, note = None, "SUCCESS", "", ""
        try:
            payload = self._l10n_cn_einv_open(keyring, body)
            exchange.service = f"callback.{payload['event']}"[:64]
            exchange.request = keyring.mask(payload)
            record, note = self._l10n_cn_einv_process(company, payload)
            exchange.serial_no = self._l10n_cn_einv_serial_of(payload)
        except CallbackRefused as refusal:
            # Reasons come from our own checks and errors: masked all the same, secrets never reach the log.
            code_name, reason = refusal.code_name, keyring.mask(refusal.reason)
        status, response_headers, answer = self._l10n_cn_einv_answer(
            company, keyring, path, headers, code_name, message=reason or (note if note == ALREADY_PROCESSED else ""))
        rc = protocol.RETURN_CODES[protocol.CODE[code_name]]
        exchange.http_status, exchange.code = status, rc.code
        exchange.message = note or reason or rc.message_en
        exchange.error = reason
        exchange.response = {"code": rc.code, "message": reason or rc.message_en}
        exchange.duration_ms = round((time.time() - started) * 1000, 1)
        if code_name != "SUCCESS":
            _logger.info("e-invoice callback to %s refused: %s %s", path, rc.code, reason)
        # with the event and its change, in this transaction: the change may hold the rows the line refers to
        self.env["l10n_cn_einv.log"]._l10n_cn_einv_record(company, exchange, record, durable=False)
        return status, response_headers, answer

    @api.model
    def _l10n_cn_einv_answer(self, company, keyring, path, headers, code_name, *, message=""):
        """``(status, headers, body)`` of the answer, signed for the request's nonce when there is one."""
        status, answer = protocol.response_body(None, code_name, message=message or None,
                                                retry_after=BUSY_RETRY_AFTER if code_name == "SYSTEM_BUSY" else None)
        nonce = headers.get(protocol.H_NONCE) or ""
        if keyring is None and nonce and protocol.valid_nonce(nonce):
            keyring = self._l10n_cn_einv_keyring(company)
        if keyring is None or not nonce:
            return status, dict(JSON), answer
        return status, keyring.response_headers(status, path, nonce, answer), answer

    @api.model
    def _l10n_cn_einv_keyring(self, company):
        """The company's keyring; None when it has no usable credentials (nothing can verify then)."""
        if not all(platform.secrets_set(company)[name] for name in ("l10n_cn_einv_app_secret", "l10n_cn_einv_sm4_key")):
            return None
        try:
            return platform.company_keyring(company)
        except (SecretUnreadable, CryptoError) as error:   # another master key, or none usable
            log_refusal(self.env.cr.dbname, company.id, "UNREADABLE_KEYS", str(error))
            return None

    @api.model
    def _l10n_cn_einv_authenticate(self, company, path, headers, body):
        """The company's keyring once the request is proven the platform's: headers, application,
        timestamp, signature, and a nonce never seen (remembered only now). CallbackRefused with a
        code of REFUSED_BEFORE_AUTHENTICATION otherwise; nothing is stored before the signature
        verified."""
        missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
        if missing:
            raise CallbackRefused("MISSING_AUTH", "authentication headers missing: " + ", ".join(missing))
        nonce = headers.get(protocol.H_NONCE)
        if not protocol.valid_nonce(nonce):
            raise CallbackRefused("MISSING_AUTH", "X-Nonce must be 16-64 characters of [0-9A-Za-z]")
        if not company.l10n_cn_einv_callback_enabled:
            raise CallbackRefused("UNKNOWN_APP", "callbacks are disabled for this company")
        if headers.get(protocol.H_APP_ID) != company.l10n_cn_einv_app_id:
            raise CallbackRefused("UNKNOWN_APP", "application id is not this company's")
        timestamp = headers.get(protocol.H_TIMESTAMP)
        if not protocol.timestamp_fresh(timestamp):
            raise CallbackRefused("STALE_TIMESTAMP", "timestamp more than 300 s away from our clock")
        sign_type = headers.get(protocol.H_SIGN_TYPE) or protocol.SIGN_TYPE_HMAC
        canonical = protocol.canonical_request("POST", path, timestamp, nonce, body)
        keyring = self._l10n_cn_einv_keyring(company) if sign_type == protocol.SIGN_TYPE_HMAC else None
        if keyring is None or not keyring.signature_matches(canonical, headers.get(protocol.H_SIGNATURE)):
            raise CallbackRefused("BAD_SIGNATURE", "signature does not verify")
        if not self.env["l10n_cn_einv.callback.nonce"]._l10n_cn_einv_claim(company, nonce):
            raise CallbackRefused("REPLAYED_NONCE", "nonce already used")
        return keyring

    @api.model
    def _l10n_cn_einv_open(self, keyring, body):
        """The decrypted, checked payload of an authenticated callback; CallbackRefused otherwise."""
        try:
            payload = keyring.open_envelope(body)
        except ValueError as error:
            kind = getattr(error, "kind", "decryption")
            raise CallbackRefused("DECRYPTION_FAILED" if kind == "decryption" else "MALFORMED_REQUEST",
                                  str(error)) from None
        problems = [name for name in ("eventId", "event") if not isinstance(payload.get(name), str)
                    or not payload[name] or len(payload[name]) > 128]
        if not isinstance(payload.get("data"), dict):
            problems.append("data")
        if problems:
            raise CallbackRefused("PARAMETER_ERROR", "invalid or missing: " + ", ".join(problems))
        return payload

    @staticmethod
    def _l10n_cn_einv_serial_of(payload):
        data = payload.get("data") or {}
        value = data.get("serialNo") or data.get("formNumber") or ""
        return value if isinstance(value, str) else ""

    # --- the events ------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_process(self, company, payload):
        """Apply an event once: ``(record concerned or None, note for the log)``.

        The event row and the change are written together; anything that fails rolls both back
        and answers an error the platform retries."""
        try:
            with self.env.cr.savepoint():
                event = self.env["l10n_cn_einv.callback.event"]._l10n_cn_einv_claim(company, payload)
                if not event:
                    return None, ALREADY_PROCESSED
                record, note = self._l10n_cn_einv_dispatch(company, payload["event"], payload["data"])
                event.write({"res_model": record._name if record else False,
                             "res_id": record.id if record else False, "note": note[:200]})
                return record, note
        except CallbackRefused:
            raise
        except ValidationFailed as error:
            raise CallbackRefused("PARAMETER_ERROR", str(error)) from None
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            # a row of the change is being written by another transaction: a passing state, retried
            _logger.info("e-invoice callback %s met a concurrent update: %s", payload.get("eventId"), error.pgcode)
            raise CallbackRefused("SYSTEM_BUSY", "a record of this event is being changed right now") from None
        except Exception as error:
            _logger.exception("e-invoice callback %s could not be processed", payload.get("eventId"))
            raise CallbackRefused("SYSTEM_ERROR", f"{type(error).__name__}: {str(error)[:200]}") from None

    @api.model
    def _l10n_cn_einv_dispatch(self, company, event, data):
        if event in INVOICE_EVENTS:
            return self._l10n_cn_einv_on_invoice(company, documents.InvoiceResult.from_wire(data))
        if event == RED_FORM_EVENT:
            return self._l10n_cn_einv_on_red_form(company, documents.RedFormResult.from_wire(data))
        return None, f"unknown event {event}: ignored"

    @staticmethod
    def _l10n_cn_einv_lock(record, **kwargs):
        """Lock the row the event changes; when a worker holds it, answer busy: the platform retries."""
        if not hasattr(record, "_l10n_cn_einv_lock"):
            return
        try:
            record._l10n_cn_einv_lock(**kwargs)
        except UserError:
            raise CallbackRefused("SYSTEM_BUSY", f"{record.display_name} is being processed right now") from None

    @api.model
    def _l10n_cn_einv_on_invoice(self, company, result):
        if not result.serial_no:
            raise CallbackRefused("PARAMETER_ERROR", "data.serialNo is required")
        moves = self.env["account.move"].with_company(company)
        move = moves.search([("company_id", "=", company.id), ("l10n_cn_einv_serial_no", "=", result.serial_no)],
                            limit=1)
        if not move:
            return self._l10n_cn_einv_on_red_invoice(company, result)
        self._l10n_cn_einv_lock(move, nowait=True)
        accepted = ACCEPTS_ISSUED if result.status == "issued" else ACCEPTS_FAILED
        if result.status not in ("issued", "failed") or move.l10n_cn_einv_state not in accepted:
            return move, f"invoice {move.name} is {move.l10n_cn_einv_state}: result {result.status} not applied"
        with company._l10n_cn_einv_client(move._l10n_cn_einv_log_router(company)) as client:
            move._l10n_cn_einv_apply_result(result, client)
        return move, f"invoice {move.name}: {move.l10n_cn_einv_state}"

    @api.model
    def _l10n_cn_einv_on_red_invoice(self, company, result):
        """A red invoice's result: applied by the red-letter form that issued it, when that exists."""
        if "l10n_cn_einv.red.form" not in self.env:
            raise CallbackRefused("NOT_FOUND", f"no invoice with serial number {result.serial_no}")
        forms = self.env["l10n_cn_einv.red.form"].with_company(company)
        form = forms.search([("company_id", "=", company.id), ("red_serial_no", "=", result.serial_no)], limit=1) \
            if "red_serial_no" in forms._fields else forms
        if not form:
            # Perhaps not committed yet by whoever sent it: answering an error makes the platform retry.
            raise CallbackRefused("NOT_FOUND", f"no invoice with serial number {result.serial_no}")
        if result.status == "issued" and form.state != "red_issued" and hasattr(form, "_l10n_cn_einv_red_issued"):
            self._l10n_cn_einv_lock(form)
            with company._l10n_cn_einv_client(form._l10n_cn_einv_log_router()) as client:
                form._l10n_cn_einv_red_issued(result, client)
            return form, f"red form {form.form_number}: red invoice {result.invoice_number} issued"
        return form, f"red invoice {result.status}: left to the red-letter form's schedule"

    @api.model
    def _l10n_cn_einv_on_red_form(self, company, result):
        if "l10n_cn_einv.red.form" not in self.env:
            return None, f"red-letter form {result.form_number} {result.status}: not handled (logged only)"
        forms = self.env["l10n_cn_einv.red.form"].with_company(company)
        if hasattr(forms, "_l10n_cn_einv_apply_platform_result"):
            form = forms._l10n_cn_einv_apply_platform_result(company, result)
            return form or None, f"red-letter form {result.form_number}: {result.status}"
        keys = [("form_number", result.form_number)]
        if "serial_no" in forms._fields:
            keys.append(("serial_no", result.serial_no))
        leaves = [[(name, "=", value)] for name, value in keys if value]
        form = forms.search(expression.AND([[("company_id", "=", company.id)], expression.OR(leaves)]), limit=1) \
            if leaves else forms
        if form:
            self._l10n_cn_einv_lock(form)
            if form.platform_status != result.status and hasattr(form, "_l10n_cn_einv_apply_result"):
                form._l10n_cn_einv_apply_result(result)
            return form, f"red-letter form {result.form_number}: {result.status}"
        if result.direction == "inbound" and hasattr(forms, "_l10n_cn_einv_sync_inbound"):
            forms._l10n_cn_einv_sync_inbound(company, [result])
            form = forms.search([("company_id", "=", company.id), ("form_number", "=", result.form_number)], limit=1)
            return form or None, f"inbound red-letter form {result.form_number}: {result.status}"
        raise CallbackRefused("NOT_FOUND", f"no red-letter form {result.form_number}")
