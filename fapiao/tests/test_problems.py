"""Problems in words: FieldErrors located in neutral terms and described for a person."""

import re
from dataclasses import fields
from decimal import Decimal

import pytest

from fapiao.catalogue import Catalogue, check_csv
from fapiao.documents import Invoice, InvoiceLine, Party, RedForm, RedFormLine
from fapiao.errors import FieldError, ValidationFailed
from fapiao.problems import attribute_name, describe_problem, describe_problems, locate
from fapiao.rules import validate_invoice

D = Decimal
COMPUTER = "1090509010000000000"    # 电子计算机, 13 %
SELLER_ID = "91350100M000100Y43"


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.from_csv()


def printer_invoice():
    """A 专票 whose buyer has no taxpayer id and whose first line is at 9 % on a 13 % code."""
    line = InvoiceLine(name="*电子计算机*激光打印机", classification_code=COMPUTER, amount=D("1000.00"),
                       tax_rate=D("0.09"), tax_amount=D("90.00"), amount_with_tax=D("1090.00"))
    return Invoice(serial_no="SO-1", invoice_type="01", seller=Party("福州示例软件有限公司", SELLER_ID),
                   buyer=Party("深圳示例科技有限公司"), lines=[line], total_amount=D("1000.00"),
                   total_tax=D("90.00"), total_with_tax=D("1090.00"))


@pytest.mark.parametrize(("path", "expected"), [
    ("lines[2].taxRate", (2, "tax_rate")),
    ("lines[0].blueLineNo", (0, "blue_line_no")),
    ("lines[1]", (1, None)),
    ("buyer.taxId", (None, "buyer.tax_id")),
    ("seller.naturalPerson", (None, "seller.natural_person")),
    ("totalWithTax", (None, "total_with_tax")),
    ("lines", (None, "lines")),
    ("vatRates[0]", (None, "vat_rates")),
    ("", (None, None)),
    ("line 3, vat_rates", (None, None)),
    (None, (None, None)),
])
def test_locate_reads_line_and_attribute_from_a_field_path(path, expected):
    assert locate(path) == expected


def test_wire_names_are_the_attributes_in_camel_case():
    """Our protocol's names (docs/protocol.md) are the documents' attributes in camel case."""
    wire_names = ["serialNo", "invoiceType", "blueInvoiceNumber", "redFormNumber", "totalAmount", "totalTax",
                  "totalWithTax", "taxId", "bankName", "bankAccount", "naturalPerson", "lineNo", "lineType",
                  "classificationCode", "unitPrice", "taxRate", "taxAmount", "amountWithTax", "preferentialPolicy",
                  "blueLineNo", "name", "spec", "unit", "quantity", "amount", "remark", "issuer"]
    attributes = {f.name for cls in (Invoice, InvoiceLine, Party, RedForm, RedFormLine) for f in fields(cls)}
    for wire in wire_names:
        assert attribute_name(wire) in attributes, wire


def test_the_four_argument_constructor_still_works_and_locates_the_field():
    error = FieldError("lines[1].unitPrice", "QUANTITY_PRICE_PAIR", "line 2 unit price is missing", "第 2 行单价缺失")
    assert (error.line, error.attribute, error.params, error.detail) == (1, "unit_price", {}, None)
    assert str(error) == "lines[1].unitPrice: line 2 unit price is missing"
    given = FieldError("x", "C", "m", "m", line=0, attribute="name", params={"limit": 200})
    assert (given.line, given.attribute, given.params) == (0, "name", {"limit": 200})


def test_with_the_documents_own_labels_a_problem_reads_as_its_message(catalogue):
    errors = validate_invoice(printer_invoice(), catalogue)
    assert [error.code for error in errors] == ["BUYER_TAX_ID_REQUIRED", "RATE_NOT_ALLOWED"]
    assert describe_problems(errors, "en") == "\n".join(error.message for error in errors)
    assert describe_problems(errors, "zh_CN") == "\n".join(error.message_zh for error in errors)


