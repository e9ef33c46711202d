"""E-invoice issuing on customer invoices.

State diagram of ``l10n_cn_einv_state`` (red reversal states come with the
red-reversal feature)::

    not_needed --(Issue button, Send & Print, automatic issue)--> to_issue
    to_issue   --(queue / button: request sent)-----------------> submitting
    submitting --(platform: issued)-----------------------------> issued
    submitting --(platform: accepted, result later)-------------> pending
    pending    --(poll cron / callback: issued)-----------------> issued
    submitting --(busy, time-out, connection lost)--------------> to_issue (retry after a wait)
    to_issue   --(all waits used)-------------------------------> failed (activity for managers)
    submitting / pending --(refused or failed on the platform)--> failed
    failed     --(Retry)----------------------------------------> to_issue

The serial number (流水号) is derived from the database and the invoice, so
it is the same for every attempt, even one whose transaction was rolled back
after the request left: the platform answers a repeated serial number with
the original invoice, so an invoice can never be issued twice. Only a
submission the platform definitively failed gets a new serial number.
"""

import functools
import hashlib
import logging
import time
from collections import defaultdict
from datetime import timedelta

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, email_normalize, email_split, float_compare

from ..fapiao import chinatime, documents, redreversal, rules, title
from ..fapiao.errors import PlatformError, SerialRejected
from ..fapiao.lines import decimal, document_line_labels, invoice_lines, line_of_number, printed_numbers
from ..fapiao.parallel import NOT_SENT, ParallelSender
from ..fapiao.problems import describe_problem
from .l10n_cn_einv_buyer_title import TITLE_FIELDS
from .l10n_cn_einv_files import FILE_FIELDS, MIMETYPES
from .l10n_cn_einv_guard import check_access, flow, in_flow, text_as_html
from .l10n_cn_einv_lang import error_message, in_writer_lang, writer_lang
from .l10n_cn_einv_red_form import RED_REASONS, deterministic_serial, money
from .l10n_cn_einv_submission import WAITING_LOGIN

_logger = logging.getLogger(__name__)

EINV_STATES = [
    ("not_needed", "Not Requested"),
    ("to_issue", "To Issue"),
    ("submitting", "Submitting"),
    ("pending", "Pending"),
    (WAITING_LOGIN, "Waiting for Tax Bureau Login"),
    ("issued", "Issued"),
    ("failed", "Failed"),
]
# What the e-invoice prints, or what decides it: locked once the invoice is queued for the
# platform (see AccountMove._l10n_cn_einv_locked).
PRINTED_FIELDS = {
    "partner_id", "commercial_partner_id", "invoice_line_ids", "line_ids", "currency_id", "invoice_date",
    "amount_untaxed", "amount_tax", "amount_total", "company_id", "move_type", "name", "invoice_origin", "state",
    *TITLE_FIELDS,
} - {"l10n_cn_einv_buyer_email"}   # where it is delivered is not printed
# The same on the journal items of a locked invoice.
PRINTED_LINE_FIELDS = {
    "move_id", "product_id", "name", "quantity", "price_unit", "discount", "tax_ids", "product_uom_id",
    "price_subtotal", "price_total", "balance", "amount_currency", "debit", "credit", "currency_id",
    "display_type", "sequence",
}
LOCKED_STATES = ("to_issue", "submitting", "pending", WAITING_LOGIN, "issued")
QUEUE_STATES = ("to_issue", "submitting")
IN_PROGRESS = ("to_issue", "submitting", "pending")
DELIVERY_TEMPLATE = "l10n_cn_einvoice.email_template_l10n_cn_einv_delivery"
# Context key: ids of invoices that Send & Print is about to mail itself.
MAILED_BY_SEND = "l10n_cn_einv_mailed_by_send"


