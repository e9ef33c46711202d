"""The reference provider through the contract: registry, connect, capabilities, exchanges and the
outcomes the flow acts on (login lapsed, dead serial number, not offered), against the sandbox."""

import dataclasses
import subprocess
import sys
from decimal import Decimal

import pytest
import requests

from fapiao import documents, provider
from fapiao.errors import LoginRequired, NotSupported, SerialRejected
from fapiao.providers.reference.client import PlatformClient
from fapiao.rules import PROTOCOL_LIMITS
from fapiao.tests.test_client import make_invoice
from fapiao.tests.test_keyring import SECRET, SM2_KEY, SM4_KEY, forms, reachable
from fapiao.tests.test_sandbox_platform import ROOT

FAST = (0.01, 0.01, 0.01)


def settings_of(sandbox, app, **changes):
    """The settings the Odoo layer passes: secrets as callables that open them."""
    secret, sm4_key = app.secret, app.sm4_key_hex
    return {"endpoint": sandbox.url, "app_id": app.app_id, "app_secret": lambda: secret,
            "sm4_key": lambda: sm4_key, **changes}


@pytest.fixture
def reference(sandbox, app):
    exchanges = []
    with provider.get("reference").connect(settings_of(sandbox, app), exchanges.append,
                                           retry_schedule=FAST) as connected:
        connected.exchanges = exchanges
        yield connected


# --- registry, settings, capabilities -------------------------------------------------------

def test_the_reference_provider_is_registered_with_what_it_offers():
    spec = provider.get("reference")
    assert provider.specs()["reference"] is spec
    assert (spec.code, spec.label) == ("reference", "Reference protocol (built-in sandbox)")
    capabilities = spec.capabilities
    assert capabilities.asynchronous and capabilities.red_letter_forms and capabilities.inbound_red_forms
    assert (capabilities.file_formats, capabilities.legal_original) == (("pdf", "xml"), "xml")
    assert capabilities.callbacks == provider.CALLBACKS_SIGNED
    assert capabilities.catalogue and capabilities.quota and capabilities.void and capabilities.login_session
    assert (capabilities.query_batch, capabilities.rate_limit, capabilities.limits) == (100, 50.0, PROTOCOL_LIMITS)
    assert PlatformClient.capabilities is capabilities
    settings = {setting.name: setting for setting in spec.settings}
    assert list(settings) == ["endpoint", "app_id", "app_secret", "sm4_key", "sm2_private_key", "rate_limit"]
    assert not settings["rate_limit"].required
    assert [name for name, setting in settings.items() if setting.secret] == ["app_secret", "sm4_key",
                                                                               "sm2_private_key"]
    assert not settings["sm2_private_key"].required and settings["app_secret"].required
    with pytest.raises(KeyError, match="reference"):
        provider.get("nobody")


def test_secrets_reach_connect_only_as_callables(sandbox, app):
    spec = provider.get("reference")
    with pytest.raises(TypeError, match="app_secret"):
        spec.connect(settings_of(sandbox, app, app_secret=app.secret))
    with pytest.raises(TypeError, match="unknown options"):
        spec.connect(settings_of(sandbox, app), timeout=3)


def test_nothing_reachable_from_a_connected_provider_is_a_secret():
    opened = []

    def opener(value):
        def open_it():
            opened.append(value)
            return value
        return open_it

    settings = {"endpoint": "http://127.0.0.1:9", "app_id": "app-1", "app_secret": opener(SECRET),
                "sm4_key": opener(SM4_KEY), "sm2_private_key": opener(SM2_KEY)}
    with provider.get("reference").connect(settings) as connected:
        assert opened == [SECRET, SM4_KEY, SM2_KEY]     # each opened once, at connect
        texts = [value.decode("latin-1") if isinstance(value, bytes) else value for value in reachable(connected)
                 if isinstance(value, (str, bytes))]
        assert not {secret for secret in forms() for text in texts if secret in text}


def test_a_connected_provider_issues_and_files_its_exchanges_by_reference(reference, sandbox, app):
    blue = reference.issue(make_invoice(app, "R-1", amount="200.00"))
    assert blue.status == "issued"
    reference.query(["R-1", "R-X"])
    reference.download_document(blue.invoice_number, "xml")
    form = reference.apply_red_form(documents.RedForm("RF-R1", blue.invoice_number, "02"))
    reference.query_red_forms(form_numbers=[form.form_number])
    red = reference.issue_red_invoice("RED-R1", form.form_number)
    assert red.total_with_tax == Decimal("-226.00")
    legacy = reference.issue(make_invoice(app, "R-2", invoice_type="026"))
    reference.void(legacy.invoice_number)
    seen = [(e.service, e.references) for e in reference.exchanges]
    assert seen == [
        ("invoice.issue", {"serial_no": "R-1"}),
        ("invoice.query", {"serial_nos": ["R-1", "R-X"]}),
        ("document.download", {"invoice_number": blue.invoice_number}),
        ("redform.apply", {"serial_no": "RF-R1"}),
        ("redform.query", {"form_numbers": [form.form_number]}),
        ("redinvoice.issue", {"serial_no": "RED-R1", "form_number": form.form_number}),
        ("invoice.issue", {"serial_no": "R-2"}),
        ("invoice.void", {"invoice_number": legacy.invoice_number}),
    ]
    first = reference.exchanges[0]
    assert isinstance(first, provider.Exchange) and first.succeeded and first.serial_no == "R-1"
    assert first.http_status == 200 and first.code == "0000" and first.duration_ms > 0 and first.started_at > 0
    assert set(dataclasses.asdict(first)) >= {"service", "path", "references", "attempt", "request", "http_status",
                                              "code", "message", "response", "error", "succeeded", "duration_ms",
                                              "started_at"}


