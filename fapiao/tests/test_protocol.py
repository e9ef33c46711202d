"""The envelope of docs/protocol.md, including its worked example recomputed from the doc."""

import base64
import json
import re
from pathlib import Path

import pytest

from fapiao import crypto
from fapiao.providers.reference import protocol

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
SECRET = b"sandbox-demo-secret"
KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


def _example(block):
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"```{block}\n(.*?)```", text, re.S)
    assert match, f"docs/protocol.md has no ```{block} block"
    return dict(line.split(": ", 1) for line in match.group(1).strip().splitlines())


def _sm4_cbc_with_iv(iv_hex, plaintext):
    iv = bytes.fromhex(iv_hex)
    return iv + crypto.sm4_encrypt(KEY, plaintext, mode="cbc", iv=iv)


def test_documented_request_example_is_reproducible():
    example = _example("example")
    sealed = _sm4_cbc_with_iv(example["iv"], example["payload"].encode())
    assert sealed.hex() == example["iv || ciphertext (hex)"]
    body = json.dumps({"encryption": "SM4-CBC", "data": base64.b64encode(sealed).decode()},
                      separators=(",", ":")).encode()
    assert body.decode() == example["body"]
    assert crypto.sm3_hex(body) == example["SM3(body)"]
    canonical = protocol.canonical_request("POST", "/v1/invoices/query", example["X-Timestamp"],
                                           example["X-Nonce"], body)
    assert protocol.sign(SECRET, canonical) == example["X-Signature"]
    # and the receiving side opens it
    assert protocol.open_envelope(KEY, body) == json.loads(example["payload"])


def test_documented_response_example_is_reproducible():
    request = _example("example")
    example = _example("example-response")
    body = example["body"].encode()
    outer = json.loads(body)
    assert base64.b64decode(outer["data"]) == _sm4_cbc_with_iv(example["iv"], example["result"].encode())
    assert protocol.decrypt_payload(KEY, outer["data"]) == json.loads(example["result"])
    assert crypto.sm3_hex(body) == example["SM3(body)"]
    assert example["X-Request-Nonce"] == request["X-Nonce"]
    canonical = protocol.canonical_response(
        int(example["HTTP status"]), "/v1/invoices/query", example["X-Timestamp"], example["X-Nonce"],
        request_nonce=example["X-Request-Nonce"], body=body,
    )
    assert protocol.signature_matches(SECRET, canonical, example["X-Signature"])


def test_every_return_code_is_documented_in_the_table():
    text = DOC.read_text(encoding="utf-8")
    for code, rc in protocol.RETURN_CODES.items():
        assert re.search(rf"\| `{code}` \| {rc.name} \| {rc.http_status} \|", text), code


def test_every_service_path_is_documented():
    text = DOC.read_text(encoding="utf-8")
    for path in protocol.SERVICES.values():
        tail = path.rsplit("/", 1)[-1]
        assert path in text or f"`/{tail}`" in text, path


def test_seal_and_open_round_trip_with_chinese_text():
    payload = {"buyer": {"name": "上海某某贸易有限公司"}, "amount": "113.00"}
    body = protocol.seal(KEY, payload)
    assert "上海".encode() not in body
    assert protocol.open_envelope(KEY, body) == payload


@pytest.mark.parametrize(("body", "kind"), [
    (b"not json", "malformed"),
    (b"[1, 2]", "malformed"),
    (b'{"encryption": "AES", "data": "AAAA"}', "malformed"),
    (b'{"encryption": "SM4-CBC", "data": "***"}', "malformed"),
    (b'{"encryption": "SM4-CBC", "data": "' + base64.b64encode(bytes(48)) + b'"}', "decryption"),
])
def test_open_envelope_refuses_bad_bodies(body, kind):
    with pytest.raises(protocol.EnvelopeError) as info:
        protocol.open_envelope(KEY, body)
    assert info.value.kind == kind


