#!/usr/bin/env python3
"""make test: the pure fapiao tests with pytest, then the Odoo tests.

The Odoo tests install the addon into a fresh database with Odoo's own test
runner (which also serves HTTP for HttpCase and tours) and are read back from
its log. Ends with one line ``N passed, M failed[, K skipped]`` over both.
Without an importable Odoo 18 it says so loudly and runs the pure tests only;
with REQUIRE_ODOO=1 that is a failure.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".odoo"
MODULE = "l10n_cn_einvoice"
# Installed and tested together: the addon and its Point of Sale bridge (l10n_cn_einvoice_pos/,
# which brings point_of_sale). ODOO_MODULES=l10n_cn_einvoice tests the addon alone.
MODULES = [name for name in (os.environ.get("ODOO_MODULES") or f"{MODULE},{MODULE}_pos").split(",") if name]
REQUIRE_ODOO = os.environ.get("REQUIRE_ODOO") == "1"

RESULT_RE = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")
SKIP_RE = re.compile(r"odoo\.tests\.result: skipped (\S+)")
LOG_LEVEL_RE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ \d+ (ERROR|CRITICAL) ")
FAILING_TEST_RE = re.compile(r": (?:FAIL|ERROR): (?:Subtest )?(\w+\.\w+)")
TEST_FAIL_RE = re.compile(
    r"^\d{4}-\d\d-\d\d \S+ \d+ (ERROR|CRITICAL) \S+ odoo\.addons\.\w+\.tests\.|: (FAIL|ERROR): "
)


def banner(text):
    line = "=" * 72
    print(f"\n{line}\n{text}\n{line}", flush=True)


def run_pure_tests():
    banner("Pure fapiao tests (pytest, no Odoo)")
    BUILD.mkdir(exist_ok=True)
    report = BUILD / "pytest-fapiao.xml"
    if report.exists():
        report.unlink()
    cmd = [sys.executable, "-m", "pytest", "fapiao/tests", f"--junitxml={report}", "-q",
           *os.environ.get("PYTEST_ARGS", "").split()]
    code = subprocess.call(cmd, cwd=ROOT)
    if not report.exists():
        print(f"pytest produced no report (exit code {code})")
        return 0, 1, 0
    suite = ET.parse(report).getroot()
    suites = [suite] if suite.tag == "testsuite" else list(suite)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    if code not in (0, 1):  # 1 is "some tests failed", already counted
        failed = max(failed, 1)
    return total - failed - skipped, failed, skipped


def odoo_source():
    probe = ("import odoo, odoo.release, os; "
             "print(odoo.release.version); print(os.path.dirname(odoo.__path__[0]))")
    try:
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                             cwd="/", check=True).stdout.split()
    except subprocess.CalledProcessError:
        return None, None
    return out[0], Path(out[1])


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_odoo_tests():
    version, source = odoo_source()
    if version != "18.0":
        banner(
            "ODOO 18.0 IS NOT IMPORTABLE: THE ODOO TESTS DID NOT RUN.\n"
            "Run 'make setup' (with ODOO_SRC=/path/to/odoo-18.0 if needed)."
        )
        return None
    config = BUILD / "odoo.conf"
    if not config.exists():
        banner("No .odoo/odoo.conf or addons path: run 'make setup' first.")
        return 0, 1, 0
    database = os.environ.get("TEST_DB") or f"{MODULE}_test_{os.getpid()}"
    subprocess.call(["dropdb", "--if-exists", database], stderr=subprocess.DEVNULL)
    banner(f"Odoo tests: install {', '.join(MODULES)} into fresh database {database!r} and run their tests")
    # ODOO_TEST_LOG: a log of its own, for runs side by side
    log_path = Path(os.environ.get("ODOO_TEST_LOG") or BUILD / "odoo-test.log")
    cmd = [
        sys.executable, str(source / "odoo-bin"), "-c", str(config), "-d", database,
        "-i", ",".join(MODULES), "--test-enable",
        "--test-tags", os.environ.get("ODOO_TEST_TAGS") or ",".join(f"/{name}" for name in MODULES),
        "--stop-after-init", "--http-interface=127.0.0.1", f"--http-port={free_port()}",
        "--without-demo=all" if os.environ.get("WITHOUT_DEMO") else "--log-level=info",
        "--max-cron-threads=0",
    ]
    started = time.monotonic()
    summary = None
    skipped = []
    logged_errors = []
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                cwd=ROOT)
        for line in proc.stdout:
            log.write(line)
            match = RESULT_RE.search(line)
            if match:
                summary = tuple(int(x) for x in match.groups())
            if SKIP_RE.search(line):
                skipped.append(line.strip())
            if LOG_LEVEL_RE.match(line) and not RESULT_RE.search(line):
                logged_errors.append(line.rstrip())
            # Echo what a developer needs: progress of our tests and every problem.
            # (the client's warnings are expected by the fault-injection tests: log file only)
            warning = " WARNING " in line and ".fapiao.client:" not in line
            if (any(f"{name}.tests" in line for name in MODULES) or LOG_LEVEL_RE.match(line) or warning
                    or line.startswith((" ", "Traceback", "AssertionError"))):
                sys.stdout.write(line)
        code = proc.wait()
    elapsed = time.monotonic() - started
    if not os.environ.get("KEEP_DB"):
        subprocess.call(["dropdb", "--if-exists", database], stderr=subprocess.DEVNULL)
    print(f"Odoo run took {elapsed:.0f}s, exit code {code}; full log in {log_path}")
    if summary is None:
        print("Odoo printed no test summary: the install or the test run crashed (see the log).")
        return 0, 1, 0
    failed, errors, total = summary
    # Errors logged outside a failing test (install problems, a crashed cron)
    # fail the run as Odoo's own CI does; failing tests already count once.
    stray = [e for e in logged_errors if not TEST_FAIL_RE.search(e)] if not (failed or errors) else []
    if stray:
        print(f"{len(stray)} error(s) were logged outside the tests:")
        print("\n".join(stray[:20]))
    # Odoo counts failed subtests, but tests as methods: count failing methods, so that
    # "passed" stays the methods that passed.
    failing = {match.group(1) for match in map(FAILING_TEST_RE.search, logged_errors) if match}
    if failing:
        failed, errors = len(failing), 0
    bad = failed + errors + (1 if stray else 0) + (1 if code and not (failed or errors) else 0)
    if total == 0:
        print("Odoo ran no test of the addon.")
        bad = max(bad, 1)
    for line in skipped:
        print("SKIPPED:", line)
    return total - failed - errors - len(skipped), bad, len(skipped)


def main():
    # ODOO_ONLY=1 (make soak) runs only the Odoo tests selected by ODOO_TEST_TAGS.
    passed, failed, skipped = (0, 0, 0) if os.environ.get("ODOO_ONLY") else run_pure_tests()
    odoo = run_odoo_tests()
    if odoo is None:
        if REQUIRE_ODOO:
            print("REQUIRE_ODOO=1: failing because the Odoo tests could not run.")
            failed += 1
    else:
        passed, failed, skipped = passed + odoo[0], failed + odoo[1], skipped + odoo[2]
    banner("Summary (pure fapiao tests + Odoo tests)")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line, flush=True)
    if skipped and REQUIRE_ODOO:
        print("Skipped tests do not count as passing under REQUIRE_ODOO=1.")
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    if not shutil.which("dropdb"):
        print("dropdb not found: run 'make setup'.")
    sys.exit(main())
