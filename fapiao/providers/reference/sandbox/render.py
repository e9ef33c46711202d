"""The invoice files (版式文件): a PDF laid out like a 数电票 and an XML of the same fields.

Like the real files they show the invoice as issued, never its later state
(void, red-reversed), so they can be cached for good.

Rendered only when first downloaded (then cached by the ledger): issuing
must stay fast. The PDF uses reportlab's built-in CID font STSong-Light, so
no font file is needed; the QR code is drawn from the invoice's qrPayload as
a form XObject named ``qrcode``, and the payload is also written to the
document's keywords so that a program can find it without decoding images.
"""

import io
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas as pdf_canvas

from ....amountwords import amount_in_words
from ....catalogue import format_rate
from ....documents import Invoice
from ....rules import format_line_name
from ..wire import from_wire

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

TITLES = {
    "01": "电子发票（增值税专用发票）",
    "02": "电子发票（普通发票）",
    "004": "增值税专用发票",
    "007": "增值税普通发票",
    "026": "增值税电子普通发票",
}
PAGE = (240 * mm, 140 * mm)
INK = colors.Color(0.55, 0.27, 0.07)  # the brown of printed 数电票 frames
LINES_PER_PAGE = 8


@dataclass
class InvoiceView:
    """What a rendered invoice shows."""

    number: str
    invoice_type: str
    kind: str
    issue_time: str
    qr_payload: str
    invoice: Invoice
    line_names: list           # *简称*名称 per line
    blue_invoice_number: str = ""
    red_form_number: str = ""

    @classmethod
    def of(cls, row, catalogue):
        invoice = from_wire(Invoice, json.loads(row["payload"]))
        return cls(number=row["invoice_number"], invoice_type=row["invoice_type"], kind=row["kind"],
                   issue_time=row["issue_time"], qr_payload=row["qr_payload"],
                   invoice=invoice, line_names=[printed_name(line, catalogue) for line in invoice.lines],
                   blue_invoice_number=row["blue_invoice_number"], red_form_number=row["red_form_number"])

    @property
    def date_text(self):
        return f"{self.issue_time[:4]}年{self.issue_time[5:7]}月{self.issue_time[8:10]}日"


def printed_name(line, catalogue):
    """``*简称*项目名称``: the short name comes from the classification code."""
    entry = catalogue.get(line.classification_code)
    return format_line_name(entry.short_name or entry.name, line.name) if entry else line.name


def _number(value):
    """A quantity or unit price as printed: no exponent, no trailing zeros."""
    return "" if value is None else f"{value.normalize():f}"


def _rate(line):
    if line.preferential_policy in ("免税", "不征税"):
        return line.preferential_policy
    return format_rate(line.tax_rate)


# --- PDF ------------------------------------------------------------------------------

def _text(c, x, y, text, size=9, *, align="left", color=colors.black):
    c.setFont(FONT, size)
    c.setFillColor(color)
    draw = {"left": c.drawString, "right": c.drawRightString, "center": c.drawCentredString}[align]
    draw(x, y, text)


def _qr(c, payload, x, y, size):
    widget = QrCodeWidget(payload, barLevel="M")
    left, bottom, right, top = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (right - left), 0, 0, size / (top - bottom), 0, 0])
    drawing.add(widget)
    if not c.hasForm("qrcode"):  # drawn once, shown on every page (a name can be defined only once)
        c.beginForm("qrcode")
        renderPDF.draw(drawing, c, 0, 0)
        c.endForm()
    c.saveState()
    c.translate(x, y)
    c.doForm("qrcode")
    c.restoreState()


def _party(c, x, y, label, party):
    _text(c, x + 2 * mm, y - 7 * mm, f"{label}信息", 9, color=INK)
    _text(c, x + 20 * mm, y - 7 * mm, f"名称：{party.name}", 9)
    _text(c, x + 20 * mm, y - 13 * mm, f"统一社会信用代码/纳税人识别号：{party.tax_id}", 9)
    details = "  ".join(v for v in (party.address, party.phone, party.bank_name, party.bank_account) if v)
    if details:
        _text(c, x + 20 * mm, y - 19 * mm, details[:60], 7)


