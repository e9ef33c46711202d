"""Callback events: each processed once, in the transaction of the change it brings."""



from odoo import api, fields, models
from odoo.tools import SQL

from ..fapiao import provider
from ..fapiao.provider import CallbackRefused
from .l10n_cn_einv_callback_nonce import CLAIM_CONFLICTS


class L10nCnEinvCallbackEvent(models.Model):
    _name = "l10n_cn_einv.callback.event"
    _description = "E-Invoice Callback Event"
    _order = "id desc"
    _rec_name = "event_id"

    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True, ondelete="cascade")
    event_id = fields.Char("Event ID", required=True, readonly=True)
    event = fields.Char(required=True, readonly=True)
    occurred_at = fields.Char(readonly=True)
    res_model = fields.Char("Related Model", readonly=True)
    res_id = fields.Many2oneReference("Related Record", model_field="res_model", readonly=True)
    note = fields.Char(readonly=True)

    _sql_constraints = [
        ("l10n_cn_einv_event_unique", "UNIQUE(company_id, event_id)", "A callback event is processed only once."),
    ]

    @api.model
    def _l10n_cn_einv_claim(self, company, event):
        """Record the event for this transaction: the event row, False when it was processed before.

        Raises CallbackRefused(CALLBACK_BUSY) while another transaction processes the same event
        (it holds the event's transaction lock): the platform delivers it again later. A delivery
        whose snapshot predates the commit of the one that processed it meets that row as a unique
        or serialization failure: processed before, too."""
        cr = self.env.cr
        # processed and committed before this transaction began: no need to wait for anybody
        cr.execute(SQL("SELECT 1 FROM l10n_cn_einv_callback_event WHERE company_id = %s AND event_id = %s",
                       company.id, event.event_id))
        if cr.fetchone():
            return False
        cr.execute(SQL("SELECT pg_try_advisory_xact_lock(hashtext('l10n_cn_einv_callback_event'), hashtext(%s))",
                       f"{company.id}:{event.event_id}"))
        if not cr.fetchone()[0]:
            raise CallbackRefused(provider.CALLBACK_BUSY, f"event {event.event_id} is being processed right now")
        try:
            with cr.savepoint(flush=False):
                cr.execute(SQL("""
                    INSERT INTO l10n_cn_einv_callback_event (company_id, event_id, event, occurred_at,
                                                             create_uid, create_date, write_uid, write_date)
                    VALUES (%s, %s, %s, %s, %s, NOW() AT TIME ZONE 'UTC', %s, NOW() AT TIME ZONE 'UTC')
                    ON CONFLICT (company_id, event_id) DO NOTHING RETURNING id
                """, company.id, event.event_id, event.name, (event.occurred_at or "")[:64],
                    self.env.uid, self.env.uid), log_exceptions=False)
                row = cr.fetchone()
        except CLAIM_CONFLICTS:
            return False
        return self.browse(row[0]) if row else False
