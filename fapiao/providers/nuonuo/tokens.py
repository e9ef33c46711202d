"""诺诺's access token: asked for at the token endpoint, kept in a store shared by the workers.

诺诺 allows 50 token requests per 30 days for an app, and a token lasts 24 hours (or for good, as
the app is set): a token is asked for only when the store has none that lives long enough, and
under the store's lock, so that workers starting together ask once. A store is any object with
``get() -> (token, expires_at) | None``, ``set(token, expires_at)`` and ``lock()``, a context
manager held while renewing (expires_at: epoch seconds, 0 for a token that never expires). The
Odoo layer passes one that keeps the token on the company; :class:`MemoryTokenStore` is for tests
and single processes.
"""

import threading
import time

RENEW_MARGIN = 600          # seconds before expiry at which a token is renewed
DEFAULT_LIFETIME = 86400    # 24 h, when the answer does not say


class MemoryTokenStore:
    """A token store in this process's memory."""

    def __init__(self, token="", expires_at=0.0):
        self._value = (token, expires_at) if token else None
        self._lock = threading.Lock()

    def get(self):
        return self._value

    def set(self, token, expires_at):
        self._value = (token, expires_at)

    def lock(self):
        return self._lock

    def __repr__(self):
        return "<MemoryTokenStore>"


def usable(entry, now, margin=RENEW_MARGIN):
    """The token of a store entry if it lives at least ``margin`` seconds more, else ""."""
    if not entry:
        return ""
    token, expires_at = entry
    if not token:
        return ""
    return token if not expires_at or expires_at - margin > now else ""


def current_token(store, renew, clock=time.time):
    """A usable token from ``store``; otherwise ``renew()`` -> (token, lifetime seconds or 0 for
    a permanent one) is called once, under the store's lock, and its token stored."""
    token = usable(store.get(), clock())
    if token:
        return token
    with store.lock():
        token = usable(store.get(), clock())   # another worker may have renewed it meanwhile
        if token:
            return token
        token, lifetime = renew()
        store.set(token, clock() + lifetime if lifetime else 0)
        return token


def read_token_answer(data):
    """The token endpoint's JSON -> (access_token, expires_in seconds, or 0 when permanent), or
    (None, error text) when it refused."""
    if not isinstance(data, dict) or not isinstance(data.get("access_token"), str) or not data["access_token"]:
        error = data.get("error") if isinstance(data, dict) else None
        description = data.get("error_description") if isinstance(data, dict) else None
        return None, " ".join(str(part) for part in (error, description) if part) or "no access_token in the answer"
    expires_in = data.get("expires_in")
    try:
        expires_in = int(expires_in)
    except (TypeError, ValueError):
        expires_in = DEFAULT_LIFETIME
    return data["access_token"], max(expires_in, 0)
