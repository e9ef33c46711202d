"""Rates and preferential policy flags: what the product form accepts, the issue accepts."""

from decimal import ROUND_HALF_UP, Decimal

import pytest

from fapiao.catalogue import Catalogue, allowed_rates, rate_allowed
from fapiao.documents import CatalogueEntry, Invoice, InvoiceLine, Party
from fapiao.rules import validate_invoice
from fapiao.taxpolicy import LEVY_RATES, SIMPLIFIED, line_tax

D = Decimal
SELLER_ID = "91350100M000100Y43"
COMPUTER = "1090509010000000000"        # 电子计算机, 13 %
SOFTWARE = "3040201010000000000"        # 软件开发服务, 6 %
RICE_PADDY = "1010101010000000000"      # 稻谷, 9 %, 免税
PREPAID_CARD = "6010000000000000000"    # 预付卡销售, 0 %, 不征税
NATURAL_WATER = "1100301040000000000"   # 天然水, 13 %, 不征税
HOUSING = "3040502020102000000"         # 个人出租住房, 9 %, 按5%简易征收减按1.5%计征、按5%简易征收
TOLL_ROAD = "3040502020301000000"       # 高速公路通行服务, 9 %, 按3%简易征收、不征税
RATES = [D("0"), *LEVY_RATES, D("0.06"), D("0.09"), D("0.13")]


@pytest.fixture(scope="module")
def catalogue():
    return Catalogue.from_csv()


def invoice_of(lines):
    total = sum((line.amount for line in lines), D(0))
    tax = sum((line.tax_amount for line in lines), D(0))
    return Invoice(serial_no="SO-1", invoice_type="02", seller=Party("福州示例软件有限公司", SELLER_ID),
                   buyer=Party("张三", natural_person=True), lines=lines, total_amount=total, total_tax=tax,
                   total_with_tax=total + tax)


def line_of(entry, decided):
    """A 100.00 line of ``entry`` with the rate and flag ``decided`` (a LineTax)."""
    tax = (D("100.00") * decided.rate).quantize(D("0.01"), ROUND_HALF_UP)
    return InvoiceLine(name=f"*{entry.short_name}*项目", classification_code=entry.code, amount=D("100.00"),
                       tax_amount=tax, amount_with_tax=D("100.00") + tax, **decided.line_fields())


def codes(errors):
    return [(error.field, error.code) for error in errors]


@pytest.mark.parametrize(("code", "rate", "policy"), [
    pytest.param(COMPUTER, "0.13", "", id="the-codes-own-rate"),
    pytest.param(COMPUTER, "0.03", SIMPLIFIED, id="3%-levy-on-a-13%-only-code"),
    pytest.param(COMPUTER, "0.01", SIMPLIFIED, id="1%-small-scale"),
    pytest.param(COMPUTER, "0.05", SIMPLIFIED, id="5%-levy"),
    pytest.param(HOUSING, "0.015", "按5%简易征收减按1.5%计征", id="the-codes-own-1.5%-variant"),
    pytest.param(HOUSING, "0.05", "按5%简易征收", id="the-codes-own-5%-variant"),
    pytest.param(HOUSING, "0.03", SIMPLIFIED, id="no-own-3%-variant"),
    pytest.param(TOLL_ROAD, "0.03", "按3%简易征收", id="the-codes-own-3%-variant"),
    pytest.param(RICE_PADDY, "0", "免税", id="exempt-code"),
    pytest.param(PREPAID_CARD, "0", "不征税", id="not-taxable-code"),
    pytest.param(NATURAL_WATER, "0", "不征税", id="not-taxable-13%-code"),
    pytest.param(TOLL_ROAD, "0", "不征税", id="not-taxable-among-others"),
])
def test_the_flag_follows_from_code_and_rate(code, rate, policy, catalogue):
    decided = line_tax(catalogue.get(code), D(rate))
    assert (decided.allowed, decided.policy) == (True, policy)
    assert decided.line_fields() == {"tax_rate": D(rate), "preferential_policy": policy}


@pytest.mark.parametrize(("code", "rate"), [
    pytest.param(SOFTWARE, "0.13", id="another-vat-rate"),
    pytest.param(SOFTWARE, "0.09", id="another-lower-vat-rate"),
    pytest.param(SOFTWARE, "0", id="0%-without-exemption"),
    pytest.param(COMPUTER, "0.02", id="no-rate-at-all"),
])
def test_a_rate_no_flag_makes_right_is_refused(code, rate, catalogue):
    decided = line_tax(catalogue.get(code), D(rate))
    assert codes(decided.problems) == [("taxRate", "RATE_NOT_ALLOWED")]
    [problem] = decided.problems
    assert (problem.line, problem.attribute, problem.params["value"]) == (None, "tax_rate", D(rate))
    assert "or a levy rate (1%, 1.5%, 3%, 5%) with 简易征收" in problem.message
    assert "或简易计税的征收率 1%、1.5%、3%、5%" in problem.message_zh


