"""Issue 17, the head-office view without Point of Sale: every e-invoice belongs to a branch (its
company, in Odoo 18's branch structure), the dashboard and the analysis break down by branch and by
head office; the head office (a user allowed on the parent and its branches) sees every branch, a
branch's user only their own branch, whatever they ask for."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..models.l10n_cn_einv_guard import flow
from .common import L10nCnEinvCase


@tagged("post_install", "-at_install", "post_install_l10n")
class TestStoreView(L10nCnEinvCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.head_office = cls.company
        cls.branch_a = cls.env["res.company"].create({
            "name": "徐汇分店 Xuhui Branch", "parent_id": cls.head_office.id,
            "country_id": cls.head_office.country_id.id})
        cls.branch_b = cls.env["res.company"].create({
            "name": "浦东分店 Pudong Branch", "parent_id": cls.head_office.id,
            "country_id": cls.head_office.country_id.id})
        cls.cr.precommit.run()   # the branches' chart of accounts
        cls.branches = cls.branch_a | cls.branch_b
        everything = cls.head_office | cls.branches
        cls.env.user.company_ids |= everything
        cls.head_office_user = new_test_user(
            cls.env, login="einv_head_office", name="总部 Head Office",
            groups="base.group_user,base.group_multi_company,l10n_cn_einvoice.group_l10n_cn_einv_user",
            company_id=cls.head_office.id, company_ids=[Command.set(everything.ids)])
        cls.branch_user = new_test_user(
            cls.env, login="einv_branch_a", name="徐汇分店会计",
            groups="base.group_user,l10n_cn_einvoice.group_l10n_cn_einv_user",
            company_id=cls.branch_a.id, company_ids=[Command.set(cls.branch_a.ids)])

    def setUp(self):
        super().setUp()
        self.now = fields.Datetime.now().replace(microsecond=0)
        everyone = self.env(context=dict(self.env.context, allowed_company_ids=(self.head_office | self.branches).ids))
        printer, service = self.product_printer, self.product_service
        # head office: 1 issued (2 x 1000 at 13 %), 1 failed; branch A: 2 issued (300 at 6 %, 1000 at
        # 13 %), 1 pending; branch B: 1 issued (1000 at 13 %), 1 failed.
        self.moves = {
            "hq_issued": self.einvoice(everyone, self.head_office, "issued", [(printer, 2, 1000.0, self.tax_13)]),
            "hq_failed": self.einvoice(everyone, self.head_office, "failed", [(printer, 1, 1000.0, self.tax_13)]),
            "a_issued_6": self.einvoice(everyone, self.branch_a, "issued", [(service, 1, 300.0, self.tax_6)]),
            "a_issued_13": self.einvoice(everyone, self.branch_a, "issued", [(printer, 1, 1000.0, self.tax_13)]),
            "a_pending": self.einvoice(everyone, self.branch_a, "pending", [(printer, 1, 1000.0, self.tax_13)]),
            "b_issued": self.einvoice(everyone, self.branch_b, "issued", [(printer, 1, 1000.0, self.tax_13)]),
            "b_failed": self.einvoice(everyone, self.branch_b, "failed", [(service, 1, 300.0, self.tax_6)]),
        }
        self.all_moves = self.env["account.move"].union(*self.moves.values())

    def einvoice(self, env, company, state, lines):
        """A posted invoice of ``company`` left in ``state`` (as the flow leaves it), submitted a minute ago."""
        move = env["account.move"].with_company(company).create({
            "move_type": "out_invoice", "partner_id": self.buyer.id, "company_id": company.id,
            "invoice_date": fields.Date.today(),
            "invoice_line_ids": [Command.create({"product_id": product.id, "quantity": quantity, "price_unit": price,
                                                 "tax_ids": [Command.set(tax.ids)]})
                                 for product, quantity, price, tax in lines],
        })
        move.action_post()
        vals = {"l10n_cn_einv_state": state, "l10n_cn_einv_submitted_at": self.now - timedelta(seconds=60)}
        if state == "issued":
            vals.update(l10n_cn_einv_issue_time=self.now, l10n_cn_einv_number=f"2631{move.id:016d}")
        with flow():
            move.write(vals)
        self.assertEqual(move.company_id, company)
        return move

    # --- the figures per branch ---------------------------------------------------------------------

    def test_dashboard_figures_per_branch(self):
        figures = self.env["l10n_cn_einv.dashboard"]._l10n_cn_einv_figures(
            (self.head_office | self.branches).ids, now=self.now)
        summary = {company_id: (row["issued_today"], row["pending_count"], row["failed_count"], row["exception_rate"])
                   for company_id, row in figures.items()}
        self.assertEqual(summary[self.head_office.id], (1, 0, 1, 50.0))
        self.assertEqual(summary[self.branch_a.id], (2, 1, 0, 0.0))
        self.assertEqual(summary[self.branch_b.id], (1, 0, 1, 50.0))
        self.assertEqual(summary[None], (4, 1, 2, 28.57))

        # The head office's dashboard: every branch together, a row per branch; or one branch.
        # (counts that do not depend on the day: the tests may run across midnight in China)
        dashboard = self.env["l10n_cn_einv.dashboard"].with_user(self.head_office_user).create({})
        self.assertEqual((dashboard.submitted_30d, dashboard.pending_count, dashboard.failed_count), (7, 1, 2))
        self.assertEqual(dashboard.exception_rate, 28.57)
        for company in self.head_office | self.branches:
            self.assertIn(company.name, dashboard.company_table)
        one = self.env["l10n_cn_einv.dashboard"].with_user(self.head_office_user).create(
            {"company_id": self.branch_a.id})
        self.assertEqual((one.submitted_30d, one.pending_count, one.failed_count), (3, 1, 0))

        action = dashboard.action_open_by_branch()
        self.assertEqual(action["context"]["pivot_row_groupby"], ["root_company_id", "company_id"])
        self.assertEqual(action["context"]["pivot_column_groupby"], ["tax_rate"])
        scope = [leaf for leaf in action["domain"] if leaf[0] == "company_id"]
        self.assertEqual([(field, operator, set(ids)) for field, operator, ids in scope],
                         [("company_id", "in", set((self.head_office | self.branches).ids))])

    def test_analysis_amounts_per_branch_and_tax_rate(self):
        Report = self.env["l10n_cn_einv.report"].with_user(self.head_office_user)
        domain = [("move_id", "in", self.all_moves.ids)]
        issued = [*domain, ("issue_time", "!=", False)]
        amounts = {(company, rate): (untaxed, tax) for company, rate, untaxed, tax in Report._read_group(
            issued, ["company_id", "tax_rate"], ["amount_untaxed:sum", "amount_tax:sum"])}
        self.assertEqual(amounts, {
            (self.head_office, "13"): (2000.0, 260.0),
            (self.branch_a, "13"): (1000.0, 130.0),
            (self.branch_a, "6"): (300.0, 18.0),
            (self.branch_b, "13"): (1000.0, 130.0),
        })
        counts = {company: (issued_count, failed_count) for company, issued_count, failed_count in Report._read_group(
            domain, ["company_id"], ["issued_count:sum", "failed_count:sum"])}
        self.assertEqual(counts, {self.head_office: (1, 1), self.branch_a: (2, 0), self.branch_b: (1, 1)})
        # every branch rolls up to its head office
        self.assertEqual(Report._read_group(domain, ["root_company_id"], ["invoice_count:sum"]),
                         [(self.head_office, 7)])

    # --- who sees what --------------------------------------------------------------------------------

    def test_head_office_sees_every_branch(self):
        Move = self.env["account.move"].with_user(self.head_office_user)
        self.assertEqual(Move.search([("id", "in", self.all_moves.ids)]), self.all_moves)
        rows = self.env["l10n_cn_einv.report"].with_user(self.head_office_user).search(
            [("move_id", "in", self.all_moves.ids)])
        self.assertEqual(rows.company_id, self.head_office | self.branches)

    def test_branch_user_sees_its_branch_only(self):
        mine = self.moves["a_issued_6"] | self.moves["a_issued_13"] | self.moves["a_pending"]
        Move = self.env["account.move"].with_user(self.branch_user)
        self.assertEqual(Move.search([("id", "in", self.all_moves.ids)]), mine)
        with self.assertRaises(AccessError):
            Move.browse(self.moves["hq_issued"].id).read(["name"])
        with self.assertRaises(AccessError):
            Move.browse(self.moves["b_issued"].id).read(["name"])
        # asking for another company in the context gives nothing more
        sneaky = Move.with_context(allowed_company_ids=(self.head_office | self.branches).ids)
        with self.assertRaises(AccessError):
            sneaky.search([("id", "in", self.all_moves.ids)])

        Report = self.env["l10n_cn_einv.report"].with_user(self.branch_user)
        rows = Report.search([("move_id", "in", self.all_moves.ids)])
        self.assertEqual(rows.company_id, self.branch_a)
        self.assertEqual(rows.move_id, mine)
        # the head office's name shows in the branch's analysis, its figures do not
        groups = Report.read_group([("move_id", "in", self.all_moves.ids)], ["invoice_count:sum"],
                                   ["root_company_id"])
        self.assertEqual([(g["root_company_id"][0], g["invoice_count"]) for g in groups], [(self.head_office.id, 3)])

        dashboard = self.env["l10n_cn_einv.dashboard"].with_user(self.branch_user).create({})
        self.assertEqual(dashboard._scope(), self.branch_a)
        self.assertEqual((dashboard.submitted_30d, dashboard.pending_count, dashboard.failed_count), (3, 1, 0))
        self.assertFalse(dashboard.company_table, "one company: no per-branch table")
        with self.assertRaises(AccessError):
            self.env["l10n_cn_einv.dashboard"].with_user(self.branch_user).create({"company_id": self.head_office.id})
        self.assertEqual(dashboard.action_open_failed()["domain"][0], ("company_id", "in", self.branch_a.ids))

    def test_company_wizards_are_per_branch(self):
        """The addon's own records of a company follow the same rule (rules added where none existed)."""
        for model in ("l10n_cn_einv.period.wizard", "l10n_cn_einv.login.wizard"):
            rule = self.env["ir.rule"].search([("model_id.model", "=", model)])
            self.assertTrue(rule, f"{model} has no company rule")
        Wizard = self.env["l10n_cn_einv.period.wizard"].with_user(self.branch_user)
        self.assertEqual(Wizard.create({"company_id": self.branch_a.id}).company_id, self.branch_a)
        with self.assertRaises(AccessError):
            Wizard.create({"company_id": self.head_office.id})
