"""The neutral documents as 诺诺's JSON, and 诺诺's answers as neutral results. Pure functions.

Field names, codes and lengths come from 诺诺's open-platform documentation as mirrored in public
SDKs; docs/providers/nuonuo.md names the source of each and what could not be confirmed.

- :func:`order`: a documents.Invoice as the ``order`` of ``requestBillingNew`` (诺税通 SaaS V2);
- :func:`invoice_result`: one item of ``queryInvoiceResult`` as an InvoiceResult (and
  :func:`file_urls`: its PDF / OFD / XML addresses);
- :func:`red_form`: a documents.RedForm as ``saveInvoiceRedConfirm`` takes it, with the blue
  invoice it reverses; :func:`red_form_result`: one form of ``queryInvoiceRedConfirm``;
- :func:`quota_result`: ``getCreditLine``'s answer as a QuotaResult;
- :data:`LIMITS`: 诺诺's field lengths as fapiao.rules.FieldLimits, and :func:`problems`: what 诺诺
  refuses beyond them, found before sending.
"""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from ...chinatime import CHINA
from ...documents import RED_FORM_STATES, InvoiceResult, QuotaResult, RedFormLine, RedFormResult
from ...errors import FieldError
from ...rules import FieldLimits

# 数电 invoice kinds (invoiceLine / blueInvoiceLine): ours -> 诺诺's.
INVOICE_LINES = {"01": "bs", "02": "pc"}     # 数电专票（电子） / 数电普票（电子）
INVOICE_LINE_TYPES = {line: ours for ours, line in INVOICE_LINES.items()}
BLUE, RED = "1", "2"                          # invoiceType
PUSH_NONE = "-1"                              # pushMode: Odoo delivers the invoice itself
LINE_PROPERTIES = {"normal": "0", "discount": "1", "discounted": "2"}   # invoiceLineProperty
# favouredPolicyFlag of 数电 invoices, by our preferential_policy (fapiao.taxpolicy.POLICIES).
POLICY_FLAGS = {
    "简易征收": "01", "稀土产品": "02", "免税": "03", "不征税": "04", "先征后退": "05", "100%先征后退": "06",
    "50%先征后退": "07", "按3%简易征收": "08", "按5%简易征收": "09", "按5%简易征收减按1.5%计征": "10",
    "即征即退30%": "11", "即征即退50%": "12", "即征即退70%": "13", "即征即退100%": "14",
    "超税负3%即征即退": "15", "超税负8%即征即退": "16", "超税负12%即征即退": "17", "超税负6%即征即退": "18",
}
POLICIES_BY_FLAG = {flag: policy for policy, flag in POLICY_FLAGS.items()}
# redReason: 1 销货退回, 2 开票有误, 3 服务中止, 4 销售折让; ours are the bureau's (documents.RED_REASONS).
RED_REASONS = {"01": "2", "02": "1", "03": "3", "04": "4"}
RED_REASONS_BACK = {theirs: ours for ours, theirs in RED_REASONS.items()}
SELLER, BUYER = "0", "1"                      # applySource / identity
APPLICANTS = {SELLER: "seller", BUYER: "buyer"}
# queryInvoiceResult status -> ours. 24 (issued, seal failed) waits for reInvoice; 31 is voiding.
STATUSES = {"2": "issued", "20": "pending", "21": "pending", "22": "failed", "24": "pending",
            "3": "void", "31": "pending"}
ISSUED, FAILED, SEAL_FAILED = "2", "22", "24"
RED_FORM_APPLYING, RED_FORM_APPLICATION_FAILED = "15", "16"   # 诺诺's own states of a form
MAX_DETAIL_LINES = 2000

# requestBillingNew's lengths (characters); orderNo is 20 at most, so our serial numbers must fit.
LIMITS = FieldLimits(serial_no=20, party_name=100, address_phone=100, bank_account=100, email=50,
                     line_name=90, spec=40, unit=20, remark=200, issuer=20)
