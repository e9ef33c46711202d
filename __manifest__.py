{
    "name": "China - Fully Digitalised E-Invoice (数电票)",
    "version": "18.0.1.0.0",
    "summary": "Issue, deliver and red-reverse Chinese fully digitalised e-invoices "
               "through the tax platform, from invoices and sale orders",
    "category": "Accounting/Localizations/EDI",
    "countries": ["cn"],
    "license": "LGPL-3",
    "author": "l10n_cn_einvoice developers",
    "depends": [
        "account",
        "l10n_cn",
        "sale_management",
        "stock",
        "sale_stock",
        "portal",
        "mail",
    ],
    "external_dependencies": {
        "python": [
            "cryptography>=42",
            "gmssl",
            "python-stdnum",
            "requests",
            "qrcode",
            "reportlab",
        ],
    },
    "data": [
    ],
    "installable": True,
    "application": False,
}
