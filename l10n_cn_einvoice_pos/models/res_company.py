"""A company in China prints the self-service QR code (扫码开票) on its receipts from the start."""

from odoo import api, models


class ResCompany(models.Model):
    _inherit = "res.company"

    @api.model_create_multi
    def create(self, vals_list):
        companies = super().create(vals_list)
        # the install hook set it for the companies of that day; a store company opened later in
        # China needs it as much (its receipts lead to the 数电票 request page, controllers/main.py)
        for company, vals in zip(companies, vals_list, strict=True):
            if company.account_fiscal_country_id.code == "CN" and "point_of_sale_use_ticket_qr_code" not in vals:
                company.point_of_sale_use_ticket_qr_code = True
        return companies
