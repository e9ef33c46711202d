from datetime import datetime

import pytest

from fapiao import selfinvoice

COMPANY = {"title_type": "company", "name": "上海某某贸易有限公司", "tax_id": "91310000MA1FL0XL39",
           "address_phone": "上海市浦东新区世纪大道 100 号 021-12345678", "bank_account": "", "email": "a@b.cn"}


def test_tokens_are_unguessable_and_compared_whole():
    first, second = selfinvoice.new_token(), selfinvoice.new_token()
    assert first != second and len(first) >= 43
    assert selfinvoice.tokens_match(first, first)
    assert not selfinvoice.tokens_match(first, second)
    assert not selfinvoice.tokens_match(first, first[:-1])
    assert not selfinvoice.tokens_match(first, "")
    assert not selfinvoice.tokens_match(first, None)
    assert not selfinvoice.tokens_match("", "")


@pytest.mark.parametrize(("period", "purchased", "expiry"), [
    # 2026-11-15 10:00 UTC is 15 November in China: the link works until 31 December, China midnight
    ("next_month_end", datetime(2026, 11, 15, 10), datetime(2026, 12, 31, 16)),
    ("month_end", datetime(2026, 11, 15, 10), datetime(2026, 11, 30, 16)),
    # 30 November 17:00 UTC is already 1 December in China
    ("month_end", datetime(2026, 11, 30, 17), datetime(2026, 12, 31, 16)),
    ("next_month_end", datetime(2026, 12, 5), datetime(2027, 1, 31, 16)),
    ("30_days", datetime(2026, 11, 15, 10), datetime(2026, 12, 15, 16)),
])
def test_expiry_in_china_time(period, purchased, expiry):
    assert selfinvoice.expires_at(purchased, period) == expiry
    assert not selfinvoice.expired(expiry, datetime(2026, 11, 15, 11))
    assert selfinvoice.expired(expiry, expiry)


def test_last_day():
    assert str(selfinvoice.last_day(datetime(2026, 12, 31, 16))) == "2026-12-31"


def test_unknown_period_refused():
    with pytest.raises(ValueError):
        selfinvoice.expires_at(datetime(2026, 1, 1), "forever")


def test_company_title_accepted_and_cleaned():
    title = selfinvoice.validate_title({**COMPANY, "tax_id": " 91310000ma1fl0xl39 ", "email": " a@b.cn "})
    assert title.problems == []
    assert title.tax_id == "91310000MA1FL0XL39"
    assert title.email == "a@b.cn"
    assert not title.natural_person


def test_person_needs_no_taxpayer_id():
    title = selfinvoice.validate_title({"title_type": "person", "name": "张三", "email": "zhang@example.cn",
                                        "bank_account": "某银行 123456"})
    assert title.problems == []
    assert title.natural_person
    assert title.bank_account == ""


def test_every_problem_at_once_in_chinese():
    title = selfinvoice.validate_title({"title_type": "company", "name": "", "tax_id": "91310000MA1FL0XL38",
                                        "email": "not-an-address", "address_phone": "x" * 101})
    fields = [problem.field for problem in title.problems]
    assert fields == ["name", "tax_id", "address_phone", "email"]
    assert all(problem.message_zh and problem.message for problem in title.problems)
    assert "纳税人识别号" in title.problems[1].message_zh
    assert "邮箱" in title.problems[3].message_zh


def test_company_without_taxpayer_id_and_unknown_type():
    problems = selfinvoice.validate_title({**COMPANY, "tax_id": ""}).problems
    assert [problem.field for problem in problems] == ["tax_id"]
    assert "统一社会信用代码" in problems[0].message_zh
    problems = selfinvoice.validate_title({**COMPANY, "title_type": "alien"}).problems
    assert [problem.field for problem in problems] == ["title_type"]
    problems = selfinvoice.validate_title({}).problems
    assert [problem.field for problem in problems] == ["title_type", "name", "email"]


def test_invoice_type_ordinary_unless_a_company_asks_for_a_special_one_the_shop_offers():
    assert selfinvoice.validate_title(COMPANY).invoice_type == "02"
    special = selfinvoice.validate_title({**COMPANY, "invoice_type": "01"}, special_offered=True)
    assert (special.problems, special.invoice_type) == ([], "01")
    problems = selfinvoice.validate_title({**COMPANY, "invoice_type": "01"}).problems
    assert [problem.field for problem in problems] == ["invoice_type"]
    assert "只开具普通发票" in problems[0].message_zh
    person = {"title_type": "person", "name": "张三", "email": "zhang@example.cn"}
    problems = selfinvoice.validate_title({**person, "invoice_type": "01", "email": ""}, special_offered=True).problems
    assert [problem.field for problem in problems] == ["invoice_type", "email"]
    assert "专用发票只能开具给单位" in problems[0].message_zh
    problems = selfinvoice.validate_title({**COMPANY, "invoice_type": "004"}, special_offered=True).problems
    assert [problem.field for problem in problems] == ["invoice_type"]
