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
    login_session: bool = False           # issuing stops while the drawer's tax-bureau login is lapsed
    void: bool = False                    # legacy (non 数电) invoices can be voided
    query_batch: int = 50                 # serial numbers one result query answers
    list_page: int = 50                   # red-letter forms one list call returns
    rate_limit: float = 0.0               # requests per second the platform allows one app (0: unpublished)
    limits: FieldLimits = PROTOCOL_LIMITS  # field lengths the platform accepts


# --- what the log is told ---------------------------------------------------------------------


@dataclass
class Exchange:
    """One exchange with a platform, as the audit log keeps it (secrets already masked).

    ``references`` says what it concerns, in neutral terms: ``serial_no`` (a
    submission's serial number), ``invoice_number``, ``form_number``; the log
    links the exchange to the record holding one of them."""

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


# --- the session with the tax bureau --------------------------------------------------------------


@dataclass
class LoginStatus:
    """The drawer's tax-bureau session, where the platform has one (Capabilities.login_session)."""

    logged_in: bool
    message: str = ""
    qr_content: str = ""         # what the drawer scans with the tax bureau's app, when asked for
    qr_expires_at: float = 0.0   # epoch seconds


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
        """Forms raised by others against our invoices (inbound) or by us -> [RedFormResult]."""

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
    Odoo layer passes to ``connect``; ``secret`` ones reach the provider only inside a Keyring."""

    name: str
    label: str
    secret: bool = False
    required: bool = True
    help: str = ""


@dataclass(frozen=True)
class ProviderSpec:
    """A provider as the registry knows it.

    ``connect(settings, exchange_hook=None, **options)`` builds a :class:`Provider` for one company:
    ``settings`` maps each :class:`Setting` name to its value (secrets as a keyring the provider
    can use but nobody can read back); ``options`` are the layer's tuning (timeouts ...)."""

    code: str
    label: str
    connect: Callable
    capabilities: Capabilities
    settings: tuple = ()


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
