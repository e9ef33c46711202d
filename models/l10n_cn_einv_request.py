"""Self-service e-invoice requests (扫码开票 / 申请开票), for any source document.

A source document (a sale order here; a POS order in the POS bridge) inherits
``l10n_cn_einv.request.mixin`` and says how it is invoiced. Its request
(``l10n_cn_einv.request``, one per document) holds the link's secret and
expiry; the public page (controllers/self_invoice.py) shows the form, then the
e-invoice's status.

Exactly once: a submit locks the request row (``FOR UPDATE NOWAIT``); a second
submit meanwhile is told that the first one is at work, and any submit after
it finds the request submitted. The invoice then goes through the one
submission engine, whose serial number makes every resend the same invoice.
"""

import logging
from datetime import timedelta

import psycopg2

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..fapiao import selfinvoice
from .account_move import IN_PROGRESS
from .l10n_cn_einv_buyer_title import INVOICE_TYPES
from .l10n_cn_einv_lang import company_lang
from .l10n_cn_einv_submission import WAITING_LOGIN

_logger = logging.getLogger(__name__)

TITLE_TYPES = [(selfinvoice.TITLE_COMPANY, "Organisation"), (selfinvoice.TITLE_PERSON, "Natural Person")]


class SelfInvoiceRefused(Exception):
    """A submit refused with a message for the customer; nothing was created."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind
        self.message = message


class L10nCnEinvRequest(models.Model):
    _name = "l10n_cn_einv.request"
    _description = "E-Invoice Customer Request"
    _order = "id desc"
    _rec_name = "display_source"

    res_model = fields.Char("Source Model", required=True, readonly=True, index=True)
    res_id = fields.Many2oneReference("Source ID", model_field="res_model", required=True, readonly=True)
    display_source = fields.Char("Source Document", readonly=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    access_token = fields.Char(readonly=True, copy=False, groups="base.group_system")
    expires_at = fields.Datetime("Link Expires", readonly=True)
    state = fields.Selection([("open", "Open"), ("submitted", "Submitted")], default="open", required=True,
                             readonly=True)
    submitted_at = fields.Datetime(readonly=True)
    remote_addr = fields.Char("Submitted From", readonly=True)
    title_type = fields.Selection(TITLE_TYPES, readonly=True)
    invoice_type = fields.Selection(INVOICE_TYPES, "E-Invoice Type", readonly=True)
    buyer_name = fields.Char("Buyer Title", readonly=True)
    buyer_tax_id = fields.Char("Buyer Taxpayer ID", readonly=True)
    buyer_address_phone = fields.Char("Buyer Address and Phone", readonly=True)
    buyer_bank_account = fields.Char("Buyer Bank and Account", readonly=True)
    email = fields.Char("Delivery E-mail", readonly=True)
    move_ids = fields.Many2many("account.move", string="Invoices Requested", readonly=True)

    _sql_constraints = [
        ("l10n_cn_einv_request_source_unique", "UNIQUE(res_model, res_id)", "One invoice request per document."),
        ("l10n_cn_einv_request_token_unique", "UNIQUE(access_token)", "A request link is unique."),
    ]

    # --- the link ------------------------------------------------------------------------------

    def _l10n_cn_einv_source(self):
        self.ensure_one()
        return self.env[self.res_model].browse(self.res_id).exists()

    def _l10n_cn_einv_path(self):
        self.ensure_one()
        return f"/l10n_cn_einvoice/request/{self.id}/{self.sudo().access_token}"

    def _l10n_cn_einv_url(self):
        return self.company_id.get_base_url() + self._l10n_cn_einv_path()

    def _l10n_cn_einv_token_matches(self, token):
        """Whether ``token`` is this request's secret (compared in constant time)."""
        return selfinvoice.tokens_match(self.sudo().access_token, token)

    def _l10n_cn_einv_expired(self):
        self.ensure_one()
        return self.state == "open" and selfinvoice.expired(self.expires_at, fields.Datetime.now())

    def _l10n_cn_einv_last_day(self):
        self.ensure_one()
        return selfinvoice.last_day(self.expires_at)

    # --- rate limit ----------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_rate_exceeded(self, remote_addr, request_id):
        """Count this submit against its client address and its request, in PostgreSQL (every worker
        and server shares the counts), committed at once whatever becomes of the submit; True when
        either is over its limit within the window."""
        keys = {f"addr:{remote_addr or '?'}": selfinvoice.RATE_PER_ADDRESS,
                f"request:{request_id}": selfinvoice.RATE_PER_REQUEST}
        registry = self.env.registry
        exceeded = False
        with registry.cursor() as cr:
            if not registry.in_test_mode():
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(SQL("DELETE FROM l10n_cn_einv_request_hit WHERE at < NOW() AT TIME ZONE 'UTC' - %s",
                           timedelta(seconds=selfinvoice.RATE_WINDOW)))
            for key, limit in keys.items():
                cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtext(%s))", key))
                cr.execute(SQL("SELECT COUNT(*) FROM l10n_cn_einv_request_hit WHERE key = %s", key))
                exceeded = exceeded or cr.fetchone()[0] >= limit
                cr.execute(SQL("INSERT INTO l10n_cn_einv_request_hit (key, at) VALUES (%s, NOW() AT TIME ZONE 'UTC')",
                               key))
        return exceeded

    # --- submit --------------------------------------------------------------------------------

    def _l10n_cn_einv_lock_request(self):
        # log_exceptions=False: a busy row is an answer here, not an error (and mute_logger is not
        # thread-safe). Under REPEATABLE READ, a row another submit changed and committed meanwhile
        # raises a serialization failure: Odoo then runs the request again, which finds it submitted.
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(SQL("SELECT id FROM l10n_cn_einv_request WHERE id = %s FOR UPDATE NOWAIT",
                                        self.id), log_exceptions=False)
        except psycopg2.errors.LockNotAvailable:
            raise SelfInvoiceRefused("busy", _(
                "Your request is being processed right now. This page will show its result in a moment.")) from None
        self.invalidate_recordset()

    def _l10n_cn_einv_submit(self, title, remote_addr=None):
        """Create the invoice of the source with the customer's ``title`` (a valid fapiao.selfinvoice.Title)
        and issue its e-invoice, once. Raises SelfInvoiceRefused, with nothing created, when it may not."""
        self.ensure_one()
        self._l10n_cn_einv_lock_request()
        if self.state != "open":
            raise SelfInvoiceRefused("replayed", _(
                "This request was already submitted: the e-invoice is issued once only. Its status is shown below."))
        if self._l10n_cn_einv_expired():
            raise SelfInvoiceRefused("expired", _(
                "This invoice request link has expired. Please contact the shop."))
        source = self._l10n_cn_einv_source()
        if not source:
            raise SelfInvoiceRefused("invalid", _("This invoice request link is not valid."))
        source = source.with_company(self.company_id)
        refusal = source._l10n_cn_einv_request_refusal()
        if refusal:
            raise SelfInvoiceRefused("refused", refusal)
        values = {
            "l10n_cn_einv_invoice_type": title.invoice_type,
            "l10n_cn_einv_buyer_name": title.name,
            "l10n_cn_einv_buyer_tax_id": title.tax_id or False,
            "l10n_cn_einv_buyer_address_phone": title.address_phone or False,
            "l10n_cn_einv_buyer_bank_account": title.bank_account or False,
            "l10n_cn_einv_buyer_email": title.email,
            "l10n_cn_einv_buyer_is_natural_person": title.natural_person,
        }
        try:
            with self.env.cr.savepoint():
                moves = source._l10n_cn_einv_request_invoices(values)
                problems = [problem for move in moves for problem in move._l10n_cn_einv_problems()]
                if not moves or problems:
                    _logger.info("invoice request %s refused: %s", self.id, "; ".join(problems))
                    raise SelfInvoiceRefused("problem", _(
                        "The e-invoice of this order cannot be issued online: %s Please contact the shop.",
                        " ".join(problems) or _("there is nothing to invoice.")))
        except UserError as error:
            self.env.invalidate_all()
            _logger.info("invoice request %s refused: %s", self.id, error.args[0])
            raise SelfInvoiceRefused("problem", _(
                "The e-invoice of this order cannot be issued online: %s Please contact the shop.",
                error.args[0])) from None
        except SelfInvoiceRefused:
            self.env.invalidate_all()
            raise
        self.write({
            "state": "submitted", "submitted_at": fields.Datetime.now(), "remote_addr": remote_addr,
            "title_type": title.kind, "invoice_type": title.invoice_type,
            "buyer_name": title.name, "buyer_tax_id": title.tax_id or False,
            "buyer_address_phone": title.address_phone or False, "buyer_bank_account": title.bank_account or False,
            "email": title.email, "move_ids": [fields.Command.set(moves.ids)],
        })
        if hasattr(source, "message_post"):
            # for the shop's staff: in the company's language, whichever the customer's page was in
            staff = source.with_context(lang=company_lang(self.company_id))
            kind = dict(self._fields["invoice_type"]._description_selection(staff.env))[title.invoice_type]
            staff.message_post(body=staff.env._(
                "The customer requested an e-invoice (from %(address)s): %(invoice_type)s, title %(title)s, "
                "taxpayer id %(tax_id)s, to be sent to %(email)s.", address=remote_addr or "?", invoice_type=kind,
                title=title.name, tax_id=title.tax_id or "-", email=title.email))
        moves._l10n_cn_einv_enqueue()
        moves._l10n_cn_einv_lock(nowait=True)
        moves._l10n_cn_einv_send_now()
        return moves

    # --- status --------------------------------------------------------------------------------

    def _l10n_cn_einv_moves(self):
        return self.move_ids.filtered(lambda move: move.state != "cancel")

    def _l10n_cn_einv_waiting(self):
        """Whether the page should look again soon: an e-invoice on its way, or files still to come."""
        return any(move.l10n_cn_einv_state in (*IN_PROGRESS, WAITING_LOGIN)
                   or (move.l10n_cn_einv_state == "issued" and not move.l10n_cn_einv_pdf_id)
                   for move in self._l10n_cn_einv_moves())


