"""Neutral documents exchanged with the tax platform, and their wire JSON.

Plain dataclasses with no Odoo and no transport detail. ``to_wire`` gives the
JSON payload of docs/protocol.md (camelCase names, amounts as decimal
strings); ``from_wire`` parses one back and raises
:class:`~fapiao.errors.ValidationFailed` listing every field it could not
read, never a bare KeyError or TypeError, whatever the input.
"""

import re
from dataclasses import dataclass, field, fields
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from .errors import FieldError, ValidationFailed

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


_DECIMAL_TEXT = re.compile(r"^[+-]?[0-9]{1,18}(\.[0-9]{1,20})?$")


def dec_str(value):
    """Decimal (or None) as a plain decimal string without exponent."""
    return None if value is None else format(value, "f")


class _Reader:
    """Reads typed values out of untrusted JSON, collecting every error."""

    def __init__(self):
        self.errors = []

    def error(self, path, code, en, zh):
        self.errors.append(FieldError(path, code, en, zh))

    def obj(self, value, path):
        if isinstance(value, dict):
            return value
        if value is not None:
            self.error(path, "TYPE", "must be an object", "必须是对象")
        return {}

    def text(self, data, key, path, required=False):
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.error(path, "REQUIRED", "is required", "必填")
            return ""
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(path, "TYPE", "must be a string", "必须是字符串")
            return ""
        return str(value)

    def decimal(self, data, key, path, required=True):
        value = data.get(key)
        if value is None or value == "":
            if required:
                self.error(path, "REQUIRED", "is required", "必填")
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            self.error(path, "TYPE", "must be a decimal string such as \"12.34\"",
                       "必须是数字字符串，如“12.34”")
            return None
        text = str(value)
        # Plain decimal notation only: no exponent, spaces or digit separators,
        # so that no input can expand into a huge number.
        if not _DECIMAL_TEXT.match(text):
            self.error(path, "NUMBER", f"{text[:40]!r} is not a plain decimal number such as \"12.34\"",
                       "不是有效数字（应为“12.34”这样的格式）")
            return None
        try:
            return Decimal(text)
        except InvalidOperation:
            self.error(path, "NUMBER", f"{text[:40]!r} is not a number", "不是有效数字")
            return None

    def boolean(self, data, key, path):
        value = data.get(key, False)
        if not isinstance(value, bool):
            self.error(path, "TYPE", "must be true or false", "必须是 true 或 false")
            return False
        return value

    def integer(self, data, key, path, required=False):
        value = data.get(key)
        if value is None:
            if required:
                self.error(path, "REQUIRED", "is required", "必填")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, "TYPE", "must be an integer", "必须是整数")
            return None
        return value

    def items(self, data, key, path):
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.error(path, "TYPE", "must be a list", "必须是数组")
            return []
        return value

    def done(self, result):
        if self.errors:
            raise ValidationFailed(self.errors)
        return result


def _compact(wire):
    """Drop empty optional values so payloads stay small and canonical."""
    return {k: v for k, v in wire.items() if v not in (None, "", [], False) or k in _KEEP_EMPTY}


