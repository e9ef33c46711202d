{
    "name": "China - Fully Digitalised E-Invoice (数电票): Point of Sale",
    "version": "18.0.1.0.0",
    "summary": "Issue 数电票 at the till: invoice titles, walk-in buyers, the e-invoice number on the receipt",
    "category": "Accounting/Localizations/EDI",
    "countries": ["cn"],
    "license": "LGPL-3",
    "author": "l10n_cn_einvoice developers",
    "depends": ["l10n_cn_einvoice", "point_of_sale"],
    "data": [
        "security/l10n_cn_einvoice_pos_security.xml",
        "views/pos_order_views.xml",
        "views/res_users_views.xml",
        "views/l10n_cn_einv_dashboard_views.xml",
        "views/l10n_cn_einv_report_views.xml",
        "views/account_move_views.xml",
    ],
    "assets": {
        "point_of_sale._assets_pos": [
            "l10n_cn_einvoice_pos/static/src/app/**/*",
        ],
        "web.assets_tests": [
            "l10n_cn_einvoice_pos/static/tests/tours/**/*",
        ],
    },
    "post_init_hook": "_l10n_cn_einv_pos_post_init",
    "installable": True,
    "auto_install": True,
}