COLUMNS = [  # title, x (mm from the frame's left), alignment
    ("项目名称", 2, "left"), ("规格型号", 62, "left"), ("单位", 88, "left"), ("数量", 118, "right"),
    ("单价", 143, "right"), ("金额", 170, "right"), ("税率/征收率", 190, "right"), ("税额", 216, "right"),
]


TITLE_SIZE, RED_MARK_SIZE = 16, 14
RED_MARK_GAP = 3 * mm        # between the title and the 红字 mark
NUMBER_X = PAGE[0] - 66 * mm  # left of 发票号码 and 开票日期
TOTAL_WORDS_X, TOTAL_FIGURES_X = 32 * mm, 150 * mm  # 价税合计: （大写） words, （小写） figures


def red_mark_x(title):
    """Left of the 红字 mark: just after the centred title, so that it never reaches 发票号码 (the
    longest title, 电子发票（增值税专用发票）, leaves it more than 4 mm clear)."""
    return PAGE[0] / 2 + pdfmetrics.stringWidth(title, FONT, TITLE_SIZE) / 2 + RED_MARK_GAP


def _total_in_words(c, x, y, amount, room):
    """The amount in capital numerals (fapiao.amountwords), in 10 pt, smaller where a long one needs it
    to fit ``room`` (points)."""
    words = amount_in_words(amount)
    _text(c, x, y, words, min(10, 10 * room / pdfmetrics.stringWidth(words, FONT, 10)))


def _page(c, view, lines, first, last):
    width, height = PAGE
    left, right = 8 * mm, width - 8 * mm
    inv = view.invoice
    title = TITLES.get(view.invoice_type, "电子发票")
    _text(c, width / 2, height - 14 * mm, title, TITLE_SIZE, align="center", color=INK)
    if view.kind == "red":
        _text(c, red_mark_x(title), height - 14 * mm, "红字", RED_MARK_SIZE, color=colors.red)
    _qr(c, view.qr_payload or view.number, left, height - 29 * mm, 22 * mm)
    _text(c, NUMBER_X, height - 12 * mm, f"发票号码：{view.number}", 9)
    _text(c, NUMBER_X, height - 18 * mm, f"开票日期：{view.date_text}", 9)

    top = height - 32 * mm
    c.setStrokeColor(INK)
    c.rect(left, top - 22 * mm, right - left, 22 * mm)
    c.line(width / 2, top, width / 2, top - 22 * mm)
    _party(c, left, top, "购买方", inv.buyer)
    _party(c, width / 2, top, "销售方", inv.seller)

    table_top = top - 22 * mm
    rows_height = 6 * mm * (LINES_PER_PAGE + 2)
    c.rect(left, table_top - rows_height, right - left, rows_height)
    for title, x, align in COLUMNS:
        _text(c, left + x * mm, table_top - 5 * mm, title, 8, align=align, color=INK)
    y = table_top - 11 * mm
    for index, line in lines:
        values = [view.line_names[index][:30], line.spec[:12], line.unit[:8], _number(line.quantity),
                  _number(line.unit_price), f"{line.amount:.2f}", _rate(line), f"{line.tax_amount:.2f}"]
        for (_, x, align), value in zip(COLUMNS, values, strict=True):
            _text(c, left + x * mm, y, value, 8, align=align)
        y -= 6 * mm
    if last:
        y = table_top - rows_height + 3 * mm
        _text(c, left + 2 * mm, y, "合计", 9, color=INK)
        _text(c, left + 170 * mm, y, f"¥{inv.total_amount:.2f}", 9, align="right")
        _text(c, left + 216 * mm, y, f"¥{inv.total_tax:.2f}", 9, align="right")
    bottom = table_top - rows_height
    c.rect(left, bottom - 8 * mm, right - left, 8 * mm)
    _text(c, left + 2 * mm, bottom - 5.5 * mm, "价税合计（大写）", 9, color=INK)
    if last:
        _total_in_words(c, left + TOTAL_WORDS_X, bottom - 5.5 * mm, inv.total_with_tax,
                        room=TOTAL_FIGURES_X - TOTAL_WORDS_X - 4 * mm)
        _text(c, left + TOTAL_FIGURES_X, bottom - 5.5 * mm, f"（小写）¥{inv.total_with_tax:.2f}", 10)
    c.rect(left, bottom - 20 * mm, right - left, 12 * mm)
    _text(c, left + 2 * mm, bottom - 13 * mm, "备注", 9, color=INK)
    _text(c, left + 14 * mm, bottom - 13 * mm, inv.remark[:90], 8)
    _text(c, left + 2 * mm, bottom - 26 * mm, f"开票人：{inv.issuer}", 9)
    if not first or not last:
        _text(c, right, bottom - 26 * mm, f"第 {c.getPageNumber()} 页", 8, align="right")


