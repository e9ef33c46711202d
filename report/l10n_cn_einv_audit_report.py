"""The e-invoice audit report: every e-invoice of a company issued or submitted
in a period, with its status changes and the platform exchanges behind it.

Built for a month of thousands of invoices: the invoices, their interaction
logs and their status tracking are each read in one query whatever their
number; the template only walks plain dictionaries.
"""



from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..fapiao.chinatime import china_days_utc, format_china
from ..fapiao.errors import CryptoError
from ..fapiao.provider import mask
from ..models import l10n_cn_einv_platform as platform
from ..models.l10n_cn_einv_guard import check_access
from ..models.l10n_cn_einv_log import RETENTION_YEARS

# Font families for Chinese text, first the one Debian's fonts-noto-cjk installs.
CJK_FONTS = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'WenQuanYi Micro Hei', 'Microsoft YaHei', " \
            "sans-serif"
CJK_MONO_FONTS = "'Noto Sans Mono CJK SC', 'Noto Sans CJK SC', monospace"
ISSUE_SERVICES = ("invoice.issue", "redinvoice.issue")
MOVE_FIELDS = [
    "name", "move_type", "partner_id", "currency_id", "amount_total_in_currency_signed", "l10n_cn_einv_state",
    "l10n_cn_einv_invoice_type", "l10n_cn_einv_buyer_name", "l10n_cn_einv_number", "l10n_cn_einv_issue_time",
    "l10n_cn_einv_submitted_at", "l10n_cn_einv_serial_no", "l10n_cn_einv_error",
]
LOG_FIELDS = [
    "move_id", "service", "serial_no", "attempt", "started_at", "duration_ms", "http_status", "code", "message",
    "error", "succeeded", "request", "response", "operator_id",
]


