"""The tax classification code of a product, and whether its sales taxes fit it."""

from decimal import Decimal

from odoo import api, fields, models

from ..fapiao import catalogue
from .l10n_cn_einv_guard import check_access
from .product_category import TAX_CODE_DOMAIN


class ProductTemplate(models.Model):
    _inherit = "product.template"

    l10n_cn_einv_tax_code_id = fields.Many2one(
        "l10n_cn_einv.tax.code", "Tax Classification Code", domain=TAX_CODE_DOMAIN, index="btree_not_null",
        help="Tax classification code (税收分类编码) printed on e-invoice lines of this product. "
             "Leave empty to use the product category's.")
    l10n_cn_einv_effective_tax_code_id = fields.Many2one(
        "l10n_cn_einv.tax.code", "Applied Tax Classification Code",
        compute="_compute_l10n_cn_einv_effective_tax_code_id",
        help="The product's own code, else its category's (or the nearest parent category's).")
    l10n_cn_einv_tax_code_warning = fields.Text(
        "E-Invoice Tax Warning", compute="_compute_l10n_cn_einv_tax_code_warning",
        help="Why the product's sales taxes or classification code would stop its e-invoice lines.")

    @api.depends("l10n_cn_einv_effective_tax_code_id", "taxes_id")
    @api.depends_context("lang", "allowed_company_ids")
    def _compute_l10n_cn_einv_tax_code_warning(self):
        for product in self:
            # no code yet is the usual state of a new product: the invoice check says so when it matters
            problems = product._l10n_cn_einv_tax_code_problems() \
                if product.l10n_cn_einv_effective_tax_code_id else []
            product.l10n_cn_einv_tax_code_warning = "\n".join(problems) or False

    @api.onchange("taxes_id", "l10n_cn_einv_tax_code_id", "categ_id")
    def _onchange_l10n_cn_einv_tax_code_warning(self):
        return tax_code_warning_popup(self)

    @api.depends("l10n_cn_einv_tax_code_id", "categ_id.l10n_cn_einv_effective_tax_code_id")
    def _compute_l10n_cn_einv_effective_tax_code_id(self):
        for product in self:
            product.l10n_cn_einv_effective_tax_code_id = (
                product.l10n_cn_einv_tax_code_id or product.categ_id.l10n_cn_einv_effective_tax_code_id)

    def _l10n_cn_einv_suggest_tax_codes(self, limit=5):
        """Leaf, usable codes whose name or keywords match the product name, best first."""
        self.ensure_one()
        Code = self.env["l10n_cn_einv.tax.code"]
        entries = Code._l10n_cn_einv_catalogue().suggest(self.name or "", limit=limit)
        found = Code.search([("code", "in", [entry.code for entry in entries])])
        order = {entry.code: index for index, entry in enumerate(entries)}
        return found.sorted(lambda code: order[code.code])

    def action_l10n_cn_einv_suggest_tax_codes(self):
        self.ensure_one()
        check_access(self, "user")
        wizard = self.env["l10n_cn_einv.tax.code.suggest"].create({"product_tmpl_id": self.id})
        return wizard._l10n_cn_einv_action_open()

    def _l10n_cn_einv_tax_code_problems(self, taxes=None):
        """What keeps this product off an e-invoice line, as sentences; [] when nothing does.

        ``taxes`` are the taxes of the line to check, by default the product's
        customer taxes. Each percentage tax must be a rate the code allows
        (:func:`fapiao.catalogue.allowed_rates`: the code's own rates, 0 % for
        codes with an exemption, and the simplified method's levy rates).
        """
        self.ensure_one()
        _ = self.env._
        code = self.l10n_cn_einv_effective_tax_code_id
        if not code:
            return [_("%(product)s: no tax classification code; set one on the product or its category.",
                      product=self.display_name)]
        if code.is_summary:
            return [_("%(product)s: %(code)s is a summary row; choose one of the codes under it.",
                      product=self.display_name, code=code.display_name)]
        if not code.usable:
            return [_("%(product)s: %(code)s is no longer usable.", product=self.display_name,
                      code=code.display_name)]
        if taxes is None:
            taxes = self.taxes_id.filtered(lambda tax: tax.company_id in self.env.companies)
        entry = code._l10n_cn_einv_entry()
        shown = code._l10n_cn_einv_allowed_rates_text()
        problems = []
        for tax in taxes.flatten_taxes_hierarchy().filtered(lambda tax: tax.amount_type == "percent"):
            rate = Decimal(str(tax.amount)) / 100
            if not catalogue.rate_allowed(entry, rate):
                problems.append(_(
                    "%(product)s: tax %(tax)s (%(rate)s) is not allowed for %(code)s, which allows %(allowed)s "
                    "or a simplified levy rate.",
                    product=self.display_name, tax=tax.name, rate=catalogue.format_rate(rate),
                    code=code.display_name, allowed=shown or _("no VAT rate")))
        return problems


def tax_code_warning_popup(product):
    """The onchange warning of a product (template or variant) whose taxes do not fit its code:
    said once as the user changes the tax or the code; the form keeps showing it."""
    warning = product.l10n_cn_einv_tax_code_warning
    if not warning:
        return None
    return {"warning": {"title": product.env._("The sales tax does not fit the tax classification code"),
                        "message": warning}}
