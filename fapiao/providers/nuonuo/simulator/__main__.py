"""``python -m fapiao.providers.nuonuo.simulator``: the 诺诺 simulator from the command line.

Serves until interrupted; prints the endpoint, the token endpoint and, with ``--app``, an app's
settings (secret included: test credentials) for a company set to 诺诺.
"""

import argparse
import json
import signal
import sys
import threading

from ...loopback import check_latency
from . import NuonuoSimulator


def _latency(text):
    try:
        return check_latency(float(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _arguments(argv):
    parser = argparse.ArgumentParser(prog="python -m fapiao.providers.nuonuo.simulator",
                                     description="诺诺 open platform simulator (loopback HTTP, SQLite state)")
    parser.add_argument("--directory", default="nuonuo-simulator", help="state directory (default: %(default)s)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8710, help="port (0: any free one; default: %(default)s)")
    parser.add_argument("--app", metavar="APP_KEY", help="open (or change) this app and print its settings")
    parser.add_argument("--app-secret", help="the app's secret (default: generated, or the one it has)")
    parser.add_argument("--seller-tax-id", default="91350100M000100Y43", help="the app's taxpayer")
    parser.add_argument("--seller-name", default="示例科技有限公司", help="the app's seller name")
    parser.add_argument("--callback-url", default="", help="where 诺诺 posts its callbacks for the app")
    parser.add_argument("--rate-limit", type=float, default=10.0,
                        help="requests per second an app may send; more get HTTP 429 (default: %(default)s)")
    parser.add_argument("--latency", type=_latency, default=0.0, metavar="S",
                        help="seconds every answer waits, as a distant platform's would (default: %(default)s)")
    parser.add_argument("--timestamp-window", type=int, default=600,
                        help="seconds a request's timestamp may be off (0: unchecked; default: %(default)s)")
    for name in ("busy", "timeout", "drop", "malformed", "slow", "pending", "disconnect", "pending-failure",
                 "seal-failure"):
        parser.add_argument(f"--{name}", type=float, metavar="RATE", help=f"share of requests hit by {name} (0-1)")
    parser.add_argument("--login-lapsed", action="store_true", help="the drawer's tax-bureau login has lapsed")
    parser.add_argument("--pending-seconds", type=float, help="business seconds a pending order waits")
    parser.add_argument("--slow-seconds", type=float)
    parser.add_argument("--timeout-seconds", type=float)
    parser.add_argument("--seed", type=int)
    return parser.parse_args(argv)


def main(argv=None):
    args = _arguments(argv)
    simulator = NuonuoSimulator(args.directory, args.host, args.port, timestamp_window=args.timestamp_window,
                                rate_limit=args.rate_limit, latency=args.latency)
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        print(f"诺诺 simulator: endpoint {simulator.url}  token endpoint {simulator.server.token_url}", flush=True)
        if args.app:
            settings = {"app_secret": args.app_secret} if args.app_secret else None
            account = simulator.register(args.app, seller_tax_id=args.seller_tax_id, seller_name=args.seller_name,
                                         callback_url=args.callback_url, settings=settings)
            faults = {name: getattr(args, name) for name in ("busy", "timeout", "drop", "malformed", "slow", "pending",
                                                             "disconnect", "pending_failure", "seal_failure",
                                                             "pending_seconds", "slow_seconds", "timeout_seconds",
                                                             "seed") if getattr(args, name) is not None}
            simulator.set_faults(args.app, login_lapsed=int(args.login_lapsed), **faults)
            print(json.dumps(account.settings, ensure_ascii=False, indent=2), flush=True)
        while not done.wait(1):
            pass
    finally:
        simulator.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
