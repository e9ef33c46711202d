"""The e-invoice analysis by store: the POS shop of each invoice."""

from odoo import fields, models
from odoo.tools import SQL


class L10nCnEinvReport(models.Model):
    _inherit = "l10n_cn_einv.report"

    pos_config_id = fields.Many2one("pos.config", "Store", readonly=True,
                                    help="The Point of Sale shop whose order the invoice bills.")

    _depends = {"account.move": ["l10n_cn_einv_pos_config_id"]}

    @property
    def _table_query(self):
        return SQL("""
            SELECT report.*, store_move.l10n_cn_einv_pos_config_id AS pos_config_id
              FROM (%s) report
              JOIN account_move store_move ON store_move.id = report.move_id
        """, super()._table_query)
