from odoo import api, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from .l10n_cn_einv_guard import in_flow

# What makes an attachment the file it is, and whose it is.
CONTENT_FIELDS = {"raw", "datas", "db_datas", "store_fname", "checksum", "file_size", "mimetype", "type", "url",
                  "res_model", "res_id", "res_field", "company_id"}


class IrAttachment(models.Model):
    _inherit = "ir.attachment"

    def _l10n_cn_einv_platform_files(self):
        """Those of these attachments that are e-invoice files the platform sent (an invoice's, or a
        credit note's red invoice's, PDF or XML)."""
        if not self.ids:
            return self.browse()
        ids = tuple(self.ids)
        self.env.cr.execute(SQL("""
            SELECT unnest(ARRAY[l10n_cn_einv_pdf_id, l10n_cn_einv_xml_id, l10n_cn_einv_ofd_id]) FROM account_move
             WHERE l10n_cn_einv_pdf_id IN %s OR l10n_cn_einv_xml_id IN %s OR l10n_cn_einv_ofd_id IN %s
        """, ids, ids, ids))
        return self.browse({row[0] for row in self.env.cr.fetchall()} & set(self.ids))

    def _l10n_cn_einv_refuse_platform_files(self, action):
        if in_flow():
            return
        files = self._l10n_cn_einv_platform_files()
        if files:
            raise UserError(self.env._(
                "%(action)s is not possible: %(files)s are e-invoice files as the tax platform issued them, kept "
                "unchanged for the tax records.", action=action, files=", ".join(files.mapped("name"))))

    def write(self, vals):
        if CONTENT_FIELDS & set(vals):
            self._l10n_cn_einv_refuse_platform_files(self.env._("Changing the file"))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_l10n_cn_einv_platform_files(self):
        self._l10n_cn_einv_refuse_platform_files(self.env._("Deleting the file"))
