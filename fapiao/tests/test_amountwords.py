"""fapiao.amountwords: 价税合计（大写）, checked against the examples of 《正确填写票据和结算凭证的基本规定》
and read back into numbers for many amounts."""

import random
import re
from decimal import Decimal

import pytest

from fapiao.amountwords import amount_in_words

DIGIT = {char: value for value, char in enumerate("零壹贰叁肆伍陆柒捌玖")}
PLACE = {"拾": 10, "佰": 100, "仟": 1000}


@pytest.mark.parametrize(("amount", "words"), [
    ("0", "零圆整"),
    ("0.00", "零圆整"),
    ("0.05", "伍分"),
    ("0.50", "伍角"),
    ("0.55", "伍角伍分"),
    ("1", "壹圆整"),
    ("10.00", "壹拾圆整"),                           # 壹拾, never a bare 拾
    ("15", "壹拾伍圆整"),
    ("100.10", "壹佰圆壹角"),                         # no 零 before 角, nothing after it
    ("10.05", "壹拾圆零伍分"),                        # 角 is 0, 分 is not: 零 after 圆 (required)
    ("10.99", "壹拾圆玖角玖分"),
    ("2260.00", "贰仟贰佰陆拾圆整"),
    ("1000001.01", "壹佰万零壹圆零壹分"),
    ("1,0000,0000", "壹亿圆整"),                      # an empty 万 section adds nothing
    ("100010000", "壹亿零壹万圆整"),
    ("100001000", "壹亿零壹仟圆整"),
    ("10500", "壹万零伍佰圆整"),
    ("20000000", "贰仟万圆整"),
    ("999999999999.99", "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖圆玖角玖分"),
    # the examples of the rules (where they allow two forms, the one chosen in fapiao.amountwords)
    ("1409.50", "壹仟肆佰零玖圆伍角"),
    ("6007.14", "陆仟零柒圆壹角肆分"),
    ("1680.32", "壹仟陆佰捌拾圆叁角贰分"),
    ("107000.53", "壹拾万零柒仟圆伍角叁分"),
    ("325.04", "叁佰贰拾伍圆零肆分"),
])
def test_words(amount, words):
    assert amount_in_words(amount.replace(",", "")) == words


@pytest.mark.parametrize(("amount", "words"), [
    ("-2260.00", "（负数）贰仟贰佰陆拾圆整"),
    ("-0.05", "（负数）伍分"),
    ("-100.10", "（负数）壹佰圆壹角"),
    ("-0.00", "零圆整"),                              # a zero has no sign
])
def test_negative_amounts_of_red_invoices(amount, words):
    assert amount_in_words(amount) == words


def test_decimals_ints_and_erp_floats():
    assert amount_in_words(Decimal("2260.00")) == amount_in_words(2260) == "贰仟贰佰陆拾圆整"
    assert amount_in_words(Decimal("1E+3")) == "壹仟圆整"
    assert amount_in_words(0.1) == "壹角"             # a float through its shortest text


@pytest.mark.parametrize("amount", ["1.005", Decimal("0.001"), 0.1 + 0.2, "abc", None, "NaN", "Infinity",
                                    "1000000000000", "-1000000000000"])
def test_refuses_what_cannot_be_printed_exactly(amount):
    with pytest.raises(ValueError):
        amount_in_words(amount)


def read_back(words):
    """The amount that capital words stand for, parsed by the plain reading rules (零 is skipped)."""
    negative = words.startswith("（负数）")
    words = words.removeprefix("（负数）").removesuffix("整")
    yuan_words, _, fraction = words.rpartition("圆") if "圆" in words else ("", "", words)
    total, section, number = 0, 0, 0
    for char in yuan_words:
        if char in DIGIT:
            number = DIGIT[char]
        elif char in PLACE:
            section += number * PLACE[char]
            number = 0
        elif char == "万":
            total += (section + number) * 10_000
            section = number = 0
        elif char == "亿":
            total = (total + section + number) * 100_000_000
            section = number = 0
    cents = (total + section + number) * 100
    for digit, unit in re.findall(r"([壹贰叁肆伍陆柒捌玖])([角分])", fraction):
        cents += DIGIT[digit] * (10 if unit == "角" else 1)
    return Decimal(-cents if negative else cents) / 100


def test_words_read_back_as_the_amount_and_keep_the_zero_rules():
    rng = random.Random(15)
    for _ in range(5000):
        digits = "".join(rng.choice("0000123456789") for _ in range(rng.randint(1, 14)))
        amount = (Decimal(int(digits)) / 100).quantize(Decimal("0.01"))
        if rng.random() < 0.2:
            amount = -amount
        words = amount_in_words(amount)
        assert read_back(words) == amount, (amount, words)
        body = words.removeprefix("（负数）")
        assert not body.startswith("拾") and "零零" not in body, words
        assert not re.search(r"零[圆万亿角分整]|零$|圆零[壹贰叁肆伍陆柒捌玖]角", body) or amount == 0, words
        assert body.startswith("零圆") == (amount == 0), words
        assert body.endswith("圆整") == (amount % 1 == 0), words     # 整 only after 圆: never after 角, 分
