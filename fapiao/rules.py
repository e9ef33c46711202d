"""Every check on an invoice or a red-letter form that can be made before sending it.

``validate_invoice`` and ``validate_red_form`` return every problem at once as
:class:`~fapiao.errors.FieldError` objects in document order, so a person can
fix a document in one pass; ``check_invoice`` and ``check_red_form`` raise
:class:`~fapiao.errors.ValidationFailed` instead. Field paths use wire names
(``buyer.taxId``, ``lines[2].taxRate`` with a 0-based index), codes are stable
identifiers for programs, and messages name the value and the limit in English
and Simplified Chinese. Every error also says where it is in neutral terms
(``line``, ``attribute``), what it is without the place (``detail``,
``detail_zh``) and the values its message uses (``params``), so that a caller
describes it with its own labels (:func:`fapiao.problems.describe_problems`).

The validators never raise on a document that ``from_wire`` accepts (the tests
fuzz this), and they read values defensively for documents built in Python:
Odoo hands in ``False`` for empty text and may hand in a float by mistake
(reported, never computed with), and every number is bounded before any
arithmetic so that no exponent can overflow.
"""

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType

from .documents import INVOICE_TYPES, LEGACY_INVOICE_TYPES, LINE_TYPES, RED_REASONS, Party
from .errors import FieldError, InvalidTaxpayerId, ValidationFailed
from .problems import LINE_LABELS, PARTY_LABELS, locate
from .taxid import normalise_taxpayer_id, validate_taxpayer_id
from .taxpolicy import (  # noqa: F401 (the flags, named here too as before)
    LEVY_RATES,
    POLICIES,
    REFUND_POLICIES,
    SIMPLIFIED_POLICIES,
    ZERO_RATE_POLICIES,
    line_tax,
    shown_rate,
)

LINE_TAX_TOLERANCE = Decimal("0.06")        # per line: |amount x rate - tax|
INVOICE_TAX_TOLERANCE = Decimal("1.27")     # over the invoice: |sum(amount x rate) - sum(tax)|
QUANTITY_PRICE_TOLERANCE = Decimal("0.01")  # per line: |quantity x unit price - amount|
MONEY_PLACES = 2
# Far above any real invoice. Bounding every number keeps Decimal arithmetic
# free of overflow and of rounding, whatever a caller or the wire hands in.
MAX_MAGNITUDE = Decimal("1e15")


@dataclass(frozen=True)
class FieldLimits:
    """The longest text each field may have, in characters (Unicode code points, not bytes).

    The defaults are those of our protocol (docs/protocol.md §6.1); the connected
    platform decides, so a provider whose platform allows less passes its own
    ``FieldLimits`` to the validators (``limits=``).
    """

    serial_no: int = 64
    party_name: int = 300
    address_phone: int = 100    # address and phone together
    bank_account: int = 100     # bank name and account number together
    email: int = 100            # the whole field, however many addresses it lists
    line_name: int = 200        # including the *简称* prefix
    spec: int = 100
    unit: int = 50
    remark: int = 200
    issuer: int = 20


PROTOCOL_LIMITS = FieldLimits()
MAX_LENGTHS = MappingProxyType(dataclasses.asdict(PROTOCOL_LIMITS))   # the same numbers, by name
# Characters no invoice prints: controls (tabs and line breaks included: printed fields
# are single lines), format characters (zero-width spaces and joiners, U+FEFF, bidi
# overrides ...), private use, surrogates and unassigned code points.
UNPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Cn"})
_CATEGORY_NAMES = {
    "Cc": ("control character", "控制字符"),
    "Cf": ("format character", "格式字符"),
    "Co": ("private-use character", "私用区字符"),
    "Cs": ("surrogate", "代理码位"),
    "Cn": ("unassigned code point", "未分配的码位"),
}
_UNPRINTABLE_SHOWN = 5      # characters named in a message; the count says how many more
INVOICE_NUMBER_LENGTH = 20
ALL_INVOICE_TYPES = {**INVOICE_TYPES, **LEGACY_INVOICE_TYPES}
SPECIAL_INVOICE_TYPES = ("01", "004")   # 专用发票: the buyer must be an identified taxpayer
INVOICE_KINDS = ("blue", "red")
APPLICANTS = ("seller", "buyer")

# Preferential policy flags (优惠政策标识) and the rates they allow: fapiao.taxpolicy.
SIMPLIFIED_RATES = LEVY_RATES

