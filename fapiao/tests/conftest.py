"""Shared fixtures: a real sandbox platform on a loopback port, its default
application, and a bare protocol caller built from fapiao.protocol alone
(no client), for tests that speak the wire format themselves."""

from dataclasses import dataclass
from decimal import Decimal

import pytest
import requests

from fapiao.providers.reference import protocol
from fapiao.providers.reference.sandbox import Sandbox

BUYER_TAX_ID = "91110108MA01ABCD1E"
BUYER_NAME = "北京某某贸易有限公司"
# A leaf classification code allowing 13 % (电子计算机整机, short name 电子计算机).
COMPUTER_CODE = "1090509010000000000"


@pytest.fixture
def sandbox(tmp_path):
    """A started sandbox with a fresh database, stopped after the test."""
    with Sandbox(tmp_path / "sandbox.db") as running:
        yield running


@pytest.fixture
def app(sandbox):
    """The sandbox's default application (app_id, secret, sm4_key_hex, seller_tax_id, seller_name)."""
    return sandbox.default_app


@dataclass
class Answer:
    """A platform answer read with the protocol functions."""

    response: requests.Response
    code: str
    data: dict | None
    errors: list
    body: dict
    signed: bool


class WireCaller:
    """Sends sealed, signed requests with fapiao.protocol and reads the answers.

    Every keyword can break one part of a request on purpose: ``headers``
    replaces or (with None) removes headers, ``body`` sends raw bytes.
    """

    def __init__(self, url, app):
        self.url = url
        self.app = app
        self.session = requests.Session()

    def request(self, service, payload=None, *, app=None, path=None, body=None, headers=None, timeout=10,
                sign_path=None, sm2_private_key=None, method="POST"):
        """Return the raw response and the request headers sent."""
        app = app or self.app
        path = path or protocol.SERVICES[service]
        if body is None:
            body = protocol.seal(bytes.fromhex(app.sm4_key_hex), payload if payload is not None else {})
        sent = protocol.request_headers(app.app_id, app.secret.encode(), sign_path or path, body,
                                        sm2_private_key=sm2_private_key)
        for name, value in (headers or {}).items():
            if value is None:
                sent.pop(name, None)
            else:
                sent[name] = value
        response = self.session.request(method, self.url + path, data=body, headers=sent, timeout=timeout)
        return response, sent

    def call(self, service, payload=None, *, app=None, path=None, **kwargs):
        app = app or self.app
        path = path or protocol.SERVICES.get(service, "")
        response, sent = self.request(service, payload, app=app, path=path, **kwargs)
        return self.read(response, sent, app, path)

    @staticmethod
    def read(response, sent, app, path):
        """Parse an answer; a signed one must verify and be bound to our nonce."""
        body = protocol.parse_json_object(response.content)
        signed = protocol.H_SIGNATURE in response.headers
        if signed:
            assert response.headers[protocol.H_REQUEST_NONCE] == sent[protocol.H_NONCE]
            canonical = protocol.canonical_response(
                response.status_code, path, response.headers[protocol.H_TIMESTAMP],
                response.headers[protocol.H_NONCE], request_nonce=sent[protocol.H_NONCE], body=response.content)
            assert protocol.signature_matches(app.secret.encode(), canonical,
                                              response.headers[protocol.H_SIGNATURE])
        data = None
        if "data" in body:
            data = protocol.decrypt_payload(bytes.fromhex(app.sm4_key_hex), body["data"])
        return Answer(response, body["code"], data, body.get("errors") or [], body, signed)

    def ok(self, service, payload=None, **kwargs):
        """Call and insist on success; the result data."""
        answer = self.call(service, payload, **kwargs)
        assert answer.code == "0000", (answer.code, answer.body.get("message"), answer.errors)
        return answer.data

    def close(self):
        self.session.close()


@pytest.fixture
def wire_for():
    """``wire_for(url, app)``: a WireCaller for another sandbox or application."""
    callers = []

    def make(url, app):
        callers.append(WireCaller(url, app))
        return callers[-1]

    yield make
    for caller in callers:
        caller.close()


@pytest.fixture
def wire(sandbox, app, wire_for):
    """A WireCaller for the sandbox's default application."""
    return wire_for(sandbox.url, app)


def invoice_payload(app, serial_no="SO-0001", *, invoice_type="02", lines=1, amount="100.00",
                    rate="0.13", buyer_tax_id=BUYER_TAX_ID):
    """A valid Invoice wire payload: ``lines`` lines of ``amount`` each at ``rate``."""
    amount = Decimal(amount)
    tax = (amount * Decimal(rate)).quantize(Decimal("0.01"))
    wire_lines = [{"lineNo": i + 1, "name": "*电子计算机*服务器", "classificationCode": COMPUTER_CODE,
                   "spec": "X-100", "unit": "台", "quantity": "2", "unitPrice": str(amount / 2),
                   "amount": str(amount), "taxRate": rate, "taxAmount": str(tax),
                   "amountWithTax": str(amount + tax)} for i in range(lines)]
    return {
        "serialNo": serial_no, "invoiceType": invoice_type,
        "seller": {"name": app.seller_name, "taxId": app.seller_tax_id, "address": "福州市鼓楼区",
                   "phone": "0591-12345678"},
        "buyer": {"name": BUYER_NAME, "taxId": buyer_tax_id, "email": "buyer@example.com"},
        "lines": wire_lines, "totalAmount": str(amount * lines), "totalTax": str(tax * lines),
        "totalWithTax": str((amount + tax) * lines), "issuer": "张三", "remark": "测试",
    }


@pytest.fixture
def make_invoice(request):
    """``make_invoice(serial_no, app=None, **options)``: a valid invoice payload sold by
    ``app`` (by default the sandbox's default application)."""
    def make(serial_no="SO-0001", app=None, **options):
        return invoice_payload(app or request.getfixturevalue("app"), serial_no, **options)
    return make
