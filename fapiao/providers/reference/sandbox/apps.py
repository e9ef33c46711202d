"""Registered applications (one per company / 纳税主体) and their credentials."""

import json
import string
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from ....rules import MAX_MAGNITUDE
from ....taxid import validate_taxpayer_id
from .store import marks

HEX = frozenset(string.hexdigits)


def region_of(tax_id):
    """Two province digits for invoice and form numbers: positions 3-4 of a
    USCC, the first two of an older id (which starts with the area code)."""
    digits = tax_id[2:4] if len(tax_id) == 18 else tax_id[:2]
    return digits if digits.isdigit() else "00"


@dataclass(frozen=True)
class App:
    app_id: str
    secret: str
    sm4_key_hex: str
    seller_tax_id: str
    seller_name: str = ""
    sm2_public_key: str = ""        # when set, requests may be signed with SM2
    callback_url: str = ""          # empty: the platform-wide --callback-url, if any
    quota: Decimal | None = None    # monthly credit quota; None: the platform default
    enabled: bool = True
    # requests a second above which its requests are refused (2010); None: the platform's, 0: no limit
    rate_limit: float | None = None
    faults: dict = field(default_factory=dict, compare=False)  # per-app fault overrides (wire names)

    @property
    def secret_bytes(self):
        return self.secret.encode()

    @property
    def sm4_key(self):
        return bytes.fromhex(self.sm4_key_hex)

    @property
    def region(self):
        return region_of(self.seller_tax_id)

    def __repr__(self):  # never show the secret or the key
        return f"App({self.app_id!r}, seller_tax_id={self.seller_tax_id!r})"


# Well-known credentials of the built-in application (documented in docs/sandbox.md).
DEFAULT_APP = App(
    app_id="sandbox-demo",
    secret="sandbox-demo-secret",  # noqa: S106 - public, documented sandbox credentials
    sm4_key_hex="0123456789abcdeffedcba9876543210",
    seller_tax_id="91350100M000100Y43",
    seller_name="示例科技有限公司",
)


def check_app(app):
    """Raise ValueError when credentials are unusable; return the app normalised."""
    if not app.app_id or len(app.app_id) > 64:
        raise ValueError("app id must have 1 to 64 characters")
    if not app.secret:
        raise ValueError(f"app {app.app_id}: the secret must not be empty")
    if len(app.sm4_key_hex) != 32 or not set(app.sm4_key_hex) <= HEX:
        raise ValueError(f"app {app.app_id}: the SM4 key must be 32 hex digits")
    if app.sm2_public_key and (len(app.sm2_public_key) not in (128, 130)
                               or not set(app.sm2_public_key) <= HEX):
        raise ValueError(f"app {app.app_id}: the SM2 public key must be 128 or 130 hex digits")
    rate_limit = parse_rate_limit(app.rate_limit)
    try:
        tax_id = validate_taxpayer_id(app.seller_tax_id)
    except ValueError as error:
        raise ValueError(f"app {app.app_id}: seller tax id: {error}") from None
    return replace(app, seller_tax_id=tax_id, sm4_key_hex=app.sm4_key_hex.lower(), rate_limit=rate_limit)


def parse_app_spec(spec):
    """``APP_ID:SECRET:SM4KEY_HEX:SELLER_TAX_ID[:SELLER_NAME]`` -> App."""
    parts = spec.split(":", 4)
    if len(parts) < 4:
        raise ValueError("--app takes APP_ID:SECRET:SM4KEY_HEX:SELLER_TAX_ID[:SELLER_NAME]")
    return check_app(App(*parts))


def parse_quota(value):
    if value in (None, ""):
        return None
    try:
        quota = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"quota {value!r} is not a number") from None
    if not quota.is_finite() or not 0 <= quota < MAX_MAGNITUDE:
        raise ValueError(f"quota must be an amount from 0 to below {MAX_MAGNITUDE:f}")
    return quota


def parse_rate_limit(value):
    """Requests per second (0: no limit; None stays None) -> float; ValueError for anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"a rate limit is a number of requests per second >= 0, not {value!r}")
    return float(value)


class AppRegistry:
    """Apps in the database, mirrored in memory: looked up on every request."""

    _COLUMNS = ("app_id", "secret", "sm4_key_hex", "seller_tax_id", "seller_name", "sm2_public_key",
                "callback_url", "quota", "enabled", "rate_limit", "faults")

    def __init__(self, store):
        self._store = store
        self._apps = {}
        for row in store.all("SELECT * FROM apps"):
            self._apps[row["app_id"]] = self._from_row(row)

    @staticmethod
    def _from_row(row):
        return App(app_id=row["app_id"], secret=row["secret"], sm4_key_hex=row["sm4_key_hex"],
                   seller_tax_id=row["seller_tax_id"], seller_name=row["seller_name"],
                   sm2_public_key=row["sm2_public_key"], callback_url=row["callback_url"],
                   quota=parse_quota(row["quota"]), enabled=bool(row["enabled"]), rate_limit=row["rate_limit"],
                   faults=json.loads(row["faults"]))

    def get(self, app_id):
        return self._apps.get(app_id)

    def all(self):
        return sorted(self._apps.values(), key=lambda app: app.app_id)

    def by_tax_id(self, tax_id):
        return [app for app in self.all() if app.seller_tax_id == tax_id]

    def upsert(self, app_id, **changes):
        """Create an app, or change the given fields of an existing one."""
        if "quota" in changes:
            changes["quota"] = parse_quota(changes["quota"])
        current = self._apps.get(app_id)
        if current is None:
            missing = [n for n in ("secret", "sm4_key_hex", "seller_tax_id") if not changes.get(n)]
            if missing:
                raise ValueError(f"new app {app_id}: {', '.join(missing)} required")
            app = App(app_id=app_id, **changes)
        else:
            app = replace(current, **{k: v for k, v in changes.items() if v is not None})
        app = check_app(app)
        values = {name: getattr(app, name) for name in self._COLUMNS}
        values["quota"] = "" if app.quota is None else str(app.quota)
        values["enabled"] = int(app.enabled)
        values["faults"] = json.dumps(app.faults, sort_keys=True)
        with self._store.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO apps ({', '.join(self._COLUMNS)}) "  # noqa: S608
                       f"VALUES ({marks(self._COLUMNS)})",
                       [values[name] for name in self._COLUMNS])
            self._apps[app_id] = app
        return app
