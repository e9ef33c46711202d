"""How fast a provider may call its platform: at most the app's rate, shared by every client of one
app key.

Platforms count the requests of an app (诺诺's sandbox allows a tenth of production, and at least
10 a second; 百望 20 a second per app key, shared by its tenants) and ban addresses that hammer
them, so a client waits rather than be refused. Requests of one key are spaced evenly,
:func:`interval` apart: platforms count arrivals, and the headroom absorbs the jitter between
leaving here and arriving there.

A limiter is any object with ``acquire(key, rate)`` that blocks until one request of ``key`` may
go; ``connect(..., rate_limiter=...)`` takes one (the Odoo layer's holds across processes and
servers, in PostgreSQL). :data:`PROCESS_LIMITER` is the default: one per process, so that every
client of an app in this process shares it.
"""

import threading
import time

HEADROOM = 0.9      # spaced for 90 % of the rate


def interval(rate):
    """Seconds between two requests of one key at ``rate`` requests per second, with the headroom.

    A platform counts the requests arriving in a second: evenly spaced at exactly the rate, a
    second can hold one more than the rate's worth at its edges, and one request delayed on its
    way (a loaded CPU, the network) makes two arrive together. So the spacing leaves room for at
    least two such requests in every second: 90 % of the rate, and at most ``rate - 2`` a second
    for small rates (10 a second are sent 8 a second), never less than half the rate."""
    per_second = max(min(rate * HEADROOM, rate - 2), rate / 2)
    return 1.0 / per_second


class SpacedLimiter:
    """Per key, requests at least :func:`interval` apart, in the order they asked.
    Thread-safe: a request reserves its moment under the lock and waits outside it."""

    def __init__(self, clock=time.monotonic, sleep=time.sleep):
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = {}     # key -> the earliest moment the next request may go

    def acquire(self, key, rate):
        if not rate or rate <= 0:
            return
        with self._lock:
            now = self._clock()
            moment = max(now, self._next.get(key, now))
            self._next[key] = moment + interval(rate)
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
        raise ValueError(f"rate_limit must be a positive number of requests per second, not {value!r}")
    return rate
