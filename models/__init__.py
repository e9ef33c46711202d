from . import (
    account_move,
    account_move_send,
    l10n_cn_einv_log,
    payment_transaction,
    product,
    res_company,
    res_config_settings,
    res_partner,
    sale_order,
    tax_code,
)
