"""Exceptions raised by the fapiao package.

Every error carries a stable ``code`` and an English message; where a person
will read it, a Chinese message too (``message_zh``). Messages never contain
key material.
"""


class FapiaoError(Exception):
    """Base class of every error raised by :mod:`fapiao`."""

    code = "FAPIAO_ERROR"

    def __init__(self, message, *, code=None, message_zh=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.message_zh = message_zh or message


class CryptoError(FapiaoError, ValueError):
    """A key of the wrong type or length, or data that does not decrypt or verify."""

    code = "CRYPTO_ERROR"


class InvalidTaxpayerId(FapiaoError, ValueError):
    """A taxpayer identification number that is not well formed.

    ``reason`` is one of ``empty``, ``length``, ``character``, ``area``,
    ``check``; ``position`` (1-based) points at the offending character where
    there is one.
    """

    code = "INVALID_TAXPAYER_ID"

    def __init__(self, value, reason, message, message_zh, position=None):
        super().__init__(message, message_zh=message_zh)
        self.value = value
        self.reason = reason
        self.position = position
