"""Blue invoices on the sandbox: issuing, idempotency, pending results,
numbers and QR payloads, queries, void, quota and the rendered files."""

import base64
import io
import re
import threading
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import PyPDF2

from fapiao import crypto

CHINA = timezone(timedelta(hours=8))


def check_qr(qr, invoice_type_digits, number, total_with_tax, day):
    parts = qr.split(",")
    assert parts[:6] == ["01", invoice_type_digits, "", number, total_with_tax, day]
    assert parts[6] == "" and len(parts) == 8
    text = qr[: qr.rindex(",") + 1]
    assert parts[7] == crypto.sm3_hex(text.encode())[:4].upper()


def test_issue_answers_a_20_digit_number_time_and_qr(wire, make_invoice, app):
    result = wire.ok("invoice.issue", make_invoice("INV-1", invoice_type="01", lines=2))
    assert result["status"] == "issued" and result["serialNo"] == "INV-1"
    number = result["invoiceNumber"]
    now = datetime.now(CHINA)
    assert re.fullmatch(r"\d{20}", number)
    assert number[:2] == now.strftime("%y") and number[2:4] == app.seller_tax_id[2:4] and number[4] == "1"
    issued = datetime.fromisoformat(result["issueTime"])
    assert result["issueTime"].endswith("+08:00") and abs((issued - now).total_seconds()) < 60
    assert (result["totalAmount"], result["totalTax"], result["totalWithTax"]) == ("200.00", "26.00", "226.00")
    check_qr(result["qrPayload"], "31", number, "226.00", issued.strftime("%Y%m%d"))
    plain = wire.ok("invoice.issue", make_invoice("INV-2"))
    check_qr(plain["qrPayload"], "32", plain["invoiceNumber"], "113.00", issued.strftime("%Y%m%d"))


def test_numbers_are_unique_and_consecutive(wire, sandbox, make_invoice):
    numbers = [wire.ok("invoice.issue", make_invoice(f"SEQ-{i}"))["invoiceNumber"] for i in range(25)]
    assert len(set(numbers)) == 25
    assert [int(n[5:]) for n in numbers] == list(range(int(numbers[0][5:]), int(numbers[0][5:]) + 25))
    stats = sandbox.stats(sandbox.default_app.app_id)
    assert stats["invoices"] == stats["distinctSerials"] == stats["numbered"] == 25
    assert stats["duplicateNumbers"] == 0


