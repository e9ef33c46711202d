"""Fuzzing of everything that reads bytes from the network: whatever arrives,
the envelope code and the client's response decoding end in a structured
error (EnvelopeError, PlatformError), never a crash."""

import base64
import json

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fapiao.errors import FieldError, PlatformError
from fapiao.providers.reference import protocol
from fapiao.providers.reference.client import ClientConfig, PlatformClient

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")
SECRET = "sandbox-demo-secret"
PATH = "/v1/invoices/issue"
NONCE = "0" * 32

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(body=st.binary(max_size=300))
def test_open_envelope_on_any_bytes_raises_only_envelope_errors(body):
    try:
        protocol.open_envelope(KEY, body)
    except protocol.EnvelopeError as error:
        assert error.kind in ("malformed", "decryption")


@FUZZ
@given(data=st.text(max_size=200) | st.builds(lambda b: base64.b64encode(b).decode(), st.binary(max_size=200)))
def test_decrypt_payload_on_any_text_raises_only_envelope_errors(data):
    try:
        assert isinstance(protocol.decrypt_payload(KEY, data), dict)
    except protocol.EnvelopeError:
        pass


@FUZZ
@given(value=JSON_VALUES)
def test_field_errors_from_any_json(value):
    error = FieldError.from_wire(value)
    assert isinstance(error.field, str) and isinstance(error.message, str)


def _response(status, body, headers):
    """A requests.Response as the transport would hand it over (no network involved)."""
    response = requests.Response()
    response.status_code = status
    response._content = body
    response.headers.update(headers)
    return response


def _signed(status, body):
    return protocol.response_headers(SECRET, status, PATH, NONCE, body)


OUTER = st.fixed_dictionaries(
    {"code": st.sampled_from([*protocol.RETURN_CODES, "", "42", None]) | st.text(max_size=5)},
    optional={"message": JSON_VALUES, "errors": JSON_VALUES, "retryAfter": JSON_VALUES,
              "data": st.text(max_size=50) | JSON_VALUES},
)


@FUZZ
@given(status=st.sampled_from([200, 400, 401, 404, 409, 500, 503]), outer=OUTER,
       payload=JSON_VALUES, encrypt=st.booleans(), sign=st.sampled_from(["good", "bad", "none"]))
def test_client_decoding_of_any_answer_is_a_result_or_a_platform_error(status, outer, payload, encrypt, sign):
    if encrypt:
        outer = dict(outer, data=protocol.encrypt_payload(KEY, payload))
    body = json.dumps(outer, default=str).encode()
    headers = {"good": _signed(status, body), "bad": _signed(status, body + b" "), "none": {}}[sign]
    client = PlatformClient(ClientConfig("http://127.0.0.1:9", "sandbox-demo", SECRET, KEY.hex()))
    try:
        code, data = client._read_response("invoice.issue", PATH, NONCE, _response(status, body, headers),
                                            exchange=_Exchange())
    except PlatformError as error:
        assert error.message  # says what went wrong
        return
    # success is believed only when signed and one of the two success codes
    assert sign == "good" and code in ("0000", "3001") and isinstance(data, dict)


@FUZZ
@given(body=st.binary(max_size=200), status=st.integers(100, 599))
def test_client_decoding_of_any_bytes(body, status):
    client = PlatformClient(ClientConfig("http://127.0.0.1:9", "sandbox-demo", SECRET, KEY.hex()))
    try:
        client._read_response("invoice.query", PATH, NONCE, _response(status, body, _signed(status, body)),
                              exchange=_Exchange())
    except PlatformError:
        pass


class _Exchange:
    code = message = ""
    response = None
