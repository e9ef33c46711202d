"""The buyer's invoice title (发票抬头) as people write it down.

Buyers hand over their title as four lines: name, taxpayer id, 地址电话
(address and phone on one line) and 开户行及账号 (bank and account). The
platform wants address and phone apart.
"""

import re

# A phone at the end of the line: digits with dashes, spaces, brackets or a
# leading +, long enough not to be a street or room number.
_TRAILING_PHONE = re.compile(r"(?:^|(?<=\s)|(?<=[^\d\s+\-]))(\+?[\d(（][\d\s\-()（）]{5,}\d)\s*$")


def split_address_phone(text):
    """``"北京市海淀区中关村大街1号 010-62345678"`` -> ``("北京市海淀区中关村大街1号", "010-62345678")``.

    Without a recognisable trailing phone the whole text is the address.
    """
    text = (text or "").strip()
    match = _TRAILING_PHONE.search(text)
    if not match:
        return text, ""
    return text[:match.start(1)].strip(" ,，;；"), match.group(1).strip()


# An account number at the end of the line: digits, possibly grouped by spaces or dashes.
_TRAILING_ACCOUNT = re.compile(r"(\d[\d\s\-]{4,}\d)\s*$")


def split_bank_account(text):
    """``"中国工商银行北京海淀支行 0200 0045 0900 1234 567"`` -> (bank, account).

    The account keeps its spelling (grouping spaces included); without a
    trailing number the whole text is the bank.
    """
    text = (text or "").strip()
    match = _TRAILING_ACCOUNT.search(text)
    if not match:
        return text, ""
    return text[:match.start(1)].strip(" ,，;；:："), match.group(1).strip()
