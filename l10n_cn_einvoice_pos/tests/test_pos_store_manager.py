"""Issue 17, the head-office view by store: the dashboard and the analysis per POS shop, and store
managers who see their own stores only, tried as an attacker would (JSON-RPC as a store manager);
the head office (e-invoice managers) sees every store."""

import json
from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, new_test_user, tagged
from odoo.tools import mute_logger

from .common import L10nCnEinvPosCase, pos_order_data

STORE_MANAGER = "l10n_cn_einvoice_pos.group_l10n_cn_einv_store_manager"
QUIET = ("odoo.http", "odoo.models", "odoo.addons.base.models.ir_rule")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPosStoreManager(L10nCnEinvPosCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.store_a = cls.pos_config
        # a store has a cash payment method, and a cash journal, of its own (point_of_sale's rule)
        cash_journal_b = cls.env["account.journal"].create({
            "name": "淮海路店现金", "type": "cash", "code": "CSHB", "company_id": cls.company.id})
        cls.cash_method_b = cls.env["pos.payment.method"].create({
            "name": "现金 (淮海路店)", "journal_id": cash_journal_b.id, "company_id": cls.company.id})
        cls.store_b = cls.env["pos.config"].create({
            "name": "淮海路店", "company_id": cls.company.id,
            "invoice_journal_id": cls.company_data["default_journal_sale"].id,
            "payment_method_ids": [Command.set(cls.cash_method_b.ids)],
        })
        company = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        cls.manager_a = new_test_user(
            cls.env, "store_manager_a", name="南京路店店长", groups=f"base.group_user,{STORE_MANAGER}",
            l10n_cn_einv_pos_config_ids=[Command.set(cls.store_a.ids)], **company)
        cls.head_office = new_test_user(
            cls.env, "store_head_office", name="总部财务",
            groups="base.group_user,point_of_sale.group_pos_user,l10n_cn_einvoice.group_l10n_cn_einv_manager",
            **company)

    def setUp(self):
        super().setUp()
        # store A: two orders e-invoiced at the till (a printer, 1000 at 13 %; a service, 300 at 6 %);
        # store B: one e-invoiced (a printer), one while the platform was busy (pending, 开票中).
        session_a = self.open_session(self.store_a)
        _result, orders_a = self.sync(
            self.order_data(session_a, partner=self.buyer),
            self.order_data(session_a, [(self.product_service, 1)], partner=self.buyer))
        session_b = self.open_session(self.store_b)
        printer_b = [(self.product_printer, 1)]
        _result, issued_b = self.sync(pos_order_data(session_b, printer_b, self.buyer, self.cash_method_b))
        self.set_faults(busy=1.0)
        _result, pending_b = self.sync(pos_order_data(session_b, printer_b, self.buyer, self.cash_method_b))
        self.orders_a, self.orders_b = orders_a, issued_b | pending_b
        self.moves_a, self.moves_b = self.orders_a.account_move, self.orders_b.account_move
        self.assertEqual(set(self.moves_a.mapped("l10n_cn_einv_state")), {"issued"})
        self.assertEqual(issued_b.account_move.l10n_cn_einv_state, "issued")
        self.assertIn(pending_b.account_move.l10n_cn_einv_state, ("to_issue", "pending", "submitting"))
        self.assertEqual(self.moves_a.l10n_cn_einv_pos_config_id, self.store_a)
        self.assertEqual(self.moves_b.l10n_cn_einv_pos_config_id, self.store_b)
        self.all_moves = self.moves_a | self.moves_b

    # --- the attacker's tools ---------------------------------------------------------------

    def call(self, user, model, method, *args, **kwargs):
        """JSON-RPC as ``user``: (result, error dict or None)."""
        self.authenticate(user.login, user.login)
        payload = {"jsonrpc": "2.0", "method": "call", "id": 1,
                   "params": {"model": model, "method": method, "args": list(args), "kwargs": kwargs}}
        with mute_logger(*QUIET):
            response = self.url_open(f"/web/dataset/call_kw/{model}/{method}", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
        body = response.json()
        return body.get("result"), body.get("error")

    def ids_seen(self, user, model, domain):
        result, error = self.call(user, model, "search_read", domain, fields=["id"])
        self.assertFalse(error, error and error["data"]["message"])
        return {row["id"] for row in result}

    def assertRefused(self, error):
        self.assertTrue(error, "the call should have been refused")
        self.assertEqual(error["data"]["name"], "odoo.exceptions.AccessError", error["data"]["message"])

    # --- record rules -------------------------------------------------------------------------

    def test_store_manager_sees_only_their_store_over_json_rpc(self):
        manager = self.manager_a
        self.assertTrue(manager.has_group("l10n_cn_einvoice.group_l10n_cn_einv_user"))
        self.assertTrue(manager.has_group("point_of_sale.group_pos_user"))
        self.assertTrue(manager.l10n_cn_einv_store_restricted)
        self.assertFalse(self.head_office.l10n_cn_einv_store_restricted)

        # e-invoices: search_read finds their store's only, read of another store's is refused
        domain = [("id", "in", self.all_moves.ids)]
        self.assertEqual(self.ids_seen(manager, "account.move", domain), set(self.moves_a.ids))
        _result, error = self.call(manager, "account.move", "read", self.moves_b[:1].ids, ["name", "amount_total"])
        self.assertRefused(error)
        _result, error = self.call(manager, "account.move", "web_read", self.moves_b[:1].ids,
                                   specification={"name": {}, "l10n_cn_einv_number": {}})
        self.assertRefused(error)
        result, error = self.call(manager, "account.move", "read", self.moves_a[:1].ids, ["name"])
        self.assertFalse(error)
        self.assertEqual(result[0]["id"], self.moves_a[:1].id)
        # nor through the invoice lines, the counts or a write
        self.assertFalse(self.ids_seen(manager, "account.move.line", [("move_id", "in", self.moves_b.ids)]))
        self.assertTrue(self.ids_seen(manager, "account.move.line", [("move_id", "in", self.moves_a.ids)]))
        result, error = self.call(manager, "account.move", "search_count", [("id", "in", self.moves_b.ids)])
        self.assertEqual((result, error), (0, None))
        _result, error = self.call(manager, "account.move", "write", self.moves_b[:1].ids, {"narration": "x"})
        self.assertRefused(error)

        # POS orders
        domain = [("id", "in", (self.orders_a | self.orders_b).ids)]
        self.assertEqual(self.ids_seen(manager, "pos.order", domain), set(self.orders_a.ids))
        _result, error = self.call(manager, "pos.order", "read", self.orders_b[:1].ids, ["name"])
        self.assertRefused(error)
        self.assertFalse(self.ids_seen(manager, "pos.order.line", [("order_id", "in", self.orders_b.ids)]))

        # the addon's records that hang off the invoices: the platform log, the analysis
        logs = self.env["l10n_cn_einv.log"].search([("move_id", "in", self.all_moves.ids)])
        self.assertTrue(logs.filtered(lambda log: log.move_id in self.moves_a))
        self.assertTrue(logs.filtered(lambda log: log.move_id in self.moves_b))
        self.assertEqual(self.ids_seen(manager, "l10n_cn_einv.log", [("id", "in", logs.ids)]),
                         set(logs.filtered(lambda log: log.move_id in self.moves_a).ids))
        rows = self.env["l10n_cn_einv.report"].search([("move_id", "in", self.all_moves.ids)])
        self.assertEqual(self.ids_seen(manager, "l10n_cn_einv.report", [("id", "in", rows.ids)]),
                         set(rows.filtered(lambda row: row.move_id in self.moves_a).ids))
        result, error = self.call(manager, "l10n_cn_einv.report", "read_group", [("move_id", "in", self.all_moves.ids)],
                                  fields=["invoice_count:sum"], groupby=["pos_config_id"])
        self.assertFalse(error)
        self.assertEqual([(group["pos_config_id"][0], group["invoice_count"]) for group in result],
                         [(self.store_a.id, 2)])

        # a store manager cannot give themselves another store
        _result, error = self.call(manager, "res.users", "write", manager.ids,
                                   {"l10n_cn_einv_pos_config_ids": [Command.set(self.store_b.ids)]})
        self.assertTrue(error)
        self.assertEqual(manager.l10n_cn_einv_pos_config_ids, self.store_a)

        # the head office sees every store
        self.assertEqual(self.ids_seen(self.head_office, "account.move", [("id", "in", self.all_moves.ids)]),
                         set(self.all_moves.ids))
        self.assertEqual(self.ids_seen(self.head_office, "pos.order", domain), set((self.orders_a | self.orders_b).ids))
        self.assertEqual(self.ids_seen(self.head_office, "l10n_cn_einv.log", [("id", "in", logs.ids)]), set(logs.ids))

    def test_store_manager_cannot_reach_another_stores_till_or_money(self):
        """The other store's shop, sessions, payments, cash moves and order analysis are out of reach
        over JSON-RPC, and so is opening its till; the head office sees both stores."""
        manager, head = self.manager_a, self.head_office
        session_a, session_b = self.orders_a.session_id, self.orders_b.session_id
        self.assertEqual((session_a.config_id, session_b.config_id), (self.store_a, self.store_b))
        for session in session_a | session_b:    # a float put in the drawer, as the till's Cash In does
            session.try_cash_in_out("in", 100.0, "备用金", {"translatedType": "in"})
        both_sessions = session_a | session_b
        payments_a, payments_b = self.orders_a.payment_ids, self.orders_b.payment_ids
        cash_a, cash_b = session_a.statement_line_ids, session_b.statement_line_ids
        self.assertTrue(payments_a and payments_b and cash_a and cash_b)
        analysis = self.env["report.pos.order"].search([("config_id", "in", (self.store_a | self.store_b).ids)])
        analysis_a = analysis.filtered(lambda row: row.config_id == self.store_a)
        self.assertTrue(analysis_a and analysis - analysis_a)
        cases = [
            ("pos.config", self.store_a | self.store_b, self.store_a),
            ("pos.session", both_sessions, session_a),
            ("pos.payment", payments_a | payments_b, payments_a),
            # cash moves are journal entries: a store manager sees none, their own store's neither
            ("account.bank.statement.line", cash_a | cash_b, cash_a.browse()),
            ("report.pos.order", analysis, analysis_a),
        ]
        for model, records, own in cases:
            with self.subTest(model=model):
                self.assertEqual(self.ids_seen(manager, model, [("id", "in", records.ids)]), set(own.ids))
                self.assertEqual(self.ids_seen(head, model, [("id", "in", records.ids)]), set(records.ids))
                _result, error = self.call(manager, model, "read", (records - own)[-1:].ids, ["display_name"])
                self.assertRefused(error)
        result, error = self.call(manager, "pos.payment", "read_group", [("id", "in", (payments_a | payments_b).ids)],
                                  fields=["amount:sum"], groupby=[])
        self.assertFalse(error)
        self.assertAlmostEqual(result[0]["amount"], sum(payments_a.mapped("amount")))
        _result, error = self.call(manager, "pos.config", "write", self.store_b.ids, {"name": "我的店"})
        self.assertRefused(error)
        _result, error = self.call(manager, "pos.session", "try_cash_in_out", session_b.ids, "out", 100.0, "x",
                                   {"translatedType": "out"})
        self.assertRefused(error)
        self.env.invalidate_all()    # what the server did, through the test's cursor
        self.assertEqual(session_b.statement_line_ids, cash_b)

        # another store's till: neither opened (a new session) nor joined (its open session)
        _result, error = self.call(manager, "pos.config", "open_ui", self.store_b.ids)
        self.assertRefused(error)
        _result, error = self.call(manager, "pos.session", "create", {"config_id": self.store_b.id})
        self.assertRefused(error)
        _result, error = self.call(manager, "pos.session", "load_data", session_b.ids, [])
        self.assertRefused(error)
        login_number = session_b.login_number
        self.authenticate(manager.login, manager.login)
        response = self.url_open(f"/pos/ui?config_id={self.store_b.id}", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertIn("action-point_of_sale.action_client_pos_menu", response.headers["Location"])
        self.env.invalidate_all()
        self.assertEqual(session_b.login_number, login_number)
        # a shop of the other store with no open session: /pos/ui would have opened one as superuser
        journal_c = self.env["account.journal"].create({
            "name": "徐家汇店现金", "type": "cash", "code": "CSHC", "company_id": self.company.id})
        store_c = self.env["pos.config"].create({
            "name": "徐家汇店", "company_id": self.company.id,
            "payment_method_ids": [Command.create({"name": "现金 (徐家汇店)", "journal_id": journal_c.id})],
        })
        response = self.url_open(f"/pos/ui?config_id={store_c.id}", allow_redirects=False)
        self.assertEqual(response.status_code, 303)
        self.assertFalse(self.env["pos.session"].search([("config_id", "=", store_c.id)]))

        # their own till works as it did: open, load as the till does, cash in, close
        result, error = self.call(manager, "pos.config", "open_ui", self.store_a.ids)
        self.assertFalse(error, error and error["data"]["message"])
        self.assertIn(f"config_id={self.store_a.id}", result["url"])
        result, error = self.call(manager, "pos.session", "load_data", session_a.ids, [])
        self.assertFalse(error, error and error["data"]["message"])
        self.assertEqual([row["id"] for row in result["pos.config"]["data"]], self.store_a.ids)
        self.assertEqual([row["id"] for row in result["pos.session"]["data"]], session_a.ids)
        self.assertFalse({model: data["error"] for model, data in result.items() if data.get("error")})
        # a sale invoiced at their till, as the till sends it (JSON), e-invoiced at once
        self.set_faults()    # setUp left the platform busy
        order = json.loads(json.dumps(self.order_data(session_a, partner=self.buyer, user_id=manager.id), default=str))
        result, error = self.call(manager, "pos.order", "sync_from_ui", [order])
        self.assertFalse(error, error and error["data"]["message"])
        sold = self.env["pos.order"].browse([row["id"] for row in result["pos.order"]])
        self.assertEqual((sold.config_id, sold.account_move.l10n_cn_einv_state), (self.store_a, "issued"))
        _result, error = self.call(manager, "pos.session", "try_cash_in_out", session_a.ids, "out", 30.0, "买零钱",
                                   {"translatedType": "out"})
        self.assertFalse(error, error and error["data"]["message"])
        self.env.invalidate_all()
        self.assertEqual(sorted(session_a.statement_line_ids.mapped("amount")), [-30.0, 100.0])
        result, error = self.call(manager, "pos.session", "get_closing_control_data", session_a.ids)
        self.assertFalse(error, error and error["data"]["message"])
        _result, error = self.call(manager, "pos.session", "post_closing_cash_details", session_a.ids,
                                   result["default_cash_details"]["amount"])
        self.assertFalse(error, error and error["data"]["message"])
        result, error = self.call(manager, "pos.session", "close_session_from_ui", session_a.ids)
        self.assertFalse(error, error and error["data"]["message"])
        self.assertTrue(result["successful"], result)
        self.env.invalidate_all()
        self.assertEqual(session_a.state, "closed")

    def test_store_manager_zips_their_stores_e_invoices_only(self):
        """The download of a period's e-invoice files (zip) is made of what the user may read."""
        today = fields.Date.today()
        Wizard = self.env["l10n_cn_einv.period.wizard"].with_user(self.manager_a)
        period = Wizard.create({"company_id": self.company.id, "date_from": today - timedelta(days=2),
                                "date_to": today + timedelta(days=2)})
        self.assertEqual(period._l10n_cn_einv_moves(), self.moves_a.sorted(
            lambda move: (move.l10n_cn_einv_issue_time, move.id)))
        with self.assertRaises(AccessError):     # another store's invoices, chosen by id
            Wizard.create({"company_id": self.company.id,
                           "move_ids": [Command.set(self.moves_b.filtered("l10n_cn_einv_number").ids)]},
                          )._l10n_cn_einv_moves()
        head = self.env["l10n_cn_einv.period.wizard"].with_user(self.head_office).create(
            {"company_id": self.company.id, "date_from": today - timedelta(days=2),
             "date_to": today + timedelta(days=2)})
        self.assertEqual(set(head._l10n_cn_einv_moves().ids), set(self.all_moves.filtered("l10n_cn_einv_number").ids))

    def test_administrators_set_the_stores_on_the_user_form(self):
        arch = self.env["res.users"].get_view(self.env.ref("base.view_users_form").id, "form")["arch"]
        self.assertIn('name="l10n_cn_einv_pos_config_ids"', arch)
        group = self.env.ref(STORE_MANAGER)
        self.assertIn(self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_user"), group.implied_ids)

    def test_stores_given_and_taken_apply_at_once(self):
        Move = self.env["account.move"].with_user(self.manager_a)
        self.assertEqual(Move.search([("id", "in", self.all_moves.ids)]), self.moves_a)
        self.manager_a.l10n_cn_einv_pos_config_ids = [Command.set((self.store_a | self.store_b).ids)]
        self.assertEqual(Move.search([("id", "in", self.all_moves.ids)]), self.all_moves)
        self.manager_a.l10n_cn_einv_pos_config_ids = [Command.clear()]
        self.assertFalse(Move.search([("id", "in", self.all_moves.ids)]), "a store manager without a store sees none")
        with self.assertRaises(AccessError):
            Move.browse(self.moves_a[:1].id).read(["name"])
        # an e-invoice manager who is also a store manager is the head office: every store
        self.manager_a.groups_id |= self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager")
        self.assertFalse(self.manager_a.l10n_cn_einv_store_restricted)
        self.assertEqual(Move.search([("id", "in", self.all_moves.ids)]), self.all_moves)

    # --- the dashboard and the analysis per store ------------------------------------------------

    def test_dashboard_and_analysis_per_store(self):
        # Issued counts are taken at the moment of the issue: the tests may run across midnight in China.
        at_issue = max(filter(None, self.all_moves.mapped("l10n_cn_einv_issue_time")))
        Dashboard = self.env["l10n_cn_einv.dashboard"]
        figures = Dashboard._l10n_cn_einv_figures(self.company.ids, group_by="l10n_cn_einv_pos_config_id",
                                                  now=at_issue)
        self.assertEqual((figures[self.store_a.id]["issued_today"], figures[self.store_a.id]["pending_count"]), (2, 0))
        self.assertEqual((figures[self.store_b.id]["issued_today"], figures[self.store_b.id]["pending_count"]), (1, 1))

        head = Dashboard.with_user(self.head_office).create({})
        self.assertIn(self.store_a.name, head.l10n_cn_einv_store_table)
        self.assertIn(self.store_b.name, head.l10n_cn_einv_store_table)
        store_b = Dashboard.with_user(self.head_office).create({"l10n_cn_einv_pos_config_id": self.store_b.id})
        self.assertEqual((store_b.pending_count, store_b.failed_count), (1, 0))
        only_b = Dashboard._l10n_cn_einv_figures(self.company.ids, now=at_issue,
                                                 where=store_b._l10n_cn_einv_moves_where())[None]
        self.assertEqual((only_b["issued_today"], only_b["pending_count"]), (1, 1))

        # a store manager's dashboard counts their store only, whatever store they pick
        mine = Dashboard.with_user(self.manager_a).create({})
        self.assertEqual((mine.submitted_30d, mine.pending_count, mine.failed_count), (2, 0, 0))
        self.assertIn(self.store_a.name, mine.l10n_cn_einv_store_table)
        self.assertNotIn(self.store_b.name, mine.l10n_cn_einv_store_table)
        theirs = Dashboard.with_user(self.manager_a).create({"l10n_cn_einv_pos_config_id": self.store_b.id})
        self.assertEqual((theirs.submitted_30d, theirs.pending_count), (0, 0))
        self.assertFalse(theirs.l10n_cn_einv_store_table)
        action = mine.action_l10n_cn_einv_open_by_store()
        self.assertIn(("pos_config_id", "in", self.store_a.ids), action["domain"])
        self.assertEqual(action["context"]["pivot_row_groupby"], ["pos_config_id"])
        self.assertEqual(action["context"]["pivot_column_groupby"], ["tax_rate"])
        self.assertIn(("l10n_cn_einv_pos_config_id", "in", self.store_a.ids), mine.action_open_pending()["domain"])

        # amounts per store and tax rate, as the head office sees them
        Report = self.env["l10n_cn_einv.report"].with_user(self.head_office)
        amounts = {(store, rate): (untaxed, tax) for store, rate, untaxed, tax in Report._read_group(
            [("move_id", "in", self.all_moves.ids), ("issue_time", "!=", False)], ["pos_config_id", "tax_rate"],
            ["amount_untaxed:sum", "amount_tax:sum"])}
        self.assertEqual(amounts, {
            (self.store_a, "13"): (1000.0, 130.0),
            (self.store_a, "6"): (300.0, 18.0),
            (self.store_b, "13"): (1000.0, 130.0),
        })
