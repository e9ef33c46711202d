"""Chinese national cryptography (GM/T) primitives used by the platform protocol.

SM4 and SM3 come from ``cryptography`` (OpenSSL): constant-time, and about
500 times faster than pure Python. SM2 comes from ``gmssl`` 3.2.2, the only
maintained Python implementation, used with guards against its defects:

* it strips a leading ``04`` from public keys with ``str.lstrip``, which also
  eats a leading ``0``/``4`` of the X coordinate: we always hand it the bare
  128-hex-digit point ourselves, after the constructor;
* it draws signature nonces from :mod:`random`: we pass a nonce from
  :mod:`secrets`;
* it does not range-check signatures or validate points: we do.

All functions take and return bytes, except the ``*_hex`` helpers and the SM2
keys, which are hex strings as the platform issues them.
"""

import secrets

from cryptography.hazmat.primitives import hashes, hmac, padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from gmssl.sm2 import CryptSM2

from .errors import CryptoError

SM4_BLOCK = 16
SM4_KEY_SIZE = 16
SM2_USER_ID = b"1234567812345678"  # default signer id of GM/T 0009-2012

# SM2 recommended curve parameters (GM/T 0003.5-2012).
_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
_A = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC", 16)
_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
_GX = int("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16)
_GY = int("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16)


def _require_bytes(value, what):
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise CryptoError(f"{what} must be bytes, not {type(value).__name__}")
    return bytes(value)


def _sm4_cipher(key, mode, iv):
    key = _require_bytes(key, "SM4 key")
    if len(key) != SM4_KEY_SIZE:
        raise CryptoError(f"SM4 key must be {SM4_KEY_SIZE} bytes, got {len(key)}")
    if mode == "ecb":
        if iv is not None:
            raise CryptoError("SM4 ECB mode takes no IV")
        return Cipher(algorithms.SM4(key), modes.ECB())  # noqa: S305 - the platform's ECB variant
    if mode == "cbc":
        iv = _require_bytes(iv, "SM4 IV")
        if len(iv) != SM4_BLOCK:
            raise CryptoError(f"SM4 IV must be {SM4_BLOCK} bytes, got {len(iv)}")
        return Cipher(algorithms.SM4(key), modes.CBC(iv))
    raise CryptoError(f"unknown SM4 mode {mode!r}: use 'cbc' or 'ecb'")


def sm4_encrypt(key, data, mode="cbc", iv=None):
    """Encrypt ``data`` with SM4 and PKCS#7 padding.

    In CBC mode without an ``iv``, a random IV is drawn and prepended to the
    ciphertext; :func:`sm4_decrypt` without ``iv`` reads it back from there.
    """
    data = _require_bytes(data, "SM4 plaintext")
    prefix = b""
    if mode == "cbc" and iv is None:
        iv = prefix = secrets.token_bytes(SM4_BLOCK)
    encryptor = _sm4_cipher(key, mode, iv).encryptor()
    padder = padding.PKCS7(SM4_BLOCK * 8).padder()
    padded = padder.update(data) + padder.finalize()
    return prefix + encryptor.update(padded) + encryptor.finalize()


def sm4_decrypt(key, data, mode="cbc", iv=None):
    """Decrypt SM4 ciphertext and check and remove its PKCS#7 padding.

    A wrong key or tampered ciphertext almost always leaves invalid padding,
    which raises :class:`CryptoError` instead of returning garbage.
    """
    data = _require_bytes(data, "SM4 ciphertext")
    if mode == "cbc" and iv is None:
        if len(data) < 2 * SM4_BLOCK:
            raise CryptoError("SM4 ciphertext too short to hold an IV and one block")
        iv, data = data[:SM4_BLOCK], data[SM4_BLOCK:]
    cipher = _sm4_cipher(key, mode, iv)
    if not data or len(data) % SM4_BLOCK:
        raise CryptoError(
            f"SM4 ciphertext length must be a non-zero multiple of {SM4_BLOCK}, got {len(data)}"
        )
    decryptor = cipher.decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(SM4_BLOCK * 8).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise CryptoError(
            "SM4 decryption failed: invalid padding (wrong key or tampered data)"
        ) from None


def sm3_digest(data):
    """SM3 digest of ``data`` as 32 raw bytes."""
    digest = hashes.Hash(hashes.SM3())
    digest.update(_require_bytes(data, "SM3 input"))
    return digest.finalize()


def sm3_hex(data):
    """SM3 digest of ``data`` as 64 lowercase hex digits."""
    return sm3_digest(data).hex()


def hmac_sm3_hex(key, data):
    """HMAC-SM3 (RFC 2104 construction over SM3) as 64 lowercase hex digits."""
    key = _require_bytes(key, "HMAC key")
    if not key:
        raise CryptoError("HMAC key must not be empty")
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(_require_bytes(data, "HMAC input"))
    return mac.finalize().hex()


# --- SM2 -------------------------------------------------------------------

def _hex_to_int(value, what, digits):
    if not isinstance(value, str):
        raise CryptoError(f"{what} must be a hex string, not {type(value).__name__}")
    value = value.strip()
    if len(value) != digits:
        raise CryptoError(f"{what} must be {digits} hex digits, got {len(value)}")
    try:
        return int(value, 16)
    except ValueError:
        raise CryptoError(f"{what} is not hexadecimal") from None


def _normalise_private_key(private_key_hex):
    d = _hex_to_int(private_key_hex, "SM2 private key", 64)
    if not 1 <= d < _N - 1:
        raise CryptoError("SM2 private key is out of range")
    return "%064x" % d


def _normalise_public_key(public_key_hex):
    """Return the public key as 128 hex digits (X || Y), checked to be on the curve.

    Accepts the uncompressed form with its ``04`` prefix (130 digits) or the
    bare point (128 digits). Only exactly the two prefix digits are removed.
    """
    if not isinstance(public_key_hex, str):
        raise CryptoError(f"SM2 public key must be a hex string, not {type(public_key_hex).__name__}")
    key = public_key_hex.strip()
    if len(key) == 130:
        if key[:2] != "04":
            raise CryptoError("SM2 public key of 130 hex digits must start with 04 (uncompressed point)")
        key = key[2:]
    _hex_to_int(key, "SM2 public key", 128)
    x, y = int(key[:64], 16), int(key[64:], 16)
    if not (x < _P and y < _P and (y * y - (x * x * x + _A * x + _B)) % _P == 0):
        raise CryptoError("SM2 public key is not a point on the SM2 curve")
    return key.lower()


def _gmssl(private_key="", public_key=""):
    engine = CryptSM2(private_key=private_key, public_key="")
    # Set after construction: the constructor's lstrip("04") would corrupt keys
    # whose X coordinate starts with 0 or 4.
    engine.public_key = public_key
    return engine


def sm2_public_key(private_key_hex):
    """The public key (``04`` + X + Y, 130 hex digits) of an SM2 private key."""
    d = _normalise_private_key(private_key_hex)
    point = _gmssl(d)._kg(int(d, 16), "%064x%064x" % (_GX, _GY))
    return "04" + point


def sm2_generate_keypair():
    """A fresh ``(private_key_hex, public_key_hex)`` pair."""
    private = "%064x" % (secrets.randbelow(_N - 2) + 1)
    return private, sm2_public_key(private)


def _sm2_digest(public_key, data):
    """e = SM3(Z_A || M), Z_A binding the signer id and public key (GM/T 0003.2)."""
    entl = (len(SM2_USER_ID) * 8).to_bytes(2, "big")
    z = sm3_digest(
        entl + SM2_USER_ID
        + b"".join(v.to_bytes(32, "big") for v in (_A, _B, _GX, _GY))
        + bytes.fromhex(public_key)
    )
    return sm3_digest(z + data)


def sm2_sign(private_key_hex, data):
    """SM2 signature with SM3 of ``data``: 64 bytes, r || s."""
    data = _require_bytes(data, "SM2 message")
    d = _normalise_private_key(private_key_hex)
    public_key = sm2_public_key(d)[2:]
    engine = _gmssl(d, public_key)
    digest = _sm2_digest(public_key, data)
    while True:
        nonce = "%064x" % (secrets.randbelow(_N - 1) + 1)
        signature = engine.sign(digest, nonce)
        if signature:  # None for the rare nonces that give r = 0 or s = 0
            return bytes.fromhex(signature)


def sm2_verify(public_key_hex, data, signature):
    """True when ``signature`` (64 bytes r || s, or 128 hex digits) signs ``data``."""
    data = _require_bytes(data, "SM2 message")
    public_key = _normalise_public_key(public_key_hex)
    if isinstance(signature, str):
        try:
            signature = bytes.fromhex(signature)
        except ValueError:
            raise CryptoError("SM2 signature is not hexadecimal") from None
    signature = _require_bytes(signature, "SM2 signature")
    if len(signature) != 64:
        raise CryptoError(f"SM2 signature must be 64 bytes (r || s), got {len(signature)}")
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    if not (1 <= r < _N and 1 <= s < _N) or (r + s) % _N == 0:
        return False
    return bool(_gmssl("", public_key).verify(signature.hex(), _sm2_digest(public_key, data)))
