"""The invoice's e-invoice files as the accountant gets them on the form: a link that downloads
the file, not the attachment's form (where a delete icon shows).

``l10n_cn_einv_pdf_id`` and its siblings stay the flow's record of where the files are; these
fields only show their content, read-only: they have no inverse and are the flow's facts to the
guard, so writing them is refused, and the attachments themselves refuse any change
(models/ir_attachment.py). They are read with the user's rights: whoever may read the invoice
may read its attachments."""

from odoo import api, fields, models

from .l10n_cn_einv_files import FILE_FIELDS


class AccountMove(models.Model):
    _inherit = "account.move"

    l10n_cn_einv_pdf_file = fields.Binary("E-Invoice PDF File", compute="_compute_l10n_cn_einv_files",
                                          l10n_cn_einv_flow=True)
    l10n_cn_einv_pdf_filename = fields.Char("E-Invoice PDF Name", compute="_compute_l10n_cn_einv_files")
    l10n_cn_einv_xml_file = fields.Binary("E-Invoice XML File", compute="_compute_l10n_cn_einv_files",
                                          l10n_cn_einv_flow=True)
    l10n_cn_einv_xml_filename = fields.Char("E-Invoice XML Name", compute="_compute_l10n_cn_einv_files")
    l10n_cn_einv_ofd_file = fields.Binary("E-Invoice OFD File", compute="_compute_l10n_cn_einv_files",
                                          l10n_cn_einv_flow=True)
    l10n_cn_einv_ofd_filename = fields.Char("E-Invoice OFD Name", compute="_compute_l10n_cn_einv_files")

    @api.depends("l10n_cn_einv_pdf_id", "l10n_cn_einv_xml_id", "l10n_cn_einv_ofd_id")
    def _compute_l10n_cn_einv_files(self):
        for move in self:
            for file_format, field_name in FILE_FIELDS.items():
                attachment = move[field_name]
                move[f"l10n_cn_einv_{file_format}_file"] = attachment.datas if attachment else False
                move[f"l10n_cn_einv_{file_format}_filename"] = attachment.name if attachment else False