# ... and those of single fields that fapiao.rules counts only together: (attribute, path, most).
PARTY_FIELD_LIMITS = {"seller": (("address", "address", 80), ("phone", "phone", 20)),
                      "buyer": (("address", "address", 80), ("phone", "phone", 50))}
NUMBER_LENGTH = 16          # num, price, tax, taxExcludedAmount, taxIncludedAmount: characters as sent

_PLAIN_DECIMAL = re.compile(r"^[+-]?[0-9]{1,18}(\.[0-9]{1,20})?$")
_NAME_PREFIX = re.compile(r"^\*[^*]*\*")


# --- writing ---------------------------------------------------------------------------------------

def _money(value):
    return None if value is None else f"{value.quantize(Decimal('0.01')):f}"


def _number(value):
    """Plain decimal text, at most 8 decimals, no trailing zeros (诺诺's price and num)."""
    if value is None:
        return None
    text = f"{value.quantize(Decimal('0.00000001')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _rate(value):
    text = f"{value.normalize():f}"
    return "0" if text in ("0", "-0") else text


def _compact(data):
    return {key: value for key, value in data.items() if value not in (None, "")}


def goods_name(name):
    """The item name without our printed *简称* prefix: 诺诺 prints the 简称 of the goodsCode itself
    (its answers carry it apart, as itemCodeAbb)."""
    return _NAME_PREFIX.sub("", name or "", count=1)


def _account(party):
    return " ".join(part for part in (party.bank_name, party.bank_account) if part)


def detail(line):
    """One invoiceDetail row. A discount row carries amounts only (no price, no quantity)."""
    row = {
        "goodsName": goods_name(line.name),
        "goodsCode": line.classification_code,
        "specType": line.spec,
        "unit": line.unit,
        "withTaxFlag": "0",
        "taxRate": _rate(line.tax_rate),
        "taxExcludedAmount": _money(line.amount),
        "tax": _money(line.tax_amount),
        "taxIncludedAmount": _money(line.amount_with_tax),
        "invoiceLineProperty": LINE_PROPERTIES.get(line.line_type, "0"),
        "favouredPolicyFlag": POLICY_FLAGS.get(line.preferential_policy, ""),
    }
    if line.line_type != "discount" and line.quantity is not None and line.unit_price is not None:
        row["num"] = _number(line.quantity)
        row["price"] = _number(line.unit_price)
    return _compact(row)


def order(invoice, *, seller_tax_id, invoice_date, extension_number=""):
    """``{"order": ...}`` of requestBillingNew for a blue 数电 invoice. ``invoice_date``: the
    order time, Beijing time ``YYYY-MM-DD HH:MM:SS`` (:func:`china_time_text`)."""
    seller, buyer = invoice.seller, invoice.buyer
    natural_person = invoice.invoice_type == "02" and buyer.natural_person
    return {"order": _compact({
        "orderNo": invoice.serial_no,
        "invoiceDate": invoice_date,
        "invoiceType": BLUE,
        "invoiceLine": INVOICE_LINES.get(invoice.invoice_type, ""),
        "pushMode": PUSH_NONE,
        "salerTaxNum": seller_tax_id,
        "salerTel": seller.phone,
        "salerAddress": seller.address,
        "salerAccount": _account(seller),
        "buyerName": buyer.name,
        "buyerTaxNum": buyer.tax_id,
        "buyerTel": buyer.phone,
        "buyerAddress": buyer.address,
        "buyerAccount": _account(buyer),
        "naturalPersonFlag": "1" if natural_person else "",
        "clerk": invoice.issuer,
        "remark": invoice.remark,
        "extensionNumber": extension_number,
        "invoiceDetail": [detail(line) for line in invoice.lines],
    })}


def china_time_text(moment):
    """An aware datetime (or epoch seconds) as Beijing ``YYYY-MM-DD HH:MM:SS``."""
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, UTC)
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M:%S")


