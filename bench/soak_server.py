"""make soak: the queue on a real prefork Odoo server, driven only by its own scheduler, against a
platform that misbehaves (issue 16, reliability).

1. The sandbox as its own process: 300 ms latency, 50 requests a second, 30 % of requests with a
   fault (busy, drop, timeout, malformed, lost, slow; fixed seed). A database of its own (SOAK_DB,
   recreated), the addon installed, one company connected to the sandbox, two queue lanes, and
   SOAK_INVOICES (default 2,000) posted invoices (set-up in a separate Odoo process).
2. ``odoo-bin --workers=2 --max-cron-threads=3``: a cron worker for each lane and one for the other
   crons (docs/scale-out.md). The invoices are then queued and the lanes triggered, committed, from
   a set-up process: from then on only the server's scheduler works.
3. When about a quarter are issued, one cron worker is killed (SIGKILL) while its requests are in
   flight; the master spawns another.
4. Once nothing is queued, submitting or pending (at most 20 minutes), the database and the
   sandbox's admin API are checked: every invoice issued once with the platform's number, none
   failed or stuck, the rate never exceeded, the killed worker's invoices recovered.
5. The report goes to stdout and bench/SOAK.md; the exit code is 1 if a check failed.
"""

import os
import re
import signal
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

import machine
import odoo_setup as setup
from sandbox_process import sandbox_process

DB = os.environ.get("SOAK_DB", "l10n_cn_einv_soak")
COUNT = int(os.environ.get("SOAK_INVOICES", "2000"))
CONF = ROOT / ".odoo" / "odoo.conf"
REPORT = HERE / "SOAK.md"
LINES = 3

# the platform
LATENCY = 0.3
RATE_LIMIT = 50
FAULT_SHARE = 0.30      # of requests with at least one fault: the six kinds are drawn independently
FAULT_KINDS = ("busy", "drop", "timeout", "malformed", "lost", "slow")
FAULT_RATE = 1 - (1 - FAULT_SHARE) ** (1 / len(FAULT_KINDS))
FAILING_KINDS = 5       # all but slow, which answers in time: SLOW_SECONDS + latency < READ_TIMEOUT
SEED = 20261130
TIMEOUT_SECONDS = 6     # a timeout fault holds its answer past the read time-out
SLOW_SECONDS = 2
RETRY_AFTER = 2         # what a busy answer asks

# the addon
LANES = 2
LEASE = 20              # a killed worker's invoices are taken again 20 s after they left
READ_TIMEOUT = 4        # under half the lease: an uncertain invoice's query and issue fit in it
PARALLEL = 8
RETRY_WAITS = [2] * 10 + [5] * 10 + [10] * 10

# the server
HTTP_WORKERS = 2
CRON_WORKERS = LANES + 1
LANE_CALL = 30 + LEASE  # a lane call claims for 30 s (LANE_SECONDS), then finishes its batch
LIMIT_TIME_REAL_CRON = 70 + 10 * LANE_CALL  # docs/scale-out.md: the sleep plus ten calls

DEADLINE = 20 * 60
KILL_AT = 0.25
# An Odoo 18 prefork worker runs its loop in a thread of its own (Worker.run): more threads than
# these are a lane's sending threads (fapiao.parallel), alive only while its requests are in flight.
WORKER_THREADS = 2


# --- inside Odoo (the set-up phases) -----------------------------------------------------------

def phase_prepare(url):
    """The company on the sandbox process with the soak's settings, the lanes, the posted invoices."""
    registry = setup.open_registry(CONF, DB)
    with registry.cursor() as cr:
        env = setup.superuser_env(cr)
        params = env["ir.config_parameter"].sudo()
        params.set_param("l10n_cn_einvoice.queue_lanes", str(LANES))
        params.set_param("l10n_cn_einvoice.submit_lease", str(LEASE))
        params.set_param("l10n_cn_einvoice.read_timeout", str(READ_TIMEOUT))
        env["account.move"]._l10n_cn_einv_sync_queue_lanes()
        company_seller = setup.seller(env, url, LINES, l10n_cn_einv_rate_limit=RATE_LIMIT,
                                      l10n_cn_einv_parallel_requests=PARALLEL,
                                      l10n_cn_einv_retry_schedule=",".join(map(str, RETRY_WAITS)))
        move_ids = []
        for start in range(0, COUNT, 200):
            moves = setup.create_invoices(company_seller, min(200, COUNT - start), LINES, "soak", quick=True)
            moves.action_post()
            cr.commit()
            company_seller.env.invalidate_all()
            move_ids += moves.ids
        lanes = len(env["account.move"]._l10n_cn_einv_queue_crons())
    return {"company_id": company_seller.company.id, "move_ids": move_ids, "lanes": lanes}


