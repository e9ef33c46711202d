"""The wire envelope shared by the client, the sandbox platform and callbacks.

See docs/protocol.md for the specification this module implements:
signing (HMAC-SM3 over a canonical string), SM4-CBC encryption of the JSON
payload, response signatures bound to the request nonce, replay rules, and
the return-code table.
"""

import base64
import binascii
import json
import re
import secrets
import time
from dataclasses import dataclass

from ... import crypto
from ...errors import CryptoError, FieldError

API_PREFIX = "/v1"
TIMESTAMP_WINDOW_MS = 300_000
SIGN_TYPE_HMAC = "HMAC-SM3"
SIGN_TYPE_SM2 = "SM2-SM3"
ENCRYPTION = "SM4-CBC"

# Header names (case-insensitive on the wire).
H_APP_ID = "X-App-Id"
H_TIMESTAMP = "X-Timestamp"
H_NONCE = "X-Nonce"
H_SIGNATURE = "X-Signature"
H_SIGN_TYPE = "X-Sign-Type"
H_REQUEST_NONCE = "X-Request-Nonce"

NONCE_ALPHABET = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

# Services: name -> path. Every service is a POST of an encrypted envelope.
SERVICES = {
    "invoice.issue": "/v1/invoices/issue",
    "invoice.query": "/v1/invoices/query",
    "invoice.void": "/v1/invoices/void",
    "redform.apply": "/v1/red-forms/apply",
    "redform.query": "/v1/red-forms/query",
    "redform.list": "/v1/red-forms/list",
    "redform.confirm": "/v1/red-forms/confirm",
    "redform.reject": "/v1/red-forms/reject",
    "redform.revoke": "/v1/red-forms/revoke",
    "redinvoice.issue": "/v1/red-invoices/issue",
    "catalogue.download": "/v1/catalogue/download",
    "quota.query": "/v1/quota/query",
    "document.download": "/v1/documents/download",
    "login.status": "/v1/login/status",
    "login.qrcode": "/v1/login/qrcode",
    "login.verify": "/v1/login/verify",
}
PATHS = {path: name for name, path in SERVICES.items()}
# Services that act at the tax bureau on the drawer's behalf: refused with 2007 while the drawer's
# login has lapsed. Reading (queries, lists, files, catalogue, quota) goes on.
BUREAU_SERVICES = frozenset({"invoice.issue", "invoice.void", "redform.apply", "redform.confirm",
                             "redform.reject", "redform.revoke", "redinvoice.issue"})
# The drawer's login QR codes (§6.9): valid 5 minutes, at most one every 30 s and 20 a China day per
# application, counted on the platform's clock.
LOGIN_QR_SECONDS = 300
LOGIN_QR_INTERVAL_SECONDS = 30
LOGIN_QR_PER_DAY = 20


@dataclass(frozen=True)
class ReturnCode:
    code: str
    name: str
    http_status: int
    retryable: bool
    message_en: str
    message_zh: str


