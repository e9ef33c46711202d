import contextlib
import json
from datetime import datetime

import psycopg2
from dateutil.relativedelta import relativedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..fapiao import parallel

RETENTION_YEARS = 5
UNKNOWN = object()     # a router's answer when only a search would find the record


# What an exchange's references name (fapiao.provider.Exchange) -> where the records hold it.
REFERENCE_FIELDS = {
    "serial_no": (("account.move", "l10n_cn_einv_serial_no"), ("l10n_cn_einv.red.form", "serial_no")),
    "form_number": (("l10n_cn_einv.red.form", "form_number"),),
    "invoice_number": (("account.move", "l10n_cn_einv_number"),),
}


class L10nCnEinvLog(models.Model):
    """One request/response exchange with the tax platform.

    Written by the platform client's exchange hook with secrets already
    masked; never modified afterwards, and kept at least five years (the
    retention period of accounting records).
    """

    _name = "l10n_cn_einv.log"
    _description = "E-Invoice Platform Interaction"
    _order = "id desc"
    _rec_name = "service"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    move_id = fields.Many2one("account.move", "Invoice", readonly=True, index=True, ondelete="restrict")
    res_model = fields.Char("Related Model", readonly=True)
    res_id = fields.Many2oneReference("Related Record", model_field="res_model", readonly=True)
    service = fields.Char(required=True, readonly=True)
    serial_no = fields.Char("Serial Number", readonly=True, index=True)
    attempt = fields.Integer(readonly=True)
    started_at = fields.Datetime("Time", readonly=True, required=True)
    duration_ms = fields.Float("Duration (ms)", digits=(16, 1), readonly=True, aggregator="avg")
    http_status = fields.Integer("HTTP Status", readonly=True)
    code = fields.Char("Return Code", readonly=True, index=True)
    message = fields.Char(readonly=True)
    error = fields.Text(readonly=True)
    succeeded = fields.Boolean(readonly=True)
    request = fields.Text(readonly=True)
    response = fields.Text(readonly=True)
    operator_id = fields.Many2one("res.users", readonly=True)
    retention_until = fields.Date(
        compute="_compute_retention_until", help="The log line cannot be deleted before this date.")

    @api.depends("create_date")
    def _compute_retention_until(self):
        for line in self:
            created = line.create_date or fields.Datetime.now()
            line.retention_until = (created + relativedelta(years=RETENTION_YEARS)).date()

    @api.model
    def _l10n_cn_einv_router(self, company, records=None):
        """Exchange hook writing each exchange of ``company``'s provider to the log, linked to the
        record it concerns: found by the exchange's neutral references (serial number, invoice
        number, form number) among ``records`` first (those about to be sent: no search), then in
        the company (numbers are only unique on one platform). A single record stands for the
        exchanges that name none of its numbers. ``hook.remember(records)`` adds records to know."""
        known = {}

        def remember(records):
            for record in records:
                for key in record._l10n_cn_einv_log_keys():
                    known.setdefault(key, record)

        remember(records or ())
        alone = records if records is not None and len(records) == 1 else None

        def record_of(exchange, search=True):
            """The record the exchange concerns, or None; UNKNOWN when only a search would tell
            and ``search`` is False."""
            references = exchange.references or {}
            keys = [(name, references[name]) for name in REFERENCE_FIELDS if references.get(name)]
            keys += [(single, values[0]) for plural, single in (("serial_nos", "serial_no"),
                                                                ("form_numbers", "form_number"))
                     for values in [references.get(plural) or ()] if values]
            for key in keys:
                if key in known:
                    return known[key]
            if alone is not None:
                return alone
            if not search:
                return UNKNOWN if keys else None
            for key in keys:
                for model, field in REFERENCE_FIELDS[key[0]]:
                    found = self.env[model].sudo().search([("company_id", "=", company.id), (field, "=", key[1])],
                                                          limit=1)
                    if found:
                        known[key] = found
                        return found
            return None

        def hook(exchange):
            deferred = parallel.deferred_work()
            if deferred is None:
                self._l10n_cn_einv_record(company, exchange, record_of(exchange))
                return
            # A sending thread (fapiao.parallel) may not use the caller's cursor: the line goes on a
            # connection of its own where it can, else the caller's thread writes it.
            record = record_of(exchange, search=False)
            if record is UNKNOWN or not self._l10n_cn_einv_insert_elsewhere(
                    self._l10n_cn_einv_log_values(company, exchange, record)):
                deferred.append(lambda: hook(exchange))
        hook.remember = remember
        return hook

    @api.model
    def _l10n_cn_einv_record(self, company, exchange, record=None, durable=True):
        """Store one fapiao.client.Exchange (already masked by the client); ``durable=False`` writes it
        in the caller's transaction, whatever becomes of it."""
        vals = self._l10n_cn_einv_log_values(company, exchange, record)
        return self._l10n_cn_einv_write_durably(vals) if durable else self.sudo().create(vals)

    @api.model
    def _l10n_cn_einv_log_values(self, company, exchange, record=None):
        """The log line of an exchange (no database access: sending threads call it too)."""
        move = record if record is not None and record._name == "account.move" else None
        return {
            "company_id": company.id,
            "move_id": move.id if move else False,
            "res_model": record._name if record is not None else False,
            "res_id": record.id if record is not None else False,
            "service": exchange.service,
            "serial_no": exchange.serial_no,
            "attempt": exchange.attempt,
            "started_at": datetime.fromtimestamp(exchange.started_at).replace(microsecond=0)
            if exchange.started_at else fields.Datetime.now(),
            "duration_ms": exchange.duration_ms,
            "http_status": exchange.http_status or 0,
            "code": exchange.code,
            "message": exchange.message,
            "error": exchange.error,
            "succeeded": exchange.succeeded,
            "request": json.dumps(exchange.request, ensure_ascii=False, indent=1, default=str),
            "response": json.dumps(exchange.response, ensure_ascii=False, indent=1, default=str)
            if exchange.response is not None else False,
            "operator_id": self.env.uid,
        }

    @api.model
    def _l10n_cn_einv_write_durably(self, vals):
        """Create a log line that survives its caller's transaction when commits are allowed:
        an exchange that happened must stay in the audit log even if the work around it is
        rolled back. Records the caller has not committed yet cannot be referenced from
        another transaction: then the line goes with the caller's."""
        return self._l10n_cn_einv_insert_elsewhere(vals) or self.sudo().create(vals)

    @api.model
    def _l10n_cn_einv_insert_elsewhere(self, vals):
        """The line, inserted and committed on a connection of its own, or None where that is not
        allowed (no commits here) or not possible (the caller holds the row the line points at, or
        has not committed it yet). Uses no cursor of the caller's: sending threads call it."""
        if not self.env["account.move"]._l10n_cn_einv_can_commit():
            return None
        with contextlib.suppress(psycopg2.IntegrityError, psycopg2.errors.LockNotAvailable), \
                self.env.registry.cursor() as cr:
            cr.execute(self._l10n_cn_einv_insert_query(vals))
            return self.browse(cr.fetchone()[0])
        return None

    def _l10n_cn_einv_insert_query(self, vals):
        """One round trip per exchange, without an ORM environment on the second connection
        (this runs for every request). It never waits on a row the caller itself holds: after
        2 s the caller's own transaction takes the line instead."""
        vals = {**vals, "create_uid": self.env.uid, "write_uid": self.env.uid}
        columns = [SQL.identifier(name) for name in vals]
        values = [SQL("%s", None if value is False and self._fields[name].type != "boolean" else value)
                  for name, value in vals.items()]
        now = SQL("NOW() AT TIME ZONE 'UTC'")
        return SQL("SET LOCAL lock_timeout = '2s'; INSERT INTO l10n_cn_einv_log (%s, create_date, write_date) "
                   "VALUES (%s, %s, %s) RETURNING id", SQL(", ").join(columns), SQL(", ").join(values), now, now)

    # an audit record never changes: no super() to call
    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(_("E-invoice interaction logs are an audit record and cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_except_retention(self):
        limit = fields.Datetime.now() - relativedelta(years=RETENTION_YEARS)
        if any((line.create_date or fields.Datetime.now()) > limit for line in self):
            raise UserError(_("E-invoice interaction logs must be kept %s years and cannot be deleted "
                              "before then.", RETENTION_YEARS))
