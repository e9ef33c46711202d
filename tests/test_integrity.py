"""Issue 11: only the e-invoice flow changes e-invoice facts, and what was issued cannot change,
tried as an attacker would: JSON-RPC (call_kw, call_button, web_save) and XML-RPC, as users of
every role. Each refusal has a positive control, so that it can fail."""

import json
import xmlrpc.client

from odoo import Command
from odoo.tests import HttpCase, get_db_name, new_test_user, tagged
from odoo.tools import mute_logger

from ..models.l10n_cn_einv_guard import flow
from .common import L10nCnEinvCase

ROLES = {
    "billing": "account.group_account_invoice",
    "accountant": "account.group_account_user",
    "einv_user": "l10n_cn_einvoice.group_l10n_cn_einv_user",
    "einv_manager": "l10n_cn_einvoice.group_l10n_cn_einv_manager,account.group_account_manager",
    "admin": "l10n_cn_einvoice.group_l10n_cn_einv_manager,account.group_account_manager,base.group_system",
}
REFUSALS = ("odoo.exceptions.UserError", "odoo.exceptions.AccessError", "odoo.exceptions.ValidationError")
QUIET = ("odoo.http", "odoo.models", "odoo.models.unlink", "odoo.addons.base.models.ir_rule")
HOSTILE_NAME = '<img src="x" onerror="alert(1)"><a href="https://evil.example/">点此</a>'


