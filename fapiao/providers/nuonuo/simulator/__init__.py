"""诺诺's open platform, simulated: a real HTTP server on loopback speaking the wire format the
client (fapiao.providers.nuonuo.client) speaks, with its state in SQLite under a directory.

- ``store``: the SQLite state; ``platform``: the gate, the token endpoint, the methods, faults,
  the business clock, the drawer's and the buyer's actions; ``server``: HTTP and the callbacks;
- :class:`NuonuoSimulator`: all of it as the contract's :class:`fapiao.provider.Simulator`
  (``nuonuo.SPEC.simulator``);
- ``python -m fapiao.providers.nuonuo.simulator``: the same from the command line.

An account is a 诺诺 app: its key is the app key. docs/providers/nuonuo.md §Simulator says what
it simulates and what it chooses where 诺诺 publishes nothing.
"""

import secrets

from .... import provider
from ....documents import InvoiceResult
from ....errors import NotFound, StateConflict
from ...loopback import check_latency
from .. import wire
from .platform import FAULT_OPTIONS, FAULTS, RATE_LIMIT, NoSuchThing, WrongState
from .server import NuonuoServer

__all__ = ["NuonuoServer", "NuonuoSimulator"]


def _text(value):
    return value() if callable(value) else (value or "")


class NuonuoSimulator(provider.Simulator):
    """The 诺诺 simulator, started on ``host:port`` with its state in ``directory``. ``server`` is
    the NuonuoServer (``platform``, ``store``) for tests that need more than the neutral methods.
    ``rate_limit``: the requests per second an app may send unless :meth:`set_rate_limit` says
    otherwise (more are refused with HTTP 429); ``latency``: the seconds every answer waits
    (:meth:`set_latency`)."""

    FAULTS = FAULTS
    FAULT_OPTIONS = tuple(FAULT_OPTIONS)

    def __init__(self, directory, host="127.0.0.1", port=0, timestamp_window=600, rate_limit=RATE_LIMIT,
                 *, latency=0.0):
        self.server = NuonuoServer(directory, host, port, timestamp_window=timestamp_window,
                                   rate_limit=rate_limit, latency=latency).start()
        self.platform = self.server.platform

    @property
    def url(self):
        return self.server.services_url

    # --- accounts ---------------------------------------------------------------------------------

    def account_key(self, settings):
        return settings.get("app_key") or ""

    def register(self, key, *, seller_tax_id, seller_name, callback_url="", settings=None):
        settings = dict(settings or {})
        if settings.get("app_key") not in (None, "", key):
            raise ValueError(f"the account {key!r} is the app {key!r}, not {settings['app_key']!r}")
        current = self.platform.store.get("app", key)
        secret = _text(settings.get("app_secret")) or (current["secret"] if current else secrets.token_hex(16))
        self.platform.save_app(key, secret=secret, tax_id=seller_tax_id, name=seller_name, callback_url=callback_url)
        host = self.server.base_url.split("//", 1)[1].rsplit(":", 1)[0]
        rate = self.platform.app_rate(self.platform.app(key))
        return provider.SimulatedAccount(key, {
            "endpoint": self.url, "token_endpoint": self.server.token_url, "app_key": key, "app_secret": secret,
            "seller_tax_id": seller_tax_id, "download_hosts": host, "rate_limit": f"{rate:g}"})

    def accounts(self):
        return [app["app_key"] for app in self.platform.apps()]

    def service_settings(self):
        host = self.server.base_url.split("//", 1)[1].rsplit(":", 1)[0]
        return {"endpoint": self.url, "token_endpoint": self.server.token_url, "download_hosts": host}

    # --- faults and time ---------------------------------------------------------------------------

    def set_faults(self, key, **faults):
        checked = self.check_faults(faults)
        self.platform.app(key)
        wanted = {name: checked.get(name, False if name in self.FAULT_STATES else 0.0) for name in self.FAULTS}
        wanted.update({name: checked.get(name, default) for name, default in FAULT_OPTIONS.items()})
        self.platform.set_faults(key, {name: value for name, value in wanted.items()
                                       if value or name in FAULT_OPTIONS})
        return wanted

    def advance_clock(self, seconds):
        self.platform.advance(seconds)

    def set_rate_limit(self, key, rate):
        """The requests per second the app ``key`` may send (a sliding second of the real clock)."""
        self.platform.set_rate_limit(key, rate)

    def set_latency(self, seconds):
        self.platform.latency = check_latency(seconds)

    # --- what happened -------------------------------------------------------------------------------

    def stats(self, key):
        orders = self.platform.orders(key)
        numbered = [order for order in orders if order.get("allElectronicInvoiceNumber")]
        counters = self.platform.counters(key)
        return {
            "invoices": len(numbered),
            "red_invoices": sum(1 for order in numbered if order["invoiceType"] == wire.RED),
            "pending": sum(1 for order in orders if order["status"] in ("20", "21")),
            "red_forms": len(self.platform.forms_of(key)),
            "requests": counters.get("requests", 0),
            "faults": sum(n for name, n in counters.items() if name.startswith("fault:")),
            "failed_requests": counters.get("failed_requests", 0),
            "token_requests": self.platform.tokens_requested(key),
            "peak_rate": self.platform.peak_rate(key),      # most requests in one second, since the start
            "rate_limited": counters.get("rate_limited", 0),
            "red_form_refreshes": counters.get("red_form_refreshes", 0),
        }

    def issued(self, key):
        return [wire.invoice_result(self.platform.order_item(order)) for order in self.platform.orders(key)
                if order.get("allElectronicInvoiceNumber")]

    def callback_deliveries(self, key):
        self.platform.app(key)
        return [{name: delivery[name] for name in ("url", "event", "status", "attempts", "error", "references")}
                for delivery in self.platform.deliveries(key)]

    # --- the drawer and the buyer ----------------------------------------------------------------------

    def scan_login_qr(self, key):
        with _refusals():
            self.platform.scan_login_qr(key)

    def buyer_confirm_use(self, invoice_number):
        with _refusals():
            self.platform.buyer_confirm_use(invoice_number)

    def buyer_apply_red_form(self, blue_invoice_number, reason="01", lines=()):
        with _refusals():
            return self.platform.buyer_apply_red_form(blue_invoice_number, reason, lines)

    def buyer_confirm(self, form_number):
        with _refusals():
            self.platform.buyer_answer(form_number, True)

    def buyer_reject(self, form_number):
        with _refusals():
            self.platform.buyer_answer(form_number, False)

    def close(self):
        self.server.stop()


class _refusals:
    """NoSuchThing / WrongState as the contract's NotFound / StateConflict."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if isinstance(error, NoSuchThing):
            raise NotFound(str(error)) from error
        if isinstance(error, WrongState):
            raise StateConflict(str(error)) from error
        return False