_CODES = [
    ReturnCode("0000", "SUCCESS", 200, False, "success", "成功"),
    ReturnCode("1001", "PARAMETER_ERROR", 400, False, "invalid parameters", "参数错误"),
    ReturnCode("1002", "MALFORMED_REQUEST", 400, False, "malformed request", "请求格式错误"),
    ReturnCode("1003", "DECRYPTION_FAILED", 400, False, "request body could not be decrypted",
               "报文解密失败"),
    ReturnCode("1004", "UNKNOWN_SERVICE", 404, False, "unknown service", "服务不存在"),
    ReturnCode("2001", "UNKNOWN_APP", 401, False, "unknown or disabled application id",
               "应用不存在或已停用"),
    ReturnCode("2002", "PERMISSION_DENIED", 403, False, "not permitted for this application",
               "无权限"),
    ReturnCode("2003", "BAD_SIGNATURE", 401, False, "signature does not verify", "签名验证失败"),
    ReturnCode("2004", "STALE_TIMESTAMP", 401, False, "timestamp outside the allowed window",
               "时间戳超出允许范围"),
    ReturnCode("2005", "REPLAYED_NONCE", 401, False, "nonce already used", "随机数重复使用（重放）"),
    ReturnCode("2006", "MISSING_AUTH", 401, False, "authentication headers missing",
               "缺少认证请求头"),
    ReturnCode("2007", "LOGIN_REQUIRED", 403, False,
               "the drawer's tax bureau (电子税局) login has lapsed: log in again, then send the same request",
               "开票员电子税局登录已失效，请重新登录后再提交"),
    ReturnCode("2008", "LOGIN_QR_TOO_SOON", 429, False,
               "login QR code asked for too soon: one every 30 s at most",
               "获取登录二维码过于频繁（每 30 秒至多一次）"),
    ReturnCode("2009", "LOGIN_QR_LIMIT", 429, False,
               "the login QR codes of the day are used up: 20 a China day at most",
               "今日获取登录二维码次数已达上限（每日至多 20 次）"),
    ReturnCode("2010", "RATE_LIMITED", 429, True, "too many requests from this application: over its rate",
               "本应用请求过于频繁，超出频率限制，请稍后重试"),
    ReturnCode("3001", "DUPLICATE_SERIAL", 200, False, "duplicate serial number: original result returned",
               "流水号重复，返回原结果"),
    ReturnCode("3002", "NOT_FOUND", 404, False, "not found", "记录不存在"),
    ReturnCode("3003", "STATE_CONFLICT", 409, False, "operation not allowed in the current state",
               "当前状态不允许该操作"),
    ReturnCode("3004", "VOID_NOT_ALLOWED", 409, False,
               "fully digitalised e-invoices cannot be voided: issue a red invoice instead",
               "数电票不能作废，请开具红字发票"),
    ReturnCode("3005", "QUOTA_EXCEEDED", 409, False, "credit quota exceeded", "授信额度不足"),
    ReturnCode("3006", "SERIAL_IN_USE", 409, False,
               "serial number already used by another kind of submission: use a new serial number",
               "流水号已被其他类型的提交使用，请使用新的流水号"),
    ReturnCode("9001", "SYSTEM_BUSY", 503, True, "system busy, retry later", "系统繁忙，请稍后重试"),
    ReturnCode("9999", "SYSTEM_ERROR", 500, True, "platform internal error", "平台内部错误"),
]
RETURN_CODES = {c.code: c for c in _CODES}
CODE = {c.name: c.code for c in _CODES}


def new_nonce():
    """32 random lowercase hex digits."""
    return secrets.token_hex(16)


def now_ms():
    return int(time.time() * 1000)


def canonical_request(method, path, timestamp, nonce, body):
    """The string signed for a request (and for a callback).

    METHOD, path without query, timestamp in ms, nonce and the SM3 of the raw
    body bytes, joined by newlines.
    """
    return "\n".join([method.upper(), path, str(timestamp), nonce, crypto.sm3_hex(body)]).encode()


def canonical_response(status, path, timestamp, nonce, *, request_nonce, body):
    """The string signed for a response: binds it to the request's nonce."""
    return "\n".join(
        ["RESPONSE", str(status), path, str(timestamp), nonce, request_nonce, crypto.sm3_hex(body)]
    ).encode()


def _secret_bytes(secret):
    """App secrets are configured as text; HMAC keys are their UTF-8 bytes."""
    return secret.encode() if isinstance(secret, str) else secret


def sign(secret, canonical):
    return crypto.hmac_sm3_hex(_secret_bytes(secret), canonical)


def signature_matches(secret, canonical, signature):
    return secrets.compare_digest(sign(secret, canonical), (signature or "").lower())


def encrypt_payload(sm4_key, payload):
    """SM4-CBC encryption of a payload's canonical JSON, as base64 (random IV first)."""
    plaintext = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()
    return base64.b64encode(crypto.sm4_encrypt(sm4_key, plaintext, mode="cbc")).decode("ascii")


def seal(sm4_key, payload):
    """The request (or callback) body carrying ``payload`` encrypted."""
    data = encrypt_payload(sm4_key, payload)
    return json.dumps({"encryption": ENCRYPTION, "data": data}, separators=(",", ":")).encode()


