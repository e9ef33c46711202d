"""Our protocol's JSON for the neutral documents (docs/protocol.md §6).

``to_wire(document)`` gives the payload or result JSON (camelCase names,
amounts as decimal strings, empty optional values left out);
``from_wire(cls, data)`` reads one back and raises
:class:`~fapiao.errors.ValidationFailed` listing every field it could not
read, never a bare KeyError or TypeError, whatever the input; ``read(cls,
data)`` never raises: it answers what could be read with the problems, so
that the sandbox can also run the rules on a half-readable payload and
report everything at once.

Field errors travel as ``{"field", "code", "message", "messageZh"}``
(:func:`field_error_to_wire`, :func:`field_error_from_wire`).
"""

import re
from decimal import Decimal, InvalidOperation

from ...documents import (
    CatalogueEntry,
    Invoice,
    InvoiceLine,
    InvoiceResult,
    Party,
    QuotaResult,
    RedForm,
    RedFormLine,
    RedFormResult,
)
from ...errors import FieldError, ValidationFailed

_DECIMAL_TEXT = re.compile(r"^[+-]?[0-9]{1,18}(\.[0-9]{1,20})?$")


def dec_str(value):
    """Decimal (or None) as a plain decimal string without exponent."""
    return None if value is None else format(value, "f")


# --- field errors ---------------------------------------------------------------------------

# FieldError keeps its own to_wire / from_wire (fapiao.errors: they also recover its line, attribute
# and detail from our names and labels); the rest of this package goes through these two.

def field_error_to_wire(error):
    return error.to_wire()


def field_error_from_wire(value):
    """A FieldError from an ``errors[]`` item, whatever it holds (a platform's text is shown as is)."""
    return FieldError.from_wire(value)


def errors_to_wire(errors):
    return [field_error_to_wire(error) for error in errors]


# --- reading untrusted JSON ----------------------------------------------------------------------

class _Reader:
    """Reads typed values out of untrusted JSON, collecting every error."""

    def __init__(self):
        self.errors = []

    def error(self, path, code, en, zh):
        self.errors.append(FieldError(path, code, en, zh))

    def obj(self, value, path):
        if isinstance(value, dict):
            return value
        if value is not None:
            self.error(path, "TYPE", "must be an object", "必须是对象")
        return {}

    def text(self, data, key, path, required=False):
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.error(path, "REQUIRED", "is required", "必填")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(path, "TYPE", "must be a string", "必须是字符串")
            return ""
        return str(value)

    def decimal(self, data, key, path, required=True):
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.error(path, "REQUIRED", "is required", "必填")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(path, "TYPE", "must be a decimal string such as \"12.34\"",
                       "必须是数字字符串，如“12.34”")
            return None
        text = str(value)
        # Plain decimal notation only: no exponent, spaces or digit separators,
        # so that no input can expand into a huge number.
        if not _DECIMAL_TEXT.match(text):
            self.error(path, "NUMBER", f"{text[:40]!r} is not a plain decimal number such as \"12.34\"",
                       "不是有效数字（应为“12.34”这样的格式）")
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            self.error(path, "NUMBER", f"{text[:40]!r} is not a number", "不是有效数字")
            return None

    def boolean(self, data, key, path):
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.error(path, "TYPE", "must be true or false", "必须是 true 或 false")
            return False
        return value

    def integer(self, data, key, path, required=False):
        value = data.get(key)
        if value is None:
            if required:
                self.error(path, "REQUIRED", "is required", "必填")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "TYPE", "must be an integer", "必须是整数")
            return None
        return value

    def items(self, data, key, path):
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, "TYPE", "must be a list", "必须是数组")
            return []
        return value


def _compact(wire):
    """Drop empty optional values so payloads stay small and canonical."""
    return {k: v for k, v in wire.items() if v not in (None, "", [], False) or k in _KEEP_EMPTY}


_KEEP_EMPTY = frozenset({"lines"})

# --- parties and lines ---------------------------------------------------------------------------

# Our wire names a party's fields as the error paths of fapiao.rules do (``buyer.taxId``).
_PARTY = Party._WIRE