def phase_queue(move_ids):
    """Queue every invoice and wake the lanes, as a batch action does; one commit."""
    registry = setup.open_registry(CONF, DB)
    with registry.cursor() as cr:
        moves = setup.superuser_env(cr)["account.move"].browse(move_ids)
        moves._l10n_cn_einv_check()
        moves._l10n_cn_einv_enqueue()
        moves._l10n_cn_einv_trigger_queue()
    return {"queued": len(move_ids)}


PHASES = {"prepare": phase_prepare, "queue": phase_queue}


# --- the driver: processes and the database, without Odoo ------------------------------------------

def _connect():
    return setup.connect(CONF, DB)


_query = setup.query
_children = setup.children


def _cron_workers(db, master):
    """The server's cron workers: its children listening for cron triggers on the postgres
    database (Odoo names each connection odoo-<pid>)."""
    listening = {int(name[5:]) for (name,) in _query(
        db, "SELECT application_name FROM pg_stat_activity WHERE datname = 'postgres' "
            "AND application_name LIKE 'odoo-%%'")}
    return sorted(listening & set(_children(master)))


def _threads(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _connections_to(pid, port):
    """Established TCP connections of process ``pid`` to local ``port``."""
    inodes = set()
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    except OSError:
        return 0
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cells = row.split()
            if cells[3] == "01" and int(cells[2].rsplit(":", 1)[1], 16) == port and cells[9] in inodes:
                count += 1
    return count


def _states(db, company_id):
    return dict(_query(db, "SELECT l10n_cn_einv_state, COUNT(*) FROM account_move WHERE company_id = %s "
                           "AND move_type = 'out_invoice' GROUP BY 1", [company_id]))


def _db_now(db):
    return _query(db, "SELECT NOW() AT TIME ZONE 'UTC'")[0][0]


class Victim:
    """The cron worker killed mid-batch, and which invoices were its: those it had marked
    submitting whose lease ran out unchanged (a live worker writes its results before its lease
    ends, and nobody else may take them before)."""

    def __init__(self, db, company_id, pid, port, issued):
        self.pid, self.issued_before = pid, issued
        self.threads, self.connections = _threads(pid), _connections_to(pid, port)
        os.kill(pid, signal.SIGKILL)
        self.killed = time.monotonic()
        self.killed_at = _db_now(db)
        self.leases = dict(_query(db, """
            SELECT id, l10n_cn_einv_next_attempt FROM account_move
             WHERE company_id = %s AND l10n_cn_einv_state = 'submitting'
               AND l10n_cn_einv_next_attempt > NOW() AT TIME ZONE 'UTC'""", [company_id]))
        self.undecided = dict(self.leases)
        self.moves, self.others = set(), set()
        self.respawned_after = None

    def follow(self, db, master):
        """One look at the invoices not attributed yet, and at the master's cron workers."""
        if self.respawned_after is None \
                and len(set(_cron_workers(db, master)) - {self.pid}) >= CRON_WORKERS:
            self.respawned_after = time.monotonic() - self.killed
        if not self.undecided:
            return
        now = _db_now(db)
        rows = _query(db, "SELECT id, l10n_cn_einv_state, l10n_cn_einv_next_attempt, write_date FROM account_move "
                          "WHERE id IN %s", [tuple(self.undecided)])
        for move_id, state, next_attempt, written in rows:
            lease_end = self.undecided[move_id]
            if state != "submitting" or next_attempt != lease_end:
                # written by whoever took it: before the lease ended only its own (live) worker could
                (self.moves if written >= lease_end else self.others).add(move_id)
            elif now >= lease_end:
                self.moves.add(move_id)
            else:
                continue
            del self.undecided[move_id]


class JobWatch:
    """Which job each cron worker is running, from the server's log as it grows (Odoo logs
    "Job '<name>' (<id>) starting" and "... done in" with the worker's pid)."""

    LINE = re.compile(r"^\S+ \S+ (\d+) \w+ \S+ odoo\.addons\.base\.models\.ir_cron: Job '.*' \((\d+)\) "
                      r"(starting|done in)")

    def __init__(self, log_path):
        self.log_path, self.offset, self.running = log_path, 0, {}

    def poll(self):
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.offset)
                chunk = log.read()
        except OSError:
            return self.running
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self.offset += len(complete)
        for line in complete.decode("utf-8", "replace").splitlines():
            match = self.LINE.match(line)
            if match:
                pid, job, what = int(match[1]), int(match[2]), match[3]
                if what == "starting":
                    self.running[pid] = job
                else:
                    self.running.pop(pid, None)
        return self.running


