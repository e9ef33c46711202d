"""Neutral documents: round trips through our wire format, and from_wire / the rules on any input."""

import copy
import dataclasses
import json
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.catalogue import Catalogue
from fapiao.documents import (
    LINE_TYPES,
    RED_REASONS,
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
from fapiao.errors import FieldError, ValidationFailed
from fapiao.providers.reference.wire import from_wire, to_wire
from fapiao.rules import (
    POLICIES,
    UNPRINTABLE_CATEGORIES,
    check_invoice,
    format_line_name,
    validate_invoice,
    validate_red_form,
)
from fapiao.tests.test_rules import (
    BLUE_NUMBER,
    BUYER_ID,
    COMPUTER,
    PREPAID_CARD,
    RAIL,
    SELLER_ID,
    SOFTWARE,
    SOFTWARE_SUMMARY,
    ordinary_invoice,
    red_invoice,
    seller,
    special_invoice,
)

D = Decimal
CENT = D("0.01")
CATALOGUE = Catalogue.from_csv()
FUZZ = settings(max_examples=200, deadline=None)


def reads(cls):
    """``from_wire`` of ``cls`` as a one-argument parser."""
    return lambda data: from_wire(cls, data)


def numbered(invoice):
    """Lines numbered as to_wire numbers them, so a read-back invoice compares equal."""
    for index, line in enumerate(invoice.lines):
        line.line_no = index + 1
    return invoice


def through_json(wire):
    return json.loads(json.dumps(wire, ensure_ascii=False))


def red_form():
    return RedForm(serial_no="RF2025-0001", blue_invoice_number=BLUE_NUMBER, reason="02", applicant="buyer",
                   lines=[RedFormLine(blue_line_no=2, quantity=D("-1"), amount=D("-2500.00"),
                                      tax_amount=D("-325.00"))])


# --- Round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [ordinary_invoice, special_invoice, red_invoice])
def test_invoice_round_trips_through_json(build):
    invoice = numbered(build())
    assert from_wire(Invoice, through_json(to_wire(invoice))) == invoice


def test_invoice_wire_carries_amounts_as_decimal_strings_and_numbers_lines():
    wire = to_wire(special_invoice())
    assert wire["totalAmount"] == "9800.00"
    assert [line["lineNo"] for line in wire["lines"]] == [1, 2, 3]
    assert wire["lines"][1] | {"amount": "-500.00", "lineType": "discount", "taxRate": "0.13"} == wire["lines"][1]
    assert "kind" not in wire
    assert to_wire(red_invoice())["kind"] == "red"


@pytest.mark.parametrize(
    "document",
    [
        red_form(),
        RedForm(serial_no="RF2025-0002", blue_invoice_number=BLUE_NUMBER, reason="01"),
        InvoiceResult(serial_no="SO2025-0001", status="issued", invoice_number="25352000000012345678",
                      invoice_type="02", issue_time="2025-03-01T10:00:00+08:00",
                      qr_payload="01,32,,25352000000012345678,6710.00,20250301,,A1B2",
                      total_amount=D("6000.00"), total_tax=D("710.00"), total_with_tax=D("6710.00"),
                      buyer_tax_id=BUYER_ID, buyer_name="深圳示例科技有限公司"),
        InvoiceResult(serial_no="SO2025-0003", status="failed", failure_code="PARAMETER_ERROR",
                      failure_message="buyer.taxId: 纳税人识别号为空"),
        RedFormResult(form_number="RF35020000000000123", status="04", serial_no="RF2025-0001",
                      blue_invoice_number=BLUE_NUMBER, reason="02", applicant="seller", direction="outbound",
                      total_amount=D("-2500.00"), total_tax=D("-325.00"), created_at="2025-03-02T09:00:00+08:00",
                      expires_at="2025-03-05T09:00:00+08:00", red_invoice_number="25352000000012345679",
                      lines=red_form().lines),
        QuotaResult(total=D("1000000.00"), used=D("6000.00"), remaining=D("994000.00"), period="2025-03"),
        CATALOGUE.get(SOFTWARE),
        CatalogueEntry(code=SOFTWARE_SUMMARY, name="软件服务", short_name="信息技术服务", is_summary=True,
                       usable=False, vat_rates=(D("0.06"), D("0.03")), vat_special="免税、简易征收",
                       updated_at=1735660800000, effective_date="20250101", version="32.0"),
    ],
    ids=lambda document: type(document).__name__,
)
def test_documents_round_trip_through_json(document):
    assert from_wire(type(document), through_json(to_wire(document))) == document


def test_invoice_result_carries_the_buyer_under_its_wire_names():
    result = InvoiceResult(serial_no="S", buyer_tax_id=BUYER_ID, buyer_name="深圳示例科技有限公司")
    assert to_wire(result) == {"serialNo": "S", "buyerTaxId": BUYER_ID, "buyerName": "深圳示例科技有限公司"}
    older = from_wire(InvoiceResult, {"serialNo": "S", "status": "issued"})     # a platform that does not send it
    assert (older.buyer_tax_id, older.buyer_name) == ("", "")


# --- Bad input names every bad field ----------------------------------------------------------------

def bad_fields(parse, data):
    with pytest.raises(ValidationFailed) as raised:
        parse(data)
    return [(error.field, error.code) for error in raised.value.errors]


def test_invoice_from_wire_lists_every_bad_field():
    bad = {
        "serialNo": 12.5, "invoiceType": "02", "seller": ["not", "an", "object"],
        "buyer": {"name": "", "naturalPerson": "yes"},
        "lines": [
            {"lineNo": "1", "name": "*信息技术服务*软件维护", "classificationCode": SOFTWARE, "amount": "abc",
             "taxRate": 0.06, "taxAmount": "", "amountWithTax": "NaN"},
            "oops",
        ],
        "totalAmount": True, "totalTax": "60.00", "totalWithTax": "1060.00",
    }
    line_fields = ["name", "classificationCode", "amount", "taxRate", "taxAmount", "amountWithTax"]
    assert bad_fields(reads(Invoice), bad) == [
        ("serialNo", "TYPE"),
        ("seller", "TYPE"), ("seller.name", "REQUIRED"),
        ("buyer.name", "REQUIRED"), ("buyer.naturalPerson", "TYPE"),
        ("lines[0].lineNo", "TYPE"), ("lines[0].amount", "NUMBER"), ("lines[0].taxRate", "TYPE"),
        ("lines[0].taxAmount", "REQUIRED"), ("lines[0].amountWithTax", "NUMBER"),
        ("lines[1]", "TYPE"), *[(f"lines[1].{name}", "REQUIRED") for name in line_fields],
        ("totalAmount", "TYPE"),
    ]


@pytest.mark.parametrize(
    ("parse", "data", "expected"),
    [
        (reads(RedForm), {"serialNo": "", "reason": [], "lines": {"blueLineNo": 1}},
         [("serialNo", "REQUIRED"), ("blueInvoiceNumber", "REQUIRED"), ("reason", "TYPE"), ("lines", "TYPE")]),
        (reads(RedForm), {"serialNo": "RF1", "blueInvoiceNumber": BLUE_NUMBER, "reason": "01",
                             "lines": [{"blueLineNo": True, "amount": "-1", "taxAmount": "x"}]},
         [("lines[0].blueLineNo", "TYPE"), ("lines[0].taxAmount", "NUMBER")]),
        (reads(CatalogueEntry), {"code": SOFTWARE, "name": "其他软件服务", "vatRates": ["0.06", "abc", 0.13],
                                    "isSummary": "N", "updatedAt": "today"},
         [("vatRates[1]", "NUMBER"), ("vatRates[2]", "TYPE"), ("isSummary", "TYPE"), ("updatedAt", "TYPE")]),
        (reads(InvoiceResult), {"serialNo": ["SO1"], "totalTax": "1,000.00"},
         [("serialNo", "TYPE"), ("totalTax", "NUMBER")]),
        (reads(RedFormResult), {"formNumber": "F1", "lines": [None, {"blueLineNo": 1}]},
         [("lines[1].amount", "REQUIRED"), ("lines[1].taxAmount", "REQUIRED"), ("lines[0].blueLineNo", "REQUIRED"),
          ("lines[0].amount", "REQUIRED"), ("lines[0].taxAmount", "REQUIRED")]),
        (reads(QuotaResult), {"total": "lots", "period": 202503}, [("total", "NUMBER")]),
        (reads(QuotaResult), "not an object", [("", "TYPE")]),
    ],
    ids=["red-form", "red-form-line", "catalogue-entry", "invoice-result", "red-form-result", "quota",
         "not-an-object"],
)
def test_from_wire_lists_every_bad_field(parse, data, expected):
    assert sorted(bad_fields(parse, data)) == sorted(expected)


def test_from_wire_refuses_numbers_too_large_to_write_back():
    wire = to_wire(ordinary_invoice())
    wire["totalAmount"] = "1e999999999"
    with pytest.raises(ValidationFailed):
        from_wire(Invoice, wire)


# --- Fuzzing: from_wire on any JSON -----------------------------------------------------------------

def wire_keys(value):
    if isinstance(value, dict):
        return set(value) | {key for item in value.values() for key in wire_keys(item)}
    if isinstance(value, list):
        return {key for item in value for key in wire_keys(item)}
    return set()


SAMPLES = [special_invoice(), red_invoice(), red_form(), CATALOGUE.get(SOFTWARE),
           InvoiceResult(serial_no="S", total_tax=D(1)), QuotaResult(total=D(1), period="2025-03")]
# Real key names as well as random ones, so that nested values reach the readers.
KEYS = st.sampled_from(sorted(set().union(*(wire_keys(to_wire(d)) for d in SAMPLES)) | {"naturalPerson"}))
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), children,
                                                                      max_size=8),
    max_leaves=30,
)
PARSERS = [reads(cls) for cls in (Invoice, RedForm, InvoiceResult, RedFormResult, QuotaResult, CatalogueEntry)]


