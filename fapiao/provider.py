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
"""

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import NotSupported
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
    limits: FieldLimits = PROTOCOL_LIMITS  # field lengths the platform accepts


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
    def download_document(self, invoice_number, file_format="pdf"):
        """An issued invoice's file in one of ``capabilities.file_formats`` -> DocumentFile."""

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
    provider accepts: ``read_timeout`` (seconds) and ``retry_schedule`` (waits between the
    provider's own attempts, () for none: the Odoo layer retries from its queue)."""

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