_KEEP_EMPTY = frozenset({"lines"})


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

    _WIRE: ClassVar[dict] = {"name": "name", "tax_id": "taxId", "address": "address", "phone": "phone",
             "bank_name": "bankName", "bank_account": "bankAccount", "email": "email"}

    def to_wire(self):
        wire = {w: getattr(self, a) for a, w in self._WIRE.items()}
        wire["naturalPerson"] = self.natural_person
        return _compact(wire)

    @classmethod
    def read(cls, reader, data, path):
        data = reader.obj(data, path)
        values = {a: reader.text(data, w, f"{path}.{w}", required=(a == "name"))
                  for a, w in cls._WIRE.items()}
        return cls(natural_person=reader.boolean(data, "naturalPerson", f"{path}.naturalPerson"), **values)


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
    line_no: int | None = None      # 序号, 1-based; set by to_wire when missing

    def to_wire(self, index=0):
        return _compact({
            "lineNo": self.line_no or index + 1,
            "lineType": self.line_type,
            "name": self.name,
            "classificationCode": self.classification_code,
            "spec": self.spec,
            "unit": self.unit,
            "quantity": dec_str(self.quantity),
            "unitPrice": dec_str(self.unit_price),
            "amount": dec_str(self.amount),
            "taxRate": dec_str(self.tax_rate),
            "taxAmount": dec_str(self.tax_amount),
            "amountWithTax": dec_str(self.amount_with_tax),
            "preferentialPolicy": self.preferential_policy,
        })

    @classmethod
    def read(cls, reader, data, path):
        data = reader.obj(data, path)
        return cls(
            line_no=reader.integer(data, "lineNo", f"{path}.lineNo"),
            line_type=reader.text(data, "lineType", f"{path}.lineType") or "normal",
            name=reader.text(data, "name", f"{path}.name", required=True),
            classification_code=reader.text(data, "classificationCode", f"{path}.classificationCode",
                                            required=True),
            spec=reader.text(data, "spec", f"{path}.spec"),
            unit=reader.text(data, "unit", f"{path}.unit"),
            quantity=reader.decimal(data, "quantity", f"{path}.quantity", required=False),
            unit_price=reader.decimal(data, "unitPrice", f"{path}.unitPrice", required=False),
            amount=reader.decimal(data, "amount", f"{path}.amount"),
            tax_rate=reader.decimal(data, "taxRate", f"{path}.taxRate"),
            tax_amount=reader.decimal(data, "taxAmount", f"{path}.taxAmount"),
            amount_with_tax=reader.decimal(data, "amountWithTax", f"{path}.amountWithTax"),
            preferential_policy=reader.text(data, "preferentialPolicy", f"{path}.preferentialPolicy"),
        )


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

    def to_wire(self):
        wire = _compact({
            "serialNo": self.serial_no,
            "invoiceType": self.invoice_type,
            "seller": self.seller.to_wire(),
            "buyer": self.buyer.to_wire(),
            "lines": [line.to_wire(i) for i, line in enumerate(self.lines)],
            "totalAmount": dec_str(self.total_amount),
            "totalTax": dec_str(self.total_tax),
            "totalWithTax": dec_str(self.total_with_tax),
            "issuer": self.issuer,
            "remark": self.remark,
            "blueInvoiceNumber": self.blue_invoice_number,
            "redFormNumber": self.red_form_number,
        })
        if self.kind != "blue":
            wire["kind"] = self.kind
        return wire

    @classmethod
    def from_wire(cls, data):
        reader = _Reader()
        data = reader.obj(data, "")
        invoice = cls(
            serial_no=reader.text(data, "serialNo", "serialNo", required=True),
            invoice_type=reader.text(data, "invoiceType", "invoiceType", required=True),
            seller=Party.read(reader, data.get("seller"), "seller"),
            buyer=Party.read(reader, data.get("buyer"), "buyer"),
            lines=[InvoiceLine.read(reader, line, f"lines[{i}]")
                   for i, line in enumerate(reader.items(data, "lines", "lines"))],
            total_amount=reader.decimal(data, "totalAmount", "totalAmount"),
            total_tax=reader.decimal(data, "totalTax", "totalTax"),
            total_with_tax=reader.decimal(data, "totalWithTax", "totalWithTax"),
            issuer=reader.text(data, "issuer", "issuer"),
            remark=reader.text(data, "remark", "remark"),
            kind=reader.text(data, "kind", "kind") or "blue",
            blue_invoice_number=reader.text(data, "blueInvoiceNumber", "blueInvoiceNumber"),
            red_form_number=reader.text(data, "redFormNumber", "redFormNumber"),
        )
        return reader.done(invoice)


@dataclass
class RedFormLine:
    """A line of a partial red reversal: negative quantities and amounts."""

    blue_line_no: int               # 蓝票明细序号 (1-based)
    amount: Decimal                 # 金额（负数）
    tax_amount: Decimal             # 税额（负数）
    quantity: Decimal | None = None  # 数量（负数）

    def to_wire(self):
        return _compact({"blueLineNo": self.blue_line_no, "quantity": dec_str(self.quantity),
                         "amount": dec_str(self.amount), "taxAmount": dec_str(self.tax_amount)})

    @classmethod
    def read(cls, reader, data, path):
        data = reader.obj(data, path)
        return cls(
            blue_line_no=reader.integer(data, "blueLineNo", f"{path}.blueLineNo", required=True),
            quantity=reader.decimal(data, "quantity", f"{path}.quantity", required=False),
            amount=reader.decimal(data, "amount", f"{path}.amount"),
            tax_amount=reader.decimal(data, "taxAmount", f"{path}.taxAmount"),
        )


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

    def to_wire(self):
        return _compact({"serialNo": self.serial_no, "blueInvoiceNumber": self.blue_invoice_number,
                         "reason": self.reason, "applicant": self.applicant,
                         "lines": [line.to_wire() for line in self.lines]})

    @classmethod
    def from_wire(cls, data):
        reader = _Reader()
        data = reader.obj(data, "")
        form = cls(
            serial_no=reader.text(data, "serialNo", "serialNo", required=True),
            blue_invoice_number=reader.text(data, "blueInvoiceNumber", "blueInvoiceNumber", required=True),
            reason=reader.text(data, "reason", "reason", required=True),
            applicant=reader.text(data, "applicant", "applicant") or "seller",
            lines=[RedFormLine.read(reader, line, f"lines[{i}]")
                   for i, line in enumerate(reader.items(data, "lines", "lines"))],
        )
        return reader.done(form)


