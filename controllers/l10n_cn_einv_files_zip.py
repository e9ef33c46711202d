from odoo import http
from odoo.exceptions import AccessError, MissingError, UserError
from odoo.http import content_disposition, request


class L10nCnEinvFilesZip(http.Controller):

    @http.route("/l10n_cn_einvoice/files/<int:wizard_id>.zip", type="http", auth="user", methods=["GET"])
    def l10n_cn_einv_files_zip(self, wizard_id, **kwargs):
        """The e-invoice files of a period or a selection (l10n_cn_einv.period.wizard) as one zip:
        only the caller's own request (a wizard is its creator's alone), only invoices the caller
        may read, of the companies where the caller is an e-invoice user; anything else is not found."""
        wizard = request.env["l10n_cn_einv.period.wizard"].browse(wizard_id)
        try:
            wizard.check_access("read")
            name, data = wizard.exists()._l10n_cn_einv_zip() if wizard.exists() else (None, None)
        except (AccessError, MissingError, UserError, ValueError):
            raise request.not_found() from None
        if data is None:
            raise request.not_found()
        return request.make_response(data, headers=[
            ("Content-Type", "application/zip"), ("Content-Length", str(len(data))),
            ("Content-Disposition", content_disposition(name)), ("X-Content-Type-Options", "nosniff")])
