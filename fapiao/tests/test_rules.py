"""Local checks of invoices and red-letter forms before anything is sent."""

import dataclasses
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from fapiao.catalogue import Catalogue
from fapiao.documents import CatalogueEntry, Invoice, InvoiceLine, InvoiceResult, Party, RedForm, RedFormLine
from fapiao.errors import InvalidTaxpayerId, ValidationFailed
from fapiao.providers.reference.wire import to_wire
from fapiao.rules import (
    INVOICE_TAX_TOLERANCE,
    LINE_TAX_TOLERANCE,
    MAX_LENGTHS,
    PROTOCOL_LIMITS,
    FieldLimits,
    check_invoice,
    check_red_form,
    discount_pairs,
    format_line_name,
    left_to_reverse,
    red_result_mismatches,
    result_mismatches,
    validate_invoice,
    validate_red_form,
    validate_serial_no,
)
from fapiao.taxid import validate_taxpayer_id

D = Decimal
CENT = D("0.01")
SELLER_ID = "91350100M000100Y43"
BUYER_ID = "91440300MA5FQ2E1XR"
BLUE_NUMBER = "25352000000012345678"

# Leaf codes of the shipped v32.0 table, with their short names and rates.
SOFTWARE = "3040201990000000000"    # 信息技术服务, 6 %
COMPUTER = "1090509010000000000"    # 电子计算机, 13 %
COMPUTER_PART = "1090509020000000000"  # 电子计算机, 13 %
RAIL = "3010101010100000000"        # 运输服务, 9 %
PREPAID_CARD = "6010000000000000000"  # 预付卡销售, 0 %, 不征税
SOFTWARE_SUMMARY = "3040201000000000000"  # 软件服务: a summary row


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.from_csv()


def make_line(code, short_name, item, amount, rate, *, quantity=None, unit_price=None, **extra):
    """A line whose tax and amount with tax follow from amount and rate."""
    line = InvoiceLine(
        name=f"*{short_name}*{item}", classification_code=code, amount=D(amount), tax_rate=D(rate),
        tax_amount=D(0), amount_with_tax=D(0),
        quantity=None if quantity is None else D(quantity),
        unit_price=None if unit_price is None else D(unit_price), **extra)
    return balanced(line)


def balanced(line, **changes):
    """``line`` with ``changes``; tax and amount with tax recomputed unless changed."""
    line = dataclasses.replace(line, **changes)
    if "tax_amount" not in changes:
        line.tax_amount = (line.amount * line.tax_rate).quantize(CENT, ROUND_HALF_UP)
    if "amount_with_tax" not in changes:
        line.amount_with_tax = line.amount + line.tax_amount
    return line


def retotal(invoice):
    invoice.total_amount = sum((line.amount for line in invoice.lines), D(0))
    invoice.total_tax = sum((line.tax_amount for line in invoice.lines), D(0))
    invoice.total_with_tax = sum((line.amount_with_tax for line in invoice.lines), D(0))
    return invoice


def seller():
    return Party(name="福州示例软件有限公司", tax_id=SELLER_ID, address="福州市鼓楼区五四路 1 号",
                 phone="0591-87654321", bank_name="中国工商银行福州分行", bank_account="1402020109000000000")


def ordinary_invoice():
    """普票 to a natural person who gives no taxpayer id."""
    return retotal(Invoice(
        serial_no="SO2025-0001", invoice_type="02", seller=seller(),
        buyer=Party(name="张三", natural_person=True, email="zhangsan@example.com"),
        lines=[
            make_line(SOFTWARE, "信息技术服务", "软件维护", "1000.00", "0.06"),
            make_line(COMPUTER, "电子计算机", "笔记本电脑", "5000.00", "0.13", quantity="2", unit_price="2500"),
        ],
    ))


def special_invoice():
    """专票 to a company, with a discounted line and its discount line."""
    return retotal(Invoice(
        serial_no="SO2025-0002", invoice_type="01", seller=seller(),
        buyer=Party(name="深圳示例科技有限公司", tax_id=BUYER_ID, address="深圳市南山区科技园 8 号",
                    phone="0755-12345678", bank_name="招商银行深圳分行", bank_account="755900000000001"),
        lines=[
            make_line(COMPUTER, "电子计算机", "台式电脑", "10000.00", "0.13", quantity="4",
                      unit_price="2500", line_type="discounted"),
            make_line(COMPUTER, "电子计算机", "台式电脑", "-500.00", "0.13", line_type="discount"),
            make_line(RAIL, "运输服务", "配送", "300.00", "0.09"),
        ],
        issuer="李会计", remark="合同号 HT-2025-001",
    ))


def red_invoice():
    """The red invoice reversing the 普票 in full: every amount negated."""
    invoice = ordinary_invoice()
    invoice.kind, invoice.blue_invoice_number = "red", BLUE_NUMBER
    invoice.lines = [balanced(line, amount=-line.amount,
                              quantity=None if line.quantity is None else -line.quantity)
                     for line in invoice.lines]
    return retotal(invoice)


def found(errors):
    return [(error.field, error.code) for error in errors]


# --- Mutations for the parametrised cases -------------------------------------------------

def edit_line(index, **changes):
    """Change line ``index``, keep it balanced and the totals right."""
    def mutate(invoice):
        invoice.lines[index] = balanced(invoice.lines[index], **changes)
        retotal(invoice)
    return mutate


def set_line(index, **changes):
    """Change fields of line ``index`` and nothing else."""
    def mutate(invoice):
        for name, value in changes.items():
            setattr(invoice.lines[index], name, value)
    return mutate


def set_header(**changes):
    def mutate(invoice):
        for name, value in changes.items():
            setattr(invoice, name, value)
    return mutate


def set_party(role, **changes):
    def mutate(invoice):
        for name, value in changes.items():
            setattr(getattr(invoice, role), name, value)
    return mutate


def drop_lines(*indexes):
    def mutate(invoice):
        invoice.lines = [line for i, line in enumerate(invoice.lines) if i not in indexes]
        retotal(invoice)
    return mutate


def swap_lines(first, second):
    def mutate(invoice):
        invoice.lines[first], invoice.lines[second] = invoice.lines[second], invoice.lines[first]
    return mutate


def shift_totals(amount, with_tax):
    def mutate(invoice):
        invoice.total_amount += D(amount)
        invoice.total_with_tax += D(with_tax)
    return mutate


# --- Valid documents pass ---------------------------------------------------------------

@pytest.mark.parametrize("build", [ordinary_invoice, special_invoice, red_invoice])
def test_valid_invoices_pass_with_and_without_catalogue(build, catalogue):
    assert validate_invoice(build(), catalogue) == []
    assert validate_invoice(build()) == []
    check_invoice(build(), catalogue)


def test_valid_special_invoice_uses_13_and_9_percent_leaf_codes(catalogue):
    for code, rate in ((COMPUTER, D("0.13")), (RAIL, D("0.09")), (SOFTWARE, D("0.06"))):
        entry = catalogue.get(code)
        assert not entry.is_summary and entry.usable and rate in entry.vat_rates


