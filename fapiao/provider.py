"""The provider contract: the only door between the Odoo layer and a tax platform.

A provider is one platform's client: its wire format, signing, credentials,
limits and the outcomes it can give, behind the methods of :class:`Provider`.
Each provider package under ``fapiao/providers/`` registers a
:class:`ProviderSpec` (:func:`register`); the Odoo layer knows providers only
through :func:`get` and :func:`specs`, and builds one from a company's
settings with ``spec.connect(settings, exchange_hook=...)``.

What the contract promises, whatever the platform:

- Documents in, results out: :mod:`fapiao.documents` objects only, never a
  platform's field names.
- Submissions (issue, red-letter form, red invoice) carry a serial number the
  caller fixes once and reuses for every retry: the platform (or the provider,
  where the platform has no such key) answers a repeated serial number with the
  original result, so retries never issue twice.
- Failures are :mod:`fapiao.errors` exceptions that say what to do next:
  :class:`~fapiao.errors.TransientError` (retry later, same serial number;
  ``ambiguous`` when the platform may have acted: query first),
  :class:`~fapiao.errors.LoginRequired` (wait until the drawer logs in again to
  the tax bureau, then resume), :class:`~fapiao.errors.SerialRejected` (this
  serial number is dead: continue with a new one), any other
  :class:`~fapiao.errors.PlatformError` (a person must look; never resent as is).
- Problems found before sending are :class:`~fapiao.errors.FieldError` objects
  (a code, the field, the document line, parameters and the message in English
  and Chinese), raised together in one :class:`~fapiao.errors.ValidationFailed`.
- Every HTTP exchange reaches ``exchange_hook`` as an :class:`Exchange`, with
  the references it concerns, timing and masked bodies: the log needs no
  knowledge of any wire format to file it.
- Secrets never sit in a settings dict as text: the Odoo layer passes each
  secret setting as a zero-argument callable that opens it (:func:`reveal`);
  ``connect`` calls it once and keeps the value only in closures (the
  reference provider's Keyring), so that nothing a template can walk
  (attributes, lists, partials) reaches it.
- Callbacks, where the platform sends them (``capabilities.callbacks``), are
  verified and opened by the provider (:meth:`Provider.open_callback`) and
  answered in its format (:meth:`Provider.callback_answer`): the controller
  and the models know no platform's headers, signatures or encryption.

A provider package may also offer a :class:`Simulator` (``spec.simulator``): its
platform as a real HTTP server on loopback, speaking the platform's own wire
format, with fault injection and the other parties' actions (the buyer's)
driven through neutral names, so that one set of end-to-end tests runs
against every provider.
"""

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import ClassVar

from .errors import NotSupported, PlatformError
from .rules import PROTOCOL_LIMITS, FieldLimits

# --- what a platform can do ---------------------------------------------------------------------

CALLBACKS_NONE = ""
CALLBACKS_SIGNED = "signed"    # authenticated events: their content may be applied as it is
CALLBACKS_NUDGE = "nudge"      # unauthenticated: only a hint to query the platform at once


@dataclass(frozen=True)
class Capabilities:
    """What a platform offers and how far it can be pushed; the flow adapts to it."""

    asynchronous: bool = False            # an issue may answer "pending": the result comes by query
    file_formats: tuple = ("pdf", "xml")  # files the platform delivers for an issued invoice
    legal_original: str = "xml"           # the file that is the invoice in law (OFD where there is one)
    red_letter_forms: bool = True         # red reversal goes through a 红字确认单
    red_invoice_by_platform: bool = False  # once a form allows it, the platform issues the red invoice
    inbound_red_forms: bool = True        # forms the buyer raised against our invoices can be listed
    callbacks: str = CALLBACKS_NONE
    catalogue: bool = False               # tax classification codes can be downloaded
    quota: bool = False                   # the credit quota (授信额度) can be asked
    # The provider offers login_status / login_start / login_complete, so that a person can renew
    # the drawer's tax-bureau session through us. Any provider may raise LoginRequired whatever this
    # says: on 数电 platforms issuing stops whenever that session lapses.
    login_session: bool = False
    void: bool = False                    # legacy (non 数电) invoices can be voided
    query_batch: int = 50                 # serial numbers one result query answers
    list_page: int = 50                   # red-letter forms one list call returns (0: all of them)
    rate_limit: float = 0.0               # requests per second the platform allows one app (0: unpublished)
    parallel_requests: int = 8            # requests a sending worker keeps in flight unless the company says
    limits: FieldLimits = PROTOCOL_LIMITS  # field lengths the platform accepts
    serial_max_length: int = 64           # characters of a submission's serial number (诺诺's orderNo: 20)


