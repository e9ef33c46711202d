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
second delivery of the same event is answered ``0000`` and changes nothing.
Every callback, accepted or refused, is written to the interaction log.
"""

import logging
import time
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.tools import SQL

from ..fapiao import documents, protocol
from ..fapiao.client import Exchange
from ..fapiao.errors import CryptoError, ValidationFailed
from . import l10n_cn_einv_platform as platform

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
        self.env.cr.execute(SQL("DELETE FROM l10n_cn_einv_callback_nonce WHERE received_at < %s",
                                now - NONCE_RETENTION))
        self.env.cr.execute(SQL("""
            INSERT INTO l10n_cn_einv_callback_nonce (company_id, nonce, received_at) VALUES (%s, %s, %s)
            ON CONFLICT (company_id, nonce) DO NOTHING RETURNING id
        """, company.id, nonce, now))
        return bool(self.env.cr.fetchone())


class L10nCnEinvCallbackEvent(models.Model):
    _name = "l10n_cn_einv.callback.event"
    _description = "E-Invoice Callback Event"
    _order = "id desc"
    _rec_name = "event_id"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    event_id = fields.Char("Event ID", required=True, readonly=True)
    event = fields.Char(required=True, readonly=True)
    occurred_at = fields.Char("Occurred At", readonly=True)
    res_model = fields.Char("Related Model", readonly=True)
    res_id = fields.Many2oneReference("Related Record", model_field="res_model", readonly=True)
    note = fields.Char(readonly=True)

    _sql_constraints = [
        ("l10n_cn_einv_event_unique", "UNIQUE(company_id, event_id)", "A callback event is processed only once."),
    ]

    @api.model
    def _l10n_cn_einv_claim(self, company, payload):
        """Record the event; False when it was processed before (or is being processed right now:
        the insert then waits for that transaction, and finds the row once it committed)."""
        self.env.cr.execute(SQL("""
            INSERT INTO l10n_cn_einv_callback_event (company_id, event_id, event, occurred_at,
                                                     create_uid, create_date, write_uid, write_date)
            VALUES (%s, %s, %s, %s, %s, NOW() AT TIME ZONE 'UTC', %s, NOW() AT TIME ZONE 'UTC')
            ON CONFLICT (company_id, event_id) DO NOTHING RETURNING id
        """, company.id, payload["eventId"], payload["event"], str(payload.get("occurredAt") or "")[:64],
            self.env.uid, self.env.uid))
        row = self.env.cr.fetchone()
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
        company = self.env["res.company"].browse(company_id).exists()
        if not company:
            status, answer = protocol.response_body(None, "UNKNOWN_APP", message="unknown company")
            return status, {"Content-Type": "application/json; charset=utf-8"}, answer
        company = company.sudo()
        keyring = self._l10n_cn_einv_keyring(company)
        masked = keyring.mask if keyring else (lambda value: value)
        exchange = Exchange(
            service="callback", path=path, started_at=started,
            request={"headers": {name: headers.get(name) for name in LOGGED_HEADERS if headers.get(name)},
                     "bodyBytes": len(body)})
        record, code_name, reason, note = None, "SUCCESS", "", ""
        try:
            payload = self._l10n_cn_einv_open(company, keyring, path, headers, body)
            exchange.service = f"callback.{payload['event']}"[:64]
            exchange.request = masked(payload)
            record, note = self._l10n_cn_einv_process(company, payload)
            exchange.serial_no = self._l10n_cn_einv_serial_of(payload)
        except CallbackRefused as refusal:
            # Reasons come from our own checks and errors: masked all the same, secrets never reach the log.
            code_name, reason = refusal.code_name, masked(refusal.reason)
        status, answer = protocol.response_body(None, code_name, message=reason or None)
        nonce = headers.get(protocol.H_NONCE) or ""
        response_headers = keyring.response_headers(status, path, nonce, answer) \
            if keyring and nonce else {"Content-Type": "application/json; charset=utf-8"}
        rc = protocol.RETURN_CODES[protocol.CODE[code_name]]
        exchange.http_status, exchange.code = status, rc.code
        exchange.message = note or reason or rc.message_en
        exchange.error = reason
        exchange.response = {"code": rc.code, "message": reason or rc.message_en}
        exchange.duration_ms = round((time.time() - started) * 1000, 1)
        if code_name != "SUCCESS":
            _logger.info("e-invoice callback to %s refused: %s %s", path, rc.code, reason)
        self.env["l10n_cn_einv.log"]._l10n_cn_einv_record(company, exchange, record)
        return status, response_headers, answer

    @api.model
    def _l10n_cn_einv_keyring(self, company):
        """The company's keyring (its secrets as closures); None when it has no usable credentials."""
        if not all(platform.secrets_set(company)[name] for name in ("l10n_cn_einv_app_secret", "l10n_cn_einv_sm4_key")):
            return None
        try:
            return platform.company_keyring(company)
        except (UserError, CryptoError):   # SecretUnreadable: another master key
            _logger.warning("e-invoice secrets of company %s cannot be opened", company.id)
            return None

    @api.model
    def _l10n_cn_einv_open(self, company, keyring, path, headers, body):
        """The verified, decrypted payload of a callback; CallbackRefused otherwise."""
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
        if sign_type != protocol.SIGN_TYPE_HMAC or keyring is None \
                or not keyring.signature_matches(canonical, headers.get(protocol.H_SIGNATURE)):
            raise CallbackRefused("BAD_SIGNATURE", "signature does not verify")
        if not self.env["l10n_cn_einv.callback.nonce"]._l10n_cn_einv_claim(company, nonce):
            raise CallbackRefused("REPLAYED_NONCE", "nonce already used")
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
                    return None, "event already processed: nothing changed"
                record, note = self._l10n_cn_einv_dispatch(company, payload["event"], payload["data"])
                event.write({"res_model": record._name if record else False,
                             "res_id": record.id if record else False, "note": note[:200]})
                return record, note
        except CallbackRefused:
            raise
        except ValidationFailed as error:
            raise CallbackRefused("PARAMETER_ERROR", str(error)) from None
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
