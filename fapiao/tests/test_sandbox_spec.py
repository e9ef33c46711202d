"""What docs/protocol.md answers since a client was written from it alone (issue 13), over HTTP:
every problem in one answer, line numbers, lengths, the order of checks, queries, lists,
malformed headers and bodies, and what a refusal leaves of a serial number."""

import base64
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fapiao.errors import InvalidTaxpayerId
from fapiao.providers.reference import protocol
from fapiao.providers.reference.sandbox.refusal import Refusal
from fapiao.providers.reference.sandbox.services import Services
from fapiao.providers.reference.wire import to_wire
from fapiao.tests.conftest import COMPUTER_CODE
from fapiao.tests.test_documents import CATALOGUE, INVOICE_WIRES, JSON, near_valid, red_form

ISSUE = "invoice.issue"


def found(answer):
    return [(error["field"], error["code"]) for error in answer.errors]


def nothing_issued(sandbox, app):
    stats = sandbox.stats(app.app_id)
    return stats["invoices"] == 0 and stats["sequences"] == {}


# --- every problem in one answer --------------------------------------------------------------------

def test_fields_that_cannot_be_read_come_with_every_rule_the_rest_breaks(wire, sandbox, app, make_invoice):
    payload = make_invoice("SPEC-1", lines=2)
    del payload["totalTax"]
    payload["buyer"]["name"] = ""
    payload["lines"][0]["amount"] = "1e3"
    payload["lines"][1].update(taxRate="0.06", name="服务器")
    payload["issuer"] = "张" * 21
    answer = wire.call(ISSUE, payload)
    assert answer.code == "1001"
    errors = found(answer)
    assert {("totalTax", "REQUIRED"), ("buyer.name", "REQUIRED"), ("lines[0].amount", "NUMBER"),
            ("lines[1].taxRate", "RATE_NOT_ALLOWED"), ("lines[1].name", "LINE_NAME_PREFIX"),
            ("issuer", "TOO_LONG")} <= set(errors)
    assert len({field for field, _ in errors if field in ("totalTax", "buyer.name", "lines[0].amount")}) == 3
    assert errors.count(("totalTax", "REQUIRED")) == 1     # a field that cannot be read is reported once
    assert nothing_issued(sandbox, app)


def test_a_red_form_lists_every_problem_too(wire, make_invoice):
    number = wire.ok(ISSUE, make_invoice("SPEC-RF"))["invoiceNumber"]
    answer = wire.call("redform.apply", {"blueInvoiceNumber": number, "reason": "09",
                                         "lines": [{"blueLineNo": 1, "amount": "lots", "taxAmount": "1.00"}]})
    assert {("serialNo", "REQUIRED"), ("reason", "REASON_UNKNOWN"), ("lines[0].amount", "NUMBER")} <= \
        set(found(answer))


def test_documented_lengths_are_enforced(wire, sandbox, app, make_invoice):
    payload = make_invoice("SPEC-LEN")
    payload["issuer"] = "张" * 20
    payload["buyer"]["email"] = "a" * 94 + "@x.com"        # 100 characters
    assert wire.call(ISSUE, payload).code == "0000"
    payload = make_invoice("SPEC-LEN-2")
    payload["issuer"] = "张" * 21
    payload["buyer"]["email"] = "a" * 95 + "@x.com"
    assert found(wire.call(ISSUE, payload)) == [("buyer.email", "TOO_LONG"), ("issuer", "TOO_LONG")]


@pytest.mark.parametrize("case", [
    ([1, 2, 0], [2]),           # zero
    ([1, -2, 3], [1]),          # negative
    ([1, 3, 4], [1, 2]),        # a gap
    ([1, 1, 2], [1, 2]),        # a repeat
    ([2, 1, 3], [0, 1]),        # out of order
])
def test_line_numbers_count_the_lines_in_their_order(wire, sandbox, app, make_invoice, case):
    numbers, wrong = case
    payload = make_invoice("SPEC-NO", lines=3)
    for line, number in zip(payload["lines"], numbers, strict=True):
        line["lineNo"] = number
    answer = wire.call(ISSUE, payload)
    assert found(answer) == [(f"lines[{i}].lineNo", "LINE_NO_SEQUENCE") for i in wrong]
    assert all(error["messageZh"] for error in answer.errors)
    assert nothing_issued(sandbox, app)


def test_a_line_number_is_required(wire, make_invoice):
    payload = make_invoice("SPEC-NO-1")
    del payload["lines"][0]["lineNo"]
    assert found(wire.call(ISSUE, payload)) == [("lines[0].lineNo", "REQUIRED")]


