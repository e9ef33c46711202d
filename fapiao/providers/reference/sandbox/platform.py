"""The sandbox platform assembled: state, services, HTTP server and the
helpers tests (and the admin endpoint) use to play the other parties."""

import logging
import threading
from decimal import Decimal

from ....catalogue import DEFAULT_CSV
from ....documents import CatalogueEntry
from ...loopback import check_latency
from .. import protocol
from ..wire import from_wire
from .apps import DEFAULT_APP, AppRegistry, parse_app_spec, parse_quota, parse_rate_limit
from .callbacks import Callbacks
from .classification import ClassificationTable
from .clock import BusinessClock, iso, real_ms
from .faults import FaultInjector, FaultSettings
from .gate import Gateway
from .ledger import ISSUED, Ledger, result
from .login import LoginSessions
from .redforms import RedForms
from .refusal import Refusal
from .server import READ_TIMEOUT, SandboxServer
from .services import Services
from .store import Store

_logger = logging.getLogger(__name__)

DEFAULT_QUOTA = Decimal("10000000.00")
TICK_SECONDS = 0.5


class Sandbox:
    """An embedded tax platform speaking docs/protocol.md over HTTP.

    ``Sandbox(db_path, host, port, **options)``: the options are those of the
    command line (``python -m fapiao.sandbox --help``) with ``_`` for ``-``.
    ``start()`` serves in background threads; use it as a context manager.
    """

    def __init__(self, db_path, host="127.0.0.1", port=0, *, app=(), no_default_app=False,
                 timestamp_window=300, admin_token=None, catalogue=DEFAULT_CSV, quota=DEFAULT_QUOTA,
                 callback_url=None, fault_busy=0.0, retry_after=2, fault_timeout=0.0, timeout_seconds=30.0,
                 fault_drop=0.0, fault_malformed=0.0, fault_lost=0.0, fault_slow=0.0, slow_seconds=2.0,
                 fault_seed=None, pending_rate=0.0, pending_seconds=30.0, pending_fail_rate=0.0, login_lapsed=False,
                 read_timeout=READ_TIMEOUT, rate_limit=0.0, latency=0.0):
        # Bad values are refused before any file is created.
        default_quota = parse_quota(quota)
        rate_limit = parse_rate_limit(rate_limit)
        self.latency = check_latency(latency)     # seconds every /v1 answer waits
        apps = [parse_app_spec(spec) if isinstance(spec, str) else spec for spec in app]
        fault_defaults = FaultSettings(**FaultSettings.check({
            "busy": fault_busy, "retry_after": retry_after, "timeout": fault_timeout,
            "timeout_seconds": timeout_seconds, "drop": fault_drop, "malformed": fault_malformed,
            "lost": fault_lost, "slow": fault_slow, "slow_seconds": slow_seconds, "seed": fault_seed,
            "pending_rate": pending_rate,
            "pending_seconds": pending_seconds, "pending_fail_rate": pending_fail_rate,
            "login_lapsed": login_lapsed}))
        if not read_timeout > 0:
            raise ValueError(f"read timeout {read_timeout} is not a number of seconds > 0")
        self.host, self.port = host, port
        self.read_timeout = read_timeout
        self.admin_token = admin_token or None
        self.stopping = threading.Event()
        self.store = Store(db_path)
        self.clock = BusinessClock(self.store)
        self.apps = AppRegistry(self.store)
        self._register_apps(apps, no_default_app)
        self.faults = FaultInjector(fault_defaults)
        self.callbacks = Callbacks(self.store, self.apps, self.clock, callback_url)
        self.ledger = Ledger(self.store, self.clock, self.apps, self.callbacks, default_quota)
        self.table = ClassificationTable(self.store, self.clock, catalogue)
        self.forms = RedForms(self.store, self.clock, self.apps, self.ledger, self.callbacks)
        self.login = LoginSessions(self.store, self.clock, self.apps, self.faults)
        self.services = Services(self.ledger, self.forms, self.table, self.faults, self.login)
        self.gateway = Gateway(self.store, self.apps, self.services, self.faults,
                               timestamp_window=timestamp_window, stopping=self.stopping, rate_limit=rate_limit)
        self.timestamp_window = timestamp_window
        self._server = None
        self._threads = []

    def _register_apps(self, apps, no_default_app):
        default = self.apps.get(DEFAULT_APP.app_id)
        if no_default_app:
            if default is not None and default.enabled:
                self.apps.upsert(DEFAULT_APP.app_id, enabled=False)
        elif default is None:
            self.apps.upsert(DEFAULT_APP.app_id, **_fields(DEFAULT_APP))
        elif not default.enabled:  # disabled by an earlier --no-default-app run
            self.apps.upsert(DEFAULT_APP.app_id, enabled=True)
        for app in apps:
            self.apps.upsert(app.app_id, **_fields(app))

    # --- running ------------------------------------------------------------------------------

    def start(self):
        self.stopping.clear()
        self._server = SandboxServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._threads = [threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                         name="sandbox-http", daemon=True),
                         threading.Thread(target=self._tick_forever, name="sandbox-ticker", daemon=True)]
        for thread in self._threads:
            thread.start()
        self.callbacks.start()
        _logger.info("sandbox platform listening on %s (database %s)", self.url, self.store.path)
        return self

    def stop(self):
        if self.stopping.is_set() and self._server is None:
            return
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_all()
            self._server = None
        self.callbacks.stop()
        for thread in self._threads:
            thread.join(5)
        self.store.close()

    def __enter__(self):
        return self.start() if self._server is None else self

    def __exit__(self, *exc):
        self.stop()

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    def _tick_forever(self):
        last_prune = 0.0
        while not self.stopping.wait(TICK_SECONDS):
            try:
                self.tick()
                self.store.flush_counts()
                if real_ms() - last_prune > 60_000:
                    # Nonces older than the window can never be replayed: their timestamp is stale.
                    self.store.forget_nonces(real_ms() - 2 * self.timestamp_window * 1000)
                    last_prune = real_ms()
            except Exception:
                if not self.stopping.is_set():
                    _logger.exception("sandbox ticker failed")

    def tick(self):
        """Resolve due pending submissions and lapse expired forms now."""
        self.ledger.promote_due()
        self.forms.lapse_due()

    # --- helpers acting as the admin endpoint -------------------------------------------------------

    @property
    def default_app(self):
        return self.apps.get(DEFAULT_APP.app_id)

    def add_app(self, app_id, secret=None, sm4_key_hex=None, seller_tax_id=None, seller_name=None, *,
                sm2_public_key=None, callback_url=None, quota=None, enabled=None, rate_limit=None):
        """Register an application, or change the given fields of an existing one."""
        changes = {"secret": secret, "sm4_key_hex": sm4_key_hex, "seller_tax_id": seller_tax_id,
                   "seller_name": seller_name, "sm2_public_key": sm2_public_key, "callback_url": callback_url,
                   "quota": quota, "enabled": enabled, "rate_limit": rate_limit}
        return self.apps.upsert(app_id, **{k: v for k, v in changes.items() if v is not None})

    def get_app(self, app_id):
        """The application ``app_id``; KeyError when there is none."""
        app = self.apps.get(app_id)
        if app is None:
            raise KeyError(f"unknown application {app_id!r}")
        return app

    def set_rate_limit(self, app_id, rate):
        """The requests a second ``app_id`` may send (0: no limit) in any second of the real clock;
        more are refused with 2010 (HTTP 429) before anything is read."""
        self.get_app(app_id)
        return self.apps.upsert(app_id, rate_limit=parse_rate_limit(rate))

    def rate_limit_of(self, app_id):
        """The requests a second ``app_id`` may send: its own rate, or the platform's (0: no limit)."""
        return self.gateway.rate_of(self.get_app(app_id))

    def set_latency(self, seconds):
        """Every /v1 answer from now on waits ``seconds`` (a distant platform's round trip), each in
        its connection's thread: the others go on meanwhile. -> the latency in force."""
        self.latency = check_latency(seconds)
        return self.latency

    def set_faults(self, app_id, **settings):
        """Per-app fault and pending settings, by FaultSettings field name (``retry_after``) or
        wire name (``retryAfter``); returns them all."""
        app = self.get_app(app_id)
        checked = FaultSettings.check({FaultSettings.WIRE.get(k, k): v for k, v in settings.items()})
        lapsed = self.faults.settings(app).login_lapsed
        app = self.apps.upsert(app_id, faults={**app.faults, **checked})
        self.faults.reset(app_id)
        if self.faults.settings(app).login_lapsed != lapsed:
            self.login.discard(app_id)     # logged in or out by other means: earlier QR codes are void
        return self.faults.settings(app)

    def advance_clock(self, seconds):
        """Move the business clock forward, then resolve what fell due."""
        now_ms = self.clock.advance(seconds)
        self.tick()
        return now_ms

    def clock_state(self):
        now_ms = self.clock.now_ms()
        return {"now": iso(now_ms), "nowMs": now_ms, "offsetSeconds": self.clock.offset_ms / 1000}

    def scan_login_qr(self, app_id):
        """The drawer scans the latest login QR code shown to ``app_id`` with the tax bureau's app; the
        next ``login.verify`` logs it in -> the QR code (``qrContent``, ``status``, ``expiresAt`` ms ...).
        Refusal NOT_FOUND when none is shown, STATE_CONFLICT when it expired."""
        return self.login.scan(self.get_app(app_id))

    def buyer_confirm_use(self, invoice_number):
        """The buyer confirms use (用途确认) of a blue invoice: later seller forms need its confirmation."""
        with self.store.transaction() as db:
            row = self.store.one("SELECT * FROM invoices WHERE invoice_number = ?", (invoice_number,))
            if row is None:
                raise Refusal("NOT_FOUND", f"invoice {invoice_number} not found")
            if row["kind"] != "blue" or row["status"] != ISSUED:
                raise Refusal("STATE_CONFLICT", f"invoice {invoice_number} is {row['kind']} {row['status']}")
            db.execute("UPDATE invoices SET use_confirmed = 1 WHERE id = ?", (row["id"],))
        return result(row)

    def buyer_apply_red_form(self, blue_invoice_number, reason="01", lines=(), app_id=None):
        """The buyer raises a form against a blue invoice (inbound for the seller, state 03)."""
        row = self.store.one("SELECT app_id FROM invoices WHERE invoice_number = ?", (blue_invoice_number,))
        if row is None:
            raise Refusal("NOT_FOUND", f"invoice {blue_invoice_number} not found")
        return self.forms.buyer_apply(self.get_app(app_id or row["app_id"]), blue_invoice_number, reason, lines)

    def buyer_confirm(self, form_number):
        return self.forms.buyer_answer(form_number, accept=True)

    def buyer_reject(self, form_number):
        return self.forms.buyer_answer(form_number, accept=False)

    def upsert_catalogue(self, entries):
        """Add or change classification codes (CatalogueEntry objects or their wire dicts)."""
        entries = [e if isinstance(e, CatalogueEntry) else from_wire(CatalogueEntry, e) for e in entries]
        return self.table.upsert(entries)

    def invoices(self, app_id=None):
        self.ledger.promote_due()
        rows = self.store.all("SELECT * FROM invoices WHERE (? IS NULL OR app_id = ?) ORDER BY id",
                              (app_id, app_id))
        return [{**result(row), "appId": row["app_id"], "kind": row["kind"],
                 "sellerTaxId": row["seller_tax_id"], "buyerTaxId": row["buyer_tax_id"],
                 "useConfirmed": bool(row["use_confirmed"])} for row in rows]

    def callback_deliveries(self, app_id=None):
        return self.callbacks.list(app_id)

    def stats(self, app_id=None):
        """Counts for one application (or all): what tests compare before and after."""
        self.tick()
        self.store.flush_counts()
        where, params = "WHERE (? IS NULL OR app_id = ?)", (app_id, app_id)

        def grouped(sql):
            return {row[0]: row[1] for row in self.store.all(sql, params)}

        invoices = self.store.one(f"SELECT COUNT(*), COUNT(DISTINCT serial_no), "  # noqa: S608
                                  f"COUNT(invoice_number), COUNT(DISTINCT invoice_number) FROM invoices {where}",
                                  params)
        by_code = grouped(f"SELECT code, SUM(count) FROM request_counts {where} GROUP BY code")  # noqa: S608
        stats = {
            "invoices": invoices[0],
            "distinctSerials": invoices[1],
            "numbered": invoices[2],
            "duplicateNumbers": invoices[2] - invoices[3],
            "byStatus": grouped(f"SELECT status, COUNT(*) FROM invoices {where} GROUP BY status"),  # noqa: S608
            "byKind": grouped(f"SELECT kind, COUNT(*) FROM invoices {where} GROUP BY kind"),  # noqa: S608
            "redForms": self._form_counts(app_id),
            "requests": {"total": sum(by_code.values()), "byCode": by_code,
                         "byService": grouped(f"SELECT service, SUM(count) FROM request_counts {where} "  # noqa: S608
                                              f"GROUP BY service"),
                         # the most that arrived in one second since the platform started (of any one
                         # application without app_id), refused ones included; those refused for the rate
                         "peakRate": self.gateway.rate_window.peak(app_id),
                         "rateLimited": by_code.get(protocol.CODE["RATE_LIMITED"], 0)},
            "faults": grouped(f"SELECT fault, SUM(count) FROM fault_counts {where} GROUP BY fault"),  # noqa: S608
            "callbacks": grouped(f"SELECT status, COUNT(*) FROM callbacks {where} GROUP BY status"),  # noqa: S608
            "nonces": self.store.scalar(f"SELECT COUNT(*) FROM nonces {where}", params, 0),  # noqa: S608
            "sequences": {row[0]: row[1] for row in self.store.all("SELECT name, value FROM sequences")},
        }
        if app_id is not None:
            stats["quota"] = self.ledger.quota(self.get_app(app_id))
        return stats

    def _form_counts(self, app_id):
        """Forms by state: those concerning the application's taxpayer, or all."""
        if app_id is None:
            rows = self.store.all("SELECT status, COUNT(*) FROM red_forms GROUP BY status")
        else:
            tax_id = self.get_app(app_id).seller_tax_id
            rows = self.store.all("SELECT status, COUNT(*) FROM red_forms WHERE seller_tax_id = ? "
                                  "OR buyer_tax_id = ? GROUP BY status", (tax_id, tax_id))
        return {row[0]: row[1] for row in rows}


def _fields(app):
    """An App's fields as upsert changes."""
    return {name: getattr(app, name) for name in ("secret", "sm4_key_hex", "seller_tax_id", "seller_name",
                                                  "sm2_public_key", "callback_url", "quota", "enabled")}
