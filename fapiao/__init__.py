"""Pure-Python core of the China fully digitalised e-invoice addon.

Nothing here imports Odoo: protocol, crypto, domain rules and the sandbox
platform run and are tested on their own. Relative imports only, so the
package works both as ``fapiao`` and as ``odoo.addons.l10n_cn_einvoice.fapiao``.
"""
