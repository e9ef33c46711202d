#!/usr/bin/env bash
# make demo: Odoo with the addon on a demo database, issuing on the embedded sandbox platform.
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
    echo "==> Creating the demo database '$DB' with l10n_cn_einvoice (about two minutes)"
    "$PYTHON" "$ODOO_BIN" -c "$CONF" -d "$DB" -i l10n_cn_einvoice,sale_management --stop-after-init \
        --max-cron-threads=0 --log-level=warn
fi
echo "==> Demo company, products, customers and orders (the embedded sandbox issues one e-invoice)"
"$PYTHON" "$ODOO_BIN" shell -c "$CONF" -d "$DB" --no-http --log-level=warn < "$ROOT/scripts/demo_data.py"
cat <<MSG

==> Odoo is starting: open http://127.0.0.1:$PORT
    login admin, password admin (database $DB), company 示例科技有限公司.
    Sales > Orders: open a confirmed order and click "Issue e-invoice".
    E-invoices go to the sandbox tax platform embedded in this Odoo (no account needed).
    Ctrl-C stops it.

MSG
exec "$PYTHON" "$ODOO_BIN" -c "$CONF" -d "$DB" --db-filter="^$DB\$" \
    --http-interface=127.0.0.1 --http-port="$PORT"