# --- what the log is told ---------------------------------------------------------------------


@dataclass
class Exchange:
    """One exchange with a platform, as the audit log keeps it (secrets already masked).

    ``references`` says what it concerns, in neutral terms: ``serial_no`` (a
    submission's serial number), ``invoice_number``, ``form_number``, and for
    calls about several at once ``serial_nos`` / ``form_numbers`` (lists); the
    log links the exchange to the record holding one of them."""

    service: str                           # the provider's name of the operation, e.g. "invoice.issue"
    path: str = ""
    references: dict = field(default_factory=dict)
    attempt: int = 1
    request: object = None
    http_status: int | None = None
    code: str = ""                         # the platform's answer code, as it sent it
    message: str = ""
    response: object = None
    error: str = ""
    succeeded: bool = False
    duration_ms: float = 0.0
    started_at: float = 0.0                # epoch seconds

    @property
    def serial_no(self):
        return self.references.get("serial_no", "")

    @serial_no.setter
    def serial_no(self, value):
        # for whoever learns it only once the exchange is over (a callback's event)
        self.references["serial_no"] = value


@contextmanager
def recording(exchange, exchange_hook, logger, mask_text, label="platform"):
    """Time ``exchange`` while the block talks to the platform, note the PlatformError it ends in
    (through ``mask_text``, so that no secret reaches the log), then log one line (DEBUG, WARNING
    for a failure) and hand the exchange to ``exchange_hook``: what every provider does around
    each request."""
    started = time.perf_counter()
    try:
        yield exchange
    except PlatformError as error:
        exchange.error = f"{type(error).__name__}: {mask_text(str(error))}"
        raise
    finally:
        exchange.duration_ms = (time.perf_counter() - started) * 1000
        logger.log(logging.WARNING if exchange.error else logging.DEBUG, "%s %s serial=%s attempt=%s code=%s %.0fms %s",
                   label, exchange.service, exchange.serial_no or "-", exchange.attempt, exchange.code or "-",
                   exchange.duration_ms, exchange.error)
        if exchange_hook:
            exchange_hook(exchange)


def mask(value, secrets_to_hide):
    """Replace every occurrence of a secret in a (nested) value by ``***``. A callable among
    ``secrets_to_hide`` (such as a Keyring's ``mask``) masks what it knows itself."""
    if isinstance(value, str):
        for secret in secrets_to_hide:
            if callable(secret):
                value = secret(value)
            elif secret and secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: mask(v, secrets_to_hide) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, secrets_to_hide) for v in value]
    return value


# --- the session with the tax bureau --------------------------------------------------------------


@dataclass
class LoginStatus:
    """The drawer's tax-bureau session, where the platform has one (Capabilities.login_session)."""

    logged_in: bool
    message: str = ""
    qr_content: str = ""         # what the drawer scans with the tax bureau's app, when asked for
    qr_expires_at: float = 0.0   # epoch seconds


# --- callbacks --------------------------------------------------------------------------------

