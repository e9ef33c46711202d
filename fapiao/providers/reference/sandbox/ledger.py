"""Invoices on the platform: numbering, issuing, pending results, void, quota
and the rendered files.

An invoice belongs to the application that submitted it (its serial number
is unique per application) and is visible by number to every application of
its seller's taxpayer id.
"""

import base64
import json
from decimal import Decimal

from .... import crypto, rules
from ....documents import RED_FORM_AWAITING, RED_FORM_ISSUABLE, Invoice, InvoiceResult, QuotaResult
from ..wire import from_wire, to_wire
from . import render
from .clock import at, iso, period
from .refusal import Refusal
from .store import insert_row, marks

CENT = Decimal("0.01")
ISSUED, PENDING, FAILED, VOID, RED_REVERSED = "issued", "pending", "failed", "void", "red-reversed"
DIGITAL_TYPES = ("01", "02")
# QR type digits: 31 专票 / 32 普票; the legacy types keep their old QR codes.
QR_TYPES = {"01": "31", "02": "32", "004": "01", "007": "04", "026": "10"}
FAILURE_CODE = "ISSUE_FAILED"
FAILURE_MESSAGE = "开具失败（沙箱模拟的税务端校验失败） / issuing failed (simulated platform-side check)"
CONTENT_TYPES = {"pdf": "application/pdf", "xml": "application/xml"}
# Red forms that are not void hold amounts of their blue invoice.
ACTIVE_FORMS = (*RED_FORM_ISSUABLE, *RED_FORM_AWAITING)


def money(value):
    return Decimal(value).quantize(CENT)


