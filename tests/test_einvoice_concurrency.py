import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid

import requests

import odoo
from odoo import SUPERUSER_ID, Command, api
from odoo.tests import TransactionCase, tagged

from ..fapiao import provider
from ..models import l10n_cn_einv_platform as platform
from .common import BUYER_TAX_ID, PRINTER_CODE, SELLER_TAX_ID, TEST_PROVIDER, connect_company, service

_logger = logging.getLogger(__name__)
INVOICES = 24


class CommittedQueueCase(TransactionCase):
    """Workers on separate database connections, as in production.

    Everything is created and committed on its own connection: the workers'
    connections must see it, and the test's own transaction stays empty so
    that it holds no lock they would wait for.
    """

    provider_code = None   # the provider a class always runs against; None: TEST_PROVIDER

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        directory = tempfile.mkdtemp(prefix="l10n_cn_einv_concurrency_")
        cls.addClassCleanup(shutil.rmtree, directory, True)
        cls.provider_spec = provider.get(cls.provider_code or TEST_PROVIDER)
        cls.simulator = cls.provider_spec.simulator(directory, host="127.0.0.1", port=0)
        cls.addClassCleanup(cls.simulator.close)

    def _committed_company(self, env, name, *, product_name="激光打印机", tax_percent=13.0,
                           tax_code=PRINTER_CODE, tax_values=None, **product_values):
        """A Chinese company on the simulator, with its chart, a product taxed at ``tax_percent`` and a
        company buyer, created in ``env`` (a cursor of its own, committed when it closes) ->
        (env of the company, company, account on the simulator, product, buyer). The product and
        the buyer are the company's: committed, they outlive the test, and no other test's search
        may find them."""
        company = env["res.company"].create({
            "name": f"{name} {uuid.uuid4().hex[:8]}", "country_id": env.ref("base.cn").id,
            "currency_id": env.ref("base.CNY").id, "vat": SELLER_TAX_ID,
        })
        account = connect_company(self.simulator, self.provider_spec, company, SELLER_TAX_ID)
        env["account.chart.template"].try_loading("cn", company=company, install_demo=False)
        env = env(context={**env.context, "allowed_company_ids": company.ids})
        tax = env["account.tax"].create({"name": f"VAT {tax_percent:g}%", "amount": tax_percent,
                                         "type_tax_use": "sale", "company_id": company.id, **(tax_values or {})})
        code = env["l10n_cn_einv.tax.code"].search([("code", "=", tax_code)])
        product = env["product.product"].create({"name": product_name, "taxes_id": [Command.set(tax.ids)],
                                                 "l10n_cn_einv_tax_code_id": code.id, "company_id": company.id,
                                                 **product_values})
        buyer = env["res.partner"].create({"name": "上海某某贸易有限公司", "vat": BUYER_TAX_ID,
                                           "country_id": env.ref("base.cn").id, "is_company": True,
                                           "company_id": company.id})
        return env, company, account, product, buyer

    def _committed_queue(self, count=INVOICES):
        """A company with queued invoices, committed so that other connections see them; returns
        (company id, invoice ids, the company's account on the simulator)."""
        with self.env.registry.cursor() as cr:
            env, company, account, product, buyer = self._committed_company(
                api.Environment(cr, SUPERUSER_ID, {}), "并发测试有限公司")
            moves = env["account.move"].with_company(company).create([{
                "move_type": "out_invoice", "partner_id": buyer.id, "company_id": company.id,
                "invoice_date": "2026-11-20",
                "invoice_line_ids": [Command.create({"product_id": product.id, "quantity": 1,
                                                     "price_unit": 100.0 + index})],
            } for index in range(count)])
            moves.action_post()
            moves._l10n_cn_einv_enqueue()
            return company.id, moves.ids, account

    def _issued(self, account):
        """(invoices the platform issued, distinct serial numbers, distinct invoice numbers)."""
        issued = self.simulator.issued(account)
        return (len(issued), len({result.serial_no for result in issued}),
                len({result.invoice_number for result in issued}))

    @staticmethod
    def _run_workers(worker, count=2, timeout=None):
        """Run ``worker`` in ``count`` threads at once; return the tracebacks of what they raised
        (whole: an intermittent failure must say where it came from)."""
        errors = []

        def guarded():
            try:
                worker()
            except Exception:  # reported by the caller's assertion
                errors.append(traceback.format_exc())

        threads = [threading.Thread(target=guarded) for _ in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
        return errors

    def assertWorkersRan(self, errors):
        """No worker raised; otherwise their tracebacks, in full."""
        if errors:
            self.fail("\n".join(errors))

    def _run_queue(self, company_id, batch_size=8):
        """One cron run on its own connection, committing as in production (small batches, so that
        overlapping runs share the queue)."""
        with self.env.registry.cursor() as cr:
            # Environment() would look the registry up under the lock the test
            # runner holds while tests run: hand it over directly.
            cr.transaction = api.Transaction(self.env.registry)
            env = api.Environment(cr, SUPERUSER_ID, {"l10n_cn_einv_commit": True})
            return env["account.move"]._l10n_cn_einv_cron_process_queue(company_ids=[company_id],
                                                                        batch_size=batch_size)

    def _run_poll(self, company_id):
        """One run of the poll cron on its own connection, committing as in production."""
        with self.env.registry.cursor() as cr:
            cr.transaction = api.Transaction(self.env.registry)
            env = api.Environment(cr, SUPERUSER_ID, {"l10n_cn_einv_commit": True})
            return env["account.move"]._l10n_cn_einv_cron_poll_pending(company_ids=[company_id])

    def _count(self, query, *params):
        with self.env.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchone()[0]

    def _move_row(self, move_id):
        with self.env.registry.cursor() as cr:
            cr.execute("""SELECT l10n_cn_einv_state, l10n_cn_einv_uncertain,
                                 l10n_cn_einv_next_attempt > NOW() AT TIME ZONE 'UTC', l10n_cn_einv_number
                            FROM account_move WHERE id = %s""", [move_id])
            return cr.fetchone()


class ServedQueueCase(CommittedQueueCase):
    """CommittedQueueCase with a real Odoo server (threaded, as odoo-bin runs by default) on the
    test's database and a free port, ``base_url``: the test run's own HTTP server serves every
    request on the test's one cursor, one at a time, so it cannot show what concurrent
    transactions do. A test fails if the server logged an error."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.base_url = cls._start_server()

    @classmethod
    def _start_server(cls):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        directory = tempfile.mkdtemp(prefix="l10n_cn_einv_server_")
        cls.addClassCleanup(shutil.rmtree, directory, True)   # registered first: runs after the server stopped
        cls.server_log = os.path.join(directory, "odoo.log")
        odoo_bin = os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin")
        dbname = cls.env.cr.dbname
        with open(cls.server_log, "w") as log:
            server = subprocess.Popen(
                [sys.executable, odoo_bin, "-c", odoo.tools.config.rcfile, "-d", dbname, "--db-filter", f"^{dbname}$",
                 "--http-interface=127.0.0.1", f"--http-port={port}", "--max-cron-threads=0", "--log-level=info"],
                stdout=log, stderr=subprocess.STDOUT)
        cls.addClassCleanup(cls._stop_server, server)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and server.poll() is None:
            with contextlib.suppress(requests.RequestException):    # not listening yet
                if requests.get(f"{url}/web/health", timeout=10).status_code == 200:
                    return url
            time.sleep(0.5)
        with open(cls.server_log, errors="replace") as log:
            raise AssertionError("the Odoo server did not start:\n" + "".join(log.readlines()[-40:]))

    @staticmethod
    def _stop_server(server):
        server.terminate()
        try:
            server.wait(60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(30)

    def setUp(self):
        super().setUp()
        self.addCleanup(self._report_server_errors)

    def _report_server_errors(self):
        with open(self.server_log, errors="replace") as log:
            lines = log.readlines()
        errors = [line for line in lines if " ERROR " in line or " CRITICAL " in line]
        if errors:
            _logger.info("the Odoo server of %s logged:\n%s", type(self).__name__, "".join(lines[-200:]))
        self.assertFalse(errors[:5], "the server logged no error")

    def _at_once(self, send, calls):
        """``send(*call)`` for every call at the same moment, each in its own thread (and so on its
        own connection) -> their answers, in the order of ``calls``."""
        start = threading.Barrier(len(calls))
        answers = [None] * len(calls)

        def one(index, call):
            start.wait(30)
            answers[index] = send(*call)

        threads = [threading.Thread(target=one, args=(index, call)) for index, call in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)
        self.assertNotIn(None, answers, "every request was answered")
        return answers


@tagged("post_install", "-at_install", "post_install_l10n")
class TestQueueConcurrency(CommittedQueueCase):
    """Two cron workers drain one queue; a killed worker is recovered."""

    def test_two_overlapping_cron_runs_never_send_twice(self):
        company_id, move_ids, account = self._committed_queue()
        self.simulator.set_faults(account, slow=1.0, slow_seconds=0.02)  # keep both workers busy together
        start = threading.Barrier(2)
        processed = []

        def worker():
            start.wait(10)
            processed.append(self._run_queue(company_id))

        errors = self._run_workers(worker, timeout=120)
        self.simulator.reset(account)
        self.assertWorkersRan(errors)
        self.assertEqual(sum(processed), INVOICES)
        self.assertTrue(all(processed), f"both workers took part: {processed}")
        self.assertEqual(self._issued(account), (INVOICES, INVOICES, INVOICES))
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT l10n_cn_einv_state, COUNT(*) FROM account_move WHERE id IN %s GROUP BY 1",
                       [tuple(move_ids)])
            self.assertEqual(dict(cr.fetchall()), {"issued": INVOICES})
            cr.execute("SELECT COUNT(*) FROM l10n_cn_einv_log WHERE company_id = %s AND service = %s",
                       [company_id, service(self.provider_spec, "issue")])
            self.assertEqual(cr.fetchone()[0], INVOICES, "each invoice was sent exactly once")

    def test_two_lanes_keep_requests_in_flight_within_the_apps_rate(self):
        """Two lanes (cron workers), each with several requests in flight, against a platform that
        answers in 0.2 s: one request at a time never makes 5 a second; together they reach the
        app's rate and never pass it, as the platform counts."""
        rate, count = 12, 48
        company_id, move_ids, account = self._committed_queue(count=count)
        rate_setting = next(setting for setting in self.provider_spec.settings if setting.name == "rate_limit")
        with self.env.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["res.company"].browse(company_id).write({
                platform.setting_field(self.provider_spec, rate_setting): rate,
                "l10n_cn_einv_parallel_requests": 6})
        self.simulator.set_rate_limit(account, rate)
        self.simulator.set_latency(0.2)
        self.addCleanup(self.simulator.set_latency, 0)
        start = threading.Barrier(2)

        def lane():
            start.wait(10)
            self._run_queue(company_id, batch_size=12)

        self.assertWorkersRan(self._run_workers(lane, timeout=120))
        stats = self.simulator.stats(account)
        self.assertEqual(self._issued(account), (count, count, count))
        self.assertEqual(stats["rate_limited"], 0, "the platform never refused a request for the app's rate")
        self.assertLessEqual(stats["peak_rate"], rate)
        self.assertGreater(stats["peak_rate"], 5, "requests were in flight at once")
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT l10n_cn_einv_state, COUNT(*) FROM account_move WHERE id IN %s GROUP BY 1",
                       [tuple(move_ids)])
            self.assertEqual(dict(cr.fetchall()), {"issued": count})

    def test_worker_killed_mid_submission_recovers_without_duplicate(self):
        company_id, (move_id,), account = self._committed_queue(count=1)
        self.simulator.set_faults(account, timeout=1.0, timeout_seconds=60)  # the answer never comes in time
        odoo_bin = os.path.join(os.path.dirname(os.path.dirname(odoo.__file__)), "odoo-bin")
        worker = subprocess.Popen(
            [sys.executable, odoo_bin, "shell", "-c", odoo.tools.config.rcfile, "-d", self.env.cr.dbname,
             "--no-http", "--log-level=warn"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        worker.stdin.write("env = env(context=dict(env.context, l10n_cn_einv_commit=True))\n"
                           f"env['account.move']._l10n_cn_einv_cron_process_queue(company_ids=[{company_id}])\n")
        worker.stdin.close()
        try:
            deadline = time.monotonic() + 90
            # the request left (the platform holds the invoice) while the row says it is in flight
            while self.simulator.stats(account)["invoices"] < 1 or self._move_row(move_id)[0] != "submitting":
                self.assertIsNone(worker.poll(), "the worker ended before its request reached the platform")
                self.assertLess(time.monotonic(), deadline, "the worker never sent its request")
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(30)
        self.simulator.reset(account)
        state, uncertain, leased, number = self._move_row(move_id)
        self.assertEqual((state, uncertain, leased, number), ("submitting", True, True, None),
                         "the row says a submission was in flight, and its lease holds")
        self.assertEqual(self._run_queue(company_id), 0, "no other worker takes a leased submission")
        with self.env.registry.cursor() as cr:  # the lease runs out
            cr.execute("UPDATE account_move SET l10n_cn_einv_next_attempt = NOW() AT TIME ZONE 'UTC' "
                       "- INTERVAL '1 second' WHERE id = %s", [move_id])
        self.assertEqual(self._run_queue(company_id), 1)
        state, uncertain, _leased, number = self._move_row(move_id)
        self.assertEqual((state, uncertain), ("issued", False))
        self.assertEqual(self.simulator.stats(account)["invoices"], 1, "recovered, not issued twice")
        self.assertEqual(number, self.simulator.issued(account)[0].invoice_number)
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT service FROM l10n_cn_einv_log WHERE move_id = %s ORDER BY id", [move_id])
            services = [row[0] for row in cr.fetchall()]
        self.assertEqual(services[0], service(self.provider_spec, "query"), "asked the platform before sending again")
        self.assertNotIn(service(self.provider_spec, "issue"), services)
