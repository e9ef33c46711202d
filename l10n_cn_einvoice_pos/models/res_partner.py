"""Invoice titles at the till: the customer's, or a walk-in buyer's entered there."""

from odoo import _, api, models
from odoo.exceptions import UserError
from odoo.tools import email_normalize

from odoo.addons.l10n_cn_einvoice.fapiao.errors import InvalidTaxpayerId
from odoo.addons.l10n_cn_einvoice.fapiao.taxid import validate_taxpayer_id
from odoo.addons.l10n_cn_einvoice.models.l10n_cn_einv_lang import error_message

# What the till shows of a customer's invoice title (抬头).
TITLE_POS_FIELDS = ["l10n_cn_einv_title_name", "l10n_cn_einv_email", "l10n_cn_einv_is_natural_person"]
NAME_MAX = 300   # characters of a buyer name on an e-invoice


class ResPartner(models.Model):
    _inherit = "res.partner"

    @api.model
    def _load_pos_data_fields(self, config_id):
        fields = super()._load_pos_data_fields(config_id)
        return [*fields, *(name for name in TITLE_POS_FIELDS if name not in fields)]

    @api.model
    def _l10n_cn_einv_pos_title_problems(self, name, tax_id, email):
        """Every problem of a title entered at the till, in the user's language; and the
        normalised taxpayer id and e-mail."""
        problems = []
        if not name:
            problems.append(_("The invoice title (buyer name) is required."))
        elif len(name) > NAME_MAX:
            problems.append(_("The invoice title is longer than %s characters.", NAME_MAX))
        if not tax_id:
            problems.append(_("The taxpayer ID is required for a company's invoice title."))
        else:
            try:
                tax_id = validate_taxpayer_id(tax_id)
            except InvalidTaxpayerId as error:
                problems.append(error_message(error, self.env.lang))    # names the id and what is wrong
        normalized = email_normalize(email) if email else False
        if email and not normalized:
            problems.append(_("%s is not a valid e-mail address.", email))
        return problems, tax_id, normalized

    @api.model
    def l10n_cn_einv_pos_check_tax_id(self, tax_id):
        """The till checks a taxpayer id as it is typed: "" when valid, else what is wrong."""
        self.env["pos.session"].check_access("read")
        try:
            validate_taxpayer_id(tax_id or "")
        except InvalidTaxpayerId as error:
            return error_message(error, self.env.lang)
        return ""

    @api.model
    def l10n_cn_einv_pos_walk_in_title(self, values, order_uuid=None):
        """The till's walk-in buyer: ``values`` {name, tax_id, email} -> the id of the customer
        carrying that title (the company's customer with that taxpayer id, else a new one). Every
        problem is refused at once, and nothing is created; so is a title for an order already
        invoiced (``order_uuid``: the till's order)."""
        self.env["pos.session"].check_access("read")     # a POS user, at a till
        name = (values.get("name") or "").strip()
        tax_id = (values.get("tax_id") or "").strip()
        email = (values.get("email") or "").strip()
        problems, tax_id, email = self._l10n_cn_einv_pos_title_problems(name, tax_id, email)
        if order_uuid:
            order = self.env["pos.order"].sudo().search([("uuid", "=", order_uuid)], limit=1)
            if order.account_move:
                problems.append(_("Order %s is already invoiced: its invoice title can no longer change.",
                                  order.pos_reference or order.name))
        if problems:
            raise UserError(_("This invoice title cannot be used:\n%s",
                              "\n".join(f"- {problem}" for problem in problems)))
        company = self.env.company
        partners = self.sudo().with_context(active_test=True)
        partner = partners.search([("vat", "=", tax_id), ("is_company", "=", True),
                                   ("company_id", "in", [False, company.id])], limit=1)
        if partner:
            title = partner.l10n_cn_einv_title_name or partner.name
            if title != name:
                # a till does not rename a customer: the buyer picks that customer, or says their title again
                raise UserError(_("Taxpayer ID %(tax_id)s is the customer “%(title)s”: pick that customer instead.",
                                  tax_id=tax_id, title=title))
            if email and not partner.l10n_cn_einv_email:
                partner.l10n_cn_einv_email = email
            return partner.id
        return partners.create({
            "name": name, "is_company": True, "vat": tax_id, "email": email,
            "l10n_cn_einv_title_name": name, "l10n_cn_einv_email": email,
            "country_id": self.env.ref("base.cn").id, "lang": self.env.lang,
        }).id
