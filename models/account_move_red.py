"""Red reversal (红冲) of issued e-invoices on customer invoices and credit notes.

Posting a credit note whose ``reversed_entry_id`` is an issued e-invoice raises
a red-letter confirmation form for what the credit note reverses (all of the
invoice, or per line), checked by the rules against what earlier forms already
took; a refusal is a UserError and the credit note stays a draft, so nothing is
half done. See models/l10n_cn_einv_red_form.py for what follows.
"""

from collections import defaultdict
from decimal import Decimal

from odoo import Command, _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from ..fapiao import documents, rules
from ..fapiao.errors import PlatformError
from .l10n_cn_einv_guard import check_access, flow, in_flow
from .l10n_cn_einv_red_form import RED_REASONS, money

IN_PROGRESS = ("to_issue", "submitting", "pending")


class AccountMove(models.Model):
    _inherit = "account.move"

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
        printed, number = {}, 0
        for line in self.invoice_line_ids.filtered(lambda line: line.display_type == "product"):
            for _printed_line in line._l10n_cn_einv_document_lines():
                number += 1
                printed[number] = line
        return printed

    def _l10n_cn_einv_quantities_left(self, reversed_sums):
        """{invoice line: quantity not red-reversed yet}, from the forms' sums per printed line."""
        left = {}
        for number, line in self._l10n_cn_einv_blue_line_map().items():
            left[line] = left.get(line, line.quantity) + float(reversed_sums.get(number, (0,))[0])
        return left

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
        """Values of the red-letter form this credit note calls for, checked by the rules against
        what earlier forms took; None when it needs none. Raises a UserError naming every problem."""
        self.ensure_one()
        blue = self.reversed_entry_id
        forms = self.env["l10n_cn_einv.red.form"].sudo()
        if self.move_type != "out_refund" or blue.move_type != "out_invoice" \
                or not blue._l10n_cn_einv_needs_red_form():
            return None
        if any(form._l10n_cn_einv_holds_amounts() for form in self.sudo().l10n_cn_einv_credit_form_ids):
            return None     # raised already, e.g. the credit note of a confirmed inbound form
        per_number, covered, labels = self._l10n_cn_einv_red_lines(blue)
        blue_document = blue._l10n_cn_einv_document()
        already = forms._l10n_cn_einv_reversed(blue)
        blue_lines = blue.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        currency = blue.currency_id
        full = not already and all(
            float_compare(covered[line][0], line.quantity, precision_digits=6) == 0
            and currency.compare_amounts(covered[line][1], line.price_subtotal) == 0
            and currency.compare_amounts(covered[line][2], line.price_total) == 0 for line in blue_lines)
        red_lines = [documents.RedFormLine(blue_line_no=number, quantity=-quantity if same_price else None,
                                           amount=-amount, tax_amount=-tax)
                     for number, (quantity, amount, tax, same_price) in sorted(per_number.items())]
        reason = self.l10n_cn_einv_red_reason or "01"
        document = documents.RedForm(serial_no=forms._l10n_cn_einv_serial_for(self),
                                     blue_invoice_number=blue.l10n_cn_einv_number, reason=reason,
                                     lines=[] if full else red_lines)
        errors = rules.validate_red_form(document, blue_document, already)
        if errors:
            line_labels = [labels[number] for number in sorted(per_number)]
            credit_name = self.name if self.name not in (False, "/") else _("The credit note")
            raise UserError(_("%(credit)s cannot red-reverse e-invoice %(number)s of %(blue)s:\n%(problems)s",
                              credit=credit_name, number=blue.l10n_cn_einv_number,
                              blue=blue.name, problems="\n".join(
                                  f"  - {self._l10n_cn_einv_describe(error, line_labels)}" for error in errors)))
        self._l10n_cn_einv_check_red_total(blue)
        if full:    # kept per line all the same, so that later forms know what is taken
            red_lines = [documents.RedFormLine(
                blue_line_no=line.line_no or index + 1, amount=-line.amount, tax_amount=-line.tax_amount,
                quantity=None if line.quantity is None else -line.quantity)
                for index, line in enumerate(blue_document.lines)]
        return {
            "company_id": self.company_id.id, "blue_move_id": blue.id, "blue_number": blue.l10n_cn_einv_number,
            "credit_move_id": self.id, "reason": reason, "direction": "outbound", "applicant": "seller",
            "serial_no": document.serial_no, "full_reversal": full,
            "line_ids": forms._l10n_cn_einv_line_vals(red_lines, blue),
        }

    def _l10n_cn_einv_check_red_total(self, blue):
        """Over the whole invoice as well: per line, a discounted line's reversal is checked
        against its gross amount only."""
        held = -sum(form.total_with_tax for form in self.env["l10n_cn_einv.red.form"].sudo().search(
            [("blue_move_id", "=", blue.id)]) if form._l10n_cn_einv_holds_amounts())
        currency = blue.currency_id
        if currency.compare_amounts(held + self.amount_total, blue.amount_total) > 0:
            raise UserError(_(
                "This credit note would red-reverse %(amount)s of %(blue)s, but only %(left)s of its %(total)s are "
                "left (%(held)s reversed or being reversed).", amount=self.amount_total, blue=blue.name,
                left=max(blue.amount_total - held, 0.0), total=blue.amount_total, held=held))

    def _l10n_cn_einv_red_lines(self, blue):
        """What each credit note line reverses, by printed blue line number:
        ({number: [quantity, amount, tax, same unit price]}, {blue line: [quantity, subtotal, total]},
        {number: labels of the credit note lines})."""
        printed = blue._l10n_cn_einv_blue_line_map()
        numbers = defaultdict(list)
        for number, line in printed.items():
            numbers[line].append(number)
        blue_lines = blue.invoice_line_ids.filtered(lambda line: line.display_type == "product")
        per_number, labels, problems = {}, defaultdict(list), []
        covered = defaultdict(lambda: [0.0, 0.0, 0.0])
        taken = self.env["account.move.line"]
        for index, line in enumerate(self.invoice_line_ids.filtered(lambda line: line.display_type == "product"),
                                     start=1):
            label = _("Line %(index)s (%(name)s)", index=index, name=line.name or line.product_id.display_name)
            counterpart = line._l10n_cn_einv_blue_counterpart(blue_lines, taken)
            if not counterpart:
                problems.append(_("%(line)s is not a line of %(blue)s: a red invoice only reverses lines of the "
                                  "e-invoice it reverses.", line=label, blue=blue.name))
                continue
            taken |= counterpart
            number = numbers[counterpart][0]
            same_price = len(numbers[counterpart]) == 1 and line.product_uom_id == counterpart.product_uom_id \
                and float_compare(line.price_unit, counterpart.price_unit, precision_digits=6) == 0 \
                and float_compare(line.discount, counterpart.discount, precision_digits=6) == 0
            entry = per_number.setdefault(number, [Decimal(0), Decimal(0), Decimal(0), True])
            entry[0] += Decimal(str(line.quantity))
            entry[1] += money(line.price_subtotal)
            entry[2] += money(line.price_total - line.price_subtotal)
            entry[3] = entry[3] and same_price
            labels[number].append(label)
            for position, value in enumerate((line.quantity, line.price_subtotal, line.price_total)):
                covered[counterpart][position] += value
        if problems:
            raise UserError("\n".join(problems))
        return per_number, covered, {number: ", ".join(names) for number, names in labels.items()}

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

    def button_draft(self):
        waiting = self.sudo().l10n_cn_einv_credit_form_ids.filtered(
            lambda f: f._l10n_cn_einv_holds_amounts() and f.state != "red_issued")
        if waiting:
            raise UserError(_("The credit notes %(moves)s have red-letter forms on the tax platform (%(forms)s): "
                              "revoke them before resetting to draft.", moves=", ".join(waiting.credit_move_id.mapped(
                                  "name")), forms=", ".join(waiting.mapped("name"))))
        return super().button_draft()

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
        lines, failed = [], False
        for move in self:
            try:
                with self.env.cr.savepoint():
                    form = move._l10n_cn_einv_red_reverse()
            except UserError as error:
                failed = True
                lines.append(_("%(invoice)s: not reversed: %(reason)s", invoice=move.name, reason=error.args[0]))
                continue
            failed = failed or form.state == "failed"
            detail = _("red invoice %s", form.red_invoice_number) if form.red_invoice_number else \
                (form.error or "").split("\n")[0]
            lines.append(_("%(invoice)s: %(state)s", invoice=move.name, state=state_labels[form.state])
                         + (f" ({detail})" if detail else ""))
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "warning" if failed else "success",
                "title": _("Red reversal: some invoices were not reversed") if failed else _("Red reversal"),
                "message": "\n".join(lines),
                "sticky": failed,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

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
                    "数电票不能作废，只能红冲：请为 %(invoice)s 开具贷项通知单，系统会申请红字确认单并开具红字发票。\n"
                    "A fully digitalised e-invoice (数电票) cannot be voided, only red-reversed: create a credit "
                    "note for %(invoice)s; it raises the red-letter confirmation form and issues the red invoice.",
                    invoice=move.name))
        for move in self:
            with move.company_id._l10n_cn_einv_client(move._l10n_cn_einv_log_router()) as client:
                try:
                    client.void(move.l10n_cn_einv_number)
                except PlatformError as error:
                    raise UserError(_("The tax platform refused to void %(invoice)s: %(error)s",
                                      invoice=move.name, error=error.message)) from None
            move.message_post(body=_("E-invoice %s voided on the tax platform.", move.l10n_cn_einv_number))


class AccountMoveLine(models.Model):
    _inherit = "account.move.line"

    def _l10n_cn_einv_blue_counterpart(self, blue_lines, taken):
        """The blue invoice line this credit note line reverses: the same sale order line, else
        the same product, preferring the same unit price and a line not matched yet."""
        self.ensure_one()
        candidates = blue_lines.filtered(lambda line: line.product_id == self.product_id)
        if self.sale_line_ids:
            candidates = candidates.filtered(lambda line: line.sale_line_ids & self.sale_line_ids) or candidates
        if not candidates:
            return None
        return min(candidates, key=lambda line: (
            line in taken, float_compare(line.price_unit, self.price_unit, precision_digits=6) != 0,
            line.sequence, line.id))