def _lanes(db):
    return {cron_id for (cron_id,) in _query(db, """
        SELECT res_id FROM ir_model_data WHERE module = 'l10n_cn_einvoice' AND model = 'ir.cron'
           AND name LIKE 'ir_cron_l10n_cn_einv_process_queue%%'""")}     # the queue's cron and its lanes


def _find_victim(db, master, port, jobs):
    """A cron worker running a queue lane with requests in flight now: sending threads alive (the
    files cron sends in parallel too, hence the lane), connections open to the platform, and
    invoices submitting under a lease."""
    lanes, running = _lanes(db), jobs.poll()
    busy = [pid for pid in _cron_workers(db, master)
            if running.get(pid) in lanes and _threads(pid) > WORKER_THREADS and _connections_to(pid, port)]
    if busy and _query(db, "SELECT 1 FROM account_move WHERE l10n_cn_einv_state = 'submitting' "
                           "AND l10n_cn_einv_next_attempt > NOW() AT TIME ZONE 'UTC' LIMIT 1"):
        return busy[0]
    return None


def _start_server(log_path):
    server, _base = setup.start_server(CONF, DB, log_path, workers=HTTP_WORKERS, cron_threads=CRON_WORKERS,
                                       options=[f"--limit-time-real-cron={LIMIT_TIME_REAL_CRON}"])
    return server


_stop_server = setup.stop_server


def _drive(db, server, company_id, port, log_path):
    """Watch the queue drain (the server alone works on it); kill one cron worker on the way."""
    jobs = JobWatch(log_path)
    began = time.monotonic()
    victim, progress, next_sample = None, [], 0
    while True:
        elapsed = time.monotonic() - began
        states = _states(db, company_id)
        issued = states.get("issued", 0)
        if elapsed >= next_sample:
            progress.append((elapsed, issued))
            next_sample += 30
        if victim is None and issued >= COUNT * KILL_AT:
            pid = _find_victim(db, server.pid, port, jobs)
            if pid:
                victim = Victim(db, company_id, pid, port, issued)
                victim.elapsed = elapsed
                print(f"  killed cron worker {pid} at {issued} issued ({elapsed:.0f} s), "
                      f"{len(victim.leases)} invoices submitting", file=sys.stderr, flush=True)
        if victim is not None:
            victim.follow(db, server.pid)
        left = sum(states.get(state, 0) for state in ("to_issue", "submitting", "pending"))
        settled = victim is None or (not victim.undecided and victim.respawned_after is not None)
        if (not left and settled) or elapsed > DEADLINE or server.poll() is not None:
            progress.append((time.monotonic() - began, issued))
            return time.monotonic() - began, victim, progress
        hunting = victim is None and issued >= COUNT * KILL_AT     # sending threads live for moments
        time.sleep(0.1 if hunting else 0.25 if victim is not None and victim.undecided else 1)


# --- the checks ----------------------------------------------------------------------------------

def _server_log(log_path):
    """Problems the server logged: errors, tracebacks, workers killed over a limit."""
    problems, cpu, timeouts = [], 0, 0
    text = Path(log_path).read_text(encoding="utf-8", errors="replace") if Path(log_path).exists() else ""
    for line in text.splitlines():
        if " ERROR " in line or " CRITICAL " in line or line.startswith("Traceback"):
            problems.append(line[:300])
        cpu += "CPU time limit" in line
        timeouts += " timeout after " in line
    return problems, cpu, timeouts


