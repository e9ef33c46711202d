"""Odoo benchmarks (issues: performance and reliability proof; throughput under platform latency).

Every figure is measured at each simulated platform latency of BENCH_PLATFORM_LATENCY (seconds,
default "0 0.3"), in a database of its own (BENCH_DB, recreated; new invoices per latency), against the
sandbox running as its own process with that latency (``--latency``). At a latency above 0 the
sandbox enforces a rate limit of BENCH_RATE_LIMIT requests a second (default 50), the company is
set to it, and the platform counts the most requests it saw in one second and the ones it refused;
a second run at BENCH_LOW_RATE_LIMIT (default 20) checks that a lower limit is used to >= 90 %. At
0 ms the platform sets no limit (the conditions of the figures before issue 16).

1. End-to-end issue throughput on a real Odoo server (``odoo-bin --workers=2
   --max-cron-threads=3``, two queue lanes, docs/scale-out.md): 1,000 posted invoices of 10 lines
   are checked and queued 100 at a time (as payments or a batch action queue them), and the
   server's own scheduler issues them. Invoices per second from the first queued to the last
   issued; issue cost = that time against Odoo's cost of posting the same invoices one at a time
   (wall clock; the CPU time of the Odoo processes for information). Targets: >= 30/s at 300 ms
   and 50/s (>= 20/s at 0 ms), >= 90 % of a lower limit, cost <= 1.0x, the limit never exceeded.
2. One worker in this process issuing 1,000 more by calling the queue cron as Odoo does: time per
   invoice, SQL queries per issued invoice (every connection), resident memory, and where its
   CPU time goes (py-spy).
3. Status sync at scale: 10,000 pending invoices brought up to date by the poll cron. Target:
   <= 60 s; queries per batch independent of batch size.
4. The "Issue e-invoice" button on 10-line invoices through the web client's RPC
   (``/web/dataset/call_button``) of that server: p50 <= 450 ms at 300 ms (< 300 ms at 0 ms);
   and the time from the click until the PDF is on the invoice (brought by the server's cron).

Each phase that needs Odoo runs in a fresh process (``bench_odoo.py PHASE``) so that one phase's
caches and memory do not colour the next. Returns a Markdown section; bench/run.py writes it to
bench/RESULTS.md.
"""

import contextlib
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

import odoo_setup as setup
from odoo_setup import APP_ID, SELLER_TAX_ID, admin, create_invoices, open_registry, seller, superuser_env
from sandbox_process import sandbox_process

DB = os.environ.get("BENCH_DB", "l10n_cn_einv_bench")
LATENCIES = [float(value) for value in os.environ.get("BENCH_PLATFORM_LATENCY", "0 0.3").replace(",", " ").split()]
RATE_LIMIT = float(os.environ.get("BENCH_RATE_LIMIT", "50"))
LOW_RATE_LIMIT = float(os.environ.get("BENCH_LOW_RATE_LIMIT", "20"))
NO_LIMIT = 100000.0     # the company's rate at 0 ms: no platform limit, as before issue 16
CONF = ROOT / ".odoo" / "odoo.conf"
ISSUE_COUNT = int(os.environ.get("BENCH_ISSUE_INVOICES", "1000"))
SYNC_COUNT = int(os.environ.get("BENCH_SYNC_INVOICES", "10000"))
CLICKS = int(os.environ.get("BENCH_CLICKS", "100"))
# the lower limit's run is longer: the queue's start (its first batch in flight) is a smaller share of it
LOW_RATE_COUNT = int(os.environ.get("BENCH_LOW_RATE_INVOICES", "1500"))
LINES = 10
PENDING_SECONDS = 60
LANES, HTTP_WORKERS = 2, 2
CRON_THREADS = LANES + 1       # one for each lane and one for the other crons (docs/scale-out.md)
SERVER_DEADLINE = 15 * 60
_env = superuser_env


# --- inside Odoo (the phases) -------------------------------------------------------------------

def _queries():
    import odoo
    return odoo.sql_db.sql_counter


def _rss_kib():
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


def _company(env):
    return env["res.company"].search([("vat", "=", SELLER_TAX_ID)], limit=1)


