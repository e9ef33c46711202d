"""The issued e-invoices of a period (or of a selection of invoices): their files as one zip, and a
printable list with the totals per tax rate that the VAT return asks for.

The zip is built when it is downloaded (controllers/l10n_cn_einv_files_zip.py), from the files
:func:`~..models.l10n_cn_einv_files.platform_file` confirms the platform sent; every action checks
the caller's e-invoice group and company, and the invoices are read with the caller's rights.
"""

import io
import zipfile
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError, ValidationError

from ..fapiao.chinatime import china_days_utc, china_today
from ..models.l10n_cn_einv_files import platform_file
from ..models.l10n_cn_einv_guard import check_access

ZIP_FORMATS = ("pdf", "ofd")    # the OFD, where the platform gives one, is the legal original
ZIP_ROUTE = "/l10n_cn_einvoice/files/%s.zip"


def _previous_month(today):
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


class L10nCnEinvPeriodWizard(models.TransientModel):
    """Company and period (days in China time) of issued e-invoices, blue and red; or the invoices
    chosen in a list (``move_ids``), whatever their period."""

    _name = "l10n_cn_einv.period.wizard"
    _description = "E-Invoices of a Period"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.companies.ids)])
    date_from = fields.Date(
        "From", required=True, default=lambda self: _previous_month(china_today(fields.Datetime.now()))[0])
    date_to = fields.Date(
        "To", required=True, default=lambda self: _previous_month(china_today(fields.Datetime.now()))[1])
    move_ids = fields.Many2many("account.move", string="Invoices", readonly=True)

    @api.constrains("date_from", "date_to")
    def _check_l10n_cn_einv_period(self):
        for wizard in self:
            if wizard.date_from > wizard.date_to:
                raise ValidationError(_("The period must end on or after the day it starts."))

    # --- which invoices -------------------------------------------------------------------------

    def _l10n_cn_einv_moves(self):
        """The issued e-invoices, blue and red, as the caller may read them (AccessError otherwise),
        ordered by issue time."""
        self.ensure_one()
        if self.move_ids:
            moves = self.move_ids
            check_access(moves)
            moves.check_access("read")
            moves = moves.filtered("l10n_cn_einv_number")
        else:
            check_access(self.company_id)
            start, end = china_days_utc(self.date_from, self.date_to)
            moves = self.env["account.move"].with_company(self.company_id).search([
                ("company_id", "=", self.company_id.id), ("move_type", "in", ("out_invoice", "out_refund")),
                ("l10n_cn_einv_number", "!=", False),
                ("l10n_cn_einv_issue_time", ">=", start), ("l10n_cn_einv_issue_time", "<", end),
            ])
        return moves.sorted(lambda m: (m.l10n_cn_einv_issue_time or fields.Datetime.now(), m.id))

    # --- the zip ---------------------------------------------------------------------------------

    def _l10n_cn_einv_files(self):
        """[(name in the zip, attachment)] of the platform's files of the invoices."""
        files = []
        for move in self._l10n_cn_einv_moves():
            for file_format in ZIP_FORMATS:
                attachment = platform_file(move, file_format)
                if attachment:
                    files.append((f"{move.l10n_cn_einv_number}.{file_format}", attachment))
        return files

    def _l10n_cn_einv_zip_name(self):
        self.ensure_one()
        if self.move_ids:
            return _("E-Invoices %s.zip", china_today(fields.Datetime.now()).strftime("%Y%m%d"))
        return _("E-Invoices %(company)s %(start)s-%(end)s.zip", company=self.company_id.name,
                 start=self.date_from.strftime("%Y%m%d"), end=self.date_to.strftime("%Y%m%d"))

    def _l10n_cn_einv_zip(self):
        """(file name, bytes) of the zip of the invoices' files; UserError when there is none."""
        files = self._l10n_cn_einv_files()
        if not files:
            raise UserError(_("None of these invoices has an e-invoice file from the tax platform to download."))
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, attachment in files:
                archive.writestr(name, attachment.raw)
        return self._l10n_cn_einv_zip_name(), buffer.getvalue()

    def action_download_zip(self):
        self.ensure_one()
        # files the poll cron has not brought yet (issued seconds ago): the person asking waits for them
        self._l10n_cn_einv_moves()._l10n_cn_einv_fetch_missing_files()
        self._l10n_cn_einv_zip()    # says so now, in a dialog, when there is nothing to download
        return {"type": "ir.actions.act_url", "url": ZIP_ROUTE % self.id, "target": "download"}

    @api.model
    def action_download_selection(self, move_ids):
        """The list's action: the e-invoice files of the chosen invoices as one zip."""
        moves = self.env["account.move"].browse(move_ids)
        check_access(moves)
        moves.check_access("read")
        wizard = self.create({"company_id": (moves.company_id[:1] or self.env.company).id,
                              "move_ids": [fields.Command.set(moves.ids)]})
        return wizard.action_download_zip()

    # --- the printable list ------------------------------------------------------------------------

    def action_print(self):
        self.ensure_one()
        check_access(self.company_id)
        return self.env.ref("l10n_cn_einvoice.action_report_l10n_cn_einv_period").report_action(self, config=False)
