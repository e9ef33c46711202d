"""Getting an Odoo database ready for a run against the sandbox process: shared by the benchmarks
(bench_odoo.py) and the real-server soak (soak_server.py), so that both measure the same set-up.

A database of its own with the addon installed; a registry in this process (no server); a Chinese
seller company connected to the sandbox process, with products and a customer; posted invoices.
Work that needs Odoo runs in a fresh process per phase (``run_phase`` / ``phase_main``): one
phase's caches and memory do not colour the next, and the driver itself never loads Odoo.
"""

import configparser
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
APP_ID, SECRET, SM4_KEY = "bench-app", "bench-secret-0123456789", "00112233445566778899aabbccddeeff"
SELLER_TAX_ID = "91350100M000100Y43"
SELLER_NAME = "基准测试科技有限公司"
BUYER_TAX_ID = "91310000MA1FL0XL39"
QUOTA = "100000000000"     # the month's credit: far more than any run issues


def odoo_bin():
    import odoo
    return os.path.join(os.path.dirname(odoo.__path__[0]), "odoo-bin")


def create_database(conf, db):
    """Drop ``db`` if it exists and install the addon into it afresh (no demo data)."""
    subprocess.run(["dropdb", "--if-exists", db], check=True)
    subprocess.run([sys.executable, odoo_bin(), "-c", str(conf), "-d", db, "-i", "l10n_cn_einvoice",
                    "--without-demo=all", "--stop-after-init", "--max-cron-threads=0", "--log-level=warn"],
                   check=True, cwd=ROOT)


def open_registry(conf, db):
    """The database's registry in this process, quiet and without cron threads."""
    import odoo
    from odoo.tools import config
    if not getattr(open_registry, "configured", False):   # Odoo's options are parsed once a process
        config.parse_config(["-c", str(conf), "-d", db, "--log-level=warn", "--max-cron-threads=0"])
        open_registry.configured = True
    return odoo.modules.registry.Registry(db)


def superuser_env(cr):
    from odoo import SUPERUSER_ID, api
    return api.Environment(cr, SUPERUSER_ID, {"lang": "en_US"})


def admin(url, path, body=None):
    """The sandbox's admin API (docs/sandbox.md §9): POST with a body, GET without."""
    import requests
    if body is None:
        response = requests.get(url + path, timeout=60)
    else:
        response = requests.post(url + path, json=body, timeout=30)
    response.raise_for_status()
    return response.json()


def register_app(url, **values):
    """The seller's application on the sandbox process (``values``: rateLimit ...)."""
    return admin(url, "/admin/apps", {"appId": APP_ID, "secret": SECRET, "sm4Key": SM4_KEY, "quota": QUOTA,
                                      "sellerTaxId": SELLER_TAX_ID, "sellerName": SELLER_NAME, **values})


def seller(env, url, lines, **company_values):
    """A Chinese company issuing through the sandbox process at ``url`` (its chart of accounts, a
    13 % tax, ``lines`` products with a classification code, a customer), the admin user working
    in it as an e-invoice manager. ``company_values``: more settings of the company. Committed."""
    from odoo import Command
    cr = env.cr
    company = env["res.company"].create({
        "name": SELLER_NAME, "country_id": env.ref("base.cn").id,
        "currency_id": env.ref("base.CNY").id, "vat": SELLER_TAX_ID,
        "l10n_cn_einv_seller_address_phone": "福州市鼓楼区五四路 100 号 0591-87654321",
        "l10n_cn_einv_issuer": "王会计",
    })
    env["account.chart.template"].try_loading("cn", company=company, install_demo=False)
    cr.commit()
    company.sudo().write({
        "l10n_cn_einv_endpoint": url, "l10n_cn_einv_app_id": APP_ID,
        "l10n_cn_einv_app_secret": SECRET, "l10n_cn_einv_sm4_key": SM4_KEY,
        # delivery by e-mail is its own feature, and there is no mail server here
        "l10n_cn_einv_auto_deliver": False,
        **company_values,
    })
    admin_user = env.ref("base.user_admin")
    admin_user.write({"company_ids": [Command.link(company.id)], "company_id": company.id,
                      "groups_id": [Command.link(env.ref("l10n_cn_einvoice.group_l10n_cn_einv_manager").id)]})
    env = env(context=dict(env.context, allowed_company_ids=[company.id]))
    tax = env["account.tax"].create({
        "name": "增值税 13%", "amount": 13.0, "amount_type": "percent", "type_tax_use": "sale",
        "price_include_override": "tax_excluded", "company_id": company.id})
    code = env["l10n_cn_einv.tax.code"].search([("code", "=", "1090511030000000000")])
    products = env["product.product"].create([{
        "name": f"打印机配件 {index}", "list_price": 100.0 + index, "default_code": f"P-{index:02d}",
        "company_id": company.id, "taxes_id": [Command.set(tax.ids)], "l10n_cn_einv_tax_code_id": code.id,
    } for index in range(lines)])
    buyer = env["res.partner"].create({
        "name": "上海某某贸易有限公司", "is_company": True, "country_id": env.ref("base.cn").id,
        "vat": BUYER_TAX_ID, "email": "finance@buyer.example.cn"})
    cr.commit()
    return SimpleNamespace(env=env, company=company, products=products, buyer=buyer)


