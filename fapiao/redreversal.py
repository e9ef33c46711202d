"""Red reversal (红冲) arithmetic: from what a credit note reverses to the red-letter form, and back.

The blue invoice is the :class:`~fapiao.documents.Invoice` that was issued, its
lines numbered as printed (1-based; :func:`fapiao.lines.printed_numbers` says
which numbers each ERP line prints as). Earlier forms that hold amounts of it
(awaiting, confirmed, red invoice issued) took, per blue line number, negative
(quantity, amount, tax) sums: :func:`reversed_by_forms`.

- :func:`plan_red_form`: what a credit note reverses per blue line number gives
  the form: a full reversal (no lines) when it reverses the whole invoice and
  nothing was reversed before, else one line per blue line with negative amounts,
  and a quantity only where the unit price is unchanged and the line is not
  discounted (a discounted line prints its gross price: only amounts say what a
  part of it is worth, net of its discount). Every check of
  :func:`fapiao.rules.validate_red_form` applies: within what is left of each
  line (discount lines folded into the lines they discount), nothing left, full
  after partial, the tax rules at the blue line's rate; and over the invoice.
- :func:`quantities_left`: per ERP line, the quantity not reversed yet (returns).
- :func:`allocate_return`: a returned quantity spread over the invoice lines that
  still hold some, in the order given (latest e-invoice first).
- :func:`credit_for_form`: the other way, for a form the buyer raised: what the
  credit note must hold per ERP line.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from .documents import RedForm, RedFormLine
from .errors import FieldError
from .lines import decimal, money
from .rules import QUANTITY_PRICE_TOLERANCE, discount_pairs, left_to_reverse, validate_red_form

ZERO = Decimal(0)


@dataclass(frozen=True)
class LineReversal:
    """What a credit note reverses of one blue line, as the credit note shows it (positive)."""

    quantity: Decimal | None
    amount: Decimal                 # excluding tax
    tax: Decimal
    same_unit_price: bool = True    # the credit note's unit price (and unit, discount) is the blue line's


def collect_reversals(items):
    """{blue line number: LineReversal} summing ``items``, (blue line number, LineReversal) pairs:
    several credit note lines may reverse one blue line. The sum keeps the same unit price only
    if every part does."""
    collected = {}
    for number, part in items:
        done = collected.get(number)
        quantity, amount, tax = decimal(part.quantity), money(part.amount), money(part.tax)
        if done is not None:
            quantity = None if done.quantity is None or quantity is None else done.quantity + quantity
            amount, tax = done.amount + amount, done.tax + tax
        collected[number] = LineReversal(quantity, amount, tax, part.same_unit_price and (
            done is None or done.same_unit_price))
    return collected


def reversed_by_forms(form_lines):
    """{blue line number: (quantity, amount, tax)}: the negative sums of ``form_lines`` (RedFormLine
    objects of every form holding amounts of one blue invoice); a line without quantity counts 0."""
    sums = {}
    for line in form_lines:
        quantity, amount, tax = sums.get(line.blue_line_no, (ZERO, ZERO, ZERO))
        sums[line.blue_line_no] = (quantity + (decimal(line.quantity) or ZERO), amount + money(line.amount),
                                   tax + money(line.tax_amount))
    return sums


@dataclass
class RedPlan:
    """The red-letter form a credit note calls for."""

    full: bool                      # reverses the whole blue invoice: the form has no lines
    form: RedForm                   # the application, as sent
    taken: list                     # RedFormLine per blue line it takes (for a full form, every blue line)
    problems: list = field(default_factory=list)    # FieldErrors of the form: nothing may be sent

    @property
    def numbers(self):
        """The blue line number of each form line, in order (to label the problems' lines)."""
        return [line.blue_line_no for line in self.form.lines]


def plan_red_form(blue_invoice, reversals, already_reversed=None, *, serial_no, blue_invoice_number,
                  reason="01", applicant="seller", limits=None):
    """The form reversing ``reversals`` ({blue line number: LineReversal}) of ``blue_invoice``, issued
    as ``blue_invoice_number``, after the earlier forms' ``already_reversed`` (see
    :func:`reversed_by_forms`); its problems, if any, say why it cannot be sent."""
    discounted = set(discount_pairs(blue_invoice).values())
    lines = [RedFormLine(blue_line_no=number, amount=-money(reversal.amount), tax_amount=-money(reversal.tax),
                         quantity=-decimal(reversal.quantity) if (
                             reversal.quantity and reversal.same_unit_price and number not in discounted)
                         else None)
             for number, reversal in sorted(reversals.items())]
    full = _is_full(blue_invoice, reversals, already_reversed)
    form = RedForm(serial_no=serial_no, blue_invoice_number=blue_invoice_number, reason=reason,
                   lines=[] if full else lines, applicant=applicant)
    problems = validate_red_form(form, blue_invoice, already_reversed, limits=limits)
    if not problems:
        problems = _over_the_invoice(blue_invoice, lines, already_reversed)
    return RedPlan(full=full, form=form, taken=full_reversal_lines(blue_invoice) if full else lines,
                   problems=problems)


def full_reversal_lines(blue_invoice):
    """What a full reversal takes: every blue line negated, a discount line (negative) included,
    so that later forms know what is left (nothing)."""
    return [RedFormLine(blue_line_no=line.line_no or index + 1, amount=-line.amount, tax_amount=-line.tax_amount,
                        quantity=None if line.quantity is None else -line.quantity)
            for index, line in enumerate(blue_invoice.lines)]


def _is_full(blue_invoice, reversals, already_reversed):
    """Nothing reversed before, and the credit note reverses every line exactly as invoiced
    (quantity, and amount and tax net of any discount)."""
    if any(any(values) for values in (already_reversed or {}).values()):
        return False
    whole = left_to_reverse(blue_invoice)
    if not whole or set(reversals) != set(whole):
        return False
    return all(
        (quantity is None or reversals[number].quantity == quantity)
        and money(reversals[number].amount) == amount and money(reversals[number].tax) == tax
        for number, (quantity, amount, tax) in whole.items())


def _over_the_invoice(blue_invoice, lines, already_reversed):
    """EXCEEDS_INVOICE when the form and the earlier ones take more than the blue invoice's total
    with tax (each line within what is left of it keeps them within it; this holds whatever the
    earlier forms name)."""
    held = -sum(((amount or ZERO) + (tax or ZERO) for _, amount, tax in (already_reversed or {}).values()), ZERO)
    now = -sum((line.amount + line.tax_amount for line in lines), ZERO)
    total = sum((line.amount + line.tax_amount for line in blue_invoice.lines), ZERO)
    if held + now <= total:
        return []
    left = max(total - held, ZERO)
    return [FieldError.at(
        "lines", "EXCEEDS_INVOICE",
        f"reverse {now:.2f} with tax, but only {left:.2f} of the blue invoice's {total:.2f} are left "
        f"({held:.2f} reversed or being reversed)",
        f"红冲价税合计 {now:.2f}，但蓝字发票 {total:.2f} 中仅剩 {left:.2f} 可红冲（已红冲或红冲中 {held:.2f}）",
        value=now, left=left, total=total, reversed_before=held)]


def quantities_left(blue_invoice, numbers, already_reversed=None):
    """For each ERP line of ``blue_invoice`` (``numbers``: fapiao.lines.printed_numbers), the quantity
    not reversed yet: its quantity less the quantities the earlier forms took from its lines (None
    where it has no quantity). A line reversed by amount only keeps its quantity."""
    left = left_to_reverse(blue_invoice, already_reversed)
    return tuple(left[printed[0]][0] for printed in numbers)


def allocate_return(quantity, lines_left):
    """{key: quantity to credit}: ``quantity`` returned, taken from ``lines_left``, (key, quantity left)
    pairs in the order to take from (the latest e-invoice first), never more than a line has left."""
    to_credit = decimal(quantity)
    credited = {}
    for key, left in lines_left:
        if to_credit <= 0:
            break
        taken = min(to_credit, decimal(left) or ZERO)
        if taken > 0:
            credited[key] = taken
            to_credit -= taken
    return credited


@dataclass(frozen=True)
class CreditLine:
    """What a credit note line must hold for what a form reverses of one ERP line of the blue invoice:
    ``full`` the line as invoiced; ``quantity`` the line at ``quantity`` (same unit price); ``amount``
    quantity 1 at ``amount`` excluding tax, no discount (a discounted line, a price cut)."""

    kind: str
    quantity: Decimal | None
    amount: Decimal


def credit_for_form(blue_invoice, numbers, form_lines):
    """({ERP line index: CreditLine}, problems) for a form's ``form_lines`` (negative RedFormLine objects)
    on ``blue_invoice``, whose ERP lines print as ``numbers`` (fapiao.lines.printed_numbers). A form line
    on no line of the blue invoice is a problem (LINE_NOT_FOUND at its blueLineNo)."""
    index_of = {number: index for index, printed in enumerate(numbers) for number in printed}
    document = {line.line_no or position + 1: line for position, line in enumerate(blue_invoice.lines)}
    per_line, problems = {}, []
    for position, form_line in enumerate(form_lines):
        number = form_line.blue_line_no
        if number not in index_of:
            problems.append(FieldError.at(
                f"lines[{position}].blueLineNo", "LINE_NOT_FOUND",
                f"{number} is not a line of the blue invoice (it has {len(index_of)} lines)",
                f" {number} 不是蓝字发票的明细行（共 {len(index_of)} 行）", value=number, lines=len(index_of)))
            continue
        index = index_of[number]
        quantity, amount = per_line.get(index, (ZERO, ZERO))
        per_line[index] = (quantity - (decimal(form_line.quantity) or ZERO), amount - money(form_line.amount))
    credit_lines = {}
    for index, (quantity, amount) in per_line.items():
        printed = [document[number] for number in numbers[index]]
        net = sum((line.amount for line in printed), ZERO)
        price = printed[0].unit_price
        if amount == net:
            credit_lines[index] = CreditLine("full", printed[0].quantity, amount)
        elif quantity and len(printed) == 1 and price is not None \
                and abs(quantity * price - amount) <= QUANTITY_PRICE_TOLERANCE:
            credit_lines[index] = CreditLine("quantity", quantity, amount)
        else:
            credit_lines[index] = CreditLine("amount", Decimal(1), amount)
    return credit_lines, problems
