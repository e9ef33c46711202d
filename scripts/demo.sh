#!/usr/bin/env bash
# make demo: Odoo with the addon on a demo database, in Simplified Chinese, issuing on the
# embedded sandbox platform. DEMO_DB (default l10n_cn_einvoice_demo) and DEMO_PORT (8069).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
DB="${DEMO_DB:-l10n_cn_einvoice_demo}"
PORT="${DEMO_PORT:-8069}"
CONF="$ROOT/.odoo/odoo.conf"
missing() { echo "make demo: $*" >&2; exit 1; }

[ -f "$CONF" ] || missing "no .odoo/odoo.conf: run 'make setup' first"
ODOO_BIN="$(cd / && "$PYTHON" -c 'import odoo.release, os; print(os.path.join(os.path.dirname(os.path.dirname(odoo.release.__file__)), "odoo-bin"))' 2>/dev/null)" \
    || missing "Odoo 18 is not importable by $PYTHON: run 'make setup'"
command -v pg_isready >/dev/null || missing "the PostgreSQL client tools are missing: run 'make setup'"
pg_isready -q || missing "PostgreSQL does not answer on its local socket: run 'make setup' (it starts the server)"
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    missing "port $PORT is already in use: choose another one, e.g. DEMO_PORT=8070 make demo"
fi

if ! psql -d "$DB" -Atc "select 1 from ir_module_module where name='l10n_cn_einvoice' and state='installed'" \
        2>/dev/null | grep -q 1; then
    echo "==> Creating the demo database '$DB' with l10n_cn_einvoice, in Simplified Chinese (a few minutes)"
    "$PYTHON" "$ODOO_BIN" -c "$CONF" -d "$DB" -i l10n_cn_einvoice,sale_management,point_of_sale --load-language=zh_CN \
        --stop-after-init --max-cron-threads=0 --no-http --log-level=warn
fi
if ! psql -d "$DB" -Atc "select 1 from ir_module_module where name='l10n_cn_einvoice_pos' and state='installed'" \
        2>/dev/null | grep -q 1; then
    echo "==> Installing the Point of Sale bridge l10n_cn_einvoice_pos (with point_of_sale)"
    "$PYTHON" "$ODOO_BIN" -c "$CONF" -d "$DB" -i l10n_cn_einvoice_pos \
        --stop-after-init --max-cron-threads=0 --no-http --log-level=warn
fi
echo "==> Demo company, products, customers and orders (the embedded sandbox issues one e-invoice)"
"$PYTHON" "$ODOO_BIN" shell -c "$CONF" -d "$DB" --no-http --log-level=warn < "$ROOT/scripts/demo_data.py"
cat <<MSG

==> Odoo is starting: open http://127.0.0.1:$PORT
    login admin, password admin (database $DB), company 示例科技有限公司, in Simplified Chinese.
    销售 > 订单 > 订单 (Sales > Orders): open a confirmed order and click "开具数电票" (Issue e-invoice).
    销售点 (Point of Sale): the shops 北京王府井店 and 上海南京路店 of 示例科技有限公司, each with paid
    orders, some e-invoiced at the till. Open a shop, pick a customer with an invoice title (or enter
    a walk-in title), pay with "开票" (Invoice): the receipt shows the 数电票 number.
    Head office view: as admin, 发票 > 报表 > 数电票 > 数电票仪表板 (Invoicing > Reporting > E-Invoicing
    (China) > E-Invoice Dashboard) shows every shop ("按门店", "门店与税率"). Store manager of
    北京王府井店: login wangfujing, password wangfujing: that shop's till, orders and e-invoices only.
    Settings: 发票 > 配置 > 设置 (Invoicing > Configuration > Settings), section 全面数字化的电子发票.
    E-invoices go to the sandbox tax platform embedded in this Odoo (no account needed).
    Company 诺诺示例商贸有限公司 issues through 诺诺 instead, on the 诺诺 simulator embedded in this
    Odoo: its settings show 诺诺's own block (App Key, Get token, credit quota).
    Ctrl-C stops it.

MSG
exec "$PYTHON" "$ODOO_BIN" -c "$CONF" -d "$DB" --db-filter="^$DB\$" \
    --http-interface=127.0.0.1 --http-port="$PORT"
