"""The texts of a rendered invoice PDF with where they stand, as a reader of the page sees them.

PyPDF2 cannot decode the sandbox's CID font (STSong-Light, UniGB-UCS2-H: UTF-16 strings), so the
page's content stream is read here: each string drawn, its font size and its box on the page, from
the text matrix and the font's metrics. Shared by the pure tests and the Odoo tests.
"""

import io
from dataclasses import dataclass

import PyPDF2
from PyPDF2.generic import ContentStream
from reportlab.pdfbase import pdfmetrics

CID_FONT = "STSong-Light"


@dataclass(frozen=True)
class PlacedText:
    text: str
    x: float        # left of the baseline, points
    y: float        # baseline
    size: float
    width: float

    @property
    def box(self):
        """(left, bottom, right, top) of the glyphs, in points."""
        face = pdfmetrics.getFont(CID_FONT).face
        return (self.x, self.y + face.descent * self.size / 1000,
                self.x + self.width, self.y + face.ascent * self.size / 1000)

    def overlaps(self, other):
        left, bottom, right, top = self.box
        other_left, other_bottom, other_right, other_top = other.box
        return left < other_right and other_left < right and bottom < other_top and other_bottom < top


def _decode(operand, cid):
    raw = operand.original_bytes if hasattr(operand, "original_bytes") else bytes(operand)
    return raw.decode("utf-16-be") if cid else raw.decode("latin-1")


def page_texts(content, page=0):
    """[PlacedText] of every string drawn on ``page`` of the PDF ``content`` (bytes), in drawing order."""
    reader = PyPDF2.PdfReader(io.BytesIO(content))
    pdf_page = reader.pages[page]
    fonts = {name: str(font.get_object()["/BaseFont"]) for name, font in pdf_page["/Resources"]["/Font"].items()}
    placed, x, y, font, size = [], 0.0, 0.0, None, 0.0
    for operands, operator in ContentStream(pdf_page.get_contents(), reader).operations:
        if operator == b"Tm":
            x, y = float(operands[4]), float(operands[5])
        elif operator == b"Tf":
            font, size = str(operands[0]), float(operands[1])
        elif operator == b"Tj":
            cid = CID_FONT in fonts.get(font, "")
            text = _decode(operands[0], cid)
            width = pdfmetrics.stringWidth(text, CID_FONT, size) if cid else 0.0
            placed.append(PlacedText(text, x, y, size, width))
    return placed


def find_text(texts, fragment):
    """The first placed text containing ``fragment``; AssertionError naming what is there when none."""
    for placed in texts:
        if fragment in placed.text:
            return placed
    raise AssertionError(f"{fragment!r} is not on the page: {[placed.text for placed in texts]}")


def row_of(texts, label):
    """The texts on the line of the one containing ``label`` (itself left out), left to right."""
    found = find_text(texts, label)
    return sorted((placed for placed in texts if abs(placed.y - found.y) < 1 and placed is not found),
                  key=lambda placed: placed.x)


def column_of(texts, header):
    """The texts (empty ones left out) drawn below ``header`` where it starts, top to bottom."""
    found = find_text(texts, header)
    return [placed.text for placed in sorted(texts, key=lambda placed: -placed.y)
            if placed.text and abs(placed.x - found.x) < 1 and placed.y < found.y - 1]
