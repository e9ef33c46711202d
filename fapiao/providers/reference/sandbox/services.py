"""The /v1 services: each one reads its payload (1001 with every field error
when it cannot), then acts on the platform and returns its result data.

A submission's payload is read as far as it can be, then the rules run on
what was read: one answer lists the fields that cannot be read (a missing
total, a text where a number goes) together with every rule the rest breaks.

Reading is separate from acting because fault injection sits between the
two: a payload is refused before any fault is drawn, and a fault that says
"nothing processed" comes before anything is done.
"""

from .... import rules
from ....documents import RED_FORM_STATES, Invoice, RedForm
from ....errors import FieldError
from ..wire import errors_to_wire, line_number_errors, read
from .classification import MAX_PAGE_SIZE
from .ledger import canonical_sm3
from .refusal import Refusal, parameter_error
from .render import RENDERERS

MAX_BATCH = 100


def _refuse_errors(errors):
    if errors:
        raise Refusal("PARAMETER_ERROR", errors=errors_to_wire(errors))


def _read_checked(cls, payload, *checks):
    """The ``cls`` document in ``payload``, or 1001 listing what cannot be read and what each of
    ``checks`` (document -> FieldErrors) finds: a field that cannot be read is reported once."""
    document, errors = read(cls, payload)
    unreadable = {error.field for error in errors}
    for check in checks:
        errors += [error for error in check(document) if error.field not in unreadable]
    _refuse_errors(errors)
    return document


def _text(payload, key, required=True):
    value = payload.get(key)
    if value in (None, ""):
        if required:
            raise parameter_error(key, "REQUIRED", "is required", "为必填项")
        return ""
    if not isinstance(value, str):
        raise parameter_error(key, "TYPE", "must be a string", "必须是字符串")
    return value


def _choice(payload, key, choices, required=True, default=""):
    value = _text(payload, key, required) or default
    if value and value not in choices:
        raise parameter_error(key, "UNKNOWN_VALUE", f"{value[:40]!r} is not one of {', '.join(choices)}",
                              f"“{value[:40]}”不是以下之一：{'、'.join(choices)}")
    return value


def _texts(payload, key, required=True):
    """A list of 1 to MAX_BATCH strings."""
    values = payload.get(key)
    if values is None and not required:
        return []
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
        raise parameter_error(key, "TYPE", f"must be a list of 1 to {MAX_BATCH} non-empty strings",
                              f"必须是 1 至 {MAX_BATCH} 个非空字符串的数组")
    if len(values) > MAX_BATCH:
        raise parameter_error(key, "TOO_MANY", f"has {len(values)} items: at most {MAX_BATCH} per call",
                              f"共 {len(values)} 项，每次最多 {MAX_BATCH} 项")
    return values


def _integer(payload, key, default, low, high=None):
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high and value > high):
        limits = f"from {low}" + (f" to {high}" if high else "")
        raise parameter_error(key, "RANGE", f"must be an integer {limits}",
                              f"必须是不小于 {low}" + (f"且不大于 {high}" if high else "") + " 的整数")
    return value


def _serial_no(payload):
    """A serial number checked by the same rule as those of invoices and forms."""
    serial_no = _text(payload, "serialNo")
    _refuse_errors(rules.validate_serial_no(serial_no))
    return serial_no


def _blue_only(invoice):
    if invoice.kind == "blue":
        return []
    return [FieldError("kind", "KIND_NOT_ALLOWED", "must be blue here: red invoices are issued from a red form",
                       "此处只能开具蓝字发票：红字发票请通过红字确认单开具")]


