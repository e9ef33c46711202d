"""Glue between a company's configuration and its tax platform's provider (fapiao.provider).

The models reach a platform only through here and the provider contract: the
company's ``l10n_cn_einv_provider`` names a registered provider, whose settings
(:class:`fapiao.provider.Setting`) are company fields (:func:`setting_field`);
:func:`connect` builds the provider from them. In the sandbox environment
without an endpoint, the provider's own simulator, embedded in this Odoo
process, plays the platform, so that a fresh database works out of the box.

The company's secrets are sealed at rest (l10n_cn_einv_vault). They reach a
provider as zero-argument callables that open them (fapiao.provider.reveal),
which ``connect`` calls once to hand the text on to closures: no model method
returns them, and no attribute of a provider or a record holds them.

Closures keep them from ``safe_eval``'s attribute walks, not from
``str.format``, which walks ``__closure__`` on its own: so nothing is opened
while a mail template renders (:func:`rendering_template`), and a template
cannot get a provider to walk.
"""

import contextlib
import contextvars
import hashlib
import logging
import os
import secrets
import threading

from odoo.exceptions import AccessError
from odoo.tools import config

from ..fapiao import provider
from . import l10n_cn_einv_vault as vault
from .l10n_cn_einv_provider_state import CompanyStateStore
from .l10n_cn_einv_rate_limit import PostgresRateLimiter

_logger = logging.getLogger(__name__)

DEFAULT_PROVIDER = "reference"
# A company without a taxpayer id still gets an account on the embedded simulator (the connection
# test works); issuing is refused earlier by the rules, which need the seller's id.
PLACEHOLDER_TAX_ID = "91350100M000100Y43"

_EMBEDDED_LOCK = threading.Lock()
_EMBEDDED = {}          # (provider code, data_dir) -> running simulator, one per Odoo process
_REGISTERED = {}        # (simulator url, account key) -> digest of what was last registered


def provider_selection():
    """The selection of res.company.l10n_cn_einv_provider: every registered provider."""
    specs = sorted(provider.specs().items(), key=lambda item: item[0] != DEFAULT_PROVIDER)
    return [(code, spec.label) for code, spec in specs]


def spec_of(company):
    """The ProviderSpec of the company's platform."""
    return provider.get(company.sudo().l10n_cn_einv_provider or DEFAULT_PROVIDER)


def setting_field(spec, setting):
    """The res.company field holding ``setting`` of provider ``spec``: ``l10n_cn_einv_<name>`` for
    the reference provider (the fields it always had), ``l10n_cn_einv_<provider>_<name>`` for the
    others. A secret one is sealed (l10n_cn_einv_vault.SEALED_FIELDS)."""
    if spec.code == DEFAULT_PROVIDER:
        return f"l10n_cn_einv_{setting.name}"
    return f"l10n_cn_einv_{spec.code}_{setting.name}"


_RENDERING = contextvars.ContextVar("l10n_cn_einv_rendering_template", default=False)


@contextlib.contextmanager
def rendering_template():
    """Meanwhile (a mail template being rendered by this thread) no credentials are opened."""
    token = _RENDERING.set(True)
    try:
        yield
    finally:
        _RENDERING.reset(token)


def _open(company, field_name):
    """The plaintext of one sealed secret field: for the functions below only."""
    if _RENDERING.get():
        raise AccessError(company.env._("E-invoice credentials cannot be used while a template is rendered."))
    company = company.sudo()
    return vault.unseal(company, field_name, company[vault.SEALED_FIELDS[field_name]])


def secrets_set(company):
    """{secret field: whether it is set for the company's environment}, without opening anything."""
    company = company.sudo()
    return {name: secret_usable(company, name) for name in vault.SEALED_FIELDS}


def secret_usable(company, field_name):
    """Whether the secret is set, and for the environment the company is in: one entered for the
    sandbox (such as those generated at install) is not the production one. A secret from before
    environments were recorded counts for any."""
    company = company.sudo()
    entered_for = (company.l10n_cn_einv_secrets_environment or {}).get(field_name)
    return bool(company[vault.SEALED_FIELDS[field_name]]) \
        and entered_for in (None, company.l10n_cn_einv_environment)


def secret_fields(company, code=None):
    """The company fields of the secret settings of its provider (or of provider ``code``)."""
    spec = provider.get(code) if code else spec_of(company)
    return [setting_field(spec, setting) for setting in spec.settings if setting.secret]


def settings(company, spec=None):
    """The provider settings of the company, by Setting name: text, and for a secret one a
    callable that opens it (provider.reveal), or "" when it is not set."""
    spec = spec or spec_of(company)
    company = company.sudo()
    values = {}
    for setting in spec.settings:
        name = setting_field(spec, setting)
        if setting.secret:
            values[setting.name] = (lambda name=name: _open(company, name)) if secret_usable(company, name) else ""
        else:
            values[setting.name] = company[name] or _company_default(company, setting.name)
    return values


# Settings that default to what the company already says of itself.
_COMPANY_DEFAULTS = {"seller_tax_id": "vat"}


def _company_default(company, setting_name):
    field_name = _COMPANY_DEFAULTS.get(setting_name)
    return (company[field_name] or "") if field_name else ""


