"""Red-letter confirmation forms (红字确认单) and the red invoices issued from them.

A form concerns two taxpayers, the seller and the buyer of the blue invoice;
every application of either sees it, as ``outbound`` when its side raised
it and ``inbound`` otherwise. The side that did not raise a form confirms or
rejects it; the side that raised it may revoke it; only the seller issues
the red invoice. The simulated buyer of the admin endpoint raises, confirms
and rejects forms for buyers that have no application of their own.
"""

import json
import uuid
from decimal import Decimal

from .... import rules
from ....documents import (
    RED_FORM_AWAITING,
    RED_FORM_ISSUABLE,
    Invoice,
    InvoiceLine,
    RedForm,
    RedFormLine,
    RedFormResult,
)
from ..wire import errors_to_wire, from_wire, to_wire
from .apps import region_of
from .clock import at, iso, period
from .ledger import ACTIVE_FORMS, ISSUED, money, result
from .refusal import Refusal
from .store import insert_row, marks

AWAITING_SIDE = {"02": "buyer", "03": "seller"}
REJECTED = {"02": "05", "03": "06"}        # refused by the buyer / by the seller
ANSWERS = {True: ("confirmed", "确认"), False: ("rejected", "拒绝")}  # for messages
LAPSE_MS = 72 * 3600 * 1000
SIMULATED_BUYER = ""                       # app_id of forms raised through the admin endpoint


UNIT_PRICE_PLACES = Decimal("1e-8")


def _red_unit_price(blue_unit_price, quantity, amount):
    """The unit price a red line prints: the blue line's when quantity x price still gives
    the amount (within rules.QUANTITY_PRICE_TOLERANCE), else the amount's own (a line net
    of its discount, a price cut); None without a quantity, or when no price fits."""
    if quantity is None or blue_unit_price is None or quantity == 0:
        return None
    if abs(quantity * blue_unit_price - amount) <= rules.QUANTITY_PRICE_TOLERANCE:
        return blue_unit_price
    price = abs(amount / quantity)
    return price.quantize(UNIT_PRICE_PLACES) if price < rules.MAX_MAGNITUDE else None


def form_lines(row):
    """The stored (negative) lines of a form as RedFormLine objects."""
    return [RedFormLine(blue_line_no=d["blueLineNo"], amount=Decimal(d["amount"]),
                        tax_amount=Decimal(d["taxAmount"]),
                        quantity=Decimal(d["quantity"]) if d.get("quantity") else None)
            for d in json.loads(row["lines"])]


def side_of(tax_id, row):
    if tax_id == row["seller_tax_id"]:
        return "seller"
    if tax_id == row["buyer_tax_id"]:
        return "buyer"
    return None


def view(row, tax_id):
    """The form as the taxpayer ``tax_id`` sees it (RedFormResult wire)."""
    return to_wire(RedFormResult(
        form_number=row["form_number"], status=row["status"], serial_no=row["serial_no"],
        blue_invoice_number=row["blue_invoice_number"], reason=row["reason"], applicant=row["applicant"],
        direction="outbound" if side_of(tax_id, row) == row["applicant"] else "inbound",
        total_amount=Decimal(row["total_amount"]), total_tax=Decimal(row["total_tax"]),
        created_at=iso(row["created_ms"]), expires_at=iso(row["expires_ms"]),
        red_invoice_number=row["red_invoice_number"], lines=form_lines(row),
    ))


