"""The classification code table: levels, the rates a code allows, checked CSV
updates and suggestions for a product name."""

from decimal import Decimal

import pytest

from fapiao.catalogue import (
    CSV_COLUMNS,
    DEFAULT_CSV,
    LEVY_RATES,
    Catalogue,
    allowed_rates,
    check_csv,
    code_level,
    format_rates,
    rate_allowed,
    read_csv,
)
from fapiao.documents import CatalogueEntry
from fapiao.errors import ValidationFailed

HEADER = ",".join(CSV_COLUMNS)
RICE = "1030102010100000000"


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.from_csv()


def _row(code, *, name="大米", rates="9%", summary="N", usable="Y", parent="0", date="20190401", special=""):
    return f"{code},{name},谷物加工品,{rates},,{summary},{usable},{special},,,{parent},32.0,{date}"


def _file(*rows):
    return "\n".join((HEADER, *rows)) + "\n"


@pytest.mark.parametrize(("code", "level"), [
    ("1000000000000000000", 1),
    ("1010000000000000000", 2),
    ("1010100000000000000", 3),
    ("1011000000000000000", 3),      # last segment "10" loses its own zero
    (RICE, 6),
    ("1010101010000000000", 5),
    ("3010101020101010000", 8),
    ("1234567890123456789", 10),
])
def test_code_level(code, level):
    assert code_level(code) == level


def test_shipped_table_levels_match_its_parent_chain(catalogue):
    for entry in catalogue:
        parent = catalogue.get(entry.parent_code)
        assert code_level(entry.code) == (code_level(parent.code) + 1 if parent else 1), entry.code


def test_format_rates_spells_rates_like_the_table():
    assert format_rates((Decimal("0.13"), Decimal("0.09"))) == "13%、9%"
    assert format_rates(()) == ""


def test_allowed_rates_add_zero_for_exemptions_and_levy_rates_for_every_code(catalogue):
    rice_paddy = catalogue.get("1010101010000000000")      # 稻谷, 9 %, 免税
    assert rice_paddy.vat_special == "免税"
    assert allowed_rates(rice_paddy) == (Decimal("0.09"), Decimal("0"), *LEVY_RATES)
    software = catalogue.get("3040201010000000000")        # 软件开发服务, 6 %, no exemption
    assert rate_allowed(software, Decimal("0.06"))
    assert rate_allowed(software, Decimal("0.030"))
    assert not rate_allowed(software, Decimal("0.13"))
    assert not rate_allowed(software, 0)


def test_check_csv_reads_the_shipped_table_like_read_csv():
    with open(DEFAULT_CSV, "rb") as handle:
        checked = check_csv(handle.read())
    assert checked == read_csv(DEFAULT_CSV)
    assert len(checked) == 4236


def test_check_csv_accepts_gb18030_as_excel_saves_it():
    entries = check_csv(_file(_row(RICE)).encode("gb18030"))
    assert entries[0].name == "大米"
    assert entries[0].vat_rates == (Decimal("0.09"),)


def test_check_csv_names_the_line_and_column_of_every_problem():
    data = _file(
        _row(RICE),
        _row("10301020101", parent="1030102010000000000"),     # line 3: short code
        _row(RICE),                                             # line 4: duplicate
        _row("1030102010200000000", rates="13", date="20191301"),  # line 5: rate without %, bad date
        _row("1030102010300000000", name="", summary="X"),      # line 6
        "1030102010400000000,只有三列,x",                         # line 7
    )
    with pytest.raises(ValidationFailed) as caught:
        check_csv(data)
    fields = [(e.field, e.code) for e in caught.value.errors]
    assert fields == [
        ("line 3, code", "CODE_FORMAT"),
        ("line 4, code", "CODE_DUPLICATE"),
        ("line 5, vat_rates", "RATE_FORMAT"),
        ("line 5, effective_date", "DATE_FORMAT"),
        ("line 6, name", "REQUIRED"),
        ("line 6, is_summary", "FLAG"),
        ("line 7", "FIELD_COUNT"),
    ]
    assert "already appears on line 2" in caught.value.errors[1].message
    assert "'13' is not a rate" in caught.value.errors[2].message
    assert "第 2 行重复" in caught.value.errors[1].message_zh


def test_check_csv_refuses_a_file_without_the_needed_columns_or_rows():
    with pytest.raises(ValidationFailed, match="the header lacks is_summary, parent_code"):
        check_csv("code,name\n1030102010100000000,大米\n")
    with pytest.raises(ValidationFailed, match="no rows"):
        check_csv(HEADER + "\n")
    with pytest.raises(ValidationFailed, match="neither UTF-8 nor GB18030"):
        check_csv(b"\xff\xfe\x00\x81\x30")


def test_check_csv_stops_after_max_errors():
    data = _file(*(_row(f"99{i:03d}") for i in range(50)))
    with pytest.raises(ValidationFailed) as caught:
        check_csv(data, max_errors=5)
    assert len(caught.value.errors) == 5


def test_suggest_prefers_the_term_found_whole_in_the_name(catalogue):
    assert [e.code for e in catalogue.suggest("有机东北大米 5kg", limit=1)] == [RICE]
    consulting = catalogue.suggest("咨询服务费")
    assert consulting and all(e.short_name.endswith("咨询服务") for e in consulting[:4])


def test_suggest_only_offers_usable_leaf_codes(catalogue):
    suggestions = catalogue.suggest("谷物")
    assert suggestions
    assert all(not e.is_summary and e.usable for e in suggestions)


def test_suggest_ignores_short_latin_fragments_and_empty_names():
    rice = CatalogueEntry(code=RICE, name="大米", keywords="PTA、大米")
    assert Catalogue([rice]).suggest("Laptop") == []
    assert Catalogue([rice]).suggest("  ") == []
    assert Catalogue([rice]).suggest("PTA resin") == [rice]


def _special_row(code, special, special_code):
    return f"{code},大米,谷物加工品,9%,,N,Y,{special},{special_code},,0,32.0,20190401"


def test_check_csv_refuses_special_codes_in_scientific_notation():
    """A spreadsheet shows 106401902 as 1.06401902E8: saved so, it is not the code any more (issue 13)."""
    with pytest.raises(ValidationFailed) as info:
        check_csv(_file(_special_row(RICE, "即征即退50%", "1.06401902E8"),
                        _special_row("1030102010200000000", "免税", "10640190x")))
    first, second = info.value.errors
    assert (first.field, first.code) == ("line 2, vat_special_code", "SPECIAL_CODE_FORMAT")
    assert "scientific notation" in first.message and "(106401902)" in first.message
    assert "科学计数法" in first.message_zh and "106401902" in first.message_zh
    assert (second.field, second.code) == ("line 3, vat_special_code", "SPECIAL_CODE_FORMAT")
    assert "digits only" in second.message and "只能是数字" in second.message_zh
    entries = check_csv(_file(_special_row(RICE, "即征即退50%", "000106401901、000000000999")))
    assert entries[0].vat_special_code == "000106401901、000000000999"


def test_the_shipped_table_holds_special_codes_as_digits():
    entries = read_csv(DEFAULT_CSV)
    codes = [entry.vat_special_code for entry in entries if entry.vat_special_code]
    assert len(codes) > 400
    assert all(part.isdigit() for code in codes for part in code.split("、"))
    assert {entry.code: entry.vat_special_code for entry in entries}["1020504020000000000"] == "106401902"
