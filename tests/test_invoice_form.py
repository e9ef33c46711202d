"""What the accountant sees on the invoice form: no button that can only be refused, and the
e-invoice files as links that download them (not the attachment's form, with its delete icon)."""

import re

from lxml import etree

from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.safe_eval import safe_eval

from .common import L10nCnEinvCase


@tagged("post_install", "-at_install")
class TestInvoiceForm(L10nCnEinvCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # an accountant who issues e-invoices, not an administrator
        cls.accountant = new_test_user(
            cls.env, login="einv_form_user", password="einv_form_user_pw",
            groups="account.group_account_invoice,l10n_cn_einvoice.group_l10n_cn_einv_user",
            company_id=cls.company.id, company_ids=[Command.set(cls.company.ids)])

    def form_arch(self, move):
        views = move.with_user(self.accountant).get_views([(False, "form")])
        return etree.fromstring(views["views"]["form"]["arch"])

    def shown(self, move, node):
        """Whether ``node`` of the form shows for ``move``, its invisible expression evaluated as
        the web client does, with the record's values."""
        expression = node.get("invisible") or "False"
        names = set(re.findall(r"[A-Za-z_]\w*", expression)) & set(move._fields)
        values = {}
        for name in names:
            value = move[name]
            field = move._fields[name]
            values[name] = (value.id if field.type == "many2one" else value.ids
                            if field.type in ("one2many", "many2many") else value)
        return not safe_eval(expression, {"context": {}, "uid": self.accountant.id, **values})

    def buttons(self, move):
        """The names of the header buttons the accountant sees on the form of ``move``."""
        header = self.form_arch(move).find(".//header")
        return {node.get("name") for node in header.iter("button") if self.shown(move, node)}

    def test_no_void_or_reset_button_on_an_issued_e_invoice(self):
        move = self.issued_invoice()
        self.assertIn(move.l10n_cn_einv_invoice_type, ("01", "02"))   # a 数电票
        buttons = self.buttons(move)
        self.assertNotIn("action_l10n_cn_einv_void", buttons)
        self.assertNotIn("button_draft", buttons)
        self.assertIn("action_l10n_cn_einv_send", buttons)   # what can be done still shows
        # the server still refuses both, whoever calls them
        with self.assertRaises(UserError):
            move.with_user(self.accountant).action_l10n_cn_einv_void()
        with self.assertRaises(UserError):
            move.with_user(self.accountant).button_draft()

    def test_reset_button_where_resetting_works(self):
        move = self.make_invoice()
        self.assertIn(move.l10n_cn_einv_state, ("not_needed", "to_issue"))
        self.assertIn("button_draft", self.buttons(move))
        move.with_user(self.accountant).button_draft()
        self.assertEqual(move.state, "draft")

    def test_files_download_and_cannot_be_changed(self):
        move = self.issued_invoice()
        arch = self.form_arch(move)
        for file_format in self.file_formats():
            attachment = move[f"l10n_cn_einv_{file_format}_id"]
            # the many2one (which opens the attachment form) is not shown, a read-only file link is
            self.assertFalse(self.shown(move, arch.find(f".//field[@name='l10n_cn_einv_{file_format}_id']")))
            link = arch.find(f".//field[@name='l10n_cn_einv_{file_format}_file']")
            self.assertEqual((link.get("widget"), link.get("readonly")), ("binary", "1"))
            self.assertTrue(self.shown(move, link))
            # the link the binary widget opens gives the file, to an accountant who is no administrator
            self.authenticate("einv_form_user", "einv_form_user_pw")
            response = self.url_open(
                f"/web/content?model=account.move&id={move.id}&field=l10n_cn_einv_{file_format}_file"
                f"&filename_field=l10n_cn_einv_{file_format}_filename&download=true")
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.content, attachment.raw)
            self.assertIn("attachment", response.headers["Content-Disposition"])
            # and nothing lets the user change or delete the platform's file
            with self.assertRaises(UserError):
                move.with_user(self.accountant).write({f"l10n_cn_einv_{file_format}_file": b"Zm9yZ2Vk"})
            with self.assertRaises(UserError):
                attachment.with_user(self.accountant).unlink()
            self.assertEqual(move[f"l10n_cn_einv_{file_format}_id"], attachment)
            self.assertEqual(move[f"l10n_cn_einv_{file_format}_file"], attachment.datas)
