"""The reference provider's simulator: the embedded sandbox (``sandbox/``) behind the neutral
:class:`fapiao.provider.Simulator`, so that tests written against the contract drive it.

An account is a sandbox application: its key is the ``app_id``. The neutral faults map onto the
sandbox's own fault settings (docs/sandbox.md §7):

=================  ==========================  ==================================================
neutral            sandbox                     what happens
=================  ==========================  ==================================================
busy               busy (+ retry_after)        9001, nothing done
timeout            timeout (+ timeout_seconds) done, answered after ``timeout_seconds``
drop               lost                        done, connection closed without an answer
disconnect         drop                        connection closed before anything is done
malformed          malformed                   done, answered with a body that is not JSON
slow               slow (+ slow_seconds)       answered after ``slow_seconds``
pending            pending_rate                issues answer "pending" (+ pending_seconds)
pending_failure    pending_fail_rate           share of pending ones that end "failed"
login_lapsed       login_lapsed                2007 for the services that act at the bureau
=================  ==========================  ==================================================

The login session (``login_status`` / ``login_start`` / ``login_complete``) is that state:
``scan_login_qr`` is the drawer scanning the QR code ``login_start`` got (sandbox/login.py).
"""

import secrets
from contextlib import contextmanager
from pathlib import Path

from ... import provider
from ...crypto import sm2_public_key
from ...documents import InvoiceResult
from ...errors import NotFound, PlatformError, StateConflict
from .sandbox import Sandbox
from .sandbox.refusal import Refusal
from .wire import from_wire

# neutral name -> the sandbox's FaultSettings field, with the value set_faults(key) leaves
_FAULTS = {"busy": ("busy", 0.0), "timeout": ("timeout", 0.0), "drop": ("lost", 0.0),
           "disconnect": ("drop", 0.0), "malformed": ("malformed", 0.0), "slow": ("slow", 0.0),
           "pending": ("pending_rate", 0.0), "pending_failure": ("pending_fail_rate", 0.0),
           "login_lapsed": ("login_lapsed", False)}
_OPTIONS = {"retry_after": ("retry_after", 0),          # busy answers ask for no wait unless told
            "timeout_seconds": ("timeout_seconds", 30.0),
            "slow_seconds": ("slow_seconds", 2.0),
            "pending_seconds": ("pending_seconds", 30.0),  # business-clock seconds (advance_clock)
            "seed": ("seed", None)}
_REFERENCES = (("serialNo", "serial_no"), ("invoiceNumber", "invoice_number"), ("formNumber", "form_number"))


def _text(value):
    return value() if callable(value) else (value or "")


