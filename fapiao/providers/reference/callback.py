"""Platform-to-ERP callbacks of our protocol (docs/protocol.md §8), both ends in one place.

The platform seals and signs an event like a request (:func:`seal`); the ERP
verifies and opens it (:func:`open_callback`, in the platform's own order of
checks) and answers in the protocol's JSON, signed for the callback's nonce
(:func:`answer`). The sandbox sends with the first; the provider offers the
other two to the Odoo layer (Provider.open_callback / callback_answer).

Every function takes the credentials as a client Keyring: nothing here holds
them.
"""

from ...documents import InvoiceResult, RedFormResult
from ...errors import ValidationFailed
from ...provider import (
    CALLBACK_INVALID,
    CALLBACK_INVOICE,
    CALLBACK_MALFORMED,
    CALLBACK_RED_FORM,
    CALLBACK_UNDECRYPTABLE,
    CallbackEvent,
    CallbackRefused,
)
from . import protocol, wire

REQUIRED_HEADERS = (protocol.H_APP_ID, protocol.H_TIMESTAMP, protocol.H_NONCE, protocol.H_SIGNATURE)
EVENTS = {"invoice.issued": CALLBACK_INVOICE, "invoice.failed": CALLBACK_INVOICE,
          "redform.changed": CALLBACK_RED_FORM}
_RESULTS = {CALLBACK_INVOICE: (InvoiceResult, "serialNo"), CALLBACK_RED_FORM: (RedFormResult, "formNumber")}
MAX_EVENT_TEXT = 128        # eventId and event: ids, not documents
JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def seal(keys, app_id, path, event):
    """``(body, headers)`` of a callback carrying ``event`` ({"eventId", "event", "occurredAt",
    "data"}) to a URL whose path is ``path``: sealed and signed like a request, with a fresh
    timestamp and nonce (every delivery attempt is a new message)."""
    body = keys.seal(event)
    return body, keys.request_headers(app_id, path, body)


def open_callback(keys, app_id, path, headers, body, *, claim_nonce, window_ms=protocol.TIMESTAMP_WINDOW_MS):
    """The CallbackEvent a callback POSTed to ``path`` brings, or CallbackRefused.

    Checked in this order, as the platform checks requests (§3.5): authentication headers,
    application id, timestamp window, HMAC-SM3 signature, then ``claim_nonce(nonce)`` (False: a
    replay), then the envelope, then the event. ``keys`` None (no usable credentials) verifies
    nothing: BAD_SIGNATURE."""
    missing = [name for name in REQUIRED_HEADERS if not headers.get(name)]
    if missing:
        raise CallbackRefused("MISSING_AUTH", "authentication headers missing: " + ", ".join(missing))
    nonce = headers.get(protocol.H_NONCE)
    if not protocol.valid_nonce(nonce):
        raise CallbackRefused("MISSING_AUTH", "X-Nonce must be 16-64 characters of [0-9A-Za-z]")
    if headers.get(protocol.H_APP_ID) != app_id:
        raise CallbackRefused("UNKNOWN_APP", "application id is not this company's")
    timestamp = headers.get(protocol.H_TIMESTAMP)
    if not protocol.timestamp_fresh(timestamp, window_ms=window_ms):
        raise CallbackRefused("STALE_TIMESTAMP", f"timestamp more than {window_ms // 1000} s away from our clock")
    # Callbacks are signed with the app secret only: the platform has no SM2 key of ours to sign with.
    sign_type = headers.get(protocol.H_SIGN_TYPE) or protocol.SIGN_TYPE_HMAC
    canonical = protocol.canonical_request("POST", path, timestamp, nonce, body)
    if keys is None or sign_type != protocol.SIGN_TYPE_HMAC \
            or not keys.signature_matches(canonical, headers.get(protocol.H_SIGNATURE)):
        raise CallbackRefused("BAD_SIGNATURE", "signature does not verify")
    if not claim_nonce(nonce):
        raise CallbackRefused("REPLAYED_NONCE", "nonce already used")
    try:
        payload = keys.open_envelope(body)
    except protocol.EnvelopeError as error:
        code = CALLBACK_UNDECRYPTABLE if error.kind == "decryption" else CALLBACK_MALFORMED
        raise CallbackRefused(code, str(error)) from None
    except RecursionError:
        raise CallbackRefused(CALLBACK_MALFORMED, "the payload nests too deeply") from None
    return _event(keys, payload)


def _event(keys, payload):
    problems = [name for name in ("eventId", "event") if not isinstance(payload.get(name), str)
                or not payload[name] or len(payload[name]) > MAX_EVENT_TEXT]
    data = payload.get("data")
    if not isinstance(data, dict):
        problems.append("data")
    if problems:
        raise CallbackRefused(CALLBACK_INVALID, "invalid or missing: " + ", ".join(problems))
    kind = EVENTS.get(payload["event"], "")
    result = None
    if kind:
        cls, key = _RESULTS[kind]
        try:
            result = wire.from_wire(cls, data)
        except ValidationFailed as error:
            raise CallbackRefused(CALLBACK_INVALID, keys.mask(str(error))) from None
        if not data.get(key):
            raise CallbackRefused(CALLBACK_INVALID, f"data.{key} is required")
    references = {name: data[key] for name, key in (("serial_no", "serialNo"), ("form_number", "formNumber"),
                                                     ("invoice_number", "invoiceNumber"))
                  if isinstance(data.get(key), str) and data[key]}
    occurred_at = payload.get("occurredAt")
    return CallbackEvent(event_id=payload["eventId"], name=payload["event"], kind=kind, result=result,
                         occurred_at=occurred_at[:64] if isinstance(occurred_at, str) else "",
                         payload=keys.mask(payload), references=references)


def answer(keys, path, headers, outcome, *, message="", retry_after=None):
    """``(http_status, headers, body)`` answering a callback with ``outcome`` (a name of
    protocol.CODE: SUCCESS, a refusal's code, SYSTEM_BUSY ...): signed for the callback's nonce
    when there are keys and the nonce is well formed (as the platform signs answers, §4.2)."""
    if outcome not in protocol.CODE:
        raise ValueError(f"{outcome!r} is not an answer of the protocol")
    status, body = protocol.response_body(None, outcome, message=message or None, retry_after=retry_after)
    nonce = headers.get(protocol.H_NONCE) or ""
    if keys is None or not protocol.valid_nonce(nonce):
        return status, dict(JSON_HEADERS), body
    return status, keys.response_headers(status, path, nonce, body), body
