"""The platform client against the sandbox platform on a real loopback port.

No patching: failures come from the sandbox's fault injection, and forged
answers from a small impostor HTTP server.
"""

import http.server
import json
import threading
from decimal import Decimal

import pytest

from fapiao.documents import Invoice, InvoiceLine, Party, RedForm, RedFormLine
from fapiao.errors import (
    AuthenticationError,
    ParameterError,
    ResponseSignatureError,
    RetriesExhausted,
    StateConflict,
    TransportError,
    VoidNotAllowed,
)
from fapiao.providers.reference import protocol
from fapiao.providers.reference.client import ClientConfig, PlatformClient

FAST_RETRIES = (0.01, 0.01, 0.01)


def make_invoice(app, serial_no, amount="100.00", rate="0.13", invoice_type="02"):
    amount = Decimal(amount)
    rate = Decimal(rate)
    tax = (amount * rate).quantize(Decimal("0.01"))
    line = InvoiceLine(
        name="*计算机外部设备*激光打印机", classification_code="1090511030000000000",
        amount=amount, tax_rate=rate, tax_amount=tax, amount_with_tax=amount + tax,
        quantity=Decimal("1"), unit_price=amount, unit="台", spec="LP-100",
    )
    return Invoice(
        serial_no=serial_no, invoice_type=invoice_type,
        seller=Party(app.seller_name, app.seller_tax_id),
        buyer=Party("上海某某贸易有限公司", "91310000MA1FL0XL39", "上海市浦东新区 021-12345678"),
        lines=[line], total_amount=amount, total_tax=tax, total_with_tax=amount + tax, issuer="王会计",
    )


def client_for(sandbox, app, **overrides):
    config = ClientConfig(sandbox.url, app.app_id, app.secret, app.sm4_key_hex,
                          retry_schedule=overrides.pop("retry_schedule", FAST_RETRIES), **overrides)
    exchanges = []
    client = PlatformClient(config, exchange_hook=exchanges.append)
    client.exchanges = exchanges
    return client


@pytest.fixture
def client(sandbox, app):
    with client_for(sandbox, app) as client:
        yield client


def test_issue_returns_a_20_digit_number_and_the_qr_payload(client, app):
    result = client.issue(make_invoice(app, "C-0001"))
    assert result.status == "issued"
    assert len(result.invoice_number) == 20 and result.invoice_number.isdigit()
    assert result.qr_payload.startswith(f"01,32,,{result.invoice_number},113.00,")
    assert not result.duplicate
    assert [e.code for e in client.exchanges] == ["0000"]


def test_issuing_the_same_serial_number_twice_issues_once(client, sandbox, app):
    first = client.issue(make_invoice(app, "C-0002"))
    again = client.issue(make_invoice(app, "C-0002"))
    assert again.duplicate and again.invoice_number == first.invoice_number
    assert sandbox.stats(app.app_id)["invoices"] == 1


def test_parameter_error_lists_fields_and_is_never_retried(client, sandbox, app):
    invoice = make_invoice(app, "C-0003")
    invoice.lines[0].tax_amount = Decimal("20.00")
    invoice.buyer.tax_id = "91310000MA1FL0XL3X"
    with pytest.raises(ParameterError) as info:
        client.issue(invoice)
    fields = {e.field for e in info.value.errors}
    assert {"lines[0].taxAmount", "buyer.taxId"} <= fields
    assert len(client.exchanges) == 1  # no retry
    assert sandbox.stats(app.app_id)["invoices"] == 0