class EnvelopeError(ValueError):
    """An envelope that is not JSON of the right shape (``kind='malformed'``)
    or does not decrypt (``kind='decryption'``)."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def parse_json_object(raw, *, parse_int=None):
    """The JSON object in ``raw``; ``parse_int`` as for ``json.loads`` (see :func:`read_integer`)."""
    try:
        value = json.loads(raw.decode("utf-8") if isinstance(raw, (bytes, bytearray)) else raw,
                           parse_int=parse_int)
    except (UnicodeDecodeError, ValueError) as error:
        raise EnvelopeError("malformed", f"body is not UTF-8 JSON: {error}") from None
    if not isinstance(value, dict):
        raise EnvelopeError("malformed", "body must be a JSON object")
    return value


def decrypt_payload(sm4_key, data, *, parse_int=None):
    """Inverse of :func:`encrypt_payload`: base64 text to the payload dict."""
    if not isinstance(data, str):
        raise EnvelopeError("malformed", "encrypted data must be a base64 string")
    try:
        ciphertext = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError("malformed", "encrypted data is not base64") from None
    try:
        plaintext = crypto.sm4_decrypt(sm4_key, ciphertext, mode="cbc").decode("utf-8")
    except CryptoError as error:
        raise EnvelopeError("decryption", str(error)) from None
    except UnicodeDecodeError:
        # A wrong key passes the padding check about once in 256 tries; its garbage is
        # not UTF-8, and it is the same failure: the data does not decrypt.
        raise EnvelopeError("decryption", "SM4 decryption gave no UTF-8 text (wrong key or tampered data)") from None
    return parse_json_object(plaintext, parse_int=parse_int)


def open_envelope(sm4_key, body, *, parse_int=None):
    """Decrypt a request (or callback) body into its payload dict."""
    envelope = parse_json_object(body)
    if envelope.get("encryption") != ENCRYPTION or "data" not in envelope:
        raise EnvelopeError(
            "malformed", f'envelope must be {{"encryption": "{ENCRYPTION}", "data": "<base64>"}}'
        )
    return decrypt_payload(sm4_key, envelope["data"], parse_int=parse_int)


def request_headers(app_id, secret, path, body, *, timestamp=None, nonce=None, method="POST",
                    sm2_private_key=None):
    """Headers of a signed request (or callback) carrying ``body``."""
    timestamp = now_ms() if timestamp is None else timestamp
    nonce = nonce or new_nonce()
    canonical = canonical_request(method, path, timestamp, nonce, body)
    headers = {
        H_APP_ID: app_id,
        H_TIMESTAMP: str(timestamp),
        H_NONCE: nonce,
        "Content-Type": "application/json; charset=utf-8",
    }
    if sm2_private_key:
        headers[H_SIGN_TYPE] = SIGN_TYPE_SM2
        headers[H_SIGNATURE] = crypto.sm2_sign(sm2_private_key, canonical).hex()
    else:
        headers[H_SIGN_TYPE] = SIGN_TYPE_HMAC
        headers[H_SIGNATURE] = sign(secret, canonical)
    return headers


def response_headers(secret, status, path, request_nonce, body, *, timestamp=None, nonce=None):
    timestamp = now_ms() if timestamp is None else timestamp
    nonce = nonce or new_nonce()
    canonical = canonical_response(status, path, timestamp, nonce, request_nonce=request_nonce, body=body)
    return {
        H_TIMESTAMP: str(timestamp),
        H_NONCE: nonce,
        H_REQUEST_NONCE: request_nonce,
        H_SIGN_TYPE: SIGN_TYPE_HMAC,
        H_SIGNATURE: sign(secret, canonical),
        "Content-Type": "application/json; charset=utf-8",
    }


def valid_nonce(nonce):
    return isinstance(nonce, str) and 16 <= len(nonce) <= 64 and set(nonce) <= NONCE_ALPHABET


_TIMESTAMP = re.compile(r"[0-9]{1,15}")


def timestamp_fresh(timestamp, now=None, window_ms=TIMESTAMP_WINDOW_MS):
    """True when ``timestamp`` (ms, as decimal digits or an int) is within ``window_ms`` of ``now``.
    Digits only (§3.1): int() alone would also take "+1", " 1", "1_0" and other scripts' digits."""
    if isinstance(timestamp, int) and not isinstance(timestamp, bool):
        value = timestamp
    elif isinstance(timestamp, str) and _TIMESTAMP.fullmatch(timestamp):
        value = int(timestamp)
    else:
        return False
    now = now_ms() if now is None else now
    return abs(now - value) <= window_ms


