from odoo import Command, api, fields, models

from ..models.l10n_cn_einv_guard import check_access


class L10nCnEinvTaxCodeSuggest(models.TransientModel):
    """Pick a tax classification code among those matching a product's name, best first."""

    _name = "l10n_cn_einv.tax.code.suggest"
    _description = "Suggest Tax Classification Codes"

    product_tmpl_id = fields.Many2one("product.template", "Product", required=True, ondelete="cascade")
    suggestion_ids = fields.Many2many(
        "l10n_cn_einv.tax.code", relation="l10n_cn_einv_tax_code_suggest_rel", string="Suggestions",
        compute="_compute_suggestion_ids", store=True)
    line_ids = fields.One2many(
        "l10n_cn_einv.tax.code.suggest.line", "wizard_id", "Suggested Codes", compute="_compute_suggestion_ids",
        store=True)
    tax_code_id = fields.Many2one(
        "l10n_cn_einv.tax.code", "Tax Classification Code", compute="_compute_tax_code_id", store=True,
        readonly=False, domain="[('id', 'in', suggestion_ids)]")

    @api.depends("product_tmpl_id")
    def _compute_suggestion_ids(self):
        for wizard in self:
            codes = wizard.product_tmpl_id._l10n_cn_einv_suggest_tax_codes()
            wizard.suggestion_ids = codes
            wizard.line_ids = [Command.clear()] + [
                Command.create({"sequence": rank, "tax_code_id": code.id}) for rank, code in enumerate(codes)]

    @api.depends("suggestion_ids")
    def _compute_tax_code_id(self):
        for wizard in self:
            current = wizard.product_tmpl_id.l10n_cn_einv_tax_code_id
            wizard.tax_code_id = current if current in wizard.suggestion_ids else wizard.line_ids[:1].tax_code_id

    def _l10n_cn_einv_action_open(self):
        self.ensure_one()
        return self._get_records_action(name=self.env._("Suggested Tax Classification Codes"), target="new")

    def action_apply(self):
        self.ensure_one()
        check_access(self.product_tmpl_id, "user")
        if self.tax_code_id:
            self.product_tmpl_id.l10n_cn_einv_tax_code_id = self.tax_code_id
        return {"type": "ir.actions.act_window_close"}


class L10nCnEinvTaxCodeSuggestLine(models.TransientModel):
    """One suggested code, in the order of the ranking, with the rates it allows."""

    _name = "l10n_cn_einv.tax.code.suggest.line"
    _description = "Suggested Tax Classification Code"
    _order = "sequence, id"

    wizard_id = fields.Many2one("l10n_cn_einv.tax.code.suggest", required=True, ondelete="cascade")
    sequence = fields.Integer()
    tax_code_id = fields.Many2one("l10n_cn_einv.tax.code", "Tax Classification Code", required=True,
                                  ondelete="cascade")
    code = fields.Char(related="tax_code_id.code")
    name = fields.Char(related="tax_code_id.name")
    short_name = fields.Char(related="tax_code_id.short_name")
    allowed_rates = fields.Char(
        "Allowed Tax Rates", compute="_compute_allowed_rates",
        help="The sales tax rates a product of this code may carry (besides the simplified levy rates).")

    @api.depends("tax_code_id")
    def _compute_allowed_rates(self):
        for line in self:
            line.allowed_rates = line.tax_code_id._l10n_cn_einv_allowed_rates_text() if line.tax_code_id else ""

    def action_use(self):
        self.ensure_one()
        self.wizard_id.tax_code_id = self.tax_code_id
        return self.wizard_id.action_apply()
