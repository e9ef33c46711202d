"""The tax classification code table (商品和服务税收分类编码表).

Loaded from the CSV shipped in ``data/`` (see data/README in the shared
notes for its columns) or from the platform's catalogue service. Codes have
19 digits with hierarchy levels at lengths 1, 3, 5, ..., 19 once trailing
zeros are removed; only leaf rows may be used on an invoice line.
"""

import contextlib
import csv
import datetime
import io
import os
import re
from decimal import Decimal, InvalidOperation

from . import suggest
from .documents import CatalogueEntry
from .errors import FieldError, ValidationFailed
from .taxpolicy import (  # noqa: F401 (named here as before)
    LEVY_RATES,
    ZERO_RATE_SPECIALS,
    allowed_rates,
    format_rate,
    rate_allowed,
    split_special,
)

DEFAULT_CSV = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                           "data", "tax_classification_codes_v32.csv")
CODE_LENGTH = 19


def parse_rates(text):
    """``"13%、9%"`` -> ``(Decimal("0.13"), Decimal("0.09"))``; unreadable parts are skipped."""
    rates = []
    for raw in (text or "").replace("，", "、").replace(",", "、").split("、"):
        percent = raw.strip().rstrip("%").strip()
        if not percent:
            continue
        try:
            rates.append((Decimal(percent) / 100).normalize())
        except InvalidOperation:
            continue
    return tuple(dict.fromkeys(rates))


def entry_from_csv_row(row):
    return CatalogueEntry(
        code=row["code"].strip(),
        name=row["name"].strip(),
        short_name=(row.get("short_name") or "").strip(),
        vat_rates=parse_rates(row.get("vat_rates")),
        keywords=(row.get("keywords") or "").strip(),
        is_summary=(row.get("is_summary") or "").strip().upper() == "Y",
        usable=(row.get("usable") or "Y").strip().upper() == "Y",
        vat_special=(row.get("vat_special") or "").strip(),
        vat_special_code=(row.get("vat_special_code") or "").strip(),
        vat_policy_basis=(row.get("vat_policy_basis") or "").strip(),
        parent_code=(row.get("parent_code") or "").strip(),
        version=(row.get("table_version") or "").strip(),
        effective_date=(row.get("effective_date") or "").strip(),
    )


def read_csv(source):
    """Entries from a CSV path, file object or text in the shipped table's columns."""
    if isinstance(source, str) and "\n" not in source:
        with open(source, encoding="utf-8-sig", newline="") as handle:
            return [entry_from_csv_row(row) for row in csv.DictReader(handle)]
    handle = io.StringIO(source) if isinstance(source, str) else source
    return [entry_from_csv_row(row) for row in csv.DictReader(handle)]


class Catalogue:
    """In-memory lookup of classification codes."""

    def __init__(self, entries=()):
        self._entries = {}
        self.update(entries)

    @classmethod
    def from_csv(cls, source=DEFAULT_CSV):
        return cls(read_csv(source))

    def update(self, entries):
        for entry in entries:
            self._entries[entry.code] = entry

    def get(self, code):
        return self._entries.get(code)

    def __contains__(self, code):
        return code in self._entries

    def __len__(self):
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries.values())

    def search(self, text, limit=20):
        """Leaf entries whose code, name, short name or keywords contain ``text``."""
        text = (text or "").strip()
        found = []
        for entry in self._entries.values():
            if entry.is_summary or not entry.usable:
                continue
            if (entry.code.startswith(text) or text in entry.name or text in entry.short_name
                    or text in entry.keywords):
                found.append(entry)
                if len(found) >= limit:
                    break
        return found

    def suggest(self, text, limit=5):
        """Leaf, usable entries for an item called ``text`` (a product name), best first:
        see :func:`fapiao.suggest.rank` (笔记本电脑 and Laptop find 电子计算机整机, 有机东北大米 大米)."""
        return suggest.rank(self._entries.values(), text, limit=limit)


