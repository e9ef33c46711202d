"""Red reversal on the sandbox: confirmation forms in every state, the
buyer's side, the 72-hour lapse and the red invoices."""

import base64
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

import pytest
import requests

from fapiao.documents import RedFormLine


@pytest.fixture
def blue(wire, make_invoice):
    """Issue a blue invoice (2 lines of 100.00 + 13.00 tax, quantity 2) and return its number."""
    def issue(serial_no="BLUE-1", **options):
        return wire.ok("invoice.issue", make_invoice(serial_no, lines=2, **options))["invoiceNumber"]
    return issue


def apply(wire, number, serial_no="RF-1", lines=None, reason="02"):
    payload = {"serialNo": serial_no, "blueInvoiceNumber": number, "reason": reason}
    if lines:
        payload["lines"] = lines
    return wire.call("redform.apply", payload)


def status_of(wire, serial_no):
    return wire.ok("invoice.query", {"serialNos": [serial_no]})["results"][0]["status"]


def test_full_reversal_without_buyer_confirmation(wire, sandbox, app, blue):
    number = blue()
    assert wire.ok("quota.query")["used"] == "200.00"
    form = apply(wire, number).data
    assert form["status"] == "01" and form["direction"] == "outbound" and form["applicant"] == "seller"
    assert re.fullmatch(r"\d{20,}", form["formNumber"])
    assert (form["totalAmount"], form["totalTax"]) == ("-200.00", "-26.00")
    assert [line["blueLineNo"] for line in form["lines"]] == [1, 2]
    assert form["lines"][0] == {"blueLineNo": 1, "quantity": "-2", "amount": "-100.00", "taxAmount": "-13.00"}
    created, expires = (datetime.fromisoformat(form[k]) for k in ("createdAt", "expiresAt"))
    assert expires - created == timedelta(hours=72)

    red = wire.ok("redinvoice.issue", {"serialNo": "RED-1", "formNumber": form["formNumber"]})
    assert red["status"] == "issued" and re.fullmatch(r"\d{20}", red["invoiceNumber"])
    assert red["invoiceNumber"] != number
    assert (red["blueInvoiceNumber"], red["redFormNumber"]) == (number, form["formNumber"])
    assert (red["totalAmount"], red["totalTax"], red["totalWithTax"]) == ("-200.00", "-26.00", "-226.00")
    assert red["qrPayload"].split(",")[4] == "-226.00"
    assert status_of(wire, "BLUE-1") == "red-reversed"
    assert wire.ok("quota.query")["used"] == "0.00"
    form_now = wire.ok("redform.query", {"formNumbers": [form["formNumber"]]})["forms"][0]
    assert form_now["redInvoiceNumber"] == red["invoiceNumber"]

    # Once per form; the same serial number answers the original red invoice.
    assert wire.call("redinvoice.issue", {"serialNo": "RED-2", "formNumber": form["formNumber"]}).code == "3003"
    duplicate = wire.call("redinvoice.issue", {"serialNo": "RED-1", "formNumber": form["formNumber"]})
    assert duplicate.code == "3001" and duplicate.data["invoiceNumber"] == red["invoiceNumber"]
    # Nothing is left to reverse.
    assert apply(wire, number, "RF-2").code == "3003"

    xml = base64.b64decode(wire.ok("document.download", {"invoiceNumber": red["invoiceNumber"],
                                                         "format": "xml"})["content"])
    root = ET.fromstring(xml)
    assert root.findtext("Header/Kind") == "red"
    assert root.findtext("Header/BlueInvoiceNumber") == number
    assert root.findtext("Lines/Line/Amount") == "-100.00"
    pdf = wire.ok("document.download", {"invoiceNumber": red["invoiceNumber"], "format": "pdf"})
    assert base64.b64decode(pdf["content"]).startswith(b"%PDF")
    stats = sandbox.stats(app.app_id)
    assert stats["byKind"] == {"blue": 1, "red": 1} and stats["redForms"] == {"01": 1}