def test_refusal_messages_say_what_the_code_allows(catalogue):
    [problem] = line_tax(catalogue.get(SOFTWARE), D("0")).problems
    assert problem.message == (
        "tax rate 0% is not allowed for code 3040201010000000000 (信息技术服务) (a 0% line needs a code that is "
        "exempt, 免税, or outside the scope of VAT, 不征税); allowed: 6%, or a levy rate (1%, 1.5%, 3%, 5%) "
        "with 简易征收")
    assert problem.message_zh == (
        "税率 0% 不适用于编码 3040201010000000000（信息技术服务）（税率为 0% 的行需要编码有“免税”或“不征税”）"
        "（可用税率：6%，或简易计税的征收率 1%、1.5%、3%、5%）")
    assert problem.params == {"value": D("0"), "allowed": [D("0.06"), *LEVY_RATES], "code": SOFTWARE}


def test_what_the_product_form_accepts_the_issue_accepts_and_nothing_else(catalogue):
    """Over the whole table: the flag derived from a rate passes the issue-time check of the same
    rate, and a rate refused without a flag is refused on a line without one."""
    accepted = []
    for entry in catalogue:
        if entry.is_summary or not entry.usable:
            continue
        for rate in RATES:
            derived = line_tax(entry, rate)
            as_issued = line_tax(entry, rate, derived.policy, path="lines[0]")
            assert derived.allowed == as_issued.allowed, (entry.code, rate, derived.policy)
            assert rate_allowed(entry, rate) == derived.allowed == (rate in allowed_rates(entry))
            if derived.allowed:
                accepted.append(line_of(entry, derived))
    assert len(accepted) > 4 * 3700
    for start in range(0, len(accepted), 1000):
        assert validate_invoice(invoice_of(accepted[start:start + 1000]), catalogue) == []


def test_a_levy_rate_without_its_flag_is_refused_at_issue_naming_the_flag(catalogue):
    entry = catalogue.get(COMPUTER)
    problems = line_tax(entry, D("0.03"), "", path="lines[0]").problems
    assert codes(problems) == [("lines[0].preferentialPolicy", "LEVY_RATE_POLICY")]
    assert problems[0].message == ("line 1 policy flag is needed on a line at the levy rate 3% (simplified "
                                   "method): 简易征收")
    assert problems[0].message_zh == "第 1 行优惠政策标识在征收率为 3% 的行上必填（简易计税）：简易征收"
    assert problems[0].params == {"value": D("0.03"), "policy": SIMPLIFIED}
    assert codes(line_tax(catalogue.get(HOUSING), D("0.05"), "").problems) == [
        ("preferentialPolicy", "LEVY_RATE_POLICY")]


@pytest.mark.parametrize(("code", "rate", "policy", "expected"), [
    pytest.param(COMPUTER, "0", "免税", [], id="exempt-on-any-code"),
    pytest.param(COMPUTER, "0", "出口零税", [], id="export-zero-rate-on-any-code"),
    pytest.param(COMPUTER, "0", "不征税", [("preferentialPolicy", "POLICY_NOT_FOR_CODE")],
                 id="not-taxable-only-where-the-code-says"),
    pytest.param(COMPUTER, "0.05", "按5%简易征收", [], id="stated-5%-variant"),
    pytest.param(COMPUTER, "0.03", "按5%简易征收", [("taxRate", "RATE_NOT_ALLOWED")], id="variant-of-another-rate"),
    pytest.param(COMPUTER, "0.13", "即征即退50%", [], id="refund-keeps-the-codes-rate"),
    pytest.param(COMPUTER, "0.03", "即征即退50%", [("taxRate", "RATE_NOT_ALLOWED")], id="refund-is-no-levy"),
    pytest.param(COMPUTER, "0.13", "免税", [("taxRate", "ZERO_RATE_POLICY")], id="exempt-needs-0%"),
    pytest.param(COMPUTER, "0", "", [("preferentialPolicy", "ZERO_RATE_POLICY")], id="0%-needs-a-flag"),
    pytest.param(COMPUTER, "0.13", "优惠", [("preferentialPolicy", "POLICY_UNKNOWN")], id="unknown-flag"),
])
def test_a_stated_flag_is_checked_against_rate_and_code(code, rate, policy, expected, catalogue):
    assert codes(line_tax(catalogue.get(code), D(rate), policy).problems) == expected


def test_without_the_catalogue_only_the_flag_decides():
    assert line_tax(None, D("0.03"), "").allowed
    assert line_tax(None, D("0.03")).policy == SIMPLIFIED
    assert codes(line_tax(None, D("0.13"), "不征税").problems) == [("taxRate", "ZERO_RATE_POLICY")]
    assert codes(line_tax(None, None, "优惠").problems) == [("preferentialPolicy", "POLICY_UNKNOWN")]
    assert line_tax(None, None, "免税").allowed


def test_a_code_listing_a_levy_rate_itself_needs_no_flag():
    entry = CatalogueEntry(code="1" * 19, name="试", short_name="试", vat_rates=(D("0.06"), D("0.03")))
    assert (line_tax(entry, D("0.03")).policy, line_tax(entry, D("0.03"), "").allowed) == ("", True)


def test_rates_are_decimals_never_floats(catalogue):
    with pytest.raises(TypeError):
        line_tax(catalogue.get(COMPUTER), 0.13)
    assert line_tax(catalogue.get(COMPUTER), D("0.130")).allowed
    assert codes(line_tax(catalogue.get(COMPUTER), D("1.3")).problems) == [("taxRate", "RATE_RANGE")]
