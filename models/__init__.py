from . import l10n_cn_einv_guard  # isort: skip (the flow mixin, which models below inherit)
from . import (
    account_move,
    account_move_red,
    account_move_reversal,
    account_move_send,
    ir_attachment,
    l10n_cn_einv_callback_refusal,
    l10n_cn_einv_dashboard,
    l10n_cn_einv_log,
    l10n_cn_einv_red_form,
    mail_render_mixin,
    payment_transaction,
    product,
    res_company,
    res_company_monitoring,
    res_company_red,
    res_config_settings,
    res_partner,
    sale_order,
    stock_picking,
    tax_code,
)

# isort: split
# After account_move_send and res_company: these overrides extend theirs.
from . import account_move_delivery, l10n_cn_einv_callback, res_company_delivery
