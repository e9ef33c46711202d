"""Screenshots of a running demo for the README (docs/screenshots/*.png).

Usage: python3 scripts/screenshots.py http://127.0.0.1:8069 DATABASE
Drives Debian's headless Chromium over the DevTools protocol (websocket-client):
logs in as admin and captures the pages a newcomer goes through.
"""

import base64
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    def __init__(self):
        self.port = free_port()
        self.profile = tempfile.mkdtemp(prefix="l10n_cn_einv_shots_")
        self.process = subprocess.Popen([
            "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--remote-debugging-port={self.port}", f"--user-data-dir={self.profile}",
            "--window-size=1440,900", "--lang=zh-CN", "about:blank",
        ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                pages = json.load(urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json"))
                break
            except OSError:
                time.sleep(0.1)
        page = next(p for p in pages if p["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=30)
        self.next_id = 0

    def send(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {})

    def goto(self, url, settle=4.0):
        self.send("Page.navigate", url=url)
        time.sleep(settle)

    def js(self, expression):
        return self.send("Runtime.evaluate", expression=expression, awaitPromise=True).get("result", {})

    def shot(self, name):
        data = self.send("Page.captureScreenshot", format="png")["data"]
        (OUT / name).write_bytes(base64.b64decode(data))
        print("wrote", OUT / name)

    def close(self):
        self.process.terminate()


def main(base, database):
    OUT.mkdir(parents=True, exist_ok=True)
    browser = Browser()
    try:
        browser.goto(f"{base}/web/login?db={database}")
        browser.js("document.querySelector('#login').value='admin';"
                   "document.querySelector('#password').value='admin';"
                   "document.querySelector('form.oe_login_form').submit();")
        time.sleep(4)
        browser.goto(f"{base}/odoo/orders")
        browser.shot("1-orders.png")
        order_id = browser.js(
            "fetch('/web/dataset/call_kw/sale.order/search_read', {method: 'POST', headers: "
            "{'Content-Type': 'application/json'}, body: JSON.stringify({jsonrpc: '2.0', method: 'call', "
            "params: {model: 'sale.order', method: 'search_read', args: [[['invoice_status', '=', 'to invoice'], "
            "['state', '=', 'sale']]], kwargs: {fields: ['id'], limit: 1}}})})"
            ".then(r => r.json()).then(j => j.result[0].id)")["value"]
        browser.goto(f"{base}/odoo/orders/{order_id}")
        browser.shot("2-order-before-issue.png")
        browser.js("document.querySelector(\"button[name='action_l10n_cn_einv_issue']\").click()")
        time.sleep(5)
        browser.js("[...document.querySelectorAll('.o_notebook .nav-link')].find(a => "
                   "a.innerText.includes('E-Invoice') || a.innerText.includes('电子发票'))?.click()")
        time.sleep(2)
        browser.shot("3-order-issued.png")
        browser.goto(f"{base}/odoo/action-account.action_move_out_invoice_type")
        browser.shot("4-invoices.png")
    finally:
        browser.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
