"""Neutral documents exchanged with any tax platform, through the provider contract.

Plain dataclasses with no Odoo and no transport detail: each provider
package writes and reads them in its platform's own format (ours:
fapiao.providers.reference.wire). Field errors name their fields with the
camelCase names of docs/protocol.md (``buyer.taxId``, ``lines[2].taxRate``),
whatever the platform.
"""

from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import ClassVar

INVOICE_TYPES = {"01": "专票", "02": "普票"}
LEGACY_INVOICE_TYPES = {"004": "增值税专用发票（税控）", "007": "增值税普通发票（税控）",
                        "026": "增值税电子普通发票（税控）"}
LINE_TYPES = ("normal", "discount", "discounted")
RED_REASONS = {"01": "开票有误", "02": "销货退回", "03": "服务中止", "04": "销售折让"}
# Red-letter confirmation form states; the red invoice may be issued at 01 and 04.
RED_FORM_STATES = {
    "01": "无需确认", "02": "销方录入待购方确认", "03": "购方录入待销方确认", "04": "购销双方已确认",
    "05": "作废（销方录入购方否认）", "06": "作废（购方录入销方否认）", "07": "作废（超 72 小时未确认）",
    "08": "作废（发起方已撤销）", "09": "作废（确认后撤销）", "10": "作废（异常凭证）",
}
RED_FORM_ISSUABLE = ("01", "04")
RED_FORM_AWAITING = ("02", "03")
INVOICE_STATUSES = ("issued", "pending", "failed", "void", "red-reversed")


@dataclass
class Party:
    """A seller or buyer title (发票抬头)."""

    name: str
    tax_id: str = ""            # 纳税人识别号
    address: str = ""           # 地址
    phone: str = ""             # 电话
    bank_name: str = ""         # 开户银行
    bank_account: str = ""      # 银行账号
    email: str = ""             # 交付邮箱
    natural_person: bool = False  # 自然人（仅普票）

    # The name of each text field in error paths (``buyer.taxId``: fapiao.rules); our own wire
    # format (providers/reference/wire.py) uses the same names.
    _WIRE: ClassVar[dict] = {"name": "name", "tax_id": "taxId", "address": "address", "phone": "phone",
                             "bank_name": "bankName", "bank_account": "bankAccount", "email": "email"}


@dataclass
class InvoiceLine:
    """One invoice line (发票明细行). Amounts exclude tax unless named otherwise."""

    name: str                       # 项目名称, printed *简称*名称
    classification_code: str        # 税收分类编码, 19 digits
    amount: Decimal                 # 金额（不含税）
    tax_rate: Decimal               # 税率, 0.13 for 13 %
    tax_amount: Decimal             # 税额
    amount_with_tax: Decimal        # 价税合计
    quantity: Decimal | None = None  # 数量
    unit_price: Decimal | None = None  # 单价（不含税）
    spec: str = ""                  # 规格型号
    unit: str = ""                  # 单位
    line_type: str = "normal"       # normal / discount / discounted（折扣行 / 被折扣行）
    preferential_policy: str = ""   # 优惠政策标识: 免税, 不征税, 简易征收 ...
    line_no: int | None = None      # 序号, 1-based; the line's position when missing


@dataclass
class Invoice:
    """A blue (or, for local checks, red) invoice submitted under ``serial_no``."""

    serial_no: str                  # 流水号: the idempotency key, fixed once
    invoice_type: str               # 01 专票 / 02 普票
    seller: Party
    buyer: Party
    lines: list = field(default_factory=list)
    total_amount: Decimal = Decimal("0")      # 合计金额
    total_tax: Decimal = Decimal("0")         # 合计税额
    total_with_tax: Decimal = Decimal("0")    # 价税合计
    issuer: str = ""                # 开票人
    remark: str = ""                # 备注
    kind: str = "blue"              # blue / red
    blue_invoice_number: str = ""   # for a red invoice: the blue one it reverses
    red_form_number: str = ""       # for a red invoice: its confirmation form


@dataclass
class RedFormLine:
    """A line of a partial red reversal: negative quantities and amounts."""

    blue_line_no: int               # 蓝票明细序号 (1-based)
    amount: Decimal                 # 金额（负数）
    tax_amount: Decimal             # 税额（负数）
    quantity: Decimal | None = None  # 数量（负数）


