import base64
import csv

from odoo.exceptions import UserError
from odoo.tests import TransactionCase, tagged

from odoo.addons.l10n_cn_einvoice.fapiao.catalogue import CSV_COLUMNS, DEFAULT_CSV
from odoo.addons.l10n_cn_einvoice.fapiao.documents import CatalogueEntry

RICE = "1030102010100000000"
OTHER_SOFTWARE = "3040201990000000000"
SOFTWARE_SERVICES = "3040201000000000000"
CLOUD = "3040201050000000000"          # not in v32.0
CLOUD_STORAGE = "3040201050100000000"  # not in v32.0, child of CLOUD


def _line(code, name, short_name, rates, *, summary="N", parent, keywords=""):
    return [code, name, short_name, rates, keywords, summary, "Y", "", "", "", parent, "33.0", "20250701"]


def _csv(*rows):
    lines = [",".join(CSV_COLUMNS)] + [",".join(row) for row in rows]
    return base64.b64encode(("\n".join(lines) + "\n").encode())


@tagged("post_install", "-at_install")
class TestTaxCode(TransactionCase):
    """The classification code table: loaded at install, searchable, updatable."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Code = cls.env["l10n_cn_einv.tax.code"]

    def _code(self, code):
        return self.Code.search([("code", "=", code)])

    def _import(self, data, filename="codes.csv"):
        wizard = self.env["l10n_cn_einv.tax.code.import"].create({"file": data, "filename": filename})
        wizard.action_import()
        return wizard

    def test_table_loaded_with_its_hierarchy(self):
        self.assertEqual(self.Code.search_count([]), 4236)
        self.assertEqual(self.Code.search_count([("is_summary", "=", True)]), 678)
        with open(DEFAULT_CSV, encoding="utf-8-sig") as handle:
            parents = {row["code"]: row["parent_code"] for row in csv.DictReader(handle)}
        records = self.Code.search([])
        self.assertEqual({r.code: r.parent_id.code or "0" for r in records}, parents)
        self.assertEqual(len(records.filtered(lambda r: not r.parent_id)), 6)

        rice = self._code(RICE)
        self.assertEqual((rice.name, rice.short_name, rice.rates, rice.level), ("大米", "谷物加工品", "9%", 6))
        self.assertEqual(rice.vat_special, "免税")
        self.assertEqual(str(rice.effective_date), "2019-04-01")
        self.assertEqual(rice.display_name, f"{RICE} 大米")
        goods = self._code("1000000000000000000")
        self.assertTrue(rice.parent_path.startswith(f"{goods.id}/"))
        self.assertIn(rice, self.Code.search([("id", "child_of", goods.id)]))
        self.assertNotIn(self._code(OTHER_SOFTWARE), self.Code.search([("id", "child_of", goods.id)]))

    def test_rates_and_catalogue_for_the_rules(self):
        cereal = self._code("1030102030000000000")
        self.assertEqual([str(r) for r in cereal._l10n_cn_einv_rates()], ["0.13", "0.09"])
        table = self.Code._l10n_cn_einv_catalogue()
        self.assertEqual(len(table), 4236)
        entry = table.get(RICE)
        self.assertEqual((entry.parent_code, entry.effective_date, entry.is_summary), ("1030102010000000000",
                                                                                     "20190401", False))
        self.assertEqual(self._code(RICE)._l10n_cn_einv_entry(), entry)

    def test_search_by_keyword_code_and_name(self):
        self.assertIn(RICE, [code.code for code in self.Code.search([("display_name", "ilike", "籼米")])])
        found = self.Code.name_search("粳米")
        self.assertEqual(sorted(name for _id, name in found), ["1030101020000000000 大米粉", f"{RICE} 大米"])
        self.assertIn(self._code(RICE).id, [i for i, _name in self.Code.name_search("10301020101")])
        self.assertIn(self._code(OTHER_SOFTWARE).id, [i for i, _name in self.Code.name_search("软件服务")])

    def test_import_creates_and_updates_in_parent_order(self):
        data = _csv(
            # The child before its parent: the import orders them.
            _line(CLOUD_STORAGE, "云存储服务", "信息技术服务", "6%", parent=CLOUD, keywords="云盘、对象存储"),
            _line(CLOUD, "软件云服务", "信息技术服务", "", summary="Y", parent=SOFTWARE_SERVICES),
            _line(OTHER_SOFTWARE, "其他软件服务", "其他软件服务", "6%", parent=SOFTWARE_SERVICES),
            _line("3040201010000000000", "软件开发服务", "信息技术服务", "6%", parent=SOFTWARE_SERVICES,
                  keywords="软件开发"),
        )
        wizard = self._import(data)
        # Only the version and date of 软件开发服务 changed: updated, like 其他软件服务's short name.
        self.assertEqual((wizard.created_count, wizard.updated_count, wizard.unchanged_count), (2, 2, 0))
        self.assertEqual(wizard.state, "done")
        storage = self._code(CLOUD_STORAGE)
        self.assertEqual(storage.parent_id, self._code(CLOUD))
        self.assertEqual(storage.parent_id.parent_id, self._code(SOFTWARE_SERVICES))
        self.assertEqual((storage.level, storage.rates, storage.version), (6, "6%", "33.0"))
        self.assertIn(storage, self.Code.search([("id", "child_of", self._code(SOFTWARE_SERVICES).id)]))
        self.assertEqual(self._code(OTHER_SOFTWARE).short_name, "其他软件服务")
        self.assertIn(CLOUD_STORAGE, self.Code._l10n_cn_einv_catalogue())

        again = self._import(data)
        self.assertEqual((again.created_count, again.updated_count, again.unchanged_count), (0, 0, 4))

    def test_malformed_file_is_refused_and_nothing_is_written(self):
        data = _csv(
            _line(OTHER_SOFTWARE, "其他软件服务", "其他软件服务", "6%", parent=SOFTWARE_SERVICES),
            _line(CLOUD, "软件云服务", "信息技术服务", "6percent", parent=SOFTWARE_SERVICES),
        )
        with self.assertRaisesRegex(UserError, r"line 3, vat_rates: '6percent' is not a rate") as caught:
            self._import(data, "new.csv")
        self.assertIn("new.csv was not imported and no code was changed", str(caught.exception))
        self.assertEqual(self._code(OTHER_SOFTWARE).short_name, "信息技术服务")
        self.assertFalse(self._code(CLOUD))

    def test_unknown_parent_is_refused_and_nothing_is_written(self):
        data = _csv(
            _line(OTHER_SOFTWARE, "其他软件服务", "其他软件服务", "6%", parent=SOFTWARE_SERVICES),
            _line(CLOUD_STORAGE, "云存储服务", "信息技术服务", "6%", parent=CLOUD),
        )
        with self.assertRaisesRegex(UserError, f"{CLOUD_STORAGE}: parent code {CLOUD} is neither"):
            self._import(data)
        self.assertEqual(self._code(OTHER_SOFTWARE).short_name, "信息技术服务")
        self.assertFalse(self._code(CLOUD_STORAGE))

    def test_apply_platform_entries_upserts(self):
        self.assertEqual(self.Code._l10n_cn_einv_catalogue_since(), 0)
        table = self.Code._l10n_cn_einv_catalogue()
        renamed = table.get(OTHER_SOFTWARE)
        entries = [
            CatalogueEntry(**{**renamed.__dict__, "short_name": "其他软件服务", "updated_at": 1751328000000}),
            CatalogueEntry(code=CLOUD, name="软件云服务", short_name="信息技术服务", is_summary=True,
                           parent_code=SOFTWARE_SERVICES, version="33.0", effective_date="20250701",
                           updated_at=1751328000123),
            CatalogueEntry(code=RICE, name="大米", short_name="谷物加工品", usable=False,
                           vat_rates=table.get(RICE).vat_rates, keywords=table.get(RICE).keywords,
                           vat_special="免税", vat_special_code="1019902",
                           vat_policy_basis=table.get(RICE).vat_policy_basis,
                           parent_code="1030102010000000000", version="32.0", effective_date="20190401",
                           updated_at=1751328000001),
        ]
        counts = self.Code._l10n_cn_einv_apply_platform_entries(entries)
        self.assertEqual(counts, {"created": 1, "updated": 2, "unchanged": 0})
        self.assertEqual(self._code(OTHER_SOFTWARE).short_name, "其他软件服务")
        self.assertFalse(self._code(RICE).usable)
        self.assertTrue(self._code(CLOUD).is_summary)
        self.assertEqual(self.Code._l10n_cn_einv_catalogue_since(), 1751328000123)
        refreshed = self.Code._l10n_cn_einv_catalogue()
        self.assertIsNot(refreshed, table)
        self.assertEqual(refreshed.get(OTHER_SOFTWARE).short_name, "其他软件服务")
        self.assertFalse(refreshed.get(RICE).usable)
        self.assertEqual(refreshed.get(CLOUD).updated_at, 1751328000123)

        self.assertEqual(self.Code._l10n_cn_einv_apply_platform_entries(entries),
                         {"created": 0, "updated": 0, "unchanged": 3})

    def test_platform_entry_with_a_bad_code_changes_nothing(self):
        entries = [
            CatalogueEntry(code=CLOUD, name="软件云服务", is_summary=True, parent_code=SOFTWARE_SERVICES),
            CatalogueEntry(code="30402010501", name="太短", parent_code=CLOUD),
        ]
        with self.assertRaisesRegex(UserError, "'30402010501' is not a 19-digit code"):
            self.Code._l10n_cn_einv_apply_platform_entries(entries)
        self.assertFalse(self._code(CLOUD))