class IntegrityCase(L10nCnEinvCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        company = {"company_id": cls.company.id, "company_ids": cls.company.ids}
        cls.users = {role: new_test_user(cls.env, f"integrity_{role}", groups=groups, **company)
                     for role, groups in ROLES.items()}

    # --- the attacker's tools ---------------------------------------------------------------

    def call(self, role, model, method, *args, button=False, **kwargs):
        """JSON-RPC as the user of ``role``: (result, error dict or None)."""
        user = self.users[role]
        self.authenticate(user.login, user.login)
        route = "/web/dataset/call_button" if button else f"/web/dataset/call_kw/{model}/{method}"
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1,
                   "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs}}
        with mute_logger(*QUIET):
            response = self.url_open(route, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        body = response.json()
        return body.get("result"), body.get("error")

    def xmlrpc(self, role, model, method, *args, **kwargs):
        """XML-RPC as the user of ``role``: (result, fault text or None)."""
        user = self.users[role]
        args, kwargs = json.loads(json.dumps([args, kwargs]))    # Command members as plain numbers
        try:
            with mute_logger(*QUIET):
                return self.xmlrpc_object.execute_kw(get_db_name(), user.id, user.login, model, method,
                                                     args, kwargs), None
        except xmlrpc.client.Fault as fault:
            return None, fault.faultString

    def assertRefused(self, error, *words):
        self.assertTrue(error, "the call should have been refused")
        text = error if isinstance(error, str) else f"{error['data']['name']} {error['data']['message']}"
        if not isinstance(error, str):
            self.assertIn(error["data"]["name"], REFUSALS, text)
        for word in words:
            self.assertIn(word, text)

    def assertAccepted(self, error):
        self.assertFalse(error, error and (error if isinstance(error, str) else error["data"]["message"]))

    def snapshot(self, move):
        self.env.invalidate_all()
        return {name: move[name] for name in (
            "state", "l10n_cn_einv_state", "l10n_cn_einv_number", "l10n_cn_einv_serial_no", "l10n_cn_einv_pdf_id",
            "partner_id", "amount_total", "l10n_cn_einv_buyer_name")} | {
            "lines": [(line.product_id.id, line.name, line.quantity, line.price_unit)
                      for line in move.invoice_line_ids]}


@tagged("post_install", "-at_install", "post_install_l10n")
class TestFlowFieldsOnlyByTheFlow(IntegrityCase):
    """Rule 1: e-invoice facts are written only by the addon's own flow."""

    def test_no_role_writes_e_invoice_facts_of_an_invoice(self):
        move = self.make_invoice()
        attachment = self.env["ir.attachment"].create({"name": "fake.pdf", "raw": b"%PDF-1.4 fake",
                                                       "res_model": "account.move", "res_id": move.id})
        forged = [
            {"l10n_cn_einv_state": "issued", "l10n_cn_einv_number": "26350000000000001234"},
            {"l10n_cn_einv_serial_no": "OE-COPIED-0001"},
            {"l10n_cn_einv_pdf_id": attachment.id},
            {"l10n_cn_einv_qr_payload": "01,32,,26350000000000001234,1.00,20261120,,ABCD"},
            {"l10n_cn_einv_uncertain": True, "l10n_cn_einv_attempts": 3},
            {"l10n_cn_einv_delivered_at": "2026-11-20 10:00:00"},
            {"l10n_cn_einv_red_status": "full"},
            {"l10n_cn_einv_files_awaited": True},   # would put its downloads before the queue's issuing
        ]
        before = self.snapshot(move)
        for role in ROLES:
            for vals in forged:
                with self.subTest(role=role, fields=list(vals), path="write"):
                    _result, error = self.call(role, "account.move", "write", [move.id], vals)
                    self.assertRefused(error)
                with self.subTest(role=role, fields=list(vals), path="web_save"):
                    _result, error = self.call(role, "account.move", "web_save", [move.id], vals, specification={})
                    self.assertRefused(error)
            with self.subTest(role=role, path="xmlrpc"):
                _result, fault = self.xmlrpc(role, "account.move", "write", [move.id],
                                             {"l10n_cn_einv_state": "issued"})
                self.assertRefused(fault)
        self.assertEqual(self.snapshot(move), before)
        # the message names the fields in words, and says who may set them
        _result, error = self.call("admin", "account.move", "write", [move.id], {"l10n_cn_einv_number": "1"})
        self.assertRefused(error, "E-Invoice Number", "e-invoicing process")
        # positive control: the same users may still change what is theirs to change
        _result, error = self.call("billing", "account.move", "write", [move.id], {"narration": "ok"})
        self.assertAccepted(error)

    def test_create_copy_and_context_defaults_cannot_forge_an_issued_invoice(self):
        move = self.make_invoice()
        vals = {"move_type": "out_invoice", "partner_id": self.buyer.id, "company_id": self.company.id,
                "invoice_line_ids": [Command.create({"product_id": self.product_printer.id, "quantity": 1,
                                                     "price_unit": 100.0})]}
        count = self.env["account.move"].search_count([])
        for role in ("billing", "einv_user", "admin"):
            with self.subTest(role=role, path="create"):
                _result, error = self.call(role, "account.move", "create",
                                           [{**vals, "l10n_cn_einv_state": "issued",
                                             "l10n_cn_einv_number": "26350000000000000001"}])
                self.assertRefused(error)
            with self.subTest(role=role, path="create with context default"):
                _result, error = self.call(role, "account.move", "create", [vals], context={
                    "default_l10n_cn_einv_state": "issued", "default_l10n_cn_einv_number": "26350000000000000002"})
                self.assertRefused(error)
            with self.subTest(role=role, path="web_save new"):
                _result, error = self.call(role, "account.move", "web_save", [],
                                           {**vals, "l10n_cn_einv_serial_no": "OE-FORGED"}, specification={})
                self.assertRefused(error)
            with self.subTest(role=role, path="copy with default"):
                _result, error = self.call(role, "account.move", "copy", [move.id],
                                           default={"l10n_cn_einv_serial_no": "OE-COPIED"})
                self.assertRefused(error)
            with self.subTest(role=role, path="xmlrpc create"):
                _result, fault = self.xmlrpc(role, "account.move", "create",
                                             [{**vals, "l10n_cn_einv_state": "pending"}])
                self.assertRefused(fault)
        self.env.invalidate_all()
        self.assertEqual(self.env["account.move"].search_count([]), count)
        # positive control: a plain create and copy work
        _result, error = self.call("billing", "account.move", "create", [vals])
        self.assertAccepted(error)
        _copied, error = self.call("billing", "account.move", "copy", [move.id])
        self.assertAccepted(error)

    def test_an_issued_invoice_cannot_be_un_issued_reset_cancelled_or_edited(self):
        move = self.issued_invoice()
        before = self.snapshot(move)
        attempts = [
            ("write", [move.id], {"l10n_cn_einv_state": "not_needed"}),
            ("write", [move.id], {"state": "draft"}),
            ("write", [move.id], {"state": "cancel"}),
            ("write", [move.id], {"partner_id": self.partner_a.id}),
            ("write", [move.id], {"l10n_cn_einv_buyer_name": "另一家公司"}),
            ("write", [move.id], {"invoice_line_ids": [Command.update(move.invoice_line_ids[0].id,
                                                                      {"price_unit": 1.0})]}),
            ("write", [move.id], {"invoice_line_ids": [Command.create({"product_id": self.product_service.id,
                                                                       "quantity": 1, "price_unit": 9.0})]}),
            ("write", [move.id], {"invoice_line_ids": [Command.delete(move.invoice_line_ids[0].id)]}),
            ("unlink", [move.id]),
        ]
        for role in ("billing", "accountant", "einv_user", "einv_manager", "admin"):
            for method, *args in attempts:
                with self.subTest(role=role, method=method, args=args[1:]):
                    _result, error = self.call(role, "account.move", method, *args)
                    self.assertRefused(error)
            for button in ("button_draft", "button_cancel"):
                with self.subTest(role=role, button=button):
                    _result, error = self.call(role, "account.move", button, [move.id], button=True)
                    self.assertRefused(error, "red invoice")
        self.assertEqual(self.snapshot(move), before)

    def test_a_queued_invoice_reset_to_draft_leaves_the_queue(self):
        move = self.make_invoice()
        move._l10n_cn_einv_enqueue()
        _result, error = self.call("billing", "account.move", "write", [move.id], {"partner_id": self.partner_a.id})
        self.assertRefused(error, "reset to draft")
        _result, error = self.call("billing", "account.move", "button_draft", [move.id], button=True)
        self.assertAccepted(error)
        self.env.invalidate_all()
        self.assertEqual((move.state, move.l10n_cn_einv_state), ("draft", "not_needed"))
        self.assertEqual(self.run_queue(), 0)
        self.assertEqual(self.issued_on_platform(), 0)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestIssuedLinesLocked(IntegrityCase):
    """Rule 2: the journal items of a submitted or issued invoice cannot change by any path."""

    def test_journal_items_of_an_issued_invoice_are_locked(self):
        move = self.issued_invoice()
        line = move.invoice_line_ids[0]
        before = self.snapshot(move)
        for role in ("billing", "accountant", "einv_user", "admin"):
            for vals in ({"price_unit": 1.0}, {"product_id": self.product_service.id}, {"name": "改名"},
                         {"quantity": 99}, {"discount": 50}, {"tax_ids": [Command.clear()]}, {"sequence": 99}):
                with self.subTest(role=role, vals=vals):
                    _result, error = self.call(role, "account.move.line", "write", [line.id], vals)
                    self.assertRefused(error)
            with self.subTest(role=role, path="create"):
                _result, error = self.call(role, "account.move.line", "create", [{
                    "move_id": move.id, "product_id": self.product_service.id, "quantity": 1, "price_unit": 5.0}])
                self.assertRefused(error)
            with self.subTest(role=role, path="unlink"):
                _result, error = self.call(role, "account.move.line", "unlink", [line.id])
                self.assertRefused(error)
            with self.subTest(role=role, path="xmlrpc write"):
                _result, fault = self.xmlrpc(role, "account.move.line", "write", [line.id], {"price_unit": 2.0})
                self.assertRefused(fault)
        self.assertEqual(self.snapshot(move), before)

    def test_lines_of_a_pending_invoice_are_locked_and_of_a_draft_free(self):
        self.set_faults(pending=1.0)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "pending")
        _result, error = self.call("billing", "account.move.line", "write", [move.invoice_line_ids[0].id],
                                   {"name": "改名"})
        self.assertRefused(error)
        # positive control: the lines of an invoice never sent can be edited
        draft = self.make_invoice(post=False)
        _result, error = self.call("billing", "account.move.line", "write", [draft.invoice_line_ids[0].id],
                                   {"name": "改名"})
        self.assertAccepted(error)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPlatformAnswerMustMatch(IntegrityCase):
    """Rule 5: a known serial number's e-invoice is accepted only if it is this invoice's."""

    def test_serial_numbers_are_unique_per_company(self):
        first, second = self.issued_invoice(), self.make_invoice()
        with flow(), mute_logger("odoo.sql_db"), self.assertRaises(Exception) as raised, self.env.cr.savepoint():
            second.write({"l10n_cn_einv_serial_no": first.l10n_cn_einv_serial_no})
            self.env.flush_all()
        self.assertIn("l10n_cn_einv_serial_unique", str(raised.exception))

    def test_another_invoices_e_invoice_is_refused(self):
        # A copy of this database still pointed at the same platform derives the same serial
        # numbers for other invoices: the platform then answers with the e-invoice it issued for
        # the first one. Simulated by moving the serial number (SQL: the ORM refuses).
        first = self.issued_invoice()
        serial, number = first.l10n_cn_einv_serial_no, first.l10n_cn_einv_number
        other_buyer = self.env["res.partner"].create({"name": "北京另一家有限公司", "is_company": True,
                                                      "country_id": self.env.ref("base.cn").id,
                                                      "vat": "91110000802100433B"})
        second = self.make_invoice(lines=[(self.product_service, 3, 300.0)], partner=other_buyer)
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move SET l10n_cn_einv_serial_no = NULL WHERE id = %s", [first.id])
        self.env.cr.execute("UPDATE account_move SET l10n_cn_einv_serial_no = %s, l10n_cn_einv_state = 'to_issue' "
                            "WHERE id = %s", [serial, second.id])
        self.env.invalidate_all()
        _result, error = self.call("einv_user", "account.move", "action_l10n_cn_einv_issue", [second.id], button=True)
        self.assertAccepted(error)
        self.env.invalidate_all()
        self.assertEqual(second.l10n_cn_einv_state, "failed")
        self.assertFalse(second.l10n_cn_einv_number)
        self.assertFalse(second.l10n_cn_einv_pdf_id or second.l10n_cn_einv_xml_id)
        self.assertIn(number, second.l10n_cn_einv_error)
        self.assertIn(serial, second.l10n_cn_einv_error)
        self.assertEqual(self.issued_on_platform(), 1, "nothing more was issued")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestRedFormsOnlyFromCreditNotes(IntegrityCase):
    """Rule 6: red invoices come only from credit notes (or forms the platform lists)."""

    def red_form_count(self):
        return self.platform_stats()["red_invoices"]

    def test_no_role_creates_copies_or_edits_a_red_form(self):
        blue = self.issued_invoice()
        values = {"company_id": self.company.id, "blue_move_id": blue.id, "blue_number": blue.l10n_cn_einv_number,
                  "reason": "01", "full_reversal": True}
        with flow():    # a form as the flow left it, failed before it reached the platform
            form = self.env["l10n_cn_einv.red.form"].create({**values, "state": "failed"})
        for role in ("einv_user", "einv_manager", "admin"):
            with self.subTest(role=role, path="create"):
                _result, error = self.call(role, "l10n_cn_einv.red.form", "create", [values])
                self.assertRefused(error, "e-invoicing process")
            with self.subTest(role=role, path="xmlrpc create"):
                _result, fault = self.xmlrpc(role, "l10n_cn_einv.red.form", "create", [values])
                self.assertRefused(fault)
            with self.subTest(role=role, path="copy"):
                _result, error = self.call(role, "l10n_cn_einv.red.form", "copy", [form.id])
                self.assertRefused(error)
            for vals in ({"state": "draft"}, {"full_reversal": False},
                         {"line_ids": [Command.create({"blue_line_no": 1, "amount": -1, "tax_amount": -0.13})]},
                         {"credit_move_id": blue.id}):
                with self.subTest(role=role, vals=vals):
                    _result, error = self.call(role, "l10n_cn_einv.red.form", "write", [form.id], vals)
                    self.assertRefused(error)
            with self.subTest(role=role, path="line create"):
                _result, error = self.call(role, "l10n_cn_einv.red.form.line", "create", [{
                    "form_id": form.id, "blue_line_no": 1, "amount": -10.0, "tax_amount": -1.3}])
                self.assertRefused(error)
        self.env.invalidate_all()
        self.assertEqual((form.state, len(form.line_ids)), ("failed", 0))
        self.assertEqual(self.env["l10n_cn_einv.red.form"].search_count([("blue_move_id", "=", blue.id)]), 1)
        # positive control: followers and messages (mail bookkeeping) are still the users'
        _result, error = self.call("einv_user", "l10n_cn_einv.red.form", "message_post", [form.id], body="看一下")
        self.assertAccepted(error)

    def test_a_form_without_credit_note_is_never_sent(self):
        blue = self.issued_invoice()
        with flow():    # as if a form had been made by hand (an older version, an import)
            form = self.env["l10n_cn_einv.red.form"].create({
                "company_id": self.company.id, "blue_move_id": blue.id, "blue_number": blue.l10n_cn_einv_number,
                "reason": "01", "full_reversal": True, "serial_no": "RF-HAND-MADE-0001"})
        before = self.red_form_count()
        _result, error = self.call("einv_user", "l10n_cn_einv.red.form", "action_l10n_cn_einv_refresh", [form.id],
                                   button=True)
        self.assertAccepted(error)
        self.env.invalidate_all()
        self.assertEqual(form.state, "failed")
        self.assertIn("credit note", form.error)
        self.assertEqual(self.red_form_count(), before, "nothing reached the platform")
        self.assertEqual(blue.l10n_cn_einv_red_status, "none")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestNamesAreDataNotMarkup(IntegrityCase):
    """Rule 9: product and line names are escaped in activity notes and messages."""

    def test_a_hostile_product_name_stays_text_in_the_alert(self):
        self.company.l10n_cn_einv_auto_issue = True
        product = self._create_product(name=HOSTILE_NAME, lst_price=10.0, taxes_id=[Command.set(self.tax_13.ids)])
        move = self.make_invoice(lines=[(product, 1, 10.0)])
        # paid through the payment wizard, over RPC, by the billing user: automatic issue fails
        # (no classification code) and alerts the managers with the problem, naming the line
        context = {"active_model": "account.move", "active_ids": move.ids}
        wizard_ids, error = self.call("billing", "account.payment.register", "create", [{}], context=context)
        self.assertAccepted(error)
        _result, error = self.call("billing", "account.payment.register", "action_create_payments", wizard_ids,
                                   button=True, context=context)
        self.assertAccepted(error)
        self.env.invalidate_all()
        self.assertEqual(move.l10n_cn_einv_state, "failed")
        notes = " ".join(str(note) for note in move.activity_ids.mapped("note"))
        self.assertIn("onerror", notes, "the note names the line")
        self.assertNotIn("<img", notes)
        self.assertNotIn("<a ", notes)
        self.assertIn("&lt;img", notes)
        bodies = " ".join(str(body) for body in move.message_ids.mapped("body"))
        self.assertNotIn("<img", bodies)
        self.assertNotIn('<a href="https://evil', bodies)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestRedReversalNeedsTheGroup(IntegrityCase):
    """Rule 3 for credit notes: posting one that red-reverses an issued e-invoice is an e-invoice
    user's act; the company's automatic red reversal of returns acts for whoever validates."""

    def credit_note_over_rpc(self, role, blue):
        context = {"active_model": "account.move", "active_ids": blue.ids}
        wizard_ids, error = self.call(role, "account.move.reversal", "create", [{
            "l10n_cn_einv_red_reason": "02", "journal_id": blue.journal_id.id}], context=context)
        self.assertAccepted(error)
        action, error = self.call(role, "account.move.reversal", "refund_moves", wizard_ids, button=True,
                                  context=context)
        self.assertAccepted(error)
        return self.env["account.move"].browse(action["res_id"])

    def test_billing_and_accountant_cannot_red_reverse_by_posting_a_credit_note(self):
        blue = self.issued_invoice()
        red_before = self.platform_stats()["red_invoices"]
        for role in ("billing", "accountant"):
            credit = self.credit_note_over_rpc(role, blue)
            with self.subTest(role=role):
                _result, error = self.call(role, "account.move", "action_post", credit.ids, button=True)
                self.assertRefused(error, "E-Invoice User")
                self.env.invalidate_all()
                self.assertEqual(credit.state, "draft")
        self.assertFalse(self.env["l10n_cn_einv.red.form"].search([("blue_move_id", "=", blue.id)]))
        self.assertEqual(self.platform_stats()["red_invoices"], red_before)
        # positive control: an e-invoice user posts it, and the red invoice is issued
        credit = self.credit_note_over_rpc("einv_user", blue)
        _result, error = self.call("einv_user", "account.move", "action_post", credit.ids, button=True)
        self.assertAccepted(error)
        self.env.invalidate_all()
        self.assertEqual(credit.l10n_cn_einv_credit_form_ids.state, "red_issued")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPlatformFilesUnchanged(IntegrityCase):
    """Rule 1 for the files: the platform's PDF and XML of an invoice stay as the platform sent them."""

    def test_no_role_changes_or_deletes_the_e_invoice_files(self):
        move = self.issued_invoice()
        pdf, xml = move.l10n_cn_einv_pdf_id, move.l10n_cn_einv_xml_id
        raw = pdf.raw
        for role in ("billing", "einv_user", "admin"):
            for vals in ({"raw": b"%PDF-1.4 forged".decode()}, {"datas": "JVBERi0xLjQgZm9yZ2Vk"},
                         {"res_id": self.make_invoice().id}, {"res_model": "res.partner"}):
                with self.subTest(role=role, vals=list(vals)):
                    _result, error = self.call(role, "ir.attachment", "write", [pdf.id], vals)
                    self.assertRefused(error, "e-invoice files")
            with self.subTest(role=role, path="unlink"):
                _result, error = self.call(role, "ir.attachment", "unlink", [xml.id])
                self.assertRefused(error)
        self.env.invalidate_all()
        self.assertEqual((pdf.raw, pdf.res_id, xml.exists()), (raw, move.id, xml))
        # positive control: the billing user renames it and manages the invoice's other attachments
        _result, error = self.call("billing", "ir.attachment", "write", [pdf.id], {"name": "发票.pdf"})
        self.assertAccepted(error)
        other = self.env["ir.attachment"].create({"name": "note.txt", "raw": b"x", "res_model": "account.move",
                                                  "res_id": move.id})
        _result, error = self.call("billing", "ir.attachment", "unlink", [other.id])
        self.assertAccepted(error)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPrintedCharacters(IntegrityCase):
    """Rule 10: what would print is checked for characters and length before anything is sent."""

    def test_unprintable_and_overlong_input_is_refused_before_sending(self):
        product = self._create_product(name="激光\u0007打印机", lst_price=10.0, taxes_id=[Command.set(self.tax_13.ids)],
                                       l10n_cn_einv_tax_code_id=self.code_printer.id)
        move = self.make_invoice(lines=[(product, 1, 10.0)], post=False)
        move.write({"l10n_cn_einv_buyer_name": "上海某某\u200b贸易有限公司",
                    "l10n_cn_einv_buyer_address_phone": "上" * 400})
        move.action_post()
        for role in ("einv_user", "einv_manager"):
            with self.subTest(role=role):
                _result, error = self.call(role, "account.move", "action_l10n_cn_einv_issue", move.ids, button=True)
                # every problem at once: the zero-width space, the bell character, the length
                self.assertRefused(error, "U+200B", "U+0007", "400")
        self.env.invalidate_all()
        self.assertEqual(move.l10n_cn_einv_state, "not_needed")
        self.assertEqual(self.issued_on_platform(), 0)
        self.assertEqual(self.platform_stats()["requests"], self.requests_before)

    def setUp(self):
        super().setUp()
        self.requests_before = self.platform_stats()["requests"]