def test_concurrent_submissions_issue_once_per_serial_with_unique_numbers(sandbox, app, make_invoice, wire_for):
    callers = [wire_for(sandbox.url, app) for _ in range(6)]
    answers = []

    def submit(caller, index):
        for i in range(10):
            answers.append(caller.call("invoice.issue", make_invoice(f"CON-{index}-{i}")))
            answers.append(caller.call("invoice.issue", make_invoice("CON-SAME")))

    threads = [threading.Thread(target=submit, args=(caller, n)) for n, caller in enumerate(callers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted({a.code for a in answers}) == ["0000", "3001"]
    same = {a.data["invoiceNumber"] for a in answers if a.data["serialNo"] == "CON-SAME"}
    assert len(same) == 1
    stats = sandbox.stats(app.app_id)
    assert stats["invoices"] == stats["distinctSerials"] == 61 and stats["duplicateNumbers"] == 0


def test_duplicate_serial_returns_the_original_and_issues_nothing(wire, sandbox, app, make_invoice):
    original = wire.ok("invoice.issue", make_invoice("DUP-1"))
    before = sandbox.stats(app.app_id)
    again = wire.call("invoice.issue", make_invoice("DUP-1"))
    assert (again.response.status_code, again.code, again.signed) == (200, "3001", True)
    assert again.data.pop("sameContent") is True
    assert again.data == original
    changed = make_invoice("DUP-1", amount="50.00")
    other = wire.call("invoice.issue", changed)
    assert other.code == "3001" and other.data["sameContent"] is False
    assert other.data["invoiceNumber"] == original["invoiceNumber"]
    after = sandbox.stats(app.app_id)
    assert (after["invoices"], after["sequences"], after["quota"]) == \
        (before["invoices"], before["sequences"], before["quota"])


def test_pending_then_issued_when_the_business_clock_passes(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, pending_rate=1.0, pending_seconds=120)
    pending = wire.ok("invoice.issue", make_invoice("PEND-1"))
    assert pending["status"] == "pending" and "invoiceNumber" not in pending
    assert wire.ok("invoice.query", {"serialNos": ["PEND-1"]})["results"][0]["status"] == "pending"
    sandbox.advance_clock(60)
    assert wire.ok("invoice.query", {"serialNos": ["PEND-1"]})["results"][0]["status"] == "pending"
    sandbox.clock.advance(61)  # no tick: the query itself promotes what is due
    result = wire.ok("invoice.query", {"serialNos": ["PEND-1"]})["results"][0]
    assert result["status"] == "issued" and re.fullmatch(r"\d{20}", result["invoiceNumber"])
    # Issued at the moment it became due, on the business clock.
    issued = datetime.fromisoformat(result["issueTime"])
    assert issued - datetime.now(CHINA) > timedelta(seconds=100)
    # A duplicate submission now answers the issued result.
    assert wire.call("invoice.issue", make_invoice("PEND-1")).data["status"] == "issued"


def test_pending_then_failed_releases_the_quota(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, pending_rate=1.0, pending_seconds=10, pending_fail_rate=1.0)
    assert wire.ok("invoice.issue", make_invoice("FAIL-1"))["status"] == "pending"
    assert wire.ok("quota.query")["used"] == "100.00"
    sandbox.advance_clock(11)
    result = wire.ok("invoice.query", {"serialNos": ["FAIL-1"]})["results"][0]
    assert result["status"] == "failed" and result["failureCode"] and result["failureMessage"]
    assert "invoiceNumber" not in result
    assert wire.ok("quota.query")["used"] == "0.00"
    assert sandbox.stats(app.app_id)["byStatus"] == {"failed": 1}


def test_query_takes_up_to_100_serial_numbers(wire, make_invoice):
    for i in range(3):
        wire.ok("invoice.issue", make_invoice(f"Q-{i}"))
    serials = [f"Q-{i}" for i in range(100)]
    answer = wire.ok("invoice.query", {"serialNos": serials})
    assert [r["serialNo"] for r in answer["results"]] == ["Q-0", "Q-1", "Q-2"]
    assert answer["notFound"] == serials[3:]
    too_many = wire.call("invoice.query", {"serialNos": [*serials, "Q-100"]})
    assert too_many.code == "1001" and too_many.errors[0]["field"] == "serialNos"
    assert wire.call("invoice.query", {"serialNos": []}).code == "1001"
    assert wire.call("invoice.query", {}).code == "1001"


def test_void_only_for_legacy_types(wire, sandbox, app, make_invoice):
    digital = wire.ok("invoice.issue", make_invoice("V-1"))
    refused = wire.call("invoice.void", {"invoiceNumber": digital["invoiceNumber"]})
    assert (refused.response.status_code, refused.code) == (409, "3004")
    legacy = wire.ok("invoice.issue", make_invoice("V-2", invoice_type="026"))
    assert legacy["qrPayload"].startswith("01,10,,")
    voided = wire.ok("invoice.void", {"invoiceNumber": legacy["invoiceNumber"]})
    assert voided["status"] == "void"
    assert wire.call("invoice.void", {"invoiceNumber": legacy["invoiceNumber"]}).code == "3003"
    assert wire.call("invoice.void", {"invoiceNumber": "0" * 20}).code == "3002"
    assert sandbox.stats(app.app_id)["byStatus"] == {"issued": 1, "void": 1}
    assert wire.ok("quota.query")["used"] == "100.00"  # the void one no longer counts
    # A legacy invoice with a red form under way is no longer voidable.
    reversed_legacy = wire.ok("invoice.issue", make_invoice("V-3", invoice_type="004"))["invoiceNumber"]
    wire.ok("redform.apply", {"serialNo": "RF-V3", "blueInvoiceNumber": reversed_legacy, "reason": "01"})
    assert wire.call("invoice.void", {"invoiceNumber": reversed_legacy}).code == "3003"


def test_quota_is_tracked_and_enforced(wire, sandbox, app, make_invoice):
    sandbox.add_app(app.app_id, quota="250.00")
    quota = wire.ok("quota.query")
    assert quota == {"total": "250.00", "used": "0.00", "remaining": "250.00",
                     "period": datetime.now(CHINA).strftime("%Y-%m")}
    wire.ok("invoice.issue", make_invoice("QT-1"))
    wire.ok("invoice.issue", make_invoice("QT-2"))
    assert wire.ok("quota.query")["remaining"] == "50.00"
    before = sandbox.stats(app.app_id)
    refused = wire.call("invoice.issue", make_invoice("QT-3"))
    assert (refused.code, refused.response.status_code) == ("3005", 409)
    assert sandbox.stats(app.app_id)["invoices"] == before["invoices"]
    assert sandbox.stats(app.app_id)["sequences"] == before["sequences"]
    assert wire.call("invoice.issue", make_invoice("QT-3", amount="50.00")).code == "0000"


def test_pdf_document_with_qr_code(wire, make_invoice):
    issued = wire.ok("invoice.issue", make_invoice("DOC-1", invoice_type="01", lines=3))
    file = wire.ok("document.download", {"invoiceNumber": issued["invoiceNumber"], "format": "pdf"})
    content = base64.b64decode(file["content"])
    assert content.startswith(b"%PDF")
    assert file["sm3"] == crypto.sm3_hex(content)
    assert (file["fileName"], file["contentType"]) == (f"{issued['invoiceNumber']}.pdf", "application/pdf")
    reader = PyPDF2.PdfReader(io.BytesIO(content))
    assert reader.metadata["/Keywords"] == issued["qrPayload"]
    assert issued["invoiceNumber"] in reader.metadata["/Title"]
    assert "/FormXob.qrcode" in reader.pages[0]["/Resources"]["/XObject"]
    again = wire.ok("document.download", {"invoiceNumber": issued["invoiceNumber"], "format": "pdf"})
    assert again["sm3"] == file["sm3"]  # rendered once, then served from the cache


def test_pdf_document_of_several_pages_shows_the_qr_code_on_each(wire, make_invoice):
    issued = wire.ok("invoice.issue", make_invoice("DOC-3", lines=20))
    file = wire.ok("document.download", {"invoiceNumber": issued["invoiceNumber"], "format": "pdf"})
    reader = PyPDF2.PdfReader(io.BytesIO(base64.b64decode(file["content"])))
    assert len(reader.pages) == 3
    for page in reader.pages:
        assert "/FormXob.qrcode" in page["/Resources"]["/XObject"]


def test_xml_document(wire, make_invoice):
    issued = wire.ok("invoice.issue", make_invoice("DOC-2"))
    file = wire.ok("document.download", {"invoiceNumber": issued["invoiceNumber"], "format": "xml"})
    content = base64.b64decode(file["content"])
    assert file["sm3"] == crypto.sm3_hex(content) and file["contentType"] == "application/xml"
    root = ET.fromstring(content)
    assert root.findtext("Header/InvoiceNumber") == issued["invoiceNumber"]
    assert root.findtext("Header/QrPayload") == issued["qrPayload"]
    assert root.findtext("Lines/Line/Name") == "*电子计算机*服务器"
    assert root.findtext("Totals/TotalWithTax") == "113.00"


def test_document_refusals(wire, make_invoice):
    assert wire.call("document.download", {"invoiceNumber": "1" * 20, "format": "pdf"}).code == "3002"
    issued = wire.ok("invoice.issue", make_invoice("DOC-3"))
    bad = wire.call("document.download", {"invoiceNumber": issued["invoiceNumber"], "format": "ofd"})
    assert bad.code == "1001" and bad.errors[0]["field"] == "format"
