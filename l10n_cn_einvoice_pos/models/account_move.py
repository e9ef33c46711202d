"""The store (POS shop) of an e-invoice, and the till's own way to issue: without clicks."""

import logging

from odoo import api, fields, models
from odoo.exceptions import UserError

_logger = logging.getLogger(__name__)


class AccountMove(models.Model):
    _inherit = "account.move"

    # Which store an e-invoice belongs to, for reports by store: the shop of its POS orders.
    l10n_cn_einv_pos_config_id = fields.Many2one(
        "pos.config", "Store", compute="_compute_l10n_cn_einv_pos_config_id", store=True, readonly=True,
        index="btree_not_null", l10n_cn_einv_flow=True,
        help="The Point of Sale shop whose order this invoice bills.")

    @api.depends("pos_order_ids.config_id")
    def _compute_l10n_cn_einv_pos_config_id(self):
        for move in self:
            move.l10n_cn_einv_pos_config_id = move.sudo().pos_order_ids.config_id[:1]

    def _l10n_cn_einv_rollout_key(self):
        # EXTENDS l10n_cn_einvoice: a POS order is the unit of the gray rollout, as a sale order is
        orders = self.sudo().pos_order_ids
        if orders:
            return f"pos.order:{orders[:1].id}"
        return super()._l10n_cn_einv_rollout_key()

    def _l10n_cn_einv_pos_issue(self, send_now=False):
        """The till asked for an invoice: queue its e-invoice, once, whatever the company's automatic
        issue and gray rollout say (a person asked for it). What cannot be issued as it is fails
        with every problem, for a person to complete and retry, as automatic issue does; nothing is
        sent then. ``send_now``: send at once, as the Issue button does, so that the receipt can
        carry the number; whatever the platform does not answer now the queue sends."""
        moves = self.sudo().filtered(lambda m: m.move_type == "out_invoice" and m.state == "posted"
                                     and m.l10n_cn_einv_applicable)
        queued = moves._l10n_cn_einv_enqueue_unattended(lambda env: env._("E-invoice of a POS order not issued"))
        if not queued:
            return queued
        if send_now:
            try:
                queued._l10n_cn_einv_send_now()
            except UserError as error:
                # the platform is not configured, or the like: the queue will say so to a manager
                _logger.warning("POS e-invoices %s left to the queue: %s", queued.ids, error)
        # The queue takes what is still to issue (the platform was busy, or nothing was sent now).
        if queued.filtered(lambda m: m.l10n_cn_einv_state == "to_issue"):
            self._l10n_cn_einv_trigger_queue()
        return queued
