"""POS sessions: a store manager opens the tills of their own stores only, and works their own
till in full: cash in and out, closing."""

from odoo import api, models
from odoo.exceptions import AccessError


class PosSession(models.Model):
    _inherit = "pos.session"

    @api.model_create_multi
    def create(self, vals_list):
        # point_of_sale creates sessions as superuser for POS users, and its /pos/ui controller
        # opens any shop's till as superuser: the record rules do not stop either, so check the user.
        user = self.env.user
        if user.l10n_cn_einv_store_restricted:
            config_ids = {vals.get("config_id") or self.env.context.get("default_config_id") for vals in vals_list}
            if config_ids - {None, False} - set(user.l10n_cn_einv_pos_config_ids.ids):
                raise AccessError(self.env._("You can only open the tills of your own stores."))
        return super().create(vals_list)

    def _l10n_cn_einv_as_store_manager(self):
        """The sessions to work on: as superuser for a store manager once they are known to be theirs.
        A store manager sees no journal entry but their stores' e-invoices (the store rules), while
        point_of_sale writes and reads a session's cash moves and closing entries as the user."""
        if self.env.user.l10n_cn_einv_store_restricted:
            self.check_access("write")
            return self.sudo()
        return self

    def try_cash_in_out(self, _type, amount, reason, extras):
        return super(PosSession, self._l10n_cn_einv_as_store_manager()).try_cash_in_out(_type, amount, reason, extras)

    def _validate_session(self, balancing_account=False, amount_to_balance=0, bank_payment_method_diffs=None):
        return super(PosSession, self._l10n_cn_einv_as_store_manager())._validate_session(
            balancing_account, amount_to_balance, bank_payment_method_diffs)
