"""What a batch action did, as a dialog a person reads: the counts, then one line per record with
its outcome (an e-invoice number, or why not). A toast of run-together lines is not readable once
a selection holds more than a few invoices."""

from odoo import api, fields, models

OUTCOMES = [("done", "Done"), ("waiting", "Waiting"), ("refused", "Not Done"), ("skipped", "Skipped")]


class L10nCnEinvBatchResult(models.TransientModel):
    _name = "l10n_cn_einv.batch.result"
    _description = "E-Invoice Batch Result"

    title = fields.Char(readonly=True)
    summary = fields.Char(readonly=True)
    line_ids = fields.One2many("l10n_cn_einv.batch.result.line", "result_id", readonly=True)

    @api.model
    def _l10n_cn_einv_dialog(self, title, rows):
        """The dialog of a batch: ``rows`` are (record name, outcome text, one of OUTCOMES' keys)."""
        labels = dict(self.env["l10n_cn_einv.batch.result.line"]._fields["outcome"]._description_selection(self.env))
        counts = {key: sum(1 for row in rows if row[2] == key) for key, _label in OUTCOMES}
        summary = self.env._("%(count)s records: ", count=len(rows)) + ", ".join(
            f"{labels[key]} {count}" for key, count in counts.items() if count)
        result = self.create({
            "title": title, "summary": summary,
            "line_ids": [fields.Command.create({"sequence": index, "name": name, "detail": detail, "outcome": outcome})
                         for index, (name, detail, outcome) in enumerate(rows)],
        })
        return {
            "type": "ir.actions.act_window",
            "name": title,
            "res_model": self._name,
            "res_id": result.id,
            "view_mode": "form",
            "target": "new",
        }


class L10nCnEinvBatchResultLine(models.TransientModel):
    _name = "l10n_cn_einv.batch.result.line"
    _description = "E-Invoice Batch Result Line"
    _order = "sequence"

    result_id = fields.Many2one("l10n_cn_einv.batch.result", required=True, ondelete="cascade")
    sequence = fields.Integer()
    name = fields.Char("Record", readonly=True)
    detail = fields.Char("Outcome", readonly=True)
    outcome = fields.Selection(OUTCOMES, string="Status", readonly=True)
