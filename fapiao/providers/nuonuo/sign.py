"""诺诺's request signature (X-Nuonuo-Sign) and the per-request values it covers.

Every business call goes to ``{endpoint}?senid=..&nonce=..&timestamp=..&appkey=..`` with the
header ``X-Nuonuo-Sign`` = Base64(HMAC-SHA1(app secret, canonical)), where canonical is
``a=services&l=v1&p=open&k={appkey}&i={senid}&n={nonce}&t={timestamp}&f={body}``: the three
segments of the path /open/v1/services read backwards, then the query values, then the raw body,
all as UTF-8 (sources: docs/providers/nuonuo.md §Signature).

The body is signed as the exact text sent: :func:`body_text` makes it (compact JSON, Chinese
kept as such) and the client sends its UTF-8 bytes unchanged, so that nothing re-encodes it
between signing and sending.
"""

import base64
import hashlib
import hmac
import json
import secrets
import string
import time

# /open/v1/services: p (product) = open, l (version) = v1, a (api) = services.
PATH_SEGMENTS = (("a", "services"), ("l", "v1"), ("p", "open"))
SENID_LENGTH = 32
NONCE_DIGITS = 8
_ALPHANUMERIC = string.ascii_letters + string.digits


def canonical(app_key, senid, nonce, timestamp, body):
    """The text the signature covers (``body``: the request body as sent, text)."""
    head = "&".join(f"{name}={value}" for name, value in PATH_SEGMENTS)
    return f"{head}&k={app_key}&i={senid}&n={nonce}&t={timestamp}&f={body}"


def signature(app_secret, app_key, senid, nonce, timestamp, body):  # noqa: PLR0917 (the published order)
    """X-Nuonuo-Sign of one request: Base64(HMAC-SHA1(app secret, canonical)), UTF-8 throughout."""
    message = canonical(app_key, senid, nonce, timestamp, body).encode("utf-8")
    digest = hmac.new(app_secret.encode("utf-8"), message, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def new_senid():
    """32 random alphanumerics: the request's id, new for each request (not an idempotency key)."""
    return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(SENID_LENGTH))


def new_nonce():
    """8 random digits, the first not 0 (诺诺 documents an 8-digit positive integer)."""
    return str(10 ** (NONCE_DIGITS - 1) + secrets.randbelow(9 * 10 ** (NONCE_DIGITS - 1)))


def timestamp(clock=time.time):
    """Seconds since the epoch, as text. 诺诺 compares it with Beijing time: a wrong server clock
    gives 070601 (signature mismatch)."""
    return str(int(clock()))


def body_text(payload):
    """The JSON body as sent and signed: compact, UTF-8 characters kept (no \\u escapes)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
