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

import hashlib
import logging
import time
from datetime import datetime, timedelta, timezone

from odoo import SUPERUSER_ID, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round

from ..fapiao import documents, rules, title
from ..fapiao.client import MAX_QUERY_BATCH
from ..fapiao.errors import PlatformError, TransientError
from .l10n_cn_einv_guard import check_access, flow, text_as_html
from .l10n_cn_einv_red_form import deterministic_serial

_logger = logging.getLogger(__name__)

EINV_STATES = [
    ("not_needed", "Not Requested"),
    ("to_issue", "To Issue"),
    ("submitting", "Submitting"),
    ("pending", "Pending"),
    ("issued", "Issued"),
    ("failed", "Failed"),
]
# What the e-invoice prints, or what decides it: locked once the invoice is queued for the
# platform (see AccountMove._l10n_cn_einv_locked).
PRINTED_FIELDS = {
    "partner_id", "commercial_partner_id", "invoice_line_ids", "line_ids", "currency_id", "invoice_date",
    "amount_untaxed", "amount_tax", "amount_total", "company_id", "move_type", "name", "invoice_origin", "state",
    "l10n_cn_einv_invoice_type", "l10n_cn_einv_buyer_name", "l10n_cn_einv_buyer_tax_id",
    "l10n_cn_einv_buyer_address_phone", "l10n_cn_einv_buyer_bank_account", "l10n_cn_einv_buyer_is_natural_person",
}
# The same on the journal items of a locked invoice.
PRINTED_LINE_FIELDS = {
    "move_id", "product_id", "name", "quantity", "price_unit", "discount", "tax_ids", "product_uom_id",
    "price_subtotal", "price_total", "balance", "amount_currency", "debit", "credit", "currency_id",
    "display_type", "sequence",
}
LOCKED_STATES = ("to_issue", "submitting", "pending", "issued")
QUEUE_STATES = ("to_issue", "submitting")


def buyer_title_values(partner):
    """The buyer title fields (on invoices and sale orders) of a customer, as printed:
    地址电话 and 开户行及账号 one line each."""
    party = partner.commercial_partner_id._l10n_cn_einv_party() if partner else documents.Party("")
    return {
        "l10n_cn_einv_buyer_name": party.name,
        "l10n_cn_einv_buyer_tax_id": party.tax_id,
        "l10n_cn_einv_buyer_address_phone": " ".join(filter(None, [party.address, party.phone])),
        "l10n_cn_einv_buyer_bank_account": " ".join(filter(None, [party.bank_name, party.bank_account])),
        "l10n_cn_einv_buyer_email": party.email,
        "l10n_cn_einv_buyer_is_natural_person": party.natural_person,
    }


