"""Invoice document lines from what an ERP's invoice line holds, and their printed numbering.

Any ERP's invoice line has a product or item name, a tax classification code
(with its short name), a quantity, the amounts excluding and including tax after
the discount, the discount percentage and the tax rate. :func:`document_lines`
turns one into what the invoice prints:

- one normal line; or, when the line is discounted, a discounted line (被折扣行)
  with the amount before the discount, followed directly by its discount line
  (折扣行) with the (negative) discount, both under the same name, code and rate;
- amounts to 2 decimals, unit prices to 8, rounding half up (四舍五入);
- the tax of a discounted line is its amount x rate, the discount line's the rest
  of the ERP's tax, so the pair sums to the ERP's amounts and each keeps
  |amount x rate - tax| <= 0.06;
- the name printed ``*简称*名称`` (:func:`fapiao.rules.format_line_name`);
- the unit (单位) as the ERP names it in Chinese, blank for a generic "units"
  (:func:`printed_unit`).

The preferential policy flag comes from :func:`fapiao.taxpolicy.line_tax` (the
code and the rate decide it), which the ERP asks first.

:func:`printed_numbers` says which document line numbers (1-based, the order
printed, what red-letter forms reference) each ERP line prints as.
"""

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from .documents import InvoiceLine
from .rules import format_line_name

CENT = Decimal("0.01")
UNIT_PRICE_PLACES = Decimal("1e-8")
HUNDRED = Decimal(100)

# What an ERP calls its unit of measure when there is none in particular: Odoo's "Units" (whose
# Chinese translation is the very word 单位, the column's title). A Chinese accountant expects the
# 单位 column blank then, not 个: 单位 is optional on a 数电票 and the tax bureau's own portal leaves it
# empty when none is given, whereas 个 would invent a unit, wrong for a machine (台), a garment (件)
# or a service (次). A real unit (台, 个, 次, 千克) is printed as named.
GENERIC_UNITS = frozenset({"unit", "units", "unit(s)", "单位"})


def decimal(value):
    """A Decimal from a Decimal, an int, a numeric string or an ERP's float (through its shortest
    text, as the ERP shows it: 0.1 is 0.1); None and Odoo's False stay None."""
    if value is None or value is False:
        return None
    if isinstance(value, bool):
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def money(value):
    """``value`` to 2 decimals, half up; None stays None."""
    value = decimal(value)
    return None if value is None else value.quantize(CENT, ROUND_HALF_UP)


def printed_unit(name):
    """The 单位 a line prints: the unit's name, trimmed, or "" for none or a generic "units"."""
    name = (name or "").strip()
    return "" if name.casefold() in GENERIC_UNITS else name


def unit_price(amount, quantity):
    """``amount / quantity`` to 8 decimals, half up, trailing zeros dropped; None without a quantity."""
    if not quantity:
        return None
    price = (amount / quantity).quantize(UNIT_PRICE_PLACES, ROUND_HALF_UP)
    trimmed = price.normalize()
    return trimmed if trimmed.as_tuple().exponent <= 0 else price.quantize(Decimal(1))


@dataclass(frozen=True)
class SourceLine:
    """An invoice line as an ERP holds it. Numbers are Decimals (floats are read through their
    text); amounts are the line's, in the invoice currency (CNY)."""

    item_name: str                      # the product's name, else the line's description
    classification_code: str            # 税收分类编码
    short_name: str                     # the code's 简称
    amount: Decimal                     # excluding tax, after the discount (Odoo: price_subtotal)
    amount_with_tax: Decimal            # including tax, after the discount (Odoo: price_total)
    tax_rate: Decimal                   # 0.13 for 13 %
    quantity: Decimal | None = None
    discount: Decimal = Decimal(0)      # percent taken off the price (Odoo: discount)
    spec: str = ""                      # 规格型号
    unit: str = ""                      # 单位: the unit of measure's name in Simplified Chinese
    preferential_policy: str = ""       # taxpolicy.line_tax(entry, rate).policy
    gross_amount: Decimal | None = None  # excluding tax, before the discount, where the ERP knows it

    @property
    def discounted(self):
        """Whether the line prints as a discounted line and its discount line: a discount of
        more than 0 and less than 100 %. (A 100 % discount leaves nothing to invoice; a negative
        one is a surcharge, printed at its net price.)"""
        discount = decimal(self.discount) or Decimal(0)
        return 0 < discount < HUNDRED


def document_lines(source):
    """The document line(s) of one ERP line (a :class:`SourceLine`): a normal line, or a
    discounted line followed by its discount line."""
    amount = money(source.amount)
    tax = money(decimal(source.amount_with_tax) - decimal(source.amount))
    quantity = decimal(source.quantity) or None
    rate = decimal(source.tax_rate)
    common = {
        "name": format_line_name(source.short_name or "", source.item_name or ""),
        "classification_code": source.classification_code or "", "tax_rate": rate,
        "spec": source.spec or "", "unit": printed_unit(source.unit),
        "preferential_policy": source.preferential_policy or "",
    }
    if not source.discounted:
        return [InvoiceLine(amount=amount, tax_amount=tax, amount_with_tax=amount + tax, quantity=quantity,
                            unit_price=unit_price(decimal(source.amount), quantity), **common)]
    gross = money(source.gross_amount) if source.gross_amount is not None else money(
        decimal(source.amount) / (1 - decimal(source.discount) / HUNDRED))
    gross_tax = money(gross * rate)
    return [
        InvoiceLine(amount=gross, tax_amount=gross_tax, amount_with_tax=gross + gross_tax, quantity=quantity,
                    unit_price=unit_price(gross, quantity), line_type="discounted", **common),
        InvoiceLine(amount=amount - gross, tax_amount=tax - gross_tax,
                    amount_with_tax=(amount - gross) + (tax - gross_tax), line_type="discount", **common),
    ]


def invoice_lines(sources):
    """The document lines of every ERP line, in order."""
    return [line for source in sources for line in document_lines(source)]


def printed_numbers(sources):
    """For each ERP line in order, the numbers (1-based) of the document lines it prints as:
    one, or two for a discounted line (the discounted line, then its discount line)."""
    numbers, number = [], 0
    for source in sources:
        count = 2 if source.discounted else 1
        numbers.append(tuple(range(number + 1, number + count + 1)))
        number += count
    return tuple(numbers)


def line_of_number(numbers):
    """{document line number: index of the ERP line printed there}, from :func:`printed_numbers`."""
    return {number: index for index, printed in enumerate(numbers) for number in printed}


def document_line_labels(numbers, labels):
    """{0-based document line: the label of its ERP line} (for fapiao.problems.describe_problems),
    from :func:`printed_numbers` and the ERP lines' labels in the same order."""
    return {number - 1: label for printed, label in zip(numbers, labels, strict=True) for number in printed}
