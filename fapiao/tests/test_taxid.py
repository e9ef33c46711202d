"""Taxpayer identification numbers: unified social credit codes and older ids."""

import random

import pytest
from stdnum.cn import uscc as stdnum_uscc

from fapiao.errors import InvalidTaxpayerId
from fapiao.taxid import (
    USCC_ALPHABET,
    is_valid_taxpayer_id,
    normalise_taxpayer_id,
    uscc_check_character,
    validate_taxpayer_id,
)


def test_check_character_agrees_with_python_stdnum_on_digit_first_codes():
    rng = random.Random(20261121)
    for _ in range(500):
        first17 = rng.choice("159") + "".join(rng.choice("0123456789") for _ in range(7))
        first17 += "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        code = first17 + uscc_check_character(first17)
        assert stdnum_uscc.is_valid(code), code
        assert validate_taxpayer_id(code) == code


@pytest.mark.parametrize(
    "value",
    [
        "91350100M000100Y43",  # company (registration authority 9, industry and commerce)
        "Y1320506MA1WHF9B1X",  # farmers' cooperative: first character a letter
    ],
)
def test_valid_unified_social_credit_codes(value):
    assert validate_taxpayer_id(value) == value
    assert is_valid_taxpayer_id(value)


def test_letter_first_codes_are_accepted_where_python_stdnum_wrongly_refuses():
    first17 = "A1110000MB0" + "1E8X4"
    first17 = first17[:17].ljust(17, "0")
    code = first17 + uscc_check_character(first17)
    assert not stdnum_uscc.is_valid(code)
    assert validate_taxpayer_id(code) == code


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        (" 91350100m000100y43 ", "91350100M000100Y43"),
        ("9135-0100-M000-100Y43", "91350100M000100Y43"),
        ("9135 0100 M000 100Y 43", "91350100M000100Y43"),
        ("９１３５０１００Ｍ０００１００Ｙ４３", "91350100M000100Y43"),  # full-width input
    ],
)
def test_input_is_normalised(raw, normalised):
    assert normalise_taxpayer_id(raw) == normalised
    assert validate_taxpayer_id(raw) == normalised


def test_resident_identity_card_number_is_accepted():
    assert validate_taxpayer_id("11010519491231002x") == "11010519491231002X"


@pytest.mark.parametrize("value", ["110105194912310", "11010500000000000", "11010519491231002X01",
                                   "440301M000001X8"])
def test_older_ids_of_15_17_and_20_characters(value):
    assert validate_taxpayer_id(value) == value


def _error(value):
    with pytest.raises(InvalidTaxpayerId) as info:
        validate_taxpayer_id(value)
    return info.value


def test_empty():
    for value in ("", "   ", None, "--"):
        assert _error(value).reason == "empty"


@pytest.mark.parametrize("value", ["9135010", "91350100M000100Y431", "1234567890123456"])
def test_wrong_length_says_so(value):
    error = _error(value)
    assert error.reason == "length"
    assert f"{len(value)} characters" in str(error)
    assert "18" in str(error) and "长度" in error.message_zh


@pytest.mark.parametrize(("value", "char", "position"), [
    ("91350100M000100O43", "O", 16),
    ("I1350100M000100Y43", "I", 1),
    ("91350100M0001*0Y43", "*", 14),
])
def test_forbidden_character_is_named_with_its_position(value, char, position):
    error = _error(value)
    assert error.reason == "character"
    assert error.position == position
    assert f"{char!r} at position {position}" in str(error)


@pytest.mark.parametrize("value", ["91350100M000100Y4", "9135010M000100Y43", "91350100M000100Y4301"])
def test_uscc_with_a_character_missing_or_added_is_not_taken_for_an_older_id(value):
    error = _error(value)
    assert error.reason == "area"
    assert "unified social credit code has 18 characters" in str(error)


def test_area_code_must_be_digits():
    first17 = "9135A100M000100Y4"
    error = _error(first17 + uscc_check_character(first17))
    assert error.reason == "area" and error.position == 5


def test_wrong_check_character_says_which_is_expected():
    error = _error("91350100M000100Y42")
    assert error.reason == "check" and error.position == 18
    assert "should be '3'" in str(error)
    assert "校验位" in error.message_zh
    assert not is_valid_taxpayer_id("91350100M000100Y42")


def test_mistyped_identity_card_number_names_both_expected_characters():
    error = _error("110105194912310021")
    assert error.reason == "check"
    assert "'2' for a resident identity card number" in str(error)


def test_single_character_typo_is_always_caught():
    code = "91350100M000100Y43"
    for position in range(17):
        for char in USCC_ALPHABET:
            if char == code[position] or (2 <= position < 8 and not char.isdigit()):
                continue
            typo = code[:position] + char + code[position + 1:]
            assert not is_valid_taxpayer_id(typo), typo


@pytest.mark.parametrize("value", ["11010A", "ABCDEF194912310", "110105 19491231 0@"])
def test_older_ids_are_checked_for_format(value):
    assert not is_valid_taxpayer_id(value)
