import datetime
import logging
import time

from odoo import api, fields, models, tools
from odoo.exceptions import UserError, ValidationError

from ..fapiao import catalogue
from ..fapiao.documents import CatalogueEntry
from ..fapiao.errors import PlatformError, TransientError
from .l10n_cn_einv_guard import check_access
from .l10n_cn_einv_lang import error_message

_logger = logging.getLogger(__name__)
CATALOGUE_CRON = "l10n_cn_einvoice.ir_cron_l10n_cn_einv_sync_catalogue"
CATALOGUE_RETRY = datetime.timedelta(hours=1)

_CREATE_BATCH = 1000
_MAX_REPORTED = 20


class L10nCnEinvTaxCode(models.Model):
    """The tax classification code table (商品和服务税收分类编码表).

    Installed from data/tax_classification_codes_v32.csv, the v32.0 table
    converted from the public repository fdstar/TaxClassificationCodeCHS
    (MIT licence, notice in data/tax_classification_codes_v32.LICENSE), then
    kept current by importing a newer file or by the platform's catalogue
    download. Both go through ``_l10n_cn_einv_upsert``. Only leaf, usable
    codes may be used on an invoice line.
    """

    _name = "l10n_cn_einv.tax.code"
    _description = "Tax Classification Code (China)"
    _order = "code"
    _parent_name = "parent_id"
    _parent_store = True
    _rec_names_search = ["code", "name", "short_name", "keywords"]

    code = fields.Char(required=True, index=True, size=catalogue.CODE_LENGTH)
    name = fields.Char(required=True)
    short_name = fields.Char(help="Printed before the item name on the invoice line, as *short name*item.")
    rates = fields.Char(
        "VAT Rates", help="Rates the code allows, as the table writes them (13%、9%). Summary rows have none.")
    keywords = fields.Char(help="Search keywords of the table, separated by 、.")
    is_summary = fields.Boolean(
        "Summary", help="A summary row groups other codes and cannot be used on an invoice line.")
    usable = fields.Boolean(default=True, help="The code is in force and may be used on new invoices.")
    vat_special = fields.Char(
        "Special VAT Management", help="增值税特殊管理: preferential policies the code may carry, such as 免税.")
    vat_special_code = fields.Char("Special VAT Management Code")
    vat_policy_basis = fields.Text("Policy Basis", help="The regulation behind the special VAT management.")
    parent_id = fields.Many2one("l10n_cn_einv.tax.code", "Parent Code", index=True, ondelete="restrict")
    parent_path = fields.Char(index=True)
    child_ids = fields.One2many("l10n_cn_einv.tax.code", "parent_id", "Child Codes")
    level = fields.Integer(help="1 for the top rows (goods, services ...), up to 10.", aggregator=False)
    version = fields.Char("Table Version")
    effective_date = fields.Date()
    # Milliseconds since 1970 as the platform sends them: beyond the 32-bit
    # Integer column, and a double holds them exactly.
    platform_updated_at = fields.Float(
        "Platform Update Time (ms)", aggregator=False,
        help="When the platform last changed the code; the next catalogue download starts there.")

    _sql_constraints = [
        ("code_unique", "unique(code)", "A tax classification code exists only once."),
    ]

    @api.depends("code", "name")
    def _compute_display_name(self):
        for record in self:
            record.display_name = f"{record.code} {record.name}" if record.code else record.name

    @api.constrains("code")
    def _check_code(self):
        for record in self:
            if not catalogue.is_code(record.code):
                raise ValidationError(self.env._(
                    "The tax classification code %(code)s must have 19 digits.", code=record.code))

    @api.constrains("parent_id")
    def _check_parent_id(self):
        if self._has_cycle():
            raise ValidationError(self.env._("A tax classification code cannot be its own ancestor."))

    # --- Cache of the table as a fapiao Catalogue ----------------------------

    @api.model_create_multi
    def create(self, vals_list):
        self.env.registry.clear_cache()
        return super().create(vals_list)

    def write(self, vals):
        self.env.registry.clear_cache()
        return super().write(vals)

    def unlink(self):
        self.env.registry.clear_cache()
        return super().unlink()

    @api.model
    def _l10n_cn_einv_catalogue(self):
        """The whole table, usable or not, as a :class:`fapiao.catalogue.Catalogue` for the rules.

        Built once per registry and rebuilt after any change of a code; the
        object is shared, so callers must not modify it.
        """
        return self._l10n_cn_einv_cached_catalogue()

    @tools.ormcache()
    def _l10n_cn_einv_cached_catalogue(self):
        self.flush_model()
        self.env.cr.execute(tools.SQL(
            """SELECT code.code, code.name, code.short_name, code.rates, code.keywords, code.is_summary,
                      code.usable, code.vat_special, code.vat_special_code, code.vat_policy_basis,
                      parent.code, code.version, code.effective_date, code.platform_updated_at
                 FROM %s code
            LEFT JOIN %s parent ON parent.id = code.parent_id""",
            tools.SQL.identifier(self._table), tools.SQL.identifier(self._table),
        ))
        return catalogue.Catalogue(_entry_from_row(row) for row in self.env.cr.fetchall())

    def _l10n_cn_einv_entry(self):
        """This code as a :class:`fapiao.documents.CatalogueEntry`."""
        self.ensure_one()
        return self._l10n_cn_einv_catalogue().get(self.code)

    def _l10n_cn_einv_allowed_rates_text(self):
        """The rates a product of this code may carry, as the table writes them (9%、0%).

        Levy rates are accepted on any code (:func:`fapiao.catalogue.allowed_rates`);
        naming them on every code would drown the code's own."""
        self.ensure_one()
        entry = self._l10n_cn_einv_entry()
        return catalogue.format_rates(
            rate for rate in catalogue.allowed_rates(entry)
            if rate not in catalogue.LEVY_RATES or rate in entry.vat_rates)

    def _l10n_cn_einv_rates(self):
        """The rates this code allows, as Decimals (0.13 for 13 %)."""
        self.ensure_one()
        return catalogue.parse_rates(self.rates)

    # --- Loading and updating the table ------------------------------------

    @api.model
    def _l10n_cn_einv_load_default_table(self):
        """Load the table shipped in data/ (at install). Returns the upsert counts."""
        started = time.monotonic()
        with open(catalogue.DEFAULT_CSV, "rb") as handle:
            entries = catalogue.check_csv(handle.read())
        counts = self._l10n_cn_einv_upsert(entries)
        _logger.info("Tax classification codes loaded in %.1f s: %s", time.monotonic() - started, counts)
        return counts

    @api.model
    def _l10n_cn_einv_apply_platform_entries(self, entries):
        """Upsert the fapiao CatalogueEntry objects the platform's catalogue download returned."""
        return self._l10n_cn_einv_upsert(entries)

    @api.model
    def _l10n_cn_einv_catalogue_since(self):
        """The newest platform update time held (ms), where the next incremental download starts."""
        newest = self.search([], order="platform_updated_at desc", limit=1)
        return int(newest.platform_updated_at or 0)

    @api.model
    def _l10n_cn_einv_sync_from_platform(self, company=None):
        """Download the codes changed on the platform since the last sync and apply them."""
        company = company or self.env.company
        since = self._l10n_cn_einv_catalogue_since()
        with company._l10n_cn_einv_provider() as client:
            entries, _server_time = client.download_catalogue(since)
        counts = self._l10n_cn_einv_apply_platform_entries(entries)
        _logger.info("Tax classification codes synchronised from the platform since %s: %s", since, counts)
        return counts

    @api.model
    def _l10n_cn_einv_cron_sync_catalogue(self):
        # One table for all companies: the first Chinese company's platform serves it.
        company = self.env["res.company"].search([("account_fiscal_country_id.code", "=", "CN")], limit=1)
        if not company:
            return
        try:
            self._l10n_cn_einv_sync_from_platform(company)
        except TransientError as error:
            # A busy or unreachable platform is no fault of the cron: raising would log a traceback
            # and count a failure (Odoo deactivates a cron after five), for a table that stays
            # valid as it is. Tried again in an hour, as the queue waits out passing failures.
            _logger.warning("Tax classification codes not synchronised this time, again in an hour: %s",
                            error.message)
            self.env.ref(CATALOGUE_CRON)._trigger(fields.Datetime.now() + CATALOGUE_RETRY)

    def action_l10n_cn_einv_sync_from_platform(self):
        # one table for every company, downloaded from the current company's platform
        check_access(self.env.company, "manager")
        try:
            counts = self._l10n_cn_einv_sync_from_platform()
        except PlatformError as error:
            raise UserError(self.env._("The tax platform did not send the catalogue: %s",
                                       error_message(error, self.env.lang))) from None
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": self.env._("Tax classification codes synchronised"),
                "message": self.env._("%(created)s new, %(updated)s changed, %(unchanged)s unchanged.", **counts),
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    @api.model
    def _l10n_cn_einv_upsert(self, entries):
        """Create the new codes of ``entries`` and update the changed ones.

        Every entry is checked (code, name, date, a parent found in the batch
        or the table) before anything is written, so a bad batch changes
        nothing and raises a UserError listing its problems. A later entry of
        the same code wins. Returns ``{"created": n, "updated": n, "unchanged": n}``.
        """
        batch = {}
        for entry in entries:
            batch[entry.code] = entry
        parent_codes = {e.parent_code for e in batch.values()} - set(catalogue.ROOT_PARENTS)
        known = {
            record.code: record
            for record in self.search([("code", "in", list(set(batch) | parent_codes))])
        }
        depths = self._l10n_cn_einv_check_batch(batch, known)

        ids = {code: record.id for code, record in known.items()}
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        updates = {}
        for depth in sorted(set(depths.values())):
            # Parents first: parent_path is computed from the parent's at creation.
            level_entries = [e for e in batch.values() if depths[e.code] == depth]
            to_create = []
            for entry in level_entries:
                values = _values(entry, ids.get(entry.parent_code, False))
                record = known.get(entry.code)
                if not record:
                    to_create.append(values)
                    continue
                changes = record._l10n_cn_einv_changes(values)
                if changes:
                    updates.setdefault(tuple(sorted(changes.items())), []).append(record.id)
                else:
                    counts["unchanged"] += 1
            for start in range(0, len(to_create), _CREATE_BATCH):
                created = self.create(to_create[start:start + _CREATE_BATCH])
                ids.update((record.code, record.id) for record in created)
                counts["created"] += len(created)
        # One write per distinct change: a new table version changes every row the same way.
        for changes, record_ids in updates.items():
            self.browse(record_ids).write(dict(changes))
            counts["updated"] += len(record_ids)
        return counts

    @api.model
    def _l10n_cn_einv_check_batch(self, batch, known):
        """Depth of each entry below the batch's own roots; UserError listing every problem."""
        problems = []
        for entry in batch.values():
            if not catalogue.is_code(entry.code):
                problems.append(self.env._("%(code)r is not a 19-digit code", code=entry.code))
                continue
            if not (entry.name or "").strip():
                problems.append(self.env._("%(code)s has no name", code=entry.code))
            if _date(entry.effective_date) is None:
                problems.append(self.env._(
                    "%(code)s: effective date %(date)r is not written YYYYMMDD",
                    code=entry.code, date=entry.effective_date))
            parent = entry.parent_code
            if parent not in catalogue.ROOT_PARENTS and parent not in batch and parent not in known:
                problems.append(self.env._(
                    "%(code)s: parent code %(parent)s is neither in the file nor in the table",
                    code=entry.code, parent=parent))
        depths = {}
        for code in batch:
            cycle = _depths_along(code, batch, depths)
            if cycle:
                problems.append(self.env._("%(code)s is its own ancestor", code=cycle))
        if problems:
            shown = problems[:_MAX_REPORTED]
            if len(problems) > _MAX_REPORTED:
                shown.append(self.env._("... and %(count)s more", count=len(problems) - _MAX_REPORTED))
            raise UserError(self.env._("The tax classification codes were not updated:\n%(problems)s",
                                       problems="\n".join(shown)))
        return depths

    def _l10n_cn_einv_changes(self, values):
        """The part of ``values`` that differs from this record."""
        self.ensure_one()
        changes = {}
        for name, value in values.items():
            current = self[name]
            if name == "parent_id":
                current = current.id
            elif name == "platform_updated_at" and not value:
                continue    # a file carries no platform time: keep the one held
            if (current or False) != (value or False):
                changes[name] = value
        return changes


