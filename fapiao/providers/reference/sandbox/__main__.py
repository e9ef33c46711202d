"""``python -m fapiao.sandbox``: run the sandbox tax platform until interrupted."""

import argparse
import logging
import signal
import sys
import threading

from ....catalogue import DEFAULT_CSV
from .apps import DEFAULT_APP
from .platform import DEFAULT_QUOTA, Sandbox
from .server import READ_TIMEOUT


def _rate(text):
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not a rate between 0 and 1")
    return value


def _seconds(text):
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds >= 0")
    return value


def _positive_seconds(text):
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a number of seconds > 0")
    return value


def _requests_per_second(text):
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a number of requests per second >= 0")
    return value


FAULT_OPTIONS = [  # flag, type, default, help
    ("--fault-busy", _rate, 0.0, "answer 9001 system busy, nothing processed"),
    ("--retry-after", int, 2, "retryAfter of busy answers, in seconds"),
    ("--fault-timeout", _rate, 0.0, "process, then hold the answer back --timeout-seconds"),
    ("--timeout-seconds", _seconds, 30.0, "how long a timeout fault holds the answer back"),
    ("--fault-drop", _rate, 0.0, "close the connection without answering, nothing processed"),
    ("--fault-malformed", _rate, 0.0, "process, then answer HTTP 200 with a body that is not JSON"),
    ("--fault-lost", _rate, 0.0, "process, then close the connection without answering"),
    ("--fault-slow", _rate, 0.0, "wait --slow-seconds, then process normally"),
    ("--slow-seconds", _seconds, 2.0, "how long a slow fault waits"),
    ("--fault-seed", int, None, "seed of the fault generator, for reproducible runs"),
    ("--pending-rate", _rate, 0.0, "share of issued invoices answered 'pending' first"),
    ("--pending-seconds", _seconds, 30.0, "business-clock seconds until a pending invoice resolves"),
    ("--pending-fail-rate", _rate, 0.0, "share of pending invoices that end 'failed' instead of 'issued'"),
]
SWITCH_OPTIONS = [  # flag, help
    ("--login-lapsed", "the drawers' tax-bureau login has lapsed: services that act at the bureau answer 2007"),
]


def parser():
    p = argparse.ArgumentParser(
        prog="python -m fapiao.sandbox",
        description="Embedded tax platform speaking the 数电票 protocol of docs/protocol.md "
                    "(signed, SM4-encrypted JSON over HTTP), for development and tests. "
                    "See docs/sandbox.md.",
        epilog=f"Unless --no-default-app is given, the application {DEFAULT_APP.app_id!r} (seller "
               f"{DEFAULT_APP.seller_tax_id} {DEFAULT_APP.seller_name}) is registered with the "
               "well-known credentials listed in docs/sandbox.md. "
               "Fault rates are defaults for every application; the admin endpoint "
               "(POST /admin/faults) overrides them per application.")
    server = p.add_argument_group("server")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default %(default)s)")
    server.add_argument("--port", type=int, default=8765, help="port to listen on, 0 for any free one "
                                                               "(default %(default)s)")
    server.add_argument("--db", required=True,
                        help="SQLite database file holding all state; created if missing, reused on restart")
    server.add_argument("--log-level", default="INFO", type=str.upper,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="(default %(default)s)")
    server.add_argument("--read-timeout", type=_positive_seconds, default=READ_TIMEOUT, metavar="S",
                        help="once a request has started, how long each read of it may wait, and how long "
                             "its body may take to arrive whole; then it is answered 1002 and its "
                             "connection closed (default %(default)s)")

    server.add_argument("--latency", type=_seconds, default=0.0, metavar="S",
                        help="seconds every /v1 answer waits, as a distant platform's would; requests are "
                             "done and counted for the rate when they arrive (default %(default)s)")

    platform = p.add_argument_group("platform")
    platform.add_argument("--app", action="append", default=[], metavar="APP_ID:SECRET:SM4KEY_HEX:SELLER_TAX_ID"
                                                                      "[:SELLER_NAME]",
                          help="register (or update) an application; repeatable")
    platform.add_argument("--no-default-app", action="store_true",
                          help=f"do not register the built-in application {DEFAULT_APP.app_id!r} "
                               "(and disable it if the database has it)")
    platform.add_argument("--timestamp-window", type=_seconds, default=300, metavar="S",
                          help="accepted distance of X-Timestamp from the real clock (default %(default)s)")
    platform.add_argument("--admin-token", metavar="TOKEN",
                          help="require this X-Admin-Token on the admin endpoint (loopback only in any case)")
    platform.add_argument("--catalogue", default=DEFAULT_CSV, metavar="CSV",
                          help="classification code table merged in at start (default: the addon's "
                               "data/tax_classification_codes_v32.csv)")
    platform.add_argument("--quota", default=str(DEFAULT_QUOTA), metavar="AMOUNT",
                          help="monthly credit quota (excl. tax) of every application without its own "
                               "(default %(default)s)")
    platform.add_argument("--callback-url", metavar="URL",
                          help="callback URL of every application without its own")
    platform.add_argument("--rate-limit", type=_requests_per_second, default=0.0, metavar="N",
                          help="requests per second every application without its own may send; more are "
                               "refused with 2010 (HTTP 429). Default 0: no limit")

    faults = p.add_argument_group("fault injection (rates from 0 to 1; after authentication)")
    for flag, kind, default, help_text in FAULT_OPTIONS:
        metavar = {_rate: "RATE", _seconds: "S"}.get(kind, "N")
        faults.add_argument(flag, type=kind, default=default, metavar=metavar,
                            help=help_text + (" (default %(default)s)" if default else ""))
    for flag, help_text in SWITCH_OPTIONS:
        faults.add_argument(flag, action="store_true", help=help_text)
    return p


def main(argv=None):
    options = vars(parser().parse_args(argv))
    logging.basicConfig(level=options.pop("log_level"), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    db, host, port = options.pop("db"), options.pop("host"), options.pop("port")
    try:
        sandbox = Sandbox(db, host, port, **options)
    except (ValueError, OSError) as error:  # bad option values, unreadable files
        print(f"sandbox: {error}", file=sys.stderr)
        return 2
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    with sandbox:
        print(f"sandbox platform listening on {sandbox.url}", flush=True)
        while not done.wait(1):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
