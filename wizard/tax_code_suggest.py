from odoo import api, fields, models

from ..models.l10n_cn_einv_guard import check_access


class L10nCnEinvTaxCodeSuggest(models.TransientModel):
    """Pick a tax classification code among those matching a product's name."""

    _name = "l10n_cn_einv.tax.code.suggest"
    _description = "Suggest Tax Classification Codes"

    product_tmpl_id = fields.Many2one("product.template", "Product", required=True, ondelete="cascade")
    suggestion_ids = fields.Many2many(
        "l10n_cn_einv.tax.code", relation="l10n_cn_einv_tax_code_suggest_rel", string="Suggestions",
        compute="_compute_suggestion_ids", store=True)
    tax_code_id = fields.Many2one(
        "l10n_cn_einv.tax.code", "Tax Classification Code", compute="_compute_tax_code_id", store=True,
        readonly=False, domain="[('id', 'in', suggestion_ids)]")

    @api.depends("product_tmpl_id")
    def _compute_suggestion_ids(self):
        for wizard in self:
            wizard.suggestion_ids = wizard.product_tmpl_id._l10n_cn_einv_suggest_tax_codes()

    @api.depends("suggestion_ids")
    def _compute_tax_code_id(self):
        for wizard in self:
            current = wizard.product_tmpl_id.l10n_cn_einv_tax_code_id
            wizard.tax_code_id = current if current in wizard.suggestion_ids else wizard.suggestion_ids[:1]

    def _l10n_cn_einv_action_open(self):
        self.ensure_one()
        return self._get_records_action(name=self.env._("Suggested Tax Classification Codes"), target="new")

    def action_apply(self):
        self.ensure_one()
        check_access(self.product_tmpl_id, "user")
        if self.tax_code_id:
            self.product_tmpl_id.l10n_cn_einv_tax_code_id = self.tax_code_id
        return {"type": "ir.actions.act_window_close"}
