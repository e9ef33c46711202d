from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.account.controllers.portal import PortalAccount

from ..models.l10n_cn_einv_files import FILE_FIELDS, platform_file


class L10nCnEinvPortal(PortalAccount):

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
