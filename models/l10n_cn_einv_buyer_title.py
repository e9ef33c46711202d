"""The buyer's title (抬头) as the e-invoice will print it, on sale orders and invoices alike."""

from odoo import api, fields, models

from ..fapiao import documents

INVOICE_TYPES = [("02", "Ordinary invoice (普票)"), ("01", "Special VAT invoice (专票)")]
# The title fields a sale order carries over to its invoices.
TITLE_FIELDS = (
    "l10n_cn_einv_invoice_type", "l10n_cn_einv_buyer_name", "l10n_cn_einv_buyer_tax_id",
    "l10n_cn_einv_buyer_address_phone", "l10n_cn_einv_buyer_bank_account", "l10n_cn_einv_buyer_email",
    "l10n_cn_einv_buyer_is_natural_person",
)


def buyer_title_values(partner):
    """The buyer title fields of a customer, as printed: 地址电话 and 开户行及账号 one line each."""
    party = partner.commercial_partner_id._l10n_cn_einv_party() if partner else documents.Party("")
    return {
        "l10n_cn_einv_buyer_name": party.name,
        "l10n_cn_einv_buyer_tax_id": party.tax_id,
        "l10n_cn_einv_buyer_address_phone": " ".join(filter(None, [party.address, party.phone])),
        "l10n_cn_einv_buyer_bank_account": " ".join(filter(None, [party.bank_name, party.bank_account])),
        "l10n_cn_einv_buyer_email": party.email,
        "l10n_cn_einv_buyer_is_natural_person": party.natural_person,
    }


class L10nCnEinvBuyerTitle(models.AbstractModel):
    """Defaults from the customer; the user may adjust them before the e-invoice is issued."""

    _name = "l10n_cn_einv.buyer.title"
    _description = "E-Invoice Buyer Title"

    l10n_cn_einv_invoice_type = fields.Selection(
        INVOICE_TYPES, string="E-Invoice Type", compute="_compute_l10n_cn_einv_title", store=True, readonly=False,
        precompute=True)
    l10n_cn_einv_buyer_name = fields.Char(
        "Buyer Title", compute="_compute_l10n_cn_einv_title", store=True, readonly=False, precompute=True)
    l10n_cn_einv_buyer_tax_id = fields.Char(
        "Buyer Taxpayer ID", compute="_compute_l10n_cn_einv_title", store=True, readonly=False, precompute=True)
    l10n_cn_einv_buyer_address_phone = fields.Char(
        "Buyer Address and Phone", compute="_compute_l10n_cn_einv_title", store=True, readonly=False,
        precompute=True)
    l10n_cn_einv_buyer_bank_account = fields.Char(
        "Buyer Bank and Account", compute="_compute_l10n_cn_einv_title", store=True, readonly=False,
        precompute=True)
    l10n_cn_einv_buyer_email = fields.Char(
        "Delivery E-mail", compute="_compute_l10n_cn_einv_title", store=True, readonly=False, precompute=True)
    l10n_cn_einv_buyer_is_natural_person = fields.Boolean(
        "Buyer Is a Natural Person", compute="_compute_l10n_cn_einv_title", store=True, readonly=False,
        precompute=True)

    def _l10n_cn_einv_title_partner(self):
        """The customer whose title this record prints."""
        return self.partner_id

    def _l10n_cn_einv_title_frozen(self):
        """Whether the title is what was (or is being) submitted: then the customer no longer sets it."""
        return False

    @api.depends("partner_id", "company_id")
    def _compute_l10n_cn_einv_title(self):
        for record in self:
            if record._l10n_cn_einv_title_frozen():
                continue
            record.l10n_cn_einv_invoice_type = record.company_id.l10n_cn_einv_default_invoice_type or "02"
            record.update(buyer_title_values(record._l10n_cn_einv_title_partner()))
