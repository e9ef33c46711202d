"""POS orders: their e-invoice as the till and the back office see it, issued exactly once."""

from odoo import _, api, fields, models
from odoo.tools import SQL

from odoo.addons.l10n_cn_einvoice.models.account_move_send import ISSUE_LATER

# Context key: the order comes from the till (sync_from_ui): its e-invoice is sent at once.
AT_TILL = "l10n_cn_einv_pos_at_till"
# Context key: the shopper's own request invoices the order: its e-invoice is issued with their title.
BY_REQUEST = "l10n_cn_einv_pos_by_request"


class PosOrder(models.Model):
    _name = "pos.order"
    _inherit = ["pos.order", "l10n_cn_einv.flow.mixin", "l10n_cn_einv.request.mixin"]

    # Read from the invoice: written by the e-invoice flow only (refused from RPC, see the mixin).
    l10n_cn_einv_state = fields.Selection(
        string="E-Invoice Status", related="account_move.l10n_cn_einv_state", store=True,
        readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_number = fields.Char(
        "E-Invoice Number", related="account_move.l10n_cn_einv_number", store=True, readonly=True,
        l10n_cn_einv_flow=True)
    l10n_cn_einv_applicable = fields.Boolean("E-Invoicing Applies", compute="_compute_l10n_cn_einv_applicable")

    @api.depends("company_id.account_fiscal_country_id")
    def _compute_l10n_cn_einv_applicable(self):
        for order in self:
            order.l10n_cn_einv_applicable = order.company_id.account_fiscal_country_id.code == "CN"

    # --- the shopper's own request (扫码开票): the receipt's QR code, see controllers/main.py ----------

    def _l10n_cn_einv_request_refusal(self):
        self.ensure_one()
        if not self.l10n_cn_einv_applicable:
            return _("E-invoices are not issued for this purchase.")
        if self.state not in ("paid", "done", "invoiced"):
            return _("This purchase is not paid: its e-invoice can be requested once it is.")
        if self.amount_total <= 0:
            return _("A refund gets no e-invoice of its own: the e-invoice of the purchase is red-reversed.")
        if self.account_move and self.account_move.l10n_cn_einv_state != "not_needed":
            return _("The e-invoice of this purchase was already issued or is being issued: it is issued once only.")
        return None

    def _l10n_cn_einv_request_invoices(self, title_values):
        """The order's invoice (made now if the till did not), with the shopper's title, posted. A
        walk-in purchase is invoiced to a customer carrying that title (the company's customer with
        that taxpayer id, else a new one)."""
        self.ensure_one()
        if not self.account_move:
            if not self.partner_id:
                self.partner_id = self._l10n_cn_einv_request_partner(title_values)
            self.with_context(**{BY_REQUEST: True, ISSUE_LATER: True})._generate_pos_order_invoice()
        invoices = self.account_move
        invoices.write(title_values)
        return invoices

    def _l10n_cn_einv_request_partner(self, title_values):
        name, tax_id = title_values.get("l10n_cn_einv_buyer_name"), title_values.get("l10n_cn_einv_buyer_tax_id")
        partners = self.env["res.partner"].sudo()
        if tax_id:
            partner = partners.search([("vat", "=", tax_id), ("company_id", "in", [False, self.company_id.id])],
                                      limit=1)
            if partner:
                return partner
        email = title_values.get("l10n_cn_einv_buyer_email") or False
        return partners.create({
            "name": name, "is_company": bool(tax_id), "vat": tax_id or False, "email": email,
            "l10n_cn_einv_title_name": name, "l10n_cn_einv_email": email,
            "country_id": self.env.ref("base.cn").id,
        })

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
        if not self.env.context.get(BY_REQUEST):    # that flow issues it, with the shopper's title
            new_moves._l10n_cn_einv_pos_issue(send_now=bool(self.env.context.get(AT_TILL)))
        return result
