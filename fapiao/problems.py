"""Problems in words for a person: where each one is, in English or Chinese.

A :class:`~fapiao.errors.FieldError` says where a problem is twice: ``field``,
the path in our protocol's names (``lines[2].taxRate``, for logs and programs),
and ``line`` (0-based document line, or None) with ``attribute``, the neutral
document attribute (``tax_rate``, ``buyer.tax_id``, ``lines``): the names of
:mod:`fapiao.documents`, which any ERP can map to what its users see.

:func:`describe_problems` turns a list of them into one text in one language,
naming lines and attributes with the labels the caller passes (the Odoo layer
passes its lines as the user sees them and its fields' labels), else with the
document's own labels below. No wire path ever shows, and no English sentence
stands next to a Chinese one.
"""

import re

# Neutral attribute -> (English, Chinese), in document order: the labels the
# messages of fapiao.rules start with.
DOCUMENT_LABELS = {
    "serial_no": ("serial number", "流水号"),
    "invoice_type": ("invoice type", "发票类型"),
    "kind": ("kind", "蓝字/红字标志"),
    "blue_invoice_number": ("blue invoice number", "蓝字发票号码"),
    "red_form_number": ("red form number", "红字确认单编号"),
    "reason": ("reason", "红冲原因"),
    "applicant": ("applicant", "录入方"),
    "seller": ("seller", "销售方"),
    "buyer": ("buyer", "购买方"),
    "lines": ("lines", "明细"),
    "total_amount": ("total amount", "合计金额"),
    "total_tax": ("total tax", "合计税额"),
    "total_with_tax": ("total with tax", "价税合计"),
    "issuer": ("issuer", "开票人"),
    "remark": ("remark", "备注"),
}
PARTY_LABELS = {
    "name": ("name", "名称"),
    "tax_id": ("taxpayer id", "纳税人识别号"),
    "address": ("address", "地址"),
    "phone": ("phone", "电话"),
    "bank_name": ("bank", "开户银行"),
    "bank_account": ("bank account", "银行账号"),
    "email": ("email", "邮箱"),
    "natural_person": ("natural person flag", "自然人标识"),
}
LINE_LABELS = {
    "blue_line_no": ("blue invoice line", "蓝字发票明细序号"),
    "line_type": ("line type", "发票行性质"),
    "name": ("name", "项目名称"),
    "classification_code": ("classification code", "税收分类编码"),
    "spec": ("spec", "规格型号"),
    "unit": ("unit", "单位"),
    "quantity": ("quantity", "数量"),
    "unit_price": ("unit price", "单价"),
    "amount": ("amount", "金额"),
    "tax_rate": ("tax rate", "税率"),
    "tax_amount": ("tax", "税额"),
    "amount_with_tax": ("amount with tax", "价税合计"),
    "preferential_policy": ("policy flag", "优惠政策标识"),
}

_PATH = re.compile(r"([A-Za-z_]\w*)(?:\[(\d{1,9})\])?(?:\.([A-Za-z_]\w*))?")
_CAPITAL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def attribute_name(wire_name):
    """``taxRate`` -> ``tax_rate``: our protocol's names are the attributes' in camel case."""
    return _CAPITAL.sub("_", wire_name).lower()


def locate(path):
    """(line, attribute) of a field path: ``lines[2].taxRate`` -> (2, "tax_rate"),
    ``buyer.taxId`` -> (None, "buyer.tax_id"), ``lines`` -> (None, "lines"); (None, None)
    for anything else (a file position such as ``line 3, vat_rates``)."""
    match = _PATH.fullmatch(path) if isinstance(path, str) else None
    if match is None:
        return None, None
    top, index, sub = match.groups()
    if top == "lines" and index is not None:
        return int(index), attribute_name(sub) if sub else None
    attribute = attribute_name(top)
    return None, f"{attribute}.{attribute_name(sub)}" if sub else attribute


