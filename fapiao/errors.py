"""Exceptions raised by the fapiao package.

Every error carries a stable ``code`` and an English message; where a person
will read it, a Chinese message too (``message_zh``). Messages never contain
key material.
"""

from .problems import default_location, locate, split_location


class FapiaoError(Exception):
    """Base class of every error raised by :mod:`fapiao`."""

    code = "FAPIAO_ERROR"

    def __init__(self, message, *, code=None, message_zh=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.message_zh = message_zh or message


class CryptoError(FapiaoError, ValueError):
    """A key of the wrong type or length, or data that does not decrypt or verify."""

    code = "CRYPTO_ERROR"


class InvalidTaxpayerId(FapiaoError, ValueError):
    """A taxpayer identification number that is not well formed.

    ``reason`` is one of ``empty``, ``length``, ``character``, ``area``,
    ``check``; ``position`` (1-based) points at the offending character where
    there is one.
    """

    code = "INVALID_TAXPAYER_ID"

    def __init__(self, value, reason, message, message_zh, position=None):
        super().__init__(message, message_zh=message_zh)
        self.value = value
        self.reason = reason
        self.position = position


# --- Structured validation errors -------------------------------------------

class FieldError:
    """One problem with one field of a document, in English and Chinese.

    ``field`` is a path such as ``buyer.taxId`` or ``lines[2].taxRate`` (our
    protocol's names, 0-based line index); ``code`` is a stable identifier for
    programs. The same place in neutral terms: ``line``, the 0-based index of
    the document line (None for the document's own fields), and ``attribute``,
    the document attribute (``tax_rate``, ``buyer.tax_id``, ``lines``; see
    :mod:`fapiao.problems`), read from ``field`` unless given. ``params`` are
    the values the message uses ({"limit": 200, "length": 214}). ``message``
    names the place with the document's own labels ("line 3 tax rate ...");
    ``detail`` and ``detail_zh`` say the problem without it, for
    :func:`fapiao.problems.describe_problems` to name the place as the reader
    knows it (None: the message is all there is).

    Two FieldErrors are equal when their wire form (field, code, messages) is.
    """

    __slots__ = ("attribute", "code", "detail", "detail_zh", "field", "line", "message", "message_zh", "params")

    def __init__(self, field, code, message, message_zh, *, line=None, attribute=None, params=None,
                 detail=None, detail_zh=None):
        self.field = field
        self.code = code
        self.message = message
        self.message_zh = message_zh
        if line is None and attribute is None:
            line, attribute = locate(field)
        self.line = line
        self.attribute = attribute
        self.params = dict(params or {})
        self.detail = detail
        self.detail_zh = detail_zh

    @classmethod
    def at(cls, path, code, detail, detail_zh, /, **params):
        """The error at ``path`` (wire names) whose messages are the place in the document's own
        labels followed by ``detail`` / ``detail_zh``, the problem in words that use ``params``."""
        line, attribute = locate(path)
        label_en, label_zh = default_location(line, attribute)
        return cls(path, code, f"{label_en} {detail}", f"{label_zh}{detail_zh}", line=line, attribute=attribute,
                   params=params, detail=detail, detail_zh=detail_zh)

    def to_wire(self):
        return {"field": self.field, "code": self.code, "message": self.message,
                "messageZh": self.message_zh}

    @classmethod
    def from_wire(cls, value):
        """A problem as a platform states it (our protocol's ``errors``); where its messages
        start with our labels of its field, the detail is read after them."""
        value = value if isinstance(value, dict) else {"message": str(value)}
        field = str(value.get("field") or "")
        message = str(value.get("message") or "")
        message_zh = str(value.get("messageZh") or value.get("message") or "")
        line, attribute = locate(field)
        detail, detail_zh = split_location(line, attribute, message, message_zh)
        return cls(field, str(value.get("code") or "INVALID"), message, message_zh, line=line,
                   attribute=attribute, detail=detail, detail_zh=detail_zh)

    def __eq__(self, other):
        return isinstance(other, FieldError) and self.to_wire() == other.to_wire()

    def __hash__(self):
        return hash((self.field, self.code, self.message))

    def __repr__(self):
        return f"FieldError({self.field!r}, {self.code!r}, {self.message!r})"

    def __str__(self):
        return f"{self.field}: {self.message}" if self.field else self.message


class ValidationFailed(FapiaoError, ValueError):
    """A document that breaks one or more rules; ``errors`` lists them all."""

    code = "VALIDATION_FAILED"

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__(
            "; ".join(str(e) for e in self.errors) or "invalid document",
            message_zh="；".join(f"{e.field}：{e.message_zh}" if e.field else e.message_zh
                                for e in self.errors),
        )


# --- Platform errors ---------------------------------------------------------------
# What the client raises. ``retryable`` says whether sending again can help;
# ``ambiguous`` says the platform may have acted on the request although no
# trustworthy answer came back, so the serial number must be queried before
# anything is sent again.

class PlatformError(FapiaoError):
    code = "PLATFORM_ERROR"
    retryable = False
    ambiguous = False

    def __init__(self, message, *, code=None, message_zh=None, platform_code=None,
                 errors=None, retry_after=None, http_status=None):
        super().__init__(message, code=code, message_zh=message_zh)
        self.platform_code = platform_code
        self.errors = list(errors or [])
        self.retry_after = retry_after
        self.http_status = http_status


class TransientError(PlatformError):
    """A passing failure: retry later with the same serial number."""

    code = "TRANSIENT"
    retryable = True


class SystemBusy(TransientError):
    code = "SYSTEM_BUSY"


class PlatformInternalError(TransientError):
    code = "SYSTEM_ERROR"


class TransportError(TransientError):
    """Timeout, dropped connection or an unreadable or unsigned answer: the
    request may or may not have been processed."""

    code = "TRANSPORT"
    ambiguous = True


class ResponseSignatureError(TransportError):
    """A response whose signature does not verify: never trusted."""

    code = "BAD_RESPONSE_SIGNATURE"


class LoginRequired(PlatformError):
    """The drawer's tax-bureau (电子税局) login or identity check has lapsed: the platform issues
    nothing until a person logs in again. Not a failure of the invoice: it waits, then resumes
    with the same serial number."""

    code = "LOGIN_REQUIRED"


class LoginRateLimited(PlatformError):
    """The platform shows no new tax-bureau login QR code now: the last one was asked for too
    recently, or the day's are used up. ``retry_after`` says in how many seconds one can be had.
    Never retried automatically: a person asked for it."""

    code = "LOGIN_RATE_LIMITED"


class SerialRejected(PlatformError):
    """The platform holds this serial number as used for good (failed, or taken by something
    else): the submission can only continue under a new serial number."""

    code = "SERIAL_REJECTED"


class NotSupported(PlatformError):
    """The connected platform does not offer this operation (see the provider's capabilities)."""

    code = "NOT_SUPPORTED"

    def __init__(self, operation):
        super().__init__(f"the tax platform does not offer: {operation}",
                         message_zh=f"所连接的税务平台不支持此操作：{operation}")
        self.operation = operation


class ParameterError(PlatformError):
    """The platform refused the content: fix the document, never retry as is."""

    code = "PARAMETER_ERROR"


class AuthenticationError(PlatformError):
    """Unknown application, wrong secret or key, missing headers."""

    code = "AUTHENTICATION"


class PermissionDenied(AuthenticationError):
    code = "PERMISSION_DENIED"


class ReplayRejected(AuthenticationError):
    """Stale timestamp (check the server clock) or reused nonce."""

    code = "REPLAY"


class NotFound(PlatformError):
    code = "NOT_FOUND"


class StateConflict(PlatformError):
    code = "STATE_CONFLICT"


class VoidNotAllowed(StateConflict):
    code = "VOID_NOT_ALLOWED"


class QuotaExceeded(PlatformError):
    code = "QUOTA_EXCEEDED"


class RetriesExhausted(TransientError):
    """Every retry of a passing failure failed; the last one is ``__cause__``."""

    code = "RETRIES_EXHAUSTED"