def phase_prepare(db, url, rate_limit, low_count, sync_count):
    """A Chinese company on the sandbox process (its rate limit set: created by the first latency's
    run), two queue lanes, products, a customer; the invoices: those the server issues posted one
    by one (timed: Odoo's own cost of posting), the others posted together (set-up)."""
    registry = open_registry(CONF, db)
    with registry.cursor() as cr:
        env = _env(cr)
        if _company(env):
            company_seller = setup.existing_seller(env, url, LINES, l10n_cn_einv_rate_limit=rate_limit)
        else:
            env["ir.config_parameter"].sudo().set_param("l10n_cn_einvoice.queue_lanes", str(LANES))
            env["account.move"]._l10n_cn_einv_sync_queue_lanes()
            company_seller = seller(env, url, LINES, l10n_cn_einv_rate_limit=rate_limit)
        env, company = company_seller.env, company_seller.company

        def create(count, lines, tag, quick=False):
            ids = []
            for start in range(0, count, 500):
                moves = create_invoices(company_seller, min(500, count - start), lines, tag, quick)
                moves.action_post()
                cr.commit()
                env.invalidate_all()
                ids += moves.ids
            return ids

        # Odoo's own cost of posting, one invoice at a time as a user posts them
        posting_ms, posting_queries, posting_cpu = [], 0, 0.0
        server_ids = []
        for start in range(0, ISSUE_COUNT, 100):
            moves = create_invoices(company_seller, min(100, ISSUE_COUNT - start), LINES, "issue")
            for move in moves:
                began, queries, cpu = time.perf_counter(), _queries(), time.process_time()
                move.action_post()
                env.flush_all()
                posting_queries += _queries() - queries
                posting_cpu += time.process_time() - cpu
                posting_ms.append((time.perf_counter() - began) * 1000)
            cr.commit()
            env.invalidate_all()
            server_ids += moves.ids
        return {"company_id": company.id, "server_ids": server_ids,
                "worker_ids": create(ISSUE_COUNT, LINES, "worker", quick=True),
                "low_ids": create(low_count, LINES, "low", quick=True),
                "click_ids": create(CLICKS + 10, LINES, "click"),
                "sync_ids": create(sync_count, 1, "sync", quick=True),
                "posting_ms": posting_ms, "posting_queries": posting_queries, "posting_cpu": posting_cpu}


def phase_connect(db, url, rate_limit):
    """The company on another sandbox process (the same app), at ``rate_limit``."""
    registry = open_registry(CONF, db)
    with registry.cursor() as cr:
        _company(_env(cr)).sudo().write({"l10n_cn_einv_endpoint": url, "l10n_cn_einv_rate_limit": rate_limit})
    return {}


def phase_queue(db, move_ids):
    """Check and queue the invoices 100 at a time, each hundred committed and the lanes woken, as
    payments or a batch action queue them; the server issues them meanwhile."""
    registry = open_registry(CONF, db)
    began, cpu = time.time(), time.process_time()
    for start in range(0, len(move_ids), 100):
        with registry.cursor() as cr:
            moves = _env(cr)["account.move"].browse(move_ids[start:start + 100])
            moves._l10n_cn_einv_check()
            moves._l10n_cn_einv_enqueue()
            moves._l10n_cn_einv_trigger_queue()
    return {"began": began, "ended": time.time(), "cpu": time.process_time() - cpu}


def _profiler(output):
    """py-spy sampling this process from now on, 100 times a second, without pausing it."""
    spy = subprocess.Popen(["py-spy", "record", "--nonblocking", "--rate", "100", "--format", "raw",
                            "--output", output, "--pid", str(os.getpid())],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)  # attached
    return spy


def phase_issue(db, issue_ids, profile_output):
    """One worker: check and queue the invoices (as a payment or a batch action does), then let
    the queue cron issue them, run after run as Odoo's cron runner does; py-spy samples that."""
    registry = open_registry(CONF, db)
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


def phase_sync(db, sync_ids, batch_size):
    """The poll cron brings pending invoices up to date (the platform has decided them)."""
    registry = open_registry(CONF, db)
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