def test_the_invoice_wide_tax_difference_is_reported_on_total_tax(wire, app):
    # 22 lines of 100.00 at 13 % with a tax of 13.06 each: every line within 0.06, together 1.32 over.
    lines = [{"lineNo": i + 1, "name": "*电子计算机*服务器", "classificationCode": COMPUTER_CODE,
              "amount": "100.00", "taxRate": "0.13", "taxAmount": "13.06", "amountWithTax": "113.06"}
             for i in range(22)]
    payload = {"serialNo": "SPEC-127", "invoiceType": "02",
               "seller": {"name": app.seller_name, "taxId": app.seller_tax_id}, "buyer": {"name": "张三"},
               "lines": lines, "totalAmount": "2200.00", "totalTax": "287.32", "totalWithTax": "2487.32"}
    assert found(wire.call(ISSUE, payload)) == [("totalTax", "INVOICE_TAX_DIFF")]


def test_item_names_are_sent_with_their_short_name(wire, make_invoice):
    payload = make_invoice("SPEC-NAME", lines=2)
    payload["lines"][0]["name"] = "服务器"
    payload["lines"][1]["name"] = "*计算机*服务器"
    assert found(wire.call(ISSUE, payload)) == [("lines[0].name", "LINE_NAME_PREFIX"),
                                                ("lines[1].name", "LINE_NAME_PREFIX")]


# --- the order of checks, and what a refusal leaves of a serial number -------------------------------

def test_validation_comes_before_the_duplicate_check(wire, make_invoice):
    wire.ok(ISSUE, make_invoice("SPEC-DUP"))
    invalid = make_invoice("SPEC-DUP")
    invalid["totalTax"] = "14.00"
    assert wire.call(ISSUE, invalid).code == "1001"
    assert wire.call(ISSUE, make_invoice("SPEC-DUP")).code == "3001"


def test_a_quota_refusal_leaves_the_serial_number_free(wire, sandbox, app, make_invoice):
    sandbox.add_app(app.app_id, quota="50.00")
    assert wire.call(ISSUE, make_invoice("SPEC-Q")).code == "3005"
    assert wire.ok(ISSUE, make_invoice("SPEC-Q", amount="50.00"))["status"] == "issued"


# --- results, queries and lists ---------------------------------------------------------------------

def test_a_pending_result_carries_no_number_yet(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, pending_rate=1.0)
    pending = wire.ok(ISSUE, make_invoice("SPEC-P"))
    assert set(pending) == {"serialNo", "status", "invoiceType", "totalAmount", "totalTax", "totalWithTax",
                            "buyerTaxId", "buyerName"}
    assert pending["status"] == "pending"


def test_a_serial_number_repeated_in_one_query_is_answered_once(wire, make_invoice):
    wire.ok(ISSUE, make_invoice("SPEC-R"))
    answer = wire.ok("invoice.query", {"serialNos": ["SPEC-R", "SPEC-X", "SPEC-R", "SPEC-X"]})
    assert [r["serialNo"] for r in answer["results"]] == ["SPEC-R"] and answer["notFound"] == ["SPEC-X"]


def test_form_queries_say_what_they_did_not_find(wire, make_invoice):
    number = wire.ok(ISSUE, make_invoice("SPEC-F"))["invoiceNumber"]
    form = wire.ok("redform.apply", {"serialNo": "RF-SPEC", "blueInvoiceNumber": number, "reason": "01"})
    answer = wire.ok("redform.query", {"formNumbers": [form["formNumber"], "9" * 24, form["formNumber"]],
                                       "serialNos": ["RF-SPEC", "RF-NONE"]})
    assert [f["formNumber"] for f in answer["forms"]] == [form["formNumber"]]
    assert answer["notFound"] == {"formNumbers": ["9" * 24], "serialNos": ["RF-NONE"]}


def test_a_list_says_where_the_next_one_continues(wire, sandbox, make_invoice):
    number = wire.ok(ISSUE, make_invoice("SPEC-L"))["invoiceNumber"]
    form = sandbox.buyer_apply_red_form(number, "01")
    first = wire.ok("redform.list", {"direction": "inbound"})
    assert [f["formNumber"] for f in first["forms"]] == [form["formNumber"]]
    assert wire.ok("redform.list", {"direction": "inbound", "since": first["serverTime"]})["forms"] == []
    wire.ok("redform.confirm", {"formNumber": form["formNumber"]})
    later = wire.ok("redform.list", {"direction": "inbound", "since": first["serverTime"]})
    assert [f["status"] for f in later["forms"]] == ["04"] and later["serverTime"] > first["serverTime"]


# --- headers and bodies -----------------------------------------------------------------------------

def test_the_query_string_is_neither_signed_nor_read(wire, app):
    path = protocol.SERVICES["invoice.query"]
    response, sent = wire.request("invoice.query", {"serialNos": ["Q"]}, path=path + "?debug=1", sign_path=path)
    answer = wire.read(response, sent, app, path)      # the answer is signed for the path without it
    assert answer.code == "0000" and answer.signed
    response, sent = wire.request("invoice.query", {"serialNos": ["Q"]}, path=path + "?debug=1")
    assert response.json()["code"] == "2003"


