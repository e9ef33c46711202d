"""Callbacks through the provider: the one place that verifies, opens and answers them
(fapiao.providers.reference.callback), against the sandbox's deliveries and against forgeries."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fapiao import documents, provider
from fapiao.provider import CallbackRefused
from fapiao.providers.reference import callback, protocol
from fapiao.providers.reference.client import Keyring
from fapiao.tests.test_sandbox_platform import wait_for

PATH = "/l10n_cn_einvoice/callback/1"
EVENT = {"eventId": "evt-1", "event": "invoice.issued", "occurredAt": "2026-11-23T08:00:00+08:00",
         "data": {"serialNo": "SO-1", "status": "issued", "invoiceNumber": "26351000000000000001",
                  "totalAmount": "100.00", "totalTax": "13.00", "totalWithTax": "113.00"}}


def connected(app, url="http://127.0.0.1:9"):
    secret, sm4_key = app.secret, app.sm4_key_hex
    return provider.get("reference").connect({"endpoint": url, "app_id": app.app_id, "app_secret": lambda: secret,
                                              "sm4_key": lambda: sm4_key})


class Nonces:
    """The ERP's memory of nonces."""

    def __init__(self):
        self.seen = []

    def claim(self, nonce):
        if nonce in self.seen:
            return False
        self.seen.append(nonce)
        return True


def sealed(app, event=None, path=PATH, keys=None):
    return callback.seal(keys or Keyring(app.secret, app.sm4_key_hex), app.app_id, path, event or EVENT)


# --- the checks, in the platform's order -------------------------------------------------------

def test_a_sealed_event_opens_into_its_result(app):
    body, headers = sealed(app)
    nonces = Nonces()
    with connected(app) as erp:
        event = erp.open_callback(PATH, headers, body, nonces.claim)
    assert (event.event_id, event.name, event.kind) == ("evt-1", "invoice.issued", provider.CALLBACK_INVOICE)
    assert isinstance(event.result, documents.InvoiceResult) and event.result.invoice_number == "26351000000000000001"
    assert event.references == {"serial_no": "SO-1", "invoice_number": "26351000000000000001"}
    assert event.occurred_at == EVENT["occurredAt"] and event.payload == EVENT
    assert nonces.seen == [headers[protocol.H_NONCE]]


def refusal(app, headers, body, *, erp_app=None, nonces=None):
    nonces = nonces or Nonces()
    with connected(erp_app or app) as erp, pytest.raises(CallbackRefused) as info:
        erp.open_callback(PATH, headers, body, nonces.claim)
    return info.value.code, info.value.authenticated, nonces.seen


def test_refusals_before_authentication_claim_no_nonce(app, sandbox):
    body, headers = sealed(app)
    without = {k: v for k, v in headers.items() if k != protocol.H_SIGNATURE}
    assert refusal(app, without, body) == ("MISSING_AUTH", False, [])
    assert refusal(app, {**headers, protocol.H_NONCE: "short"}, body) == ("MISSING_AUTH", False, [])
    other = sandbox.add_app("erp-2", "other-secret", "00112233445566778899aabbccddeeff", app.seller_tax_id)
    assert refusal(app, headers, body, erp_app=other) == ("UNKNOWN_APP", False, [])
    stale = {**headers, protocol.H_TIMESTAMP: str(protocol.now_ms() - 301_000)}
    assert refusal(app, stale, body) == ("STALE_TIMESTAMP", False, [])
    assert refusal(app, headers, body + b" ") == ("BAD_SIGNATURE", False, [])
    forged_body, forged = sealed(app, keys=Keyring("not-the-secret", app.sm4_key_hex))
    assert refusal(app, forged, forged_body) == ("BAD_SIGNATURE", False, [])
    assert refusal(app, {**headers, protocol.H_SIGN_TYPE: protocol.SIGN_TYPE_SM2}, body)[0] == "BAD_SIGNATURE"
    nonces = Nonces()
    nonces.claim(headers[protocol.H_NONCE])
    assert refusal(app, headers, body, nonces=nonces)[:2] == ("REPLAYED_NONCE", False)