def existing_seller(env, url, lines, **company_values):
    """The seller of an earlier ``seller`` call in this database, on the sandbox at ``url`` now."""
    company = env["res.company"].search([("vat", "=", SELLER_TAX_ID)], limit=1)
    company.sudo().write({"l10n_cn_einv_endpoint": url, **company_values})
    env = env(context=dict(env.context, allowed_company_ids=[company.id]))
    products = env["product.product"].search([("company_id", "=", company.id)], order="id", limit=lines)
    buyer = env["res.partner"].search([("vat", "=", BUYER_TAX_ID)], limit=1)
    env.cr.commit()
    return SimpleNamespace(env=env, company=company, products=products, buyer=buyer)


def create_invoices(seller, count, lines, tag, quick=False):
    """``count`` draft invoices of ``lines`` lines to the seller's customer, committed. ``quick``:
    set-up only, without chatter and tracking."""
    from odoo import Command
    model = seller.env["account.move"]
    if quick:
        model = model.with_context(tracking_disable=True)
    moves = model.create([{
        "move_type": "out_invoice", "partner_id": seller.buyer.id, "invoice_date": "2026-11-20",
        "company_id": seller.company.id, "ref": f"{tag}-{index}",
        "invoice_line_ids": [Command.create({"product_id": product.id, "quantity": 1 + line,
                                             "price_unit": product.list_price})
                             for line, product in enumerate(seller.products[:lines])],
    } for index in range(count)])
    seller.env.cr.commit()
    return moves


def wait_for_http(base, process, timeout=60):
    """Until the Odoo server at ``base`` answers (RuntimeError if ``process`` ends first or it
    takes longer than ``timeout`` seconds)."""
    import requests
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.post(base + "/web/webclient/version_info", json={}, timeout=2).raise_for_status()
            return
        except requests.RequestException:
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the Odoo server did not start") from None
            time.sleep(0.3)


# --- a real server, and the database seen from outside Odoo ---------------------------------------

def connect(conf, db):
    """A psycopg2 connection to ``db`` with the server's credentials, in autocommit: every look
    sees what is committed now."""
    import psycopg2
    options = configparser.ConfigParser()
    options.read(conf)
    section = options["options"] if options.has_section("options") else {}
    values = {name: section.get(f"db_{name}") for name in ("host", "port", "user", "password")}
    values = {name: value for name, value in values.items() if value and value != "False"}
    connection = psycopg2.connect(dbname=db, **values)
    connection.autocommit = True
    return connection


def query(db, sql, params=()):
    with db.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall()


def query_none(db, sql, params=()):
    """A statement that returns no rows (VACUUM, CHECKPOINT: outside a transaction, as autocommit is)."""
    with db.cursor() as cr:
        cr.execute(sql, params)


def start_server(conf, db, log_path, *, workers, cron_threads, options=()):
    """``odoo-bin`` in prefork mode (``workers`` HTTP workers, ``cron_threads`` cron workers) on
    ``db``, logging to ``log_path``; returns the process and its URL once it answers."""
    from sandbox_process import free_port
    http_port = free_port()
    command = [sys.executable, odoo_bin(), "-c", str(conf), "-d", db, "--db-filter", f"^{db}$",
               f"--workers={workers}", f"--max-cron-threads={cron_threads}",
               "--http-interface=127.0.0.1", f"--http-port={http_port}", f"--gevent-port={free_port()}",
               f"--logfile={log_path}", "--log-level=info", *options]
    # a session of its own: stopping it reaches every process it forked, and nothing else
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base = f"http://127.0.0.1:{http_port}"
    try:
        wait_for_http(base, server, timeout=120)
    except BaseException:
        stop_server(server)
        raise
    return server, base


def stop_server(server):
    """SIGTERM (Odoo stops its workers gracefully), then SIGKILL to its process group if it lingers."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(server.pid, signal.SIGKILL)   # workers left behind, if any
    except ProcessLookupError:
        pass
    if server.poll() is None:
        server.wait(10)


def children(pid):
    """The processes whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


# --- phases: each in a fresh Odoo process ------------------------------------------------------

def run_phase(script, name, *arguments):
    """Run phase ``name`` of ``script`` (which calls ``phase_main``) in a fresh process; its
    arguments and result go as JSON."""
    began = time.monotonic()
    done = subprocess.run([sys.executable, str(script), name], input=json.dumps(arguments), capture_output=True,
                          text=True, cwd=ROOT, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        raise RuntimeError(f"phase {name} failed:\n{done.stdout[-3000:]}\n{done.stderr[-5000:]}")
    print(f"  {name}: {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    return json.loads(lines[-1][len("RESULT "):])


def phase_main(phases):
    """In a phase's process: run the phase named on the command line with the arguments on stdin."""
    name, arguments = sys.argv[1], json.loads(sys.stdin.read() or "[]")
    result = phases[name](*arguments)
    print("RESULT " + json.dumps(result), flush=True)