# What the ERP answers a callback (Provider.callback_answer), in neutral names; each provider says it
# in its platform's terms. Refusals before the sender is proven the platform's (they are counted,
# not logged one by one: anybody can post to the URL):
CALLBACK_REFUSED_UNAUTHENTICATED = frozenset({
    "MISSING_AUTH",         # authentication headers missing or malformed
    "UNKNOWN_APP",          # another application (or callbacks disabled)
    "STALE_TIMESTAMP",      # outside the platform's time window
    "BAD_SIGNATURE",        # does not verify with our credentials
    "REPLAYED_NONCE",       # a nonce seen before
})
# after it (logged with the event):
CALLBACK_MALFORMED = "MALFORMED_REQUEST"        # the body is not the platform's envelope
CALLBACK_UNDECRYPTABLE = "DECRYPTION_FAILED"    # it does not decrypt with our key
CALLBACK_INVALID = "PARAMETER_ERROR"            # the event is not of the right shape
# what processing the event gave:
CALLBACK_OK = "SUCCESS"
CALLBACK_BUSY = "SYSTEM_BUSY"                   # not now: send it again later
CALLBACK_ERROR = "SYSTEM_ERROR"                 # it failed here: send it again later
CALLBACK_NOT_FOUND = "NOT_FOUND"                # nothing here it concerns (yet)


