from decimal import Decimal

from odoo import Command
from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from ..models import l10n_cn_einv_platform as platform
from ..models.l10n_cn_einv_guard import flow
from ..models.l10n_cn_einv_red_form import deterministic_serial
from .common import BUYER_TAX_ID, L10nCnEinvCase, secret_values


@tagged("post_install", "-at_install", "post_install_l10n")
class TestEinvoiceIssue(L10nCnEinvCase):

    def test_issue_from_invoice(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertRegex(move.l10n_cn_einv_number, r"^\d{20}$")
        self.assertEqual(move.l10n_cn_einv_qr_payload.split(",")[:5],
                         ["01", "32", "", move.l10n_cn_einv_number, "2260.00"])
        self.assertFalse(move.l10n_cn_einv_pdf_id, "the click does not wait for the files")
        self.receive_files()
        self.assertTrue(move.l10n_cn_einv_pdf_id.raw.startswith(b"%PDF"))
        self.assertIn(move.l10n_cn_einv_number.encode(), move.l10n_cn_einv_xml_id.raw)
        self.assertEqual(self.issued_on_platform(), 1)
        services = move.l10n_cn_einv_log_ids.sorted("id").mapped("service")
        self.assertEqual(services, self.issue_exchanges())
        self.assertTrue(all(move.l10n_cn_einv_log_ids.mapped("succeeded")))
        self.assertEqual(move.l10n_cn_einv_log_count, len(services))

    def test_issue_from_sale_order_with_adjusted_title(self):
        order = self.env["sale.order"].create({
            "partner_id": self.buyer.id, "company_id": self.company.id,
            "order_line": [Command.create({"product_id": self.product_service.id, "product_uom_qty": 3})],
        })
        order.action_confirm()
        self.assertEqual(order.l10n_cn_einv_buyer_tax_id, BUYER_TAX_ID)
        order.l10n_cn_einv_buyer_name = "上海某某贸易有限公司（采购部）"
        order.action_l10n_cn_einv_issue()
        invoice = order.invoice_ids
        self.assertEqual(len(invoice), 1)
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")
        self.assertEqual(order.l10n_cn_einv_number, invoice.l10n_cn_einv_number)
        self.receive_files()
        self.assertIn("上海某某贸易有限公司（采购部）".encode(), invoice.l10n_cn_einv_xml_id.raw)

    def test_issue_through_send_and_print(self):
        move = self.make_invoice()
        self.env["account.move.send"]._generate_and_send_invoices(
            move, sending_methods=["manual"], extra_edis={"l10n_cn_einv_issue"})
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertIn(move.l10n_cn_einv_pdf_id, self.env["account.move.send"]._get_invoice_extra_attachments(move))

    def test_a_levy_rate_the_product_form_accepts_is_issued_as_simplified_taxation(self):
        """A small-scale taxpayer charges 3 % on a code whose VAT rate is 13 %: the product form
        accepts it, and the invoice carries 简易征收 so that the platform issues it too (it used to
        be refused at issue time: one rule, two answers)."""
        tax_3 = self._percent_tax(3.0, self.company)
        product = self._create_product(name="小规模激光打印机", lst_price=500.0, taxes_id=[Command.set(tax_3.ids)],
                                       l10n_cn_einv_tax_code_id=self.code_printer.id)
        self.assertEqual(product.product_tmpl_id._l10n_cn_einv_tax_code_problems(), [])
        move = self.make_invoice(lines=[(product, 1, 500.0)])
        line = move._l10n_cn_einv_document().lines[0]
        self.assertEqual((line.tax_rate, line.tax_amount), (Decimal("0.03"), Decimal("15.00")))
        self.assertIn("简易征收", line.preferential_policy)
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)

    def test_a_chinese_user_reads_every_problem_in_chinese_only(self):
        self.env["res.lang"]._activate_lang("zh_CN")
        self.env["ir.module.module"]._load_module_terms(["l10n_cn_einvoice"], ["zh_CN"], overwrite=True)
        wrong_rate = self._create_product(name="打印机（9%）", lst_price=10.0, taxes_id=[Command.set(
            self._percent_tax(9.0, self.company).ids)], l10n_cn_einv_tax_code_id=self.code_printer.id)
        move = self.make_invoice(lines=[(wrong_rate, 1, 10.0)])
        move.l10n_cn_einv_invoice_type = "01"
        move.l10n_cn_einv_buyer_tax_id = False
        problems = move.with_context(lang="zh_CN")._l10n_cn_einv_problems()
        self.assertEqual(len(problems), 2, problems)
        self.assertTrue(any("购买方纳税人识别号" in problem for problem in problems), problems)
        self.assertTrue(any(problem.startswith("第 1 行（打印机（9%）") and "9%" in problem for problem in problems),
                        problems)
        for problem in problems:
            self.assertNotRegex(problem, r"[A-Za-z]{4,}", "no English sentence next to the Chinese one")

    def test_serial_numbers_fit_what_the_platform_takes(self):
        """诺诺 takes 20 characters: the compact form keeps every serial number distinct and fixed."""
        ours = deterministic_serial(self.env, "OE", 12345, 0)
        self.assertRegex(ours, r"^OE[0-9a-f]{8}-0000012345$")
        serials = {deterministic_serial(self.env, "OE", record_id, attempt, max_length=20)
                   for record_id in (1, 12, 2 ** 31 - 1) for attempt in (0, 1, 9, 98)}
        self.assertEqual(len(serials), 12)
        self.assertTrue(all(len(serial) <= 20 for serial in serials), serials)
        self.assertEqual(deterministic_serial(self.env, "OE", 12, 1, max_length=20),
                         deterministic_serial(self.env, "OE", 12, 1, max_length=20), "the same for every retry")
        with self.assertRaises(UserError):
            deterministic_serial(self.env, "OE", 12, 0, max_length=12)

    def test_every_problem_is_listed_and_nothing_is_sent(self):
        nameless = self._create_product(name="无编码商品", lst_price=10.0, taxes_id=[Command.set(self.tax_13.ids)])
        wrong_rate = self._create_product(name="打印机（9%）", lst_price=10.0, taxes_id=[Command.set(
            self._percent_tax(9.0, self.company).ids)], l10n_cn_einv_tax_code_id=self.code_printer.id)
        long_name = self._create_product(name="超" * 210, lst_price=10.0, taxes_id=[Command.set(self.tax_13.ids)],
                                         l10n_cn_einv_tax_code_id=self.code_printer.id)
        move = self.make_invoice(lines=[(self.product_printer, 1, 100.0), (nameless, 1, 10.0)])
        move.l10n_cn_einv_invoice_type = "01"
        move.l10n_cn_einv_buyer_tax_id = False
        with self.assertRaises(UserError) as caught:
            move.action_l10n_cn_einv_issue()
        message = str(caught.exception)
        self.assertIn("Line 2 (无编码商品)", message)
        self.assertIn("no tax classification code", message)
        self.assertEqual(move.l10n_cn_einv_state, "not_needed")

        move2 = self.make_invoice(lines=[(wrong_rate, 1, 10.0), (long_name, 1, 10.0)])
        move2.l10n_cn_einv_invoice_type = "01"
        move2.l10n_cn_einv_buyer_tax_id = False
        with self.assertRaises(UserError) as caught:
            move2.action_l10n_cn_einv_issue()
        message = str(caught.exception)
        # named as the user sees them, never by the platform's wire names (buyer.taxId, taxRate)
        self.assertIn("buyer taxpayer id is required", message)    # 专票 needs the buyer's taxpayer id
        self.assertIn("Line 1 (打印机（9%）) tax rate 9% is not allowed", message)
        self.assertNotIn("taxId", message)
        self.assertNotIn("taxRate", message)
        self.assertIn("Line 2", message)               # name over the platform's limit (200; 诺诺: 90)
        self.assertIn(f"at most {self.provider_spec.capabilities.limits.line_name}", message)
        self.assertEqual(move2.l10n_cn_einv_state, "not_needed")
        self.assertFalse(move2.l10n_cn_einv_log_ids)
        self.assertEqual(self.issued_on_platform(), 0)

    def test_busy_platform_queues_then_cron_issues(self):
        self.set_faults(busy=1.0, retry_after=0)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "to_issue")
        self.assertEqual(move.l10n_cn_einv_attempts, 1)
        self.assertTrue(move.l10n_cn_einv_next_attempt)
        self.assertEqual(self.run_queue(), 0, "not due yet: the first wait is 10 s")
        self.simulator.set_faults(self.account())
        self.make_due(move)
        self.assertEqual(self.run_queue(), 1)
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)

    def test_busy_until_the_waits_run_out_fails_and_alerts(self):
        self.set_faults(busy=1.0, retry_after=0)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        for _attempt in range(3):
            self.make_due(move)
            self.run_queue()
        self.assertEqual(move.l10n_cn_einv_state, "failed")
        self.assertIn("busy", move.l10n_cn_einv_error)
        self.assertTrue(move.activity_ids.filtered(lambda a: a.summary == "E-invoice failed"))
        self.assertEqual(self.issued_on_platform(), 0)

    def test_timeout_after_accept_recovers_without_duplicate(self):
        self.set_faults(timeout=1.0, timeout_seconds=1.5)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "to_issue")
        self.assertTrue(move.l10n_cn_einv_uncertain)
        self.assertEqual(self.issued_on_platform(), 1, "the platform did issue it")
        self.simulator.set_faults(self.account())
        self.make_due(move)
        self.run_queue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)
        services = move.l10n_cn_einv_log_ids.sorted("id").mapped("service")
        self.assertEqual(services[:2], [self.service("issue"), self.service("query")], "queried before sending again")
        self.assertEqual(services.count(self.service("issue")), 1)

    def test_chatter_shows_each_outcome_once_with_its_status_change(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.env.cr.precommit.run()  # as at commit
        messages = move.message_ids.filtered(lambda m: "issued on the tax platform" in (m.body or ""))
        self.assertEqual(len(messages), 1)
        self.assertIn(move.l10n_cn_einv_number, messages.body)
        self.assertEqual(messages.tracking_value_ids.mapped("new_value_char"), ["Issued"])

    def test_a_batch_stops_sending_before_its_lease_runs_out(self):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("l10n_cn_einvoice.submit_lease", "2")
        params.set_param("l10n_cn_einvoice.read_timeout", "3")
        self.set_faults(slow=1.0, slow_seconds=1.2)
        first, second = self.make_invoice(), self.make_invoice()
        (first | second)._l10n_cn_einv_enqueue()
        self.company.l10n_cn_einv_parallel_requests = 1    # one request at a time: the second waits
        # one batch of two (a longer run would claim the second again, with a new lease)
        self.env["account.move"]._l10n_cn_einv_cron_process_queue(limit=2, company_ids=self.company.ids)
        self.assertEqual(first.l10n_cn_einv_state, "issued")
        self.assertEqual(second.l10n_cn_einv_state, "to_issue", "not sent: half the lease had passed")
        self.assertFalse(second.l10n_cn_einv_uncertain, "it never left, so no query is needed")
        self.assertFalse(second.l10n_cn_einv_next_attempt, "due at once")
        self.assertFalse(second.l10n_cn_einv_log_ids)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_pending_result_is_polled(self):
        self.set_faults(pending=1.0, pending_seconds=60)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "pending")
        self.simulator.advance_clock(61)
        self.env["account.move"]._l10n_cn_einv_cron_poll_pending(company_ids=self.company.ids)
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertRegex(move.l10n_cn_einv_number, r"^\d{20}$")

    def test_issued_invoice_cannot_be_reset_cancelled_or_changed(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        for action in (move.button_draft, move.button_cancel):
            with self.assertRaisesRegex(UserError, "red invoice"):
                action()
        with self.assertRaisesRegex(UserError, "red invoice"):
            move.l10n_cn_einv_buyer_name = "另一个抬头"
        with self.assertRaisesRegex(UserError, "already issued"):
            move.action_l10n_cn_einv_issue()

    def test_double_issue_is_refused_and_the_platform_holds_one(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        # even a forced second submission with the same serial number issues nothing new
        with move.company_id._l10n_cn_einv_provider() as client:
            again = client.issue(move._l10n_cn_einv_document())
        self.assertTrue(again.duplicate)
        self.assertEqual(again.invoice_number, move.l10n_cn_einv_number)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_non_administrators_cannot_read_secrets(self):
        user = self.env["res.users"].create({
            "name": "E-invoice manager", "login": "einv_manager", "email": "manager@seller.example.cn",
            "company_id": self.company.id,
            "company_ids": [Command.set(self.company.ids)],
            "groups_id": [Command.set([self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager").id,
                                       self.env.ref("account.group_account_manager").id])],
        })
        company = self.company.with_user(user)
        for field in platform.secret_fields(self.company):
            with self.assertRaises(AccessError):
                company.read([field])
            self.assertNotIn(field, company.fields_get())
        # and yet they issue: the client reads the credentials with sudo
        move = self.make_invoice()
        move.with_user(user).action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        secrets = secret_values(self.provider_spec, self.company)
        self.assertTrue(secrets)
        for line in move.l10n_cn_einv_log_ids:
            for secret in secrets:
                self.assertNotIn(secret, (line.request or "") + (line.response or "") + (line.error or ""))

    def test_files_missing_after_issue_are_fetched_later(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        with flow():    # as if the download had failed at issue time
            move.l10n_cn_einv_pdf_id.unlink()
        self.assertFalse(move.l10n_cn_einv_pdf_id)
        fetched = self.env["account.move"]._l10n_cn_einv_cron_fetch_missing_documents(company_ids=self.company.ids)
        self.assertIn(move, fetched)
        self.assertTrue(move.l10n_cn_einv_pdf_id.raw.startswith(b"%PDF"))