def test_the_content_type_is_not_read(wire):
    assert wire.call("invoice.query", {"serialNos": ["Q"]}, headers={"Content-Type": "text/plain"}).code == "0000"


@pytest.mark.parametrize(("header", "value", "code"), [
    ("X-Timestamp", "soon", "2004"),
    ("X-Timestamp", "+1795478400000", "2004"),
    ("X-Timestamp", "1_795_478_400_000", "2004"),
    ("X-Nonce", "not a nonce", "2006"),
    ("X-Sign-Type", "MD5", "2003"),
    ("X-Signature", "not hex", "2003"),
    ("X-App-Id", "x" * 65, "2001"),
])
def test_malformed_authentication_headers(wire, header, value, code):
    assert wire.call("invoice.query", {"serialNos": ["Q"]}, headers={header: value}).code == code


@pytest.mark.parametrize(("data", "code"), [
    ("not base64!", "1002"),
    ("AAEC AwQF", "1002"),                                        # whitespace
    (base64.b64encode(bytes(47)).decode().rstrip("="), "1002"),   # no padding
    (base64.b64encode(bytes(20)).decode(), "1003"),               # shorter than an IV and one block
    (base64.b64encode(bytes(40)).decode(), "1003"),               # not whole blocks
    (base64.b64encode(bytes(32)).decode(), "1003"),               # the padding check fails
])
def test_data_that_is_not_base64_or_not_whole_blocks(wire, data, code):
    body = json.dumps({"encryption": "SM4-CBC", "data": data}).encode()
    assert wire.call("invoice.query", body=body).code == code


def test_amounts_with_exponents_are_refused(wire, make_invoice):
    payload = make_invoice("SPEC-E")
    payload["totalAmount"] = str(Decimal("1E2"))
    assert found(wire.call(ISSUE, payload)) == [("totalAmount", "NUMBER")]


# --- reading whatever arrives ---------------------------------------------------------------------

class _Table:
    lookup = CATALOGUE


class _NotUsed:
    """What reading a payload never touches (the ledger, the forms, the faults)."""

    def __getattr__(self, name):
        return None


@settings(max_examples=200, deadline=None)
@given(data=st.one_of(JSON, *(near_valid(base) for base in INVOICE_WIRES), near_valid(to_wire(red_form()))))
def test_reading_any_submission_lists_its_problems_and_never_crashes(data):
    """The rules run on half-read documents now: whatever arrives, the answer is a list of problems."""
    services = Services(_NotUsed(), _NotUsed(), _Table(), _NotUsed())
    for name in ("invoice.issue", "redform.apply"):
        try:
            services.read(name, data)
        except Refusal as refusal:
            assert refusal.code_name == "PARAMETER_ERROR" and refusal.errors
            assert all(error["code"] and error["message"] and error["messageZh"] for error in refusal.errors)


# --- the spec lists every code ------------------------------------------------------------------------

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
PACKAGE = Path(__file__).resolve().parents[1]
CLIENT_SIDE = {"RESULT_MISMATCH", "RESULT_MISSING"}     # the client's checks of answers, never sent


def _literal_codes(path):
    return set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', path.read_text(encoding="utf-8")))


def test_every_error_code_the_platform_can_send_is_documented():
    codes = set()
    for module in ("rules.py", "taxpolicy.py", "providers/reference/wire.py",
                   "providers/reference/sandbox/services.py"):
        codes |= _literal_codes(PACKAGE / module)
    codes -= set(protocol.CODE) | CLIENT_SIDE | {"INVALID"}     # return codes; what a foreign error lacks
    codes |= {"INTEGER_RANGE", "TEXT_ENCODING"}
    reasons = re.findall(r"``(\w+)``", InvalidTaxpayerId.__doc__.split("``position``")[0])
    codes |= {f"TAXPAYER_ID_{reason.upper()}" for reason in reasons if reason != "reason"}
    table = DOC.read_text(encoding="utf-8").split("### 4.3 Error codes")[1].split("## 5.")[0]
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]{2,})`", table))
    assert codes - documented == set()
    assert documented - codes == set()


def test_the_sandbox_serves_special_codes_as_digits(wire):
    """190 codes of the shipped table were in scientific notation (1.06401902E8) until issue 13."""
    served = {}
    for page in range(1, 6):
        items = wire.ok("catalogue.download", {"since": 0, "page": page, "pageSize": 1000})["items"]
        served.update((item["code"], item["vatSpecialCode"]) for item in items)
    assert len(served) == 4236 and served["1020504020000000000"] == "106401902"
    assert all(part.isdigit() for code in served.values() if code for part in code.split("、"))
