"""The simulator's state in SQLite: one table of JSON records by kind, plus counters and meta.

Records are small JSON documents (an app, an order, a red-letter form, a callback delivery) under
a kind and an id, with an optional second key (an order's orderNo, a form's billId) and the app
they belong to; ``seq`` keeps the order they were written in. One lock serialises every access:
the simulator is a test double, not a load-bearing database.
"""

import json
import sqlite3
import threading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, id TEXT NOT NULL, app TEXT NOT NULL DEFAULT '',
    alt TEXT NOT NULL DEFAULT '', data TEXT NOT NULL, UNIQUE (kind, id));
CREATE INDEX IF NOT EXISTS records_alt ON records (kind, app, alt);
CREATE TABLE IF NOT EXISTS counters (app TEXT NOT NULL, name TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (app, name));
CREATE TABLE IF NOT EXISTS events (app TEXT NOT NULL, name TEXT NOT NULL, at_ms INTEGER NOT NULL);
"""


class Store:
    """``path``: the SQLite file (created with its tables when missing)."""

    def __init__(self, path):
        self.lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self):
        with self.lock:
            self._db.close()

    # --- meta ---------------------------------------------------------------------------------

    def meta(self, key, default=None):
        with self.lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set_meta(self, key, value):
        with self.lock:
            self._db.execute("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
                             "value = excluded.value", (key, json.dumps(value)))

    def next_number(self, name):
        """1, 2, 3 ... for ``name`` across the platform."""
        with self.lock:
            value = int(self.meta(name, 0)) + 1
            self.set_meta(name, value)
            return value

    # --- records ------------------------------------------------------------------------------

    def get(self, kind, record_id):
        with self.lock:
            row = self._db.execute("SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)).fetchone()
        return json.loads(row[0]) if row else None

    def by_alt(self, kind, app, alt):
        with self.lock:
            row = self._db.execute("SELECT data FROM records WHERE kind = ? AND app = ? AND alt = ?",
                                   (kind, app, alt)).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, kind, record_id, data, app="", alt=""):
        """Write a record (its place in ``seq`` stays where it was first written)."""
        with self.lock:
            self._db.execute("INSERT INTO records (kind, id, app, alt, data) VALUES (?, ?, ?, ?, ?) "
                             "ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, app = excluded.app, "
                             "alt = excluded.alt", (kind, record_id, app, alt, json.dumps(data, ensure_ascii=False)))
        return data

    def all(self, kind, app=None):
        """Records of ``kind`` (of ``app`` when given), oldest first."""
        with self.lock:
            if app is None:
                rows = self._db.execute("SELECT data FROM records WHERE kind = ? ORDER BY seq", (kind,))
            else:
                rows = self._db.execute("SELECT data FROM records WHERE kind = ? AND app = ? ORDER BY seq",
                                        (kind, app))
            return [json.loads(row[0]) for row in rows.fetchall()]

    # --- counters and dated events ----------------------------------------------------------------

    def count(self, app, name, by=1):
        with self.lock:
            self._db.execute("INSERT INTO counters (app, name, n) VALUES (?, ?, ?) ON CONFLICT (app, name) DO UPDATE "
                             "SET n = n + excluded.n", (app, name, by))

    def counters(self, app):
        with self.lock:
            return dict(self._db.execute("SELECT name, n FROM counters WHERE app = ?", (app,)).fetchall())

    def note(self, app, name, at_ms):
        """Remember that ``name`` happened for ``app`` at ``at_ms`` (business clock)."""
        with self.lock:
            self._db.execute("INSERT INTO events (app, name, at_ms) VALUES (?, ?, ?)", (app, name, at_ms))

    def since(self, app, name, since_ms):
        """How many times ``name`` happened for ``app`` from ``since_ms`` on; and the last time (0: never)."""
        with self.lock:
            count, last = self._db.execute("SELECT COUNT(*), MAX(at_ms) FROM events WHERE app = ? AND name = ? "
                                           "AND at_ms >= ?", (app, name, since_ms)).fetchone()
        return count, last or 0
