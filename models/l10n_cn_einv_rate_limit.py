"""The platform's rate limit, held across every Odoo worker and server (fapiao.ratelimit).

Platforms count the requests of an app, whoever sends them: 诺诺 bans addresses that hammer it,
百望 shares 20 requests a second between every tenant of an app key. A per-process limiter lets N
workers send N times the rate, so each request reserves its moment here, in one row per app:
the reservation is one atomic UPDATE on a connection of the limiter's own, committed at once, on
the database's clock (one clock for every server). The request then waits until its moment.
"""

import time

from odoo import fields, models
from odoo.tools import SQL

from ..fapiao import ratelimit


class L10nCnEinvRateLimit(models.Model):
    _name = "l10n_cn_einv.rate.limit"
    _description = "E-Invoice Platform Rate Limit"
    _log_access = False

    key = fields.Char(required=True, readonly=True, help="Provider and app key.")
    next_slot = fields.Float(readonly=True, help="Epoch seconds (database clock) at which the next request may go.")

    _sql_constraints = [("l10n_cn_einv_rate_limit_key_unique", "UNIQUE(key)", "One row per platform app.")]


class PostgresRateLimiter:
    """A fapiao.ratelimit limiter whose reservations live in PostgreSQL, for provider ``scope``."""

    def __init__(self, registry, scope, sleep=time.sleep):
        self._registry, self._scope, self._sleep = registry, scope, sleep

    def acquire(self, key, rate):
        if not rate or rate <= 0:
            return
        ratelimit.wait_turn(lambda: self._reserve(key, ratelimit.interval(rate)), sleep=self._sleep)

    def _reserve(self, key, step):
        """One request's moment -> seconds until it (database clock)."""
        with self._registry.cursor() as cr:
            # READ COMMITTED: a reservation waits for another worker's on the same row, then builds on it
            # (a test's cursor is one transaction already); one statement, one round trip
            isolation = SQL() if self._registry.in_test_mode() else \
                SQL("SET TRANSACTION ISOLATION LEVEL READ COMMITTED;")
            cr.execute(SQL("""%(isolation)s
                INSERT INTO l10n_cn_einv_rate_limit (key, next_slot)
                VALUES (%(key)s, EXTRACT(EPOCH FROM clock_timestamp()) + %(step)s)
                ON CONFLICT (key) DO UPDATE
                   SET next_slot = GREATEST(l10n_cn_einv_rate_limit.next_slot,
                                            EXTRACT(EPOCH FROM clock_timestamp())) + %(step)s
                RETURNING next_slot - %(step)s - EXTRACT(EPOCH FROM clock_timestamp())
            """, isolation=isolation, key=f"{self._scope}:{key}", step=step))
            return float(cr.fetchone()[0])

    def __repr__(self):
        return f"<PostgresRateLimiter {self._scope}>"