class CallbackRefused(Exception):
    """A callback refused by :meth:`Provider.open_callback`: ``code`` is one of the names above;
    ``authenticated`` says whether the sender was proven the platform's before it was refused."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def authenticated(self):
        return self.code not in CALLBACK_REFUSED_UNAUTHENTICATED


CALLBACK_INVOICE = "invoice"            # ``result`` is an InvoiceResult
CALLBACK_RED_FORM = "red_form"          # ``result`` is a RedFormResult


@dataclass
class CallbackEvent:
    """A verified, opened callback."""

    event_id: str                  # the platform's id of the event: process each once
    name: str                      # the platform's name of the event, for the log ("invoice.issued")
    kind: str = ""                 # CALLBACK_INVOICE / CALLBACK_RED_FORM; "" for an event we do not use
    result: object = None          # the InvoiceResult or RedFormResult it brings
    occurred_at: str = ""
    payload: object = None         # the opened content, secrets masked, for the log
    references: dict = field(default_factory=dict)   # as on an Exchange


# --- the provider --------------------------------------------------------------------------------


# The service name under which every provider records a file download (see Provider.download_document).
DOWNLOAD_SERVICE = "document.download"

class Provider(ABC):
    """One platform's client for one company. Results are fapiao.documents objects; failures raise
    fapiao.errors.PlatformError subclasses. Use as a context manager, or call close()."""

    capabilities = Capabilities()

    # blue invoices

    @abstractmethod
    def issue(self, invoice):
        """Issue a blue invoice (documents.Invoice) -> InvoiceResult (issued or pending)."""

    @abstractmethod
    def query(self, serial_nos):
        """Results of earlier submissions -> {serial_no: InvoiceResult}; unknown ones are absent.
        At most ``capabilities.query_batch`` serial numbers per call."""

    @abstractmethod
    def download_document(self, invoice_number, file_format="pdf", serial_no=""):
        """An issued invoice's file in one of ``capabilities.file_formats`` -> DocumentFile.
        ``serial_no``: the submission that issued it, for platforms that find files by order.
        The exchange is recorded as service :data:`DOWNLOAD_SERVICE` with ``invoiceNumber`` and
        ``format`` in its request and the file's SM3 (hex) as ``sm3`` in its response: what the
        Odoo layer checks a stored file against before handing it out."""

    # red reversal

    @abstractmethod
    def apply_red_form(self, form):
        """Apply for a red-letter confirmation form (documents.RedForm) -> RedFormResult."""

    @abstractmethod
    def query_red_forms(self, form_numbers=(), serial_nos=()):
        """Current state of forms -> [RedFormResult]."""

    @abstractmethod
    def list_red_forms(self, direction="inbound", status=None, since=None):
        """Forms raised by others against our invoices (inbound) or by us, changed after ``since``
        -> documents.Listing of RedFormResult, whose ``server_time`` is the ``since`` of the next
        call (0 when the platform does not say)."""

    @abstractmethod
    def confirm_red_form(self, form_number):
        """Confirm a form awaiting our side -> RedFormResult."""

    @abstractmethod
    def reject_red_form(self, form_number, reason=""):
        """Refuse a form awaiting our side -> RedFormResult."""

    @abstractmethod
    def revoke_red_form(self, form_number):
        """Withdraw a form we raised -> RedFormResult."""

    @abstractmethod
    def issue_red_invoice(self, serial_no, form_number):
        """Issue the red invoice of a form that allows it -> InvoiceResult. Where the platform
        issues it by itself (``red_invoice_by_platform``), this finds it and answers its result."""

    # what only some platforms offer: NotSupported unless the capability says otherwise

    def void(self, invoice_number):
        """Void a legacy (non 数电) invoice; 数电 invoices raise VoidNotAllowed."""
        raise NotSupported("void")

    def download_catalogue(self, since=0):
        """Classification codes changed since ``since`` (ms, 0 = all) -> (entries, server_time_ms)."""
        raise NotSupported("catalogue")

    def query_quota(self):
        """Credit quota of the current period -> QuotaResult."""
        raise NotSupported("quota")

    def login_status(self):
        """The drawer's tax-bureau session -> LoginStatus."""
        raise NotSupported("login session")

    def login_start(self):
        """Start a tax-bureau login -> LoginStatus carrying the QR code to scan."""
        raise NotSupported("login session")

    def login_complete(self):
        """After the drawer scanned the QR code -> LoginStatus."""
        raise NotSupported("login session")

    def open_callback(self, path, headers, body, claim_nonce):
        """Verify and open a callback POSTed to ``path`` (``headers``: a case-insensitive mapping,
        ``body``: bytes) -> CallbackEvent, or raise CallbackRefused. ``claim_nonce(nonce)`` records
        the request's nonce and answers False when it was seen before; it is called only once the
        signature verified, so that forged callbacks cannot burn nonces."""
        raise NotSupported("callbacks")

    def callback_answer(self, path, headers, outcome=CALLBACK_OK, message="", retry_after=None):
        """``(http_status, headers, body)`` answering a callback with ``outcome`` (CALLBACK_OK, a
        refusal's code, CALLBACK_BUSY ...), signed where the platform expects it."""
        raise NotSupported("callbacks")

    def callback_code(self, outcome):
        """The platform's own code of the answer ``outcome`` (what the log shows)."""
        return outcome

    def ensure_access(self):
        """Make sure the provider holds what the platform asks for on every call (an access token),
        asking the platform for it only when it has none that lives long enough -> the epoch
        seconds until which it holds, or 0 for no expiry. NotSupported where the credentials are
        all it takes."""
        raise NotSupported("access token")

    def test_connection(self):
        """Prove that the credentials work, with the cheapest call the platform has -> a short text
        for the person who asked (e.g. the credit quota)."""
        raise NotSupported("connection test")

    def close(self):  # noqa: B027 (a provider without connections to release has nothing to do)
        """Release connections."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --- what a provider keeps between calls ----------------------------------------------------------


class StateStore(ABC):
    """Where a provider keeps what it learns from its platform and every worker must share: an
    access token and its expiry (诺诺 allows 50 token requests in 30 days: one per worker and day
    would run out). One store per company and provider, passed to ``connect`` as ``state``.

    Values are text and may be secret (the store keeps them sealed). Renewing is done under
    :meth:`lock`: whoever takes the lock reads what the previous holder wrote, so that only the
    first of several workers renews."""

    @abstractmethod
    def get(self, key):
        """``(value, expires_at)`` (epoch seconds, 0 for never) as last written, or None."""

    @abstractmethod
    def put(self, key, value, expires_at=0.0):
        """Keep ``value`` under ``key``; only while holding :meth:`lock` of ``key``."""

    @abstractmethod
    def lock(self, key):
        """A context manager holding ``key`` exclusively across threads, workers and servers until
        the block ends (what :meth:`put` wrote is visible to others from then on)."""


class MemoryStateStore(StateStore):
    """A store in this process's memory: for scripts, tests and a provider used alone."""

    def __init__(self):
        self._values = {}
        self._locks = {}
        self._guard = threading.Lock()

    def get(self, key):
        return self._values.get(key)

    def put(self, key, value, expires_at=0.0):
        self._values[key] = (value, expires_at)

    def lock(self, key):
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


