"""The tax classification code table (商品和服务税收分类编码表).

Loaded from the CSV shipped in ``data/`` (see data/README in the shared
notes for its columns) or from the platform's catalogue service. Codes have
19 digits with hierarchy levels at lengths 1, 3, 5, ..., 19 once trailing
zeros are removed; only leaf rows may be used on an invoice line.
"""

import csv
import io
import os
from decimal import Decimal, InvalidOperation

from .documents import CatalogueEntry

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


def format_rate(rate):
    """Decimal("0.13") -> "13%"."""
    return f"{(rate * 100).normalize():f}%"


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