@pytest.mark.parametrize(("change", "code"), [
    ({"app_id": "nobody"}, "2001"),
    ({"secret": "wrong-secret"}, "2003"),
    ({"sm4_key": "00112233445566778899aabbccddeeff"}, "2003"),
])
def test_wrong_credentials_raise_authentication_errors_without_retry(sandbox, app, change, code):
    config = dict(base_url=sandbox.url, app_id=app.app_id, secret=app.secret, sm4_key=app.sm4_key_hex,
                  retry_schedule=FAST_RETRIES)
    config.update(change)
    exchanges = []
    with PlatformClient(ClientConfig(**config), exchange_hook=exchanges.append) as client:
        with pytest.raises(AuthenticationError) as info:
            client.issue(make_invoice(app, "C-AUTH"))
    assert info.value.platform_code in (code, "1003")
    assert len(exchanges) == 1
    assert sandbox.stats(app.app_id)["invoices"] == 0
    for secret in (app.secret, app.sm4_key_hex):
        assert secret not in str(info.value)


def test_busy_is_retried_after_the_hint_then_given_up(sandbox, app):
    sandbox.set_faults(app.app_id, busy=1.0, retry_after=0)
    waits = []
    config = ClientConfig(sandbox.url, app.app_id, app.secret, app.sm4_key_hex, retry_schedule=(0.5, 1, 2))
    with PlatformClient(config, sleep=waits.append) as client:
        with pytest.raises(RetriesExhausted) as info:
            client.issue(make_invoice(app, "C-BUSY"))
    assert waits == [0.5, 1, 2]  # the configured growing waits
    assert not info.value.ambiguous  # busy: nothing was processed
    assert sandbox.stats(app.app_id)["invoices"] == 0


def test_retry_after_hint_longer_than_the_schedule_is_honoured(sandbox, app):
    sandbox.set_faults(app.app_id, busy=1.0, retry_after=7)
    waits = []
    config = ClientConfig(sandbox.url, app.app_id, app.secret, app.sm4_key_hex, retry_schedule=(1, 30))
    with PlatformClient(config, sleep=waits.append) as client, pytest.raises(RetriesExhausted):
        client.issue(make_invoice(app, "C-HINT"))
    assert waits == [7, 30]


def test_timeout_after_accept_then_same_serial_gives_the_original_invoice(sandbox, app):
    sandbox.set_faults(app.app_id, timeout=1.0, timeout_seconds=1.0)
    with client_for(sandbox, app, read_timeout=0.2) as client:
        with pytest.raises(RetriesExhausted) as info:
            client.issue(make_invoice(app, "C-TIMEOUT"))
        assert info.value.ambiguous
        # every attempt after the first was a query: the invoice was never sent twice
        services = [e.service for e in client.exchanges]
        assert services.count("invoice.issue") == 1
    assert sandbox.stats(app.app_id)["invoices"] == 1
    sandbox.set_faults(app.app_id, timeout=0.0)
    with client_for(sandbox, app) as client:
        result = client.issue(make_invoice(app, "C-TIMEOUT"))
    assert result.status == "issued" and result.duplicate
    assert sandbox.stats(app.app_id)["invoices"] == 1


def test_malformed_answer_is_an_unknown_outcome_resolved_by_query(sandbox, app):
    sandbox.set_faults(app.app_id, malformed=1.0)
    with client_for(sandbox, app) as client:
        with pytest.raises(RetriesExhausted) as info:
            client.issue(make_invoice(app, "C-MALFORMED"))
    assert info.value.ambiguous and isinstance(info.value.__cause__, TransportError)
    sandbox.set_faults(app.app_id, malformed=0.0)
    with client_for(sandbox, app) as client:
        assert client.query(["C-MALFORMED"])["C-MALFORMED"].status == "issued"


def test_dropped_connection_then_recovery_issues_once(sandbox, app):
    sandbox.set_faults(app.app_id, drop=1.0)
    with client_for(sandbox, app) as client, pytest.raises(RetriesExhausted):
        client.issue(make_invoice(app, "C-DROP"))
    assert sandbox.stats(app.app_id)["invoices"] == 0  # dropped before processing
    sandbox.set_faults(app.app_id, drop=0.0)
    with client_for(sandbox, app) as client:
        result = client.issue(make_invoice(app, "C-DROP"))
    assert result.status == "issued" and not result.duplicate


