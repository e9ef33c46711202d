from odoo import models


class MailMail(models.Model):
    _inherit = "mail.mail"

    def _postprocess_sent_message(self, success_pids, failure_reason=False, failure_type=None):
        # EXTENDS 'mail': an e-invoice is delivered once the mail carrying it is sent, not queued.
        # Before super, which deletes the mails it sent (auto_delete).
        self._l10n_cn_einv_track_delivery(success_pids, failure_reason, failure_type)
        return super()._postprocess_sent_message(success_pids, failure_reason=failure_reason,
                                                 failure_type=failure_type)

    def _l10n_cn_einv_track_delivery(self, success_pids, failure_reason, failure_type):
        """Write on the invoices whose e-invoice these mails carry whether the buyer got it: a mail that
        reached at least one of its recipients delivers it, one that reached none says why not."""
        mails = self.filtered(lambda m: m.model == "account.move" and m.mail_message_id)
        if not mails:
            return
        moves = self.env["account.move"].sudo().search(
            [("l10n_cn_einv_delivery_message_id", "in", mails.mail_message_id.ids)])
        labels = dict(self._fields["failure_type"]._description_selection(self.env))
        move_of_message = {move.l10n_cn_einv_delivery_message_id: move for move in moves}
        for mail in mails.filtered(lambda m: m.mail_message_id in move_of_message):
            move = move_of_message[mail.mail_message_id]
            if not failure_type or set(mail.recipient_ids.ids) & set(success_pids):
                move._l10n_cn_einv_delivery_sent()
            elif move.l10n_cn_einv_delivery_state != "delivered":   # another mail of it reached the buyer
                move._l10n_cn_einv_delivery_failed(move.env._(
                    "The e-invoice mail to %(address)s could not be sent: %(reason)s",
                    address=move.l10n_cn_einv_delivered_to or mail.email_to or "",
                    reason=failure_reason or labels.get(failure_type, failure_type)))