def _result_from_wire(cls, data, text_fields, decimal_fields=(), *, extra=None):
    reader = _Reader()
    data = reader.obj(data, "")
    values = {a: reader.text(data, w, w) for a, w in text_fields.items()}
    values.update({a: reader.decimal(data, w, w, required=False) for a, w in decimal_fields.items()})
    if extra:
        values.update(extra(reader, data))
    return reader.done(cls(**values))


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

    _TEXT: ClassVar[dict] = {"serial_no": "serialNo", "status": "status", "invoice_number": "invoiceNumber",
             "invoice_type": "invoiceType", "issue_time": "issueTime", "qr_payload": "qrPayload",
             "blue_invoice_number": "blueInvoiceNumber", "red_form_number": "redFormNumber",
             "failure_code": "failureCode", "failure_message": "failureMessage",
             "buyer_tax_id": "buyerTaxId", "buyer_name": "buyerName"}
    _DECIMAL: ClassVar[dict] = {"total_amount": "totalAmount", "total_tax": "totalTax",
                                "total_with_tax": "totalWithTax"}

    def to_wire(self):
        wire = {w: getattr(self, a) for a, w in self._TEXT.items()}
        wire.update({w: dec_str(getattr(self, a)) for a, w in self._DECIMAL.items()})
        return _compact(wire)

    @classmethod
    def from_wire(cls, data):
        return _result_from_wire(cls, data, cls._TEXT, cls._DECIMAL)


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

    _TEXT: ClassVar[dict] = {"form_number": "formNumber", "status": "status", "serial_no": "serialNo",
             "blue_invoice_number": "blueInvoiceNumber", "reason": "reason", "applicant": "applicant",
             "direction": "direction", "created_at": "createdAt", "expires_at": "expiresAt",
             "red_invoice_number": "redInvoiceNumber"}
    _DECIMAL: ClassVar[dict] = {"total_amount": "totalAmount", "total_tax": "totalTax"}

    def to_wire(self):
        wire = {w: getattr(self, a) for a, w in self._TEXT.items()}
        wire.update({w: dec_str(getattr(self, a)) for a, w in self._DECIMAL.items()})
        wire["lines"] = [line.to_wire() for line in self.lines]
        return _compact(wire)

    @classmethod
    def from_wire(cls, data):
        def lines(reader, data):
            return {"lines": [RedFormLine.read(reader, line, f"lines[{i}]")
                              for i, line in enumerate(reader.items(data, "lines", "lines"))]}
        return _result_from_wire(cls, data, cls._TEXT, cls._DECIMAL, extra=lines)


@dataclass
class QuotaResult:
    """Credit quota (授信额度) of the current period, amounts excluding tax."""

    total: Decimal | None = None
    used: Decimal | None = None
    remaining: Decimal | None = None
    period: str = ""                # YYYY-MM

    _DECIMAL: ClassVar[dict] = {"total": "total", "used": "used", "remaining": "remaining"}

    def to_wire(self):
        wire = {w: dec_str(getattr(self, a)) for a, w in self._DECIMAL.items()}
        wire["period"] = self.period
        return _compact(wire)

    @classmethod
    def from_wire(cls, data):
        return _result_from_wire(cls, data, {"period": "period"}, cls._DECIMAL)


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

    def to_wire(self):
        return {
            "code": self.code, "name": self.name, "shortName": self.short_name,
            "vatRates": [dec_str(r) for r in self.vat_rates], "keywords": self.keywords,
            "isSummary": self.is_summary, "usable": self.usable, "vatSpecial": self.vat_special,
            "vatSpecialCode": self.vat_special_code, "vatPolicyBasis": self.vat_policy_basis,
            "parentCode": self.parent_code, "version": self.version,
            "effectiveDate": self.effective_date, "updatedAt": self.updated_at,
        }

    @classmethod
    def from_wire(cls, data):
        reader = _Reader()
        data = reader.obj(data, "")
        text = {"code": "code", "name": "name", "short_name": "shortName", "keywords": "keywords",
                "vat_special": "vatSpecial", "vat_special_code": "vatSpecialCode",
                "vat_policy_basis": "vatPolicyBasis", "parent_code": "parentCode",
                "version": "version", "effective_date": "effectiveDate"}
        values = {a: reader.text(data, w, w, required=a in ("code", "name")) for a, w in text.items()}
        rates = []
        for i, raw in enumerate(reader.items(data, "vatRates", "vatRates")):
            rate = reader.decimal({"rate": raw}, "rate", f"vatRates[{i}]")
            if rate is not None:
                rates.append(rate)
        entry = cls(vat_rates=tuple(rates), is_summary=reader.boolean(data, "isSummary", "isSummary"),
                    usable=data.get("usable", True) is not False,
                    updated_at=reader.integer(data, "updatedAt", "updatedAt") or 0, **values)
        return reader.done(entry)


@dataclass
class DocumentFile:
    """A downloaded invoice file (PDF or XML)."""

    invoice_number: str
    format: str                     # pdf / xml
    file_name: str
    content: bytes = b""
    sm3: str = ""                   # SM3 of content, hex, as the platform sent it


def field_names(cls):
    """Dataclass field names, for code that maps records onto documents."""
    return [f.name for f in fields(cls) if not f.name.startswith("_")]
