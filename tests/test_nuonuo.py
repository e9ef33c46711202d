"""诺诺 through Odoo, whatever provider the other tests run against: its settings, the embedded
simulator a company switched to 诺诺 uses out of the box, its access token shared by the workers,
E9106, seal failure and reInvoice, and the OFD kept with the PDF.

The real NuonuoClient talks to the 诺诺 simulator over loopback HTTP throughout."""

import json
import threading
import time

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.tests import HttpCase, tagged

from ..fapiao import provider, ratelimit
from ..models import l10n_cn_einv_platform as platform
from ..models.l10n_cn_einv_files import platform_file
from ..models.l10n_cn_einv_rate_limit import PostgresRateLimiter
from .common import PENDING_SECONDS, SELLER_TAX_ID, L10nCnEinvCase
from .test_einvoice_concurrency import CommittedQueueCase


def services_of(move):
    return move.env["l10n_cn_einv.log"].sudo().search([("move_id", "=", move.id)], order="id").mapped("service")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestNuonuo(L10nCnEinvCase):
    provider_code = "nuonuo"

    def state_rows(self):
        self.env.flush_all()
        with self.env.registry.cursor() as cr:   # the store writes on its own connection
            cr.execute("SELECT key, value_sealed FROM l10n_cn_einv_provider_state "
                       "WHERE company_id = %s AND provider = 'nuonuo'", [self.company.id])
            return dict(cr.fetchall())

    def forget_token(self):
        with self.env.registry.cursor() as cr:
            cr.execute("DELETE FROM l10n_cn_einv_provider_state WHERE company_id = %s", [self.company.id])

    def setUp(self):
        super().setUp()
        self.forget_token()
        self.addCleanup(self.forget_token)

    def test_an_invoice_is_issued_with_its_pdf_xml_and_ofd_the_legal_original(self):
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertRegex(move.l10n_cn_einv_number, r"^\d{20}$")
        self.assertLessEqual(len(move.l10n_cn_einv_serial_no), 20, "诺诺's orderNo takes 20 characters")
        self.receive_files()
        for file_format in ("pdf", "ofd", "xml"):
            attachment = platform_file(move, file_format)
            self.assertTrue(attachment, f"the {file_format} is kept, as 诺诺 sent it")
        self.assertEqual(move.l10n_cn_einv_ofd_id.mimetype, "application/ofd")
        self.assertEqual(services_of(move)[:2], ["accessToken", "requestBillingNew"])
        self.assertIn("queryInvoiceResult", services_of(move))

    def test_two_workers_ask_for_one_token_and_keep_it_sealed(self):
        settings = {name: (lambda value=value: value) if name in ("app_secret", "access_token") else value
                    for name, value in platform.tooling_credentials(self.company).items()}
        settings["access_token"] = ""
        before = self.platform_stats()["token_requests"]
        tokens, errors = [], []
        barrier = threading.Barrier(2)

        def worker():
            try:
                # each worker builds its own provider on the company's shared store
                with self.provider_spec.connect(dict(settings), state=platform.state_store(self.company)) as client:
                    barrier.wait(5)
                    client.ensure_access()
                    tokens.append(client.token())
            except Exception as error:
                errors.append(error)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertFalse(errors)
        self.assertEqual(self.platform_stats()["token_requests"] - before, 1, "one token for both workers")
        self.assertEqual(len(set(tokens)), 1)
        sealed = self.state_rows()["access_token"]
        self.assertNotIn(tokens[0], sealed, "the token is sealed at rest")
        # Odoo's own issuing uses the token kept, without asking again
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.platform_stats()["token_requests"] - before, 1)

    def test_get_token_asks_only_when_there_is_none_and_says_until_when(self):
        before = self.platform_stats()["token_requests"]
        action = self.company.action_l10n_cn_einv_get_access()
        self.assertIn("valid until", action["params"]["message"])
        self.company.action_l10n_cn_einv_get_access()
        self.assertEqual(self.platform_stats()["token_requests"] - before, 1, "诺诺 grants 50 a month: asked once")

    def test_an_order_nuonuo_already_holds_is_queried_not_sent_again(self):
        move = self.make_invoice()
        move._l10n_cn_einv_enqueue()
        # the order reached 诺诺 without Odoo knowing (another worker's lost answer)
        settings = provider.SimulatedAccount("", platform.tooling_credentials(self.company)) \
            .connect_settings(self.provider_spec)
        with self.provider_spec.connect(settings) as client:
            client.issue(move._l10n_cn_einv_document())
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1, "E9106: one order at 诺诺, never a second")
        logs = self.env["l10n_cn_einv.log"].sudo().search([("move_id", "=", move.id)], order="id")
        refused = logs.filtered(lambda log: log.service == "requestBillingNew")
        self.assertEqual(refused.mapped("code"), ["E9106"])
        self.assertIn("queryInvoiceResult", logs.filtered(lambda log: log.id > refused.id).mapped("service"))

    def test_a_seal_failure_is_sealed_again_with_reinvoice(self):
        self.set_faults(seal_failure=1.0)
        move = self.make_invoice()
        move.action_l10n_cn_einv_issue()
        self.assertEqual(move.l10n_cn_einv_state, "pending", "seal failed (24): not issued yet")
        self.assertIn("reInvoice", services_of(move), "诺诺 is asked to seal it again at once")
        self.simulator.reset(self.account())
        self.env["account.move"]._l10n_cn_einv_cron_poll_pending(company_ids=self.company.ids)
        self.assertEqual(move.l10n_cn_einv_state, "issued")
        self.assertEqual(self.issued_on_platform(), 1)

    def test_quota_is_shown_in_the_settings_after_the_connection_test(self):
        settings = self.env["res.config.settings"].create({})
        self.assertIn("not checked", settings.l10n_cn_einv_quota_status)
        self.company.action_l10n_cn_einv_test_connection()
        settings = self.env["res.config.settings"].create({})
        self.assertIn("remaining of", settings.l10n_cn_einv_quota_status)
        self.assertGreater(self.company.l10n_cn_einv_quota_total, 0)

    def test_settings_show_only_nuonuo_secrets_and_missing_ones_are_named(self):
        settings = self.env["res.config.settings"].create({})
        self.assertIn("诺诺 App Secret ✓", settings.l10n_cn_einv_secrets_status)
        self.assertNotIn("SM4", settings.l10n_cn_einv_secrets_status)
        self.company.l10n_cn_einv_nuonuo_app_key = False
        with self.assertRaisesRegex(UserError, "诺诺 App Key"):
            self.make_invoice().action_l10n_cn_einv_issue()
        self.company.write({"l10n_cn_einv_environment": "production", "l10n_cn_einv_nuonuo_endpoint": False,
                            "l10n_cn_einv_nuonuo_app_key": "k"})
        with self.assertRaisesRegex(UserError, "tax platform URL"):
            self.make_invoice().action_l10n_cn_einv_issue()

    def test_a_company_switched_to_nuonuo_issues_on_the_embedded_simulator(self):
        company = self.env["res.company"].create({
            "name": "诺诺示例公司", "country_id": self.env.ref("base.cn").id, "vat": SELLER_TAX_ID,
            "l10n_cn_einv_provider": "nuonuo", "l10n_cn_einv_issuer": "李会计"})
        self.assertFalse(company.l10n_cn_einv_nuonuo_app_key)
        with company._l10n_cn_einv_provider(company) as client:
            self.assertTrue(client.test_connection())
        # the embedded 诺诺 opened an app for it, whose key and (sealed) secret it keeps
        self.assertTrue(company.l10n_cn_einv_nuonuo_app_key)
        self.assertTrue(company.sudo().l10n_cn_einv_nuonuo_app_secret_sealed)
        self.assertFalse(company.sudo().l10n_cn_einv_nuonuo_app_secret, "write-only: it reads empty")
        self.assertTrue(platform.uses_embedded_simulator(company))


