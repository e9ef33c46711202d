#!/usr/bin/env bash
# make demo: start Odoo with the addon installed on a demo database.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DB="${DEMO_DB:-l10n_cn_einvoice_demo}"
PORT="${DEMO_PORT:-8069}"
CONF="$ROOT/.odoo/odoo.conf"
[ -f "$CONF" ] || { echo "No $CONF: run 'make setup' first." >&2; exit 1; }
ODOO_BIN="$(cd / && "$PYTHON" -c 'import odoo, os; print(os.path.join(os.path.dirname(odoo.__path__[0]), "odoo-bin"))')" \
    || { echo "Odoo 18 is not importable: run 'make setup'." >&2; exit 1; }

if ! psql -d "$DB" -Atc "select 1 from ir_module_module where name='l10n_cn_einvoice' and state='installed'" \
        2>/dev/null | grep -q 1; then
    echo "==> Creating demo database '$DB' with l10n_cn_einvoice and demo data (about a minute)"
    "$PYTHON" "$ODOO_BIN" -c "$CONF" -d "$DB" -i l10n_cn_einvoice --stop-after-init \
        --max-cron-threads=0 --log-level=warn
fi
echo "==> Odoo: http://127.0.0.1:$PORT  (login admin / password admin, database $DB). Ctrl-C stops it."
exec "$PYTHON" "$ODOO_BIN" -c "$CONF" -d "$DB" --db-filter="^$DB\$" \
    --http-interface=127.0.0.1 --http-port="$PORT"
