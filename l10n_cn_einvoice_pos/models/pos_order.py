"""POS orders: their e-invoice as the till and the back office see it, issued exactly once."""

from odoo import api, fields, models
from odoo.tools import SQL

# Context key: the order comes from the till (sync_from_ui): its e-invoice is sent at once.
AT_TILL = "l10n_cn_einv_pos_at_till"


class PosOrder(models.Model):
    _name = "pos.order"
    _inherit = ["pos.order", "l10n_cn_einv.flow.mixin"]

    # Read from the invoice: written by the e-invoice flow only (refused from RPC, see the mixin).
    l10n_cn_einv_state = fields.Selection(
        string="E-Invoice Status", related="account_move.l10n_cn_einv_state", store=True,
        readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_number = fields.Char(
        "E-Invoice Number", related="account_move.l10n_cn_einv_number", store=True, readonly=True,
        l10n_cn_einv_flow=True)

    @api.model
    def sync_from_ui(self, orders):
        # EXTENDS point_of_sale: a till resends an order until it has the answer (lost connection,
        # a second click, several devices): one order, one invoice, one e-invoice whatever arrives.
        # Odoo skips an order it already has; this makes two requests carrying the same order at
        # once see each other: each updates its sessions' rows first, so the second one waits for
        # the first to commit and is then retried by Odoo (a serialization failure) with a
        # snapshot that holds the order.
        session_ids = sorted({order.get("session_id") for order in orders if order.get("session_id")})
        if session_ids:
            self.env.cr.execute(SQL(
                "UPDATE pos_session SET write_date = write_date WHERE id IN %s", tuple(session_ids)))
        return super(PosOrder, self.with_context(**{AT_TILL: True})).sync_from_ui(orders)

    def _generate_pos_order_invoice(self):
        # EXTENDS point_of_sale: invoices each order once (two clicks, the till and the back office,
        # closing the session), then issues the e-invoice of the invoices made, without clicks.
        if self.ids:
            self.env.cr.execute(SQL("SELECT id FROM pos_order WHERE id IN %s FOR NO KEY UPDATE",
                                    tuple(self.ids)))
            self.invalidate_recordset(["account_move", "state"])
        invoiced = {order: order.account_move for order in self}
        result = super()._generate_pos_order_invoice()
        new_moves = self.env["account.move"].union(*(
            order.account_move for order in self if order.account_move and not invoiced[order]))
        new_moves._l10n_cn_einv_pos_issue(send_now=bool(self.env.context.get(AT_TILL)))
        return result
