"""The business clock: real time plus an offset that tests move forward.

Issue times, pending promotion, form expiry and quota periods follow it, so
a test can let 72 hours pass in a millisecond. Authentication never does:
timestamps and nonces are checked against the real clock, as a moved clock
must not open the door to replays. The offset is kept in the database.
"""

import time
from datetime import datetime, timedelta, timezone

CHINA = timezone(timedelta(hours=8), "CST")


def at(ms):
    """Milliseconds since the epoch as an aware datetime in China time."""
    return datetime.fromtimestamp(ms / 1000, CHINA)


def iso(ms):
    """ISO 8601 with +08:00, to the second."""
    return at(ms).isoformat(timespec="seconds")


def period(ms):
    """The quota period (calendar month in China) containing ``ms``: YYYY-MM."""
    return f"{at(ms):%Y-%m}"


def real_ms():
    return int(time.time() * 1000)


class BusinessClock:
    def __init__(self, store):
        self._store = store
        self.offset_ms = int(store.meta("clock_offset_ms", 0))

    def now_ms(self):
        return real_ms() + self.offset_ms

    def advance(self, seconds):
        """Move the clock forward (never back: what happened stays in the past)."""
        if seconds < 0:
            raise ValueError("the business clock only moves forward")
        try:    # int() refuses NaN and infinities; at() a date past the year 9999
            offset_ms = self.offset_ms + int(seconds * 1000)
            at(real_ms() + offset_ms)
        except (OverflowError, ValueError, OSError):
            raise ValueError(f"advancing {seconds} s would take the business clock past the year 9999") from None
        self.offset_ms = offset_ms
        self._store.set_meta("clock_offset_ms", self.offset_ms)
        return self.now_ms()
