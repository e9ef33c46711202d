"""诺诺's access token: asked for at the token endpoint, kept in a store shared by the workers.

诺诺 allows 50 token requests per 30 days for an app, and a token lasts 24 hours (or for good, as
the app is set): a token is asked for only when the store has none that lives long enough, and
under the store's lock, so that workers starting together ask once. The token lives under
``TOKEN_KEY`` in the contract's :class:`fapiao.provider.StateStore` that ``connect`` is given as
``state`` (the Odoo layer's keeps it on the company, sealed, for every worker and server);
:class:`TokenStore` reads it there (expires_at: epoch seconds, 0 for a token that never expires).
"""

import time

from ... import provider

RENEW_MARGIN = 600          # seconds before expiry at which a token is renewed
DEFAULT_LIFETIME = 86400    # 24 h, when the answer does not say


TOKEN_KEY = "access_token"  # noqa: S105 (the name the token is kept under, not a token)


class TokenStore:
    """The access token in a StateStore (by default one in this process's memory, for tests and
    scripts), optionally starting with a given one (an app whose token never expires)."""

    def __init__(self, state=None, token="", expires_at=0.0):
        self._state = state if state is not None else provider.MemoryStateStore()
        self.given = bool(token)    # a token given by hand is never renewed
        if token:
            with self._state.lock(TOKEN_KEY):
                self._state.put(TOKEN_KEY, token, expires_at)

    def get(self):
        return self._state.get(TOKEN_KEY)

    def set(self, token, expires_at):
        self._state.put(TOKEN_KEY, token, expires_at)

    def lock(self):
        return self._state.lock(TOKEN_KEY)

    def __repr__(self):
        return "<TokenStore>"


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
        return token or _renew(store, renew, clock)


def renewed_token(store, refused, renew, clock=time.time):
    """The token after 诺诺 refused ``refused`` as expired (its clock ahead of ours): under the
    store's lock, the token another worker stored meanwhile if there is one, else ``renew()``'s
    (stored like :func:`current_token`'s)."""
    with store.lock():
        entry = store.get()
        if entry and entry[0] != refused and usable(entry, clock()):
            return entry[0]
        return _renew(store, renew, clock)


def _renew(store, renew, clock):
    """``renew()`` -> (token, lifetime seconds or 0 for a permanent one): its token, stored."""
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