def _verify(db, url, prepared, *, victim, log_path):
    rows = _query(db, "SELECT id, l10n_cn_einv_state, l10n_cn_einv_serial_no, l10n_cn_einv_number "
                      "FROM account_move WHERE id IN %s", [tuple(prepared["move_ids"])])
    states = {}
    for _id, state, _serial, _number in rows:
        states[state] = states.get(state, 0) + 1
    odoo_numbers = {serial: number for _id, state, serial, number in rows if state == "issued"}
    platform = [invoice for invoice in setup.admin(url, f"/admin/invoices?appId={setup.APP_ID}")["invoices"]
                if invoice.get("kind", "blue") == "blue"]
    platform_numbers = {invoice["serialNo"]: invoice.get("invoiceNumber") for invoice in platform}
    stats = setup.admin(url, f"/admin/stats?appId={setup.APP_ID}")
    requests_stats = stats["requests"]
    problems, cpu_limits, time_limits = _server_log(log_path)
    figures = {
        "states": states, "platform_invoices": len(platform),
        "platform_serials": len({invoice["serialNo"] for invoice in platform}),
        "platform_numbers": len({invoice.get("invoiceNumber") for invoice in platform if invoice.get("invoiceNumber")}),
        "odoo_serials": len({serial for _id, _state, serial, _number in rows if serial}),
        "odoo_numbers": len({number for _id, _state, _serial, number in rows if number}),
        "mismatched": sum(1 for serial, number in odoo_numbers.items() if platform_numbers.get(serial) != number),
        "stats": stats, "problems": problems, "cpu_limits": cpu_limits, "time_limits": time_limits,
        "lanes": prepared["lanes"],
        # failed attempts before the one that issued (the count is not reset by the issue)
        "retried": _query(db, "SELECT COUNT(*) FILTER (WHERE l10n_cn_einv_attempts > 0), "
                              "COALESCE(MAX(l10n_cn_einv_attempts), 0) FROM account_move WHERE id IN %s",
                          [tuple(prepared["move_ids"])])[0],
    }
    figures["victim"] = _victim_figures(db, victim) if victim else None
    issued = states.get("issued", 0)
    stuck = sum(states.get(state, 0) for state in ("to_issue", "submitting", "pending", "waiting_login"))
    checks = [
        (f"{COUNT:,} issued at the platform, none twice", f"{len(platform):,} invoices, "
         f"{figures['platform_serials']:,} serial numbers, {figures['platform_numbers']:,} invoice numbers "
         f"({stats['duplicateNumbers']} duplicate)",
         len(platform) == figures["platform_serials"] == figures["platform_numbers"] == COUNT
         and stats["duplicateNumbers"] == 0),
        ("every Odoo invoice issued with the platform's number", f"{issued:,} issued, "
         f"{figures['odoo_serials']:,} serial numbers, {figures['odoo_numbers']:,} invoice numbers, "
         f"{figures['mismatched']} not the platform's",
         issued == figures["odoo_serials"] == figures["odoo_numbers"] == COUNT and not figures["mismatched"]),
        ("none failed, none stuck (queued, submitting, pending)",
         f"{states.get('failed', 0)} failed, {stuck} stuck", not states.get("failed") and not stuck),
        (f"rate limit ({RATE_LIMIT}/s) never exceeded", f"peak {requests_stats['peakRate']} requests in one "
         f"second, {requests_stats['rateLimited']} refused (2010)",
         requests_stats["peakRate"] <= RATE_LIMIT and requests_stats["rateLimited"] == 0),
        ("a cron worker killed with requests in flight", _kill_text(victim),
         bool(victim and victim.moves and victim.respawned_after is not None)),
        ("the killed worker's invoices recovered, none twice", _recovery_text(figures["victim"]),
         bool(figures["victim"] and figures["victim"]["issued"] == len(victim.moves))),
        ("no cron worker crashed or hit a limit (server log: errors, tracebacks, CPU or time limits)",
         f"{len(problems)} errors or tracebacks, {cpu_limits} CPU limits, {time_limits} time limits",
         not problems and not cpu_limits and not time_limits),
    ]
    return figures, checks


def _victim_figures(db, victim):
    """What became of the killed worker's invoices, from the interaction log: asked first (the
    uncertain path), and whether the platform already had them."""
    if not victim.moves:
        return {"issued": 0, "queried": 0, "found": 0, "resent": 0}
    ids = tuple(victim.moves)
    issued = _query(db, "SELECT COUNT(*) FROM account_move WHERE id IN %s AND l10n_cn_einv_state = 'issued'",
                    [ids])[0][0]
    # the log's times are whole seconds: from the second after the kill (nobody may take these
    # invoices before their lease ends, and no lease of a live batch ends that soon)
    after = victim.killed_at.replace(microsecond=0) + timedelta(seconds=1)
    exchanges = _query(db, """
        SELECT move_id, service FROM l10n_cn_einv_log WHERE move_id IN %s AND started_at >= %s
         ORDER BY started_at, id""", [ids, after])
    services = {}
    for move_id, service in exchanges:
        services.setdefault(move_id, []).append(service)
    queried = {move_id for move_id, names in services.items() if names and names[0] == "invoice.query"}
    resent = {move_id for move_id, names in services.items() if "invoice.issue" in names}
    return {"issued": issued, "queried": len(queried), "found": len(queried - resent), "resent": len(resent)}