@FUZZ
@given(parse=st.sampled_from(PARSERS), data=JSON)
def test_from_wire_of_any_json_raises_only_validation_failed(parse, data):
    try:
        document = parse(data)
    except ValidationFailed as failed:
        assert failed.errors
        assert all(isinstance(error, FieldError) and error.message for error in failed.errors)
        return
    # What was accepted writes out to a wire form that reads back the same.
    assert to_wire(parse(through_json(to_wire(document)))) == to_wire(document)


# --- Fuzzing: the rules on whatever from_wire accepts -------------------------------------------------

NUMBERS = st.one_of(
    st.decimals(min_value=-100000, max_value=100000, places=2).map(str),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["0", "-0", "0.001", "1e-999999999", "1e999999999", "1E+3", "NaN", "-Infinity", " 12.30 ",
                     "", "9" * 40]),
    st.integers(-10**6, 10**6),
)
TEXT = st.text(max_size=30)
FIELD_VALUES = {
    **dict.fromkeys(["amount", "taxAmount", "amountWithTax", "totalAmount", "totalTax", "totalWithTax",
                     "quantity", "unitPrice"], NUMBERS),
    "taxRate": st.sampled_from(["0", "0.01", "0.03", "0.06", "0.09", "0.13", "0.015", "1.3", "-0.13"]) | NUMBERS,
    "classificationCode": st.sampled_from([SOFTWARE, COMPUTER, RAIL, PREPAID_CARD, SOFTWARE_SUMMARY, "304020199",
                                           "3040201990000000001"]) | TEXT,
    "taxId": st.sampled_from([SELLER_ID, BUYER_ID, "", "1234", "91350100M000100Y44", "110105194912310022",
                              "ＹＩ３２０５０６ＭＡ１ＷＨＦ９Ｂ１Ｘ", "350100123456789"]) | TEXT,
    "name": st.sampled_from(["*信息技术服务*软件维护", "*电子计算机*台式电脑", "软件维护", "**", "*信息技术服务*",
                             "名" * 301]) | TEXT,
    "lineType": st.sampled_from([*LINE_TYPES, "gift"]),
    "preferentialPolicy": st.sampled_from([*POLICIES, "优惠"]),
    "invoiceType": st.sampled_from(["01", "02", "004", "007", "026", "03"]),
    "kind": st.sampled_from(["blue", "red", "green"]),
    "naturalPerson": st.booleans(),
    "lineNo": st.integers(-2, 6),
    "blueLineNo": st.integers(-2, 6),
    "reason": st.sampled_from([*RED_REASONS, "05"]),
    "applicant": st.sampled_from(["seller", "buyer", "agent"]),
    "blueInvoiceNumber": st.sampled_from([BLUE_NUMBER, "123", "2535200000001234567X"]),
    "serialNo": st.sampled_from(["SO-1", "SO 1", "S" * 65]) | TEXT,
    "email": st.sampled_from(["a@example.com", "a@example.com; b@example.org", "not-an-email"]) | TEXT,
}


