"""Company settings of e-invoice delivery to buyers and of platform callbacks."""

import threading

from odoo import api, fields, models

from . import l10n_cn_einv_platform as platform

CALLBACK_ROUTE = "/l10n_cn_einvoice/callback/%s"

_CALLBACK_LOCK = threading.Lock()
_CALLBACK_URLS = {}   # (sandbox url, app id) -> callback URL last registered with the embedded sandbox


class ResCompany(models.Model):
    _inherit = "res.company"

    l10n_cn_einv_auto_deliver = fields.Boolean(
        "Deliver E-Invoices Automatically", default=True,
        help="Mail the e-invoice (PDF and XML) to the buyer as soon as it is issued. Otherwise use the "
             "Send e-invoice button on the invoice.")
    l10n_cn_einv_callback_enabled = fields.Boolean(
        "Receive Platform Callbacks",
        help="The tax platform notifies Odoo at the callback URL as soon as a pending e-invoice is issued or "
             "a red-letter form changes, instead of waiting for the next poll. Signed and encrypted "
             "notifications only; register the URL with the platform (the embedded sandbox is told "
             "automatically).")
    l10n_cn_einv_callback_url = fields.Char("Callback URL", compute="_compute_l10n_cn_einv_callback_url")

    def _compute_l10n_cn_einv_callback_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        for company in self:
            company.l10n_cn_einv_callback_url = f"{base_url}{CALLBACK_ROUTE % company.id}" if company.id else False

    def _l10n_cn_einv_client(self, exchange_hook=None):
        # EXTENDS l10n_cn_einvoice: the embedded sandbox learns (or forgets) where to send callbacks.
        client = super()._l10n_cn_einv_client(exchange_hook)
        if self._l10n_cn_einv_uses_embedded_sandbox():
            self._l10n_cn_einv_register_callback_url(platform.embedded_sandbox())
        return client

    def _l10n_cn_einv_register_callback_url(self, sandbox):
        """Tell a sandbox platform this company's callback URL (or none when callbacks are off)."""
        self.ensure_one()
        app_id = self.sudo().l10n_cn_einv_app_id
        url = self.l10n_cn_einv_callback_url if self.l10n_cn_einv_callback_enabled else ""
        key = (sandbox.url, app_id)
        with _CALLBACK_LOCK:
            if _CALLBACK_URLS.get(key) == url:
                return
            sandbox.add_app(app_id, callback_url=url)
            _CALLBACK_URLS[key] = url

    @api.model
    def _l10n_cn_einv_callback_path(self, company_id):
        return CALLBACK_ROUTE % company_id


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    l10n_cn_einv_auto_deliver = fields.Boolean(related="company_id.l10n_cn_einv_auto_deliver", readonly=False)
    l10n_cn_einv_callback_enabled = fields.Boolean(
        related="company_id.l10n_cn_einv_callback_enabled", readonly=False)
    l10n_cn_einv_callback_url = fields.Char(related="company_id.l10n_cn_einv_callback_url")
