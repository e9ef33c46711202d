from . import l10n_cn_einv_audit_report, l10n_cn_einv_period_report
