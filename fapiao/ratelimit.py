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

HEADROOM = 0.93    # spaced for 93 % of the rate ...
LOW_RATE_ROOM = 1.4  # ... and at least 1.4 requests a second short of it
LATE = 0.025        # a request woken later than this after its moment asks for a new one
TRIES = 3           # then it goes: a CPU this starved slows every request down anyway


def interval(rate):
    """Seconds between two requests of one key at ``rate`` requests per second, with the headroom.

    A platform counts the requests arriving in a second: evenly spaced at exactly the rate, a
    second can hold one more than the rate's worth at its edges, and a request delayed on its way
    (a loaded CPU, the network) arrives closer to the next. Spaced at 93 % of the rate (50 a
    second: 46.5; 20: 18.6), a request may arrive 75 ms late without making the second hold more
    than the rate; small rates keep 1.4 requests a second of room (10 a second: 8.6, 160 ms),
    never less than half the rate. :func:`wait_turn` keeps threads woken late from using their moment."""
    per_second = max(min(rate * HEADROOM, rate - LOW_RATE_ROOM), rate / 2)
    return 1.0 / per_second


def wait_turn(reserve, clock=time.monotonic, sleep=time.sleep):
    """Reserve a moment (``reserve()`` -> seconds from now until it), and wait for it. A thread that
    wakes more than :data:`LATE` after its moment (a busy CPU did not run it) would arrive with the
    next request: it leaves that moment unused and reserves another, up to :data:`TRIES` times."""
    for _ in range(TRIES):
        # the moment is between the start and the end of the reservation: counted from its start, a
        # slow reservation (a busy database) makes the request late too
        due = clock()
        wait = reserve()
        if wait > 0:
            due += wait
            sleep(wait)
        if clock() - due <= LATE:
            return


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

        def reserve():
            with self._lock:
                now = self._clock()
                moment = max(now, self._next.get(key, now))
                self._next[key] = moment + interval(rate)
            return moment - now

        wait_turn(reserve, self._clock, self._sleep)

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