# --- Levels, rates a code allows -------------------------------------------------
# Which rates a code allows, and with which policy flag: fapiao.taxpolicy (allowed_rates,
# rate_allowed, LEVY_RATES, ZERO_RATE_SPECIALS, split_special are named here too).


def is_code(text):
    """True for a well-formed classification code: 19 digits."""
    return isinstance(text, str) and len(text) == CODE_LENGTH and text.isdigit()


def code_level(code):
    """Hierarchy level of a code: 1 for ``1000000000000000000``, 10 for a full 19-digit leaf.

    Levels add two digits after the first one, so the significant length
    (trailing zeros removed) is rounded up to the next odd length: a last
    segment such as ``10`` loses its own zero.
    """
    length = len(code.rstrip("0")) or 1
    return (length + 1 + (length + 1) % 2) // 2


def format_rates(rates):
    """(Decimal("0.13"), Decimal("0.09")) -> "13%、9%", the table's own spelling."""
    return "、".join(format_rate(rate) for rate in rates)


# --- Checked reading of a CSV file (updates of the table) -----------------------

CSV_COLUMNS = ("code", "name", "short_name", "vat_rates", "keywords", "is_summary", "usable",
               "vat_special", "vat_special_code", "vat_policy_basis", "parent_code", "table_version",
               "effective_date")
REQUIRED_COLUMNS = ("code", "name", "is_summary", "parent_code")
ROOT_PARENTS = ("", "0")
MAX_FILE_ERRORS = 20
_FLAGS = {"Y": True, "N": False}


def _decode(data):
    """Text of an uploaded file: UTF-8 (with or without BOM), else GB18030 as Excel saves it in China."""
    if isinstance(data, str):
        return data
    with contextlib.suppress(UnicodeDecodeError):
        return data.decode("utf-8-sig")
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise ValidationFailed([FieldError(
            "", "ENCODING", "the file is neither UTF-8 nor GB18030 text: save it as CSV UTF-8",
            "文件不是 UTF-8 或 GB18030 文本：请另存为 CSV UTF-8")]) from None


def _rate_problem(text):
    for raw in (text or "").replace("，", "、").replace(",", "、").split("、"):
        part = raw.strip()
        if not part:
            continue
        try:
            value = Decimal(part.rstrip("%").strip())
        except InvalidOperation:
            value = None
        if not part.endswith("%") or value is None or not 0 <= value < 100:
            return part
    return None


_SCIENTIFIC = re.compile(r"[0-9]+(\.[0-9]+)?[eE][+-]?[0-9]+")


def _special_code_problem(text):
    """(English, Chinese) of what is wrong with a 增值税特殊管理 code list (digits, several joined
    by 、), or None. A spreadsheet writes a long code as a number in scientific notation
    (1.06401902E8 for 106401902): the import takes the file's text, so that it never becomes a code."""
    for raw in (text or "").replace("，", "、").replace(",", "、").split("、"):
        part = raw.strip()
        if not part or (part.isascii() and part.isdigit()):
            continue
        if _SCIENTIFIC.fullmatch(part):
            value = Decimal(part)
            # no digits for what no code can be (a fraction, or so long that writing it out would cost)
            digits = f"{value:f}" if value == value.to_integral_value() and value.adjusted() < 40 else ""
            write_en, write_zh = (f"write its digits ({digits})", f"请填写编码的数字（{digits}）") if digits \
                else ("write the code's digits", "请填写编码的数字")
            return (f"{part!r} is a number in scientific notation, as a spreadsheet shows long numbers, not a code: "
                    f"{write_en} and keep the column as text",
                    f"“{part}”是电子表格显示长数字时用的科学计数法，不是编码：{write_zh}，并将该列设为文本格式")
        return (f"{part!r} is not a code: digits only, several joined by 、",
                f"“{part}”不是有效编码：只能是数字，多个以“、”分隔")
    return None


def _date_problem(text):
    if not text:
        return False
    if len(text) != 8 or not text.isdigit():
        return True
    try:
        datetime.date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return True
    return False


