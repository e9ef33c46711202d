from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .test_red_reversal import RedReversalCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestReturns(RedReversalCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.printer = cls._create_product(
            name="喷墨打印机", lst_price=500.0, is_storable=True, invoice_policy="delivery",
            taxes_id=[Command.set(cls.tax_13.ids)], l10n_cn_einv_tax_code_id=cls.code_printer.id)
        cls.warehouse = cls.env["stock.warehouse"].search([("company_id", "=", cls.company.id)], limit=1)
        cls.env["stock.quant"]._update_available_quantity(cls.printer, cls.warehouse.lot_stock_id, 100)

    def delivered_order(self, quantity=2):
        order = self.env["sale.order"].create({
            "partner_id": self.buyer.id, "company_id": self.company.id, "warehouse_id": self.warehouse.id,
            "order_line": [Command.create({"product_id": self.printer.id, "product_uom_qty": quantity,
                                           "price_unit": 500.0})],
        })
        order.action_confirm()
        self.validate(order.picking_ids, quantity)
        return order

    def validate(self, picking, quantity):
        picking.move_ids.write({"quantity": quantity, "picked": True})
        picking.button_validate()
        self.assertEqual(picking.state, "done")

    def return_wizard(self, picking, quantity):
        wizard = self.env["stock.return.picking"].with_context(
            active_id=picking.id, active_model="stock.picking").create({})
        wizard.product_return_moves.quantity = quantity
        return wizard

    def returned(self, picking, quantity):
        action = self.return_wizard(picking, quantity).action_create_returns()
        back = self.env["stock.picking"].browse(action["res_id"])
        self.validate(back, quantity)
        return back

    def test_return_of_einvoiced_goods_credits_and_red_reverses(self):
        order = self.delivered_order()
        invoice = order._create_invoices()
        invoice.action_post()
        invoice.action_l10n_cn_einv_issue()
        self.assertEqual(invoice.l10n_cn_einv_state, "issued")
        back = self.returned(order.picking_ids.filtered(lambda p: p.picking_type_code == "outgoing"), 1)
        credit = order.invoice_ids.filtered(lambda m: m.move_type == "out_refund")
        self.assertEqual(len(credit), 1)
        self.assertEqual((credit.state, credit.reversed_entry_id, credit.l10n_cn_einv_red_reason),
                         ("posted", invoice, "02"))
        self.assertEqual(credit.invoice_line_ids.mapped("quantity"), [1.0])
        form = credit.l10n_cn_einv_credit_form_ids
        self.assertEqual((form.reason, form.full_reversal), ("02", False))
        self.assertEqual(form.line_ids.mapped("quantity"), [-1.0])
        self.assert_red_issued(form, credit)
        self.assertEqual((invoice.l10n_cn_einv_red_status, invoice.l10n_cn_einv_red_amount), ("partial", 565.0))
        line = order.order_line
        self.assertEqual((line.qty_delivered, line.qty_invoiced), (1.0, 1.0))
        self.assertEqual(line.qty_to_invoice, 0.0, "nothing left to invoice or credit")
        self.assertIn(credit.name, back.message_ids.mapped("body")[0])
        # the reversal wizard proposes 销货退回 for invoices whose goods came back
        wizard = self.env["account.move.reversal"].with_context(
            active_model="account.move", active_ids=invoice.ids).create({"journal_id": invoice.journal_id.id})
        self.assertEqual(wizard.l10n_cn_einv_red_reason, "02")

    def test_return_before_einvoicing_sends_nothing(self):
        requests = self.requests_sent()
        order = self.delivered_order()
        self.returned(order.picking_ids, 1)
        self.assertFalse(order.invoice_ids)
        self.assertEqual(order.order_line.qty_to_invoice, 1.0, "Odoo invoices only what was kept")
        invoice = order._create_invoices()
        invoice.action_post()
        self.assertFalse(self.env["account.move"].search([("reversed_entry_id", "=", invoice.id)]))
        self.assertEqual(self.requests_sent(), requests)

    def test_return_of_invoiced_but_not_einvoiced_goods_sends_nothing(self):
        requests = self.requests_sent()
        order = self.delivered_order()
        order._create_invoices().action_post()
        self.returned(order.picking_ids, 1)
        self.assertFalse(order.invoice_ids.filtered(lambda m: m.move_type == "out_refund"))
        self.assertFalse(self.env["l10n_cn_einv.red.form"].search([("blue_move_id", "in", order.invoice_ids.ids)]))
        self.assertEqual(self.requests_sent(), requests)

    def test_switch_off_leaves_the_credit_note_to_a_person(self):
        self.company.l10n_cn_einv_auto_red_on_return = False
        order = self.delivered_order()
        invoice = order._create_invoices()
        invoice.action_post()
        invoice.action_l10n_cn_einv_issue()
        requests = self.requests_sent()
        self.returned(order.picking_ids, 1)
        self.assertFalse(order.invoice_ids.filtered(lambda m: m.move_type == "out_refund"))
        self.assertEqual(self.requests_sent(), requests)

    def test_returning_more_than_delivered_is_refused(self):
        order = self.delivered_order(2)
        delivery = order.picking_ids
        with self.assertRaisesRegex(UserError, "3.0 Units returned, but only 2.0 were delivered"):
            self.return_wizard(delivery, 3).action_create_returns()
        # a return picking changed to more than was delivered cannot be validated either
        first = self.returned(delivery, 1)
        self.assertEqual(first.state, "done")
        action = self.return_wizard(delivery, 1).action_create_returns()
        second = self.env["stock.picking"].browse(action["res_id"])
        second.move_ids.write({"quantity": 2, "picked": True})
        with self.assertRaisesRegex(UserError, "more than was delivered"):
            second.button_validate()
        self.assertNotEqual(second.state, "done")
