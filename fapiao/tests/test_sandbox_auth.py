"""The sandbox's request pipeline: every refusal in its order, and that none
of them changes anything on the platform; signed answers bound to the nonce."""

import base64
import json

import pytest
import requests

from fapiao import crypto
from fapiao.providers.reference import protocol
from fapiao.providers.reference.sandbox import DEFAULT_APP, Sandbox

ISSUE = "invoice.issue"


def state(sandbox, app_id):
    """What a refusal must leave unchanged (request counters aside)."""
    stats = sandbox.stats(app_id)
    return {k: v for k, v in stats.items() if k not in ("requests", "nonces")}


@pytest.fixture
def before(sandbox, app):
    return state(sandbox, app.app_id)


def test_success_answer_is_signed_and_bound_to_the_request_nonce(wire, make_invoice):
    answer = wire.call(ISSUE, make_invoice("AUTH-1"))  # WireCaller.read verifies signature and binding
    assert answer.code == "0000" and answer.signed
    assert answer.data["status"] == "issued"
    response = answer.response
    # Another nonce (e.g. replaying this answer for another request) does not verify.
    canonical = protocol.canonical_response(
        response.status_code, protocol.SERVICES[ISSUE], response.headers[protocol.H_TIMESTAMP],
        response.headers[protocol.H_NONCE], request_nonce=protocol.new_nonce(), body=response.content)
    assert not protocol.signature_matches(b"sandbox-demo-secret", canonical, response.headers[protocol.H_SIGNATURE])


def test_unknown_path_is_1004_unsigned(wire, sandbox, app, before):
    answer = wire.call(None, {}, path="/v1/invoices/print")
    assert (answer.response.status_code, answer.code, answer.signed) == (404, "1004", False)
    get = requests.get(sandbox.url + protocol.SERVICES[ISSUE], timeout=5)
    assert get.json()["code"] == "1004"
    assert state(sandbox, app.app_id) == before


@pytest.mark.parametrize("header", [protocol.H_APP_ID, protocol.H_TIMESTAMP, protocol.H_NONCE,
                                    protocol.H_SIGNATURE])
def test_missing_header_is_2006(wire, sandbox, make_invoice, before, header):
    answer = wire.call(ISSUE, make_invoice(), headers={header: None})
    assert (answer.response.status_code, answer.code, answer.signed) == (401, "2006", False)
    assert header in answer.body["message"]
    assert state(sandbox, sandbox.default_app.app_id) == before


def test_malformed_nonce_is_2006(wire, make_invoice):
    assert wire.call(ISSUE, make_invoice(), headers={protocol.H_NONCE: "short"}).code == "2006"


def test_unknown_app_is_2001_unsigned(wire, sandbox, app, make_invoice, before):
    answer = wire.call(ISSUE, make_invoice(), headers={protocol.H_APP_ID: "nobody"})
    assert (answer.code, answer.signed) == ("2001", False)
    sandbox.add_app(app.app_id, enabled=False)
    assert wire.call(ISSUE, make_invoice()).code == "2001"
    sandbox.add_app(app.app_id, enabled=True)
    assert state(sandbox, app.app_id) == before


@pytest.mark.parametrize("offset_ms", [-301_000, 301_000])
def test_stale_timestamp_is_2004_even_with_the_business_clock_moved(wire, sandbox, app, make_invoice,
                                                                    offset_ms):
    sandbox.advance_clock(3600)  # authentication follows the real clock, not the business one
    payload = make_invoice()
    body = protocol.seal(app.sm4_key, payload)
    path = protocol.SERVICES[ISSUE]
    before = state(sandbox, app.app_id)
    headers = protocol.request_headers(app.app_id, app.secret_bytes, path, body,
                                       timestamp=protocol.now_ms() + offset_ms)
    response = wire.session.post(sandbox.url + path, data=body, headers=headers, timeout=5)
    answer = wire.read(response, headers, app, path)
    assert (answer.code, answer.signed) == ("2004", True)
    assert state(sandbox, app.app_id) == before
    assert wire.call(ISSUE, payload).code == "0000"  # a fresh timestamp passes


def test_wrong_signature_is_2003_and_burns_no_nonce(wire, sandbox, app, make_invoice, before):
    nonces = sandbox.stats(app.app_id)["nonces"]
    answer = wire.call(ISSUE, make_invoice(), headers={protocol.H_SIGNATURE: "0" * 64})
    assert (answer.response.status_code, answer.code, answer.signed) == (401, "2003", True)
    # Signed for another path: the signature covers the path.
    assert wire.call(ISSUE, make_invoice(), sign_path="/v1/invoices/query").code == "2003"
    assert sandbox.stats(app.app_id)["nonces"] == nonces
    assert state(sandbox, app.app_id) == before


def test_tampered_body_is_2003(wire, app, make_invoice):
    body = protocol.seal(app.sm4_key, make_invoice())
    path = protocol.SERVICES[ISSUE]
    headers = protocol.request_headers(app.app_id, app.secret_bytes, path, body)
    response = wire.session.post(wire.url + path, data=body.replace(b'"data":"', b'"data":"A'),
                                 headers=headers, timeout=5)
    assert response.json()["code"] == "2003"


def test_replayed_nonce_is_2005_and_issues_nothing_more(wire, sandbox, app, make_invoice):
    body = protocol.seal(app.sm4_key, make_invoice("REPLAY-1"))
    path = protocol.SERVICES[ISSUE]
    headers = protocol.request_headers(app.app_id, app.secret_bytes, path, body)
    first = wire.session.post(wire.url + path, data=body, headers=headers, timeout=5)
    assert first.json()["code"] == "0000"
    before = state(sandbox, app.app_id)
    again = wire.read(wire.session.post(wire.url + path, data=body, headers=headers, timeout=5),
                      headers, app, path)
    assert (again.code, again.signed) == ("2005", True)
    assert state(sandbox, app.app_id) == before