def test_pending_submission_is_resolved_by_query(sandbox, app):
    sandbox.set_faults(app.app_id, pending_rate=1.0, pending_seconds=60)
    with client_for(sandbox, app) as client:
        result = client.issue(make_invoice(app, "C-PENDING"))
        assert result.status == "pending" and not result.invoice_number
        sandbox.advance_clock(61)
        resolved = client.query(["C-PENDING", "C-UNKNOWN"])
    assert set(resolved) == {"C-PENDING"}
    assert resolved["C-PENDING"].status == "issued" and len(resolved["C-PENDING"].invoice_number) == 20


def test_query_splits_more_than_100_serial_numbers_into_batches(client, app):
    serials = [f"C-BATCH-{i:03d}" for i in range(150)]
    for serial in serials[:3]:
        client.issue(make_invoice(app, serial))
    client.exchanges.clear()
    results = client.query(serials)
    assert set(results) == set(serials[:3])
    assert [e.service for e in client.exchanges] == ["invoice.query", "invoice.query"]


def test_void_is_refused_for_fully_digitalised_invoices(client, app):
    result = client.issue(make_invoice(app, "C-VOID"))
    with pytest.raises(VoidNotAllowed) as info:
        client.void(result.invoice_number)
    assert "red" in str(info.value) and "红字" in info.value.message_zh


def test_legacy_invoice_can_be_voided_once(client, app):
    result = client.issue(make_invoice(app, "C-LEGACY", invoice_type="026"))
    assert client.void(result.invoice_number).status == "void"
    with pytest.raises(StateConflict):
        client.void(result.invoice_number)


def test_red_reversal_full_cycle(client, sandbox, app):
    blue = client.issue(make_invoice(app, "C-BLUE", amount="200.00"))
    form = client.apply_red_form(RedForm("C-RF-1", blue.invoice_number, "02", lines=[
        RedFormLine(1, Decimal("-50.00"), Decimal("-6.50"), Decimal("-0.25"))]))
    assert form.status == "01" and form.direction == "outbound"
    red = client.issue_red_invoice("C-RED-1", form.form_number)
    assert red.status == "issued" and red.total_with_tax == Decimal("-56.50")
    assert red.blue_invoice_number == blue.invoice_number
    assert client.query_red_forms(form_numbers=[form.form_number])[0].red_invoice_number == red.invoice_number
    # a second red invoice for the same form is refused; the same serial is answered as before
    with pytest.raises(StateConflict):
        client.issue_red_invoice("C-RED-2", form.form_number)
    assert client.issue_red_invoice("C-RED-1", form.form_number).duplicate


def test_inbound_form_confirmed_by_the_seller(client, sandbox, app):
    blue = client.issue(make_invoice(app, "C-BLUE-IN"))
    sandbox.buyer_confirm_use(blue.invoice_number)
    inbound = sandbox.buyer_apply_red_form(blue.invoice_number, "04", app_id=app.app_id)
    listed = client.list_red_forms("inbound")
    number = inbound["formNumber"] if isinstance(inbound, dict) else inbound.form_number
    assert [f.form_number for f in listed] == [number] and listed[0].status == "03"
    assert client.confirm_red_form(number).status == "04"
    # confirming again: already in the state asked for is success, not an error
    assert client.confirm_red_form(number).status == "04"


def test_catalogue_full_download_has_every_code(client):
    entries, server_time = client.download_catalogue()
    assert len(entries) == 4236 and server_time > 0
    assert sum(1 for e in entries if e.is_summary) == 678


def test_quota_and_documents(client, app):
    before = client.query_quota()
    result = client.issue(make_invoice(app, "C-DOC", amount="1000.00"))
    after = client.query_quota()
    assert after.used - before.used == Decimal("1000.00")
    assert after.remaining == after.total - after.used
    pdf = client.download_document(result.invoice_number, "pdf")
    xml = client.download_document(result.invoice_number, "xml")
    assert pdf.content.startswith(b"%PDF") and pdf.file_name.endswith(".pdf")
    assert result.invoice_number.encode() in xml.content