def phase_make_pending(db, sync_ids):
    """Submit the sync invoices to a platform that answers 'pending' (set-up, not measured)."""
    registry = open_registry(CONF, db)
    with registry.cursor() as cr:
        env = _env(cr)
        for start in range(0, len(sync_ids), 500):
            moves = env["account.move"].browse(sync_ids[start:start + 500])
            moves._l10n_cn_einv_enqueue()
            cr.commit()     # the audit log lines are written on their own connection: no row lock held
            with _company(env)._l10n_cn_einv_provider() as client:
                for move in moves:
                    result = client.issue(move._l10n_cn_einv_document())
                    assert result.status == "pending", result
            moves._l10n_cn_einv_write({"l10n_cn_einv_state": "pending"})
            cr.commit()
            env.invalidate_all()
    return {}


def phase_fetch_files(db):
    """The files of every issued invoice, from this latency's platform (set-up, not measured)."""
    registry = open_registry(CONF, db)
    missing = None
    while True:
        with registry.cursor() as cr:
            moves = _env(cr)["account.move"]
            moves._l10n_cn_einv_cron_fetch_missing_documents()
            left = moves.search_count([("l10n_cn_einv_state", "=", "issued"), ("l10n_cn_einv_pdf_id", "=", False)])
        if not left or left == missing:     # all here, or what is left will not come
            return {"left": left}
        missing = left


def phase_reset_pending(db, sync_ids):
    """Put the synced invoices back to pending (set-up of the next batch size, not measured)."""
    registry = open_registry(CONF, db)
    with registry.cursor() as cr:
        cr.execute("""UPDATE account_move SET l10n_cn_einv_state = 'pending', l10n_cn_einv_number = NULL
                       WHERE id IN %s""", [tuple(sync_ids)])
    return {}


PHASES = {"prepare": phase_prepare, "connect": phase_connect, "queue": phase_queue, "issue": phase_issue,
          "sync": phase_sync, "make_pending": phase_make_pending, "reset_pending": phase_reset_pending,
          "fetch_files": phase_fetch_files}


# --- the driver ---------------------------------------------------------------------------------

def _run_phase(name, *arguments):
    """Run one phase in a fresh Odoo process."""
    return setup.run_phase(__file__, name, *arguments)


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


def _cpu_seconds(pids):
    """User + system CPU seconds of these processes so far (gone ones: 0)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _states(db, move_ids):
    return dict(setup.query(db, "SELECT l10n_cn_einv_state, COUNT(*) FROM account_move WHERE id IN %s GROUP BY 1",
                            [tuple(move_ids)]))


def _server_issue(db_name, db, server, move_ids):
    """Queue ``move_ids`` from a set-up process while the server's scheduler issues them; until
    none is left to issue (or the deadline). -> figures."""
    workers = setup.children(server.pid)
    cpu_before = _cpu_seconds(workers)
    queued = _run_phase("queue", db_name, move_ids)
    progress = []
    while True:
        states = _states(db, move_ids)
        left = sum(states.get(state, 0) for state in ("to_issue", "submitting", "pending"))
        progress.append((time.time() - queued["began"], states.get("issued", 0)))
        if not left or time.time() - queued["began"] > SERVER_DEADLINE or server.poll() is not None:
            break
        time.sleep(0.1)
    # when the last one was written, from the database (the look above may come up to 0.1 s later)
    last = setup.query(db, "SELECT EXTRACT(EPOCH FROM MAX(write_date)) FROM account_move "
                           "WHERE id IN %s AND l10n_cn_einv_state = 'issued'", [tuple(move_ids)])[0][0]
    ended = float(last) if last else time.time()
    return {"seconds": ended - queued["began"], "queue_seconds": queued["ended"] - queued["began"],
            "states": states, "odoo_cpu": _cpu_seconds(workers) - cpu_before + queued["cpu"],
            "progress": progress[:: max(1, len(progress) // 12)]}


def _settle(db):
    """After the set-up's thousands of inserts, before anything is timed: PostgreSQL's own clean-up
    (autovacuum, a checkpoint) would otherwise run during a 15-second measurement, as it did in one
    run whose issue phase at 0 ms came out 15 % slower than the runs before and after it."""
    import psycopg2.errors
    setup.query_none(db, "VACUUM (ANALYZE)")
    with contextlib.suppress(psycopg2.errors.InsufficientPrivilege):    # a database user who is no superuser
        setup.query_none(db, "CHECKPOINT")


def _wait_for_idle_crons(db, timeout=180):
    """Until the scheduled actions due when the server started have run (a server that has been up
    a while: the daily catalogue update does not compete with the invoices measured)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        due = setup.query(db, """
            SELECT (SELECT COUNT(*) FROM ir_cron WHERE active AND nextcall <= NOW() AT TIME ZONE 'UTC')
                 + (SELECT COUNT(*) FROM ir_cron_trigger WHERE call_at <= NOW() AT TIME ZONE 'UTC')""")[0][0]
        if not due:
            time.sleep(2)
            return
        time.sleep(0.5)


