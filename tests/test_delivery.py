import html
import re
import smtplib
from unittest.mock import patch

from odoo.exceptions import UserError
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from odoo.addons.base.models.ir_mail_server import IrMailServer

from ..models.l10n_cn_einv_guard import flow
from .common import L10nCnEinvCase


@tagged("post_install", "-at_install")
class TestDelivery(L10nCnEinvCase):

    def mails_of(self, move):
        return self.env["mail.mail"].search([("model", "=", "account.move"), ("res_id", "=", move.id)])

    def delivery_mails(self, move):
        return self.mails_of(move).filtered(lambda mail: "电子发票" in (mail.subject or ""))

    def send_mails(self, move):
        """The mail queue runs: the mails carrying the e-invoice leave (test mode: no real SMTP)."""
        self.env["mail.mail"].sudo().search(
            [("mail_message_id", "=", move.l10n_cn_einv_delivery_message_id.id)]).send()

    def not_delivered(self):
        """What the user's "E-Invoice Not Delivered" filter of the invoice list finds."""
        arch = self.env["account.move"].get_views([(False, "search")])["views"]["search"]["arch"]
        domain = re.search(r'name="l10n_cn_einv_not_delivered"[^>]*domain="([^"]*)"|'
                           r'domain="([^"]*)"[^>]*name="l10n_cn_einv_not_delivered"', arch)
        self.assertTrue(domain, "the filter is in the search view")
        return self.env["account.move"].search(safe_eval(html.unescape(domain.group(1) or domain.group(2))))

    def assert_delivered(self, mail, move, address):
        self.assertEqual(mail.email_to, address)
        # the OFD too, where the platform gives one (诺诺: the legal original)
        self.assertEqual(mail.attachment_ids,
                         move.l10n_cn_einv_pdf_id | move.l10n_cn_einv_xml_id | move.l10n_cn_einv_ofd_id)
        self.assertEqual(len(mail.attachment_ids), len(self.file_formats()))
        number = move.l10n_cn_einv_number
        self.assertEqual(mail.subject, f"电子发票 {number} / E-invoice {number}")
        self.assertIn("电子发票", mail.body_html)
        self.assertIn("has issued your fully digitalised e-invoice", mail.body_html)
        self.assertIn(number, mail.body_html)
        self.assertFalse(mail.recipient_ids)

    def test_delivered_automatically_after_issue(self):
        self.assertTrue(self.company.l10n_cn_einv_auto_deliver)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.receive_files()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        mail = self.delivery_mails(move)
        self.assertEqual(len(mail), 1)
        self.assert_delivered(mail, move, "finance@buyer.example.cn")
        # queued is not delivered: the mail has not left yet
        self.assertFalse(move.l10n_cn_einv_delivered_at)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")
        self.assertIn("queued for sending to finance@buyer.example.cn", move.message_ids[0].body)
        self.assertIn(move, self.not_delivered())
        self.send_mails(move)
        self.assertTrue(move.l10n_cn_einv_delivered_at)
        self.assertEqual(move.l10n_cn_einv_delivered_to, "finance@buyer.example.cn")
        self.assertEqual(move.l10n_cn_einv_delivery_state, "delivered")
        self.assertIn("sent to finance@buyer.example.cn", move.message_ids[0].body)
        self.assertNotIn(move, self.not_delivered())

    def test_delivery_email_of_the_invoice_comes_first(self):
        move = self.make_invoice()
        move.l10n_cn_einv_buyer_email = "fapiao@buyer.example.cn"
        move.action_l10n_cn_einv_issue()
        self.receive_files()
        self.assert_delivered(self.delivery_mails(move), move, "fapiao@buyer.example.cn")

    def test_send_button_when_automatic_delivery_is_off(self):
        self.company.l10n_cn_einv_auto_deliver = False
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.receive_files()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertFalse(self.delivery_mails(move))
        self.assertFalse(move.l10n_cn_einv_delivered_at)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "not_sent")

        action = move.action_l10n_cn_einv_send()
        self.assertEqual(action["params"]["type"], "success")
        self.assertIn("queued for sending to finance@buyer.example.cn", action["params"]["message"])
        mail = self.delivery_mails(move)
        self.assertEqual(len(mail), 1)
        self.assert_delivered(mail, move, "finance@buyer.example.cn")
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")
        self.send_mails(move)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "delivered")

        # Sending again (the buyer lost the mail) queues a second one, and says so.
        action = move.action_l10n_cn_einv_send()
        self.assertIn("queued for sending", action["params"]["message"])
        self.assertEqual(len(self.delivery_mails(move)), 2)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")
        self.send_mails(move)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "delivered")

    def test_send_button_only_for_issued_invoices(self):
        move = self.make_invoice()
        with self.assertRaises(UserError):
            move.action_l10n_cn_einv_send()

    def test_no_email_address_is_said_on_the_invoice(self):
        buyer = self.env["res.partner"].create({
            "name": "厦门某某商行", "is_company": True, "country_id": self.env.ref("base.cn").id})
        move = self.make_invoice(partner=buyer)
        self.assertFalse(move.l10n_cn_einv_buyer_email)
        move.action_l10n_cn_einv_issue()
        self.receive_files()
        # Issued all the same: the missing address is written on the invoice, nothing is sent.
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertFalse(self.delivery_mails(move))
        self.assertFalse(move.l10n_cn_einv_delivered_at)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "failed")
        self.assertIn("no e-mail address on customer 厦门某某商行", move.l10n_cn_einv_delivery_error)
        self.assertIn("no e-mail address", move.message_ids[0].body)

        action = move.action_l10n_cn_einv_send()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("no e-mail address", action["params"]["message"])

        # Once an address is known, the button delivers and the problem disappears.
        move.l10n_cn_einv_buyer_email = "shop@buyer.example.cn"
        move.action_l10n_cn_einv_send()
        self.assert_delivered(self.delivery_mails(move), move, "shop@buyer.example.cn")
        self.assertFalse(move.l10n_cn_einv_delivery_error)
        self.send_mails(move)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "delivered")

    def test_files_that_arrive_late_are_delivered_then(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.receive_files()
        self.assertEqual(len(self.delivery_mails(move)), 1)
        # As if the files had not been downloaded at issue time (bulk issue, failed download):
        # the delivery waits for them, and that is not a failure.
        with flow():
            move.write({"l10n_cn_einv_pdf_id": False, "l10n_cn_einv_xml_id": False,
                        "l10n_cn_einv_delivered_at": False, "l10n_cn_einv_delivery_message_id": False})
        move._l10n_cn_einv_after_issue()
        self.assertEqual(move.l10n_cn_einv_delivery_state, "not_sent")
        self.assertEqual(len(self.delivery_mails(move)), 1)
        # The poll cron fetches them: the buyer gets them at once.
        self.env["account.move"]._l10n_cn_einv_cron_fetch_missing_documents(company_ids=self.company.ids)
        self.assertTrue(move.l10n_cn_einv_pdf_id)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")
        mails = self.delivery_mails(move)
        self.assertEqual(len(mails), 2)
        self.assert_delivered(mails[0], move, "finance@buyer.example.cn")

    def test_send_and_print_mails_once(self):
        """Send & Print issuing and mailing the invoice: its mail carries the e-invoice, and is the delivery."""
        move = self.make_invoice()
        self.env["account.move.send"]._generate_and_send_invoices(
            move, sending_methods=["email"], extra_edis={"l10n_cn_einv_issue"})
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertFalse(self.delivery_mails(move))
        # Send & Print's own mail (sent at once) went to the buyer with the e-invoice files.
        message = move.message_ids.filtered(lambda m: self.buyer in m.partner_ids)
        self.assertEqual(len(message), 1)
        self.assertTrue({move.l10n_cn_einv_pdf_id.name, move.l10n_cn_einv_xml_id.name}
                        <= set(message.attachment_ids.mapped("name")))
        self.assertEqual(message.notification_ids.filtered(lambda n: n.res_partner_id == self.buyer)
                         .notification_type, "email")
        self.assertEqual(move.l10n_cn_einv_delivery_message_id, message)
        self.send_mails(move)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "delivered")
        self.assertEqual(move.l10n_cn_einv_delivered_to, "finance@buyer.example.cn")

    def test_queue_issues_in_bulk_and_the_poll_cron_brings_files_and_delivery(self):
        moves = self.make_invoice() | self.make_invoice()
        moves._l10n_cn_einv_enqueue()
        self.assertEqual(self.run_queue(), 2)
        self.assertEqual(set(moves.mapped("l10n_cn_einv_state")), {"issued"})
        # Bulk issuing does not wait for the files: the buyer is not mailed yet, and that is no failure.
        self.assertFalse(moves.l10n_cn_einv_pdf_id)
        self.assertEqual(set(moves.mapped("l10n_cn_einv_delivery_state")), {"not_sent"})
        poll_cron = self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_poll_pending")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", poll_cron.id)]),
                        "the poll cron is called to fetch them")
        self.env["account.move"]._l10n_cn_einv_cron_fetch_missing_documents(company_ids=self.company.ids)
        for move in moves:
            self.assertTrue(move.l10n_cn_einv_pdf_id.raw.startswith(b"%PDF"))
            self.assert_delivered(self.delivery_mails(move), move, self.buyer.email)

    def test_a_failed_mail_is_not_delivered_and_says_why(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.receive_files()
        refused = smtplib.SMTPRecipientsRefused({"finance@buyer.example.cn": (550, b"5.1.1 User unknown")})
        with patch.object(IrMailServer, "send_email", side_effect=refused), \
                self.assertLogs("odoo.addons.mail.models.mail_mail", "ERROR"):
            self.send_mails(move)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "failed")
        self.assertFalse(move.l10n_cn_einv_delivered_at)
        self.assertIn("could not be sent", move.l10n_cn_einv_delivery_error)
        self.assertIn("User unknown", move.l10n_cn_einv_delivery_error)
        self.assertIn(move, self.not_delivered())
        # Sending again queues a new mail; once it leaves, the e-invoice is delivered.
        action = move.action_l10n_cn_einv_send()
        self.assertIn("queued for sending", action["params"]["message"])
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")
        self.send_mails(move)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "delivered")
        self.assertNotIn(move, self.not_delivered())

    def test_a_bounced_mail_is_not_delivered(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.receive_files()
        message = move.l10n_cn_einv_delivery_message_id
        self.send_mails(move)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "delivered")
        # The buyer's server returns it: Odoo routes the bounce to the invoice of the message.
        self.env["mail.thread"]._routing_handle_bounce(None, {
            "bounced_email": "finance@buyer.example.cn", "bounced_partner": self.env["res.partner"],
            "bounced_msg_ids": [message.message_id], "bounced_message": message,
            "email_from": "MAILER-DAEMON@buyer.example.cn", "to": "bounce@example.com", "message_id": "<b@x>"})
        self.assertEqual(move.l10n_cn_einv_delivery_state, "failed")
        self.assertFalse(move.l10n_cn_einv_delivered_at)
        self.assertIn("bounced", move.l10n_cn_einv_delivery_error)
        self.assertIn(move, self.not_delivered())
