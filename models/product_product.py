from odoo import models


class ProductProduct(models.Model):
    _inherit = "product.product"

    def action_l10n_cn_einv_suggest_tax_codes(self):
        # The variant form shows the template's button; template methods are not delegated.
        return self.product_tmpl_id.action_l10n_cn_einv_suggest_tax_codes()
