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

A sealed value is ``v1$<key id>$<base64 of nonce + ciphertext>``; the key id (the first 8 hex
digits of a hash of the key) lets the error say plainly that another key sealed it. The sealed value
is bound to its company and field (the AES-GCM associated data), so it cannot be moved to another.
"""

import base64
import binascii
import contextlib
import hashlib
import os
import secrets
import threading

from cryptography.exceptions import InvalidTag
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
}

_LOCK = threading.Lock()
_FILE_KEYS = {}     # key file path -> key bytes (module global: no model or record reaches it)


class SecretUnreadable(UserError):
    """A sealed secret this server cannot open (another master key, or damaged)."""


def key_path():
    return os.path.join(config["data_dir"], KEY_DIRECTORY, KEY_FILE)


def _decode_key(text, origin):
    try:
        key = base64.urlsafe_b64decode(text.strip().encode() + b"=" * (-len(text.strip()) % 4))
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise UserError(_("The e-invoice master key in %(origin)s must be 32 bytes in URL-safe base64 "
                          "(44 characters).", origin=origin))
    return key


def _file_key(path):
    """The key of the file ``path``, created (0600) when there is none; safe between processes:
    the first to create it wins and the others read it."""
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
                try:    # hard link: atomic, and fails if another process was first
                    os.link(path + f".{os.getpid()}.tmp", path)
                except FileExistsError:
                    pass
                finally:
                    os.unlink(path + f".{os.getpid()}.tmp")
        with open(path, "rb") as handle:
            key = _decode_key(handle.read().decode("ascii", "replace"), path)
        _FILE_KEYS[path] = key
        return key


def _master_key():
    configured = config.get(MASTER_KEY_OPTION)
    if configured:
        return _decode_key(str(configured), _("the option %s of the Odoo configuration file", MASTER_KEY_OPTION))
    return _file_key(key_path())


def _key_id(key):
    return hashlib.sha256(b"l10n_cn_einvoice master key\n" + key).hexdigest()[:8]


def master_key_id():
    """The id of this server's master key (not secret): shown when a value cannot be opened."""
    return _key_id(_master_key())


def _associated_data(company_id, name):
    return f"res.company:{company_id}:{name}".encode()


def seal(company_id, name, plaintext):
    """The sealed form of ``plaintext``, the secret ``name`` of company ``company_id``; False when empty."""
    if not plaintext:
        return False
    key = _master_key()
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _associated_data(company_id, name))
    return f"{VERSION}${_key_id(key)}${base64.urlsafe_b64encode(nonce + sealed).decode()}"


def unseal(company, name, token):
    """The plaintext of a sealed value ("" when there is none); SecretUnreadable when this server's
    master key cannot open it. Only for this module and l10n_cn_einv_platform: never return it
    from a model method."""
    if not token:
        return ""
    key = _master_key()
    parts = token.split("$")
    sealed_with = parts[1] if len(parts) == 3 else None
    if len(parts) == 3 and parts[0] == VERSION:
        data = parts[2]
        try:
            raw = base64.urlsafe_b64decode(data.encode())
            return AESGCM(key).decrypt(raw[:12], raw[12:], _associated_data(company.id, name)).decode()
        except (InvalidTag, ValueError, binascii.Error):
            pass
    label = company.env["res.company"]._fields[name].get_description(company.env)["string"]
    raise SecretUnreadable(_(
        "The %(secret)s of %(company)s cannot be decrypted with this server's e-invoice master key "
        "(key id %(key_id)s; the value was sealed with key id %(sealed_with)s). Every Odoo server of this "
        "database needs the same master key: set the option %(option)s in the Odoo configuration file of "
        "each (or copy the file %(path)s), or enter the secret again in the settings.",
        secret=label, company=company.name, key_id=_key_id(key), sealed_with=sealed_with or "?",
        option=MASTER_KEY_OPTION, path=key_path()))
