"""The company's platform secrets at rest: sealed with a master key kept outside the database.

Odoo lets a mail template editor who is not an administrator evaluate expressions that reach
``.sudo()``, any model and even ``env.cr.execute``: whatever the database holds, such a template
can print. So the database holds no plaintext: the app secret, the SM4 key and the SM2 private key
are sealed with AES-256-GCM under a master key that is neither in the database nor in the
filestore, and opened only inside the functions of this module and of
:mod:`l10n_cn_einv_platform`, which hand the plaintext on to closures (``fapiao.client.Keyring``).

The master key is, in this order:

- the ``l10n_cn_einv_master_key`` option of the Odoo configuration file (32 random bytes in
  URL-safe base64; ``python3 -c "import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())"``),
  which every server of a multi-server deployment must share;
- otherwise the file ``<data_dir>/l10n_cn_einvoice/master.key``, generated on first use (mode 0600,
  in a 0700 directory), next to the filestore but not inside it.

A sealed value is ``v1$<key id>$<base64 of nonce + ciphertext>``; the key id (8 hex digits
derived from the key) lets the error say plainly that another key sealed it. The sealed value is
bound to its company and field (the AES-GCM associated data), so it cannot be moved to another.

Odoo's ``safe_eval`` refuses names with ``__``, but ``str.format`` walks attributes and items on
its own: ``'{0.__func__.__globals__[config].options}'.format(some_method)`` prints the whole
configuration, and any object Python can reach from a module. So nothing reachable holds the master
key: it lives in an HMAC object of ``cryptography`` (OpenSSL, which never gives the key back), the
AES key is derived from it for each use, and the configuration option is taken out of Odoo's
configuration as soon as the addon is loaded.
"""

import base64
import binascii
import contextlib
import os
import secrets
import threading

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from odoo import _
from odoo.exceptions import UserError
from odoo.tools import config

MASTER_KEY_OPTION = "l10n_cn_einv_master_key"
KEY_DIRECTORY = "l10n_cn_einvoice"
KEY_FILE = "master.key"
VERSION = "v1"
# res.company field the settings write -> the stored column that holds it sealed
SEALED_FIELDS = {
    "l10n_cn_einv_app_secret": "l10n_cn_einv_app_secret_sealed",
    "l10n_cn_einv_sm4_key": "l10n_cn_einv_sm4_key_sealed",
    "l10n_cn_einv_sm2_private_key": "l10n_cn_einv_sm2_private_key_sealed",
    "l10n_cn_einv_nuonuo_app_secret": "l10n_cn_einv_nuonuo_app_secret_sealed",
    "l10n_cn_einv_nuonuo_access_token": "l10n_cn_einv_nuonuo_access_token_sealed",
}

_LOCK = threading.Lock()
# Opaque holders of master keys (HMAC-SHA256 objects keyed with them), never the keys themselves:
_FILE_KEYS = {}         # key file path -> holder
_CONFIGURED = [None]    # the configured key's holder (or the error its value gave), once taken out of config


class SecretUnreadable(UserError):
    """A sealed secret this server cannot open: another master key, a damaged value, or a master
    key that is not one."""


def key_path():
    return os.path.join(config["data_dir"], KEY_DIRECTORY, KEY_FILE)


def _holder(text, origin):
    """An opaque holder of the key written as ``text``: the key goes into OpenSSL and nowhere else.
    ``origin()`` says where the text comes from, should it not be a key."""
    try:
        key = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise SecretUnreadable(_("The e-invoice master key in %(origin)s must be 32 bytes in URL-safe base64 "
                                 "(44 characters).", origin=origin()))
    return hmac.HMAC(key, hashes.SHA256())


def _derive(holder, label):
    derived = holder.copy()
    derived.update(label)
    return derived.finalize()


def take_configured_key():
    """Move the configured master key out of Odoo's configuration (where ``str.format`` in a template
    could read it) into an opaque holder. Called when the addon loads, and before every use."""
    with _LOCK:
        configured = config.options.pop(MASTER_KEY_OPTION, None)
        if configured:
            try:
                _CONFIGURED[0] = _holder(str(configured), lambda: _(
                    "the option %s of the Odoo configuration file", MASTER_KEY_OPTION))
            except SecretUnreadable as error:
                _CONFIGURED[0] = error