def slots(value):
    """Every (container, key) pair of a wire value, to pick one to change."""
    found = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((value, key))
        found.extend(slots(item))
    return found


@st.composite
def near_valid(draw, base):
    """A valid wire document with a few fields changed or dropped, or lines repeated or reordered."""
    wire = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["set"] * 6 + ["drop", "any", "lines"]))
        lines = wire.get("lines")
        if action == "lines":
            if isinstance(lines, list) and lines:
                lines.insert(draw(st.integers(0, len(lines))), copy.deepcopy(draw(st.sampled_from(lines))))
                if draw(st.booleans()):
                    lines.reverse()
            continue
        candidates = [(container, key) for container, key in slots(wire)
                      if action == "any" or (isinstance(container, dict) and key in FIELD_VALUES)]
        if not candidates:
            continue
        container, key = draw(st.sampled_from(candidates))
        if action == "drop":
            del container[key]
        else:
            container[key] = draw(JSON if action == "any" else FIELD_VALUES[key])
    return wire


INVOICE_WIRES = [to_wire(build()) for build in (ordinary_invoice, special_invoice, red_invoice)]
WIRE_PATH = re.compile(r"(\w+)(?:\[(\d+)\])?(?:\.(\w+))?")
CODE = re.compile(r"[A-Z][A-Z0-9_]*")


