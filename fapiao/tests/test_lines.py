"""Document lines from an ERP's amounts: normal, discounted, 0 %, rounding; printed numbering."""

from decimal import Decimal

import pytest

from fapiao.catalogue import Catalogue
from fapiao.documents import InvoiceLine
from fapiao.lines import (
    SourceLine,
    document_line_labels,
    document_lines,
    invoice_lines,
    line_of_number,
    printed_numbers,
    printed_unit,
    unit_price,
)
from fapiao.rules import LINE_TAX_TOLERANCE, validate_invoice
from fapiao.taxpolicy import line_tax
from fapiao.tests.test_taxpolicy import invoice_of

D = Decimal
COMPUTER = "1090509010000000000"        # 电子计算机, 13 %
RICE_PADDY = "1010101010000000000"      # 稻谷 (short name 谷物), 9 %, 免税
PREPAID_CARD = "6010000000000000000"    # 预付卡销售, 0 %, 不征税


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.from_csv()


def printer(**changes):
    """2 laser printers at 1000.00, 13 %: Odoo's price_subtotal 2000.00, price_total 2260.00."""
    values = {"item_name": "激光打印机", "classification_code": COMPUTER, "short_name": "电子计算机",
              "amount": D("2000.00"), "amount_with_tax": D("2260.00"), "tax_rate": D("0.13"),
              "quantity": D("2"), "spec": "LP-200", "unit": "台"}
    return SourceLine(**{**values, **changes})


def line(amount, tax, *, quantity=None, price=None, line_type="normal", name="*电子计算机*激光打印机",
         code=COMPUTER, rate="0.13", spec="LP-200", unit="台", policy=""):
    return InvoiceLine(name=name, classification_code=code, amount=D(amount), tax_rate=D(rate),
                       tax_amount=D(tax), amount_with_tax=D(amount) + D(tax),
                       quantity=None if quantity is None else D(quantity),
                       unit_price=None if price is None else D(price), spec=spec, unit=unit, line_type=line_type,
                       preferential_policy=policy)