@tagged("post_install", "-at_install")
class TestNuonuoCallbacks(L10nCnEinvCase, HttpCase):
    """诺诺's callbacks over real HTTP to the Odoo test server: unsigned form posts, so only a nudge
    to ask 诺诺 about that order at once; what they say is never believed."""

    provider_code = "nuonuo"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.company.l10n_cn_einv_callback_enabled = True
        cls.path = f"/l10n_cn_einvoice/callback/{cls.company.id}"

    def post(self, order_no, content=None):
        form = {"operater": "callback", "orderno": order_no,
                "content": json.dumps(content or {"c_status": "1", "c_orderno": order_no})}
        return self.url_open(self.path, data=form)

    def listen_for_callbacks(self):
        """Point 诺诺's callbacks at this test server, once the test's data is flushed: a callback
        must never arrive while this thread still uses the cursor the server thread shares."""
        self.env.flush_all()
        credentials = platform.tooling_credentials(self.company)
        self.simulator.register(self.account(), seller_tax_id=self.company.vat, seller_name=self.company.name,
                                callback_url=self.company.l10n_cn_einv_callback_url,
                                settings={"app_secret": credentials["app_secret"]})
        self.addCleanup(self.simulator.register, self.account(), seller_tax_id=self.company.vat,
                        seller_name=self.company.name, settings={"app_secret": credentials["app_secret"]})

    def test_nuonuo_calls_back_and_odoo_asks_it_for_the_result(self):
        move = self.pending_invoice()
        self.listen_for_callbacks()
        self.simulator.advance_clock(PENDING_SECONDS + 1)
        serial = move.l10n_cn_einv_serial_no
        self.wait_for_callback(lambda row: row["references"].get("serial_no") == serial)
        self.assertEqual(move.l10n_cn_einv_state, "issued", "issued without a poll: the callback did it")
        self.assertTrue(move.l10n_cn_einv_number and move.l10n_cn_einv_pdf_id and move.l10n_cn_einv_ofd_id)
        services = services_of(move)
        # the callback's own line is written once it is answered, after what it made Odoo do
        self.assertEqual(services[-1], "callback.invoice.nudge")
        self.assertEqual(services.count("queryInvoiceResult"), 2, "asked after the issue, then after the nudge")

    def test_a_forged_callback_changes_nothing_that_nuonuo_does_not_confirm(self):
        move = self.pending_invoice()
        self.env.flush_all()
        response = self.post(move.l10n_cn_einv_serial_no, {
            "c_status": "1", "c_orderno": move.l10n_cn_einv_serial_no, "c_fphm": "26350000000012345678"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json()["status"], "0000")
        self.env.invalidate_all()
        self.assertEqual(move.l10n_cn_einv_state, "pending", "诺诺 says it is still being issued")
        self.assertFalse(move.l10n_cn_einv_number, "the number in the post is not believed")

    def test_callbacks_for_unknown_orders_or_not_from_nuonuo_are_refused(self):
        self.env.flush_all()
        refused = self.post("OE-NO-SUCH-ORDER")
        self.assertEqual(refused.json()["status"], "9999")
        junk = self.url_open(self.path, data={"operater": "invoiceInvalid"})
        self.assertEqual(junk.json()["status"], "9999")


@tagged("post_install", "-at_install", "post_install_l10n")
class TestNuonuoRateLimit(CommittedQueueCase):
    """诺诺 never sees more requests than the app's rate, however many workers send: the limiter
    reserves each request's moment in PostgreSQL, not per process."""

    provider_code = "nuonuo"
    RATE = 5.0

    def test_limiters_of_two_workers_share_the_rate_in_postgresql(self):
        key = f"test-{time.time_ns()}"
        moments = []

        def worker():
            limiter = PostgresRateLimiter(self.env.registry, "nuonuo")   # each worker has its own
            for _ in range(10):
                limiter.acquire(key, 10.0)
                moments.append(time.monotonic())

        self.assertWorkersRan(self._run_workers(worker))
        moments.sort()
        self.assertGreaterEqual(moments[-1] - moments[0], 19 * ratelimit.interval(10.0) - 0.05,
                                "20 requests at 10 a second (with the headroom) take about two seconds")
        with self.env.registry.cursor() as cr:
            cr.execute("DELETE FROM l10n_cn_einv_rate_limit WHERE key = %s", [f"nuonuo:{key}"])

    def test_two_workers_issuing_stay_within_the_apps_rate(self):
        company_id, _move_ids, account = self._committed_queue(count=24)
        self.simulator.set_rate_limit(account, self.RATE)
        with self.env.registry.cursor() as cr:
            api.Environment(cr, SUPERUSER_ID, {})["res.company"].browse(company_id) \
                .l10n_cn_einv_nuonuo_rate_limit = self.RATE
        self.assertWorkersRan(self._run_workers(lambda: self._run_queue(company_id)))
        self.assertWorkersRan(self._run_workers(lambda: self._run_poll(company_id), count=1))
        stats = self.simulator.stats(account)
        self.assertEqual(stats["invoices"], 24)
        self.assertEqual(stats["rate_limited"], 0, "诺诺 never refused a request for coming too fast")
        self.assertLessEqual(stats["peak_rate"], self.RATE)
        self.assertGreater(stats["requests"], 24)
