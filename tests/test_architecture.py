"""The provider contract is the only door to a platform: the Odoo layer imports no provider package
(its client, wire codes, constants or sandbox), and every registered provider is selectable."""

import ast
from pathlib import Path

from odoo.tests import TransactionCase, tagged

from ..fapiao import provider
from ..models import l10n_cn_einv_platform as platform

ADDON = Path(__file__).resolve().parent.parent
ODOO_LAYER = ("models", "controllers", "report", "wizard")
# Provider-specific modules: reachable only through fapiao.provider's registry. (fapiao.client,
# fapiao.protocol and fapiao.sandbox re-export the reference provider's for scripts and old imports.)
PROVIDER_MODULES = ("providers", "client", "protocol", "sandbox")


def imported_modules(source, package):
    """(line, dotted module) of every import of ``source``, a module of ``package`` (its folder
    in the addon, as a tuple), relative imports resolved to the addon."""
    tree = ast.parse(source)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return found


def offending(source, package):
    """The imports of ``source`` that reach into a provider package."""
    found = []
    for line, module in imported_modules(source, package):
        parts = module.split(".")
        if "fapiao" in parts:
            rest = parts[parts.index("fapiao") + 1:]
            if rest and rest[0] in PROVIDER_MODULES:
                found.append((line, module))
    return found


@tagged("post_install", "-at_install")
class TestArchitecture(TransactionCase):

    def test_the_odoo_layer_imports_no_provider_package(self):
        offences = []
        for folder in ODOO_LAYER:
            for path in sorted((ADDON / folder).rglob("*.py")):
                source = path.read_text(encoding="utf-8")
                offences += [f"{path.relative_to(ADDON)}:{line} imports {module}"
                             for line, module in offending(source, path.relative_to(ADDON).parent.parts)]
        self.assertEqual(offences, [], "reach platforms through fapiao.provider's registry only")

    def test_the_check_sees_every_way_of_importing_a_provider(self):
        for source in ("from ..fapiao.providers.reference.client import PlatformClient",
                       "from ..fapiao.providers.reference import wire",
                       "from ..fapiao import protocol",
                       "from ..fapiao.client import MAX_QUERY_BATCH",
                       "import odoo.addons.l10n_cn_einvoice.fapiao.sandbox"):
            with self.subTest(source=source):
                self.assertTrue(offending(source, ("models",)))
        self.assertFalse(offending("from ..fapiao import documents, provider\nfrom . import l10n_cn_einv_vault",
                                   ("models",)))

    def test_every_registered_provider_can_be_chosen_and_has_its_settings(self):
        selection = dict(self.env["res.company"]._fields["l10n_cn_einv_provider"]._description_selection(self.env))
        for code, spec in provider.specs().items():
            self.assertIn(code, selection)
            for setting in spec.settings:
                self.assertIn(platform.setting_field(spec, setting), self.env["res.company"]._fields,
                              f"{code}: no company field for its setting {setting.name}")
        self.assertEqual(self.env.company.l10n_cn_einv_provider, "reference", "ours is the default")
