"""Red reversal arithmetic: credit notes to red-letter forms, returns, and buyers' forms to credit notes."""

from decimal import Decimal

import pytest

from fapiao.documents import Invoice, Party, RedFormLine
from fapiao.lines import SourceLine, invoice_lines, printed_numbers
from fapiao.problems import describe_problems
from fapiao.redreversal import (
    CreditLine,
    LineReversal,
    allocate_return,
    collect_reversals,
    credit_for_form,
    full_reversal_lines,
    plan_red_form,
    quantities_left,
    reversed_by_forms,
)

D = Decimal
SELLER_ID = "91350100M000100Y43"
BLUE_NUMBER = "26350000000000000001"
COMPUTER = "1090509010000000000"        # 电子计算机, 13 %
SOFTWARE = "3040201010000000000"        # 信息技术服务, 6 %


def printer(**changes):
    """2 laser printers at 1000.00, 13 %: 2000.00 + 260.00."""
    values = {"item_name": "激光打印机", "classification_code": COMPUTER, "short_name": "电子计算机",
              "amount": D("2000.00"), "amount_with_tax": D("2260.00"), "tax_rate": D("0.13"), "quantity": D("2")}
    return SourceLine(**{**values, **changes})


SERVICE = SourceLine("安装服务", SOFTWARE, "信息技术服务", D("900.00"), D("954.00"), D("0.06"), D("3"))
DISCOUNTED_PRINTER = printer(amount=D("1800.00"), amount_with_tax=D("2034.00"), discount=D("10"))


def blue(*sources):
    """The issued blue invoice of ``sources``, and its printed numbering."""
    lines = invoice_lines(sources)
    total = sum((line.amount for line in lines), D(0))
    tax = sum((line.tax_amount for line in lines), D(0))
    invoice = Invoice(serial_no="SO-1", invoice_type="02", seller=Party("福州示例软件有限公司", SELLER_ID),
                      buyer=Party("深圳示例科技有限公司"), lines=lines, total_amount=total, total_tax=tax,
                      total_with_tax=total + tax)
    return invoice, printed_numbers(sources)


def plan(invoice, reversals, already=None):
    return plan_red_form(invoice, reversals, already, serial_no="RF-1", blue_invoice_number=BLUE_NUMBER)


def reversal(quantity, amount, tax, same_unit_price=True):
    return LineReversal(None if quantity is None else D(quantity), D(amount), D(tax), same_unit_price)


def form_line(number, quantity, amount, tax):
    return RedFormLine(blue_line_no=number, quantity=None if quantity is None else D(quantity), amount=D(amount),
                       tax_amount=D(tax))


def codes(problems):
    return [(problem.field, problem.code) for problem in problems]


# --- Credit notes to forms ---------------------------------------------------------------

def test_a_credit_note_of_every_line_as_invoiced_is_a_full_reversal():
    invoice, _ = blue(printer(), SERVICE)
    planned = plan(invoice, {1: reversal("2", "2000.00", "260.00"), 2: reversal("3", "900.00", "54.00")})
    assert (planned.full, planned.form.lines, planned.problems) == (True, [], [])
    assert (planned.form.serial_no, planned.form.blue_invoice_number, planned.form.reason) == (
        "RF-1", BLUE_NUMBER, "01")
    assert planned.taken == [form_line(1, "-2", "-2000.00", "-260.00"), form_line(2, "-3", "-900.00", "-54.00")]
    assert planned.taken == full_reversal_lines(invoice)


def test_part_of_a_line_at_its_price_is_reversed_by_quantity():
    invoice, _ = blue(printer(), SERVICE)
    planned = plan(invoice, {1: reversal("1", "1000.00", "130.00")})
    assert (planned.full, planned.problems) == (False, [])
    assert planned.form.lines == planned.taken == [form_line(1, "-1", "-1000.00", "-130.00")]
    assert planned.numbers == [1]


def test_a_line_at_another_price_is_reversed_by_amount():
    invoice, _ = blue(printer(), SERVICE)
    planned = plan(invoice, {1: reversal("1", "900.00", "117.00", same_unit_price=False)})
    assert (planned.form.lines, planned.problems) == ([form_line(1, None, "-900.00", "-117.00")], [])


def test_a_second_form_takes_what_the_first_left_then_nothing_is_left():
    invoice, _ = blue(printer(), SERVICE)
    first = plan(invoice, {1: reversal("1", "1000.00", "130.00")})
    already = reversed_by_forms(first.taken)
    assert already == {1: (D("-1"), D("-1000.00"), D("-130.00"))}
    second = plan(invoice, {1: reversal("1", "1000.00", "130.00"), 2: reversal("3", "900.00", "54.00")}, already)
    assert (second.full, second.problems) == (False, [])
    already = reversed_by_forms([*first.taken, *second.taken])
    third = plan(invoice, {1: reversal("1", "1000.00", "130.00")}, already)
    assert codes(third.problems) == [("blueInvoiceNumber", "NOTHING_LEFT")]
    assert "already fully reversed" in third.problems[0].message


