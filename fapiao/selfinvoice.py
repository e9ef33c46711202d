"""Self-service invoice requests (扫码开票 / 申请开票): the rules, without Odoo.

A receipt not invoiced at the till carries a QR code, an online order a
"申请开票" link: both lead to a page where the shopper gives the title the
e-invoice prints. What is decided here:

- the request link's secret: unguessable (``new_token``), compared in
  constant time (``tokens_match``);
- until when a link may be used (``expires_at``): the company chooses a period
  counted from the purchase, in China time (``EXPIRY_PERIODS``);
- what the shopper typed (``validate_title``): every problem at once, in
  English and in Chinese, before anything is created;
- how many submits an address or an order may make (``RATE_WINDOW``,
  ``RATE_PER_ADDRESS``, ``RATE_PER_REQUEST``).
"""

import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from . import chinatime
from .documents import INVOICE_TYPES
from .errors import InvalidTaxpayerId
from .rules import FieldLimits
from .taxid import validate_taxpayer_id

TOKEN_BYTES = 32    # 256 bits: 43 URL-safe characters

# period code -> (English label, Chinese label)
EXPIRY_PERIODS = {
    "month_end": ("End of the month of purchase", "购买当月月底"),
    "next_month_end": ("End of the following month", "购买次月月底"),
    "30_days": ("30 days", "30 天"),
    "90_days": ("90 days", "90 天"),
    "365_days": ("One year", "一年"),
}
DEFAULT_EXPIRY_PERIOD = "next_month_end"

# Submits (valid or not) allowed in RATE_WINDOW seconds: from one client address, and on one request.
RATE_WINDOW = 600
RATE_PER_ADDRESS = 20
RATE_PER_REQUEST = 5

TITLE_COMPANY = "company"
TITLE_PERSON = "person"
INVOICE_ORDINARY, INVOICE_SPECIAL = "02", "01"     # 普票, 专票 (documents.INVOICE_TYPES)

_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def new_token():
    """An unguessable request secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def tokens_match(expected, given):
    """Whether ``given`` is the request's secret, in time that does not depend on where they differ."""
    if not expected or not isinstance(given, str) or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def expires_at(purchased_utc, period=DEFAULT_EXPIRY_PERIOD):
    """Naive UTC moment after which the request link of a purchase made at ``purchased_utc``
    (naive UTC) no longer works: month ends are midnight in China ending that month."""
    if period not in EXPIRY_PERIODS:
        raise ValueError(f"unknown expiry period {period!r}")
    if period == "month_end":
        return chinatime.china_month_start_utc(purchased_utc, months=1)
    if period == "next_month_end":
        return chinatime.china_month_start_utc(purchased_utc, months=2)
    days = int(period.split("_")[0])
    return chinatime.china_midnight_utc(purchased_utc, days=days + 1)


def expired(expiry_utc, now_utc):
    return bool(expiry_utc) and now_utc >= expiry_utc


def last_day(expiry_utc):
    """The last day in China on which the link works (for the page: "有效期至 2026-12-31")."""
    return chinatime.china_today(expiry_utc) - timedelta(days=1) if expiry_utc else date.max


@dataclass
class Problem:
    """One problem with one field of the form, in English and Chinese."""

    field: str
    message: str
    message_zh: str


@dataclass
class Title:
    """The buyer's title as the shopper gave it, cleaned."""

    kind: str = TITLE_COMPANY
    invoice_type: str = INVOICE_ORDINARY
    name: str = ""
    tax_id: str = ""
    address_phone: str = ""
    bank_account: str = ""
    email: str = ""
    problems: list = field(default_factory=list)

    @property
    def natural_person(self):
        return self.kind == TITLE_PERSON


def _clean(value):
    text = unicodedata.normalize("NFKC", str(value or ""))
    return " ".join(_CONTROL.sub(" ", text).split())


def valid_email(value):
    return bool(value) and len(value) <= FieldLimits.email and bool(_EMAIL.fullmatch(value))


def validate_title(form, limits=None, special_offered=False):
    """``form`` (a mapping of the page's fields: title_type, invoice_type (普票 when absent), name,
    tax_id, address_phone, bank_account, email) -> a Title whose ``problems`` lists every problem at
    once (empty: fine). ``special_offered``: the seller offers the 专票 to those who request."""
    limits = limits or FieldLimits()
    kind = _clean(form.get("title_type"))
    title = Title(kind=kind, invoice_type=_clean(form.get("invoice_type")) or INVOICE_ORDINARY,
                  name=_clean(form.get("name")), tax_id=_clean(form.get("tax_id")),
                  address_phone=_clean(form.get("address_phone")), bank_account=_clean(form.get("bank_account")),
                  email=_clean(form.get("email")).replace(" ", ""))
    problems = title.problems

    def add(name, en, zh):
        problems.append(Problem(name, en, zh))

    if kind not in (TITLE_COMPANY, TITLE_PERSON):
        add("title_type", "Choose whether the title is a company or a natural person.",
            "请选择抬头类型：单位或个人。")
    if title.invoice_type not in INVOICE_TYPES:
        add("invoice_type", "Choose an ordinary (普票) or a special VAT invoice (专票).",
            "请选择发票类型：普通发票或增值税专用发票。")
    elif title.invoice_type == INVOICE_SPECIAL and not special_offered:
        add("invoice_type", "This shop issues ordinary invoices (普票) online; ask the shop for a special VAT "
            "invoice (专票).", "本店在线只开具普通发票，如需增值税专用发票请联系商家。")
    elif title.invoice_type == INVOICE_SPECIAL and kind == TITLE_PERSON:
        # the buyer of a 专票 deducts its VAT: a taxpayer, never a natural person
        add("invoice_type", "A special VAT invoice (专票) is issued to a company only: choose the ordinary "
            "invoice (普票) for a natural person.", "增值税专用发票只能开具给单位，个人请选择普通发票。")
    if not title.name:
        add("name", "Enter the title (the company's name, or your name).", "请填写发票抬头（单位名称或个人姓名）。")
    elif len(title.name) > limits.party_name:
        add("name", f"The title is longer than {limits.party_name} characters.",
            f"发票抬头不能超过 {limits.party_name} 个字符。")
    if kind == TITLE_COMPANY and not title.tax_id:
        add("tax_id", "Enter the company's taxpayer id (unified social credit code).",
            "单位抬头必须填写纳税人识别号（统一社会信用代码）。")
    elif title.tax_id:
        try:
            title.tax_id = validate_taxpayer_id(title.tax_id)
        except InvalidTaxpayerId as error:
            add("tax_id", str(error), error.message_zh)
    if len(title.address_phone) > limits.address_phone:
        add("address_phone", f"The address and phone are longer than {limits.address_phone} characters.",
            f"地址电话不能超过 {limits.address_phone} 个字符。")
    if len(title.bank_account) > limits.bank_account:
        add("bank_account", f"The bank and account are longer than {limits.bank_account} characters.",
            f"开户行及账号不能超过 {limits.bank_account} 个字符。")
    if not title.email:
        add("email", "Enter the e-mail address that receives the e-invoice.", "请填写接收电子发票的邮箱。")
    elif not valid_email(title.email):
        add("email", f"“{title.email}” is not an e-mail address.", f"“{title.email}”不是有效的邮箱地址。")
    if kind == TITLE_PERSON:
        # a natural person's invoice prints no bank; an id card number may stand as the taxpayer id
        title.bank_account = ""
    return title
