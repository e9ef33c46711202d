"""Invoice lines: what an issued e-invoice printed cannot change, and what each line prints."""

from decimal import Decimal

from odoo import _, api, models
from odoo.tools import float_compare

from ..fapiao.lines import SourceLine, decimal
from ..fapiao.taxpolicy import line_tax
from .account_move import PRINTED_LINE_FIELDS


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    # --- what was submitted cannot change by any path ---------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        move_ids = {vals["move_id"] for vals in vals_list if vals.get("move_id")}
        if move_ids:
            self.env["account.move"].browse(move_ids)._l10n_cn_einv_refuse_if_locked(_("Adding invoice lines"))
        return super().create(vals_list)

    def write(self, vals):
        printed = PRINTED_LINE_FIELDS & set(vals)
        if printed:
            move_model = self.env["account.move"]
            changing = self.filtered(lambda line: any(move_model._field_will_change(line, vals, name)
                                                      for name in printed))
            changing.move_id._l10n_cn_einv_refuse_if_locked(_("Changing invoice lines"))
            if "move_id" in printed and vals["move_id"]:
                move_model.browse(vals["move_id"])._l10n_cn_einv_refuse_if_locked(_("Moving invoice lines"))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_l10n_cn_einv_locked(self):
        self.move_id._l10n_cn_einv_refuse_if_locked(_("Deleting invoice lines"))

    def _l10n_cn_einv_tax(self):
        taxes = self.tax_ids.flatten_taxes_hierarchy()
        return taxes[0] if len(taxes) == 1 and taxes.amount_type == "percent" else None

    def _l10n_cn_einv_line_problems(self):
        """Problems the rules cannot see: they need the Odoo records."""
        self.ensure_one()
        problems = []
        code = self.product_id.l10n_cn_einv_effective_tax_code_id if self.product_id else None
        if not self.product_id:
            problems.append(_("no product, so no tax classification code"))
        elif not code:
            problems.append(_("product %s has no tax classification code", self.product_id.display_name))
        if not self._l10n_cn_einv_tax():
            problems.append(_("needs exactly one percentage VAT tax"))
        if self.quantity <= 0 or self.price_subtotal <= 0:
            problems.append(_("quantity and amount must be positive on an invoice (use a credit note "
                              "to reduce an issued invoice)"))
        return problems

    def _l10n_cn_einv_source_line(self):
        """The line as fapiao.lines builds e-invoice lines from it (a discounted line prints as two),
        with the preferential policy flag its code and rate call for (fapiao.taxpolicy)."""
        self.ensure_one()
        code = self.product_id.l10n_cn_einv_effective_tax_code_id
        tax = self._l10n_cn_einv_tax()
        rate = decimal(tax.amount) / 100 if tax else Decimal(0)
        tax_of_line = line_tax(code._l10n_cn_einv_entry() if code else None, rate)
        return SourceLine(
            item_name=self.product_id.name or self.name or "", classification_code=code.code or "",
            short_name=code.short_name or "", amount=decimal(self.price_subtotal),
            amount_with_tax=decimal(self.price_total), tax_rate=rate, quantity=decimal(self.quantity),
            discount=decimal(self.discount), spec=self.product_id.default_code or "",
            unit=self._l10n_cn_einv_unit(), preferential_policy=tax_of_line.policy)

    def _l10n_cn_einv_unit(self):
        """The unit of measure's name in Simplified Chinese (its zh_CN translation, else its name as
        stored), whatever the language of the user who issues: the invoice is Chinese. Read from the
        stored translations, so that it works where zh_CN is not an active language too;
        fapiao.lines.printed_unit then leaves Odoo's generic "Units" (单位 in Chinese) blank."""
        uom = self.product_uom_id
        if not uom:
            return ""
        # one read per unit and transaction, not per line: a bulk issue or status sync reads thousands
        known = self.env.cr.cache.setdefault("l10n_cn_einv.unit_names", {})
        if uom.id not in known:
            names = uom._fields["name"]._get_stored_translations(uom) or {}
            known[uom.id] = names.get("zh_CN") or names.get("en_US") or uom.name or ""
        return known[uom.id]

    def _l10n_cn_einv_blue_counterpart(self, blue_lines, taken):
        """The blue invoice line this credit note line reverses: the same sale order line, else
        the same product, preferring the same unit price and a line not matched yet."""
        self.ensure_one()
        candidates = blue_lines.filtered(lambda line: line.product_id == self.product_id)
        if self.sale_line_ids:
            candidates = candidates.filtered(lambda line: line.sale_line_ids & self.sale_line_ids) or candidates
        if not candidates:
            return None
        return min(candidates, key=lambda line: (
            line in taken, float_compare(line.price_unit, self.price_unit, precision_digits=6) != 0,
            line.sequence, line.id))
