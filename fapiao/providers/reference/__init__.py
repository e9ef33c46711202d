"""The reference provider: our own protocol (docs/protocol.md) and its embedded sandbox.

- ``protocol``: the envelope (SM4-CBC, HMAC-SM3 / SM2 signatures, replay rules, return codes);
- ``wire``: the neutral documents as our JSON;
- ``client``: the provider (``PlatformClient``), with the ``Keyring`` that holds the credentials
  in closures;
- ``callback``: callbacks sealed (the platform's side), verified, opened and answered (the ERP's);
- ``capabilities``: what the platform offers and the settings it needs;
- ``sandbox``: the platform itself, for development and tests (``python -m fapiao.sandbox``);
- ``simulator``: the sandbox as the contract's ``Simulator`` (``SPEC.simulator``), for tests written
  against every provider.

docs/providers/reference.md says more.
"""

from ... import provider, ratelimit
from . import callback, protocol
from .capabilities import CAPABILITIES, CODE, LABEL, SETTINGS
from .client import ClientConfig, PlatformClient

_CONFIG_OPTIONS = ("connect_timeout", "read_timeout", "retry_schedule", "verify_tls")
# no token to keep between calls; forms name the blue by number
_UNUSED_OPTIONS = ("state", "blue_invoice")
_CLIENT_OPTIONS = ("sleep", "session", "rate_limiter")


def connect(settings, exchange_hook=None, **options):
    """A PlatformClient for one company. ``settings``: ``endpoint``, ``app_id``, and the secret
    ``app_secret``, ``sm4_key``, ``sm2_private_key`` as zero-argument callables (provider.reveal),
    opened here once into the client's Keyring; ``rate_limit`` (requests per second; empty or 0: the
    platform's published CAPABILITIES.rate_limit). ``options``: ``connect_timeout``, ``read_timeout``,
    ``retry_schedule`` (waits between attempts, () for none), ``verify_tls``, ``sleep``, ``session``,
    ``rate_limiter`` (an object whose ``acquire(key, rate)`` blocks until one request of application
    ``key`` may go; default: the one this process shares, ratelimit.PROCESS_LIMITER)."""
    unknown = set(options) - set(_CONFIG_OPTIONS) - set(_CLIENT_OPTIONS) - set(_UNUSED_OPTIONS)
    if unknown:
        raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")
    config = ClientConfig(
        settings.get("endpoint") or "", settings.get("app_id") or "",
        provider.reveal(settings, "app_secret"), provider.reveal(settings, "sm4_key"),
        sm2_private_key=provider.reveal(settings, "sm2_private_key"),
        rate_limit=ratelimit.parse_rate(settings.get("rate_limit"), CAPABILITIES.rate_limit),
        **{name: options[name] for name in _CONFIG_OPTIONS if name in options})
    return PlatformClient(config, exchange_hook=exchange_hook,
                          **{name: options[name] for name in _CLIENT_OPTIONS if name in options})


def callback_answer(path, headers, outcome, message="", retry_after=None):
    """An unsigned answer to a callback, for a company without usable credentials."""
    return callback.answer(None, path, headers, outcome, message=message, retry_after=retry_after)


def simulator(directory, host="127.0.0.1", port=0, **options):
    """The embedded sandbox, started, as a provider.Simulator (simulator.EmbeddedSandbox, which
    says what ``options`` it takes)."""
    from .simulator import EmbeddedSandbox  # noqa: PLC0415 - the platform loads only for those who run it

    return EmbeddedSandbox(directory, host, port, **options)


SPEC = provider.register(provider.ProviderSpec(
    code=CODE, label=LABEL, connect=connect, capabilities=CAPABILITIES, settings=SETTINGS,
    callback_answer=callback_answer,
    callback_log_headers=(protocol.H_APP_ID, protocol.H_TIMESTAMP, protocol.H_NONCE, protocol.H_SIGN_TYPE),
    simulator=simulator))