class RedForms:
    def __init__(self, store, clock, apps, ledger, callbacks):
        self.store = store
        self.clock = clock
        self.apps = apps
        self.ledger = ledger
        self.callbacks = callbacks
        self._last_stamp = store.scalar("SELECT MAX(updated_ms) FROM red_forms", default=0)

    def _stamp(self):
        """A form's change time: the business clock, but later than every stamp before, so that a
        list's serverTime (a stamp too) is passed by every change made after it."""
        with self.store.lock:
            self._last_stamp = max(self.clock.now_ms(), self._last_stamp + 1)
            return self._last_stamp

    # --- reading -------------------------------------------------------------------------

    def _visible(self, app, form_number):
        """The form if it concerns the app's taxpayer, else 3002."""
        row = self.store.one("SELECT * FROM red_forms WHERE form_number = ?", (form_number,))
        if row is None or side_of(app.seller_tax_id, row) is None:
            raise Refusal("NOT_FOUND", f"红字确认单 {form_number} 不存在 / red form {form_number} not found")
        return row

    def _by_id(self, form_id):
        return self.store.one("SELECT * FROM red_forms WHERE id = ?", (form_id,))

    def query(self, app, form_numbers=(), serial_nos=()):
        """The forms asked for by number or by the application's serial number, each once, and
        ``notFound``: what matched no form the application may see."""
        self.lapse_due()
        form_numbers, serial_nos = list(dict.fromkeys(form_numbers)), list(dict.fromkeys(serial_nos))
        rows = []
        if form_numbers:
            rows += self.store.all(f"SELECT * FROM red_forms WHERE form_number IN "  # noqa: S608
                                   f"({marks(form_numbers)})", form_numbers)
        if serial_nos:
            rows += self.store.all(f"SELECT * FROM red_forms WHERE app_id = ? AND serial_no IN "  # noqa: S608
                                   f"({marks(serial_nos)})", [app.app_id, *serial_nos])
        unique = {row["id"]: row for row in rows if side_of(app.seller_tax_id, row)}
        found_numbers = {row["form_number"] for row in unique.values()}
        found_serials = {row["serial_no"] for row in unique.values() if row["app_id"] == app.app_id}
        return {"forms": [view(row, app.seller_tax_id) for _, row in sorted(unique.items())],
                "notFound": {"formNumbers": [n for n in form_numbers if n not in found_numbers],
                             "serialNos": [s for s in serial_nos if s not in found_serials]}}

    def list(self, app, direction, status=None, since=None):
        """The forms of the application's taxpayer in ``direction`` changed after ``since``, and
        ``serverTime``: the ``since`` of the next call, which will list every later change."""
        self.lapse_due()
        sql = "SELECT * FROM red_forms WHERE (seller_tax_id = ? OR buyer_tax_id = ?)"
        params = [app.seller_tax_id, app.seller_tax_id]
        if status:
            sql += " AND status = ?"
            params.append(status)
        if since:
            sql += " AND updated_ms > ?"
            params.append(since)
        with self.store.lock:   # no change between the stamp and the read: none is missed or seen twice
            server_time = self._stamp()
            rows = self.store.all(sql + " ORDER BY id", params)
        forms = [view(row, app.seller_tax_id) for row in rows]
        return {"forms": [form for form in forms if form["direction"] == direction], "serverTime": server_time}

    # --- applying ------------------------------------------------------------------------------

    def apply(self, app, form, payload_sm3):
        """A form raised by the application, as seller (or as buyer of an invoice it received)."""
        with self.store.transaction() as db:
            row = self.store.one("SELECT * FROM red_forms WHERE app_id = ? AND serial_no = ?",
                                 (app.app_id, form.serial_no))
            if row is not None:
                raise Refusal("DUPLICATE_SERIAL", data={**view(row, app.seller_tax_id),
                                                        "sameContent": row["payload_sm3"] == payload_sm3})
            blue = self.store.one("SELECT * FROM invoices WHERE invoice_number = ?", (form.blue_invoice_number,))
            party = "seller_tax_id" if form.applicant == "seller" else "buyer_tax_id"
            if blue is None or blue[party] != app.seller_tax_id:
                raise Refusal("NOT_FOUND", f"蓝字发票 {form.blue_invoice_number} 不存在 / "
                                           f"blue invoice {form.blue_invoice_number} not found")
            row = self._create(db, app.app_id, form, blue, payload_sm3)
            return view(row, app.seller_tax_id)

    def _reserved(self, blue_number):
        """{blue line no: (quantity, amount, tax)}: the negative sums of the active forms."""
        reserved = {}
        for row in self.store.all(f"SELECT lines FROM red_forms WHERE blue_invoice_number = ? "  # noqa: S608
                                  f"AND status IN ({marks(ACTIVE_FORMS)})", (blue_number, *ACTIVE_FORMS)):
            for line in form_lines(row):
                quantity, amount, tax = reserved.get(line.blue_line_no, (Decimal(0),) * 3)
                reserved[line.blue_line_no] = (quantity + (line.quantity or 0), amount + line.amount,
                                               tax + line.tax_amount)
        return reserved

    @staticmethod
    def _full(blue_invoice):
        """A full reversal: every blue line negated (the rules refuse it after a partial one)."""
        return [RedFormLine(blue_line_no=line.line_no or i + 1, amount=-line.amount,
                            tax_amount=-line.tax_amount,
                            quantity=None if line.quantity is None else -line.quantity)
                for i, line in enumerate(blue_invoice.lines)]

    def _create(self, db, app_id, form, blue, payload_sm3):
        if blue["kind"] != "blue" or blue["status"] != ISSUED:
            raise Refusal("STATE_CONFLICT", f"蓝字发票状态为 {blue['status']}，不能红冲 / "
                                            f"the blue invoice is {blue['status']}: it cannot be reversed")
        blue_invoice = from_wire(Invoice, json.loads(blue["payload"]))
        reserved = self._reserved(blue["invoice_number"])
        errors = rules.validate_red_form(form, blue_invoice=blue_invoice, already_reversed=reserved)
        if errors:
            raise Refusal("PARAMETER_ERROR", errors=errors_to_wire(errors))
        lines = form.lines or self._full(blue_invoice)
        if form.applicant == "buyer":
            status = "03"
        else:
            status = "02" if blue["use_confirmed"] else "01"
        now_ms = self.clock.now_ms()
        # date (8) + the seller's province (2) + sequence (14)
        number = (f"{at(now_ms):%Y%m%d}{region_of(blue['seller_tax_id'])}"
                  f"{self.store.next_sequence('red-form'):014d}")
        values = {
            "form_number": number, "app_id": app_id, "serial_no": form.serial_no, "applicant": form.applicant,
            "seller_tax_id": blue["seller_tax_id"], "buyer_tax_id": blue["buyer_tax_id"],
            "blue_invoice_number": blue["invoice_number"], "reason": form.reason, "status": status,
            "lines": json.dumps([to_wire(line) for line in lines]),
            "total_amount": str(money(sum(line.amount for line in lines))),
            "total_tax": str(money(sum(line.tax_amount for line in lines))),
            "created_ms": now_ms, "expires_ms": now_ms + LAPSE_MS, "updated_ms": self._stamp(),
            "payload_sm3": payload_sm3,
        }
        row = insert_row(db, "red_forms", values)
        self._notify(db, row)
        return row

    # --- state changes -------------------------------------------------------------------------

    def _notify(self, db, row):
        for tax_id in {row["seller_tax_id"], row["buyer_tax_id"]}:
            for app in self.apps.by_tax_id(tax_id):
                self.callbacks.record(db, app, "redform.changed", view(row, tax_id))

    def _move(self, db, row, status):
        db.execute("UPDATE red_forms SET status = ?, updated_ms = ? WHERE id = ?",
                   (status, self._stamp(), row["id"]))
        row = self._by_id(row["id"])
        self._notify(db, row)
        return row

    @staticmethod
    def _conflict(row, action):
        return Refusal("STATE_CONFLICT", f"红字确认单状态为 {row['status']}，不能{action[1]} / "
                                         f"the form is in state {row['status']}: it cannot be {action[0]}")

    def answer(self, app, form_number, accept):
        """Confirm (``accept``) or reject a form awaiting the application's side."""
        self.lapse_due()
        with self.store.transaction() as db:
            row = self._visible(app, form_number)
            if AWAITING_SIDE.get(row["status"]) != side_of(app.seller_tax_id, row):
                raise self._conflict(row, ANSWERS[accept])
            row = self._move(db, row, "04" if accept else REJECTED[row["status"]])
            return view(row, app.seller_tax_id)

    def revoke(self, app, form_number):
        self.lapse_due()
        with self.store.transaction() as db:
            row = self._visible(app, form_number)
            if side_of(app.seller_tax_id, row) != row["applicant"] or row["red_invoice_number"] \
                    or row["status"] not in ACTIVE_FORMS:
                raise self._conflict(row, ("revoked", "撤销"))
            row = self._move(db, row, "09" if row["status"] == "04" else "08")
            return view(row, app.seller_tax_id)

    def lapse_due(self):
        """Forms awaiting a confirmation past their 72 hours become 07."""
        due = (f"SELECT * FROM red_forms WHERE status IN ({marks(RED_FORM_AWAITING)}) "  # noqa: S608
               "AND expires_ms <= ?")
        params = (*RED_FORM_AWAITING, self.clock.now_ms())
        if not self.store.all(due, params):
            return 0
        with self.store.transaction() as db:
            rows = db.execute(due, params).fetchall()
            for row in rows:
                self._move(db, row, "07")
            return len(rows)

    # --- the red invoice -----------------------------------------------------------------------

    def issue_red_invoice(self, app, serial_no, form_number, payload_sm3):
        self.lapse_due()
        with self.store.transaction() as db:
            self.ledger.refuse_duplicate(app.app_id, serial_no, payload_sm3, "red")
            form = self._visible(app, form_number)
            if side_of(app.seller_tax_id, form) != "seller":
                raise Refusal("PERMISSION_DENIED", "只有销方可以开具红字发票 / only the seller issues the red invoice")
            if form["status"] not in RED_FORM_ISSUABLE or form["red_invoice_number"]:
                raise self._conflict(form, ("used for a red invoice", "开具红字发票"))
            blue = self.store.one("SELECT * FROM invoices WHERE invoice_number = ?",
                                  (form["blue_invoice_number"],))
            red = self._red_invoice(serial_no, form, from_wire(Invoice, json.loads(blue["payload"])))
            now_ms = self.clock.now_ms()
            number, issue_time, qr = self.ledger.stamp(app, red.invoice_type, money(red.total_with_tax), now_ms)
            row = self.ledger.insert(db, app, red, payload_sm3=payload_sm3, charged_period=period(now_ms),
                                     now_ms=now_ms, status=ISSUED, invoice_number=number,
                                     issue_time=issue_time, qr_payload=qr)
            self.ledger.reverse_lines(db, blue, form_lines(form))
            db.execute("UPDATE red_forms SET red_invoice_number = ?, updated_ms = ? WHERE id = ?",
                       (number, self._stamp(), form["id"]))
            return result(row)

    @staticmethod
    def _red_invoice(serial_no, form, blue):
        """The red invoice mirroring the form: the blue lines' descriptions, the form's amounts.

        A full reversal mirrors every blue line, a discount line and the line it discounts
        included. A partial one reverses a discounted line net of its discount: printed alone,
        it is a normal line.
        """
        by_no = {line.line_no or i + 1: line for i, line in enumerate(blue.lines)}
        reds = form_lines(form)
        discounts = {discounted: discount for discount, discounted in rules.discount_pairs(blue).items()}
        numbers = {red.blue_line_no for red in reds}
        lines = []
        for i, red in enumerate(reds):
            line = by_no[red.blue_line_no]
            line_type = line.line_type
            if line_type == "discounted" and discounts.get(red.blue_line_no) not in numbers:
                line_type = "normal"
            unit_price = _red_unit_price(line.unit_price, red.quantity, red.amount)
            lines.append(InvoiceLine(
                name=line.name, classification_code=line.classification_code, spec=line.spec, unit=line.unit,
                quantity=red.quantity if unit_price is not None else None, unit_price=unit_price,
                amount=red.amount, tax_rate=line.tax_rate, tax_amount=red.tax_amount,
                amount_with_tax=red.amount + red.tax_amount, line_type=line_type,
                preferential_policy=line.preferential_policy, line_no=i + 1))
        total_amount = sum(line.amount for line in lines)
        total_tax = sum(line.tax_amount for line in lines)
        return Invoice(
            serial_no=serial_no, invoice_type=blue.invoice_type, seller=blue.seller, buyer=blue.buyer,
            lines=lines, total_amount=total_amount, total_tax=total_tax,
            total_with_tax=total_amount + total_tax, issuer=blue.issuer, kind="red",
            blue_invoice_number=form["blue_invoice_number"], red_form_number=form["form_number"],
            remark=f"被红冲蓝字发票号码：{form['blue_invoice_number']}；红字确认单编号：{form['form_number']}",
        )

    # --- the simulated buyer (admin endpoint) ---------------------------------------------------

    def buyer_apply(self, app, blue_invoice_number, reason, lines=()):
        """A form raised by the buyer of one of ``app``'s invoices: inbound, awaiting the seller."""
        form = RedForm(serial_no=f"BUYER-{uuid.uuid4().hex[:16]}", blue_invoice_number=blue_invoice_number,
                       reason=reason, lines=list(lines), applicant="buyer")
        with self.store.transaction() as db:
            blue = self.ledger.by_number(app, blue_invoice_number)
            row = self._create(db, SIMULATED_BUYER, form, blue, "")
            return view(row, app.seller_tax_id)

    def buyer_answer(self, form_number, accept):
        """The buyer confirms or rejects a seller's form awaiting it (02)."""
        self.lapse_due()
        with self.store.transaction() as db:
            row = self.store.one("SELECT * FROM red_forms WHERE form_number = ?", (form_number,))
            if row is None:
                raise Refusal("NOT_FOUND", f"red form {form_number} not found")
            if row["status"] != "02":
                raise self._conflict(row, ANSWERS[accept])
            row = self._move(db, row, "04" if accept else REJECTED["02"])
            return view(row, row["seller_tax_id"])