def _wait_for_files(db, move_ids, timeout):
    """Until every one of ``move_ids`` has its PDF (brought by the server's cron), or ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        missing = setup.query(db, "SELECT COUNT(*) FROM account_move WHERE id IN %s AND l10n_cn_einv_state = "
                                  "'issued' AND l10n_cn_einv_pdf_id IS NULL", [tuple(move_ids)])[0][0]
        if not missing:
            return True
        time.sleep(0.5)
    return False


def _clicks(db, base, click_ids, company_id):
    """Clicks on Issue e-invoice through the server's web client RPC, one after the other; every
    tenth waits until the invoice has its PDF (the server's cron brings it). -> (button ms, click to PDF ms)."""
    rpc = _JsonRpc(base)
    rpc.call("/web/session/authenticate", {"db": db.info.dbname, "login": "admin", "password": "admin"})
    context = {"lang": "en_US", "tz": "Asia/Shanghai", "uid": 2, "allowed_company_ids": [company_id]}
    latencies, to_pdf = [], []
    for index, move_id in enumerate(click_ids):
        began = time.perf_counter()
        action = rpc.call("/web/dataset/call_button", {
            "model": "account.move", "method": "action_l10n_cn_einv_issue", "args": [[move_id]],
            "kwargs": {"context": context}})
        elapsed = (time.perf_counter() - began) * 1000
        assert action["params"]["type"] == "success", action
        if index < 10:  # the first clicks warm the server's caches
            continue
        latencies.append(elapsed)
        if index % 10 == 0:
            while not setup.query(db, "SELECT l10n_cn_einv_pdf_id FROM account_move WHERE id = %s", [move_id])[0][0]:
                if time.perf_counter() - began > 60:
                    raise RuntimeError(f"invoice {move_id} got no PDF within 60 s of its click")
                time.sleep(0.02)
            to_pdf.append((time.perf_counter() - began) * 1000)
    return latencies, to_pdf


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


def _platform(latency, rate):
    options = ["--pending-seconds", str(PENDING_SECONDS), "--latency", str(latency)]
    if rate:
        options += ["--rate-limit", f"{rate:g}"]
    return sandbox_process(*options)


def _platform_requests(url):
    return admin(url, f"/admin/stats?appId={APP_ID}")["requests"]


def run_latency(db_name, latency, sync_ids):
    """Every figure at one platform latency (its own invoices and sandbox; the pending invoices of
    the status sync are created by the first run, and submitted again to each sandbox)."""
    limited = latency > 0
    rate = RATE_LIMIT if limited else None
    low = limited and LOW_RATE_LIMIT and LOW_RATE_LIMIT < RATE_LIMIT
    print(f"bench_odoo: {latency * 1000:.0f} ms", file=sys.stderr, flush=True)
    figures = {"latency": latency, "rate": rate}
    db = setup.connect(CONF, db_name)
    try:
        with tempfile.TemporaryDirectory() as tmp, _platform(latency, rate) as url:
            setup.register_app(url)
            prepared = _run_phase("prepare", db_name, url, rate or NO_LIMIT, LOW_RATE_COUNT if low else 0,
                                  0 if sync_ids else SYNC_COUNT)
            prepared["sync_ids"] = sync_ids = sync_ids or prepared["sync_ids"]
            figures["prepared"] = prepared
            _settle(db)
            server, base = setup.start_server(CONF, db_name, os.path.join(tmp, "server.log"),
                                              workers=HTTP_WORKERS, cron_threads=CRON_THREADS)
            try:
                _wait_for_idle_crons(db)
                figures["server"] = _server_issue(db_name, db, server, prepared["server_ids"])
                figures["server"]["requests"] = _platform_requests(url)
                # the bulk's files, brought by the server's cron, before the clicks are timed
                figures["files_after"] = _wait_for_files(db, prepared["server_ids"], 600)
                figures["clicks"], figures["to_pdf"] = _clicks(db, base, prepared["click_ids"], prepared["company_id"])
                if low:
                    with _platform(latency, LOW_RATE_LIMIT) as low_url:
                        setup.register_app(low_url)
                        _run_phase("connect", db_name, low_url, LOW_RATE_LIMIT)
                        figures["low"] = _server_issue(db_name, db, server, prepared["low_ids"])
                        figures["low"]["requests"] = _platform_requests(low_url)
                    _run_phase("connect", db_name, url, rate or NO_LIMIT)
            finally:
                setup.stop_server(server)
            figures["worker"] = _run_phase("issue", db_name, prepared["worker_ids"], os.path.join(tmp, "issue.txt"))
            figures["worker"]["profile"] = _profile_summary(os.path.join(tmp, "issue.txt"))
            admin(url, "/admin/faults", {"appId": APP_ID, "pendingRate": 1})
            # set-up, not measured: submitted at once and without a limit
            admin(url, "/admin/latency", {"latency": 0})
            setup.register_app(url, rateLimit=0)
            _run_phase("connect", db_name, url, NO_LIMIT)
            _run_phase("make_pending", db_name, prepared["sync_ids"])
            admin(url, "/admin/latency", {"latency": latency})
            setup.register_app(url, rateLimit=rate or 0)
            _run_phase("connect", db_name, url, rate or NO_LIMIT)
            admin(url, "/admin/clock", {"advanceSeconds": PENDING_SECONDS + 1})
            figures["sync"] = {}
            for index, batch_size in enumerate((25, 100)):  # 100: the most one platform query answers
                if index:
                    _run_phase("reset_pending", db_name, prepared["sync_ids"])
                figures["sync"][batch_size] = _run_phase("sync", db_name, prepared["sync_ids"], batch_size)
            # set-up of the next latency: nothing left pending or without its files for another platform
            admin(url, "/admin/latency", {"latency": 0})
            _run_phase("connect", db_name, url, NO_LIMIT)
            _run_phase("fetch_files", db_name)
    finally:
        db.close()
    return figures


def run():
    print(f"bench_odoo: creating database {DB}", file=sys.stderr, flush=True)
    setup.create_database(CONF, DB)
    runs, sync_ids = [], []
    for latency in LATENCIES:
        runs.append(run_latency(DB, latency, sync_ids))
        sync_ids = runs[-1]["prepared"]["sync_ids"]
    return _report(runs)

# The figures of bench/RESULTS.md before issue 16 (2026-11-21, 0 ms, one worker, no platform limit):
# at 0 ms no figure may be worse.
BEFORE = {"throughput": 46.8, "queries": 4.5, "ratio": 0.26, "sync": {25: 33.2, 100: 22.6}, "button": 223,
          "sync_queries": {25: 15.0 / 25, 100: 15.1 / 100}}


def _verdict(ok):
    return "met" if ok else "MISSED"


def _section(figures):
    latency, rate = figures["latency"], figures["rate"]
    prepared, server, worker = figures["prepared"], figures["server"], figures["worker"]
    count = len(prepared["server_ids"])
    at_zero = latency == 0
    issued = server["states"].get("issued", 0)
    throughput = issued / server["seconds"]
    posting_ms = sum(prepared["posting_ms"])
    ratio = server["seconds"] * 1000 / posting_ms
    cpu_ratio = server["odoo_cpu"] / prepared["posting_cpu"]
    worker_issued = worker["states"].get("issued", 0)
    worker_ms = worker["queue_ms"] + worker["cron_ms"]
    queries = (worker["queue_queries"] + worker["cron_queries"]) / max(worker_issued, 1)
    latencies = worker["latencies"] or [float("nan")]
    clicks, to_pdf = figures["clicks"], figures["to_pdf"]
    button = statistics.median(clicks)
    rss_growth = worker["rss_end"] - worker["rss_start"]
    title = ("### At 0 ms (the sandbox on loopback, no platform rate limit: the conditions before issue 16)"
             if at_zero else f"### At {latency * 1000:.0f} ms a request, {rate:g} requests a second allowed")
    target_rate = max(BEFORE["throughput"], 20) if at_zero else 30
    rows = [
        f"| end-to-end issue throughput, real server, {LANES} lanes ({issued:,} of {count:,} issued) | "
        f"{throughput:.1f} invoices/s ({server['seconds']:.1f} s from the first queued to the last issued; "
        f"queueing took {server['queue_seconds']:.1f} s of it) | >= {target_rate:g}/s"
        f"{' (before)' if at_zero else ''} | {_verdict(throughput >= target_rate and issued == count)} |",
    ]
    if rate:
        requests = server["requests"]
        rows.append(
            f"| the platform's busiest second; requests it refused for the rate | {requests['peakRate']} requests "
            f"({requests['total']:,} in all, issue and files); {requests['rateLimited']} refused | <= {rate:g}; 0 | "
            f"{_verdict(requests['peakRate'] <= rate and not requests['rateLimited'])} |")
    low = figures.get("low")
    if low:
        low_issued = low["states"].get("issued", 0)
        low_rate = low_issued / low["seconds"]
        requests = low["requests"]
        low_ok = (low_rate >= 0.9 * LOW_RATE_LIMIT and low_issued == len(prepared["low_ids"])
                  and requests["peakRate"] <= LOW_RATE_LIMIT and not requests["rateLimited"])
        rows.append(
            f"| the same at {LOW_RATE_LIMIT:g} requests a second ({low_issued:,} of {len(prepared['low_ids']):,} "
            f"issued) | {low_rate:.1f} invoices/s ({low_rate / LOW_RATE_LIMIT:.0%} of the limit), busiest second "
            f"{requests['peakRate']}, {requests['rateLimited']} refused | >= {0.9 * LOW_RATE_LIMIT:g}/s; "
            f"<= {LOW_RATE_LIMIT:g}; 0 | {_verdict(low_ok)} |")
    ratio_target = BEFORE["ratio"] if at_zero else 1.0
    rows += [
        f"| issue cost / Odoo's posting cost of the same invoices (wall clock) | {ratio:.2f} "
        f"({server['seconds'] * 1000 / count:.1f} ms against {posting_ms / count:.1f} ms and "
        f"{prepared['posting_queries'] / count:.0f} queries per invoice) | <= {ratio_target:g}"
        f"{' (before)' if at_zero else ''} | {_verdict(ratio <= ratio_target)} |",
        f"| (for information) CPU time of the Odoo processes issuing / posting them | {cpu_ratio:.2f} "
        f"({server['odoo_cpu'] * 1000 / count:.1f} ms against {prepared['posting_cpu'] * 1000 / count:.1f} ms "
        f"per invoice) | | |",
        f"| one worker calling the queue cron in a loop ({worker_issued:,} issued) | "
        f"{worker_issued / (worker_ms / 1000):.1f} invoices/s (check and queue {worker['queue_ms'] / 1000:.1f} s, "
        f"cron {worker['cron_ms'] / 1000:.1f} s); per invoice p50 {statistics.median(latencies):.1f} ms, "
        f"p95 {_percentile(latencies, 0.95):.1f} ms | | |",
        f"| SQL queries per issued invoice (all connections, rate limit included) | {queries:.1f} | "
        f"<= {BEFORE['queries'] if at_zero else 15:g}{' (before)' if at_zero else ''} | "
        f"{_verdict(queries <= (BEFORE['queries'] if at_zero else 15))} |",
        f"| resident memory of that worker: start, end (peak) | {worker['rss_start'] / 1024:.0f} MiB, "
        f"{worker['rss_end'] / 1024:.0f} MiB ({worker['rss_peak'] / 1024:.0f} MiB) | flat | "
        f"{_verdict(rss_growth < 0.1 * worker['rss_start'])} |",
    ]
    per_batch = []
    for batch_size, result in sorted(figures["sync"].items(), key=lambda item: int(item[0])):
        per_batch.append(result["queries"] / result["batches"])
        limit = BEFORE["sync"][int(batch_size)] if at_zero else 60
        rows.append(
            f"| status sync of {result['processed']:,} pending invoices by the poll cron, batches of {batch_size} | "
            f"{result['seconds']:.1f} s, {per_batch[-1]:.1f} queries per batch ({result['states'].get('issued', 0):,} "
            f"issued) | <= {limit:g} s{' (before)' if at_zero else ''} | {_verdict(result['seconds'] <= limit)} |")
    # the poll cron claims POLL_BATCHES batches at once: what must not grow is the queries per invoice
    sizes = sorted(figures["sync"], key=int)
    per_invoice = [per_batch[index] / int(size) for index, size in enumerate(sizes)]
    before = [BEFORE["sync_queries"][int(size)] for size in sizes]
    button_target = BEFORE["button"] if at_zero else 450
    rows += [
        f"| SQL queries per pending invoice in the status sync, batches of {' and '.join(map(str, sizes))} | "
        f"{' and '.join(f'{q:.3f}' for q in per_invoice)} | at most {' and '.join(f'{q:.3f}' for q in before)} "
        f"(before) | {_verdict(all(q <= b for q, b in zip(per_invoice, before, strict=True)))} |",
        f"| Issue e-invoice button, 10-line invoice, web client RPC (`call_button`) on the server, {len(clicks)} "
        f"clicks | p50 {button:.0f} ms, p95 {_percentile(clicks, 0.95):.0f} ms | p50 <= {button_target}"
        f"{' ms (before)' if at_zero else ' ms'} | {_verdict(button <= button_target)} |",
        f"| from the click until the PDF is on the invoice (the server's cron fetches it), {len(to_pdf)} clicks | "
        f"p50 {statistics.median(to_pdf):.0f} ms, slowest {max(to_pdf):.0f} ms | within seconds | "
        f"{_verdict(max(to_pdf) < 10000)} |",
    ]
    return "\n".join([
        title, "",
        "| measure | result | target | |", "|---|---|---|---|", *rows, "",
        "Issued over time on the server (seconds after the first was queued, issued): "
        + ", ".join(f"{at:.1f} s {done:,}" for at, done in server["progress"]) + ".", "",
        "Memory of the one worker while issuing, sampled every 0.25 s (MiB): "
        + ", ".join(f"{kib / 1024:.0f}" for kib in worker["rss_samples"]) + ".", "",
        "Where that worker spends its CPU time (py-spy, 100 samples a second without pausing it; waiting for "
        "the platform or PostgreSQL is not CPU time; the function it was in):", "",
        "| share | function |", "|---|---|",
        *(f"| {share:.0%} | `{name}` |" for share, name in worker["profile"]), "",
    ])


def _report(runs):
    return "\n".join([
        "## Odoo (bench/bench_odoo.py)", "",
        f"A database of its own; per platform latency a sandbox process and {ISSUE_COUNT:,} new posted "
        f"invoices of {LINES} lines for one "
        f"customer issued by a real Odoo server (`odoo-bin --workers={HTTP_WORKERS} "
        f"--max-cron-threads={CRON_THREADS}`, {LANES} queue lanes, the company's default requests in flight), "
        "queued 100 at a time by a separate process while the server's scheduler issues them; the sandbox as "
        "its own process with the latency (`--latency`) and, above 0 ms, the rate limit (`--rate-limit`, the "
        "company set to it), counting the requests of every second. After the set-up, before anything is "
        "timed, the database is vacuumed and checkpointed. Automatic e-mail delivery off (measured: "
        "the issue). Issue cost = the time from the first invoice queued to the last issued; posting cost = "
        "`action_post` of the same invoices, one at a time, in the same run. Settings: "
        f"`BENCH_PLATFORM_LATENCY={' '.join(format(r['latency'], 'g') for r in runs)}`, "
        f"`BENCH_RATE_LIMIT={RATE_LIMIT:g}`, `BENCH_LOW_RATE_LIMIT={LOW_RATE_LIMIT:g}`.", "",
        *(_section(figures) for figures in runs),
    ])


if __name__ == "__main__":
    if len(sys.argv) > 1:
        setup.phase_main(PHASES)
    else:
        print(run())
