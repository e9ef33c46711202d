"""Log in to the tax bureau again, then resume what waited.

Whenever the drawer's login to the tax bureau (电子税局) or identity check lapses,
the platforms stop issuing (fapiao.errors.LoginRequired): invoices and forms wait
in ``waiting_login``. A manager logs in again here: where the platform offers
the session (Capabilities.login_session), with the QR code it shows, scanned in
the tax bureau's app, and checked with the platform before anything resumes;
elsewhere on the platform's own site, confirmed here.
"""

import base64
from datetime import datetime, timezone

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from ..fapiao.errors import PlatformError
from ..models.l10n_cn_einv_guard import check_access
from ..models.l10n_cn_einv_lang import error_message


class L10nCnEinvLoginWizard(models.TransientModel):
    _name = "l10n_cn_einv.login.wizard"
    _description = "E-Invoice Tax Bureau Login"

    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company,
        domain=lambda self: [("id", "in", self.env.companies.ids)])
    login_session = fields.Boolean(compute="_compute_platform",
                                   help="The platform shows a QR code to log in with and checks the login.")
    waiting_count = fields.Integer("Waiting", compute="_compute_platform")
    qr_content = fields.Char("QR Code Content", readonly=True)
    qr_image = fields.Binary("QR Code", compute="_compute_qr_image")
    qr_expires_at = fields.Datetime("QR Code Valid Until", readonly=True)
    message = fields.Char(readonly=True)

    @api.depends("company_id")
    def _compute_platform(self):
        for wizard in self:
            company = wizard.company_id
            wizard.login_session = bool(company) and company._l10n_cn_einv_capabilities().login_session
            wizard.waiting_count = sum(len(records) for records in company._l10n_cn_einv_waiting_login()) \
                if company else 0

    @api.depends("qr_content")
    def _compute_qr_image(self):
        for wizard in self:
            wizard.qr_image = base64.b64encode(self.env["ir.actions.report"].barcode(
                "QR", wizard.qr_content, width=240, height=240)) if wizard.qr_content else False

    def _l10n_cn_einv_ask(self, call):
        """``call(provider)`` on the company's platform; its refusal as a message for the manager."""
        self.ensure_one()
        check_access(self.company_id, "manager")
        company = self.company_id.sudo()
        try:
            with company._l10n_cn_einv_provider(company) as client:
                return call(client)
        except PlatformError as error:
            raise UserError(_("The tax platform refused: %s", error_message(error, self.env.lang))) from None

    def action_show_qr_code(self):
        """Ask the platform for a QR code to scan with the tax bureau's app."""
        status = self._l10n_cn_einv_ask(lambda client: client.login_start())
        self.write({"qr_content": status.qr_content or False, "message": status.message or False,
                    "qr_expires_at": datetime.fromtimestamp(status.qr_expires_at, timezone.utc).replace(tzinfo=None)
                    if status.qr_expires_at else False})
        return self._l10n_cn_einv_reopen()

    def action_resume(self):
        """The drawer logged in again: checked with the platform where it can tell, then everything
        that waited is sent."""
        if self.login_session:
            status = self._l10n_cn_einv_ask(
                lambda client: client.login_complete() if self.qr_content else client.login_status())
            if not status.logged_in:
                raise UserError(_("The tax platform says the drawer is not logged in to the tax bureau yet: %s",
                                  status.message or _("scan the QR code with the tax bureau's app first.")))
        else:
            check_access(self.company_id, "manager")
        return self.company_id._l10n_cn_einv_resume_after_login()

    def _l10n_cn_einv_reopen(self):
        return {"type": "ir.actions.act_window", "res_model": self._name, "res_id": self.id, "view_mode": "form",
                "target": "new", "name": _("Log in to the tax bureau")}
