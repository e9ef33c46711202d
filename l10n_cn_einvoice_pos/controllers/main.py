"""The receipt's QR code (Odoo's own self-invoicing, ``/pos/ticket`` then ``/pos/ticket/validate``)
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