def response_body(sm4_key, code_name, data=None, *, message=None, errors=None, retry_after=None):
    """A response body: code, message, field errors, retry hint, encrypted ``data``.

    ``sm4_key`` may be None only for answers that carry no data (for an
    unknown application the platform has no key to encrypt with).
    """
    rc = RETURN_CODES[CODE[code_name]]
    body = {"code": rc.code, "message": message or f"{rc.message_zh} / {rc.message_en}"}
    if errors:
        body["errors"] = errors
    if retry_after is not None:
        body["retryAfter"] = retry_after
    if data is not None:
        body["encryption"] = ENCRYPTION
        body["data"] = encrypt_payload(sm4_key, data)
    return rc.http_status, json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# --- Values a payload may carry -------------------------------------------------------------
# JSON integers are signed 64-bit (§1), and text is Unicode that UTF-8 can carry:
# a receiver refuses anything else with 1001 before it reads the payload.

INTEGER_MIN, INTEGER_MAX = -(2**63), 2**63 - 1
_INTEGER_TEXT_MAX = len(str(INTEGER_MIN))   # longer digit strings are out of range whatever they say


class OversizedInteger:
    """A JSON integer too long to be in range, kept as its text (never converted:
    Python refuses to convert integers of thousands of digits)."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def read_integer(text):
    """``parse_int`` hook for untrusted JSON: an int, or OversizedInteger for a digit string
    that cannot be in range."""
    return int(text) if len(text) <= _INTEGER_TEXT_MAX else OversizedInteger(text)


def _surrogate(text):
    """The first lone surrogate in ``text`` (JSON can escape one, UTF-8 cannot carry it), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return text[error.start]
    return None


def _shown_key(key):
    return key if _surrogate(key) is None else key.encode("utf-8", "backslashreplace").decode("ascii")


def payload_errors(payload):
    """FieldErrors for every integer outside the 64-bit range and every text (value or key)
    with a lone surrogate, anywhere in a parsed payload, in document order; paths in wire
    form (``lines[0].lineNo``)."""
    errors = []
    # Iterative: a payload may nest as deep as the JSON parser allows.
    pending = [("", payload, None)]     # path, value, lone surrogate of the key that leads to it
    while pending:
        path, value, bad_key = pending.pop()
        if bad_key is not None:
            errors.append(_surrogate_error(path, bad_key))
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                shown = _shown_key(key)
                pending.append((f"{path}.{shown}" if path else shown, item, _surrogate(key)))
        elif isinstance(value, list):
            pending.extend((f"{path}[{index}]", item, None) for index, item in reversed(list(enumerate(value))))
        elif isinstance(value, OversizedInteger) or (
                isinstance(value, int) and not isinstance(value, bool) and not INTEGER_MIN <= value <= INTEGER_MAX):
            errors.append(_integer_error(path, value))
        elif isinstance(value, str) and (char := _surrogate(value)) is not None:
            errors.append(_surrogate_error(path, char))
    return errors


def _integer_error(path, value):
    text = value.text if isinstance(value, OversizedInteger) else str(value)
    shown = text if len(text) <= 40 else f"an integer of {len(text.lstrip('-'))} digits"
    shown_zh = text if len(text) <= 40 else f"{len(text.lstrip('-'))} 位整数"
    return FieldError(path, "INTEGER_RANGE",
                      f"{shown} is outside the 64-bit integer range ({INTEGER_MIN} to {INTEGER_MAX})",
                      f"{shown_zh} 超出 64 位整数范围（{INTEGER_MIN} 至 {INTEGER_MAX}）")


def _surrogate_error(path, char):
    return FieldError(path, "TEXT_ENCODING",
                      f"contains U+{ord(char):04X}, a lone surrogate: not Unicode text that UTF-8 can carry",
                      f"含有单独的代理码位 U+{ord(char):04X}，不是可用 UTF-8 传输的 Unicode 文本")
