"""Product categories carry the default tax classification code of their products."""

from odoo import api, fields, models

# Codes a product may carry: leaves of the catalogue still in use.
TAX_CODE_DOMAIN = [("is_summary", "=", False), ("usable", "=", True)]


class ProductCategory(models.Model):
    _inherit = "product.category"

    l10n_cn_einv_tax_code_id = fields.Many2one(
        "l10n_cn_einv.tax.code", "Tax Classification Code", domain=TAX_CODE_DOMAIN, index="btree_not_null",
        help="Default tax classification code (税收分类编码) of the products of this category and of its "
             "subcategories that set none.")
    l10n_cn_einv_effective_tax_code_id = fields.Many2one(
        "l10n_cn_einv.tax.code", "Applied Tax Classification Code",
        compute="_compute_l10n_cn_einv_effective_tax_code_id", recursive=True,
        help="The category's own code, else the nearest parent category's.")

    @api.depends("l10n_cn_einv_tax_code_id", "parent_id.l10n_cn_einv_effective_tax_code_id")
    def _compute_l10n_cn_einv_effective_tax_code_id(self):
        for category in self:
            category.l10n_cn_einv_effective_tax_code_id = (
                category.l10n_cn_einv_tax_code_id or category.parent_id.l10n_cn_einv_effective_tax_code_id)
