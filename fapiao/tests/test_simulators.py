"""Every provider's simulator, driven only through the contract (fapiao.provider): the registry, the
spec's ``simulator`` and ``connect``, neutral documents and errors. No test here names a platform's
field, path or code: a new provider package with a simulator runs them all as it is."""

import threading
import time
from decimal import Decimal
from types import SimpleNamespace

import pytest

from fapiao import documents, provider
from fapiao.errors import LoginRequired, NotFound, NotSupported, StateConflict, TransientError
from fapiao.tests.test_client import make_invoice
from fapiao.tests.test_reference_callbacks import ProviderReceiver
from fapiao.tests.test_sandbox_platform import wait_for

# 诺诺 issues asynchronously and names its own red invoices: test_nuonuo_simulator runs these tests
# for it, with its variants where they assume otherwise
OWN_RUN = ("nuonuo",)
SIMULATED = sorted(code for code, spec in provider.specs().items() if spec.simulator is not None
                   and code not in OWN_RUN)
FAST = (0.01, 0.01, 0.01)
# the layer's tuning every provider takes (the Odoo layer passes the same two)
OPTIONS = {"retry_schedule": FAST, "read_timeout": 0.5}
SELLER = SimpleNamespace(seller_tax_id="91350100M000100Y43", seller_name="示例科技有限公司")
OTHER_SELLER = SimpleNamespace(seller_tax_id="91110108MA01ABCD1E", seller_name="北京某某贸易有限公司")


@pytest.fixture(params=SIMULATED)
def spec(request):
    return provider.get(request.param)


@pytest.fixture
def sim(spec, tmp_path):
    with spec.simulator(tmp_path / "platform") as running:
        yield running


@pytest.fixture
def account(sim):
    return sim.register("seller-1", seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name)


class Seller:
    """The provider connected to one account as the Odoo layer connects it, with the exchanges it
    reported."""

    def __init__(self, spec, account, **options):
        self.exchanges = []
        self.provider = spec.connect(account.connect_settings(spec), self.exchanges.append,
                                     **{**OPTIONS, **options})

    def __getattr__(self, name):
        return getattr(self.provider, name)


@pytest.fixture
def seller(spec, account):
    connected = Seller(spec, account)
    with connected.provider:
        yield connected


def needs(sim, *faults):
    missing = [fault for fault in faults if fault not in sim.FAULTS + sim.FAULT_OPTIONS]
    if missing:
        pytest.skip(f"{type(sim).__name__} does not simulate {', '.join(missing)}")


