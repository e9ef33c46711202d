"""诺诺's client without a platform: the requests it builds, its token renewal, its callbacks.
(Against a faithful 诺诺 simulator: later.)"""

import json
import threading
import time

import pytest

from fapiao import errors, ratelimit
from fapiao.provider import CallbackRefused, Exchange, MemoryStateStore
from fapiao.providers import nuonuo
from fapiao.providers.nuonuo import client, sign, tokens


def provider_state():
    return MemoryStateStore()


def _state_with(token, expires_at):
    """A company's state store already holding an access token."""
    state = MemoryStateStore()
    with state.lock(tokens.TOKEN_KEY):
        state.put(tokens.TOKEN_KEY, token, expires_at)
    return state

SECRET, TOKEN = "s3cr3t-app-secret", "tok-0123456789"
SETTINGS = {"endpoint": "https://sandbox.nuonuocs.cn/open/v1/services", "app_key": "APPKEY",
            "app_secret": lambda: SECRET, "seller_tax_id": "339902999999789113", "extension_number": "923"}


def _connect(**options):
    options.setdefault("state", _state_with(TOKEN, 0))
    return nuonuo.SPEC.connect(dict(SETTINGS), **options)


def test_spec_is_registered():
    from fapiao import provider
    assert nuonuo.SPEC.code == "nuonuo"
    assert provider.get("nuonuo") is nuonuo.SPEC
    assert {setting.name for setting in nuonuo.SPEC.settings if setting.secret} == {"app_secret", "access_token"}


def test_request_building():
    with _connect() as provider:
        call = provider.prepare("queryInvoiceResult", {"orderNos": ["订单1"]}, senid="a" * 32, nonce="12345678",
                                timestamp="1700000000")
    assert call.url == SETTINGS["endpoint"]
    assert call.params == {"senid": "a" * 32, "nonce": "12345678", "timestamp": "1700000000", "appkey": "APPKEY"}
    assert call.body == '{"orderNos":["订单1"]}'.encode()
    assert call.headers == {
        "Content-Type": "application/json; charset=UTF-8",
        "X-Nuonuo-Sign": sign.signature(SECRET, "APPKEY", "a" * 32, "12345678", "1700000000",
                                        call.body.decode("utf-8")),
        "accessToken": TOKEN,
        "userTax": "339902999999789113",
        "method": "nuonuo.OpeMplatform.queryInvoiceResult",
    }


def test_request_building_reproduces_the_published_vector():
    credentials = client.Credentials("app", "secret")
    call = client.prepare("https://x/open/v1/services", "app", credentials, "m", {"name": "中文"}, token="t",
                          user_tax="u", senid="a" * 32, nonce="12345678", timestamp="1700000000")
    assert call.headers["X-Nuonuo-Sign"] == "4BzcKzrcoqxPis0W/W3X2ae0uIo="


def test_fresh_values_per_request():
    with _connect() as provider:
        first, second = provider.prepare("m", {}), provider.prepare("m", {})
    assert first.params["senid"] != second.params["senid"]


def test_secrets_are_not_attributes():
    provider = _connect()
    assert SECRET not in repr(vars(provider))
    assert SECRET not in repr(provider._credentials)


class _Response:
    def __init__(self, data, status=200):
        self.status_code, self._data = status, data
        self.content = json.dumps(data).encode()

    def json(self):
        return self._data


class _TokenSession:
    """Stands in for requests.Session at the token endpoint only, counting requests."""

    def __init__(self, delay=0.0):
        self.posts, self.delay, self.lock = [], delay, threading.Lock()

    def post(self, url, data=None, **_kwargs):
        with self.lock:
            self.posts.append((url, dict(data)))
        time.sleep(self.delay)
        return _Response({"access_token": f"token-{len(self.posts)}", "expires_in": 86400})

    def close(self):
        pass


