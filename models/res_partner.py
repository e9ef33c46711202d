from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..fapiao.documents import Party
from ..fapiao.errors import InvalidTaxpayerId
from ..fapiao.taxid import normalise_taxpayer_id, validate_taxpayer_id
from ..fapiao.title import split_address_phone, split_bank_account
from .l10n_cn_einv_lang import error_message

# The invoice title (发票抬头) belongs to the company, not to each of its contacts.
TITLE_FIELDS = ["l10n_cn_einv_title_name", "l10n_cn_einv_address_phone", "l10n_cn_einv_bank_account",
                "l10n_cn_einv_is_natural_person"]


class ResPartner(models.Model):
    _inherit = "res.partner"

    l10n_cn_einv_title_name = fields.Char(
        "Invoice Title", help="Buyer name printed on e-invoices (发票抬头). Leave empty to use the partner name.")
    l10n_cn_einv_address_phone = fields.Char(
        "Title Address and Phone",
        help="地址电话 printed on e-invoices, the phone last (北京市海淀区中关村大街1号 010-62345678). "
             "Leave empty to use the partner's address and phone.")
    l10n_cn_einv_bank_account = fields.Char(
        "Title Bank and Account",
        help="开户行及账号 printed on e-invoices, the account number last. Leave empty to use the "
             "partner's first bank account.")
    l10n_cn_einv_email = fields.Char(
        "E-Invoice Email", help="Where issued e-invoices are sent. Leave empty to use the partner's email.")
    l10n_cn_einv_is_natural_person = fields.Boolean(
        "Natural Person",
        help="An individual buyer: ordinary invoices (普票) only, and no taxpayer id is needed.")
    l10n_cn_einv_opt_out_auto_issue = fields.Boolean(
        "No Automatic E-Invoice",
        help="Never issue e-invoices automatically for this customer; they are issued on request only.")

    @api.model
    def default_get(self, fields_list):
        """A Chinese company's new customers are in China unless said otherwise: their taxpayer id
        is then checked when saved, not when the first e-invoice is refused."""
        defaults = super().default_get(fields_list)
        company = self.env.company
        if "country_id" in fields_list and "country_id" not in defaults and company.country_id.code == "CN":
            defaults["country_id"] = company.country_id.id
        return defaults

    @api.model
    def _commercial_fields(self):
        return [*super()._commercial_fields(), *TITLE_FIELDS, "l10n_cn_einv_opt_out_auto_issue"]

    def _l10n_cn_einv_checks_taxpayer_id(self):
        """A partner in China, or one given an e-invoice title: its vat is a Chinese taxpayer id."""
        self.ensure_one()
        return self.country_id.code == "CN" or any(self[name] for name in TITLE_FIELDS)

    @api.constrains("vat", "country_id", *TITLE_FIELDS)
    def _check_l10n_cn_einv_vat(self):
        for partner in self:
            if not partner.vat or not partner._l10n_cn_einv_checks_taxpayer_id():
                continue
            try:
                validate_taxpayer_id(partner.vat)
            except InvalidTaxpayerId as error:
                raise ValidationError(self.env._(
                    "%(partner)s: %(message)s", partner=partner.display_name,
                    message=error_message(error, self.env.lang))) from None

    def _l10n_cn_einv_party(self):
        """The buyer title of this partner as a :class:`fapiao.documents.Party`.

        Title fields come from the commercial partner (the company of a
        contact); the e-mail is the contact's own when it has one.
        """
        self.ensure_one()
        title = self.commercial_partner_id
        if title.l10n_cn_einv_address_phone:
            address, phone = split_address_phone(title.l10n_cn_einv_address_phone)
        else:
            address = " ".join(part for part in (title.state_id.name, title.city, title.street, title.street2)
                               if part)
            phone = title.phone or title.mobile or ""
        if title.l10n_cn_einv_bank_account:
            bank_name, bank_account = split_bank_account(title.l10n_cn_einv_bank_account)
        else:
            bank = title.bank_ids[:1]
            bank_name, bank_account = bank.bank_id.name or "", bank.acc_number or ""
        return Party(
            name=title.l10n_cn_einv_title_name or title.name or "",
            tax_id=normalise_taxpayer_id(title.vat) if title.vat else "",
            address=address,
            phone=phone,
            bank_name=bank_name,
            bank_account=bank_account,
            email=self.l10n_cn_einv_email or self.email or title.l10n_cn_einv_email or title.email or "",
            natural_person=title.l10n_cn_einv_is_natural_person,
        )