QUEUE_CRON = "l10n_cn_einvoice.ir_cron_l10n_cn_einv_process_queue"
QUEUE_LANE = "ir_cron_l10n_cn_einv_process_queue_lane_"     # + its number, from 2
MAX_QUEUE_LANES = 16
LANE_SECONDS = 30   # a lane's run claims no more after this: well within Odoo's cron time limit
POLL_SOON = 5   # seconds after a pending answer until the poll cron asks (诺诺: 3-5 s)
POLL_BATCHES = 8   # batches of pending invoices the poll cron claims at once, their queries in flight together
FILES_WHILE_ISSUING = 10   # invoices whose files are fetched per run while their company's queue is busy


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "l10n_cn_einv.flow.mixin", "l10n_cn_einv.submission", "l10n_cn_einv.buyer.title"]
    _l10n_cn_einv_parallel_steps = True
    _l10n_cn_einv_queue = {"state": "l10n_cn_einv_state", "attempts": "l10n_cn_einv_attempts",
                           "next_attempt": "l10n_cn_einv_next_attempt", "error": "l10n_cn_einv_error",
                           "failed": "failed"}

    l10n_cn_einv_applicable = fields.Boolean("E-Invoicing Applies", compute="_compute_l10n_cn_einv_applicable")
    l10n_cn_einv_issue_warning = fields.Text(
        "E-Invoice Problems", compute="_compute_l10n_cn_einv_issue_warning",
        help="Why this posted invoice cannot be issued as an e-invoice yet, every problem at once.")
    l10n_cn_einv_state = fields.Selection(
        EINV_STATES, string="E-Invoice Status", default="not_needed", required=True, copy=False,
        tracking=True, index=True, readonly=True, l10n_cn_einv_flow=True)
    # The e-invoice facts below are the flow's alone (l10n_cn_einv_flow: refused to create,
    # write and copy from anywhere else; see models/l10n_cn_einv_guard.py).
    l10n_cn_einv_serial_no = fields.Char("E-Invoice Serial Number", copy=False, readonly=True, index=True,
                                         l10n_cn_einv_flow=True)
    l10n_cn_einv_submission = fields.Integer("Failed Submissions", copy=False, readonly=True, default=0,
                                             l10n_cn_einv_flow=True,
                                             help="Submissions the platform failed for good so far.")
    l10n_cn_einv_number = fields.Char("E-Invoice Number", copy=False, readonly=True, index=True,
                                      l10n_cn_einv_flow=True)
    l10n_cn_einv_issue_time = fields.Datetime("E-Invoice Issue Time", copy=False, readonly=True,
                                              l10n_cn_einv_flow=True)
    l10n_cn_einv_submitted_at = fields.Datetime("First Submitted", copy=False, readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_qr_payload = fields.Char("E-Invoice QR Content", copy=False, readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_pdf_id = fields.Many2one("ir.attachment", "E-Invoice PDF", copy=False, readonly=True,
                                          index="btree_not_null", l10n_cn_einv_flow=True)
    l10n_cn_einv_xml_id = fields.Many2one("ir.attachment", "E-Invoice XML", copy=False, readonly=True,
                                          index="btree_not_null", l10n_cn_einv_flow=True)
    # set by a person's Issue click until the files are here: fetched first, even while the queue is busy
    l10n_cn_einv_files_awaited = fields.Boolean("E-Invoice Files Awaited", copy=False, readonly=True,
                                                l10n_cn_einv_flow=True)
    # 诺诺 gives an OFD too: where it does, the OFD is the legal original, kept with the PDF
    l10n_cn_einv_ofd_id = fields.Many2one("ir.attachment", "E-Invoice OFD", copy=False, readonly=True,
                                          index="btree_not_null", l10n_cn_einv_flow=True)
    l10n_cn_einv_error = fields.Text("E-Invoice Error", copy=False, readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_attempts = fields.Integer("Retries", copy=False, readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_next_attempt = fields.Datetime("Next Attempt", copy=False, readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_uncertain = fields.Boolean(
        "Outcome Unknown", copy=False, readonly=True, l10n_cn_einv_flow=True,
        help="An earlier attempt may have reached the platform: query before sending again.")
    l10n_cn_einv_log_ids = fields.One2many("l10n_cn_einv.log", "move_id", "Platform Interactions",
                                           l10n_cn_einv_flow=True)
    l10n_cn_einv_log_count = fields.Integer("Platform Interaction Count", compute="_compute_l10n_cn_einv_log_count")

    # The platform answers a known serial number with the e-invoice issued for it: one serial
    # number, one invoice (a copied one would hand a customer another customer's e-invoice).
    _sql_constraints = [
        ("l10n_cn_einv_serial_unique", "UNIQUE(company_id, l10n_cn_einv_serial_no)",
         "An e-invoice serial number belongs to one invoice of the company only."),
    ]

    # --- computes -------------------------------------------------------------

    @api.depends("company_id", "move_type")
    def _compute_l10n_cn_einv_applicable(self):
        for move in self:
            move.l10n_cn_einv_applicable = (
                move.move_type == "out_invoice" and move.company_id.account_fiscal_country_id.code == "CN"
            )

    def _l10n_cn_einv_title_frozen(self):
        return self.l10n_cn_einv_state not in ("not_needed", False)

    def _compute_l10n_cn_einv_log_count(self):
        counts = dict(self.env["l10n_cn_einv.log"]._read_group(
            [("move_id", "in", self.ids)], ["move_id"], ["__count"]))
        for move in self:
            move.l10n_cn_einv_log_count = counts.get(move, 0)

    # --- protection of what was submitted -------------------------------------------------

    def _l10n_cn_einv_locked(self):
        """The invoices whose printed content must not change any more: queued for, in flight to,
        pending on or issued by the platform (also when a failed attempt may have reached it),
        and posted credit notes whose red-letter form is on the platform."""
        return self.filtered(lambda move: (
            move.l10n_cn_einv_state in LOCKED_STATES
            or (move.l10n_cn_einv_state == "failed" and move.l10n_cn_einv_uncertain)
            or (move.state == "posted" and move.move_type == "out_refund" and any(
                form._l10n_cn_einv_holds_amounts() for form in move.sudo().l10n_cn_einv_credit_form_ids))))

    def _l10n_cn_einv_refuse_if_locked(self, action):
        locked = self._l10n_cn_einv_locked()
        if locked:
            raise UserError(_(
                "%(action)s is not possible: the e-invoice of %(invoices)s is queued for, being issued on or issued "
                "on the tax platform. Fully digitalised e-invoices cannot be changed or voided; issue a red invoice "
                "(credit note) instead. An invoice still waiting in the queue can be reset to draft first.",
                action=action, invoices=", ".join(locked.mapped("name"))))

    def _l10n_cn_einv_dequeue_for_draft(self):
        """Resetting to draft (or cancelling) takes an invoice that nothing was sent for out of
        the queue; one the platform may already hold stays locked."""
        def unsent(move):
            return move.l10n_cn_einv_state in ("to_issue", WAITING_LOGIN) and not move.l10n_cn_einv_uncertain
        queued = self.filtered(unsent)
        queued._l10n_cn_einv_lock()
        queued = queued.filtered(unsent)
        queued._l10n_cn_einv_write({"l10n_cn_einv_state": "not_needed", "l10n_cn_einv_next_attempt": False,
                                    "l10n_cn_einv_attempts": 0, "l10n_cn_einv_error": False},
                                   note=_("Taken out of the e-invoice queue: the invoice was reset."))

    def button_draft(self):
        waiting = self.sudo().l10n_cn_einv_credit_form_ids.filtered(
            lambda f: f._l10n_cn_einv_holds_amounts() and f.state != "red_issued")
        if waiting:
            raise UserError(_("The credit notes %(moves)s have red-letter forms on the tax platform (%(forms)s): "
                              "revoke them before resetting to draft.", moves=", ".join(waiting.credit_move_id.mapped(
                                  "name")), forms=", ".join(waiting.mapped("name"))))
        self._l10n_cn_einv_dequeue_for_draft()
        self._l10n_cn_einv_refuse_if_locked(_("Resetting to draft"))
        return super().button_draft()

    def button_cancel(self):
        self._l10n_cn_einv_dequeue_for_draft()
        self._l10n_cn_einv_refuse_if_locked(_("Cancelling"))
        return super().button_cancel()

    def write(self, vals):
        printed = PRINTED_FIELDS & set(vals)
        if printed:
            changing = self.filtered(lambda move: any(self._field_will_change(move, vals, name) for name in printed))
            changing._l10n_cn_einv_refuse_if_locked(_("Changing the invoice"))
        return super().write(vals)

    def _l10n_cn_einv_write(self, vals, note=None):
        """Write e-invoice bookkeeping fields (never accounting data). account.move.write would
        re-check the balance, resynchronise the lines and flag the entry as manually modified on
        every call, which costs more than issuing itself in bulk; so it is skipped. Status changes
        are tracked in the chatter, one message per invoice and transaction, all created in one
        batch at commit (see _l10n_cn_einv_post_state_changes); ``note`` is shown in that message."""
        assert all(name.startswith("l10n_cn_einv_") for name in vals), vals
        data = self.env.cr.precommit.data
        if "l10n_cn_einv_state" in vals or note:
            changes = data.setdefault("l10n_cn_einv.state_changes", {})
            for move in self:
                changes.setdefault(move.id, move.l10n_cn_einv_state)
            if note:
                notes = data.setdefault("l10n_cn_einv.state_notes", {})
                for move in self:
                    notes[move.id] = note
            self.env.cr.precommit.add(self._l10n_cn_einv_post_state_changes)
        with flow():
            return models.BaseModel.write(self, vals)

    def _l10n_cn_einv_post_state_changes(self):
        """Chatter messages for the status changes of this transaction, created in one batch
        (the audit report reads their tracking values)."""
        data = self.env.cr.precommit.data
        changes = data.pop("l10n_cn_einv.state_changes", {})
        notes = data.pop("l10n_cn_einv.state_notes", {})
        moves = self.browse(list(changes)).exists()
        if not moves:
            return
        # in flight is not an outcome: the next transaction tracks Submitting -> its result
        moves = moves.filtered(lambda move: move.id in notes
                               or move.l10n_cn_einv_state not in (changes[move.id], "submitting"))
        if not moves:
            return
        messages = moves._message_log_batch({move.id: notes.get(move.id, "") for move in moves})
        # the status labels kept in the tracking are in the writer's language (a cron's: the company's)
        field_infos = {}
        for company in moves.company_id:
            lang = writer_lang(self.env, company)
            if lang not in field_infos:
                field_infos[lang] = self.with_context(lang=lang).fields_get(
                    ["l10n_cn_einv_state"])["l10n_cn_einv_state"]
        tracking = self.env["mail.tracking.value"].sudo()
        tracking.create([
            dict(tracking._create_tracking_values(changes[message.res_id], move.l10n_cn_einv_state,
                                                  "l10n_cn_einv_state",
                                                  field_infos[writer_lang(self.env, move.company_id)], move),
                 mail_message_id=message.id)
            for message in messages
            for move in [self.browse(message.res_id)]
            if changes[message.res_id] != move.l10n_cn_einv_state
        ])
        self.env.flush_all()

    @api.ondelete(at_uninstall=False)
    def _unlink_except_l10n_cn_einv_issued(self):
        self._l10n_cn_einv_refuse_if_locked(_("Deleting"))

    # --- the document --------------------------------------------------------------------

    def _l10n_cn_einv_serial(self):
        """Deterministic serial number: see the module docstring."""
        self.ensure_one()
        return deterministic_serial(self.env, "OE", self.id, self.l10n_cn_einv_submission,
                                    self.company_id._l10n_cn_einv_capabilities().serial_max_length)

    def _l10n_cn_einv_prefetch(self):
        """What the documents of these invoices read, in one go rather than invoice by invoice."""
        self.invoice_line_ids.fetch(list(PRINTED_LINE_FIELDS))

    def _l10n_cn_einv_document(self):
        """The fapiao Invoice for this move, amounts in the invoice currency (CNY)."""
        self.ensure_one()
        company = self.company_id
        seller = self._l10n_cn_einv_party(
            company.name, company.vat, company.l10n_cn_einv_seller_address_phone,
            company.l10n_cn_einv_seller_bank_account)
        buyer = self._l10n_cn_einv_party(
            self.l10n_cn_einv_buyer_name, self.l10n_cn_einv_buyer_tax_id, self.l10n_cn_einv_buyer_address_phone,
            self.l10n_cn_einv_buyer_bank_account, email=self.l10n_cn_einv_buyer_email or "",
            natural_person=self.l10n_cn_einv_buyer_is_natural_person)
        printed = invoice_lines(self._l10n_cn_einv_source_lines())
        total = sum((line.amount for line in printed), documents.Decimal("0"))
        tax = sum((line.tax_amount for line in printed), documents.Decimal("0"))
        return documents.Invoice(
            serial_no=self.l10n_cn_einv_serial_no or self._l10n_cn_einv_serial(),
            invoice_type=self.l10n_cn_einv_invoice_type or company.l10n_cn_einv_default_invoice_type,
            seller=seller, buyer=buyer, lines=printed,
            total_amount=total, total_tax=tax, total_with_tax=total + tax,
            issuer=(company.l10n_cn_einv_issuer or self.env.user.name or "")[:20],
            remark=" ".join(filter(None, [self.name, self.invoice_origin]))[:200],
        )

    @staticmethod
    def _l10n_cn_einv_party(name, tax_id, address_phone, bank_account, **extra):
        """A Party from a title as printed: 地址电话 and 开户行及账号 are one line each."""
        address, phone = title.split_address_phone(address_phone or "")
        bank_name, account = title.split_bank_account(bank_account or "")
        return documents.Party(name=name or "", tax_id=tax_id or "", address=address, phone=phone,
                               bank_name=bank_name, bank_account=account, **extra)

    def _l10n_cn_einv_problems(self):
        """Every reason this invoice cannot be issued, as readable lines (empty: fine)."""
        self.ensure_one()
        problems = []
        if self.move_type == "out_refund" and self.l10n_cn_einv_credit_form_ids:
            # a credit note's red invoice: its red-letter form decides (the platform knows the lines)
            return [] if self._l10n_cn_einv_red_form() else [
                _("The red-letter form of this credit note does not allow its red invoice (yet).")]
        if not self.l10n_cn_einv_applicable:
            problems.append(_("Only customer invoices of a company in China get a Chinese e-invoice."))
            return problems
        if self.state != "posted":
            problems.append(_("The invoice must be posted first."))
        if self.currency_id.name != "CNY":
            problems.append(_("Chinese e-invoices are issued in CNY; this invoice is in %s.",
                              self.currency_id.name))
        product_lines = self.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        faulty = set()      # 0-based invoice lines with problems only the records show
        for index, line in enumerate(product_lines, start=1):
            line_problems = line._l10n_cn_einv_line_problems()
            if line_problems:
                faulty.add(index - 1)
            problems.extend(self.env._("Line %(index)s (%(name)s): %(problem)s", index=index,
                              name=line.name or line.product_id.display_name, problem=problem)
                            for problem in line_problems)
        # Every problem at once: the rules check the buyer, the header and the other lines too. A
        # line already said to be faulty is not told again in the rules' words (a missing code,
        # and the totals it spoils).
        document = self._l10n_cn_einv_document()
        catalogue = self.env["l10n_cn_einv.tax.code"]._l10n_cn_einv_catalogue()
        errors = rules.validate_invoice(document, catalogue, limits=self.company_id._l10n_cn_einv_capabilities().limits)
        if faulty:
            numbers = printed_numbers(self._l10n_cn_einv_source_lines())
            spoiled = {number - 1 for index in faulty for number in numbers[index]}
            errors = [error for error in errors if error.line not in spoiled
                      and (error.line is not None or not str(error.attribute or "").startswith("total"))]
        if errors:      # the labels cost a second pass over the lines: only for a message
            problems.extend(self._l10n_cn_einv_describe(errors, self._l10n_cn_einv_document_line_labels()))
        return problems

    def _l10n_cn_einv_product_lines(self):
        return self.invoice_line_ids.filtered(lambda line: line.display_type == "product")

    def _l10n_cn_einv_source_lines(self):
        return [line._l10n_cn_einv_source_line() for line in self._l10n_cn_einv_product_lines()]

    def _l10n_cn_einv_line_labels(self):
        """How the user knows each invoice line: "Line 2 (激光打印机)", in the order of the lines."""
        return [self.env._("Line %(index)s (%(name)s)", index=index, name=line.name or line.product_id.display_name)
                for index, line in enumerate(self._l10n_cn_einv_product_lines(), start=1)]

    def _l10n_cn_einv_document_line_labels(self):
        """{0-based line of the e-invoice: the label of the invoice line printed there}."""
        return document_line_labels(printed_numbers(self._l10n_cn_einv_source_lines()),
                                          self._l10n_cn_einv_line_labels())

    def _l10n_cn_einv_describe(self, errors, line_labels=None):
        """Problems found by fapiao (FieldErrors) as sentences in the user's language only, naming the
        lines as the user knows them (``line_labels``: {0-based document line: label})."""
        lang = writer_lang(self.env, self.company_id)
        return [describe_problem(error, lang, line_labels) for error in errors]

    def _l10n_cn_einv_check(self):
        """Raise one UserError listing every problem of every invoice; nothing is sent."""
        self._l10n_cn_einv_prefetch()
        messages = []
        for move in self:
            problems = move._l10n_cn_einv_problems()
            if problems:
                messages.append(f"{move.name or move.display_name}:\n" + "\n".join(f"  - {p}" for p in problems))
        if messages:
            raise UserError(_("These invoices cannot be issued as e-invoices:\n\n%s", "\n\n".join(messages)))

    # --- issuing ---------------------------------------------------------------------------------

    def action_l10n_cn_einv_issue(self):
        """Issue button: validate everything locally, then send at once."""
        check_access(self)
        moves = self.filtered(lambda m: m.l10n_cn_einv_state in ("not_needed", "to_issue", "failed"))
        if not moves:
            raise UserError(_("These invoices are already issued or being issued."))
        moves._l10n_cn_einv_check()
        moves._l10n_cn_einv_enqueue()
        moves._l10n_cn_einv_lock(nowait=True)
        moves._l10n_cn_einv_send_now()
        return moves._l10n_cn_einv_notify_result()

    def _l10n_cn_einv_send_now(self, after_each=None, with_files=False):
        """Submit queued invoices at once (rows locked by the caller), one client per company. A
        person waits: the answer is theirs as soon as the platform gives it, and the files follow
        within seconds, fetched by the poll cron triggered here (with results still pending);
        ``with_files``: fetched here, for a mail that attaches them now."""
        for company, company_moves in self.grouped("company_id").items():
            with company._l10n_cn_einv_provider(company_moves) as client:
                company_moves._l10n_cn_einv_submit(client, after_each=after_each)
                if with_files:
                    company_moves.filtered(lambda m: m.l10n_cn_einv_state == "issued") \
                        ._l10n_cn_einv_fetch_files_with(client)
        now = fields.Datetime.now()
        awaited = self.filtered(lambda m: m.l10n_cn_einv_state in ("issued", "pending") and not m.l10n_cn_einv_pdf_id)
        if awaited:
            awaited._l10n_cn_einv_write({"l10n_cn_einv_files_awaited": True})
        moments = [now] if any(move.l10n_cn_einv_state == "issued" for move in awaited) else []
        if any(move.l10n_cn_einv_state == "pending" for move in self):
            moments.append(now + timedelta(seconds=POLL_SOON))
        if moments:
            self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_poll_pending")._trigger(moments)

    # --- automatic issue when paid -------------------------------------------------------------

    def _invoice_paid_hook(self):
        # EXTENDS 'account': called once an invoice becomes paid or in payment by reconciliation
        res = super()._invoice_paid_hook()
        self._l10n_cn_einv_auto_enqueue()
        return res

    @staticmethod
    def _l10n_cn_einv_in_rollout(key, percent):
        """Whether ``key`` (an order or invoice reference) falls in the first ``percent`` of
        a uniform, stable hash: the same order always gets the same answer."""
        if percent >= 100:
            return True
        bucket = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") % 100
        return bucket < percent

    def _l10n_cn_einv_rollout_key(self):
        """Orders are the unit of the gray rollout; an invoice without an order is its own."""
        self.ensure_one()
        orders = self.line_ids.sale_line_ids.order_id
        return f"sale.order:{orders[:1].id}" if orders else f"account.move:{self.id}"

    def _l10n_cn_einv_auto_enqueue(self):
        """Queue the invoices that the company issues automatically, once each: an invoice
        already queued, issued or failed is left alone however many payment events arrive."""
        candidates = self.filtered(lambda m: (
            m.l10n_cn_einv_applicable and m.state == "posted" and m.l10n_cn_einv_state == "not_needed"
            and m.company_id.l10n_cn_einv_auto_issue
            and not m.partner_id.commercial_partner_id.l10n_cn_einv_opt_out_auto_issue
            and self._l10n_cn_einv_in_rollout(m._l10n_cn_einv_rollout_key(),
                                               m.company_id.l10n_cn_einv_rollout_percent)
        ))
        queued = candidates._l10n_cn_einv_enqueue_unattended(lambda env: env._("E-invoice not issued automatically"))
        if queued:
            self._l10n_cn_einv_trigger_queue()
        return queued

    def _l10n_cn_einv_enqueue_unattended(self, alert_subject):
        """Queue these invoices, once each, when no person is there to read a refusal (a payment,
        a till): those still ``not_needed`` once locked are queued, except the ones that cannot be
        issued as they are, which fail with every problem (nothing sent; a person completes the
        invoice and clicks Retry) and alert the managers. ``alert_subject(env)`` gives the alert's
        subject in that env's language. -> the invoices queued."""
        if not self:
            return self
        self._l10n_cn_einv_lock()
        candidates = self.filtered(lambda m: m.l10n_cn_einv_state == "not_needed")
        for candidate in candidates:
            move = in_writer_lang(candidate)    # a webhook, a cron or a till: the company's language
            problems = move._l10n_cn_einv_problems()
            if problems:
                move._l10n_cn_einv_write({"l10n_cn_einv_state": "failed", "l10n_cn_einv_error": "\n".join(problems)})
                move._l10n_cn_einv_alert_managers(alert_subject(move.env), "\n".join(problems))
        queued = candidates.filtered(lambda m: m.l10n_cn_einv_state == "not_needed")
        queued._l10n_cn_einv_enqueue()
        return queued

    # --- batch actions -------------------------------------------------------------------------

    def action_l10n_cn_einv_issue_batch(self):
        """Issue the selected invoices that can be issued; a dialog says for each what happened and why."""
        check_access(self)
        return self.env["l10n_cn_einv.batch.result"]._l10n_cn_einv_dialog(
            _("Issue e-invoices"), self._l10n_cn_einv_issue_rows())

    def _l10n_cn_einv_issue_rows(self):
        """Issue those that can be -> a row (name, outcome, kind) per invoice, in the selection's order."""
        ready, refused = self.browse(), {}
        for move in self:
            if move.l10n_cn_einv_state not in ("not_needed", "to_issue", "failed"):
                refused[move] = (_("skipped, already %s", move._l10n_cn_einv_state_label()), "skipped")
                continue
            problems = move._l10n_cn_einv_problems()
            if problems:
                refused[move] = (_("not issued: %s", "; ".join(problems)), "refused")
            else:
                ready |= move
        ready._l10n_cn_einv_enqueue()
        ready._l10n_cn_einv_lock()
        ready._l10n_cn_einv_send_now()
        rows = []
        for move in self:
            if move in refused:
                rows.append((move.name, *refused[move]))
            elif move.l10n_cn_einv_state == "issued":
                rows.append((move.name, _("e-invoice %s", move.l10n_cn_einv_number), "done"))
            else:
                error = (move.l10n_cn_einv_error or "").split("\n")[0]
                kind = "refused" if move.l10n_cn_einv_state == "failed" else "waiting"
                rows.append((move.name, move._l10n_cn_einv_state_label() + (f" ({error})" if error else ""), kind))
        return rows

    def action_l10n_cn_einv_retry_batch(self):
        check_access(self)
        failed = self.filtered(lambda m: m.l10n_cn_einv_state == "failed")
        rows = failed._l10n_cn_einv_issue_rows()
        rows += [(move.name, _("skipped, not failed"), "skipped") for move in self - failed]
        return self.env["l10n_cn_einv.batch.result"]._l10n_cn_einv_dialog(_("Retry e-invoices"), rows)

    def _l10n_cn_einv_state_label(self):
        return dict(self._fields["l10n_cn_einv_state"]._description_selection(self.env))[self.l10n_cn_einv_state]

    def action_l10n_cn_einv_retry(self):
        check_access(self)
        failed = self.filtered(lambda m: m.l10n_cn_einv_state == "failed")
        return failed.action_l10n_cn_einv_issue()

    def _l10n_cn_einv_enqueue(self):
        """Put invoices in the queue (state to_issue) with their fixed serial number."""
        for move in self:
            vals = {"l10n_cn_einv_state": "to_issue", "l10n_cn_einv_attempts": 0,
                    "l10n_cn_einv_next_attempt": False, "l10n_cn_einv_error": False}
            if not move.l10n_cn_einv_serial_no:
                vals["l10n_cn_einv_serial_no"] = move._l10n_cn_einv_serial()
            move._l10n_cn_einv_write(vals)

    def _l10n_cn_einv_busy_message(self):
        return _("These invoices are being issued right now by someone else.")

    def _l10n_cn_einv_log_keys(self):
        """What the platform's exchanges may name this invoice by (see l10n_cn_einv.log)."""
        return [(name, value) for name, value in (("serial_no", self.l10n_cn_einv_serial_no),
                                                  ("invoice_number", self.l10n_cn_einv_number)) if value]

    def _l10n_cn_einv_submit(self, client, after_each=None):
        """One attempt for each of these queued invoices (rows locked by the caller). The caller
        commits the results; should it never do so, the committed lease makes the next worker
        ask the platform first."""
        moves = self.filtered(lambda m: m.l10n_cn_einv_state in QUEUE_STATES)
        if not moves:
            return
        uncertain = tuple(move.id for move in moves
                          if move.l10n_cn_einv_uncertain or move.l10n_cn_einv_state == "submitting")
        # Marked in flight, with a lease, before any request leaves: if this worker dies,
        # the rows say so, other workers leave them alone until the lease runs out, and the
        # worker that takes one over then asks the platform before sending anything.
        lease = self._l10n_cn_einv_lease()
        now = fields.Datetime.now()
        moves._l10n_cn_einv_write({"l10n_cn_einv_state": "submitting", "l10n_cn_einv_uncertain": True,
                                   "l10n_cn_einv_next_attempt": now + timedelta(seconds=lease)})
        moves.filtered(lambda m: not m.l10n_cn_einv_submitted_at)._l10n_cn_einv_write(
            {"l10n_cn_einv_submitted_at": now})
        if self._l10n_cn_einv_can_commit():
            self._l10n_cn_einv_commit()
        # Stop sending well before the lease ends: the rest goes back to the queue unsent.
        deadline = time.monotonic() + lease / 2
        moves.with_context(l10n_cn_einv_was_uncertain=uncertain) \
            ._l10n_cn_einv_send(client, after_each=after_each, deadline=lambda: time.monotonic() > deadline)
        pending = moves.filtered(lambda m: m.l10n_cn_einv_state == "pending")
        if pending and client.capabilities.asynchronous:
            # The platform answered with a serial number only: one query for the whole batch
            # brings what it has issued meanwhile; the poll cron (or a callback) the rest.
            pending._l10n_cn_einv_poll_with(client)

    def _l10n_cn_einv_was_uncertain(self):
        """Whether the platform may hold this submission from an earlier attempt: ask it first."""
        return self.id in (self.env.context.get("l10n_cn_einv_was_uncertain") or ())

    def _l10n_cn_einv_unsent(self):
        for move in self:
            move._l10n_cn_einv_write({"l10n_cn_einv_state": "to_issue", "l10n_cn_einv_next_attempt": False,
                                      "l10n_cn_einv_uncertain": move._l10n_cn_einv_was_uncertain()})

    def _l10n_cn_einv_step(self, client):
        call, finish = self._l10n_cn_einv_prepare_step(client)
        finish(call())

    def _l10n_cn_einv_prepare_step(self, client):
        """Issue the e-invoice (a credit note: its red invoice), or first ask the platform for the
        result of an attempt that may have reached it: the platform call takes only what it sends
        (the document, numbers), so that it can run in a sending thread."""
        self.ensure_one()
        serial = self.l10n_cn_einv_serial_no
        red_form = self._l10n_cn_einv_red_form() if self.move_type == "out_refund" else None
        if self.move_type == "out_refund" and not red_form:
            raise UserError(_("Credit note %s has no red-letter form allowing its red invoice.", self.name))
        form_number = red_form.form_number if red_form else None
        document = None if red_form else self._l10n_cn_einv_document()
        ask_first = self._l10n_cn_einv_was_uncertain()

        def call():
            result = client.query([serial]).get(serial) if ask_first else None
            if result is None:
                result = client.issue_red_invoice(serial, form_number) if form_number else client.issue(document)
            return result

        def finish(result):
            self._l10n_cn_einv_apply_result(result, document=document)
        return call, finish

    def _l10n_cn_einv_bookkeep(self, vals, note=None):
        return self._l10n_cn_einv_write(vals, note=note)

    def _l10n_cn_einv_retry_values(self):
        return {"l10n_cn_einv_state": "to_issue"}

    def _l10n_cn_einv_resume_values(self):
        return {"l10n_cn_einv_state": "to_issue"}

    def _l10n_cn_einv_renew_serial(self):
        """A submission the platform failed for good: only a new serial number can issue."""
        self._l10n_cn_einv_write({"l10n_cn_einv_submission": self.l10n_cn_einv_submission + 1})
        self._l10n_cn_einv_write({"l10n_cn_einv_serial_no": self._l10n_cn_einv_serial()})

    def _l10n_cn_einv_lease(self):
        """Seconds a submission in flight is left to its worker: well over the read time-out."""
        return int(self.env["ir.config_parameter"].sudo().get_param("l10n_cn_einvoice.submit_lease", "120"))

    def _l10n_cn_einv_schedule_retry(self, error, **vals):
        # EXTENDS the engine: the platform may hold the submission when the attempt may have
        # reached it (or an earlier one did): then it is asked before anything is sent again.
        fresh_serial = isinstance(error, SerialRejected)    # the platform holds nothing under the new one
        vals.setdefault("l10n_cn_einv_uncertain",
                        not fresh_serial and (self._l10n_cn_einv_was_uncertain() or error.ambiguous))
        return super()._l10n_cn_einv_schedule_retry(error, **vals)

    def _l10n_cn_einv_fail(self, error, **vals):
        vals.setdefault("l10n_cn_einv_uncertain", False)
        return super()._l10n_cn_einv_fail(error, **vals)

    def _l10n_cn_einv_wait_for_login(self, error):
        # EXTENDS the engine: the platform refused outright, so it holds nothing of these attempts
        was_uncertain = {move: move._l10n_cn_einv_was_uncertain() for move in self}
        result = super()._l10n_cn_einv_wait_for_login(error)
        for move, uncertain in was_uncertain.items():
            move._l10n_cn_einv_write({"l10n_cn_einv_uncertain": uncertain})
        return result

    def _l10n_cn_einv_error_text(self, error):
        # EXTENDS the engine: the platform's objections to the content, each named as the user
        # knows the place (Line 2 (激光打印机) 税率 ...), never by the wire's field names
        if not (isinstance(error, PlatformError) and error.errors):
            return super()._l10n_cn_einv_error_text(error)
        lang = writer_lang(self.env, self.company_id)
        labels = self._l10n_cn_einv_document_line_labels() if self.move_type == "out_invoice" else None
        return "\n".join([self.with_context(lang=lang).env._("The tax platform refused the e-invoice:"),
                          *(f"  - {describe_problem(problem, lang, labels)}" for problem in error.errors)])

    def _l10n_cn_einv_alert_failed(self):
        self._l10n_cn_einv_alert_managers(_("E-invoice failed"), self.l10n_cn_einv_error)

    def _l10n_cn_einv_alert_managers(self, summary, note):
        group = self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager", raise_if_not_found=False)
        managers = group.sudo().users.filtered(lambda u: self.company_id in u.company_ids) \
            if group else self.env["res.users"]
        # names of products and lines are data, not markup: the note is HTML, so it is escaped
        for manager in managers[:5] or self.env.user:
            self.activity_schedule("mail.mail_activity_data_todo", summary=summary, note=text_as_html(note),
                                   user_id=manager.id)

    def _l10n_cn_einv_apply_result(self, result, client=None, document=None):
        """Write what the platform says about this invoice's submission (a credit note's: its red
        invoice). With a client (a callback's) the files are fetched at once; otherwise the poll
        cron fetches them. ``document``: the one just sent, if at hand."""
        self.ensure_one()
        red_form = self._l10n_cn_einv_red_form() if self.move_type == "out_refund" else None
        if result.status == "issued" and self._l10n_cn_einv_refuse_foreign(result, document, red_form):
            return
        if result.status == "issued":
            note = _("Red e-invoice %(number)s issued on the tax platform (form %(form)s).",
                     number=result.invoice_number, form=red_form.form_number) if red_form else \
                _("E-invoice %(number)s issued on the tax platform.", number=result.invoice_number)
            self._l10n_cn_einv_write({
                "l10n_cn_einv_state": "issued",
                "l10n_cn_einv_uncertain": False,
                "l10n_cn_einv_number": result.invoice_number,
                "l10n_cn_einv_issue_time": chinatime.parse_platform_time(result.issue_time) or fields.Datetime.now(),
                "l10n_cn_einv_qr_payload": result.qr_payload,
                "l10n_cn_einv_error": False,
                "l10n_cn_einv_next_attempt": False,
            }, note=note)
            if red_form:
                red_form._l10n_cn_einv_red_issued()
            if client is not None:
                self._l10n_cn_einv_fetch_documents(client)
            self._l10n_cn_einv_after_issue()
        elif result.status == "pending":
            self._l10n_cn_einv_write({"l10n_cn_einv_state": "pending", "l10n_cn_einv_uncertain": False,
                                      "l10n_cn_einv_error": False, "l10n_cn_einv_next_attempt": False})
        else:
            message = f"{result.failure_code} {result.failure_message}".strip() or _("refused by the platform")
            # The platform holds this serial number as failed for good: only a new one can be issued.
            # (A refusal before processing, such as a parameter error, keeps the serial number.)
            self._l10n_cn_einv_renew_serial()
            self._l10n_cn_einv_fail(UserError(
                _("The platform failed to issue the red invoice: %s", message) if red_form
                else _("The platform failed to issue the e-invoice: %s", message)))

    def _l10n_cn_einv_refuse_foreign(self, result, document=None, red_form=None):
        """The platform answers a serial number it knows with the e-invoice it issued for it. If that
        e-invoice is not this invoice (buyer, type, totals; a red invoice: its blue invoice and
        amounts), nothing of it is taken: the invoice fails for a person to look at, and a retry uses
        a new serial number. True when refused."""
        if red_form:
            mismatches = rules.red_result_mismatches(
                red_form.blue_number, money(red_form.total_amount), money(red_form.total_tax),
                money(red_form.total_with_tax), result)
        else:
            mismatches = rules.result_mismatches(document or self._l10n_cn_einv_document(), result)
        if not mismatches:
            return False
        lang = writer_lang(self.env, self.company_id)
        problems = "\n".join(f"  - {error_message(error, lang)}" for error in mismatches)
        serial = result.serial_no or self.l10n_cn_einv_serial_no
        self._l10n_cn_einv_renew_serial()
        self._l10n_cn_einv_fail(UserError(_(
            "The tax platform answered serial number %(serial)s with e-invoice %(number)s, which is not this "
            "invoice's:\n%(problems)s\nNothing of it was taken. Another database or system may be using the same "
            "platform account; check it before retrying (a retry uses a new serial number).",
            serial=serial, number=result.invoice_number or "?", problems=problems)))
        return True

    def _l10n_cn_einv_red_form(self):
        """The red-letter form under which this credit note's red invoice is issued (or was)."""
        self.ensure_one()
        forms = self.sudo().l10n_cn_einv_credit_form_ids.filtered(
            lambda form: form.state in ("applied", "confirmed", "red_issued", WAITING_LOGIN) and form.form_number)
        return forms.sorted("id", reverse=True)[:1].with_env(self.env)

    def _l10n_cn_einv_fetch_documents(self, client):
        """Attach the platform's files (PDF, XML, OFD where it has them); a failure leaves them for
        the poll cron. Files that arrive after the issue are delivered then."""
        call, finish = self._l10n_cn_einv_prepare_fetch(client)
        finish(call())

    def _l10n_cn_einv_fetch_missing_files(self):
        """The files not here yet of those of these invoices that are issued, fetched now: a person
        waits for them (to mail them, to download them)."""
        missing = self.filtered(lambda m: m.l10n_cn_einv_state == "issued" and m.l10n_cn_einv_number
                                and not (m.l10n_cn_einv_pdf_id and m.l10n_cn_einv_xml_id))
        for company, company_moves in missing.grouped("company_id").items():
            with company._l10n_cn_einv_provider(company_moves) as client:
                company_moves._l10n_cn_einv_fetch_files_with(client)

    def _l10n_cn_einv_fetch_files_with(self, client):
        """The files of these issued invoices (one company's): several invoices' downloads in flight
        at once, the attachments written in this thread."""
        steps = {move.id: move._l10n_cn_einv_prepare_fetch(client) for move in self}
        sender = ParallelSender(self._l10n_cn_einv_width())
        for move_id, outcome in sender.run({move_id: call for move_id, (call, _finish) in steps.items()}):
            if isinstance(outcome, Exception):
                raise outcome
            steps[move_id][1](outcome)

    def _l10n_cn_einv_prepare_fetch(self, client):
        """``_l10n_cn_einv_fetch_documents`` in two halves, as a submission step
        (l10n_cn_einv.submission._l10n_cn_einv_prepare_step): the downloads, then the attachments."""
        self.ensure_one()
        wanted = [(file_format, field_name) for file_format, field_name in FILE_FIELDS.items()
                  if not self[field_name] and file_format in client.capabilities.file_formats]
        number, serial = self.l10n_cn_einv_number, self.l10n_cn_einv_serial_no or ""

        def call():
            files = []
            try:
                for file_format, field_name in wanted:
                    files.append((file_format, field_name,
                                  client.download_document(number, file_format, serial_no=serial)))
            except PlatformError as error:
                return files, error
            return files, None

        def finish(downloaded):
            files, error = downloaded
            if error is not None:
                _logger.info("e-invoice files of %s not downloaded yet: %s", self.name, error.message)
            if not files:
                return
            had_pdf = bool(self.l10n_cn_einv_pdf_id)
            attachments = self.env["ir.attachment"].sudo().create([{
                "name": file.file_name, "raw": file.content, "res_model": self._name, "res_id": self.id,
                "mimetype": MIMETYPES[file_format][0],
            } for file_format, _field, file in files])
            self._l10n_cn_einv_write({
                **{field_name: attachment.id for (_format, field_name, _file), attachment
                   in zip(files, attachments, strict=True)},
                "l10n_cn_einv_files_awaited": False})
            # logged, not posted: posting would make the PDF the entry's main attachment through
            # account.move.write, a slow step
            self._message_log(body=_("E-invoice files received."), attachment_ids=attachments.ids)
            if not had_pdf and self.l10n_cn_einv_pdf_id:
                self._l10n_cn_einv_deliver_if_due()
        return call, finish

    def _l10n_cn_einv_notify_result(self, extra_lines=()):
        issued = self.filtered(lambda m: m.l10n_cn_einv_state == "issued")
        others = self - issued
        lines = [self.env._("%(name)s: e-invoice %(number)s", name=m.name, number=m.l10n_cn_einv_number)
                 for m in issued]
        lines += [f"{m.name}: {m._l10n_cn_einv_state_label()}"
                  + (f" ({m.l10n_cn_einv_error.splitlines()[0]})" if m.l10n_cn_einv_error else "")
                  for m in others]
        lines += list(extra_lines)
        others = others or extra_lines
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if not others else "warning",
                "title": _("E-invoices issued") if not others else _("Some e-invoices are not issued yet"),
                "message": "\n".join(lines),
                "sticky": bool(others),
                # the form (or list) behind reloads its record(s) and shows the new state and number;
                # soft_reload would restore the action as opened: a blank form for a record just created
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_l10n_cn_einv_open_logs(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Platform Interactions"),
            "res_model": "l10n_cn_einv.log",
            "view_mode": "list,form",
            "domain": [("move_id", "=", self.id)],
        }

    # --- crons -------------------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_cron_process_queue(self, limit=200, company_ids=None, batch_size=40, time_budget=LANE_SECONDS):
        """Send queued invoices (and credit notes' red invoices), claimed and committed
        ``batch_size`` at a time. A crash loses at most the results of one batch, which the next
        worker asks the platform for (serial numbers make that safe). Their files are fetched by
        the poll cron, triggered here. Every lane of the queue runs this at once
        (_l10n_cn_einv_sync_queue_lanes). A run stops claiming after ``limit`` records or
        ``time_budget`` seconds (Odoo's cron time limit also counts a worker's idle wait before
        the run); with more due, its lane runs again at once (docs/scale-out.md)."""
        last_done = [time.perf_counter()]

        def report(move):
            if _logger.isEnabledFor(logging.DEBUG):  # the time each invoice takes, read by make bench
                now = time.perf_counter()
                _logger.debug("e-invoice queue: %s in %.1f ms", move.name, (now - last_done[0]) * 1000)
                last_done[0] = now

        due = SQL("l10n_cn_einv_state IN %s", QUEUE_STATES)
        began = time.monotonic()
        processed = self._l10n_cn_einv_run_queue(due, company_ids, limit=limit, batch_size=batch_size,
                                                 after_each=report, time_budget=time_budget)
        # Run by Odoo's scheduler, a lane waits for the retries due within its time budget: once it
        # has stopped, a retry due seconds later would wait for the next wake-up of a cron worker
        # (every 60 to 69 s: Odoo 18 does not wake them for triggers in the future).
        while self.env.context.get("cron_id") and time_budget and (limit is None or processed < limit):
            wait = self._l10n_cn_einv_retry_due_in(company_ids)
            left = time_budget - (time.monotonic() - began)
            if wait is None or wait >= left:
                break
            if self._l10n_cn_einv_can_commit():
                self._l10n_cn_einv_commit()     # no transaction held while waiting
            time.sleep(max(wait, 0.1))          # never a busy loop
            processed += self._l10n_cn_einv_run_queue(due, company_ids, limit=limit and limit - processed,
                                                      batch_size=batch_size, after_each=report,
                                                      time_budget=max(left - wait, 0.1))
        if processed:
            # the files of what was issued: fetched by the poll cron, in batches
            self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_poll_pending")._trigger()
            # More is due: the lane runs again at once, after the scheduled actions waiting meanwhile (the
            # queue's priority comes after theirs), rather than through ir.cron's progress, which keeps
            # a worker on one action for up to ten runs
            if self.env.context.get("cron_id") and self._l10n_cn_einv_any_due(due):
                self.env["ir.cron"].browse(self.env.context["cron_id"])._trigger()
        return processed

    @api.model
    def _l10n_cn_einv_retry_due_in(self, company_ids=None):
        """Seconds until the next queued invoice waiting for a retry is due; None if none waits."""
        self.flush_model(["l10n_cn_einv_state", "l10n_cn_einv_next_attempt"])
        self.env.cr.execute(SQL("""
            SELECT EXTRACT(EPOCH FROM MIN(l10n_cn_einv_next_attempt) - clock_timestamp() AT TIME ZONE 'UTC')
              FROM account_move WHERE l10n_cn_einv_state = 'to_issue'
               AND l10n_cn_einv_next_attempt > NOW() AT TIME ZONE 'UTC' %s""",
                                self._l10n_cn_einv_company_filter(company_ids)))
        wait = self.env.cr.fetchone()[0]
        return None if wait is None else max(0.0, float(wait))

    @api.model
    def _l10n_cn_einv_any_due(self, condition):
        """Whether a queued record is due now (claimed by another lane or not)."""
        self.env.cr.execute(SQL("""SELECT EXISTS(SELECT 1 FROM account_move WHERE (%s)
                                     AND (l10n_cn_einv_next_attempt IS NULL
                                          OR l10n_cn_einv_next_attempt <= NOW() AT TIME ZONE 'UTC'))""", condition))
        return self.env.cr.fetchone()[0]

    # The queue's lanes: copies of its scheduled action, which Odoo's scheduler runs at once in
    # different cron threads, workers and servers (one scheduled action runs in one place at a
    # time). Each claims different invoices (SKIP LOCKED); see docs/scale-out.md.
    @api.model
    def _l10n_cn_einv_queue_crons(self):
        main = self.env.ref(QUEUE_CRON).sudo()
        lanes = self.env["ir.model.data"].sudo().search([
            ("module", "=", "l10n_cn_einvoice"), ("model", "=", "ir.cron"), ("name", "=like", f"{QUEUE_LANE}%")])
        return main | self.env["ir.cron"].sudo().browse(lanes.mapped("res_id")).exists()

    @api.model
    def _l10n_cn_einv_trigger_queue(self):
        """Work was queued: every lane runs as soon as a cron worker is free."""
        for cron in self._l10n_cn_einv_queue_crons():
            cron._trigger()

    @api.model
    def _l10n_cn_einv_sync_queue_lanes(self):
        """As many lanes as the system parameter says (l10n_cn_einvoice.queue_lanes, default 2: Odoo's
        default cron threads per server): copies of the queue's scheduled action with ids of this
        module, so that they go when it is uninstalled."""
        wanted = self._l10n_cn_einv_queue_lanes()
        main = self.env.ref(QUEUE_CRON).sudo()
        data = self.env["ir.model.data"].sudo()
        for lane in range(2, MAX_QUEUE_LANES + 1):
            xmlid = f"l10n_cn_einvoice.{QUEUE_LANE}{lane}"
            cron = self.env.ref(xmlid, raise_if_not_found=False)
            if lane <= wanted and not cron:
                cron = main.copy({"active": True})
                for lang, _name in self.env["res.lang"].get_installed():
                    cron.with_context(lang=lang).name = f"{main.with_context(lang=lang).name} ({lane})"
                data._update_xmlids([{"xml_id": xmlid, "record": cron, "noupdate": True}])
            elif lane > wanted and cron:
                cron.sudo().unlink()    # Odoo refuses, in plain words, while the lane runs

    @api.model
    def _l10n_cn_einv_queue_lanes(self):
        try:
            lanes = int(self.env["ir.config_parameter"].sudo().get_param("l10n_cn_einvoice.queue_lanes") or 2)
        except ValueError:
            lanes = 2
        return max(1, min(lanes, MAX_QUEUE_LANES))

    @api.model
    def _l10n_cn_einv_cron_poll_pending(self, batch_size=100, company_ids=None):
        """Bring pending submissions up to date: per batch one platform query and a constant
        number of database queries (results written together, files left to the files cron).
        Batches are claimed POLL_BATCHES at a time, and their queries go together, up to the
        company's requests in flight: at hundreds of milliseconds a query, one at a time would
        take minutes for thousands of invoices."""
        processed, last_id = 0, 0
        while True:
            self.env["account.move"].flush_model(["l10n_cn_einv_state"])
            self.env.cr.execute(SQL("""
                SELECT id FROM account_move
                 WHERE l10n_cn_einv_state = 'pending' AND id > %s %s
                 ORDER BY id LIMIT %s FOR NO KEY UPDATE SKIP LOCKED
            """, last_id, self._l10n_cn_einv_company_filter(company_ids), batch_size * POLL_BATCHES))
            moves = self.browse([row[0] for row in self.env.cr.fetchall()])
            if not moves:
                return processed
            last_id = max(moves.ids)
            for company, company_moves in moves.grouped("company_id").items():
                in_writer_lang(company_moves, company)._l10n_cn_einv_poll(company, batch_size)
            processed += len(moves)
            if self._l10n_cn_einv_can_commit():
                self._l10n_cn_einv_commit()
                moves.invalidate_recordset()  # keeps the cache, and memory, at one claim

    @api.model
    def _l10n_cn_einv_cron_fetch_missing_documents(self, limit=500, company_ids=None, batch_size=50):
        """Issued e-invoices whose PDF or XML is not here yet: fetched after a bulk issue or
        status sync, or when a download failed at issue time. The files a person waits for (an
        Issue click: ``l10n_cn_einv_files_awaited``) come first, then the newest: a file that never
        downloads (its platform account gone) does not hold back those issued after it. Downloads
        are platform requests within the app's rate: while a company's queue has invoices due,
        issuing goes first and only the awaited files are fetched; the rest come once the queue is
        empty (its last run triggers this cron)."""
        domain = [("l10n_cn_einv_state", "=", "issued"), ("l10n_cn_einv_number", "!=", False),
                  "|", ("l10n_cn_einv_pdf_id", "=", False), ("l10n_cn_einv_xml_id", "=", False)]
        if company_ids:
            domain.append(("company_id", "in", list(company_ids)))
        issuing = self._l10n_cn_einv_companies_issuing(company_ids)
        awaited = ("l10n_cn_einv_files_awaited", "=", True)
        done = self.browse()
        if issuing:
            done = self.search([*domain, ("company_id", "in", issuing), awaited],
                               limit=min(FILES_WHILE_ISSUING, limit), order="id desc")
            done._l10n_cn_einv_fetch_missing_files_of_batch()
            domain.append(("company_id", "not in", issuing))
        for condition in ([*domain, awaited], domain):
            while len(done) < limit:
                # a file that failed stays missing: each invoice is tried once a run
                moves = self.search([*condition, ("id", "not in", done.ids)], limit=min(batch_size, limit - len(done)),
                                    order="id desc")
                if not moves:
                    break
                moves._l10n_cn_einv_fetch_missing_files_of_batch()
                done |= moves
        return done

    def _l10n_cn_einv_fetch_missing_files_of_batch(self):
        for company, company_moves in self.grouped("company_id").items():
            with company._l10n_cn_einv_provider(company_moves) as client:
                in_writer_lang(company_moves, company)._l10n_cn_einv_fetch_files_with(client)
        if self and self._l10n_cn_einv_can_commit():
            self._l10n_cn_einv_commit()

    @api.model
    def _l10n_cn_einv_companies_issuing(self, company_ids=None):
        """The companies with invoices due in the issue queue now."""
        self.flush_model(["l10n_cn_einv_state", "l10n_cn_einv_next_attempt"])
        self.env.cr.execute(SQL("""
            SELECT DISTINCT company_id FROM account_move
             WHERE l10n_cn_einv_state IN %s %s
               AND (l10n_cn_einv_next_attempt IS NULL OR l10n_cn_einv_next_attempt <= NOW() AT TIME ZONE 'UTC')""",
                                QUEUE_STATES, self._l10n_cn_einv_company_filter(company_ids)))
        return [row[0] for row in self.env.cr.fetchall()]

    def _l10n_cn_einv_poll(self, company, batch_size=None):
        with company._l10n_cn_einv_provider(self) as client:
            self._l10n_cn_einv_poll_with(client, batch_size)

    def _l10n_cn_einv_poll_with(self, client, batch_size=None):
        """One platform query per ``batch_size`` serial numbers (at most as many as the platform
        answers at once), several in flight; what it settled is written (its files: by the files cron)."""
        limits = [size for size in (batch_size, client.capabilities.query_batch) if size]
        chunk = min(limits) if limits else len(self)
        serials = self.mapped("l10n_cn_einv_serial_no")
        queries = {start: functools.partial(client.query, serials[start:start + chunk])
                   for start in range(0, len(self), chunk)}
        width = 1 if self.env.registry.in_test_mode() else \
            min(len(queries), self.company_id[:1]._l10n_cn_einv_parallel_requests())
        self._l10n_cn_einv_prefetch()     # each result is checked against its invoice's document
        results = {}
        for _start, outcome in ParallelSender(width).run(queries):
            if isinstance(outcome, PlatformError):
                _logger.warning("polling e-invoice results failed: %s", outcome.message)
            elif isinstance(outcome, Exception):
                raise outcome
            elif outcome is not NOT_SENT:
                results.update(outcome)
        for move in self:
            result = results.get(move.l10n_cn_einv_serial_no)
            if result and result.status != "pending":
                move._l10n_cn_einv_apply_result(result)

    # --- red reversal (红冲) ----------------------------------------------------------------------

    l10n_cn_einv_red_form_ids = fields.One2many("l10n_cn_einv.red.form", "blue_move_id", "Red-Letter Forms",
                                                l10n_cn_einv_flow=True)
    l10n_cn_einv_credit_form_ids = fields.One2many("l10n_cn_einv.red.form", "credit_move_id",
                                                   "Red-Letter Forms of the Credit Note", l10n_cn_einv_flow=True)
    l10n_cn_einv_red_form_count = fields.Integer("Red Form Count", compute="_compute_l10n_cn_einv_red_form_count")
    l10n_cn_einv_credit_form_state = fields.Selection(
        related="l10n_cn_einv_credit_form_ids.state", string="Red-Letter Form Status")
    l10n_cn_einv_red_reason = fields.Selection(
        RED_REASONS, string="Red Reversal Reason", copy=False,
        help="Why the issued e-invoice is red-reversed (冲红原因); printed on the red-letter confirmation form.")
    l10n_cn_einv_red_amount = fields.Monetary(
        "Red-Reversed Amount", compute="_compute_l10n_cn_einv_red_status", store=True, l10n_cn_einv_flow=True,
        help="Total (tax included) of the red invoices issued against this e-invoice.")
    l10n_cn_einv_red_status = fields.Selection(
        [("none", "Not Red-Reversed"), ("partial", "Partially Red-Reversed"), ("full", "Fully Red-Reversed")],
        string="Red Reversal", compute="_compute_l10n_cn_einv_red_status", store=True, l10n_cn_einv_flow=True)

    def _compute_l10n_cn_einv_red_form_count(self):
        for move in self:
            move.l10n_cn_einv_red_form_count = len(
                move.sudo().l10n_cn_einv_red_form_ids | move.sudo().l10n_cn_einv_credit_form_ids)

    @api.depends("l10n_cn_einv_red_form_ids.state", "l10n_cn_einv_red_form_ids.total_with_tax", "amount_total")
    def _compute_l10n_cn_einv_red_status(self):
        for move in self:
            issued = move.sudo().l10n_cn_einv_red_form_ids.filtered(lambda f: f.state == "red_issued")
            amount = -sum(issued.mapped("total_with_tax"))
            move.l10n_cn_einv_red_amount = amount
            if not issued:
                move.l10n_cn_einv_red_status = "none"
            elif move.currency_id.compare_amounts(amount, move.amount_total) >= 0:
                move.l10n_cn_einv_red_status = "full"
            else:
                move.l10n_cn_einv_red_status = "partial"

    # --- which invoice line each printed line is ----------------------------------------------

    def _l10n_cn_einv_blue_line_map(self):
        """{line number on the issued e-invoice: invoice line}; a discounted line prints on two."""
        self.ensure_one()
        product_lines = self._l10n_cn_einv_product_lines()
        numbers = printed_numbers(self._l10n_cn_einv_source_lines())
        return {number: product_lines[index] for number, index in line_of_number(numbers).items()}

    def _l10n_cn_einv_quantities_left(self):
        """{invoice line: quantity not red-reversed yet by the forms holding amounts of it}."""
        self.ensure_one()
        numbers = printed_numbers(self._l10n_cn_einv_source_lines())
        already = self.env["l10n_cn_einv.red.form"].sudo()._l10n_cn_einv_reversed(self)
        left = redreversal.quantities_left(self._l10n_cn_einv_document(), numbers, already)
        return {line: float(quantity or 0) for line, quantity in zip(self._l10n_cn_einv_product_lines(), left,
                                                                      strict=True)}

    # --- credit notes raise red-letter forms --------------------------------------------------

    def _l10n_cn_einv_needs_red_form(self):
        """Whether reversing this customer invoice calls for a red invoice. Refuses what cannot
        be red-reversed: an e-invoice still being issued, and (when a red reversal was asked
        for explicitly) one never issued."""
        self.ensure_one()
        if self.l10n_cn_einv_state in IN_PROGRESS:
            raise UserError(_("The e-invoice of %s is being issued: wait for the platform's answer before "
                              "reversing it.", self.name))
        if self.l10n_cn_einv_state != "issued":
            if self.env.context.get("l10n_cn_einv_red_required"):
                raise UserError(_("%s was never issued as an e-invoice: there is nothing to red-reverse. "
                                  "Credit or cancel it in Odoo only.", self.name))
            return False
        return True

    def _l10n_cn_einv_red_plan(self):
        """Values of the red-letter form this credit note calls for, checked by fapiao.redreversal
        against what earlier forms took; None when it needs none. Raises a UserError naming every
        problem."""
        self.ensure_one()
        blue = self.reversed_entry_id
        forms = self.env["l10n_cn_einv.red.form"].sudo()
        if self.move_type != "out_refund" or blue.move_type != "out_invoice" \
                or not blue._l10n_cn_einv_needs_red_form():
            return None
        if any(form._l10n_cn_einv_holds_amounts() for form in self.sudo().l10n_cn_einv_credit_form_ids):
            return None     # raised already, e.g. the credit note of a confirmed inbound form
        reversals, labels = self._l10n_cn_einv_red_reversals(blue)
        plan = redreversal.plan_red_form(
            blue._l10n_cn_einv_document(), reversals, forms._l10n_cn_einv_reversed(blue),
            serial_no=forms._l10n_cn_einv_serial_for(self), blue_invoice_number=blue.l10n_cn_einv_number,
            reason=self.l10n_cn_einv_red_reason or "01", limits=self.company_id._l10n_cn_einv_capabilities().limits)
        if plan.problems:
            line_labels = {index: labels[number] for index, number in enumerate(plan.numbers)}
            credit_name = self.name if self.name not in (False, "/") else _("The credit note")
            raise UserError(_("%(credit)s cannot red-reverse e-invoice %(number)s of %(blue)s:\n%(problems)s",
                              credit=credit_name, number=blue.l10n_cn_einv_number, blue=blue.name,
                              problems="\n".join(f"  - {problem}" for problem in self._l10n_cn_einv_describe(
                                  plan.problems, line_labels))))
        return {
            "company_id": self.company_id.id, "blue_move_id": blue.id, "blue_number": blue.l10n_cn_einv_number,
            "credit_move_id": self.id, "reason": plan.form.reason, "direction": "outbound", "applicant": "seller",
            "serial_no": plan.form.serial_no, "full_reversal": plan.full,
            "line_ids": forms._l10n_cn_einv_line_vals(plan.taken, blue),
        }

    def _l10n_cn_einv_red_reversals(self, blue):
        """What each credit note line reverses, by printed blue line number: ({number: LineReversal},
        {number: labels of the credit note lines}). A discounted blue line is reversed on its
        discounted line's number."""
        first_number, printed_count = {}, defaultdict(int)
        for number, line in sorted(blue._l10n_cn_einv_blue_line_map().items(), reverse=True):
            first_number[line] = number
            printed_count[line] += 1
        blue_lines = blue._l10n_cn_einv_product_lines()
        parts, labels, problems_found = [], defaultdict(list), []
        taken = self.env["account.move.line"]
        for index, line in enumerate(self._l10n_cn_einv_product_lines(), start=1):
            label = _("Line %(index)s (%(name)s)", index=index, name=line.name or line.product_id.display_name)
            counterpart = line._l10n_cn_einv_blue_counterpart(blue_lines, taken)
            if not counterpart:
                problems_found.append(_("%(line)s is not a line of %(blue)s: a red invoice only reverses lines of "
                                        "the e-invoice it reverses.", line=label, blue=blue.name))
                continue
            taken |= counterpart
            number = first_number[counterpart]
            same_price = printed_count[counterpart] == 1 and line.product_uom_id == counterpart.product_uom_id \
                and float_compare(line.price_unit, counterpart.price_unit, precision_digits=6) == 0 \
                and float_compare(line.discount, counterpart.discount, precision_digits=6) == 0
            parts.append((number, redreversal.LineReversal(
                quantity=decimal(line.quantity), amount=decimal(line.price_subtotal),
                tax=decimal(line.price_total) - decimal(line.price_subtotal), same_unit_price=same_price)))
            labels[number].append(label)
        if problems_found:
            raise UserError("\n".join(problems_found))
        return redreversal.collect_reversals(parts), {number: ", ".join(names) for number, names in labels.items()}

    def _post(self, soft=True):
        plans = {}
        for move in self.filtered(lambda m: m.move_type == "out_refund" and m.reversed_entry_id):
            vals = move._l10n_cn_einv_red_plan()
            if vals:
                plans[move] = vals
        if plans and not in_flow():     # a person red-reverses: their right, not the automation's
            check_access(self.browse([move.id for move in plans]))
        posted = super()._post(soft)
        todo = [vals for move, vals in plans.items() if move in posted]
        if todo:
            with flow():
                forms = self.env["l10n_cn_einv.red.form"].sudo().create(todo)
            forms._l10n_cn_einv_send_now()
        return posted


    # --- warning at posting what would stop the e-invoice (posting goes on) ---------------------

    def _compute_l10n_cn_einv_issue_warning(self):
        for move in self:
            waiting = move.l10n_cn_einv_applicable and move.state == "posted" \
                and move.l10n_cn_einv_state == "not_needed"
            move.l10n_cn_einv_issue_warning = "\n".join(move._l10n_cn_einv_problems()) if waiting else False

    def action_post(self):
        result = super().action_post()
        warned = self.filtered(lambda m: m.l10n_cn_einv_applicable and m.state == "posted"
                               and m.l10n_cn_einv_state == "not_needed")
        messages = []
        for move in warned:
            # the poster's language, or the company's when a cron posts (no language in its context)
            writer = in_writer_lang(move)
            problems = writer._l10n_cn_einv_problems()
            if problems:
                listed = "\n".join(f"- {problem}" for problem in problems)
                writer._message_log(body=text_as_html(
                    writer.env._("Posted, but this invoice cannot be issued as an e-invoice yet:") + "\n" + listed))
                messages.append(f"{move.name}:\n{listed}")
        if messages and not result:
            return {
                "type": "ir.actions.client", "tag": "display_notification",
                "params": {
                    "type": "warning", "sticky": True,
                    "title": _("Posted; the e-invoice cannot be issued yet"),
                    "message": "\n\n".join(messages),
                    "next": {"type": "ir.actions.act_window_close"},  # reload the record(s), not the action
                },
            }
        return result

    # --- making credit notes for red reversals --------------------------------------------------

    def _l10n_cn_einv_make_credit_note(self, reason, changes=None, reconcile=False):
        """A credit note of this invoice: all of it, or only the invoice lines in ``changes``
        ({invoice line: values to write on its copy}, {} = as invoiced). Posted (and reconciled)
        only with ``reconcile``, which needs the whole invoice."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        credit = self._reverse_moves([{
            "l10n_cn_einv_red_reason": reason, "date": today, "invoice_date": today,
            "ref": _("Reversal of: %s", self.name),
        }], cancel=reconcile)
        if changes is not None:
            blue_lines = self.invoice_line_ids.filtered(lambda line: line.display_type == "product")
            credit_lines = credit.invoice_line_ids.filtered(lambda line: line.display_type == "product")
            commands = []
            for blue_line, credit_line in zip(blue_lines, credit_lines, strict=True):
                if blue_line not in changes:
                    commands.append(Command.delete(credit_line.id))
                elif changes[blue_line]:
                    commands.append(Command.update(credit_line.id, changes[blue_line]))
            if commands:
                credit.write({"invoice_line_ids": commands})
        return credit

    def _l10n_cn_einv_red_reverse(self, reason="01"):
        """Credit this issued e-invoice in full and raise its red-letter form; returns the form."""
        self.ensure_one()
        move = self.with_context(l10n_cn_einv_red_required=True)
        move._l10n_cn_einv_needs_red_form()
        credit = move._l10n_cn_einv_make_credit_note(reason, reconcile=move.payment_state == "not_paid")
        if credit.state == "draft":
            credit.action_post()
        return credit.sudo().l10n_cn_einv_credit_form_ids[:1]

    def action_l10n_cn_einv_red_reverse_batch(self):
        """Server action of the invoice list: full red reversal of each selected invoice, each on
        its own (a refusal rolls back that invoice only); a summary with one line per invoice."""
        check_access(self)
        forms = self.env["l10n_cn_einv.red.form"]
        state_labels = dict(forms._fields["state"]._description_selection(self.env))
        rows = []
        for move in self:
            try:
                with self.env.cr.savepoint():
                    form = move._l10n_cn_einv_red_reverse()
            except UserError as error:
                rows.append((move.name, _("not reversed: %s", error.args[0]), "refused"))
                continue
            detail = _("red invoice %s", form.red_invoice_number) if form.red_invoice_number else \
                (form.error or "").split("\n")[0]
            kind = "refused" if form.state == "failed" else "done" if form.state == "red_issued" else "waiting"
            rows.append((move.name, state_labels[form.state] + (f" ({detail})" if detail else ""), kind))
        return self.env["l10n_cn_einv.batch.result"]._l10n_cn_einv_dialog(_("Red reversal"), rows)

    def action_l10n_cn_einv_open_red_forms(self):
        self.ensure_one()
        forms = self.l10n_cn_einv_red_form_ids | self.l10n_cn_einv_credit_form_ids
        action = self.env["ir.actions.act_window"]._for_xml_id("l10n_cn_einvoice.action_l10n_cn_einv_red_form")
        action["domain"] = [("id", "in", forms.ids)]
        action["context"] = {"create": False}
        if len(forms) == 1:
            action.update(view_mode="form", res_id=forms.id, views=[(False, "form")])
        return action

    # --- void ----------------------------------------------------------------------------------

    def action_l10n_cn_einv_void(self):
        """Void an issued e-invoice. Only legacy (non 数电) types can be: 数电票 are red-reversed."""
        check_access(self)
        for move in self:
            if move.l10n_cn_einv_state != "issued":
                raise UserError(_("%s has no issued e-invoice to void.", move.name))
            if move.l10n_cn_einv_invoice_type in documents.INVOICE_TYPES:
                raise UserError(_(
                    "A fully digitalised e-invoice (数电票) cannot be voided, only red-reversed: create a credit "
                    "note for %(invoice)s; it raises the red-letter confirmation form and issues the red invoice.",
                    invoice=move.name))
        for move in self:
            with move.company_id._l10n_cn_einv_provider(move) as client:
                try:
                    client.void(move.l10n_cn_einv_number)
                except PlatformError as error:
                    raise UserError(_("The tax platform refused to void %(invoice)s: %(error)s",
                                      invoice=move.name, error=error_message(error, self.env.lang))) from None
            move.message_post(body=_("E-invoice %s voided on the tax platform.", move.l10n_cn_einv_number))

    # --- delivery to the buyer ------------------------------------------------------------------

    l10n_cn_einv_delivered_at = fields.Datetime("E-Invoice Delivered", copy=False, readonly=True,
                                                l10n_cn_einv_flow=True)
    l10n_cn_einv_delivered_to = fields.Char("E-Invoice Delivered To", copy=False, readonly=True,
                                            l10n_cn_einv_flow=True)
    l10n_cn_einv_delivery_error = fields.Text("E-Invoice Delivery Problem", copy=False, readonly=True,
                                              l10n_cn_einv_flow=True)
    # the message whose mail carries the e-invoice to the buyer: delivered once that mail is sent (mail_mail.py)
    l10n_cn_einv_delivery_message_id = fields.Many2one("mail.message", "E-Invoice Delivery Message", copy=False,
                                                       readonly=True, index="btree_not_null", l10n_cn_einv_flow=True)
    l10n_cn_einv_delivery_state = fields.Selection(
        [("not_sent", "Not Sent"), ("queued", "Sending"), ("delivered", "Delivered"), ("failed", "Not Delivered")],
        string="E-Invoice Delivery", compute="_compute_l10n_cn_einv_delivery_state", store=True,
        l10n_cn_einv_flow=True)

    @api.depends("l10n_cn_einv_delivered_at", "l10n_cn_einv_delivery_error", "l10n_cn_einv_delivery_message_id")
    def _compute_l10n_cn_einv_delivery_state(self):
        for move in self:
            if move.l10n_cn_einv_delivery_error:
                move.l10n_cn_einv_delivery_state = "failed"
            elif move.l10n_cn_einv_delivered_at:
                move.l10n_cn_einv_delivery_state = "delivered"
            elif move.l10n_cn_einv_delivery_message_id:
                move.l10n_cn_einv_delivery_state = "queued"
            else:
                move.l10n_cn_einv_delivery_state = "not_sent"

    def _l10n_cn_einv_after_issue(self):
        """Once issued: mail the e-invoice to the buyer at once when its files are here; bulk
        issuing leaves them to the poll cron, which delivers on arrival (_l10n_cn_einv_fetch_documents)."""
        for move in self:
            if move.l10n_cn_einv_pdf_id:
                move._l10n_cn_einv_deliver_if_due()

    def _l10n_cn_einv_deliver_if_due(self):
        """Automatic delivery, once: unless the company does not deliver, the buyer already
        has it, or Send & Print is mailing this invoice itself."""
        self.ensure_one()
        mailed_by_send = set(self.env.context.get(MAILED_BY_SEND) or ())
        if self.company_id.l10n_cn_einv_auto_deliver and self.l10n_cn_einv_delivery_state in ("not_sent", "failed") \
                and self.id not in mailed_by_send and self.l10n_cn_einv_state == "issued":
            self._l10n_cn_einv_auto_deliver()

    def _l10n_cn_einv_auto_deliver(self):
        """Deliver without ever undoing the issue it follows: whatever goes wrong is written on the invoice."""
        self.ensure_one()
        try:
            with self.env.cr.savepoint():
                self._l10n_cn_einv_deliver()
        except Exception as error:
            _logger.exception("e-invoice delivery of %s failed", self.name)
            self._l10n_cn_einv_delivery_failed(_("The e-invoice could not be mailed: %s", error))

    def _l10n_cn_einv_delivery_address(self):
        """Where the buyer receives e-invoices: the delivery e-mail of the invoice, else the customer's."""
        self.ensure_one()
        return (self.l10n_cn_einv_buyer_email or self.partner_id.email or "").strip()

    def _l10n_cn_einv_delivery_problem(self):
        """Why the e-invoice cannot be mailed now (a sentence), or None."""
        self.ensure_one()
        if self.l10n_cn_einv_state != "issued":
            return _("The e-invoice of %s is not issued yet.", self.name)
        address = self._l10n_cn_einv_delivery_address()
        if not address:
            return _("The e-invoice was not sent: there is no delivery e-mail on the invoice (E-Invoice tab) "
                     "and no e-mail address on customer %s. Add one, then click Send e-invoice.",
                     self.partner_id.display_name)
        if not email_split(address):
            return _("The e-invoice was not sent: “%s” is not a valid e-mail address. Correct it, then click "
                     "Send e-invoice.", address)
        if not self.l10n_cn_einv_pdf_id:
            return _("The e-invoice was not sent: its PDF has not been received from the tax platform yet. "
                     "Click Send e-invoice to fetch it and send it.")
        return None

    def _l10n_cn_einv_deliver(self):
        """Queue the mail of the e-invoice files to the buyer: delivered once it is sent (mail_mail.py).
        Returns True when queued; otherwise writes on the invoice why not and returns False."""
        self.ensure_one()
        problem = self._l10n_cn_einv_delivery_problem()
        if problem:
            self._l10n_cn_einv_delivery_failed(problem)
            return False
        address = self._l10n_cn_einv_delivery_address()
        files = self.l10n_cn_einv_pdf_id | self.l10n_cn_einv_xml_id | self.l10n_cn_einv_ofd_id
        template = self.env.ref(DELIVERY_TEMPLATE)
        mail_id = template.send_mail(self.id, force_send=False, email_values={
            "email_to": address,
            "recipient_ids": [],
            "attachment_ids": [Command.link(attachment.id) for attachment in files],
            "auto_delete": False,   # kept: a bounce is routed to the invoice through this mail's message
        })
        self._l10n_cn_einv_delivery_queued(self.env["mail.mail"].sudo().browse(mail_id).mail_message_id, address)
        self.message_post(body=_("E-invoice %(number)s queued for sending to %(address)s with its files (%(files)s).",
                                 number=self.l10n_cn_einv_number, address=address,
                                 files=", ".join(files.mapped("name"))))
        return True

    def _l10n_cn_einv_delivery_queued(self, message, address):
        """``message``'s mail carries the e-invoice to ``address``: not delivered until it is sent."""
        self.ensure_one()
        self._l10n_cn_einv_write({"l10n_cn_einv_delivery_message_id": message.id, "l10n_cn_einv_delivered_at": False,
                                  "l10n_cn_einv_delivered_to": address, "l10n_cn_einv_delivery_error": False})

    def _l10n_cn_einv_delivery_sent(self):
        """The mail carrying the e-invoice left for the buyer (called by mail.mail once sent)."""
        self.ensure_one()
        if self.l10n_cn_einv_delivery_state != "delivered":
            self._l10n_cn_einv_write({"l10n_cn_einv_delivered_at": fields.Datetime.now(),
                                      "l10n_cn_einv_delivery_error": False})
            self.message_post(body=_("E-invoice %(number)s sent to %(address)s.", number=self.l10n_cn_einv_number,
                                     address=self.l10n_cn_einv_delivered_to))

    def _message_receive_bounce(self, email, partner):
        # EXTENDS 'mail': the buyer's mail server returned the mail carrying the e-invoice
        result = super()._message_receive_bounce(email, partner)
        for move in self.filtered("l10n_cn_einv_delivery_message_id"):
            if email_normalize(email) in map(email_normalize, email_split(move.l10n_cn_einv_delivered_to or "")):
                move.sudo()._l10n_cn_einv_write({"l10n_cn_einv_delivered_at": False})
                move.sudo()._l10n_cn_einv_delivery_failed(_(
                    "The e-invoice mail to %s bounced: the buyer's mail server returned it. Check the address, "
                    "then click Send e-invoice.", email))
        return result

    def _l10n_cn_einv_delivery_failed(self, problem):
        self.ensure_one()
        self._l10n_cn_einv_write({"l10n_cn_einv_delivery_error": problem})
        self.message_post(body=problem)

    def action_l10n_cn_einv_send(self):
        """Send e-invoice button (also to send again): fetch missing files, then mail the buyer."""
        check_access(self)
        moves = self.filtered(lambda m: m.l10n_cn_einv_state == "issued")
        if not moves:
            raise UserError(_("Only issued e-invoices can be sent to the buyer."))
        moves._l10n_cn_einv_fetch_missing_files()
        sent, lines, rows = self.browse(), [], []
        for move in moves:
            if move._l10n_cn_einv_deliver():
                sent |= move
                lines.append(_("%(name)s: queued for sending to %(address)s", name=move.name,
                               address=move.l10n_cn_einv_delivered_to))
                rows.append((move.name, _("sent to %s", move.l10n_cn_einv_delivered_to), "done"))
            else:
                lines.append(f"{move.name}: {move.l10n_cn_einv_delivery_error}")
                rows.append((move.name, move.l10n_cn_einv_delivery_error, "refused"))
        if len(moves) > 1:
            return self.env["l10n_cn_einv.batch.result"]._l10n_cn_einv_dialog(_("Send e-invoices"), rows)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success" if sent == moves else "warning",
                "title": _("E-invoices queued for sending") if sent == moves else _("Some e-invoices were not sent"),
                "message": "\n".join(lines),
                "sticky": sent != moves,
                "next": {"type": "ir.actions.act_window_close"},  # reload the record(s), not the action
            },
        }
