"""The dashboard by store: one store, or every store of the companies shown; a store manager's
dashboard counts their own stores only, whatever is asked for."""

from odoo import api, fields, models
from odoo.tools import SQL

from odoo.addons.l10n_cn_einvoice.models.l10n_cn_einv_dashboard import format_duration


class L10nCnEinvDashboard(models.TransientModel):
    _inherit = "l10n_cn_einv.dashboard"

    l10n_cn_einv_pos_config_id = fields.Many2one(
        "pos.config", "Store", domain=lambda self: [("company_id", "in", self.env.companies.ids)],
        help="Leave empty to see every store (and the invoices of no store) together.")
    l10n_cn_einv_store_table = fields.Html("Per Store", compute="_compute_l10n_cn_einv_store_table", sanitize=False)

    def _l10n_cn_einv_allowed_stores(self):
        """The stores the user is restricted to (a store manager), or None (head office: all)."""
        user = self.env.user
        return user.l10n_cn_einv_pos_config_ids if user.l10n_cn_einv_store_restricted else None

    def _l10n_cn_einv_moves_where(self):
        # EXTENDS l10n_cn_einvoice: the chosen store, and a store manager's own stores
        conditions = [super()._l10n_cn_einv_moves_where()]
        if self.l10n_cn_einv_pos_config_id:
            conditions.append(SQL("account_move.l10n_cn_einv_pos_config_id = %s", self.l10n_cn_einv_pos_config_id.id))
        stores = self._l10n_cn_einv_allowed_stores()
        if stores is not None:
            conditions.append(SQL("account_move.l10n_cn_einv_pos_config_id IN %s", tuple(stores.ids))
                              if stores else SQL("FALSE"))
        return SQL(" AND ").join(conditions)

    def _l10n_cn_einv_store_domain(self, field):
        domain = []
        if self.l10n_cn_einv_pos_config_id:
            domain.append((field, "=", self.l10n_cn_einv_pos_config_id.id))
        stores = self._l10n_cn_einv_allowed_stores()
        if stores is not None:
            domain.append((field, "in", stores.ids))
        return domain

    def _l10n_cn_einv_scope_domain(self):
        return [*super()._l10n_cn_einv_scope_domain(), *self._l10n_cn_einv_store_domain("l10n_cn_einv_pos_config_id")]

    def _l10n_cn_einv_report_scope_domain(self):
        return [*super()._l10n_cn_einv_report_scope_domain(), *self._l10n_cn_einv_store_domain("pos_config_id")]

    @api.depends("company_id", "l10n_cn_einv_pos_config_id")
    @api.depends_context("allowed_company_ids", "uid")
    def _compute_figures(self):
        return super()._compute_figures()

    @api.depends("company_id", "l10n_cn_einv_pos_config_id")
    @api.depends_context("allowed_company_ids", "uid")
    def _compute_l10n_cn_einv_store_table(self):
        for dashboard in self:
            companies = dashboard._scope()
            figures = self._l10n_cn_einv_figures(companies.ids, group_by="l10n_cn_einv_pos_config_id",
                                                 where=dashboard._l10n_cn_einv_moves_where())
            store_ids = [key for key in figures if key]
            # the stores' names only: a store manager may not read the shops' settings
            stores = self.env["pos.config"].sudo().browse(store_ids).sorted(lambda config: (config.name, config.id))
            dashboard.l10n_cn_einv_store_table = self.env["ir.qweb"]._render(
                "l10n_cn_einvoice_pos.l10n_cn_einv_dashboard_stores", {
                    "rows": [(store.name, figures[store.id]) for store in stores],
                    "format_duration": format_duration,
                }) if stores else False

    def action_l10n_cn_einv_open_by_store(self):
        """Per store, the invoices issued and failed and the amounts per tax rate."""
        return self._l10n_cn_einv_analysis(
            self.env._("E-Invoices by Store and Tax Rate"), "bar", ["pos_config_id"],
            measure="amount_untaxed", first="pivot", columns=["tax_rate"],
            measures=["invoice_count", "issued_count", "failed_count", "amount_untaxed", "amount_tax", "amount_total"])
