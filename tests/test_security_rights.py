"""Issue 11, rules 3 and 4, tried as an attacker would.

Rule 3: every e-invoice action checks, on the server, that the real user is an
e-invoice user (or manager) of the company of every record it touches: called
through JSON-RPC (call_kw, call_button), XML-RPC or the report and action routes,
by a billing user, an accountant, a portal customer and an e-invoice manager of
another company, with forged contexts, mixed batches and under sudo. Each refusal
must be an AccessError that changed nothing: no platform request, no state, no
log line, no form, no mail. An e-invoice user of the company does the same
call (the positive control), so that each refusal can fail.

Rule 4: the portal serves an invoice's own platform files and nothing else,
whatever its file fields point at.
"""

import base64
import json
import time
import xmlrpc.client
from pathlib import Path
from urllib.parse import quote

from odoo import Command, fields, models
from odoo.exceptions import AccessError
from odoo.tests import HttpCase, JsonRpcException, get_db_name, new_test_user, tagged
from odoo.tools import mute_logger

from ..fapiao.catalogue import CSV_COLUMNS
from ..fapiao.chinatime import china_today
from ..models.l10n_cn_einv_guard import flow
from .common import L10nCnEinvCase

OTHER_TAX_ID = "91330100MA27XF6T0L"
EINV_USER = "l10n_cn_einvoice.group_l10n_cn_einv_user"
EINV_MANAGER = "l10n_cn_einvoice.group_l10n_cn_einv_manager"
AUDITOR = "l10n_cn_einvoice.group_l10n_cn_einv_auditor"
SELLER = "sales_team.group_sale_salesman_all_leads"
# Everyone who must be refused everywhere; "foreign" is an e-invoice manager, of the other company.
ATTACKERS = ("billing", "accountant", "portal", "foreign")
ACCESS_ERROR = "odoo.exceptions.AccessError"
XMLRPC_ACCESS_ERROR = 4     # odoo.addons.base.controllers.rpc.RPC_FAULT_CODE_ACCESS_ERROR
REFUSAL_LOGGERS = ("odoo.http", "odoo.models", "odoo.addons.base.models.ir_rule",
                   "odoo.addons.base.models.ir_model", "odoo.addons.base.models.ir_actions")
# What a refused call must leave as it was, per model.
WATCHED = {
    "account.move": ["state", "l10n_cn_einv_state", "l10n_cn_einv_number", "l10n_cn_einv_serial_no",
                     "l10n_cn_einv_delivered_at", "l10n_cn_einv_red_status", "l10n_cn_einv_error"],
    "l10n_cn_einv.red.form": ["state", "platform_status", "form_number", "red_invoice_number", "error"],
    "sale.order": ["state", "invoice_ids"],
    "product.template": ["l10n_cn_einv_tax_code_id"],
}
AUDIT_REPORT = "l10n_cn_einvoice.report_l10n_cn_einv_audit"