def test_partial_reversals_up_to_what_is_left(wire, blue):
    number = blue()
    half = [{"blueLineNo": 1, "quantity": "-1", "amount": "-50.00", "taxAmount": "-6.50"}]
    first = apply(wire, number, "RF-P1", half).data
    assert (first["status"], first["totalAmount"], first["totalTax"]) == ("01", "-50.00", "-6.50")
    red = wire.ok("redinvoice.issue", {"serialNo": "RED-P1", "formNumber": first["formNumber"]})
    assert red["totalWithTax"] == "-56.50"
    assert status_of(wire, "BLUE-1") == "issued"

    # The second half is fine even before its red invoice; more is refused, field by field.
    assert apply(wire, number, "RF-P2", half).code == "0000"
    over = apply(wire, number, "RF-P3", [{"blueLineNo": 1, "amount": "-0.01", "taxAmount": "0"}])
    assert over.code == "1001" and over.errors[0]["code"] == "EXCEEDS_BLUE"
    assert over.errors[0]["field"] == "lines[0].amount"
    assert apply(wire, number, "RF-P4").code == "1001"          # a full reversal after a partial one
    assert apply(wire, number, "RF-P5", [{"blueLineNo": 3, "amount": "-1.00", "taxAmount": "-0.13"}]).code == "1001"


def test_seller_form_needs_the_buyer_once_use_is_confirmed(wire, sandbox, blue):
    number = blue()
    sandbox.buyer_confirm_use(number)
    form = apply(wire, number).data
    assert form["status"] == "02"
    refused = wire.call("redinvoice.issue", {"serialNo": "RED-1", "formNumber": form["formNumber"]})
    assert refused.code == "3003"
    assert wire.call("redform.confirm", {"formNumber": form["formNumber"]}).code == "3003"  # not ours to confirm
    assert sandbox.buyer_confirm(form["formNumber"])["status"] == "04"
    assert wire.ok("redinvoice.issue", {"serialNo": "RED-1", "formNumber": form["formNumber"]})["status"] == "issued"

    other = blue("BLUE-2")
    sandbox.buyer_confirm_use(other)
    rejected = apply(wire, other, "RF-2").data
    assert sandbox.buyer_reject(rejected["formNumber"])["status"] == "05"
    assert wire.ok("redform.query", {"serialNos": ["RF-2"]})["forms"][0]["status"] == "05"
    # A rejected form frees the amounts: a new application may take them.
    assert apply(wire, other, "RF-3").data["status"] == "02"


def test_inbound_forms_are_confirmed_or_rejected_by_the_seller(wire, sandbox, blue):
    number = blue()
    form = sandbox.buyer_apply_red_form(number, reason="02",
                                        lines=[RedFormLine(1, amount=-100, tax_amount=-13, quantity=-2)])
    assert (form["status"], form["direction"], form["applicant"]) == ("03", "inbound", "buyer")
    inbound = wire.ok("redform.list", {"direction": "inbound", "status": "03"})["forms"]
    assert [f["formNumber"] for f in inbound] == [form["formNumber"]]
    assert wire.ok("redform.list", {"direction": "outbound"})["forms"] == []
    assert wire.call("redform.revoke", {"formNumber": form["formNumber"]}).code == "3003"  # not the applicant
    confirmed = wire.ok("redform.confirm", {"formNumber": form["formNumber"]})
    assert confirmed["status"] == "04"
    assert wire.call("redform.confirm", {"formNumber": form["formNumber"]}).code == "3003"
    red = wire.ok("redinvoice.issue", {"serialNo": "RED-IN-1", "formNumber": form["formNumber"]})
    assert red["totalAmount"] == "-100.00"

    # The same through the admin endpoint, then rejected by the seller.
    answer = requests.post(sandbox.url + "/admin/red-forms/buyer-apply", timeout=5,
                           json={"blueInvoiceNumber": number, "reason": "04",
                                 "lines": [{"blueLineNo": 2, "amount": "-10.00", "taxAmount": "-1.30"}]})
    assert answer.status_code == 200, answer.text
    second = answer.json()["form"]
    rejected = wire.ok("redform.reject", {"formNumber": second["formNumber"], "reason": "金额不符"})
    assert rejected["status"] == "06"
    bad = requests.post(sandbox.url + "/admin/red-forms/buyer-apply", timeout=5,
                        json={"blueInvoiceNumber": number, "lines": [{"blueLineNo": 2, "amount": "-999.00",
                                                                      "taxAmount": "-1.30"}]})
    assert bad.status_code == 400 and bad.json()["code"] == "1001"


