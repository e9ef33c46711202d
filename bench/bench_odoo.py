"""Odoo benchmarks (issue: performance and reliability proof).

In a database of its own (BENCH_DB, default ``l10n_cn_einv_bench``, recreated
each run) against the sandbox running as its own process on loopback:

1. End-to-end issue throughput: 1,000 posted invoices of 10 lines are checked,
   queued and issued by the queue cron. Invoices per second, per-invoice
   latency, SQL queries per issued invoice (every connection, the audit log's
   included), and the ratio of that cost to Odoo's own cost of posting the same
   invoices, measured in the same run. Targets: >= 20/s, <= 15 queries, <= 0.5.
2. Memory: resident size of that worker while it issues (start, end, peak).
3. Status sync at scale: 10,000 pending invoices brought up to date by the
   poll cron. Target: <= 60 s; queries per batch independent of batch size.
4. The "Issue e-invoice" button on 10-line invoices through the web client's
   RPC (``/web/dataset/call_button``) of an Odoo HTTP server: p50 < 300 ms.

Each phase that measures runs in a fresh Odoo process (``bench_odoo.py PHASE``)
so that one phase's caches and memory do not colour the next.
Returns a Markdown section; bench/run.py writes it to bench/RESULTS.md.
"""

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from odoo_setup import (
    APP_ID,
    SELLER_TAX_ID,
    admin,
    create_database,
    create_invoices,
    odoo_bin,
    open_registry,
    phase_main,
    register_app,
    run_phase,
    seller,
    superuser_env,
    wait_for_http,
)
from sandbox_process import free_port, sandbox_process

DB = os.environ.get("BENCH_DB", "l10n_cn_einv_bench")
CONF = ROOT / ".odoo" / "odoo.conf"
ISSUE_COUNT = int(os.environ.get("BENCH_ISSUE_INVOICES", "1000"))
SYNC_COUNT = int(os.environ.get("BENCH_SYNC_INVOICES", "10000"))
CLICKS = int(os.environ.get("BENCH_CLICKS", "100"))
LINES = 10
PENDING_SECONDS = 60
_env = superuser_env


# --- inside Odoo (the phases) -------------------------------------------------------------------

def _registry():
    return open_registry(CONF, DB)


def _queries():
    import odoo
    return odoo.sql_db.sql_counter


def _rss_kib():
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _company(env):
    return env["res.company"].search([("vat", "=", SELLER_TAX_ID)], limit=1)


def phase_prepare(url):
    """A Chinese company on the sandbox process, products, a customer; the invoices, posted one
    by one (timed: Odoo's own cost of posting), and the pending ones for the status sync."""
    registry = _registry()
    with registry.cursor() as cr:
        company_seller = seller(_env(cr), url, LINES)
        env, company = company_seller.env, company_seller.company

        def create(count, lines, tag, quick=False):
            return create_invoices(company_seller, count, lines, tag, quick)

        # Odoo's own cost of posting, one invoice at a time as a user posts them
        posting_ms, posting_queries = [], 0
        issue_ids = []
        for start in range(0, ISSUE_COUNT, 100):
            moves = create(min(100, ISSUE_COUNT - start), LINES, "issue")
            for move in moves:
                began, queries = time.perf_counter(), _queries()
                move.action_post()
                env.flush_all()
                posting_queries += _queries() - queries
                posting_ms.append((time.perf_counter() - began) * 1000)
            cr.commit()
            env.invalidate_all()
            issue_ids += moves.ids
        click_moves = create(CLICKS + 10, LINES, "click")
        click_moves.action_post()
        cr.commit()
        sync_ids = []
        for start in range(0, SYNC_COUNT, 500):
            moves = create(min(500, SYNC_COUNT - start), 1, "sync", quick=True)
            moves.action_post()
            cr.commit()
            env.invalidate_all()
            sync_ids += moves.ids
    return {"company_id": company.id, "issue_ids": issue_ids, "click_ids": click_moves.ids,
            "sync_ids": sync_ids, "posting_ms": posting_ms, "posting_queries": posting_queries}


