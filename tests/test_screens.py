import io
import zipfile
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged

from ..fapiao.chinatime import china_today
from ..models.l10n_cn_einv_guard import flow
from .common import L10nCnEinvCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestScreens(L10nCnEinvCase, HttpCase):
    """What the accountant sees on the dashboard, the analysis, the period list and the zip of files,
    and what a user of another company does not get, over HTTP."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)
        cls.company_2 = cls.setup_other_company(name="分店 Branch Store")["company"]
        cls._connect_company(cls.company_2, "91330100MA27XF6T0L")
        cls.accountant = new_test_user(
            cls.env, login="einv_screens_accountant", name="会计 Accountant",
            groups="base.group_user,account.group_account_invoice,l10n_cn_einvoice.group_l10n_cn_einv_user",
            company_id=cls.company.id, company_ids=[Command.set(cls.company.ids)])
        cls.branch = new_test_user(
            cls.env, login="einv_screens_branch", name="Branch Accountant",
            groups="base.group_user,account.group_account_invoice,l10n_cn_einvoice.group_l10n_cn_einv_user",
            company_id=cls.company_2.id, company_ids=[Command.set(cls.company_2.ids)])
        cls.clerk = new_test_user(
            cls.env, login="einv_screens_clerk", name="Billing Clerk",
            groups="base.group_user,account.group_account_invoice",
            company_id=cls.company.id, company_ids=[Command.set(cls.company.ids)])
        cls.tax_9 = cls._percent_tax(9.0, cls.company)
        cls.tax_0 = cls._percent_tax(0.0, cls.company)

    def setUp(self):
        super().setUp()
        self.now = fields.Datetime.now().replace(microsecond=0)

    # --- helpers ---------------------------------------------------------------------------------

    def forced(self, state, issued_ago=None, move_type="out_invoice", lines=None, post=True):
        """An invoice left in ``state`` as the flow would leave it (issued ``issued_ago`` seconds ago);
        ``lines``: (product, quantity, price, tax)."""
        lines = lines if lines is not None else [(self.product_printer, 1, 100.0, self.tax_13)]
        move = self.env["account.move"].create({
            "move_type": move_type, "partner_id": self.buyer.id, "company_id": self.company.id,
            "invoice_date": fields.Date.today(),
            "invoice_line_ids": [Command.create({"product_id": product.id, "quantity": quantity, "price_unit": price,
                                                 "tax_ids": [Command.set(tax.ids)]})
                                 for product, quantity, price, tax in lines],
        })
        if post:
            move.action_post()
        vals = {"l10n_cn_einv_state": state, "l10n_cn_einv_submitted_at": self.now - timedelta(seconds=60)}
        if issued_ago is not None:
            vals.update(l10n_cn_einv_issue_time=self.now - timedelta(seconds=issued_ago),
                        l10n_cn_einv_number=f"2644{move.id:016d}")
        with flow():
            move.write(vals)
        return move

    def this_month(self, **values):
        today = china_today(fields.Datetime.now())
        return self.env["l10n_cn_einv.period.wizard"].create({
            "company_id": self.company.id, "date_from": today.replace(day=1), "date_to": today, **values})

    def get_zip(self, url):
        response = self.url_open(url)
        self.assertEqual(response.status_code, 200, response.text[:300])
        self.assertEqual(response.headers["Content-Type"], "application/zip")
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        return {name: archive.read(name) for name in archive.namelist()}

    def expected_files(self, moves):
        files = {}
        for move in moves:
            files[f"{move.l10n_cn_einv_number}.pdf"] = move.l10n_cn_einv_pdf_id.raw
            if move.l10n_cn_einv_ofd_id:
                files[f"{move.l10n_cn_einv_number}.ofd"] = move.l10n_cn_einv_ofd_id.raw
        return files

    # --- dashboard and analysis ---------------------------------------------------------------------

    def test_dashboard_and_analysis_count_the_same_failures(self):
        self.forced("issued", issued_ago=0)
        self.forced("failed")
        # Refused before anything was sent: no product line at all, failed all the same.
        self.forced("failed", lines=[], post=False)
        self.forced("failed").button_cancel()

        dashboard = self.env["l10n_cn_einv.dashboard"].create({"company_id": self.company.id})
        report = self.env["l10n_cn_einv.report"]
        analysis_failed = sum(report.search([("company_id", "=", self.company.id)]).mapped("failed_count"))
        failed_list = self.env["account.move"].search(dashboard.action_open_failed()["domain"])
        self.assertEqual(dashboard.failed_count, 3)
        self.assertEqual(analysis_failed, 3)
        self.assertEqual(len(failed_list), 3)
        self.assertEqual(report.search_count([("company_id", "=", self.company.id), ("state", "=", "failed"),
                                              ("invoice_count", "=", 1)]), 3)

        # By default the analysis counts what was issued.
        action = self.env["ir.actions.act_window"]._for_xml_id("l10n_cn_einvoice.action_l10n_cn_einv_report")
        self.assertIn("'search_default_issued': 1", action["context"])
        self.assertEqual(dashboard.action_open_trend()["context"]["search_default_issued"], 1)

    def test_dashboard_opens_as_a_named_record(self):
        action = self.env["l10n_cn_einv.dashboard"].with_user(self.accountant).action_l10n_cn_einv_open()
        dashboard = self.env["l10n_cn_einv.dashboard"].browse(action["res_id"])
        self.assertTrue(dashboard.exists(), "a saved record: no New, no save or discard")
        self.assertEqual(dashboard.display_name, "E-Invoice Dashboard")
        self.assertEqual(dashboard.with_context(lang="zh_CN").display_name,
                         dashboard.with_context(lang="zh_CN").env._("E-Invoice Dashboard"))
        menu = self.env.ref("l10n_cn_einvoice.menu_l10n_cn_einv_dashboard")
        self.assertEqual(menu.action, self.env.ref("l10n_cn_einvoice.action_l10n_cn_einv_dashboard_open"))
        with self.assertRaises(AccessError):
            self.env["l10n_cn_einv.dashboard"].with_user(self.clerk).action_l10n_cn_einv_open()

    def test_totals_per_tax_rate(self):
        blue = self.forced("issued", issued_ago=0, lines=[
            (self.product_printer, 2, 1000.0, self.tax_13), (self.product_service, 1, 300.0, self.tax_6),
            (self.product_service, 1, 200.0, self.tax_9), (self.product_service, 1, 50.0, self.tax_0)])
        self.forced("issued", issued_ago=0, move_type="out_refund",
                    lines=[(self.product_printer, 1, 1000.0, self.tax_13)])
        self.forced("failed", lines=[(self.product_printer, 5, 1000.0, self.tax_13)])
        self.forced("pending", lines=[(self.product_service, 5, 100.0, self.tax_6)])
        expected = {"13": (1000.0, 130.0, 1130.0), "9": (200.0, 18.0, 218.0), "6": (300.0, 18.0, 318.0),
                    "0": (50.0, 0.0, 50.0)}

        action = self.env["l10n_cn_einv.dashboard"].create({}).action_open_by_tax_rate()
        self.assertEqual(action["views"][0][1], "pivot")
        self.assertEqual(action["context"]["pivot_row_groupby"], ["tax_rate"])
        issued_filter = [("issue_time", "!=", False)]      # the search view's default filter
        groups = self.env["l10n_cn_einv.report"]._read_group(
            [*action["domain"], *issued_filter], ["tax_rate"],
            ["amount_untaxed:sum", "amount_tax:sum", "amount_total:sum"])
        self.assertEqual({rate: tuple(amounts) for rate, *amounts in groups}, expected)

        # The printable list of the period: the same totals, in the company's language (Chinese).
        self.company.partner_id.lang = "zh_CN"
        wizard = self.this_month()
        report_action = wizard.with_user(self.accountant).action_print()
        self.assertEqual(report_action["report_name"], "l10n_cn_einvoice.report_l10n_cn_einv_period")
        html = self.env["ir.actions.report"].with_user(self.accountant)._render_qweb_html(
            "l10n_cn_einvoice.action_report_l10n_cn_einv_period", wizard.ids)[0].decode()
        for heading in ("按税率汇总", "税率", "金额", "税额", "价税合计", "红字", "蓝字", "0%/免税"):
            self.assertIn(heading, html)
        self.assertNotIn("Totals per Tax Rate", html)
        sections = self.env["report.l10n_cn_einvoice.report_l10n_cn_einv_period"]._get_report_values(wizard.ids)
        section = sections["sections"][wizard.id]
        self.assertEqual({row["rate"]: (row["untaxed"], row["tax"], row["total"]) for row in section["rates"]},
                         expected)
        self.assertEqual([row["rate"] for row in section["rates"]], ["13", "9", "6", "0"])
        self.assertEqual(section["totals"], {"untaxed": 1550.0, "tax": 166.0, "total": 1716.0})
        self.assertEqual(section["count"], 2)
        self.assertEqual(section["rows"][0]["number"], blue.l10n_cn_einv_number)
        for amount in ("1000.00", "130.00", "1130.00", "1550.00", "166.00", "1716.00"):
            self.assertIn(amount, html)

    # --- the zip of files -------------------------------------------------------------------------------

    def test_zip_of_a_selection_and_of_a_month(self):
        first, second = self.issued_invoice(), self.issued_invoice()
        self.forced("failed")
        expected = self.expected_files(first | second)
        self.assertEqual(len(expected), len(set(self.file_formats()) & {"pdf", "ofd"}) * 2)

        Wizard = self.env["l10n_cn_einv.period.wizard"].with_user(self.accountant)
        action = Wizard.action_download_selection((first | second).ids)
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.authenticate("einv_screens_accountant", "einv_screens_accountant")
        self.assertEqual(self.get_zip(action["url"]), expected)

        month = self.this_month().with_user(self.accountant)
        month_action = month.action_download_zip()
        files = self.get_zip(month_action["url"])
        self.assertEqual({name: data for name, data in files.items() if name in expected}, expected)

        # Nothing from the platform: said in a dialog, before any download.
        with self.assertRaisesRegex(Exception, "e-invoice file"):
            Wizard.action_download_selection(self.forced("failed").ids)

    def test_zip_refused_to_other_companies_and_non_users(self):
        move = self.issued_invoice()
        pdf = move.l10n_cn_einv_pdf_id.raw
        own = self.env["l10n_cn_einv.period.wizard"].with_user(self.accountant).create(
            {"company_id": self.company.id, "move_ids": [Command.set(move.ids)]})
        url = own.action_download_zip()["url"]

        # A user of the branch: not the accountant's download, nor one made of the head office's invoices.
        self.authenticate("einv_screens_branch", "einv_screens_branch")
        response = self.url_open(url)
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(pdf, response.content)
        Branch = self.env["l10n_cn_einv.period.wizard"].with_user(self.branch)
        with self.assertRaises(AccessError):
            Branch.action_download_selection(move.ids)
        forged = Branch.create({"company_id": self.company_2.id, "move_ids": [Command.set(move.ids)]})
        response = self.url_open(f"/l10n_cn_einvoice/files/{forged.id}.zip")
        self.assertEqual(response.status_code, 404)
        self.assertNotIn(pdf, response.content)
        # the head office's period: refused when asked for (the wizard's company rule), nothing to download
        with self.assertRaises(AccessError):
            Branch.create({"company_id": self.company.id, "date_from": "2000-01-01", "date_to": "2100-01-01"})

        # Of the company but not an e-invoice user: no download either.
        self.authenticate("einv_screens_clerk", "einv_screens_clerk")
        with self.assertRaises(AccessError):
            self.env["l10n_cn_einv.period.wizard"].with_user(self.clerk).action_download_selection(move.ids)
        self.assertEqual(self.url_open(url).status_code, 404)

    # --- the sale order list -------------------------------------------------------------------------

    def test_sale_order_list_shows_the_e_invoice_status(self):
        order = self.env["sale.order"].create({
            "partner_id": self.buyer.id, "company_id": self.company.id,
            "order_line": [Command.create({"product_id": self.product_service.id, "product_uom_qty": 1})],
        })
        order.action_confirm()
        arch = self.env["sale.order"].get_views([(self.env.ref("sale.view_order_tree").id, "list")])
        self.assertIn('name="l10n_cn_einv_order_status"', arch["views"]["list"]["arch"])
        quotations = self.env["sale.order"].get_views([(self.env.ref("sale.view_quotation_tree").id, "list")])
        self.assertIn('name="l10n_cn_einv_order_status"', quotations["views"]["list"]["arch"])

        def status():
            order.invalidate_recordset()
            row = order.web_search_read([("id", "=", order.id)], {"l10n_cn_einv_order_status": {}})["records"][0]
            return row["l10n_cn_einv_order_status"]

        self.assertFalse(status(), "no invoice yet: blank")
        invoice = order._create_invoices()
        invoice.action_post()
        self.assertEqual(status(), "not_requested")
        invoice.action_l10n_cn_einv_issue()
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")
        self.assertEqual(status(), "issued")
        self.assertEqual(dict(self.env["sale.order"].with_context(lang="zh_CN")._fields[
            "l10n_cn_einv_order_status"]._description_selection(self.env(context={"lang": "zh_CN"})))["issued"],
            "已开具")