@pytest.mark.parametrize("invoice_type", ["004", "007", "026"])
def test_legacy_invoice_types_are_accepted(invoice_type, catalogue):
    invoice = special_invoice()
    invoice.invoice_type = invoice_type
    assert validate_invoice(invoice, catalogue) == []


def test_legacy_special_type_004_also_needs_the_buyer_tax_id(catalogue):
    invoice = special_invoice()
    invoice.invoice_type, invoice.buyer.tax_id = "004", ""
    assert found(validate_invoice(invoice, catalogue)) == [("buyer.taxId", "BUYER_TAX_ID_REQUIRED")]


@pytest.mark.parametrize(
    ("code", "short_name", "rate", "policy"),
    [
        pytest.param(COMPUTER, "电子计算机", "0", "免税", id="exempt-on-13%-code"),
        pytest.param(COMPUTER, "电子计算机", "0", "出口零税", id="export-zero-rate"),
        pytest.param(PREPAID_CARD, "预付卡销售", "0", "不征税", id="not-taxable-code"),
        pytest.param(COMPUTER, "电子计算机", "0.03", "简易征收", id="simplified-3%"),
        pytest.param(COMPUTER, "电子计算机", "0.01", "简易征收", id="simplified-1%"),
        pytest.param(COMPUTER, "电子计算机", "0.05", "按5%简易征收", id="simplified-5%"),
        pytest.param(COMPUTER, "电子计算机", "0.015", "按5%简易征收减按1.5%计征", id="simplified-1.5%"),
        pytest.param(COMPUTER, "电子计算机", "0.13", "即征即退50%", id="refund-keeps-code-rate"),
    ],
)
def test_policy_flags_allow_their_rates(code, short_name, rate, policy, catalogue):
    invoice = ordinary_invoice()
    invoice.lines[0] = make_line(code, short_name, "项目", "1000.00", rate, preferential_policy=policy)
    retotal(invoice)
    assert validate_invoice(invoice, catalogue) == []


def test_odoo_false_for_empty_text_is_read_as_empty(catalogue):
    invoice = ordinary_invoice()
    invoice.buyer.tax_id = invoice.buyer.email = invoice.remark = False
    assert validate_invoice(invoice, catalogue) == []
    invoice.invoice_type = "01"
    invoice.buyer.natural_person = False
    assert found(validate_invoice(invoice, catalogue)) == [("buyer.taxId", "BUYER_TAX_ID_REQUIRED")]


# --- Every rule, refused on its own ------------------------------------------------------------

