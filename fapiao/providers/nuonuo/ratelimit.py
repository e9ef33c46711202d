"""How fast the client may call 诺诺: at most the app's rate, shared by every client of one app key.

诺诺 counts the requests of an app (its sandbox allows a tenth of production, and at least 10 a
second) and bans addresses that load-test it, so the client waits rather than be refused.
:class:`SpacedLimiter` spaces the requests of one key evenly, ``1 / (rate * HEADROOM)`` seconds
apart: 诺诺 counts arrivals, and the headroom absorbs the jitter between leaving here and arriving
there (a tenth of a second in any window, whatever the rate).

A limiter is any object with ``acquire(key, rate)`` that blocks until one request of ``key`` may
go; ``connect(..., rate_limiter=...)`` takes one that holds across processes (the Odoo layer's).
:data:`PROCESS_LIMITER` is the default: one per process, so that every client of an app in this
process shares it.
"""

import threading
import time

HEADROOM = 0.9      # spaced for 90 % of the rate


class SpacedLimiter:
    """Per key, requests at least ``1 / (rate * HEADROOM)`` seconds apart, in the order they asked.
    Thread-safe: a request reserves its moment under the lock and waits outside it."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = {}     # key -> the earliest moment the next request may go

    def acquire(self, key, rate):
        if not rate or rate <= 0:
            return
        interval = 1.0 / (rate * HEADROOM)
        with self._lock:
            now = self._clock()
            moment = max(now, self._next.get(key, now))
            self._next[key] = moment + interval
        if moment > now:
            self._sleep(moment - now)

    def __repr__(self):
        return "<SpacedLimiter>"


PROCESS_LIMITER = SpacedLimiter()


def parse_rate(value, default):
    """The ``rate_limit`` setting (text or number; empty or 0, as an unset Odoo Float field is:
    ``default``) -> requests per second."""
    try:
        rate = float(value or 0)
    except (TypeError, ValueError):
        rate = -1.0
    if rate == 0:
        return float(default)
    if not rate > 0 or rate == float("inf"):
        raise ValueError(f"诺诺 settings: rate_limit must be a positive number of requests per second, not {value!r}")
    return rate