@dataclass
class RedForm:
    """A red-letter confirmation form (红字确认单) application.

    No ``lines`` means a full reversal of the blue invoice.
    """

    serial_no: str                  # 流水号 of the application
    blue_invoice_number: str        # 蓝字发票号码 (20 digits)
    reason: str                     # 01 开票有误 / 02 销货退回 / 03 服务中止 / 04 销售折让
    lines: list = field(default_factory=list)
    applicant: str = "seller"       # seller / buyer


@dataclass
class InvoiceResult:
    """What the platform says about a submission (blue or red invoice)."""

    serial_no: str
    status: str = ""                # issued / pending / failed
    invoice_number: str = ""        # 发票号码, 20 digits
    invoice_type: str = ""
    issue_time: str = ""            # ISO 8601 with +08:00
    qr_payload: str = ""            # 二维码内容
    total_amount: Decimal | None = None
    total_tax: Decimal | None = None
    total_with_tax: Decimal | None = None
    blue_invoice_number: str = ""   # set on red invoices
    red_form_number: str = ""
    failure_code: str = ""
    failure_message: str = ""
    duplicate: bool = False         # answered from an earlier submission of the serial number
    # The buyer as the platform holds it: with the totals, what shows whose invoice this is
    # (rules.result_mismatches). Empty from a platform that does not send them.
    buyer_tax_id: str = ""          # 购买方纳税人识别号
    buyer_name: str = ""            # 购买方名称

    @classmethod
    def from_wire(cls, data):
        return _reference_from_wire(cls, data)


@dataclass
class RedFormResult:
    """A red-letter confirmation form as the platform holds it."""

    form_number: str                # 红字确认单编号
    status: str = ""                # 01 .. 10, see RED_FORM_STATES
    serial_no: str = ""
    blue_invoice_number: str = ""
    reason: str = ""
    applicant: str = ""             # seller / buyer: who raised it
    direction: str = ""             # outbound (we raised it) / inbound (raised against our invoice)
    total_amount: Decimal | None = None
    total_tax: Decimal | None = None
    created_at: str = ""
    expires_at: str = ""            # unconfirmed forms lapse 72 hours after creation
    red_invoice_number: str = ""
    lines: list = field(default_factory=list)

    @classmethod
    def from_wire(cls, data):
        return _reference_from_wire(cls, data)


@dataclass
class QuotaResult:
    """Credit quota (授信额度) of the current period, amounts excluding tax."""

    total: Decimal | None = None
    used: Decimal | None = None
    remaining: Decimal | None = None
    period: str = ""                # YYYY-MM


@dataclass
class CatalogueEntry:
    """One row of the tax classification code table (商品和服务税收分类编码)."""

    code: str                       # 19 digits
    name: str
    short_name: str = ""            # 简称, printed as *简称*
    vat_rates: tuple = ()           # allowed rates as Decimals, 0.13 for 13 %
    keywords: str = ""
    is_summary: bool = False        # 汇总项: not usable on a line
    usable: bool = True             # 可用状态
    vat_special: str = ""           # 增值税特殊管理, e.g. 免税
    vat_special_code: str = ""
    vat_policy_basis: str = ""
    parent_code: str = ""
    version: str = ""
    effective_date: str = ""        # YYYYMMDD
    updated_at: int = 0             # platform change time, ms; for incremental download

    @property
    def is_leaf(self):
        return not self.is_summary


@dataclass
class DocumentFile:
    """A downloaded invoice file (PDF or XML)."""

    invoice_number: str
    format: str                     # pdf / xml
    file_name: str
    content: bytes = b""
    sm3: str = ""                   # SM3 of content, hex, as the platform sent it


def _reference_from_wire(cls, data):
    """Transitional: models/l10n_cn_einv_callback.py reads callback results with ``from_wire``
    until it uses Provider.open_callback."""
    from .providers.reference import wire  # noqa: PLC0415 (the wire module imports this one)
    return wire.from_wire(cls, data)


class Listing(list):
    """A list of results, and where the platform says so, the point from which to ask for
    what changed next (``since`` of the next call; 0 when it does not say)."""

    server_time = 0


def field_names(cls):
    """Dataclass field names, for code that maps records onto documents."""
    return [f.name for f in fields(cls) if not f.name.startswith("_")]