def assert_well_formed(errors, line_count):
    for error in errors:
        assert isinstance(error, FieldError) and CODE.fullmatch(error.code)
        assert error.message and error.message_zh
        match = WIRE_PATH.fullmatch(error.field)
        assert match, error.field
        assert match[2] is None or int(match[2]) < line_count


@FUZZ
@given(wire=st.one_of(*(near_valid(base) for base in INVOICE_WIRES)), with_catalogue=st.booleans())
def test_validate_invoice_never_raises_on_what_from_wire_accepts(wire, with_catalogue):
    try:
        invoice = from_wire(Invoice, wire)
    except ValidationFailed:
        return
    catalogue = CATALOGUE if with_catalogue else None
    errors = validate_invoice(invoice, catalogue)
    assert_well_formed(errors, len(invoice.lines))
    if errors:
        with pytest.raises(ValidationFailed):
            check_invoice(invoice, catalogue)


DECIMAL_OR_NONE = st.none() | st.decimals(allow_nan=False, allow_infinity=False)


@FUZZ
@given(wire=near_valid(to_wire(red_form())) | near_valid(to_wire(RedForm("RF1", BLUE_NUMBER, "01"))),
       with_blue=st.booleans(),
       already=st.none() | st.dictionaries(st.integers(-1, 4), st.tuples(*[DECIMAL_OR_NONE] * 3), max_size=3))
def test_validate_red_form_never_raises_on_what_from_wire_accepts(wire, with_blue, already):
    try:
        form = from_wire(RedForm, wire)
    except ValidationFailed:
        return
    errors = validate_red_form(form, ordinary_invoice() if with_blue else None, already)
    assert_well_formed(errors, len(form.lines))


# --- Generated valid invoices pass and round trip ----------------------------------------------------

LEAVES = [entry for entry in CATALOGUE if entry.is_leaf and entry.usable and entry.vat_rates]
# Printable text: invoices refuse the categories of rules.UNPRINTABLE_CATEGORIES.
PRINTABLE = st.characters(blacklist_categories=tuple(UNPRINTABLE_CATEGORIES))
ITEMS = st.text(st.characters(blacklist_characters="*", blacklist_categories=tuple(UNPRINTABLE_CATEGORIES)),
                min_size=1, max_size=40).filter(str.strip)


def generated_line(draw, entry, rate, amount, line_type="normal"):
    tax = (amount * rate).quantize(CENT, ROUND_HALF_UP)
    quantity = draw(st.none() | st.integers(1, 1000)) if line_type != "discount" else None
    return InvoiceLine(
        name=format_line_name(entry.short_name, draw(ITEMS)), classification_code=entry.code, amount=amount,
        tax_rate=rate, tax_amount=tax, amount_with_tax=amount + tax, line_type=line_type,
        quantity=None if quantity is None else D(quantity),
        unit_price=None if quantity is None else (amount / quantity).quantize(D("1e-8")),
        preferential_policy="" if rate else "不征税",
    )


def discount_line(discounted, amount):
    """The discount line of ``discounted``: same name, code and rate, its own (negative) amount."""
    tax = (amount * discounted.tax_rate).quantize(CENT, ROUND_HALF_UP)
    return dataclasses.replace(discounted, amount=amount, tax_amount=tax, amount_with_tax=amount + tax,
                               line_type="discount", quantity=None, unit_price=None)


@st.composite
def valid_invoices(draw):
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        entry = draw(st.sampled_from(LEAVES))
        rate = draw(st.sampled_from(entry.vat_rates))
        amount = draw(st.decimals(min_value=D("0.02"), max_value=D("9999999.99"), places=2))
        if not draw(st.booleans()):
            lines.append(generated_line(draw, entry, rate, amount))
            continue
        discounted = generated_line(draw, entry, rate, amount, "discounted")
        discount = draw(st.decimals(min_value=CENT, max_value=amount - CENT, places=2))
        lines += [discounted, discount_line(discounted, -discount)]
    special = draw(st.booleans())
    invoice = Invoice(
        serial_no=draw(st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)),
        invoice_type="01" if special else "02", seller=seller(),
        buyer=Party(name=draw(ITEMS), tax_id=BUYER_ID if special or draw(st.booleans()) else ""),
        lines=lines, remark=draw(st.text(PRINTABLE, max_size=200)),
    )
    invoice.total_amount = sum((line.amount for line in lines), D(0))
    invoice.total_tax = sum((line.tax_amount for line in lines), D(0))
    invoice.total_with_tax = invoice.total_amount + invoice.total_tax
    return numbered(invoice)


@FUZZ
@given(invoice=valid_invoices())
def test_generated_valid_invoices_pass_and_round_trip(invoice):
    assert validate_invoice(invoice, CATALOGUE) == []
    assert from_wire(Invoice, through_json(to_wire(invoice))) == invoice
