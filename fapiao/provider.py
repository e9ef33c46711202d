"""The provider contract: what the Odoo layer needs from a tax platform.

The models call only these methods, so an adapter for another platform (a
service provider's API, a different wire format) is a new subclass and no
change to the models. :class:`fapiao.client.PlatformClient` implements it
for the protocol of docs/protocol.md (production and the sandbox).

Submissions (issue, red form apply, red invoice) carry a serial number that
the caller fixes once and reuses for every retry: the platform answers a
repeated serial number with the original result, so retries never issue
twice.
"""

from abc import ABC, abstractmethod


class Provider(ABC):
    """Operations of an e-invoicing platform. Results are fapiao.documents objects;
    failures raise fapiao.errors.PlatformError subclasses."""

    @abstractmethod
    def issue(self, invoice):
        """Issue a blue invoice (documents.Invoice) -> InvoiceResult (issued or pending)."""

    @abstractmethod
    def query(self, serial_nos):
        """Results of earlier submissions -> {serial_no: InvoiceResult}; unknown ones are absent."""

    @abstractmethod
    def void(self, invoice_number):
        """Void a legacy (non 数电) invoice; 数电 invoices raise VoidNotAllowed."""

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
        """Issue the red invoice of a form in state 01 or 04 -> InvoiceResult."""

    @abstractmethod
    def download_catalogue(self, since=0):
        """Classification codes changed since ``since`` (ms, 0 = all) -> (entries, server_time_ms)."""

    @abstractmethod
    def query_quota(self):
        """Credit quota of the current period -> QuotaResult."""

    @abstractmethod
    def download_document(self, invoice_number, file_format="pdf"):
        """The invoice file, ``pdf`` or ``xml`` -> DocumentFile."""
