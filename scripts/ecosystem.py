#!/usr/bin/env python3
"""The Odoo community's own tools on this addon: an installable wheel and pytest-odoo.

    ecosystem.py wheel                build dist/odoo_addon_l10n_cn_einvoice-18.0.*.whl (make wheel)
    ecosystem.py wheel-check          build the wheel, install it into a fresh virtual environment
                                      that sees this machine's Odoo, and install the addon from it
                                      with odoo-bin -i into a throwaway database, with no addons
                                      path entry for this checkout (make wheel-check)
    ecosystem.py pytest-odoo [ARGS]   the Odoo tests (tests/) through pytest-odoo, against a
                                      database with the addon installed: PYTEST_ODOO_DB names one,
                                      otherwise a fresh one is made and dropped (make pytest-odoo)
    ecosystem.py check                what make test runs: wheel-check, then pytest-odoo on
                                      PYTEST_ODOO_TESTS (two test files by default) against the
                                      database the wheel installed

Each command that lacks something (Odoo, PostgreSQL, whool, pytest-odoo) stops
with one line saying what and how to get it. Under ``check`` that line is a
loud skip, as make test's pure-only mode is, and a failure with REQUIRE_ODOO=1.
"""

import configparser
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / ".odoo"
MODULE = "l10n_cn_einvoice"
PYTHON = sys.executable
# What make test runs through pytest-odoo: quick, and between them they load the
# registry, install checks, the sandbox platform and the company set-up.
DEFAULT_CHECK_TESTS = "tests/test_install.py tests/test_einvoice_config.py"