def test_malformed_envelope_is_1002(wire, sandbox, app, before):
    for body in (b"not json", b"[1, 2]", b'{"encryption": "AES", "data": "AAAA"}',
                 b'{"encryption": "SM4-CBC", "data": "***"}'):
        answer = wire.call(ISSUE, body=body)
        assert (answer.response.status_code, answer.code, answer.signed) == (400, "1002", True), body
    # Plaintext that decrypts but is not a JSON object.
    data = base64.b64encode(crypto.sm4_encrypt(app.sm4_key, b"[]")).decode()
    assert wire.call(ISSUE, body=json.dumps({"encryption": "SM4-CBC", "data": data}).encode()).code == "1002"
    assert state(sandbox, app.app_id) == before


def test_undecryptable_body_is_1003(wire, sandbox, app, make_invoice, before):
    iv = bytes(range(16))  # fixed: a random IV would let 1 run in 256 pass the padding check
    ciphertext = crypto.sm4_encrypt(bytes(16), json.dumps(make_invoice()).encode(), mode="cbc", iv=iv)
    body = json.dumps({"encryption": "SM4-CBC", "data": base64.b64encode(iv + ciphertext).decode()}).encode()
    answer = wire.call(ISSUE, body=body)
    assert (answer.code, answer.signed) == ("1003", True)
    assert state(sandbox, app.app_id) == before


def test_invalid_document_is_1001_with_every_field_error(wire, sandbox, app, make_invoice, before):
    payload = make_invoice()
    payload["lines"][0]["taxRate"] = "0.06"
    payload["buyer"]["name"] = ""
    del payload["totalTax"]
    answer = wire.call(ISSUE, payload)
    assert (answer.response.status_code, answer.code) == (400, "1001")
    fields = {error["field"] for error in answer.errors}
    assert {"buyer.name", "totalTax"} <= fields
    assert all(error["message"] and error["messageZh"] and error["code"] for error in answer.errors)
    assert state(sandbox, app.app_id) == before
    # Also with errors only the rules find (the wire shape is fine).
    payload = make_invoice()
    payload["lines"][0]["taxRate"] = "0.06"
    answer = wire.call(ISSUE, payload)
    assert answer.code == "1001" and any(e["field"].startswith("lines[0]") for e in answer.errors)
    assert state(sandbox, app.app_id) == before


def test_seller_of_another_taxpayer_is_2002(wire, sandbox, app, make_invoice, before):
    payload = make_invoice()
    payload["seller"]["taxId"] = "91110108MA01ABCD1E"
    assert wire.call(ISSUE, payload).code == "2002"
    assert state(sandbox, app.app_id) == before


def test_sm2_signed_requests_verify_with_the_registered_key(wire, sandbox, app, make_invoice):
    private, public = crypto.sm2_generate_keypair()
    answer = wire.call("quota.query", {}, sm2_private_key=private)
    assert answer.code == "2003"  # no SM2 key registered yet
    sandbox.add_app(app.app_id, sm2_public_key=public)
    assert wire.call("quota.query", {}, sm2_private_key=private).code == "0000"
    other, _ = crypto.sm2_generate_keypair()
    assert wire.call("quota.query", {}, sm2_private_key=other).code == "2003"


def test_requests_are_counted_per_code(wire, sandbox, app, make_invoice):
    wire.call(ISSUE, make_invoice("COUNT-1"))
    wire.call(ISSUE, make_invoice(), headers={protocol.H_SIGNATURE: "0" * 64})
    requests_ = sandbox.stats(app.app_id)["requests"]
    assert requests_["byCode"] == {"0000": 1, "2003": 1}
    assert requests_["byService"] == {ISSUE: 2}


def test_admin_endpoint_token(tmp_path):
    with Sandbox(tmp_path / "token.db", admin_token="let-me-in") as sandbox:
        url = sandbox.url + "/admin/clock"
        assert requests.get(url, timeout=5).status_code == 401
        assert requests.get(url, headers={"X-Admin-Token": "wrong"}, timeout=5).status_code == 401
        answer = requests.get(url, headers={"X-Admin-Token": "let-me-in"}, timeout=5)
        assert answer.status_code == 200 and answer.json()["offsetSeconds"] == 0


def test_custom_app_and_no_default_app(tmp_path, make_invoice, wire_for):
    spec = "erp-1:erp-secret:00112233445566778899aabbccddeeff:91110108MA01ABCD1E:北京某某贸易有限公司"
    with Sandbox(tmp_path / "apps.db", app=[spec], no_default_app=True) as sandbox:
        custom = sandbox.apps.get("erp-1")
        assert custom.seller_name == "北京某某贸易有限公司"
        assert sandbox.default_app is None
        caller = wire_for(sandbox.url, custom)
        payload = make_invoice("ERP-1", app=custom, buyer_tax_id="91350100M000100Y43")
        assert caller.call(ISSUE, payload).code == "0000"
        assert caller.call("quota.query", {}, app=DEFAULT_APP).code == "2001"
    with Sandbox(tmp_path / "default.db"):
        pass
    with Sandbox(tmp_path / "default.db", no_default_app=True) as sandbox:
        assert not sandbox.default_app.enabled  # kept in the database, but refused
    with Sandbox(tmp_path / "default.db") as sandbox:
        assert sandbox.default_app.enabled
    with pytest.raises(ValueError, match="SM4 key"):
        Sandbox(tmp_path / "bad.db", app=["x:secret:abcd:91110108MA01ABCD1E"])
