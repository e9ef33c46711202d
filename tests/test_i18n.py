"""The Simplified Chinese translation is complete, well-formed and current.

When a test here fails after you added or changed a user-visible string, run
``make i18n`` (re-exports i18n/l10n_cn_einvoice.pot from an installed database
and merges it into i18n/zh_CN.po), translate the entries it lists, and run the
tests again.
"""

import re
from collections import Counter
from pathlib import Path

import polib
from lxml import etree

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import TranslationModuleReader

MODULE = "l10n_cn_einvoice"
LANG = "zh_CN"
I18N = Path(__file__).resolve().parent.parent / "i18n"
POT_PATH = I18N / f"{MODULE}.pot"
PO_PATH = I18N / f"{LANG}.po"
HINT = "run make i18n, translate what it lists in i18n/zh_CN.po, and run the tests again"

# %s, %(name)s, %r, %d, %.2f, %%; {name}, {0}, {}, {{ expr }}. No space flag, so
# prose such as "10 % of orders" is not mistaken for a placeholder.
PLACEHOLDER_RE = re.compile(r"%(?:\([^)]*\))?[#0+-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{\{.*?\}\}|\{[\w.]*\}")
TAG_RE = re.compile(r"</?[A-Za-z][^<>]*>")


def _short(text, width=90):
    line = " ".join(text.split())
    return repr(line if len(line) <= width else line[: width - 1] + "…")


def _edges(text):
    """The leading and the trailing whitespace (line breaks and indentation included)."""
    stripped = text.strip()
    if not stripped:
        return text, ""
    start = text.index(stripped)
    return text[:start], text[start + len(stripped):]


def _placeholders(text):
    """Positional ones (%s, %d) counted; named ones (%(name)s, {name}) and literal %% as a set,
    since a translation may use a named value once or twice."""
    found = PLACEHOLDER_RE.findall(text)
    named = {p for p in found if p.startswith(("%(", "{")) or p == "%%"}
    positional = Counter(p for p in found if p not in named)
    return positional, named


def translation_problems(pot, po):
    """Every way zh_CN.po falls short of the template, one line each."""
    entries = {entry.msgid: entry for entry in po if not entry.obsolete}
    problems = []
    for template in pot:
        msgid = template.msgid
        entry = entries.get(msgid)
        if entry is None:
            problems.append(f"missing: {_short(msgid)}")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {_short(msgid)}")
            continue
        msgstr = entry.msgstr
        if not msgstr.strip():
            problems.append(f"untranslated: {_short(msgid)}")
            continue
        if _placeholders(msgid) != _placeholders(msgstr):
            problems.append(f"placeholders differ: {sorted(PLACEHOLDER_RE.findall(msgid))} in {_short(msgid)} "
                            f"but {sorted(PLACEHOLDER_RE.findall(msgstr))} in {_short(msgstr)}")
        if Counter(TAG_RE.findall(msgid)) != Counter(TAG_RE.findall(msgstr)):
            problems.append(f"markup differs: {_short(msgid)} -> {_short(msgstr)}")
        if _edges(msgid) != _edges(msgstr):
            problems.append(f"leading/trailing whitespace differs: {_short(msgid)} -> {_short(msgstr)}")
    return problems


