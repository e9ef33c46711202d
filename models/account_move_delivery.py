"""Delivery of issued e-invoices to the buyer by e-mail (PDF and XML attached).

Automatic right after issue when the company delivers automatically, else
(and again, on request) with the Send e-invoice button. When Send & Print
both issues and mails an invoice, its own mail carries the e-invoice files:
the buyer gets that one mail, recorded as the delivery.
"""

import logging

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import email_split

from .l10n_cn_einv_guard import check_access

_logger = logging.getLogger(__name__)

DELIVERY_TEMPLATE = "l10n_cn_einvoice.email_template_l10n_cn_einv_delivery"
# Context key: ids of invoices that Send & Print is about to mail itself.
MAILED_BY_SEND = "l10n_cn_einv_mailed_by_send"


class AccountMove(models.Model):
    _inherit = "account.move"

    l10n_cn_einv_delivered_at = fields.Datetime("E-Invoice Delivered", copy=False, readonly=True,
                                                l10n_cn_einv_flow=True)
    l10n_cn_einv_delivered_to = fields.Char("E-Invoice Delivered To", copy=False, readonly=True,
                                            l10n_cn_einv_flow=True)
    l10n_cn_einv_delivery_error = fields.Text("E-Invoice Delivery Problem", copy=False, readonly=True,
                                              l10n_cn_einv_flow=True)
    l10n_cn_einv_delivery_state = fields.Selection(
        [("not_sent", "Not Sent"), ("delivered", "Delivered"), ("failed", "Not Delivered")],
        string="E-Invoice Delivery", compute="_compute_l10n_cn_einv_delivery_state", store=True,
        l10n_cn_einv_flow=True)

    @api.depends("l10n_cn_einv_delivered_at", "l10n_cn_einv_delivery_error")
    def _compute_l10n_cn_einv_delivery_state(self):
        for move in self:
            if move.l10n_cn_einv_delivery_error:
                move.l10n_cn_einv_delivery_state = "failed"
            elif move.l10n_cn_einv_delivered_at:
                move.l10n_cn_einv_delivery_state = "delivered"
            else:
                move.l10n_cn_einv_delivery_state = "not_sent"

    def _l10n_cn_einv_after_issue(self):
        # EXTENDS l10n_cn_einvoice: mail the e-invoice to the buyer at once when its files are
        # here; bulk issuing leaves them to the poll cron, which delivers on arrival (below).
        result = super()._l10n_cn_einv_after_issue()
        for move in self:
            if move.l10n_cn_einv_pdf_id:
                move._l10n_cn_einv_deliver_if_due()
        return result

    def _l10n_cn_einv_fetch_documents(self, client):
        # EXTENDS l10n_cn_einvoice: files that arrive after the issue are delivered then.
        had_pdf = bool(self.l10n_cn_einv_pdf_id)
        result = super()._l10n_cn_einv_fetch_documents(client)
        if not had_pdf and self.l10n_cn_einv_pdf_id:
            self._l10n_cn_einv_deliver_if_due()
        return result

    def _l10n_cn_einv_deliver_if_due(self):
        """Automatic delivery, once: unless the company does not deliver, the buyer already
        has it, or Send & Print is mailing this invoice itself."""
        self.ensure_one()
        mailed_by_send = set(self.env.context.get(MAILED_BY_SEND) or ())
        if self.company_id.l10n_cn_einv_auto_deliver and not self.l10n_cn_einv_delivered_at \
                and self.id not in mailed_by_send and self.l10n_cn_einv_state == "issued":
            self._l10n_cn_einv_auto_deliver()

    def _l10n_cn_einv_auto_deliver(self):
        """Deliver without ever undoing the issue it follows: whatever goes wrong is written on the invoice."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._l10n_cn_einv_deliver()
        except Exception as error:
            _logger.exception("e-invoice delivery of %s failed", self.name)
            self._l10n_cn_einv_delivery_failed(_("The e-invoice could not be mailed: %s", error))

    def _l10n_cn_einv_delivery_address(self):
        """Where the buyer receives e-invoices: the delivery e-mail of the invoice, else the customer's."""
        self.ensure_one()
        return (self.l10n_cn_einv_buyer_email or self.partner_id.email or "").strip()

    def _l10n_cn_einv_delivery_problem(self):
        """Why the e-invoice cannot be mailed now (a sentence), or None."""
        self.ensure_one()
        if self.l10n_cn_einv_state != "issued":
            return _("The e-invoice of %s is not issued yet.", self.name)
        address = self._l10n_cn_einv_delivery_address()
        if not address:
            return _("The e-invoice was not sent: there is no delivery e-mail on the invoice (E-Invoice tab) "
                     "and no e-mail address on customer %s. Add one, then click Send e-invoice.",
                     self.partner_id.display_name)
        if not email_split(address):
            return _("The e-invoice was not sent: “%s” is not a valid e-mail address. Correct it, then click "
                     "Send e-invoice.", address)
        if not self.l10n_cn_einv_pdf_id:
            return _("The e-invoice was not sent: its PDF has not been received from the tax platform yet. "
                     "Click Send e-invoice to fetch it and send it.")
        return None

    def _l10n_cn_einv_deliver(self):
        """Mail the e-invoice files to the buyer. Returns True when queued; otherwise writes on the
        invoice why not and returns False."""
        self.ensure_one()
        problem = self._l10n_cn_einv_delivery_problem()
        if problem:
            self._l10n_cn_einv_delivery_failed(problem)
            return False
        address = self._l10n_cn_einv_delivery_address()
        files = self.l10n_cn_einv_pdf_id | self.l10n_cn_einv_xml_id
        template = self.env.ref(DELIVERY_TEMPLATE)
        template.send_mail(self.id, force_send=False, email_values={
            "email_to": address,
            "recipient_ids": [],
            "attachment_ids": [Command.link(attachment.id) for attachment in files],
        })
        self._l10n_cn_einv_write({"l10n_cn_einv_delivered_at": fields.Datetime.now(),
                                  "l10n_cn_einv_delivered_to": address, "l10n_cn_einv_delivery_error": False})
        self.message_post(body=_("E-invoice %(number)s sent to %(address)s with its PDF and XML.",
                                 number=self.l10n_cn_einv_number, address=address))
        return True

    def _l10n_cn_einv_delivery_failed(self, problem):
        self.ensure_one()
        self._l10n_cn_einv_write({"l10n_cn_einv_delivery_error": problem})
        self.message_post(body=problem)

    def action_l10n_cn_einv_send(self):
        """Send e-invoice button (also to send again): fetch missing files, then mail the buyer."""
        check_access(self)
        moves = self.filtered(lambda m: m.l10n_cn_einv_state == "issued")
        if not moves:
            raise UserError(_("Only issued e-invoices can be sent to the buyer."))
        for company, company_moves in moves.grouped("company_id").items():
            missing = company_moves.filtered(lambda m: not m.l10n_cn_einv_pdf_id or not m.l10n_cn_einv_xml_id)
            if missing:
                with company._l10n_cn_einv_client(missing._l10n_cn_einv_log_router(company)) as client:
                    for move in missing:
                        move._l10n_cn_einv_fetch_documents(client)
        sent, lines = self.browse(), []
        for move in moves:
            if move._l10n_cn_einv_deliver():
                sent |= move
                lines.append(_("%(name)s: sent to %(address)s", name=move.name,
                               address=move.l10n_cn_einv_delivered_to))
            else:
                lines.append(f"{move.name}: {move.l10n_cn_einv_delivery_error}")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if sent == moves else "warning",
                "title": _("E-invoices sent") if sent == moves else _("Some e-invoices were not sent"),
                "message": "\n".join(lines),
                "sticky": sent != moves,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }


class AccountMoveSend(models.AbstractModel):
    _inherit = "account.move.send"

    def _call_web_service_before_invoice_pdf_render(self, invoices_data):
        # EXTENDS l10n_cn_einvoice: invoices Send & Print mails get the e-invoice in that mail only.
        mailed = [move.id for move, data in invoices_data.items()
                  if "email" in (data.get("sending_methods") or ()) and move.partner_id.email]
        return super(AccountMoveSend, self.with_context(**{MAILED_BY_SEND: mailed})) \
            ._call_web_service_before_invoice_pdf_render(invoices_data)

    @api.model
    def _send_mail(self, move, mail_template, **kwargs):
        # EXTENDS 'account': the mail carries the e-invoice files (see _get_invoice_extra_attachments).
        partner_ids = list(kwargs.get("partner_ids") or [])
        result = super()._send_mail(move, mail_template, **kwargs)
        if move.l10n_cn_einv_state == "issued" and move.l10n_cn_einv_pdf_id:
            partners = self.env["res.partner"].browse(partner_ids)
            move._l10n_cn_einv_write({"l10n_cn_einv_delivered_at": fields.Datetime.now(),
                                      "l10n_cn_einv_delivered_to": ", ".join(filter(None, partners.mapped("email"))),
                                      "l10n_cn_einv_delivery_error": False})
        return result
