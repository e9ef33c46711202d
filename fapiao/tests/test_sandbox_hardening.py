"""Issue 11 (integrity) on the sandbox, over real HTTP: integers beyond 64 bits and text
UTF-8 cannot carry, requests the HTTP layer cannot read (raw sockets), red forms on
invoices with discount lines, the buyer on every invoice result, and printed fields."""

import base64
import http.client
import json
import socket
import sqlite3
import time
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
import requests

from fapiao import crypto, rules
from fapiao.documents import Invoice, InvoiceResult
from fapiao.providers.reference import protocol
from fapiao.providers.reference.sandbox import Sandbox
from fapiao.providers.reference.sandbox.__main__ import parser
from fapiao.providers.reference.sandbox.server import MAX_BODY, READ_TIMEOUT
from fapiao.providers.reference.wire import from_wire
from fapiao.tests.conftest import BUYER_NAME, BUYER_TAX_ID, COMPUTER_CODE
from fapiao.tests.test_sandbox_platform import receiver, wait_for  # noqa: F401  (a fixture)

INT64_OVER = 2**63
INT64_UNDER = -(2**63) - 1


def paths(answer, code=None):
    return [error["field"] for error in answer.errors if code is None or error["code"] == code]


# --- 1. integers beyond 64 bits, text UTF-8 cannot carry ------------------------------------------

def test_line_number_beyond_64_bits_is_a_parameter_error(wire, sandbox, app, make_invoice):
    payload = make_invoice("BIG-1")
    payload["lines"][0]["lineNo"] = INT64_OVER
    answer = wire.call("invoice.issue", payload)
    assert (answer.code, answer.response.status_code, answer.signed) == ("1001", 400, True)
    assert answer.errors == [{
        "field": "lines[0].lineNo", "code": "INTEGER_RANGE",
        "message": "9223372036854775808 is outside the 64-bit integer range "
                   "(-9223372036854775808 to 9223372036854775807)",
        "messageZh": "9223372036854775808 超出 64 位整数范围（-9223372036854775808 至 9223372036854775807）"}]
    stats = sandbox.stats(app.app_id)
    assert stats["invoices"] == 0 and stats["sequences"] == {}
    # The largest 64-bit line number is a number like any other: read, then refused as a line number
    # out of sequence (the only line is line 1; issue 13 made the platform check it).
    payload["lines"][0]["lineNo"] = INT64_OVER - 1
    assert paths(wire.call("invoice.issue", payload), "LINE_NO_SEQUENCE") == ["lines[0].lineNo"]


BLUE_NUMBER = "26351000000000000001"


@pytest.mark.parametrize(("service", "payload", "field"), [
    ("invoice.issue", {"totalAmount": 10**40}, "totalAmount"),
    ("invoice.query", {"serialNos": ["A", INT64_OVER]}, "serialNos[1]"),
    ("invoice.void", {"invoiceNumber": INT64_UNDER}, "invoiceNumber"),
    ("redform.apply", {"serialNo": "RF-1", "blueInvoiceNumber": BLUE_NUMBER, "reason": "01",
                       "lines": [{"blueLineNo": INT64_OVER, "amount": "-1.00", "taxAmount": "-0.13"}]},
     "lines[0].blueLineNo"),
    ("redform.query", {"formNumbers": ["1"], "since": INT64_OVER}, "since"),
    ("redform.list", {"direction": "outbound", "since": INT64_OVER}, "since"),
    ("redform.confirm", {"formNumber": "1", "extra": {"deep": [[INT64_OVER]]}}, "extra.deep[0][0]"),
    ("redform.reject", {"formNumber": "1", "reason": INT64_UNDER}, "reason"),
    ("redform.revoke", {"formNumber": INT64_OVER}, "formNumber"),
    ("redinvoice.issue", {"serialNo": "R-1", "formNumber": "1", "n": INT64_OVER}, "n"),
    ("catalogue.download", {"since": INT64_OVER}, "since"),
    ("catalogue.download", {"page": 10**30}, "page"),
    ("quota.query", {"anything": INT64_UNDER}, "anything"),
    ("document.download", {"invoiceNumber": BLUE_NUMBER, "format": "pdf", "page": INT64_OVER}, "page"),
])
def test_every_service_refuses_integers_beyond_64_bits(wire, make_invoice, service, payload, field):
    if service == "invoice.issue":
        payload = {**make_invoice("BIG-2"), **payload}
    answer = wire.call(service, payload)
    assert (answer.code, answer.response.status_code) == ("1001", 400)
    assert paths(answer) == [field] and answer.errors[0]["code"] == "INTEGER_RANGE"


