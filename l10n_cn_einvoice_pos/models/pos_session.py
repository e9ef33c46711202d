"""POS sessions: a store manager opens the tills of their own stores only."""

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
