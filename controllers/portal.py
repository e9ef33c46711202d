from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from odoo.addons.account.controllers.portal import PortalAccount

FILE_FIELDS = {"pdf": "l10n_cn_einv_pdf_id", "xml": "l10n_cn_einv_xml_id"}


class L10nCnEinvPortal(PortalAccount):

    @http.route("/my/invoices/<int:invoice_id>/l10n_cn_einvoice/<string:file_format>", type="http",
                auth="public", website=True)
    def l10n_cn_einv_portal_download(self, invoice_id, file_format, access_token=None, **kwargs):
        """The e-invoice PDF or XML of an invoice the visitor may see (portal user or access token)."""
        field_name = FILE_FIELDS.get(file_format)
        if not field_name:
            raise request.not_found()
        try:
            invoice_sudo = self._document_check_access("account.move", invoice_id, access_token)
        except (AccessError, MissingError):
            raise request.not_found() from None
        attachment = invoice_sudo[field_name]
        if not attachment:
            raise request.not_found()
        stream = request.env["ir.binary"]._get_stream_from(attachment.sudo())
        return stream.get_response(as_attachment=True)