def test_the_whole_invoice_after_a_part_of_it_is_no_full_reversal_and_too_much():
    invoice, _ = blue(printer(), SERVICE)
    already = reversed_by_forms(plan(invoice, {1: reversal("1", "1000.00", "130.00")}).taken)
    planned = plan(invoice, {1: reversal("2", "2000.00", "260.00"), 2: reversal("3", "900.00", "54.00")}, already)
    assert not planned.full
    assert codes(planned.problems) == [("lines[0].quantity", "EXCEEDS_BLUE"), ("lines[0].amount", "EXCEEDS_BLUE"),
                                       ("lines[0].taxAmount", "EXCEEDS_BLUE")]


def test_more_than_the_line_is_refused_naming_line_and_amounts():
    invoice, _ = blue(printer(), SERVICE)
    planned = plan(invoice, {1: reversal("3", "3000.00", "390.00")})
    assert codes(planned.problems) == [("lines[0].quantity", "EXCEEDS_BLUE"), ("lines[0].amount", "EXCEEDS_BLUE"),
                                       ("lines[0].taxAmount", "EXCEEDS_BLUE")]
    labels = {index: f"Line {number} (激光打印机)" for index, number in enumerate(planned.numbers)}
    text = describe_problems(planned.problems, "en", labels)
    assert text.splitlines()[0] == ("Line 1 (激光打印机) quantity -3.00 is more than what is left of blue line 1: "
                                    "2.00 of 2.00 (0.00 reversed before)")
    assert describe_problems(planned.problems, "zh", {0: "第 1 行（激光打印机）"}).splitlines()[1] == (
        "第 1 行（激光打印机）金额 -3000.00 超过蓝字发票第 1 行的剩余可红冲数 2000.00（原为 2000.00，已红冲 0.00）")


def test_a_discounted_line_is_reversed_by_amount_net_of_its_discount():
    """2 printers less 10 %: lines 1 (2000.00 + 260.00) and 2 (-200.00 - 26.00)."""
    invoice, numbers = blue(DISCOUNTED_PRINTER)
    assert numbers == ((1, 2),)
    first = plan(invoice, {1: reversal("1", "900.00", "117.00")})
    assert (first.full, first.problems) == (False, [])
    assert first.form.lines == [form_line(1, None, "-900.00", "-117.00")], "by amount only"
    second = plan(invoice, {1: reversal("1", "900.00", "117.00")}, reversed_by_forms(first.taken))
    assert second.problems == []
    already = reversed_by_forms([*first.taken, *second.taken])
    assert quantities_left(invoice, numbers, already) == (D("2"),), "reversed by amount: the quantity stays"
    assert codes(plan(invoice, {1: reversal("1", "900.00", "117.00")}, already).problems) == [
        ("blueInvoiceNumber", "NOTHING_LEFT")]


def test_a_discounted_invoice_reversed_whole_mirrors_the_discount_line():
    invoice, numbers = blue(DISCOUNTED_PRINTER)
    planned = plan(invoice, {1: reversal("2", "1800.00", "234.00")})
    assert (planned.full, planned.problems) == (True, [])
    assert planned.taken == [form_line(1, "-2", "-2000.00", "-260.00"), form_line(2, None, "200.00", "26.00")]
    assert quantities_left(invoice, numbers, reversed_by_forms(planned.taken)) == (D("0"),)
    assert codes(plan(invoice, {1: reversal(None, "0.01", "0.00")}, reversed_by_forms(planned.taken)).problems) == [
        ("blueInvoiceNumber", "NOTHING_LEFT")]


def test_the_gross_of_a_discounted_line_is_not_what_is_left():
    invoice, _ = blue(DISCOUNTED_PRINTER)
    planned = plan(invoice, {1: reversal("2", "2000.00", "260.00")})
    assert codes(planned.problems) == [("lines[0].amount", "EXCEEDS_BLUE"), ("lines[0].taxAmount", "EXCEEDS_BLUE")]


def test_what_earlier_forms_hold_counts_over_the_whole_invoice():
    """Forms holding amounts on line numbers the blue invoice does not print (the lines were
    renumbered, a form of another invoice): each line is within what is left of it, the invoice is not."""
    invoice, _ = blue(printer(), SERVICE)
    planned = plan(invoice, {1: reversal("2", "2000.00", "260.00")}, {9: (D(0), D("-1000.00"), D("-60.00"))})
    assert codes(planned.problems) == [("lines", "EXCEEDS_INVOICE")]
    [problem] = planned.problems
    assert problem.message == ("lines reverse 2260.00 with tax, but only 2154.00 of the blue invoice's 3214.00 are "
                               "left (1060.00 reversed or being reversed)")
    assert problem.message_zh == ("明细红冲价税合计 2260.00，但蓝字发票 3214.00 中仅剩 2154.00 可红冲"
                                  "（已红冲或红冲中 1060.00）")
    assert problem.params == {"value": D("2260.00"), "left": D("2154.00"), "total": D("3214.00"),
                              "reversed_before": D("1060.00")}


