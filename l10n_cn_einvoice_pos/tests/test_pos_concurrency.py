import copy
import logging
import random
import threading
import time

import psycopg2

from odoo import SUPERUSER_ID, Command, api
from odoo.tests import tagged
from odoo.tools import mute_logger

from odoo.addons.l10n_cn_einvoice.tests.test_einvoice_concurrency import CommittedQueueCase

from .common import pos_order_data

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install", "post_install_l10n")
class TestPosDoubleSubmit(CommittedQueueCase):
    """Two requests of a till carrying the same paid order at once (a double click, a retry while
    the first is still running), each on its own database connection as in production, through
    Odoo's own retry of a request that met a concurrent one."""

    def _committed_store(self):
        """A company e-invoicing on the simulator with a shop whose session is open, committed ->
        (the order the till sends, the company's account on the simulator)."""
        with self.env.registry.cursor() as cr:
            env, company, account, product, buyer = self._committed_company(
                api.Environment(cr, SUPERUSER_ID, {}), "并发门店有限公司",
                tax_values={"price_include_override": "tax_excluded"}, lst_price=1000.0, available_in_pos=True)
            journals = env["account.journal"].search([("company_id", "=", company.id)])
            cash = env["pos.payment.method"].create({
                "name": "现金", "company_id": company.id,
                "journal_id": journals.filtered(lambda j: j.type == "cash")[:1].id})
            config = env["pos.config"].create({
                "name": "并发门店", "company_id": company.id,
                "invoice_journal_id": journals.filtered(lambda j: j.type == "sale")[:1].id,
                "payment_method_ids": [Command.set(cash.ids)]})
            config.open_ui()
            session = config.current_session_id
            session.set_opening_control(0, None)
            return pos_order_data(session, [(product, 1)], buyer, cash), company.id, account

    def _sync(self, order, company_id, barrier):
        """The till's request: sync_from_ui on a connection of its own, tried again on a serialization
        failure as Odoo tries a request again (odoo.service.model.retrying, whose env.reset() would
        wait here for the registry lock the test runner holds: each try gets a new cursor instead)."""
        barrier.wait(10)
        started = time.monotonic()
        for attempt in range(5):
            with self.env.registry.cursor() as cr:
                cr.transaction = api.Transaction(self.env.registry)
                env = api.Environment(cr, SUPERUSER_ID, {"allowed_company_ids": [company_id]})
                try:    # committed when the cursor closes, as a request's
                    result = env["pos.order"].sync_from_ui([copy.deepcopy(order)])
                except psycopg2.errors.SerializationFailure:
                    cr.rollback()
                    _logger.info("try %s of a request of the till met the other one: tried again", attempt + 1)
                    time.sleep(random.uniform(0.0, 0.5))
                    continue
            _logger.info("a request of the till took %.1f s", time.monotonic() - started)
            return result
        raise AssertionError("the till's request never went through")

    def test_the_same_order_twice_at_once_is_one_order_one_invoice_one_e_invoice(self):
        order, company_id, account = self._committed_store()
        barrier = threading.Barrier(2)
        # the request that meets the other one fails its first try (a serialization failure, logged
        # by odoo.sql_db) and is retried by Odoo
        with mute_logger("odoo.sql_db"):
            errors = self._run_workers(lambda: self._sync(order, company_id, barrier), count=2, timeout=120)
        self.assertWorkersRan(errors)
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT id, account_move, l10n_cn_einv_state FROM pos_order WHERE uuid = %s",
                       [order["uuid"]])
            rows = cr.fetchall()
            self.assertEqual(len(rows), 1, "one order")
            self.assertTrue(rows[0][1], "invoiced")
            self.assertEqual(rows[0][2], "issued")
            cr.execute("SELECT count(*) FROM account_move WHERE id IN "
                       "(SELECT account_move FROM pos_order WHERE uuid = %s)", [order["uuid"]])
            self.assertEqual(cr.fetchone()[0], 1, "one invoice")
        self.assertEqual(self._issued(account), (1, 1, 1), "one e-invoice on the platform")
