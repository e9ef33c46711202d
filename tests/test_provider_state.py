"""What a provider keeps between calls (an access token) is shared by every worker of a company,
renewed by one of them only, and sealed at rest."""

import threading
import time

from odoo.tests import TransactionCase, tagged

from ..models import l10n_cn_einv_platform as platform


@tagged("post_install", "-at_install")
class TestProviderState(TransactionCase):

    def setUp(self):
        super().setUp()
        self.company = self.env.ref("base.main_company")   # committed: the store has its own connection
        self.key = f"token-{id(self)}"
        self.addCleanup(self._forget)

    def _forget(self):
        with self.env.registry.cursor() as cr:
            cr.execute("DELETE FROM l10n_cn_einv_provider_state WHERE key = %s", [self.key])

    def test_two_workers_renew_a_token_once_and_share_it(self):
        renewals = []

        def worker():
            store = platform.state_store(self.company)   # each worker builds its own provider
            with store.lock(self.key):
                if store.get(self.key) is None:
                    time.sleep(0.2)                       # the token request takes a while
                    renewals.append(threading.get_ident())
                    store.put(self.key, f"token-of-{threading.get_ident()}", time.time() + 86400)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertEqual(len(renewals), 1, "the second worker found the first one's token")
        value, expires_at = platform.state_store(self.company).get(self.key)
        self.assertEqual(value, f"token-of-{renewals[0]}")
        self.assertGreater(expires_at, time.time() + 86000)

    def test_the_token_is_sealed_and_written_under_its_lock_only(self):
        store = platform.state_store(self.company)
        with self.assertRaises(RuntimeError):
            store.put(self.key, "secret-token")
        with store.lock(self.key):
            store.put(self.key, "secret-token")
        with self.env.registry.cursor() as cr:
            cr.execute("SELECT value_sealed FROM l10n_cn_einv_provider_state WHERE key = %s", [self.key])
            (sealed,) = cr.fetchone()
        self.assertNotIn("secret-token", sealed)
        self.assertEqual(store.get(self.key), ("secret-token", 0.0))
        # another company, or another provider, has its own
        other = platform.CompanyStateStore(self.env.registry, self.company.id, "another")
        self.assertIsNone(other.get(self.key))

    def test_a_thread_reading_while_another_renews_reads_on_its_own_connection(self):
        """A provider's sending threads share its store: one renewing the token under the lock,
        another reading it meanwhile. The reader must see the last committed token, on its own
        connection, never work on the renewer's cursor (two threads on one cursor take each
        other's results: 'no results to fetch')."""
        store = platform.state_store(self.company)
        with store.lock(self.key):
            store.put(self.key, "old-token", time.time() + 86400)
        holding, renewed = threading.Event(), threading.Event()
        errors, seen = [], []

        def renewer():
            with store.lock(self.key):
                store.put(self.key, "new-token", time.time() + 86400)
                holding.set()
                renewed.wait(30)

        def reader():
            holding.wait(30)
            try:
                seen.extend(store.get(self.key)[0] for _ in range(20))
            except Exception as error:  # reported by the assertion below
                errors.append(error)
            finally:
                renewed.set()

        threads = [threading.Thread(target=renewer), threading.Thread(target=reader)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        self.assertFalse(errors)
        self.assertEqual(set(seen), {"old-token"}, "the renewal is not seen before it is committed")
        self.assertEqual(store.get(self.key)[0], "new-token", "and is seen once it is")
