"""诺诺's JSON for the neutral documents, and its answers read back (fapiao.providers.nuonuo.wire)."""

from decimal import Decimal

from fapiao import rules
from fapiao.documents import Invoice, InvoiceLine, Party, RedForm, RedFormLine
from fapiao.providers.nuonuo import wire

D = Decimal


def _invoice(**changes):
    lines = [
        InvoiceLine(name="*信息技术服务*软件开发", classification_code="3040201990000000000", amount=D("600.00"),
                    tax_rate=D("0.06"), tax_amount=D("36.00"), amount_with_tax=D("636.00"), quantity=D("2"),
                    unit_price=D("300"), unit="次", line_type="discounted"),
        InvoiceLine(name="*信息技术服务*软件开发", classification_code="3040201990000000000", amount=D("-60.00"),
                    tax_rate=D("0.06"), tax_amount=D("-3.60"), amount_with_tax=D("-63.60"), line_type="discount"),
        InvoiceLine(name="咨询", classification_code="3040301000000000000", amount=D("100"), tax_rate=D("0"),
                    tax_amount=D("0"), amount_with_tax=D("100"), preferential_policy="免税"),
    ]
    values = dict(serial_no="S0001", invoice_type="02",
                  seller=Party("杭州卖方有限公司", "91330106MA2B2ABCDN", address="杭州", phone="0571-1",
                               bank_name="工行", bank_account="123"),
                  buyer=Party("上海买方有限公司", "91310000MA1FL0000X", email="a@b.cn"), lines=lines,
                  total_amount=D("640.00"), total_tax=D("32.40"), total_with_tax=D("672.40"), issuer="张三",
                  remark="备注")
    values.update(changes)
    return Invoice(**values)


def test_order_fields():
    order = wire.order(_invoice(), seller_tax_id="91330106MA2B2ABCDN", invoice_date="2026-01-02 03:04:05",
                       extension_number="923")["order"]
    assert order["orderNo"] == "S0001"
    assert (order["invoiceType"], order["invoiceLine"], order["pushMode"]) == ("1", "pc", "-1")
    assert order["salerTaxNum"] == "91330106MA2B2ABCDN" and order["salerAccount"] == "工行 123"
    assert (order["buyerName"], order["buyerTaxNum"]) == ("上海买方有限公司", "91310000MA1FL0000X")
    assert (order["clerk"], order["remark"], order["extensionNumber"]) == ("张三", "备注", "923")
    assert "naturalPersonFlag" not in order and "email" not in order
    discounted, discount, exempt = order["invoiceDetail"]
    assert discounted == {"goodsName": "软件开发", "goodsCode": "3040201990000000000", "unit": "次",
                          "withTaxFlag": "0", "taxRate": "0.06", "taxExcludedAmount": "600.00", "tax": "36.00",
                          "taxIncludedAmount": "636.00", "invoiceLineProperty": "2", "num": "2", "price": "300"}
    assert discount["invoiceLineProperty"] == "1" and discount["goodsName"] == discounted["goodsName"]
    assert "num" not in discount and "price" not in discount and discount["tax"] == "-3.60"
    assert (exempt["taxRate"], exempt["favouredPolicyFlag"], exempt["taxExcludedAmount"]) == ("0", "03", "100.00")


def test_special_invoice_and_natural_person():
    assert wire.order(_invoice(invoice_type="01"), seller_tax_id="X", invoice_date="")["order"]["invoiceLine"] == "bs"
    buyer = Party("王五", natural_person=True)
    assert wire.order(_invoice(buyer=buyer), seller_tax_id="X", invoice_date="")["order"]["naturalPersonFlag"] == "1"


def test_price_keeps_eight_decimals_without_trailing_zeros():
    line = _invoice().lines[0]
    line.unit_price, line.quantity = D("3.333333333"), D("1.50000000")
    row = wire.detail(line)
    assert (row["price"], row["num"]) == ("3.33333333", "1.5")


def test_limits_and_problems():
    invoice = _invoice(serial_no="S" * 21, invoice_type="004")
    invoice.lines[2].preferential_policy = "出口零税"
    codes = {error.code for error in wire.problems(invoice)}
    assert codes == {"NUONUO_INVOICE_TYPE", "NUONUO_POLICY"}
    fields = {error.field for error in rules.validate_invoice(_invoice(serial_no="S" * 21), limits=wire.LIMITS)}
    assert "serialNo" in fields


