"""The HTTP layer: a threaded HTTP/1.1 server with keep-alive.

Each connection gets a thread and keeps it while the client reuses the
connection, so a requests.Session costs one TCP handshake. Nagle is off and
every answer carries a Content-Length. Requests go to the admin endpoint
(/admin/...), to the health check (GET /health) or to the /v1 gateway.

Whatever arrives gets at most one answer, in the protocol's JSON: a request
the HTTP layer cannot read (garbage request line, chunked, over-size or
short body) is answered 1002 (1004 for a method nobody serves) and its
connection closed, so that no leftover bytes are read as a second request.
"""

import contextlib
import logging
import re
import socket
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler

from ...loopback import LoopbackServer, hold, send_reply
from . import admin
from .gate import Request, json_reply, unsigned

_logger = logging.getLogger(__name__)

MAX_BODY = 20 * 1024 * 1024
IDLE_TIMEOUT = 300          # an idle keep-alive connection is closed after this (seconds)
READ_TIMEOUT = 5.0          # default of --read-timeout: reading a request that has started
LINGER_SECONDS = 1.0        # after refusing an unread body: how long to drain what still comes
_CONTENT_LENGTH = re.compile(r"[0-9]{1,15}")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fapiao-sandbox/1"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT

    def handle_one_request(self):
        # Waiting for the next request on a kept-alive connection may take long;
        # reading a request once it has started may not.
        try:
            arriving = self._request_arriving()
        except OSError:     # includes the idle timeout
            arriving = False
        if not arriving:
            self.close_connection = True
            return
        self.connection.settimeout(self.server.sandbox.read_timeout)
        super().handle_one_request()
        if not self.close_connection:
            self.connection.settimeout(self.timeout)

    def _request_arriving(self):
        """Wait for the first byte of a request, skipping the empty lines that may precede
        one (RFC 9112 §2.2); False at the end of the connection."""
        while True:
            waiting = self.rfile.peek(1)
            if not waiting:
                return False
            blank = len(waiting) - len(waiting.lstrip(b"\r\n"))
            if not blank:
                return True
            self.rfile.read(blank)

    def parse_request(self):
        # A request line without a version (HTTP/0.9) has no headers: the base class would
        # wait for some before refusing it.
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        if len(line.split()) == 2:
            self.requestline, self.command = line, None
            self.send_error(HTTPStatus.BAD_REQUEST, f"{line[:80]!r} has no HTTP version (HTTP/1.1 expected)")
            return False
        return super().parse_request()

    def do_POST(self):
        self._serve()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def handle_expect_100(self):
        # A body that would be refused is not asked for.
        problem = self._framing_problem()
        if problem:
            self._answer_and_close(self._unreadable(*problem))
            return False
        return super().handle_expect_100()

    def send_error(self, code, message=None, explain=None):
        """What the base class sends as an HTML page (garbage request line, headers too long,
        unsupported method ...), as a protocol answer instead; then the connection closes."""
        # The request line may not have said which HTTP it speaks: answer in ours.
        self.request_version = self.protocol_version
        reason = message or HTTPStatus(code).phrase
        if code == HTTPStatus.NOT_IMPLEMENTED:   # a method nobody serves, as for any path that is not a service
            reply = unsigned("UNKNOWN_SERVICE", f"服务不存在 / unknown service: {reason}")
        else:
            reply = unsigned("MALFORMED_REQUEST", f"无法读取的 HTTP 请求 / unreadable HTTP request: {reason}")
        self._answer_and_close(reply)

    def _serve(self):
        sandbox = self.server.sandbox
        problem = self._framing_problem()
        if not problem:
            body, problem = self._read_body(self._length)
        if problem:
            self._answer_and_close(self._unreadable(*problem))
            return
        path, _, query = self.path.partition("?")
        request = Request(self.command, path, query, self.headers, body, self.client_address[0])
        latency = 0.0       # the operator's own routes answer at once
        try:
            if path.startswith("/admin/"):
                reply = admin.handle(sandbox, request)
            elif path == "/health" and self.command == "GET":
                reply = json_reply(200, {"status": "ok"})
            else:
                # what the platform does happens on arrival (the rate counts it then); only its answer waits
                reply, latency = sandbox.gateway.handle(request), sandbox.latency
        except Exception:  # a bug, or the platform stopping under the request: still answer
            _logger.exception("%s %s failed", self.command, path)
            reply = unsigned("SYSTEM_ERROR")
        if not hold(self, latency, sandbox.stopping):
            return
        if reply.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if hold(self, reply.delay, sandbox.stopping):
            self._send(reply)

    # --- requests the HTTP layer cannot read ------------------------------------------------

    def _framing_problem(self):
        """(English, Chinese) reasons why the body cannot be read, or None; sets ``_length``."""
        if self.headers.get("Transfer-Encoding") is not None:
            return ("Transfer-Encoding is not accepted: send the body with a Content-Length",
                    "不接受 Transfer-Encoding（分块传输）：请以 Content-Length 发送请求体")
        values = {value.strip() for value in self.headers.get_all("Content-Length") or ()}
        if len(values) > 1:
            return "conflicting Content-Length headers", "Content-Length 请求头相互矛盾"
        text = values.pop() if values else "0"
        if not _CONTENT_LENGTH.fullmatch(text):
            return (f"Content-Length {text[:40]!r} is not a number of bytes",
                    f"Content-Length“{text[:40]}”不是字节数")
        self._length = int(text)
        if self._length > MAX_BODY:
            return (f"the body of {self._length} bytes is larger than the {MAX_BODY} bytes accepted",
                    f"请求体 {self._length} 字节，超过上限 {MAX_BODY} 字节")
        return None

    def _read_body(self, length):
        """(body, None), or (None, reasons) when it does not arrive whole within the read timeout."""
        limit = self.server.sandbox.read_timeout
        deadline = time.monotonic() + limit
        chunks, received = [], 0
        while received < length:
            remaining = deadline - time.monotonic()
            chunk = b""
            if remaining > 0:
                self.connection.settimeout(remaining)
                with contextlib.suppress(OSError):     # a time-out included: nothing came
                    chunk = self.rfile.read1(min(length - received, 1 << 16))
            if not chunk:
                return None, (f"only {received} of the {length} bytes of Content-Length arrived "
                              f"within {limit:g} s: nothing was processed",
                              f"{limit:g} 秒内只收到 Content-Length 所述 {length} 字节中的 {received} 字节，"
                              "未作任何处理")
            chunks.append(chunk)
            received += len(chunk)
        # What was left of the deadline must not bound writing the answer.
        self.connection.settimeout(limit)
        return b"".join(chunks), None

    def _unreadable(self, reason_en, reason_zh):
        path = self.path.partition("?")[0]
        return self.server.sandbox.gateway.unreadable(path, self.headers, reason_en, reason_zh)

    def _answer_and_close(self, reply):
        """Answer a request that was not read to its end, then close: what is left of it would
        otherwise be read as the next request. What the client still sends is drained for a
        moment, so that closing does not reset the connection before the answer is read."""
        self.close_connection = True
        self._send(reply)
        with contextlib.suppress(OSError):     # the client may be gone already
            self.connection.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER_SECONDS
            while (remaining := deadline - time.monotonic()) > 0:
                self.connection.settimeout(remaining)
                if not self.connection.recv(1 << 16):
                    break

    def _send(self, reply):
        send_reply(self, reply)

    def log_message(self, fmt, *args):
        _logger.debug("%s " + fmt, self.client_address[0], *args)


class SandboxServer(LoopbackServer):
    def __init__(self, address, sandbox):
        self.sandbox = sandbox
        self._connections = set()
        self._lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request, client_address):
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_all(self):
        """Close the server and every open keep-alive connection."""
        self.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