def test_every_integer_out_of_range_is_listed_even_thousands_of_digits_long(wire, make_invoice):
    payload = make_invoice("BIG-3", lines=2)
    payload["lines"][0]["lineNo"] = INT64_OVER
    payload["lines"][1]["quantity"] = 10**30
    payload["totalAmount"] = "BIGNUMBER"
    payload["buyer"]["extra"] = [INT64_UNDER]
    body = seal_text(wire.app, json.dumps(payload).replace('"BIGNUMBER"', "9" * 5000))
    answer = wire.call("invoice.issue", body=body)
    assert answer.code == "1001"
    assert paths(answer, "INTEGER_RANGE") == ["buyer.extra[0]", "lines[0].lineNo", "lines[1].quantity",
                                              "totalAmount"]
    assert "5000 digits" in answer.errors[-1]["message"]



@pytest.mark.parametrize(("route", "body"), [
    ("/admin/clock", {"advanceSeconds": INT64_OVER}),
    ("/admin/clock", {"advanceSeconds": 2**62}),               # 64 bits, but past the year 9999
    ("/admin/clock", {"advanceSeconds": 1e300}),
    ("/admin/faults", {"appId": "sandbox-demo", "timeoutSeconds": 1e30}),
    ("/admin/faults", {"appId": "sandbox-demo", "pendingSeconds": 2**62}),
    ("/admin/faults", {"appId": "sandbox-demo", "retryAfter": 10**30}),
    ("/admin/faults", {"appId": "sandbox-demo", "seed": INT64_UNDER}),
    ("/admin/apps", {"appId": "sandbox-demo", "quota": "1e30"}),
    ("/admin/red-forms/buyer-apply", {"blueInvoiceNumber": BLUE_NUMBER, "lines": [{"blueLineNo": INT64_OVER}]}),
])
def test_admin_numbers_the_platform_cannot_hold_are_refused(wire, sandbox, make_invoice, route, body):
    answer = requests.post(sandbox.url + route, json=body, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"]
    # Nothing was changed: the platform issues, dates and counts as before.
    assert sandbox.clock_state()["offsetSeconds"] == 0
    assert wire.ok("invoice.issue", make_invoice("ADM-1"))["status"] == "issued"
    assert wire.ok("quota.query")["total"] == "10000000.00"
    sandbox.set_faults(sandbox.default_app.app_id, pending_rate=1.0)
    assert wire.ok("invoice.issue", make_invoice("ADM-2"))["status"] == "pending"


def seal_text(app, plaintext):
    """A request body carrying ``plaintext`` (any JSON text) SM4-encrypted, as protocol.seal
    would seal a payload it could serialise itself."""
    data = crypto.sm4_encrypt(bytes.fromhex(app.sm4_key_hex), plaintext.encode(), mode="cbc")
    return json.dumps({"encryption": "SM4-CBC", "data": base64.b64encode(data).decode()}).encode()


def test_lone_surrogates_are_a_parameter_error_not_a_crash(wire, sandbox, app, make_invoice):
    payload = make_invoice("SUR-1")
    payload["buyer"]["name"] = "某某\ud800公司"
    payload["remark"] = "\udfff"
    payload["\udc00key"] = "x"
    # json.dumps escapes the surrogates (\ud800): valid JSON, not valid Unicode.
    answer = wire.call("invoice.issue", body=seal_text(app, json.dumps(payload)))
    assert (answer.code, answer.signed) == ("1001", True)
    assert [(e["field"], e["code"]) for e in answer.errors] == [
        ("buyer.name", "TEXT_ENCODING"), ("remark", "TEXT_ENCODING"), ("\\udc00key", "TEXT_ENCODING")]
    assert "U+D800" in answer.errors[0]["message"]
    assert sandbox.stats(app.app_id)["invoices"] == 0


# --- 2. requests the HTTP layer cannot read -------------------------------------------------------

class Raw:
    """A raw TCP connection to the sandbox, for what no HTTP library sends."""

    def __init__(self, sandbox, timeout=20):
        self.sock = socket.create_connection((sandbox.host, sandbox.port), timeout=timeout)

    def send(self, data):
        self.sock.sendall(data)
        return self

    def answer(self, method="POST"):
        """The next HTTP answer: (status, headers, JSON body)."""
        response = http.client.HTTPResponse(self.sock, method=method)
        response.begin()
        body = response.read()
        return response.status, response.headers, json.loads(body)

    def closed(self):
        """True when the server closed the connection with nothing more to say."""
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(sandbox):
    opened = []

    def connect(timeout=20):
        opened.append(Raw(sandbox, timeout))
        return opened[-1]

    yield connect
    for connection in opened:
        connection.close()


def signed_head(app, path, body, content_length=True, extra=()):
    """The request line and headers of a correctly signed request for ``body``."""
    headers = protocol.request_headers(app.app_id, app.secret, path, body)
    if content_length is True:
        content_length = len(body)
    if content_length is not None:
        headers["Content-Length"] = str(content_length)
    headers.update(extra)
    lines = [f"POST {path} HTTP/1.1", "Host: sandbox", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), headers[protocol.H_NONCE]


def assert_signed_for(app, path, response, body, nonce):
    """``response`` (with its ``body``) is signed with the app's secret and bound to ``nonce``."""
    headers = response.headers
    assert headers[protocol.H_REQUEST_NONCE] == nonce
    canonical = protocol.canonical_response(response.status, path, headers[protocol.H_TIMESTAMP],
                                            headers[protocol.H_NONCE], request_nonce=nonce, body=body)
    assert protocol.signature_matches(app.secret.encode(), canonical, headers[protocol.H_SIGNATURE])


@pytest.mark.parametrize("line", [
    b"GARBAGE\r\n\r\n",
    b"POST\r\n\r\n",
    b"POST /v1/invoices/query HTTP/9.9\r\n\r\n",
    b"POST /v1/invoices/query\r\n",                     # an HTTP/0.9 line: no headers to answer with
    b"GET /health\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",   # a TLS hello on the plain port
    b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
    b"POST /v1/invoices/query HTTP/1.1\r\n" + b"X-Long: " + b"b" * 70000 + b"\r\n\r\n",
])
def test_garbage_gets_one_protocol_answer_then_the_connection_closes(raw, line):
    connection = raw().send(line)
    status, headers, body = connection.answer()
    assert status == 400 and headers["Content-Type"].startswith("application/json")
    assert body["code"] == "1002" and " / " in body["message"]
    assert protocol.H_SIGNATURE not in headers      # nothing says whose request it is
    assert connection.closed()


def test_a_method_nobody_serves_is_an_unknown_service(raw):
    connection = raw().send(b"BREW /v1/invoices/query HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
    status, _, body = connection.answer()
    assert (status, body["code"]) == (404, "1004")
    assert connection.closed()


def test_chunked_body_is_refused_once_signed_and_processes_nothing(raw, sandbox, app, make_invoice):
    path = protocol.SERVICES["invoice.issue"]
    body = protocol.seal(app.sm4_key, make_invoice("CHUNK-1"))
    head, nonce = signed_head(app, path, body, content_length=None, extra={"Transfer-Encoding": "chunked"})
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    connection = raw().send(head + chunked)
    response = http.client.HTTPResponse(connection.sock, method="POST")
    response.begin()
    raw_body = response.read()
    assert response.status == 400 and json.loads(raw_body)["code"] == "1002"
    assert "Transfer-Encoding" in json.loads(raw_body)["message"]
    assert_signed_for(app, path, response, raw_body, nonce)
    assert connection.closed()          # the chunks are never read as a second request
    assert sandbox.stats(app.app_id)["invoices"] == 0


def test_body_shorter_than_content_length_times_out_in_seconds(raw, sandbox, app):
    path = protocol.SERVICES["invoice.query"]
    body = protocol.seal(app.sm4_key, {"serialNos": ["X"]})
    head, nonce = signed_head(app, path, body)
    started = time.monotonic()
    connection = raw(timeout=READ_TIMEOUT + 10).send(head + body[:10])
    response = http.client.HTTPResponse(connection.sock, method="POST")
    response.begin()
    raw_body = response.read()
    waited = time.monotonic() - started
    assert READ_TIMEOUT - 0.5 <= waited < READ_TIMEOUT + 5
    answer = json.loads(raw_body)
    assert (response.status, answer["code"]) == (400, "1002")
    assert f"only 10 of the {len(body)} bytes" in answer["message"]
    assert_signed_for(app, path, response, raw_body, nonce)
    assert connection.closed()


def test_read_timeout_is_an_option(tmp_path):
    with Sandbox(tmp_path / "quick.db", read_timeout=0.5) as quick:
        connection = Raw(quick, timeout=5)
        try:
            started = time.monotonic()
            connection.send(b"POST /v1/invoices/query HTTP/1.1\r\nContent-Length: 50\r\n\r\n{")
            status, headers, body = connection.answer()
            assert time.monotonic() - started < 3
            assert (status, body["code"]) == (400, "1002") and protocol.H_SIGNATURE not in headers
            assert connection.closed()
        finally:
            connection.close()
    with pytest.raises(ValueError):
        Sandbox(tmp_path / "never.db", read_timeout=0)
    assert parser().parse_args(["--db", "x.db"]).read_timeout == READ_TIMEOUT == 5
    assert parser().parse_args(["--db", "x.db", "--read-timeout", "0.5"]).read_timeout == 0.5
    with pytest.raises(SystemExit):
        parser().parse_args(["--db", "x.db", "--read-timeout", "0"])


@pytest.mark.parametrize(("value", "expected"), [
    (str(MAX_BODY + 1), "larger than"),
    ("12abc", "not a number of bytes"),
    ("-1", "not a number of bytes"),
    ("1_0", "not a number of bytes"),
    ("\u00b2", "not a number of bytes"),      # a superscript two: a digit to str.isdigit, not to HTTP
])
def test_bad_or_over_size_content_length_is_a_protocol_answer(raw, value, expected):
    connection = raw()
    connection.send(f"POST /v1/invoices/query HTTP/1.1\r\nContent-Length: {value}\r\n\r\n".encode("latin-1"))
    status, _, body = connection.answer()
    assert (status, body["code"]) == (400, "1002") and expected in body["message"]
    assert connection.closed()


def test_conflicting_content_lengths_are_refused(raw):
    connection = raw().send(b"POST /v1/invoices/query HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x")
    status, _, body = connection.answer()
    assert (status, body["code"]) == (400, "1002") and "conflicting" in body["message"]
    assert connection.closed()


def test_over_size_body_is_not_asked_for_with_expect_100_continue(raw, app):
    path = protocol.SERVICES["invoice.query"]
    head, nonce = signed_head(app, path, b"", content_length=MAX_BODY + 1, extra={"Expect": "100-continue"})
    connection = raw().send(head)
    response = http.client.HTTPResponse(connection.sock, method="POST")
    response.begin()            # a final answer, not "100 Continue"
    raw_body = response.read()
    assert (response.status, json.loads(raw_body)["code"]) == (400, "1002")
    assert_signed_for(app, path, response, raw_body, nonce)
    assert connection.closed()


def test_keep_alive_serves_requests_until_one_cannot_be_read(raw):
    connection = raw()
    # Empty lines before a request line are skipped (RFC 9112 §2.2).
    connection.send(b"\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    status, headers, body = connection.answer("GET")
    assert (status, body) == (200, {"status": "ok"}) and headers.get("Connection") != "close"
    connection.send(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    assert connection.answer("GET")[2] == {"status": "ok"}
    connection.send(b"NOT HTTP AT ALL\r\n\r\nGET /health HTTP/1.1\r\n\r\n")
    status, headers, body = connection.answer()
    assert (status, body["code"], headers["Connection"]) == (400, "1002", "close")
    assert connection.closed()      # the request after the garbage is not answered


# --- 3. red forms on invoices with discount lines -------------------------------------------------

def discounted_invoice(app, serial_no):
    """Line 1: 2 computers at 500.00 (1000.00 + 130.00 tax), discounted by line 2 (-100.00 - 13.00);
    line 3: one more at 100.00 + 13.00. Net 1000.00 + 130.00."""
    def line(number, line_type, amount, tax, quantity=None):
        wire = {"lineNo": number, "lineType": line_type, "name": "*电子计算机*服务器",
                "classificationCode": COMPUTER_CODE, "amount": amount, "taxRate": "0.13", "taxAmount": tax,
                "amountWithTax": str(Decimal(amount) + Decimal(tax))}
        if quantity:
            wire.update(quantity=quantity, unitPrice=str(Decimal(amount) / Decimal(quantity)))
        return wire
    return {
        "serialNo": serial_no, "invoiceType": "02",
        "seller": {"name": app.seller_name, "taxId": app.seller_tax_id},
        "buyer": {"name": BUYER_NAME, "taxId": BUYER_TAX_ID},
        "lines": [line(1, "discounted", "1000.00", "130.00", "2"), line(2, "discount", "-100.00", "-13.00"),
                  line(3, "normal", "100.00", "13.00", "1")],
        "totalAmount": "1000.00", "totalTax": "130.00", "totalWithTax": "1130.00",
    }


def reverse(number, amount, tax, quantity=None):
    line = {"blueLineNo": number, "amount": amount, "taxAmount": tax}
    if quantity:
        line["quantity"] = quantity
    return line


def apply(wire, number, serial_no, *lines):
    return wire.call("redform.apply", {"serialNo": serial_no, "blueInvoiceNumber": number, "reason": "02",
                                       "lines": list(lines)})


def status_of(wire, serial_no):
    return wire.ok("invoice.query", {"serialNos": [serial_no]})["results"][0]["status"]


def test_red_forms_take_back_no_more_than_what_is_left_net_of_discounts(wire, sandbox, app):
    number = wire.ok("invoice.issue", discounted_invoice(app, "DISC-1"))["invoiceNumber"]
    # The discounted line is worth 900.00 net: the discount line is taken back with it, never alone.
    over = apply(wire, number, "RF-D1", reverse(1, "-1000.00", "-130.00"), reverse(2, "-100.00", "-13.00"))
    assert over.code == "1001"
    assert [(e["field"], e["code"]) for e in over.errors] == [
        ("lines[0].amount", "EXCEEDS_BLUE"), ("lines[0].taxAmount", "EXCEEDS_BLUE"),
        ("lines[1].blueLineNo", "DISCOUNT_LINE")]
    assert "900.00" in over.errors[0]["message"]

    form = apply(wire, number, "RF-D2", reverse(1, "-900.00", "-117.00", "-2")).data
    assert (form["totalAmount"], form["totalTax"]) == ("-900.00", "-117.00")
    red = wire.ok("redinvoice.issue", {"serialNo": "RED-D2", "formNumber": form["formNumber"]})
    assert (red["totalAmount"], red["totalTax"], red["totalWithTax"]) == ("-900.00", "-117.00", "-1017.00")
    assert status_of(wire, "DISC-1") == "issued"
    # Printed alone, the net line is a normal line whose unit price gives its amount.
    xml = ET.fromstring(base64.b64decode(wire.ok("document.download", {"invoiceNumber": red["invoiceNumber"],
                                                                       "format": "xml"})["content"]))
    [line] = xml.findall("Lines/Line")
    assert line.findtext("LineType") == "normal"
    assert Decimal(line.findtext("Quantity")) * Decimal(line.findtext("UnitPrice")) == Decimal("-900.00")

    nothing = apply(wire, number, "RF-D3", reverse(1, "-0.01", "0.00"))
    assert [(e["field"], e["code"]) for e in nothing.errors] == [("lines[0].amount", "EXCEEDS_BLUE")]
    rest = apply(wire, number, "RF-D4", reverse(3, "-100.00", "-13.00", "-1")).data
    wire.ok("redinvoice.issue", {"serialNo": "RED-D4", "formNumber": rest["formNumber"]})
    # Everything is taken back although the discount line itself was never named.
    assert status_of(wire, "DISC-1") == "red-reversed"
    assert apply(wire, number, "RF-D5").code == "3003"


def test_full_reversal_mirrors_the_discount_and_takes_back_the_total(wire, app):
    number = wire.ok("invoice.issue", discounted_invoice(app, "DISC-2"))["invoiceNumber"]
    revoked = apply(wire, number, "RF-F0").data
    assert [(line["blueLineNo"], line["amount"]) for line in revoked["lines"]] == [
        (1, "-1000.00"), (2, "100.00"), (3, "-100.00")]
    wire.ok("redform.revoke", {"formNumber": revoked["formNumber"]})
    # A revoked form gives back what it held: the net of the discounted line, no more.
    over = apply(wire, number, "RF-F0B", reverse(1, "-1000.00", "-130.00"))
    assert [(e["field"], e["code"]) for e in over.errors] == [
        ("lines[0].amount", "EXCEEDS_BLUE"), ("lines[0].taxAmount", "EXCEEDS_BLUE")]
    form = apply(wire, number, "RF-F1").data
    assert (form["totalAmount"], form["totalTax"]) == ("-1000.00", "-130.00")
    red = wire.ok("redinvoice.issue", {"serialNo": "RED-F1", "formNumber": form["formNumber"]})
    assert red["totalWithTax"] == "-1130.00"
    assert status_of(wire, "DISC-2") == "red-reversed"
    assert apply(wire, number, "RF-F2", reverse(1, "-1.00", "-0.13")).code == "3003"


def test_red_lines_follow_the_blue_lines_tax_rule(wire, sandbox, app):
    number = wire.ok("invoice.issue", discounted_invoice(app, "DISC-3"))["invoiceNumber"]
    answer = apply(wire, number, "RF-T1", reverse(1, "-500.00", "-60.00"), reverse(3, "-50.00", "-6.57"))
    assert answer.code == "1001"
    assert [(e["field"], e["code"]) for e in answer.errors] == [
        ("lines", "INVOICE_TAX_DIFF"), ("lines[0].taxAmount", "LINE_TAX_DIFF"), ("lines[1].taxAmount", "LINE_TAX_DIFF")]
    assert answer.errors[1]["message"] == \
        "line 1 tax -60.00 differs from amount x rate -65.00 by 5.00 (at most 0.06)"
    # Within 0.06 passes, as on blue lines.
    assert apply(wire, number, "RF-T2", reverse(1, "-500.00", "-65.06")).code == "0000"
    assert sandbox.stats(app.app_id)["redForms"] == {"01": 1}


# --- 4. the buyer on every invoice result -------------------------------------------------------------

def matches(payload, result):
    return rules.result_mismatches(from_wire(Invoice, payload), from_wire(InvoiceResult, result))


def test_every_invoice_result_carries_the_buyer(wire, sandbox, app, make_invoice, receiver):  # noqa: F811
    payload = make_invoice("BUY-1")
    issued = wire.ok("invoice.issue", payload)
    assert (issued["buyerTaxId"], issued["buyerName"]) == (BUYER_TAX_ID, BUYER_NAME)
    assert matches(payload, issued) == []
    duplicate = wire.call("invoice.issue", payload)
    assert duplicate.code == "3001" and duplicate.data["buyerName"] == BUYER_NAME
    assert matches(payload, duplicate.data) == []
    [queried] = wire.ok("invoice.query", {"serialNos": ["BUY-1"]})["results"]
    assert matches(payload, queried) == []
    # Somebody else's invoice under the same serial number does not match.
    other = make_invoice("BUY-1", buyer_tax_id="91350100M000100Y43")
    assert [e.field for e in matches(other, queried)] == ["buyer.taxId"]

    form = wire.ok("redform.apply", {"serialNo": "RF-B", "blueInvoiceNumber": issued["invoiceNumber"],
                                     "reason": "01"})
    red = wire.ok("redinvoice.issue", {"serialNo": "RED-B", "formNumber": form["formNumber"]})
    assert (red["buyerTaxId"], red["buyerName"]) == (BUYER_TAX_ID, BUYER_NAME)

    erp = receiver()
    sandbox.add_app(app.app_id, callback_url=erp.url)
    sandbox.set_faults(app.app_id, pending_rate=1.0, pending_seconds=30)
    natural = make_invoice("BUY-2")
    natural["buyer"] = {"name": "张三", "naturalPerson": True}
    pending = wire.ok("invoice.issue", natural)
    assert (pending["status"], pending["buyerName"], pending.get("buyerTaxId")) == ("pending", "张三", None)
    sandbox.advance_clock(31)
    wait_for(lambda: erp.received)
    [event] = erp.events(app)
    assert event["event"] == "invoice.issued" and event["data"]["buyerName"] == "张三"
    assert matches(natural, event["data"]) == []


def test_results_of_invoices_stored_before_buyer_names_were_kept_carry_them(tmp_path, app, make_invoice, wire_for):
    db = tmp_path / "old.db"
    with Sandbox(db) as sandbox:
        wire_for(sandbox.url, app).ok("invoice.issue", make_invoice("OLD-1"))
    with sqlite3.connect(db) as old:          # the table as an earlier version wrote it
        old.execute("ALTER TABLE invoices DROP COLUMN buyer_name")
    with Sandbox(db) as sandbox:
        [result] = wire_for(sandbox.url, app).ok("invoice.query", {"serialNos": ["OLD-1"]})["results"]
    assert (result["buyerName"], result["buyerTaxId"]) == (BUYER_NAME, BUYER_TAX_ID)


# --- 5. printed fields: characters and lengths ---------------------------------------------------

def test_unprintable_characters_and_lengths_are_refused_all_at_once(wire, sandbox, app, make_invoice):
    payload = make_invoice("PRN-1", lines=2)
    payload["buyer"]["name"] = "北京\u200b某某贸易有限公司"       # zero-width space
    payload["buyer"]["taxId"] = BUYER_TAX_ID + "\ufeff"          # byte order mark
    payload["buyer"]["email"] = "buyer@example.com\n"
    payload["seller"]["address"] = "福州市\u202e鼓楼区"          # right-to-left override
    payload["lines"][0]["spec"] = "X\t100"
    payload["lines"][1]["unit"] = "\ue000"                        # private use
    payload["lines"][1]["name"] = "*电子计算机*" + "机" * 200      # 207 characters
    payload["remark"] = "备注\u0378"                              # unassigned
    payload["issuer"] = "张" * 21
    answer = wire.call("invoice.issue", payload)
    assert answer.code == "1001"
    assert [(e["field"], e["code"]) for e in answer.errors] == [
        ("seller.address", "UNPRINTABLE"),
        ("buyer.name", "UNPRINTABLE"), ("buyer.taxId", "UNPRINTABLE"), ("buyer.email", "UNPRINTABLE"),
        ("lines[0].spec", "UNPRINTABLE"), ("lines[1].name", "TOO_LONG"), ("lines[1].unit", "UNPRINTABLE"),
        ("issuer", "TOO_LONG"), ("remark", "UNPRINTABLE"),
    ]
    by_field = {e["field"]: e for e in answer.errors}
    assert by_field["buyer.name"]["message"] == (
        "buyer name contains 1 character that cannot be printed: U+200B (ZERO WIDTH SPACE) at position 3; remove it")
    assert by_field["buyer.name"]["messageZh"] == \
        "购买方名称含有 1 个无法打印的字符：第 3 位 U+200B（格式字符：ZERO WIDTH SPACE），请删除"
    assert sandbox.stats(app.app_id)["invoices"] == 0
    # Lengths count characters: 300 Chinese characters (900 UTF-8 bytes) are a name the platform takes.
    payload = make_invoice("PRN-2")
    payload["buyer"]["name"] = "名" * 300
    assert wire.call("invoice.issue", payload).code == "0000"
