"""Red-letter confirmation forms (红字确认单) and the red invoices issued from them.

State diagram of ``state`` (``platform_status`` is the platform's 01-10)::

    draft     --(applied: 01 no confirmation needed)-----------------> applied
    draft     --(applied: 02 awaiting the buyer)----------------------> awaiting
    awaiting  --(cron query: 04 confirmed / our Confirm button)-------> confirmed
    applied / confirmed --(red invoice issued)------------------------> red_issued
    awaiting  --(05/06 refused, 07 lapsed after 72 h, 08/09 revoked)--> refused / lapsed / revoked
    draft / applied / confirmed --(busy, time-out: retried by the cron with the same serial)--> same state
    any sending state --(parameter error, waits used up ...)----------> failed (Retry sends again)

Inbound forms (raised by the buyer against one of our invoices) arrive through
"Fetch inbound red forms" in ``awaiting`` (03); Confirm leads to the credit
note and the red invoice, Refuse to ``refused``.

Serial numbers are fixed before the first attempt and reused for every retry:
the platform answers a repeated serial number with the original form or red
invoice, so a retry never raises a second form or issues a second red invoice.
"""

import logging
from collections import defaultdict
from decimal import Decimal

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL, float_round

from ..fapiao import chinatime, documents, redreversal
from ..fapiao.errors import LoginRequired, PlatformError, TransientError
from .l10n_cn_einv_guard import check_access, flow
from .l10n_cn_einv_lang import error_message
from .l10n_cn_einv_submission import WAITING_LOGIN

_logger = logging.getLogger(__name__)

RED_STATES = [
    ("draft", "Draft"),
    ("applied", "Applied"),
    ("awaiting", "Awaiting Confirmation"),
    ("confirmed", "Confirmed"),
    ("red_issued", "Red Invoice Issued"),
    ("refused", "Refused"),
    ("lapsed", "Lapsed"),
    ("revoked", "Revoked"),
    (WAITING_LOGIN, "Waiting for Tax Bureau Login"),
    ("failed", "Failed"),
]
STATE_OF_STATUS = {
    "01": "applied", "02": "awaiting", "03": "awaiting", "04": "confirmed",
    "05": "refused", "06": "refused", "07": "lapsed", "08": "revoked", "09": "revoked", "10": "failed",
}
# End states reached on the platform that a person must look at.
ALERT_STATES = ("refused", "lapsed", "revoked", "failed")
RED_REASONS = [
    ("01", "Invoicing error (开票有误)"),
    ("02", "Sales return (销货退回)"),
    ("03", "Service stopped (服务中止)"),
    ("04", "Sales allowance (销售折让)"),
]
# Forms that hold amounts of their blue invoice on the platform (or are about to).
HOLDING_STATES = ("draft", "applied", "awaiting", "confirmed", "red_issued")
ACTIVE_PLATFORM_STATUSES = (*documents.RED_FORM_ISSUABLE, *documents.RED_FORM_AWAITING)
CRON_BATCH = 100
CENT = Decimal("0.01")


def money(value):
    """A float amount as a 2-decimal Decimal, as the platform wants it."""
    return Decimal(str(float_round(value or 0.0, precision_digits=2))).quantize(CENT) + 0


def deterministic_serial(env, prefix, record_id, attempt=0, max_length=64):
    """``prefix`` + database + record id: the same for every retry of one business, even one whose
    transaction was rolled back; ``attempt`` > 0 (earlier submissions ended for good) adds a suffix.
    Where the platform takes fewer than ``max_length`` characters (诺诺: 20), the compact form
    drops the separators and keeps 6 characters of the database (the record id keeps its fixed
    width, so that the suffix cannot run into it)."""
    database = env["ir.config_parameter"].sudo().get_param("database.uuid", "").replace("-", "")
    serial = f"{prefix}{database[:8]}-{record_id:010d}" + (f"-{attempt + 1}" if attempt else "")
    if len(serial) <= max_length:
        return serial
    compact = f"{prefix}{database[:6]}{record_id:010d}" + (f"{attempt + 1}" if attempt else "")
    if len(compact) > max_length:
        raise UserError(env._("The tax platform takes serial numbers of %(length)s characters at most: too few to "
                              "tell this submission from others (%(serial)s).", length=max_length, serial=compact))
    return compact


