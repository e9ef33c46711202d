from . import models, wizard


def _l10n_cn_einv_post_init(env):
    # 4,236 codes: loaded in batches by the ORM, far faster than an XML data file.
    env["l10n_cn_einv.tax.code"]._l10n_cn_einv_load_default_table()
