"""The bridge's Simplified Chinese translation is complete and its template current (make i18n)."""

from pathlib import Path

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

from odoo.addons.l10n_cn_einvoice.tests.test_i18n import translation_problems

MODULE = "l10n_cn_einvoice_pos"
I18N = Path(__file__).resolve().parent.parent / "i18n"


@tagged("post_install", "-at_install")
class TestPosI18n(TransactionCase):
    def test_every_template_string_translated(self):
        pot = polib.pofile(str(I18N / f"{MODULE}.pot"))
        problems = translation_problems(pot, polib.pofile(str(I18N / "zh_CN.po")))
        self.assertTrue(len(pot))
        self.assertFalse(problems, "run make i18n and translate:\n" + "\n".join(problems))

    def test_template_is_current(self):
        template = {entry.msgid for entry in polib.pofile(str(I18N / f"{MODULE}.pot"))}
        current = {source for module, _type, _name, _id, source, _value, _comments
                   in TranslationModuleReader(self.env.cr, [MODULE]) if module == MODULE}
        self.assertTrue(current)
        self.assertFalse(sorted(current - template), "run make i18n: strings missing from the template")
