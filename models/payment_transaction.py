from odoo import models


class PaymentTransaction(models.Model):
    _inherit = "payment.transaction"

    def _post_process(self):
        # EXTENDS 'sale': a paid online order is invoiced and its e-invoice queued
        res = super()._post_process()
        self.filtered(lambda tx: tx.state == "done").sale_order_ids._l10n_cn_einv_auto_issue_paid()
        return res