class AccountMove(models.Model):
    _name = "account.move"
    _inherit = ["account.move", "l10n_cn_einv.flow.mixin"]

    l10n_cn_einv_applicable = fields.Boolean("E-Invoicing Applies", compute="_compute_l10n_cn_einv_applicable")
    l10n_cn_einv_state = fields.Selection(
        EINV_STATES, string="E-Invoice Status", default="not_needed", required=True, copy=False,
        tracking=True, index=True, readonly=True, l10n_cn_einv_flow=True)
    l10n_cn_einv_invoice_type = fields.Selection(
        [("02", "Ordinary invoice (普票)"), ("01", "Special VAT invoice (专票)")],
        string="E-Invoice Type", compute="_compute_l10n_cn_einv_invoice_type", store=True, readonly=False,
        precompute=True)
    # The buyer's title (抬头) as it will be printed; defaults from the customer.
    l10n_cn_einv_buyer_name = fields.Char(
        "Buyer Title", compute="_compute_l10n_cn_einv_buyer", store=True, readonly=False, precompute=True)
    l10n_cn_einv_buyer_tax_id = fields.Char(
        "Buyer Taxpayer ID", compute="_compute_l10n_cn_einv_buyer", store=True, readonly=False,
        precompute=True)
    l10n_cn_einv_buyer_address_phone = fields.Char(
        "Buyer Address and Phone", compute="_compute_l10n_cn_einv_buyer", store=True, readonly=False,
        precompute=True)
    l10n_cn_einv_buyer_bank_account = fields.Char(
        "Buyer Bank and Account", compute="_compute_l10n_cn_einv_buyer", store=True, readonly=False,
        precompute=True)
    l10n_cn_einv_buyer_email = fields.Char(
        "Delivery E-mail", compute="_compute_l10n_cn_einv_buyer", store=True, readonly=False, precompute=True)
    l10n_cn_einv_buyer_is_natural_person = fields.Boolean(
        "Buyer Is a Natural Person", compute="_compute_l10n_cn_einv_buyer", store=True, readonly=False,
        precompute=True)
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

    @api.depends("partner_id", "company_id")
    def _compute_l10n_cn_einv_invoice_type(self):
        for move in self:
            if move.l10n_cn_einv_state not in ("not_needed", False):
                continue
            move.l10n_cn_einv_invoice_type = move.company_id.l10n_cn_einv_default_invoice_type or "02"

    @api.depends("partner_id")
    def _compute_l10n_cn_einv_buyer(self):
        for move in self:
            if move.l10n_cn_einv_state not in ("not_needed", False):
                continue
            move.update(buyer_title_values(move.partner_id))

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
        queued = self.filtered(lambda move: move.l10n_cn_einv_state == "to_issue" and not move.l10n_cn_einv_uncertain)
        queued._l10n_cn_einv_lock()
        queued = queued.filtered(lambda move: move.l10n_cn_einv_state == "to_issue"
                                 and not move.l10n_cn_einv_uncertain)
        queued._l10n_cn_einv_write({"l10n_cn_einv_state": "not_needed", "l10n_cn_einv_next_attempt": False,
                                    "l10n_cn_einv_attempts": 0, "l10n_cn_einv_error": False},
                                   note=_("Taken out of the e-invoice queue: the invoice was reset."))

    def button_draft(self):
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
        field_info = self.fields_get(["l10n_cn_einv_state"])["l10n_cn_einv_state"]
        tracking = self.env["mail.tracking.value"].sudo()
        tracking.create([
            dict(tracking._create_tracking_values(changes[message.res_id], move.l10n_cn_einv_state,
                                                  "l10n_cn_einv_state", field_info, move),
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
        return deterministic_serial(self.env, "OE", self.id, self.l10n_cn_einv_submission)

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
        lines = []
        for line in self.invoice_line_ids.filtered(lambda line: line.display_type == "product"):
            lines.extend(line._l10n_cn_einv_document_lines())
        total = sum((line.amount for line in lines), documents.Decimal("0"))
        tax = sum((line.tax_amount for line in lines), documents.Decimal("0"))
        return documents.Invoice(
            serial_no=self.l10n_cn_einv_serial_no or self._l10n_cn_einv_serial(),
            invoice_type=self.l10n_cn_einv_invoice_type or company.l10n_cn_einv_default_invoice_type,
            seller=seller, buyer=buyer, lines=lines,
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
        if not self.l10n_cn_einv_applicable:
            problems.append(_("Only customer invoices of a company in China get a Chinese e-invoice."))
            return problems
        if self.state != "posted":
            problems.append(_("The invoice must be posted first."))
        if self.currency_id.name != "CNY":
            problems.append(_("Chinese e-invoices are issued in CNY; this invoice is in %s.",
                              self.currency_id.name))
        product_lines = self.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        for index, line in enumerate(product_lines, start=1):
            problems.extend(self.env._("Line %(index)s (%(name)s): %(problem)s", index=index,
                              name=line.name or line.product_id.display_name, problem=problem)
                            for problem in line._l10n_cn_einv_line_problems())
        if problems:
            return problems
        document = self._l10n_cn_einv_document()
        catalogue = self.env["l10n_cn_einv.tax.code"]._l10n_cn_einv_catalogue()
        errors = rules.validate_invoice(document, catalogue)
        if errors:
            names = self._l10n_cn_einv_document_line_labels()
            problems.extend(self._l10n_cn_einv_describe(error, names) for error in errors)
        return problems

    def _l10n_cn_einv_document_line_labels(self):
        labels = []
        product_lines = self.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        for index, line in enumerate(product_lines, start=1):
            label = _("Line %(index)s (%(name)s)", index=index, name=line.name or line.product_id.display_name)
            labels.extend([label] * len(line._l10n_cn_einv_document_lines()))
        return labels

    @staticmethod
    def _l10n_cn_einv_describe(error, line_labels):
        """A rules FieldError in words: 'Line 2 (Printer): tax ...', in English and Chinese."""
        where = error.field
        if where.startswith("lines["):
            index = int(where[6:where.index("]")])
            where = line_labels[index] if index < len(line_labels) else where
            field_name = error.field[error.field.index("]") + 2:]
            where = f"{where} {field_name}".strip()
        return f"{where}: {error.message} / {error.message_zh}"

    def _l10n_cn_einv_check(self):
        """Raise one UserError listing every problem of every invoice; nothing is sent."""
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

    def _l10n_cn_einv_send_now(self, after_each=None):
        """Submit queued invoices at once (rows locked by the caller), one client per company;
        their files are fetched at once too."""
        for company, company_moves in self.grouped("company_id").items():
            with company._l10n_cn_einv_client(self._l10n_cn_einv_log_router(company)) as client:
                company_moves._l10n_cn_einv_submit(client, fetch_documents=True, after_each=after_each)

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
        orders = self.line_ids.sale_line_ids.order_id if "sale_line_ids" in self.line_ids._fields else None
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
        if not candidates:
            return candidates
        candidates._l10n_cn_einv_lock()
        candidates = candidates.filtered(lambda m: m.l10n_cn_einv_state == "not_needed")
        for move in candidates:
            problems = move._l10n_cn_einv_problems()
            if problems:
                # Nothing is sent: a person must complete the invoice, then click Retry.
                move._l10n_cn_einv_write({"l10n_cn_einv_state": "failed", "l10n_cn_einv_error": "\n".join(problems)})
                move._l10n_cn_einv_alert_managers(_("E-invoice not issued automatically"), "\n".join(problems))
        queued = candidates.filtered(lambda m: m.l10n_cn_einv_state == "not_needed")
        queued._l10n_cn_einv_enqueue()
        if queued:
            self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_process_queue")._trigger()
        return queued

    # --- batch actions -------------------------------------------------------------------------

    def action_l10n_cn_einv_issue_batch(self):
        """Issue the selected invoices that can be issued; say for each what happened and why."""
        check_access(self)
        ready, lines = self.browse(), []
        for move in self:
            if move.l10n_cn_einv_state not in ("not_needed", "to_issue", "failed"):
                lines.append(_("%(name)s: skipped, already %(state)s", name=move.name,
                               state=move._l10n_cn_einv_state_label()))
                continue
            problems = move._l10n_cn_einv_problems()
            if problems:
                lines.append(_("%(name)s: not issued: %(problems)s", name=move.name, problems="; ".join(problems)))
            else:
                ready |= move
        ready._l10n_cn_einv_enqueue()
        ready._l10n_cn_einv_lock()
        ready._l10n_cn_einv_send_now()
        return ready._l10n_cn_einv_notify_result(extra_lines=lines)

    def action_l10n_cn_einv_retry_batch(self):
        check_access(self)
        failed = self.filtered(lambda m: m.l10n_cn_einv_state == "failed")
        skipped = [self.env._("%(name)s: skipped, not failed", name=m.name) for m in self - failed]
        notification = failed.action_l10n_cn_einv_issue_batch()
        notification["params"]["message"] = "\n".join(filter(None, [notification["params"]["message"], *skipped]))
        return notification

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

    def _l10n_cn_einv_lock(self, nowait=False):
        """Lock the rows for the rest of the transaction, so that two workers
        (or a double click) never submit the same invoice at once. NO KEY UPDATE:
        strong enough for that, and it lets foreign-key checks (log lines written on
        another connection) through."""
        if not self:
            return
        try:
            self.env.cr.execute(SQL("SELECT id FROM account_move WHERE id IN %s FOR NO KEY UPDATE %s",
                                    tuple(self.ids), SQL("NOWAIT") if nowait else SQL()))
        except Exception as error:
            if getattr(error, "pgcode", None) == "55P03":  # lock_not_available
                raise UserError(_("These invoices are being issued right now by someone else.")) from None
            raise
        self.invalidate_recordset()

    def _l10n_cn_einv_log_router(self, company=None):
        """Exchange hook writing each exchange to the log, linked to the invoice it concerns
        (found by serial number, or by invoice number for document downloads), within the
        client's company: numbers are only unique on one platform."""
        log = self.env["l10n_cn_einv.log"]
        company = company or self.company_id[:1]
        scope = [("company_id", "=", company.id)] if company else []
        found = {}

        def remember(moves):
            """Invoices about to be sent: their exchanges are linked without a search."""
            found.update({("serial", move.l10n_cn_einv_serial_no): move for move in moves})

        def move_of(exchange):
            request = exchange.request or {}
            serials = [exchange.serial_no] if exchange.serial_no else list(request.get("serialNos") or [])[:1]
            key = ("serial", serials[0]) if serials else ("number", request.get("invoiceNumber"))
            if not key[1]:
                return self.browse()
            if key not in found:
                field = "l10n_cn_einv_serial_no" if key[0] == "serial" else "l10n_cn_einv_number"
                found[key] = self.search([*scope, (field, "=", key[1])], limit=1)
            return found[key]

        def hook(exchange):
            move = move_of(exchange)
            log._l10n_cn_einv_record(move.company_id or self.env.company, exchange, move or None)
        hook.remember = remember
        return hook

    def _l10n_cn_einv_submit(self, client, fetch_documents=False, after_each=None):
        """One attempt for each of these queued invoices (rows locked by the caller). The caller
        commits the results; should it never do so, the committed lease makes the next worker
        ask the platform first."""
        moves = self.filtered(lambda m: m.l10n_cn_einv_state in QUEUE_STATES)
        if not moves:
            return
        can_commit = self._l10n_cn_einv_can_commit()
        uncertain = {move.id: move.l10n_cn_einv_uncertain or move.l10n_cn_einv_state == "submitting"
                     for move in moves}
        # Marked in flight, with a lease, before any request leaves: if this worker dies,
        # the rows say so, other workers leave them alone until the lease runs out, and the
        # worker that takes one over then asks the platform before sending anything.
        lease = self._l10n_cn_einv_lease()
        now = fields.Datetime.now()
        moves._l10n_cn_einv_write({"l10n_cn_einv_state": "submitting", "l10n_cn_einv_uncertain": True,
                                   "l10n_cn_einv_next_attempt": now + timedelta(seconds=lease)})
        moves.filtered(lambda m: not m.l10n_cn_einv_submitted_at)._l10n_cn_einv_write(
            {"l10n_cn_einv_submitted_at": now})
        if can_commit:
            self._l10n_cn_einv_commit()
        # Stop sending well before the lease ends: the rest goes back to the queue unsent.
        deadline = time.monotonic() + lease / 2
        for index, move in enumerate(moves):
            if time.monotonic() > deadline:
                for unsent in moves[index:]:
                    unsent._l10n_cn_einv_write({"l10n_cn_einv_state": "to_issue", "l10n_cn_einv_next_attempt": False,
                                                "l10n_cn_einv_uncertain": uncertain[unsent.id]})
                break
            move._l10n_cn_einv_attempt(client, uncertain[move.id], fetch_documents)
            if after_each:
                after_each(move)

    def _l10n_cn_einv_attempt(self, client, was_uncertain, fetch_documents):
        self.ensure_one()
        document = self._l10n_cn_einv_document()
        try:
            result = None
            if was_uncertain:
                result = client.query([self.l10n_cn_einv_serial_no]).get(self.l10n_cn_einv_serial_no)
            if result is None:
                result = client.issue(document)
        except TransientError as error:
            self._l10n_cn_einv_schedule_retry(error, uncertain=was_uncertain or error.ambiguous)
            return
        except PlatformError as error:
            self._l10n_cn_einv_fail(error, uncertain=False)
            return
        self._l10n_cn_einv_apply_result(result, client if fetch_documents else None, document=document)

    def _l10n_cn_einv_lease(self):
        """Seconds a submission in flight is left to its worker: well over the read time-out."""
        return int(self.env["ir.config_parameter"].sudo().get_param("l10n_cn_einvoice.submit_lease", "120"))

    def _l10n_cn_einv_schedule_retry(self, error, uncertain):
        """Back to the queue after the next configured wait, or failed once they are used up.
        ``uncertain``: the platform may hold the submission, so query before sending again."""
        waits = self.company_id._l10n_cn_einv_retry_waits()
        attempts = self.l10n_cn_einv_attempts
        if attempts >= len(waits):
            self._l10n_cn_einv_fail(error, uncertain=uncertain)
            return
        self._l10n_cn_einv_write({
            "l10n_cn_einv_state": "to_issue",
            "l10n_cn_einv_attempts": attempts + 1,
            "l10n_cn_einv_next_attempt": fields.Datetime.now() + timedelta(
                seconds=max(waits[attempts], error.retry_after or 0)),
            "l10n_cn_einv_uncertain": uncertain,
            "l10n_cn_einv_error": f"{error.message}\n{error.message_zh}",
        })

    def _l10n_cn_einv_fail(self, error, uncertain):
        self._l10n_cn_einv_write({
            "l10n_cn_einv_state": "failed",
            "l10n_cn_einv_uncertain": uncertain,
            "l10n_cn_einv_next_attempt": False,
            "l10n_cn_einv_error": f"{error.message}\n{error.message_zh}" if isinstance(error, PlatformError)
            else str(error),
        })
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
        """Write what the platform says about this invoice's submission. With a client the
        files are fetched at once; otherwise the poll cron fetches them (bulk paths). ``document``:
        the one just sent, if at hand."""
        self.ensure_one()
        if result.status == "issued" and self._l10n_cn_einv_refuse_foreign(
                result, document or self._l10n_cn_einv_document()):
            return
        if result.status == "issued":
            self._l10n_cn_einv_write({
                "l10n_cn_einv_state": "issued",
                "l10n_cn_einv_uncertain": False,
                "l10n_cn_einv_number": result.invoice_number,
                "l10n_cn_einv_issue_time": self._l10n_cn_einv_parse_time(result.issue_time),
                "l10n_cn_einv_qr_payload": result.qr_payload,
                "l10n_cn_einv_error": False,
                "l10n_cn_einv_next_attempt": False,
            }, note=_("E-invoice %(number)s issued on the tax platform.", number=result.invoice_number))
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
            self._l10n_cn_einv_write({"l10n_cn_einv_submission": self.l10n_cn_einv_submission + 1})
            self._l10n_cn_einv_write({"l10n_cn_einv_serial_no": self._l10n_cn_einv_serial()})
            self._l10n_cn_einv_fail(UserError(_("The platform failed to issue the e-invoice: %s", message)),
                                    uncertain=False)

    def _l10n_cn_einv_refuse_foreign(self, result, document):
        """The platform answers a serial number it knows with the e-invoice it issued for it. If that
        e-invoice is not this invoice (buyer, type, totals), nothing of it is taken: the invoice fails
        for a person to look at, and a retry uses a new serial number. True when refused."""
        mismatches = rules.result_mismatches(document, result)
        if not mismatches:
            return False
        lang = self.env.lang or ""
        problems = "\n".join(f"  - {error.message_zh if lang.startswith('zh') else error.message}"
                             for error in mismatches)
        self._l10n_cn_einv_write({"l10n_cn_einv_submission": self.l10n_cn_einv_submission + 1})
        self._l10n_cn_einv_write({"l10n_cn_einv_serial_no": self._l10n_cn_einv_serial()})
        self._l10n_cn_einv_fail(UserError(_(
            "The tax platform answered serial number %(serial)s with e-invoice %(number)s, which is not this "
            "invoice's:\n%(problems)s\nNothing of it was taken. Another database or system may be using the same "
            "platform account; check it before retrying (a retry uses a new serial number).",
            serial=result.serial_no or document.serial_no, number=result.invoice_number or "?",
            problems=problems)), uncertain=False)
        return True

    def _l10n_cn_einv_after_issue(self):
        """Extension point once an e-invoice is issued and its files fetched (delivery hooks in)."""

    @staticmethod
    def _l10n_cn_einv_parse_time(text):
        """ISO 8601 with +08:00 -> naive UTC datetime as Odoo stores it."""
        if not text:
            return fields.Datetime.now()
        moment = datetime.fromisoformat(text)
        if moment.tzinfo:
            moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
        return moment

    def _l10n_cn_einv_fetch_documents(self, client):
        """Attach the platform's PDF and XML; a failure leaves them for the poll cron."""
        self.ensure_one()
        attachments = self.env["ir.attachment"]
        vals = {}
        try:
            for file_format, field_name in (("pdf", "l10n_cn_einv_pdf_id"), ("xml", "l10n_cn_einv_xml_id")):
                if self[field_name]:
                    continue
                file = client.download_document(self.l10n_cn_einv_number, file_format)
                attachment = attachments.sudo().create({
                    "name": file.file_name, "raw": file.content, "res_model": self._name, "res_id": self.id,
                    "mimetype": "application/pdf" if file_format == "pdf" else "application/xml",
                })
                vals[field_name] = attachment.id
                attachments |= attachment
        except PlatformError as error:
            _logger.info("e-invoice files of %s not downloaded yet: %s", self.name, error.message)
        if vals:
            self._l10n_cn_einv_write(vals)
            # logged, not posted: posting would make the PDF the entry's main attachment through
            # account.move.write, the slowest step of the Issue button
            self._message_log(body=_("E-invoice files received."), attachment_ids=attachments.ids)

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
                # the form behind shows the new state and number
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
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

    @staticmethod
    def _l10n_cn_einv_company_filter(company_ids):
        return SQL("AND company_id IN %s", tuple(company_ids)) if company_ids else SQL()

    def _l10n_cn_einv_next_queued(self, company_ids=None, limit=1):
        """Claim the next due invoices of the queue; rows locked by another worker are skipped."""
        self.env["account.move"].flush_model(["l10n_cn_einv_state", "l10n_cn_einv_next_attempt"])
        self.env.cr.execute(SQL("""
            SELECT id FROM account_move
             WHERE l10n_cn_einv_state IN ('to_issue', 'submitting')
               AND (l10n_cn_einv_next_attempt IS NULL
                    OR l10n_cn_einv_next_attempt <= NOW() AT TIME ZONE 'UTC')
               %s
             ORDER BY l10n_cn_einv_next_attempt NULLS FIRST, id
             LIMIT %s
             FOR NO KEY UPDATE SKIP LOCKED
        """, self._l10n_cn_einv_company_filter(company_ids), limit))
        return self.browse([row[0] for row in self.env.cr.fetchall()])

    @api.model
    def _l10n_cn_einv_cron_process_queue(self, limit=200, company_ids=None, batch_size=20):
        """Send queued invoices, claimed and committed ``batch_size`` at a time. A crash loses
        at most the results of one batch, which the next worker asks the platform for (serial
        numbers make that safe). Their files are fetched by the poll cron, triggered here."""
        clients = {}
        processed = 0
        can_commit = self._l10n_cn_einv_can_commit()
        last_done = [time.perf_counter()]

        def report(move):
            if _logger.isEnabledFor(logging.DEBUG):  # the time each invoice takes, read by make bench
                now = time.perf_counter()
                _logger.debug("e-invoice queue: %s in %.1f ms", move.name, (now - last_done[0]) * 1000)
                last_done[0] = now

        try:
            while processed < limit:
                if can_commit:
                    # Claim in a fresh READ COMMITTED transaction: under Odoo's REPEATABLE READ
                    # a row another worker has just finished would abort us with a
                    # serialization failure instead of being skipped.
                    self._l10n_cn_einv_commit()
                    self.env.cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
                last_done[0] = time.perf_counter()
                moves = self._l10n_cn_einv_next_queued(company_ids, min(batch_size, limit - processed))
                if not moves:
                    break
                moves.invalidate_recordset()
                for company, company_moves in moves.grouped("company_id").items():
                    if company not in clients:
                        router = self._l10n_cn_einv_log_router(company)
                        clients[company] = (company._l10n_cn_einv_client(router), router)
                    client, router = clients[company]
                    router.remember(company_moves)
                    company_moves._l10n_cn_einv_submit(client, after_each=report)
                processed += len(moves)
                if can_commit:
                    self._l10n_cn_einv_commit()
        finally:
            for client, _router in clients.values():
                client.close()
        if processed:
            # the files of what was issued: fetched by the poll cron, in batches
            self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_poll_pending")._trigger()
        return processed

    @api.model
    def _l10n_cn_einv_cron_poll_pending(self, batch_size=100, company_ids=None):
        """Bring pending submissions up to date: per batch one platform query and a constant
        number of database queries (results written together, files left to the files cron)."""
        batch_size = min(batch_size, MAX_QUERY_BATCH)  # what one platform query answers
        processed, last_id = 0, 0
        while True:
            self.env["account.move"].flush_model(["l10n_cn_einv_state"])
            self.env.cr.execute(SQL("""
                SELECT id FROM account_move
                 WHERE l10n_cn_einv_state = 'pending' AND id > %s %s
                 ORDER BY id LIMIT %s FOR NO KEY UPDATE SKIP LOCKED
            """, last_id, self._l10n_cn_einv_company_filter(company_ids), batch_size))
            moves = self.browse([row[0] for row in self.env.cr.fetchall()])
            if not moves:
                return processed
            last_id = max(moves.ids)
            for company, company_moves in moves.grouped("company_id").items():
                company_moves._l10n_cn_einv_poll(company)
            processed += len(moves)
            if self._l10n_cn_einv_can_commit():
                self._l10n_cn_einv_commit()
                moves.invalidate_recordset()  # keeps the cache, and memory, at one batch

    @api.model
    def _l10n_cn_einv_cron_fetch_missing_documents(self, limit=500, company_ids=None, batch_size=50):
        """Issued e-invoices whose PDF or XML is not here yet: fetched after a bulk issue or
        status sync, or when a download failed at issue time."""
        domain = [("l10n_cn_einv_state", "=", "issued"), ("l10n_cn_einv_number", "!=", False),
                  "|", ("l10n_cn_einv_pdf_id", "=", False), ("l10n_cn_einv_xml_id", "=", False)]
        if company_ids:
            domain.append(("company_id", "in", list(company_ids)))
        done, last_id = self.browse(), 0
        while len(done) < limit:
            moves = self.search([*domain, ("id", ">", last_id)], limit=min(batch_size, limit - len(done)),
                                order="id")
            if not moves:
                break
            last_id = max(moves.ids)
            for company, company_moves in moves.grouped("company_id").items():
                with company._l10n_cn_einv_client(company_moves._l10n_cn_einv_log_router(company)) as client:
                    for move in company_moves:
                        move._l10n_cn_einv_fetch_documents(client)
            done |= moves
            if self._l10n_cn_einv_can_commit():
                self._l10n_cn_einv_commit()
        return done

    def _l10n_cn_einv_poll(self, company):
        with company._l10n_cn_einv_client(self._l10n_cn_einv_log_router(company)) as client:
            try:
                results = client.query(self.mapped("l10n_cn_einv_serial_no"))
            except PlatformError as error:
                _logger.warning("polling e-invoice results failed: %s", error.message)
                return
        for move in self:
            result = results.get(move.l10n_cn_einv_serial_no)
            if result and result.status != "pending":
                move._l10n_cn_einv_apply_result(result)

    @api.model
    def _l10n_cn_einv_commit(self):
        """Commit the work so far. Only where _l10n_cn_einv_can_commit() says so (crons and batch
        paths): their results must survive a crash of the rest of the batch, and another worker
        must see what is in flight (DESIGN: reliability)."""
        self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _l10n_cn_einv_can_commit(self):
        # The context flag lets a test run the production commit path on its own cursors; only as
        # the superuser, since any RPC caller chooses its context.
        return (self.env.uid == SUPERUSER_ID and self.env.context.get("l10n_cn_einv_commit")) \
            or self.env["account.move.send"]._can_commit()


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    # --- what was submitted cannot change by any path ---------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        move_ids = {vals["move_id"] for vals in vals_list if vals.get("move_id")}
        if move_ids:
            self.env["account.move"].browse(move_ids)._l10n_cn_einv_refuse_if_locked(_("Adding invoice lines"))
        return super().create(vals_list)

    def write(self, vals):
        printed = PRINTED_LINE_FIELDS & set(vals)
        if printed:
            move_model = self.env["account.move"]
            changing = self.filtered(lambda line: any(move_model._field_will_change(line, vals, name)
                                                      for name in printed))
            changing.move_id._l10n_cn_einv_refuse_if_locked(_("Changing invoice lines"))
            if "move_id" in printed and vals["move_id"]:
                move_model.browse(vals["move_id"])._l10n_cn_einv_refuse_if_locked(_("Moving invoice lines"))
        return super().write(vals)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_l10n_cn_einv_locked(self):
        self.move_id._l10n_cn_einv_refuse_if_locked(_("Deleting invoice lines"))

    def _l10n_cn_einv_tax(self):
        taxes = self.tax_ids.flatten_taxes_hierarchy()
        return taxes[0] if len(taxes) == 1 and taxes.amount_type == "percent" else None

    def _l10n_cn_einv_line_problems(self):
        """Problems the rules cannot see: they need the Odoo records."""
        self.ensure_one()
        problems = []
        code = self.product_id.l10n_cn_einv_effective_tax_code_id if self.product_id else None
        if not self.product_id:
            problems.append(_("no product, so no tax classification code"))
        elif not code:
            problems.append(_("product %s has no tax classification code", self.product_id.display_name))
        if not self._l10n_cn_einv_tax():
            problems.append(_("needs exactly one percentage VAT tax"))
        if self.quantity <= 0 or self.price_subtotal <= 0:
            problems.append(_("quantity and amount must be positive on an invoice (use a credit note "
                              "to reduce an issued invoice)"))
        return problems

    def _l10n_cn_einv_document_lines(self):
        """One document line, or a discounted line followed by its discount line."""
        self.ensure_one()
        currency = self.currency_id
        code = self.product_id.l10n_cn_einv_effective_tax_code_id
        tax = self._l10n_cn_einv_tax()
        rate = documents.Decimal(str(tax.amount)) / 100 if tax else documents.Decimal("0")
        name = rules.format_line_name(code.short_name or "", self.product_id.name or self.name or "")
        dec = lambda value: documents.Decimal(str(float_round(value, precision_digits=2)))  # noqa: E731
        amount = dec(self.price_subtotal)
        tax_amount = dec(self.price_total - self.price_subtotal)
        common = {"name": name, "classification_code": code.code or "", "tax_rate": rate,
                  "spec": self.product_id.default_code or "", "unit": self.product_uom_id.name or "",
                  "preferential_policy": "免税" if tax and not tax.amount else ""}
        if not self.discount:
            unit_price = documents.Decimal(str(float_round(self.price_subtotal / self.quantity, 8))) \
                if self.quantity else None
            return [documents.InvoiceLine(amount=amount, tax_amount=tax_amount,
                                          amount_with_tax=amount + tax_amount,
                                          quantity=documents.Decimal(str(self.quantity)), unit_price=unit_price,
                                          **common)]
        gross = currency.round(self.price_subtotal / (1 - self.discount / 100.0))
        gross_amount = dec(gross)
        gross_tax = (gross_amount * rate).quantize(documents.Decimal("0.01"))
        discounted = documents.InvoiceLine(
            amount=gross_amount, tax_amount=gross_tax, amount_with_tax=gross_amount + gross_tax,
            quantity=documents.Decimal(str(self.quantity)),
            unit_price=documents.Decimal(str(float_round(gross / self.quantity, 8))),
            line_type="discounted", **common)
        discount = documents.InvoiceLine(
            amount=amount - gross_amount, tax_amount=tax_amount - gross_tax,
            amount_with_tax=(amount - gross_amount) + (tax_amount - gross_tax), line_type="discount", **common)
        return [discounted, discount]