def missing_settings(company, spec=None):
    """Labels (in the user's language) of the required settings the company has not set; the
    endpoint does not count where the embedded simulator stands in for the platform."""
    spec = spec or spec_of(company)
    values = settings(company, spec)
    fields = company.env["res.company"]._fields
    # where the embedded simulator stands in, it says where it serves
    served = embedded_simulator(spec).service_settings() if uses_embedded_simulator(company) else {}
    return [fields[setting_field(spec, setting)].get_description(company.env)["string"]
            for setting in spec.settings
            if setting.required and not values[setting.name] and setting.name not in served]


def endpoint(company):
    """The platform URL the company set for its provider ("" for none)."""
    spec = spec_of(company)
    setting = next((setting for setting in spec.settings if setting.name == "endpoint"), None)
    return (company.sudo()[setting_field(spec, setting)] or "") if setting else ""


def uses_embedded_simulator(company):
    """In the sandbox environment without an endpoint, the provider's own simulator, embedded in
    this Odoo, plays the platform."""
    return company.sudo().l10n_cn_einv_environment == "sandbox" and not endpoint(company) \
        and spec_of(company).simulator is not None


def embedded_simulator(spec):
    """The simulator of provider ``spec`` serving this Odoo process on a loopback port.

    Started on first use. Its state lives in Odoo's data directory so issued invoices survive
    restarts, like a real platform's would."""
    data_dir = config["data_dir"]
    key = (spec.code, data_dir)
    with _EMBEDDED_LOCK:
        simulator = _EMBEDDED.get(key)
        if simulator is None:
            directory = os.path.join(data_dir, f"l10n_cn_einvoice_{spec.code}_simulator")
            os.makedirs(directory, exist_ok=True)
            simulator = spec.simulator(directory, host="127.0.0.1", port=0)
            _EMBEDDED[key] = simulator
            _logger.info("embedded %s e-invoice platform simulator listening on %s", spec.code, simulator.url)
        return simulator


def register_with_simulator(simulator, company, *, callback_url=""):
    """Make a simulator know the company's account, with its credentials, seller and callback URL
    ("" for none) (idempotent). A company that has no account there yet (no key: a 诺诺 app key, for
    instance) gets one, and the credentials the simulator gave it are stored as its settings."""
    spec = spec_of(company)
    plain = tooling_credentials(company, spec)
    company = company.sudo()
    seller = (company.vat or PLACEHOLDER_TAX_ID, company.name)
    # a digest, so that no module state holds the credentials themselves
    digest = hashlib.sha256(repr((sorted(plain.items()), seller, callback_url)).encode()).digest()
    account = simulator.account_key(plain) or f"odoo-{company.id}-{secrets.token_hex(6)}"
    key = (simulator.url, account)
    if _REGISTERED.get(key) == digest:
        return
    where = simulator.service_settings()
    settings_given = {name: value for name, value in plain.items() if name not in where and value}
    registered = simulator.register(account, settings=settings_given, seller_tax_id=seller[0],
                                    seller_name=seller[1], callback_url=callback_url)
    missing = {setting_field(spec, setting): registered.settings[setting.name] for setting in spec.settings
               if setting.name not in where and not plain.get(setting.name) and registered.settings.get(setting.name)}
    if missing:
        company.write(missing)
        plain = tooling_credentials(company, spec)
        digest = hashlib.sha256(repr((sorted(plain.items()), seller, callback_url)).encode()).digest()
    _REGISTERED[key] = digest


def blue_invoice_reader(company):
    """invoice number -> the documents.Invoice of the company's blue e-invoice with that number, for
    the platforms whose red-letter forms repeat the blue invoice (诺诺)."""
    def blue_invoice(invoice_number):
        move = company.env["account.move"].sudo().search(
            [("company_id", "=", company.id), ("l10n_cn_einv_number", "=", invoice_number),
             ("move_type", "=", "out_invoice")], limit=1)
        return move._l10n_cn_einv_document() if move else None
    return blue_invoice


def connect(company, *, exchange_hook=None, read_timeout=20.0):
    """A provider for the company that never sleeps between retries: waits between attempts
    belong to the queue cron, not to a user's request."""
    spec = spec_of(company)
    values = settings(company, spec)
    if uses_embedded_simulator(company):
        values.update(embedded_simulator(spec).service_settings())
    return spec.connect(values, exchange_hook=exchange_hook, read_timeout=read_timeout, retry_schedule=(),
                        state=state_store(company, spec), blue_invoice=blue_invoice_reader(company),
                        rate_limiter=PostgresRateLimiter(company.env.registry, spec.code))


def state_store(company, spec=None):
    """What the company's provider keeps between calls, shared by every worker (a token ...)."""
    return CompanyStateStore(company.env.registry, company.id, (spec or spec_of(company)).code)


def secret_mask(company):
    """A function masking the company's secrets in a text (for what is shown of logged bodies)."""
    spec = spec_of(company)
    openers = [value for value in settings(company, spec).values() if callable(value)]

    def mask(text):
        for opener in openers:
            secret = opener()
            if secret and secret in text:
                text = text.replace(secret, "***")
        return text
    return mask


def tooling_credentials(company, spec=None):
    """The company's provider settings in plaintext, by Setting name, for tests, benchmarks and
    scripts that play the platform's part (registering the company with a simulator, signing a
    callback). Python code only: nothing an Odoo user or template can call leads here."""
    spec = spec or spec_of(company)
    return {name: value() if callable(value) else value for name, value in settings(company, spec).items()}
