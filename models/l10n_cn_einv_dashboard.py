"""E-invoice monitoring: the analysis view and the head-office dashboard.

Days and months are those of the tax platform, China time (Asia/Shanghai),
whatever the time zone of the person looking: "issued today" means today on
the platform, and the credit quota runs by calendar month in China.
"""

from datetime import timedelta

from odoo import _, api, fields, models
from odoo.tools import SQL

from ..fapiao.chinatime import china_midnight_utc, china_month_start_utc
from .l10n_cn_einv_guard import check_access, may_call_platform

WINDOW_DAYS = 30
# Submitted, not yet issued nor failed.
WAITING_STATES = ("to_issue", "submitting", "pending")


def format_duration(seconds):
    """1 h 02 min, 3 min 05 s, 42 s; '' for None."""
    if seconds is None:
        return ""
    seconds = round(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"


class L10nCnEinvDashboard(models.TransientModel):
    """Live e-invoicing figures, for one company or for all the companies
    the user is working in (the head office view). Nothing is stored: every
    figure is computed when the dashboard is shown, by SQL aggregates."""

    _name = "l10n_cn_einv.dashboard"
    _description = "E-Invoice Dashboard"
    # Opened from the menu as a record of its own (action_l10n_cn_einv_open), that the breadcrumbs of
    # the lists and analyses opened from it go back to: kept for the working day.
    _transient_max_hours = 24.0

    company_id = fields.Many2one(
        "res.company", domain=lambda self: [("id", "in", self.env.companies.ids)],
        help="Leave empty to see every company you are working in together.")
    currency_id = fields.Many2one("res.currency", compute="_compute_figures")
    issued_today = fields.Integer(compute="_compute_figures")
    issued_month = fields.Integer("Issued This Month", compute="_compute_figures")
    pending_count = fields.Integer(
        "Pending", compute="_compute_figures",
        help="Waiting to be sent, being sent, or accepted by the platform without a result yet.")
    failed_count = fields.Integer("Failed", compute="_compute_figures")
    submitted_30d = fields.Integer("Submitted (30 days)", compute="_compute_figures")
    failed_30d = fields.Integer("Failed (30 days)", compute="_compute_figures")
    exception_rate = fields.Float(
        "Exception Rate (%)", digits=(16, 2), compute="_compute_figures",
        help="Share of the invoices submitted over the last 30 days that failed.")
    issue_median_seconds = fields.Float("Median Time to Issue (s)", digits=(16, 1), compute="_compute_figures")
    issue_p95_seconds = fields.Float("95th Percentile Time to Issue (s)", digits=(16, 1),
                                     compute="_compute_figures")
    issue_median_display = fields.Char(
        "Median Time to Issue", compute="_compute_figures",
        help="From the first submission to the platform's issue time, over invoices issued in the last 30 days.")
    issue_p95_display = fields.Char("95th Percentile Time to Issue", compute="_compute_figures")
    oldest_pending_at = fields.Datetime("Oldest Pending Submission", compute="_compute_figures")
    sync_lag_seconds = fields.Float("Status Sync Lag (s)", digits=(16, 0), compute="_compute_figures")
    sync_lag_display = fields.Char(
        "Status Sync Lag", compute="_compute_figures",
        help="Age of the oldest submission still waiting for the platform's result.")
    company_table = fields.Html("Per Company", compute="_compute_figures", sanitize=False)
    quota_state = fields.Selection(
        [("available", "Available"), ("partial", "Partly unavailable"), ("unavailable", "Unavailable")],
        "Credit Quota Status", compute="_compute_quota")
    quota_total = fields.Monetary("Credit Quota", compute="_compute_quota")
    quota_used = fields.Monetary(compute="_compute_quota")
    quota_remaining = fields.Monetary(compute="_compute_quota")
    quota_message = fields.Char("Quota Details", compute="_compute_quota")

    @api.depends("company_id")
    @api.depends_context("lang")
    def _compute_display_name(self):
        for dashboard in self:
            dashboard.display_name = (_("E-Invoice Dashboard: %s", dashboard.company_id.name) if dashboard.company_id
                                      else _("E-Invoice Dashboard"))

    def _scope(self):
        """The companies shown: the chosen one, else all the companies the user is working in."""
        self.ensure_one()
        allowed = self.env.companies
        return self.company_id & allowed if self.company_id else allowed

    @api.depends("company_id")
    @api.depends_context("allowed_company_ids")
    def _compute_figures(self):
        for dashboard in self:
            companies = dashboard._scope()
            figures = self._l10n_cn_einv_figures(companies.ids, where=dashboard._l10n_cn_einv_moves_where())
            total = figures.get(None) or self._l10n_cn_einv_empty_figures()
            dashboard.update({
                "currency_id": (companies[:1] or self.env.company).currency_id,
                "issued_today": total["issued_today"],
                "issued_month": total["issued_month"],
                "pending_count": total["pending_count"],
                "failed_count": total["failed_count"],
                "submitted_30d": total["submitted_30d"],
                "failed_30d": total["failed_30d"],
                "exception_rate": total["exception_rate"],
                "issue_median_seconds": total["issue_median_seconds"] or 0.0,
                "issue_p95_seconds": total["issue_p95_seconds"] or 0.0,
                "issue_median_display": format_duration(total["issue_median_seconds"]) or _("no data"),
                "issue_p95_display": format_duration(total["issue_p95_seconds"]) or _("no data"),
                "oldest_pending_at": total["oldest_pending_at"],
                "sync_lag_seconds": total["sync_lag_seconds"] or 0.0,
                "sync_lag_display": format_duration(total["sync_lag_seconds"]) or _("nothing pending"),
                "company_table": self.env["ir.qweb"]._render("l10n_cn_einvoice.l10n_cn_einv_dashboard_companies", {
                    "rows": [(company, figures.get(company.id) or self._l10n_cn_einv_empty_figures())
                             for company in companies.sorted(lambda c: (c.parent_path, c.id))],
                    "format_duration": format_duration,
                }) if len(companies) > 1 else False,
            })

    @api.depends("company_id")
    @api.depends_context("allowed_company_ids")
    def _compute_quota(self):
        for dashboard in self:
            companies = dashboard._scope().filtered(lambda c: c.account_fiscal_country_id.code == "CN")
            # A platform request on display: only for e-invoice users of the company, not auditors.
            results = {company: company._l10n_cn_einv_quota() if may_call_platform(company) else
                       (None, _("shown to e-invoice users only")) for company in companies}
            answered = {company: quota for company, (quota, _error) in results.items() if quota is not None}
            missing = [f"{company.name}: {error}" for company, (quota, error) in results.items() if quota is None]
            dashboard.quota_state = (
                "unavailable" if not answered else "partial" if missing else "available")
            dashboard.quota_total = sum(float(q.total or 0) for q in answered.values())
            dashboard.quota_used = sum(float(q.used or 0) for q in answered.values())
            dashboard.quota_remaining = sum(float(q.remaining or 0) for q in answered.values())
            dashboard.quota_message = "; ".join(missing) if missing else ", ".join(
                f"{company.name} {quota.period}" for company, quota in answered.items())
            if not companies:
                dashboard.quota_message = _("No company in China selected.")

    # --- figures -------------------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_empty_figures(self):
        return {"issued_today": 0, "issued_month": 0, "pending_count": 0, "failed_count": 0, "submitted_30d": 0,
                "failed_30d": 0, "exception_rate": 0.0, "issue_median_seconds": None, "issue_p95_seconds": None,
                "oldest_pending_at": None, "sync_lag_seconds": None}

    def _l10n_cn_einv_moves_where(self):
        """The invoices this dashboard counts, beyond its companies: an SQL condition on
        ``account_move`` (TRUE here; the Point of Sale bridge narrows it to a store, and a store
        manager's dashboard to their stores)."""
        return SQL("TRUE")

    def _l10n_cn_einv_scope_domain(self):
        """The same as a domain on account.move, for the lists and analyses the dashboard opens."""
        self.ensure_one()
        return [("company_id", "in", self._scope().ids)]

    @api.model
    def _l10n_cn_einv_figures(self, company_ids, now=None, group_by="company_id", where=None):
        """Figures per company id (per value of the account.move column ``group_by``: the branch by
        default, the store in the Point of Sale bridge; False for the invoices without one), and for
        all of them together under the key None, from one query, of the invoices that also meet
        ``where`` (SQL on ``account_move``).

        Only the given companies are read: callers pass companies the user may see.
        """
        if not company_ids:
            return {}
        if group_by not in self.env["account.move"]._fields or not self.env["account.move"]._fields[group_by].store:
            raise ValueError(f"cannot group e-invoice figures by {group_by!r}")
        now = now or fields.Datetime.now()
        self.env["account.move"].flush_model([
            "company_id", "l10n_cn_einv_state", "l10n_cn_einv_issue_time", "l10n_cn_einv_submitted_at", group_by])
        self.env.cr.execute(SQL("""
            SELECT company_id, GROUPING(company_id) = 1,
                   COUNT(*) FILTER (WHERE issued >= %(today)s AND issued < %(tomorrow)s),
                   COUNT(*) FILTER (WHERE issued >= %(month)s AND issued < %(next_month)s),
                   COUNT(*) FILTER (WHERE state IN %(waiting)s),
                   COUNT(*) FILTER (WHERE state = 'failed'),
                   COUNT(*) FILTER (WHERE submitted >= %(since)s),
                   COUNT(*) FILTER (WHERE submitted >= %(since)s AND state = 'failed'),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM issued - submitted)::float)
                       FILTER (WHERE issued >= %(since)s AND submitted IS NOT NULL),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM issued - submitted)::float)
                       FILTER (WHERE issued >= %(since)s AND submitted IS NOT NULL),
                   MIN(submitted) FILTER (WHERE state IN ('submitting', 'pending'))
              FROM (SELECT %(group_by)s AS company_id, l10n_cn_einv_state AS state,
                           l10n_cn_einv_issue_time AS issued, l10n_cn_einv_submitted_at AS submitted
                      FROM account_move
                     WHERE company_id IN %(companies)s
                       AND move_type IN ('out_invoice', 'out_refund')
                       AND l10n_cn_einv_state IN %(states)s
                       AND %(where)s) moves
             GROUP BY GROUPING SETS ((company_id), ())
        """, today=china_midnight_utc(now), tomorrow=china_midnight_utc(now, days=1),
            month=china_month_start_utc(now), next_month=china_month_start_utc(now, months=1),
            since=now - timedelta(days=WINDOW_DAYS), waiting=WAITING_STATES, companies=tuple(company_ids),
            group_by=SQL.identifier("account_move", group_by), where=where or SQL("TRUE"),
            states=tuple(value for value, _label in self._l10n_cn_einv_states() if value != "not_needed")))
        figures = {}
        for (key, is_total, today, month, waiting, failed, submitted, failed_recent, median, p95,
             oldest) in self.env.cr.fetchall():
            # the total under None; the invoices without a value of ``group_by`` (no store) under False
            figures[None if is_total else (key or False)] = {
                "issued_today": today, "issued_month": month, "pending_count": waiting, "failed_count": failed,
                "submitted_30d": submitted, "failed_30d": failed_recent,
                "exception_rate": round(100.0 * failed_recent / submitted, 2) if submitted else 0.0,
                "issue_median_seconds": median, "issue_p95_seconds": p95,
                "oldest_pending_at": oldest,
                "sync_lag_seconds": (now - oldest).total_seconds() if oldest else None,
            }
        return figures

    @api.model
    def _l10n_cn_einv_states(self):
        return self.env["account.move"]._fields["l10n_cn_einv_state"]._description_selection(self.env)

    def web_read(self, specification):
        # EXTENDS 'web': reading the dashboard asks the platform for the credit quota and logs that
        # exchange, so the request needs a read/write cursor (web_read is read-only by default)
        return super().web_read(specification)

    web_read._readonly = False

    # --- actions -------------------------------------------------------------------------------------

    @api.model
    def action_l10n_cn_einv_open(self):
        """The menu's dashboard: a saved record, so that it reads as a page of figures (no "New", no
        save or discard) and the breadcrumbs of what it opens name it."""
        check_access(self.env.companies, auditors=True)
        dashboard = self.create({})
        return {
            "type": "ir.actions.act_window", "name": _("E-Invoice Dashboard"), "res_model": self._name,
            "res_id": dashboard.id, "view_mode": "form", "views": [(False, "form")], "target": "current",
        }

    def action_refresh(self):
        """Figures are computed on display: the form reloads the record after the button."""
        for dashboard in self:
            check_access(dashboard._scope(), auditors=True)
        return True

    def _l10n_cn_einv_analysis(self, name, mode, groupbys, *, measure="invoice_count", domain=(), first=None,
                               measures=None, columns=None):
        """The analysis, of issued e-invoices (a filter the user can remove), as ``first`` view."""
        self.ensure_one()
        check_access(self._scope(), auditors=True)
        action = self.env["ir.actions.act_window"]._for_xml_id("l10n_cn_einvoice.action_l10n_cn_einv_report")
        if first:
            action["views"] = sorted(action["views"], key=lambda view: view[1] != first)
        action.update({
            "name": name,
            "domain": [*self._l10n_cn_einv_report_scope_domain(), *domain],
            "context": {"search_default_issued": 1,
                        "graph_mode": mode, "graph_groupbys": groupbys, "graph_measure": measure,
                        "pivot_row_groupby": groupbys, "pivot_measures": measures or [measure, "amount_total"],
                        **({"pivot_column_groupby": columns} if columns else {})},
        })
        return action

    def _l10n_cn_einv_report_scope_domain(self):
        """The dashboard's invoices as a domain on the analysis (l10n_cn_einv.report)."""
        self.ensure_one()
        return [("company_id", "in", self._scope().ids)]

    def action_open_trend(self):
        return self._l10n_cn_einv_analysis(_("E-Invoices per Month"), "line", ["date:month"])

    def action_open_by_tax_rate(self):
        """Amounts without tax, tax and with tax per rate, red invoices deducted: the VAT return's figures."""
        return self._l10n_cn_einv_analysis(
            _("E-Invoiced Amounts by Tax Rate"), "bar", ["tax_rate"], measure="amount_untaxed", first="pivot",
            measures=["amount_untaxed", "amount_tax", "amount_total"])

    def action_open_by_product(self):
        return self._l10n_cn_einv_analysis(_("E-Invoiced Amounts by Product"), "pie", ["product_id"],
                                           measure="amount_untaxed")

    def action_open_by_tax_code(self):
        return self._l10n_cn_einv_analysis(_("E-Invoiced Amounts by Classification Code"), "pie", ["tax_code_id"],
                                           measure="amount_untaxed")

    def action_open_by_company(self):
        return self._l10n_cn_einv_analysis(_("E-Invoices by Company"), "bar", ["company_id"])

    def action_open_by_branch(self):
        """The head office view: per head office and branch, the invoices issued and failed and the
        amounts per tax rate."""
        return self._l10n_cn_einv_analysis(
            _("E-Invoices by Branch and Tax Rate"), "bar", ["root_company_id", "company_id"],
            measure="amount_untaxed", first="pivot", columns=["tax_rate"],
            measures=["invoice_count", "issued_count", "failed_count", "amount_untaxed", "amount_tax", "amount_total"])

    def _l10n_cn_einv_open_moves(self, name, domain):
        self.ensure_one()
        check_access(self._scope(), auditors=True)
        return {
            "type": "ir.actions.act_window", "name": name, "res_model": "account.move",
            "view_mode": "list,form", "views": [(False, "list"), (False, "form")],
            "domain": [*self._l10n_cn_einv_scope_domain(),
                       ("move_type", "in", ("out_invoice", "out_refund")), *domain],
        }

    def action_open_pending(self):
        return self._l10n_cn_einv_open_moves(_("Pending E-Invoices"),
                                             [("l10n_cn_einv_state", "in", WAITING_STATES)])

    def action_open_failed(self):
        return self._l10n_cn_einv_open_moves(_("Failed E-Invoices"), [("l10n_cn_einv_state", "=", "failed")])
