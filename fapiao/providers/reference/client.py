"""HTTP client of our tax platform protocol (docs/protocol.md): the reference provider.

One :class:`requests.Session` per client (connection pooling, keep-alive);
every request is sealed (SM4-CBC) and signed (HMAC-SM3, or SM2 when a
private key is configured); every response must carry a valid signature
bound to the request's nonce before anything in it is believed.

Retries: passing failures (busy, platform error, timeout, dropped connection,
unreadable or unsigned answer) are retried after the waits of
``retry_schedule`` (by default 10 s, 30 s, 60 s; the platform's retryAfter
hint is honoured when longer). A submission is always resent with the same
serial number, and after any failure that leaves its fate unknown the serial
number is queried first: if the platform already has it, its result is
returned and nothing is sent again. Parameter, authentication and state
errors are never retried.

Every HTTP exchange is handed to ``exchange_hook`` (the Odoo layer writes it
to the interaction log) as a fapiao.provider.Exchange, secrets masked, with
the serial numbers, invoice and form numbers it concerns in ``references``.
"""

import base64
import binascii
import logging
import time
from dataclasses import InitVar, dataclass, field

import requests
from requests.adapters import HTTPAdapter

from ... import crypto, documents, ratelimit
from ...errors import (
    AuthenticationError,
    CryptoError,
    LoginRateLimited,
    LoginRequired,
    NotFound,
    ParameterError,
    PermissionDenied,
    PlatformError,
    PlatformInternalError,
    QuotaExceeded,
    ReplayRejected,
    ResponseSignatureError,
    RetriesExhausted,
    SerialRejected,
    StateConflict,
    SystemBusy,
    TransientError,
    TransportError,
    VoidNotAllowed,
)
from ...provider import CALLBACK_OK, DOWNLOAD_SERVICE, LoginStatus, Provider, mask, recording
from ...provider import Exchange as NeutralExchange
from . import callback, protocol, wire
from .capabilities import CAPABILITIES, QUERY_BATCH

# Logged under the name it has always had (fapiao.client): log configurations and the soak test
# that checks what reaches the server log select it by name.
_logger = logging.getLogger(__name__.rsplit(".providers.", 1)[0] + ".client")

DEFAULT_RETRY_SCHEDULE = (10, 30, 60)
MAX_QUERY_BATCH = QUERY_BATCH
_LOGGED_CONTENT_LIMIT = 200  # base64 file content is summarised in logs

_ERRORS_BY_CODE = {
    "1001": ParameterError, "1002": ParameterError, "1004": ParameterError,
    "1003": AuthenticationError,  # the platform could not decrypt: wrong SM4 key
    "2001": AuthenticationError, "2003": AuthenticationError, "2006": AuthenticationError,
    "2002": PermissionDenied,
    "2004": ReplayRejected, "2005": ReplayRejected,
    "2007": LoginRequired, "2008": LoginRateLimited, "2009": LoginRateLimited,
    "2010": SystemBusy,     # over the application's rate: refused before anything was read
    "3002": NotFound, "3003": StateConflict, "3004": VoidNotAllowed, "3005": QuotaExceeded,
    "3006": SerialRejected,
    "9001": SystemBusy, "9999": PlatformInternalError,
}
# Refusals that mean "your keys are not mine": nothing was processed.
_KEY_REFUSALS = frozenset({"1003", "2001", "2003", "2006"})
_HINTS = {
    "1003": "check the SM4 key configured for this application",
    "2001": "check the application id",
    "2003": "check the app secret (or SM2 key) configured for this application",
    "2004": "the server clock differs from the platform's by more than 5 minutes",
    "2007": "the drawer must log in to the tax bureau (电子税局) again; nothing was done: resume with the same "
            "serial number once logged in",
    "2008": "ask for a new QR code after retryAfter seconds",
    "2009": "ask for a new QR code after retryAfter seconds (the next China day)",
    "2010": "nothing was done; every client of this application together must keep to its rate_limit",
    "3006": "this serial number is taken by another kind of submission: continue under a new one",
}
SUCCESS_CODES = ("0000", "3001")