def work_dir():
    """Where the wheel check builds and installs: outside the checkout, whose own files
    Odoo walks (make i18n would read a second copy of the addon in a venv inside it)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha1(str(ROOT).encode(), usedforsecurity=False).hexdigest()[:12]
    return cache / MODULE / f"wheel-{digest}"


class Missing(Exception):
    """Something this command needs is not there; the message says how to get it."""


def say(text):
    print(text, flush=True)


# --------------------------------------------------------------------------- requirements
def odoo_source():
    """The Odoo 18.0 source directory the current Python imports, or Missing."""
    probe = ("import os, sys, odoo.release; src = os.path.dirname(os.path.dirname(odoo.release.__file__)); "
             "print(odoo.release.version); print(src); "
             "print(src in [os.path.abspath(p or '.') for p in sys.path])")
    proc = subprocess.run([PYTHON, "-c", probe], capture_output=True, text=True, cwd="/", check=False)
    lines = proc.stdout.split("\n")
    if proc.returncode or lines[0] != "18.0":
        raise Missing(f"Odoo 18.0 is not importable by {PYTHON}: run 'make setup' "
                      "(ODOO_SRC=/path/to/odoo-18.0 make setup)")
    if lines[2] != "True":
        raise Missing("Odoo is installed in editable mode through an import hook, which hides addons "
                      "installed from wheels (odoo.addons): run 'make setup' (it reinstalls Odoo in compat mode)")
    return Path(lines[1])


def require_module(name, package):
    if importlib.util.find_spec(name) is None:
        raise Missing(f"{package} is not installed: run 'make setup' (or pip install -r requirements-dev.txt)")


def require_postgres():
    if not shutil.which("pg_isready") or not shutil.which("createdb"):
        raise Missing("the PostgreSQL client tools are missing: run 'make setup' (apt-get install postgresql-client)")
    if subprocess.call(["pg_isready", "-q"]) != 0:
        raise Missing("PostgreSQL does not answer on its local socket: run 'make setup' (it starts the server)")


def addons_link():
    """The addons path entry of .odoo/odoo.conf holding the l10n_cn_einvoice link to this checkout."""
    config = BUILD / "odoo.conf"
    if not config.is_file():
        raise Missing("no .odoo/odoo.conf: run 'make setup'")
    parser = configparser.ConfigParser()
    parser.read(config)
    for entry in parser.get("options", "addons_path", fallback="").split(","):
        link = Path(entry.strip()) / MODULE
        if (link / "__manifest__.py").is_file():
            return config, link
    raise Missing(f"no {MODULE} link on the addons path of .odoo/odoo.conf: run 'make setup'")


# --------------------------------------------------------------------------- wheel
def build_wheel(out_dir):
    """Build the wheel with whool (no build isolation: the whool make setup installed)."""
    require_module("whool", "whool (the wheel build backend)")
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"odoo_addon_{MODULE}-*.whl"):
        old.unlink()
    started = time.monotonic()
    proc = subprocess.run([PYTHON, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                           "-q", "-w", str(out_dir), str(ROOT)], capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    wheels = list(out_dir.glob(f"odoo_addon_{MODULE}-18.0.*-py3-none-any.whl"))
    if proc.returncode or len(wheels) != 1:
        say(proc.stdout + proc.stderr)
        raise RuntimeError(f"pip wheel failed (exit {proc.returncode}); wheels built: {[w.name for w in wheels]}")
    wheel = wheels[0]
    say(f"built {wheel} ({wheel.stat().st_size // 1024} KiB) in {elapsed:.1f}s")
    untracked = subprocess.run(["git", "ls-files", "--others", "--exclude-standard"], cwd=ROOT,
                               capture_output=True, text=True, check=False).stdout.split()
    if untracked:
        say(f"note: the wheel holds the files git tracks; {len(untracked)} new file(s) not added to git are "
            f"not in it: {', '.join(untracked[:5])}{' ...' if len(untracked) > 5 else ''}")
    return wheel


def check_wheel_metadata(wheel):
    """The wheel declares the addon's Python dependencies and installs into odoo/addons/."""
    import zipfile  # noqa: PLC0415 - only this command needs it

    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = next(archive.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    requires = {line.split(":", 1)[1].strip().split(">")[0].split("=")[0].split("<")[0].strip().lower()
                for line in metadata.splitlines() if line.startswith("Requires-Dist:")}
    wanted = {"odoo", "cryptography", "gmssl", "python-stdnum", "requests", "qrcode", "reportlab"}
    if not wanted <= requires:
        raise RuntimeError(f"the wheel does not declare {sorted(wanted - requires)}: it declares {sorted(requires)}")
    if f"odoo/addons/{MODULE}/__manifest__.py" not in names:
        raise RuntimeError(f"the wheel has no odoo/addons/{MODULE}/__manifest__.py")
    bridged = [name for name in names if name.startswith(f"odoo/addons/{MODULE}/{MODULE}_pos/")]
    if bridged:     # the Point of Sale bridge is an addon of its own (scripts/build_backend.py)
        raise RuntimeError(f"the wheel holds the bridge {MODULE}_pos inside the addon: {bridged[:3]}")
    say(f"wheel declares: {', '.join(sorted(requires))}")


def install_into_venv(wheel, source):
    """A fresh venv that sees the machine's packages (Odoo included), with the wheel in it."""
    venv = work_dir() / "venv"
    if venv.exists():
        shutil.rmtree(venv)
    subprocess.run([PYTHON, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # --no-index: every dependency the wheel declares must already be there (Odoo's and ours)
    proc = subprocess.run([PYTHON, "-m", "pip", "--python", str(python), "install", "--no-index", "-q", str(wheel)],
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        say(proc.stdout + proc.stderr)
        raise RuntimeError("pip could not install the wheel into the virtual environment")
    # Odoo, configured without this checkout on its addons path, finds the addon in the venv.
    config = BUILD / "wheel-check.conf"
    config.write_text(
        "[options]\n"
        f"addons_path = {source / 'addons'},{source / 'odoo' / 'addons'}\n"
        f"data_dir = {BUILD / 'data'}\n"
        f"db_user = {os.environ.get('USER') or subprocess.check_output(['id', '-un'], text=True).strip()}\n"
        "admin_passwd = admin\n"
        "without_demo = all\n")
    probe = ("import sys, odoo; from odoo.tools import config; config.parse_config(['-c', sys.argv[1]]); "
             "from odoo.modules.module import get_module_path, initialize_sys_path; initialize_sys_path(); "
             f"print(get_module_path({MODULE!r}, display_warning=False) or '')")
    found = subprocess.run([str(python), "-c", probe, str(config)], capture_output=True, text=True,
                           cwd="/", check=False).stdout.strip()
    site = venv / "lib"
    if not found or not Path(found).resolve().is_relative_to(site.resolve()):
        raise RuntimeError(f"Odoo in the venv finds {MODULE} at {found or 'nowhere'}, not in the installed wheel")
    say(f"installed into a fresh venv: Odoo finds {MODULE} at {found}")
    return python, config


def odoo_install(python, source, config, database, log_path):
    """odoo-bin -i the addon into a new database; its log in log_path."""
    subprocess.call(["dropdb", "--if-exists", database], stderr=subprocess.DEVNULL)
    started = time.monotonic()
    cmd = [str(python), str(source / "odoo-bin"), "-c", str(config), "-d", database, "-i", MODULE,
           "--stop-after-init", "--no-http", "--max-cron-threads=0", "--log-level=warn"]
    with open(log_path, "w") as log:
        code = subprocess.call(cmd, stdout=log, stderr=subprocess.STDOUT, cwd="/")
    elapsed = time.monotonic() - started
    errors = [line for line in log_path.read_text().splitlines() if " ERROR " in line or " CRITICAL " in line]
    state = subprocess.run(["psql", "-d", database, "-Atc",
                            "select state from ir_module_module where name = 'l10n_cn_einvoice'"],
                           capture_output=True, text=True, check=False).stdout.strip()
    if code or errors or state != "installed":
        say("\n".join(errors[:20]))
        raise RuntimeError(f"odoo-bin -i {MODULE} from the wheel: exit {code}, module state {state or 'none'}, "
                           f"{len(errors)} error(s) logged; log in {log_path}")
    say(f"odoo-bin -i {MODULE} from the wheel: installed in {elapsed:.0f}s (database {database}, log {log_path})")


def wheel_check(keep_database=None):
    source = odoo_source()
    require_module("whool", "whool (the wheel build backend)")
    require_postgres()
    wheel = build_wheel(work_dir() / "dist")
    check_wheel_metadata(wheel)
    python, config = install_into_venv(wheel, source)
    database = keep_database or f"{MODULE}_wheel_{os.getpid()}"
    try:
        odoo_install(python, source, config, database, BUILD / "wheel-check.log")
    finally:
        if not keep_database:
            subprocess.call(["dropdb", "--if-exists", database], stderr=subprocess.DEVNULL)
    return database


# --------------------------------------------------------------------------- pytest-odoo
def run_pytest_odoo(database, tests, extra_args=()):
    """pytest-odoo on the given tests (paths relative to the checkout, run through the
    addons path link so that pytest-odoo imports them as odoo.addons.l10n_cn_einvoice)."""
    config, link = addons_link()
    report = BUILD / "pytest-odoo.xml"
    report.unlink(missing_ok=True)
    # -p pytest_odoo18 (scripts/pytest_odoo18.py): Odoo 18's test mode, which pytest-odoo leaves unset
    cmd = [PYTHON, "-m", "pytest", "-p", "pytest_odoo18", f"--odoo-config={config}", f"--odoo-database={database}",
           "-p", "no:cacheprovider", f"--junitxml={report}", "-q",
           *(str(link / test) for test in tests), *extra_args]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "scripts"),
                                                                    os.environ.get("PYTHONPATH")])))
    say("$ PYTHONPATH=scripts " + " ".join(cmd))
    code = subprocess.call(cmd, cwd=ROOT, env=env)
    if not report.exists():
        raise RuntimeError(f"pytest-odoo produced no report (exit code {code})")
    suite = ET.parse(report).getroot()
    suites = [suite] if suite.tag == "testsuite" else list(suite)
    total = sum(int(s.get("tests", 0)) for s in suites)
    failed = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    say(f"pytest-odoo: {total - failed - skipped} passed, {failed} failed, {skipped} skipped")
    if code == 5 or total == 0:
        raise RuntimeError("pytest-odoo ran no test")
    if code or failed:
        raise RuntimeError(f"pytest-odoo failed (exit code {code})")
    if skipped and not os.environ.get("ALLOW_SKIPPED"):
        # a test that did not run is not a test that passed (ALLOW_SKIPPED=1 to accept them)
        raise RuntimeError(f"pytest-odoo skipped {skipped} tests")


