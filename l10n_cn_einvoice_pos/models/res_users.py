"""Store managers: the stores (POS shops) whose e-invoices a user works with."""

from odoo import api, fields, models

STORE_MANAGER_GROUP = "l10n_cn_einvoice_pos.group_l10n_cn_einv_store_manager"
HEAD_OFFICE_GROUP = "l10n_cn_einvoice.group_l10n_cn_einv_manager"


class ResUsers(models.Model):
    _inherit = "res.users"

    # Set by administrators (a user cannot change their own: not in SELF_WRITEABLE_FIELDS).
    l10n_cn_einv_pos_config_ids = fields.Many2many(
        "pos.config", "l10n_cn_einv_pos_config_store_manager_rel", "user_id", "config_id", string="E-Invoice Stores",
        help="The stores whose e-invoices and POS orders a store manager sees; nothing of other stores.")
    l10n_cn_einv_store_restricted = fields.Boolean(
        "Restricted to Their Stores", compute="_compute_l10n_cn_einv_store_restricted",
        help="A store manager who is not an e-invoice manager (head office): the record rules show them "
             "their own stores' e-invoices and POS orders only.")

    @api.depends("groups_id")
    def _compute_l10n_cn_einv_store_restricted(self):
        for user in self:
            user.l10n_cn_einv_store_restricted = bool(user.id) and user.has_group(STORE_MANAGER_GROUP) \
                and not user.has_group(HEAD_OFFICE_GROUP)

    def write(self, vals):
        result = super().write(vals)
        if any(key in ("l10n_cn_einv_pos_config_ids", "groups_id") or key.startswith(("in_group_", "sel_groups_"))
               for key in vals):
            # the record rules, cached per user, read the stores and whether the user is restricted
            self.env.registry.clear_cache()
        return result