def test_exchange_serial_number_can_be_learnt_afterwards():
    exchange = provider.Exchange(service="callback")
    exchange.serial_no = "S-1"
    assert exchange.references == {"serial_no": "S-1"} and exchange.serial_no == "S-1"


def test_what_a_platform_does_not_offer_is_not_supported(reference):
    # the contract's defaults, which the reference provider overrides (it offers every optional service)
    for name in ("login_status", "login_start", "login_complete", "query_quota", "test_connection"):
        with pytest.raises(NotSupported) as info:
            getattr(provider.Provider, name)(reference)
        assert info.value.message_zh.startswith("所连接的税务平台不支持此操作")


def test_forms_are_listed_with_the_point_to_continue_from(reference, sandbox, app):
    blue = reference.issue(make_invoice(app, "R-L1"))
    sandbox.buyer_apply_red_form(blue.invoice_number, "01")
    listed = reference.list_red_forms("inbound")
    assert len(listed) == 1 and isinstance(listed, documents.Listing) and listed.server_time > 0
    assert reference.list_red_forms("inbound", since=listed.server_time) == []


# --- the drawer's tax-bureau login -------------------------------------------------------------

def test_a_lapsed_login_waits_and_the_same_serial_number_resumes(reference, sandbox, app):
    sandbox.set_faults(app.app_id, login_lapsed=True)
    before = sandbox.stats(app.app_id)
    with pytest.raises(LoginRequired) as info:
        reference.issue(make_invoice(app, "R-LOGIN"))
    assert info.value.platform_code == "2007" and "电子税局" in info.value.message_zh
    assert len(reference.exchanges) == 1            # never retried: a person must log in
    after = sandbox.stats(app.app_id)
    assert (after["invoices"], after["sequences"]) == (before["invoices"], before["sequences"])
    assert after["faults"] == {"loginLapsed": 1}
    assert reference.query(["R-LOGIN"]) == {}       # reading goes on
    assert reference.query_quota().used == Decimal("0.00")
    sandbox.set_faults(app.app_id, login_lapsed=False)
    assert reference.issue(make_invoice(app, "R-LOGIN")).status == "issued"


def test_login_lapsed_is_set_per_application_through_the_admin_endpoint(wire, sandbox, app, make_invoice):
    url = sandbox.url + "/admin/faults"
    answer = requests.post(url, json={"appId": app.app_id, "loginLapsed": True}, timeout=5)
    assert answer.status_code == 200 and answer.json()["faults"]["loginLapsed"] is True
    refused = wire.call("invoice.issue", make_invoice("R-ADM"))
    assert (refused.response.status_code, refused.code, refused.signed) == (403, "2007", True)
    assert wire.call("redform.confirm", {"formNumber": "1" * 24}).code == "2007"
    assert wire.call("invoice.query", {"serialNos": ["R-ADM"]}).code == "0000"
    assert requests.post(url, json={"appId": app.app_id, "loginLapsed": 1}, timeout=5).status_code == 400
    requests.post(url, json={"appId": app.app_id, "loginLapsed": False}, timeout=5)
    assert wire.call("invoice.issue", make_invoice("R-ADM")).code == "0000"


def test_login_lapsed_is_a_command_line_option(tmp_path):
    done = subprocess.run([sys.executable, "-m", "fapiao.sandbox", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, check=True)
    assert "--login-lapsed" in done.stdout
    from fapiao.providers.reference.sandbox import Sandbox

    sandbox = Sandbox(tmp_path / "lapsed.db", login_lapsed=True)
    try:
        assert sandbox.faults.settings(sandbox.default_app).login_lapsed
    finally:
        sandbox.store.close()


# --- a serial number another kind of submission holds ----------------------------------------------

def test_a_serial_number_of_the_other_kind_is_dead(reference, sandbox, app):
    blue = reference.issue(make_invoice(app, "R-SAME"))
    form = reference.apply_red_form(documents.RedForm("R-SAME", blue.invoice_number, "01"))  # forms: their own
    with pytest.raises(SerialRejected) as info:
        reference.issue_red_invoice("R-SAME", form.form_number)
    assert info.value.platform_code == "3006"
    assert [e.service for e in reference.exchanges].count("redinvoice.issue") == 1      # never retried
    red = reference.issue_red_invoice("R-RED", form.form_number)
    with pytest.raises(SerialRejected):
        reference.issue(make_invoice(app, "R-RED"))
    assert sandbox.stats(app.app_id)["byKind"] == {"blue": 1, "red": 1} and red.status == "issued"