LONG_ADDRESS = "地" * 90
CASES = [
    # header
    ("serial-missing", ordinary_invoice, set_header(serial_no=""), [("serialNo", "REQUIRED")]),
    ("serial-characters", ordinary_invoice, set_header(serial_no="SO 2025/1"),
     [("serialNo", "SERIAL_NO_FORMAT")]),
    ("serial-too-long", ordinary_invoice, set_header(serial_no="S" * 65), [("serialNo", "TOO_LONG")]),
    ("invoice-type", ordinary_invoice, set_header(invoice_type="03"),
     [("invoiceType", "INVOICE_TYPE_UNKNOWN")]),
    ("kind", ordinary_invoice, set_header(kind="green"), [("kind", "KIND_UNKNOWN")]),
    ("remark-too-long", ordinary_invoice, set_header(remark="备" * 201), [("remark", "TOO_LONG")]),
    # parties
    ("seller-name", ordinary_invoice, set_party("seller", name=""), [("seller.name", "REQUIRED")]),
    ("seller-tax-id-missing", ordinary_invoice, set_party("seller", tax_id=""),
     [("seller.taxId", "REQUIRED")]),
    ("seller-tax-id-check", ordinary_invoice, set_party("seller", tax_id="91350100M000100Y44"),
     [("seller.taxId", "TAXPAYER_ID_CHECK")]),
    ("buyer-name", ordinary_invoice, set_party("buyer", name=" "), [("buyer.name", "REQUIRED")]),
    ("buyer-name-too-long", ordinary_invoice, set_party("buyer", name="名" * 301),
     [("buyer.name", "TOO_LONG")]),
    ("special-buyer-tax-id", special_invoice, set_party("buyer", tax_id=""),
     [("buyer.taxId", "BUYER_TAX_ID_REQUIRED")]),
    ("special-natural-person", special_invoice, set_party("buyer", natural_person=True),
     [("buyer.naturalPerson", "NATURAL_PERSON_NOT_ALLOWED")]),
    ("ordinary-buyer-tax-id-given-invalid", ordinary_invoice, set_party("buyer", tax_id="1234"),
     [("buyer.taxId", "TAXPAYER_ID_LENGTH")]),
    ("tax-id-not-normalised", special_invoice, set_party("buyer", tax_id="9144 0300 ma5fq2e1xr"),
     [("buyer.taxId", "TAXPAYER_ID_NOT_NORMALISED")]),
    ("address-and-phone", special_invoice, set_party("buyer", address=LONG_ADDRESS, phone="0755-123456789"),
     [("buyer.address", "TOO_LONG")]),
    ("bank-and-account", special_invoice, set_party("seller", bank_name="银" * 90, bank_account="62" * 6),
     [("seller.bankName", "TOO_LONG")]),
    ("email", ordinary_invoice, set_party("buyer", email="zhangsan.example.com"),
     [("buyer.email", "EMAIL_FORMAT")]),
    # lines
    ("no-lines", ordinary_invoice, drop_lines(0, 1),
     [("lines", "NO_LINES"), ("totalAmount", "SIGN"), ("totalWithTax", "SIGN")]),
    ("line-type", ordinary_invoice, set_line(0, line_type="gift"), [("lines[0].lineType", "LINE_TYPE_UNKNOWN")]),
    ("code-format", ordinary_invoice, set_line(0, classification_code="304020199"),
     [("lines[0].classificationCode", "CODE_FORMAT")]),
    ("code-unknown", ordinary_invoice, set_line(0, classification_code="3040201990000000001"),
     [("lines[0].classificationCode", "CODE_UNKNOWN")]),
    ("code-summary", ordinary_invoice, set_line(0, classification_code=SOFTWARE_SUMMARY),
     [("lines[0].classificationCode", "CODE_NOT_LEAF")]),
    ("rate-not-allowed", ordinary_invoice, edit_line(0, tax_rate=D("0.09")),
     [("lines[0].taxRate", "RATE_NOT_ALLOWED")]),
    ("rate-range", ordinary_invoice, edit_line(0, tax_rate=D("6")), [("lines[0].taxRate", "RATE_RANGE")]),
    ("name-other-short-name", ordinary_invoice, set_line(0, name="*软件*软件维护"),
     [("lines[0].name", "LINE_NAME_PREFIX")]),
    ("name-without-prefix", ordinary_invoice, set_line(0, name="软件维护"),
     [("lines[0].name", "LINE_NAME_PREFIX")]),
    ("name-without-item", ordinary_invoice, set_line(0, name="*信息技术服务* "),
     [("lines[0].name", "LINE_NAME_PREFIX")]),
    ("name-too-long", ordinary_invoice, set_line(0, name="*信息技术服务*" + "维" * 200),
     [("lines[0].name", "TOO_LONG")]),
    ("spec-too-long", ordinary_invoice, set_line(1, spec="X" * 101), [("lines[1].spec", "TOO_LONG")]),
    ("unit-too-long", ordinary_invoice, set_line(1, unit="台" * 51), [("lines[1].unit", "TOO_LONG")]),
    ("zero-rate-without-policy", ordinary_invoice, edit_line(0, tax_rate=D("0")),
     [("lines[0].preferentialPolicy", "ZERO_RATE_POLICY")]),
    ("zero-rate-policy-needs-rate-0", ordinary_invoice, set_line(0, preferential_policy="免税"),
     [("lines[0].taxRate", "ZERO_RATE_POLICY")]),
    ("policy-unknown", ordinary_invoice, set_line(0, preferential_policy="优惠"),
     [("lines[0].preferentialPolicy", "POLICY_UNKNOWN")]),
    ("simplified-policy-rate", ordinary_invoice,
     edit_line(1, tax_rate=D("0.03"), preferential_policy="按5%简易征收"),
     [("lines[1].taxRate", "RATE_NOT_ALLOWED")]),
    ("amount-decimals", ordinary_invoice, edit_line(0, amount=D("1000.001")),
     [("lines[0].amount", "DECIMALS"), ("lines[0].amountWithTax", "DECIMALS"),
      ("totalAmount", "DECIMALS"), ("totalWithTax", "DECIMALS")]),
    ("tax-decimals", ordinary_invoice, edit_line(0, tax_amount=D("60.001"), amount_with_tax=D("1060.00")),
     [("lines[0].taxAmount", "DECIMALS"), ("lines[0].amountWithTax", "LINE_SUM"),
      ("totalTax", "DECIMALS"), ("totalWithTax", "TOTAL_MISMATCH")]),
    ("amount-not-decimal", ordinary_invoice, set_line(0, amount=1000.0), [("lines[0].amount", "NUMBER")]),
    ("amount-absurd", ordinary_invoice, set_line(0, amount=D("1e20")), [("lines[0].amount", "OUT_OF_RANGE")]),
    ("amount-huge-exponent", ordinary_invoice, set_line(0, amount=D("1e999999999")),
     [("lines[0].amount", "OUT_OF_RANGE")]),
    ("line-sum", ordinary_invoice, edit_line(0, amount_with_tax=D("1060.01")),
     [("lines[0].amountWithTax", "LINE_SUM"), ("totalWithTax", "TOTAL_MISMATCH")]),
    ("line-tax", ordinary_invoice, edit_line(0, tax_amount=D("60.07")), [("lines[0].taxAmount", "LINE_TAX_DIFF")]),
    ("quantity-price", ordinary_invoice, edit_line(1, unit_price=D("2500.01")),
     [("lines[1].amount", "QUANTITY_PRICE_DIFF")]),
    ("quantity-without-price", ordinary_invoice, edit_line(1, unit_price=None),
     [("lines[1].unitPrice", "QUANTITY_PRICE_PAIR")]),
    ("price-without-quantity", ordinary_invoice, edit_line(1, quantity=None),
     [("lines[1].quantity", "QUANTITY_PRICE_PAIR")]),
    # totals
    ("totals", ordinary_invoice, shift_totals("1.00", "1.00"),
     [("totalAmount", "TOTAL_MISMATCH"), ("totalWithTax", "TOTAL_MISMATCH")]),
    ("total-tax", ordinary_invoice, set_header(total_tax=D("710.01")),
     [("totalTax", "TOTAL_MISMATCH"), ("totalWithTax", "TOTAL_MISMATCH")]),
    # discounts
    ("discount-before-discounted", special_invoice, swap_lines(0, 1),
     [("lines[0].lineType", "DISCOUNT_ORDER"), ("lines[1].lineType", "DISCOUNT_ORDER")]),
    ("discounted-without-discount", special_invoice, drop_lines(1), [("lines[0].lineType", "DISCOUNT_ORDER")]),
    ("discount-alone", special_invoice, set_line(0, line_type="normal"), [("lines[1].lineType", "DISCOUNT_ORDER")]),
    ("discount-name", special_invoice, set_line(1, name="*电子计算机*显示器"),
     [("lines[1].name", "DISCOUNT_MISMATCH")]),
    ("discount-code", special_invoice, set_line(1, classification_code=COMPUTER_PART),
     [("lines[1].classificationCode", "DISCOUNT_MISMATCH")]),
    ("discount-rate", special_invoice, edit_line(1, tax_rate=D("0.09")),
     [("lines[1].taxRate", "RATE_NOT_ALLOWED"), ("lines[1].taxRate", "DISCOUNT_MISMATCH")]),
    ("discount-exceeds", special_invoice, edit_line(1, amount=D("-10000.01")),
     [("lines[1].amount", "DISCOUNT_EXCEEDS")]),
    ("discount-positive", special_invoice, edit_line(1, amount=D("500.00")), [("lines[1].amount", "SIGN")]),
    # signs
    ("blue-negative-line", ordinary_invoice, edit_line(0, amount=D("-1000.00")), [("lines[0].amount", "SIGN")]),
    ("blue-zero-line", ordinary_invoice, edit_line(0, amount=D("0.00")), [("lines[0].amount", "SIGN")]),
    ("red-positive-line", red_invoice, edit_line(0, amount=D("1000.00")), [("lines[0].amount", "SIGN")]),
    ("red-without-blue-number", red_invoice, set_header(blue_invoice_number=""),
     [("blueInvoiceNumber", "REQUIRED")]),
    ("red-blue-number-format", red_invoice, set_header(blue_invoice_number="2535200000001234567X"),
     [("blueInvoiceNumber", "INVOICE_NUMBER_FORMAT")]),
]


