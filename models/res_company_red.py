from odoo import fields, models


class ResCompany(models.Model):
    _inherit = "res.company"

    l10n_cn_einv_auto_red_on_return = fields.Boolean(
        "Red-Reverse Returns Automatically", default=True,
        help="When a customer return of goods already e-invoiced is validated, create the credit note "
             "(reason 02 销货退回) and start its red reversal.")


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    l10n_cn_einv_auto_red_on_return = fields.Boolean(
        related="company_id.l10n_cn_einv_auto_red_on_return", readonly=False)
