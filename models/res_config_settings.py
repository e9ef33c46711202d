from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import format_amount

from . import l10n_cn_einv_platform as platform
from .account_move import MAX_QUEUE_LANES
from .l10n_cn_einv_guard import check_access

# Secrets are write-only in settings: the form never receives their value.
SECRET_FIELDS = {
    "l10n_cn_einv_app_secret_input": "l10n_cn_einv_app_secret",
    "l10n_cn_einv_sm4_key_input": "l10n_cn_einv_sm4_key",
    "l10n_cn_einv_sm2_private_key_input": "l10n_cn_einv_sm2_private_key",
    "l10n_cn_einv_nuonuo_app_secret_input": "l10n_cn_einv_nuonuo_app_secret",
    "l10n_cn_einv_nuonuo_access_token_input": "l10n_cn_einv_nuonuo_access_token",
}


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    l10n_cn_einv_provider = fields.Selection(related="company_id.l10n_cn_einv_provider", readonly=False)
    l10n_cn_einv_environment = fields.Selection(related="company_id.l10n_cn_einv_environment", readonly=False)
    l10n_cn_einv_endpoint = fields.Char(related="company_id.l10n_cn_einv_endpoint", readonly=False)
    l10n_cn_einv_app_id = fields.Char(
        "E-Invoice Application ID", related="company_id.l10n_cn_einv_app_id", readonly=False)
    l10n_cn_einv_sm2_public_key = fields.Char(related="company_id.l10n_cn_einv_sm2_public_key", readonly=False)
    l10n_cn_einv_seller_address_phone = fields.Char(
        related="company_id.l10n_cn_einv_seller_address_phone", readonly=False)
    l10n_cn_einv_seller_bank_account = fields.Char(
        related="company_id.l10n_cn_einv_seller_bank_account", readonly=False)
    l10n_cn_einv_default_invoice_type = fields.Selection(
        related="company_id.l10n_cn_einv_default_invoice_type", readonly=False)
    l10n_cn_einv_issuer = fields.Char(related="company_id.l10n_cn_einv_issuer", readonly=False)
    l10n_cn_einv_auto_issue = fields.Boolean(related="company_id.l10n_cn_einv_auto_issue", readonly=False)
    l10n_cn_einv_request_period = fields.Selection(related="company_id.l10n_cn_einv_request_period",
                                                   readonly=False)
    l10n_cn_einv_request_special = fields.Boolean(related="company_id.l10n_cn_einv_request_special",
                                                  readonly=False)
    l10n_cn_einv_rollout_percent = fields.Integer(
        related="company_id.l10n_cn_einv_rollout_percent", readonly=False)
    l10n_cn_einv_retry_schedule = fields.Char(related="company_id.l10n_cn_einv_retry_schedule", readonly=False)

    l10n_cn_einv_app_secret_input = fields.Char(
        "New App Secret", compute="_compute_l10n_cn_einv_secret_inputs", inverse="_inverse_l10n_cn_einv_secret_inputs",
        groups="base.group_system")
    l10n_cn_einv_sm4_key_input = fields.Char(
        "New SM4 Key", compute="_compute_l10n_cn_einv_secret_inputs", inverse="_inverse_l10n_cn_einv_secret_inputs",
        groups="base.group_system")
    l10n_cn_einv_sm2_private_key_input = fields.Char(
        "New SM2 Private Key", compute="_compute_l10n_cn_einv_secret_inputs",
        inverse="_inverse_l10n_cn_einv_secret_inputs", groups="base.group_system")
    l10n_cn_einv_nuonuo_app_secret_input = fields.Char(
        "New 诺诺 App Secret", compute="_compute_l10n_cn_einv_secret_inputs",
        inverse="_inverse_l10n_cn_einv_secret_inputs", groups="base.group_system")
    l10n_cn_einv_nuonuo_access_token_input = fields.Char(
        "New 诺诺 Access Token", compute="_compute_l10n_cn_einv_secret_inputs",
        inverse="_inverse_l10n_cn_einv_secret_inputs", groups="base.group_system")
    l10n_cn_einv_nuonuo_endpoint = fields.Char(related="company_id.l10n_cn_einv_nuonuo_endpoint", readonly=False)
    l10n_cn_einv_nuonuo_token_endpoint = fields.Char(
        related="company_id.l10n_cn_einv_nuonuo_token_endpoint", readonly=False)
    l10n_cn_einv_nuonuo_app_key = fields.Char(related="company_id.l10n_cn_einv_nuonuo_app_key", readonly=False)
    l10n_cn_einv_nuonuo_seller_tax_id = fields.Char(
        related="company_id.l10n_cn_einv_nuonuo_seller_tax_id", readonly=False)
    l10n_cn_einv_nuonuo_extension_number = fields.Char(
        related="company_id.l10n_cn_einv_nuonuo_extension_number", readonly=False)
    l10n_cn_einv_nuonuo_download_hosts = fields.Char(
        related="company_id.l10n_cn_einv_nuonuo_download_hosts", readonly=False)
    l10n_cn_einv_nuonuo_rate_limit = fields.Float(
        related="company_id.l10n_cn_einv_nuonuo_rate_limit", readonly=False)
    l10n_cn_einv_rate_limit = fields.Float(related="company_id.l10n_cn_einv_rate_limit", readonly=False)
    l10n_cn_einv_parallel_requests = fields.Integer(
        related="company_id.l10n_cn_einv_parallel_requests", readonly=False)
    l10n_cn_einv_queue_lanes = fields.Integer(
        "Sending Lanes", config_parameter="l10n_cn_einvoice.queue_lanes", default=2, groups="base.group_system",
        help="How many of Odoo's cron workers send queued e-invoices at once, across all servers and companies. "
             "Each server runs as many scheduled actions at once as its cron workers (max_cron_threads, 2 by "
             "default): more lanes than cron workers in all wait for one.")
    l10n_cn_einv_quota_status = fields.Char("Credit Quota", compute="_compute_l10n_cn_einv_quota_status")
    l10n_cn_einv_secrets_status = fields.Char(
        "Secrets", compute="_compute_l10n_cn_einv_secrets_status", groups="base.group_system")

    @api.constrains("l10n_cn_einv_queue_lanes")
    def _check_l10n_cn_einv_queue_lanes(self):
        for settings in self:
            if not 1 <= settings.l10n_cn_einv_queue_lanes <= MAX_QUEUE_LANES:
                raise UserError(_("Sending lanes must be between 1 and %(max)s, not %(value)s.",
                                  max=MAX_QUEUE_LANES, value=settings.l10n_cn_einv_queue_lanes))

    def set_values(self):
        result = super().set_values()
        if self.env.user.has_group("base.group_system"):
            self.env["account.move"]._l10n_cn_einv_sync_queue_lanes()
        return result

    def _compute_l10n_cn_einv_secret_inputs(self):
        for settings in self:
            for name in SECRET_FIELDS:
                settings[name] = False

    def _inverse_l10n_cn_einv_secret_inputs(self):
        for settings in self:
            values = {target: settings[name].strip() for name, target in SECRET_FIELDS.items() if settings[name]}
            if values:
                settings.company_id.sudo().write(values)

    @api.depends("company_id", "l10n_cn_einv_provider", "l10n_cn_einv_environment")
    def _compute_l10n_cn_einv_secrets_status(self):
        for settings in self:
            company = settings.company_id
            is_set = platform.secrets_set(company)   # whether set: the values are never read
            fields_of = company._fields
            settings.l10n_cn_einv_secrets_status = ", ".join(
                f"{fields_of[name].get_description(self.env)['string']} {'✓' if is_set[name] else '✗'}"
                for name in platform.secret_fields(company, settings.l10n_cn_einv_provider))

    @api.depends("company_id")
    def _compute_l10n_cn_einv_quota_status(self):
        for settings in self:
            company = settings.company_id
            if not company.l10n_cn_einv_quota_checked_at:
                settings.l10n_cn_einv_quota_status = self.env._("not checked yet: click Test connection")
                continue
            checked = fields.Datetime.context_timestamp(settings, company.l10n_cn_einv_quota_checked_at)
            settings.l10n_cn_einv_quota_status = self.env._(
                "%(remaining)s remaining of %(total)s (checked %(when)s)",
                remaining=format_amount(self.env, company.l10n_cn_einv_quota_remaining, company.currency_id),
                total=format_amount(self.env, company.l10n_cn_einv_quota_total, company.currency_id),
                when=checked.strftime("%Y-%m-%d %H:%M"))

    def action_l10n_cn_einv_test_connection(self):
        check_access(self.company_id, "manager")   # before the settings are saved
        self.execute()
        return self.company_id.action_l10n_cn_einv_test_connection()

    def action_l10n_cn_einv_get_access(self):
        check_access(self.company_id, "manager")
        self.execute()
        return self.company_id.action_l10n_cn_einv_get_access()

    def action_l10n_cn_einv_resume_after_login(self):
        check_access(self.company_id, "manager")
        self.execute()
        return self.company_id.action_l10n_cn_einv_resume_after_login()

    l10n_cn_einv_auto_red_on_return = fields.Boolean(
        related="company_id.l10n_cn_einv_auto_red_on_return", readonly=False)
    l10n_cn_einv_auto_deliver = fields.Boolean(related="company_id.l10n_cn_einv_auto_deliver", readonly=False)
    l10n_cn_einv_callback_enabled = fields.Boolean(
        related="company_id.l10n_cn_einv_callback_enabled", readonly=False)
    l10n_cn_einv_callback_url = fields.Char(related="company_id.l10n_cn_einv_callback_url")
    l10n_cn_einv_alert_failure_rate = fields.Float(
        related="company_id.l10n_cn_einv_alert_failure_rate", readonly=False)
    l10n_cn_einv_alert_backlog = fields.Integer(related="company_id.l10n_cn_einv_alert_backlog", readonly=False)
    l10n_cn_einv_alert_quota = fields.Monetary(related="company_id.l10n_cn_einv_alert_quota", readonly=False)