def _party_to_wire(party):
    wire = {w: getattr(party, a) for a, w in _PARTY.items()}
    wire["naturalPerson"] = party.natural_person
    return _compact(wire)


def _read_party(reader, data, path):
    data = reader.obj(data, path)
    values = {a: reader.text(data, w, f"{path}.{w}", required=(a == "name")) for a, w in _PARTY.items()}
    return Party(natural_person=reader.boolean(data, "naturalPerson", f"{path}.naturalPerson"), **values)


def _line_to_wire(line, index=0):
    return _compact({
        "lineNo": line.line_no or index + 1,
        "lineType": line.line_type,
        "name": line.name,
        "classificationCode": line.classification_code,
        "spec": line.spec,
        "unit": line.unit,
        "quantity": dec_str(line.quantity),
        "unitPrice": dec_str(line.unit_price),
        "amount": dec_str(line.amount),
        "taxRate": dec_str(line.tax_rate),
        "taxAmount": dec_str(line.tax_amount),
        "amountWithTax": dec_str(line.amount_with_tax),
        "preferentialPolicy": line.preferential_policy,
    })


def _read_line(reader, data, path):
    data = reader.obj(data, path)
    return InvoiceLine(
        line_no=reader.integer(data, "lineNo", f"{path}.lineNo"),
        line_type=reader.text(data, "lineType", f"{path}.lineType") or "normal",
        name=reader.text(data, "name", f"{path}.name", required=True),
        classification_code=reader.text(data, "classificationCode", f"{path}.classificationCode", required=True),
        spec=reader.text(data, "spec", f"{path}.spec"),
        unit=reader.text(data, "unit", f"{path}.unit"),
        quantity=reader.decimal(data, "quantity", f"{path}.quantity", required=False),
        unit_price=reader.decimal(data, "unitPrice", f"{path}.unitPrice", required=False),
        amount=reader.decimal(data, "amount", f"{path}.amount"),
        tax_rate=reader.decimal(data, "taxRate", f"{path}.taxRate"),
        tax_amount=reader.decimal(data, "taxAmount", f"{path}.taxAmount"),
        amount_with_tax=reader.decimal(data, "amountWithTax", f"{path}.amountWithTax"),
        preferential_policy=reader.text(data, "preferentialPolicy", f"{path}.preferentialPolicy"),
    )


def _lines(reader, data, read_line):
    return [read_line(reader, line, f"lines[{i}]") for i, line in enumerate(reader.items(data, "lines", "lines"))]


def _form_line_to_wire(line):
    return _compact({"blueLineNo": line.blue_line_no, "quantity": dec_str(line.quantity),
                     "amount": dec_str(line.amount), "taxAmount": dec_str(line.tax_amount)})


def _read_form_line(reader, data, path):
    data = reader.obj(data, path)
    return RedFormLine(
        blue_line_no=reader.integer(data, "blueLineNo", f"{path}.blueLineNo", required=True),
        quantity=reader.decimal(data, "quantity", f"{path}.quantity", required=False),
        amount=reader.decimal(data, "amount", f"{path}.amount"),
        tax_amount=reader.decimal(data, "taxAmount", f"{path}.taxAmount"),
    )


# --- submissions ----------------------------------------------------------------------------------

def _invoice_to_wire(invoice):
    wire = _compact({
        "serialNo": invoice.serial_no,
        "invoiceType": invoice.invoice_type,
        "seller": _party_to_wire(invoice.seller),
        "buyer": _party_to_wire(invoice.buyer),
        "lines": [_line_to_wire(line, i) for i, line in enumerate(invoice.lines)],
        "totalAmount": dec_str(invoice.total_amount),
        "totalTax": dec_str(invoice.total_tax),
        "totalWithTax": dec_str(invoice.total_with_tax),
        "issuer": invoice.issuer,
        "remark": invoice.remark,
        "blueInvoiceNumber": invoice.blue_invoice_number,
        "redFormNumber": invoice.red_form_number,
    })
    if invoice.kind != "blue":
        wire["kind"] = invoice.kind
    return wire


