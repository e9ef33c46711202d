"""Glue between a company's configuration and the fapiao platform client.

Kept out of the models so that they stay thin: building a client from the
company's credentials, the embedded sandbox platform used when no endpoint
is configured, and the hook that turns each HTTP exchange into an
interaction log line.

The company's secrets are sealed at rest (l10n_cn_einv_vault). They are
opened only here, in module-level functions, and handed on at once to the
closures of a ``fapiao.client.Keyring``: no model method returns them, and no
attribute of a client, a keyring or a record holds them.

Closures keep them from ``safe_eval``'s attribute walks, not from
``str.format``, which walks ``__closure__`` on its own: so nothing is opened
while a mail template renders (:func:`rendering_template`), and a template
cannot get a client or a keyring to walk.
"""

import contextlib
import contextvars
import hashlib
import logging
import os
import threading

from odoo.exceptions import AccessError
from odoo.tools import config

from ..fapiao.client import ClientConfig, Keyring, PlatformClient
from . import l10n_cn_einv_vault as vault

_logger = logging.getLogger(__name__)

_EMBEDDED_LOCK = threading.Lock()
_EMBEDDED = {}          # data_dir -> running Sandbox, one per Odoo process
_REGISTERED_APPS = {}   # (sandbox url, app id) -> digest of the credentials last registered


def embedded_sandbox():
    """The sandbox platform serving this Odoo process on a loopback port.

    Started on first use. Its SQLite state lives in Odoo's data directory so
    issued invoices survive restarts, like a real platform's would.
    """
    from ..fapiao.sandbox import Sandbox

    data_dir = config["data_dir"]
    with _EMBEDDED_LOCK:
        sandbox = _EMBEDDED.get(data_dir)
        if sandbox is None:
            os.makedirs(data_dir, exist_ok=True)
            sandbox = Sandbox(os.path.join(data_dir, "l10n_cn_einvoice_sandbox.sqlite3"),
                              host="127.0.0.1", port=0)
            sandbox.start()
            _EMBEDDED[data_dir] = sandbox
            _logger.info("embedded e-invoice sandbox platform listening on %s", sandbox.url)
        return sandbox


_RENDERING = contextvars.ContextVar("l10n_cn_einv_rendering_template", default=False)


@contextlib.contextmanager
def rendering_template():
    """Meanwhile (a mail template being rendered by this thread) no credentials are opened."""
    token = _RENDERING.set(True)
    try:
        yield
    finally:
        _RENDERING.reset(token)


def _opened(company):
    """``(app id, app secret, SM4 key, SM2 private key)`` in plaintext: for the functions below only."""
    if _RENDERING.get():
        raise AccessError(company.env._("E-invoice credentials cannot be used while a template is rendered."))
    company = company.sudo()
    return (company.l10n_cn_einv_app_id or "",
            *(vault.unseal(company, name, company[sealed]) for name, sealed in vault.SEALED_FIELDS.items()))


def secrets_set(company):
    """{secret field: whether it is set}, without opening anything."""
    company = company.sudo()
    return {name: bool(company[sealed]) for name, sealed in vault.SEALED_FIELDS.items()}


def company_keyring(company):
    """The company's credentials as a Keyring: verify, sign, seal, open and mask, never read."""
    _app_id, secret, sm4_key, sm2_private_key = _opened(company)
    return Keyring(secret, sm4_key, sm2_private_key)


def register_embedded_app(sandbox, company, *, seller_tax_id, seller_name):
    """Make the embedded sandbox know the company as an application (idempotent)."""
    app_id, secret, sm4_key, _sm2 = _opened(company)
    # a digest, so that no module state holds the credentials themselves
    credentials = hashlib.sha256("\n".join((secret, sm4_key.lower(), seller_tax_id, seller_name)).encode()).digest()
    key = (sandbox.url, app_id)
    if _REGISTERED_APPS.get(key) == credentials:
        return
    sandbox.add_app(app_id=app_id, secret=secret, sm4_key_hex=sm4_key.lower(),
                    seller_tax_id=seller_tax_id, seller_name=seller_name)
    _REGISTERED_APPS[key] = credentials


def make_client(company, base_url, *, exchange_hook=None, read_timeout=20.0):
    """A platform client for the company that never sleeps between retries: waits between
    attempts belong to the queue cron, not to a user's request."""
    app_id, secret, sm4_key, sm2_private_key = _opened(company)
    client_config = ClientConfig(base_url, app_id, secret, sm4_key, sm2_private_key=sm2_private_key,
                                 read_timeout=read_timeout, retry_schedule=())
    return PlatformClient(client_config, exchange_hook=exchange_hook)


def tooling_credentials(company):
    """The company's credentials in plaintext, for tests, benchmarks and scripts that play the
    platform's part (registering the company with a sandbox, signing a callback): a dict with
    ``app_id``, ``secret``, ``sm4_key`` and ``sm2_private_key``. Python code only: nothing an
    Odoo user or template can call leads here."""
    app_id, secret, sm4_key, sm2_private_key = _opened(company)
    return {"app_id": app_id, "secret": secret, "sm4_key": sm4_key, "sm2_private_key": sm2_private_key}
