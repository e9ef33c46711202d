import uuid

from odoo import Command, fields

from odoo.addons.l10n_cn_einvoice.tests.common import L10nCnEinvCase


def pos_order_data(session, lines, partner, cash_method, *, to_invoice=True, order_uuid=None, **values):
    """What the till sends for an order paid in cash (sync_from_ui), as point_of_sale's tests build it:
    ``lines`` [(product, quantity)] at their sales price and taxes."""
    company = session.company_id
    order_uuid = order_uuid or str(uuid.uuid4())
    line_commands, total, untaxed = [], 0.0, 0.0
    for product, quantity in lines:
        price = product.lst_price
        taxes = product.taxes_id.filtered(lambda tax: tax.company_id == company)
        amounts = taxes.compute_all(price, company.currency_id, quantity)
        total += amounts["total_included"]
        untaxed += amounts["total_excluded"]
        line_commands.append(Command.create({
            "product_id": product.id, "qty": quantity, "price_unit": price, "discount": 0,
            "price_subtotal": amounts["total_excluded"], "price_subtotal_incl": amounts["total_included"],
            "tax_ids": [Command.set(taxes.ids)], "pack_lot_ids": [], "uuid": str(uuid.uuid4()),
        }))
    return {
        "uuid": order_uuid, "name": f"Order {order_uuid}", "session_id": session.id,
        "user_id": session.env.uid, "partner_id": partner.id if partner else False,
        "pricelist_id": session.config_id.pricelist_id.id, "fiscal_position_id": False,
        "date_order": fields.Datetime.to_string(fields.Datetime.now()),
        "lines": line_commands, "amount_total": total, "amount_tax": total - untaxed,
        "amount_paid": total, "amount_return": 0, "sequence_number": 1,
        "last_order_preparation_change": "{}", "to_invoice": to_invoice, "state": "paid",
        "payment_ids": [Command.create({"amount": total, "name": fields.Datetime.now(),
                                        "payment_method_id": cash_method.id})],
        **values,
    }


class L10nCnEinvPosCase(L10nCnEinvCase):
    """The e-invoicing company of the addon's tests with a store: a Point of Sale shop selling the
    test products for cash, against the platform's simulator."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env.user.groups_id |= cls.env.ref("point_of_sale.group_pos_manager")
        cls.cash_method = cls.env["pos.payment.method"].create({
            "name": "现金", "journal_id": cls.company_data["default_journal_cash"].id,
            "company_id": cls.company.id,
        })
        cls.pos_config = cls.env["pos.config"].create({
            "name": "南京路店", "company_id": cls.company.id,
            "invoice_journal_id": cls.company_data["default_journal_sale"].id,
            "payment_method_ids": [Command.set(cls.cash_method.ids)],
        })
        (cls.product_printer + cls.product_service).write({"available_in_pos": True})
        # what the bridge's install turns on for the companies in China (created here after it)
        cls.company.point_of_sale_use_ticket_qr_code = True

    def open_session(self, config=None):
        config = config or self.pos_config
        config.open_ui()
        session = config.current_session_id
        session.set_opening_control(0, None)
        return session

    def order_data(self, session, lines=None, partner=None, to_invoice=True, order_uuid=None, **values):
        return pos_order_data(session, lines or [(self.product_printer, 1)], partner, self.cash_method,
                              to_invoice=to_invoice, order_uuid=order_uuid, **values)

    def sync(self, *orders):
        """The till's sync of paid orders -> (its answer, the orders)."""
        result = self.env["pos.order"].sync_from_ui(list(orders))
        return result, self.env["pos.order"].browse([row["id"] for row in result["pos.order"]])
