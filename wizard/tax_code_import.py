import base64
import binascii

from odoo import fields, models
from odoo.exceptions import UserError

from ..fapiao import catalogue
from ..fapiao.errors import ValidationFailed
from ..fapiao.problems import describe_problem
from ..models.l10n_cn_einv_guard import check_access


class L10nCnEinvTaxCodeImport(models.TransientModel):
    """Update the tax classification code table from a newer CSV file."""

    _name = "l10n_cn_einv.tax.code.import"
    _description = "Import Tax Classification Codes"

    file = fields.Binary("CSV File", required=True, attachment=False)
    filename = fields.Char()
    state = fields.Selection([("upload", "Upload"), ("done", "Done")], default="upload", required=True)
    created_count = fields.Integer("Added", readonly=True)
    updated_count = fields.Integer("Updated", readonly=True)
    unchanged_count = fields.Integer("Unchanged", readonly=True)
    columns = fields.Char(default=", ".join(catalogue.CSV_COLUMNS), readonly=True)

    def action_import(self):
        """Check the whole file, then create the new codes and update the changed ones."""
        self.ensure_one()
        check_access(self.env.company, "manager")   # the table serves every company
        try:
            data = base64.b64decode(self.file or b"", validate=True)
        except binascii.Error:
            data = b""
        try:
            entries = catalogue.check_csv(data)
        except ValidationFailed as error:
            raise UserError(self.env._(
                "%(file)s was not imported and no code was changed:\n%(problems)s",
                file=self.filename or self.env._("The file"),
                problems="\n".join(describe_problem(problem, self.env.lang) for problem in error.errors))) from None
        counts = self.env["l10n_cn_einv.tax.code"]._l10n_cn_einv_upsert(entries)
        self.write({
            "state": "done",
            "created_count": counts["created"],
            "updated_count": counts["updated"],
            "unchanged_count": counts["unchanged"],
        })
        return self._get_records_action(name=self.env._("Import Tax Classification Codes"), target="new")
