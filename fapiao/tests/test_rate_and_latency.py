"""The platforms' rate and latency, as the simulators show them: the sliding window that counts an
app's requests (providers.loopback.RateWindow), the reference sandbox refusing an app over its rate,
the reference client pacing itself below it, and the latency every answer of a simulator waits."""

import sqlite3
import threading
import time

import pytest
import requests

from fapiao import provider, ratelimit
from fapiao.errors import SystemBusy, TransientError
from fapiao.providers.loopback import RateWindow
from fapiao.providers.nuonuo.simulator import NuonuoServer
from fapiao.providers.reference import protocol
from fapiao.providers.reference.sandbox import Sandbox
from fapiao.providers.reference.sandbox.__main__ import parser
from fapiao.tests.test_client import make_invoice as make_invoice_document


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_window_counts_the_arrivals_of_the_last_second_per_key_and_keeps_the_peak():
    clock = Clock()
    window = RateWindow(1.0, clock=clock)
    assert [window.arrive("a", 2) for _ in range(3)] == [False, False, True]
    assert window.arrive("b", 2) is False               # each key its own window
    clock.now += 0.5
    assert window.arrive("a", 2) is True                # 4 within the second
    clock.now += 0.5                                    # the first three leave exactly one second on
    assert window.arrive("a", 2) is False
    assert (window.peak("a"), window.peak("b"), window.peak(), window.peak("c")) == (4, 1, 4, 0)


def test_without_a_rate_a_window_only_counts():
    window = RateWindow(1.0, clock=Clock())
    assert not any(window.arrive("a", rate) for rate in (0, None, 0.0) * 10)
    assert window.peak("a") == 30


# --- the reference sandbox: an application's rate ---------------------------------------------------

def test_over_its_rate_an_application_is_refused_2010_before_anything_is_read(sandbox, app, wire):
    sandbox.set_rate_limit(app.app_id, 3)
    assert [wire.call("quota.query").code for _ in range(3)] == ["0000"] * 3
    refused = wire.call("quota.query")
    assert (refused.code, refused.response.status_code, refused.signed) == ("2010", 429, True)
    assert refused.body["retryAfter"] == 1 and refused.data is None
    # not even the signature is looked at, and the nonce stays unused
    assert wire.call("quota.query", headers={protocol.H_SIGNATURE: "0" * 64}).code == "2010"
    stats = sandbox.stats(app.app_id)
    assert stats["requests"]["byCode"] == {"0000": 3, "2010": 2} and stats["nonces"] == 3
    assert (stats["requests"]["peakRate"], stats["requests"]["rateLimited"]) == (5, 2)
    time.sleep(1.05)                                    # the window moved on
    assert wire.call("quota.query").code == "0000"


def test_the_platforms_rate_holds_for_every_application_without_its_own(tmp_path, wire_for):
    db = tmp_path / "rated.db"
    with Sandbox(db, rate_limit=2) as sandbox:
        app = sandbox.default_app
        wire = wire_for(sandbox.url, app)
        assert [wire.call("quota.query").code for _ in range(3)] == ["0000", "0000", "2010"]
        admin = sandbox.url + "/admin"
        changed = requests.post(admin + "/apps", json={"appId": app.app_id, "rateLimit": 0}, timeout=5)
        assert changed.json()["rateLimit"] == 0             # its own: no limit
        assert {wire.call("quota.query").code for _ in range(4)} == {"0000"}
        for wrong in (-1, "fast", True):
            assert requests.post(admin + "/apps", json={"appId": app.app_id, "rateLimit": wrong},
                                 timeout=5).status_code == 400
        counted = requests.get(admin + "/stats", params={"appId": app.app_id}, timeout=5).json()["requests"]
        assert counted["rateLimited"] == 1 and counted["peakRate"] >= 4
        requests.post(admin + "/apps", json={"appId": app.app_id, "rateLimit": 7.5}, timeout=5)
    with Sandbox(db) as sandbox:                        # its own rate is kept; the platform has none now
        assert sandbox.rate_limit_of(app.app_id) == 7.5
        assert sandbox.stats(app.app_id)["requests"]["peakRate"] == 0     # counted since the start
        sandbox.add_app("shop-2", "s2", "00112233445566778899aabbccddeeff", "91110108MA01ABCD1E")
        assert sandbox.rate_limit_of("shop-2") == 0
    with pytest.raises(ValueError, match="rate limit"):
        Sandbox(tmp_path / "never.db", rate_limit=-1)
    assert not (tmp_path / "never.db").exists()