def sealed_with_fixed_iv(key, payload):
    """Like protocol.seal, with a fixed IV: opening it under a wrong key then fails the
    same way every run (with a random IV, 1 time in 256 the padding happens to look valid
    and the garbage fails as malformed JSON instead)."""
    iv = bytes(range(16))
    plaintext = json.dumps(payload, separators=(",", ":")).encode()
    data = base64.b64encode(iv + crypto.sm4_encrypt(key, plaintext, mode="cbc", iv=iv)).decode()
    return json.dumps({"encryption": "SM4-CBC", "data": data}).encode()


def test_envelope_under_another_key_does_not_open():
    body = sealed_with_fixed_iv(KEY, {"serialNos": ["S1"]})
    with pytest.raises(protocol.EnvelopeError) as info:
        protocol.open_envelope(bytes(16), body)
    assert info.value.kind == "decryption"


def test_signature_covers_every_part_of_the_request():
    body = protocol.seal(KEY, {"x": 1})
    base = ("POST", "/v1/invoices/issue", 1795478400000, "n" * 32, body)
    signature = protocol.sign(SECRET, protocol.canonical_request(*base))
    for index, changed in enumerate(["GET", "/v1/invoices/void", 1795478400001, "m" * 32, body + b" "]):
        variant = list(base)
        variant[index] = changed
        assert not protocol.signature_matches(SECRET, protocol.canonical_request(*variant), signature)
    assert not protocol.signature_matches(b"other-secret", protocol.canonical_request(*base), signature)


def test_request_headers_sign_with_hmac_or_sm2():
    body = protocol.seal(KEY, {"x": 1})
    headers = protocol.request_headers("app", SECRET, "/v1/quota/query", body)
    canonical = protocol.canonical_request("POST", "/v1/quota/query", headers["X-Timestamp"],
                                           headers["X-Nonce"], body)
    assert headers["X-Sign-Type"] == "HMAC-SM3"
    assert protocol.signature_matches(SECRET, canonical, headers["X-Signature"])
    private, public = crypto.sm2_generate_keypair()
    headers = protocol.request_headers("app", SECRET, "/v1/quota/query", body, sm2_private_key=private)
    canonical = protocol.canonical_request("POST", "/v1/quota/query", headers["X-Timestamp"],
                                           headers["X-Nonce"], body)
    assert headers["X-Sign-Type"] == "SM2-SM3"
    assert crypto.sm2_verify(public, canonical, headers["X-Signature"])


def test_nonces_are_fresh_and_well_formed():
    nonces = {protocol.new_nonce() for _ in range(1000)}
    assert len(nonces) == 1000
    assert all(protocol.valid_nonce(n) for n in nonces)
    assert not protocol.valid_nonce("short")
    assert not protocol.valid_nonce("x" * 65)
    assert not protocol.valid_nonce("has space in it 1234")


def test_timestamp_window_is_300_seconds_both_ways():
    now = 1_795_478_400_000
    assert protocol.timestamp_fresh(now - 300_000, now)
    assert protocol.timestamp_fresh(str(now + 300_000), now)
    assert not protocol.timestamp_fresh(now - 300_001, now)
    assert not protocol.timestamp_fresh(now + 300_001, now)
    assert not protocol.timestamp_fresh("yesterday", now)


def test_response_body_carries_code_errors_retry_hint_and_encrypted_data():
    status, body = protocol.response_body(None, "SYSTEM_BUSY", retry_after=30)
    assert status == 503
    assert json.loads(body) == {"code": "9001", "message": "系统繁忙，请稍后重试 / system busy, retry later",
                                "retryAfter": 30}
    status, body = protocol.response_body(KEY, "SUCCESS", {"status": "issued"})
    outer = json.loads(body)
    assert status == 200 and outer["code"] == "0000"
    assert protocol.decrypt_payload(KEY, outer["data"]) == {"status": "issued"}
