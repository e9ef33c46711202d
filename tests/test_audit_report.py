import io
import json
import re
from datetime import date, datetime, timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError, ValidationError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools.pdf import PdfReader

from ..fapiao.chinatime import china_today
from ..models import l10n_cn_einv_platform as platform
from ..models.l10n_cn_einv_guard import flow
from .common import L10nCnEinvCase

REPORT = "l10n_cn_einvoice.action_report_l10n_cn_einv_audit"
VOLUME = 300
# October 2026 in China starts at 2026-09-30 16:00 UTC.
OCTOBER_START_UTC = datetime(2026, 9, 30, 16, 0, 0)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestAuditReport(L10nCnEinvCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.auditor = new_test_user(
            cls.env, login="einv_auditor", name="审计员 Auditor",
            groups="base.group_user,l10n_cn_einvoice.group_l10n_cn_einv_auditor",
            company_id=cls.company.id, company_ids=[Command.set(cls.company.ids)])
        cls.company_2 = cls.setup_other_company(name="杭州分店")["company"]
        cls.auditor_2 = new_test_user(
            cls.env, login="einv_auditor_2", name="Branch Auditor",
            groups="base.group_user,l10n_cn_einvoice.group_l10n_cn_einv_auditor",
            company_id=cls.company_2.id, company_ids=[Command.set(cls.company_2.ids)])

    # --- helpers -------------------------------------------------------------------------------------

    def tracked(self, records):
        """Tests turn mail tracking off by default; the report prints what it records."""
        return records.with_context(tracking_disable=False, mail_notrack=False)

    def flush_tracking(self):
        # Tracking values are written just before the commit, which tests never reach.
        self.env.flush_all()
        self.env.cr.precommit.run()

    def render(self, date_from=None, date_to=None, user=None, company=None):
        env = self.env(user=user) if user else self.env
        today = china_today(fields.Datetime.now())
        wizard = env["l10n_cn_einv.audit.wizard"].create({
            "company_id": (company or self.company).id,
            "date_from": date_from or today.replace(day=1), "date_to": date_to or today,
        })
        html, kind = env["ir.actions.report"]._render_qweb_html(REPORT, wizard.ids)
        self.assertEqual(kind, "html")
        return html.decode()

    def count_queries(self, date_from, date_to):
        self.env.invalidate_all()
        before = self.env.cr.sql_log_count
        html = self.render(date_from, date_to)
        return self.env.cr.sql_log_count - before, html

    def make_volume(self, count):
        """``count`` invoices issued in October 2026, written as the issuing flow leaves them,
        each with its issue request and document download in the log."""
        moves = self.env["account.move"].create([{
            "move_type": "out_invoice", "partner_id": self.buyer.id, "invoice_date": "2026-10-01",
            "company_id": self.company.id,
            "invoice_line_ids": [Command.create({"product_id": self.product_service.id, "quantity": 1,
                                                 "price_unit": 100.0 + index})],
        } for index in range(count)])
        moves.action_post()
        self.flush_tracking()                               # as if created in an earlier transaction
        internal = self.tracked(moves)
        with flow():    # set-up: the history the flow would have written
            internal.write({"l10n_cn_einv_state": "to_issue"})
        self.flush_tracking()
        logs = []
        for index, move in enumerate(internal):
            submitted = OCTOBER_START_UTC + timedelta(hours=2 * index)
            issued = submitted + timedelta(seconds=10 * (index % 7 + 1))
            number = f"2644{index + 1:016d}"
            with flow():
                move.write({"l10n_cn_einv_state": "issued", "l10n_cn_einv_number": number,
                            "l10n_cn_einv_serial_no": f"OE-VOLUME-{index:06d}",
                            "l10n_cn_einv_submitted_at": submitted, "l10n_cn_einv_issue_time": issued})
            logs += [{
                "company_id": self.company.id, "move_id": move.id, "res_model": "account.move", "res_id": move.id,
                "service": "invoice.issue", "serial_no": f"OE-VOLUME-{index:06d}", "attempt": 1,
                "started_at": submitted, "duration_ms": 120.0 + index, "code": "0000", "message": "成功",
                "succeeded": True, "operator_id": self.env.uid,
                "request": json.dumps({"serialNo": f"OE-VOLUME-{index:06d}", "buyer": {"name": "上海某某贸易有限公司"},
                                       "appId": "***"}, ensure_ascii=False),
                "response": json.dumps({"code": "0000", "data": {"invoiceNumber": number}}),
            }, {
                "company_id": self.company.id, "move_id": move.id, "service": "document.download",
                "started_at": issued, "duration_ms": 30.0, "code": "0000", "message": "成功", "succeeded": True,
                "operator_id": self.env.uid, "request": json.dumps({"invoiceNumber": number, "format": "pdf"}),
                "response": json.dumps({"code": "0000", "data": {"fileName": f"{number}.pdf"}}),
            }]
        self.flush_tracking()
        self.env["l10n_cn_einv.log"].sudo().create(logs)
        return moves

    # --- content -------------------------------------------------------------------------------------

    def test_report_lists_numbers_state_changes_and_masked_exchanges(self):
        moves = self.make_invoice() | self.make_invoice(lines=[(self.product_service, 3, 300.0)])
        self.flush_tracking()                               # as if created in an earlier transaction
        self.tracked(moves).action_l10n_cn_einv_issue()
        self.receive_files()
        self.flush_tracking()
        self.assertEqual(set(moves.mapped("l10n_cn_einv_state")), {"issued"})
        credentials = platform.tooling_credentials(self.company)
        secret, sm4_key = credentials["app_secret"], credentials["sm4_key"]
        # Should a log line ever carry a secret, the report masks it again.
        self.env["l10n_cn_einv.log"].sudo().create({
            "company_id": self.company.id, "move_id": moves[0].id, "service": "invoice.query",
            "started_at": fields.Datetime.now(), "code": "2003", "message": f"bad signature with {secret}",
            "succeeded": False, "request": json.dumps({"secret": secret, "key": sm4_key}), "response": "{}",
            "operator_id": self.env.uid,
        })

        html = self.render()

        for move in moves:
            self.assertIn(move.name, html)
            self.assertRegex(move.l10n_cn_einv_number, r"^\d{20}$")
            self.assertIn(move.l10n_cn_einv_number, html)
            self.assertIn(move.l10n_cn_einv_serial_no, html)
        self.assertIn("上海某某贸易有限公司", html)
        self.assertIn("2,260.00", html)
        self.assertIn("954.00", html)                       # 3 x 300.00 + 6 %
        self.assertIn("Ordinary invoice (普票)", html)
        # Status changes from the mail tracking, with their author; the operator who clicked.
        self.assertRegex(html, rf"<td>Not Requested</td>\s*<td>Issued</td>\s*<td>{re.escape(self.env.user.name)}</td>")
        self.assertIn(f"<td>{self.env.user.name}</td>", html)
        # The exchanges behind them: services, return codes, the requests and responses as logged.
        for needle in ("invoice.issue", "document.download", "0000", "serialNo", "invoiceNumber", "2003"):
            self.assertIn(needle, html)
        self.assertIn("bad signature with ***", html)
        self.assertNotIn(secret, html)
        self.assertNotIn(sm4_key, html)
        # Header, footer and Chinese fonts.
        self.assertIn(self.company.name, html)
        self.assertIn(china_today(fields.Datetime.now()).replace(day=1).isoformat(), html)
        self.assertIn("Generated:", html)
        self.assertEqual(len(re.findall(r"kept at least\s+5\s+years and cannot be\s+deleted before then", html)), 2)
        self.assertIn("font-family: &#39;Noto Sans CJK SC&#39;", html)

    def test_period_and_empty_report(self):
        wizard = self.env["l10n_cn_einv.audit.wizard"].create({"company_id": self.company.id})
        self.assertEqual(wizard.action_print()["type"], "ir.actions.report")
        with self.assertRaises(ValidationError):
            wizard.write({"date_from": date(2026, 2, 1), "date_to": date(2026, 1, 31)})
        html = self.render(date(2020, 1, 1), date(2020, 1, 31))
        self.assertIn("No e-invoice was issued or submitted in this period.", html)
        self.assertIn("2020-01-31", html)

    # --- volume --------------------------------------------------------------------------------------

    def test_month_of_hundreds_of_invoices_in_a_bounded_number_of_queries(self):
        moves = self.make_volume(VOLUME)
        # Compile the templates and fill the caches (access rules ...) first.
        for _warm_up in range(2):
            self.count_queries(date(2026, 10, 1), date(2026, 10, 1))
        one_day, html_day = self.count_queries(date(2026, 10, 1), date(2026, 10, 1))
        month, html = self.count_queries(date(2026, 10, 1), date(2026, 10, 31))
        self.assertEqual(html_day.count("<h5>"), 12)                       # one every 2 hours
        self.assertEqual(html.count("<h5>"), VOLUME)
        self.assertEqual(month, one_day, "the query count must not depend on the number of invoices")
        self.assertLessEqual(month, 25)
        for move in moves[::37]:
            self.assertIn(move.name, html)
            self.assertIn(move.l10n_cn_einv_number, html)
        self.assertEqual(html.count("OE-VOLUME-"), 2 * VOLUME)             # serial: details, request
        self.assertEqual(len(self.tracked(moves).env["mail.tracking.value"].search([
            ("mail_message_id.res_id", "in", moves.ids), ("mail_message_id.model", "=", "account.move"),
            ("field_id.name", "=", "l10n_cn_einv_state")])), 2 * VOLUME)
        # Not Requested -> To Issue -> Issued: "To Issue" printed twice per invoice.
        self.assertEqual(html.count("<td>To Issue</td>"), 2 * VOLUME)

    # --- who may see what ----------------------------------------------------------------------------

    def test_auditor_reads_everything_changes_nothing(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        report = self.env.ref(REPORT)
        self.assertIn(self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_auditor"), report.groups_id)
        self.assertIn(self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager"), report.groups_id)

        html = self.render(user=self.auditor)
        self.assertIn(move.l10n_cn_einv_number, html)
        as_auditor = self.env(user=self.auditor)
        self.assertEqual(as_auditor["account.move"].browse(move.id).l10n_cn_einv_number, move.l10n_cn_einv_number)
        self.assertTrue(as_auditor["l10n_cn_einv.log"].search([("move_id", "=", move.id)]))
        self.assertTrue(as_auditor["l10n_cn_einv.report"].search([("move_id", "=", move.id)]))
        self.assertEqual(as_auditor["l10n_cn_einv.dashboard"].create({}).issued_today, 1)
        with self.assertRaises(AccessError):
            as_auditor["account.move"].browse(move.id).write({"narration": "changed"})
        with self.assertRaises(AccessError):
            as_auditor["l10n_cn_einv.log"].create({"company_id": self.company.id, "service": "x",
                                                   "started_at": fields.Datetime.now()})
        with self.assertRaises(AccessError):
            as_auditor["account.move"].browse(move.id).write({"l10n_cn_einv_state": "failed"})

    def test_other_company_sees_none_of_the_first(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        html = self.render(user=self.auditor_2, company=self.company_2)
        self.assertIn("杭州分店", html)
        self.assertNotIn(move.l10n_cn_einv_number, html)
        self.assertNotIn(move.name, html)
        self.assertIn("No e-invoice was issued or submitted in this period.", html)
        with self.assertRaises(AccessError):
            self.render(user=self.auditor_2, company=self.company)
        self.assertFalse(self.env(user=self.auditor_2)["l10n_cn_einv.report"].search([("move_id", "=", move.id)]))


@tagged("post_install", "-at_install", "post_install_l10n")
class TestAuditReportPdf(L10nCnEinvCase, HttpCase):
    """The PDF through wkhtmltopdf. An HttpCase: wkhtmltopdf fetches the report's CSS from this
    Odoo, whose HTTP requests must then share the test transaction (else they wait on its locks)."""

    def test_pdf_with_chinese_text(self):
        state = self.env["ir.actions.report"].get_wkhtmltopdf_state()
        if state != "ok":
            self.skipTest(f"wkhtmltopdf is {state}: only the HTML rendering is tested here (make setup installs it)")
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        wizard = self.env["l10n_cn_einv.audit.wizard"].create({"company_id": self.company.id})
        pdf, kind = self.env["ir.actions.report"].with_context(force_report_rendering=True)._render_qweb_pdf(
            REPORT, wizard.ids)
        self.assertEqual(kind, "pdf")
        self.assertTrue(pdf.startswith(b"%PDF"))
        text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
        self.assertIn(move.l10n_cn_einv_number, text)
        self.assertIn("上海某某贸易有限公司", text, "Chinese text must render (fonts-noto-cjk)")
        self.assertIn("kept at least 5 years and cannot be deleted before then", text)
