from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..fapiao import selfinvoice
from .l10n_cn_einv_buyer_title import TITLE_FIELDS
from .l10n_cn_einv_guard import check_access


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "l10n_cn_einv.buyer.title", "l10n_cn_einv.request.mixin"]

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

    # --- customer's own request (申请开票 on the portal) ---------------------------------------

    def _l10n_cn_einv_customer_invoices(self):
        return self.invoice_ids.filtered(lambda m: m.move_type == "out_invoice" and m.state != "cancel")

    def _l10n_cn_einv_request_refusal(self):
        self.ensure_one()
        if not self.l10n_cn_einv_applicable:
            return _("E-invoices are not issued for this order.")
        if self.state != "sale":
            return _("This order is not confirmed: its e-invoice can be requested once it is.")
        invoices = self._l10n_cn_einv_customer_invoices()
        if any(move.l10n_cn_einv_state != "not_needed" for move in invoices):
            return _("The e-invoice of this order was already issued or is being issued: it is issued once only.")
        if self.invoice_status != "to invoice" and not invoices:
            return _("There is nothing to invoice on this order yet.")
        return None

    def _l10n_cn_einv_request_invoices(self, title_values):
        """The order's customer invoices not e-invoiced yet, and what is left to invoice, with the
        customer's title, posted."""
        self.ensure_one()
        self.write(title_values)
        invoices = self._l10n_cn_einv_customer_invoices()
        if self.invoice_status == "to invoice":
            invoices |= self._create_invoices()
        invoices.write(title_values)
        invoices.filtered(lambda m: m.state == "draft").action_post()
        return invoices

    def _l10n_cn_einv_request_offered(self):
        """Whether the portal page of the order offers 申请开票."""
        self.ensure_one()
        if self._l10n_cn_einv_request_refusal():
            return False
        request = self.env["l10n_cn_einv.request"].sudo().search(
            [("res_model", "=", self._name), ("res_id", "=", self.id)], limit=1)
        if request:
            return request.state == "open" and not request._l10n_cn_einv_expired()
        expiry = selfinvoice.expires_at(self.date_order or fields.Datetime.now(),
                                        self.company_id.l10n_cn_einv_request_period)
        return not selfinvoice.expired(expiry, fields.Datetime.now())