# --- settings and registry -------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One setting a provider needs from the company. ``name`` is its key in the settings the
    Odoo layer passes to ``connect``; the values of ``secret`` ones are callables (:func:`reveal`)."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the registry knows it.

    ``connect(settings, exchange_hook=None, **options)`` builds a :class:`Provider` for one company:
    ``settings`` maps each :class:`Setting` name to its value, a secret one to a zero-argument
    callable returning its text (:func:`reveal`); ``options`` are the layer's tuning, which every
    provider accepts: ``read_timeout`` (seconds), ``retry_schedule`` (waits between the
    provider's own attempts, () for none: the Odoo layer retries from its queue), ``state`` (the
    company's :class:`StateStore`), ``blue_invoice`` (a callable invoice number -> the blue
    documents.Invoice or None, for platforms whose red-letter forms repeat the blue invoice) and
    ``rate_limiter`` (a :mod:`fapiao.ratelimit` limiter holding across processes).

    ``simulator(directory, host="127.0.0.1", port=0, **options)``, where the package offers one,
    starts a :class:`Simulator` of the platform keeping its state under ``directory``; ``options``
    are the simulator's own (``rate_limit``: requests a second of an account unless set otherwise;
    ``latency``: seconds every answer waits)."""

    code: str
    label: str
    connect: Callable
    capabilities: Capabilities
    settings: tuple = ()
    # Where the platform sends callbacks: ``callback_answer(path, headers, outcome, message="",
    # retry_after=None)`` answers one without credentials (for a company that has none usable, or
    # none at all), and ``callback_log_headers`` names the request headers the log keeps.
    callback_answer: Callable | None = None
    callback_log_headers: tuple = ()
    simulator: Callable | None = None


def reveal(settings, name):
    """The text of the secret setting ``name``: ``settings[name]`` is a zero-argument callable that
    returns it (e.g. one that opens a sealed field, and refuses while a template renders), or empty.
    Text given as such is refused: a settings dict may be kept, logged or shown, where a callable
    shows nothing. For ``connect`` alone, which hands the text on to closures at once."""
    value = settings.get(name)
    if value in (None, ""):
        return ""
    if not callable(value):
        raise TypeError(f"the secret setting {name!r} must be a zero-argument callable returning it, "
                        "never the text itself")
    text = value()
    if not isinstance(text, str):
        raise TypeError(f"the secret setting {name!r} gave {type(text).__name__}, not text")
    return text


# --- simulators ---------------------------------------------------------------------------------

# The faults every simulator injects (Simulator.FAULTS may name more). Each is a rate from 0 to 1: the
# share of requests it hits, drawn per request, except login_lapsed, a state (0 or 1).
STANDARD_FAULTS = (
    "busy",          # the platform answers busy / rate limited; nothing done (TransientError)
    "timeout",       # the platform acts, then answers too late for the caller (ambiguous TransientError)
    "drop",          # the platform acts, then the answer is lost (ambiguous TransientError)
    "malformed",     # the platform acts, then answers something unreadable (ambiguous TransientError)
    "slow",          # the platform waits ``slow_seconds``, then answers normally
    "pending",       # an issue answers "pending"; the result comes later, by query or callback
    "login_lapsed",  # the drawer's tax-bureau login lapsed: acting services raise LoginRequired
)

# What Simulator.stats answers, whatever the platform:
SIMULATOR_STATS = (
    "invoices",      # invoices the platform issued for the account (numbered), blue and red
    "red_invoices",  # of them, red ones
    "pending",       # submissions still waiting for their result
    "red_forms",     # red-letter forms concerning the account's taxpayer, any state, either side
    "requests",      # HTTP requests the platform received for the account
    "faults",        # faults it injected into them
    "failed_requests",  # requests that failed as the client saw them (one however many faults made it fail)
    "peak_rate",     # the most requests of the account that arrived in one second (real clock) since the start
    "rate_limited",  # requests refused for going faster than the account's rate (Simulator.set_rate_limit)
)


@dataclass(frozen=True)
class SimulatedAccount:
    """A seller's account on a simulated platform: ``key`` for the simulator's methods, ``settings``
    the company's settings for the provider (:class:`Setting` name -> text, secrets included:
    test credentials, never shown by ``repr``)."""

    key: str
    settings: dict = field(default_factory=dict, repr=False)

    def connect_settings(self, spec):
        """The settings as ``spec.connect`` takes them: each secret one as a callable (:func:`reveal`)."""
        secret = {setting.name for setting in spec.settings if setting.secret}
        return {name: (lambda text=value: text) if name in secret and value else value
                for name, value in self.settings.items()}


class Simulator(ABC):
    """A provider's platform, simulated: a real HTTP server on a loopback port that speaks the
    platform's exact wire format, driven through neutral names so that the same tests run against
    every provider. Build one with ``spec.simulator(directory, host="127.0.0.1", port=0)``: it is
    started, and keeps its state (accounts, invoices, forms) under ``directory``, so that a
    simulator started again on the same directory goes on where the last one stopped.

    Accounts are named by the opaque ``key`` :meth:`register` was given; an unknown key raises
    KeyError. What a platform cannot simulate raises :class:`~fapiao.errors.NotSupported`. Use as a
    context manager, or call :meth:`close`."""

    # Fault names set_faults takes: STANDARD_FAULTS at least, as rates (login_lapsed: 0 or 1) ...
    FAULTS: ClassVar[tuple] = STANDARD_FAULTS
    # ... and the settings that tune them (seconds, a seed), e.g. "slow_seconds", "pending_seconds".
    FAULT_OPTIONS: ClassVar[tuple] = ()
    # The faults that are states rather than draws: 0 or 1 (or a bool).
    FAULT_STATES: ClassVar[tuple] = ("login_lapsed",)

    @property
    @abstractmethod
    def url(self):
        """Base URL of the platform, for the company's endpoint setting."""

    def service_settings(self):
        """The settings that say where this simulator serves (Setting name -> text): what a
        company's own would say of the real platform. The endpoint at least; more where the
        platform has more addresses (a token endpoint, file hosts)."""
        return {"endpoint": self.url}

    def account_key(self, settings):
        """The key of the account that provider ``settings`` (by Setting name) log in as: what the
        Odoo layer registers a company under when the simulator stands in for the platform."""
        raise NotSupported("account key")

    @abstractmethod
    def register(self, key, *, seller_tax_id, seller_name, callback_url="", settings=None):
        """Open the seller's account ``key`` on the platform, or change it (seller, callback URL)
        when it exists -> :class:`SimulatedAccount` with every setting the provider needs to reach
        it, endpoint and secrets included. Secrets are generated, kept when the account exists, or
        taken from ``settings`` (setting name -> text) where given. ``callback_url``: where the
        platform posts its callbacks for the account ("" for none)."""

    @abstractmethod
    def accounts(self):
        """The keys of the accounts on the platform."""

    @abstractmethod
    def set_faults(self, key, **faults):
        """Make the platform misbehave for the account: exactly the faults given (names from
        ``FAULTS``, each a rate from 0 to 1; ``login_lapsed`` 0 or 1) with the settings given (names
        from ``FAULT_OPTIONS``); every other one off. ``set_faults(key)`` clears them all. ValueError
        for a name the simulator does not know or a value out of range. -> the settings in force
        (neutral name -> value)."""

    def reset(self, key=None):
        """Clear the faults of the account ``key``, or of every account."""
        for each in [key] if key is not None else self.accounts():
            self.set_faults(each)

    @abstractmethod
    def stats(self, key):
        """Counts for the account, to compare before and after -> dict with at least the keys of
        SIMULATOR_STATS (ints)."""

    @abstractmethod
    def issued(self, key):
        """The invoices the platform issued for the account (numbered ones: blue and red, voided
        or reversed since included), in the order issued -> [documents.InvoiceResult]."""

    def advance_clock(self, seconds):
        """Move the platform's business clock ``seconds`` forward, then resolve what fell due:
        pending submissions get their result (and their callbacks), unconfirmed forms lapse."""
        raise NotSupported("simulated clock")

    def set_rate_limit(self, key, rate):
        """Let the account send at most ``rate`` requests (> 0) in any second of the real clock: one
        more is refused as the platform refuses going too fast (a TransientError for the client),
        before anything of it is read. Arrivals count, refused ones included (``peak_rate``)."""
        raise NotSupported("rate limit")

    def set_latency(self, seconds):
        """Make every answer of the platform wait ``seconds`` (a distant platform's round trip; 0:
        none), unlike the ``slow`` fault, which is drawn. A request is still done, and counted for
        the rate, when it arrives; the wait holds up no other request."""
        raise NotSupported("latency")

    # the drawer's side

    def scan_login_qr(self, key):
        """The drawer scans the QR code the platform showed last to the account (``login_start``) with
        the tax bureau's app: the next ``login_complete`` logs it in. NotFound when the platform shows
        the account no QR code, StateConflict when that one expired unscanned; scanning it again
        changes nothing."""
        raise NotSupported("drawer's login")

    # the buyer's side

    def buyer_confirm_use(self, invoice_number):
        """The buyer confirms the use (用途确认) of a blue invoice: from then on, forms the seller
        raises against it wait for the buyer's confirmation."""
        raise NotSupported("buyer's actions")

    def buyer_apply_red_form(self, blue_invoice_number, reason="01", lines=()):
        """The buyer raises a red-letter form against a blue invoice (inbound for the seller,
        awaiting the seller: state 03); ``lines``: documents.RedFormLine, none for the whole
        invoice -> the form number."""
        raise NotSupported("buyer's actions")

    def buyer_confirm(self, form_number):
        """The buyer confirms a form the seller raised that awaits the buyer (02 -> 04)."""
        raise NotSupported("buyer's actions")

    def buyer_reject(self, form_number):
        """The buyer refuses a form the seller raised that awaits the buyer (02 -> 05)."""
        raise NotSupported("buyer's actions")

    def callback_deliveries(self, key):
        """What the platform posted (or is trying to post) to the account's callback URL, oldest
        first -> [dict]: ``url``, ``event`` (the platform's name of it), ``status`` ("delivered",
        "pending": to be tried again, "failed": given up), ``attempts``, ``error`` (why the last
        attempt failed, "" when it did not) and ``references`` (``serial_no``, ``invoice_number``,
        ``form_number``: those the event concerns)."""
        raise NotSupported("callbacks")

    @abstractmethod
    def close(self):
        """Stop serving and release the state (it stays under the directory); calling it again
        does nothing."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @classmethod
    def check_faults(cls, faults):
        """``set_faults``' keywords checked -> {name: value} (rates float, states bool, seed int or
        None, other settings float); ValueError saying what is wrong."""
        checked = {}
        for name, value in faults.items():
            if name not in cls.FAULTS and name not in cls.FAULT_OPTIONS:
                raise ValueError(f"{cls.__name__} has no fault {name!r}; it offers "
                                 f"{', '.join(cls.FAULTS + cls.FAULT_OPTIONS)}")
            if name == "seed":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                    raise ValueError("seed must be an integer or None")
                checked[name] = value
            elif name in cls.FAULT_STATES:
                if value not in (0, 1):   # True and False among them
                    raise ValueError(f"{name} is a state, not a rate: 0 or 1")
                checked[name] = bool(value)
            elif isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0")
            elif name in cls.FAULTS and value > 1:
                raise ValueError(f"{name} is a rate from 0 to 1")
            else:
                checked[name] = float(value)
        return checked


_REGISTRY = {}
_LOCK = threading.Lock()


def register(spec):
    """Make a provider known (each provider package does it when imported)."""
    with _LOCK:
        if spec.code in _REGISTRY and _REGISTRY[spec.code] is not spec:
            raise ValueError(f"provider {spec.code!r} is registered twice")
        _REGISTRY[spec.code] = spec
    return spec


def get(code):
    """The registered provider ``code``; KeyError with the known ones when there is none."""
    _load_packages()
    try:
        return _REGISTRY[code]
    except KeyError:
        raise KeyError(f"no e-invoicing provider {code!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def specs():
    """Every registered provider, by code."""
    _load_packages()
    return dict(sorted(_REGISTRY.items()))


def _load_packages():
    # imported late: the packages import this module to register themselves
    from . import providers  # noqa: F401, PLC0415