def red_form(form, blue, *, seller_tax_id, extension_number=""):
    """saveInvoiceRedConfirm's body for ``form`` (documents.RedForm) against ``blue``, the blue
    documents.Invoice as it was issued (诺诺 wants its kind, parties and, for a partial reversal,
    each reversed row's name, code and rate). The form's serial number is its billId, which 诺诺
    keeps unique: a form applied twice is refused, then read back by it."""
    rows = []
    by_number = {line.line_no or index + 1: line for index, line in enumerate(blue.lines)}
    for form_line in form.lines:
        original = by_number.get(form_line.blue_line_no)
        if original is None:
            continue   # problems() reports it
        rows.append(_compact({
            "blueDetailIndex": str(form_line.blue_line_no),
            "goodsName": goods_name(original.name),
            "goodsCode": original.classification_code,
            "specType": original.spec,
            "unit": original.unit,
            "num": _number(form_line.quantity),
            "taxExcludedPrice": _number(original.unit_price) if form_line.quantity is not None else None,
            "taxExcludedAmount": _money(form_line.amount),
            "taxAmount": _money(form_line.tax_amount),
            "taxRate": _rate(original.tax_rate),
            "favouredPolicyFlag": POLICY_FLAGS.get(original.preferential_policy, ""),
        }))
    body = _compact({
        "billId": form.serial_no,
        "blueInvoiceLine": INVOICE_LINES.get(blue.invoice_type, ""),
        "applySource": BUYER if form.applicant == "buyer" else SELLER,
        "blueElecInvoiceNumber": form.blue_invoice_number,
        "sellerTaxNo": seller_tax_id,
        "sellerName": blue.seller.name,
        "buyerTaxNo": blue.buyer.tax_id,
        "buyerName": blue.buyer.name,
        "redReason": RED_REASONS.get(form.reason, ""),
        "extensionNumber": extension_number,
    })
    if rows:
        body["detail"] = rows
    return body


# --- checks before sending --------------------------------------------------------------------------

def _too_long(path, count, limit, what_en="", what_zh=""):
    return FieldError.at(path, "TOO_LONG", f"{what_en}has {count} characters (诺诺 takes at most {limit})",
                         f"{what_zh}有 {count} 个字符（诺诺最多 {limit} 个）", length=count, limit=limit)


def _party_problems(role, party):
    """Address and phone each within 诺诺's length, and the account as sent (bank, a space, number)."""
    if party is None:
        return []
    errors = [_too_long(f"{role}.{path}", len(value), limit)
              for attribute, path, limit in PARTY_FIELD_LIMITS[role]
              for value in [getattr(party, attribute) or ""] if len(value) > limit]
    sent, apart = _account(party), len(party.bank_name or "") + len(party.bank_account or "")
    if len(sent) > LIMITS.bank_account >= apart:   # longer than rules counted only by the space
        errors.append(_too_long(f"{role}.bankAccount", len(sent), LIMITS.bank_account,
                                "and bank name, with the space between them, ", "与开户银行（含中间空格）合计"))
    return errors


# Numbers of a row as sent, by 诺诺's name: (our path name, attribute, how it is written).
_NUMBERS = (("num", "quantity", "quantity", _number), ("price", "unitPrice", "unit_price", _number),
            ("taxExcludedAmount", "amount", "amount", _money), ("tax", "taxAmount", "tax_amount", _money),
            ("taxIncludedAmount", "amountWithTax", "amount_with_tax", _money))


def _number_problems(index, line):
    errors = []
    for _name, path, attribute, write in _NUMBERS:
        value = getattr(line, attribute, None)
        if not isinstance(value, Decimal) or not value.is_finite():
            continue   # fapiao.rules reports it
        try:
            count = len(write(value))
        except InvalidOperation:
            count = len(f"{value:f}")
        if count > NUMBER_LENGTH:
            errors.append(_too_long(f"lines[{index}].{path}", count, NUMBER_LENGTH, "as sent "))
    return errors


