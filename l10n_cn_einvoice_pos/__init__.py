from . import controllers, models


def _l10n_cn_einv_pos_post_init(env):
    """Receipts of the companies in China carry Odoo's self-invoicing QR code: with this module it
    leads the shopper to the 数电票 request page (controllers/main.py)."""
    env["res.company"].search([("account_fiscal_country_id.code", "=", "CN")]).point_of_sale_use_ticket_qr_code = True