@pytest.mark.parametrize(("build", "mutate", "expected"), [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_each_rule_is_refused_with_its_code_and_field(build, mutate, expected, catalogue):
    invoice = build()
    mutate(invoice)
    errors = validate_invoice(invoice, catalogue)
    assert found(errors) == expected
    for error in errors:
        assert error.message and error.message_zh
    with pytest.raises(ValidationFailed) as raised:
        check_invoice(invoice, catalogue)
    assert raised.value.errors == errors


def test_red_invoice_with_positive_totals_is_refused(catalogue):
    invoice = red_invoice()
    invoice.total_amount, invoice.total_with_tax = -invoice.total_amount, -invoice.total_with_tax
    codes = found(validate_invoice(invoice, catalogue))
    assert ("totalAmount", "SIGN") in codes
    assert ("totalWithTax", "SIGN") in codes


def test_a_red_discount_line_is_positive(catalogue):
    invoice = special_invoice()
    invoice.kind, invoice.blue_invoice_number = "red", BLUE_NUMBER
    invoice.lines = [balanced(line, amount=-line.amount,
                              quantity=None if line.quantity is None else -line.quantity)
                     for line in invoice.lines]
    retotal(invoice)
    assert validate_invoice(invoice, catalogue) == []
    invoice.lines[1] = balanced(invoice.lines[1], amount=D("-500.00"))
    retotal(invoice)
    assert found(validate_invoice(invoice, catalogue)) == [("lines[1].amount", "SIGN")]


def test_a_discount_may_take_the_whole_discounted_amount(catalogue):
    invoice = special_invoice()
    edit_line(1, amount=D("-10000.00"))(invoice)
    assert validate_invoice(invoice, catalogue) == []


def test_code_no_longer_usable_is_refused():
    entry = CatalogueEntry(code=SOFTWARE, name="其他软件服务", short_name="信息技术服务",
                           vat_rates=(D("0.06"),), usable=False)
    invoice = ordinary_invoice()
    invoice.lines = invoice.lines[:1]
    retotal(invoice)
    assert found(validate_invoice(invoice, Catalogue([entry]))) == [
        ("lines[0].classificationCode", "CODE_NOT_USABLE")]


def test_without_catalogue_only_the_name_shape_is_checked():
    invoice = ordinary_invoice()
    invoice.lines[0].name = "*任意简称*软件维护"
    invoice.lines[0].classification_code = SOFTWARE_SUMMARY
    assert validate_invoice(invoice) == []
    invoice.lines[0].name = "软件维护"
    assert found(validate_invoice(invoice)) == [("lines[0].name", "LINE_NAME_PREFIX")]


def test_all_problems_are_reported_at_once_in_document_order(catalogue):
    invoice = special_invoice()
    invoice.total_tax += D("1.00")
    invoice.lines[2].classification_code = "3010101"
    invoice.lines[0].tax_rate = D("0.06")
    invoice.lines[0].name = "台式电脑"
    invoice.buyer.tax_id = ""
    invoice.serial_no = "SO 2"
    assert found(validate_invoice(invoice, catalogue)) == [
        ("serialNo", "SERIAL_NO_FORMAT"),
        ("buyer.taxId", "BUYER_TAX_ID_REQUIRED"),
        ("lines[0].name", "LINE_NAME_PREFIX"),
        ("lines[0].taxRate", "RATE_NOT_ALLOWED"),
        ("lines[0].taxAmount", "LINE_TAX_DIFF"),
        ("lines[1].name", "DISCOUNT_MISMATCH"),
        ("lines[1].taxRate", "DISCOUNT_MISMATCH"),
        ("lines[2].classificationCode", "CODE_FORMAT"),
        ("totalTax", "TOTAL_MISMATCH"),
        ("totalTax", "INVOICE_TAX_DIFF"),
        ("totalWithTax", "TOTAL_MISMATCH"),
    ]


# --- Tolerances: exactly at the limit passes, just over fails ---------------------------------

@pytest.mark.parametrize(
    ("tax", "expected"),
    [
        ("60.06", []),
        ("59.94", []),
        ("60.07", [("lines[0].taxAmount", "LINE_TAX_DIFF")]),
        ("59.93", [("lines[0].taxAmount", "LINE_TAX_DIFF")]),
    ],
)
def test_line_tax_may_differ_from_amount_times_rate_by_0_06(tax, expected, catalogue):
    assert LINE_TAX_TOLERANCE == D("0.06")
    invoice = ordinary_invoice()
    edit_line(0, tax_amount=D(tax))(invoice)
    assert found(validate_invoice(invoice, catalogue)) == expected


def invoice_with_tax_drifts(drifts):
    """An invoice of 100.00 lines at 6 % whose taxes are off by ``drifts``, each within 0.06."""
    invoice = ordinary_invoice()
    line = make_line(SOFTWARE, "信息技术服务", "软件维护", "100.00", "0.06")
    invoice.lines = [balanced(line, tax_amount=D("6.00") + D(drift)) for drift in drifts]
    return retotal(invoice)


@pytest.mark.parametrize(
    ("drifts", "expected"),
    [
        (["0.06"] * 21 + ["0.01"], []),
        (["-0.06"] * 21 + ["-0.01"], []),
        (["0.06"] * 21 + ["0.02"], [("totalTax", "INVOICE_TAX_DIFF")]),
        (["-0.06"] * 21 + ["-0.02"], [("totalTax", "INVOICE_TAX_DIFF")]),
    ],
)
def test_invoice_tax_may_differ_from_the_sum_of_amount_times_rate_by_1_27(drifts, expected, catalogue):
    assert INVOICE_TAX_TOLERANCE == D("1.27")
    assert found(validate_invoice(invoice_with_tax_drifts(drifts), catalogue)) == expected


@pytest.mark.parametrize(("unit_price", "refused"), [("2500.005", False), ("2499.995", False), ("2500.006", True)])
def test_quantity_times_unit_price_may_differ_from_amount_by_0_01(unit_price, refused, catalogue):
    invoice = ordinary_invoice()
    edit_line(1, unit_price=D(unit_price))(invoice)
    expected = [("lines[1].amount", "QUANTITY_PRICE_DIFF")] if refused else []
    assert found(validate_invoice(invoice, catalogue)) == expected


# --- Messages -------------------------------------------------------------------------------

def test_messages_name_the_value_and_the_limit_in_both_languages(catalogue):
    invoice = ordinary_invoice()
    edit_line(0, tax_amount=D("60.10"))(invoice)
    [error] = validate_invoice(invoice, catalogue)
    assert error.message == "line 1 tax 60.10 differs from amount x rate 60.00 by 0.10 (at most 0.06)"
    assert error.message_zh == "第 1 行税额 60.10 与金额×税率 60.00 相差 0.10（最多 0.06）"

    invoice = invoice_with_tax_drifts(["0.06"] * 22)
    [error] = validate_invoice(invoice, catalogue)
    assert error.message == ("total tax (the sum of line taxes) 133.32 differs from the sum of amount x rate "
                             "132.00 by 1.32 (at most 1.27)")
    assert "1.27" in error.message_zh and "133.32" in error.message_zh

    invoice = ordinary_invoice()
    invoice.buyer.name = "名" * (MAX_LENGTHS["party_name"] + 5)
    [error] = validate_invoice(invoice, catalogue)
    assert error.message == "buyer name has 305 characters (at most 300)"
    assert error.message_zh == "购买方名称有 305 个字符（最多 300 个）"


def test_taxpayer_id_messages_are_those_of_the_taxpayer_id_check(catalogue):
    invoice = ordinary_invoice()
    invoice.seller.tax_id = "91350100M000100Y44"
    [error] = validate_invoice(invoice, catalogue)
    with pytest.raises(InvalidTaxpayerId) as raised:
        validate_taxpayer_id("91350100M000100Y44")
    assert (error.message, error.message_zh) == (raised.value.message, raised.value.message_zh)


def test_a_float_amount_is_reported_not_raised(catalogue):
    invoice = ordinary_invoice()
    invoice.lines[0].tax_rate = 0.06
    invoice.total_tax = None
    assert found(validate_invoice(invoice, catalogue)) == [
        ("lines[0].taxRate", "NUMBER"), ("totalTax", "REQUIRED")]


# --- Line names ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("index", "short_name", "item", "expected"),
    [
        (0, "信息技术服务", "软件维护", "*信息技术服务*软件维护"),
        (0, "信息技术服务", "*软件*软件维护", "*信息技术服务*软件维护"),
        (1, "电子计算机", " *电子计算机* 笔记本电脑 ", "*电子计算机*笔记本电脑"),
        (1, "电子计算机", "*甲**乙*笔记本电脑", "*电子计算机*笔记本电脑"),
        (1, "电子计算机", "笔记本电脑*促销*", "*电子计算机*笔记本电脑*促销*"),
    ],
)
def test_format_line_name_puts_the_short_name_in_front(index, short_name, item, expected, catalogue):
    name = format_line_name(short_name, item)
    assert name == expected
    invoice = ordinary_invoice()
    invoice.lines[index].name = name
    assert validate_invoice(invoice, catalogue) == []


# --- Red-letter confirmation forms -----------------------------------------------------------

def reversal(blue_line_no, amount, tax, quantity=None):
    return RedFormLine(blue_line_no=blue_line_no, amount=D(amount), tax_amount=D(tax),
                       quantity=None if quantity is None else D(quantity))


def red_form(*lines, **changes):
    form = RedForm(serial_no="RF2025-0001", blue_invoice_number=BLUE_NUMBER, reason="02", lines=list(lines))
    return dataclasses.replace(form, **changes)


# The blue invoice is ordinary_invoice(): line 1 software 1000.00 + 60.00 tax,
# line 2 two computers at 2500, 5000.00 + 650.00 tax.
PARTIAL = reversal(2, "-2500.00", "-325.00", "-1")
SOFTWARE_DONE = {1: (None, D("-1000.00"), D("-60.00"))}
ALL_DONE = {**SOFTWARE_DONE, 2: (D("-2"), D("-5000.00"), D("-650.00"))}


@pytest.mark.parametrize(
    ("form", "already", "with_blue"),
    [
        pytest.param(red_form(), None, False, id="full-alone"),
        pytest.param(red_form(), None, True, id="full"),
        pytest.param(red_form(PARTIAL, reason="04", applicant="buyer"), None, True, id="partial"),
        pytest.param(red_form(PARTIAL), {2: (D("-1"), D("-2500.00"), D("-325.00"))}, True, id="the-rest"),
        pytest.param(red_form(reversal(1, "-1000.00", "-60.00")), {2: (D("-1"), D("-100.00"), D("0"))}, True,
                     id="other-line-partly-done"),
        pytest.param(red_form(reversal(1, "-10.00", "0.00")), None, False, id="zero-tax"),
    ],
)
def test_valid_red_forms_pass(form, already, with_blue):
    blue = ordinary_invoice() if with_blue else None
    assert validate_red_form(form, blue, already) == []
    check_red_form(form, blue, already)


RED_CASES = [
    ("serial", red_form(serial_no=""), None, None, [("serialNo", "REQUIRED")]),
    ("blue-number", red_form(blue_invoice_number="2535"), None, None,
     [("blueInvoiceNumber", "INVOICE_NUMBER_FORMAT")]),
    ("reason", red_form(reason="05"), None, None, [("reason", "REASON_UNKNOWN")]),
    ("applicant", red_form(applicant="agent"), None, None, [("applicant", "APPLICANT_UNKNOWN")]),
    ("line-no-0", red_form(reversal(0, "-1.00", "-0.06")), None, None, [("lines[0].blueLineNo", "LINE_NO_RANGE")]),
    ("line-no-twice", red_form(reversal(1, "-1.00", "-0.06"), reversal(1, "-1.00", "-0.06")), None, None,
     [("lines[1].blueLineNo", "LINE_NO_DUPLICATE")]),
    ("positive-amount", red_form(reversal(1, "1.00", "-0.06")), None, None, [("lines[0].amount", "SIGN")]),
    ("positive-tax", red_form(reversal(1, "-1.00", "0.06")), None, None, [("lines[0].taxAmount", "SIGN")]),
    ("positive-quantity", red_form(reversal(2, "-2500.00", "-325.00", "1")), None, None,
     [("lines[0].quantity", "SIGN")]),
    ("decimals", red_form(reversal(1, "-1.005", "-0.06")), None, None, [("lines[0].amount", "DECIMALS")]),
    ("line-not-on-blue", red_form(reversal(3, "-1.00", "-0.06")), ordinary_invoice, None,
     [("lines[0].blueLineNo", "LINE_NOT_FOUND")]),
    ("exceeds-amount", red_form(reversal(1, "-1000.01", "-60.00")), ordinary_invoice, None,
     [("lines[0].amount", "EXCEEDS_BLUE")]),
    ("exceeds-tax", red_form(reversal(1, "-1000.00", "-60.01")), ordinary_invoice, None,
     [("lines[0].taxAmount", "EXCEEDS_BLUE")]),
    ("exceeds-quantity", red_form(reversal(2, "-2500.00", "-325.00", "-3")), ordinary_invoice, None,
     [("lines[0].quantity", "EXCEEDS_BLUE")]),
    ("exceeds-what-is-left", red_form(reversal(2, "-2500.01", "-325.00", "-1")), ordinary_invoice,
     {2: (D("-1"), D("-2500.00"), D("-325.00"))}, [("lines[0].amount", "EXCEEDS_BLUE")]),
    ("full-after-partial", red_form(), ordinary_invoice, SOFTWARE_DONE, [("lines", "FULL_AFTER_PARTIAL")]),
    ("line-already-reversed", red_form(reversal(1, "-1.00", "-0.06")), ordinary_invoice, SOFTWARE_DONE,
     [("lines[0].amount", "EXCEEDS_BLUE"), ("lines[0].taxAmount", "EXCEEDS_BLUE")]),
    ("nothing-left-full", red_form(), ordinary_invoice, ALL_DONE, [("blueInvoiceNumber", "NOTHING_LEFT")]),
    ("nothing-left-partial", red_form(PARTIAL), ordinary_invoice, ALL_DONE,
     [("blueInvoiceNumber", "NOTHING_LEFT")]),
]


@pytest.mark.parametrize(("form", "blue", "already", "expected"),
                         [pytest.param(*case[1:], id=case[0]) for case in RED_CASES])
def test_each_red_form_rule_is_refused(form, blue, already, expected):
    blue_invoice = blue() if blue else None
    errors = validate_red_form(form, blue_invoice, already)
    assert found(errors) == expected
    with pytest.raises(ValidationFailed) as raised:
        check_red_form(form, blue_invoice, already)
    assert raised.value.errors == errors


def test_red_form_reports_every_problem_in_document_order():
    form = red_form(reversal(0, "1.00", "-0.06"), reversal(2, "-1.00", "0.06", "2"),
                    serial_no="RF 1", reason="", applicant="")
    assert found(validate_red_form(form)) == [
        ("serialNo", "SERIAL_NO_FORMAT"), ("reason", "REQUIRED"), ("applicant", "REQUIRED"),
        ("lines[0].blueLineNo", "LINE_NO_RANGE"), ("lines[0].amount", "SIGN"),
        ("lines[1].quantity", "SIGN"), ("lines[1].taxAmount", "SIGN"),
    ]


def test_exceeding_reversal_message_says_what_is_left():
    form = red_form(reversal(2, "-2600.00", "-325.00", "-1"))
    errors = validate_red_form(form, ordinary_invoice(), {2: (D("-1"), D("-2500.00"), D("-325.00"))})
    # -325.00 is no tax of -2600.00 at 13 %: the tax rules say so too.
    assert found(errors) == [("lines", "INVOICE_TAX_DIFF"), ("lines[0].amount", "EXCEEDS_BLUE"),
                             ("lines[0].taxAmount", "LINE_TAX_DIFF")]
    error = errors[1]
    assert error.message == ("line 1 amount -2600.00 is more than what is left of blue line 2: "
                             "2500.00 of 5000.00 (-2500.00 reversed before)")
    assert "2500.00" in error.message_zh


def test_blue_lines_are_numbered_by_line_no_where_given():
    blue = ordinary_invoice()
    blue.lines[0].line_no, blue.lines[1].line_no = 10, 20
    assert validate_red_form(red_form(reversal(20, "-2500.00", "-325.00", "-1")), blue) == []
    assert found(validate_red_form(red_form(reversal(2, "-2500.00", "-325.00", "-1")), blue)) == [
        ("lines[0].blueLineNo", "LINE_NOT_FOUND")]


# --- Red forms on invoices with discount lines (special_invoice: line 1 10000.00 + 1300.00,
# discounted by line 2 -500.00 - 65.00, net 9500.00 + 1235.00; line 3 300.00 + 27.00) -------------

def test_a_discount_line_is_reversed_through_the_line_it_discounts():
    blue = special_invoice()
    assert discount_pairs(blue) == {2: 1}
    assert left_to_reverse(blue) == {1: (D(4), D("9500.00"), D("1235.00")), 3: (None, D("300.00"), D("27.00"))}
    assert validate_red_form(red_form(reversal(1, "-9500.00", "-1235.00", "-4")), blue) == []
    errors = validate_red_form(red_form(reversal(1, "-10000.00", "-1300.00"), reversal(2, "-500.00", "-65.00")), blue)
    assert found(errors) == [("lines[0].amount", "EXCEEDS_BLUE"), ("lines[0].taxAmount", "EXCEEDS_BLUE"),
                             ("lines[1].blueLineNo", "DISCOUNT_LINE")]
    assert errors[0].message == ("line 1 amount -10000.00 is more than what is left of blue line 1: "
                                 "9500.00 of 9500.00 (0.00 reversed before)")
    assert errors[2].message == ("line 2 blue invoice line 2 is a discount line: reverse blue line 1, the line it "
                                 "discounts, whose amounts are taken net of the discount")
    assert errors[2].message_zh == ("第 2 行蓝字发票明细序号 2 是折扣行：请红冲其被折扣行第 1 行"
                                    "（按扣除折扣后的净额红冲）")


def test_what_a_full_reversal_took_from_a_discount_line_counts_on_the_line_it_discounts():
    blue = special_invoice()
    mirrored = {1: (D(-4), D("-10000.00"), D("-1300.00")), 2: (None, D("500.00"), D("65.00"))}
    assert left_to_reverse(blue, mirrored) == {1: (D(0), D(0), D(0)), 3: (None, D("300.00"), D("27.00"))}
    assert found(validate_red_form(red_form(reversal(1, "-0.01", "0.00")), blue, mirrored)) == [
        ("lines[0].amount", "EXCEEDS_BLUE")]
    everything = {**mirrored, 3: (None, D("-300.00"), D("-27.00"))}
    assert all(amount == tax == 0 for _, amount, tax in left_to_reverse(blue, everything).values())
    assert found(validate_red_form(red_form(), blue, everything)) == [("blueInvoiceNumber", "NOTHING_LEFT")]


@pytest.mark.parametrize(("tax", "expected"), [
    ("-30.06", []), ("-29.94", []),
    ("-30.07", [("lines[0].taxAmount", "LINE_TAX_DIFF")]), ("-29.93", [("lines[0].taxAmount", "LINE_TAX_DIFF")]),
])
def test_red_form_lines_follow_the_line_tax_rule_at_the_blue_rate(tax, expected):
    form = red_form(reversal(1, "-500.00", tax))
    assert found(validate_red_form(form, ordinary_invoice())) == expected
    assert validate_red_form(form) == []    # without the blue invoice there is no rate to check against


def test_red_form_taxes_follow_the_invoice_tax_rule_over_the_form():
    blue = invoice_with_tax_drifts(["0.06"] * 22)
    blue.lines = [balanced(line, tax_amount=D("6.06")) for line in blue.lines]
    retotal(blue)
    lines = [reversal(number, "-100.00", "-6.06") for number in range(1, 23)]
    errors = validate_red_form(red_form(*lines), blue)
    assert found(errors) == [("lines", "INVOICE_TAX_DIFF")]
    assert errors[0].message == ("lines (the sum of line taxes) -133.32 differs from the sum of amount x rate "
                                 "-132.00 by 1.32 (at most 1.27)")
    assert validate_red_form(red_form(*lines[:21]), blue) == []


# --- Printed fields: characters and lengths ---------------------------------------------------

def put(path, template):
    """Set the field at ``path`` (``buyer.name``, ``lines[2].spec``, ``remark``) of an invoice to
    ``template`` with ``{}`` replaced by the text given later."""
    names = {"taxId": "tax_id", "bankName": "bank_name", "bankAccount": "bank_account"}

    def mutate(invoice, text):
        top, index, sub = re.fullmatch(r"(\w+)(?:\[(\d+)\])?(?:\.(\w+))?", path).groups()
        target = invoice.lines[int(index)] if index else getattr(invoice, top) if sub else invoice
        setattr(target, names.get(sub or top, sub or top), template.replace("{}", text))
    return path, mutate


PRINTED_FIELDS = [
    put("seller.name", "福州示例{}软件有限公司"), put("seller.taxId", SELLER_ID + "{}"),
    put("seller.address", "福州市{}鼓楼区"), put("seller.phone", "0591-{}87654321"),
    put("seller.bankName", "中国{}工商银行"), put("seller.bankAccount", "1402{}020109"),
    put("buyer.name", "{}深圳示例科技有限公司"), put("buyer.taxId", "{}" + BUYER_ID),
    put("buyer.address", "深圳市{}"), put("buyer.phone", "0755{}"), put("buyer.bankName", "招商{}银行"),
    put("buyer.bankAccount", "7559{}"), put("buyer.email", "li{}@example.com"),
    put("lines[2].name", "*运输服务*{}配送"), put("lines[2].spec", "{}X-100"), put("lines[2].unit", "次{}"),
    put("issuer", "李{}会计"), put("remark", "合同号{}HT-2025-001"),
]
UNPRINTABLE = [
    pytest.param("\t", id="tab"), pytest.param("\n", id="newline"), pytest.param("\r", id="carriage-return"),
    pytest.param("\x00", id="nul"), pytest.param("\x7f", id="delete"), pytest.param("\x85", id="c1-control"),
    pytest.param("\u200b", id="zero-width-space"), pytest.param("\u200d", id="zero-width-joiner"),
    pytest.param("\ufeff", id="byte-order-mark"), pytest.param("\u202e", id="right-to-left-override"),
    pytest.param("\u2066", id="bidi-isolate"), pytest.param("\u00ad", id="soft-hyphen"),
    pytest.param("\ue000", id="private-use"), pytest.param("\U000f0000", id="private-use-plane-15"),
    pytest.param("\ud800", id="lone-surrogate"), pytest.param("\u0378", id="unassigned"),
]


@pytest.mark.parametrize("char", UNPRINTABLE)
@pytest.mark.parametrize(("path", "mutate"), [pytest.param(*field, id=field[0]) for field in PRINTED_FIELDS])
def test_every_printed_field_refuses_unprintable_characters(path, mutate, char, catalogue):
    invoice = special_invoice()
    mutate(invoice, "")
    assert validate_invoice(invoice, catalogue) == []
    mutate(invoice, char)
    errors = validate_invoice(invoice, catalogue)
    assert found(errors) == [(path, "UNPRINTABLE")]
    assert f"U+{ord(char):04X}" in errors[0].message and f"U+{ord(char):04X}" in errors[0].message_zh


@pytest.mark.parametrize("text", ["深圳　示例", "A\u00a0B", "é", "𠀀字", "Ｆｕｌｌ", "★", "a b"])
def test_spaces_and_other_printed_characters_pass(text, catalogue):
    invoice = special_invoice()
    invoice.buyer.name = invoice.remark = text
    assert validate_invoice(invoice, catalogue) == []


def test_every_unprintable_field_is_listed_at_once_with_its_characters(catalogue):
    invoice = special_invoice()
    invoice.seller.name = "福州\u200b示例\u200b软件"
    invoice.buyer.tax_id = BUYER_ID + "\t"
    invoice.buyer.email = "li@example.com\u200e"
    invoice.lines[1].name = "*电子计算机*台式电脑\n"
    invoice.remark = "\x01\x02\x03\x04\x05\x06\x07"
    errors = validate_invoice(invoice, catalogue)
    assert found(errors) == [("seller.name", "UNPRINTABLE"), ("buyer.taxId", "UNPRINTABLE"),
                             ("buyer.email", "UNPRINTABLE"), ("lines[1].name", "UNPRINTABLE"),
                             ("lines[1].name", "DISCOUNT_MISMATCH"), ("remark", "UNPRINTABLE")]
    assert errors[0].message == ("seller name contains 2 characters that cannot be printed: "
                                 "U+200B (ZERO WIDTH SPACE) at position 3, U+200B (ZERO WIDTH SPACE) at position 6; "
                                 "remove them")
    assert errors[0].message_zh == ("销售方名称含有 2 个无法打印的字符：第 3 位 U+200B（格式字符：ZERO WIDTH SPACE）、"
                                    "第 6 位 U+200B（格式字符：ZERO WIDTH SPACE），请删除")
    assert errors[1].message == ("buyer taxpayer id contains 1 character that cannot be printed: "
                                 "U+0009 (control character) at position 19; remove it")
    assert errors[-1].message.endswith("U+0005 (control character) at position 5, and 2 more; remove them")
    assert errors[-1].message_zh.startswith("备注含有 7 个无法打印的字符：第 1 位 U+0001（控制字符）")
    assert errors[-1].message_zh.endswith("等，请删除")
    with pytest.raises(ValidationFailed) as raised:
        check_invoice(invoice, catalogue)
    assert raised.value.errors == errors


def test_field_limits_are_our_protocols_by_default():
    assert PROTOCOL_LIMITS == FieldLimits()
    assert (PROTOCOL_LIMITS.party_name, PROTOCOL_LIMITS.line_name, PROTOCOL_LIMITS.spec, PROTOCOL_LIMITS.unit,
            PROTOCOL_LIMITS.remark, PROTOCOL_LIMITS.issuer, PROTOCOL_LIMITS.email) == (300, 200, 100, 50, 200, 20, 100)
    assert dict(MAX_LENGTHS) == dataclasses.asdict(PROTOCOL_LIMITS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        PROTOCOL_LIMITS.party_name = 1


@pytest.mark.parametrize(("path", "mutate", "limit"), [
    pytest.param(*put("issuer", "{}"), 20, id="issuer"),
    pytest.param(*put("buyer.email", "{}@example.com"), 100, id="email"),
    pytest.param(*put("buyer.name", "{}"), 300, id="name"),
    pytest.param(*put("lines[2].name", "*运输服务*{}"), 200, id="item"),
    pytest.param(*put("lines[2].spec", "{}"), 100, id="spec"),
    pytest.param(*put("lines[2].unit", "{}"), 50, id="unit"),
    pytest.param(*put("remark", "{}"), 200, id="remark"),
])
def test_lengths_count_characters_up_to_the_protocols_limits(path, mutate, limit, catalogue):
    invoice = special_invoice()
    mutate(invoice, "")
    fixed = len(_field_text(invoice, path))
    mutate(invoice, "字" * (limit - fixed))          # 3 bytes each in UTF-8: characters count
    assert validate_invoice(invoice, catalogue) == []
    mutate(invoice, "字" * (limit - fixed + 1))
    errors = validate_invoice(invoice, catalogue)
    assert found(errors) == [(path, "TOO_LONG")]
    assert f"{limit + 1} characters (at most {limit})" in errors[0].message


def _field_text(invoice, path):
    wire = to_wire(invoice)
    for part in re.findall(r"\w+|\[\d+\]", path):
        wire = wire[int(part[1:-1])] if part.startswith("[") else wire.get(part, "")
    return wire


def test_a_platform_may_pass_its_own_limits(catalogue):
    invoice = special_invoice()
    narrow = FieldLimits(party_name=9, remark=5, serial_no=8)
    errors = validate_invoice(invoice, catalogue, limits=narrow)
    assert found(errors) == [("serialNo", "TOO_LONG"), ("seller.name", "TOO_LONG"), ("buyer.name", "TOO_LONG"),
                             ("remark", "TOO_LONG")]
    assert errors[2].message == "buyer name has 10 characters (at most 9)"
    with pytest.raises(ValidationFailed):
        check_invoice(invoice, catalogue, limits=narrow)
    assert found(validate_serial_no("SO2025-0002", limits=narrow)) == [("serialNo", "TOO_LONG")]
    assert found(validate_red_form(red_form(), limits=narrow)) == [("serialNo", "TOO_LONG")]
    with pytest.raises(ValidationFailed):
        check_red_form(red_form(), limits=narrow)
    assert validate_invoice(invoice, catalogue, limits=FieldLimits(party_name=1000)) == []


# --- Does a platform's answer describe our invoice? ---------------------------------------------

def result_of(invoice, **changes):
    """The result a platform would give for ``invoice``, with ``changes``."""
    result = InvoiceResult(
        serial_no=invoice.serial_no, status="issued", invoice_number="25352000000000000001",
        invoice_type=invoice.invoice_type, total_amount=invoice.total_amount, total_tax=invoice.total_tax,
        total_with_tax=invoice.total_with_tax, buyer_tax_id=invoice.buyer.tax_id, buyer_name=invoice.buyer.name)
    return dataclasses.replace(result, **changes)


def test_a_result_of_the_same_invoice_matches():
    invoice = special_invoice()
    assert result_mismatches(invoice, result_of(invoice)) == []
    # Written differently, the same: tax id case, spaces and dashes; spaces around the name; 2 places.
    assert result_mismatches(invoice, result_of(
        invoice, buyer_tax_id="9144 0300-ma5fq2e1xr", buyer_name=f"  {invoice.buyer.name} ",
        total_amount=D("9800"), total_tax=D("1262.0"))) == []
    # A natural person without a taxpayer id: nothing to compare there.
    person = ordinary_invoice()
    assert result_mismatches(person, result_of(person, buyer_tax_id="")) == []


@pytest.mark.parametrize(("changes", "expected"), [
    ({"buyer_tax_id": SELLER_ID}, [("buyer.taxId", "RESULT_MISMATCH")]),
    ({"buyer_name": "深圳另一家公司"}, [("buyer.name", "RESULT_MISMATCH")]),
    ({"invoice_type": "02"}, [("invoiceType", "RESULT_MISMATCH")]),
    ({"total_amount": D("9800.01")}, [("totalAmount", "RESULT_MISMATCH")]),
    ({"total_tax": D("1262.01")}, [("totalTax", "RESULT_MISMATCH")]),
    ({"total_with_tax": D("11062.01")}, [("totalWithTax", "RESULT_MISMATCH")]),
    ({"buyer_tax_id": "", "buyer_name": ""}, [("buyer.name", "RESULT_MISSING"), ("buyer.taxId", "RESULT_MISSING")]),
    ({"total_amount": None, "total_tax": None, "total_with_tax": None, "invoice_type": ""},
     [("invoiceType", "RESULT_MISSING"), ("totalAmount", "RESULT_MISSING"), ("totalTax", "RESULT_MISSING"),
      ("totalWithTax", "RESULT_MISSING")]),
])
def test_each_difference_is_a_mismatch(changes, expected):
    invoice = special_invoice()
    errors = result_mismatches(invoice, result_of(invoice, **changes))
    assert found(errors) == expected
    assert all(error.message and error.message_zh for error in errors)


def test_a_result_with_a_taxpayer_id_for_a_buyer_without_one_does_not_match():
    person = ordinary_invoice()
    assert found(result_mismatches(person, result_of(person, buyer_tax_id=BUYER_ID))) == [
        ("buyer.taxId", "RESULT_MISMATCH")]


def test_mismatch_messages_say_both_values():
    invoice = special_invoice()
    [error] = result_mismatches(invoice, result_of(invoice, total_with_tax=D("1.5")))
    assert error.message == "total with tax is 1.50 on the platform but 11062.00 here"
    assert error.message_zh == "价税合计平台上为 1.50，本地为 11062.00"
    [error] = result_mismatches(invoice, result_of(invoice, buyer_name=""))
    assert error.message == ("buyer name is missing from the platform's answer: nothing shows that the answer "
                             "is this invoice's")
    assert error.message_zh == "购买方名称在平台应答中缺失：无法确认该应答属于本发票"


def test_a_red_result_matches_only_its_own_form():
    result = InvoiceResult(serial_no="RI1", status="issued", invoice_number="25352000000000000009",
                           blue_invoice_number="25352000000000000001", total_amount=D("-100"),
                           total_tax=D("-13"), total_with_tax=D("-113"))
    ours = ("25352000000000000001", D("-100.00"), D("-13.00"), D("-113.00"))
    assert red_result_mismatches(*ours, result) == []
    assert found(red_result_mismatches("25352000000000000002", *ours[1:], result)) == [
        ("blueInvoiceNumber", "RESULT_MISMATCH")]
    assert found(red_result_mismatches(ours[0], D("-50"), D("-6.5"), D("-56.5"), result)) == [
        ("totalAmount", "RESULT_MISMATCH"), ("totalTax", "RESULT_MISMATCH"), ("totalWithTax", "RESULT_MISMATCH")]
    lacking = dataclasses.replace(result, blue_invoice_number="", total_with_tax=None)
    assert found(red_result_mismatches(*ours, lacking)) == [
        ("blueInvoiceNumber", "RESULT_MISSING"), ("totalWithTax", "RESULT_MISSING")]


# --- Structured problems: line, attribute, params ------------------------------------------

ATTRIBUTES = {  # what an error's attribute may name, by where it stands
    "document": {f.name for cls in (Invoice, RedForm) for f in dataclasses.fields(cls)},
    "party": {f.name for f in dataclasses.fields(Party)},
    "line": {f.name for cls in (InvoiceLine, RedFormLine) for f in dataclasses.fields(cls)},
}


def every_rule_error(catalogue):
    """The errors of every case above, invoices and red forms."""
    for _name, build, mutate, _expected in CASES:
        invoice = build()
        mutate(invoice)
        yield from validate_invoice(invoice, catalogue)
    for _name, form, blue, already, _expected in RED_CASES:
        yield from validate_red_form(form, blue() if blue else None, already)


def test_every_error_names_its_line_and_document_attribute(catalogue):
    for error in every_rule_error(catalogue):
        _top, index, sub = re.fullmatch(r"(\w+)(?:\[(\d+)\])?(?:\.(\w+))?", error.field).groups()
        assert error.line == (None if index is None else int(index)), error.field
        if error.line is not None:
            assert error.attribute in ATTRIBUTES["line"], error.field
        elif sub:
            role, attribute = error.attribute.split(".")
            assert role in ATTRIBUTES["document"] and attribute in ATTRIBUTES["party"], error.field
        else:
            assert error.attribute in ATTRIBUTES["document"], error.field


def test_every_error_says_its_problem_apart_from_its_place(catalogue):
    """Messages are the field's label and the detail: the detail is what a caller shows after
    its own label of the field. Taxpayer id errors keep the id check's own messages."""
    for error in every_rule_error(catalogue):
        assert error.detail and error.detail_zh, error.field
        if error.code.startswith("TAXPAYER_ID_") and error.code != "TAXPAYER_ID_NOT_NORMALISED":
            continue
        assert error.message.endswith(f" {error.detail}") and error.message_zh.endswith(error.detail_zh)


def test_params_carry_the_values_the_message_uses(catalogue):
    invoice = ordinary_invoice()
    invoice.lines[0].name = "*信息技术服务*" + "维" * 206
    [error] = validate_invoice(invoice, catalogue)
    assert (error.code, error.line, error.attribute, error.params) == (
        "TOO_LONG", 0, "name", {"length": 214, "limit": 200})

    invoice = ordinary_invoice()
    edit_line(0, tax_amount=D("60.10"))(invoice)
    [error] = validate_invoice(invoice, catalogue)
    assert error.params == {"value": D("60.10"), "expected": D("60.0000"), "difference": D("0.1000"),
                            "tolerance": LINE_TAX_TOLERANCE}

    [error] = validate_red_form(red_form(reversal(2, "-2600.00", "-338.00", "-1")), ordinary_invoice(),
                                {2: (D("-1"), D("-2500.00"), D("-325.00"))})[:1]
    assert (error.line, error.attribute, error.params) == (0, "amount", {
        "value": D("-2600.00"), "blue_line_no": 2, "left": D("2500.00"), "original": D("5000.00"),
        "reversed_before": D("-2500.00")})


def test_every_error_has_params_except_where_the_field_alone_says_it(catalogue):
    bare = {"REQUIRED", "NO_LINES"}
    for error in every_rule_error(catalogue):
        assert bool(error.params) != (error.code in bare), (error.field, error.code, error.params)