def test_a_database_from_before_rates_opens_with_the_platforms(tmp_path, app):
    db = tmp_path / "old.db"
    with Sandbox(db):
        pass
    with sqlite3.connect(db) as old:                    # the table as an earlier version wrote it
        old.execute("ALTER TABLE apps DROP COLUMN rate_limit")
    with Sandbox(db, rate_limit=5) as sandbox:
        assert sandbox.default_app.rate_limit is None and sandbox.rate_limit_of(app.app_id) == 5


def test_the_command_line_takes_a_rate_limit():
    assert parser().parse_args(["--db", "x.db", "--rate-limit", "12.5"]).rate_limit == 12.5
    assert parser().parse_args(["--db", "x.db"]).rate_limit == 0
    with pytest.raises(SystemExit):
        parser().parse_args(["--db", "x.db", "--rate-limit", "-1"])


# --- the reference client keeps to the rate ---------------------------------------------------------

class RecordingLimiter:
    """A limiter that lets every request go at once, noting what asked."""

    def __init__(self):
        self.asked = []

    def acquire(self, key, rate):
        self.asked.append((key, rate))


def connect(sandbox, app, limiter=None, **settings):
    secret, sm4_key = app.secret, app.sm4_key_hex
    options = {"rate_limiter": limiter} if limiter else {}
    return provider.get("reference").connect(
        {"endpoint": sandbox.url, "app_id": app.app_id, "app_secret": lambda: secret, "sm4_key": lambda: sm4_key,
         **settings}, retry_schedule=(0.01, 0.01), **options)


def test_every_request_of_the_reference_client_waits_for_the_limiter_retries_included(sandbox, app):
    limiter = RecordingLimiter()
    with connect(sandbox, app, limiter) as client:
        sandbox.set_faults(app.app_id, busy=1.0, retry_after=0)
        with pytest.raises(TransientError):
            client.query_quota()
        sandbox.set_faults(app.app_id, busy=0.0, lost=1.0)
        with pytest.raises(TransientError):             # sent, then queried before each resend
            client.issue(make_invoice_document(app, "RATE-LOST"))
        sandbox.set_faults(app.app_id, lost=0.0)
        number = client.issue(make_invoice_document(app, "RATE-1")).invoice_number
        client.download_document(number, "pdf")
    sent = sandbox.stats(app.app_id)["requests"]["total"]
    assert sent == 3 + 3 + 2 and limiter.asked == [(app.app_id, 50.0)] * sent


def test_the_reference_clients_rate_is_the_companys_or_the_published_one(sandbox, app):
    assert provider.get("reference").capabilities.rate_limit == 50.0
    for given, rate in (("", 50.0), (None, 50.0), (0, 50.0), ("12.5", 12.5), (3, 3.0)):
        limiter = RecordingLimiter()
        with connect(sandbox, app, limiter, rate_limit=given) as client:
            client.query_quota()
        assert limiter.asked == [(app.app_id, rate)]
    for wrong in ("-1", "fast", float("inf")):
        with pytest.raises(ValueError, match="rate_limit"):
            connect(sandbox, app, rate_limit=wrong)


