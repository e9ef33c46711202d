"""The company's e-invoicing: its tax platform and credentials, issuing, delivery, callbacks
and the alerts of its e-invoice managers."""

import logging
import secrets
from datetime import UTC, datetime

from markupsafe import Markup, escape

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..fapiao import selfinvoice
from ..fapiao.chinatime import china_today
from ..fapiao.documents import QuotaResult
from ..fapiao.errors import CryptoError, NotSupported, PlatformError, TransientError
from . import l10n_cn_einv_platform as platform
from . import l10n_cn_einv_vault as vault
from .l10n_cn_einv_buyer_title import INVOICE_TYPES
from .l10n_cn_einv_guard import check_access, text_as_html
from .l10n_cn_einv_lang import error_message, in_writer_lang, writer_lang
from .l10n_cn_einv_submission import WAITING_LOGIN

_logger = logging.getLogger(__name__)

DEFAULT_RETRY_SCHEDULE = "10,30,60"
# A sending worker's threads each take a database connection now and then (rate limit, log lines).
MAX_PARALLEL_REQUESTS = 32
CALLBACK_ROUTE = "/l10n_cn_einvoice/callback/%s"


def _new_app_id():
    return f"odoo-{secrets.token_hex(6)}"


class ResCompany(models.Model):
    _inherit = "res.company"

    l10n_cn_einv_provider = fields.Selection(
        lambda self: platform.provider_selection(), string="Tax Platform", default=platform.DEFAULT_PROVIDER,
        required=True,
        help="The platform that issues this company's e-invoices; each asks for its own credentials below.")
    l10n_cn_einv_environment = fields.Selection(
        [("sandbox", "Sandbox (test platform)"), ("production", "Production")],
        string="E-Invoice Environment", default="sandbox", required=True,
        help="Sandbox: invoices go to a test platform (the embedded one when no URL is set) "
             "and have no legal value.",
    )
    l10n_cn_einv_endpoint = fields.Char(
        "Platform URL",
        help="Base URL of the tax platform API. Leave empty in the sandbox environment to use the "
             "sandbox platform embedded in this Odoo.",
    )
    l10n_cn_einv_app_id = fields.Char("Application ID", default=lambda self: _new_app_id(), copy=False)
    # Secrets: system administrators only, and write-only for them too. What the settings write is
    # sealed with a master key kept outside the database (l10n_cn_einv_vault) into the *_sealed
    # columns: these fields always read empty, and the *_set booleans say whether a value is set.
    # Odoo checks a field's groups when it reads the database, not when the value is already in the
    # transaction's cache, and a sudo read of a company (a record rule's parent_of does one) caches
    # its whole prefetch group: the secrets have their own, loaded only when asked for.
    l10n_cn_einv_app_secret = fields.Char(
        "App Secret", groups="base.group_system", copy=False, prefetch="l10n_cn_einv_secrets",
        help="Write-only: stored encrypted, and never shown again.")
    l10n_cn_einv_sm4_key = fields.Char(
        "SM4 Key", groups="base.group_system", copy=False, prefetch="l10n_cn_einv_secrets",
        help="Write-only: stored encrypted, and never shown again.")
    l10n_cn_einv_sm2_private_key = fields.Char(
        "SM2 Private Key", groups="base.group_system", copy=False, prefetch="l10n_cn_einv_secrets",
        help="Write-only: stored encrypted, and never shown again.")
    l10n_cn_einv_app_secret_sealed = fields.Char(
        "App Secret (Encrypted)", groups="base.group_system", copy=False, readonly=True,
        prefetch="l10n_cn_einv_secrets")
    l10n_cn_einv_sm4_key_sealed = fields.Char(
        "SM4 Key (Encrypted)", groups="base.group_system", copy=False, readonly=True,
        prefetch="l10n_cn_einv_secrets")
    l10n_cn_einv_sm2_private_key_sealed = fields.Char(
        "SM2 Private Key (Encrypted)", groups="base.group_system", copy=False, readonly=True,
        prefetch="l10n_cn_einv_secrets")
    # {secret field: "sandbox" | "production"}: the environment each secret was entered for. A
    # secret entered for the sandbox (the ones generated at install) does not count as set in
    # production, so that switching to production asks for the real credentials.
    l10n_cn_einv_secrets_environment = fields.Json(
        "Environment of the Secrets", groups="base.group_system", copy=False, readonly=True)
    l10n_cn_einv_app_secret_set = fields.Boolean(
        "App Secret Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_sm4_key_set = fields.Boolean(
        "SM4 Key Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_sm2_private_key_set = fields.Boolean(
        "SM2 Private Key Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_sm2_public_key = fields.Char("SM2 Public Key", copy=False)

    # 诺诺 (fapiao/providers/nuonuo: its SETTINGS), sealed like the reference provider's secrets
    l10n_cn_einv_nuonuo_endpoint = fields.Char(
        "诺诺 Endpoint",
        help="https://sdk.nuonuo.com/open/v1/services in production, https://sandbox.nuonuocs.cn/open/v1/services "
             "for 诺诺's own sandbox. Leave empty in the sandbox environment to use the 诺诺 simulator embedded in "
             "this Odoo.")
    l10n_cn_einv_nuonuo_token_endpoint = fields.Char(
        "诺诺 Token Endpoint", help="Where access tokens are asked for. Empty: https://open.nuonuo.com/accessToken.")
    l10n_cn_einv_nuonuo_app_key = fields.Char(
        "诺诺 App Key", copy=False,
        help="The appKey of your self-use (自用型) application on open.nuonuo.com (应用管理).")
    l10n_cn_einv_nuonuo_app_secret = fields.Char(
        "诺诺 App Secret", groups="base.group_system", copy=False, prefetch="l10n_cn_einv_secrets",
        help="Write-only: stored encrypted, and never shown again.")
    l10n_cn_einv_nuonuo_access_token = fields.Char(
        "诺诺 Access Token", groups="base.group_system", copy=False, prefetch="l10n_cn_einv_secrets",
        help="Only for an application whose token never expires and was issued by hand. Otherwise leave it "
             "empty: Odoo asks 诺诺 for a token, keeps it for every worker and renews it before it expires "
             "(诺诺 grants 50 tokens per 30 days).")
    l10n_cn_einv_nuonuo_app_secret_sealed = fields.Char(
        "诺诺 App Secret (Encrypted)", groups="base.group_system", copy=False, readonly=True,
        prefetch="l10n_cn_einv_secrets")
    l10n_cn_einv_nuonuo_access_token_sealed = fields.Char(
        "诺诺 Access Token (Encrypted)", groups="base.group_system", copy=False, readonly=True,
        prefetch="l10n_cn_einv_secrets")
    l10n_cn_einv_nuonuo_app_secret_set = fields.Boolean(
        "诺诺 App Secret Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_nuonuo_access_token_set = fields.Boolean(
        "诺诺 Access Token Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_nuonuo_seller_tax_id = fields.Char(
        "诺诺 Seller Tax ID",
        help="The taxpayer id of the 诺诺 account (sent as userTax). Empty: the company's Tax ID.")
    l10n_cn_einv_nuonuo_extension_number = fields.Char(
        "诺诺 Extension Number", help="The extension (分机号) of the 数电 account at 诺诺, if it has several.")
    l10n_cn_einv_nuonuo_download_hosts = fields.Char(
        "诺诺 File Hosts",
        help="Hosts the invoice files may be downloaded from, comma separated (HTTPS only). Empty: 诺诺's own.")
    l10n_cn_einv_nuonuo_rate_limit = fields.Float(
        "诺诺 Requests per Second", digits=(16, 1),
        help="Never more requests than this to 诺诺 for this application. 诺诺's sandbox allows a tenth of "
             "production (at least 10 per second) and bans addresses that hammer it. Empty: 10.")
    l10n_cn_einv_rate_limit = fields.Float(
        "Requests per Second", digits=(16, 1),
        help="Never more requests than this to the tax platform for this application, from all Odoo workers and "
             "servers together. Empty: the platform's published limit.")
    l10n_cn_einv_parallel_requests = fields.Integer(
        "Requests in Flight",
        help="How many requests each sending worker keeps in flight to the tax platform at once: a platform "
             "answering in a third of a second needs several to issue tens of e-invoices a second. The requests "
             "per second stay within the platform's limit whatever this says. Empty: the platform's default.")
    l10n_cn_einv_seller_address_phone = fields.Char(
        "Seller Address and Phone", help="Printed on invoices as 销售方地址、电话.")
    l10n_cn_einv_seller_bank_account = fields.Char(
        "Seller Bank and Account", help="Printed on invoices as 销售方开户行及账号.")
    l10n_cn_einv_default_invoice_type = fields.Selection(
        INVOICE_TYPES,
        string="Default E-Invoice Type", default="02", required=True)
    l10n_cn_einv_issuer = fields.Char("Issuer (开票人)", help="Name printed as the invoice's issuer.")
    l10n_cn_einv_auto_issue = fields.Boolean(
        "Issue Automatically When Paid",
        help="Issue the e-invoice as soon as a customer invoice is paid.")
    l10n_cn_einv_request_period = fields.Selection(
        [(code, labels[0]) for code, labels in selfinvoice.EXPIRY_PERIODS.items()],
        "Invoice Request Link Valid Until", default=selfinvoice.DEFAULT_EXPIRY_PERIOD, required=True,
        help="How long after a purchase the customer may still request the e-invoice with the link of the "
             "order (申请开票) or the QR code of the receipt (扫码开票), counted in China time.")
    l10n_cn_einv_request_special = fields.Boolean(
        "Customers May Ask for Special VAT Invoices",
        help="Offer the special VAT invoice (专票) besides the ordinary one (普票) to companies that request "
             "their e-invoice themselves. A 专票 lets the buyer deduct its VAT: undoing one the buyer has "
             "used takes the buyer's confirmation of a red-letter form.")
    l10n_cn_einv_rollout_percent = fields.Integer(
        "Automatic Issue Rollout (%)", default=100,
        help="Share of orders issued automatically, chosen deterministically per order; "
             "the others wait for a click.")
    l10n_cn_einv_retry_schedule = fields.Char(
        "Retry Waits (seconds)", default=DEFAULT_RETRY_SCHEDULE,
        help="Waits between retries of a passing failure (busy platform, time-out), comma separated. "
             "After the last one the invoice is marked failed and the e-invoice managers are alerted.")

    l10n_cn_einv_auto_red_on_return = fields.Boolean(
        "Red-Reverse Returns Automatically", default=True,
        help="When a customer return of goods already e-invoiced is validated, create the credit note "
             "(reason 02 销货退回) and start its red reversal.")

    # delivery and callbacks
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

    # monitoring
    l10n_cn_einv_alert_failure_rate = fields.Float(
        "E-Invoice Failure Rate Alert (%)", default=10.0, digits=(16, 2),
        help="Alert the e-invoice managers when this share (or more) of the e-invoices submitted over the "
             "last 30 days failed. 0 disables the alert.")
    l10n_cn_einv_alert_backlog = fields.Integer(
        "E-Invoice Backlog Alert", default=100,
        help="Alert the e-invoice managers when this many e-invoices (or more) wait to be sent or for the "
             "platform's result. 0 disables the alert.")
    l10n_cn_einv_alert_quota = fields.Monetary(
        "Credit Quota Alert Below", currency_field="currency_id", default=0.0,
        help="Alert the e-invoice managers when the credit quota (授信额度) remaining for the month falls below "
             "this amount. 0 disables the alert (and the quota query it needs).")
    # {condition: "YYYY-MM-DD"}: the last day (China time) each alert was sent.
    l10n_cn_einv_alerts_sent = fields.Json("E-Invoice Alerts Sent", copy=False, readonly=True)
    # the credit quota as the platform last gave it (connection test, quota alert, dashboard)
    l10n_cn_einv_quota_remaining = fields.Monetary(
        "Credit Quota Remaining", currency_field="currency_id", copy=False, readonly=True)
    l10n_cn_einv_quota_total = fields.Monetary(
        "Credit Quota", currency_field="currency_id", copy=False, readonly=True)
    l10n_cn_einv_quota_checked_at = fields.Datetime("Credit Quota Checked On", copy=False, readonly=True)

    _sql_constraints = [
        ("l10n_cn_einv_rollout_range", "CHECK(l10n_cn_einv_rollout_percent BETWEEN 0 AND 100)",
         "The automatic issue rollout is a percentage between 0 and 100."),
    ]

    @api.depends(*vault.SEALED_FIELDS.values(), "l10n_cn_einv_environment", "l10n_cn_einv_secrets_environment")
    def _compute_l10n_cn_einv_secrets_set(self):
        for company in self:
            for name, is_set in platform.secrets_set(company).items():
                company[f"{name}_set"] = is_set

    @api.model_create_multi
    def create(self, vals_list):
        # Secrets given (or defaulted in the context) are sealed once the companies have their id;
        # a new company gets its own sandbox credentials.
        defaults = {key: value for key, value in self.env.context.items()
                    if key.startswith("default_") and key[8:] in vault.SEALED_FIELDS}
        vals_list = [dict(vals) for vals in vals_list]
        given = [{name: vals.pop(name) for name in vault.SEALED_FIELDS if name in vals} for vals in vals_list]
        for plain in given:
            for key, value in defaults.items():
                plain.setdefault(key[8:], value)
        if any(plain for plain in given):
            self.check_field_access_rights("write", sorted({name for plain in given for name in plain}))
        for plain in given:
            if not plain.get("l10n_cn_einv_app_secret"):
                plain["l10n_cn_einv_app_secret"] = secrets.token_urlsafe(24)
            if not plain.get("l10n_cn_einv_sm4_key"):
                plain["l10n_cn_einv_sm4_key"] = secrets.token_hex(16)
        without = self.with_env(self.env(context={key: value for key, value in self.env.context.items()
                                                  if key not in defaults}))
        companies = super(ResCompany, without).create(vals_list).with_env(self.env)
        for company, plain in zip(companies, given, strict=True):
            company._l10n_cn_einv_seal(plain)
        return companies

    def write(self, vals):
        plain = {name: vals[name] for name in vault.SEALED_FIELDS if name in vals}
        if not plain:
            return super().write(vals)
        self.check_field_access_rights("write", list(plain))
        others = {key: value for key, value in vals.items() if key not in plain}
        result = super().write(others) if others else True
        for company in self:
            company._l10n_cn_einv_seal(plain)
        return result

    def _l10n_cn_einv_seal(self, plain):
        """Store the secrets ``plain`` ({field: plaintext}) sealed; the plaintext goes nowhere else."""
        self.ensure_one()
        if plain:
            company = self.sudo()
            environments = dict(company.l10n_cn_einv_secrets_environment or {})
            environments.update({name: company.l10n_cn_einv_environment for name in plain})
            company.write({vault.SEALED_FIELDS[name]: vault.seal(self.id, name, (value or "").strip())
                           for name, value in plain.items()} | {"l10n_cn_einv_secrets_environment": environments})

    def init(self):
        result = super().init()
        # Databases from before the secrets were sealed hold them in plaintext: seal, then forget them.
        plain_columns = SQL(", ").join(SQL.identifier(name) for name in vault.SEALED_FIELDS)
        self.env.cr.execute(SQL("SELECT id, %s FROM res_company WHERE num_nonnulls(%s) > 0",
                                plain_columns, plain_columns))
        for company_id, *values in self.env.cr.fetchall():
            sealed = {vault.SEALED_FIELDS[name]: vault.seal(company_id, name, value.strip())
                      for name, value in zip(vault.SEALED_FIELDS, values, strict=True) if value and value.strip()}
            assignments = [SQL("%s = NULL", SQL.identifier(name)) for name in vault.SEALED_FIELDS]
            assignments += [SQL("%s = %s", SQL.identifier(column), value) for column, value in sealed.items()]
            self.env.cr.execute(SQL("UPDATE res_company SET %s WHERE id = %s", SQL(", ").join(assignments),
                                    company_id))
        return result

    def _export_rows(self, fields, *, _is_toplevel_call=True):
        # Exports read values as attributes, past the groups check when they are cached (for
        # instance by the platform client's sudo read): check the exported fields here.
        self.check_field_access_rights("read", [path[0] for path in fields if path])
        return super()._export_rows(fields, _is_toplevel_call=_is_toplevel_call)

    def _l10n_cn_einv_generate_credentials(self):
        """Distinct sandbox credentials per company, sealed: for the companies that exist when the
        addon is installed (a company created afterwards gets its own in ``create``)."""
        for company in self:
            company.sudo().write({"l10n_cn_einv_app_id": _new_app_id(),
                                  "l10n_cn_einv_app_secret": secrets.token_urlsafe(24),
                                  "l10n_cn_einv_sm4_key": secrets.token_hex(16)})

    @api.constrains("l10n_cn_einv_parallel_requests")
    def _check_l10n_cn_einv_parallel_requests(self):
        for company in self:
            if not 0 <= company.l10n_cn_einv_parallel_requests <= MAX_PARALLEL_REQUESTS:
                raise UserError(_("Requests in flight must be between 1 and %(max)s (or empty for the platform's "
                                  "default), not %(value)s.", max=MAX_PARALLEL_REQUESTS,
                                  value=company.l10n_cn_einv_parallel_requests))

    def _l10n_cn_einv_parallel_requests(self):
        """Requests the company's sending workers keep in flight at once."""
        self.ensure_one()
        return self.l10n_cn_einv_parallel_requests or self._l10n_cn_einv_capabilities().parallel_requests

    @api.constrains("l10n_cn_einv_retry_schedule")
    def _check_l10n_cn_einv_retry_schedule(self):
        for company in self:
            company._l10n_cn_einv_retry_waits()

    def _l10n_cn_einv_retry_waits(self):
        """The configured waits as a list of seconds; a clear error when unreadable."""
        self.ensure_one()
        text = (self.l10n_cn_einv_retry_schedule or "").replace("，", ",")
        try:
            waits = [int(part) for part in text.split(",") if part.strip()]
        except ValueError:
            waits = None
        if waits is None or any(w < 0 for w in waits):
            raise UserError(_("The retry waits must be whole numbers of seconds separated by commas, "
                              "such as 10,30,60 (got “%s”).", self.l10n_cn_einv_retry_schedule))
        return waits

    def _l10n_cn_einv_provider(self, records=None, exchange_hook=None):
        """The company's tax platform (a fapiao.provider.Provider): the one its settings choose,
        or the embedded simulator in the sandbox without an endpoint. The credentials are opened
        with sudo by l10n_cn_einv_platform and live only in the provider's closures: callers are
        e-invoice users, who must not see them, and templates that can walk the provider's
        attributes find none. Every exchange goes to the log, linked to the one of ``records`` it
        concerns (l10n_cn_einv.log._l10n_cn_einv_router), or through ``exchange_hook``."""
        self.ensure_one()
        if exchange_hook is None:
            exchange_hook = self.env["l10n_cn_einv.log"]._l10n_cn_einv_router(self, records)
        company = self.sudo()
        if company.l10n_cn_einv_environment == "production" and not platform.endpoint(company):
            raise UserError(_("Set the tax platform URL of %s before issuing in production.", self.name))
        if platform.uses_embedded_simulator(company):
            # the embedded platform opens the company's account (or learns where to send callbacks)
            platform.register_with_simulator(
                platform.embedded_simulator(platform.spec_of(company)), company,
                callback_url=company.l10n_cn_einv_callback_url if company.l10n_cn_einv_callback_enabled else "")
        missing = platform.missing_settings(company)
        if missing:
            raise UserError(_("E-invoicing is not configured for %(company)s: missing %(fields)s.",
                              company=self.name, fields=", ".join(missing)))
        # A system parameter, so that tests and slow networks can tune it without code.
        try:
            read_timeout = float(self.env["ir.config_parameter"].sudo().get_param(
                "l10n_cn_einvoice.read_timeout") or 20)
        except ValueError:
            read_timeout = 20.0
        try:
            return platform.connect(company, exchange_hook=exchange_hook, read_timeout=read_timeout)
        except (CryptoError, ValueError) as error:
            raise UserError(_("E-invoicing configuration of %(company)s: %(error)s",
                              company=self.name, error=getattr(error, "message", None) or str(error))) from None

    def _l10n_cn_einv_capabilities(self):
        """What the company's platform offers (fapiao.provider.Capabilities)."""
        self.ensure_one()
        return platform.spec_of(self).capabilities

    # --- the tax-bureau login -------------------------------------------------------------------

    def _l10n_cn_einv_waiting_login(self):
        """What waits for the drawer to log in to the tax bureau again: [invoices, red-letter forms]."""
        self.ensure_one()
        domain = [("company_id", "=", self.id)]
        return [self.env["account.move"].sudo().search([*domain, ("l10n_cn_einv_state", "=", WAITING_LOGIN)]),
                self.env["l10n_cn_einv.red.form"].sudo().search([*domain, ("state", "=", WAITING_LOGIN)])]

    def _l10n_cn_einv_ask_for_login(self, error):
        """The platform says the drawer's tax-bureau login lapsed: the managers are asked (once until
        it is resumed) to log in again and resume."""
        self.ensure_one()
        company = self.with_context(lang=self.partner_id.lang or self.env.lang)
        company._l10n_cn_einv_alert_once("login", company.env._("Log in to the tax bureau again"), company.env._(
            "The tax platform of %(company)s stopped issuing: the drawer's login to the tax bureau (电子税局) has "
            "lapsed (%(reason)s). E-invoices wait, nothing is lost. Log in again, then click \"Resume after login\" "
            "in the e-invoicing settings or on a waiting invoice.", company=self.name,
            reason=getattr(error, "message", "") or str(error)), once_per_day=False)

    def action_l10n_cn_einv_resume_after_login(self):
        """Log in to the tax bureau again (with the platform's QR code where it has one), then resume."""
        self.ensure_one()
        check_access(self, "manager")
        wizard = self.env["l10n_cn_einv.login.wizard"].create({"company_id": self.id})
        return wizard._l10n_cn_einv_reopen()

    def _l10n_cn_einv_resume_after_login(self):
        """The drawer is logged in to the tax bureau again: what waited is sent at once."""
        self.ensure_one()
        company = self.sudo()
        moves, forms = company._l10n_cn_einv_waiting_login()
        moves._l10n_cn_einv_resume()
        forms._l10n_cn_einv_resume()
        sent = dict(company.l10n_cn_einv_alerts_sent or {})
        if sent.pop("login", None):
            company.l10n_cn_einv_alerts_sent = sent
        self.env["account.move"]._l10n_cn_einv_trigger_queue()
        self.env.ref("l10n_cn_einvoice.ir_cron_l10n_cn_einv_red_forms")._trigger()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "success", "title": _("Issuing resumes"),
                       "message": _("%(invoices)s e-invoices and %(forms)s red-letter forms are sent again.",
                                    invoices=len(moves), forms=len(forms)),
                       "next": {"type": "ir.actions.client", "tag": "soft_reload"}},
        }

    def _l10n_cn_einv_log_keys(self):
        return ()

    def action_l10n_cn_einv_test_connection(self):
        self.ensure_one()
        check_access(self, "manager")   # whatever the caller: a button, an RPC, a sudo
        try:
            with self._l10n_cn_einv_provider(self) as client:
                answer = client.test_connection()
        except TransientError as error:     # out of reach: the error says it plainly
            raise UserError(error_message(error, self.env.lang)) from None
        except PlatformError as error:
            raise UserError(_("The tax platform refused the connection: %s",
                              error_message(error, self.env.lang))) from None
        if isinstance(answer, QuotaResult):
            self._l10n_cn_einv_keep_quota(answer)
            message = _("Credit quota for %(period)s: %(remaining)s remaining of %(total)s.",
                        period=answer.period, remaining=answer.remaining, total=answer.total)
        else:
            message = str(answer or "")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "success", "title": _("Connected to the tax platform"), "message": message},
        }

    def action_l10n_cn_einv_get_access(self):
        """Get the platform's access token now (only when the one kept is missing or about to
        expire: 诺诺 grants 50 per 30 days), and say until when it holds."""
        self.ensure_one()
        check_access(self, "manager")
        try:
            with self._l10n_cn_einv_provider(self) as client:
                expires_at = client.ensure_access()
        except NotSupported:
            raise UserError(_("This tax platform needs no access token: its credentials are enough.")) from None
        except TransientError as error:
            raise UserError(error_message(error, self.env.lang)) from None
        except PlatformError as error:
            raise UserError(_("The tax platform gave no access token: %s",
                              error_message(error, self.env.lang))) from None
        if expires_at:
            until = fields.Datetime.context_timestamp(
                self, datetime.fromtimestamp(expires_at, UTC).replace(tzinfo=None))
            message = _("The access token is valid until %s.", until.strftime("%Y-%m-%d %H:%M"))
        else:
            message = _("The access token does not expire.")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {"type": "success", "title": _("Access token ready"), "message": message},
        }

    # --- delivery and callbacks ---------------------------------------------------------

    def _compute_l10n_cn_einv_callback_url(self):
        base_url = self.env["ir.config_parameter"].sudo().get_param("web.base.url", "").rstrip("/")
        for company in self:
            company.l10n_cn_einv_callback_url = f"{base_url}{CALLBACK_ROUTE % company.id}" if company.id else False

    @api.model
    def _l10n_cn_einv_callback_path(self, company_id):
        return CALLBACK_ROUTE % company_id

    # --- monitoring ------------------------------------------------------------------------

    def _l10n_cn_einv_quota(self):
        """(QuotaResult, "") from the platform, or (None, why) when it cannot be had."""
        self.ensure_one()
        try:
            with self._l10n_cn_einv_provider(self) as client:
                quota = client.query_quota()
        except PlatformError as error:
            return None, error_message(error, writer_lang(self.env, self))
        except UserError as error:
            return None, str(error)
        self._l10n_cn_einv_keep_quota(quota)
        return quota, ""

    def _l10n_cn_einv_keep_quota(self, quota):
        """Remember the quota the platform gave, for the settings to show."""
        self.sudo().write({"l10n_cn_einv_quota_remaining": float(quota.remaining or 0),
                           "l10n_cn_einv_quota_total": float(quota.total or 0),
                           "l10n_cn_einv_quota_checked_at": fields.Datetime.now()})

    def _l10n_cn_einv_managers(self):
        """Active internal users of the E-Invoice Manager group working in this company."""
        self.ensure_one()
        group = self.env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager", raise_if_not_found=False)
        if not group:
            return self.env["res.users"]
        return group.sudo().users.filtered(
            lambda user: user.active and not user.share and self in user.company_ids)

    # --- the cron ---------------------------------------------------------------------------------

    @api.model
    def _l10n_cn_einv_cron_check_alerts(self):
        companies = self.sudo().search([("account_fiscal_country_id.code", "=", "CN")])
        figures = self.env["l10n_cn_einv.dashboard"].sudo()._l10n_cn_einv_figures(companies.ids)
        empty = self.env["l10n_cn_einv.dashboard"]._l10n_cn_einv_empty_figures()
        sent = 0
        for each in companies:
            company = in_writer_lang(each, each)    # the alerts are in the company's language
            for key, summary, note in company._l10n_cn_einv_alert_conditions(figures.get(company.id, empty)):
                sent += company._l10n_cn_einv_alert_once(key, summary, note)
        return sent

    def _l10n_cn_einv_alert_conditions(self, figures):
        """(key, summary, note) of each threshold this company passes now."""
        self.ensure_one()
        alerts = []
        rate_limit = self.l10n_cn_einv_alert_failure_rate
        if rate_limit > 0 and figures["submitted_30d"] and figures["exception_rate"] >= rate_limit:
            alerts.append(("failure_rate", _("E-invoice failure rate at %(rate)s%%", rate=figures["exception_rate"]),
                           _("%(failed)s of the %(submitted)s e-invoices submitted by %(company)s over the last "
                             "30 days failed (%(rate)s%%; alert threshold %(limit)s%%).",
                             failed=figures["failed_30d"], submitted=figures["submitted_30d"], company=self.name,
                             rate=figures["exception_rate"], limit=rate_limit)))
        backlog_limit = self.l10n_cn_einv_alert_backlog
        if backlog_limit > 0 and figures["pending_count"] >= backlog_limit:
            alerts.append(("backlog", _("%(count)s e-invoices pending", count=figures["pending_count"]),
                           _("%(count)s e-invoices of %(company)s wait to be sent or for the platform's result "
                             "(alert threshold %(limit)s). Check the platform connection and the scheduled "
                             "actions.", count=figures["pending_count"], company=self.name, limit=backlog_limit)))
        quota_limit = self.l10n_cn_einv_alert_quota
        if quota_limit > 0:
            quota, error = self._l10n_cn_einv_quota()
            if quota is None:
                _logger.info("credit quota of %s unavailable for the alert check: %s", self.name, error)
            elif quota.remaining is not None and float(quota.remaining) < quota_limit:
                alerts.append(("quota", _("E-invoice credit quota low: %(remaining)s left", remaining=quota.remaining),
                               _("%(company)s has %(remaining)s of its %(total)s credit quota left for %(period)s "
                                 "(alert below %(limit)s). Ask the tax bureau for more before issuing is refused.",
                                 company=self.name, remaining=quota.remaining, total=quota.total,
                                 period=quota.period, limit=quota_limit)))
        return alerts

    def _l10n_cn_einv_alert_once(self, key, summary, note, once_per_day=True):
        """Activity and e-mail for the managers, unless this alert was already sent today (or, not
        ``once_per_day``, ever since it was cleared); True if sent."""
        self.ensure_one()
        today = china_today(fields.Datetime.now()).isoformat()
        sent = dict(self.sudo().l10n_cn_einv_alerts_sent or {})
        if sent.get(key) == today or (not once_per_day and sent.get(key)):
            return False
        managers = self._l10n_cn_einv_managers()
        if not managers:
            _logger.warning("e-invoice alert for %s not delivered, no e-invoice manager: %s", self.name, summary)
        partner = self.sudo().partner_id.with_context(mail_activity_quick_update=True)
        for manager in managers:
            partner.activity_schedule("mail.mail_activity_data_todo", summary=summary, note=text_as_html(note),
                                      user_id=manager.id)
        recipients = managers.partner_id.filtered("email")
        if recipients:
            self.env["mail.mail"].sudo().create({
                "subject": _("[%(company)s] %(summary)s", company=self.name, summary=summary),
                "body_html": Markup("<p>%s</p>") % escape(note),
                "recipient_ids": [(6, 0, recipients.ids)],
                "email_from": self.email_formatted or self.env.user.email_formatted,
                "auto_delete": True,
            })
        sent[key] = today
        self.sudo().l10n_cn_einv_alerts_sent = sent
        return True