def test_revoke_by_the_applicant(wire, sandbox, blue):
    number = blue()
    half = [{"blueLineNo": 1, "amount": "-100.00", "taxAmount": "-13.00"}]
    first = apply(wire, number, "RF-1", half).data
    assert wire.ok("redform.revoke", {"formNumber": first["formNumber"]})["status"] == "08"
    assert wire.call("redform.revoke", {"formNumber": first["formNumber"]}).code == "3003"

    sandbox.buyer_confirm_use(number)
    second = apply(wire, number, "RF-2", half).data
    sandbox.buyer_confirm(second["formNumber"])
    assert wire.ok("redform.revoke", {"formNumber": second["formNumber"]})["status"] == "09"

    third = apply(wire, number, "RF-3", half).data
    sandbox.buyer_confirm(third["formNumber"])
    wire.ok("redinvoice.issue", {"serialNo": "RED-3", "formNumber": third["formNumber"]})
    assert wire.call("redform.revoke", {"formNumber": third["formNumber"]}).code == "3003"
    assert wire.call("redform.revoke", {"formNumber": "0" * 24}).code == "3002"


def test_unconfirmed_forms_lapse_after_72_hours(wire, sandbox, blue):
    number = blue()
    sandbox.buyer_confirm_use(number)
    outbound = apply(wire, number, "RF-1", [{"blueLineNo": 1, "amount": "-100.00", "taxAmount": "-13.00"}]).data
    inbound = sandbox.buyer_apply_red_form(number, lines=[RedFormLine(2, amount=-100, tax_amount=-13)])
    sandbox.clock.advance(72 * 3600 - 60)
    assert wire.ok("redform.query", {"serialNos": ["RF-1"]})["forms"][0]["status"] == "02"
    sandbox.clock.advance(61)  # the next read lapses them
    forms = wire.ok("redform.query", {"formNumbers": [outbound["formNumber"], inbound["formNumber"]]})["forms"]
    assert [f["status"] for f in forms] == ["07", "07"]
    assert wire.call("redform.confirm", {"formNumber": inbound["formNumber"]}).code == "3003"
    lapsed = wire.ok("redform.list", {"direction": "inbound", "status": "07"})["forms"]
    assert [f["formNumber"] for f in lapsed] == [inbound["formNumber"]]


def test_form_queries_lists_and_duplicates(wire, sandbox, blue):
    number = blue()
    first = apply(wire, number, "RF-1", [{"blueLineNo": 1, "amount": "-10.00", "taxAmount": "-1.30"}])
    again = apply(wire, number, "RF-1", [{"blueLineNo": 1, "amount": "-10.00", "taxAmount": "-1.30"}])
    assert again.code == "3001" and again.data["sameContent"] is True
    assert again.data["formNumber"] == first.data["formNumber"]
    since = sandbox.clock.now_ms()
    second = apply(wire, number, "RF-2", [{"blueLineNo": 2, "amount": "-10.00", "taxAmount": "-1.30"}]).data
    by_serial = wire.ok("redform.query", {"serialNos": ["RF-1", "RF-2", "RF-X"]})["forms"]
    assert [f["serialNo"] for f in by_serial] == ["RF-1", "RF-2"]
    listed = wire.ok("redform.list", {"direction": "outbound", "since": since})["forms"]
    assert [f["formNumber"] for f in listed] == [second["formNumber"]]
    assert wire.call("redform.list", {"direction": "sideways"}).code == "1001"
    assert wire.call("redform.query", {}).code == "1001"
    assert wire.call("redform.query", {"formNumbers": ["x"] * 101}).code == "1001"


def test_forms_need_an_issued_blue_invoice_of_the_application(wire, sandbox, app, blue, make_invoice):
    assert apply(wire, "1" * 20).code == "3002"
    sandbox.set_faults(app.app_id, pending_rate=1.0)
    wire.ok("invoice.issue", make_invoice("PEND-1"))
    sandbox.set_faults(app.app_id, pending_rate=0.0)
    legacy = wire.ok("invoice.issue", make_invoice("LEG-1", invoice_type="007"))["invoiceNumber"]
    wire.ok("invoice.void", {"invoiceNumber": legacy})
    assert apply(wire, legacy).code == "3003"
    invalid = wire.call("redform.apply", {"serialNo": "RF 1", "blueInvoiceNumber": "12", "reason": "09"})
    assert invalid.code == "1001"
    assert {e["field"] for e in invalid.errors} >= {"serialNo", "blueInvoiceNumber", "reason"}
    # Another taxpayer's application does not see the invoice.
    other = sandbox.add_app("other", "other-secret", "00112233445566778899aabbccddeeff", "91110108MA01ABCD1E")
    number = blue()
    from_other = wire.call("redform.apply", {"serialNo": "RF-O", "blueInvoiceNumber": number, "reason": "01"},
                           app=other)
    assert from_other.code == "3002"
