"""The sandbox as a platform: catalogue, callbacks, fault injection, the admin
endpoint, restarts on the same database and the command line."""

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from fapiao.providers.reference import protocol
from fapiao.providers.reference.sandbox import DEFAULT_APP, Sandbox

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
    return value


# --- catalogue --------------------------------------------------------------------------------

def test_catalogue_full_download_in_pages(wire):
    first = wire.ok("catalogue.download", {"since": 0, "page": 1, "pageSize": 1000})
    assert (first["total"], first["pageCount"], first["version"]) == (4236, 5, "32.0")
    assert len(first["items"]) == 1000 and isinstance(first["serverTime"], int)
    codes = [item["code"] for page in range(1, 6)
             for item in wire.ok("catalogue.download", {"since": 0, "page": page, "pageSize": 1000})["items"]]
    assert len(codes) == len(set(codes)) == 4236 and codes == sorted(codes)
    item = first["items"][0]
    assert set(item) >= {"code", "name", "shortName", "vatRates", "isSummary", "usable", "updatedAt"}
    assert wire.ok("catalogue.download", {"page": 6, "pageSize": 1000})["items"] == []
    assert wire.call("catalogue.download", {"pageSize": 1001}).code == "1001"
    assert wire.call("catalogue.download", {"page": 0}).code == "1001"


def test_catalogue_incremental_after_admin_upsert(wire, sandbox, make_invoice):
    server_time = wire.ok("catalogue.download", {"since": 0, "pageSize": 10})["serverTime"]
    assert wire.ok("catalogue.download", {"since": server_time})["total"] == 0
    changed = {"code": "1090509010000000000", "name": "电子计算机整机", "shortName": "计算机",
               "vatRates": ["0.13"], "version": "32.1"}
    added = {"code": "1090509990000000000", "name": "量子计算机", "shortName": "量子计算机",
             "vatRates": ["0.13", "0.09"], "version": "32.1", "parentCode": "1090509000000000000"}
    answer = requests.post(sandbox.url + "/admin/catalogue", json={"items": [changed, added]}, timeout=5)
    assert answer.json() == {"upserted": 2, "version": "32.1"}
    since = wire.ok("catalogue.download", {"since": server_time})
    assert [item["code"] for item in since["items"]] == [changed["code"], added["code"]]
    assert all(item["updatedAt"] > server_time for item in since["items"]) and since["version"] == "32.1"
    # The platform's own checks use the new table at once.
    payload = make_invoice("CAT-1")
    payload["lines"][0].update(classificationCode=added["code"], name="*量子计算机*原型机")
    assert wire.call("invoice.issue", payload).code == "0000"
    bad = requests.post(sandbox.url + "/admin/catalogue", json={"items": [{"code": "1"}]}, timeout=5)
    assert bad.status_code == 400


# --- callbacks -------------------------------------------------------------------------------------

class Receiver:
    """A tiny ERP callback endpoint on loopback that records what it gets."""

    def __init__(self, failures=0):
        self.received = []
        self.failures = failures
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.path, dict(self.headers), body))
                ok = receiver.failures <= 0
                receiver.failures -= 1
                answer = json.dumps({"code": "0000" if ok else "9999"}).encode()
                self.send_response(200 if ok else 500)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/erp/fapiao-events"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def events(self, app):
        """Verify every delivery like an ERP must, and return the decrypted events."""
        events = []
        for path, headers, body in self.received:
            assert path == "/erp/fapiao-events"
            assert headers[protocol.H_APP_ID] == app.app_id
            assert protocol.timestamp_fresh(headers[protocol.H_TIMESTAMP])
            canonical = protocol.canonical_request("POST", path, headers[protocol.H_TIMESTAMP],
                                                   headers[protocol.H_NONCE], body)
            assert protocol.signature_matches(app.secret.encode(), canonical, headers[protocol.H_SIGNATURE])
            events.append(protocol.open_envelope(bytes.fromhex(app.sm4_key_hex), body))
        return events

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(failures=0):
        made.append(Receiver(failures))
        return made[-1]

    yield make
    for one in made:
        one.close()