def test_one_renewal_for_two_threads_and_masked_exchanges():
    session, store, seen = _TokenSession(delay=0.2), provider_state(), []
    providers = [nuonuo.SPEC.connect(dict(SETTINGS), exchange_hook=seen.append, state=store, session=session)
                 for _ in range(2)]
    got = []
    threads = [threading.Thread(target=lambda p=p: got.append(p.token())) for p in providers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(session.posts) == 1
    url, form = session.posts[0]
    assert url == "https://open.nuonuo.com/accessToken"
    assert form == {"client_id": "APPKEY", "client_secret": SECRET, "grant_type": "client_credentials"}
    assert got == ["token-1", "token-1"]
    assert len(seen) == 1 and isinstance(seen[0], Exchange) and seen[0].succeeded
    logged = json.dumps([seen[0].request, seen[0].response], ensure_ascii=False)
    assert SECRET not in logged and "token-1" not in logged


def test_renewal_before_expiry_and_never_per_call():
    now = [1_000_000.0]
    store = _state_with("old", now[0] + 3600)
    session = _TokenSession()
    provider = nuonuo.SPEC.connect(dict(SETTINGS), state=store, session=session, clock=lambda: now[0])
    assert provider.token() == "old" and provider.token() == "old" and not session.posts
    now[0] += 3600 - tokens.RENEW_MARGIN + 1          # inside the margin: renewed once
    assert provider.token() == "token-1" and provider.token() == "token-1"
    assert len(session.posts) == 1
    assert store.get(tokens.TOKEN_KEY) == ("token-1", now[0] + 86400)


def test_a_permanent_token_is_never_renewed():
    assert tokens.usable(("forever", 0), now=10 ** 12) == "forever"
    assert tokens.read_token_answer({"access_token": "t", "expires_in": 0}) == ("t", 0)


def test_token_refusals():
    assert tokens.read_token_answer({"error": "070306", "error_description": "token call limit reached"}) == \
        (None, "070306 token call limit reached")

    class Refusing(_TokenSession):
        def post(self, url, data=None, **_kwargs):
            return _Response({"error": "070306", "error_description": "token call limit reached"})

    provider = nuonuo.SPEC.connect(dict(SETTINGS), state=provider_state(), session=Refusing())
    with pytest.raises(errors.QuotaExceeded, match="50 token requests"):
        provider.token()


def test_given_access_token_is_used_as_is():
    provider = nuonuo.SPEC.connect({**SETTINGS, "access_token": lambda: "handmade"})
    assert provider.prepare("m", {}).headers["accessToken"] == "handmade"


def test_secret_text_is_refused():
    with pytest.raises(TypeError):
        nuonuo.SPEC.connect({**SETTINGS, "app_secret": SECRET})


def test_download_hosts():
    hosts = ("nntest.cn",)
    assert client.host_allowed("https://invtest.nntest.cn/a.pdf", hosts)
    assert not client.host_allowed("http://invtest.nntest.cn/a.pdf", hosts)
    assert not client.host_allowed("https://evilnntest.cn/a.pdf", hosts)
    assert not client.host_allowed("https://user:pw@invtest.nntest.cn/a.pdf", hosts)
    loopback = ("127.0.0.1", "::1", "localhost", "127.9.9.9")
    for url in ("http://127.0.0.1:8710/f.pdf", "http://[::1]:8710/f.pdf", "http://localhost/f.pdf",
                "http://127.9.9.9/f.pdf"):
        assert client.host_allowed(url, loopback, listed=True)
        assert not client.host_allowed(url, loopback)                  # not the company's own list
        assert not client.host_allowed(url, ("nntest.cn",), listed=True)
    assert not client.host_allowed("http://10.0.0.1/f.pdf", ("10.0.0.1",), listed=True)    # not loopback
    assert not client.host_allowed("http://a.localhost/f.pdf", ("localhost",), listed=True)  # no suffixes
    assert not client.host_allowed("ftp://127.0.0.1/f.pdf", loopback, listed=True)


def test_the_limiter_spaces_the_requests_of_one_app():
    now, slept = [100.0], []

    def sleep(seconds):
        slept.append(round(seconds, 3))

    limiter = ratelimit.SpacedLimiter(clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.acquire("app", 9)       # 9 a second: 7.6 a second (1.4 short of it)
    limiter.acquire("other", 9)          # another app does not wait for this one
    limiter.acquire("app", 0)            # no rate: no wait
    assert slept == [0.132, 0.263]
    now[0] += 10
    limiter.acquire("app", 9)
    assert slept == [0.132, 0.263]


def test_the_spacing_lets_a_request_arrive_75_ms_late_without_exceeding_the_rate():
    for rate in (3, 5, 10, 20, 50, 100):
        spacing = ratelimit.interval(rate)
        # the most arrivals in one second when each may come up to 75 ms after its moment
        most_in_a_second = int((1 + 0.075) / spacing) + 1
        assert most_in_a_second <= rate, rate
        assert spacing <= 1 / (rate * 0.9) or rate - 1 / spacing <= 1.4 + 1e-9, rate    # and no slower than needed


def test_a_request_woken_late_leaves_its_moment_and_takes_another():
    now, moments, slept = [0.0], [], []

    def reserve():
        moments.append((len(moments) + 1) * 0.1)
        return moments[-1] - now[0]

    def late_sleep(seconds):    # a busy CPU runs the thread 40 ms after it should wake
        slept.append(seconds)
        now[0] += seconds + 0.04

    ratelimit.wait_turn(reserve, clock=lambda: now[0], sleep=late_sleep)
    assert len(moments) == ratelimit.TRIES          # late every time: it then goes anyway

    def punctual_sleep(seconds):
        now[0] += seconds + 0.01

    moments.clear()
    now[0] = 0.0
    ratelimit.wait_turn(reserve, clock=lambda: now[0], sleep=punctual_sleep)
    assert len(moments) == 1                        # 10 ms late: within the headroom, it goes


def test_every_request_waits_for_the_given_limiter_at_the_configured_rate():
    class Recording:
        def __init__(self):
            self.calls = []

        def acquire(self, key, rate):
            self.calls.append((key, rate))

    limiter = Recording()
    provider = nuonuo.SPEC.connect({**SETTINGS, "rate_limit": "2.5"}, state=provider_state(), session=_TokenSession(),
                                   rate_limiter=limiter)
    provider.token()
    assert limiter.calls == [("APPKEY", 2.5)]
    for unset in ("", 0, 0.0, None):                   # an unset Odoo Float field is 0.0
        assert nuonuo.SPEC.connect({**SETTINGS, "rate_limit": unset}).rate_limit == nuonuo.CAPABILITIES.rate_limit
    assert nuonuo.SPEC.connect({**SETTINGS, "rate_limit": 50.0}).rate_limit == 50.0
    for wrong in ("-1", "fast", "nan", "inf"):
        with pytest.raises(ValueError, match="rate_limit"):
            nuonuo.SPEC.connect({**SETTINGS, "rate_limit": wrong})
    assert "rate_limit" in {setting.name for setting in nuonuo.SPEC.settings if not setting.required}


def test_callback_is_only_a_nudge():
    body = "operater=callback&orderno=S0001&content=%7B%22c_status%22%3A%221%22%2C%22c_fphm%22%3A%22x%22%7D"
    event = _connect().open_callback("/cb", {}, body.encode(), claim_nonce=lambda nonce: True)
    assert event.references == {"serial_no": "S0001"} and event.result is None
    assert "content" not in event.payload
    for bad in (b"operater=invoiceInvalid&orderno=S", b"operater=callback", b"\xff"):
        with pytest.raises(CallbackRefused):
            client.open_callback(bad)
    status, _headers, answer = client.callback_answer("/cb", {})
    assert status == 200 and json.loads(answer) == {"status": "0000", "message": "同步成功"}
