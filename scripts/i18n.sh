#!/usr/bin/env bash
# make i18n: bring the translation templates and the Simplified Chinese
# translations of the addon and of its Point of Sale bridge (l10n_cn_einvoice_pos/,
# with its own i18n/) up to date with the code.
#
#   scripts/i18n.sh [DATABASE]
#
# 1. Exports i18n/l10n_cn_einvoice.pot from a database where the addon is
#    installed, with Odoo's own exporter (--i18n-export), i.e. every field
#    label, help, selection value, view term, menu, action and _() string.
#    Without DATABASE (or I18N_DB) a temporary database is created by
#    installing the addon, and dropped afterwards; a given database must have
#    the addon installed, and it is updated (-u) first.
# 2. Merges the template into i18n/zh_CN.po with msgmerge: new strings come in
#    untranslated (never guessed from similar ones), removed ones are kept as
#    obsolete (#~) entries for reference.
# 3. Reports how many entries of zh_CN.po are untranslated or fuzzy and lists
#    them: translate those, then run the tests (tests/test_i18n.py fails while
#    any is left).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
MODULE=l10n_cn_einvoice
BRIDGE=l10n_cn_einvoice_pos     # installed with the addon here, exported into its own i18n/
CONFIG="$ROOT/.odoo/odoo.conf"
POT="i18n/$MODULE.pot"
PO="i18n/zh_CN.po"
DB="${1:-${I18N_DB:-}}"

die() { printf 'i18n: %s\n' "$*" >&2; exit 1; }
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        die "'$*' needs root"; fi
}

cd "$ROOT"
[ -f "$CONFIG" ] || die "no $CONFIG: run 'make setup' first"
ODOO_SRC="$(cd / && "$PYTHON" -c 'import odoo, os; print(os.path.dirname(odoo.__path__[0]))' 2>/dev/null)" \
    || die "Odoo is not importable with $PYTHON: run 'make setup' first"
ODOO_BIN="$ODOO_SRC/odoo-bin"
[ -f "$ODOO_BIN" ] || die "no odoo-bin next to the importable Odoo ($ODOO_SRC)"

if ! command -v msgmerge >/dev/null; then
    command -v apt-get >/dev/null || die "msgmerge is missing: install GNU gettext"
    echo "==> installing gettext (msgmerge)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null \
        || die "apt-get could not install gettext"
fi

TMP="$(mktemp -d)"
TEMP_DB=""
cleanup() {
    if [ -n "$TEMP_DB" ]; then dropdb --if-exists "$TEMP_DB" 2>/dev/null || true; fi
    rm -rf "$TMP"
}
trap cleanup EXIT

if [ -z "$DB" ]; then
    TEMP_DB="${MODULE}_i18n_$$"
    DB="$TEMP_DB"
    echo "==> installing $MODULE and $BRIDGE into the temporary database $DB (a few minutes; log in $TMP/install.log)"
    dropdb --if-exists "$DB" 2>/dev/null || true
    "$PYTHON" "$ODOO_BIN" -c "$CONFIG" -d "$DB" -i "$MODULE,$BRIDGE" --stop-after-init \
        --max-cron-threads=0 >"$TMP/install.log" 2>&1 \
        || { tail -40 "$TMP/install.log" >&2; die "installing $MODULE and $BRIDGE failed (see above)"; }
    if grep -E '^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) ' "$TMP/install.log" >&2; then
        echo "i18n: WARNING: the installation logged the errors above; the export may miss strings" >&2
    fi
else
    echo "==> updating $MODULE and $BRIDGE in the database $DB so that the export sees the current code (log in $TMP/update.log)"
    "$PYTHON" "$ODOO_BIN" -c "$CONFIG" -d "$DB" -u "$MODULE,$BRIDGE" --stop-after-init \
        --max-cron-threads=0 >"$TMP/update.log" 2>&1 \
        || { tail -40 "$TMP/update.log" >&2; die "updating $MODULE in $DB failed (see above)"; }
fi

# Keep a template untouched when only its timestamps would change.
strip_dates() { grep -v -e '^"POT-Creation-Date: ' -e '^"PO-Revision-Date: ' "$1"; }

# export_module NAME DIR: export NAME's terms into DIR/NAME.pot and merge them into DIR/zh_CN.po.
export_module() {
    local name="$1" dir="$2"
    local pot="$dir/$name.pot" po="$dir/zh_CN.po"
    echo "==> exporting $pot"
    "$PYTHON" "$ODOO_BIN" -c "$CONFIG" -d "$DB" --i18n-export="$TMP/$name.pot" \
        --modules="$name" --max-cron-threads=0 --log-level=warn 2>"$TMP/export.log" \
        || { cat "$TMP/export.log" >&2; die "the export failed"; }
    grep -v "Running as user 'root' is a security risk" "$TMP/export.log" >&2 || true
    [ -s "$TMP/$name.pot" ] || die "the export wrote nothing"
    if [ "$name" = "$MODULE" ]; then
        # The bridge's files lie inside the addon's directory: Odoo's exporter counts their
        # strings as the addon's too. They belong to the bridge's own template only.
        "$PYTHON" - "$TMP/$name.pot" "addons/$MODULE/$BRIDGE/" <<'PY'
import sys

import polib

pot = polib.pofile(sys.argv[1], wrapwidth=78)
inside = sys.argv[2]
for entry in list(pot):
    kept = [(path, line) for path, line in entry.occurrences if inside not in path]
    if len(kept) == len(entry.occurrences):
        continue
    if not kept:
        pot.remove(entry)
        continue
    entry.occurrences = kept
    code = [path for path, _line in kept if path.startswith("code:")]
    kinds = {"odoo-python": any(path.endswith(".py") for path in code),
             "odoo-javascript": any(not path.endswith(".py") for path in code)}
    entry.comment = "\n".join(line for line in entry.comment.splitlines() if kinds.get(line, True))
pot.save(sys.argv[1])
PY
    fi
    if [ -f "$pot" ] && cmp -s <(strip_dates "$pot") <(strip_dates "$TMP/$name.pot"); then
        echo "    unchanged"
    else
        cp "$TMP/$name.pot" "$pot"
        echo "    updated: $(grep -c '^msgid ' "$pot") msgids (including the header)"
    fi

    echo "==> merging it into $po"
    if [ ! -f "$po" ]; then
        msginit --no-translator --locale=zh_CN.UTF-8 --input="$pot" --output-file="$po"
    fi
    msgmerge --quiet --update --no-fuzzy-matching --backup=none "$po" "$pot"

    "$PYTHON" - "$po" <<'PY'
import sys

import polib

po = polib.pofile(sys.argv[1])
todo = [e for e in po if not e.obsolete and (not e.msgstr or "fuzzy" in e.flags)]
obsolete = po.obsolete_entries()
print(f"    {len(po.translated_entries())} translated, {len(todo)} untranslated or fuzzy, "
      f"{len(obsolete)} obsolete")
for entry in todo:
    print("    TODO:", entry.msgid.splitlines()[0][:100])
if todo:
    print(f"{len(todo)} entries of {sys.argv[1]} need a translation (then run make test).")
else:
    print(f"{sys.argv[1]} is complete.")
PY
}

export_module "$MODULE" i18n
export_module "$BRIDGE" "$BRIDGE/i18n"