_SERIAL_NO = re.compile(r"[A-Za-z0-9_-]+")
_INVOICE_NUMBER = re.compile(r"[0-9]{%d}" % INVOICE_NUMBER_LENGTH)
_CLASSIFICATION_CODE = re.compile(r"[0-9]{19}")
_NAME_PREFIX = re.compile(r"\*([^*]*)\*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_EMAIL_SEPARATORS = re.compile(r"[,;，；]")


# --- Field paths: labels for messages, and document order -------------------

# Attributes in document order (the labels are fapiao.problems'); the top level
# has one order per document type.
_INVOICE_ORDER = ("serial_no", "invoice_type", "kind", "blue_invoice_number", "red_form_number", "seller",
                  "buyer", "lines", "total_amount", "total_tax", "total_with_tax", "issuer", "remark")
_RED_FORM_ORDER = ("serial_no", "blue_invoice_number", "reason", "applicant", "lines")
_PARTY_ORDER = tuple(PARTY_LABELS)
_LINE_ORDER = tuple(LINE_LABELS)


def _document_position(error, order):
    """Sort key of an error in document order: top-level field, line, field of the line."""
    if error.line is not None:
        return order.index("lines"), error.line, _LINE_ORDER.index(error.attribute) if error.attribute else -1
    top, _, sub = error.attribute.partition(".")
    return order.index(top), -1, _PARTY_ORDER.index(sub) if sub else -1


# --- Reading values ------------------------------------------------------------

def _text(value):
    """Text of a field; ``None`` and Odoo's ``False`` are empty."""
    return "" if value is None or value is False else str(value)


def _as_decimal(value):
    """A finite Decimal from a Decimal or an int, else None (never from a float)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    return None


def _usable_decimal(value):
    """``_as_decimal`` within MAX_MAGNITUDE, else None: for our own trusted documents."""
    number = _as_decimal(value)
    return number if number is not None and _in_range(number) else None


def _in_range(number):
    return number.copy_abs() < MAX_MAGNITUDE   # copy_abs: no context, so no overflow


def _places(value):
    """Decimal places the value needs: 1.50 needs 1, 100 none (exact, no context)."""
    _, digits, exponent = value.as_tuple()
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return 0
    return max(0, -(exponent + len(digits) - len(significant)))


def _fmt(value):
    """A number for a message: 2 decimals, more only where the value has them."""
    places = _places(value)
    if places > 20 or value.adjusted() > 20:
        return str(value)       # absurd exponents stay short
    return format(value, f".{max(places, MONEY_PLACES)}f")


def _product(a, b):
    return None if a is None or b is None else a * b


def _sum(values):
    """Sum of Decimals; None when there are none or any is unknown."""
    values = list(values)
    if not values or any(v is None for v in values):
        return None
    return sum(values, Decimal(0))


def _choices(allowed):
    if isinstance(allowed, dict):
        return [f"{key} {name}" for key, name in allowed.items()]
    return list(allowed)


# --- Collecting findings ---------------------------------------------------------

_SIGN_RULES = {     # (expected sign, zero allowed) -> wording
    (1, False): ("must be positive", "应为正数"),
    (-1, False): ("must be negative", "应为负数"),
    (1, True): ("must not be negative", "不能为负数"),
    (-1, True): ("must not be positive", "不能为正数"),
}


class _Findings:
    """Collects FieldErrors; one helper for each check shape that recurs."""

    def __init__(self):
        self.errors = []

    def add(self, path, code, en, zh, /, **params):
        """Record an error at ``path`` (wire names); ``en`` and ``zh`` say what is wrong, the
        messages start with the field's label; ``params`` are the values they use."""
        self.errors.append(FieldError.at(path, code, en, zh, **params))

    def in_order(self, order):
        return sorted(self.errors, key=lambda error: _document_position(error, order))

    def required(self, path, value):
        if _text(value).strip():
            return True
        self.add(path, "REQUIRED", "is required", "为必填项")
        return False

    def one_of(self, path, value, allowed, code):
        value = _text(value)
        if self.required(path, value) and value not in allowed:
            self.add(path, code, f"{value!r} is not one of: {', '.join(_choices(allowed))}",
                     f"“{value}”不是以下之一：{'、'.join(_choices(allowed))}", value=value, allowed=list(allowed))

    def length(self, path, value, limit, together=("", "")):
        """TOO_LONG past ``limit`` characters; ``together`` names a second field counted in."""
        count = len(value)
        if count > limit:
            verb = "have" if together[0] else "has"
            self.add(path, "TOO_LONG", f"{together[0]}{verb} {count} characters (at most {limit})",
                     f"{together[1]}有 {count} 个字符（最多 {limit} 个）", length=count, limit=limit)

    def printable(self, path, value):
        """UNPRINTABLE naming every character of ``value`` that no invoice prints (see
        UNPRINTABLE_CATEGORIES); True when there is none."""
        if value.isprintable():     # fast path: no Cc, Cf, Co, Cs, Cn (nor separators other than space)
            return True
        bad = [(position, char) for position, char in enumerate(value, start=1)
               if unicodedata.category(char) in UNPRINTABLE_CATEGORIES]
        if not bad:
            return True
        shown_en, shown_zh = [], []
        for position, char in bad[:_UNPRINTABLE_SHOWN]:
            kind_en, kind_zh = _CATEGORY_NAMES[unicodedata.category(char)]
            name = unicodedata.name(char, "")
            shown_en.append(f"U+{ord(char):04X} ({name or kind_en}) at position {position}")
            shown_zh.append(f"第 {position} 位 U+{ord(char):04X}（{kind_zh}{'：' + name if name else ''}）")
        more = len(bad) - len(shown_en)
        count_en = f"{len(bad)} character{'s' if len(bad) > 1 else ''}"
        self.add(path, "UNPRINTABLE",
                 f"contains {count_en} that cannot be printed: {', '.join(shown_en)}"
                 f"{f', and {more} more' if more else ''}; remove {'them' if len(bad) > 1 else 'it'}",
                 f"含有 {len(bad)} 个无法打印的字符：{'、'.join(shown_zh)}{'等' if more else ''}，请删除",
                 count=len(bad), characters=[f"U+{ord(char):04X}" for _, char in bad],
                 positions=[position for position, _ in bad])
        return False

    def number(self, path, value, *, required=True, money=False):
        """The value as a bounded Decimal, or None (reported) when it cannot be used."""
        if value is None:
            if required:
                self.add(path, "REQUIRED", "is required", "为必填项")
            return None
        number = _as_decimal(value)
        if number is None:
            shown = f"{repr(value)[:40]} ({type(value).__name__})"
            self.add(path, "NUMBER", f"{shown} is not a finite Decimal", f" {shown} 不是有效的十进制数",
                     value=repr(value)[:40], type=type(value).__name__)
            return None
        if not _in_range(number):
            self.add(path, "OUT_OF_RANGE", f"{_fmt(number)} is out of range (below {MAX_MAGNITUDE:f})",
                     f" {_fmt(number)} 超出范围（应小于 {MAX_MAGNITUDE:f}）", value=number, limit=MAX_MAGNITUDE)
            return None
        places = _places(number)
        if money and places > MONEY_PLACES:
            self.add(path, "DECIMALS", f"{_fmt(number)} has {places} decimals (at most {MONEY_PLACES})",
                     f" {_fmt(number)} 有 {places} 位小数（最多 {MONEY_PLACES} 位）", value=number, places=places,
                     limit=MONEY_PLACES)
        return number

    def differs(self, path, code, stated, expected, expected_as, *, tolerance=Decimal(0), stated_as=None):
        """``code`` when ``stated`` is further than ``tolerance`` from ``expected``.

        ``expected_as`` and ``stated_as`` are (English, Chinese) names of the
        two sides; without ``stated_as`` the stated value is the field's own.
        """
        if stated is None or expected is None:
            return
        difference = abs(stated - expected)
        if difference <= tolerance:
            return
        limit_en = f"at most {_fmt(tolerance)}" if tolerance else "they must be equal"
        limit_zh = f"最多 {_fmt(tolerance)}" if tolerance else "应相等"
        lead_en, lead_zh = (f"({stated_as[0]}) ", f"（{stated_as[1]}）") if stated_as else ("", " ")
        self.add(path, code,
                 f"{lead_en}{_fmt(stated)} differs from {expected_as[0]} {_fmt(expected)} "
                 f"by {_fmt(difference)} ({limit_en})",
                 f"{lead_zh}{_fmt(stated)} 与{expected_as[1]} {_fmt(expected)} 相差 {_fmt(difference)}"
                 f"（{limit_zh}）", value=stated, expected=expected, difference=difference, tolerance=tolerance)

    def sign(self, path, value, expected, allow_zero=False):
        """SIGN unless ``value`` has the ``expected`` sign (+1 / -1); zero only if allowed."""
        if value is None or value * expected > 0 or (allow_zero and value == 0):
            return
        en, zh = _SIGN_RULES[expected, allow_zero]
        self.add(path, "SIGN", f"{_fmt(value)} {en}", f" {_fmt(value)} {zh}", value=value, sign=expected,
                 zero_allowed=allow_zero)

    def taxpayer_id(self, path, value):
        try:
            normalised = validate_taxpayer_id(value)
        except InvalidTaxpayerId as exc:
            # The id check's own messages, which name the id: the detail follows the field's label.
            line, attribute = locate(path)
            self.errors.append(FieldError(
                path, f"TAXPAYER_ID_{exc.reason.upper()}", exc.message, exc.message_zh, line=line,
                attribute=attribute, params={"value": value, "reason": exc.reason, "position": exc.position},
                detail=exc.message.removeprefix("taxpayer id "), detail_zh=exc.message_zh.removeprefix("纳税人识别号")))
            return
        if normalised != value:     # the platform compares ids as written
            self.add(path, "TAXPAYER_ID_NOT_NORMALISED",
                     f"{value!r} must be written {normalised} (capitals, no spaces or dashes)",
                     f"“{value}”应写作 {normalised}（大写，不含空格和连字符）", value=value, normalised=normalised)


# --- Header fields shared by invoices and red forms ------------------------------------

def _check_serial_no(found, value, limits):
    value = _text(value)
    if not found.required("serialNo", value):
        return
    found.length("serialNo", value, limits.serial_no)
    if not _SERIAL_NO.fullmatch(value):
        found.add("serialNo", "SERIAL_NO_FORMAT",
                  f"{value!r} may contain only letters, digits, '_' and '-'",
                  f"“{value}”只能包含字母、数字、“_”和“-”", value=value)


def _check_invoice_number(found, path, value):
    value = _text(value)
    if found.required(path, value) and not _INVOICE_NUMBER.fullmatch(value):
        found.add(path, "INVOICE_NUMBER_FORMAT", f"{value!r} must be {INVOICE_NUMBER_LENGTH} digits",
                  f"“{value}”应为 {INVOICE_NUMBER_LENGTH} 位数字", value=value, length=INVOICE_NUMBER_LENGTH)


# --- Parties -------------------------------------------------------------------------

def _check_party(found, role, party, limits, tax_id_required=False):
    """Seller or buyer: every field printable, name, taxpayer id when given (or required),
    lengths, email."""
    if party is None:
        found.add(role, "REQUIRED", "is required", "为必填项")
        return
    text = {wire: _text(getattr(party, attribute)) for attribute, wire in Party._WIRE.items()}
    printable = {wire: found.printable(f"{role}.{wire}", value) for wire, value in text.items()}
    if found.required(f"{role}.name", text["name"]):
        found.length(f"{role}.name", text["name"], limits.party_name)
    tax_id = text["taxId"]
    if tax_id.strip():
        if printable["taxId"]:      # else its characters are what is wrong with it
            found.taxpayer_id(f"{role}.taxId", tax_id)
    elif tax_id_required:
        found.add(f"{role}.taxId", "REQUIRED", "is required", "为必填项")
    found.length(f"{role}.address", text["address"] + text["phone"], limits.address_phone,
                 ("and phone together ", "和电话合计"))
    found.length(f"{role}.bankName", text["bankName"] + text["bankAccount"], limits.bank_account,
                 ("and account together ", "和银行账号合计"))
    email = text["email"].strip()
    found.length(f"{role}.email", email, limits.email)
    if email and printable["email"] and not all(_EMAIL.fullmatch(part.strip())
                                                for part in _EMAIL_SEPARATORS.split(email)):
        found.add(f"{role}.email", "EMAIL_FORMAT", f"{email!r} is not an email address",
                  f"“{email}”不是有效的邮箱地址", value=email)


def _check_buyer(found, buyer, invoice_type, limits):
    _check_party(found, "buyer", buyer, limits)     # 普票: taxpayer id optional, natural persons welcome
    if invoice_type not in SPECIAL_INVOICE_TYPES or buyer is None:
        return
    if not _text(buyer.tax_id).strip():
        found.add("buyer.taxId", "BUYER_TAX_ID_REQUIRED",
                  f"is required on a special VAT invoice ({invoice_type})",
                  f"在增值税专用发票（{invoice_type}）上为必填项", invoice_type=invoice_type)
    if buyer.natural_person:
        found.add("buyer.naturalPerson", "NATURAL_PERSON_NOT_ALLOWED",
                  f"is set, but a natural person cannot receive a special VAT invoice ({invoice_type})",
                  f"已勾选，但自然人不能取得增值税专用发票（{invoice_type}）", invoice_type=invoice_type)


# --- Invoice lines ---------------------------------------------------------------------

@dataclass
class _LineAmounts:
    """A line's numbers as usable Decimals; None where missing or unusable (already reported)."""

    amount: Decimal | None
    rate: Decimal | None
    tax: Decimal | None
    with_tax: Decimal | None
    quantity: Decimal | None
    unit_price: Decimal | None


def _read_line_amounts(found, path, line):
    rate = found.number(f"{path}.taxRate", line.tax_rate)
    if rate is not None and not 0 <= rate <= 1:
        found.add(f"{path}.taxRate", "RATE_RANGE", f"{_fmt(rate)} must be between 0 and 1 (0.13 for 13 %)",
                  f" {_fmt(rate)} 应在 0 到 1 之间（13% 写作 0.13）", value=rate)
        rate = None
    return _LineAmounts(
        amount=found.number(f"{path}.amount", line.amount, money=True),
        rate=rate,
        tax=found.number(f"{path}.taxAmount", line.tax_amount, money=True),
        with_tax=found.number(f"{path}.amountWithTax", line.amount_with_tax, money=True),
        quantity=found.number(f"{path}.quantity", line.quantity, required=False),
        unit_price=found.number(f"{path}.unitPrice", line.unit_price, required=False),
    )


def _catalogue_entry(found, path, code, catalogue):
    """The catalogue entry a line may use, or None (problems reported)."""
    path = f"{path}.classificationCode"
    if not _CLASSIFICATION_CODE.fullmatch(code):
        found.add(path, "CODE_FORMAT", f"{code!r} must be 19 digits", f"“{code}”应为 19 位数字", value=code)
        return None
    if catalogue is None:
        return None
    entry = catalogue.get(code)
    if entry is None:
        found.add(path, "CODE_UNKNOWN", f"{code} is not in the tax classification catalogue",
                  f" {code} 不在税收分类编码表中", value=code)
    elif entry.is_summary:
        found.add(path, "CODE_NOT_LEAF",
                  f"{code} ({entry.short_name}) is a summary row: choose one of the codes under it",
                  f" {code}（{entry.short_name}）是汇总项，请选择其下级编码", value=code, short_name=entry.short_name)
    elif not entry.usable:
        found.add(path, "CODE_NOT_USABLE", f"{code} ({entry.short_name}) is no longer usable",
                  f" {code}（{entry.short_name}）已停用", value=code, short_name=entry.short_name)
    else:
        return entry
    return None


def _check_line_name(found, path, name, entry):
    """``*简称*项目名称``: with a catalogue, the short name of the line's code."""
    expected = entry.short_name if entry is not None and entry.short_name else None
    prefix = _NAME_PREFIX.match(name)
    if (prefix and prefix[1] and name[prefix.end():].strip()
            and (expected is None or prefix[1] == expected)):
        return
    if expected is None:
        found.add(path, "LINE_NAME_PREFIX", f"{name!r} must have the form *short name*item",
                  f"“{name}”应为“*简称*项目名称”格式", value=name)
    else:
        found.add(path, "LINE_NAME_PREFIX",
                  f"{name!r} must have the form *{expected}*item ({expected} is the short name "
                  f"of code {entry.code})",
                  f"“{name}”应为“*{expected}*项目名称”格式（{expected}是编码 {entry.code} 的简称）",
                  value=name, short_name=expected, code=entry.code)


def _check_rate_and_policy(found, path, rate, policy, entry):
    """The rate the policy flag and the code allow: fapiao.taxpolicy.line_tax, as the product
    form asks it (rate None: unusable and reported already, the flag alone is checked)."""
    found.errors.extend(line_tax(entry, rate, policy, path=path).problems)


def _check_line_tax(found, path, amount, rate, tax):
    """|amount x rate - tax| <= LINE_TAX_TOLERANCE, on invoice lines and red form lines alike."""
    found.differs(f"{path}.taxAmount", "LINE_TAX_DIFF", tax, _product(amount, rate),
                  ("amount x rate", "金额×税率"), tolerance=LINE_TAX_TOLERANCE)


def _check_accumulated_tax(found, path, taxes, products):
    """|sum(tax) - sum(amount x rate)| <= INVOICE_TAX_TOLERANCE over a document's lines."""
    found.differs(path, "INVOICE_TAX_DIFF", _sum(taxes), _sum(products),
                  ("the sum of amount x rate", "各行金额×税率之和"), tolerance=INVOICE_TAX_TOLERANCE,
                  stated_as=("the sum of line taxes", "各行税额之和"))


def _check_line_arithmetic(found, path, line, amounts):
    found.differs(f"{path}.amountWithTax", "LINE_SUM", amounts.with_tax,
                  _sum((amounts.amount, amounts.tax)), ("amount + tax", "金额+税额"))
    _check_line_tax(found, path, amounts.amount, amounts.rate, amounts.tax)
    # The raw fields decide: an unreadable value is reported already, not missing.
    if (line.quantity is None) != (line.unit_price is None):
        present, missing = ("quantity", "unitPrice") if line.unit_price is None else ("unit_price", "quantity")
        found.add(f"{path}.{missing}", "QUANTITY_PRICE_PAIR",
                  f"is missing while {LINE_LABELS[present][0]} is given (give both or neither)",
                  f"缺失，但已填写{LINE_LABELS[present][1]}（应同时填写或同时不填）", given=present)
    found.differs(f"{path}.amount", "QUANTITY_PRICE_DIFF", amounts.amount,
                  _product(amounts.quantity, amounts.unit_price),
                  ("quantity x unit price", "数量×单价"), tolerance=QUANTITY_PRICE_TOLERANCE)


def _check_printed(found, path, value, limit):
    """A printed text field that may be empty: its characters and its length."""
    value = _text(value)
    found.printable(path, value)
    found.length(path, value, limit)


def _check_line(found, path, line, catalogue, sign, *, limits):
    """One line on its own; returns its amounts for the checks across lines."""
    line_type = _text(line.line_type)
    found.one_of(f"{path}.lineType", line_type, LINE_TYPES, "LINE_TYPE_UNKNOWN")
    entry = _catalogue_entry(found, path, _text(line.classification_code), catalogue)
    name = _text(line.name)
    found.printable(f"{path}.name", name)
    if found.required(f"{path}.name", name):
        found.length(f"{path}.name", name, limits.line_name)
        _check_line_name(found, f"{path}.name", name, entry)
    _check_printed(found, f"{path}.spec", line.spec, limits.spec)
    _check_printed(found, f"{path}.unit", line.unit, limits.unit)
    amounts = _read_line_amounts(found, path, line)
    _check_rate_and_policy(found, path, amounts.rate, _text(line.preferential_policy), entry)
    _check_line_arithmetic(found, path, line, amounts)
    if sign:
        # A discount line reduces the line before it: the opposite sign.
        found.sign(f"{path}.amount", amounts.amount, -sign if line_type == "discount" else sign)
    return amounts


def _check_discounts(found, lines, amounts):
    """A discount line follows directly the discounted line, and matches it."""
    types = [_text(line.line_type) for line in lines]
    for index, line_type in enumerate(types):
        path = f"lines[{index}].lineType"
        if line_type == "discount" and (index == 0 or types[index - 1] != "discounted"):
            found.add(path, "DISCOUNT_ORDER", "is discount, but the line before is not a discounted line",
                      "为折扣行，但上一行不是被折扣行", line_type=line_type)
        elif line_type == "discounted":
            if index + 1 < len(types) and types[index + 1] == "discount":
                _check_discount_pair(found, index + 1, lines, amounts)
            else:
                found.add(path, "DISCOUNT_ORDER", "is discounted, but the next line is not its discount line",
                          "为被折扣行，但下一行不是其折扣行", line_type=line_type)


def _check_discount_pair(found, index, lines, amounts):
    """The discount line at ``index`` against the discounted line before it."""
    path = f"lines[{index}]"
    discounted, discount = lines[index - 1], lines[index]
    discounted_amounts, discount_amounts = amounts[index - 1], amounts[index]
    same = (    # field, this line's value, the discounted line's, how to show them
        ("name", _text(discount.name), _text(discounted.name), _quoted),
        ("classificationCode", _text(discount.classification_code), _text(discounted.classification_code),
         _quoted),
        ("taxRate", discount_amounts.rate, discounted_amounts.rate, _rate_shown),
    )
    for wire, value, expected, show in same:
        if value is not None and expected is not None and value != expected:
            (value_en, value_zh), (expected_en, expected_zh) = show(value), show(expected)
            found.add(f"{path}.{wire}", "DISCOUNT_MISMATCH",
                      f"{value_en} differs from the discounted line's {expected_en}",
                      f"{value_zh}与被折扣行的{expected_zh}不一致", value=value, expected=expected)
    amount, limit = discount_amounts.amount, discounted_amounts.amount
    if amount is not None and limit is not None and abs(amount) > abs(limit):
        found.add(f"{path}.amount", "DISCOUNT_EXCEEDS",
                  f"{_fmt(amount)} discounts more than the discounted line's amount {_fmt(limit)}",
                  f" {_fmt(amount)} 的折扣超过被折扣行金额 {_fmt(limit)}", value=amount, limit=limit)


def _quoted(text):
    return repr(text), f"“{text}”"


def _rate_shown(rate):
    return shown_rate(rate), f" {shown_rate(rate)} "


# --- Invoice totals --------------------------------------------------------------------

def _check_totals(found, invoice, amounts, sign):
    total_amount = found.number("totalAmount", invoice.total_amount, money=True)
    total_tax = found.number("totalTax", invoice.total_tax, money=True)
    total_with_tax = found.number("totalWithTax", invoice.total_with_tax, money=True)
    if sign:
        found.sign("totalAmount", total_amount, sign)
        found.sign("totalWithTax", total_with_tax, sign)
    line_taxes = _sum(a.tax for a in amounts)
    found.differs("totalAmount", "TOTAL_MISMATCH", total_amount, _sum(a.amount for a in amounts),
                  ("the sum of line amounts", "各行金额之和"))
    found.differs("totalTax", "TOTAL_MISMATCH", total_tax, line_taxes,
                  ("the sum of line taxes", "各行税额之和"))
    found.differs("totalWithTax", "TOTAL_MISMATCH", total_with_tax, _sum((total_amount, total_tax)),
                  ("total amount + total tax", "合计金额+合计税额"))
    found.differs("totalWithTax", "TOTAL_MISMATCH", total_with_tax, _sum(a.with_tax for a in amounts),
                  ("the sum of line amounts with tax", "各行价税合计之和"))
    _check_accumulated_tax(found, "totalTax", (a.tax for a in amounts), (_product(a.amount, a.rate) for a in amounts))


def validate_invoice(invoice, catalogue=None, *, limits=None):
    """Every problem of ``invoice`` as FieldErrors in document order; [] when it may be sent.

    ``catalogue`` (a :class:`~fapiao.catalogue.Catalogue`) enables the checks of
    classification codes, their rates and short names; without it they are skipped.
    ``limits`` (:class:`FieldLimits`) are the lengths the platform accepts, by default
    those of our protocol. Every printed text field must be printable (no character of
    UNPRINTABLE_CATEGORIES) and within its limit.
    """
    limits = limits or PROTOCOL_LIMITS
    found = _Findings()
    _check_serial_no(found, invoice.serial_no, limits)
    invoice_type = _text(invoice.invoice_type)
    found.one_of("invoiceType", invoice_type, ALL_INVOICE_TYPES, "INVOICE_TYPE_UNKNOWN")
    kind = _text(invoice.kind)
    found.one_of("kind", kind, INVOICE_KINDS, "KIND_UNKNOWN")
    if kind == "red":
        _check_invoice_number(found, "blueInvoiceNumber", invoice.blue_invoice_number)
    _check_party(found, "seller", invoice.seller, limits, tax_id_required=True)
    _check_buyer(found, invoice.buyer, invoice_type, limits)
    _check_printed(found, "issuer", invoice.issuer, limits.issuer)
    _check_printed(found, "remark", invoice.remark, limits.remark)

    lines = list(invoice.lines or ())
    if not lines:
        found.add("lines", "NO_LINES", "are empty: an invoice needs at least one line",
                  "为空：发票至少需要一行明细")
    sign = {"blue": 1, "red": -1}.get(kind)     # blue invoices are positive, red ones negative
    amounts = [_check_line(found, f"lines[{i}]", line, catalogue, sign, limits=limits)
               for i, line in enumerate(lines)]
    _check_discounts(found, lines, amounts)
    _check_totals(found, invoice, amounts, sign)
    return found.in_order(_INVOICE_ORDER)


def _raise_if_any(errors):
    if errors:
        raise ValidationFailed(errors)


def check_invoice(invoice, catalogue=None, *, limits=None):
    """Raise :class:`ValidationFailed` listing every problem of ``invoice``."""
    _raise_if_any(validate_invoice(invoice, catalogue, limits=limits))


def format_line_name(short_name, item_name):
    """``*简称*项目名称``, replacing any ``*...*`` prefix ``item_name`` already has."""
    item = _text(item_name).strip()
    while prefix := _NAME_PREFIX.match(item):
        item = item[prefix.end():].lstrip()
    return f"*{_text(short_name).strip()}*{item}"


# --- Red-letter confirmation forms -------------------------------------------------------

# (wire name, attribute) of each member of a (quantity, amount, tax) reversal triple.
_REVERSAL_FIELDS = (("quantity", "quantity"), ("amount", "amount"), ("taxAmount", "tax_amount"))


def _is_line_number(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_red_line(found, path, line, seen):
    """One form line on its own; returns its (quantity, amount, tax) reversal."""
    number = line.blue_line_no
    number_path = f"{path}.blueLineNo"
    if number is None:
        found.add(number_path, "REQUIRED", "is required", "为必填项")
    elif not _is_line_number(number):
        found.add(number_path, "LINE_NO_RANGE", f"{number!r} must be a line number from 1",
                  f" {number!r} 应为从 1 开始的序号", value=number)
    elif number in seen:
        found.add(number_path, "LINE_NO_DUPLICATE", f"{number} is listed twice", f" {number} 重复出现", value=number)
    else:
        seen.add(number)
    quantity = found.number(f"{path}.quantity", line.quantity, required=False)
    amount = found.number(f"{path}.amount", line.amount, money=True)
    tax = found.number(f"{path}.taxAmount", line.tax_amount, money=True)
    found.sign(f"{path}.quantity", quantity, -1)
    found.sign(f"{path}.amount", amount, -1)
    found.sign(f"{path}.taxAmount", tax, -1, allow_zero=True)   # 0 on zero-rate lines
    return quantity, amount, tax


def discount_pairs(invoice):
    """{line number of a discount line: line number of the discounted line it follows}.

    Lines are numbered by ``line_no`` or position; a discount line counts only right after
    a discounted line (validate_invoice refuses any other).
    """
    numbers = [line.line_no or index + 1 for index, line in enumerate(invoice.lines or ())]
    types = [_text(line.line_type) for line in invoice.lines or ()]
    return {numbers[i]: numbers[i - 1] for i in range(1, len(types))
            if types[i] == "discount" and types[i - 1] == "discounted"}


def _reversible(blue_invoice):
    """What red forms may take back, per blue line number: ({number: (quantity, amount, tax)},
    {number: tax rate}), Decimals or None. A discount line is folded into the line it
    discounts, whose amounts become net of it: the pair is reversed through that line."""
    pairs = discount_pairs(blue_invoice)
    units, rates = {}, {}
    for index, line in enumerate(blue_invoice.lines or ()):
        number = line.line_no or index + 1
        values = tuple(_usable_decimal(getattr(line, attr)) for _, attr in _REVERSAL_FIELDS)
        if number in pairs:     # the discounted line's quantity stays; amount and tax net
            quantity, amount, tax = units[pairs[number]]
            units[pairs[number]] = (quantity, _sum((amount, values[1])), _sum((tax, values[2])))
        else:
            units[number] = values
            rates[number] = _usable_decimal(line.tax_rate)
    return units, rates


def _reversed_before(already_reversed, pairs):
    """Line number -> (quantity, amount, tax) reversed by earlier forms, 0 where unknown; what
    a form took from a discount line (a full reversal mirrors it, positive) counts on the line
    it discounts."""
    before = {}
    for blue_line_no, values in (already_reversed or {}).items():
        number = pairs.get(blue_line_no, blue_line_no)
        done = before.get(number, (Decimal(0),) * 3)
        before[number] = tuple(total + (_usable_decimal(value) or Decimal(0))
                               for total, value in zip(done, values, strict=True))
    return before


def _left(units, before):
    nothing = (Decimal(0),) * 3
    return {number: tuple(None if value is None else abs(value) - abs(done)
                          for value, done in zip(values, before.get(number, nothing), strict=True))
            for number, values in units.items()}


def left_to_reverse(blue_invoice, already_reversed=None):
    """{blue line number: (quantity, amount, tax) still to reverse} (absolute values, None where
    the blue line has none), discount lines folded into the lines they discount. A blue
    invoice is reversed in full when every amount and tax left is 0."""
    units, _ = _reversible(blue_invoice)
    return _left(units, _reversed_before(already_reversed, discount_pairs(blue_invoice)))


def _check_against_blue(found, form, reversals, blue_invoice, already_reversed):
    units, rates = _reversible(blue_invoice)
    pairs = discount_pairs(blue_invoice)
    before = _reversed_before(already_reversed, pairs)
    left = _left(units, before)
    if left and all(amount is not None and amount <= 0 for _, amount, _ in left.values()):
        found.add("blueInvoiceNumber", "NOTHING_LEFT",
                  f"{_text(form.blue_invoice_number)} is already fully reversed: nothing left to reverse",
                  f" {_text(form.blue_invoice_number)} 已全额红冲，没有可红冲的余额",
                  value=_text(form.blue_invoice_number))
        return
    if not reversals:
        if any(any(values) for values in before.values()):
            found.add("lines", "FULL_AFTER_PARTIAL",
                      "are empty (a full reversal), but part of the blue invoice is already reversed: "
                      "list the lines and amounts left to reverse",
                      "为空（全额红冲），但该蓝字发票已部分红冲：请列出剩余可红冲的明细和金额",
                      reversed_before={number: tuple(values) for number, values in before.items() if any(values)})
        return
    nothing = (Decimal(0),) * 3
    taxes, products = [], []
    for index, (line, reversal) in enumerate(zip(form.lines, reversals, strict=True)):
        number = line.blue_line_no
        if not _is_line_number(number):
            continue    # reported with the line
        if number in pairs:
            found.add(f"lines[{index}].blueLineNo", "DISCOUNT_LINE",
                      f"{number} is a discount line: reverse blue line {pairs[number]}, the line it discounts, "
                      "whose amounts are taken net of the discount",
                      f" {number} 是折扣行：请红冲其被折扣行第 {pairs[number]} 行（按扣除折扣后的净额红冲）",
                      value=number, discounted=pairs[number])
            continue
        if number not in left:
            found.add(f"lines[{index}].blueLineNo", "LINE_NOT_FOUND",
                      f"{number} is not a line of the blue invoice (it has {len(blue_invoice.lines or ())} lines)",
                      f" {number} 不是蓝字发票的明细行（共 {len(blue_invoice.lines or ())} 行）",
                      value=number, lines=len(blue_invoice.lines or ()))
            continue
        for (wire, _), now, original, remaining, done in zip(
                _REVERSAL_FIELDS, reversal, units[number], left[number], before.get(number, nothing),
                strict=True):
            if now is not None and remaining is not None and abs(now) > remaining:
                shown_left = _fmt(max(remaining, Decimal(0)))
                found.add(f"lines[{index}].{wire}", "EXCEEDS_BLUE",
                          f"{_fmt(now)} is more than what is left of blue line {number}: "
                          f"{shown_left} of {_fmt(original)} ({_fmt(done)} reversed before)",
                          f" {_fmt(now)} 超过蓝字发票第 {number} 行的剩余可红冲数 "
                          f"{shown_left}（原为 {_fmt(original)}，已红冲 {_fmt(done)}）",
                          value=now, blue_line_no=number, left=max(remaining, Decimal(0)), original=original,
                          reversed_before=done)
        # The red invoice prints these lines at the blue line's rate: the blue lines' tax rules hold.
        _, amount, tax = reversal
        _check_line_tax(found, f"lines[{index}]", amount, rates[number], tax)
        taxes.append(tax)
        products.append(_product(amount, rates[number]))
    _check_accumulated_tax(found, "lines", taxes, products)


def validate_serial_no(serial_no, *, limits=None):
    """The problems of a serial number on its own (for requests that carry only one)."""
    found = _Findings()
    _check_serial_no(found, serial_no, limits or PROTOCOL_LIMITS)
    return found.errors


def validate_red_form(form, blue_invoice=None, already_reversed=None, *, limits=None):
    """Every problem of a red-letter form application, in document order.

    With ``blue_invoice`` (an Invoice; its lines numbered by ``line_no`` or
    position), form lines must exist on it and stay within what is left once
    ``already_reversed`` (blue line number -> negative (quantity, amount, tax)
    sums of earlier forms) is taken off. A discount line is not reversed on its
    own: the line it discounts is, net of the discount (see :func:`left_to_reverse`).
    Each line follows the blue lines' tax rules at its blue line's rate: within
    LINE_TAX_TOLERANCE, and INVOICE_TAX_TOLERANCE over the form. No lines means a
    full reversal.
    """
    found = _Findings()
    _check_serial_no(found, form.serial_no, limits or PROTOCOL_LIMITS)
    _check_invoice_number(found, "blueInvoiceNumber", form.blue_invoice_number)
    found.one_of("reason", form.reason, RED_REASONS, "REASON_UNKNOWN")
    found.one_of("applicant", form.applicant, APPLICANTS, "APPLICANT_UNKNOWN")
    seen = set()
    reversals = [_check_red_line(found, f"lines[{i}]", line, seen) for i, line in enumerate(form.lines or ())]
    if blue_invoice is not None:
        _check_against_blue(found, form, reversals, blue_invoice, already_reversed)
    return found.in_order(_RED_FORM_ORDER)


def check_red_form(form, blue_invoice=None, already_reversed=None, *, limits=None):
    """Raise :class:`ValidationFailed` listing every problem of the form."""
    _raise_if_any(validate_red_form(form, blue_invoice, already_reversed, limits=limits))


# --- Does a platform's answer describe our invoice? ---------------------------------------

CENT = Decimal("0.01")


def _money(value):
    number = _usable_decimal(value)
    return None if number is None else number.quantize(CENT)


def result_mismatches(invoice, result):
    """Where ``result`` (the platform's InvoiceResult for ``invoice``'s serial number) does
    not describe ``invoice``, as FieldErrors at the invoice's field paths; [] when it does.

    Compared: the buyer's taxpayer id (normalised), the buyer's name (stripped), the invoice
    type and the three totals (to the cent). A result that does not carry the buyer or the
    totals (an older platform) does not match: nothing in it shows that it is this invoice.
    """
    buyer = invoice.buyer
    ours = {
        "buyer.taxId": normalise_taxpayer_id(_text(buyer.tax_id) if buyer else ""),
        "buyer.name": (_text(buyer.name) if buyer else "").strip(),
        "invoiceType": _text(invoice.invoice_type).strip(),
        "totalAmount": _money(invoice.total_amount),
        "totalTax": _money(invoice.total_tax),
        "totalWithTax": _money(invoice.total_with_tax),
    }
    theirs = {
        "buyer.taxId": normalise_taxpayer_id(_text(result.buyer_tax_id)),
        "buyer.name": _text(result.buyer_name).strip(),
        "invoiceType": _text(result.invoice_type).strip(),
        "totalAmount": _money(result.total_amount),
        "totalTax": _money(result.total_tax),
        "totalWithTax": _money(result.total_with_tax),
    }
    return _compare_answer(ours, theirs, may_be_empty={"buyer.taxId"})


def red_result_mismatches(blue_invoice_number, total_amount, total_tax, total_with_tax, result):
    """Where ``result`` (the platform's InvoiceResult for a red invoice's serial number) is not the
    red invoice of the form that reverses ``blue_invoice_number`` by these (negative) totals."""
    ours = {"blueInvoiceNumber": _text(blue_invoice_number).strip(), "totalAmount": _money(total_amount),
            "totalTax": _money(total_tax), "totalWithTax": _money(total_with_tax)}
    theirs = {"blueInvoiceNumber": _text(result.blue_invoice_number).strip(),
              "totalAmount": _money(result.total_amount), "totalTax": _money(result.total_tax),
              "totalWithTax": _money(result.total_with_tax)}
    return _compare_answer(ours, theirs)


def _compare_answer(ours, theirs, may_be_empty=()):
    """FieldErrors where the platform's values (``theirs``) are not ours, path by path; a value
    the answer lacks does not match (unless ours is empty too, for ``may_be_empty`` paths)."""
    found = _Findings()
    for path, mine in ours.items():
        platform = theirs[path]
        if platform in (None, "") and (mine not in (None, "") or path not in may_be_empty):
            found.add(path, "RESULT_MISSING",
                      "is missing from the platform's answer: nothing shows that the answer is this invoice's",
                      "在平台应答中缺失：无法确认该应答属于本发票", expected=mine)
        elif platform != mine:
            shown = [_fmt(value) if isinstance(value, Decimal) else repr(value) for value in (platform, mine)]
            found.add(path, "RESULT_MISMATCH", f"is {shown[0]} on the platform but {shown[1]} here",
                      f"平台上为 {shown[0]}，本地为 {shown[1]}", value=platform, expected=mine)
    return found.in_order(_INVOICE_ORDER)