def test_pending_results_are_called_back_signed(wire, sandbox, app, make_invoice, receiver):
    erp = receiver()
    sandbox.add_app(app.app_id, callback_url=erp.url)
    sandbox.set_faults(app.app_id, pending_rate=1.0, pending_seconds=30)
    wire.ok("invoice.issue", make_invoice("CB-1"))
    sandbox.set_faults(app.app_id, pending_fail_rate=1.0)
    wire.ok("invoice.issue", make_invoice("CB-2"))
    assert erp.received == []
    sandbox.advance_clock(31)
    wait_for(lambda: len(erp.received) == 2)
    events = {event["data"]["serialNo"]: event for event in erp.events(app)}
    assert events["CB-1"]["event"] == "invoice.issued" and len(events["CB-1"]["data"]["invoiceNumber"]) == 20
    assert events["CB-2"]["event"] == "invoice.failed" and events["CB-2"]["data"]["failureCode"]
    assert all(e["eventId"].startswith("evt-") and e["occurredAt"].endswith("+08:00") for e in events.values())
    listed = requests.get(sandbox.url + "/admin/callbacks", params={"appId": app.app_id}, timeout=5).json()
    assert [(c["event"], c["status"], c["attempts"]) for c in listed["callbacks"]] == \
        [("invoice.issued", "delivered", 1), ("invoice.failed", "delivered", 1)]


def test_form_changes_are_called_back_and_retried(wire, sandbox, app, make_invoice, receiver):
    erp = receiver(failures=1)
    sandbox.add_app(app.app_id, callback_url=erp.url)
    number = wire.ok("invoice.issue", make_invoice("CB-F"))["invoiceNumber"]
    form = sandbox.buyer_apply_red_form(number, reason="01")
    wire.ok("redform.confirm", {"formNumber": form["formNumber"]})
    # The first attempt failed, retried after 1 s. The ERP has a delivery before the platform has its
    # answer: wait for both, or the platform may still hold the retry as pending.
    wait_for(lambda: len(erp.received) == 3 and all(
        d["status"] == "delivered" for d in sandbox.callback_deliveries(app.app_id)), seconds=8)
    events = erp.events(app)
    assert [e["event"] for e in events] == ["redform.changed"] * 3
    # Two changes (03 raised, 04 confirmed), delivered side by side: whichever reached the ERP
    # first was refused, and only that one came again.
    statuses = [e["data"]["status"] for e in events]
    assert sorted(set(statuses)) == ["03", "04"]
    refused = statuses[0]
    assert statuses.count(refused) == 2
    assert all(e["data"]["direction"] == "inbound" for e in events)
    attempts = sorted((d["status"], d["attempts"]) for d in sandbox.callback_deliveries(app.app_id))
    assert attempts == [("delivered", 1), ("delivered", 2)]


# --- faults ------------------------------------------------------------------------------------

def test_busy_answers_9001_and_processes_nothing(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, busy=1.0, retry_after=7)
    answer = wire.call("invoice.issue", make_invoice("F-BUSY"))
    assert (answer.response.status_code, answer.code, answer.body["retryAfter"], answer.signed) == \
        (503, "9001", 7, True)
    sandbox.set_faults(app.app_id, busy=0.0)
    assert wire.ok("invoice.query", {"serialNos": ["F-BUSY"]})["notFound"] == ["F-BUSY"]
    assert sandbox.stats(app.app_id)["faults"] == {"busy": 1, "failedRequests": 1}


def test_drop_closes_the_connection_and_processes_nothing(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, drop=1.0)
    with pytest.raises(requests.ConnectionError):
        wire.call("invoice.issue", make_invoice("F-DROP"))
    sandbox.set_faults(app.app_id, drop=0.0)
    assert wire.ok("invoice.query", {"serialNos": ["F-DROP"]})["notFound"] == ["F-DROP"]
    assert sandbox.stats(app.app_id)["faults"] == {"drop": 1, "failedRequests": 1}


def test_lost_processes_then_closes_the_connection(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, lost=1.0)
    with pytest.raises(requests.ConnectionError):
        wire.call("invoice.issue", make_invoice("F-LOST"))
    sandbox.set_faults(app.app_id, lost=0.0)
    result = wire.ok("invoice.query", {"serialNos": ["F-LOST"]})["results"][0]
    assert result["status"] == "issued"  # it was processed, though nobody heard: query before sending again
    assert sandbox.stats(app.app_id)["faults"] == {"lost": 1, "failedRequests": 1}


def test_timeout_processes_then_answers_too_late(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, timeout=1.0, timeout_seconds=1.0)
    with pytest.raises(requests.ReadTimeout):
        wire.call("invoice.issue", make_invoice("F-TIME"), timeout=0.3)
    sandbox.set_faults(app.app_id, timeout=0.0)
    result = wire.ok("invoice.query", {"serialNos": ["F-TIME"]})["results"][0]
    assert result["status"] == "issued"  # it was processed: query before sending again