class L10nCnEinvRequestHit(models.Model):
    """One submit of the request page, for its rate limit (kept for fapiao.selfinvoice.RATE_WINDOW)."""

    _name = "l10n_cn_einv.request.hit"
    _description = "E-Invoice Customer Request Submit"
    _log_access = False

    key = fields.Char(required=True, index=True, readonly=True)
    at = fields.Datetime(required=True, readonly=True)


class L10nCnEinvRequestMixin(models.AbstractModel):
    """A document whose customer may request its e-invoice with a link (sale order, POS order)."""

    _name = "l10n_cn_einv.request.mixin"
    _description = "E-Invoice Customer Request Source"

    def _l10n_cn_einv_request_purchase_date(self):
        """When the customer bought (naive UTC): the link's expiry counts from it."""
        return self.date_order

    def _l10n_cn_einv_request_refusal(self):
        """Why the customer may not request the e-invoice now (a sentence), or None."""
        raise NotImplementedError

    def _l10n_cn_einv_request_invoices(self, title_values):
        """Create (and post) the invoices with the customer's title ``title_values`` -> account.move."""
        raise NotImplementedError

    def _l10n_cn_einv_request(self):
        """The request of this document, created with its secret and expiry on first use (sudo)."""
        self.ensure_one()
        requests = self.env["l10n_cn_einv.request"].sudo()
        found = requests.search([("res_model", "=", self._name), ("res_id", "=", self.id)], limit=1)
        if found:
            return found
        purchased = self._l10n_cn_einv_request_purchase_date() or fields.Datetime.now()
        # Two first clicks at once: the second insert waits for the first; then, under REPEATABLE
        # READ, it fails to serialize and Odoo runs the request again, which finds the request.
        self.env.cr.execute(SQL("""
            INSERT INTO l10n_cn_einv_request (res_model, res_id, company_id, display_source, access_token,
                                              expires_at, state, create_uid, write_uid, create_date, write_date)
            VALUES (%(model)s, %(id)s, %(company)s, %(name)s, %(token)s, %(expires)s, 'open',
                    %(uid)s, %(uid)s, NOW() AT TIME ZONE 'UTC', NOW() AT TIME ZONE 'UTC')
            ON CONFLICT (res_model, res_id) DO NOTHING
            RETURNING id
        """, model=self._name, id=self.id, company=self.company_id.id, name=self.display_name,
            token=selfinvoice.new_token(), uid=self.env.uid,
            expires=selfinvoice.expires_at(purchased, self.company_id.l10n_cn_einv_request_period)),
            log_exceptions=False)
        row = self.env.cr.fetchone()
        if row:
            return requests.browse(row[0])
        return requests.search([("res_model", "=", self._name), ("res_id", "=", self.id)], limit=1)

    def _l10n_cn_einv_request_url(self):
        return self._l10n_cn_einv_request()._l10n_cn_einv_url()