class L10nCnEinvAuditReport(models.AbstractModel):
    _name = "report.l10n_cn_einvoice.report_l10n_cn_einv_audit"
    _description = "E-Invoice Audit Report"

    @api.model
    def _get_report_values(self, docids, data=None):
        """One section per audit wizard, or one for ``data`` {company_id, date_from, date_to}."""
        if data and data.get("company_id"):
            wizards = self.env["l10n_cn_einv.audit.wizard"].new({
                "company_id": data["company_id"], "date_from": data["date_from"], "date_to": data["date_to"]})
        else:
            wizards = self.env["l10n_cn_einv.audit.wizard"].browse(docids)
        # /report/<converter>/<report> renders for anyone logged in, with any company in ``data``.
        check_access(wizards, "manager", auditors=True)
        return {
            "doc_ids": wizards.ids,
            "doc_model": "l10n_cn_einv.audit.wizard",
            "docs": wizards,
            "sections": [self._l10n_cn_einv_section(wizard) for wizard in wizards],
            "font_style": f"font-family: {CJK_FONTS};",
            "cjk_fonts": CJK_FONTS,
            "cjk_mono_fonts": CJK_MONO_FONTS,
            "retention_years": RETENTION_YEARS,
        }

    @api.model
    def _l10n_cn_einv_section(self, wizard):
        company = wizard.company_id
        # Raises AccessError for a company the user does not work in; record rules do the rest.
        env = self.with_company(company).env
        start, end = china_days_utc(wizard.date_from, wizard.date_to)
        moves = env["account.move"].search_fetch([
            ("company_id", "=", company.id),
            ("l10n_cn_einv_state", "!=", "not_needed"),
            "|",
            "&", ("l10n_cn_einv_issue_time", ">=", start), ("l10n_cn_einv_issue_time", "<", end),
            "&", ("l10n_cn_einv_submitted_at", ">=", start), ("l10n_cn_einv_submitted_at", "<", end),
        ], MOVE_FIELDS)
        moves = moves.sorted(lambda m: (m.l10n_cn_einv_issue_time or m.l10n_cn_einv_submitted_at, m.id))
        secrets = self._l10n_cn_einv_secrets(company)
        logs = env["l10n_cn_einv.log"].search_fetch(
            [("move_id", "in", moves.ids)], LOG_FIELDS, order="started_at, id") if moves else env["l10n_cn_einv.log"]
        other_logs = env["l10n_cn_einv.log"].search_fetch([
            ("company_id", "=", company.id), ("move_id", "=", False),
            ("started_at", ">=", start), ("started_at", "<", end),
        ], LOG_FIELDS, order="started_at, id")
        logs_by_move = {}
        for log in logs:
            logs_by_move.setdefault(log.move_id.id, []).append(self._l10n_cn_einv_log_values(log, secrets))
        changes_by_move = self._l10n_cn_einv_state_changes(moves)
        states = dict(moves._fields["l10n_cn_einv_state"]._description_selection(env))
        types = dict(moves._fields["l10n_cn_einv_invoice_type"]._description_selection(env))
        invoices = []
        for move in moves:
            move_logs = logs_by_move.get(move.id, [])
            changes = changes_by_move.get(move.id, [])
            issuing = [log for log in move_logs if log["service"] in ISSUE_SERVICES] or move_logs
            operator = issuing[0]["operator"] if issuing else ""
            if not operator:
                operator = next((c["author"] for c in changes if c["new"] == states.get("to_issue")), "")
            invoices.append({
                "name": move.name,
                "buyer": move.l10n_cn_einv_buyer_name or move.partner_id.name or "",
                "number": move.l10n_cn_einv_number or "",
                "type": types.get(move.l10n_cn_einv_invoice_type, ""),
                "red": move.move_type == "out_refund",
                "amount": f"{move.amount_total_in_currency_signed:,.2f}",
                "currency": move.currency_id.name,
                "issue_time": format_china(move.l10n_cn_einv_issue_time),
                "submitted_at": format_china(move.l10n_cn_einv_submitted_at),
                "serial_no": move.l10n_cn_einv_serial_no or "",
                "state": states.get(move.l10n_cn_einv_state, move.l10n_cn_einv_state),
                "failed": move.l10n_cn_einv_state == "failed",
                "error": mask(move.l10n_cn_einv_error or "", secrets),
                "operator": operator,
                "changes": changes,
                "logs": move_logs,
            })
        issued = [m for m in moves if m.l10n_cn_einv_issue_time and start <= m.l10n_cn_einv_issue_time < end]
        return {
            "wizard": wizard,
            "company": company,
            "company_vat": company.vat or "",
            "date_from": fields.Date.to_string(wizard.date_from),
            "date_to": fields.Date.to_string(wizard.date_to),
            "generated_at": format_china(fields.Datetime.now().replace(microsecond=0)),
            "generated_by": self.env.user.name,
            "invoices": invoices,
            "other_logs": [self._l10n_cn_einv_log_values(log, secrets, with_bodies=False) for log in other_logs],
            "summary": {
                "invoices": len(moves),
                "issued": len(issued),
                "failed": sum(1 for m in moves if m.l10n_cn_einv_state == "failed"),
                "waiting": sum(1 for m in moves if m.l10n_cn_einv_state in ("to_issue", "submitting", "pending")),
                "issued_amount": f"{sum(m.amount_total_in_currency_signed for m in issued):,.2f}",
                "interactions": len(logs) + len(other_logs),
                "failed_interactions": sum(1 for log in logs if not log.succeeded)
                + sum(1 for log in other_logs if not log.succeeded),
            },
        }

    @api.model
    def _l10n_cn_einv_secrets(self, company):
        """What masks the company's secrets, should a log line ever carry one (the secrets
        themselves are sealed, and no method hands them out)."""
        mask_secrets = platform.secret_mask(company)
        try:
            mask_secrets("")        # opens them once: unusable credentials have nothing to mask
        except (UserError, CryptoError):
            return []
        return [mask_secrets]

    @api.model
    def _l10n_cn_einv_log_values(self, log, secrets, with_bodies=True):
        values = {
            "service": log.service,
            "time": format_china(log.started_at),
            "serial_no": log.serial_no or "",
            "attempt": log.attempt,
            "code": log.code or (str(log.http_status) if log.http_status else ""),
            "message": mask(log.message or "", secrets),
            "error": mask(log.error or "", secrets),
            "duration": f"{log.duration_ms:,.0f}",
            "succeeded": log.succeeded,
            "operator": log.operator_id.name or "",
        }
        if with_bodies:
            values["request"] = mask(log.request or "", secrets)
            values["response"] = mask(log.response or "", secrets)
        return values

    @api.model
    def _l10n_cn_einv_state_changes(self, moves):
        """{move id: [{time, author, old, new}]} from the mail tracking of the e-invoice status, in one query."""
        if not moves:
            return {}
        field = self.env["ir.model.fields"]._get("account.move", "l10n_cn_einv_state")
        self.env["mail.message"].flush_model(["model", "res_id", "date", "author_id"])
        self.env["mail.tracking.value"].flush_model(["field_id", "mail_message_id", "old_value_char",
                                                     "new_value_char"])
        self.env.cr.execute(SQL("""
            SELECT message.res_id, message.date, author.name, tracking.old_value_char, tracking.new_value_char
              FROM mail_tracking_value tracking
              JOIN mail_message message ON message.id = tracking.mail_message_id
              LEFT JOIN res_partner author ON author.id = message.author_id
             WHERE tracking.field_id = %s AND message.model = 'account.move' AND message.res_id IN %s
             ORDER BY message.date, tracking.id
        """, field.id, tuple(moves.ids)))
        relabel = self._l10n_cn_einv_state_relabel()
        changes = {}
        for move_id, date, author, old, new in self.env.cr.fetchall():
            changes.setdefault(move_id, []).append({"time": format_china(date), "author": author or "",
                                                    "old": relabel(old or ""), "new": relabel(new or "")})
        return changes

    @api.model
    def _l10n_cn_einv_state_relabel(self):
        """A function giving a status label kept in the tracking (in the language of whoever wrote
        it: a cron's used to be English) in the report's language."""
        field = self.env["account.move"]._fields["l10n_cn_einv_state"]
        ours = dict(field._description_selection(self.env))
        keys = {}
        for lang in {"en_US", *(code for code, _name in self.env["res.lang"].get_installed())}:
            for key, label in field._description_selection(self.with_context(lang=lang).env):
                keys.setdefault(label, key)
        return lambda label: ours.get(keys.get(label), label)
