from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .l10n_cn_einv_red_form import RED_REASONS


class AccountMoveReversal(models.TransientModel):
    """The credit note wizard asks why an issued e-invoice is red-reversed (冲红原因)."""

    _inherit = "account.move.reversal"

    l10n_cn_einv_red_applicable = fields.Boolean("Red Reversal Applies", compute="_compute_l10n_cn_einv_red_applicable")
    l10n_cn_einv_red_reason = fields.Selection(
        RED_REASONS, string="Red Reversal Reason", compute="_compute_l10n_cn_einv_red_reason", store=True,
        readonly=False,
        help="Printed on the red-letter confirmation form (红字确认单) raised when the credit note is posted.")

    @api.depends("move_ids")
    def _compute_l10n_cn_einv_red_applicable(self):
        for wizard in self:
            wizard.l10n_cn_einv_red_applicable = any(
                move.move_type == "out_invoice" and move.l10n_cn_einv_state == "issued" for move in wizard.move_ids)

    @api.depends("move_ids")
    def _compute_l10n_cn_einv_red_reason(self):
        for wizard in self:
            # Goods came back on the invoiced orders: a sales return (销货退回) rather than an error.
            returns = wizard.move_ids.invoice_line_ids.sale_line_ids.move_ids.filtered(
                lambda m: m.state == "done" and m.origin_returned_move_id)
            wizard.l10n_cn_einv_red_reason = "02" if returns else "01"

    def _prepare_default_reversal(self, move):
        vals = super()._prepare_default_reversal(move)
        if move.l10n_cn_einv_state == "issued":
            vals["l10n_cn_einv_red_reason"] = self.l10n_cn_einv_red_reason or "01"
        return vals

    def reverse_moves(self, is_modify=False):
        for move in self.move_ids.filtered(lambda m: m.move_type == "out_invoice"):
            if move._l10n_cn_einv_needs_red_form() and move.l10n_cn_einv_red_status == "full":
                raise UserError(_("E-invoice %(number)s of %(invoice)s is already fully red-reversed: there is "
                                  "nothing left to reverse.", number=move.l10n_cn_einv_number, invoice=move.name))
        return super().reverse_moves(is_modify=is_modify)
