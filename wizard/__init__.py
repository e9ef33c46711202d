from . import (
    l10n_cn_einv_audit_wizard,
    l10n_cn_einv_batch_result,
    l10n_cn_einv_login_wizard,
    l10n_cn_einv_period_wizard,
    tax_code_check,
    tax_code_import,
    tax_code_suggest,
)
