"""The printable list of a period's issued e-invoices, blue and red, with the totals per tax rate
(amounts without tax, tax, with tax; red invoices deducted) that the VAT return asks for.

Printed in the company's language (the report is the company's, whoever prints it): the template
is rendered with ``t-lang``, and the words computed here are read in that language too.
"""

from odoo import api, fields, models

from ..fapiao.chinatime import format_china, in_china
from ..models.l10n_cn_einv_guard import check_access
from ..models.l10n_cn_einv_report import TAX_RATES
from .l10n_cn_einv_audit_report import CJK_FONTS


class L10nCnEinvPeriodReport(models.AbstractModel):
    _name = "report.l10n_cn_einvoice.report_l10n_cn_einv_period"
    _description = "E-Invoices of a Period"

    @api.model
    def _get_report_values(self, docids, data=None):
        wizards = self.env["l10n_cn_einv.period.wizard"].browse(docids)
        # /report/<converter>/<report> renders for anyone logged in: the same check as the wizard's.
        check_access(wizards.company_id)
        return {
            "doc_ids": wizards.ids,
            "doc_model": "l10n_cn_einv.period.wizard",
            "docs": wizards,
            "sections": {wizard.id: self._l10n_cn_einv_section(wizard) for wizard in wizards},
            "font_style": f"font-family: {CJK_FONTS};",
        }

    @api.model
    def _l10n_cn_einv_section(self, wizard):
        lang = wizard.company_id.partner_id.lang or self.env.lang
        wizard = wizard.with_context(lang=lang)
        moves = wizard._l10n_cn_einv_moves()
        env = wizard.env
        currency = wizard.company_id.currency_id
        kinds = {"out_invoice": env._("Blue"), "out_refund": env._("Red")}
        rows = [{
            "date": in_china(move.l10n_cn_einv_issue_time).date() if move.l10n_cn_einv_issue_time else "",
            "issue_time": format_china(move.l10n_cn_einv_issue_time),
            "number": move.l10n_cn_einv_number,
            "name": move.name,
            "kind": kinds[move.move_type],
            "red": move.move_type == "out_refund",
            "buyer": move.l10n_cn_einv_buyer_name or move.commercial_partner_id.name,
            "untaxed": move.amount_untaxed_signed,
            "tax": move.amount_tax_signed,
            "total": move.amount_total_signed,
        } for move in moves]
        labels = dict(env["l10n_cn_einv.report"]._fields["tax_rate"]._description_selection(env))
        order = [value for value, _label in TAX_RATES]
        groups = env["l10n_cn_einv.report"]._read_group(
            [("move_id", "in", moves.ids)], ["tax_rate"], ["amount_untaxed:sum", "amount_tax:sum", "amount_total:sum"])
        rates = sorted(
            ({"rate": rate, "label": labels.get(rate, ""), "untaxed": untaxed, "tax": tax, "total": total}
             for rate, untaxed, tax, total in groups if rate),
            key=lambda row: order.index(row["rate"]))
        return {
            "lang": lang,
            "company": wizard.company_id,
            "company_vat": wizard.company_id.vat or "",
            "currency": currency,
            "date_from": wizard.date_from,
            "date_to": wizard.date_to,
            "generated_at": format_china(fields.Datetime.now()),
            "generated_by": env.user.name,
            "rows": rows,
            "rates": rates,
            "count": len(rows),
            "red_count": sum(row["red"] for row in rows),
            "totals": {key: currency.round(sum(row[key] for row in rates)) for key in ("untaxed", "tax", "total")},
        }
