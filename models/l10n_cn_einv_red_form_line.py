"""What a red-letter form reverses of each line of its blue invoice."""

from odoo import api, fields, models

from ..fapiao import documents
from .l10n_cn_einv_red_form import money, quantity_decimal


class L10nCnEinvRedFormLine(models.Model):
    _name = "l10n_cn_einv.red.form.line"
    _inherit = ["l10n_cn_einv.flow.mixin"]
    _description = "Red-Letter Confirmation Form Line"
    _l10n_cn_einv_flow_only = True
    _order = "form_id, blue_line_no, id"

    form_id = fields.Many2one("l10n_cn_einv.red.form", required=True, ondelete="cascade", index=True)
    company_id = fields.Many2one(related="form_id.company_id", store=True)
    currency_id = fields.Many2one(related="form_id.currency_id")
    blue_line_no = fields.Integer("Blue Line No.", required=True,
                                  help="Line number on the blue e-invoice (1-based, in printing order).")
    move_line_id = fields.Many2one("account.move.line", "Invoice Line", ondelete="set null")
    product_id = fields.Many2one(related="move_line_id.product_id")
    quantity = fields.Float(digits="Product Unit of Measure", help="Negative; 0 when only an amount is reversed.")
    amount = fields.Monetary(help="Excluding tax, negative.")
    tax_amount = fields.Monetary("Tax", help="Negative.")
    amount_with_tax = fields.Monetary("Total", compute="_compute_amount_with_tax")

    @api.depends("amount", "tax_amount")
    def _compute_amount_with_tax(self):
        for line in self:
            line.amount_with_tax = line.amount + line.tax_amount

    def _l10n_cn_einv_document_line(self):
        return documents.RedFormLine(blue_line_no=self.blue_line_no, amount=money(self.amount),
                                     tax_amount=money(self.tax_amount), quantity=quantity_decimal(self.quantity))
