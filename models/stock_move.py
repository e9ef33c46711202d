"""Returns cannot take back more than was delivered: refused before a red reversal is attempted."""


from odoo import _, models
from odoo.exceptions import UserError
from odoo.tools import float_compare


def is_customer_return(move):
    return bool(move.origin_returned_move_id) and move.location_id.usage == "customer" \
        and move.company_id.account_fiscal_country_id.code == "CN"


class StockMove(models.Model):
    _inherit = "stock.move"

    def _l10n_cn_einv_check_return_quantities(self, adding=None):
        """Refuse a customer return taking back more than was delivered: the credit note and the
        red invoice would reverse goods the customer never had. ``adding``: {origin move:
        quantity} about to be returned on top of the moves in ``self``."""
        adding = adding or {}
        returns = self.filtered(is_customer_return)
        origins = (returns.origin_returned_move_id | self.browse([move.id for move in adding])).filtered(
            lambda m: m.location_dest_id.usage == "customer" and m.company_id.account_fiscal_country_id.code == "CN")
        problems = []
        for origin in origins:
            counted = origin.returned_move_ids.filtered(lambda m: m.state == "done" or m in returns)
            returned = adding.get(origin, 0.0) + sum(
                move.product_uom._compute_quantity(move.quantity, origin.product_uom) for move in counted)
            if float_compare(returned, origin.quantity, precision_rounding=origin.product_uom.rounding) > 0:
                problems.append(_("%(product)s: %(returned)s %(uom)s returned, but only %(delivered)s were delivered "
                                  "by %(picking)s.", product=origin.product_id.display_name, returned=returned,
                                  uom=origin.product_uom.name, delivered=origin.quantity,
                                  picking=origin.picking_id.name))
        if problems:
            raise UserError(_("A return cannot take back more than was delivered:\n%s", "\n".join(problems)))