def test_exchanges_are_recorded_without_secrets(client, app):
    client.issue(make_invoice(app, "C-LOG"))
    exchange = client.exchanges[-1]
    assert exchange.service == "invoice.issue" and exchange.serial_no == "C-LOG"
    assert exchange.request["serialNo"] == "C-LOG" and exchange.response["status"] == "issued"
    assert exchange.duration_ms > 0
    text = json.dumps([e.__dict__ for e in client.exchanges], default=str)
    assert app.secret not in text and app.sm4_key_hex not in text


# --- answers that must not be believed -------------------------------------------------

class _Impostor(http.server.BaseHTTPRequestHandler):
    """Answers 'issued' signed with the wrong secret, or not signed at all."""

    mode = "wrong-signature"

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        status, body = protocol.response_body(bytes.fromhex("0123456789abcdeffedcba9876543210"), "SUCCESS",
                                              {"serialNo": "C-FORGED", "status": "issued",
                                               "invoiceNumber": "26350000000000000001"})
        headers = {"Content-Type": "application/json"}
        if self.mode == "wrong-signature":
            headers = protocol.response_headers(b"not-the-secret", status, self.path,
                                                self.headers["X-Nonce"], body)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("mode", ["wrong-signature", "unsigned"])
def test_forged_or_unsigned_success_is_never_believed(app, mode):
    handler = type("Impostor", (_Impostor,), {"mode": mode})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        config = ClientConfig(f"http://127.0.0.1:{server.server_port}", app.app_id, app.secret,
                              app.sm4_key_hex, retry_schedule=())
        expected = (ResponseSignatureError, RetriesExhausted)
        with PlatformClient(config) as client, pytest.raises(expected) as info:
            client.issue(make_invoice(app, "C-FORGED"))
        cause = info.value if isinstance(info.value, ResponseSignatureError) else info.value.__cause__
        assert isinstance(cause, ResponseSignatureError)
    finally:
        server.shutdown()
        server.server_close()


# --- idempotency under faults ------------------------------------------------------------

def test_1000_invoices_under_20_percent_faults_end_as_exactly_1000(sandbox, app):
    sandbox.set_faults(app.app_id, busy=0.04, retry_after=0, drop=0.04, timeout=0.04, timeout_seconds=0.4,
                       malformed=0.04, slow=0.04, slow_seconds=0.02, seed=20261121)
    issued = {}
    with client_for(sandbox, app, read_timeout=0.15, retry_schedule=(0.001,) * 4) as client:
        for index in range(1000):
            invoice = make_invoice(app, f"SOAK-{index:04d}", amount=f"{100 + index}.00")
            for _round in range(20):  # what the queue does: come back later with the same serial
                try:
                    issued[invoice.serial_no] = client.issue(invoice)
                    break
                except RetriesExhausted:
                    continue
        faulty = sum(1 for e in client.exchanges if e.error)
    assert len(issued) == 1000
    numbers = [r.invoice_number for r in issued.values()]
    assert len(set(numbers)) == 1000 and all(len(n) == 20 for n in numbers)
    assert faulty > 100  # the faults really happened
    sandbox.set_faults(app.app_id, busy=0.0, drop=0.0, timeout=0.0, malformed=0.0, slow=0.0)
    stats = sandbox.stats(app.app_id)
    assert stats["invoices"] == 1000 and stats["distinctSerials"] == 1000 and stats["duplicateNumbers"] == 0
    with client_for(sandbox, app) as client:
        platform = client.query(list(issued))
    assert {s: r.invoice_number for s, r in platform.items()} == \
        {s: r.invoice_number for s, r in issued.items()}