def line_label(line, lang="en"):
    """The document's own label of a 0-based line: "line 3" / "第 3 行"."""
    return f"第 {line + 1} 行" if _is_zh(lang) else f"line {line + 1}"


def attribute_label(attribute, lang="en", in_line=False):
    """The document's own label of an attribute ("buyer taxpayer id" / "购买方纳税人识别号");
    ``in_line``: an attribute of a line. None for an attribute it does not know."""
    position = 1 if _is_zh(lang) else 0
    if in_line or attribute in LINE_LABELS:
        labels = LINE_LABELS.get(attribute)    # also a line's field checked on its own (a product's rate)
        return labels and labels[position]
    top, _, sub = (attribute or "").partition(".")
    labels = DOCUMENT_LABELS.get(top)
    if labels is None or (sub and sub not in PARTY_LABELS):
        return None
    if not sub:
        return labels[position]
    joiner = "" if position else " "
    return f"{labels[position]}{joiner}{PARTY_LABELS[sub][position]}"


def default_location(line, attribute):
    """(English, Chinese) naming where a problem is with the document's own labels, as the
    messages of fapiao.rules start: ("line 3 tax rate", "第 3 行税率"); None where unknown."""
    texts = []
    for lang in ("en", "zh"):
        parts = [] if line is None else [line_label(line, lang)]
        if attribute:
            label = attribute_label(attribute, lang, in_line=line is not None)
            if label is None:
                return None
            parts.append(label)
        if not parts:
            return None
        texts.append((" " if lang == "en" else "").join(parts))
    return tuple(texts)


def split_location(line, attribute, message, message_zh):
    """(detail, detail_zh): ``message`` and ``message_zh`` without the location they start
    with, when they start with the document's own labels of it (as our protocol's messages
    do), else (None, None)."""
    location = default_location(line, attribute)
    if location is None:
        return None, None
    en, zh = location
    if message.startswith(f"{en} ") and message_zh.startswith(zh):
        return message[len(en) + 1:], message_zh[len(zh):]
    return None, None


def describe_problem(error, lang="en", line_labels=None, label=None):
    """One problem (a FieldError) in one sentence of ``lang`` ("en" or "zh"; "zh_CN" ... too).

    ``line_labels``: {0-based line: how the person knows it}, e.g. {0: "Line 1 (激光打印机)"};
    lines it does not name are "line N" / "第 N 行". ``label``: a function of an attribute
    (``tax_rate``, ``buyer.tax_id``, ``lines``) giving its label in that language, or None for
    the document's own. A problem the error's message locates by itself (the platform's, a
    file's) keeps its message after the location.
    """
    zh = _is_zh(lang)
    where = _where(error, lang, line_labels, label)
    detail = error.detail_zh if zh else error.detail
    if detail is not None:
        if not where:
            return detail.strip()
        return f"{where}{detail}" if zh else f"{where} {detail.lstrip()}"
    message = error.message_zh if zh else error.message
    if not where and error.field and error.line is None and error.attribute is None:
        where = error.field     # a position outside any document, such as "line 3, vat_rates"
    if not where:
        return message
    return f"{where}：{message}" if zh else f"{where}: {message}"


def describe_problems(errors, lang="en", line_labels=None, label=None):
    """Every problem of ``errors`` in one text of ``lang``, one problem a line
    (see :func:`describe_problem`)."""
    return "\n".join(describe_problem(error, lang, line_labels, label) for error in errors)


def _where(error, lang, line_labels, label):
    parts = []
    if error.line is not None:
        parts.append((line_labels or {}).get(error.line) or line_label(error.line, lang))
    if error.attribute:
        text = label(error.attribute) if label else None
        text = text or attribute_label(error.attribute, lang, in_line=error.line is not None)
        parts.append(text or error.attribute.replace("_", " "))
    return ("" if _is_zh(lang) else " ").join(parts)


def _is_zh(lang):
    return (lang or "").lower().startswith("zh")
