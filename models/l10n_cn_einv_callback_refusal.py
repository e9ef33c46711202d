"""Callbacks refused before they were authenticated: counted, never logged one by one.

Anybody can POST to the callback URL. A request that is not the platform's (headers missing,
another application, a stale timestamp, a signature that does not verify, a replayed nonce) must
not cost a row per request: the interaction log is an audit record kept five years and cannot be
deleted. Such refusals only add to one counter per company and reason, whose keys are ours (an
existing company, a reason of :data:`REASONS`), never the caller's: the table holds at most
companies x reasons rows whatever is sent. The server log gets at most one line per company and
reason every :data:`LOG_INTERVAL` seconds, with the number of refusals it did not write.

Counts are kept in the process and added to the table by the refused request's own transaction,
in a savepoint that gives up at once when another request holds the row (they stay pending for the
next one): counting never makes a request fail or wait.
"""

import logging
import threading
import time

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL

_logger = logging.getLogger(__name__)

REASONS = [
    ("MISSING_AUTH", "Authentication headers missing"),
    ("UNKNOWN_APP", "Other application, or callbacks disabled"),
    ("STALE_TIMESTAMP", "Timestamp outside the 300 s window"),
    ("BAD_SIGNATURE", "Signature does not verify"),
    ("REPLAYED_NONCE", "Replayed nonce"),
]
REFUSED_BEFORE_AUTHENTICATION = frozenset(code for code, _label in REASONS)
LOG_INTERVAL = 60.0

_LOCK = threading.Lock()
_PENDING = {}   # (database, company id, reason) -> [count, first seen, last seen], not yet in the table
_LOGGED = {}    # (database, company id or None, reason) -> [monotonic time of the last line, refusals since]


def log_refusal(database, company_id, reason, detail):
    """One INFO line per (database, company, reason) and LOG_INTERVAL at the most."""
    key = (database, company_id, reason)
    now = time.monotonic()
    with _LOCK:
        entry = _LOGGED.get(key)
        if entry is not None and now - entry[0] < LOG_INTERVAL:
            entry[1] += 1
            return
        unlogged, window = (entry[1], round(now - entry[0])) if entry is not None else (0, 0)
        _LOGGED[key] = [now, 0]
    _logger.info("e-invoice callback refused (company %s): %s %s%s", company_id or "unknown", reason, detail,
                 f" ({unlogged} more of these in the last {window} s, not logged one by one)" if unlogged else "")


class L10nCnEinvCallbackRefusal(models.Model):
    _name = "l10n_cn_einv.callback.refusal"
    _description = "Refused E-Invoice Callbacks"
    _order = "last_seen desc"
    _log_access = False
    _rec_name = "reason"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    reason = fields.Selection(REASONS, required=True, readonly=True)
    count = fields.Integer("Refused Requests", readonly=True, aggregator="sum")
    first_seen = fields.Datetime("First Refused", readonly=True)
    last_seen = fields.Datetime("Last Refused", readonly=True)

    _sql_constraints = [
        ("l10n_cn_einv_refusal_unique", "UNIQUE(company_id, reason)", "One counter per company and reason."),
    ]

    @api.model
    def _l10n_cn_einv_count(self, company, reason):
        """Count one refusal of ``reason`` (a key of REASONS) for ``company`` (an existing company)."""
        assert reason in REFUSED_BEFORE_AUTHENTICATION, reason
        database, now = self.env.cr.dbname, fields.Datetime.now()
        with _LOCK:
            entry = _PENDING.setdefault((database, company.id, reason), [0, now, now])
            entry[0] += 1
            entry[2] = now
        self._l10n_cn_einv_flush()

    @api.model
    def _l10n_cn_einv_flush(self):
        """Add this process's pending counts of this database to the table; what cannot be added
        without waiting stays pending."""
        database = self.env.cr.dbname
        with _LOCK:
            batch = {key: _PENDING.pop(key) for key in [key for key in _PENDING if key[0] == database]}
        if not batch:
            return
        rows = SQL(", ").join(SQL("(%s, %s, %s, %s, %s)", company_id, reason, count, first, last)
                              for (_db, company_id, reason), (count, first, last) in batch.items())
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL("""
                    SET LOCAL lock_timeout = '200ms';
                    INSERT INTO l10n_cn_einv_callback_refusal AS refusal
                                (company_id, reason, count, first_seen, last_seen)
                    VALUES %s
                    ON CONFLICT (company_id, reason) DO UPDATE
                       SET count = refusal.count + EXCLUDED.count,
                           last_seen = GREATEST(refusal.last_seen, EXCLUDED.last_seen)
                """, rows), log_exceptions=False)
        except psycopg2.errors.ForeignKeyViolation:
            return  # a company deleted meanwhile: nothing to count it against
        except psycopg2.OperationalError:
            # another request updates the same counters right now (a lock wait, or a serialization
            # failure of this snapshot): the next refused request adds them
            with _LOCK:
                for key, (count, first, last) in batch.items():
                    entry = _PENDING.setdefault(key, [0, first, last])
                    entry[0] += count
                    entry[1], entry[2] = min(entry[1], first), max(entry[2], last)
