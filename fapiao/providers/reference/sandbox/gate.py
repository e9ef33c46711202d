"""The /v1 request pipeline: the checks of docs/protocol.md §3.5 in their
order (the application's rate as soon as it is known), then fault injection,
then the service, then the signed answer.

No refusal before the service changes anything but the nonce table, and a
nonce is only recorded once its request's signature verified.
"""

import json
import logging
from dataclasses import dataclass, field

from .... import crypto
from ....errors import CryptoError
from ...loopback import RateWindow
from .. import protocol
from ..wire import errors_to_wire
from .clock import real_ms
from .refusal import Refusal

_logger = logging.getLogger(__name__)

REQUIRED_HEADERS = (protocol.H_APP_ID, protocol.H_TIMESTAMP, protocol.H_NONCE, protocol.H_SIGNATURE)


# Faults after which the client gets no usable answer (slow alone still answers).
FAILING_FAULTS = frozenset({"busy", "drop", "malformed", "timeout", "lost"})
RATE_WINDOW = 1.0           # seconds (real clock), sliding: an application's rate is per second
RATE_RETRY_AFTER = 1        # seconds: by then the window has moved on


@dataclass
class Request:
    method: str
    path: str                 # without the query
    query: str
    headers: object           # case-insensitive mapping (http.client.HTTPMessage)
    body: bytes
    client_ip: str


@dataclass
class Reply:
    """What the HTTP layer sends back (or, with ``drop``, does not)."""

    status: int
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    drop: bool = False        # close the connection without answering
    delay: float = 0.0        # seconds to hold the answer back (timeout fault)
    code: str = ""            # the return code, for the request counters


def json_reply(status, value):
    """A plain JSON answer (admin endpoint, health check)."""
    return Reply(status, json.dumps(value, ensure_ascii=False).encode(),
                 {"Content-Type": "application/json; charset=utf-8"})


def unsigned(code_name, message=None):
    status, body = protocol.response_body(None, code_name, message=message)
    return Reply(status, body, {"Content-Type": "application/json; charset=utf-8"})


def _signed(app, path, request_nonce, code_name, data=None, **extra):
    """An answer signed with the application's secret and bound to the request's nonce."""
    status, payload = protocol.response_body(app.sm4_key, code_name, data, **extra)
    return Reply(status, payload, protocol.response_headers(app.secret_bytes, status, path, request_nonce, payload),
                 code=protocol.CODE[code_name])