def problems(invoice):
    """What 诺诺 refuses that fapiao.rules (with :data:`LIMITS`) does not check: the kind of
    invoice, the number of rows, a policy 诺诺 has no flag for, the lengths of the parties'
    single fields and of numbers as sent -> [FieldError]. (rules checks the discount rows: right
    after the row they discount, with its name.)"""
    errors = _party_problems("seller", invoice.seller) + _party_problems("buyer", invoice.buyer)
    if invoice.invoice_type not in INVOICE_LINES:
        errors.append(FieldError.at("invoiceType", "NUONUO_INVOICE_TYPE",
                                    f"{invoice.invoice_type!r} cannot be issued through 诺诺 (01 or 02 only)",
                                    f"{invoice.invoice_type!r} 不能通过诺诺开具（仅支持 01、02）",
                                    value=invoice.invoice_type))
    if len(invoice.lines) > MAX_DETAIL_LINES:
        errors.append(FieldError.at("lines", "NUONUO_TOO_MANY_LINES",
                                    f"has {len(invoice.lines)} lines; 诺诺 takes {MAX_DETAIL_LINES} at most, "
                                    "discount lines included",
                                    f"共 {len(invoice.lines)} 行；诺诺最多 {MAX_DETAIL_LINES} 行（含折扣行）",
                                    limit=MAX_DETAIL_LINES, length=len(invoice.lines)))
    for index, line in enumerate(invoice.lines):
        errors += _number_problems(index, line)
        policy = line.preferential_policy
        if policy and policy not in POLICY_FLAGS:
            errors.append(FieldError.at(f"lines[{index}].preferentialPolicy", "NUONUO_POLICY",
                                        f"{policy} has no 诺诺 flag (favouredPolicyFlag)",
                                        f"{policy} 在诺诺没有对应的优惠政策标识", value=policy))
    return errors


def red_form_problems(form, blue):
    """Rows of a partial reversal that the blue invoice does not have -> [FieldError]."""
    numbers = {line.line_no or index + 1 for index, line in enumerate(blue.lines)}
    return [FieldError.at(f"lines[{index}].blueLineNo", "NUONUO_BLUE_LINE",
                          f"{line.blue_line_no} is not a line of the blue invoice",
                          f"{line.blue_line_no} 不是蓝字发票的明细行", value=line.blue_line_no)
            for index, line in enumerate(form.lines) if line.blue_line_no not in numbers]


# --- reading ----------------------------------------------------------------------------------------

def _text(data, key):
    value = data.get(key)
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()


def _decimal(data, key):
    text = _text(data, key)
    if not _PLAIN_DECIMAL.match(text):
        return None
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only plain numbers
        return None


def _epoch_ms_text(value):
    """诺诺's invoiceTime (epoch milliseconds) as ISO 8601 with +08:00; "" when unreadable."""
    try:
        ms = int(str(value))
    except (TypeError, ValueError):
        return ""
    if not 0 < ms < 10 ** 14:
        return ""
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(CHINA).isoformat()


def _invoice_type(data):
    kind = _text(data, "invoiceKind")
    if "专用发票" in kind:
        return "01"
    if "普通发票" in kind:
        return "02"
    return INVOICE_LINE_TYPES.get(_text(data, "invoiceLine"), "")


def invoice_result(data):
    """One item of queryInvoiceResult's ``result`` -> InvoiceResult (serial_no: the orderNo, ours).
    A seal failure (24) stays pending with failure_code "24": the client asks for reInvoice."""
    data = data if isinstance(data, dict) else {}
    status = _text(data, "status")
    result = InvoiceResult(
        serial_no=_text(data, "orderNo"),
        status=STATUSES.get(status, "pending" if not status else ""),
        invoice_number=_text(data, "allElectronicInvoiceNumber") or _text(data, "invoiceNo"),
        invoice_type=_invoice_type(data),
        issue_time=_epoch_ms_text(data.get("invoiceTime")),
        qr_payload=_text(data, "qrCode"),
        total_amount=_decimal(data, "exTaxAmount"),
        total_tax=_decimal(data, "taxAmount"),
        total_with_tax=_decimal(data, "orderAmount"),
        blue_invoice_number=_text(data, "oldEleInvoiceNumber") or _text(data, "oldInvoiceNo"),
        buyer_tax_id=_text(data, "payerTaxNo"),
        buyer_name=_text(data, "payerName"),
    )
    if status in (FAILED, SEAL_FAILED) or result.status == "":
        result.failure_code = status or "UNKNOWN_STATUS"
        result.failure_message = _text(data, "failCause") or _text(data, "statusMsg")
        if result.status == "":
            result.status = "pending"   # an unknown status is never taken for an outcome
    if status in ("20", "21", FAILED):
        result.invoice_number = ""   # no invoice (yet): nothing to book under a number
    return result