class RightsCase(L10nCnEinvCase, HttpCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company_2 = cls.setup_other_company(name="杭州分店 Branch")["company"]
        cls._connect_company(cls.company_2, OTHER_TAX_ID)
        own = {"company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)]}
        other = {"company_id": cls.company_2.id, "company_ids": [Command.set(cls.company_2.ids)]}

        def user(login, groups, company=None):
            return new_test_user(cls.env, login=f"rights_{login}", groups=groups, **(company or own))

        cls.users = {
            "billing": user("billing", "base.group_user,account.group_account_invoice"),
            "accountant": user("accountant", "base.group_user,account.group_account_user"),
            "seller": user("seller", f"base.group_user,{SELLER}"),
            "portal": cls.env["res.users"].create({
                "name": "上海某某贸易 门户", "login": "rights_portal", "password": "rights_portal",
                "partner_id": cls.buyer.id, **own, "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
            }),
            "foreign": user("foreign", f"base.group_user,{SELLER},{EINV_MANAGER}", other),
            "foreign_admin": user("foreign_admin", f"base.group_user,{EINV_MANAGER},base.group_system", other),
            "foreign_auditor": user("foreign_auditor", f"base.group_user,{AUDITOR}", other),
            # the positive controls
            # (products are written by product managers, partners by contact managers: a usual user has both)
            "einv_user": user("einv_user", f"base.group_user,base.group_partner_manager,product.group_product_manager,"
                                           f"{SELLER},{EINV_USER}"),
            "einv_manager": user("einv_manager", f"base.group_user,{EINV_MANAGER}"),
            "admin": user("admin", f"base.group_user,{EINV_MANAGER},base.group_system"),
            "auditor": user("auditor", f"base.group_user,{AUDITOR}"),
        }

    def setUp(self):
        super().setUp()
        users = self.users
        for who in ("billing", "accountant", "seller", "portal", "auditor", "foreign_auditor"):
            self.assertFalse(users[who].has_group(EINV_USER), who)
        self.assertFalse(users["einv_user"].has_group(EINV_MANAGER))
        self.assertTrue(users["foreign"].has_group(EINV_MANAGER))
        self.assertNotIn(self.company, users["foreign"].company_ids | users["foreign_admin"].company_ids)

    # --- the attacker's tools ---------------------------------------------------------------------

    def rpc(self, who, model, method, args, *, context=None, kwargs=None, via="button"):
        """Call ``model.method(*args)`` as ``who``: JSON-RPC through call_button ("button") or
        call_kw ("call_kw"), or XML-RPC ("xmlrpc"). Raises JsonRpcException or xmlrpc Fault."""
        user = self.users[who]
        kwargs = dict(kwargs or {}, **({"context": context} if context else {}))
        if via == "xmlrpc":
            return self.xmlrpc_object.execute_kw(get_db_name(), user.id, user.login, model, method, args, kwargs)
        self.authenticate(user.login, user.login)
        route = "/web/dataset/call_button" if via == "button" else f"/web/dataset/call_kw/{model}/{method}"
        return self.make_jsonrpc_request(route, {"model": model, "method": method, "args": args, "kwargs": kwargs})

    def platform_counts(self):
        counts = []
        for company in (self.company, self.company_2):
            stats = self.platform_stats(company)
            counts.append((stats["requests"], stats["invoices"], stats["red_forms"]))
        return counts

    def settled_platform_counts(self):
        """The counts once the platform has finished what the set-up sent: a request the client
        gave up on (time-out under load) is still counted when the platform is done with it."""
        counts = self.platform_counts()
        for _attempt in range(30):
            time.sleep(0.1)
            again = self.platform_counts()
            if again == counts:
                break
            counts = again
        return counts

    def observe(self, watch=(), settle=False):
        """What a refused call must leave as it was: the platform's counts of both companies,
        the interaction log, red-letter forms, journal entries, mails, and the watched records
        (``watch``: a recordset, or several of various models)."""
        watch = [watch] if isinstance(watch, models.BaseModel) else watch
        self.env.invalidate_all()
        env = self.env(su=True)
        return {
            "platform": self.settled_platform_counts() if settle else self.platform_counts(),
            "logs": env["l10n_cn_einv.log"].search_count([]),
            "forms": env["l10n_cn_einv.red.form"].search_count([]),
            "moves": env["account.move"].search_count([]),
            "mails": env["mail.mail"].search_count([]),
            "tax_codes": env["l10n_cn_einv.tax.code"].search_count([]),
            "records": [(record._name, record.id, record.sudo().read(WATCHED[record._name]))
                        for records in watch for record in records],
        }

    def assertAccessError(self, error):
        if isinstance(error, xmlrpc.client.Fault):
            self.assertEqual(error.faultCode, XMLRPC_ACCESS_ERROR, error.faultString[-500:])
        else:
            self.assertEqual(str(error), ACCESS_ERROR)

    def assertRefused(self, who, model, method, args, *, context=None, via="button", watch=()):
        """``who`` calling ``model.method`` gets an AccessError, and nothing happened."""
        before = self.observe(watch, settle=True)
        with self.subTest(who=who, call=f"{model}.{method}", via=via, context=context):
            try:
                with mute_logger(*REFUSAL_LOGGERS):
                    self.rpc(who, model, method, args, context=context, via=via)
            except (JsonRpcException, xmlrpc.client.Fault) as error:
                self.assertAccessError(error)
            else:
                self.fail(f"{who} was not refused")
            self.assertEqual(self.observe(watch), before, "a refused call changes nothing and calls no platform")

    def attack(self, model, method, args, *, watch=(), attackers=ATTACKERS, vias=("button", "xmlrpc"),
               forge=True):
        """Every attacker through every way in; then forged contexts: flags the flow might once have
        trusted, and the other company's user claiming this company."""
        for who in attackers:
            for via in vias:
                self.assertRefused(who, model, method, args, via=via, watch=watch)
        if forge:
            flags = {"l10n_cn_einv_internal": True, "l10n_cn_einv_cron": True, "l10n_cn_einv_commit": True}
            self.assertRefused("billing", model, method, args, context=flags, watch=watch)
            both = [self.company.id, self.company_2.id]
            self.assertRefused("foreign", model, method, args, context={"allowed_company_ids": both}, watch=watch)

    def attack_under_sudo(self, who, call, watch=()):
        """The same in process, under sudo: record rules and access rights are off, the guard is not.
        ``call(env)`` runs the action in a superuser environment of ``who``."""
        before = self.observe(watch, settle=True)
        with self.subTest(who=who, sudo=True):
            env = self.env(user=self.users[who], su=True)
            with self.assertRaises(AccessError), self.env.cr.savepoint():
                call(env)
            self.assertEqual(self.observe(watch), before)

    # --- records to attack ------------------------------------------------------------------------

    def failed_invoice(self):
        move = self.make_invoice()
        with flow():    # as the flow leaves an invoice the platform refused
            move.write({"l10n_cn_einv_state": "failed", "l10n_cn_einv_serial_no": move._l10n_cn_einv_serial(),
                        "l10n_cn_einv_error": "3002 not found"})
        return move

    def foreign_invoice(self):
        move = self.env["account.move"].with_company(self.company_2).create({
            "move_type": "out_invoice", "partner_id": self.buyer.id, "company_id": self.company_2.id,
            "invoice_date": fields.Date.today(),
            "invoice_line_ids": [Command.create({"name": "服务费", "quantity": 1, "price_unit": 100.0, "tax_ids": []})],
        })
        move.action_post()
        return move

    def credit_note(self, blue, post=True):
        wizard = self.env["account.move.reversal"].with_context(active_model="account.move", active_ids=blue.ids) \
            .create({"l10n_cn_einv_red_reason": "01", "journal_id": blue.journal_id.id})
        credit = self.env["account.move"].browse(wizard.refund_moves()["res_id"])
        if post:
            credit.action_post()
        return credit

    def inbound_form(self):
        """A red-letter form the buyer raised against an issued invoice, awaiting our answer (03)."""
        blue = self.issued_invoice()
        self.simulator.buyer_apply_red_form(blue.l10n_cn_einv_number, "01")
        forms = self.env["l10n_cn_einv.red.form"]
        forms.action_l10n_cn_einv_fetch_inbound()
        form = forms.search([("blue_move_id", "=", blue.id)])
        self.assertEqual((form.direction, form.platform_status), ("inbound", "03"))
        return form

    def awaiting_form(self):
        """Our form for an invoice whose use the buyer confirmed: it awaits the buyer (02)."""
        blue = self.issued_invoice()
        self.simulator.buyer_confirm_use(blue.l10n_cn_einv_number)
        form = self.credit_note(blue).l10n_cn_einv_credit_form_ids
        self.assertEqual((form.state, form.platform_status), ("awaiting", "02"))
        return form

    def requests_sent(self, company=None, service=None):
        """Requests the platform received for the company (``service``: of one of our protocol's
        services, counted by the reference platform itself)."""
        if service:
            return self.sandbox.stats(self.account(company))["requests"]["byService"].get(service, 0)
        return self.platform_stats(company)["requests"]


@tagged("post_install", "-at_install", "post_install_l10n")
class TestRightsOnTheServer(RightsCase):
    """Rule 3, one action a test: the attacks, then the positive control."""

    # --- invoices -----------------------------------------------------------------------------------

    def test_issue(self):
        move = self.make_invoice()
        self.attack("account.move", "action_l10n_cn_einv_issue", [move.ids], watch=move)
        for who in ("billing", "foreign"):
            self.attack_under_sudo(who, lambda env: env["account.move"].browse(move.id).action_l10n_cn_einv_issue(),
                                   watch=move)
        self.rpc("einv_user", "account.move", "action_l10n_cn_einv_issue", [move.ids])
        self.env.invalidate_all()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)

    def test_batch_issue_with_a_foreign_invoice_in_it(self):
        own, foreign = self.make_invoice(), self.foreign_invoice()
        mixed = [(own | foreign).ids]
        self.attack("account.move", "action_l10n_cn_einv_issue_batch", [own.ids], watch=own)
        self.attack("account.move", "action_l10n_cn_einv_issue_batch", mixed, watch=own | foreign, forge=False)
        # an e-invoice user of this company, with the other company's invoice slipped in: all refused
        self.assertRefused("einv_user", "account.move", "action_l10n_cn_einv_issue_batch", mixed,
                           watch=(own | foreign))
        self.attack_under_sudo("einv_user", lambda env: env["account.move"].browse(mixed[0])
                               .action_l10n_cn_einv_issue_batch(), watch=(own | foreign))
        self.rpc("einv_user", "account.move", "action_l10n_cn_einv_issue_batch", [own.ids], via="call_kw")
        self.env.invalidate_all()
        self.assertEqual((own.l10n_cn_einv_state, foreign.l10n_cn_einv_state), ("issued", "not_needed"))

    def test_retry(self):
        move = self.failed_invoice()
        for method in ("action_l10n_cn_einv_retry", "action_l10n_cn_einv_retry_batch"):
            self.attack("account.move", method, [move.ids], watch=move)
        self.attack_under_sudo("billing", lambda env: env["account.move"].browse(move.id)
                               .action_l10n_cn_einv_retry(), watch=move)
        self.rpc("einv_user", "account.move", "action_l10n_cn_einv_retry", [move.ids])
        self.env.invalidate_all()
        self.assertEqual(move.l10n_cn_einv_state, "issued")

    def test_resend(self):
        move = self.issued_invoice()
        self.attack("account.move", "action_l10n_cn_einv_send", [move.ids], watch=move)
        self.attack_under_sudo("foreign", lambda env: env["account.move"].browse(move.id)
                               .action_l10n_cn_einv_send(), watch=move)
        mails = self.env["mail.mail"].sudo().search_count([])
        self.rpc("einv_user", "account.move", "action_l10n_cn_einv_send", [move.ids])
        self.env.invalidate_all()
        self.assertEqual(self.env["mail.mail"].sudo().search_count([]), mails + 1)
        self.assertEqual(move.l10n_cn_einv_delivery_state, "queued")

    def test_red_reverse(self):
        blue = self.issued_invoice()
        self.attack("account.move", "action_l10n_cn_einv_red_reverse_batch", [blue.ids], watch=blue)
        self.attack_under_sudo("billing", lambda env: env["account.move"].browse(blue.id)
                               .action_l10n_cn_einv_red_reverse_batch(), watch=blue)
        self.rpc("einv_user", "account.move", "action_l10n_cn_einv_red_reverse_batch", [blue.ids])
        self.env.invalidate_all()
        self.assertEqual(blue.l10n_cn_einv_red_status, "full")
        self.assertEqual(blue.l10n_cn_einv_red_form_ids.state, "red_issued")

    def test_posting_a_credit_note_of_an_issued_invoice(self):
        """Posting the credit note applies for the red-letter form and issues the red invoice."""
        blue = self.issued_invoice()
        credit = self.credit_note(blue, post=False)
        self.attack("account.move", "action_post", [credit.ids], watch=(blue, credit))
        self.rpc("einv_user", "account.move", "action_post", [credit.ids])
        self.env.invalidate_all()
        self.assertEqual(credit.l10n_cn_einv_credit_form_ids.state, "red_issued")

    def test_void(self):
        move = self.issued_invoice()
        self.attack("account.move", "action_l10n_cn_einv_void", [move.ids], watch=move)
        # the positive control gets the business answer: a 数电票 is red-reversed, never voided
        requests = self.requests_sent()
        with mute_logger(*REFUSAL_LOGGERS), self.assertRaisesRegex(JsonRpcException, "UserError"):
            self.rpc("einv_user", "account.move", "action_l10n_cn_einv_void", [move.ids])
        self.assertEqual(self.requests_sent(), requests)

    def test_sale_order_issue(self):
        order = self.env["sale.order"].create({
            "partner_id": self.buyer.id, "company_id": self.company.id,
            "order_line": [Command.create({"product_id": self.product_service.id, "product_uom_qty": 1,
                                           "price_unit": 300.0})],
        })
        order.action_confirm()
        self.attack("sale.order", "action_l10n_cn_einv_issue", [order.ids], watch=order,
                    attackers=(*ATTACKERS, "seller"))
        self.attack_under_sudo("seller", lambda env: env["sale.order"].browse(order.id).action_l10n_cn_einv_issue(),
                               watch=order)
        self.rpc("einv_user", "sale.order", "action_l10n_cn_einv_issue", [order.ids])
        self.env.invalidate_all()
        self.assertEqual(order.invoice_ids.l10n_cn_einv_state, "issued")

    def test_send_and_print_issues_for_e_invoice_users_only(self):
        """Send & Print offers to issue the e-invoice; an attacker forcing it issues nothing."""
        move = self.make_invoice()
        context = {"active_model": "account.move", "active_ids": move.ids}
        values = {"move_id": move.id, "sending_methods": ["manual"], "extra_edis": ["l10n_cn_einv_issue"]}

        def send_and_print(who):
            wizard = self.rpc(who, "account.move.send.wizard", "create", [values], context=context, via="call_kw")
            self.rpc(who, "account.move.send.wizard", "action_send_and_print", [[wizard]], context=context)

        for who in ("billing", "accountant", "foreign"):
            before = self.observe(move)
            with self.subTest(who=who), mute_logger(*REFUSAL_LOGGERS):
                try:
                    send_and_print(who)
                except JsonRpcException as error:
                    self.assertAccessError(error)
                after = self.observe(move)
                # the invoice may be printed (Odoo's business), its e-invoice is not issued
                self.assertEqual(after["platform"], before["platform"])
                self.assertEqual(after["records"], before["records"])
        send_and_print("einv_user")
        self.env.invalidate_all()
        self.assertEqual(move.l10n_cn_einv_state, "issued")

    # --- red-letter forms ---------------------------------------------------------------------------

    def test_fetch_inbound_forms(self):
        blue = self.issued_invoice()
        self.simulator.buyer_apply_red_form(blue.l10n_cn_einv_number, "01")
        method = "action_l10n_cn_einv_fetch_inbound"
        for who in ("billing", "accountant", "portal"):
            for via in ("call_kw", "xmlrpc"):
                self.assertRefused(who, "l10n_cn_einv.red.form", method, [], via=via, watch=blue)
        # the other company's manager fetches their own company's forms, never this one's
        self.assertRefused("foreign", "l10n_cn_einv.red.form", method, [], via="call_kw", watch=blue,
                           context={"allowed_company_ids": [self.company.id]})
        self.attack_under_sudo("billing", lambda env: env["l10n_cn_einv.red.form"].with_context(
            allowed_company_ids=self.company.ids).action_l10n_cn_einv_fetch_inbound(), watch=blue)
        self.rpc("einv_user", "l10n_cn_einv.red.form", method, [], via="call_kw")
        self.assertEqual(self.env["l10n_cn_einv.red.form"].search([("blue_move_id", "=", blue.id)]).platform_status,
                         "03")

    def test_confirm_and_refuse_inbound_forms(self):
        form = self.inbound_form()
        for method in ("action_l10n_cn_einv_confirm", "action_l10n_cn_einv_refuse"):
            self.attack("l10n_cn_einv.red.form", method, [form.ids], watch=(form, form.blue_move_id))
            self.attack_under_sudo("foreign", lambda env, method=method: getattr(
                env["l10n_cn_einv.red.form"].browse(form.id), method)(), watch=form)
        self.rpc("einv_user", "l10n_cn_einv.red.form", "action_l10n_cn_einv_confirm", [form.ids])
        self.env.invalidate_all()
        self.assertEqual(form.state, "red_issued")

    def test_revoke_and_refresh_our_forms(self):
        form = self.awaiting_form()
        for method in ("action_l10n_cn_einv_revoke", "action_l10n_cn_einv_refresh"):
            self.attack("l10n_cn_einv.red.form", method, [form.ids], watch=form)
            self.attack_under_sudo("foreign", lambda env, method=method: getattr(
                env["l10n_cn_einv.red.form"].browse(form.id), method)(), watch=form)
        requests = self.requests_sent()
        self.rpc("einv_user", "l10n_cn_einv.red.form", "action_l10n_cn_einv_refresh", [form.ids])
        self.assertGreater(self.requests_sent(), requests)
        self.rpc("einv_user", "l10n_cn_einv.red.form", "action_l10n_cn_einv_revoke", [form.ids])
        self.env.invalidate_all()
        self.assertEqual((form.state, form.platform_status), ("revoked", "08"))

    def test_retry_a_failed_form(self):
        blue = self.issued_invoice()
        with flow():    # a number the platform does not know: the form fails (3002)
            blue.write({"l10n_cn_einv_number": "26350000000099999999"})
        form = self.credit_note(blue).l10n_cn_einv_credit_form_ids
        self.assertEqual(form.state, "failed")
        self.attack("l10n_cn_einv.red.form", "action_l10n_cn_einv_retry", [form.ids], watch=form)
        self.attack_under_sudo("billing", lambda env: env["l10n_cn_einv.red.form"].browse(form.id)
                               .action_l10n_cn_einv_retry(), watch=form)
        requests = self.requests_sent()
        self.rpc("einv_user", "l10n_cn_einv.red.form", "action_l10n_cn_einv_retry", [form.ids])
        self.assertGreater(self.requests_sent(), requests, "sent again")

    # --- configuration ------------------------------------------------------------------------------

    def test_connection_test(self):
        self.attack("res.company", "action_l10n_cn_einv_test_connection", [self.company.ids])
        # an e-invoice user is no manager
        self.assertRefused("einv_user", "res.company", "action_l10n_cn_einv_test_connection", [self.company.ids])
        self.attack_under_sudo("portal", lambda env: env["res.company"].browse(self.company.id)
                               .action_l10n_cn_einv_test_connection())
        requests = self.requests_sent()
        self.rpc("einv_manager", "res.company", "action_l10n_cn_einv_test_connection", [self.company.ids])
        self.assertEqual(self.requests_sent(), requests + 1)

    def test_connection_test_from_the_settings_of_another_company(self):
        values = {"company_id": self.company.id}
        before = self.observe()
        with self.subTest("foreign administrator"), mute_logger(*REFUSAL_LOGGERS):
            with self.assertRaises(JsonRpcException) as refused:
                settings = self.rpc("foreign_admin", "res.config.settings", "create", [values], via="call_kw")
                self.rpc("foreign_admin", "res.config.settings", "action_l10n_cn_einv_test_connection", [[settings]])
            self.assertAccessError(refused.exception)
            self.assertEqual(self.observe(), before)
        for who in ("billing", "accountant", "portal"):
            self.assertRefused(who, "res.config.settings", "create", [values], via="call_kw")
        settings = self.rpc("admin", "res.config.settings", "create", [{}], via="call_kw")
        self.rpc("admin", "res.config.settings", "action_l10n_cn_einv_test_connection", [[settings]])
        self.assertEqual(self.observe()["platform"][0][0], before["platform"][0][0] + 1)

    def test_throughput_settings_are_for_administrators_only(self):
        """The rate limit keeps the platform from banning the company's address: only an administrator
        sets it, the requests in flight and the sending lanes."""
        faster = {"l10n_cn_einv_rate_limit": 500.0, "l10n_cn_einv_parallel_requests": 32}
        for who in ("einv_manager", "einv_user", "accountant", "billing"):
            for via in ("call_kw", "xmlrpc"):
                self.assertRefused(who, "res.company", "write", [self.company.ids, faster], via=via)
            self.assertRefused(who, "res.config.settings", "create", [{"l10n_cn_einv_queue_lanes": 16}],
                               via="call_kw")
        self.assertFalse(self.company.l10n_cn_einv_rate_limit)
        self.rpc("admin", "res.company", "write", [self.company.ids, {"l10n_cn_einv_rate_limit": 20.0}], via="call_kw")
        settings = self.rpc("admin", "res.config.settings", "create", [{"l10n_cn_einv_queue_lanes": 3}],
                            via="call_kw")
        self.rpc("admin", "res.config.settings", "execute", [[settings]])
        self.company.invalidate_recordset()
        self.assertEqual(self.company.l10n_cn_einv_rate_limit, 20.0)
        self.assertEqual(len(self.env["account.move"]._l10n_cn_einv_queue_crons()), 3)

    # --- tax classification codes (manager: the catalogue; user: suggest and check) -------------

    def test_catalogue_sync_from_the_platform(self):
        args = [[]]     # the list view's header button: no record selected
        # (the other company's manager may sync the table, which all companies share, from their own platform)
        self.attack("l10n_cn_einv.tax.code", "action_l10n_cn_einv_sync_from_platform", args,
                    attackers=("billing", "accountant", "portal"))
        self.assertRefused("einv_user", "l10n_cn_einv.tax.code", "action_l10n_cn_einv_sync_from_platform", args)
        self.assertRefused("foreign", "l10n_cn_einv.tax.code", "action_l10n_cn_einv_sync_from_platform", args,
                           context={"allowed_company_ids": [self.company.id]})
        self.attack_under_sudo("einv_user", lambda env: env["l10n_cn_einv.tax.code"]
                               .action_l10n_cn_einv_sync_from_platform())
        requests = self.requests_sent()
        self.rpc("einv_manager", "l10n_cn_einv.tax.code", "action_l10n_cn_einv_sync_from_platform", args)
        self.assertGreater(self.requests_sent(), requests)

    def test_catalogue_import(self):
        row = ["3040201980000000000", "数据标注服务", "信息技术服务", "6%", "数据标注", "N", "Y", "", "", "",
               "3040201000000000000", "33.0", "20250701"]
        data = base64.b64encode(f"{','.join(CSV_COLUMNS)}\n{','.join(row)}\n".encode()).decode()
        values = {"file": data, "filename": "codes.csv"}
        for who in ("billing", "accountant", "portal", "einv_user"):
            self.assertRefused(who, "l10n_cn_einv.tax.code.import", "create", [values], via="call_kw")
        self.attack_under_sudo("einv_user", lambda env: env["l10n_cn_einv.tax.code.import"].create(values)
                               .action_import())
        wizard = self.rpc("einv_manager", "l10n_cn_einv.tax.code.import", "create", [values], via="call_kw")
        self.rpc("einv_manager", "l10n_cn_einv.tax.code.import", "action_import", [[wizard]])
        self.assertTrue(self.env["l10n_cn_einv.tax.code"].search([("code", "=", row[0])]))

    def test_suggest_a_code(self):
        product = self._create_product(name="激光打印机 P2", company_id=self.company.id,
                                       taxes_id=[Command.set(self.tax_13.ids)])
        template = product.product_tmpl_id
        self.attack("product.template", "action_l10n_cn_einv_suggest_tax_codes", [template.ids], watch=template)
        self.attack("product.product", "action_l10n_cn_einv_suggest_tax_codes", [product.ids], watch=template,
                    attackers=("billing",), forge=False)
        # applying a suggestion, through a wizard of one's own
        wizard = self.rpc("billing", "l10n_cn_einv.tax.code.suggest", "create", [{"product_tmpl_id": template.id}],
                          via="call_kw")
        self.assertRefused("billing", "l10n_cn_einv.tax.code.suggest", "action_apply", [[wizard]], watch=template)
        self.attack_under_sudo("foreign", lambda env: env["l10n_cn_einv.tax.code.suggest"].create(
            {"product_tmpl_id": template.id}).action_apply(), watch=template)
        action = self.rpc("einv_user", "product.template", "action_l10n_cn_einv_suggest_tax_codes", [template.ids])
        self.rpc("einv_user", "l10n_cn_einv.tax.code.suggest", "action_apply", [[action["res_id"]]])
        self.env.invalidate_all()
        self.assertTrue(template.l10n_cn_einv_tax_code_id)

    def test_check_codes(self):
        move = self.make_invoice()
        # products shared by all companies are checked by any e-invoice user; invoices by their company's
        runs = [("action_l10n_cn_einv_check_product_tax_codes", "product.template",
                 self.product_printer.product_tmpl_id.ids, ("billing", "accountant", "portal")),
                ("action_l10n_cn_einv_check_move_tax_codes", "account.move", move.ids, ATTACKERS)]
        for xmlid, model, ids, attackers in runs:
            action = self.env.ref(f"l10n_cn_einvoice.{xmlid}")
            params = {"action_id": action.id, "context": {"active_model": model, "active_ids": ids}}
            for who in attackers:
                before = self.observe()
                with self.subTest(who=who, action=xmlid), mute_logger(*REFUSAL_LOGGERS):
                    self.authenticate(self.users[who].login, self.users[who].login)
                    with self.assertRaises(JsonRpcException) as refused:
                        self.make_jsonrpc_request("/web/action/run", params)
                    self.assertAccessError(refused.exception)
                    self.assertEqual(self.observe(), before)
            self.authenticate(self.users["einv_user"].login, self.users["einv_user"].login)
            self.assertEqual(self.make_jsonrpc_request("/web/action/run", params)["tag"], "display_notification")
        self.attack_under_sudo("foreign", lambda env: env["l10n_cn_einv.tax.code.check"]._l10n_cn_einv_check_moves(
            env["account.move"].browse(move.ids)))
        self.attack_under_sudo("billing", lambda env: env["l10n_cn_einv.tax.code.check"]._l10n_cn_einv_check_products(
            env["product.template"].browse(self.product_printer.product_tmpl_id.ids)))

    # --- dashboard and audit report (read-only: auditors too; the platform: e-invoice users) --------

    def test_dashboard_quota_asks_the_platform_for_e_invoice_users_only(self):
        self.issued_invoice()
        fields_read = ["issued_today", "quota_state", "quota_message"]
        for who in ("auditor", "einv_user"):
            requests = self.requests_sent(service="quota.query")
            # as the web client opens it: saved, then read in the same (read/write) call
            [values] = self.rpc(who, "l10n_cn_einv.dashboard", "web_save", [[], {"company_id": self.company.id}],
                                kwargs={"specification": {name: {} for name in fields_read}}, via="call_kw")
            self.assertEqual(values["issued_today"], 1, who)
            if who == "auditor":
                self.assertEqual(self.requests_sent(service="quota.query"), requests,
                                 "an auditor's dashboard sends no request")
                self.assertEqual(values["quota_state"], "unavailable")
                self.assertIn("e-invoice users only", values["quota_message"])
            else:
                self.assertGreater(self.requests_sent(service="quota.query"), requests)
                self.assertEqual(values["quota_state"], "available")
            # the figures behind the dashboard open for both
            action = self.rpc(who, "l10n_cn_einv.dashboard", "action_open_failed", [[values["id"]]])
            self.assertEqual(action["res_model"], "account.move")

    def test_dashboard_actions(self):
        self.assertRefused("foreign_auditor", "l10n_cn_einv.dashboard", "create", [{}], via="call_kw",
                           context={"allowed_company_ids": [self.company.id]})
        for who in ("billing", "accountant", "portal"):
            self.assertRefused(who, "l10n_cn_einv.dashboard", "create", [{}], via="call_kw")
        dashboard = self.env["l10n_cn_einv.dashboard"].create({"company_id": self.company.id})
        for method in ("action_refresh", "action_open_trend", "action_open_pending"):
            self.attack_under_sudo("foreign_auditor", lambda env, method=method: getattr(
                env["l10n_cn_einv.dashboard"].browse(dashboard.id).with_context(
                    allowed_company_ids=self.company.ids), method)())
            self.attack_under_sudo("billing", lambda env, method=method: getattr(
                env["l10n_cn_einv.dashboard"].browse(dashboard.id), method)())

    def report_url(self, company):
        today = china_today(fields.Datetime.now())
        options = json.dumps({"company_id": company.id, "date_from": str(today.replace(day=1)), "date_to": str(today)})
        return f"/report/html/{AUDIT_REPORT}?options={quote(options)}"

    def test_audit_report_for_auditors_and_managers_only(self):
        move = self.issued_invoice()
        for who in ("einv_user", "billing", "accountant", "portal", "foreign_auditor"):
            with self.subTest(who=who), mute_logger(*REFUSAL_LOGGERS):
                self.authenticate(self.users[who].login, self.users[who].login)
                response = self.url_open(self.report_url(self.company))
                self.assertNotEqual(response.status_code, 200)
                self.assertNotIn(move.l10n_cn_einv_number, response.text)
        for who in ("auditor", "einv_manager"):
            self.authenticate(self.users[who].login, self.users[who].login)
            response = self.url_open(self.report_url(self.company))
            self.assertEqual(response.status_code, 200, who)
            self.assertIn(move.l10n_cn_einv_number, response.text)
        # the wizard's Print button
        values = {"company_id": self.company.id}
        self.assertRefused("einv_user", "l10n_cn_einv.audit.wizard", "create", [values], via="call_kw")
        self.assertRefused("foreign_auditor", "l10n_cn_einv.audit.wizard", "create", [values], via="call_kw",
                           context={"allowed_company_ids": [self.company.id]})
        self.attack_under_sudo("einv_user", lambda env: env["l10n_cn_einv.audit.wizard"].create(values)
                               .action_print())
        wizard = self.rpc("auditor", "l10n_cn_einv.audit.wizard", "create", [values], via="call_kw")
        action = self.rpc("auditor", "l10n_cn_einv.audit.wizard", "action_print", [[wizard]])
        self.assertEqual(action["report_name"], AUDIT_REPORT)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPortalServesOnlyPlatformFiles(L10nCnEinvCase, HttpCase):
    """Rule 4: the portal's e-invoice download serves the invoice's own files from the platform,
    to its customer and to whoever holds its link; never another attachment, however the file
    fields were pointed at it (simulated in SQL: the ORM refuses it)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.other_buyer = cls.env["res.partner"].create({
            "name": "杭州另一家公司", "is_company": True, "country_id": cls.env.ref("base.cn").id,
            "email": "ap@other.example.cn"})
        cls.portal_users = {}
        for login, partner in (("files_buyer", cls.buyer), ("files_other_buyer", cls.other_buyer)):
            cls.portal_users[login] = cls.env["res.users"].create({
                "name": login, "login": login, "password": login, "partner_id": partner.id,
                "company_id": cls.company.id, "company_ids": [Command.set(cls.company.ids)],
                "groups_id": [Command.set([cls.env.ref("base.group_portal").id])],
            })

    def setUp(self):
        super().setUp()
        self.move = self.issued_invoice()
        self.other = self.issued_invoice(partner=self.other_buyer)
        self.token = self.move._portal_ensure_token()
        self.assertTrue(self.move.l10n_cn_einv_pdf_id and self.move.l10n_cn_einv_xml_id)

    def download(self, move, file_format, visitor, token=None):
        """``visitor``: None (anonymous, with ``token``) or a portal login."""
        self.authenticate(visitor, visitor)     # None: an anonymous visitor
        query = f"?access_token={token}" if token else ""
        return self.url_open(f"/my/invoices/{move.id}/l10n_cn_einvoice/{file_format}{query}")

    def visitors(self):
        """The invoice's customer, an anonymous visitor with its link, and another customer with it."""
        return [("files_buyer", None), (None, self.token), ("files_other_buyer", self.token)]

    def point(self, field_name, attachment):
        """As if the file field had been pointed elsewhere."""
        self.env.flush_all()
        self.env.cr.execute(f"UPDATE account_move SET {field_name} = %s WHERE id = %s",
                            [attachment.id, self.move.id])
        self.env.invalidate_all()

    def assertServed(self, file_format, attachment):
        for visitor, token in self.visitors():
            with self.subTest(visitor=visitor or "anonymous", file_format=file_format):
                response = self.download(self.move, file_format, visitor, token)
                self.assertEqual(response.status_code, 200)
                self.assertEqual(response.content, attachment.raw)
                self.assertIn("attachment", response.headers["Content-Disposition"])

    def assertNotServed(self, file_format, attachment):
        secret = attachment.raw
        for visitor, token in self.visitors():
            with self.subTest(visitor=visitor or "anonymous", file_format=file_format, attachment=attachment.name):
                response = self.download(self.move, file_format, visitor, token)
                self.assertIn(response.status_code, (403, 404))
                self.assertNotIn(secret, response.content)
                self.assertNotIn("Content-Disposition", response.headers)

    def test_the_invoices_own_platform_files_are_served(self):
        self.assertServed("pdf", self.move.l10n_cn_einv_pdf_id)
        self.assertServed("xml", self.move.l10n_cn_einv_xml_id)
        self.assertTrue(self.move.l10n_cn_einv_pdf_id.raw.startswith(b"%PDF"))
        # without the link, another customer gets nothing
        self.assertEqual(self.download(self.move, "pdf", "files_other_buyer").status_code, 404)
        self.assertEqual(self.download(self.move, "pdf", None).status_code, 404)

    def test_another_invoices_file_is_not_served(self):
        for file_format, field_name in (("pdf", "l10n_cn_einv_pdf_id"), ("xml", "l10n_cn_einv_xml_id")):
            foreign = self.other[field_name]
            self.point(field_name, foreign)
            self.assertNotServed(file_format, foreign)

    def test_another_models_attachment_is_not_served(self):
        private = self.env["ir.attachment"].create({
            "name": "工资表 payroll.pdf", "raw": b"%PDF-1.4 payroll of the whole company",
            "mimetype": "application/pdf", "res_model": "res.partner", "res_id": self.env.company.partner_id.id})
        loose = self.env["ir.attachment"].create({"name": "contract.pdf", "raw": b"%PDF-1.4 a contract",
                                                  "mimetype": "application/pdf"})
        for attachment in (private, loose):
            self.point("l10n_cn_einv_pdf_id", attachment)
            self.assertNotServed("pdf", attachment)

    def test_an_upload_on_the_invoice_is_not_served(self):
        def upload(name, raw, mimetype="application/pdf"):
            return self.env["ir.attachment"].create({"name": name, "raw": raw, "mimetype": mimetype,
                                                     "res_model": "account.move", "res_id": self.move.id})
        uploads = [
            upload("internal memo.pdf", b"%PDF-1.4 internal memo"),
            # a byte copy of another invoice's platform PDF, attached to this one
            upload("copy.pdf", self.other.l10n_cn_einv_pdf_id.raw),
        ]
        for attachment in uploads:
            self.point("l10n_cn_einv_pdf_id", attachment)
            self.assertNotServed("pdf", attachment)
        self.point("l10n_cn_einv_xml_id", upload("notes.xml", b"<notes>internal</notes>", "application/xml"))
        self.assertNotServed("xml", self.move.l10n_cn_einv_xml_id)

    def test_the_other_format_or_changed_content_is_not_served(self):
        xml, pdf = self.move.l10n_cn_einv_xml_id, self.move.l10n_cn_einv_pdf_id
        self.point("l10n_cn_einv_pdf_id", xml)
        self.assertNotServed("pdf", xml)
        self.point("l10n_cn_einv_pdf_id", pdf)
        self.assertServed("pdf", pdf)
        # the file altered where it is stored (the ORM refuses to change a platform file)
        path, original = pdf._full_path(pdf.store_fname), pdf.raw
        self.addCleanup(Path(path).write_bytes, original)
        Path(path).write_bytes(original.replace(b"%PDF", b"%PDF\n% altered after it arrived", 1))
        self.assertNotServed("pdf", pdf)
