from . import (
    test_pos_concurrency,
    test_pos_einvoice,
    test_pos_i18n,
    test_pos_self_invoice,
    test_pos_store_manager,
    test_pos_tour,
)