def render_pdf(view):
    buffer = io.BytesIO()
    c = pdf_canvas.Canvas(buffer, pagesize=PAGE, pageCompression=1)
    c.setTitle(f"{TITLES.get(view.invoice_type, '电子发票')} {view.number}")
    c.setAuthor(view.invoice.seller.name)
    c.setSubject(view.number)
    c.setKeywords(view.qr_payload)
    c.setCreator("fapiao sandbox platform")
    numbered = list(enumerate(view.invoice.lines))
    pages = [numbered[i:i + LINES_PER_PAGE] for i in range(0, len(numbered), LINES_PER_PAGE)] or [[]]
    for i, lines in enumerate(pages):
        _page(c, view, lines, first=i == 0, last=i == len(pages) - 1)
        c.showPage()
    c.save()
    return buffer.getvalue()


# --- XML --------------------------------------------------------------------------------

def _element(parent, tag, value):
    child = ET.SubElement(parent, tag)
    child.text = "" if value is None else (f"{value:f}" if isinstance(value, Decimal) else str(value))
    return child


def _party_xml(root, tag, party):
    element = ET.SubElement(root, tag)
    for name, value in (("Name", party.name), ("TaxId", party.tax_id), ("Address", party.address),
                        ("Phone", party.phone), ("BankName", party.bank_name),
                        ("BankAccount", party.bank_account)):
        _element(element, name, value)


def render_xml(view):
    inv = view.invoice
    root = ET.Element("EInvoice", {"version": "1"})
    header = ET.SubElement(root, "Header")
    for tag, value in (("InvoiceNumber", view.number), ("InvoiceType", view.invoice_type),
                       ("Title", TITLES.get(view.invoice_type, "")), ("Kind", view.kind),
                       ("IssueTime", view.issue_time),
                       ("QrPayload", view.qr_payload), ("BlueInvoiceNumber", view.blue_invoice_number),
                       ("RedFormNumber", view.red_form_number)):
        _element(header, tag, value)
    _party_xml(root, "Seller", inv.seller)
    _party_xml(root, "Buyer", inv.buyer)
    lines = ET.SubElement(root, "Lines")
    for i, line in enumerate(inv.lines):
        element = ET.SubElement(lines, "Line", {"no": str(line.line_no or i + 1)})
        for tag, value in (("Name", view.line_names[i]), ("ClassificationCode", line.classification_code),
                           ("Spec", line.spec), ("Unit", line.unit), ("Quantity", line.quantity),
                           ("UnitPrice", line.unit_price), ("Amount", line.amount), ("TaxRate", line.tax_rate),
                           ("TaxAmount", line.tax_amount), ("AmountWithTax", line.amount_with_tax),
                           ("LineType", line.line_type), ("PreferentialPolicy", line.preferential_policy)):
            _element(element, tag, value)
    totals = ET.SubElement(root, "Totals")
    for tag, value in (("TotalAmount", inv.total_amount), ("TotalTax", inv.total_tax),
                       ("TotalWithTax", inv.total_with_tax),
                       ("TotalWithTaxInWords", amount_in_words(inv.total_with_tax))):
        _element(totals, tag, value)
    _element(root, "Remark", inv.remark)
    _element(root, "Issuer", inv.issuer)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


RENDERERS = {"pdf": render_pdf, "xml": render_xml}