class Keyring:
    """An application's credentials, usable but not readable.

    Every operation that needs the app secret, the SM4 key or the SM2 private
    key is a closure over them, made in ``__init__``: no attribute, list or
    partial holds them, so that nothing which can walk attributes (a mail
    template's expressions, Odoo's ``safe_eval``, which refuses the dunder
    names such as ``__closure__``) reaches them through an object it is given.
    """

    __slots__ = ("decrypt", "mask", "open_envelope", "request_headers", "response_headers", "seal",
                 "signature_matches", "signs_with_sm2")

    def __init__(self, secret, sm4_key, sm2_private_key=""):
        for name, value in (("secret", secret), ("sm4_key", sm4_key)):
            if not isinstance(value, str) or not value.strip():
                raise CryptoError(f"platform configuration: {name} is required")
        try:
            key = bytes.fromhex(sm4_key.strip())
        except ValueError:
            raise CryptoError("platform configuration: the SM4 key must be 32 hex digits") from None
        if len(key) != crypto.SM4_KEY_SIZE:
            raise CryptoError(
                f"platform configuration: the SM4 key must be 32 hex digits, got {len(sm4_key.strip())}")
        sm2_private_key = (sm2_private_key or "").strip()
        # what a log line must never show, in the spellings a key travels in
        hidden = [secret, sm4_key, sm4_key.strip().lower(), sm4_key.strip().upper(),
                  base64.b64encode(key).decode(), sm2_private_key, sm2_private_key.lower(), sm2_private_key.upper()]
        hidden = sorted({value for value in hidden if value}, key=len, reverse=True)

        def seal(payload):
            return protocol.seal(key, payload)

        def decrypt(data):
            return protocol.decrypt_payload(key, data)

        def open_envelope(body):
            return protocol.open_envelope(key, body)

        def request_headers(app_id, path, body, **kwargs):
            return protocol.request_headers(app_id, secret, path, body, sm2_private_key=sm2_private_key or None,
                                            **kwargs)

        def signature_matches(canonical, signature):
            return protocol.signature_matches(secret, canonical, signature)

        def response_headers(status, path, request_nonce, body):
            return protocol.response_headers(secret, status, path, request_nonce, body)

        def mask_secrets(value):
            return mask(value, hidden)

        setter = object.__setattr__
        for name, function in (("seal", seal), ("decrypt", decrypt), ("open_envelope", open_envelope),
                               ("request_headers", request_headers), ("signature_matches", signature_matches),
                               ("response_headers", response_headers), ("mask", mask_secrets)):
            setter(self, name, function)
        setter(self, "signs_with_sm2", bool(sm2_private_key))

    def __setattr__(self, name, value):
        raise AttributeError("a Keyring cannot be changed")

    def __repr__(self):
        return "<Keyring>"


@dataclass
class ClientConfig:
    """Where and as whom to call the platform. The secret and the keys are taken by the
    constructor and kept only inside :attr:`keys` (a :class:`Keyring`), never as attributes."""

    base_url: str
    app_id: str
    secret: InitVar[str]
    sm4_key: InitVar[str]                   # 32 hex digits
    sm2_private_key: InitVar[str] = ""      # optional: sign with SM2 instead of HMAC-SM3
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    retry_schedule: tuple = DEFAULT_RETRY_SCHEDULE
    verify_tls: bool = True
    # Requests a second the application may send, every client of it together (0: no limit); connect()
    # sets the company's rate_limit, or the platform's published one.
    rate_limit: float = 0.0
    keys: Keyring = field(init=False, repr=False, compare=False)

    def __post_init__(self, secret, sm4_key, sm2_private_key):
        for name in ("base_url", "app_id"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name).strip():
                raise CryptoError(f"platform configuration: {name} is required")
        self.keys = Keyring(secret, sm4_key, sm2_private_key)
        self.base_url = self.base_url.rstrip("/")


