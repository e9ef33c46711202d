from . import l10n_cn_einv_files_zip, main, portal, self_invoice
