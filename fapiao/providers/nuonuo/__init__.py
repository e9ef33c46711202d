"""诺诺 (Nuonuo open platform, 诺税通 SaaS 数电) as a provider.

- ``sign``: the request signature (X-Nuonuo-Sign), senid, nonce, timestamp;
- ``wire``: the neutral documents as 诺诺's JSON and back, and 诺诺's field limits;
- ``codes``: 诺诺's answer codes as the contract's outcomes;
- ``tokens``: the access token, renewed under a lock in a store the workers share;
- ``client``: the provider (``NuonuoClient``);
- ``capabilities``: what 诺诺 offers and the settings a company gives.

``SPEC`` is registered (fapiao.provider.register); the company fields of its settings are
``l10n_cn_einv_nuonuo_<name>``. docs/providers/nuonuo.md says where each fact comes from.
"""

from ... import provider
from .capabilities import CAPABILITIES, CODE, LABEL, SETTINGS
from .client import Credentials, NuonuoClient, callback_answer
from .tokens import TokenStore

_OPTIONS = ("state", "blue_invoice", "session", "connect_timeout", "read_timeout", "clock", "sleep", "rate_limiter")
_IGNORED = ("retry_schedule",)   # the Odoo layer retries from its queue; this client never resends by itself


def connect(settings, exchange_hook=None, **options):
    """A NuonuoClient for one company. ``settings``: see SETTINGS (``app_secret`` and ``access_token``
    as zero-argument callables, provider.reveal). ``options``: ``state`` (the company's
    fapiao.provider.StateStore, where the access token is kept; default: in memory), ``blue_invoice``,
    ``session``, ``connect_timeout``, ``read_timeout``, ``clock``, ``sleep``, ``rate_limiter`` (an object
    whose ``acquire(key, rate)`` blocks until one request of app ``key`` may go; default: the one
    this process shares, ratelimit.PROCESS_LIMITER)."""
    unknown = set(options) - set(_OPTIONS) - set(_IGNORED)
    if unknown:
        raise TypeError(f"unknown options: {', '.join(sorted(unknown))}")
    missing = [s.name for s in SETTINGS if s.required and not s.secret and not settings.get(s.name)]
    if missing:
        raise ValueError(f"诺诺 settings missing: {', '.join(missing)}")
    credentials = Credentials(settings["app_key"], provider.reveal(settings, "app_secret"))
    given_token = provider.reveal(settings, "access_token")
    store = TokenStore(options.get("state"), given_token, 0)
    plain = {name: value for name, value in settings.items() if name not in ("app_secret", "access_token")}
    return NuonuoClient(plain, credentials, exchange_hook=exchange_hook, token_store=store,
                        **{name: options[name] for name in _OPTIONS if name in options and name != "state"})


def simulator(directory, host="127.0.0.1", port=0, **options):
    """诺诺's platform simulated on loopback (simulator.NuonuoSimulator, which says what ``options``
    it takes), started."""
    from .simulator import NuonuoSimulator  # noqa: PLC0415 - the platform loads only for those who run it

    return NuonuoSimulator(directory, host, port, **options)


SPEC = provider.register(provider.ProviderSpec(
    code=CODE, label=LABEL, connect=connect, capabilities=CAPABILITIES, settings=SETTINGS,
    callback_answer=callback_answer, callback_log_headers=("Content-Type",), simulator=simulator))