class Exchange(NeutralExchange):
    """An exchange in our protocol: it succeeded when the platform answered 0000 or 3001, whatever
    happened after (a success whose data would not decrypt is logged as the platform's success,
    with the error beside it)."""

    succeeded = property(lambda self: self.code in SUCCESS_CODES, lambda self, _value: None)


def _summarise_content(payload):
    if isinstance(payload, dict) and isinstance(payload.get("content"), str) \
            and len(payload["content"]) > _LOGGED_CONTENT_LIMIT:
        payload = dict(payload, content=f"<{len(payload['content'])} base64 characters>")
    return payload


class PlatformClient(Provider):
    """The platform over HTTP. Thread-safe enough to share within one process
    for sequential use; create one per worker for concurrency. Every request
    first waits for ``rate_limiter`` (a fapiao.ratelimit limiter shared by every
    client of the application; default: this process's) at ``config.rate_limit``."""

    capabilities = CAPABILITIES

    def __init__(self, config, *, exchange_hook=None, sleep=time.sleep, session=None, rate_limiter=None):
        self.config = config
        self.exchange_hook = exchange_hook
        self._sleep = sleep
        self._rate_limiter = rate_limiter or ratelimit.PROCESS_LIMITER
        self._session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def close(self):
        self._session.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # --- one exchange -------------------------------------------------------

    def call(self, service, payload, *, serial_no="", attempt=1, references=None):
        """Send one request and return ``(code, data)``; raise on any failure.

        ``code`` is "0000" or "3001" (duplicate serial number: ``data`` is the
        original result). No retry here. ``references`` (and ``serial_no``) say
        what the exchange concerns, for the log.
        """
        path = protocol.SERVICES[service]
        keys = self.config.keys
        # Before the request is signed, so that its timestamp is when it leaves; and outside the
        # recorded exchange, whose duration is the platform's, not this queue's.
        self._rate_limiter.acquire(self.config.app_id, self.config.rate_limit)
        body = keys.seal(payload)
        headers = keys.request_headers(self.config.app_id, path, body)
        nonce = headers[protocol.H_NONCE]
        references = dict(references or {})
        if serial_no:
            references["serial_no"] = serial_no
        exchange = Exchange(service=service, path=path, references=references, attempt=attempt,
                            request=keys.mask(payload), started_at=time.time())
        with recording(exchange, self.exchange_hook, _logger, keys.mask):
            try:
                response = self._session.post(
                    self.config.base_url + path, data=body, headers=headers,
                    timeout=(self.config.connect_timeout, self.config.read_timeout),
                    verify=self.config.verify_tls,
                )
            except requests.Timeout as error:
                raise TransportError(f"the tax platform did not answer in time; try again later "
                                     f"({service}: {type(error).__name__})",
                                     message_zh="税务平台未及时响应，请稍后重试。") from None
            except requests.RequestException as error:
                raise TransportError(f"the tax platform could not be reached; try again later "
                                     f"({service}: {type(error).__name__})",
                                     message_zh="无法连接税务平台，请稍后重试。") from None
            exchange.http_status = response.status_code
            return self._read_response(service, path, nonce, response, exchange)

    def _read_response(self, service, path, nonce, response, exchange):
        raw = response.content
        try:
            outer = protocol.parse_json_object(raw)
        except protocol.EnvelopeError:
            raise TransportError(
                f"{service}: unreadable answer (HTTP {response.status_code}, {len(raw)} bytes)",
                message_zh="税务平台的应答无法识别，请稍后重试。", http_status=response.status_code,
            ) from None
        code = str(outer.get("code") or "")
        exchange.code, exchange.message = code, str(outer.get("message") or "")[:500]
        signed = self._signature_ok(response, path, nonce, raw)
        if signed is False and code in _KEY_REFUSALS:
            # The platform signs with the secret it knows: when ours is wrong, its
            # refusal cannot verify either. Nothing was processed; say so plainly.
            error = self._error_for(service, code, outer)
            error.message += " (the answer's signature does not verify with this secret either)"
            raise error
        if signed is False:
            raise ResponseSignatureError(f"{service}: the answer's signature does not verify; not trusted",
                                         message_zh=f"{service}：平台响应签名验证失败，结果不可信")
        if signed is None and (code in SUCCESS_CODES or code not in protocol.RETURN_CODES):
            # An unsigned answer is believed only as a refusal of the request.
            raise ResponseSignatureError(f"{service}: unsigned answer; not trusted",
                                         message_zh=f"{service}：平台响应未签名，结果不可信")
        data = None
        if "data" in outer:
            try:
                data = self.config.keys.decrypt(outer["data"])
            except protocol.EnvelopeError as error:
                raise TransportError(f"{service}: the answer's data does not decrypt ({error})",
                                     message_zh="税务平台的应答无法解密，请稍后重试。") from None
            exchange.response = _summarise_content(data)
        if code in SUCCESS_CODES:
            return code, data or {}
        raise self._error_for(service, code, outer)

    def _signature_ok(self, response, path, nonce, raw):
        """True if validly signed, False if signed wrongly, None if unsigned."""
        signature = response.headers.get(protocol.H_SIGNATURE)
        if not signature:
            return None
        if response.headers.get(protocol.H_REQUEST_NONCE) != nonce:
            return False
        canonical = protocol.canonical_response(
            response.status_code, path, response.headers.get(protocol.H_TIMESTAMP, ""),
            response.headers.get(protocol.H_NONCE, ""), request_nonce=nonce, body=raw,
        )
        return self.config.keys.signature_matches(canonical, signature)

    def _error_for(self, service, code, outer):
        return_code = protocol.RETURN_CODES.get(code)
        cls = _ERRORS_BY_CODE.get(code, PlatformError)
        raw_errors = outer.get("errors")
        errors = [wire.field_error_from_wire(e) for e in raw_errors if isinstance(e, dict)] \
            if isinstance(raw_errors, list) else []
        message = str(outer.get("message") or (return_code.message_en if return_code else "error"))
        if return_code and message == f"{return_code.message_zh} / {return_code.message_en}":
            message = return_code.message_en    # the code's default words, one language each
        detail = "; ".join(str(e) for e in errors)
        hint = _HINTS.get(code, "")
        text = f"{service}: platform code {code}: {message}" + (f" ({detail})" if detail else "") + \
            (f"; {hint}" if hint else "")
        # what a person reads: no service or wire field names (the log keeps them)
        zh = f"税务平台返回 {code}：" + (return_code.message_zh if return_code else message)
        if errors:
            zh += "（" + "；".join(e.message_zh for e in errors) + "）"
        retry_after = outer.get("retryAfter")
        retry_after = retry_after if isinstance(retry_after, (int, float)) and retry_after >= 0 else None
        return cls(text, message_zh=zh, platform_code=code, errors=errors, retry_after=retry_after)

    # --- retries -----------------------------------------------------------------

    def _waits(self):
        return [0, *self.config.retry_schedule]

    def _wait(self, planned, error):
        delay = max(planned, error.retry_after or 0) if error is not None else planned
        if delay:
            self._sleep(delay)

    def _retrying(self, service, payload, references=None):
        """Safe (read-only) calls: retry passing failures as they are."""
        last = None
        for attempt, planned in enumerate(self._waits(), start=1):
            if attempt > 1:
                self._wait(planned, last)
            try:
                return self.call(service, payload, attempt=attempt, references=references)[1]
            except TransientError as error:
                last = error
        raise self._exhausted(service, last)

    def _submit(self, service, payload, serial_no, lookup, references=None):
        """A submission under a fixed serial number: never sent again before
        its fate is known when an earlier attempt may have reached the platform."""
        last, uncertain = None, False
        for attempt, planned in enumerate(self._waits(), start=1):
            if attempt > 1:
                self._wait(planned, last)
            try:
                if uncertain:
                    found = lookup()
                    if found is not None:
                        return found
                return self.call(service, payload, serial_no=serial_no, attempt=attempt, references=references)
            except TransientError as error:
                last = error
                uncertain = uncertain or error.ambiguous
        raise self._exhausted(service, last, serial_no=serial_no, ambiguous=uncertain)

    @staticmethod
    def _exhausted(service, last, serial_no="", ambiguous=False):
        error = RetriesExhausted(
            f"{service}{f' {serial_no}' if serial_no else ''}: still failing after retries: {last}",
            message_zh=f"多次重试后仍失败：{last.message_zh if last else ''}",
            platform_code=getattr(last, "platform_code", None),
            retry_after=getattr(last, "retry_after", None),
        )
        error.ambiguous = ambiguous
        error.__cause__ = last
        return error

    # --- the provider contract ---------------------------------------------------------

    def issue(self, invoice):
        payload = wire.to_wire(invoice)
        code, data = self._submit("invoice.issue", payload, invoice.serial_no,
                                  lambda: self._lookup_invoice(invoice.serial_no))
        return self._invoice_result(code, data)

    def issue_red_invoice(self, serial_no, form_number):
        payload = {"serialNo": serial_no, "formNumber": form_number}
        code, data = self._submit("redinvoice.issue", payload, serial_no, lambda: self._lookup_invoice(serial_no),
                                  references={"form_number": form_number})
        return self._invoice_result(code, data)

    def _lookup_invoice(self, serial_no):
        # One attempt: the submission loop around it does the retrying.
        _code, data = self.call("invoice.query", {"serialNos": [serial_no]}, serial_no=serial_no)
        for item in data.get("results") or []:
            if isinstance(item, dict) and item.get("serialNo") == serial_no:
                return "3001", item
        return None

    @staticmethod
    def _invoice_result(code, data):
        result = wire.from_wire(documents.InvoiceResult, data)
        result.duplicate = code == "3001"
        return result

    def query(self, serial_nos):
        serial_nos = list(dict.fromkeys(serial_nos))
        results = {}
        for start in range(0, len(serial_nos), MAX_QUERY_BATCH):
            batch = serial_nos[start:start + MAX_QUERY_BATCH]
            data = self._retrying("invoice.query", {"serialNos": batch}, {"serial_nos": batch})
            for item in data.get("results") or []:
                result = wire.from_wire(documents.InvoiceResult, item)
                results[result.serial_no] = result
        return results

    def void(self, invoice_number):
        data = self._retrying("invoice.void", {"invoiceNumber": invoice_number}, {"invoice_number": invoice_number})
        return wire.from_wire(documents.InvoiceResult, data) if data else None

    def apply_red_form(self, form):
        def lookup():
            _code, data = self.call("redform.query", {"serialNos": [form.serial_no]}, serial_no=form.serial_no)
            forms = [item for item in data.get("forms") or [] if isinstance(item, dict)]
            return ("3001", forms[0]) if forms else None

        _code, data = self._submit("redform.apply", wire.to_wire(form), form.serial_no, lookup)
        return wire.from_wire(documents.RedFormResult, data)

    def query_red_forms(self, form_numbers=(), serial_nos=()):
        payload, references = {}, {}
        if form_numbers:
            payload["formNumbers"] = references["form_numbers"] = list(form_numbers)
        if serial_nos:
            payload["serialNos"] = references["serial_nos"] = list(serial_nos)
        data = self._retrying("redform.query", payload, references)
        return [wire.from_wire(documents.RedFormResult, item) for item in data.get("forms") or []]

    def list_red_forms(self, direction="inbound", status=None, since=None):
        payload = {"direction": direction}
        if status:
            payload["status"] = status
        if since:
            payload["since"] = since
        data = self._retrying("redform.list", payload)
        forms = documents.Listing(wire.from_wire(documents.RedFormResult, item) for item in data.get("forms") or [])
        server_time = data.get("serverTime")
        forms.server_time = server_time if isinstance(server_time, int) and not isinstance(server_time, bool) else 0
        return forms

    def _form_action(self, service, form_number, target_states, **extra):
        """Confirm / reject / revoke. A state conflict after a retry may mean an earlier
        attempt went through: the form being in the state asked for is success."""
        payload = {"formNumber": form_number, **extra}
        try:
            data = self._retrying(service, payload, {"form_number": form_number})
        except StateConflict:
            current = self.query_red_forms(form_numbers=[form_number])
            if current and current[0].status in target_states:
                return current[0]
            raise
        return wire.from_wire(documents.RedFormResult, data)

    def confirm_red_form(self, form_number):
        return self._form_action("redform.confirm", form_number, ("04",))

    def reject_red_form(self, form_number, reason=""):
        return self._form_action("redform.reject", form_number, ("05", "06"), reason=reason)

    def revoke_red_form(self, form_number):
        return self._form_action("redform.revoke", form_number, ("08", "09"))

    def download_catalogue(self, since=0):
        entries, page, server_time = [], 1, 0
        while True:
            data = self._retrying("catalogue.download", {"since": since, "page": page, "pageSize": 1000})
            entries.extend(wire.from_wire(documents.CatalogueEntry, item) for item in data.get("items") or [])
            server_time = data.get("serverTime") or server_time
            page_count = data.get("pageCount") or 1
            if not isinstance(page_count, int) or page >= page_count:
                return entries, server_time
            page += 1

    def query_quota(self):
        return wire.from_wire(documents.QuotaResult, self._retrying("quota.query", {}))

    def download_document(self, invoice_number, file_format="pdf", serial_no=""):
        data = self._retrying(DOWNLOAD_SERVICE, {"invoiceNumber": invoice_number, "format": file_format},
                              {"invoice_number": invoice_number})
        try:
            content = base64.b64decode(data.get("content") or "", validate=True)
        except (binascii.Error, ValueError):
            raise TransportError("document.download: the file content is not base64") from None
        expected = str(data.get("sm3") or "")
        if expected and crypto.sm3_hex(content) != expected.lower():
            raise TransportError("document.download: the file does not match its SM3 checksum")
        return documents.DocumentFile(
            invoice_number=invoice_number, format=file_format,
            file_name=str(data.get("fileName") or f"{invoice_number}.{file_format}"),
            content=content, sm3=expected,
        )

    # --- the drawer's tax-bureau login (§6.9) ------------------------------------------------------

    def login_status(self):
        return self._login_status(self._retrying("login.status", {}))

    def login_start(self):
        """One attempt: a retry after a lost answer would be refused as too soon (2008), and a person
        is there to ask again."""
        return self._login_status(self.call("login.qrcode", {})[1])

    def login_complete(self):
        return self._login_status(self._retrying("login.verify", {}))

    @staticmethod
    def _login_status(data):
        expires_at = data.get("expiresAt")
        expires_at = expires_at if isinstance(expires_at, int) and not isinstance(expires_at, bool) else 0
        return LoginStatus(logged_in=data.get("loggedIn") is True, message=str(data.get("message") or ""),
                           qr_content=str(data.get("qrContent") or ""), qr_expires_at=expires_at / 1000)

    def open_callback(self, path, headers, body, claim_nonce):
        return callback.open_callback(self.config.keys, self.config.app_id, path, headers, body,
                                      claim_nonce=claim_nonce)

    def callback_answer(self, path, headers, outcome=CALLBACK_OK, message="", retry_after=None):
        return callback.answer(self.config.keys, path, headers, outcome, message=message, retry_after=retry_after)

    def callback_code(self, outcome):
        return protocol.RETURN_CODES[protocol.CODE[outcome]].code

    def test_connection(self):
        """A cheap authenticated round trip (the quota query) without retries."""
        _, data = self.call("quota.query", {})
        return wire.from_wire(documents.QuotaResult, data)
