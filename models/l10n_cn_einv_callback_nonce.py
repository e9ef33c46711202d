"""Nonces of callbacks proven the platform's: each is accepted once."""

import contextlib
from datetime import timedelta

import psycopg2

from odoo import api, fields, models
from odoo.tools import SQL

# A nonce can be replayed only while its timestamp is fresh: at most the platform's window on either
# side of the moment it was first seen. Older ones are pruned; ten minutes outlast every platform's
# window (ours: 5 minutes either way).
NONCE_RETENTION = timedelta(minutes=10)
# A claim that meets a concurrent one: a row another transaction inserted (and committed after this
# transaction's snapshot) answers a unique or a serialization failure instead of "nothing to do".
CLAIM_CONFLICTS = (psycopg2.errors.UniqueViolation, psycopg2.errors.SerializationFailure)


class L10nCnEinvCallbackNonce(models.Model):
    _name = "l10n_cn_einv.callback.nonce"
    _description = "E-Invoice Callback Nonce"
    _log_access = False

    company_id = fields.Many2one("res.company", required=True, readonly=True, ondelete="cascade")
    nonce = fields.Char(required=True, readonly=True)
    received_at = fields.Datetime(required=True, readonly=True, index=True)

    _sql_constraints = [
        ("l10n_cn_einv_nonce_unique", "UNIQUE(company_id, nonce)", "A callback nonce is used only once."),
    ]

    @api.model
    def _l10n_cn_einv_claim(self, company, nonce):
        """Remember ``nonce`` for ``company``; False when it was already used. Forgets old nonces."""
        now = fields.Datetime.now()
        cr = self.env.cr
        # one pruner at a time; another's deletions committed after this snapshot fail it: skipped,
        # the next callback prunes
        with contextlib.suppress(psycopg2.OperationalError), cr.savepoint(flush=False):
            cr.execute(SQL("""
                DELETE FROM l10n_cn_einv_callback_nonce
                 WHERE received_at < %s
                   AND (SELECT pg_try_advisory_xact_lock(hashtext('l10n_cn_einv_callback_nonce_prune')))
            """, now - NONCE_RETENTION), log_exceptions=False)
        try:
            with cr.savepoint(flush=False):
                cr.execute(SQL("""
                    INSERT INTO l10n_cn_einv_callback_nonce (company_id, nonce, received_at) VALUES (%s, %s, %s)
                    ON CONFLICT (company_id, nonce) DO NOTHING RETURNING id
                """, company.id, nonce, now), log_exceptions=False)
                return bool(cr.fetchone())
        except CLAIM_CONFLICTS:
            return False    # the same nonce in a concurrent request: a replay
