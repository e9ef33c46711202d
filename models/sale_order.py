from odoo import _, api, fields, models
from odoo.exceptions import UserError

from .l10n_cn_einv_buyer_title import TITLE_FIELDS
from .l10n_cn_einv_guard import check_access


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "l10n_cn_einv.buyer.title"]

    l10n_cn_einv_applicable = fields.Boolean("E-Invoicing Applies", compute="_compute_l10n_cn_einv_applicable")
    l10n_cn_einv_state = fields.Selection(related="invoice_ids.l10n_cn_einv_state", string="E-Invoice Status")
    l10n_cn_einv_number = fields.Char(related="invoice_ids.l10n_cn_einv_number", string="E-Invoice Number")

    @api.depends("company_id")
    def _compute_l10n_cn_einv_applicable(self):
        for order in self:
            order.l10n_cn_einv_applicable = order.company_id.account_fiscal_country_id.code == "CN"

    def _l10n_cn_einv_title_partner(self):
        return self.partner_invoice_id or self.partner_id

    @api.depends("partner_invoice_id", "partner_id", "company_id")
    def _compute_l10n_cn_einv_title(self):
        return super()._compute_l10n_cn_einv_title()

    def _prepare_invoice(self):
        vals = super()._prepare_invoice()
        vals.update({name: self[name] for name in TITLE_FIELDS})
        return vals

    def action_l10n_cn_einv_issue(self):
        """Invoice what is to invoice (posting it), then issue the e-invoices."""
        self.ensure_one()
        check_access(self)
        invoices = self.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state != "cancel")
        if self.invoice_status == "to invoice":
            invoices |= self._create_invoices()
        if not invoices:
            raise UserError(_("There is nothing to invoice on %s yet: deliver the goods or confirm the order.",
                              self.name))
        drafts = invoices.filtered(lambda m: m.state == "draft")
        if drafts:
            drafts.action_post()
        to_issue = invoices.filtered(lambda m: m.l10n_cn_einv_state in ("not_needed", "to_issue", "failed"))
        if not to_issue:
            raise UserError(_("The invoices of %s are already e-invoiced.", self.name))
        return to_issue.action_l10n_cn_einv_issue()

    def _l10n_cn_einv_auto_issue_paid(self):
        """After an online payment: invoice what is to invoice, post, and queue the e-invoice
        (the company's switch, rollout and the customer's opt-out decide, as for any payment)."""
        for order in self.filtered(lambda o: o.state == "sale" and o.l10n_cn_einv_applicable
                                   and o.company_id.l10n_cn_einv_auto_issue):
            invoices = order.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state != "cancel")
            if order.invoice_status == "to invoice":
                invoices |= order._create_invoices()
            invoices.filtered(lambda m: m.state == "draft").action_post()
            invoices._l10n_cn_einv_auto_enqueue()
