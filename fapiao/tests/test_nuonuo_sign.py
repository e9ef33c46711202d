"""诺诺's request signature against the two published vectors (docs/providers/nuonuo.md)."""

import re

import pytest

from fapiao.providers.nuonuo import sign


@pytest.mark.parametrize(("secret", "key", "senid", "body", "expected"), [
    ("SECRET", "APPKEY", "SENID", '{"a":1}', "7iSZiR+0g+376QEJ38xLM+3vGDs="),
    ("secret", "app", "a" * 32, '{"name":"中文"}', "4BzcKzrcoqxPis0W/W3X2ae0uIo="),
])
def test_published_vectors(secret, key, senid, body, expected):
    assert sign.signature(secret, key, senid, "12345678", "1700000000", body) == expected


def test_the_body_is_signed_as_utf8_text_not_escaped():
    # The second vector only holds when 中文 is signed as UTF-8 characters: an escaped body is
    # another text, hence another signature.
    escaped = sign.signature("secret", "app", "a" * 32, "12345678", "1700000000", '{"name":"\\u4e2d\\u6587"}')
    assert escaped != "4BzcKzrcoqxPis0W/W3X2ae0uIo="
    assert sign.body_text({"name": "中文"}) == '{"name":"中文"}'


def test_canonical_text_order():
    assert sign.canonical("K", "I", "N", "T", "{}") == "a=services&l=v1&p=open&k=K&i=I&n=N&t=T&f={}"


def test_senid_nonce_and_timestamp_shapes():
    senids = {sign.new_senid() for _ in range(50)}
    assert len(senids) == 50
    assert all(re.fullmatch(r"[A-Za-z0-9]{32}", senid) for senid in senids)
    for _ in range(200):
        nonce = sign.new_nonce()
        assert re.fullmatch(r"[1-9][0-9]{7}", nonce)
    assert sign.timestamp(lambda: 1700000000.9) == "1700000000"
