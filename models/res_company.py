import secrets

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..fapiao.errors import CryptoError, PlatformError
from . import l10n_cn_einv_platform as platform
from . import l10n_cn_einv_vault as vault
from .l10n_cn_einv_guard import check_access

DEFAULT_RETRY_SCHEDULE = "10,30,60"


def _new_app_id():
    return f"odoo-{secrets.token_hex(6)}"


class ResCompany(models.Model):
    _inherit = "res.company"

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
    l10n_cn_einv_app_secret_set = fields.Boolean(
        "App Secret Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_sm4_key_set = fields.Boolean(
        "SM4 Key Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_sm2_private_key_set = fields.Boolean(
        "SM2 Private Key Set", compute="_compute_l10n_cn_einv_secrets_set", groups="base.group_system")
    l10n_cn_einv_sm2_public_key = fields.Char("SM2 Public Key", copy=False)
    l10n_cn_einv_seller_address_phone = fields.Char(
        "Seller Address and Phone", help="Printed on invoices as 销售方地址、电话.")
    l10n_cn_einv_seller_bank_account = fields.Char(
        "Seller Bank and Account", help="Printed on invoices as 销售方开户行及账号.")
    l10n_cn_einv_default_invoice_type = fields.Selection(
        [("02", "Ordinary invoice (普票)"), ("01", "Special VAT invoice (专票)")],
        string="Default E-Invoice Type", default="02", required=True)
    l10n_cn_einv_issuer = fields.Char("Issuer (开票人)", help="Name printed as the invoice's issuer.")
    l10n_cn_einv_auto_issue = fields.Boolean(
        "Issue Automatically When Paid",
        help="Issue the e-invoice as soon as a customer invoice is paid.")
    l10n_cn_einv_rollout_percent = fields.Integer(
        "Automatic Issue Rollout (%)", default=100,
        help="Share of orders issued automatically, chosen deterministically per order; "
             "the others wait for a click.")
    l10n_cn_einv_retry_schedule = fields.Char(
        "Retry Waits (seconds)", default=DEFAULT_RETRY_SCHEDULE,
        help="Waits between retries of a passing failure (busy platform, time-out), comma separated. "
             "After the last one the invoice is marked failed and the e-invoice managers are alerted.")

    _sql_constraints = [
        ("l10n_cn_einv_rollout_range", "CHECK(l10n_cn_einv_rollout_percent BETWEEN 0 AND 100)",
         "The automatic issue rollout is a percentage between 0 and 100."),
    ]

    @api.depends(*vault.SEALED_FIELDS.values())
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
            self.sudo().write({vault.SEALED_FIELDS[name]: vault.seal(self.id, name, (value or "").strip())
                               for name, value in plain.items()})

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

    def _l10n_cn_einv_uses_embedded_sandbox(self):
        self.ensure_one()
        return self.l10n_cn_einv_environment == "sandbox" and not self.l10n_cn_einv_endpoint

    def _l10n_cn_einv_client(self, exchange_hook=None):
        """A platform client for this company (see fapiao.client). The credentials are opened with
        sudo by l10n_cn_einv_platform and live only in the client's Keyring closures: callers are
        e-invoice users, who must not see them, and templates that can walk the client's
        attributes find none."""
        self.ensure_one()
        company = self.sudo()
        if company.l10n_cn_einv_environment == "production" and not company.l10n_cn_einv_endpoint:
            raise UserError(_("Set the tax platform URL of %s before issuing in production.", self.name))
        is_set = platform.secrets_set(company)
        missing = [label for label, value in (
            (_("application ID"), company.l10n_cn_einv_app_id),
            (_("app secret"), is_set["l10n_cn_einv_app_secret"]),
            (_("SM4 key"), is_set["l10n_cn_einv_sm4_key"]),
        ) if not value]
        if missing:
            raise UserError(_("E-invoicing is not configured for %(company)s: missing %(fields)s.",
                              company=self.name, fields=", ".join(missing)))
        url = company.l10n_cn_einv_endpoint
        try:
            if company._l10n_cn_einv_uses_embedded_sandbox():
                sandbox = platform.embedded_sandbox()
                platform.register_embedded_app(
                    # Without a VAT the sandbox still answers the connection test; issuing is
                    # refused earlier by the rules (the seller's taxpayer id is required).
                    sandbox, company, seller_tax_id=company.vat or "91350100M000100Y43", seller_name=company.name)
                url = sandbox.url
            # A system parameter, so that tests and slow networks can tune it without code.
            try:
                read_timeout = float(self.env["ir.config_parameter"].sudo().get_param(
                    "l10n_cn_einvoice.read_timeout") or 20)
            except ValueError:
                read_timeout = 20.0
            return platform.make_client(company, url, exchange_hook=exchange_hook, read_timeout=read_timeout)
        except CryptoError as error:
            raise UserError(_("E-invoicing configuration of %(company)s: %(error)s",
                              company=self.name, error=error.message)) from None

    def _l10n_cn_einv_log_hook(self, record=None):
        """An exchange hook writing each platform exchange to the interaction log."""
        log = self.env["l10n_cn_einv.log"]
        company = self

        def hook(exchange):
            log._l10n_cn_einv_record(company, exchange, record)
        return hook

    def action_l10n_cn_einv_test_connection(self):
        self.ensure_one()
        check_access(self, "manager")   # whatever the caller: a button, an RPC, a sudo
        try:
            with self._l10n_cn_einv_client(self._l10n_cn_einv_log_hook(self)) as client:
                quota = client.test_connection()
        except PlatformError as error:
            raise UserError(_("The tax platform refused the connection: %s", error.message)) from None
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": _("Connected to the tax platform"),
                "message": _("Credit quota for %(period)s: %(remaining)s remaining of %(total)s.",
                             period=quota.period, remaining=quota.remaining, total=quota.total),
            },
        }
