"""Fault injection and the pending (asynchronous issuing) mode.

Settings are platform-wide defaults (command line) overridden per app (admin
endpoint). Each app draws from its own random generator, seeded when a seed
is given, so a run with a seed is reproducible request for request.

What each fault does to a /v1 request that passed authentication and
payload validation:

- busy: answer 9001 with retryAfter; nothing is processed;
- drop: close the connection without any answer; nothing is processed;
- slow: sleep slowSeconds, then process normally;
- timeout: process and commit, then sleep timeoutSeconds before answering
  (the client's read timeout fires first);
- malformed: process and commit, then answer HTTP 200 with a body that is
  not JSON;
- lost: process and commit, then close the connection without any answer
  (the platform acted, the client cannot know it: an ambiguous outcome).

And a state rather than a draw: ``login_lapsed`` (the drawer's tax-bureau login
has lapsed) answers 2007 to every service that acts at the bureau, before any
fault is drawn; nothing is processed.
"""

import random
import threading
from dataclasses import dataclass, fields, replace
from typing import ClassVar

# Drawn in this order: a new fault goes last, so that a seeded run draws as before when it is off.
FAULTS = ("busy", "drop", "slow", "timeout", "malformed", "lost")
# Ten years: any wait or delay beyond is a mistake, and would overflow the timers and
# the 64-bit times the platform stores (a pending invoice's due time).
MAX_SECONDS = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class FaultSettings:
    busy: float = 0.0
    retry_after: int = 2
    drop: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 2.0
    timeout: float = 0.0
    timeout_seconds: float = 30.0
    malformed: float = 0.0
    lost: float = 0.0
    seed: int | None = None
    pending_rate: float = 0.0
    pending_seconds: float = 30.0
    pending_fail_rate: float = 0.0
    login_lapsed: bool = False

    # wire (admin JSON) name -> field name
    WIRE: ClassVar[dict] = {"busy": "busy", "retryAfter": "retry_after", "drop": "drop", "slow": "slow",
            "slowSeconds": "slow_seconds", "timeout": "timeout", "timeoutSeconds": "timeout_seconds",
            "malformed": "malformed", "seed": "seed", "pendingRate": "pending_rate",
            "pendingSeconds": "pending_seconds", "pendingFailRate": "pending_fail_rate",
            "loginLapsed": "login_lapsed", "lost": "lost"}
    RATES: ClassVar[tuple] = ("busy", "drop", "slow", "timeout", "malformed", "lost", "pending_rate",
                              "pending_fail_rate")

    def to_wire(self):
        return {wire: getattr(self, name) for wire, name in self.WIRE.items()}

    @classmethod
    def check(cls, changes):
        """Field-name changes checked and typed; ValueError says what is wrong."""
        known = {f.name for f in fields(cls)}
        checked = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault setting {name!r}")
            if name == "login_lapsed":
                if not isinstance(value, bool):
                    raise ValueError("login_lapsed must be true or false")
                checked[name] = value
                continue
            if name == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("seed must be an integer")
                checked[name] = value
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SECONDS:
                raise ValueError(f"{name} must be a number from 0 to {MAX_SECONDS}")
            if name in cls.RATES and value > 1:
                raise ValueError(f"{name} is a rate between 0 and 1")
            checked[name] = int(value) if name == "retry_after" else float(value)
        return checked


class FaultInjector:
    """Draws faults and pending outcomes per app."""

    def __init__(self, defaults):
        self.defaults = defaults
        self._rngs = {}
        self._lock = threading.Lock()

    def settings(self, app):
        return replace(self.defaults, **app.faults) if app.faults else self.defaults

    def reset(self, app_id):
        """Forget an app's generator so new settings (a new seed) start afresh."""
        with self._lock:
            self._rngs.pop(app_id, None)

    def _rng(self, app_id, settings):
        rng = self._rngs.get(app_id)
        if rng is None:
            seed = None if settings.seed is None else f"{settings.seed}:{app_id}"
            rng = self._rngs[app_id] = random.Random(seed)  # noqa: S311 - simulation, not security
        return rng

    def _hit(self, rng, rate):
        return rate > 0 and rng.random() < rate

    def draw(self, app):
        """The faults that hit this request: a set drawn from FAULTS."""
        settings = self.settings(app)
        with self._lock:
            rng = self._rng(app.app_id, settings)
            return {fault for fault in FAULTS if self._hit(rng, getattr(settings, fault))}

    def draw_pending(self, app):
        """(pending?, will it fail?) for a new submission."""
        settings = self.settings(app)
        with self._lock:
            rng = self._rng(app.app_id, settings)
            if not self._hit(rng, settings.pending_rate):
                return False, False
            return True, self._hit(rng, settings.pending_fail_rate)
