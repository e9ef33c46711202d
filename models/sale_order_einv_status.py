"""One e-invoice status per sale order, for its list: what its customer invoices' e-invoices say."""

from odoo import api, fields, models

from .account_move import IN_PROGRESS
from .l10n_cn_einv_submission import WAITING_LOGIN

ORDER_STATUSES = [
    ("not_requested", "Not Requested"),
    ("in_progress", "In Progress"),
    ("failed", "Failed"),
    ("partial", "Partly Issued"),
    ("issued", "Issued"),
]


class SaleOrder(models.Model):
    _inherit = "sale.order"

    l10n_cn_einv_order_status = fields.Selection(
        ORDER_STATUSES, "E-Invoice", compute="_compute_l10n_cn_einv_order_status",
        help="The e-invoices of the order's customer invoices: Issued when every one is, Partly Issued when "
             "some are, Failed when one failed, In Progress while the platform works on one. Blank without "
             "a customer invoice.")

    @api.depends("invoice_ids.l10n_cn_einv_state", "invoice_ids.state")
    def _compute_l10n_cn_einv_order_status(self):
        for order in self:
            invoices = order.invoice_ids.filtered(
                lambda move: move.move_type == "out_invoice" and move.state != "cancel")
            states = set(invoices.mapped("l10n_cn_einv_state"))
            if not invoices or not order.l10n_cn_einv_applicable:
                status = False
            elif "failed" in states:
                status = "failed"
            elif states & {*IN_PROGRESS, WAITING_LOGIN}:
                status = "in_progress"
            elif states == {"issued"}:
                status = "issued"
            elif "issued" in states:
                status = "partial"
            else:
                status = "not_requested"
            order.l10n_cn_einv_order_status = status