def _profiler(output):
    """py-spy sampling this process from now on, 100 times a second, without pausing it."""
    spy = subprocess.Popen(["py-spy", "record", "--nonblocking", "--rate", "100", "--format", "raw",
                            "--output", output, "--pid", str(os.getpid())],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached
    return spy


def phase_issue(issue_ids, profile_output):
    """Check and queue the invoices (as a payment or a batch action does), then let the
    queue cron issue them, run after run as Odoo's cron runner does; py-spy samples that."""
    registry = _registry()
    samples, stop = [], threading.Event()

    def sample_memory():
        while not stop.wait(0.25):
            samples.append(_rss_kib()[0])

    with registry.cursor() as cr:  # warm the registry and the connection pool as a running server is
        _env(cr)["account.move"].browse(issue_ids[:1]).read(["name"])
    rss_start = _rss_kib()[0]
    spy = _profiler(profile_output)
    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    began, queries = time.perf_counter(), _queries()
    for start in range(0, len(issue_ids), 100):
        with registry.cursor() as cr:
            moves = _env(cr)["account.move"].browse(issue_ids[start:start + 100])
            moves._l10n_cn_einv_check()
            moves._l10n_cn_einv_enqueue()
    queue_ms, queue_queries = (time.perf_counter() - began) * 1000, _queries() - queries

    latencies = []
    handler = _LatencyHandler(latencies)
    import logging
    logger = logging.getLogger("odoo.addons.l10n_cn_einvoice.models.account_move")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    began, queries = time.perf_counter(), _queries()
    while True:
        with registry.cursor() as cr:
            if not _env(cr)["account.move"]._l10n_cn_einv_cron_process_queue():
                break
    cron_ms, cron_queries = (time.perf_counter() - began) * 1000, _queries() - queries
    stop.set()
    sampler.join()
    spy.send_signal(signal.SIGINT)  # py-spy writes its samples when interrupted
    spy.wait(60)
    rss_end, rss_peak = _rss_kib()
    with registry.cursor() as cr:
        cr.execute("SELECT l10n_cn_einv_state, COUNT(*) FROM account_move WHERE id IN %s GROUP BY 1",
                   [tuple(issue_ids)])
        states = dict(cr.fetchall())
    return {"queue_ms": queue_ms, "queue_queries": queue_queries, "cron_ms": cron_ms,
            "cron_queries": cron_queries, "latencies": latencies, "states": states,
            "rss_start": rss_start, "rss_end": rss_end, "rss_peak": rss_peak,
            "rss_samples": samples[:: max(1, len(samples) // 20)]}


class _LatencyHandler:
    """Collects the per-invoice timings the queue cron logs at debug level."""

    level = 0

    def __init__(self, latencies):
        self.latencies = latencies

    def handle(self, record):
        if record.msg.startswith("e-invoice queue:"):
            self.latencies.append(record.args[-1])


def phase_sync(sync_ids, batch_size):
    """The poll cron brings pending invoices up to date (the platform has decided them)."""
    registry = _registry()
    with registry.cursor() as cr:
        _env(cr)["account.move"].browse(sync_ids[:1]).read(["name"])
    batches = -(-len(sync_ids) // batch_size)
    began, queries = time.perf_counter(), _queries()
    with registry.cursor() as cr:
        processed = _env(cr)["account.move"]._l10n_cn_einv_cron_poll_pending(batch_size=batch_size)
    elapsed, queries = time.perf_counter() - began, _queries() - queries
    with registry.cursor() as cr:
        cr.execute("SELECT l10n_cn_einv_state, COUNT(*) FROM account_move WHERE id IN %s GROUP BY 1",
                   [tuple(sync_ids)])
        states = dict(cr.fetchall())
    return {"seconds": elapsed, "queries": queries, "batches": batches, "processed": processed,
            "states": states}


def phase_make_pending(sync_ids):
    """Submit the sync invoices to a platform that answers 'pending' (set-up, not measured)."""
    registry = _registry()
    with registry.cursor() as cr:
        env = _env(cr)
        for start in range(0, len(sync_ids), 500):
            moves = env["account.move"].browse(sync_ids[start:start + 500])
            moves._l10n_cn_einv_enqueue()
            with _company(env)._l10n_cn_einv_provider() as client:
                for move in moves:
                    result = client.issue(move._l10n_cn_einv_document())
                    assert result.status == "pending", result
            moves._l10n_cn_einv_write({"l10n_cn_einv_state": "pending"})
            cr.commit()
            env.invalidate_all()
    return {}


def phase_reset_pending(sync_ids):
    """Put the synced invoices back to pending (set-up of the next batch size, not measured)."""
    registry = _registry()
    with registry.cursor() as cr:
        cr.execute("""UPDATE account_move SET l10n_cn_einv_state = 'pending', l10n_cn_einv_number = NULL
                       WHERE id IN %s""", [tuple(sync_ids)])
    return {}


PHASES = {"prepare": phase_prepare, "issue": phase_issue, "sync": phase_sync,
          "make_pending": phase_make_pending, "reset_pending": phase_reset_pending}


# --- the driver ---------------------------------------------------------------------------------

def _run_phase(name, *arguments):
    """Run one phase in a fresh Odoo process."""
    return run_phase(__file__, name, *arguments)


class _JsonRpc:
    """The web client's JSON-RPC, as the browser speaks it (session cookie, /web/dataset/*)."""

    def __init__(self, base):
        import requests
        self.base, self.session, self.ids = base, requests.Session(), 0

    def call(self, path, params):
        self.ids += 1
        reply = self.session.post(self.base + path, json={"jsonrpc": "2.0", "method": "call", "id": self.ids,
                                                          "params": params}, timeout=60).json()
        if "error" in reply:
            raise RuntimeError(reply["error"]["data"]["message"])
        return reply["result"]


def _button_latency(click_ids, company_id):
    """Clicks on Issue e-invoice through an Odoo HTTP server (one worker, threaded, as `odoo-bin` runs)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, odoo_bin(), "-c", str(CONF), "-d", DB, "--db-filter", f"^{DB}$", "--http-port", str(port),
         "--http-interface", "127.0.0.1", "--max-cron-threads=0", "--log-level=warn"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(base, server)
        rpc = _JsonRpc(base)
        rpc.call("/web/session/authenticate", {"db": DB, "login": "admin", "password": "admin"})
        context = {"lang": "en_US", "tz": "Asia/Shanghai", "uid": 2, "allowed_company_ids": [company_id]}
        latencies = []
        for index, move_id in enumerate(click_ids):
            began = time.perf_counter()
            action = rpc.call("/web/dataset/call_button", {
                "model": "account.move", "method": "action_l10n_cn_einv_issue", "args": [[move_id]],
                "kwargs": {"context": context}})
            elapsed = (time.perf_counter() - began) * 1000
            assert action["params"]["type"] == "success", action
            if index >= 10:  # the first clicks warm the server's caches
                latencies.append(elapsed)
        return latencies
    finally:
        server.terminate()
        server.wait(30)


def _profile_summary(path, top=12):
    """The functions the issuing worker was in when sampled (py-spy raw stacks: innermost
    frame last), as (share of samples, function)."""
    own, total = {}, 0
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.split(";")[-1]
        name, _, where = leaf.partition(" (")
        where = where.rstrip(")").replace(str(ROOT) + "/", "").replace(os.path.expanduser("~") + "/", "~/")
        where = where.split("site-packages/")[-1]
        key = f"{name} ({where.rsplit(':', 1)[0]})"
        own[key] = own.get(key, 0) + int(count)
        total += int(count)
    ranked = sorted(own.items(), key=lambda item: -item[1])[:top]
    return [(count / total, key) for key, count in ranked] if total else []


def _percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def run():
    print("bench_odoo: creating the database", file=sys.stderr, flush=True)
    create_database(CONF, DB)
    with sandbox_process("--pending-seconds", str(PENDING_SECONDS)) as url:
        register_app(url)
        prepared = _run_phase("prepare", url)
        with tempfile.TemporaryDirectory() as tmp:
            issue = _run_phase("issue", prepared["issue_ids"], os.path.join(tmp, "issue.txt"))
            issue["profile"] = _profile_summary(os.path.join(tmp, "issue.txt"))
        clicks = _button_latency(prepared["click_ids"], prepared["company_id"])
        admin(url, "/admin/faults", {"appId": APP_ID, "pendingRate": 1})
        _run_phase("make_pending", prepared["sync_ids"])
        admin(url, "/admin/clock", {"advanceSeconds": PENDING_SECONDS + 1})
        sync = {}
        for batch_size in (25, 100):  # 100: the most one platform query answers
            sync[batch_size] = _run_phase("sync", prepared["sync_ids"], batch_size)
            _run_phase("reset_pending", prepared["sync_ids"])
    return _report(prepared, issue, clicks, sync)


def _report(prepared, issue, clicks, sync):
    count = len(prepared["issue_ids"])
    issued = issue["states"].get("issued", 0)
    posting_ms = sum(prepared["posting_ms"])
    issue_ms = issue["queue_ms"] + issue["cron_ms"]
    rate = issued / (issue_ms / 1000)
    queries = (issue["queue_queries"] + issue["cron_queries"]) / max(issued, 1)
    ratio = issue_ms / posting_ms
    latencies = issue["latencies"] or [float("nan")]
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    sync_rows = []
    for batch_size, result in sorted(sync.items(), key=lambda item: int(item[0])):
        per_batch = result["queries"] / result["batches"]
        sync_rows.append(
            f"| status sync of {result['processed']:,} pending invoices by the poll cron, batches of "
            f"{batch_size} | {result['seconds']:.1f} s, {per_batch:.1f} queries per batch "
            f"({result['states'].get('issued', 0):,} issued) | <= 60 s | {verdict(result['seconds'] <= 60)} |")
    per_batch = [result["queries"] / result["batches"] for result in sync.values()]
    flat = max(per_batch) - min(per_batch) <= 0.1 * min(per_batch)
    rss_growth = issue["rss_end"] - issue["rss_start"]
    return (
        "## Odoo (bench/bench_odoo.py)\n\n"
        f"A database of its own; {count:,} posted invoices of {LINES} lines for one customer; the sandbox as "
        "its own process on loopback; one Odoo worker; automatic e-mail delivery off (measured: the issue). "
        "Issue cost = checking and queueing the invoices + the queue cron issuing them (its audit log lines "
        "included, written on their own connection). Posting cost = `action_post` of the same invoices, one "
        "at a time, in the same run.\n\n"
        "| measure | result | target | |\n|---|---|---|---|\n"
        f"| end-to-end issue throughput ({issued:,} of {count:,} issued) | {rate:.1f} invoices/s "
        f"(check and queue {issue['queue_ms'] / 1000:.1f} s, cron {issue['cron_ms'] / 1000:.1f} s) "
        f"| >= 20/s | {verdict(rate >= 20 and issued == count)} |\n"
        f"| time per invoice in the queue cron (its request, result and log line; results committed "
        f"20 at a time) | p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {_percentile(latencies, 0.95):.1f} ms | | |\n"
        f"| SQL queries per issued invoice (all connections) | {queries:.1f} | <= 15 | {verdict(queries <= 15)} |\n"
        f"| issue cost / Odoo's posting cost of the same invoices | {ratio:.2f} ({issue_ms / count:.1f} ms "
        f"against {posting_ms / count:.1f} ms and {prepared['posting_queries'] / count:.0f} queries per "
        f"invoice) | <= 0.5 | {verdict(ratio <= 0.5)} |\n"
        f"| resident memory of the worker issuing them: start, end (peak) | {issue['rss_start'] / 1024:.0f} MiB, "
        f"{issue['rss_end'] / 1024:.0f} MiB ({issue['rss_peak'] / 1024:.0f} MiB) | flat | "
        f"{verdict(rss_growth < 0.1 * issue['rss_start'])} |\n"
        + "\n".join(sync_rows) + "\n"
        f"| queries per batch independent of batch size | {' vs '.join(f'{q:.1f}' for q in per_batch)} | equal "
        f"| {verdict(flat)} |\n"
        f"| Issue e-invoice button, 10-line invoice, web client RPC (`call_button`), {len(clicks)} clicks "
        f"| p50 {statistics.median(clicks):.0f} ms, p95 {_percentile(clicks, 0.95):.0f} ms | p50 < 300 ms "
        f"| {verdict(statistics.median(clicks) < 300)} |\n\n"
        f"Memory while issuing, sampled every 0.25 s (MiB): "
        f"{', '.join(f'{kib / 1024:.0f}' for kib in issue['rss_samples'])}.\n\n"
        "Where the issuing worker spends its CPU time (py-spy, sampling it 100 times a second without pausing "
        "it; waiting for the platform or PostgreSQL is not CPU time; the function it was in):\n\n"
        "| share | function |\n|---|---|\n"
        + "".join(f"| {share:.0%} | `{name}` |\n" for share, name in issue["profile"])
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        phase_main(PHASES)
    else:
        print(run())
