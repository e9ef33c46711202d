"""Alert thresholds of e-invoicing per company, and the cron that checks them.

Every 15 minutes the cron compares each Chinese company's figures with its
thresholds. A condition that is passed gives the company's e-invoice
managers an activity (on the company's contact) and an e-mail, at most once
per condition and per day (China time), however many times the cron runs.
"""

import logging

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..fapiao.errors import PlatformError
from .l10n_cn_einv_dashboard import china_today
from .l10n_cn_einv_guard import text_as_html

_logger = logging.getLogger(__name__)


class ResCompany(models.Model):
    _inherit = "res.company"

    l10n_cn_einv_alert_failure_rate = fields.Float(
        "E-Invoice Failure Rate Alert (%)", default=10.0, digits=(16, 2),
        help="Alert the e-invoice managers when this share (or more) of the e-invoices submitted over the "
             "last 30 days failed. 0 disables the alert.")
    l10n_cn_einv_alert_backlog = fields.Integer(
        "E-Invoice Backlog Alert", default=100,
        help="Alert the e-invoice managers when this many e-invoices (or more) wait to be sent or for the "
             "platform's result. 0 disables the alert.")
    l10n_cn_einv_alert_quota = fields.Monetary(
        "Credit Quota Alert Below", currency_field="currency_id", default=0.0,
        help="Alert the e-invoice managers when the credit quota (授信额度) remaining for the month falls below "
             "this amount. 0 disables the alert (and the quota query it needs).")
    # {condition: "YYYY-MM-DD"}: the last day (China time) each alert was sent.
    l10n_cn_einv_alerts_sent = fields.Json("E-Invoice Alerts Sent", copy=False, readonly=True)

    def _l10n_cn_einv_quota(self):
        """(QuotaResult, "") from the platform, or (None, why) when it cannot be had."""
        self.ensure_one()
        try:
            with self._l10n_cn_einv_client(self._l10n_cn_einv_log_hook(self)) as client:
                return client.query_quota(), ""
        except PlatformError as error:
            return None, error.message
        except UserError as error:
            return None, str(error)

    def _l10n_cn_einv_managers(self):
        """Active internal users of the E-Invoice Manager group working in this company."""
        self.ensure_one()
        group = self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager", raise_if_not_found=False)
        if not group:
            return self.env["res.users"]
        return group.sudo().users.filtered(
            lambda user: user.active and not user.share and self in user.company_ids)

    # --- the cron ---------------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_cron_check_alerts(self):
        companies = self.sudo().search([("account_fiscal_country_id.code", "=", "CN")])
        figures = self.env["l10n_cn_einv.dashboard"].sudo()._l10n_cn_einv_figures(companies.ids)
        empty = self.env["l10n_cn_einv.dashboard"]._l10n_cn_einv_empty_figures()
        sent = 0
        for company in companies:
            for key, summary, note in company._l10n_cn_einv_alert_conditions(figures.get(company.id, empty)):
                sent += company._l10n_cn_einv_alert_once(key, summary, note)
        return sent

    def _l10n_cn_einv_alert_conditions(self, figures):
        """(key, summary, note) of each threshold this company passes now."""
        self.ensure_one()
        alerts = []
        rate_limit = self.l10n_cn_einv_alert_failure_rate
        if rate_limit > 0 and figures["submitted_30d"] and figures["exception_rate"] >= rate_limit:
            alerts.append(("failure_rate", _("E-invoice failure rate at %(rate)s%%", rate=figures["exception_rate"]),
                           _("%(failed)s of the %(submitted)s e-invoices submitted by %(company)s over the last "
                             "30 days failed (%(rate)s%%; alert threshold %(limit)s%%).",
                             failed=figures["failed_30d"], submitted=figures["submitted_30d"], company=self.name,
                             rate=figures["exception_rate"], limit=rate_limit)))
        backlog_limit = self.l10n_cn_einv_alert_backlog
        if backlog_limit > 0 and figures["pending_count"] >= backlog_limit:
            alerts.append(("backlog", _("%(count)s e-invoices pending", count=figures["pending_count"]),
                           _("%(count)s e-invoices of %(company)s wait to be sent or for the platform's result "
                             "(alert threshold %(limit)s). Check the platform connection and the scheduled "
                             "actions.", count=figures["pending_count"], company=self.name, limit=backlog_limit)))
        quota_limit = self.l10n_cn_einv_alert_quota
        if quota_limit > 0:
            quota, error = self._l10n_cn_einv_quota()
            if quota is None:
                _logger.info("credit quota of %s unavailable for the alert check: %s", self.name, error)
            elif quota.remaining is not None and float(quota.remaining) < quota_limit:
                alerts.append(("quota", _("E-invoice credit quota low: %(remaining)s left", remaining=quota.remaining),
                               _("%(company)s has %(remaining)s of its %(total)s credit quota left for %(period)s "
                                 "(alert below %(limit)s). Ask the tax bureau for more before issuing is refused.",
                                 company=self.name, remaining=quota.remaining, total=quota.total,
                                 period=quota.period, limit=quota_limit)))
        return alerts

    def _l10n_cn_einv_alert_once(self, key, summary, note):
        """Activity and e-mail for the managers, unless this alert was already sent today; True if sent."""
        self.ensure_one()
        today = china_today(fields.Datetime.now()).isoformat()
        sent = dict(self.sudo().l10n_cn_einv_alerts_sent or {})
        if sent.get(key) == today:
            return False
        managers = self._l10n_cn_einv_managers()
        if not managers:
            _logger.warning("e-invoice alert for %s not delivered, no e-invoice manager: %s", self.name, summary)
        partner = self.sudo().partner_id.with_context(mail_activity_quick_update=True)
        for manager in managers:
            partner.activity_schedule("mail.mail_activity_data_todo", summary=summary, note=text_as_html(note),
                                      user_id=manager.id)
        recipients = managers.partner_id.filtered("email")
        if recipients:
            self.env["mail.mail"].sudo().create({
                "subject": _("[%(company)s] %(summary)s", company=self.name, summary=summary),
                "body_html": Markup("<p>%s</p>") % escape(note),
                "recipient_ids": [(6, 0, recipients.ids)],
                "email_from": self.email_formatted or self.env.user.email_formatted,
                "auto_delete": True,
            })
        sent[key] = today
        self.sudo().l10n_cn_einv_alerts_sent = sent
        return True


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    l10n_cn_einv_alert_failure_rate = fields.Float(
        related="company_id.l10n_cn_einv_alert_failure_rate", readonly=False)
    l10n_cn_einv_alert_backlog = fields.Integer(related="company_id.l10n_cn_einv_alert_backlog", readonly=False)
    l10n_cn_einv_alert_quota = fields.Monetary(related="company_id.l10n_cn_einv_alert_quota", readonly=False)
