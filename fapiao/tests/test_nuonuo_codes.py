"""诺诺's answer codes as the contract's outcomes (fapiao.providers.nuonuo.codes)."""

import pytest

from fapiao import errors
from fapiao.providers.nuonuo import codes


@pytest.mark.parametrize(("code", "cls"), [
    ("070101", errors.AuthenticationError),
    ("070201", errors.SystemBusy),
    ("070204", errors.QuotaExceeded),
    ("070301", errors.AuthenticationError),
    ("070306", errors.QuotaExceeded),
    ("070401", errors.AuthenticationError),
    ("070501", errors.NotSupported),
    ("070601", errors.AuthenticationError),
    ("E9105", errors.ParameterError),
    ("E9500", errors.NotFound),
    ("X123", errors.PlatformError),
])
def test_classes(code, cls):
    error = codes.error_for("nuonuo.OpeMplatform.requestBillingNew", code, "描述")
    assert type(error) is cls
    assert error.platform_code == code


@pytest.mark.parametrize("code", ["070301", "070401", "070306"])
def test_token_and_tax_id_problems_say_what_to_do_in_both_languages(code):
    error = codes.error_for("m", code, "")
    assert not error.retryable
    assert "token" in error.message.lower() or "tax id" in error.message
    assert "令牌" in error.message_zh or "税号" in error.message_zh


def test_token_quota_names_the_fifty_requests():
    error = codes.error_for("accessToken", "070306", "token call limit reached")
    assert "50 token requests per 30 days" in error.message and "50 次" in error.message_zh


def test_clock_hint_on_signature_mismatch():
    assert "clock" in codes.error_for("m", "070601", "签名不匹配").message


def test_login_lapse_is_login_required_whatever_the_code():
    error = codes.error_for("m", "E9999", "当前全电账号登录失效，请重新登录")
    assert isinstance(error, errors.LoginRequired)
    assert codes.is_login_lapse("需要实人认证")
    assert not codes.is_login_lapse("购方税号有误")


def test_busy_only_is_a_plain_retry():
    busy = codes.error_for("m", "070201", "")
    assert busy.retryable and not busy.ambiguous
    assert codes.http_error("m", 429).retryable and not codes.http_error("m", 429).ambiguous
    failed = codes.http_error("m", 502)
    assert failed.retryable and failed.ambiguous
    assert not codes.http_error("m", 404).retryable
    assert codes.unreadable("m", 200).ambiguous


def test_confirmed_codes_are_named():
    assert {"E0000", "E9106", "070301", "070401"} <= codes.CONFIRMED_CODES
