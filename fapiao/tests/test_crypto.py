"""SM4 / SM3 / HMAC-SM3 / SM2 against official vectors and independent implementations."""

import hashlib
import hmac

import pytest
from gmssl import sm3 as gmssl_sm3
from gmssl.sm2 import CryptSM2

from fapiao import crypto
from fapiao.errors import CryptoError

KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")


# --- SM4 (GB/T 32907-2016) ---------------------------------------------------

def test_sm4_official_vector_first_block():
    # GB/T 32907-2016 appendix A, example 1: one block, key = plaintext.
    ciphertext = crypto.sm4_encrypt(KEY, KEY, mode="ecb")
    assert ciphertext[:16].hex() == "681edf34d206965e86b3e94f536e4246"
    # PKCS#7 adds one full block of padding to a block-aligned plaintext.
    assert len(ciphertext) == 32
    assert crypto.sm4_decrypt(KEY, ciphertext, mode="ecb") == KEY


@pytest.mark.parametrize("mode", ["ecb", "cbc"])
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 1000])
def test_sm4_round_trip(mode, size):
    data = bytes(range(256)) * 4
    data = data[:size]
    iv = bytes(16) if mode == "cbc" else None
    ciphertext = crypto.sm4_encrypt(KEY, data, mode=mode, iv=iv)
    assert len(ciphertext) % 16 == 0 and len(ciphertext) > size
    assert crypto.sm4_decrypt(KEY, ciphertext, mode=mode, iv=iv) == data


def test_sm4_cbc_without_iv_prepends_a_random_iv():
    first = crypto.sm4_encrypt(KEY, b"same message")
    second = crypto.sm4_encrypt(KEY, b"same message")
    assert first != second  # a fresh IV each time
    assert len(first) == 32  # 16 bytes of IV + one block
    assert crypto.sm4_decrypt(KEY, first) == crypto.sm4_decrypt(KEY, second) == b"same message"


def test_sm4_cbc_matches_chained_ecb():
    # CBC built by hand from single-block ECB: an independent check of the mode.
    iv = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    data = b"A" * 32
    ciphertext = crypto.sm4_encrypt(KEY, data, mode="cbc", iv=iv)
    previous, blocks = iv, []
    padded = data + bytes([16]) * 16
    for i in range(0, len(padded), 16):
        block = bytes(a ^ b for a, b in zip(padded[i:i + 16], previous, strict=True))
        previous = crypto.sm4_encrypt(KEY, block, mode="ecb")[:16]
        blocks.append(previous)
    assert ciphertext == b"".join(blocks)


def test_sm4_tampered_ciphertext_raises():
    iv = bytes(16)
    ciphertext = bytearray(crypto.sm4_encrypt(KEY, b"0123456789abcdef", mode="cbc", iv=iv))
    # Flip a bit of the block before the padding block: the padding byte changes.
    ciphertext[15] ^= 0x01
    with pytest.raises(CryptoError, match="invalid padding"):
        crypto.sm4_decrypt(KEY, bytes(ciphertext), mode="cbc", iv=iv)


def test_sm4_wrong_key_raises():
    ciphertext = crypto.sm4_encrypt(KEY, b'{"invoice": "data"}', mode="ecb")
    wrong = bytes.fromhex("00112233445566778899aabbccddeeff")
    with pytest.raises(CryptoError, match="wrong key or tampered"):
        crypto.sm4_decrypt(wrong, ciphertext, mode="ecb")


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (b"short", "SM4 key must be 16 bytes, got 5"),
        (b"x" * 32, "SM4 key must be 16 bytes, got 32"),
        ("0123456789abcdef", "SM4 key must be bytes, not str"),
        (None, "SM4 key must be bytes, not NoneType"),
    ],
)
def test_sm4_bad_keys_get_a_clear_error(key, message):
    with pytest.raises(CryptoError, match=message):
        crypto.sm4_encrypt(key, b"data", mode="ecb")


def test_sm4_bad_iv_mode_and_lengths():
    with pytest.raises(CryptoError, match="IV must be 16 bytes, got 8"):
        crypto.sm4_encrypt(KEY, b"data", mode="cbc", iv=b"12345678")
    with pytest.raises(CryptoError, match="unknown SM4 mode 'gcm'"):
        crypto.sm4_encrypt(KEY, b"data", mode="gcm")
    with pytest.raises(CryptoError, match="multiple of 16, got 17"):
        crypto.sm4_decrypt(KEY, b"x" * 17, mode="ecb")
    with pytest.raises(CryptoError, match="too short"):
        crypto.sm4_decrypt(KEY, b"x" * 16)


# --- SM3 (GB/T 32905-2016) and HMAC-SM3 -------------------------------------------

def test_sm3_official_vectors():
    assert crypto.sm3_hex(b"abc") == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert crypto.sm3_hex(b"abcd" * 16) == (
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
    )


