"""The client holds the app secret and the keys only in closures.

Odoo's safe_eval (mail templates) refuses every name containing ``__`` but lets an
expression walk any other attribute: walked the same way, nothing reachable from a
client is one of its secrets, in any spelling.
"""

import base64
import types

import pytest

from fapiao.errors import CryptoError
from fapiao.providers.reference import protocol
from fapiao.providers.reference.client import ClientConfig, Keyring, PlatformClient, mask

SECRET = "app-secret-Zq7yK2"
SM4_KEY = "0123456789ABCDEFFEDCBA9876543210"
SM2_KEY = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"


def forms():
    raw_sm4, raw_sm2 = bytes.fromhex(SM4_KEY), bytes.fromhex(SM2_KEY)
    values = {SECRET, SM4_KEY, SM4_KEY.lower(), SM2_KEY, SM2_KEY.upper()}
    for raw in (raw_sm4, raw_sm2, SECRET.encode()):
        values |= {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return values


def reachable(root, depth=5):
    """Every value an expression may reach from ``root`` by names without ``__``."""
    seen, found, todo = set(), [], [(root, 0)]
    while todo:
        value, level = todo.pop()
        if id(value) in seen or isinstance(value, (types.ModuleType, type)):
            continue
        seen.add(id(value))
        found.append(value)
        if isinstance(value, (str, bytes, int, float, bool)) or value is None or level >= depth:
            continue
        if isinstance(value, dict):
            todo += [(item, level + 1) for pair in value.items() for item in pair]
        elif isinstance(value, (list, tuple, set, frozenset)):
            todo += [(item, level + 1) for item in value]
        for name in dir(value):
            if "__" in name:
                continue
            try:
                todo.append((getattr(value, name), level + 1))
            except Exception:   # properties that raise are not a way in
                continue
    return found


def test_no_attribute_of_a_client_holds_a_secret():
    config = ClientConfig("http://127.0.0.1:9", "app-1", SECRET, SM4_KEY, sm2_private_key=SM2_KEY)
    with PlatformClient(config) as client:
        values = reachable(client)
        assert len(values) > 50, "the walk went somewhere"
        texts = [value.decode("latin-1") if isinstance(value, bytes) else value for value in values
                 if isinstance(value, (str, bytes))]
        texts.append(repr(config))
        leaked = {secret for secret in forms() for text in texts if secret in text}
        assert not leaked
        assert not hasattr(config, "secret") and not hasattr(config, "sm4_key")


def test_the_keyring_works_without_showing_what_it_holds():
    keys = Keyring(SECRET, SM4_KEY)
    body = keys.seal({"hello": "世界"})
    assert keys.open_envelope(body) == {"hello": "世界"}
    headers = keys.request_headers("app-1", "/cb", body)
    canonical = protocol.canonical_request("POST", "/cb", headers[protocol.H_TIMESTAMP], headers[protocol.H_NONCE],
                                           body)
    assert keys.signature_matches(canonical, headers[protocol.H_SIGNATURE])
    assert not keys.signature_matches(canonical, "0" * 64)
    assert protocol.signature_matches(SECRET, canonical, headers[protocol.H_SIGNATURE])
    text = f"{SECRET} {SM4_KEY.lower()} {base64.b64encode(bytes.fromhex(SM4_KEY)).decode()}"
    assert keys.mask(text) == "*** *** ***"
    assert mask({"a": [text]}, [keys.mask]) == {"a": ["*** *** ***"]}
    with pytest.raises(AttributeError):
        keys.mask = str
    assert repr(keys) == "<Keyring>"


@pytest.mark.parametrize("secret, sm4_key", [("", SM4_KEY), (SECRET, ""), (SECRET, "xyz"), (SECRET, "00ff")])
def test_unusable_credentials_are_refused_without_echoing_them(secret, sm4_key):
    with pytest.raises(CryptoError) as info:
        Keyring(secret, sm4_key)
    assert SECRET not in str(info.value) and (not sm4_key or sm4_key not in str(info.value))
