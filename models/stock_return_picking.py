from collections import defaultdict

from odoo import models


class StockReturnPicking(models.TransientModel):
    _inherit = "stock.return.picking"

    def _create_return(self):
        # Refused here already, before a return picking that could never be validated exists.
        adding = defaultdict(float)
        for line in self.product_return_moves.filtered("move_id"):
            adding[line.move_id] += line.uom_id._compute_quantity(line.quantity, line.move_id.product_uom)
        self.env["stock.move"]._l10n_cn_einv_check_return_quantities(adding)
        return super()._create_return()
