from . import (
    account_move,
    l10n_cn_einv_dashboard,
    l10n_cn_einv_report,
    pos_order,
    pos_session,
    res_company,
    res_partner,
    res_users,
)