def pytest_odoo(args):
    source = odoo_source()
    require_module("pytest_odoo", "pytest-odoo")
    require_postgres()
    config, _link = addons_link()
    tests = [arg for arg in args if not arg.startswith("-")] or ["tests"]
    # HttpCase tests need pytest-odoo's HTTP server; without it they are skipped, not run
    options = [arg for arg in args if arg.startswith("-")] or ["--odoo-http"]
    database = os.environ.get("PYTEST_ODOO_DB")
    fresh = not database
    if fresh:
        database = f"{MODULE}_pytest_{os.getpid()}"
        subprocess.call(["dropdb", "--if-exists", database], stderr=subprocess.DEVNULL)
        say(f"installing {MODULE} into a fresh database {database} (PYTEST_ODOO_DB=name reuses one)")
        log = BUILD / "pytest-odoo-install.log"
        with open(log, "w") as out:
            code = subprocess.call([PYTHON, str(source / "odoo-bin"), "-c", str(config), "-d", database,
                                    "-i", MODULE, "--stop-after-init", "--no-http", "--max-cron-threads=0",
                                    "--without-demo=all", "--log-level=warn"], stdout=out, stderr=subprocess.STDOUT)
        if code:
            raise RuntimeError(f"installing {MODULE} failed (exit {code}); log in {log}")
    try:
        run_pytest_odoo(database, tests, options)
    finally:
        if fresh and not os.environ.get("KEEP_DB"):
            subprocess.call(["dropdb", "--if-exists", database], stderr=subprocess.DEVNULL)


