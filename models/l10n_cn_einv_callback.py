"""Callbacks from the tax platform, whatever its format.

The company's provider verifies and opens a callback (Provider.open_callback:
authentication first, a nonce remembered only once the signature verified, so
forged callbacks cannot burn nonces, then the envelope and the event) and
answers it in its platform's format (Provider.callback_answer); this model
knows none of its headers, signatures or encryption (for ours,
docs/protocol.md §8).

Each event id is processed once: its row in ``l10n_cn_einv.callback.event``
is written in the same transaction as the change the event brings, so a
second delivery of the same event is answered "already processed" and changes
nothing. Deliveries of one event that arrive together never fail: the first
takes a transaction lock on the event and applies it, the others are answered
busy (the platform retries) or, once it committed, already processed; none of
the claims can raise a serialization failure.

Callbacks proven the platform's are written to the interaction log (refused or
not). Requests refused before that (see l10n_cn_einv_callback_refusal) store
nothing but a count per company and reason: anybody can POST to the URL, and
the log is kept five years.
"""

import json
import logging
import time

from odoo import api, models
from odoo.exceptions import UserError
from odoo.osv import expression
from odoo.service.model import PG_CONCURRENCY_EXCEPTIONS_TO_RETRY

from ..fapiao import provider
from ..fapiao.errors import CryptoError, ValidationFailed
from ..fapiao.provider import CallbackRefused, Exchange
from . import l10n_cn_einv_platform as platform
from .l10n_cn_einv_callback_refusal import log_refusal
from .l10n_cn_einv_vault import SecretUnreadable

_logger = logging.getLogger(__name__)

# States in which a platform result still means something for the blue invoice.
ACCEPTS_ISSUED = ("to_issue", "submitting", "pending", "waiting_login", "failed")
ACCEPTS_FAILED = ("to_issue", "submitting", "pending", "waiting_login")
ALREADY_PROCESSED = "event already processed: nothing changed"
BUSY_RETRY_AFTER = 5    # seconds the platform is asked to wait before delivering a busy event again