def test_form_header_problems_are_the_rules():
    invoice, _ = blue(printer())
    planned = plan_red_form(invoice, {1: reversal("1", "1000.00", "130.00")}, serial_no="RF 1",
                            blue_invoice_number="123", reason="09")
    assert codes(planned.problems) == [("serialNo", "SERIAL_NO_FORMAT"), ("blueInvoiceNumber", "INVOICE_NUMBER_FORMAT"),
                                       ("reason", "REASON_UNKNOWN")]


def test_credit_note_lines_on_one_blue_line_add_up():
    collected = collect_reversals([(1, reversal("1", "1000.00", "130.00")), (2, reversal("3", "900.00", "54.00")),
                                   (1, reversal("1", 999.995, 130.0, same_unit_price=False))])
    assert collected == {1: LineReversal(D("2"), D("2000.00"), D("260.00"), False),
                         2: LineReversal(D("3"), D("900.00"), D("54.00"), True)}
    assert collect_reversals([(1, reversal(None, "1", "0")), (1, reversal("1", "1", "0"))])[1].quantity is None


def test_reversed_by_forms_sums_each_blue_line():
    lines = [form_line(1, "-1", "-1000.00", "-130.00"), form_line(2, None, "-100.00", "-6.00"),
             form_line(1, "-1", "-1000.00", "-130.00")]
    assert reversed_by_forms(lines) == {1: (D("-2"), D("-2000.00"), D("-260.00")), 2: (D(0), D("-100.00"),
                                                                                       D("-6.00"))}
    assert reversed_by_forms([]) == {}


# --- Returns ---------------------------------------------------------------------------------

def test_quantities_left_per_erp_line():
    invoice, numbers = blue(printer(), DISCOUNTED_PRINTER, SERVICE)
    assert numbers == ((1,), (2, 3), (4,))
    assert quantities_left(invoice, numbers) == (D("2"), D("2"), D("3"))
    already = {1: (D("-1"), D("-1000.00"), D("-130.00")), 4: (D("-3"), D("-900.00"), D("-54.00"))}
    assert quantities_left(invoice, numbers, already) == (D("1"), D("2"), D("0"))


def test_a_return_is_taken_from_the_lines_in_order_never_beyond_what_they_have_left():
    assert allocate_return(D("5"), [("latest", D("2")), ("empty", D("0")), ("earlier", D("4"))]) == {
        "latest": D("2"), "earlier": D("3")}
    assert allocate_return(D("1"), [("latest", D("2")), ("earlier", D("4"))]) == {"latest": D("1")}
    assert allocate_return(D("9"), [("only", 2.0)]) == {"only": D("2.0")}
    assert allocate_return(D("0"), [("latest", D("2"))]) == {}


# --- A buyer's form to the credit note ----------------------------------------------------------

@pytest.mark.parametrize(("sources", "form_lines", "expected"), [
    pytest.param((printer(), SERVICE), [form_line(1, "-1", "-1000.00", "-130.00")],
                 {0: CreditLine("quantity", D("1"), D("1000.00"))}, id="a-quantity-at-its-price"),
    pytest.param((printer(), SERVICE), [form_line(2, "-3", "-900.00", "-54.00")],
                 {1: CreditLine("full", D("3"), D("900.00"))}, id="a-whole-line"),
    pytest.param((printer(), SERVICE), [form_line(1, "-1", "-950.00", "-123.50")],
                 {0: CreditLine("amount", D("1"), D("950.00"))}, id="a-quantity-at-another-price"),
    pytest.param((printer(), SERVICE), [form_line(1, None, "-100.00", "-13.00")],
                 {0: CreditLine("amount", D("1"), D("100.00"))}, id="an-allowance"),
    pytest.param((DISCOUNTED_PRINTER,), [form_line(1, None, "-900.00", "-117.00")],
                 {0: CreditLine("amount", D("1"), D("900.00"))}, id="part-of-a-discounted-line"),
    pytest.param((DISCOUNTED_PRINTER,),
                 [form_line(1, "-2", "-2000.00", "-260.00"), form_line(2, None, "200.00", "26.00")],
                 {0: CreditLine("full", D("2"), D("1800.00"))}, id="a-discounted-line-whole"),
])
def test_what_the_credit_note_of_a_buyers_form_holds(sources, form_lines, expected):
    invoice, numbers = blue(*sources)
    assert credit_for_form(invoice, numbers, form_lines) == (expected, [])


def test_a_buyers_form_line_on_no_blue_line_is_a_problem():
    invoice, numbers = blue(printer(), SERVICE)
    credit_lines, problems = credit_for_form(invoice, numbers, [form_line(1, "-1", "-1000.00", "-130.00"),
                                                           form_line(7, None, "-1.00", "-0.06")])
    assert credit_lines == {0: CreditLine("quantity", D("1"), D("1000.00"))}
    assert codes(problems) == [("lines[1].blueLineNo", "LINE_NOT_FOUND")]
    assert problems[0].message == "line 2 blue invoice line 7 is not a line of the blue invoice (it has 2 lines)"
    assert problems[0].message_zh == "第 2 行蓝字发票明细序号 7 不是蓝字发票的明细行（共 2 行）"