def _read_invoice(reader, data):
    return Invoice(
        serial_no=reader.text(data, "serialNo", "serialNo", required=True),
        invoice_type=reader.text(data, "invoiceType", "invoiceType", required=True),
        seller=_read_party(reader, data.get("seller"), "seller"),
        buyer=_read_party(reader, data.get("buyer"), "buyer"),
        lines=_lines(reader, data, _read_line),
        total_amount=reader.decimal(data, "totalAmount", "totalAmount"),
        total_tax=reader.decimal(data, "totalTax", "totalTax"),
        total_with_tax=reader.decimal(data, "totalWithTax", "totalWithTax"),
        issuer=reader.text(data, "issuer", "issuer"),
        remark=reader.text(data, "remark", "remark"),
        kind=reader.text(data, "kind", "kind") or "blue",
        blue_invoice_number=reader.text(data, "blueInvoiceNumber", "blueInvoiceNumber"),
        red_form_number=reader.text(data, "redFormNumber", "redFormNumber"),
    )


def _red_form_to_wire(form):
    return _compact({"serialNo": form.serial_no, "blueInvoiceNumber": form.blue_invoice_number,
                     "reason": form.reason, "applicant": form.applicant,
                     "lines": [_form_line_to_wire(line) for line in form.lines]})


def _read_red_form(reader, data):
    return RedForm(
        serial_no=reader.text(data, "serialNo", "serialNo", required=True),
        blue_invoice_number=reader.text(data, "blueInvoiceNumber", "blueInvoiceNumber", required=True),
        reason=reader.text(data, "reason", "reason", required=True),
        applicant=reader.text(data, "applicant", "applicant") or "seller",
        lines=_lines(reader, data, _read_form_line),
    )


# --- results ----------------------------------------------------------------------------------------

# attribute -> wire name, by kind of value
_INVOICE_RESULT_TEXT = {
    "serial_no": "serialNo", "status": "status", "invoice_number": "invoiceNumber",
    "invoice_type": "invoiceType", "issue_time": "issueTime", "qr_payload": "qrPayload",
    "blue_invoice_number": "blueInvoiceNumber", "red_form_number": "redFormNumber",
    "failure_code": "failureCode", "failure_message": "failureMessage",
    "buyer_tax_id": "buyerTaxId", "buyer_name": "buyerName"}
_INVOICE_RESULT_DECIMAL = {"total_amount": "totalAmount", "total_tax": "totalTax",
                           "total_with_tax": "totalWithTax"}
_FORM_RESULT_TEXT = {
    "form_number": "formNumber", "status": "status", "serial_no": "serialNo",
    "blue_invoice_number": "blueInvoiceNumber", "reason": "reason", "applicant": "applicant",
    "direction": "direction", "created_at": "createdAt", "expires_at": "expiresAt",
    "red_invoice_number": "redInvoiceNumber"}
_FORM_RESULT_DECIMAL = {"total_amount": "totalAmount", "total_tax": "totalTax"}
_QUOTA_DECIMAL = {"total": "total", "used": "used", "remaining": "remaining"}
_CATALOGUE_TEXT = {"code": "code", "name": "name", "short_name": "shortName", "keywords": "keywords",
                   "vat_special": "vatSpecial", "vat_special_code": "vatSpecialCode",
                   "vat_policy_basis": "vatPolicyBasis", "parent_code": "parentCode",
                   "version": "version", "effective_date": "effectiveDate"}


def _values_to_wire(document, text, decimal):
    wire = {w: getattr(document, a) for a, w in text.items()}
    wire.update({w: dec_str(getattr(document, a)) for a, w in decimal.items()})
    return wire


def _read_values(reader, data, text, decimal=None):
    values = {a: reader.text(data, w, w) for a, w in text.items()}
    values.update({a: reader.decimal(data, w, w, required=False) for a, w in (decimal or {}).items()})
    return values


def _invoice_result_to_wire(result):
    return _compact(_values_to_wire(result, _INVOICE_RESULT_TEXT, _INVOICE_RESULT_DECIMAL))


def _read_invoice_result(reader, data):
    return InvoiceResult(**_read_values(reader, data, _INVOICE_RESULT_TEXT, _INVOICE_RESULT_DECIMAL))


