"""E-invoice analysis: one row per product line of a customer invoice or credit note in the e-invoice flow."""

from odoo import api, fields, models
from odoo.tools import SQL

from .l10n_cn_einv_buyer_title import INVOICE_TYPES

# The VAT rates (税率) and levy rates (征收率) of an e-invoice line, as the VAT return totals them.
TAX_RATES = [
    ("13", "13 %"), ("9", "9 %"), ("6", "6 %"), ("5", "5 %"), ("3", "3 %"), ("1.5", "1.5 %"), ("1", "1 %"),
    ("0", "0 % / Exempt"), ("other", "Other"),
]


class L10nCnEinvReport(models.Model):
    """E-invoice analysis, one row per product line of a customer invoice or
    credit note that entered the e-invoice flow (state other than Not Requested); an
    invoice without any product line (which can only have failed) has one row of its own,
    so that every count here is the dashboard's.

    Lines rather than invoices, so that amounts can be shared out by product,
    product category and tax classification code. Invoice-level measures
    (invoice count, issued, failed, submission-to-issue time) are carried by
    the first product line of each invoice only and are empty or zero on the
    others: summed or averaged over any grouping they count each invoice once.
    Amounts are in company currency, negative on credit notes (red invoices).
    """

    _name = "l10n_cn_einv.report"
    _description = "E-Invoice Analysis"
    _auto = False
    _rec_name = "move_id"
    _order = "date desc, move_id desc, id"

    move_id = fields.Many2one("account.move", "Invoice", readonly=True)
    company_id = fields.Many2one("res.company", "Branch", readonly=True,
                                 help="The invoice's company: a branch, or the head office itself.")
    root_company_id = fields.Many2one("res.company", "Head Office", readonly=True,
                                      help="The top of the invoice's company tree (Odoo's branches).")
    currency_id = fields.Many2one("res.currency", readonly=True)
    partner_id = fields.Many2one("res.partner", "Customer", readonly=True)
    move_type = fields.Selection(
        [("out_invoice", "Customer Invoice"), ("out_refund", "Customer Credit Note")], "Type", readonly=True)
    state = fields.Selection(selection="_selection_state", string="E-Invoice Status", readonly=True)
    invoice_type = fields.Selection(
        INVOICE_TYPES, "E-Invoice Type",
        readonly=True)
    date = fields.Date(
        readonly=True, help="Day of issue (China time); for invoices not issued yet, of the first submission.")
    issue_time = fields.Datetime(readonly=True)
    submitted_at = fields.Datetime("First Submitted", readonly=True)
    product_id = fields.Many2one("product.product", readonly=True)
    product_categ_id = fields.Many2one("product.category", "Product Category", readonly=True)
    tax_code_id = fields.Many2one("l10n_cn_einv.tax.code", "Tax Classification Code", readonly=True)
    tax_rate = fields.Selection(
        TAX_RATES, readonly=True,
        help="The line's VAT or levy rate; Other: not exactly one percentage tax.")
    quantity = fields.Float(readonly=True)
    amount_untaxed = fields.Monetary("Untaxed Amount", readonly=True)
    amount_tax = fields.Monetary("Tax", readonly=True)
    amount_total = fields.Monetary("Total", readonly=True)
    invoice_count = fields.Integer("Invoices", readonly=True)
    issued_count = fields.Integer("Issued", readonly=True)
    failed_count = fields.Integer("Failed", readonly=True)
    issue_seconds = fields.Float(
        "Submission to Issue (s)", readonly=True, aggregator="avg", digits=(16, 1),
        help="Seconds from the first submission to the platform's issue time.")

    _depends = {
        "account.move": [
            "company_id", "commercial_partner_id", "move_type", "l10n_cn_einv_state", "l10n_cn_einv_invoice_type",
            "l10n_cn_einv_issue_time", "l10n_cn_einv_submitted_at",
        ],
        "account.move.line": [
            "move_id", "display_type", "product_id", "quantity", "balance", "price_subtotal", "price_total",
            "tax_ids",
        ],
        "account.tax": ["amount", "amount_type"],
        "product.product": ["product_tmpl_id"],
        "product.template": ["categ_id", "l10n_cn_einv_tax_code_id"],
        "product.category": ["parent_path", "l10n_cn_einv_tax_code_id"],
        "res.company": ["currency_id", "parent_path"],
    }

    @api.model
    def _selection_state(self):
        return self.env["account.move"]._fields["l10n_cn_einv_state"]._description_selection(self.env)

    @property
    def _table_query(self):
        return SQL("""
            SELECT COALESCE(aml.id, -move.id) AS id,
                   move.id AS move_id,
                   move.company_id AS company_id,
                   split_part(company.parent_path, '/', 1)::int AS root_company_id,
                   company.currency_id AS currency_id,
                   move.commercial_partner_id AS partner_id,
                   move.move_type AS move_type,
                   move.l10n_cn_einv_state AS state,
                   move.l10n_cn_einv_invoice_type AS invoice_type,
                   (COALESCE(move.l10n_cn_einv_issue_time, move.l10n_cn_einv_submitted_at, move.create_date)
                        AT TIME ZONE 'UTC' AT TIME ZONE 'Asia/Shanghai')::date AS date,
                   move.l10n_cn_einv_issue_time AS issue_time,
                   move.l10n_cn_einv_submitted_at AS submitted_at,
                   aml.product_id AS product_id,
                   template.categ_id AS product_categ_id,
                   COALESCE(template.l10n_cn_einv_tax_code_id, category_code.tax_code_id) AS tax_code_id,
                   CASE WHEN aml.id IS NULL THEN NULL
                        WHEN line_tax.rate IN %(rates)s THEN line_tax.rate ELSE 'other' END AS tax_rate,
                   aml.quantity * CASE WHEN move.move_type = 'out_refund' THEN -1 ELSE 1 END AS quantity,
                   COALESCE(-aml.balance, 0) AS amount_untaxed,
                   COALESCE(-aml.balance * aml.price_total / NULLIF(aml.price_subtotal, 0), 0)
                       + COALESCE(aml.balance, 0) AS amount_tax,
                   COALESCE(-aml.balance * aml.price_total / NULLIF(aml.price_subtotal, 0), 0) AS amount_total,
                   CASE WHEN first.is_first THEN 1 ELSE 0 END AS invoice_count,
                   CASE WHEN first.is_first AND move.l10n_cn_einv_issue_time IS NOT NULL
                        THEN 1 ELSE 0 END AS issued_count,
                   CASE WHEN first.is_first AND move.l10n_cn_einv_state = 'failed' THEN 1 ELSE 0 END AS failed_count,
                   CASE WHEN first.is_first
                        THEN EXTRACT(EPOCH FROM move.l10n_cn_einv_issue_time - move.l10n_cn_einv_submitted_at)
                   END AS issue_seconds
              FROM account_move move
              LEFT JOIN account_move_line aml ON aml.move_id = move.id AND aml.display_type = 'product'
              JOIN res_company company ON company.id = move.company_id
              LEFT JOIN product_product product ON product.id = aml.product_id
              LEFT JOIN product_template template ON template.id = product.product_tmpl_id
              LEFT JOIN product_category category ON category.id = template.categ_id
              -- the code of the nearest category up the tree that has one
              LEFT JOIN LATERAL (
                    SELECT parent.l10n_cn_einv_tax_code_id AS tax_code_id
                      FROM product_category parent
                     WHERE parent.l10n_cn_einv_tax_code_id IS NOT NULL
                       AND parent.id = ANY(string_to_array(rtrim(category.parent_path, '/'), '/')::int[])
                     ORDER BY length(parent.parent_path) DESC
                     LIMIT 1
              ) category_code ON TRUE
              -- the line's rate where it has exactly one percentage tax: 13, 9, 1.5, 0 ...
              LEFT JOIN LATERAL (
                    SELECT CASE WHEN COUNT(*) = 1 AND bool_and(tax.amount_type = 'percent')
                                THEN trim_scale(MAX(tax.amount))::text END AS rate
                      FROM account_move_line_account_tax_rel rel
                      JOIN account_tax tax ON tax.id = rel.account_tax_id
                     WHERE rel.account_move_line_id = aml.id
              ) line_tax ON TRUE
             CROSS JOIN LATERAL (
                    SELECT NOT EXISTS (
                        SELECT 1 FROM account_move_line previous
                         WHERE previous.move_id = aml.move_id AND previous.display_type = 'product'
                           AND previous.id < aml.id
                    ) AS is_first
             ) first
             WHERE move.move_type IN ('out_invoice', 'out_refund')
               AND move.l10n_cn_einv_state != 'not_needed'
        """, rates=tuple(value for value, _label in TAX_RATES if value != "other"))
