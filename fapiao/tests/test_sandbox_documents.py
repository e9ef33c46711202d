"""What the sandbox's invoice PDF shows a reader: 价税合计 in capital numerals and in figures on blue
and red invoices, the line's unit, and the 红字 mark clear of 发票号码."""

import base64
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from reportlab.pdfbase import pdfmetrics

from fapiao.documents import Invoice
from fapiao.providers.reference.sandbox import render
from fapiao.providers.reference.wire import from_wire
from fapiao.tests.conftest import invoice_payload
from fapiao.tests.pdftext import column_of, find_text, page_texts, row_of


def download(wire, number, file_format="pdf"):
    return base64.b64decode(wire.ok("document.download", {"invoiceNumber": number, "format": file_format})["content"])


def issue_blue_and_red(wire, make_invoice, invoice_type="02"):
    """A blue invoice of 2000.00 + 260.00 tax (2 台) and its full red reversal: (blue pdf, red pdf)."""
    blue = wire.ok("invoice.issue", make_invoice(f"DOC-{invoice_type}", invoice_type=invoice_type,
                                                 amount="2000.00"))["invoiceNumber"]
    form = wire.ok("redform.apply", {"serialNo": f"RF-{invoice_type}", "blueInvoiceNumber": blue, "reason": "02"})
    red = wire.ok("redinvoice.issue", {"serialNo": f"RED-{invoice_type}", "formNumber": form["formNumber"]})
    return download(wire, blue), download(wire, red["invoiceNumber"]), red["invoiceNumber"]


def total_row(texts):
    return find_text(texts, "价税合计（大写）"), row_of(texts, "价税合计（大写）")


@pytest.mark.parametrize("invoice_type", ["01", "02"])
def test_total_in_capital_numerals_next_to_the_figures(wire, make_invoice, invoice_type):
    blue_pdf, red_pdf, _ = issue_blue_and_red(wire, make_invoice, invoice_type)

    label, row = total_row(page_texts(blue_pdf))
    assert [placed.text for placed in row] == ["贰仟贰佰陆拾圆整", "（小写）¥2260.00"]
    assert label.box[2] < row[0].x and not row[0].overlaps(row[1])

    label, row = total_row(page_texts(red_pdf))
    assert [placed.text for placed in row] == ["（负数）贰仟贰佰陆拾圆整", "（小写）¥-2260.00"]
    assert label.box[2] < row[0].x and not row[0].overlaps(row[1])


@pytest.mark.parametrize("invoice_type", ["01", "02"])
def test_the_red_mark_stands_clear_of_the_invoice_number(wire, make_invoice, invoice_type):
    _, red_pdf, red_number = issue_blue_and_red(wire, make_invoice, invoice_type)
    texts = page_texts(red_pdf)
    mark, number = find_text(texts, "红字"), find_text(texts, f"发票号码：{red_number}")
    assert mark.text == "红字" and not mark.overlaps(number)
    assert not mark.overlaps(find_text(texts, render.TITLES[invoice_type]))


@pytest.mark.parametrize("title", sorted(set(render.TITLES.values()) | {"电子发票"}))
def test_the_red_mark_fits_between_every_title_and_the_number(title):
    title_right = render.PAGE[0] / 2 + pdfmetrics.stringWidth(title, render.FONT, render.TITLE_SIZE) / 2
    mark_left = render.red_mark_x(title)
    assert title_right < mark_left
    assert mark_left + pdfmetrics.stringWidth("红字", render.FONT, render.RED_MARK_SIZE) < render.NUMBER_X


def test_the_unit_column_prints_the_line_unit(wire, make_invoice):
    blue_pdf, red_pdf, _ = issue_blue_and_red(wire, make_invoice)
    for pdf in (blue_pdf, red_pdf):
        texts = page_texts(pdf)
        assert column_of(texts, "单位") == ["台"]
        assert [placed.text for placed in texts if "单位" in placed.text or "Unit" in placed.text] == ["单位"]


def view_of(total_with_tax, kind="blue", lines=1):
    amount = Decimal(total_with_tax) / lines
    payload = invoice_payload(type("App", (), {"seller_name": "销售方", "seller_tax_id": "91350100M000100Y43"}),
                              lines=lines, amount=str(amount), rate="0")
    invoice = from_wire(Invoice, payload)
    return render.InvoiceView(number="2" * 20, invoice_type="01", kind=kind, issue_time="2026-01-02T10:00:00",
                              qr_payload="01,01,,", invoice=invoice, line_names=[line.name for line in invoice.lines])


def test_a_long_amount_in_words_fits_before_the_figures():
    texts = page_texts(render.render_pdf(view_of("-987654321.99", kind="red")))
    _, row = total_row(texts)
    assert row[0].text == "（负数）玖亿捌仟柒佰陆拾伍万肆仟叁佰贰拾壹圆玖角玖分"
    assert not row[0].overlaps(row[1]) and row[0].size <= 10


def test_the_amount_in_words_is_on_the_last_page_only():
    pdf = render.render_pdf(view_of("1200.00", lines=12))
    first, last = page_texts(pdf, 0), page_texts(pdf, 1)
    assert [placed.text for placed in total_row(first)[1]] == []
    assert [placed.text for placed in total_row(last)[1]] == ["壹仟贰佰圆整", "（小写）¥1200.00"]


def test_the_xml_has_the_total_in_words(wire, make_invoice):
    number = wire.ok("invoice.issue", make_invoice("DOC-XML", amount="2000.00"))["invoiceNumber"]
    root = ET.fromstring(download(wire, number, "xml"))
    assert root.findtext("Totals/TotalWithTaxInWords") == "贰仟贰佰陆拾圆整"
