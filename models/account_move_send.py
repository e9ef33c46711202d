from odoo import _, api, models

from .account_move import MAILED_BY_SEND

# Context key: whoever sends these invoices issues their e-invoices itself, after setting what it
# must first (a customer's own request writes their title on the invoice a POS order makes)
ISSUE_LATER = "l10n_cn_einv_issue_later"


class AccountMoveSend(models.AbstractModel):
    _inherit = "account.move.send"

    @api.model
    def _l10n_cn_einv_applicable(self, move):
        return move.l10n_cn_einv_applicable and move.state == "posted" \
            and move.l10n_cn_einv_state in ("not_needed", "to_issue", "failed") \
            and not self.env.context.get(ISSUE_LATER)

    def _get_all_extra_edis(self) -> dict:
        # EXTENDS 'account'
        res = super()._get_all_extra_edis()
        res["l10n_cn_einv_issue"] = {"label": _("Issue e-invoice (数电票)"),
                                     "is_applicable": self._l10n_cn_einv_applicable}
        return res

    @api.model
    def _get_invoice_extra_attachments(self, move):
        # EXTENDS 'account': the buyer receives the e-invoice files with the mail
        return super()._get_invoice_extra_attachments(move) + move.l10n_cn_einv_pdf_id + move.l10n_cn_einv_xml_id \
            + move.l10n_cn_einv_ofd_id

    def _call_web_service_before_invoice_pdf_render(self, invoices_data):
        # EXTENDS 'account'
        result = super()._call_web_service_before_invoice_pdf_render(invoices_data)
        # invoices Send & Print mails get the e-invoice in that mail only
        mailed = [move.id for move, data in invoices_data.items()
                  if "email" in (data.get("sending_methods") or ()) and move.partner_id.email]
        self.with_context(**{MAILED_BY_SEND: mailed})._l10n_cn_einv_issue_before_render(invoices_data)
        return result

    def _l10n_cn_einv_issue_before_render(self, invoices_data):
        to_issue = self.env["account.move"]
        for invoice, invoice_data in invoices_data.items():
            if "l10n_cn_einv_issue" not in invoice_data["extra_edis"]:
                continue
            problems = invoice._l10n_cn_einv_problems()
            if problems:
                invoice_data["error"] = {"error_title": _("The e-invoice cannot be issued:"), "errors": problems}
            else:
                to_issue |= invoice
        if not to_issue:
            return
        to_issue._l10n_cn_einv_enqueue()
        to_issue._l10n_cn_einv_lock()

        def report(move):
            if move.l10n_cn_einv_state == "failed":
                invoices_data[move]["error"] = {
                    "error_title": _("The tax platform did not issue the e-invoice:"),
                    "errors": [move.l10n_cn_einv_error],
                }
            if self._can_commit():
                self.env["account.move"]._l10n_cn_einv_commit()

        to_issue._l10n_cn_einv_send_now(after_each=report, with_files=True)

    @api.model
    def _send_mail(self, move, mail_template, **kwargs):
        # EXTENDS 'account': the mail carries the e-invoice files (see _get_invoice_extra_attachments);
        # the e-invoice is delivered once that mail is sent (mail_mail.py).
        partner_ids = list(kwargs.get("partner_ids") or [])
        result = super()._send_mail(move, mail_template, **kwargs)
        if move.l10n_cn_einv_state == "issued" and move.l10n_cn_einv_pdf_id:
            partners = self.env["res.partner"].browse(partner_ids)
            message = self.env["mail.message"].sudo().search(
                [("model", "=", move._name), ("res_id", "=", move.id), ("message_type", "=", "comment")],
                order="id desc", limit=1)
            move._l10n_cn_einv_delivery_queued(message, ", ".join(filter(None, partners.mapped("email"))))
            # the mail may have left already (sent at once): its notifications tell
            notifications = message.notification_ids.filtered(lambda n: n.notification_type == "email")
            if "sent" in notifications.mapped("notification_status"):
                move._l10n_cn_einv_delivery_sent()
            elif notifications and set(notifications.mapped("notification_status")) <= {"exception", "bounce"}:
                move._l10n_cn_einv_delivery_failed(_(
                    "The e-invoice mail to %(address)s could not be sent: %(reason)s",
                    address=move.l10n_cn_einv_delivered_to,
                    reason="; ".join(filter(None, notifications.mapped("failure_reason")))
                    or notifications[:1].failure_type))
        return result