def test_malformed_processes_then_answers_garbage(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, malformed=1.0)
    response, sent = wire.request("invoice.issue", make_invoice("F-MAL"))
    assert response.status_code == 200
    with pytest.raises(ValueError):
        json.loads(response.content)
    canonical = protocol.canonical_response(200, protocol.SERVICES["invoice.issue"],
                                            response.headers[protocol.H_TIMESTAMP],
                                            response.headers[protocol.H_NONCE],
                                            request_nonce=sent[protocol.H_NONCE], body=response.content)
    assert protocol.signature_matches(app.secret.encode(), canonical, response.headers[protocol.H_SIGNATURE])
    sandbox.set_faults(app.app_id, malformed=0.0)
    assert wire.ok("invoice.query", {"serialNos": ["F-MAL"]})["results"][0]["status"] == "issued"


def test_slow_answers_late_but_normally(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, slow=1.0, slow_seconds=0.3)
    started = time.monotonic()
    assert wire.call("invoice.issue", make_invoice("F-SLOW")).code == "0000"
    assert time.monotonic() - started >= 0.3
    assert sandbox.stats(app.app_id)["faults"] == {"slow": 1}


def test_faults_come_after_authentication_and_validation(wire, sandbox, app, make_invoice):
    sandbox.set_faults(app.app_id, busy=1.0)
    assert wire.call("invoice.issue", make_invoice(), headers={protocol.H_SIGNATURE: "0" * 64}).code == "2003"
    assert wire.call("invoice.query", {"serialNos": []}).code == "1001"
    assert sandbox.stats(app.app_id)["faults"] == {}


def test_seeded_rates_are_reproducible(tmp_path, make_invoice, wire_for):
    def codes(name):
        with Sandbox(tmp_path / name, fault_busy=0.5, fault_seed=42) as sandbox:
            caller = wire_for(sandbox.url, sandbox.default_app)
            return [caller.call("invoice.issue", make_invoice(f"SEED-{i}", app=sandbox.default_app)).code
                    for i in range(20)]

    first = codes("a.db")
    assert first == codes("b.db")
    assert set(first) == {"0000", "9001"}


def test_admin_faults_endpoint(wire, sandbox, app, make_invoice):
    url = sandbox.url + "/admin/faults"
    answer = requests.post(url, json={"appId": app.app_id, "busy": 1, "retryAfter": 3}, timeout=5)
    assert answer.status_code == 200 and answer.json()["faults"]["busy"] == 1.0
    assert wire.call("quota.query").body["retryAfter"] == 3
    assert requests.get(url, params={"appId": app.app_id}, timeout=5).json()["faults"]["retryAfter"] == 3
    assert requests.post(url, json={"appId": app.app_id, "busy": 2}, timeout=5).status_code == 400
    assert requests.post(url, json={"appId": app.app_id, "explode": 1}, timeout=5).status_code == 400
    assert requests.post(url, json={"appId": "nobody", "busy": 0}, timeout=5).status_code == 404


# --- admin endpoint -------------------------------------------------------------------------------

def test_admin_routes(wire, sandbox, app, make_invoice):
    admin = sandbox.url + "/admin"
    number = wire.ok("invoice.issue", make_invoice("ADM-1"))["invoiceNumber"]
    stats = requests.get(admin + "/stats", params={"appId": app.app_id}, timeout=5).json()
    assert (stats["invoices"], stats["byStatus"], stats["requests"]["byCode"]) == (1, {"issued": 1}, {"0000": 1})
    invoices = requests.get(admin + "/invoices", params={"appId": app.app_id}, timeout=5).json()["invoices"]
    assert [i["invoiceNumber"] for i in invoices] == [number]
    clock = requests.post(admin + "/clock", json={"advanceSeconds": 3600}, timeout=5).json()
    assert clock["offsetSeconds"] == 3600 and requests.get(admin + "/clock", timeout=5).json()["nowMs"] >= \
        clock["nowMs"]
    assert requests.post(admin + "/clock", json={"advanceSeconds": -1}, timeout=5).status_code == 400
    assert requests.post(admin + "/invoices/confirm-use", json={"invoiceNumber": number},
                         timeout=5).json()["invoice"]["invoiceNumber"] == number
    created = requests.post(admin + "/apps", timeout=5, json={
        "appId": "shop-2", "secret": "s2", "sm4Key": "00112233445566778899aabbccddeeff",
        "sellerTaxId": "91110108MA01ABCD1E", "sellerName": "二号店", "quota": "1000"}).json()
    assert created["appId"] == "shop-2" and created["quota"] == "1000"
    apps = requests.get(admin + "/apps", timeout=5).json()["apps"]
    assert {a["appId"] for a in apps} == {"sandbox-demo", "shop-2"}
    assert "secret" not in json.dumps(apps) and "00112233" not in json.dumps(apps)
    assert requests.post(admin + "/apps", json={"appId": "x", "secret": "s"}, timeout=5).status_code == 400
    assert requests.get(admin + "/nothing", timeout=5).status_code == 404
    assert requests.post(admin + "/clock", data=b"{", timeout=5).status_code == 400
    assert requests.post(admin + "/red-forms/buyer-confirm", json={"formNumber": "1"},
                         timeout=5).json()["code"] == "3002"
    assert requests.get(sandbox.url + "/health", timeout=5).json() == {"status": "ok"}


