from odoo import Command
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import L10nCnEinvPosCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPosEinvoice(L10nCnEinvPosCase):
    """A paid POS order marked for invoicing: its invoice and 数电票, once, without clicks."""

    def test_paid_order_to_invoice_is_e_invoiced_at_the_till(self):
        session = self.open_session()
        result, order = self.sync(self.order_data(session, partner=self.buyer))
        move = order.account_move
        self.assertEqual(order.state, "invoiced")
        self.assertEqual(move.l10n_cn_einv_state, "issued", move.l10n_cn_einv_error)
        self.assertRegex(move.l10n_cn_einv_number, r"^\d{20}$")
        self.assertEqual(move.l10n_cn_einv_buyer_tax_id, self.buyer.vat)
        # the till's answer carries the number, for the receipt
        row = result["pos.order"][0]
        self.assertEqual(row["l10n_cn_einv_number"], move.l10n_cn_einv_number)
        self.assertEqual(row["l10n_cn_einv_state"], "issued")
        self.assertEqual((order.l10n_cn_einv_state, order.l10n_cn_einv_number),
                         ("issued", move.l10n_cn_einv_number))
        # the e-invoice knows its store
        self.assertEqual(move.l10n_cn_einv_pos_config_id, self.pos_config)
        self.assertEqual(self.env["account.move"].search([("l10n_cn_einv_pos_config_id", "=", self.pos_config.id)]),
                         move)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_order_not_to_invoice_gets_no_e_invoice(self):
        session = self.open_session()
        _result, order = self.sync(self.order_data(session, partner=self.buyer, to_invoice=False))
        self.assertFalse(order.account_move)
        self.assertFalse(order.l10n_cn_einv_state)
        self.assertEqual(self.issued_on_platform(), 0)

    def test_resent_orders_and_more_clicks_issue_once(self):
        session = self.open_session()
        data = self.order_data(session, partner=self.buyer)
        _result, order = self.sync(data)
        move, number = order.account_move, order.l10n_cn_einv_number
        # the till resends (lost answer, second click), the back office clicks Invoice again
        _result, again = self.sync(data, dict(data))
        self.assertFalse(again, "Odoo answers nothing for an order it already has")
        self.assertEqual(self.env["pos.order"].search_count([("uuid", "=", data["uuid"])]), 1)
        order.action_pos_order_invoice()
        order._generate_pos_order_invoice()
        self.assertEqual(order.account_move, move)
        self.assertEqual(self.env["account.move"].search_count([("pos_order_ids", "in", order.ids)]), 1)
        move._l10n_cn_einv_pos_issue(send_now=True)
        move._invoice_paid_hook()
        self.run_queue()
        self.assertEqual(order.l10n_cn_einv_number, number)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_closing_the_session_neither_issues_twice_nor_loses_one(self):
        session = self.open_session()
        self.set_faults(busy=1.0)     # the platform is busy at the till: the queue issues later
        _result, busy_order = self.sync(self.order_data(session, partner=self.buyer))
        self.assertEqual(busy_order.l10n_cn_einv_state, "to_issue")
        self.assertFalse(busy_order.l10n_cn_einv_number)
        self.simulator.reset(self.account())
        _result, issued_order = self.sync(self.order_data(session, partner=self.buyer))
        self.assertEqual(issued_order.l10n_cn_einv_state, "issued")
        _result, plain_order = self.sync(self.order_data(session, partner=self.buyer, to_invoice=False))
        session.post_closing_cash_details(sum((busy_order | issued_order | plain_order).mapped("amount_paid")))
        session.close_session_from_ui()
        self.assertEqual(session.state, "closed")
        self.assertEqual(self.issued_on_platform(), 1)
        self.make_due(busy_order.account_move)
        self.run_queue()
        self.assertEqual(busy_order.l10n_cn_einv_state, "issued")
        self.assertEqual(issued_order.l10n_cn_einv_state, "issued")
        self.assertFalse(plain_order.account_move)
        self.assertEqual(self.issued_on_platform(), 2)
        numbers = (busy_order | issued_order).mapped("l10n_cn_einv_number")
        self.assertEqual(len(set(numbers)), 2)

    def test_order_invoiced_after_closing_is_e_invoiced_once(self):
        session = self.open_session()
        _result, order = self.sync(self.order_data(session, partner=self.buyer, to_invoice=False))
        session.post_closing_cash_details(order.amount_paid)
        session.close_session_from_ui()
        # the back office's Invoice button: Odoo's Send & Print of the new invoice issues it
        order.action_pos_order_invoice()
        self.assertEqual(order.account_move.l10n_cn_einv_state, "issued")
        self.assertEqual(order.account_move.l10n_cn_einv_pos_config_id, self.pos_config)
        order.action_pos_order_invoice()
        self.run_queue()
        self.assertEqual(order.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)

    def test_without_send_and_print_the_till_still_issues_at_once(self):
        # Odoo's POS mails and prints the new invoice through Send & Print, which issues the e-invoice
        # too; without it (generate_pdf=False) the bridge issues it itself, as quickly
        session = self.open_session()
        orders = self.env["pos.order"].with_context(generate_pdf=False)
        result = orders.sync_from_ui([self.order_data(session, partner=self.buyer)])
        order = orders.browse(result["pos.order"][0]["id"])
        self.assertEqual(order.l10n_cn_einv_state, "issued")
        self.assertEqual(result["pos.order"][0]["l10n_cn_einv_number"], order.l10n_cn_einv_number)
        self.assertEqual(self.issued_on_platform(), 1)

    def test_back_office_invoice_without_send_and_print_goes_through_the_queue(self):
        session = self.open_session()
        _result, order = self.sync(self.order_data(session, partner=self.buyer, to_invoice=False))
        order.with_context(generate_pdf=False).action_pos_order_invoice()
        self.assertEqual(order.l10n_cn_einv_state, "to_issue")
        cron = self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_process_queue")
        self.assertTrue(self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)]), "queue cron triggered")
        self.run_queue()
        self.assertEqual(order.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)

    def test_an_invoice_that_cannot_be_issued_fails_without_losing_the_sale(self):
        self.product_printer.l10n_cn_einv_tax_code_id = False
        session = self.open_session()
        _result, order = self.sync(self.order_data(session, partner=self.buyer))
        self.assertEqual(order.state, "invoiced")
        self.assertEqual(order.l10n_cn_einv_state, "failed")
        self.assertIn("激光打印机", order.account_move.l10n_cn_einv_error)
        self.assertEqual(self.issued_on_platform(), 0)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPosWalkInTitle(L10nCnEinvPosCase):
    """A walk-in buyer's title entered at the till."""

    WALK_IN_TAX_ID = "91110108MA01A7XW0E"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"]._activate_lang("zh_CN")
        cls.env["ir.module.module"].search([("name", "in", ("l10n_cn_einvoice", "l10n_cn_einvoice_pos"))]) \
            ._load_module_terms(["l10n_cn_einvoice", "l10n_cn_einvoice_pos"], ["zh_CN"], overwrite=True)

    def partners(self):
        return self.env["res.partner"].with_context(active_test=False).search_count([])

    def test_walk_in_title_makes_a_customer_and_the_e_invoice_prints_it(self):
        partner_id = self.env["res.partner"].l10n_cn_einv_pos_walk_in_title(
            {"name": "北京某某科技有限公司", "tax_id": self.WALK_IN_TAX_ID.lower(), "email": "Fin@Example.CN"})
        partner = self.env["res.partner"].browse(partner_id)
        self.assertEqual((partner.name, partner.vat, partner.l10n_cn_einv_email),
                         ("北京某某科技有限公司", self.WALK_IN_TAX_ID, "fin@example.cn"))
        # the same title again is the same customer
        self.assertEqual(self.env["res.partner"].l10n_cn_einv_pos_walk_in_title(
            {"name": "北京某某科技有限公司", "tax_id": self.WALK_IN_TAX_ID, "email": ""}), partner_id)
        session = self.open_session()
        _result, order = self.sync(self.order_data(session, partner=partner))
        move = order.account_move
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual((move.l10n_cn_einv_buyer_name, move.l10n_cn_einv_buyer_tax_id, move.l10n_cn_einv_buyer_email),
                         ("北京某某科技有限公司", self.WALK_IN_TAX_ID, "fin@example.cn"))

    def test_every_problem_is_refused_at_once_and_nothing_is_created(self):
        before = self.partners()
        with self.assertRaises(UserError) as refused:
            self.env["res.partner"].l10n_cn_einv_pos_walk_in_title(
                {"name": " ", "tax_id": "91110108MA01A7XW0X", "email": "not-an-address"})
        message = str(refused.exception)
        self.assertIn("title (buyer name) is required", message)
        self.assertIn("91110108MA01A7XW0X", message)
        self.assertIn("not-an-address", message)
        self.assertEqual(self.partners(), before)

    def test_problems_in_the_users_language(self):
        partners = self.env["res.partner"].with_context(lang="zh_CN")
        with self.assertRaises(UserError) as refused:
            partners.l10n_cn_einv_pos_walk_in_title({"name": "", "tax_id": "123", "email": "x@"})
        message = str(refused.exception)
        self.assertIn("发票抬头", message)
        self.assertIn("纳税人识别号", message)
        self.assertIn("电子邮件", message)
        self.assertNotIn("required", message)
        self.assertTrue(partners.l10n_cn_einv_pos_check_tax_id("91110108MA01A7XW0X"))
        self.assertEqual(partners.l10n_cn_einv_pos_check_tax_id(self.WALK_IN_TAX_ID), "")

    def test_taxpayer_id_of_another_customer_is_refused(self):
        with self.assertRaises(UserError) as refused:
            self.env["res.partner"].l10n_cn_einv_pos_walk_in_title(
                {"name": "冒名公司", "tax_id": self.buyer.vat, "email": ""})
        self.assertIn(self.buyer.name, str(refused.exception))
        self.assertEqual(self.buyer.name, "上海某某贸易有限公司")

    def test_title_for_an_order_already_invoiced_is_refused(self):
        session = self.open_session()
        data = self.order_data(session, partner=self.buyer)
        _result, order = self.sync(data)
        before = self.partners()
        with self.assertRaises(UserError) as refused:
            self.env["res.partner"].l10n_cn_einv_pos_walk_in_title(
                {"name": "北京某某科技有限公司", "tax_id": self.WALK_IN_TAX_ID, "email": ""},
                order_uuid=data["uuid"])
        self.assertIn("already invoiced", str(refused.exception))
        self.assertEqual(self.partners(), before)
        self.assertEqual(order.account_move.l10n_cn_einv_buyer_tax_id, self.buyer.vat)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPosSecurity(L10nCnEinvPosCase):
    """A cashier (a POS user, no e-invoice group) cannot write what the e-invoice flow writes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cashier = cls.env["res.users"].create({
            "name": "收银员", "login": "l10n_cn_einv_pos_cashier", "company_id": cls.company.id,
            "company_ids": [Command.set(cls.company.ids)],
            "groups_id": [Command.set([cls.env.ref("point_of_sale.group_pos_user").id,
                                       cls.env.ref("base.group_user").id])],
        })

    def test_cashier_sells_with_invoice_but_cannot_forge_the_e_invoice(self):
        session = self.open_session()
        orders = self.env["pos.order"].with_user(self.cashier)
        result = orders.sync_from_ui([self.order_data(session, partner=self.buyer)])
        order = self.env["pos.order"].browse(result["pos.order"][0]["id"])
        self.assertEqual(order.l10n_cn_einv_state, "issued")
        as_cashier = order.with_user(self.cashier)
        for values in ({"l10n_cn_einv_state": "failed"}, {"l10n_cn_einv_number": "26000000000000000000"}):
            with self.assertRaises(UserError):
                as_cashier.write(values)
        with self.assertRaises(UserError):
            order.account_move.with_user(self.cashier).write({"l10n_cn_einv_pos_config_id": False})
        with self.assertRaises(UserError):
            order.account_move.with_user(self.cashier).sudo().write({"l10n_cn_einv_number": "1" * 20})
        order.invalidate_recordset()
        self.assertEqual(order.l10n_cn_einv_state, "issued")
        self.assertEqual(order.account_move.l10n_cn_einv_pos_config_id, self.pos_config)
        # an order sent with e-invoice facts of its own is refused as a whole
        forged = self.order_data(session, partner=self.buyer, l10n_cn_einv_state="issued",
                                 l10n_cn_einv_number="26000000000000000000")
        with self.assertRaises(UserError):
            orders.sync_from_ui([forged])
        self.assertFalse(self.env["pos.order"].search([("uuid", "=", forged["uuid"])]))
        self.assertEqual(self.issued_on_platform(), 1)