@tagged("post_install", "-at_install")
class TestI18n(TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.pot = polib.pofile(str(POT_PATH))
        cls.po = polib.pofile(str(PO_PATH))
        cls.translations = {entry.msgid: entry.msgstr for entry in cls.po if entry.translated()}

    def zh(self, msgid):
        """The translation zh_CN.po gives for msgid (which must have one)."""
        self.assertIn(msgid, self.translations, f"{msgid!r} has no translation in {PO_PATH.name}: {HINT}")
        translated = self.translations[msgid]
        self.assertNotEqual(translated, msgid)
        return translated

    def test_po_header(self):
        self.assertEqual(self.po.metadata.get("Language"), LANG)
        self.assertIn("charset=UTF-8", self.po.metadata.get("Content-Type", ""))

    def test_every_template_string_translated(self):
        self.assertTrue(len(self.pot), "the template is empty")
        problems = translation_problems(self.pot, self.po)
        if problems:
            self.fail(f"{PO_PATH.name} is not complete ({len(problems)} problems; {HINT}):\n" + "\n".join(problems))

    def test_problems_are_detected(self):
        """The completeness check itself catches what it is meant to catch."""
        pot = polib.POFile()
        po = polib.POFile()
        cases = {
            "Issue %(count)s e-invoices": "开具 %(number)s 张数电票",     # wrong placeholder
            "Line %s": "第 行",                                           # lost placeholder
            "<strong>Failed</strong>": "失败",                            # lost markup
            "\n    Indented\n": "缩进",                                   # lost whitespace
            "Untranslated": "",
            "Fuzzy": "模糊",
            "Twice %(n)s%%": "一次 %(n)s%% 两次 %(n)s%%",
            "Wrong %%": "错误",                                          # lost literal percent
        }
        for msgid, msgstr in cases.items():
            pot.append(polib.POEntry(msgid=msgid, msgstr=""))
            po.append(polib.POEntry(msgid=msgid, msgstr=msgstr, flags=["fuzzy"] if msgid == "Fuzzy" else []))
        pot.append(polib.POEntry(msgid="Missing", msgstr=""))
        problems = "\n".join(translation_problems(pot, po))
        for msgid in (cases.keys() - {"Twice %(n)s%%"}) | {"Missing"}:
            self.assertIn(_short(msgid), problems)
        self.assertNotIn("Twice", problems)

    def test_template_is_current(self):
        """Every term Odoo's exporter finds in the installed addon is in the .pot."""
        reader = TranslationModuleReader(self.env.cr, [MODULE])
        current = {}
        for module, ttype, name, _res_id, source, _value, _comments in reader:
            # the Point of Sale bridge lies inside the addon's directory: its files are its own
            if module == MODULE and f"/{MODULE}_pos/" not in name:
                current.setdefault(source, f"{ttype}:{name}")
        self.assertTrue(current, "Odoo's exporter found no term in the addon")
        template = {entry.msgid for entry in self.pot}
        missing = sorted(source for source in current if source not in template)
        if missing:
            self.fail(f"{len(missing)} strings of the addon are not in {POT_PATH.name} ({HINT}):\n"
                      + "\n".join(f"{_short(source)}  [{current[source]}]" for source in missing))

    def test_translations_load_through_the_orm(self):
        self.env["res.lang"]._activate_lang(LANG)
        self.env["ir.module.module"]._load_module_terms([MODULE], [LANG], overwrite=True)
        admin = self.env.ref("base.user_admin")
        Move = self.env["account.move"].with_user(admin).with_context(lang=LANG)

        # A field label and a selection label of account.move.
        description = Move.fields_get(["l10n_cn_einv_state"])["l10n_cn_einv_state"]
        self.assertEqual(description["string"], self.zh("E-Invoice Status"))
        self.assertEqual(dict(description["selection"])["issued"], self.zh("Issued"))

        # A button the addon adds to the invoice form, in the combined arch.
        arch = Move.get_view(self.env.ref("account.view_move_form").id, "form")["arch"]
        buttons = etree.fromstring(arch).xpath("//button[@name='action_l10n_cn_einv_issue']")
        self.assertTrue(buttons, "no Issue e-invoice button in the invoice form")
        self.assertEqual(buttons[0].get("string"), self.zh("Issue e-invoice"))

        # A menu and the help of a field on another model.
        menu = self.env.ref("l10n_cn_einvoice.menu_l10n_cn_einv_log").with_context(lang=LANG)
        self.assertEqual(menu.name, self.zh("Platform Log"))
        Partner = self.env["res.partner"].with_context(lang=LANG)
        self.assertEqual(Partner.fields_get(["l10n_cn_einv_title_name"])["l10n_cn_einv_title_name"]["string"],
                         self.zh("Invoice Title"))

        # A message raised from Python code with _().
        company = self.env["res.company"].with_context(lang=LANG).new({"l10n_cn_einv_retry_schedule": "x"})
        with self.assertRaises(UserError) as caught:
            company._l10n_cn_einv_retry_waits()
        self.assertEqual(
            str(caught.exception),
            self.zh("The retry waits must be whole numbers of seconds separated by commas, "
                    "such as 10,30,60 (got “%s”).") % "x")
