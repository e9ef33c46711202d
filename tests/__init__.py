from . import (
    test_auto_issue,
    test_einvoice_concurrency,
    test_einvoice_config,
    test_einvoice_issue,
    test_i18n,
    test_install,
    test_product_partner,
    test_red_reversal,
    test_returns,
    test_tax_code,
    test_tour,
)