def test_the_caller_names_lines_and_fields_as_its_users_see_them(catalogue):
    errors = validate_invoice(printer_invoice(), catalogue)
    fields_en = {"buyer.tax_id": "Buyer Taxpayer ID", "tax_rate": "Tax"}
    fields_zh = {"buyer.tax_id": "购买方税号", "tax_rate": "税率"}
    assert describe_problems(errors, "en", {0: "Line 1 (激光打印机)"}, fields_en.get) == (
        "Buyer Taxpayer ID is required on a special VAT invoice (01)\n"
        "Line 1 (激光打印机) Tax 9% is not allowed for code 1090509010000000000 (电子计算机); allowed: 13%")
    text = describe_problems(errors, "zh", {0: "第 1 行（激光打印机）"}, fields_zh.get)
    assert text == ("购买方税号在增值税专用发票（01）上为必填项\n"
                    "第 1 行（激光打印机）税率 9% 不适用于编码 1090509010000000000（电子计算机）（可用税率：13%）")
    assert not re.search(r"[A-Za-z]{3,}", text.replace("Line", "")), "no English in the Chinese text"
    assert "taxId" not in text and "lines[" not in text


def test_a_label_function_may_leave_fields_to_the_documents_labels(catalogue):
    errors = validate_invoice(printer_invoice(), catalogue)
    assert describe_problem(errors[1], "en", {}, lambda attribute: None) == errors[1].message


def test_taxpayer_id_problems_name_the_field_once(catalogue):
    invoice = printer_invoice()
    invoice.lines[0].tax_rate, invoice.lines[0].tax_amount, invoice.lines[0].amount_with_tax = (
        D("0.13"), D("130.00"), D("1130.00"))
    invoice.total_tax, invoice.total_with_tax = D("130.00"), D("1130.00")
    invoice.buyer.tax_id = "91440300MA5FQ2E1XX"
    [error] = validate_invoice(invoice, catalogue)
    assert error.code == "TAXPAYER_ID_CHECK"
    assert error.params == {"value": "91440300MA5FQ2E1XX", "reason": "check", "position": 18}
    assert describe_problem(error, "en").startswith("buyer taxpayer id 91440300MA5FQ2E1XX: check character is 'X'")
    assert describe_problem(error, "zh").startswith("购买方纳税人识别号 91440300MA5FQ2E1XX：校验位为“X”")


def test_a_platform_problem_read_from_the_wire_is_described_like_ours(catalogue):
    [_, ours] = validate_invoice(printer_invoice(), catalogue)
    theirs = FieldError.from_wire(ours.to_wire())
    assert theirs == ours
    assert (theirs.line, theirs.attribute, theirs.detail, theirs.detail_zh) == (
        0, "tax_rate", ours.detail, ours.detail_zh)
    assert describe_problem(theirs, "en", {0: "Line 1"}) == describe_problem(ours, "en", {0: "Line 1"})


def test_a_platform_message_of_its_own_follows_the_place():
    error = FieldError.from_wire({"field": "lines[0].taxRate", "code": "E1", "message": "税率错误"})
    assert error.detail is None
    assert describe_problem(error, "zh", {0: "第 1 行（激光打印机）"}) == "第 1 行（激光打印机）税率：税率错误"
    assert describe_problem(error, "en") == "line 1 tax rate: 税率错误"


def test_a_file_problem_keeps_its_position():
    with pytest.raises(ValidationFailed) as caught:
        check_csv("code,name,is_summary,parent_code\n123,大米,N,0\n")
    [error] = caught.value.errors
    assert (error.line, error.attribute) == (None, None)
    assert describe_problem(error, "en") == "line 2, code: '123' is not a 19-digit code"
    assert describe_problem(error, "zh") == "line 2, code：“123”不是 19 位编码"