def _form_result_to_wire(result):
    wire = _values_to_wire(result, _FORM_RESULT_TEXT, _FORM_RESULT_DECIMAL)
    wire["lines"] = [_form_line_to_wire(line) for line in result.lines]
    return _compact(wire)


def _read_form_result(reader, data):
    return RedFormResult(lines=_lines(reader, data, _read_form_line),
                         **_read_values(reader, data, _FORM_RESULT_TEXT, _FORM_RESULT_DECIMAL))


def _quota_to_wire(quota):
    return _compact(_values_to_wire(quota, {"period": "period"}, _QUOTA_DECIMAL))


def _read_quota(reader, data):
    return QuotaResult(**_read_values(reader, data, {"period": "period"}, _QUOTA_DECIMAL))


def _catalogue_entry_to_wire(entry):
    wire = {w: getattr(entry, a) for a, w in _CATALOGUE_TEXT.items()}
    wire.update({"vatRates": [dec_str(r) for r in entry.vat_rates], "isSummary": entry.is_summary,
                 "usable": entry.usable, "updatedAt": entry.updated_at})
    return wire


def _read_catalogue_entry(reader, data):
    values = {a: reader.text(data, w, w, required=a in ("code", "name")) for a, w in _CATALOGUE_TEXT.items()}
    rates = []
    for i, raw in enumerate(reader.items(data, "vatRates", "vatRates")):
        rate = reader.decimal({"rate": raw}, "rate", f"vatRates[{i}]")
        if rate is not None:
            rates.append(rate)
    return CatalogueEntry(vat_rates=tuple(rates), is_summary=reader.boolean(data, "isSummary", "isSummary"),
                          usable=data.get("usable", True) is not False,
                          updated_at=reader.integer(data, "updatedAt", "updatedAt") or 0, **values)


# --- the doors ------------------------------------------------------------------------------------

_WRITERS = {Party: _party_to_wire, InvoiceLine: _line_to_wire, Invoice: _invoice_to_wire,
            RedFormLine: _form_line_to_wire, RedForm: _red_form_to_wire, InvoiceResult: _invoice_result_to_wire,
            RedFormResult: _form_result_to_wire, QuotaResult: _quota_to_wire,
            CatalogueEntry: _catalogue_entry_to_wire}
_READERS = {Invoice: _read_invoice, RedForm: _read_red_form, InvoiceResult: _read_invoice_result,
            RedFormResult: _read_form_result, QuotaResult: _read_quota, CatalogueEntry: _read_catalogue_entry}


def to_wire(document, *args):
    """The JSON value of a document (an invoice line takes its 0-based index: its default lineNo)."""
    return _WRITERS[type(document)](document, *args)


def read(cls, data):
    """``(document, [FieldError])``: what ``data`` says as a ``cls``, with every field it could not read
    left empty, and the problems. Never raises."""
    reader = _Reader()
    document = _READERS[cls](reader, reader.obj(data, ""))
    return document, reader.errors


def from_wire(cls, data):
    """A ``cls`` read from ``data``; ValidationFailed listing every field that could not be read."""
    document, errors = read(cls, data)
    if errors:
        raise ValidationFailed(errors)
    return document


def line_number_errors(data):
    """``lineNo`` must number the lines 1, 2, 3 ... in the order of the array (docs/protocol.md §6.1):
    no zero, negative, repeated or missing number. Errors for each line that does not, those
    whose value cannot be read excepted (reported by the reader)."""
    lines = data.get("lines") if isinstance(data, dict) else None
    errors = []
    for index, line in enumerate(lines if isinstance(lines, list) else ()):
        number = line.get("lineNo") if isinstance(line, dict) else None
        path = f"lines[{index}].lineNo"
        if number is None:
            errors.append(FieldError(path, "REQUIRED", "is required", "必填"))
        elif isinstance(number, int) and not isinstance(number, bool) and number != index + 1:
            errors.append(FieldError(path, "LINE_NO_SEQUENCE",
                                     f"is {number}: lines are numbered 1, 2, 3 ... in their order, "
                                     f"so this one is {index + 1}",
                                     f"为 {number}：明细行按顺序从 1 起连续编号，本行应为 {index + 1}",
                                     params={"value": number, "expected": index + 1}))
    return errors
