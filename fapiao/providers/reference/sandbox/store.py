"""The sandbox platform's state: one SQLite database in WAL mode.

One connection shared by every thread behind a re-entrant lock: the work per
request is small, so serialising it costs less than juggling connections,
and it makes every service call atomic (check a serial number, take a
number, store the invoice) without further locking. A restart on the same
file loses nothing.
"""

import sqlite3
import threading
from collections import Counter
from contextlib import contextmanager

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS apps (
    app_id TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    sm4_key_hex TEXT NOT NULL,
    seller_tax_id TEXT NOT NULL,
    seller_name TEXT NOT NULL DEFAULT '',
    sm2_public_key TEXT NOT NULL DEFAULT '',
    callback_url TEXT NOT NULL DEFAULT '',
    quota TEXT NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    faults TEXT NOT NULL DEFAULT '{}',
    rate_limit REAL                     -- NULL: the platform's
);
CREATE TABLE IF NOT EXISTS nonces (
    app_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_ms INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_seen ON nonces (seen_ms);
CREATE TABLE IF NOT EXISTS sequences (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL,
    serial_no TEXT NOT NULL,
    kind TEXT NOT NULL,                 -- blue / red
    invoice_type TEXT NOT NULL,
    status TEXT NOT NULL,               -- issued / pending / failed / void / red-reversed
    invoice_number TEXT UNIQUE,         -- NULL until issued
    issue_time TEXT NOT NULL DEFAULT '',
    qr_payload TEXT NOT NULL DEFAULT '',
    seller_tax_id TEXT NOT NULL,
    buyer_tax_id TEXT NOT NULL DEFAULT '',
    buyer_name TEXT NOT NULL DEFAULT '',
    total_amount TEXT NOT NULL,
    total_tax TEXT NOT NULL,
    total_with_tax TEXT NOT NULL,
    blue_invoice_number TEXT NOT NULL DEFAULT '',
    red_form_number TEXT NOT NULL DEFAULT '',
    failure_code TEXT NOT NULL DEFAULT '',
    failure_message TEXT NOT NULL DEFAULT '',
    payload TEXT NOT NULL,              -- the invoice as submitted (wire JSON)
    payload_sm3 TEXT NOT NULL,          -- SM3 of the canonical payload, for sameContent
    period TEXT NOT NULL,               -- YYYY-MM the quota is charged to
    created_ms INTEGER NOT NULL,        -- business clock
    due_ms INTEGER,                     -- pending: when it resolves
    resolution TEXT NOT NULL DEFAULT '',  -- pending: issued / failed
    use_confirmed INTEGER NOT NULL DEFAULT 0,  -- buyer confirmed use (用途确认)
    UNIQUE (app_id, serial_no)
);
CREATE INDEX IF NOT EXISTS invoices_due ON invoices (status, due_ms);
CREATE TABLE IF NOT EXISTS invoice_lines (
    invoice_id INTEGER NOT NULL,
    line_no INTEGER NOT NULL,
    quantity TEXT NOT NULL DEFAULT '',
    amount TEXT NOT NULL,
    tax_amount TEXT NOT NULL,
    reversed_quantity TEXT NOT NULL DEFAULT '0',   -- negative sums of issued red invoices
    reversed_amount TEXT NOT NULL DEFAULT '0',
    reversed_tax TEXT NOT NULL DEFAULT '0',
    PRIMARY KEY (invoice_id, line_no)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS red_forms (
    id INTEGER PRIMARY KEY,
    form_number TEXT NOT NULL UNIQUE,
    app_id TEXT NOT NULL,               -- the applying application ('' for a simulated buyer)
    serial_no TEXT NOT NULL,
    applicant TEXT NOT NULL,            -- seller / buyer
    seller_tax_id TEXT NOT NULL,
    buyer_tax_id TEXT NOT NULL,
    blue_invoice_number TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    lines TEXT NOT NULL,                -- wire JSON of the (negative) lines
    total_amount TEXT NOT NULL,
    total_tax TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL,
    red_invoice_number TEXT NOT NULL DEFAULT '',
    payload_sm3 TEXT NOT NULL DEFAULT '',
    UNIQUE (app_id, serial_no)
);
CREATE INDEX IF NOT EXISTS red_forms_status ON red_forms (status, expires_ms);
CREATE INDEX IF NOT EXISTS red_forms_blue ON red_forms (blue_invoice_number);
CREATE TABLE IF NOT EXISTS catalogue (
    code TEXT PRIMARY KEY,
    entry TEXT NOT NULL,                -- CatalogueEntry wire JSON
    updated_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS catalogue_updated ON catalogue (updated_ms);
CREATE TABLE IF NOT EXISTS quota_usage (
    app_id TEXT NOT NULL,
    period TEXT NOT NULL,
    used_cents INTEGER NOT NULL,
    PRIMARY KEY (app_id, period)
);
CREATE TABLE IF NOT EXISTS documents (
    invoice_number TEXT NOT NULL,
    format TEXT NOT NULL,
    content BLOB NOT NULL,
    sm3 TEXT NOT NULL,
    PRIMARY KEY (invoice_number, format)
);
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE,
    event TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,              -- the event JSON (sealed afresh for each attempt)
    status TEXT NOT NULL,               -- pending / delivered / failed
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL,           -- real clock
    last_error TEXT NOT NULL DEFAULT '',
    created_ms INTEGER NOT NULL,
    delivered_ms INTEGER
);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (status, next_ms);
CREATE TABLE IF NOT EXISTS login_qr_codes (
    id INTEGER PRIMARY KEY,
    app_id TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    day TEXT NOT NULL,                  -- China day it was shown (business clock): the daily limit
    created_ms INTEGER NOT NULL,        -- business clock
    expires_ms INTEGER NOT NULL,
    scanned_ms INTEGER,
    status TEXT NOT NULL                -- shown / scanned / used / void (sandbox/login.py)
);
CREATE INDEX IF NOT EXISTS login_qr_codes_app ON login_qr_codes (app_id, day);
CREATE TABLE IF NOT EXISTS request_counts (
    app_id TEXT NOT NULL,
    service TEXT NOT NULL,
    code TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (app_id, service, code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fault_counts (
    app_id TEXT NOT NULL,
    fault TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (app_id, fault)
) WITHOUT ROWID;
"""


def marks(values):
    """``?, ?, ?``: one SQL parameter mark per value."""
    return ", ".join("?" * len(values))


def insert_row(db, table, values):
    """INSERT a row given as {column: value}; the new row."""
    return db.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({marks(values)}) "  # noqa: S608
                      f"RETURNING *", list(values.values())).fetchone()


class Store:
    """The database connection, its lock and the few generic helpers."""

    def __init__(self, path):
        self.path = str(path)
        self.lock = threading.RLock()
        self._counts_lock = threading.Lock()
        self._requests, self._faults = Counter(), Counter()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives a crash of the process; only a power
        # loss may lose the last transactions, fine for a sandbox.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self):
        """Bring a database written by an earlier version up to SCHEMA."""
        invoice_columns = {row["name"] for row in self.db.execute("PRAGMA table_info(invoices)")}
        if "buyer_name" not in invoice_columns:     # results carry the buyer since issue 11
            with self.transaction() as db:
                db.execute("ALTER TABLE invoices ADD COLUMN buyer_name TEXT NOT NULL DEFAULT ''")
                db.execute("UPDATE invoices SET buyer_name = COALESCE(json_extract(payload, '$.buyer.name'), '')")
        app_columns = {row["name"] for row in self.db.execute("PRAGMA table_info(apps)")}
        if "rate_limit" not in app_columns:         # an application's own rate since issue 16
            with self.transaction() as db:
                db.execute("ALTER TABLE apps ADD COLUMN rate_limit REAL")

    def close(self):
        self.flush_counts()
        with self.lock:
            self.db.close()

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE .. COMMIT under the lock; nested use joins the outer one."""
        with self.lock:
            if self.db.in_transaction:
                yield self.db
                return
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            self.db.execute("COMMIT")

    def all(self, sql, params=()):
        with self.lock:
            return self.db.execute(sql, params).fetchall()

    def one(self, sql, params=()):
        with self.lock:
            return self.db.execute(sql, params).fetchone()

    def scalar(self, sql, params=(), default=None):
        row = self.one(sql, params)
        return default if row is None or row[0] is None else row[0]

    # --- small pieces of state used everywhere ---------------------------------

    def meta(self, key, default=None):
        return self.scalar("SELECT value FROM meta WHERE key = ?", (key,), default)

    def set_meta(self, key, value):
        with self.transaction() as db:
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?) "
                       "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, str(value)))

    def next_sequence(self, name):
        """The next value of a named counter (1, 2, ...); kept across restarts."""
        with self.transaction() as db:
            row = db.execute("INSERT INTO sequences (name, value) VALUES (?, 1) "
                             "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
                             (name,)).fetchone()
            return row[0]

    def record_nonce(self, app_id, nonce, now_ms):
        """Remember a nonce; False when it was already there (a replay)."""
        with self.transaction() as db:
            cursor = db.execute("INSERT OR IGNORE INTO nonces (app_id, nonce, seen_ms) VALUES (?, ?, ?)",
                                (app_id, nonce, now_ms))
            return cursor.rowcount == 1

    def forget_nonces(self, before_ms):
        with self.transaction() as db:
            db.execute("DELETE FROM nonces WHERE seen_ms < ?", (before_ms,))

    # Request and fault counters are kept in memory and written in batches
    # (flush_counts): one commit less on every request.

    def count_request(self, app_id, service, code):
        with self._counts_lock:
            self._requests[(app_id, service, code)] += 1

    def count_fault(self, app_id, fault):
        with self._counts_lock:
            self._faults[(app_id, fault)] += 1

    def flush_counts(self):
        with self._counts_lock:
            requests, faults = self._requests, self._faults
            self._requests, self._faults = Counter(), Counter()
        if not (requests or faults):
            return
        with self.transaction() as db:
            db.executemany("INSERT INTO request_counts (app_id, service, code, count) VALUES (?, ?, ?, ?) "
                           "ON CONFLICT DO UPDATE SET count = count + excluded.count",
                           [(*key, count) for key, count in requests.items()])
            db.executemany("INSERT INTO fault_counts (app_id, fault, count) VALUES (?, ?, ?) "
                           "ON CONFLICT DO UPDATE SET count = count + excluded.count",
                           [(*key, count) for key, count in faults.items()])
