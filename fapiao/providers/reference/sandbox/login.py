"""The drawer's tax-bureau login (docs/protocol.md §6.9): status, QR codes, verification.

The session is the application's ``login_lapsed`` fault state: while it is set, the services that
act at the bureau answer 2007 and ``login.status`` says logged out. ``login.qrcode`` shows a QR code
(valid LOGIN_QR_SECONDS on the business clock; at most one every LOGIN_QR_INTERVAL_SECONDS and
LOGIN_QR_PER_DAY a China day); the drawer "scans" it through :meth:`LoginSessions.scan` (the admin
endpoint, or the simulator's ``scan_login_qr``); ``login.verify`` then clears the lapse.

A QR code is ``shown`` (the latest one an application asked for), ``scanned``, ``used`` (its
verification logged the drawer in) or ``void`` (superseded by a newer one, or the login state changed
by other means). Every code counts against the day's limit, whatever became of it.
"""

import math
import secrets
from datetime import timedelta

from ..protocol import LOGIN_QR_INTERVAL_SECONDS, LOGIN_QR_PER_DAY, LOGIN_QR_SECONDS
from .clock import at, iso
from .refusal import Refusal
from .store import insert_row

SHOWN, SCANNED, USED, VOID = "shown", "scanned", "used", "void"
QR_PREFIX = "fapiao-sandbox://tax-bureau-login?token="

LOGGED_IN = "开票员电子税局登录有效 / the drawer is logged in to the tax bureau"
LAPSED = ("开票员电子税局登录已失效，请获取二维码并用税务 App 扫码 / the drawer's tax bureau login has lapsed: "
          "ask for a QR code and scan it with the tax bureau's app")
NO_QR = "请先获取登录二维码 / ask for a login QR code first"
WAITING = "等待开票员扫码 / waiting for the drawer to scan the QR code"
EXPIRED = "二维码已过期，请重新获取 / the QR code expired before it was scanned: ask for a new one"
VERIFIED = "扫码认证成功，已恢复开票 / the drawer scanned the QR code: logged in, issuing resumes"


def _day(ms):
    return at(ms).date().isoformat()


def _seconds_until(now_ms, then_ms):
    return max(1, math.ceil((then_ms - now_ms) / 1000))


def qr_view(row):
    """A QR code as the admin endpoint and the simulator show it."""
    return {"qrContent": QR_PREFIX + row["token"], "status": row["status"], "createdAt": iso(row["created_ms"]),
            "expiresAt": row["expires_ms"], "scannedAt": iso(row["scanned_ms"]) if row["scanned_ms"] else ""}


class LoginSessions:
    def __init__(self, store, clock, apps, faults):
        self.store = store
        self.clock = clock
        self.apps = apps
        self.faults = faults

    def _lapsed(self, app):
        return self.faults.settings(self.apps.get(app.app_id) or app).login_lapsed

    def _latest(self, app_id):
        """The application's QR code that can still come to something (shown or scanned), or None."""
        return self.store.one("SELECT * FROM login_qr_codes WHERE app_id = ? AND status IN (?, ?) "
                              "ORDER BY id DESC LIMIT 1", (app_id, SHOWN, SCANNED))

    # --- the services ---------------------------------------------------------------------------

    def status(self, app):
        lapsed = self._lapsed(app)
        return {"loggedIn": not lapsed, "message": LAPSED if lapsed else LOGGED_IN}

    def qrcode(self, app):
        if not self._lapsed(app):
            return {"loggedIn": True, "message": LOGGED_IN}
        with self.store.transaction() as db:
            now = self.clock.now_ms()
            today = db.execute("SELECT COUNT(*) FROM login_qr_codes WHERE app_id = ? AND day = ?",
                               (app.app_id, _day(now))).fetchone()[0]
            if today >= LOGIN_QR_PER_DAY:
                midnight = at(now).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                raise Refusal("LOGIN_QR_LIMIT", retry_after=_seconds_until(now, int(midnight.timestamp() * 1000)))
            last = db.execute("SELECT MAX(created_ms) FROM login_qr_codes WHERE app_id = ?",
                              (app.app_id,)).fetchone()[0]
            if last is not None and now - last < LOGIN_QR_INTERVAL_SECONDS * 1000:
                raise Refusal("LOGIN_QR_TOO_SOON",
                              retry_after=_seconds_until(now, last + LOGIN_QR_INTERVAL_SECONDS * 1000))
            db.execute("UPDATE login_qr_codes SET status = ? WHERE app_id = ? AND status IN (?, ?)",
                       (VOID, app.app_id, SHOWN, SCANNED))
            row = insert_row(db, "login_qr_codes", {
                "app_id": app.app_id, "token": secrets.token_hex(16), "day": _day(now), "created_ms": now,
                "expires_ms": now + LOGIN_QR_SECONDS * 1000, "status": SHOWN})
        view = qr_view(row)
        return {"loggedIn": False, "message": WAITING, "qrContent": view["qrContent"], "expiresAt": view["expiresAt"]}

    def verify(self, app):
        with self.store.transaction() as db:
            if not self._lapsed(app):
                return {"loggedIn": True, "message": LOGGED_IN}
            row = self._latest(app.app_id)
            if row is None:
                return {"loggedIn": False, "message": NO_QR}
            if row["status"] == SHOWN:
                expired = self.clock.now_ms() >= row["expires_ms"]
                return {"loggedIn": False, "message": EXPIRED if expired else WAITING}
            db.execute("UPDATE login_qr_codes SET status = ? WHERE id = ?", (USED, row["id"]))
            current = self.apps.get(app.app_id)
            self.apps.upsert(app.app_id, faults={**current.faults, "login_lapsed": False})
        return {"loggedIn": True, "message": VERIFIED}

    # --- the drawer, and the operator -----------------------------------------------------------

    def scan(self, app):
        """The drawer scans the latest QR code shown to ``app`` with the tax bureau's app -> its view.
        Refusal NOT_FOUND when none is shown, STATE_CONFLICT when it expired; scanning it again
        changes nothing."""
        with self.store.transaction() as db:
            row = self._latest(app.app_id)
            if row is None:
                raise Refusal("NOT_FOUND", f"应用 {app.app_id} 没有待扫描的登录二维码 / no login QR code of "
                                           f"{app.app_id} to scan: ask for one first")
            if row["status"] == SHOWN:
                if self.clock.now_ms() >= row["expires_ms"]:
                    raise Refusal("STATE_CONFLICT", f"{EXPIRED} ({app.app_id})")
                row = db.execute("UPDATE login_qr_codes SET status = ?, scanned_ms = ? WHERE id = ? RETURNING *",
                                 (SCANNED, self.clock.now_ms(), row["id"])).fetchone()
        return qr_view(row)

    def discard(self, app_id):
        """The login state changed by other means (an operator): QR codes shown before come to nothing."""
        with self.store.transaction() as db:
            db.execute("UPDATE login_qr_codes SET status = ? WHERE app_id = ? AND status IN (?, ?)",
                       (VOID, app_id, SHOWN, SCANNED))