def _depths_along(code, batch, depths):
    """Fill ``depths`` (0 for a code whose parent is outside the batch) along
    the parent chain of ``code``; returns a code found in a cycle, else None."""
    chain = []
    while code in batch and code not in depths:
        if code in chain:
            depths.update(dict.fromkeys(chain, 0))
            return code
        chain.append(code)
        code = batch[code].parent_code
    depth = depths[code] if code in depths else -1
    for member in reversed(chain):
        depth += 1
        depths[member] = depth
    return None


def _date(text):
    """YYYYMMDD -> date, "" -> False, anything else -> None."""
    if not text:
        return False
    try:
        return datetime.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _values(entry, parent_id):
    return {
        "code": entry.code,
        "name": entry.name.strip(),
        "short_name": entry.short_name or False,
        "rates": catalogue.format_rates(entry.vat_rates) or False,
        "keywords": entry.keywords or False,
        "is_summary": entry.is_summary,
        "usable": entry.usable,
        "vat_special": entry.vat_special or False,
        "vat_special_code": entry.vat_special_code or False,
        "vat_policy_basis": entry.vat_policy_basis or False,
        "parent_id": parent_id,
        "level": catalogue.code_level(entry.code),
        "version": entry.version or False,
        "effective_date": _date(entry.effective_date),
        "platform_updated_at": entry.updated_at or 0,
    }


def _entry_from_row(row):
    (code, name, short_name, rates, keywords, is_summary, usable, special, special_code, basis,
     parent, version, effective_date, updated_at) = row
    return CatalogueEntry(
        code=code, name=name, short_name=short_name or "", vat_rates=catalogue.parse_rates(rates),
        keywords=keywords or "", is_summary=bool(is_summary), usable=bool(usable), vat_special=special or "",
        vat_special_code=special_code or "", vat_policy_basis=basis or "", parent_code=parent or "",
        version=version or "", effective_date=effective_date.strftime("%Y%m%d") if effective_date else "",
        updated_at=int(updated_at or 0),
    )
