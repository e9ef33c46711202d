# Odoo always imports an addon as odoo.addons.<name>. Plain pytest may import
# this file under another name while collecting fapiao/ (a package inside the
# addon): the Odoo models must not load then.
if __name__.startswith("odoo.addons."):
    from . import controllers, models, report, wizard


def _l10n_cn_einv_post_init(env):
    # 4,236 codes: loaded in batches by the ORM, far faster than an XML data file.
    env["l10n_cn_einv.tax.code"]._l10n_cn_einv_load_default_table()
    env["res.company"].search([])._l10n_cn_einv_generate_credentials()
