"""A store manager opens the tills of their own stores only (``/pos/ui`` works as superuser).

The receipt's QR code (Odoo's own self-invoicing, ``/pos/ticket`` then ``/pos/ticket/validate``)
leads the shopper of an e-invoicing company to the 数电票 request page of the main module instead
of Odoo's generic invoice form: the title is checked as an e-invoice needs it, and the e-invoice is
issued once (docs/self-invoice.md)."""

from odoo import http
from odoo.http import request

from odoo.addons.point_of_sale.controllers.main import PosController


class L10nCnEinvPosController(PosController):

    @http.route()
    def show_ticket_validation_screen(self, access_token="", **kwargs):
        order = access_token and request.env["pos.order"].sudo().search([("access_token", "=", access_token)],
                                                                           limit=1)
        if order and order.l10n_cn_einv_applicable:
            return request.redirect(order._l10n_cn_einv_request()._l10n_cn_einv_path(), code=303)
        return super().show_ticket_validation_screen(access_token=access_token, **kwargs)

    @http.route()
    def pos_web(self, config_id=False, from_backend=False, **k):
        # Odoo opens the shop named in the URL as superuser, whatever shop it is (it would create a
        # session of another store, or log the user into its open one): a store manager who names a
        # shop not theirs goes back to the list of their shops, as for a shop that does not exist.
        user = request.env.user
        if config_id and user.l10n_cn_einv_store_restricted and \
                (not str(config_id).isdigit() or int(config_id) not in user.l10n_cn_einv_pos_config_ids.ids):
            return request.redirect("/odoo/action-point_of_sale.action_client_pos_menu")
        return super().pos_web(config_id=config_id, from_backend=from_backend, **k)