def test_a_2010_is_a_passing_refusal_with_its_retry_after(sandbox, app):
    sandbox.set_rate_limit(app.app_id, 1)
    with connect(sandbox, app, RecordingLimiter()) as client:
        client.query_quota()
        with pytest.raises(SystemBusy) as info:
            client.call("quota.query", {})
    assert (info.value.platform_code, info.value.retry_after, info.value.ambiguous) == ("2010", 1, False)
    assert "本应用请求过于频繁" in info.value.message_zh


def test_clients_sharing_a_limiter_in_threads_never_go_faster_than_the_application_may(sandbox, app):
    rate, threads, each = 25, 4, 10     # unpaced, the four would send some 40 a second
    sandbox.set_rate_limit(app.app_id, rate)
    limiter, failures = ratelimit.SpacedLimiter(), []

    def work():
        try:
            with connect(sandbox, app, limiter, rate_limit=rate) as client:
                for _ in range(each):
                    client.query_quota()
        except Exception as error:     # reported below
            failures.append(error)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(30)
    counted = sandbox.stats(app.app_id)["requests"]
    assert failures == [] and counted["byCode"] == {"0000": threads * each}
    assert counted["rateLimited"] == 0 and rate / 2 <= counted["peakRate"] <= rate


# --- latency ------------------------------------------------------------------------------------------

def test_with_latency_requests_still_count_on_arrival_and_every_answer_waits_in_its_own_thread(sandbox, app,
                                                                                              wire_for):
    sandbox.set_rate_limit(app.app_id, 3)
    sandbox.set_latency(0.5)
    callers = [wire_for(sandbox.url, app) for _ in range(5)]
    answers, took = [], []

    def call(caller):
        started = time.monotonic()
        answers.append(caller.call("quota.query").code)
        took.append(time.monotonic() - started)

    started = time.monotonic()
    workers = [threading.Thread(target=call, args=(caller,)) for caller in callers]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(10)
    # five arrived within the second: three done, two refused, and each answer waited, refusals too
    assert sorted(answers) == ["0000"] * 3 + ["2010"] * 2 and min(took) >= 0.5
    assert time.monotonic() - started < 1.5                 # at once, not five times 0.5 s
    counted = sandbox.stats(app.app_id)["requests"]
    assert (counted["peakRate"], counted["rateLimited"]) == (5, 2)


def test_the_latency_is_set_by_the_admin_endpoint_whose_own_answers_never_wait(sandbox, app, wire):
    admin = sandbox.url + "/admin/latency"
    assert requests.post(admin, json={"latency": 0.4}, timeout=5).json() == {"latency": 0.4}
    started = time.monotonic()
    assert requests.get(admin, timeout=5).json() == {"latency": 0.4}
    assert requests.get(sandbox.url + "/health", timeout=5).status_code == 200
    assert time.monotonic() - started < 0.4
    started = time.monotonic()
    assert wire.call("quota.query").code == "0000" and time.monotonic() - started >= 0.4
    for wrong in (-1, "slow", None, True, 10_000):
        assert requests.post(admin, json={"latency": wrong}, timeout=5).status_code == 400
    assert sandbox.latency == 0.4


def test_a_latency_is_a_number_of_seconds_from_the_start(tmp_path):
    assert parser().parse_args(["--db", "x.db", "--latency", "0.3"]).latency == 0.3
    assert parser().parse_args(["--db", "x.db"]).latency == 0
    with pytest.raises(ValueError, match="latency"):
        Sandbox(tmp_path / "never.db", latency=-0.1)
    with pytest.raises(ValueError, match="latency"):
        NuonuoServer(tmp_path / "nuonuo", latency=float("nan"))
    assert not (tmp_path / "never.db").exists() and not (tmp_path / "nuonuo").exists()
    with provider.get("reference").simulator(tmp_path / "reference", latency=0.2, rate_limit=5) as sim:
        assert (sim.sandbox.latency, sim.sandbox.gateway.rate_limit) == (0.2, 5)
