from odoo.tests import TransactionCase, tagged


@tagged("post_install", "-at_install")
class TestInstall(TransactionCase):
    """The addon is installed with its dependencies and its Python core loads."""

    def test_module_installed(self):
        module = self.env["ir.module.module"].search([("name", "=", "l10n_cn_einvoice")])
        self.assertEqual(module.state, "installed")
        for dependency in ("account", "l10n_cn", "sale_stock", "portal"):
            self.assertEqual(
                self.env["ir.module.module"].search([("name", "=", dependency)]).state,
                "installed", dependency,
            )

    def test_fapiao_core_importable_through_odoo(self):
        from odoo.addons.l10n_cn_einvoice.fapiao import crypto, taxid

        self.assertEqual(
            crypto.sm3_hex(b"abc"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
        )
        self.assertTrue(taxid.is_valid_taxpayer_id("91350100M000100Y43"))
