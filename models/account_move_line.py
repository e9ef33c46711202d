"""Invoice lines: what an issued e-invoice printed cannot change, and what each line prints."""

from odoo import _, api, models
from odoo.tools import float_compare, float_round

from ..fapiao import documents, rules
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

    def _l10n_cn_einv_document_lines(self):
        """One document line, or a discounted line followed by its discount line."""
        self.ensure_one()
        currency = self.currency_id
        code = self.product_id.l10n_cn_einv_effective_tax_code_id
        tax = self._l10n_cn_einv_tax()
        rate = documents.Decimal(str(tax.amount)) / 100 if tax else documents.Decimal("0")
        name = rules.format_line_name(code.short_name or "", self.product_id.name or self.name or "")
        dec = lambda value: documents.Decimal(str(float_round(value, precision_digits=2)))  # noqa: E731
        amount = dec(self.price_subtotal)
        tax_amount = dec(self.price_total - self.price_subtotal)
        common = {"name": name, "classification_code": code.code or "", "tax_rate": rate,
                  "spec": self.product_id.default_code or "", "unit": self.product_uom_id.name or "",
                  "preferential_policy": "免税" if tax and not tax.amount else ""}
        if not self.discount:
            unit_price = documents.Decimal(str(float_round(self.price_subtotal / self.quantity, 8))) \
                if self.quantity else None
            return [documents.InvoiceLine(amount=amount, tax_amount=tax_amount,
                                          amount_with_tax=amount + tax_amount,
                                          quantity=documents.Decimal(str(self.quantity)), unit_price=unit_price,
                                          **common)]
        gross = currency.round(self.price_subtotal / (1 - self.discount / 100.0))
        gross_amount = dec(gross)
        gross_tax = (gross_amount * rate).quantize(documents.Decimal("0.01"))
        discounted = documents.InvoiceLine(
            amount=gross_amount, tax_amount=gross_tax, amount_with_tax=gross_amount + gross_tax,
            quantity=documents.Decimal(str(self.quantity)),
            unit_price=documents.Decimal(str(float_round(gross / self.quantity, 8))),
            line_type="discounted", **common)
        discount = documents.InvoiceLine(
            amount=amount - gross_amount, tax_amount=tax_amount - gross_tax,
            amount_with_tax=(amount - gross_amount) + (tax_amount - gross_tax), line_type="discount", **common)
        return [discounted, discount]

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
