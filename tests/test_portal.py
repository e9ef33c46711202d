from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged

from ..models.l10n_cn_einv_files import FILE_FIELDS
from .common import L10nCnEinvCase


@tagged("post_install", "-at_install")
class TestPortal(L10nCnEinvCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.portal_user = cls.env["res.users"].create({
            "name": "上海某某贸易 财务", "login": "buyer_portal", "password": "buyer_portal_pw",
            "partner_id": cls.buyer.id, "company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)],
            "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
        })
        cls.other_buyer = cls.env["res.partner"].create({
            "name": "杭州另一家公司", "is_company": True, "country_id": cls.env.ref("base.cn").id,
            "email": "ap@other.example.cn"})

    def download(self, move, file_format, **params):
        query = "&".join(f"{key}={value}" for key, value in params.items())
        return self.url_open(f"/my/invoices/{move.id}/l10n_cn_einvoice/{file_format}" + (f"?{query}" if query else ""))

    def red_invoice(self):
        blue = self.issued_invoice()
        wizard = self.env["account.move.reversal"].with_context(active_model="account.move", active_ids=blue.ids) \
            .create({"l10n_cn_einv_red_reason": "01", "journal_id": blue.journal_id.id})
        credit = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        credit.action_post()
        self.assertEqual(credit.l10n_cn_einv_state, "issued")
        self.receive_files()
        return blue, credit

    def test_buyer_downloads_own_e_invoice_files(self):
        move = self.issued_invoice()
        self.authenticate("buyer_portal", "buyer_portal_pw")
        response = self.download(move, "pdf")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.content.startswith(b"%PDF"))
        self.assertEqual(response.content, move.l10n_cn_einv_pdf_id.raw)
        self.assertIn("attachment", response.headers["Content-Disposition"])
        response = self.download(move, "xml")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, move.l10n_cn_einv_xml_id.raw)
        self.assertEqual(self.download(move, "exe").status_code, 404)
        if "ofd" in self.provider_spec.capabilities.file_formats:    # 诺诺: the legal original
            response = self.download(move, "ofd")
            self.assertEqual((response.status_code, response.content), (200, move.l10n_cn_einv_ofd_id.raw))
        else:
            self.assertEqual(self.download(move, "ofd").status_code, 404)

    def test_list_and_page_show_the_e_invoice(self):
        move = self.issued_invoice()
        self.authenticate("buyer_portal", "buyer_portal_pw")
        response = self.url_open("/my/invoices")
        self.assertEqual(response.status_code, 200)
        self.assertIn(move.l10n_cn_einv_number, response.text)
        self.assertIn("Issued", response.text)
        response = self.url_open(f"/my/invoices/{move.id}")
        self.assertEqual(response.status_code, 200)
        self.assertIn(move.l10n_cn_einv_number, response.text)
        self.assertIn(f"/my/invoices/{move.id}/l10n_cn_einvoice/pdf", response.text)
        self.assertIn(f"/my/invoices/{move.id}/l10n_cn_einvoice/xml", response.text)

    def test_no_access_to_another_customers_e_invoice(self):
        other = self.issued_invoice(partner=self.other_buyer)
        self.authenticate("buyer_portal", "buyer_portal_pw")
        for file_format in ("pdf", "xml"):
            response = self.download(other, file_format)
            self.assertIn(response.status_code, (403, 404))
            self.assertNotIn(b"%PDF", response.content)
        self.assertEqual(self.download(other, "pdf", access_token="wrong-token").status_code, 404)

    def test_access_token_link_works_without_login(self):
        move = self.issued_invoice()
        token = move._portal_ensure_token()
        response = self.download(move, "pdf", access_token=token)
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.content.startswith(b"%PDF"))
        self.assertEqual(self.download(move, "pdf").status_code, 404)

    def test_no_file_before_issue(self):
        move = self.make_invoice()
        self.authenticate("buyer_portal", "buyer_portal_pw")
        self.assertEqual(self.download(move, "pdf").status_code, 404)

    def test_red_invoice_files_on_the_credit_note(self):
        blue, credit = self.red_invoice()
        self.authenticate("buyer_portal", "buyer_portal_pw")
        # downloaded by its red-letter form, whose log proves them the platform's
        for file_format in self.file_formats():
            field_name = FILE_FIELDS[file_format]
            response = self.download(credit, file_format)
            self.assertEqual(response.status_code, 200)
            self.assertEqual(response.content, credit[field_name].raw)
        # the blue invoice's PDF is no file of the credit note
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move SET l10n_cn_einv_pdf_id = %s WHERE id = %s",
                            [blue.l10n_cn_einv_pdf_id.id, credit.id])
        self.env.invalidate_all()
        response = self.download(credit, "pdf")
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(blue.l10n_cn_einv_pdf_id.raw, response.content)

    def test_files_issued_by_a_user_who_may_not_edit_views(self):
        """ir.attachment stores their XML as text/plain: still the platform's file, still served."""
        issuer = new_test_user(self.env, login="portal_issuer",
                               groups="base.group_user,l10n_cn_einvoice.group_l10n_cn_einv_user",
                               company_id=self.company.id, company_ids=[Command.set(self.company.ids)])
        move = self.make_invoice()
        move.with_user(issuer).action_l10n_cn_einv_issue()
        move.with_user(issuer).action_l10n_cn_einv_send()     # the files come with the click that mails them
        self.assertEqual(move.l10n_cn_einv_xml_id.mimetype, "text/plain")
        self.authenticate("buyer_portal", "buyer_portal_pw")
        response = self.download(move, "xml")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, move.l10n_cn_einv_xml_id.raw)

    # --- the main Download is the 数电票; red invoices are marked ---------------------------------

    def main_pdf(self, move, download=True, **params):
        query = "&".join(f"{key}={value}" for key, value in {
            "report_type": "pdf", **({"download": "true"} if download else {}), **params}.items())
        return self.url_open(f"/my/invoices/{move.id}?{query}")

    def test_main_download_is_the_platform_pdf(self):
        move = self.issued_invoice()
        pdf = move.l10n_cn_einv_pdf_id.raw
        self.authenticate("buyer_portal", "buyer_portal_pw")
        page = self.url_open(f"/my/invoices/{move.id}").text
        self.assertIn(f"/my/invoices/{move.id}?", page)   # Odoo's Download button, which now gives the 数电票
        response = self.main_pdf(move)
        self.assertEqual((response.status_code, response.content), (200, pdf))
        self.assertIn("attachment", response.headers["Content-Disposition"])
        self.assertEqual(response.headers["Content-Type"], "application/pdf")
        response = self.main_pdf(move, download=False)   # to print: shown in the browser
        self.assertEqual((response.status_code, response.content), (200, pdf))
        self.assertNotIn("attachment", response.headers.get("Content-Disposition", ""))
        # the access token link of the invoice mail, without logging in
        token = move._portal_ensure_token()
        self.authenticate(None, None)
        response = self.main_pdf(move, access_token=token)
        self.assertEqual((response.status_code, response.content), (200, pdf))
        self.assertNotEqual(self.main_pdf(move, access_token="wrong-token").content, pdf)

    def test_main_download_is_odoos_report_without_a_platform_pdf(self):
        draft_einv = self.make_invoice()
        issued = self.issued_invoice()
        other = self.issued_invoice()
        # a file field pointing at another invoice's PDF proves nothing: Odoo's report is given
        self.env.flush_all()
        self.env.cr.execute("UPDATE account_move SET l10n_cn_einv_pdf_id = %s WHERE id = %s",
                            [other.l10n_cn_einv_pdf_id.id, issued.id])
        self.env.invalidate_all()
        self.authenticate("buyer_portal", "buyer_portal_pw")
        for move in (draft_einv, issued):
            response = self.main_pdf(move)
            self.assertEqual(response.status_code, 200)
            self.assertNotEqual(response.content, other.l10n_cn_einv_pdf_id.raw)
            self.assertIn(move.name.encode(), response.content)   # the invoice report (HTML in tests)

    def test_red_invoice_marked_red_on_list_and_page(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)
        self.portal_user.lang = "zh_CN"
        blue, credit = self.red_invoice()
        self.authenticate("buyer_portal", "buyer_portal_pw")
        listing = self.url_open("/my/invoices").text
        self.assertEqual(listing.count('name="l10n_cn_einv_red"'), 1)   # the credit note only
        self.assertIn("红字", listing)
        page = self.url_open(f"/my/invoices/{credit.id}").text
        self.assertIn('name="l10n_cn_einv_red"', page)
        self.assertIn("红字", page)
        self.assertNotIn('name="l10n_cn_einv_red"', self.url_open(f"/my/invoices/{blue.id}").text)
        # its main download is the red e-invoice
        response = self.main_pdf(credit)
        self.assertEqual((response.status_code, response.content), (200, credit.l10n_cn_einv_pdf_id.raw))