def check():
    """make test: the wheel, then pytest-odoo against the database the wheel installed the addon in."""
    odoo_source()
    require_module("whool", "whool (the wheel build backend)")
    require_module("pytest_odoo", "pytest-odoo")
    require_postgres()
    addons_link()
    database = f"{MODULE}_eco_{os.getpid()}"
    try:
        say("--- the wheel (whool), installed the way an integrator installs it")
        wheel_check(keep_database=database)
        say("--- pytest-odoo, against that database, with the checkout's tests")
        tests = (os.environ.get("PYTEST_ODOO_TESTS") or DEFAULT_CHECK_TESTS).split()
        run_pytest_odoo(database, tests)
    finally:
        subprocess.call(["dropdb", "--if-exists", database], stderr=subprocess.DEVNULL)


def main(argv):
    if not argv or argv[0] not in {"wheel", "wheel-check", "pytest-odoo", "check"}:
        say(__doc__)
        return 2
    command, args = argv[0], argv[1:]
    if command == "check":
        say("=" * 72 + "\nThe addon in the Odoo ecosystem: wheel (whool) and pytest-odoo\n" + "=" * 72)
    try:
        if command == "wheel":
            build_wheel(ROOT / "dist")
        elif command == "wheel-check":
            wheel_check()
        elif command == "pytest-odoo":
            pytest_odoo(args)
        else:
            check()
    except Missing as missing:
        if command == "check" and os.environ.get("REQUIRE_ODOO") != "1":
            say(f"SKIPPED, THE WHEEL AND PYTEST-ODOO CHECKS DID NOT RUN: {missing}")
            return 0
        say(f"make {'test' if command == 'check' else command}: {missing}")
        return 1
    except (RuntimeError, subprocess.CalledProcessError) as failure:
        say(f"FAILED: {failure}")
        return 1
    if command == "check":
        say("wheel and pytest-odoo checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