def test_china_time_text():
    assert wire.china_time_text(1700000000) == "2023-11-15 06:13:20"


def test_invoice_result_issued():
    result = wire.invoice_result({
        "serialNo": "20160108165823395151", "orderNo": "S0001", "status": "2", "statusMsg": "开票完成（最终状态）",
        "allElectronicInvoiceNumber": "26332000000123456789", "invoiceNo": "26332000000123456789",
        "invoiceTime": 1790121600000, "qrCode": "qr", "exTaxAmount": "640.00", "taxAmount": "32.40",
        "orderAmount": "672.40", "payerName": "上海买方有限公司", "payerTaxNo": "91310000MA1FL0000X",
        "invoiceKind": "电子发票(普通发票)", "pdfUrl": "https://x/a.pdf", "ofdUrl": "https://x/a.ofd"})
    assert (result.serial_no, result.status, result.invoice_number) == ("S0001", "issued", "26332000000123456789")
    assert result.issue_time == "2026-09-23T08:00:00+08:00"
    assert (result.total_amount, result.total_tax, result.total_with_tax) == (D("640.00"), D("32.40"), D("672.40"))
    assert (result.invoice_type, result.buyer_name, result.qr_payload) == ("02", "上海买方有限公司", "qr")
    assert not result.failure_code


def test_invoice_result_statuses():
    def status(code, **more):
        result = wire.invoice_result({"orderNo": "S", "status": code, **more})
        return result.status, result.failure_code

    assert status("20") == ("pending", "")
    assert status("21") == ("pending", "")
    assert status("22", failCause="购方税号有误") == ("failed", "22")
    assert wire.invoice_result({"status": "22", "failCause": "购方税号有误"}).failure_message == "购方税号有误"
    assert status("24") == ("pending", "24")
    assert status("3") == ("void", "")
    assert status("99") == ("pending", "99")   # an unknown status is never an outcome


def test_invoice_result_never_raises_on_garbage():
    for data in (None, [], {"status": {"x": 1}, "invoiceTime": "soon", "exTaxAmount": "1e999"}):
        result = wire.invoice_result(data)
        assert result.status == "pending" and result.total_amount is None and result.issue_time == ""


def test_file_urls():
    assert wire.file_urls({"pdfUrl": "https://a/p.pdf", "ofdUrl": "", "xmlUrl": "https://a/x.xml"}) == \
        {"pdf": "https://a/p.pdf", "xml": "https://a/x.xml"}


def test_red_form_reasons_map_both_ways():
    assert wire.RED_REASONS == {"01": "2", "02": "1", "03": "3", "04": "4"}
    assert all(wire.RED_REASONS_BACK[wire.RED_REASONS[reason]] == reason for reason in wire.RED_REASONS)


def test_red_form_full_and_partial():
    blue = _invoice(invoice_type="01")
    full = wire.red_form(RedForm("R0001", "26332000000123456789", "02"), blue, seller_tax_id="91330106MA2B2ABCDN",
                         extension_number="923")
    assert full == {"billId": "R0001", "blueInvoiceLine": "bs", "applySource": "0",
                    "blueElecInvoiceNumber": "26332000000123456789", "sellerTaxNo": "91330106MA2B2ABCDN",
                    "sellerName": "杭州卖方有限公司", "buyerTaxNo": "91310000MA1FL0000X",
                    "buyerName": "上海买方有限公司", "redReason": "1", "extensionNumber": "923"}
    partial = wire.red_form(RedForm("R0002", "26332000000123456789", "04",
                                    lines=[RedFormLine(1, D("-300.00"), D("-18.00"), D("-1"))]),
                            blue, seller_tax_id="X")
    assert partial["redReason"] == "4"
    assert partial["detail"] == [{"blueDetailIndex": "1", "goodsName": "软件开发", "goodsCode": "3040201990000000000",
                                  "unit": "次", "num": "-1", "taxExcludedPrice": "300",
                                  "taxExcludedAmount": "-300.00", "taxAmount": "-18.00", "taxRate": "0.06"}]
    bad = RedForm("R0003", "26332000000123456789", "01", lines=[RedFormLine(7, D("-1"), D("0"))])
    assert [error.code for error in wire.red_form_problems(bad, blue)] == ["NUONUO_BLUE_LINE"]