def quantity_decimal(value):
    return Decimal(str(value)) if value else None


class L10nCnEinvRedForm(models.Model):
    _name = "l10n_cn_einv.red.form"
    _description = "Red-Letter Confirmation Form (红字确认单)"
    _inherit = ["mail.thread", "mail.activity.mixin", "l10n_cn_einv.flow.mixin", "l10n_cn_einv.submission"]
    _l10n_cn_einv_queue = {"state": "state", "attempts": "attempts", "next_attempt": "next_attempt", "error": "error",
                           "failed": "failed"}
    _order = "id desc"
    # Forms come from credit notes (or from the platform's list of inbound forms): every fact
    # on them is the flow's (see models/l10n_cn_einv_guard.py).
    _l10n_cn_einv_flow_only = True

    name = fields.Char(compute="_compute_name", store=True)
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    currency_id = fields.Many2one(related="company_id.currency_id")
    blue_move_id = fields.Many2one("account.move", "Blue Invoice", readonly=True, index=True, ondelete="restrict")
    blue_number = fields.Char("Blue E-Invoice Number", required=True, readonly=True, index=True)
    credit_move_id = fields.Many2one("account.move", "Credit Note", readonly=True, index=True, ondelete="restrict",
                                     copy=False)
    partner_id = fields.Many2one(related="blue_move_id.partner_id", string="Customer")
    reason = fields.Selection(RED_REASONS, required=True, readonly=True, default="01")
    direction = fields.Selection(
        [("outbound", "Outbound (raised by us)"), ("inbound", "Inbound (raised by the buyer)")],
        required=True, readonly=True, default="outbound")
    applicant = fields.Selection([("seller", "Seller"), ("buyer", "Buyer")], required=True, readonly=True,
                                 default="seller")
    serial_no = fields.Char("Serial Number", readonly=True, copy=False, index=True,
                            help="The application's serial number (流水号), fixed before the first attempt.")
    form_number = fields.Char(readonly=True, copy=False, index=True, tracking=True)
    platform_status = fields.Selection([(code, f"{code} {label}") for code, label in documents.RED_FORM_STATES.items()],
                                       readonly=True, copy=False, tracking=True)
    state = fields.Selection(RED_STATES, default="draft", required=True, readonly=True, copy=False, tracking=True,
                             index=True)
    full_reversal = fields.Boolean(readonly=True, help="Reverses the whole blue invoice.")
    line_ids = fields.One2many("l10n_cn_einv.red.form.line", "form_id", "Lines", readonly=True)
    total_amount = fields.Monetary("Amount", compute="_compute_totals", store=True)
    total_tax = fields.Monetary("Tax", compute="_compute_totals", store=True)
    total_with_tax = fields.Monetary("Total", compute="_compute_totals", store=True)
    expires_at = fields.Datetime("Expires", readonly=True, copy=False)
    # The red invoice is the credit note's own e-invoice submission: the form shows it from there.
    red_serial_no = fields.Char(related="credit_move_id.l10n_cn_einv_serial_no", string="Red Invoice Serial Number")
    red_invoice_number = fields.Char(related="credit_move_id.l10n_cn_einv_number", string="Red E-Invoice Number")
    red_issue_time = fields.Datetime(related="credit_move_id.l10n_cn_einv_issue_time",
                                     string="Red Invoice Issue Time")
    red_state = fields.Selection(related="credit_move_id.l10n_cn_einv_state", string="Red Invoice Status")
    red_pdf_id = fields.Many2one(related="credit_move_id.l10n_cn_einv_pdf_id", string="Red Invoice PDF")
    red_xml_id = fields.Many2one(related="credit_move_id.l10n_cn_einv_xml_id", string="Red Invoice XML")
    serial_renewals = fields.Integer(readonly=True, copy=False,
                                     help="Times the platform held the form's serial number as dead.")
    error = fields.Text("Last Error", readonly=True, copy=False)
    attempts = fields.Integer("Retries", readonly=True, copy=False)
    next_attempt = fields.Datetime(readonly=True, copy=False)
    log_ids = fields.One2many("l10n_cn_einv.log", "res_id", "Platform Interactions",
                              domain=[("res_model", "=", "l10n_cn_einv.red.form")])
    log_count = fields.Integer("Platform Interaction Count", compute="_compute_log_count")

    def init(self):
        # One serial number, one form of ours (inbound forms carry the buyer's serial).
        self.env.cr.execute(SQL(
            "CREATE UNIQUE INDEX IF NOT EXISTS l10n_cn_einv_red_form_serial_no_unique ON l10n_cn_einv_red_form "
            "(company_id, serial_no) WHERE direction = 'outbound' AND serial_no IS NOT NULL"))

    @api.depends("form_number", "serial_no", "blue_number")
    def _compute_name(self):
        for form in self:
            form.name = form.form_number or form.serial_no or _("New form for %s", form.blue_number or "")

    @api.depends("line_ids.amount", "line_ids.tax_amount")
    def _compute_totals(self):
        for form in self:
            form.total_amount = sum(form.line_ids.mapped("amount"))
            form.total_tax = sum(form.line_ids.mapped("tax_amount"))
            form.total_with_tax = form.total_amount + form.total_tax

    def _compute_log_count(self):
        counts = dict(self.env["l10n_cn_einv.log"]._read_group(
            [("res_model", "=", self._name), ("res_id", "in", self.ids)], ["res_id"], ["__count"]))
        for form in self:
            form.log_count = counts.get(form.id, 0)

    @api.ondelete(at_uninstall=False)
    def _unlink_except_on_platform(self):
        if any(form.form_number for form in self):
            raise UserError(_("A red-letter form known to the tax platform cannot be deleted; revoke it instead."))

    # --- amounts held on the blue invoice -------------------------------------------------

    def _l10n_cn_einv_holds_amounts(self):
        """Whether this form takes (or is about to take) amounts off its blue invoice."""
        self.ensure_one()
        return self.state in HOLDING_STATES or (
            self.state == "failed" and self.platform_status in ACTIVE_PLATFORM_STATUSES)

    @api.model
    def _l10n_cn_einv_reversed(self, blue_move, exclude=None):
        """{blue line no: (quantity, amount, tax)}: negative sums of the forms holding amounts
        (fapiao.redreversal.reversed_by_forms)."""
        forms = self.search([("blue_move_id", "=", blue_move.id)]).filtered(
            lambda f: f._l10n_cn_einv_holds_amounts())
        if exclude:
            forms -= exclude
        return redreversal.reversed_by_forms(line._l10n_cn_einv_document_line() for line in forms.line_ids)

    # --- the document ---------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_serial_for(self, credit_move):
        """Deterministic application serial: derived from the database and the credit note,
        with a suffix when an earlier form of the same credit note ended without a red invoice."""
        earlier = self.sudo().search_count([("credit_move_id", "=", credit_move.id)])
        return deterministic_serial(self.env, "RF", credit_move.id, earlier,
                                    credit_move.company_id._l10n_cn_einv_capabilities().serial_max_length)

    def _l10n_cn_einv_document(self):
        self.ensure_one()
        lines = [] if self.full_reversal else [line._l10n_cn_einv_document_line() for line in self.line_ids]
        return documents.RedForm(serial_no=self.serial_no, blue_invoice_number=self.blue_number,
                                 reason=self.reason, lines=lines, applicant=self.applicant)

    def _l10n_cn_einv_check_origin(self):
        """Only a credit note raises a form of ours: the red invoice must have its Odoo credit note.
        (The flow is the only creator of forms; this holds even if that ever changed.)"""
        self.ensure_one()
        credit = self.credit_move_id
        if self.direction == "outbound" and not (
                credit and credit.move_type == "out_refund" and credit.state == "posted"
                and credit.reversed_entry_id == self.blue_move_id and credit.company_id == self.company_id):
            raise UserError(_("Red-letter form %s has no posted credit note of its blue invoice: only a credit note "
                              "can raise a red reversal, so it is not sent.", self.name))

    @api.model
    def _l10n_cn_einv_line_vals(self, red_lines, blue_move):
        """Line commands from fapiao RedFormLine objects, with the invoice line each reverses."""
        printed = blue_move._l10n_cn_einv_blue_line_map() if blue_move else {}
        return [fields.Command.create({
            "blue_line_no": line.blue_line_no,
            "move_line_id": printed[line.blue_line_no].id if line.blue_line_no in printed else False,
            "quantity": float(line.quantity or 0),
            "amount": float(line.amount or 0),
            "tax_amount": float(line.tax_amount or 0),
        }) for line in red_lines]

    # --- sending ----------------------------------------------------------------------------

    def _l10n_cn_einv_log_keys(self):
        """What the platform's exchanges may name this form by (see l10n_cn_einv.log)."""
        return [(name, value) for name, value in (("serial_no", self.serial_no), ("form_number", self.form_number),
                                                  ("serial_no", self.red_serial_no),
                                                  ("invoice_number", self.red_invoice_number)) if value]

    def _l10n_cn_einv_busy_message(self):
        return _("This red-letter form is being processed right now; try again shortly.")

    def _l10n_cn_einv_send_now(self):
        """Apply new forms and issue the red invoices that can be issued, at once."""
        self._l10n_cn_einv_lock(nowait=True)
        for company, forms in self.grouped("company_id").items():
            with company._l10n_cn_einv_provider(forms) as client:
                forms._l10n_cn_einv_submit(client)

    def _l10n_cn_einv_submit(self, client, after_each=None):
        # EXTENDS the engine: forms awaiting the other side are brought up to date first
        awaiting = self.filtered(lambda f: f.state == "awaiting")
        if awaiting:
            awaiting._l10n_cn_einv_refresh(client)
        return super()._l10n_cn_einv_submit(client, after_each=after_each)

    def _l10n_cn_einv_step(self, client):
        """Apply a draft form; have the credit note issue the red invoice of a form that allows it."""
        self.ensure_one()
        if self.state == "draft":
            self._l10n_cn_einv_check_origin()
            self._l10n_cn_einv_apply_result(client.apply_red_form(self._l10n_cn_einv_document()))
        if self.state in ("applied", "confirmed") and not self.red_invoice_number:
            self._l10n_cn_einv_issue_red_invoice()

    def _l10n_cn_einv_bookkeep(self, vals, note=None):
        self._l10n_cn_einv_flow_write(vals)
        if note:
            self.message_post(body=note)

    def _l10n_cn_einv_renew_serial(self):
        """The platform holds the form's serial number as dead: the next application uses a new one."""
        renewals = self.serial_renewals + 1
        self._l10n_cn_einv_flow_write({"serial_renewals": renewals,
                                       "serial_no": deterministic_serial(
                                           self.env, "RS", self.id, renewals,
                                           self.company_id._l10n_cn_einv_capabilities().serial_max_length)})

    def _l10n_cn_einv_resume_values(self):
        return {"state": STATE_OF_STATUS.get(self.platform_status, "draft") if self.form_number else "draft"}

    def _l10n_cn_einv_alert_failed(self):
        self._l10n_cn_einv_alert()

    def _l10n_cn_einv_refresh(self, client):
        """Bring forms up to date with the platform (one query per as many forms as it answers at once)."""
        numbered = self.filtered("form_number")
        chunk = numbered.company_id[:1]._l10n_cn_einv_capabilities().query_batch or len(numbered) or 1
        for start in range(0, len(numbered), chunk):
            batch = numbered[start:start + chunk]
            try:
                results = client.query_red_forms(form_numbers=batch.mapped("form_number"))
            except LoginRequired as error:
                batch._l10n_cn_einv_wait_for_login(error)
                continue
            except PlatformError as error:
                # The next run asks again: a query changes nothing on the platform.
                _logger.warning("querying red-letter forms failed: %s", error.message)
                continue
            by_number = {result.form_number: result for result in results}
            for form in batch:
                if form.form_number in by_number:
                    form._l10n_cn_einv_apply_result(by_number[form.form_number])

    def _l10n_cn_einv_apply_result(self, result, alert=True):
        """Write what the platform says about the form (a RedFormResult). ``alert``: an end state
        the other side (or time) brought gets an activity for the managers."""
        self.ensure_one()
        previous = self.state
        state = "red_issued" if self.red_invoice_number else STATE_OF_STATUS.get(result.status, "failed")
        vals = {
            "form_number": result.form_number or self.form_number,
            "platform_status": result.status if result.status in documents.RED_FORM_STATES else False,
            "state": state,
            # Only a form awaiting a confirmation can lapse.
            "expires_at": chinatime.parse_platform_time(result.expires_at)
            if result.expires_at and result.status in documents.RED_FORM_AWAITING else False,
            "attempts": 0,
            "next_attempt": False,
            "error": False,
        }
        if state == "failed":
            vals["error"] = _("The platform voided the form: %s",
                              documents.RED_FORM_STATES.get(result.status, result.status))
        if not self.line_ids and result.lines:
            vals["line_ids"] = self._l10n_cn_einv_line_vals(result.lines, self.blue_move_id)
        self._l10n_cn_einv_flow_write(vals)
        if state != previous and state in ALERT_STATES and alert:
            self._l10n_cn_einv_alert()
        elif state != previous:
            statuses = dict(self._fields["platform_status"]._description_selection(self.env))
            self.message_post(body=_("Platform status: %s", statuses.get(result.status, result.status)))

    def _l10n_cn_einv_issue_red_invoice(self):
        """The form allows the red invoice: its credit note (made now for an inbound form) is
        queued and sent at once, through the same provider, as the credit note's own submission."""
        self.ensure_one()
        if self.direction == "inbound" and not self.credit_move_id:
            self._l10n_cn_einv_create_inbound_credit_note()
        credit = self.credit_move_id
        if credit.l10n_cn_einv_state != "not_needed":
            return      # queued, in flight, waiting or failed: its own flow follows it
        credit._l10n_cn_einv_enqueue()
        credit._l10n_cn_einv_lock()
        credit._l10n_cn_einv_send_now()     # its exchanges are logged on the credit note

    def _l10n_cn_einv_red_issued(self):
        """The credit note's red invoice is issued: the form is done, and the blue invoice says so."""
        self.ensure_one()
        self._l10n_cn_einv_flow_write({"state": "red_issued", "error": False, "attempts": 0, "next_attempt": False})
        if self.blue_move_id:
            self.blue_move_id.message_post(body=_(
                "Red e-invoice %(number)s issued against this invoice (form %(form)s).",
                number=self.red_invoice_number, form=self.form_number))
        self.message_post(body=_("Red e-invoice %s issued.", self.red_invoice_number))

    def _l10n_cn_einv_alert(self):
        """An activity for the e-invoice managers on the blue invoice, and a note on the form."""
        summary = {
            "refused": _("Red-letter form refused"),
            "lapsed": _("Red-letter form lapsed"),
            "revoked": _("Red-letter form revoked"),
            "failed": _("Red-letter form failed"),
        }[self.state]
        labels = dict(self._fields["state"]._description_selection(self.env))
        note = _("Red-letter form %(form)s of %(blue)s: %(state)s. %(error)s", form=self.name,
                 blue=self.blue_move_id.name or self.blue_number, state=labels[self.state], error=self.error or "")
        self.message_post(body=note)
        if self.blue_move_id:
            self.blue_move_id._l10n_cn_einv_alert_managers(summary, note)

    # --- credit note of an inbound form -----------------------------------------------------

    def _l10n_cn_einv_create_inbound_credit_note(self):
        """The credit note for what a confirmed inbound form reverses, posted."""
        self.ensure_one()
        blue = self.blue_move_id
        if not blue:
            raise UserError(_("Blue invoice %s is not in Odoo: the credit note cannot be made.", self.blue_number))
        printed = blue._l10n_cn_einv_blue_line_map()
        per_line = defaultdict(lambda: [0.0, 0.0, False])
        for line in self.line_ids:
            invoice_line = printed.get(line.blue_line_no)
            if not invoice_line:
                raise UserError(_("Line %(no)s of the form is not a line of %(blue)s.", no=line.blue_line_no,
                                  blue=blue.name))
            values = per_line[invoice_line]
            values[0] += -line.quantity
            values[1] += -line.amount
            values[2] = values[2] or len([n for n, printed_line in printed.items() if printed_line == invoice_line]) > 1
        currency = blue.currency_id
        changes = {}
        for invoice_line, (quantity, amount, discounted) in per_line.items():
            if currency.compare_amounts(amount, invoice_line.price_subtotal) == 0:
                changes[invoice_line] = {}
            elif quantity and not discounted:
                changes[invoice_line] = {"quantity": quantity}
            else:
                changes[invoice_line] = {"quantity": 1, "price_unit": amount, "discount": 0}
        with self.env.cr.savepoint():     # a refusal leaves no draft credit note behind
            credit = blue._l10n_cn_einv_make_credit_note(self.reason, changes)
            self._l10n_cn_einv_flow_write({"credit_move_id": credit.id})
            credit.action_post()      # the form exists: posting raises no second one

    # --- buttons ----------------------------------------------------------------------------

    def _l10n_cn_einv_platform_action(self, call):
        """Run ``call(client, form)`` on the platform; a refusal becomes a UserError."""
        self.ensure_one()
        self._l10n_cn_einv_lock(nowait=True)
        with self.company_id._l10n_cn_einv_provider(self) as client:
            try:
                self._l10n_cn_einv_apply_result(call(client, self), alert=False)
            except TransientError as error:     # out of reach: the error says it plainly
                raise UserError(error_message(error, self.env.lang)) from None
            except PlatformError as error:
                raise UserError(_("The tax platform refused: %s", error_message(error, self.env.lang))) from None
            if self.state in ("applied", "confirmed"):
                self._l10n_cn_einv_send(client)

    def action_l10n_cn_einv_confirm(self):
        check_access(self)
        for form in self:
            if form.direction != "inbound" or form.platform_status != "03":
                raise UserError(_("Only an inbound form awaiting our confirmation (03) can be confirmed."))
            form._l10n_cn_einv_platform_action(lambda client, f: client.confirm_red_form(f.form_number))

    def action_l10n_cn_einv_refuse(self):
        check_access(self)
        for form in self:
            if form.direction != "inbound" or form.platform_status != "03":
                raise UserError(_("Only an inbound form awaiting our confirmation (03) can be refused."))
            form._l10n_cn_einv_platform_action(lambda client, f: client.reject_red_form(f.form_number))

    def action_l10n_cn_einv_revoke(self):
        check_access(self)
        for form in self:
            if form.direction != "outbound" or form.red_invoice_number or not form.form_number \
                    or form.platform_status not in ACTIVE_PLATFORM_STATUSES:
                raise UserError(_("Only a form we raised, known to the platform and without a red invoice, "
                                  "can be revoked."))
            form._l10n_cn_einv_platform_action(lambda client, f: client.revoke_red_form(f.form_number))
            if form.credit_move_id:
                form.credit_move_id.message_post(body=_(
                    "Red-letter form %s revoked: no red invoice will be issued for this credit note. "
                    "Reset it to draft and cancel it, or post it again to apply for a new form.", form.name))

    def action_l10n_cn_einv_retry(self):
        check_access(self)
        for form in self.filtered(lambda f: f.state == "failed"):
            if form.platform_status in ("01", "04"):
                state = STATE_OF_STATUS[form.platform_status]
            elif not form.form_number:
                state = "draft"
            else:
                raise UserError(_("Form %s is void on the platform: it cannot be sent again.", form.name))
            form._l10n_cn_einv_flow_write({"state": state, "attempts": 0, "next_attempt": False, "error": False})
            form._l10n_cn_einv_send_now()

    def action_l10n_cn_einv_refresh(self):
        check_access(self)
        self._l10n_cn_einv_send_now()

    def action_open_logs(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": _("Platform Interactions"),
            "res_model": "l10n_cn_einv.log",
            "view_mode": "list,form",
            "domain": [("res_model", "=", self._name), ("res_id", "=", self.id)],
        }

    # --- inbound forms --------------------------------------------------------------------------

    @api.model
    def action_l10n_cn_einv_fetch_inbound(self, *_selection):
        """A list-header button: the web client passes the (possibly empty) selection as an argument,
        an RPC caller may pass nothing; either way it is ignored."""
        companies = self.env.companies.filtered(lambda c: c.account_fiscal_country_id.code == "CN")
        check_access(companies)
        count = self._l10n_cn_einv_fetch_inbound(companies)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "info", "title": _("Inbound red-letter forms"),
                       "message": _("%s forms received or updated.", count),
                       "next": {"type": "ir.actions.client", "tag": "soft_reload"}},
        }

    @api.model
    def _l10n_cn_einv_fetch_inbound(self, companies):
        """Create or update the forms buyers raised against our invoices; returns how many."""
        count = 0
        for company in companies:
            forms = self.sudo().with_company(company)
            with company._l10n_cn_einv_provider(forms) as client:
                try:
                    results = client.list_red_forms("inbound")
                except PlatformError as error:
                    if self.env.context.get("l10n_cn_einv_cron"):
                        _logger.warning("listing inbound red forms of %s failed: %s", company.name, error.message)
                        continue
                    raise UserError(_("The tax platform refused: %s", error_message(error, self.env.lang))) from None
            count += forms._l10n_cn_einv_sync_inbound(company, results)
        return count

    @api.model
    def _l10n_cn_einv_sync_inbound(self, company, results):
        count = 0
        for result in results:
            form = self.search([("form_number", "=", result.form_number), ("company_id", "=", company.id)], limit=1)
            if form:
                if form.platform_status != result.status:
                    form._l10n_cn_einv_apply_result(result)
                    count += 1
                continue
            blue = self.env["account.move"].search([
                ("company_id", "=", company.id), ("move_type", "=", "out_invoice"),
                ("l10n_cn_einv_number", "=", result.blue_invoice_number)], limit=1)
            if not blue or result.status not in ACTIVE_PLATFORM_STATUSES:
                # Void before we ever saw it, or not about one of our invoices: nothing to do.
                _logger.info("inbound red form %s (%s) of invoice %s skipped in %s", result.form_number,
                             result.status, result.blue_invoice_number, company.name)
                continue
            with flow():
                form = self.create({
                    "company_id": company.id, "blue_move_id": blue.id, "blue_number": result.blue_invoice_number,
                    "direction": "inbound", "applicant": result.applicant or "buyer", "serial_no": result.serial_no,
                    "reason": result.reason if result.reason in documents.RED_REASONS else "01",
                    "line_ids": self._l10n_cn_einv_line_vals(result.lines, blue),
                })
            form._l10n_cn_einv_apply_result(result)
            blue.message_post(body=_("The buyer raised red-letter form %s against this invoice.", form.form_number))
            count += 1
        return count

    # --- crons ---------------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_cron_process(self, company_ids=None):
        """Send what is due, follow forms awaiting a confirmation, have the credit notes of forms
        that allow it issue their red invoices (a form whose credit note is queued already is left
        to it); committing after each batch so a crash loses little (serials are fixed)."""
        return self._l10n_cn_einv_run_queue(SQL("""
            state = 'awaiting' OR state = 'draft'
            OR (state IN ('applied', 'confirmed') AND NOT EXISTS (
                SELECT 1 FROM account_move credit WHERE credit.id = credit_move_id
                   AND credit.l10n_cn_einv_state != 'not_needed'))
        """), company_ids, batch_size=CRON_BATCH)

    @api.model
    def _l10n_cn_einv_cron_fetch_inbound(self):
        companies = self.env["account.move"].sudo().search(
            [("l10n_cn_einv_state", "=", "issued"), ("move_type", "=", "out_invoice")]).company_id
        return self.with_context(l10n_cn_einv_cron=True)._l10n_cn_einv_fetch_inbound(companies)
