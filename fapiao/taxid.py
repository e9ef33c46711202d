"""Taxpayer identification numbers (纳税人识别号).

Since 2015 companies and most organisations are identified by the 18-character
unified social credit code (统一社会信用代码, GB 32100-2015). Older taxpayer
ids of 15, 17, 18 or 20 characters are still met on individual businesses and
long-registered taxpayers, and natural persons buying on a 普票 may give their
resident identity card number.

``python-stdnum``'s ``stdnum.cn.uscc`` rejects codes whose first character is
a letter (registration authorities such as A, N or Y), so the USCC check is
implemented here; ``stdnum.cn.ric`` is used for identity card numbers.
"""

import unicodedata

from stdnum import exceptions as stdnum_exceptions
from stdnum.cn import ric

from .errors import InvalidTaxpayerId

# GB 32100-2015 character set: digits and capitals without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_LEGACY_LENGTHS = (15, 17, 18, 20)
_LEGACY_ALPHABET = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Province-level division codes (GB/T 2260): an older id starts with one.
_PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)


def normalise_taxpayer_id(value):
    """Upper-case, full-width to half-width, without spaces and dashes."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value)).upper()
    return "".join(c for c in text if not c.isspace() and c not in "-_")


def uscc_check_character(first17):
    """The check character (18th) of a unified social credit code."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _fail(value, reason, en, zh, position=None):
    raise InvalidTaxpayerId(value, reason, en, zh, position=position)


def _check_uscc(value):
    for position, char in enumerate(value, start=1):
        if char not in _USCC_VALUE:
            _fail(
                value, "character",
                f"taxpayer id {value}: character {char!r} at position {position} is not allowed "
                "in a unified social credit code (digits and capitals except I, O, S, V, Z)",
                f"纳税人识别号 {value}：第 {position} 位字符“{char}”不符合统一社会信用代码规则"
                "（只允许数字和除 I、O、S、V、Z 以外的大写字母）",
                position,
            )
    if not value[2:8].isdigit():
        position = next(i for i, c in enumerate(value[2:8], start=3) if not c.isdigit())
        _fail(
            value, "area",
            f"taxpayer id {value}: positions 3-8 must be the 6-digit administrative "
            f"division code, found {value[2:8]!r}",
            f"纳税人识别号 {value}：第 3-8 位应为 6 位数字行政区划码，实际为“{value[2:8]}”",
            position,
        )
    expected = uscc_check_character(value[:17])
    if value[17] != expected:
        _fail(
            value, "check",
            f"taxpayer id {value}: check character is {value[17]!r} but should be "
            f"{expected!r} (a character was probably mistyped)",
            f"纳税人识别号 {value}：校验位为“{value[17]}”，应为“{expected}”（可能有字符输入错误）",
            18,
        )


def _check_legacy(value):
    for position, char in enumerate(value, start=1):
        if char not in _LEGACY_ALPHABET:
            _fail(
                value, "character",
                f"taxpayer id {value}: character {char!r} at position {position} is not allowed "
                "(digits and capital letters only)",
                f"纳税人识别号 {value}：第 {position} 位字符“{char}”无效（只允许数字和大写字母）",
                position,
            )
    if not value[:6].isdigit():
        position = next(i for i, c in enumerate(value[:6], start=1) if not c.isdigit())
        _fail(
            value, "area",
            f"taxpayer id {value}: a {len(value)}-character id starts with the 6-digit "
            f"administrative division code, found {value[:6]!r}",
            f"纳税人识别号 {value}：{len(value)} 位识别号应以 6 位数字行政区划码开头，实际为“{value[:6]}”",
            position,
        )


def _check_identity_card(value, uscc_error):
    """Accept a valid resident identity card number, else explain the failure.

    An 18-character id whose birth date part is a real date but whose check
    character is wrong may be either kind of number: name both expected
    characters so the person can see which one they mistyped.
    """
    try:
        ric.validate(value)
        return
    except stdnum_exceptions.InvalidChecksum:
        expected = ric.calc_check_digit(value[:17])
    except stdnum_exceptions.ValidationError:
        raise uscc_error from None
    if uscc_error.reason != "check":
        raise uscc_error from None
    uscc_expected = uscc_check_character(value[:17])
    _fail(
        value, "check",
        f"taxpayer id {value}: check character is {value[17]!r} but should be "
        f"{uscc_expected!r} for a unified social credit code, or {expected!r} for a "
        "resident identity card number",
        f"纳税人识别号 {value}：校验位为“{value[17]}”，作为统一社会信用代码应为“{uscc_expected}”，"
        f"作为居民身份证号码应为“{expected}”",
        18,
    )


def _check_legacy_area(value):
    # A USCC with a character missing or added usually lands here: its first
    # digits (registration authority, organisation type) are no province.
    if value[:2] not in _PROVINCE_CODES:
        _fail(
            value, "area",
            f"taxpayer id {value}: a {len(value)}-character id must start with an administrative "
            f"division code, and {value[:6]!r} is not one; a unified social credit code has 18 characters",
            f"纳税人识别号 {value}：{len(value)} 位识别号应以行政区划码开头，"
            f"“{value[:6]}”不是有效的行政区划码；统一社会信用代码应为 18 位",
            1,
        )


def validate_taxpayer_id(value):
    """Return the normalised taxpayer id, or raise :class:`InvalidTaxpayerId`.

    18 characters: a unified social credit code (its check character is
    verified), or else a resident identity card number. 15, 17 and 20
    characters: an older taxpayer id (administrative division code followed
    by digits and letters), for which no check character is defined.
    """
    normalised = normalise_taxpayer_id(value)
    if not normalised:
        _fail(normalised, "empty", "taxpayer id is empty", "纳税人识别号为空")
    length = len(normalised)
    if length == 18:
        try:
            _check_uscc(normalised)
        except InvalidTaxpayerId as uscc_error:
            _check_identity_card(normalised, uscc_error)
        return normalised
    if length in _LEGACY_LENGTHS:
        _check_legacy(normalised)
        _check_legacy_area(normalised)
        return normalised
    _fail(
        normalised, "length",
        f"taxpayer id {normalised}: {length} characters; a unified social credit code has 18 "
        "(older ids 15, 17 or 20)",
        f"纳税人识别号 {normalised}：长度为 {length} 位，"
        "统一社会信用代码应为 18 位（旧识别号为 15、17 或 20 位）",
    )


def is_valid_taxpayer_id(value):
    """True when :func:`validate_taxpayer_id` accepts ``value``."""
    try:
        validate_taxpayer_id(value)
    except InvalidTaxpayerId:
        return False
    return True