class Gateway:
    def __init__(self, store, apps, services, faults, *, timestamp_window, stopping, rate_limit=0.0):
        self.store = store
        self.apps = apps
        self.services = services
        self.faults = faults
        self.window_ms = int(timestamp_window * 1000)
        self.stopping = stopping
        self.rate_limit = rate_limit        # of an application without its own (0: no limit)
        self.rate_window = RateWindow(RATE_WINDOW)

    def rate_of(self, app):
        """Requests a second the application may send (0: no limit)."""
        return self.rate_limit if app.rate_limit is None else app.rate_limit

    def handle(self, request):
        """Answer one request."""
        headers = request.headers
        name = protocol.PATHS.get(request.path) if request.method == "POST" else None
        if name is None:
            return unsigned("UNKNOWN_SERVICE", f"服务不存在 / unknown service: {request.method} {request.path}")
        missing = [h for h in REQUIRED_HEADERS if not headers.get(h)]
        if missing:
            return unsigned("MISSING_AUTH", f"缺少认证请求头 / authentication headers missing: {', '.join(missing)}")
        nonce = headers.get(protocol.H_NONCE)
        if not protocol.valid_nonce(nonce):
            return unsigned("MISSING_AUTH", "X-Nonce 格式错误 / X-Nonce must be 16-64 characters of [0-9A-Za-z]")
        app = self.apps.get(headers.get(protocol.H_APP_ID))
        if app is None or not app.enabled:
            return unsigned("UNKNOWN_APP")
        if self.rate_window.arrive(app.app_id, self.rate_of(app)):
            # refused before anything is read or checked: not even the nonce is used
            reply = _signed(app, request.path, nonce, "RATE_LIMITED", retry_after=RATE_RETRY_AFTER)
        else:
            reply = self._authenticated(app, name, request, nonce)
        self.store.count_request(app.app_id, name, "dropped" if reply.drop else reply.code)
        return reply

    def unreadable(self, path, headers, reason_en, reason_zh):
        """1002 for a request the HTTP layer could not read (garbage request line, chunked,
        over-size or short body), whose body nobody looked at.

        Signed, as every answer is once the platform knows the application (§4.2), when the
        headers name an enabled application and carry a well-formed nonce to bind it to;
        otherwise unsigned. Nothing else is checked: the request was not read.
        """
        message = f"{reason_zh} / {reason_en}"
        nonce = headers.get(protocol.H_NONCE) if headers is not None else None
        app = self.apps.get(headers.get(protocol.H_APP_ID)) if headers is not None else None
        if app is None or not app.enabled or not protocol.valid_nonce(nonce):
            return unsigned("MALFORMED_REQUEST", message)
        reply = _signed(app, path, nonce, "MALFORMED_REQUEST", message=message)
        self.store.count_request(app.app_id, protocol.PATHS.get(path) or "http", reply.code)
        return reply

    def _authenticated(self, app, name, request, nonce):
        path, headers, body = request.path, request.headers, request.body

        def answer(code_name, data=None, **extra):
            return _signed(app, path, nonce, code_name, data, **extra)

        def refused(refusal):
            return answer(refusal.code_name, refusal.data, message=refusal.message, errors=refusal.errors,
                          retry_after=refusal.retry_after)

        if not protocol.timestamp_fresh(headers.get(protocol.H_TIMESTAMP), real_ms(), self.window_ms):
            return answer("STALE_TIMESTAMP", message=f"时间戳超出允许范围 / timestamp more than "
                                                     f"{self.window_ms // 1000} s away from the platform clock")
        if not self._signature_ok(app, path, headers, body, nonce):
            return answer("BAD_SIGNATURE")
        if not self.store.record_nonce(app.app_id, nonce, real_ms()):
            return answer("REPLAYED_NONCE")
        try:
            # Integers are read so that no digit string, however long, fails the parse:
            # payload_errors below reports those out of range, with their paths.
            payload = protocol.open_envelope(app.sm4_key, body, parse_int=protocol.read_integer)
        except protocol.EnvelopeError as error:
            code_name = "DECRYPTION_FAILED" if error.kind == "decryption" else "MALFORMED_REQUEST"
            return answer(code_name, message=f"{protocol.RETURN_CODES[protocol.CODE[code_name]].message_zh} / "
                                             f"{error}")
        except RecursionError:
            return answer("MALFORMED_REQUEST", message="请求格式错误 / the payload nests too deeply")
        # Values no service could store or echo (64-bit integers, UTF-8 text) are refused
        # before any service reads the payload, every one of them with its path.
        errors = protocol.payload_errors(payload)
        if errors:
            return answer("PARAMETER_ERROR", errors=errors_to_wire(errors))
        try:
            args = self.services.read(name, payload)
        except Refusal as refusal:
            return refused(refusal)

        settings = self.faults.settings(app)
        if settings.login_lapsed and name in protocol.BUREAU_SERVICES:
            self.store.count_fault(app.app_id, "loginLapsed")
            return answer("LOGIN_REQUIRED")
        faults = self.faults.draw(app)
        # busy and drop pre-empt the others: only what happens is counted.
        faults = next(({f} for f in ("busy", "drop") if f in faults), faults)
        for fault in faults:
            self.store.count_fault(app.app_id, fault)
        if faults & FAILING_FAULTS:  # one failed request, however many faults made it fail
            self.store.count_fault(app.app_id, "failedRequests")
        if "busy" in faults:
            return answer("SYSTEM_BUSY", retry_after=settings.retry_after)
        if "drop" in faults:
            return Reply(0, drop=True)
        if "slow" in faults:
            self.stopping.wait(settings.slow_seconds)
        try:
            reply = answer("SUCCESS", self.services.run(name, app, args))
        except Refusal as refusal:
            reply = refused(refusal)
        except Exception:
            _logger.exception("service %s failed for app %s", name, app.app_id)
            reply = answer("SYSTEM_ERROR")
        if "lost" in faults:    # done, and nobody hears of it
            return Reply(0, drop=True)
        if "malformed" in faults:
            # Half of a JSON object is never JSON; signed, so only the body is wrong.
            broken = reply.body[: len(reply.body) // 2]
            reply = Reply(200, broken, protocol.response_headers(app.secret_bytes, 200, path, nonce, broken),
                          code=reply.code)
        if "timeout" in faults:
            reply.delay = settings.timeout_seconds
        return reply

    @staticmethod
    def _signature_ok(app, path, headers, body, nonce):
        canonical = protocol.canonical_request("POST", path, headers.get(protocol.H_TIMESTAMP), nonce, body)
        signature = headers.get(protocol.H_SIGNATURE)
        sign_type = headers.get(protocol.H_SIGN_TYPE) or protocol.SIGN_TYPE_HMAC
        if sign_type == protocol.SIGN_TYPE_HMAC:
            return protocol.signature_matches(app.secret_bytes, canonical, signature)
        if sign_type == protocol.SIGN_TYPE_SM2 and app.sm2_public_key:
            try:
                return crypto.sm2_verify(app.sm2_public_key, canonical, signature)
            except CryptoError:
                return False
        return False