def forget_configured_key():
    """Back to the key file (for tests that try another configured key)."""
    with _LOCK:
        _CONFIGURED[0] = None


def _file_key(path):
    """The holder of the key of the file ``path``, created (0600) when there is none; safe between
    processes: the first to create it wins and the others read it."""
    with _LOCK:
        if path in _FILE_KEYS:
            return _FILE_KEYS[path]
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            encoded = base64.urlsafe_b64encode(secrets.token_bytes(32))
            with contextlib.suppress(FileExistsError):
                descriptor = os.open(path + f".{os.getpid()}.tmp", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(encoded + b"\n")
                    handle.flush()
                    os.fsync(handle.fileno())
                try:    # hard link: atomic, and fails (FileExistsError) if another process was first
                    os.link(path + f".{os.getpid()}.tmp", path)
                finally:
                    os.unlink(path + f".{os.getpid()}.tmp")
        with open(path, "rb") as handle:
            holder = _holder(handle.read().decode("ascii", "replace"), lambda: path)
        _FILE_KEYS[path] = holder
        return holder


def _master_key():
    take_configured_key()
    configured = _CONFIGURED[0]
    if isinstance(configured, Exception):
        raise configured
    return configured or _file_key(key_path())


def _aead(holder):
    return AESGCM(_derive(holder, b"l10n_cn_einvoice secrets v1"))


def _key_id(holder):
    return _derive(holder, b"l10n_cn_einvoice key id").hex()[:8]


def master_key_id():
    """The id of this server's master key (not secret): shown when a value cannot be opened."""
    return _key_id(_master_key())


def _associated_data(company_id, name):
    return f"res.company:{company_id}:{name}".encode()


def seal(company_id, name, plaintext):
    """The sealed form of ``plaintext``, the secret ``name`` of company ``company_id``; False when empty."""
    if not plaintext:
        return False
    holder = _master_key()
    nonce = secrets.token_bytes(12)
    sealed = _aead(holder).encrypt(nonce, plaintext.encode(), _associated_data(company_id, name))
    return f"{VERSION}${_key_id(holder)}${base64.urlsafe_b64encode(nonce + sealed).decode()}"


def _open(holder, company_id, name, data):
    """The plaintext of the sealed ``data``; None when this key does not open it."""
    try:
        raw = base64.urlsafe_b64decode(data.encode())
        return _aead(holder).decrypt(raw[:12], raw[12:], _associated_data(company_id, name)).decode()
    except (InvalidTag, ValueError, binascii.Error):
        return None


def open_sealed(company_id, name, token):
    """The plaintext of a sealed value that may be lost without harm (a provider's cached token):
    None when there is none or this server's master key cannot open it."""
    parts = (token or "").split("$")
    if len(parts) != 3 or parts[0] != VERSION:
        return None
    return _open(_master_key(), company_id, name, parts[2])


def unseal(company, name, token):
    """The plaintext of a sealed value ("" when there is none); SecretUnreadable when this server's
    master key cannot open it. Only for this module and l10n_cn_einv_platform: never return it
    from a model method."""
    if not token:
        return ""
    holder = _master_key()
    parts = token.split("$")
    sealed_with = parts[1] if len(parts) == 3 else None
    plaintext = _open(holder, company.id, name, parts[2]) if len(parts) == 3 and parts[0] == VERSION else None
    if plaintext is not None:
        return plaintext
    label = company.env["res.company"]._fields[name].get_description(company.env)["string"]
    raise SecretUnreadable(company.env._(
        "The %(secret)s of %(company)s cannot be decrypted with this server's e-invoice master key "
        "(key id %(key_id)s; the value was sealed with key id %(sealed_with)s). Every Odoo server of this "
        "database needs the same master key: set the option %(option)s in the Odoo configuration file of "
        "each (or copy the file %(path)s), or enter the secret again in the settings.",
        secret=label, company=company.name, key_id=_key_id(holder), sealed_with=sealed_with or "?",
        option=MASTER_KEY_OPTION, path=key_path()))


take_configured_key()
