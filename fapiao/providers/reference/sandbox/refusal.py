"""The one exception the platform's services raise to answer with a return code."""

from ....errors import FieldError
from ..wire import field_error_to_wire


class Refusal(Exception):
    """Answer ``code_name`` (a key of protocol.CODE) instead of success.

    ``data`` is sent (encrypted) with the answer, as for 3001 duplicates;
    ``errors`` are FieldError wire dicts for 1001.
    """

    def __init__(self, code_name, message=None, *, data=None, errors=None, retry_after=None):
        super().__init__(message or code_name)
        self.code_name = code_name
        self.message = message
        self.data = data
        self.errors = errors
        self.retry_after = retry_after


def parameter_error(field, code, message, message_zh):
    """A 1001 refusal about one field."""
    return Refusal("PARAMETER_ERROR", errors=[field_error_to_wire(FieldError(field, code, message, message_zh))])