def canonical_sm3(payload):
    """SM3 of a payload's canonical JSON: equal for equal content, whatever the key order."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return crypto.sm3_hex(text.encode())


def qr_payload(invoice_type, number, total_with_tax, day):
    """``01,{31|32},,{number},{totalWithTax},{YYYYMMDD},,{check}``; check = the
    first 4 hex digits (upper case) of the SM3 of all the text before it."""
    text = f"01,{QR_TYPES[invoice_type]},,{number},{total_with_tax},{day:%Y%m%d},,"
    return text + crypto.sm3_hex(text.encode())[:4].upper()


def result(row):
    """The InvoiceResult wire dict of an invoice row."""
    return to_wire(InvoiceResult(
        serial_no=row["serial_no"], status=row["status"], invoice_number=row["invoice_number"] or "",
        invoice_type=row["invoice_type"], issue_time=row["issue_time"], qr_payload=row["qr_payload"],
        total_amount=Decimal(row["total_amount"]), total_tax=Decimal(row["total_tax"]),
        total_with_tax=Decimal(row["total_with_tax"]), blue_invoice_number=row["blue_invoice_number"],
        red_form_number=row["red_form_number"], failure_code=row["failure_code"],
        failure_message=row["failure_message"], buyer_tax_id=row["buyer_tax_id"], buyer_name=row["buyer_name"],
    ))


class Ledger:
    def __init__(self, store, clock, apps, callbacks, default_quota):
        self.store = store
        self.clock = clock
        self.apps = apps
        self.callbacks = callbacks
        self.default_quota = default_quota

    # --- numbers -------------------------------------------------------------------

    def stamp(self, app, invoice_type, total_with_tax, when_ms):
        """Number, issue time and QR payload of an invoice issued at ``when_ms``."""
        day = at(when_ms)
        prefix = f"{day:%y}{app.region}1"  # year, province, channel 1 (this API)
        number = f"{prefix}{self.store.next_sequence('invoice:' + prefix):015d}"
        return number, iso(when_ms), qr_payload(invoice_type, number, total_with_tax, day)

    # --- issuing -------------------------------------------------------------------

    def by_serial(self, app_id, serial_no):
        return self.store.one("SELECT * FROM invoices WHERE app_id = ? AND serial_no = ?",
                              (app_id, serial_no))

    def refuse_duplicate(self, app_id, serial_no, payload_sm3, kind):
        """3001 with the original result when the serial number is known; 3006 when it is a
        ``kind`` (blue / red) invoice's serial number that holds the other kind: blue and red
        invoices share the serial numbers (one query answers both), never the result."""
        row = self.by_serial(app_id, serial_no)
        if row is not None and row["kind"] != kind:
            held = {"blue": "蓝字", "red": "红字"}.get(row["kind"], "")
            raise Refusal("SERIAL_IN_USE", f"流水号 {serial_no} 已用于{held}发票 / "
                                           f"serial number {serial_no} is a {row['kind']} invoice's")
        if row is not None:
            raise Refusal("DUPLICATE_SERIAL",
                          data={**result(row), "sameContent": row["payload_sm3"] == payload_sm3})

    def issue(self, app, invoice, payload_sm3, pending_seconds=None, fails=False):
        """Issue a blue invoice at once, or accept it as pending for ``pending_seconds``."""
        with self.store.transaction() as db:
            self.refuse_duplicate(app.app_id, invoice.serial_no, payload_sm3, "blue")
            now_ms = self.clock.now_ms()
            month = period(now_ms)
            total, used = self.quota_total(app), self.quota_used(app.app_id, month)
            if invoice.total_amount > total - used:
                raise Refusal("QUOTA_EXCEEDED", f"授信额度不足 / credit quota exceeded: remaining "
                                                f"{money(max(total - used, 0))}, asked {invoice.total_amount}")
            if pending_seconds is None:
                number, issue_time, qr = self.stamp(app, invoice.invoice_type, money(invoice.total_with_tax),
                                                    now_ms)
                columns = {"status": ISSUED, "invoice_number": number, "issue_time": issue_time,
                           "qr_payload": qr}
            else:  # numbered when it resolves
                columns = {"status": PENDING, "due_ms": now_ms + int(pending_seconds * 1000),
                           "resolution": FAILED if fails else ISSUED}
            return result(self.insert(db, app, invoice, payload_sm3=payload_sm3, charged_period=month,
                                      now_ms=now_ms, **columns))

    def insert(self, db, app, invoice, *, payload_sm3, charged_period, now_ms, **columns):
        """Store an invoice and its lines, charge its amount to the quota; the new row."""
        values = {
            "app_id": app.app_id, "serial_no": invoice.serial_no, "kind": invoice.kind,
            "invoice_type": invoice.invoice_type, "seller_tax_id": invoice.seller.tax_id,
            "buyer_tax_id": invoice.buyer.tax_id, "buyer_name": invoice.buyer.name,
            "total_amount": str(money(invoice.total_amount)),
            "total_tax": str(money(invoice.total_tax)), "total_with_tax": str(money(invoice.total_with_tax)),
            "blue_invoice_number": invoice.blue_invoice_number, "red_form_number": invoice.red_form_number,
            "payload": json.dumps(to_wire(invoice), ensure_ascii=False), "payload_sm3": payload_sm3,
            "period": charged_period, "created_ms": now_ms, **columns,
        }
        row = insert_row(db, "invoices", values)
        db.executemany(
            "INSERT INTO invoice_lines (invoice_id, line_no, quantity, amount, tax_amount) VALUES (?, ?, ?, ?, ?)",
            [(row["id"], line.line_no or i + 1, "" if line.quantity is None else str(line.quantity),
              str(line.amount), str(line.tax_amount)) for i, line in enumerate(invoice.lines)])
        self._charge(db, app.app_id, charged_period, invoice.total_amount)
        return row

    def promote_due(self):
        """Resolve the pending submissions whose time has come (business clock)."""
        now_ms = self.clock.now_ms()
        due = "SELECT * FROM invoices WHERE status = 'pending' AND due_ms <= ? ORDER BY due_ms, id"
        if not self.store.all(due, (now_ms,)):
            return 0
        with self.store.transaction() as db:
            rows = db.execute(due, (now_ms,)).fetchall()
            for row in rows:
                app = self.apps.get(row["app_id"])
                if row["resolution"] == FAILED:
                    db.execute("UPDATE invoices SET status = ?, failure_code = ?, failure_message = ? "
                               "WHERE id = ?", (FAILED, FAILURE_CODE, FAILURE_MESSAGE, row["id"]))
                    self._charge(db, row["app_id"], row["period"], -Decimal(row["total_amount"]))
                else:
                    number, issue_time, qr = self.stamp(app, row["invoice_type"], row["total_with_tax"],
                                                         row["due_ms"])
                    db.execute("UPDATE invoices SET status = ?, invoice_number = ?, issue_time = ?, "
                               "qr_payload = ? WHERE id = ?", (ISSUED, number, issue_time, qr, row["id"]))
                updated = db.execute("SELECT * FROM invoices WHERE id = ?", (row["id"],)).fetchone()
                self.callbacks.record(db, app, f"invoice.{updated['status']}", result(updated))
            return len(rows)

    # --- reading ---------------------------------------------------------------------

    def query(self, app, serial_nos):
        self.promote_due()
        wanted = list(dict.fromkeys(serial_nos))
        rows = self.store.all(
            f"SELECT * FROM invoices WHERE app_id = ? AND serial_no IN ({marks(wanted)})",  # noqa: S608
            [app.app_id, *wanted])
        found = {row["serial_no"]: row for row in rows}
        return {"results": [result(found[s]) for s in wanted if s in found],
                "notFound": [s for s in wanted if s not in found]}

    def by_number(self, app, number):
        """The invoice ``number`` of the app's taxpayer, or 3002."""
        row = self.store.one("SELECT * FROM invoices WHERE invoice_number = ?", (number,))
        if row is None or row["seller_tax_id"] != app.seller_tax_id:
            raise Refusal("NOT_FOUND", f"发票 {number} 不存在 / invoice {number} not found")
        return row

    def lines(self, invoice_id):
        return self.store.all("SELECT * FROM invoice_lines WHERE invoice_id = ? ORDER BY line_no", (invoice_id,))

    # --- void (legacy types only) ------------------------------------------------------

    def void(self, app, number):
        with self.store.transaction() as db:
            row = self.by_number(app, number)
            if row["invoice_type"] in DIGITAL_TYPES:
                raise Refusal("VOID_NOT_ALLOWED")
            forms = self.store.one(f"SELECT COUNT(*) FROM red_forms WHERE blue_invoice_number = ? "  # noqa: S608
                                   f"AND status IN ({marks(ACTIVE_FORMS)})",
                                   (number, *ACTIVE_FORMS))[0]
            if row["status"] != ISSUED or forms or row["kind"] != "blue":
                raise Refusal("STATE_CONFLICT", f"发票状态为 {row['status']}，不能作废 / "
                                                f"invoice is {row['status']}: it cannot be voided")
            db.execute("UPDATE invoices SET status = ? WHERE id = ?", (VOID, row["id"]))
            self._charge(db, row["app_id"], row["period"], -Decimal(row["total_amount"]))
            return result(db.execute("SELECT * FROM invoices WHERE id = ?", (row["id"],)).fetchone())

    # --- red reversal bookkeeping ------------------------------------------------------

    def reverse_lines(self, db, blue_row, form_lines):
        """Add a red invoice's (negative) lines to the blue invoice's reversed sums;
        a blue invoice with nothing left to reverse becomes red-reversed."""
        for line in form_lines:
            db.execute(
                "UPDATE invoice_lines SET reversed_quantity = ?, reversed_amount = ?, reversed_tax = ? "
                "WHERE invoice_id = ? AND line_no = ?", (*self._added(db, blue_row["id"], line),
                                                          blue_row["id"], line.blue_line_no))
        reversed_sums = {line["line_no"]: (line["reversed_quantity"], line["reversed_amount"], line["reversed_tax"])
                         for line in self.lines(blue_row["id"])}
        # The rules say what is left: a discount line counts with the line it discounts.
        left = rules.left_to_reverse(from_wire(Invoice, json.loads(blue_row["payload"])),
                                     {number: tuple(map(Decimal, sums)) for number, sums in reversed_sums.items()})
        if all(amount == 0 and tax == 0 for _, amount, tax in left.values()):
            db.execute("UPDATE invoices SET status = ? WHERE id = ?", (RED_REVERSED, blue_row["id"]))

    @staticmethod
    def _added(db, invoice_id, line):
        row = db.execute("SELECT * FROM invoice_lines WHERE invoice_id = ? AND line_no = ?",
                         (invoice_id, line.blue_line_no)).fetchone()
        quantity = Decimal(row["reversed_quantity"]) + (line.quantity or 0)
        return (str(quantity), str(Decimal(row["reversed_amount"]) + line.amount),
                str(Decimal(row["reversed_tax"]) + line.tax_amount))

    # --- quota ------------------------------------------------------------------------------

    def quota_total(self, app):
        return self.default_quota if app.quota is None else app.quota

    def quota_used(self, app_id, charged_period):
        cents = self.store.scalar("SELECT used_cents FROM quota_usage WHERE app_id = ? AND period = ?",
                                  (app_id, charged_period), 0)
        return Decimal(cents) / 100

    @staticmethod
    def _charge(db, app_id, charged_period, amount):
        db.execute("INSERT INTO quota_usage (app_id, period, used_cents) VALUES (?, ?, ?) "
                   "ON CONFLICT DO UPDATE SET used_cents = used_cents + excluded.used_cents",
                   (app_id, charged_period, int(money(amount) * 100)))

    def quota(self, app):
        current = period(self.clock.now_ms())
        total, used = self.quota_total(app), self.quota_used(app.app_id, current)
        return to_wire(QuotaResult(total=money(total), used=money(used), remaining=money(max(total - used, 0)),
                           period=current))

    # --- files ---------------------------------------------------------------------------------

    def document(self, app, number, file_format, catalogue):
        """The PDF or XML of an invoice, rendered on first download and cached."""
        row = self.by_number(app, number)
        cached = self.store.one("SELECT content, sm3 FROM documents WHERE invoice_number = ? AND format = ?",
                                (number, file_format))
        if cached is None:
            # Rendered outside the lock: a PDF takes tens of milliseconds.
            content = render.RENDERERS[file_format](render.InvoiceView.of(row, catalogue))
            with self.store.transaction() as db:
                db.execute("INSERT OR IGNORE INTO documents (invoice_number, format, content, sm3) "
                           "VALUES (?, ?, ?, ?)", (number, file_format, content, crypto.sm3_hex(content)))
            cached = self.store.one("SELECT content, sm3 FROM documents WHERE invoice_number = ? "
                                    "AND format = ?", (number, file_format))
        return {"invoiceNumber": number, "format": file_format, "fileName": f"{number}.{file_format}",
                "contentType": CONTENT_TYPES[file_format],
                "content": base64.b64encode(cached["content"]).decode("ascii"), "sm3": cached["sm3"]}