def _kill_text(victim):
    if victim is None:
        return "no cron worker could be caught with requests in flight"
    respawn = f"a new cron worker {victim.respawned_after:.1f} s later" if victim.respawned_after is not None \
        else "no new cron worker"
    return (f"worker {victim.pid} at {victim.issued_before:,} issued ({victim.elapsed:.0f} s in), with "
            f"{victim.threads - WORKER_THREADS} sending threads and {victim.connections} connections to the platform; "
            f"{len(victim.moves)} of the {len(victim.leases)} invoices submitting were its; {respawn}")


def _recovery_text(figures):
    if not figures:
        return "nothing to recover"
    return (f"{figures['issued']} issued; {figures['queried']} asked the platform first (the uncertain path): "
            f"{figures['found']} it had issued already (its number taken), {figures['resent']} it did not have "
            f"(then sent, same serial number)")


def _odds():
    """The chance that 30 % faults fail an invoice for good under RETRY_WAITS."""
    failed_request = 1 - (1 - FAULT_RATE) ** FAILING_KINDS
    failed_attempt = 1 - (1 - failed_request) ** 2     # an uncertain invoice: its query, then its issue
    per_invoice = failed_attempt ** (len(RETRY_WAITS) + 1)
    return failed_request, failed_attempt, per_invoice


def _shown(argument):
    """A command-line argument without this machine's paths and ports."""
    name, equals, _value = argument.partition("=")
    if equals and name in ("--http-port", "--gevent-port"):
        return f"{name}=<free port>"
    if equals and name == "--logfile":
        return f"{name}=<file>"
    return Path(argument).name if argument.startswith("/") else argument


def _report(figures, checks, *, elapsed, progress, command, queued_in, whole, load):
    stats = figures["stats"]
    issued = figures["states"].get("issued", 0)
    failed_request, failed_attempt, per_invoice = _odds()
    verdict = lambda ok: "met" if ok else "NOT MET"  # noqa: E731
    faults = stats.get("faults", {})
    shown_command = " ".join(_shown(part) for part in command[1:])
    lines = [
        "# Real-server soak\n",
        "Written by `make soak` (bench/soak_server.py): the e-invoice queue on a real prefork Odoo server, "
        "worked only by the server's own scheduler (two queue lanes in its cron workers), against the sandbox "
        "platform as its own process with latency, a rate limit and injected faults; one cron worker killed "
        "with requests in flight. Checked from the database and from the platform's admin API.\n",
        "## Machine\n", machine.describe(),
        "## Settings\n",
        f"- {COUNT:,} posted invoices of {LINES} lines, one company, queued at once and committed "
        f"({queued_in:.0f} s); then only the server works.",
        f"- Server: `{shown_command}` ({HTTP_WORKERS} HTTP workers, {CRON_WORKERS} cron workers: one for each "
        f"of the {LANES} lanes and one for the other crons, docs/scale-out.md; `--limit-time-real-cron` = the "
        f"70 s sleep + 10 lane calls of {LANE_CALL} s).",
        f"- Sandbox: latency {LATENCY * 1000:.0f} ms, rate limit {RATE_LIMIT}/s, faults drawn independently at "
        f"{FAULT_RATE:.2%} each for {', '.join(FAULT_KINDS)} (so {FAULT_SHARE:.0%} of requests get at least one; "
        f"busy and drop pre-empt the others), timeout faults hold the answer {TIMEOUT_SECONDS} s, slow ones "
        f"{SLOW_SECONDS} s, busy asks {RETRY_AFTER} s; seed {SEED}.",
        f"- Company: rate limit {RATE_LIMIT}/s, {PARALLEL} requests in flight per lane, retry waits "
        f"{len(RETRY_WAITS)} ({', '.join(f'{w} s' for w in sorted(set(RETRY_WAITS)))}, "
        f"{sum(RETRY_WAITS)} s in all). System parameters: {LANES} lanes ({figures['lanes']} scheduled actions), "
        f"lease {LEASE} s, read time-out {READ_TIMEOUT} s (the killed worker's invoices are due again {LEASE} s "
        f"after they were marked).",
        f"- Odds that the faults fail an invoice for good: a request fails (no usable answer) with p = "
        f"{failed_request:.3f} (5 of the 6 kinds; a slow answer comes in time); an attempt of an invoice the "
        f"platform may hold (query, then issue) with at most {failed_attempt:.3f}; all {len(RETRY_WAITS) + 1} "
        f"attempts with at most {per_invoice:.1e}, so at most {per_invoice * COUNT:.1e} of {COUNT:,} invoices "
        f"expected to fail.\n",
        "## Result\n",
        f"{issued:,} issued in {elapsed:.0f} s from the moment they began to be queued: "
        f"{issued / elapsed:.1f} invoices/s. Platform requests: {stats['requests']['total']:,} "
        f"({', '.join(f'{k} {v:,}' for k, v in sorted(stats['requests']['byService'].items()))}), "
        f"{stats['requests']['total'] / elapsed:.1f} a second on average (the rate limiter spaces them for "
        f"{RATE_LIMIT * 0.9:.0f}). {figures['retried'][0]:,} invoices met at least one failed attempt; the most "
        f"failed attempts of one invoice: {figures['retried'][1]} (the waits allow {len(RETRY_WAITS)}). The whole "
        f"run (database, set-up, soak, checks) took {whole / 60:.1f} min; load average at the end "
        f"{load[0]:.1f} (1 min), {load[1]:.1f} (5 min) on {os.cpu_count()} cores shared with other work.\n",
        "| check | result | |\n|---|---|---|",
        *(f"| {name} | {result} | {verdict(ok)} |" for name, result, ok in checks),
        "",
        f"Faults injected (sandbox stats): {', '.join(f'{kind} {faults.get(kind, 0)}' for kind in FAULT_KINDS)}; "
        f"requests without a usable answer: {faults.get('failedRequests', 0)}.\n",
        "Issued over time (seconds after the queue was committed): "
        + ", ".join(f"{issued_then:,} at {at:.0f} s" for at, issued_then in progress) + ".\n",
    ]
    if figures["problems"]:
        lines += ["Server log problems (first 10):\n", "```", *figures["problems"][:10], "```", ""]
    return "\n".join(lines)


