
"""诺诺's simulator: the generic simulator tests (test_simulators.py, which leaves 诺诺 to this module)
run against nuonuo.SPEC as they run against every other registered one, and what only 诺诺 has: its signature
vectors, the token quota, E9106, seal failure and reInvoice, the login lapse, the red invoice 诺诺
issues by itself, its files and its callbacks.

The real NuonuoClient talks to the simulator over loopback HTTP throughout.

Where the generic tests assume what 诺诺 does not do, a 诺诺 variant stands in (same name):
- issuing is asynchronous: ``requestBillingNew`` answers a serial number only, so the Seller here
  queries once after a pending answer, as the Odoo layer's queue does;
- the red invoice 诺诺 issues itself carries 诺诺's order number, not ours;
- 诺诺's callbacks are nudges (no result in them): the order is queried at once.
"""

import dataclasses
import json
import tempfile
import threading
import time
from decimal import Decimal

import pytest
import requests

from fapiao import crypto, documents, provider
from fapiao.documents import InvoiceLine
from fapiao.errors import (
    AuthenticationError,
    LoginRequired,
    NotFound,
    PlatformError,
    QuotaExceeded,
    SystemBusy,
    ValidationFailed,
)
from fapiao.providers import nuonuo
from fapiao.providers.nuonuo import sign
from fapiao.providers.nuonuo.simulator import NuonuoSimulator
from fapiao.providers.nuonuo.simulator import platform as nn
from fapiao.tests import test_simulators as generic
from fapiao.tests.test_client import make_invoice
from fapiao.tests.test_reference_callbacks import ProviderReceiver
from fapiao.tests.test_sandbox_platform import wait_for
from fapiao.tests.test_simulators import *  # noqa: F403 (the generic tests, collected here for 诺诺)
from fapiao.tests.test_simulators import SELLER, Seller, each_in_a_thread

SPECS = [nuonuo.SPEC]   # the generic tests run here for 诺诺 (test_simulators.OWN_RUN)


FAST = 500.0   # requests per second of the suite's apps (the rate tests set their own)


@pytest.fixture(params=SPECS, ids=lambda spec: spec.code)
def spec(request):
    return request.param


@pytest.fixture
def sim(spec, tmp_path):
    """The generic simulator, its apps allowed FAST requests a second (their settings say so too)."""
    with spec.simulator(tmp_path / "platform") as running:
        running.platform.rate_limit = FAST
        yield running


