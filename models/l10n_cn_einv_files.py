"""Which attachment is an invoice's e-invoice file, as the tax platform sent it.

``l10n_cn_einv_pdf_id`` and ``l10n_cn_einv_xml_id`` say where the files are;
they are no proof. Whatever hands a file out (the customer portal, with
superuser rights, even to an anonymous visitor holding the invoice's token)
asks :func:`platform_file`, which holds by itself should a field ever point
at another attachment. The attachment must be:

- attached to this invoice (``res_model``, ``res_id``) as a plain stored file
  (no field's attachment, no URL);
- of the format's type: a PDF; XML (which ``ir.attachment`` stores as
  ``text/plain`` when the user issuing may not edit views);
- the very bytes the platform sent for this invoice and format. Their SM3 must
  be the checksum the platform gave in a successful document download of this
  invoice number and format, recorded in the interaction log of the invoice
  (a red invoice's: of its credit note, whose own submission it is). The log
  is written by the platform client's hook only, read-only to every user and
  never changed, so no upload passes however it is placed, nor another
  invoice's file, nor a file whose content changed after it arrived.
"""

import json

from ..fapiao import crypto
from ..fapiao.provider import DOWNLOAD_SERVICE

FILE_FIELDS = {"pdf": "l10n_cn_einv_pdf_id", "xml": "l10n_cn_einv_xml_id", "ofd": "l10n_cn_einv_ofd_id"}
# the first is the one a downloaded file is stored as
MIMETYPES = {"pdf": ("application/pdf",), "xml": ("application/xml", "text/xml", "text/plain"),
             "ofd": ("application/ofd", "application/zip", "application/octet-stream")}


def platform_file(move, file_format):
    """The attachment holding ``move``'s e-invoice file in ``file_format`` (``pdf`` or ``xml``)
    as the platform sent it, with superuser rights; an empty recordset when there is none."""
    move = move.sudo()
    attachment = move[FILE_FIELDS[file_format]]
    if not (attachment and move.l10n_cn_einv_number
            and attachment.res_model == move._name and attachment.res_id == move.id
            and not attachment.res_field and attachment.type == "binary"
            and attachment.mimetype in MIMETYPES[file_format]):
        return attachment.browse()
    digest = crypto.sm3_hex(attachment.raw or b"")
    for log in _download_logs(move, digest):
        if _downloaded(log, move.l10n_cn_einv_number, file_format, digest):
            return attachment
    return attachment.browse()


def _download_logs(move, digest):
    """Successful downloads mentioning ``digest``, logged for the invoice (found by its indexed
    ``move_id``)."""
    return move.env["l10n_cn_einv.log"].sudo().search_fetch(
        [("company_id", "=", move.company_id.id), ("service", "=", DOWNLOAD_SERVICE), ("succeeded", "=", True),
         ("response", "ilike", digest), ("move_id", "=", move.id)], ["request", "response"])


def _downloaded(log, number, file_format, digest):
    """Whether the logged exchange is the platform sending file ``digest`` of invoice ``number``."""
    try:
        request, response = json.loads(log.request or "null"), json.loads(log.response or "null")
    except ValueError:
        return False
    return (isinstance(request, dict) and isinstance(response, dict)
            and request.get("invoiceNumber") == number and request.get("format") == file_format
            and str(response.get("sm3") or "").lower() == digest)