def each_in_a_thread(work, clients):
    """work(client) for every client at once, each in a thread; then the clients are closed."""
    threads = [threading.Thread(target=work, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for client in clients:
        client.close()


def skip_unless_simulated(call, *args):
    try:
        return call(*args)
    except NotSupported as error:
        pytest.skip(str(error))


# --- the simulator itself -------------------------------------------------------------------------

def test_there_is_at_least_the_reference_simulator():
    assert "reference" in SIMULATED


def test_a_simulator_serves_on_loopback_and_offers_the_standard_faults(sim):
    assert isinstance(sim, provider.Simulator)
    assert sim.url.startswith("http://127.0.0.1:")
    assert set(provider.STANDARD_FAULTS) <= set(sim.FAULTS)
    assert sim.accounts() == []


def test_an_account_carries_every_setting_the_provider_needs(spec, sim, account):
    required = {setting.name for setting in spec.settings if setting.required}
    assert required <= set(account.settings)
    assert all(isinstance(value, str) and value for value in account.settings.values())
    assert sim.url in account.settings.values()
    secrets = [value for setting in spec.settings if setting.secret
               for value in [account.settings.get(setting.name)] if value]
    assert secrets and not any(secret in repr(account) for secret in secrets)
    opened = account.connect_settings(spec)
    for setting in spec.settings:
        if setting.secret and setting.name in opened:
            assert callable(opened[setting.name]) and opened[setting.name]() == account.settings[setting.name]
    assert sim.accounts() == [account.key]


def test_registering_again_changes_the_account_and_keeps_its_secrets(sim, account, seller):
    again = sim.register(account.key, seller_tax_id=SELLER.seller_tax_id, seller_name="示例科技（福州）有限公司")
    assert again == account
    assert seller.issue(make_invoice(SELLER, "SIM-REG")).status == "issued"


def test_secrets_given_by_the_caller_are_the_accounts(spec, sim):
    given = sim.register("seller-given", seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name)
    secrets = {setting.name: given.settings[setting.name] for setting in spec.settings
               if setting.secret and setting.name in given.settings}
    # the same secrets handed to a fresh account on another key
    copied = sim.register("seller-copy", seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name,
                          settings=secrets)
    assert {name: copied.settings[name] for name in secrets} == secrets
    with Seller(spec, copied).provider as connected:
        assert connected.issue(make_invoice(SELLER, "SIM-GIVEN")).status == "issued"


def test_unknown_accounts_and_faults_are_refused(sim, account):
    with pytest.raises(KeyError):
        sim.stats("nobody")
    with pytest.raises(KeyError):
        sim.set_faults("nobody", busy=1.0)
    for bad in ({"earthquake": 1.0}, {"busy": 1.5}, {"busy": -0.1}, {"busy": True}, {"login_lapsed": 0.5}):
        with pytest.raises(ValueError):
            sim.set_faults(account.key, **bad)


# --- issuing and what the platform counts ------------------------------------------------------

def test_an_issued_invoice_shows_in_the_counts_and_the_list(sim, account, seller):
    before = sim.stats(account.key)
    assert set(provider.SIMULATOR_STATS) <= set(before)
    result = seller.issue(make_invoice(SELLER, "SIM-1", amount="200.00"))
    assert result.status == "issued" and result.invoice_number
    after = sim.stats(account.key)
    assert (after["invoices"], after["red_invoices"], after["pending"]) == (1, 0, 0)
    assert after["requests"] > before["requests"]
    [listed] = sim.issued(account.key)
    assert isinstance(listed, documents.InvoiceResult)
    assert (listed.serial_no, listed.invoice_number, listed.total_with_tax) == ("SIM-1", result.invoice_number,
                                                                                 Decimal("226.00"))
    assert seller.exchanges and all(isinstance(e, provider.Exchange) for e in seller.exchanges)


def test_the_same_serial_number_issues_once(sim, account, seller):
    first = seller.issue(make_invoice(SELLER, "SIM-TWICE"))
    again = seller.issue(make_invoice(SELLER, "SIM-TWICE"))
    assert again.invoice_number == first.invoice_number
    assert sim.stats(account.key)["invoices"] == 1


def test_accounts_are_counted_apart(spec, sim, account, seller):
    other = sim.register("seller-2", seller_tax_id=OTHER_SELLER.seller_tax_id, seller_name=OTHER_SELLER.seller_name)
    seller.issue(make_invoice(SELLER, "SIM-A"))
    with Seller(spec, other).provider as connected:
        connected.issue(make_invoice(OTHER_SELLER, "SIM-B"))
        connected.issue(make_invoice(OTHER_SELLER, "SIM-C"))
    assert (sim.stats(account.key)["invoices"], sim.stats(other.key)["invoices"]) == (1, 2)
    assert [r.serial_no for r in sim.issued(other.key)] == ["SIM-B", "SIM-C"]
    assert sorted(sim.accounts()) == sorted([account.key, other.key])


def test_the_state_outlives_the_simulator(spec, tmp_path):
    directory = tmp_path / "kept"
    with spec.simulator(directory) as first:
        kept = first.register("seller-k", seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name)
        with Seller(spec, kept).provider as connected:
            number = connected.issue(make_invoice(SELLER, "SIM-KEPT")).invoice_number
    with spec.simulator(directory) as second:
        assert second.accounts() == [kept.key]
        assert [r.invoice_number for r in second.issued(kept.key)] == [number]
        again = second.register(kept.key, seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name)
        with Seller(spec, again).provider as connected:
            assert connected.query(["SIM-KEPT"])["SIM-KEPT"].invoice_number == number


# --- faults ----------------------------------------------------------------------------------

def test_a_lapsed_login_raises_login_required_and_the_serial_number_resumes(sim, account, seller):
    sim.set_faults(account.key, login_lapsed=1.0)
    with pytest.raises(LoginRequired):
        seller.issue(make_invoice(SELLER, "SIM-LOGIN"))
    assert len(seller.exchanges) == 1          # never retried: a person must log in
    assert sim.stats(account.key)["invoices"] == 0
    assert seller.query(["SIM-LOGIN"]) == {}    # reading goes on
    sim.set_faults(account.key)                 # the drawer logged in again
    assert seller.issue(make_invoice(SELLER, "SIM-LOGIN")).status == "issued"
    assert sim.stats(account.key)["invoices"] == 1


def needs_login_session(spec):
    if not spec.capabilities.login_session:
        pytest.skip("the platform offers no login session")


def test_the_drawer_logs_in_again_by_qr_code_and_the_serial_number_resumes(spec, sim, account, seller):
    needs_login_session(spec)
    assert seller.login_status().logged_in
    sim.set_faults(account.key, login_lapsed=1.0)
    with pytest.raises(LoginRequired):
        seller.issue(make_invoice(SELLER, "SIM-QR"))
    lapsed = seller.login_status()
    assert isinstance(lapsed, provider.LoginStatus) and not lapsed.logged_in and lapsed.message
    started = seller.login_start()
    assert not started.logged_in and started.qr_content and started.qr_expires_at > 0
    assert not seller.login_complete().logged_in        # not scanned yet
    with pytest.raises(LoginRequired):
        seller.issue(make_invoice(SELLER, "SIM-QR"))
    skip_unless_simulated(sim.scan_login_qr, account.key)
    assert seller.login_complete().logged_in
    assert seller.login_status().logged_in and seller.login_complete().logged_in   # asking again: the same
    assert seller.issue(make_invoice(SELLER, "SIM-QR")).status == "issued"
    assert [r.serial_no for r in sim.issued(account.key)] == ["SIM-QR"]


def test_a_logged_in_drawer_is_shown_no_qr_code(spec, sim, account, seller):
    needs_login_session(spec)
    started = seller.login_start()
    assert started.logged_in and not started.qr_content
    with pytest.raises((NotFound, NotSupported)):
        sim.scan_login_qr(account.key)               # nothing shown, nothing to scan


def test_an_expired_qr_code_cannot_be_scanned(spec, sim, account, seller):
    needs_login_session(spec)
    sim.set_faults(account.key, login_lapsed=1.0)
    started = seller.login_start()
    skip_unless_simulated(sim.advance_clock, max(started.qr_expires_at - time.time(), 0) + 1)
    with pytest.raises((StateConflict, NotSupported)):
        sim.scan_login_qr(account.key)
    done = seller.login_complete()
    assert not done.logged_in and done.message
    with pytest.raises(LoginRequired):
        seller.issue(make_invoice(SELLER, "SIM-QR-LATE"))
    with pytest.raises(KeyError):
        sim.scan_login_qr("nobody")


def test_busy_is_transient_and_nothing_is_done(sim, account, seller):
    sim.set_faults(account.key, busy=1.0)
    with pytest.raises(TransientError) as info:
        seller.issue(make_invoice(SELLER, "SIM-BUSY"))
    assert not info.value.ambiguous
    stats = sim.stats(account.key)
    assert stats["invoices"] == 0 and stats["faults"] >= 1
    sim.reset(account.key)
    assert seller.issue(make_invoice(SELLER, "SIM-BUSY")).status == "issued"


@pytest.mark.parametrize("fault", ["drop", "timeout", "malformed"])
def test_an_answer_lost_after_the_platform_acted_is_ambiguous_and_never_issues_twice(sim, account, seller, fault):
    sim.set_faults(account.key, **{fault: 1.0})
    with pytest.raises(TransientError) as info:
        seller.issue(make_invoice(SELLER, f"SIM-{fault}"))
    assert info.value.ambiguous
    assert sim.stats(account.key)["invoices"] == 1      # the platform acted
    sim.reset()
    assert seller.query([f"SIM-{fault}"])[f"SIM-{fault}"].status == "issued"
    seller.issue(make_invoice(SELLER, f"SIM-{fault}"))
    assert sim.stats(account.key)["invoices"] == 1


def test_slow_answers_late_but_answers(sim, account, seller):
    needs(sim, "slow_seconds")
    sim.set_faults(account.key, slow=1.0, slow_seconds=0.2)
    assert seller.issue(make_invoice(SELLER, "SIM-SLOW")).status == "issued"
    assert seller.exchanges[-1].duration_ms >= 200


def test_pending_issues_resolve_later_by_query(spec, sim, account, seller):
    if not spec.capabilities.asynchronous:
        pytest.skip("the platform always answers at once")
    needs(sim, "pending_seconds")
    sim.set_faults(account.key, pending=1.0, pending_seconds=60)
    result = seller.issue(make_invoice(SELLER, "SIM-PENDING"))
    assert result.status == "pending" and not result.invoice_number
    assert (sim.stats(account.key)["pending"], sim.stats(account.key)["invoices"]) == (1, 0)
    skip_unless_simulated(sim.advance_clock, 61)
    resolved = seller.query(["SIM-PENDING"])["SIM-PENDING"]
    assert resolved.status == "issued" and resolved.invoice_number
    assert (sim.stats(account.key)["pending"], sim.stats(account.key)["invoices"]) == (0, 1)


def test_set_faults_clears_what_it_does_not_name(sim, account, seller):
    sim.set_faults(account.key, busy=1.0)
    sim.set_faults(account.key, slow=0.0)
    assert seller.issue(make_invoice(SELLER, "SIM-CLEARED")).status == "issued"


# --- the account's rate -----------------------------------------------------------------------------

def test_a_client_faster_than_its_accounts_rate_is_refused_for_a_moment_and_counted(spec, sim, account):
    skip_unless_simulated(sim.set_rate_limit, account.key, 2)
    told_otherwise = {**account.connect_settings(spec), "rate_limit": "1000"}
    with spec.connect(told_otherwise, **{**OPTIONS, "retry_schedule": ()}) as client, \
            pytest.raises(TransientError) as info:
        for _ in range(5):
            client.query(["SIM-RATE"])
    assert not info.value.ambiguous and info.value.retry_after
    stats = sim.stats(account.key)
    assert (stats["peak_rate"], stats["rate_limited"], stats["invoices"]) == (3, 1, 0)


def test_latency_delays_every_answer_without_holding_up_the_others(spec, sim, account, seller):
    issued = seller.issue(make_invoice(SELLER, "SIM-LATENCY"))
    skip_unless_simulated(sim.set_latency, 0.3)
    state, exchanges = provider.MemoryStateStore(), []
    clients = [spec.connect(account.connect_settings(spec), exchanges.append, state=state,
                            **{**OPTIONS, "read_timeout": 5}) for _ in range(10)]
    # a file and, where the platform wants one, a token: every answer waits
    clients[0].download_document(issued.invoice_number, "pdf", serial_no="SIM-LATENCY")
    started = time.monotonic()
    each_in_a_thread(lambda client: client.query(["SIM-LATENCY"]), clients)
    took = time.monotonic() - started
    assert 0.3 <= took < 1.5, took                        # ten at once: not one after the other (3 s)
    assert len(exchanges) >= 11 and all(exchange.duration_ms >= 300 for exchange in exchanges)
    sim.set_latency(0)
    assert seller.query(["SIM-LATENCY"])["SIM-LATENCY"].invoice_number == issued.invoice_number
    assert seller.exchanges[-1].duration_ms < 300
    with pytest.raises(ValueError):
        sim.set_latency(-1)


# --- red reversal with the buyer --------------------------------------------------------------------

def test_a_buyers_form_is_listed_confirmed_and_reversed(spec, sim, account, seller):
    if not (spec.capabilities.red_letter_forms and spec.capabilities.inbound_red_forms):
        pytest.skip("no inbound red-letter forms")
    blue = seller.issue(make_invoice(SELLER, "SIM-BLUE", amount="200.00"))
    skip_unless_simulated(sim.buyer_confirm_use, blue.invoice_number)
    number = sim.buyer_apply_red_form(blue.invoice_number, "01")
    listed = seller.list_red_forms("inbound")
    assert [(f.form_number, f.status, f.direction) for f in listed] == [(number, "03", "inbound")]
    assert sim.stats(account.key)["red_forms"] == 1
    assert seller.confirm_red_form(number).status == "04"
    red = seller.issue_red_invoice("SIM-RED", number)
    assert red.status == "issued" and red.total_with_tax == Decimal("-226.00")
    stats = sim.stats(account.key)
    assert (stats["invoices"], stats["red_invoices"], stats["red_forms"]) == (2, 1, 1)
    assert [(r.serial_no, r.blue_invoice_number) for r in sim.issued(account.key)] == [
        ("SIM-BLUE", ""), ("SIM-RED", blue.invoice_number)]


@pytest.mark.parametrize("answer", [(True, "04"), (False, "05")], ids=["confirmed", "rejected"])
def test_the_buyer_answers_a_sellers_form(spec, sim, seller, answer):
    accept, state = answer
    if not spec.capabilities.red_letter_forms:
        pytest.skip("no red-letter forms")
    blue = seller.issue(make_invoice(SELLER, "SIM-BLUE-OUT"))
    skip_unless_simulated(sim.buyer_confirm_use, blue.invoice_number)
    form = seller.apply_red_form(documents.RedForm("SIM-RF", blue.invoice_number, "01"))
    assert form.status == "02"        # the buyer confirmed its use: the buyer must answer
    (sim.buyer_confirm if accept else sim.buyer_reject)(form.form_number)
    assert seller.query_red_forms(form_numbers=[form.form_number])[0].status == state
    with pytest.raises(StateConflict):
        sim.buyer_confirm(form.form_number)   # answered already


def test_buyer_actions_on_what_does_not_exist_are_not_found(sim, account):
    for act in (sim.buyer_confirm_use, sim.buyer_apply_red_form, sim.buyer_confirm, sim.buyer_reject):
        with pytest.raises((NotFound, NotSupported)):
            act("00000000000000000000")


# --- callbacks ------------------------------------------------------------------------------------

def test_a_pending_result_arrives_by_callback(spec, sim, account, seller):
    if spec.capabilities.callbacks == provider.CALLBACKS_NONE or not spec.capabilities.asynchronous:
        pytest.skip("no callbacks, or nothing pending")
    receiver = ProviderReceiver(seller.provider)
    try:
        sim.register(account.key, seller_tax_id=SELLER.seller_tax_id, seller_name=SELLER.seller_name,
                     callback_url=receiver.url)
        sim.set_faults(account.key, pending=1.0, pending_seconds=10)
        assert seller.issue(make_invoice(SELLER, "SIM-CB")).status == "pending"
        skip_unless_simulated(sim.advance_clock, 11)
        wait_for(lambda: len(receiver.events) == 1)
        wait_for(lambda: [d["status"] for d in sim.callback_deliveries(account.key)] == ["delivered"])
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
    [event] = receiver.events
    assert event.kind == provider.CALLBACK_INVOICE and event.result.serial_no == "SIM-CB"
    assert event.result.status == "issued"
    [delivery] = sim.callback_deliveries(account.key)
    assert delivery["url"] == receiver.url and delivery["attempts"] == 1 and delivery["error"] == ""
    assert delivery["references"]["serial_no"] == "SIM-CB"
    assert delivery["references"]["invoice_number"] == event.result.invoice_number
