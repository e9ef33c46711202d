from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..fapiao.chinatime import china_today
from ..models.l10n_cn_einv_guard import check_access


class L10nCnEinvAuditWizard(models.TransientModel):
    """Company and period of an e-invoice audit report (days in China time)."""

    _name = "l10n_cn_einv.audit.wizard"
    _description = "E-Invoice Audit Report"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.companies.ids)])
    date_from = fields.Date(
        "From", required=True, default=lambda self: china_today(fields.Datetime.now()).replace(day=1))
    date_to = fields.Date("To", required=True, default=lambda self: china_today(fields.Datetime.now()))

    @api.constrains("date_from", "date_to")
    def _check_l10n_cn_einv_period(self):
        for wizard in self:
            if wizard.date_from > wizard.date_to:
                raise ValidationError(_("The audit period must end on or after the day it starts."))

    def action_print(self):
        check_access(self, "manager", auditors=True)
        # The report has its own header and footer: no need to configure the document layout first.
        return self.env.ref("l10n_cn_einvoice.action_report_l10n_cn_einv_audit").report_action(self, config=False)