@pytest.mark.parametrize("size", [0, 1, 55, 56, 64, 1000])
def test_sm3_agrees_with_gmssl(size):
    data = bytes((i * 7) % 256 for i in range(size))
    assert crypto.sm3_hex(data) == gmssl_sm3.sm3_hash(list(data))


@pytest.mark.parametrize("key", [b"k", b"secret" * 20, bytes(64)])
def test_hmac_sm3_agrees_with_stdlib_hmac(key):
    if "sm3" not in hashlib.algorithms_available:
        pytest.fail("this OpenSSL has no SM3: the platform protocol cannot work here")
    data = b"POST\n/v1/invoices\n1700000000000\nnonce\n" + b"x" * 100
    assert crypto.hmac_sm3_hex(key, data) == hmac.new(key, data, "sm3").hexdigest()


def test_hmac_sm3_refuses_an_empty_key():
    with pytest.raises(CryptoError, match="must not be empty"):
        crypto.hmac_sm3_hex(b"", b"data")


# --- SM2 (GB/T 32918) -------------------------------------------------------------

def _keypair_whose_x_starts_with(prefix):
    for _ in range(2000):
        private, public = crypto.sm2_generate_keypair()
        if public[2:].startswith(prefix):
            return private, public
    raise AssertionError(f"no key with X starting with {prefix!r} in 2000 tries")


def test_sm2_sign_and_verify_round_trip():
    private, public = crypto.sm2_generate_keypair()
    assert len(public) == 130 and public.startswith("04")
    signature = crypto.sm2_sign(private, b"message")
    assert len(signature) == 64
    assert crypto.sm2_verify(public, b"message", signature)
    assert crypto.sm2_verify(public[2:], b"message", signature.hex())  # bare point, hex signature


def test_sm2_rejects_tampering_and_wrong_key():
    private, public = crypto.sm2_generate_keypair()
    _, other_public = crypto.sm2_generate_keypair()
    signature = crypto.sm2_sign(private, b"message")
    assert not crypto.sm2_verify(public, b"messagE", signature)
    tampered = bytearray(signature)
    tampered[40] ^= 0x80
    assert not crypto.sm2_verify(public, b"message", bytes(tampered))
    assert not crypto.sm2_verify(other_public, b"message", signature)
    assert not crypto.sm2_verify(public, b"message", bytes(64))  # r = s = 0


@pytest.mark.parametrize("prefix", ["0", "4", "04", "40"])
def test_sm2_keys_whose_x_starts_with_0_or_4(prefix):
    private, public = _keypair_whose_x_starts_with(prefix)
    signature = crypto.sm2_sign(private, b"awkward key")
    assert crypto.sm2_verify(public, b"awkward key", signature)
    assert crypto.sm2_verify(public[2:], b"awkward key", signature)


def test_sm2_guard_is_needed_gmssl_alone_corrupts_such_keys():
    # The defect we guard against: gmssl's constructor lstrip("04") eats the
    # leading 0/4 digits of X, so its own verification fails on these keys.
    private, public = _keypair_whose_x_starts_with("4")
    signature = crypto.sm2_sign(private, b"awkward key")
    naive = CryptSM2(private_key="", public_key=public)
    assert naive.public_key != public[2:]
    assert crypto.sm2_verify(public, b"awkward key", signature)


def test_sm2_interoperates_with_gmssl_sign_with_sm3():
    # A signature made by gmssl's standard SM3-with-Z signing verifies with ours.
    private, public = _keypair_whose_x_starts_with("a")
    signer = CryptSM2(private_key=private, public_key=public)
    signature = signer.sign_with_sm3(b"interop", "%064x" % 123456789)
    assert crypto.sm2_verify(public, b"interop", signature)
    ours = crypto.sm2_sign(private, b"interop")
    assert signer.verify_with_sm3(ours.hex(), b"interop")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: crypto.sm2_sign("abc", b"m"), "private key must be 64 hex digits, got 3"),
        (lambda: crypto.sm2_sign("zz" * 32, b"m"), "private key is not hexadecimal"),
        (lambda: crypto.sm2_sign("00" * 32, b"m"), "private key is out of range"),
        (lambda: crypto.sm2_sign(b"\x01" * 32, b"m"), "private key must be a hex string, not bytes"),
        (lambda: crypto.sm2_verify("04" + "11" * 64, b"m", bytes(64)), "not a point on the SM2 curve"),
        (lambda: crypto.sm2_verify("05" + "11" * 64, b"m", bytes(64)), "must start with 04"),
        (lambda: crypto.sm2_verify("11" * 10, b"m", bytes(64)), "must be 128 hex digits, got 20"),
        (lambda: crypto.sm2_verify(crypto.sm2_generate_keypair()[1], b"m", bytes(10)),
         "signature must be 64 bytes"),
        (lambda: crypto.sm2_sign(crypto.sm2_generate_keypair()[0], "text"), "message must be bytes"),
    ],
)
def test_sm2_bad_keys_and_signatures_get_clear_errors(call, message):
    with pytest.raises(CryptoError, match=message):
        call()
