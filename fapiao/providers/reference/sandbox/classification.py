"""The platform's tax classification code table (税收分类编码), kept in the
database and mirrored in memory (the rules look codes up on every issue).

The shipped CSV is merged in at every start: new or changed rows get a new
``updatedAt``, unchanged ones keep theirs, rows added through the admin
endpoint stay. ``updatedAt`` stamps only ever grow and are later than any
``serverTime`` already answered, so an incremental download from the last
``serverTime`` never misses a change.
"""

import json
import math
import os
import threading

from ....catalogue import Catalogue, read_csv
from ....documents import CatalogueEntry
from ..wire import from_wire, to_wire

MAX_PAGE_SIZE = 1000
_csv_cache = {}
_csv_lock = threading.Lock()


def _read_csv_cached(path):
    """[(entry, content)] of a CSV: parsed and serialised once per file version per process."""
    key = (os.path.abspath(path), os.path.getmtime(path))
    with _csv_lock:
        if key not in _csv_cache:
            _csv_cache[key] = [(entry, _content(entry)) for entry in read_csv(path)]
        return _csv_cache[key]


def _content(entry):
    """An entry's wire JSON without its change time: what decides whether it changed."""
    wire = to_wire(entry)
    wire.pop("updatedAt")
    return json.dumps(wire, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _version_key(version):
    parts = version.split(".")
    return tuple(int(p) if p.isdigit() else 0 for p in parts)


class ClassificationTable:
    def __init__(self, store, clock, csv_path):
        self.store = store
        self.clock = clock
        self.lookup = Catalogue()   # entries as loaded; their change times are in ``updated``
        self.updated = {}           # code -> updatedAt (ms)
        stored = {row["code"]: row for row in store.all("SELECT code, entry, updated_ms FROM catalogue")}
        self._last_stamp = max((row["updated_ms"] for row in stored.values()), default=0)
        changed = []
        for entry, content in _read_csv_cached(csv_path) if csv_path else []:
            row = stored.pop(entry.code, None)
            if row is not None and row["entry"] == content:
                self.lookup.update([entry])
                self.updated[entry.code] = row["updated_ms"]
            else:
                changed.append(entry)
        for row in stored.values():  # rows only the database has (admin upserts)
            self.lookup.update([from_wire(CatalogueEntry, json.loads(row["entry"]))])
            self.updated[row["code"]] = row["updated_ms"]
        if changed:
            self.upsert(changed)

    def _stamp(self):
        stamp = max(self.clock.now_ms(), self._last_stamp + 1)
        self._last_stamp = stamp
        return stamp

    def upsert(self, entries):
        """Add or replace entries (CatalogueEntry objects); they get a new updatedAt."""
        with self.store.transaction() as db:
            stamp = self._stamp()
            db.executemany("INSERT OR REPLACE INTO catalogue (code, entry, updated_ms) VALUES (?, ?, ?)",
                           [(entry.code, _content(entry), stamp) for entry in entries])
            self.lookup.update(entries)
            self.updated.update((entry.code, stamp) for entry in entries)
        return len(entries)

    @property
    def version(self):
        with self.store.lock:  # upserts change the table under this lock
            versions = {entry.version for entry in self.lookup if entry.version}
        return max(versions, key=_version_key) if versions else ""

    def download(self, since, page, page_size):
        with self.store.lock:
            server_time = self._stamp()  # later upserts get a later stamp
            codes = sorted(code for code, updated in self.updated.items() if updated > since)
        start = (page - 1) * page_size
        items = [{**to_wire(self.lookup.get(code)), "updatedAt": self.updated[code]}
                 for code in codes[start:start + page_size]]
        return {"items": items, "page": page,
                "pageCount": max(1, math.ceil(len(codes) / page_size)), "total": len(codes),
                "version": self.version, "serverTime": server_time}