def test_admin_endpoint_serves_only_loopback_clients():
    from fapiao.providers.reference.sandbox import admin

    assert admin._loopback("127.0.0.1") and admin._loopback("::1") and admin._loopback("127.0.1.1")
    assert not admin._loopback("192.168.1.20") and not admin._loopback("10.0.0.1")


# --- persistence and the command line -----------------------------------------------------------------

def test_restart_keeps_invoices_nonces_sequence_and_clock(tmp_path, make_invoice, wire_for):
    db = tmp_path / "persist.db"
    with Sandbox(db) as sandbox:
        app = sandbox.default_app
        caller = wire_for(sandbox.url, app)
        response, sent = caller.request("invoice.issue", make_invoice("P-1", app=app))
        first = caller.read(response, sent, app, protocol.SERVICES["invoice.issue"]).data
        body = protocol.seal(app.sm4_key, make_invoice("P-2", app=app))
        path = protocol.SERVICES["invoice.issue"]
        kept_headers = protocol.request_headers(app.app_id, app.secret_bytes, path, body)
        assert caller.session.post(sandbox.url + path, data=body, headers=kept_headers,
                                   timeout=5).json()["code"] == "0000"
        sandbox.advance_clock(600)
    with Sandbox(db) as sandbox:
        caller = wire_for(sandbox.url, sandbox.default_app)
        found = caller.ok("invoice.query", {"serialNos": ["P-1", "P-2"]})["results"]
        assert found[0] == first and len(found) == 2
        replay = caller.session.post(sandbox.url + path, data=body, headers=kept_headers, timeout=5)
        assert replay.json()["code"] == "2005"
        third = caller.ok("invoice.issue", make_invoice("P-3", app=sandbox.default_app))
        assert int(third["invoiceNumber"]) == int(first["invoiceNumber"]) + 2
        assert sandbox.clock_state()["offsetSeconds"] == 600


def test_command_line_help():
    done = subprocess.run([sys.executable, "-m", "fapiao.sandbox", "--help"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30, check=True)
    for option in ("--host", "--port", "--db", "--app", "--no-default-app", "--timestamp-window",
                   "--admin-token", "--catalogue", "--quota", "--callback-url", "--fault-busy",
                   "--retry-after", "--fault-timeout", "--timeout-seconds", "--fault-drop", "--fault-lost",
                   "--fault-malformed", "--fault-slow", "--slow-seconds", "--fault-seed", "--pending-rate",
                   "--pending-seconds", "--pending-fail-rate", "--log-level", "--rate-limit", "--latency"):
        assert option in done.stdout


def test_command_line_refuses_bad_values(tmp_path, capsys):
    from fapiao.providers.reference.sandbox.__main__ import main

    assert main(["--db", str(tmp_path / "bad.db"), "--quota", "lots"]) == 2
    assert "quota" in capsys.readouterr().err and not (tmp_path / "bad.db").exists()
    assert main(["--db", str(tmp_path / "bad.db"), "--app", "only:three:parts"]) == 2
    assert "--app" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--db", str(tmp_path / "bad.db"), "--fault-busy", "2"])


def test_command_line_runs_a_sandbox(tmp_path, wire_for):
    process = subprocess.Popen(
        [sys.executable, "-m", "fapiao.sandbox", "--host", "127.0.0.1", "--port", "0",
         "--db", str(tmp_path / "cli.db"), "--log-level", "warning", "--quota", "500"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, process.stderr.read() if not line else line
        url = line.strip().rsplit(" ", 1)[1]
        assert requests.get(url + "/health", timeout=5).status_code == 200
        quota = wire_for(url, DEFAULT_APP).ok("quota.query")
        assert quota["total"] == "500.00"
    finally:
        process.terminate()
        assert process.wait(10) == 0