CASES = [
    pytest.param(printer(), [line("2000.00", "260.00", quantity="2", price="1000")], id="normal"),
    pytest.param(printer(item_name="*旧简称*激光打印机"), [line("2000.00", "260.00", quantity="2", price="1000")],
                 id="a-prefix-the-name-had-is-replaced"),
    # 3 x 33.33: subtotal 99.99, tax 12.9987 -> 13.00
    pytest.param(printer(amount=D("99.99"), amount_with_tax=D("112.99"), quantity=D("3")),
                 [line("99.99", "13.00", quantity="3", price="33.33")], id="cents"),
    # 3 for 100.00: the unit price to 8 decimals
    pytest.param(printer(amount=D("100.00"), amount_with_tax=D("113.00"), quantity=D("3")),
                 [line("100.00", "13.00", quantity="3", price="33.33333333")], id="unit-price-8-decimals"),
    # 6 for 100.00: 16.666666666... rounds half up to 16.66666667
    pytest.param(printer(amount=D("100.00"), amount_with_tax=D("113.00"), quantity=D("6")),
                 [line("100.00", "13.00", quantity="6", price="16.66666667")], id="unit-price-rounds-up"),
    # Odoo's floats, read through their text
    pytest.param(printer(amount=2000.0, amount_with_tax=2260.0, quantity=2.0, tax_rate=D("0.13")),
                 [line("2000.00", "260.00", quantity="2.0", price="1000")], id="floats"),
    # 2 x 1000.00 less 10 %: net 1800.00 + 234.00; gross 2000.00 + 260.00; discount -200.00 - 26.00
    pytest.param(printer(amount=D("1800.00"), amount_with_tax=D("2034.00"), discount=D("10")),
                 [line("2000.00", "260.00", quantity="2", price="1000", line_type="discounted"),
                  line("-200.00", "-26.00", line_type="discount")], id="discounted"),
    # 7 x 14.29 less 33 %: net round(67.02011) = 67.02, tax 8.7126 -> 8.71;
    # gross round(67.02 / 0.67 = 100.0298...) = 100.03, tax 13.0039 -> 13.00; discount -33.01, -4.29
    pytest.param(printer(amount=D("67.02"), amount_with_tax=D("75.73"), quantity=D("7"), discount=D("33")),
                 [line("100.03", "13.00", quantity="7", price="14.29", line_type="discounted"),
                  line("-33.01", "-4.29", line_type="discount")], id="discounted-rounding"),
    # net 900.45 less 10 %: gross 1000.50, whose tax 130.065 rounds half up to 130.07
    pytest.param(printer(amount=D("900.45"), amount_with_tax=D("1017.51"), quantity=D("1"), discount=D("10")),
                 [line("1000.50", "130.07", quantity="1", price="1000.5", line_type="discounted"),
                  line("-100.05", "-13.01", line_type="discount")], id="discounted-tax-half-up"),
    # 1 x 10.01 less 99 %: the net 0.10 gives back 10.00; the ERP's gross says 10.01
    pytest.param(printer(amount=D("0.10"), amount_with_tax=D("0.11"), quantity=D("1"), discount=D("99"),
                         gross_amount=D("10.01")),
                 [line("10.01", "1.30", quantity="1", price="10.01", line_type="discounted"),
                  line("-9.91", "-1.29", line_type="discount")], id="discounted-gross-given"),
    pytest.param(SourceLine("稻谷", RICE_PADDY, "谷物", D("100.00"), D("100.00"), D("0"), D("5"),
                            preferential_policy="免税"),
                 [line("100.00", "0.00", quantity="5", price="20", name="*谷物*稻谷", code=RICE_PADDY, rate="0",
                       spec="", unit="", policy="免税")], id="0%-exempt"),
    pytest.param(SourceLine("储值卡充值", PREPAID_CARD, "预付卡销售", D("500.00"), D("500.00"), D("0"),
                            preferential_policy="不征税", discount=D("20"), quantity=D("1")),
                 [line("625.00", "0.00", quantity="1", price="625", name="*预付卡销售*储值卡充值", code=PREPAID_CARD,
                       rate="0", spec="", unit="", policy="不征税", line_type="discounted"),
                  line("-125.00", "0.00", name="*预付卡销售*储值卡充值", code=PREPAID_CARD, rate="0", spec="",
                       unit="", policy="不征税", line_type="discount")], id="0%-discounted"),
    pytest.param(printer(quantity=None), [line("2000.00", "260.00")], id="no-quantity"),
    pytest.param(printer(discount=D("-5")), [line("2000.00", "260.00", quantity="2", price="1000")],
                 id="a-surcharge-prints-at-the-net-price"),
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_document_lines(source, expected, catalogue):
    lines = document_lines(source)
    assert lines == expected
    assert [str(item.unit_price) for item in lines] == [str(item.unit_price) for item in expected]
    for item in lines:
        assert abs(item.amount * item.tax_rate - item.tax_amount) <= LINE_TAX_TOLERANCE
    assert sum(item.amount for item in lines) == D(str(source.amount)).quantize(D("0.01"))
    assert validate_invoice(invoice_of(lines), catalogue) == []


def test_the_discount_pair_sums_to_the_erp_amounts(catalogue):
    """Every discount of 1 to 99 % on 7 x 14.29: the pair keeps the ERP's net amounts, each line
    keeps the tax rule, and the invoice passes."""
    for percent in range(1, 100):
        net = (D("7") * D("14.29") * (100 - percent) / 100).quantize(D("0.01"))
        tax = (net * D("0.13")).quantize(D("0.01"))
        lines = document_lines(printer(amount=net, amount_with_tax=net + tax, quantity=D(7), discount=D(percent)))
        discounted, discount = lines
        assert (discounted.amount + discount.amount, discounted.tax_amount + discount.tax_amount) == (net, tax)
        assert discount.amount <= 0
        assert validate_invoice(invoice_of(lines), catalogue) == [], percent


def test_a_full_discount_leaves_a_line_the_rules_refuse(catalogue):
    """100 % off leaves nothing to recover the price from, nor anything to invoice."""
    lines = document_lines(printer(amount=D("0.00"), amount_with_tax=D("0.00"), discount=D("100")))
    assert [(item.line_type, item.amount) for item in lines] == [("normal", D("0.00"))]
    assert [error.code for error in validate_invoice(invoice_of(lines), catalogue)] == ["SIGN", "SIGN", "SIGN"]


def test_the_flag_comes_from_the_code_and_the_rate(catalogue):
    """A 3 % levy on a 13 % code: the line carries the flag line_tax derives, and passes."""
    decided = line_tax(catalogue.get(COMPUTER), D("0.03"))
    source = printer(amount_with_tax=D("2060.00"), tax_rate=decided.rate, preferential_policy=decided.policy)
    assert validate_invoice(invoice_of(document_lines(source)), catalogue) == []
    assert document_lines(source)[0].preferential_policy == "简易征收"


def test_printed_numbers_and_labels():
    sources = [printer(), printer(amount=D("1800.00"), amount_with_tax=D("2034.00"), discount=D("10")), printer()]
    numbers = printed_numbers(sources)
    assert numbers == ((1,), (2, 3), (4,))
    assert len(invoice_lines(sources)) == 4
    assert [item.line_type for item in invoice_lines(sources)] == ["normal", "discounted", "discount", "normal"]
    assert line_of_number(numbers) == {1: 0, 2: 1, 3: 1, 4: 2}
    assert document_line_labels(numbers, ["Line 1 (A)", "Line 2 (B)", "Line 3 (C)"]) == {
        0: "Line 1 (A)", 1: "Line 2 (B)", 2: "Line 2 (B)", 3: "Line 3 (C)"}
    assert printed_numbers([]) == ()


def test_unit_prices():
    assert str(unit_price(D("2000.00"), D("2"))) == "1000"
    assert str(unit_price(D("0.00"), D("3"))) == "0"
    assert str(unit_price(D("10"), D("0.3"))) == "33.33333333"
    assert unit_price(D("10"), None) is None and unit_price(D("10"), D(0)) is None


@pytest.mark.parametrize(("name", "printed"), [
    ("台", "台"), ("个", "个"), ("次", "次"), (" 千克 ", "千克"), ("Pallet", "Pallet"),
    ("Units", ""), ("units", ""), ("Unit", ""), ("单位", ""), (" 单位 ", ""), ("", ""), (None, ""), (False, ""),
])
def test_printed_unit(name, printed):
    """The 单位 column shows a real unit; Odoo's generic "Units" (单位 in Chinese) leaves it blank."""
    assert printed_unit(name) == printed


def test_document_lines_print_the_unit(catalogue):
    assert {item.unit for item in document_lines(printer(unit="台", discount=D("10"), amount=D("1800.00"),
                                                                   amount_with_tax=D("2034.00")))} == {"台"}
    assert document_lines(printer(unit="单位"))[0].unit == ""
    assert document_lines(printer(unit="Units"))[0].unit == ""
