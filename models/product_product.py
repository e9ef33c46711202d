from odoo import api, models

from .product_template import tax_code_warning_popup


class ProductProduct(models.Model):
    _inherit = "product.product"

    def action_l10n_cn_einv_suggest_tax_codes(self):
        # The variant form shows the template's button; template methods are not delegated.
        return self.product_tmpl_id.action_l10n_cn_einv_suggest_tax_codes()

    @api.onchange("taxes_id", "l10n_cn_einv_tax_code_id", "categ_id")
    def _onchange_l10n_cn_einv_tax_code_warning(self):
        # the variant form edits the template's fields: it warns too
        return tax_code_warning_popup(self)