# --- the run -------------------------------------------------------------------------------------

def sandbox_options():
    options = ["--latency", str(LATENCY), "--rate-limit", str(RATE_LIMIT), "--fault-seed", str(SEED),
               "--timeout-seconds", str(TIMEOUT_SECONDS), "--slow-seconds", str(SLOW_SECONDS),
               "--retry-after", str(RETRY_AFTER)]
    for kind in FAULT_KINDS:
        options += [f"--fault-{kind}", f"{FAULT_RATE:.4f}"]
    return options


def run():
    # a stopped make soak still stops the server and the sandbox (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    print(f"soak: {COUNT:,} invoices; creating database {DB}", file=sys.stderr, flush=True)
    setup.create_database(CONF, DB)
    with tempfile.TemporaryDirectory() as tmp, sandbox_process(*sandbox_options()) as url:
        setup.register_app(url)
        port = int(url.rsplit(":", 1)[1])
        prepared = setup.run_phase(__file__, "prepare", url)
        log_path = os.path.join(tmp, "odoo-server.log")
        server = _start_server(log_path)
        try:
            began = time.monotonic()
            setup.run_phase(__file__, "queue", prepared["move_ids"])
            queued_in = time.monotonic() - began
            db = _connect()
            try:
                elapsed, victim, progress = _drive(db, server, prepared["company_id"], port, log_path)
                load = os.getloadavg()
                _stop_server(server)
                figures, checks = _verify(db, url, prepared, victim=victim, log_path=log_path)
            finally:
                db.close()
        finally:
            _stop_server(server)
            kept = HERE / "soak-server.log.tmp"
            if os.path.exists(log_path):
                os.replace(log_path, kept)   # for a look after a failed run (git-ignored)
        text = _report(figures, checks, elapsed=elapsed + queued_in, progress=progress, command=server.args,
                       queued_in=queued_in, whole=time.monotonic() - started, load=load)
    REPORT.write_text(text, encoding="utf-8")
    print(text)
    return all(ok for _name, _result, ok in checks)


if __name__ == "__main__":
    if len(sys.argv) > 1:
        setup.phase_main(PHASES)
    else:
        sys.exit(0 if run() else 1)