class Services:
    def __init__(self, ledger, forms, table, faults, login=None):
        self.ledger = ledger
        self.forms = forms
        self.table = table
        self.faults = faults
        self.login = login
        self._table = {
            "invoice.issue": (self._read_invoice, self._issue),
            "invoice.query": (lambda p: _texts(p, "serialNos"), self.ledger.query),
            "invoice.void": (lambda p: _text(p, "invoiceNumber"), self.ledger.void),
            "redform.apply": (self._read_red_form, lambda app, args: self.forms.apply(app, *args)),
            "redform.query": (self._read_form_query, lambda app, args: self.forms.query(app, *args)),
            "redform.list": (self._read_form_list, lambda app, args: self.forms.list(app, *args)),
            "redform.confirm": (lambda p: _text(p, "formNumber"),
                                lambda app, number: self.forms.answer(app, number, accept=True)),
            "redform.reject": (self._read_reject,
                               lambda app, number: self.forms.answer(app, number, accept=False)),
            "redform.revoke": (lambda p: _text(p, "formNumber"), self.forms.revoke),
            "redinvoice.issue": (self._read_red_invoice,
                                 lambda app, args: self.forms.issue_red_invoice(app, *args)),
            "catalogue.download": (self._read_catalogue_page, lambda app, args: self.table.download(*args)),
            "quota.query": (lambda p: None, lambda app, _: self.ledger.quota(app)),
            "document.download": (self._read_document, self._document),
            "login.status": (lambda p: None, lambda app, _: self.login.status(app)),
            "login.qrcode": (lambda p: None, lambda app, _: self.login.qrcode(app)),
            "login.verify": (lambda p: None, lambda app, _: self.login.verify(app)),
        }

    def read(self, name, payload):
        """The service's arguments from its payload, or Refusal 1001."""
        return self._table[name][0](payload)

    def run(self, name, app, args):
        """Act; the result data, or Refusal."""
        return self._table[name][1](app, args)

    # --- invoices -----------------------------------------------------------------------

    def _read_invoice(self, payload):
        invoice = _read_checked(Invoice, payload, lambda _: line_number_errors(payload),
                                lambda invoice: rules.validate_invoice(invoice, self.table.lookup), _blue_only)
        return invoice, canonical_sm3(payload)

    def _issue(self, app, args):
        invoice, payload_sm3 = args
        if invoice.seller.tax_id != app.seller_tax_id:
            raise Refusal("PERMISSION_DENIED", f"销方税号 {invoice.seller.tax_id} 不属于本应用 / "
                                               f"seller tax id {invoice.seller.tax_id} is not this application's")
        pending, fails = self.faults.draw_pending(app)
        seconds = self.faults.settings(app).pending_seconds if pending else None
        return self.ledger.issue(app, invoice, payload_sm3, pending_seconds=seconds, fails=fails)

    def _read_document(self, payload):
        return _text(payload, "invoiceNumber"), _choice(payload, "format", tuple(RENDERERS), False, "pdf")

    def _document(self, app, args):
        number, file_format = args
        return self.ledger.document(app, number, file_format, self.table.lookup)

    def _read_catalogue_page(self, payload):
        return (_integer(payload, "since", 0, 0), _integer(payload, "page", 1, 1),
                _integer(payload, "pageSize", MAX_PAGE_SIZE, 1, MAX_PAGE_SIZE))

    # --- red forms ----------------------------------------------------------------------

    @staticmethod
    def _read_red_form(payload):
        return _read_checked(RedForm, payload, rules.validate_red_form), canonical_sm3(payload)

    @staticmethod
    def _read_form_query(payload):
        numbers = _texts(payload, "formNumbers", required=False)
        serial_nos = _texts(payload, "serialNos", required=False)
        if not numbers and not serial_nos:
            raise parameter_error("formNumbers", "REQUIRED", "formNumbers or serialNos is required",
                                  "formNumbers 与 serialNos 至少填写一项")
        return numbers, serial_nos

    @staticmethod
    def _read_form_list(payload):
        since = payload.get("since")
        return (_choice(payload, "direction", ("inbound", "outbound")),
                _choice(payload, "status", tuple(RED_FORM_STATES), required=False) or None,
                None if since is None else _integer(payload, "since", 0, 0))

    @staticmethod
    def _read_reject(payload):
        _text(payload, "reason", required=False)
        return _text(payload, "formNumber")

    @staticmethod
    def _read_red_invoice(payload):
        return _serial_no(payload), _text(payload, "formNumber"), canonical_sm3(payload)