def test_red_form_result():
    form = wire.red_form_result({
        "billNo": "1403011906000993", "billUuid": "u", "billId": "R0002", "billStatus": "02", "applySource": 0,
        "blueElecInvoiceNumber": "26332000000123456789", "billTime": "2026-03-26 18:44:00",
        "taxExcludedAmount": "-300.00", "taxAmount": "-18.00", "redReason": "4",
        "detail": [{"blueDetailIndex": "1", "taxExcludedAmount": "-300.00", "taxAmount": "-18.00", "num": "-1"}]})
    assert (form.form_number, form.status, form.serial_no, form.reason) == ("1403011906000993", "02", "R0002", "04")
    assert (form.applicant, form.direction) == ("seller", "outbound")
    assert (form.total_amount, form.total_tax) == (D("-300.00"), D("-18.00"))
    assert form.lines == [RedFormLine(1, D("-300.00"), D("-18.00"), D("-1"))]
    inbound = wire.red_form_result({"billNo": "1", "billStatus": "03", "applySource": "1"})
    assert (inbound.applicant, inbound.direction) == ("buyer", "inbound")
    applying = {"billId": "R0004", "billStatus": "15"}
    assert wire.red_form_result(applying).status == "" and wire.red_form_phase(applying) == "applying"
    assert wire.red_form_phase({"billStatus": "16"}) == "application_failed"


def test_quota_result():
    quota = wire.quota_result({"availableCreditLine": "9000.12", "usedCreditLine": "1000.12",
                               "totalCreditLine": "10000.24", "amountUpdateTime": "2023-03-23 09:12:20"})
    assert (quota.total, quota.used, quota.remaining, quota.period) == \
        (D("10000.24"), D("1000.12"), D("9000.12"), "2023-03")
    assert wire.quota_result({"requestStatus": "0"}) is None


def _all_problems(invoice):
    return rules.validate_invoice(invoice, limits=wire.LIMITS) + wire.problems(invoice)


def test_every_length_nuonuo_sets_is_checked_before_sending_and_all_at_once():
    invoice = _invoice(remark="备" * 201,
                       seller=Party("杭州卖方有限公司", "91330106MA2B2ABCDN", address="杭州", phone="0" * 21),
                       buyer=Party("上海买方有限公司", "91310000MA1FL0000X", address="址" * 81, phone="1" * 19,
                                   bank_name="工" * 50, bank_account="1" * 50))
    line = invoice.lines[2]
    line.name, line.unit, line.spec = "咨" * 91, "次" * 21, "规" * 41
    line.quantity, line.unit_price = D("123456789.12345678"), D("1")
    found = {(error.field, error.code) for error in _all_problems(invoice)}
    assert found >= {("remark", "TOO_LONG"), ("seller.phone", "TOO_LONG"), ("buyer.address", "TOO_LONG"),
                     ("buyer.bankAccount", "TOO_LONG"), ("lines[2].name", "TOO_LONG"), ("lines[2].unit", "TOO_LONG"),
                     ("lines[2].spec", "TOO_LONG"), ("lines[2].quantity", "TOO_LONG")}
    assert ("buyer.phone", "TOO_LONG") not in found                       # 19 of 50
    bank = next(error for error in wire.problems(invoice) if error.field == "buyer.bankAccount")
    assert "101 characters" in bank.message and "诺诺最多 100 个" in bank.message_zh


def test_rows_beyond_2000_and_misplaced_or_misnamed_discounts_are_refused():
    many = _invoice()
    many.lines = many.lines[:2] * 1000 + many.lines[2:]                  # 2,001 rows, 1,000 of them discounts
    assert [error.code for error in wire.problems(many) if error.field == "lines"] == ["NUONUO_TOO_MANY_LINES"]
    assert "2001" in str(wire.problems(many)[0].message) and "含折扣行" in wire.problems(many)[0].message_zh
    apart = _invoice()
    apart.lines = [apart.lines[0], apart.lines[2], apart.lines[1]]       # the discount not right after its row
    renamed = _invoice()
    renamed.lines[1].name = "*信息技术服务*别的名称"
    for invoice, field in ((apart, "lines[2].lineType"), (renamed, "lines[1].name")):
        assert field in {error.field for error in _all_problems(invoice)}
