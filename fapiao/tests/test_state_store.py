"""fapiao.provider.StateStore: what a provider keeps between calls, renewed by one worker only."""

import threading
import time

from fapiao import provider


def test_memory_store_keeps_values_and_their_expiry():
    store = provider.MemoryStateStore()
    assert store.get("token") is None
    with store.lock("token"):
        store.put("token", "abc", 1700000000.0)
    assert store.get("token") == ("abc", 1700000000.0)


def test_memory_store_lets_one_of_two_threads_renew():
    store, renewals = provider.MemoryStateStore(), []

    def worker():
        with store.lock("token"):
            if store.get("token") is None:
                time.sleep(0.05)
                renewals.append(1)
                store.put("token", "new", time.time() + 60)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert renewals == [1]


def test_the_reference_provider_accepts_a_store_and_keeps_nothing_in_it():
    store = provider.MemoryStateStore()
    settings = {"endpoint": "https://platform.example", "app_id": "app",
                "app_secret": lambda: "secret", "sm4_key": lambda: "00" * 16}
    with provider.get("reference").connect(settings, read_timeout=1.0, retry_schedule=(), state=store):
        pass
    assert store.get("token") is None