def test_refusals_after_authentication(app):
    keys = Keyring(app.secret, app.sm4_key_hex)

    def signed(body):
        return body, keys.request_headers(app.app_id, PATH, body)

    assert refusal(app, *reversed(signed(b'{"encryption": "none"}')))[:2] == ("MALFORMED_REQUEST", True)
    other_key = Keyring(app.secret, "00112233445566778899aabbccddeeff").seal(EVENT)
    assert refusal(app, *reversed(signed(other_key)))[:2] == ("DECRYPTION_FAILED", True)
    for event in ({**EVENT, "eventId": ""}, {**EVENT, "data": []}, {**EVENT, "event": "x" * 129},
                  {**EVENT, "data": {"serialNo": "SO-1", "totalTax": "lots"}},
                  {**EVENT, "data": {"status": "issued"}}):
        assert refusal(app, *reversed(signed(keys.seal(event))))[:2] == ("PARAMETER_ERROR", True)


def test_an_event_we_do_not_use_opens_without_a_result(app):
    body, headers = sealed(app, {**EVENT, "event": "invoice.printed"})
    with connected(app) as erp:
        event = erp.open_callback(PATH, headers, body, Nonces().claim)
    assert (event.kind, event.result, event.name) == ("", None, "invoice.printed")


def test_the_answer_is_signed_for_the_callbacks_nonce(app):
    _body, headers = sealed(app)
    with connected(app) as erp:
        status, answer_headers, answer = erp.callback_answer(PATH, headers)
        busy = erp.callback_answer(PATH, headers, provider.CALLBACK_BUSY, "later", retry_after=5)
        unsigned = erp.callback_answer(PATH, {protocol.H_NONCE: "bad nonce"}, "BAD_SIGNATURE")
        with pytest.raises(ValueError):
            erp.callback_answer(PATH, headers, "MAYBE")
    assert (status, json.loads(answer)["code"]) == (200, "0000")
    assert answer_headers[protocol.H_REQUEST_NONCE] == headers[protocol.H_NONCE]
    canonical = protocol.canonical_response(status, PATH, answer_headers[protocol.H_TIMESTAMP],
                                            answer_headers[protocol.H_NONCE],
                                            request_nonce=headers[protocol.H_NONCE], body=answer)
    assert protocol.signature_matches(app.secret, canonical, answer_headers[protocol.H_SIGNATURE])
    assert busy[0] == 503 and json.loads(busy[2]) == {"code": "9001", "message": "later", "retryAfter": 5}
    assert unsigned[0] == 401 and protocol.H_SIGNATURE not in unsigned[1]


# --- the sandbox's deliveries, received as an ERP receives them ---------------------------------------

class ProviderReceiver:
    """An ERP endpoint that verifies and answers through the provider."""

    def __init__(self, erp):
        self.events, self.nonces = [], Nonces()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    receiver.events.append(erp.open_callback(self.path, self.headers, body, receiver.nonces.claim))
                    outcome = provider.CALLBACK_OK
                except CallbackRefused as refused:
                    outcome = refused.code
                status, headers, answer = erp.callback_answer(self.path, self.headers, outcome)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(answer))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/erp/events"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


def test_the_sandboxs_deliveries_open_through_the_provider(wire, sandbox, app, make_invoice):
    with connected(app, sandbox.url) as erp:
        receiver = ProviderReceiver(erp)
        try:
            sandbox.add_app(app.app_id, callback_url=receiver.url)
            sandbox.set_faults(app.app_id, pending_rate=1.0, pending_seconds=10)
            wire.ok("invoice.issue", make_invoice("CB-P1"))
            wire.ok("invoice.issue", make_invoice("CB-P2", invoice_type="01"))
            sandbox.advance_clock(11)
            wait_for(lambda: len(receiver.events) == 2)
            issued = wire.ok("invoice.query", {"serialNos": ["CB-P1"]})["results"][0]["invoiceNumber"]
            sandbox.buyer_apply_red_form(issued, "01")
            wait_for(lambda: len(receiver.events) == 3)
        finally:
            receiver.server.shutdown()
            receiver.server.server_close()
    by_serial = {event.result.serial_no: event for event in receiver.events[:2]}
    assert set(by_serial) == {"CB-P1", "CB-P2"}
    assert all(event.kind == provider.CALLBACK_INVOICE and event.result.status == "issued"
               for event in by_serial.values())
    form = receiver.events[2]
    assert form.kind == provider.CALLBACK_RED_FORM and form.result.status == "03" and form.result.direction == "inbound"
    # every delivery was accepted at the first attempt
    wait_for(lambda: [(d["status"], d["attempts"]) for d in sandbox.callback_deliveries(app.app_id)]
             == [("delivered", 1)] * 3)
