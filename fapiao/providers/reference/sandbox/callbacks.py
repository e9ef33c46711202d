"""Platform-to-ERP callbacks: signed, encrypted POSTs, retried until answered.

An event is recorded in the same transaction as the change it reports, so
a restart delivers what was not delivered yet. One background thread sends
them in order; an answer other than HTTP 200 with ``{"code": "0000"}`` is
retried after the waits of ``RETRY_WAITS`` (real seconds), then marked
failed.
"""

import json
import logging
import threading
import uuid
from urllib.parse import urlsplit

import requests

from .. import callback
from ..client import Keyring
from .clock import iso, real_ms

_logger = logging.getLogger(__name__)

RETRY_WAITS = (1, 3, 10, 30, 60)
SEND_TIMEOUT = (3, 10)   # connect, read (seconds)


class Callbacks:
    def __init__(self, store, apps, clock, default_url=""):
        self.store = store
        self.apps = apps
        self.clock = clock
        self.default_url = default_url or ""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self._session = requests.Session()

    def url_for(self, app):
        return app.callback_url or self.default_url

    def record(self, db, app, event, data):
        """Queue ``event`` for ``app`` (inside the caller's transaction); no URL, no event."""
        url = self.url_for(app) if app else ""
        if not url:
            return None
        payload = {"eventId": f"evt-{uuid.uuid4().hex}", "event": event,
                   "occurredAt": iso(self.clock.now_ms()), "data": data}
        now = real_ms()
        db.execute("INSERT INTO callbacks (app_id, event_id, event, url, payload, status, next_ms, created_ms) "
                   "VALUES (?, ?, ?, ?, ?, 'pending', ?, ?)",
                   (app.app_id, payload["eventId"], event, url, json.dumps(payload, ensure_ascii=False),
                    now, now))
        self._wake.set()
        return payload["eventId"]

    # --- delivery -------------------------------------------------------------------------

    def start(self):
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sandbox-callbacks", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(SEND_TIMEOUT[0] + SEND_TIMEOUT[1] + 1)
        self._session.close()

    def _run(self):
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.deliver_due()
            except Exception:  # keep delivering whatever one bad row does
                _logger.exception("callback delivery failed")
            next_ms = self.store.scalar("SELECT MIN(next_ms) FROM callbacks WHERE status = 'pending'")
            wait = 1.0 if next_ms is None else min(max((next_ms - real_ms()) / 1000, 0.0), 1.0)
            self._wake.wait(wait)

    def deliver_due(self):
        rows = self.store.all("SELECT * FROM callbacks WHERE status = 'pending' AND next_ms <= ? ORDER BY id",
                              (real_ms(),))
        for row in rows:
            if self._stop.is_set():
                return
            self._attempt(row)

    def _attempt(self, row):
        app = self.apps.get(row["app_id"])
        error = ""
        if app is None:
            error = "application no longer exists"
        else:
            path = urlsplit(row["url"]).path or "/"
            body, headers = callback.seal(Keyring(app.secret, app.sm4_key_hex), app.app_id, path,
                                          json.loads(row["payload"]))
            try:
                response = self._session.post(row["url"], data=body, headers=headers, timeout=SEND_TIMEOUT)
                answer = response.json() if response.content else {}
                if response.status_code != 200 or not isinstance(answer, dict) or answer.get("code") != "0000":
                    error = f"HTTP {response.status_code}: {response.text[:200]}"
            except (requests.RequestException, ValueError) as exc:
                error = f"{type(exc).__name__}: {str(exc)[:200]}"
        attempts = row["attempts"] + 1
        now = real_ms()
        if not error:
            status, next_ms, delivered = "delivered", row["next_ms"], now
        elif attempts > len(RETRY_WAITS):
            status, next_ms, delivered = "failed", row["next_ms"], None
        else:
            status, next_ms, delivered = "pending", now + RETRY_WAITS[attempts - 1] * 1000, None
        if error:
            _logger.info("callback %s %s to %s: attempt %s failed: %s", row["event_id"], row["event"],
                         row["url"], attempts, error)
        with self.store.transaction() as db:
            db.execute("UPDATE callbacks SET status = ?, attempts = ?, next_ms = ?, last_error = ?, "
                       "delivered_ms = ? WHERE id = ?", (status, attempts, next_ms, error, delivered, row["id"]))

    # --- admin view ------------------------------------------------------------------------------

    def list(self, app_id=None):
        rows = self.store.all("SELECT * FROM callbacks WHERE (? IS NULL OR app_id = ?) ORDER BY id",
                              (app_id, app_id))
        return [{"id": row["id"], "appId": row["app_id"], "eventId": row["event_id"], "event": row["event"],
                 "url": row["url"], "status": row["status"], "attempts": row["attempts"],
                 "lastError": row["last_error"], "createdAt": iso(row["created_ms"]),
                 "deliveredAt": iso(row["delivered_ms"]) if row["delivered_ms"] else "",
                 "payload": json.loads(row["payload"])} for row in rows]
