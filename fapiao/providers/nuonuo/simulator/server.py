"""The HTTP side of the 诺诺 simulator: a threaded HTTP/1.1 server on loopback.

- ``POST /open/v1/services?senid=&nonce=&timestamp=&appkey=``: the business methods (Platform.services);
- ``POST /accessToken``: the token endpoint (a client_credentials form);
- ``GET /files/{serialNo}/{key}.{pdf|ofd|xml}``: an issued invoice's files, at plain
  ``http://127.0.0.1:port`` addresses (the client takes plain HTTP from a loopback host the
  company lists in ``download_hosts``, and from nowhere else);
- ``GET /health``.

Two background threads: one resolves what falls due on the business clock (pending orders),
one posts 诺诺's callbacks (a form: operater=callback, orderno, content), retried after
``RETRY_WAITS`` real seconds, then given up.
"""

import contextlib
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

import requests

from ...loopback import LoopbackServer, check_latency, hold, send_reply
from ...reference.sandbox.clock import real_ms
from .platform import RATE_LIMIT, Platform, Reply, envelope, json_reply
from .store import Store

_logger = logging.getLogger(__name__)

SERVICES_PATH, TOKEN_PATH = "/open/v1/services", "/accessToken"
MAX_BODY = 10 * 1024 * 1024
RETRY_WAITS = (1, 3, 10)         # real seconds between callback attempts; then "failed"
SEND_TIMEOUT = (3, 10)
TICK_SECONDS = 0.2


def _first_values(query):
    return {name: values[0] for name, values in parse_qs(query, keep_blank_values=True).items()}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "nuonuo-simulator/1"
    disable_nagle_algorithm = True
    timeout = 300

    def do_POST(self):
        platform = self.server.platform
        path, _, query = self.path.partition("?")
        length = self.headers.get("Content-Length") or "0"
        if not length.isdigit() or int(length) > MAX_BODY or self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(json_reply({"code": "E9999", "describe": "无法读取的请求", "result": None}, status=400))
            return
        body = self.rfile.read(int(length))
        try:
            if path == SERVICES_PATH:
                reply = platform.services(_first_values(query), self.headers, body)
            elif path == TOKEN_PATH:
                reply = platform.token(_first_values(body.decode("utf-8", "replace")))
            else:
                reply = json_reply({"code": "404", "describe": f"{path} 不存在", "result": None}, status=404)
        except Exception:   # a bug, or the simulator stopping under the request: still answer
            _logger.exception("POST %s failed", path)
            reply = envelope("E9999", "系统错误")
        self._deliver(reply)

    def do_GET(self):
        path = self.path.partition("?")[0]
        if path == "/health":
            self._send(json_reply({"status": "ok"}))
            return
        parts = path.split("/")
        found = None
        if len(parts) == 4 and parts[1] == "files" and "." in parts[3]:
            key, _, kind = parts[3].rpartition(".")
            found = self.server.platform.file(parts[2], key, kind)
        if found is None:
            self._deliver(Reply(status=404, body=b"not found", headers={"Content-Type": "text/plain"}))
            return
        content, content_type = found
        self._deliver(Reply(body=content, headers={"Content-Type": content_type}))

    def _deliver(self, reply):
        """Answer after the platform's latency (the request was done, and counted for the rate, on
        arrival), then after the reply's own delay."""
        stopping = self.server.platform.stopping
        if not hold(self, self.server.platform.latency, stopping):
            return
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if hold(self, reply.delay, stopping):
            self._send(reply)

    def _send(self, reply):
        send_reply(self, reply)

    def log_message(self, fmt, *args):
        _logger.debug("%s " + fmt, self.client_address[0], *args)


class _Server(LoopbackServer):
    def __init__(self, address, platform):
        self.platform = platform
        super().__init__(address, Handler)


class NuonuoServer:
    """The platform served on ``host:port`` (0: a free port) with its state in ``directory``.
    ``timestamp_window``: seconds a request's timestamp may be off the real clock (0: unchecked);
    ``rate_limit``: requests per second of an app that has no rate of its own; ``latency``: seconds
    every answer of the platform waits (Platform.latency)."""

    def __init__(self, directory, host="127.0.0.1", port=0, timestamp_window=600, rate_limit=RATE_LIMIT,
                 *, latency=0.0):
        latency = check_latency(latency)    # before anything is opened
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.store = Store(directory / "nuonuo.db")
        self._server = _Server((host, port), None)
        self.platform = Platform(self.store, lambda: self.base_url, timestamp_window=timestamp_window,
                                 rate_limit=rate_limit, latency=latency)
        self._server.platform = self.platform
        self._session = requests.Session()
        self._threads = []

    @property
    def base_url(self):
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def services_url(self):
        return self.base_url + SERVICES_PATH

    @property
    def token_url(self):
        return self.base_url + TOKEN_PATH

    def start(self):
        self._threads = [threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True,
                                          name="nuonuo-simulator"),
                         threading.Thread(target=self._tick_forever, daemon=True, name="nuonuo-simulator-clock"),
                         threading.Thread(target=self._deliver_forever, daemon=True,
                                          name="nuonuo-simulator-callbacks")]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self):
        if self.platform.stopping.is_set():
            return
        self.platform.stopping.set()
        self.platform.deliveries_waiting.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._session.close()
        self.store.close()

    # --- background work ------------------------------------------------------------------------

    def _tick_forever(self):
        while not self.platform.stopping.wait(TICK_SECONDS):
            try:
                self.platform.tick()
            except Exception:   # keep ticking: one bad record must not stop the clock
                _logger.exception("tick failed")

    def _deliver_forever(self):
        while not self.platform.stopping.is_set():
            self.platform.deliveries_waiting.wait(TICK_SECONDS)
            self.platform.deliveries_waiting.clear()
            if self.platform.stopping.is_set():
                return
            try:
                self.deliver_due()
            except Exception:
                _logger.exception("callback delivery failed")

    def deliver_due(self):
        """Post every callback that is due (real clock)."""
        for app in self.platform.apps():
            for delivery in self.platform.deliveries(app["app_key"]):
                if delivery["status"] != "pending" or delivery["next_ms"] > real_ms():
                    continue
                delivery["attempts"] += 1
                delivery["error"] = self._post(delivery)
                if not delivery["error"]:
                    delivery["status"] = "delivered"
                elif delivery["attempts"] > len(RETRY_WAITS):
                    delivery["status"] = "failed"
                else:
                    delivery["next_ms"] = real_ms() + RETRY_WAITS[delivery["attempts"] - 1] * 1000
                self.platform.save_delivery(delivery)

    def _post(self, delivery):
        """"" when the ERP took it (HTTP 200, status 0000), else why not."""
        try:
            response = self._session.post(delivery["url"], data=delivery["form"], timeout=SEND_TIMEOUT,
                                          allow_redirects=False)
        except requests.RequestException as error:
            return type(error).__name__
        if response.status_code != 200:
            return f"HTTP {response.status_code}"
        try:
            status = response.json().get("status")
        except (ValueError, AttributeError):
            return "the answer is not JSON"
        return "" if str(status) == "0000" else f"status {status}"
