from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.account.controllers.portal import PortalAccount

from ..models.l10n_cn_einv_files import FILE_FIELDS, platform_file
from .self_invoice import L10nCnEinvSelfInvoice


class L10nCnEinvPortal(PortalAccount):

    @http.route()
    def portal_my_invoice_detail(self, invoice_id, access_token=None, report_type=None, download=False, **kw):
        """The PDF of an invoice whose e-invoice is issued (blue or red) is the platform's: the page's
        Download and its printable PDF give the 数电票 itself, not Odoo's invoice report (which the
        buyer could take for the tax document). Only a file :func:`platform_file` proves the
        platform's is given; without one, Odoo's report as before."""
        if report_type == "pdf":
            try:
                invoice_sudo = self._document_check_access("account.move", invoice_id, access_token)
            except (AccessError, MissingError):
                invoice_sudo = None   # Odoo's own answer (a redirect) below
            attachment = invoice_sudo and platform_file(invoice_sudo, "pdf")
            if attachment:
                stream = request.env["ir.binary"]._get_stream_from(attachment)
                return stream.get_response(as_attachment=bool(download))
        return super().portal_my_invoice_detail(invoice_id, access_token=access_token, report_type=report_type,
                                                download=download, **kw)

    @http.route("/my/invoices/<int:invoice_id>/l10n_cn_einvoice/<string:file_format>", type="http",
                auth="public", website=True)
    def l10n_cn_einv_portal_download(self, invoice_id, file_format, access_token=None, **kwargs):
        """The e-invoice PDF or XML of an invoice the visitor may see (portal user or access token):
        only the platform's own file of that invoice (see models/l10n_cn_einv_files.py), whatever
        its file fields point at; anything else is not found."""
        if file_format not in FILE_FIELDS:
            raise request.not_found()
        try:
            invoice_sudo = self._document_check_access("account.move", invoice_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        attachment = platform_file(invoice_sudo, file_format)
        if not attachment:
            raise request.not_found()
        stream = request.env["ir.binary"]._get_stream_from(attachment)
        return stream.get_response(as_attachment=True)

    @http.route("/my/orders/<int:order_id>/l10n_cn_einvoice/request", type="http", auth="public", methods=["GET"],
                sitemap=False)
    def l10n_cn_einv_portal_request(self, order_id, access_token=None, **kwargs):
        """申请开票 on the portal page of an order: only for whoever may see the order (its customer,
        or its access token); then the request page of the order."""
        env = L10nCnEinvSelfInvoice._l10n_cn_einv_env()
        try:
            order_sudo = self._document_check_access("sale.order", order_id, access_token)
        except (AccessError, MissingError):
            return request.render("l10n_cn_einvoice.l10n_cn_einv_request_message", {
                "kind": "foreign", "company": None, "message": env._(
                    "This order is not yours, or the link is not valid: sign in with the account that placed it."),
            }, status=403)
        req = order_sudo._l10n_cn_einv_request()
        return request.redirect(req._l10n_cn_einv_path(), code=303)
