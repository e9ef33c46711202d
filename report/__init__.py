from . import l10n_cn_einv_audit_report
