from odoo import api, fields, models

from ..models.l10n_cn_einv_guard import check_access


class L10nCnEinvTaxCodeCheck(models.TransientModel):
    """The problems found by "Validate tax classification codes", one line each."""

    _name = "l10n_cn_einv.tax.code.check"
    _description = "Tax Classification Code Check"

    checked = fields.Char(readonly=True)
    line_ids = fields.One2many("l10n_cn_einv.tax.code.check.line", "check_id", "Problems", readonly=True)

    @api.model
    def _l10n_cn_einv_check_products(self, products):
        """Check products (templates) against their customer taxes; returns the action showing the result."""
        check_access(products, "user")
        problems = [(product, False, problem)
                    for product in products for problem in product._l10n_cn_einv_tax_code_problems()]
        return self._l10n_cn_einv_result(
            problems, self.env._("%(count)s products checked", count=len(products)))

    @api.model
    def _l10n_cn_einv_check_moves(self, moves):
        """Check the product lines of invoices against the taxes of each line."""
        check_access(moves, "user")
        problems = {}
        for move in moves:
            for line in move.invoice_line_ids.filtered(lambda line: line.display_type == "product"):
                product = line.product_id.product_tmpl_id
                if not product:
                    found = [self.env._("Line “%(line)s” has no product, so no tax classification code.",
                                        line=line.name or "")]
                else:
                    found = product._l10n_cn_einv_tax_code_problems(taxes=line.tax_ids)
                # The same product on several lines would repeat the same sentence.
                problems.update(((product, move, problem), None) for problem in found)
        return self._l10n_cn_einv_result(
            list(problems), self.env._("%(count)s invoices checked", count=len(moves)))

    @api.model
    def _l10n_cn_einv_result(self, problems, checked):
        if not problems:
            return {
                "type": "ir.actions.client",
                "tag": "display_notification",
                "params": {
                    "type": "success",
                    "title": self.env._("Tax classification codes"),
                    "message": self.env._("%(checked)s: every code is usable and allows its taxes.",
                                          checked=checked),
                },
            }
        check = self.create({
            "checked": self.env._("%(checked)s, %(count)s problems", checked=checked, count=len(problems)),
            "line_ids": [fields.Command.create({
                "product_tmpl_id": product.id,
                "move_id": move.id if move else False,
                "problem": problem,
            }) for product, move, problem in problems],
        })
        return check._get_records_action(name=self.env._("Tax Classification Code Problems"), target="new")


class L10nCnEinvTaxCodeCheckLine(models.TransientModel):
    _name = "l10n_cn_einv.tax.code.check.line"
    _description = "Tax Classification Code Problem"

    check_id = fields.Many2one("l10n_cn_einv.tax.code.check", required=True, ondelete="cascade")
    move_id = fields.Many2one("account.move", "Invoice", readonly=True)
    product_tmpl_id = fields.Many2one("product.template", "Product", readonly=True)
    problem = fields.Char(readonly=True)
