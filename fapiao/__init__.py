"""Pure-Python core of the China fully digitalised e-invoice addon.

Nothing here imports Odoo: documents, crypto, domain rules, the provider
contract and the provider packages (each with its client, wire format and
simulator) run and are tested on their own. Relative imports only, so the
package works both as ``fapiao`` and as ``odoo.addons.l10n_cn_einvoice.fapiao``.
"""

from . import providers  # registers the provider packages (fapiao.provider.get)