def nuonuo_serial(data):
    """诺诺's own serial number of a result (invoiceSerialNum / serialNo: fpqqlsh of reInvoice)."""
    return _text(data if isinstance(data, dict) else {}, "serialNo")


def file_urls(data):
    """The files of an issued invoice, by format: pdf, ofd, xml (those 诺诺 gave)."""
    data = data if isinstance(data, dict) else {}
    urls = {"pdf": _text(data, "pdfUrl"), "ofd": _text(data, "ofdUrl"), "xml": _text(data, "xmlUrl")}
    return {kind: url for kind, url in urls.items() if url}


def red_form_result(data, identity=SELLER):
    """One form of queryInvoiceRedConfirm's ``list`` -> RedFormResult. 诺诺's own states 15
    (applying) and 16 (application failed) have no bureau state: ``status`` is then ""
    (:func:`red_form_phase` tells which)."""
    data = data if isinstance(data, dict) else {}
    status = _text(data, "billStatus")
    source = _text(data, "applySource")
    lines = []
    for row in data.get("detail") or []:
        if not isinstance(row, dict):
            continue
        try:
            number = int(_text(row, "blueDetailIndex"))
        except ValueError:
            continue
        lines.append(RedFormLine(blue_line_no=number, amount=_decimal(row, "taxExcludedAmount"),
                                 tax_amount=_decimal(row, "taxAmount"), quantity=_decimal(row, "num")))
    return RedFormResult(
        form_number=_text(data, "billNo"),
        status=status if status in RED_FORM_STATES else "",
        serial_no=_text(data, "billId"),
        blue_invoice_number=_text(data, "blueElecInvoiceNumber") or _text(data, "blueInvoiceNumber"),
        reason=RED_REASONS_BACK.get(_text(data, "redReason"), ""),
        applicant=APPLICANTS.get(source, ""),
        direction=("outbound" if source == identity else "inbound") if source in APPLICANTS else "",
        total_amount=_decimal(data, "taxExcludedAmount"),
        total_tax=_decimal(data, "taxAmount"),
        created_at=_text(data, "billTime"),
        expires_at=_form_expiry(_text(data, "billTime")),
        red_invoice_number=_text(data, "redInvoiceNumber"),
        lines=lines,
    )


FORM_LIFETIME = timedelta(hours=72)   # the bureau's rule: an unanswered form lapses (S1)


def _form_expiry(bill_time):
    """诺诺 states no expiry: 72 hours after ``billTime`` (China time, ``YYYY-MM-DD HH:MM:SS``), in
    the same form; "" when the time is unreadable."""
    try:
        return (datetime.strptime(bill_time, "%Y-%m-%d %H:%M:%S") + FORM_LIFETIME).strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return ""


def red_form_phase(data):
    """"applying", "application_failed" or "" for one form of queryInvoiceRedConfirm."""
    status = _text(data if isinstance(data, dict) else {}, "billStatus")
    return {RED_FORM_APPLYING: "applying", RED_FORM_APPLICATION_FAILED: "application_failed"}.get(status, "")


def quota_result(data):
    """getCreditLine's ``result`` (queryType 1) -> QuotaResult; None while 诺诺 holds no figure."""
    data = data if isinstance(data, dict) else {}
    remaining = _decimal(data, "availableCreditLine")
    if remaining is None:
        return None
    return QuotaResult(total=_decimal(data, "totalCreditLine"), used=_decimal(data, "usedCreditLine"),
                       remaining=remaining, period=_text(data, "amountUpdateTime")[:7])
