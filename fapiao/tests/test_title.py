"""Invoice titles as buyers write them: 地址电话 and 开户行及账号 on one line each."""

import pytest

from fapiao.title import split_address_phone, split_bank_account


@pytest.mark.parametrize(("text", "address", "phone"), [
    ("北京市海淀区中关村大街1号 010-62345678", "北京市海淀区中关村大街1号", "010-62345678"),
    ("上海市浦东新区张江路100号021-12345678", "上海市浦东新区张江路100号", "021-12345678"),
    ("深圳市南山区科技园 13800138000", "深圳市南山区科技园", "13800138000"),
    ("某路88号，(010)62345678", "某路88号", "(010)62345678"),
    ("某大厦1001室", "某大厦1001室", ""),
    ("0755-12345678", "", "0755-12345678"),
    ("", "", ""),
    (None, "", ""),
])
def test_split_address_phone(text, address, phone):
    assert split_address_phone(text) == (address, phone)


@pytest.mark.parametrize(("text", "bank", "account"), [
    ("中国工商银行北京海淀支行 0200004509001234567", "中国工商银行北京海淀支行", "0200004509001234567"),
    ("招商银行深圳分行：7559 1234 5678 901", "招商银行深圳分行", "7559 1234 5678 901"),
    ("中国银行第1支行", "中国银行第1支行", ""),
    ("", "", ""),
])
def test_split_bank_account(text, bank, account):
    assert split_bank_account(text) == (bank, account)