class EmbeddedSandbox(provider.Simulator):
    """The reference platform (fapiao.providers.reference.sandbox.Sandbox) as a Simulator, started
    on ``host:port`` (0: any free port) with its database in ``directory``. ``sandbox`` is the
    Sandbox itself, for tests of the reference protocol that need more than the neutral methods.
    ``rate_limit``: the requests per second an account may send unless :meth:`set_rate_limit` says
    otherwise (0: no limit; more are refused with 2010, HTTP 429); ``latency``: the seconds every
    answer waits (:meth:`set_latency`)."""

    FAULTS = tuple(_FAULTS)
    FAULT_OPTIONS = tuple(_OPTIONS)

    def __init__(self, directory, host="127.0.0.1", port=0, *, rate_limit=0.0, latency=0.0):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.sandbox = Sandbox(directory / "sandbox.db", host, port, no_default_app=True, rate_limit=rate_limit,
                               latency=latency)
        self._sm2_private_keys = {}   # key -> the SM2 private key given to register (the platform keeps the public one)
        self.sandbox.start()

    @property
    def url(self):
        return self.sandbox.url

    # --- accounts -----------------------------------------------------------------------------

    def account_key(self, settings):
        return settings.get("app_id") or ""

    def register(self, key, *, seller_tax_id, seller_name, callback_url="", settings=None):
        settings = dict(settings or {})
        if settings.get("app_id") not in (None, "", key):
            raise ValueError(f"the account {key!r} is the application {key!r}, not {settings['app_id']!r}")
        current = self.sandbox.apps.get(key)
        secret = _text(settings.get("app_secret")) or (current.secret if current else secrets.token_hex(16))
        sm4_key = _text(settings.get("sm4_key")) or (current.sm4_key_hex if current else secrets.token_hex(16))
        private_key = _text(settings.get("sm2_private_key")) or self._sm2_private_keys.get(key, "")
        app = self.sandbox.add_app(key, secret, sm4_key, seller_tax_id, seller_name, callback_url=callback_url,
                                   sm2_public_key=sm2_public_key(private_key) if private_key else None,
                                   enabled=True)
        if private_key:
            self._sm2_private_keys[key] = private_key
        account = {"endpoint": self.url, "app_id": key, "app_secret": app.secret, "sm4_key": app.sm4_key_hex}
        if private_key:
            account["sm2_private_key"] = private_key
        rate = self.sandbox.rate_limit_of(key)
        if rate:    # what the company would be told; without it the client keeps to the published rate
            account["rate_limit"] = f"{rate:g}"
        return provider.SimulatedAccount(key, account)

    def accounts(self):
        return [app.app_id for app in self.sandbox.apps.all() if app.enabled]

    # --- faults and time ----------------------------------------------------------------------

    def set_faults(self, key, **faults):
        checked = self.check_faults(faults)
        wanted = {name: checked.get(name, default) for name, (_, default) in {**_FAULTS, **_OPTIONS}.items()}
        self.sandbox.set_faults(key, **{field: wanted[name] for name, (field, _) in {**_FAULTS, **_OPTIONS}.items()})
        return wanted

    def advance_clock(self, seconds):
        self.sandbox.advance_clock(seconds)

    def set_rate_limit(self, key, rate):
        self.sandbox.set_rate_limit(key, rate)

    def set_latency(self, seconds):
        self.sandbox.set_latency(seconds)

    # --- what happened --------------------------------------------------------------------------

    def stats(self, key):
        counts = self.sandbox.stats(key)
        invoices = self.sandbox.invoices(key)
        numbered = [row for row in invoices if row.get("invoiceNumber")]
        return {
            "invoices": len(numbered),
            "red_invoices": sum(1 for row in numbered if row["kind"] == "red"),
            "pending": sum(1 for row in invoices if row.get("status") == "pending"),
            "red_forms": sum(counts["redForms"].values()),
            "requests": counts["requests"]["total"],
            "faults": sum(n for name, n in counts["faults"].items() if name != "failedRequests"),
            "failed_requests": counts["faults"].get("failedRequests", 0),
            "peak_rate": counts["requests"]["peakRate"],
            "rate_limited": counts["requests"]["rateLimited"],
        }

    def issued(self, key):
        self.sandbox.get_app(key)
        return [from_wire(InvoiceResult, row) for row in self.sandbox.invoices(key) if row.get("invoiceNumber")]

    def callback_deliveries(self, key):
        self.sandbox.get_app(key)
        deliveries = []
        for delivery in self.sandbox.callback_deliveries(key):
            data = delivery["payload"].get("data") or {}
            deliveries.append({
                "url": delivery["url"], "event": delivery["event"], "status": delivery["status"],
                "attempts": delivery["attempts"], "error": delivery["lastError"] or "",
                "references": {neutral: data[wire] for wire, neutral in _REFERENCES if data.get(wire)},
            })
        return deliveries

    # --- the drawer -----------------------------------------------------------------------------

    def scan_login_qr(self, key):
        with _refusals():
            self.sandbox.scan_login_qr(key)

    # --- the buyer ------------------------------------------------------------------------------

    def buyer_confirm_use(self, invoice_number):
        with _refusals():
            self.sandbox.buyer_confirm_use(invoice_number)

    def buyer_apply_red_form(self, blue_invoice_number, reason="01", lines=()):
        with _refusals():
            return self.sandbox.buyer_apply_red_form(blue_invoice_number, reason, lines)["formNumber"]

    def buyer_confirm(self, form_number):
        with _refusals():
            self.sandbox.buyer_confirm(form_number)

    def buyer_reject(self, form_number):
        with _refusals():
            self.sandbox.buyer_reject(form_number)

    def close(self):
        self.sandbox.stop()


@contextmanager
def _refusals():
    """The sandbox's refusals of a buyer's action as the errors a provider would raise."""
    try:
        yield
    except Refusal as refusal:
        cls = {"NOT_FOUND": NotFound, "STATE_CONFLICT": StateConflict}.get(refusal.code_name, PlatformError)
        raise cls(str(refusal), platform_code=refusal.code_name) from refusal