class Following:
    """A NuonuoClient whose ``issue`` follows a pending answer with one query (as the Odoo layer's
    queue does) and keeps what it issued, for the red-letter forms (the blue_invoice option)."""

    def __init__(self, client, invoices):
        self.client, self.invoices = client, invoices

    def __getattr__(self, name):
        return getattr(self.client, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.client.close()

    def issue(self, invoice):
        result = self.client.issue(invoice)
        if result.status == "pending" and not result.invoice_number:
            result = self.client.query([invoice.serial_no]).get(invoice.serial_no, result)
        if result.invoice_number:
            self.invoices[result.invoice_number] = invoice
        return result


class NuonuoSeller(Seller):
    """The generic Seller for 诺诺: holding its token already (the company keeps it), its provider
    :class:`Following`."""

    def __init__(self, spec, account, **options):
        invoices = {}
        options = {"blue_invoice": invoices.get, "sleep": lambda seconds: None, **options}
        super().__init__(spec, account, **options)
        self.provider = Following(self.provider, invoices)
        self.provider.token()
        self.exchanges.clear()


@pytest.fixture(autouse=True)
def nuonuo_seller(monkeypatch):
    monkeypatch.setattr(generic, "Seller", NuonuoSeller)


# --- where 诺诺 differs from the generic expectations -------------------------------------------

def test_a_logged_in_drawer_is_shown_no_qr_code(spec, sim, account, seller):
    generic.test_a_logged_in_drawer_is_shown_no_qr_code(spec, sim, account, seller)


def test_a_buyers_form_is_listed_confirmed_and_reversed(sim, account, seller):
    blue = seller.issue(make_invoice(SELLER, "SIM-BLUE", amount="200.00"))
    sim.buyer_confirm_use(blue.invoice_number)
    number = sim.buyer_apply_red_form(blue.invoice_number, "01")
    assert [(f.form_number, f.status, f.direction) for f in seller.list_red_forms("inbound")] == [
        (number, "03", "inbound")]
    assert seller.confirm_red_form(number).status == "04"
    red = seller.issue_red_invoice("SIM-RED", number)    # 诺诺 issued it on confirmation: found, not issued
    assert (red.status, red.serial_no, red.total_with_tax) == ("issued", "SIM-RED", Decimal("-226.00"))
    assert red.duplicate and red.blue_invoice_number == blue.invoice_number
    stats = sim.stats(account.key)
    assert (stats["invoices"], stats["red_invoices"], stats["red_forms"]) == (2, 1, 1)
    issued = sim.issued(account.key)
    assert [r.blue_invoice_number for r in issued] == ["", blue.invoice_number]
    assert issued[1].serial_no.startswith("HZ") and issued[1].invoice_number == red.invoice_number


def test_a_pending_result_arrives_by_callback(sim, account, seller):
    receiver = ProviderReceiver(seller.provider)
    try:
        sim.register(account.key, seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name,
                     callback_url=receiver.url)
        sim.set_faults(account.key, pending=1.0, pending_seconds=10)
        assert seller.issue(make_invoice(SELLER, "SIM-CB")).status == "pending"
        sim.advance_clock(11)
        wait_for(lambda: len(receiver.events) == 1)
        wait_for(lambda: [d["status"] for d in sim.callback_deliveries(account.key)] == ["delivered"])
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    [event] = receiver.events
    assert event.kind == provider.CALLBACK_INVOICE and event.result is None     # a nudge: query it
    assert event.references == {"serial_no": "SIM-CB"}
    issued = seller.query(["SIM-CB"])["SIM-CB"]
    assert issued.status == "issued"
    [delivery] = sim.callback_deliveries(account.key)
    assert (delivery["url"], delivery["attempts"], delivery["error"]) == (receiver.url, 1, "")
    assert delivery["references"] == {"serial_no": "SIM-CB", "invoice_number": issued.invoice_number}


# --- the wire: signature, gate ------------------------------------------------------------------------

def raw_call(sim, app_key, method, body, *, token, user_tax, senid, nonce="12345678", timestamp="1700000000",
             signature=None, secret=None):
    text = body
    signature = signature or sign.signature(secret, app_key, senid, nonce, timestamp, text)
    response = requests.post(sim.url, params={"senid": senid, "nonce": nonce, "timestamp": timestamp,
                                              "appkey": app_key}, data=text.encode("utf-8"),
                             headers={"X-Nuonuo-Sign": signature, "accessToken": token, "userTax": user_tax,
                                      "method": "nuonuo.OpeMplatform." + method,
                                      "Content-Type": "application/json; charset=UTF-8"}, timeout=5)
    assert response.status_code == 200
    return response.json()


def get_token(sim, app_key, secret):
    answer = requests.post(sim.server.token_url, data={"client_id": app_key, "client_secret": secret,
                                                       "grant_type": "client_credentials"}, timeout=5).json()
    return answer


@pytest.fixture
def vector_sim(tmp_path):
    with NuonuoSimulator(tmp_path / "vectors", timestamp_window=0) as running:   # the vectors are from 2023
        yield running


@pytest.mark.parametrize("vector", [
    ("APPKEY", "SECRET", "SENID", '{"a":1}', "7iSZiR+0g+376QEJ38xLM+3vGDs="),
    ("app", "secret", "a" * 32, '{"name":"中文"}', "4BzcKzrcoqxPis0W/W3X2ae0uIo="),
], ids=["ascii", "chinese"])
def test_both_published_signature_vectors_are_accepted(vector_sim, vector):
    app_key, secret, senid, body, signature = vector
    vector_sim.register(app_key, seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name,
                        settings={"app_secret": secret})
    token = get_token(vector_sim, app_key, secret)["access_token"]
    answer = raw_call(vector_sim, app_key, "getCertificationStatus", body, token=token,
                      user_tax=SELLER.seller_tax_id, senid=senid, signature=signature)
    assert answer["code"] == "E0000" and answer["result"]["certificationStatus"] == "1"
    wrong = raw_call(vector_sim, app_key, "getCertificationStatus", body, token=token, user_tax=SELLER.seller_tax_id,
                     senid=senid, signature=signature[:-2] + ("A=" if signature[-2] != "A" else "B="))
    assert wrong["code"] == "070601"


def test_a_wrong_signature_a_stale_time_a_foreign_token_and_tax_id_are_refused(sim, account):
    key, secret = account.key, account.settings["app_secret"]
    token = get_token(sim, key, secret)["access_token"]
    now = sign.timestamp()

    def call(**changes):
        values = {"token": token, "user_tax": SELLER.seller_tax_id, "senid": sign.new_senid(), "timestamp": now,
                  "secret": secret, **changes}
        return raw_call(sim, key, "getCreditLine", '{"queryType":"1"}', **values)["code"]

    assert call() == "E0000"
    assert call(secret="not-the-secret") == "070601"
    assert call(timestamp=str(int(now) - 3600)) == "070601"        # 诺诺 checks the clock
    assert call(token="someone-elses") == "070301"
    assert call(user_tax="91110108MA01ABCD1E") == "070401"
    other = sim.register("other", seller_tax_id="91110108MA01ABCD1E", seller_name="北京某某贸易有限公司")
    assert call(token=get_token(sim, "other", other.settings["app_secret"])["access_token"]) == "070301"
    bad_secret = get_token(sim, key, "not-the-secret")
    assert bad_secret["error"] == "070304" and "access_token" not in bad_secret


def test_a_client_with_a_wrong_secret_is_told_so(spec, sim, account):
    settings = {**account.connect_settings(spec), "app_secret": lambda: "not-the-secret"}
    with spec.connect(settings) as connected, pytest.raises(AuthenticationError):
        connected.issue(make_invoice(SELLER, "NN-WRONG"))
    assert sim.stats(account.key)["invoices"] == 0


# --- the token ------------------------------------------------------------------------------------

def test_two_workers_sharing_the_companys_state_ask_for_one_token(spec, sim, account):
    state = provider.MemoryStateStore()
    with spec.connect(account.connect_settings(spec), state=state) as first, \
            spec.connect(account.connect_settings(spec), state=state) as second:
        first.issue(make_invoice(SELLER, "NN-W1"))
        second.issue(make_invoice(SELLER, "NN-W2"))
    assert sim.stats(account.key)["token_requests"] == 1


def test_fifty_tokens_in_thirty_days_then_070306_and_the_quota_comes_back(spec, sim, account):
    for _ in range(nn.TOKEN_QUOTA_COUNT):
        assert get_token(sim, account.key, account.settings["app_secret"])["access_token"]
    with spec.connect(account.connect_settings(spec)) as connected:
        with pytest.raises(QuotaExceeded) as info:
            connected.query_quota()
        assert info.value.platform_code == "070306" and "50" in str(info.value)
        sim.advance_clock(nn.TOKEN_QUOTA_DAYS * 86400 + 1)
        assert connected.query_quota().remaining > 0
    assert sim.stats(account.key)["token_requests"] == 1


def test_a_token_expired_on_nuonuos_clock_is_renewed_once_and_the_request_sent_again(spec, sim, account):
    exchanges = []
    with spec.connect(account.connect_settings(spec), exchanges.append, state=provider.MemoryStateStore()) as client:
        client.query_quota()
        sim.advance_clock(nn.TOKEN_LIFETIME + 1)     # the client's own clock still believes in the token
        assert client.query_quota().remaining > 0
        assert client.query_quota().remaining > 0
    assert [(e.service, e.code) for e in exchanges] == [
        ("accessToken", ""), ("getCreditLine", "E0000"), ("getCreditLine", nn.TOKEN_EXPIRED), ("accessToken", ""),
        ("getCreditLine", "E0000"), ("getCreditLine", "E0000")]
    assert sim.stats(account.key)["token_requests"] == 2


def test_two_workers_meeting_an_expired_token_renew_it_once(spec, sim, account):
    state = provider.MemoryStateStore()
    clients = [spec.connect(account.connect_settings(spec), state=state) for _ in range(2)]
    clients[0].query_quota()
    sim.advance_clock(nn.TOKEN_LIFETIME + 1)
    start, outcomes = threading.Barrier(2), []

    def work(client):
        start.wait()
        outcomes.append(client.query_quota().remaining > 0)

    each_in_a_thread(work, clients)
    assert outcomes == [True, True]
    assert sim.stats(account.key)["token_requests"] == 2      # the first one, and one renewal


def test_a_given_access_token_that_expired_is_refused_clearly(spec, sim, account):
    token = get_token(sim, account.key, account.settings["app_secret"])["access_token"]
    settings = {**account.connect_settings(spec), "access_token": lambda: token}
    with spec.connect(settings) as client:
        client.query_quota()
        sim.advance_clock(nn.TOKEN_LIFETIME + 1)
        with pytest.raises(AuthenticationError) as info:
            client.query_quota()
    assert info.value.platform_code == nn.TOKEN_EXPIRED
    assert "given in the settings has expired" in str(info.value) and "设置中填写的访问令牌" in info.value.message_zh
    assert sim.stats(account.key)["token_requests"] == 1      # never renewed by the client


# --- the rate -------------------------------------------------------------------------------------

def test_many_clients_of_one_app_stay_within_its_rate(spec, sim, account):
    sim.set_rate_limit(account.key, 10)
    settings = {**account.connect_settings(spec), "rate_limit": "10"}
    state, failures = provider.MemoryStateStore(), []
    clients = [spec.connect(settings, state=state) for _ in range(5)]

    def work(client):
        try:
            for _ in range(5):
                client.query_quota()
        except Exception as error:   # reported below
            failures.append(error)

    each_in_a_thread(work, clients)
    stats = sim.stats(account.key)
    assert failures == [] and stats["requests"] == 26          # 25 calls and one token
    assert 5 <= stats["peak_rate"] <= 10 and stats["rate_limited"] == 0


def test_a_client_faster_than_its_app_is_told_nuonuo_is_busy(spec, sim, account):
    sim.set_rate_limit(account.key, 2)
    settings = {**account.connect_settings(spec), "rate_limit": "1000"}
    with spec.connect(settings) as client, pytest.raises(SystemBusy) as info:
        for _ in range(5):
            client.query_quota()                            # a token and one call fit in the second
    assert (info.value.http_status, info.value.retry_after, info.value.ambiguous) == (429, 1, False)
    stats = sim.stats(account.key)
    assert stats["rate_limited"] == 1 and stats["peak_rate"] == 3


def test_a_token_request_over_the_rate_is_busy_too(spec, sim, account):
    sim.set_rate_limit(account.key, 1)
    get_token(sim, account.key, account.settings["app_secret"])
    with spec.connect({**account.connect_settings(spec), "rate_limit": "1000"}) as client, \
            pytest.raises(SystemBusy):
        client.token()
    assert sim.stats(account.key)["token_requests"] == 1


# --- orders ---------------------------------------------------------------------------------------

def test_e9106_a_known_order_number_is_queried_never_ordered_again(spec, sim, account, seller):
    first = seller.issue(make_invoice(SELLER, "NN-E9106"))
    exchanges = []
    with spec.connect(account.connect_settings(spec), exchanges.append) as other:
        again = other.issue(make_invoice(SELLER, "NN-E9106"))
    assert (again.status, again.invoice_number, again.duplicate) == ("issued", first.invoice_number, True)
    assert [(e.service, e.code) for e in exchanges if e.service != "accessToken"] == [
        ("requestBillingNew", "E9106"), ("queryInvoiceResult", "E0000")]
    assert sim.stats(account.key)["invoices"] == 1


def test_what_nuonuo_would_refuse_is_refused_here_all_at_once_and_never_sent(sim, account, seller):
    invoice = make_invoice(SELLER, "NN-LONG")
    invoice.remark, invoice.buyer.address, invoice.buyer.phone = "备" * 201, "址" * 60, "1" * 51
    line = invoice.lines[0]
    line.unit, line.spec = "台" * 21, "型" * 41
    discounted = dataclasses.replace(line, name="*计算机外部设备*" + "打" * 90, line_type="discounted")
    discount = InvoiceLine(name="*计算机外部设备*别的", classification_code=line.classification_code,
                           amount=Decimal("-10.00"), tax_rate=line.tax_rate, tax_amount=Decimal("-1.30"),
                           amount_with_tax=Decimal("-11.30"), line_type="discount")
    # 2,002 rows: a discount with another name than its row's, and at the end one after a normal row
    invoice.lines = [discounted, discount] * 1000 + [line, dataclasses.replace(discount, name=line.name)]
    requests_before = sim.stats(account.key)["requests"]
    with pytest.raises(ValidationFailed) as info:
        seller.issue(invoice)
    fields = {error.field for error in info.value.errors}
    assert {"remark", "buyer.phone", "buyer.address", "lines[0].name", "lines[0].unit", "lines[0].spec",
            "lines[1].name", "lines[2001].lineType", "lines"} <= fields
    assert "TOO_LONG" in {error.code for error in info.value.errors}
    assert "诺诺最多 2000 行" in info.value.message_zh and "at most 200" in str(info.value)
    assert sim.stats(account.key)["requests"] == requests_before


def test_a_seal_failure_24_is_sealed_again_by_reinvoice(sim, account, seller):
    sim.set_faults(account.key, seal_failure=1.0)
    result = seller.issue(make_invoice(SELLER, "NN-SEAL"))
    assert (result.status, result.failure_code) == ("pending", "24")
    assert [e.service for e in seller.exchanges] == ["requestBillingNew", "queryInvoiceResult", "reInvoice"]
    sim.reset(account.key)
    assert seller.query(["NN-SEAL"])["NN-SEAL"].status == "issued"
    assert sim.stats(account.key)["invoices"] == 1


def test_reinvoice_is_allowed_20_times_a_day_per_order(sim, account, seller):
    sim.set_faults(account.key, seal_failure=1.0)
    seller.provider.client.issue(make_invoice(SELLER, "NN-SEAL20"))   # not queried: no reInvoice yet
    platform = sim.platform
    [order] = platform.orders(account.key)
    codes = []
    for _ in range(nn.REINVOICE_PER_DAY + 1):
        platform.store.put("order", order["serialNo"], {**order, "status": "24"}, app=account.key,
                           alt=order["orderNo"])
        answer = platform.call(account.key, "reInvoice", {"fpqqlsh": order["serialNo"], "orderno": "NN-SEAL20"})
        codes.append(json.loads(answer.body)["code"])
    assert codes == ["E0000"] * nn.REINVOICE_PER_DAY + ["E9613"]
    sim.advance_clock(86401)
    answer = platform.call(account.key, "reInvoice", {"fpqqlsh": order["serialNo"], "orderno": "NN-SEAL20"})
    assert b'"E0000"' in answer.body


def test_a_pending_order_that_fails_is_read_as_failed(sim, account, seller):
    sim.set_faults(account.key, pending=1.0, pending_failure=1.0, pending_seconds=5)
    assert seller.issue(make_invoice(SELLER, "NN-FAIL")).status == "pending"
    sim.advance_clock(6)
    failed = seller.query(["NN-FAIL"])["NN-FAIL"]
    assert (failed.status, failed.failure_code, failed.invoice_number) == ("failed", "22", "")
    assert sim.stats(account.key)["invoices"] == 0


def test_query_takes_one_to_fifty_order_numbers(sim, account, seller):
    seller.issue(make_invoice(SELLER, "NN-Q1"))
    found = seller.query([f"NN-Q{n}" for n in range(1, 61)])      # the client sends two batches
    assert list(found) == ["NN-Q1"]
    assert [e.service for e in seller.exchanges[-2:]] == ["queryInvoiceResult"] * 2


def _files(client, number, serial_no=""):
    return {kind: client.download_document(number, kind, serial_no).content for kind in ("pdf", "ofd", "xml")}


def test_invoice_files_from_the_client_that_issued_and_from_a_fresh_one(spec, sim, account):
    with spec.connect(account.connect_settings(spec)) as issuing:
        issuing.issue(make_invoice(SELLER, "NN-FILES"))
        number = issuing.query(["NN-FILES"])["NN-FILES"].invoice_number
        files = _files(issuing, number)
    assert files["pdf"].startswith(b"%PDF") and number.encode() in files["xml"] and number.encode() in files["ofd"]
    with spec.connect(account.connect_settings(spec)) as fresh:
        with pytest.raises(NotFound):
            fresh.download_document(number, "pdf")          # no serial number: no order to ask 诺诺 about
        assert _files(fresh, number, "NN-FILES") == files   # its order queried for the addresses
        with pytest.raises(NotFound):
            fresh.download_document("26350000000000000000", "pdf", "NN-NOSUCH")


def test_a_download_is_recorded_with_the_files_sm3_and_access_is_ensured_once(spec, sim, account):
    exchanges = []
    with spec.connect(account.connect_settings(spec), exchange_hook=exchanges.append) as client:
        expires_at = client.ensure_access()
        assert expires_at > time.time() + 86000 and client.ensure_access() == expires_at
        client.issue(make_invoice(SELLER, "NN-SM3"))
        number = client.query(["NN-SM3"])["NN-SM3"].invoice_number
        file = client.download_document(number, "ofd")
    assert sim.stats(account.key)["token_requests"] == 1
    download = exchanges[-1]
    assert download.service == provider.DOWNLOAD_SERVICE and download.succeeded
    assert download.request == {"invoiceNumber": number, "format": "ofd"}
    assert download.response["sm3"] == file.sm3 == crypto.sm3_hex(file.content)


def test_plain_http_files_only_from_a_listed_loopback_host(spec, sim, account):
    with spec.connect(account.connect_settings(spec)) as client:
        client.issue(make_invoice(SELLER, "NN-HTTP"))
        number = client.query(["NN-HTTP"])["NN-HTTP"].invoice_number
    for hosts in ("", "nuonuo.com", "0.0.1"):               # the default suffixes, another host, a mere suffix
        with spec.connect({**account.connect_settings(spec), "download_hosts": hosts}) as strict:
            with pytest.raises(PlatformError, match="does not allow"):
                strict.download_document(number, "pdf", "NN-HTTP")


def test_the_files_of_a_red_invoice_nuonuo_issued_itself(spec, sim, account, seller):
    blue = seller.issue(make_invoice(SELLER, "NN-FBLUE"))
    form = seller.apply_red_form(documents.RedForm("NN-FRF", blue.invoice_number, "02"))
    red = seller.issue_red_invoice("NN-FRED", form.form_number)
    assert red.serial_no == "NN-FRED" and red.invoice_number == form.red_invoice_number
    with spec.connect(account.connect_settings(spec)) as fresh:     # 诺诺's order number is not NN-FRED
        files = _files(fresh, red.invoice_number, red.serial_no)
    assert red.invoice_number.encode() in files["xml"] and b"-113.00" in files["pdf"]


# --- the drawer's login -----------------------------------------------------------------------------

def test_a_lapsed_login_stops_issuing_reading_goes_on_and_qr_codes_are_rationed(sim, account, seller):
    sim.set_faults(account.key, login_lapsed=1)
    with pytest.raises(LoginRequired):
        seller.issue(make_invoice(SELLER, "NN-LAPSE"))
    assert seller.query_quota().remaining > 0
    assert not seller.login_status().logged_in
    started = seller.login_start()
    assert started.qr_content.startswith("https://")
    again = nn.Platform.call(sim.platform, account.key, "getQrCode", {"queryType": "2"})
    assert b"30" in again.body and b'"E9999"' in again.body       # one new QR code per 30 s
    sim.scan_login_qr(account.key)
    assert seller.login_complete().logged_in
    assert seller.issue(make_invoice(SELLER, "NN-LAPSE")).status == "issued"
    stats = sim.stats(account.key)
    assert stats["faults"] == 1 and stats["failed_requests"] == 1


# --- red reversal ------------------------------------------------------------------------------------

def test_a_sellers_form_needing_no_confirmation_gets_its_red_invoice_from_nuonuo(sim, account, seller):
    blue = seller.issue(make_invoice(SELLER, "NN-BLUE", amount="200.00"))
    form = seller.apply_red_form(documents.RedForm("NN-RF", blue.invoice_number, "02"))
    assert (form.status, form.reason, form.direction) == ("01", "02", "outbound")
    assert form.red_invoice_number       # 诺诺 issued it at once
    red = seller.issue_red_invoice("NN-RED", form.form_number)
    assert (red.status, red.invoice_number, red.total_with_tax) == ("issued", form.red_invoice_number,
                                                                    Decimal("-226.00"))
    assert seller.apply_red_form(documents.RedForm("NN-RF", blue.invoice_number, "02")).form_number == \
        form.form_number                 # the same billId: read back, not applied again
    assert sim.stats(account.key)["red_invoices"] == 1


def test_a_partial_form_reverses_part_and_a_sellers_form_can_be_revoked(sim, account, seller):
    blue = seller.issue(make_invoice(SELLER, "NN-BLUE2", amount="200.00"))
    sim.buyer_confirm_use(blue.invoice_number)
    line = documents.RedFormLine(1, Decimal("-50.00"), Decimal("-6.50"), Decimal("-1"))
    form = seller.apply_red_form(documents.RedForm("NN-RF2", blue.invoice_number, "04", [line]))
    assert (form.status, form.total_amount, form.total_tax) == ("02", Decimal("-50.00"), Decimal("-6.50"))
    assert seller.revoke_red_form(form.form_number).status == "08"
    assert sim.stats(account.key)["red_invoices"] == 0


def test_inbound_forms_are_downloaded_from_the_bureau_before_they_are_listed(sim, account, seller):
    blue = seller.issue(make_invoice(SELLER, "NN-BLUE4"))
    number = sim.buyer_apply_red_form(blue.invoice_number, "01")
    assert [form.form_number for form in seller.list_red_forms("inbound")] == [number]
    assert [e.service for e in seller.exchanges[-2:]] == ["refreshInvoiceRedConfirm", "queryInvoiceRedConfirm"]
    assert seller.list_red_forms("outbound") == []          # our own forms: nothing to download
    assert sim.stats(account.key)["red_form_refreshes"] == 1


def test_an_unanswered_form_lapses_after_72_hours(spec, sim, account, seller):
    blue = seller.issue(make_invoice(SELLER, "NN-BLUE3"))
    number = sim.buyer_apply_red_form(blue.invoice_number, "01")
    sim.advance_clock(72 * 3600 + 1)
    with NuonuoSeller(spec, account).provider as later:     # a token of the new day
        assert later.query_red_forms(form_numbers=[number])[0].status == "07"


# --- the command line ---------------------------------------------------------------------------------

def test_the_command_line_says_how_to_use_it(capsys):
    from fapiao.providers.nuonuo.simulator.__main__ import main
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0 and "--seal-failure" in capsys.readouterr().out


def test_the_simulator_says_where_it_serves():
    with nuonuo.SPEC.simulator(tempfile.mkdtemp()) as simulator:
        where = simulator.service_settings()
    assert where["endpoint"] == simulator.url and where["token_endpoint"].endswith("/accessToken")
    assert where["download_hosts"] == "127.0.0.1"
