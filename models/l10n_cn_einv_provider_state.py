"""What a provider keeps between calls and shares across workers (fapiao.provider.StateStore).

An access token and its expiry, typically: platforms allow few token requests
(诺诺: 50 in 30 days), so every worker and server of a company uses the one
token, and only one of them renews it. The values are sealed like the
company's secrets (l10n_cn_einv_vault) and readable by no user; the store
works on a connection of its own, so that a lock taken by one worker and the
token it wrote are seen by the others at once, whatever their transactions.
"""

import contextlib
import threading

from odoo import fields, models
from odoo.tools import SQL

from ..fapiao import provider
from . import l10n_cn_einv_vault as vault


class L10nCnEinvProviderState(models.Model):
    _name = "l10n_cn_einv.provider.state"
    _description = "E-Invoice Provider State"
    _log_access = False

    # An id, not a relation: the store writes on its own connection, where a company created in
    # the caller's uncommitted transaction does not exist yet.
    company_id = fields.Integer(required=True, readonly=True, index=True)
    provider = fields.Char(required=True, readonly=True)
    key = fields.Char(required=True, readonly=True)
    value_sealed = fields.Char(readonly=True, groups="base.group_system")
    expires_at = fields.Float(readonly=True, help="Epoch seconds; 0 for never.")

    _sql_constraints = [
        ("l10n_cn_einv_provider_state_unique", "UNIQUE(company_id, provider, key)",
         "A provider keeps one value per key and company."),
    ]


class CompanyStateStore(provider.StateStore):
    """The StateStore of one company and provider, on the table above."""

    def __init__(self, registry, company_id, provider_code):
        self._registry = registry
        self._company_id = company_id
        self._provider = provider_code
        # key -> the cursor holding its lock, per thread: a provider's sending threads share its
        # store, and a thread reading while another renews must not use the renewer's cursor
        self._local = threading.local()

    @property
    def _held(self):
        held = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = {}
        return held

    def _name(self, key):
        return f"provider_state:{self._provider}:{key}"

    def get(self, key):
        cursor = self._held.get(key)
        with contextlib.nullcontext(cursor) if cursor else self._registry.cursor() as cr:
            cr.execute(SQL("SELECT value_sealed, expires_at FROM l10n_cn_einv_provider_state "
                           "WHERE company_id = %s AND provider = %s AND key = %s",
                           self._company_id, self._provider, key))
            row = cr.fetchone()
        value = vault.open_sealed(self._company_id, self._name(key), row[0]) if row else None
        return None if value is None else (value, row[1] or 0.0)

    def put(self, key, value, expires_at=0.0):
        cr = self._held.get(key)
        if cr is None:
            raise RuntimeError(f"provider state {key!r} is written only under its lock")
        cr.execute(SQL("""
            INSERT INTO l10n_cn_einv_provider_state (company_id, provider, key, value_sealed, expires_at)
            VALUES (%(company)s, %(provider)s, %(key)s, %(value)s, %(expires)s)
            ON CONFLICT (company_id, provider, key)
            DO UPDATE SET value_sealed = EXCLUDED.value_sealed, expires_at = EXCLUDED.expires_at
        """, company=self._company_id, provider=self._provider, key=key,
            value=vault.seal(self._company_id, self._name(key), value), expires=expires_at or 0.0))

    @contextlib.contextmanager
    def lock(self, key):
        with self._registry.cursor() as cr:
            if not self._registry.in_test_mode():   # a test's cursor is one transaction: it sees its own writes
                # READ COMMITTED: once the lock is ours, what the previous holder committed is visible
                cr.execute("SET TRANSACTION ISOLATION LEVEL READ COMMITTED")
            cr.execute(SQL("SELECT pg_advisory_xact_lock(hashtext(%s))",
                           f"l10n_cn_einv_provider_state:{self._company_id}:{self._provider}:{key}"))
            self._held[key] = cr
            try:
                yield
            finally:
                del self._held[key]
        # leaving the cursor's block commits what was put, and releases the lock
