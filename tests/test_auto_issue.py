from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import L10nCnEinvCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestAutoIssue(L10nCnEinvCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.write({"l10n_cn_einv_auto_issue": True, "l10n_cn_einv_rollout_percent": 100})

    def pay(self, move, amount=None):
        """Register a payment the way the invoice's Pay button does."""
        action = move.action_register_payment()
        wizard = self.env["account.payment.register"].with_context(**action["context"]).create(
            {"amount": amount} if amount is not None else {})
        return wizard._create_payments()

    def test_payment_queues_the_e_invoice_and_the_queue_issues_it(self):
        move = self.make_invoice()
        self.assertEqual(move.l10n_cn_einv_state, "not_needed")
        self.pay(move)
        self.assertIn(move.payment_state, ("paid", "in_payment"))
        self.assertEqual(move.l10n_cn_einv_state, "to_issue")
        cron = self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_process_queue")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]), "queue cron triggered")
        self.run_queue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)

    def test_partial_payments_issue_once_when_fully_paid(self):
        move = self.make_invoice()
        self.pay(move, amount=1000.0)
        self.assertEqual(move.payment_state, "partial")
        self.assertEqual(move.l10n_cn_einv_state, "not_needed")
        self.pay(move, amount=move.amount_residual)
        self.assertEqual(move.l10n_cn_einv_state, "to_issue")
        self.run_queue()
        self.assertEqual(self.issued_on_platform(), 1)

    def test_repeated_payment_events_issue_once(self):
        move = self.make_invoice()
        payment = self.pay(move)
        # a duplicate webhook, then reconciliation undone and redone
        move._invoice_paid_hook()
        self.run_queue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        number = move.l10n_cn_einv_number
        def receivable(lines):
            return lines.filtered(lambda line: line.account_id.account_type == "asset_receivable")

        receivable(payment.move_id.line_ids).remove_move_reconcile()
        self.assertEqual(move.payment_state, "not_paid")
        (receivable(payment.move_id.line_ids) + receivable(move.line_ids)).reconcile()
        move._invoice_paid_hook()
        self.run_queue()
        self.assertEqual(move.l10n_cn_einv_number, number)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_rollout_share_is_stable_and_close_to_the_setting(self):
        in_rollout = self.env["account.move"]._l10n_cn_einv_in_rollout
        keys = [f"sale.order:{index}" for index in range(2000)]
        chosen = [key for key in keys if in_rollout(key, 10)]
        self.assertTrue(150 <= len(chosen) <= 250, len(chosen))
        self.assertEqual(chosen, [key for key in keys if in_rollout(key, 10)])
        self.assertFalse(any(in_rollout(key, 0) for key in keys))
        self.assertTrue(all(in_rollout(key, 100) for key in keys))
        self.assertTrue(set(chosen) <= {key for key in keys if in_rollout(key, 50)}, "a larger share keeps the first")

    def test_rollout_decides_which_paid_orders_are_issued(self):
        self.company.l10n_cn_einv_rollout_percent = 0
        move = self.make_invoice()
        self.pay(move)
        self.assertEqual(move.l10n_cn_einv_state, "not_needed", "0 %: waits for a click")
        self.company.l10n_cn_einv_rollout_percent = 10
        outcomes = {}
        for _index in range(12):
            move = self.make_invoice()
            self.pay(move)
            outcomes[move] = move.l10n_cn_einv_state
        for move, state in outcomes.items():
            expected = "to_issue" if move._l10n_cn_einv_in_rollout(move._l10n_cn_einv_rollout_key(), 10) \
                else "not_needed"
            self.assertEqual(state, expected)

    def test_customer_opt_out_and_company_switch(self):
        self.buyer.l10n_cn_einv_opt_out_auto_issue = True
        move = self.make_invoice()
        self.pay(move)
        self.assertEqual(move.l10n_cn_einv_state, "not_needed")
        self.buyer.l10n_cn_einv_opt_out_auto_issue = False
        self.company.l10n_cn_einv_auto_issue = False
        move = self.make_invoice()
        self.pay(move)
        self.assertEqual(move.l10n_cn_einv_state, "not_needed")

    def test_paid_invoice_that_cannot_be_issued_fails_with_the_reasons(self):
        bare = self._create_product(name="无编码商品", lst_price=10.0, taxes_id=[Command.set(self.tax_13.ids)])
        move = self.make_invoice(lines=[(bare, 1, 10.0)])
        self.pay(move)
        self.assertEqual(move.l10n_cn_einv_state, "failed")
        self.assertIn("no tax classification code", move.l10n_cn_einv_error)
        self.assertTrue(move.activity_ids)
        self.assertEqual(self.issued_on_platform(), 0)

    def test_online_payment_of_an_order_invoices_and_queues(self):
        provider = self.env["payment.provider"].create({
            "name": "Dummy", "code": "none", "state": "test", "company_id": self.company.id,
            "payment_method_ids": [Command.set([self.env.ref("payment.payment_method_unknown").id])],
        })
        order = self.env["sale.order"].create({
            "partner_id": self.buyer.id, "company_id": self.company.id,
            "order_line": [Command.create({"product_id": self.product_service.id, "product_uom_qty": 2})],
        })
        order.action_confirm()
        transaction = self.env["payment.transaction"].sudo().create({
            "provider_id": provider.id, "payment_method_id": self.env.ref("payment.payment_method_unknown").id,
            "amount": order.amount_total, "currency_id": order.currency_id.id, "partner_id": self.buyer.id,
            "reference": f"{order.name}-online", "operation": "online_redirect",
            "sale_order_ids": [Command.set(order.ids)],
        })
        # The dummy provider has no payment method of its own: the payment is registered
        # beforehand, as a bank transfer, so post-processing does not create one.
        transaction.payment_id = self.env["account.payment"].create({
            "payment_type": "inbound", "partner_type": "customer", "partner_id": self.buyer.id,
            "amount": order.amount_total, "journal_id": self.company_data["default_journal_bank"].id,
        })
        transaction._set_done()
        transaction._post_process()
        invoice = order.invoice_ids
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(invoice.l10n_cn_einv_state, "to_issue")
        self.run_queue()
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")

    def test_batch_issue_and_retry_report_each_invoice(self):
        bare = self._create_product(name="无编码商品", lst_price=10.0, taxes_id=[Command.set(self.tax_13.ids)])
        good, bad = self.make_invoice(), self.make_invoice(lines=[(bare, 1, 10.0)])
        issued = self.make_invoice()
        issued.action_l10n_cn_einv_issue()
        action = (good | bad | issued).action_l10n_cn_einv_issue_batch()
        self.assertEqual((action["res_model"], action["target"]), ("l10n_cn_einv.batch.result", "new"))
        result = self.env[action["res_model"]].browse(action["res_id"])
        self.assertEqual(good.l10n_cn_einv_state, "issued")
        self.assertEqual(result.summary, "3 records: Done 1, Not Done 1, Skipped 1")
        rows = [(line.name, line.outcome, line.detail) for line in result.line_ids]
        self.assertEqual([row[:2] for row in rows], [(good.name, "done"), (bad.name, "refused"),
                                                     (issued.name, "skipped")], "one line each, in order")
        self.assertEqual(rows[0][2], f"e-invoice {good.l10n_cn_einv_number}")
        self.assertIn("no tax classification code", rows[1][2])
        # retry failed: a busy platform fails one for good, then the retry batch issues it
        self.set_faults(busy=1.0, retry_after=0)
        self.company.l10n_cn_einv_retry_schedule = ""
        late = self.make_invoice()
        late.action_l10n_cn_einv_issue()
        self.assertEqual(late.l10n_cn_einv_state, "failed")
        self.simulator.set_faults(self.account())
        action = (late | good).action_l10n_cn_einv_retry_batch()
        self.assertEqual(late.l10n_cn_einv_state, "issued")
        lines = self.env[action["res_model"]].browse(action["res_id"]).line_ids
        self.assertEqual([(line.name, line.outcome, line.detail) for line in lines],
                         [(late.name, "done", f"e-invoice {late.l10n_cn_einv_number}"),
                          (good.name, "skipped", "skipped, not failed")])

    def test_payment_on_a_cancelled_invoice_is_refused(self):
        move = self.make_invoice()
        move.button_cancel()
        with self.assertRaisesRegex(UserError, "posted"):
            self.pay(move)
        self.assertEqual(move.l10n_cn_einv_state, "not_needed")