class L10nCnEinvCallback(models.AbstractModel):
    _name = "l10n_cn_einv.callback"
    _description = "E-Invoice Platform Callbacks"

    # --- the envelope ----------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_receive(self, company_id, path, headers, body):
        """Answer one callback POSTed to ``path``: ``(http_status, response headers, response body)``.

        ``headers`` is a case-insensitive mapping; runs as superuser (the caller is the platform).
        The company's provider verifies, opens and answers it: nothing here knows its format."""
        started = time.time()
        company = self.env["res.company"].browse(company_id).exists() if 0 < company_id < 2 ** 31 else None
        if not company:
            # nothing to count it against, and nothing stored: the server log, aggregated
            log_refusal(self.env.cr.dbname, None, "UNKNOWN_APP", "unknown company")
            return self._l10n_cn_einv_answer(None, None, path, headers, "UNKNOWN_APP", message="unknown company")
        company = company.sudo()
        client = self._l10n_cn_einv_client_for(company)
        try:
            return self._l10n_cn_einv_answer_callback(company, client, started=started, path=path, headers=headers,
                                                      body=body)
        finally:
            if client is not None:
                client.close()

    @api.model
    def _l10n_cn_einv_answer_callback(self, company, client, *, started, path, headers, body):
        spec = platform.spec_of(company)
        try:
            if not company.l10n_cn_einv_callback_enabled:
                raise CallbackRefused("UNKNOWN_APP", "callbacks are disabled for this company")
            if client is None:
                raise CallbackRefused("BAD_SIGNATURE", "signature does not verify")
            event = client.open_callback(
                path, headers, body,
                claim_nonce=lambda nonce: self.env["l10n_cn_einv.callback.nonce"]._l10n_cn_einv_claim(company, nonce))
        except CallbackRefused as refusal:
            if not refusal.authenticated:
                # not the platform, as far as we know: a count and (at most now and then) a server log line
                log_refusal(self.env.cr.dbname, company.id, refusal.code, refusal.message)
                self.env["l10n_cn_einv.callback.refusal"]._l10n_cn_einv_count(company, refusal.code)
                return self._l10n_cn_einv_answer(company, client, path, headers, refusal.code,
                                                 message=refusal.message)
            event, refused = None, refusal
        else:
            refused = None
        exchange = Exchange(service="callback", path=path, started_at=started,
                            request={"headers": {name: headers.get(name) for name in spec.callback_log_headers
                                                 if headers.get(name)},
                                     "bodyBytes": len(body)})
        record, code, reason, note = None, provider.CALLBACK_OK, "", ""
        try:
            if refused:
                raise refused
            exchange.service = f"callback.{event.name}"[:64]
            exchange.request = event.payload
            exchange.references = dict(event.references)
            record, note = self._l10n_cn_einv_process(company, event)
        except CallbackRefused as refusal:
            # Reasons come from our own checks and errors: masked all the same, secrets never reach the log.
            code, reason = refusal.code, platform.secret_mask(company)(refusal.message)
        status, response_headers, answer = self._l10n_cn_einv_answer(
            company, client, path, headers, code, message=reason or (note if note == ALREADY_PROCESSED else ""))
        exchange.http_status, exchange.code = status, client.callback_code(code)
        exchange.succeeded = code == provider.CALLBACK_OK
        exchange.message = note or reason or code
        exchange.error = reason
        exchange.response = self._l10n_cn_einv_readable(answer)
        exchange.duration_ms = round((time.time() - started) * 1000, 1)
        if code != provider.CALLBACK_OK:
            _logger.info("e-invoice callback to %s refused: %s %s", path, code, reason)
        # with the event and its change, in this transaction: the change may hold the rows the line refers to
        self.env["l10n_cn_einv.log"]._l10n_cn_einv_record(company, exchange, record, durable=False)
        return status, response_headers, answer

    @api.model
    def _l10n_cn_einv_client_for(self, company):
        """The company's provider to verify and answer with; None when it has no usable credentials
        (nothing can verify then)."""
        if platform.missing_settings(company):
            return None
        try:
            return platform.connect(company)
        except (SecretUnreadable, CryptoError, ValueError) as error:   # another master key, or none usable
            log_refusal(self.env.cr.dbname, company.id, "UNREADABLE_KEYS", str(error))
            return None

    @api.model
    def _l10n_cn_einv_answer(self, company, client, path, headers, code, *, message=""):
        """``(status, headers, body)`` of the answer, in the platform's format (signed where it signs)."""
        retry_after = BUSY_RETRY_AFTER if code == provider.CALLBACK_BUSY else None
        if client is not None:
            return client.callback_answer(path, headers, code, message=message, retry_after=retry_after)
        spec = platform.spec_of(company) if company else provider.get(platform.DEFAULT_PROVIDER)
        return spec.callback_answer(path, headers, code, message=message, retry_after=retry_after)

    @staticmethod
    def _l10n_cn_einv_readable(answer):
        """An answer's body as the log shows it."""
        try:
            return json.loads(answer)
        except (TypeError, ValueError):
            return answer.decode(errors="replace") if isinstance(answer, bytes) else answer

    # --- the events ------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_process(self, company, event):
        """Apply an event once: ``(record concerned or None, note for the log)``.

        The event row and the change are written together; anything that fails rolls both back
        and answers an error the platform retries."""
        try:
            with self.env.cr.savepoint():
                claimed = self.env["l10n_cn_einv.callback.event"]._l10n_cn_einv_claim(company, event)
                if not claimed:
                    return None, ALREADY_PROCESSED
                record, note = self._l10n_cn_einv_dispatch(company, event)
                claimed.write({"res_model": record._name if record else False,
                             "res_id": record.id if record else False, "note": note[:200]})
                return record, note
        except CallbackRefused:
            raise
        except ValidationFailed as error:
            raise CallbackRefused(provider.CALLBACK_INVALID, str(error)) from None
        except PG_CONCURRENCY_EXCEPTIONS_TO_RETRY as error:
            # a row of the change is being written by another transaction: a passing state, retried
            _logger.info("e-invoice callback %s met a concurrent update: %s", event.event_id, error.pgcode)
            raise CallbackRefused(provider.CALLBACK_BUSY, "a record of this event is being changed right now") from None
        except Exception as error:
            _logger.exception("e-invoice callback %s could not be processed", event.event_id)
            raise CallbackRefused(provider.CALLBACK_ERROR, f"{type(error).__name__}: {str(error)[:200]}") from None

    @api.model
    def _l10n_cn_einv_dispatch(self, company, event):
        if event.kind == provider.CALLBACK_INVOICE and event.result is None:
            return self._l10n_cn_einv_on_nudge(company, event.references.get("serial_no") or "")
        if event.kind == provider.CALLBACK_INVOICE:
            return self._l10n_cn_einv_on_invoice(company, event.result)
        if event.kind == provider.CALLBACK_RED_FORM:
            return self._l10n_cn_einv_on_red_form(company, event.result)
        return None, f"unknown event {event.name}: ignored"

    @staticmethod
    def _l10n_cn_einv_lock(record, **kwargs):
        """Lock the row the event changes; when a worker holds it, answer busy: the platform retries."""
        try:
            record._l10n_cn_einv_lock(**kwargs)
        except UserError:
            raise CallbackRefused(provider.CALLBACK_BUSY, f"{record.display_name} is being processed right now") \
                from None

    @api.model
    def _l10n_cn_einv_on_invoice(self, company, result):
        if not result.serial_no:
            raise CallbackRefused(provider.CALLBACK_INVALID, "the result names no serial number")
        moves = self.env["account.move"].with_company(company)
        move = moves.search([("company_id", "=", company.id), ("l10n_cn_einv_serial_no", "=", result.serial_no)],
                            limit=1)
        if not move:
            # Perhaps not committed yet by whoever sent it: answering an error makes the platform retry.
            raise CallbackRefused(provider.CALLBACK_NOT_FOUND, f"no invoice with serial number {result.serial_no}")
        self._l10n_cn_einv_lock(move, nowait=True)
        accepted = ACCEPTS_ISSUED if result.status == "issued" else ACCEPTS_FAILED
        if result.status not in ("issued", "failed") or move.l10n_cn_einv_state not in accepted:
            return move, f"invoice {move.name} is {move.l10n_cn_einv_state}: result {result.status} not applied"
        with company._l10n_cn_einv_provider(move) as client:
            move._l10n_cn_einv_apply_result(result, client)
        return move, f"invoice {move.name}: {move.l10n_cn_einv_state}"

    @api.model
    def _l10n_cn_einv_on_nudge(self, company, serial_no):
        """An unsigned platform (诺诺) says something happened to a submission: nothing it says is
        believed; the platform is asked at once what it holds for that serial number."""
        move = self.env["account.move"].with_company(company).search(
            [("company_id", "=", company.id), ("l10n_cn_einv_serial_no", "=", serial_no)], limit=1) \
            if serial_no else None
        if not move:
            raise CallbackRefused(provider.CALLBACK_NOT_FOUND, f"no invoice with serial number {serial_no}")
        self._l10n_cn_einv_lock(move, nowait=True)
        if move.l10n_cn_einv_state not in ACCEPTS_ISSUED:
            return move, f"invoice {move.name} is {move.l10n_cn_einv_state}: nothing to ask"
        with company._l10n_cn_einv_provider(move) as client:
            result = client.query([serial_no]).get(serial_no)
            if result is None or result.status == "pending":
                return move, f"invoice {move.name}: the platform has no result yet"
            if result.status == "failed" and move.l10n_cn_einv_state not in ACCEPTS_FAILED:
                return move, f"invoice {move.name} is {move.l10n_cn_einv_state}: result failed not applied"
            move._l10n_cn_einv_apply_result(result, client)
        return move, f"invoice {move.name}: {move.l10n_cn_einv_state}"

    @api.model
    def _l10n_cn_einv_on_red_form(self, company, result):
        forms = self.env["l10n_cn_einv.red.form"].with_company(company)
        leaves = [[(name, "=", value)] for name, value in (("form_number", result.form_number),
                                                          ("serial_no", result.serial_no)) if value]
        form = forms.search(expression.AND([[("company_id", "=", company.id)], expression.OR(leaves)]), limit=1) \
            if leaves else forms
        if form:
            self._l10n_cn_einv_lock(form, nowait=True)
            if form.platform_status != result.status:
                form._l10n_cn_einv_apply_result(result)
            return form, f"red-letter form {result.form_number}: {result.status}"
        if result.direction == "inbound":
            forms._l10n_cn_einv_sync_inbound(company, [result])
            form = forms.search([("company_id", "=", company.id), ("form_number", "=", result.form_number)], limit=1)
            return form or None, f"inbound red-letter form {result.form_number}: {result.status}"
        raise CallbackRefused(provider.CALLBACK_NOT_FOUND, f"no red-letter form {result.form_number}")