def _row_errors(row, line, seen):
    """Problems of one CSV row as (column, code, English, Chinese)."""
    problems = []
    code = (row.get("code") or "").strip()
    if not is_code(code):
        problems.append(("code", "CODE_FORMAT", f"{code!r} is not a 19-digit code", f"“{code}”不是 19 位编码"))
    elif code in seen:
        problems.append(("code", "CODE_DUPLICATE", f"{code} already appears on line {seen[code]}",
                         f"{code} 与第 {seen[code]} 行重复"))
    else:
        seen[code] = line
    if not (row.get("name") or "").strip():
        problems.append(("name", "REQUIRED", "is empty", "为空"))
    bad_rate = _rate_problem(row.get("vat_rates"))
    if bad_rate is not None:
        problems.append(("vat_rates", "RATE_FORMAT",
                         f"{bad_rate!r} is not a rate such as 13% (several joined by 、)",
                         f"“{bad_rate}”不是有效税率，如 13%（多个以“、”分隔）"))
    special_code = _special_code_problem(row.get("vat_special_code"))
    if special_code is not None:
        problems.append(("vat_special_code", "SPECIAL_CODE_FORMAT", *special_code))
    for column, default in (("is_summary", "N"), ("usable", "Y")):
        flag = (row.get(column) or default).strip().upper()
        if flag not in _FLAGS:
            problems.append((column, "FLAG", f"{flag!r} must be Y or N", f"“{flag}”应为 Y 或 N"))
    parent = (row.get("parent_code") or "").strip()
    if parent not in ROOT_PARENTS and not is_code(parent):
        problems.append(("parent_code", "CODE_FORMAT", f"{parent!r} is neither 0 nor a 19-digit code",
                         f"“{parent}”既不是 0 也不是 19 位编码"))
    elif parent == code:
        problems.append(("parent_code", "PARENT_SELF", "is the row's own code", "与本行编码相同"))
    date = (row.get("effective_date") or "").strip()
    if _date_problem(date):
        problems.append(("effective_date", "DATE_FORMAT", f"{date!r} is not a date written YYYYMMDD",
                         f"“{date}”不是 YYYYMMDD 格式的日期"))
    return problems


def check_csv(data, max_errors=MAX_FILE_ERRORS):
    """Entries of an uploaded CSV file in the shipped table's columns, every row checked.

    ``data`` is bytes or text. Raises :class:`ValidationFailed` whose errors
    name the line (as a spreadsheet numbers it, the header being line 1) and
    the column, at most ``max_errors`` of them: a file is taken whole or not at
    all. Parents are not looked up here, since they may already be in the
    table the file updates.
    """
    reader = csv.DictReader(io.StringIO(_decode(data), newline=""))
    header = [name.strip() for name in reader.fieldnames or ()]
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ValidationFailed([FieldError(
            "line 1", "COLUMNS",
            f"the header lacks {', '.join(missing)}; expected columns: {', '.join(CSV_COLUMNS)}",
            f"表头缺少 {'、'.join(missing)}；应有的列：{'、'.join(CSV_COLUMNS)}")])
    reader.fieldnames = header
    errors, entries, seen = [], [], {}
    for row in reader:
        line = reader.line_num
        if None in row or None in row.values():
            problems = [("", "FIELD_COUNT", f"has a different number of fields than the header ({len(header)})",
                         f"字段数与表头（{len(header)} 列）不一致")]
        else:
            problems = _row_errors(row, line, seen)
        for column, code, en, zh in problems:
            where = f"line {line}, {column}" if column else f"line {line}"
            errors.append(FieldError(where, code, en, zh))
        if not problems:
            entries.append(entry_from_csv_row(row))
        if len(errors) >= max_errors:
            break
    if not errors and not entries:
        errors.append(FieldError("", "EMPTY", "the file has no rows", "文件没有数据行"))
    if errors:
        raise ValidationFailed(errors[:max_errors])
    return entries
