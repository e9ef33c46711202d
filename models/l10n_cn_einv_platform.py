"""Glue between a company's configuration and the fapiao platform client.

Kept out of the models so that they stay thin: building a client from the
company's credentials, the embedded sandbox platform used when no endpoint
is configured, and the hook that turns each HTTP exchange into an
interaction log line.
"""

import logging
import os
import threading

from odoo.tools import config

from ..fapiao.client import ClientConfig, PlatformClient

_logger = logging.getLogger(__name__)

_EMBEDDED_LOCK = threading.Lock()
_EMBEDDED = {}          # data_dir -> running Sandbox, one per Odoo process
_REGISTERED_APPS = {}   # (sandbox url, app id) -> credentials tuple last registered


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


def register_embedded_app(sandbox, app_id, secret, sm4_key, *, seller_tax_id, seller_name):
    """Make the embedded sandbox know the company as an application (idempotent)."""
    credentials = (secret, sm4_key.lower(), seller_tax_id, seller_name)
    key = (sandbox.url, app_id)
    if _REGISTERED_APPS.get(key) == credentials:
        return
    sandbox.add_app(app_id=app_id, secret=secret, sm4_key_hex=sm4_key.lower(),
                    seller_tax_id=seller_tax_id, seller_name=seller_name)
    _REGISTERED_APPS[key] = credentials


def make_client(base_url, app_id, secret, sm4_key, *, sm2_private_key="", exchange_hook=None,
                read_timeout=20.0):
    """A platform client that never sleeps between retries: waits between
    attempts belong to the queue cron, not to a user's request."""
    client_config = ClientConfig(base_url, app_id, secret, sm4_key, sm2_private_key=sm2_private_key or "",
                                 read_timeout=read_timeout, retry_schedule=())
    return PlatformClient(client_config, exchange_hook=exchange_hook)
