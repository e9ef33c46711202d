"""Customer returns of e-invoiced goods: the credit note and its red reversal start by themselves."""

from collections import defaultdict

from odoo import _, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from .l10n_cn_einv_guard import flow
from .stock_move import is_customer_return


class StockPicking(models.Model):
    _inherit = "stock.picking"

    def _action_done(self):
        self.move_ids._l10n_cn_einv_check_return_quantities()
        result = super()._action_done()
        self.filtered(lambda p: p.company_id.l10n_cn_einv_auto_red_on_return)._l10n_cn_einv_credit_returns()
        return result

    def _l10n_cn_einv_credit_returns(self):
        """Credit notes (reason 02 销货退回) for returned goods already on issued e-invoices;
        posting them starts the red reversal. What is not e-invoiced yet is left to Odoo,
        which only invoices less."""
        for picking in self:
            moves = picking.move_ids.filtered(
                lambda m: m.state == "done" and is_customer_return(m) and m.sale_line_id and m.to_refund)
            for blue, changes in picking._l10n_cn_einv_returned_invoice_lines(moves).items():
                try:
                    with self.env.cr.savepoint():
                        # The warehouse user validating the return may have no accounting rights:
                        # the company's automatic red reversal acts for them.
                        credit = blue.sudo()._l10n_cn_einv_make_credit_note("02", changes)
                        with flow():
                            credit.action_post()
                except UserError as error:
                    message = _("No credit note was made for the goods of %(invoice)s returned by %(picking)s: "
                                "%(error)s", invoice=blue.name, picking=picking.name, error=error.args[0])
                    picking.message_post(body=message)
                    blue.sudo()._l10n_cn_einv_alert_managers(_("Return not credited"), message)
                    continue
                form = credit.l10n_cn_einv_credit_form_ids[:1]
                picking.message_post(body=_(
                    "Credit note %(credit)s made for the returned goods; red-letter form %(form)s: %(state)s.",
                    credit=credit._get_html_link(), form=form.name,
                    state=dict(form._fields["state"]._description_selection(self.env)).get(form.state)))

    def _l10n_cn_einv_returned_invoice_lines(self, moves):
        """{blue invoice: {invoice line: values of its credit line}} for what is returned, invoiced
        and e-invoiced: per order line, the returned quantity less what is still delivered
        beyond what is invoiced, taken from its latest issued e-invoices first."""
        returned = defaultdict(float)
        for move in moves:
            returned[move.sale_line_id] += move.product_uom._compute_quantity(move.quantity,
                                                                              move.sale_line_id.product_uom)
        left_of = {}
        changes = defaultdict(dict)
        for sale_line, quantity in returned.items():
            to_credit = min(quantity, sale_line.qty_invoiced - sale_line.qty_delivered)
            invoice_lines = sale_line.sudo().invoice_lines.filtered(
                lambda line: line.move_id.move_type == "out_invoice" and line.move_id.state == "posted"
                and line.move_id.l10n_cn_einv_state == "issued")
            for invoice_line in invoice_lines.sorted(lambda line: line.move_id.id, reverse=True):
                if float_compare(to_credit, 0, precision_rounding=sale_line.product_uom.rounding) <= 0:
                    break
                blue = invoice_line.move_id
                if blue not in left_of:
                    left_of[blue] = blue._l10n_cn_einv_quantities_left()
                credited = min(to_credit, left_of[blue].get(invoice_line, 0.0))
                if credited > 0:
                    changes[blue][invoice_line] = {} if credited == invoice_line.quantity else {"quantity": credited}
                    to_credit -= credited
        return changes
