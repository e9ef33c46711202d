"""The HTTP layer: a threaded HTTP/1.1 server with keep-alive.

Each connection gets a thread and keeps it while the client reuses the
connection, so a requests.Session costs one TCP handshake. Nagle is off and
every answer carries a Content-Length. Requests go to the admin endpoint
(/admin/...), to the health check (GET /health) or to the /v1 gateway.
"""

import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import admin
from .gate import Request, json_reply, unsigned

_logger = logging.getLogger(__name__)

MAX_BODY = 20 * 1024 * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fapiao-sandbox/1"
    disable_nagle_algorithm = True
    timeout = 300            # an idle keep-alive connection is closed after this

    def do_POST(self):
        self._serve()

    do_GET = do_PUT = do_DELETE = do_PATCH = do_POST

    def _serve(self):
        sandbox = self.server.sandbox
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(json_reply(400, {"error": "a Content-Length of at most 20 MiB is required"}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        request = Request(self.command, path, query, self.headers, body, self.client_address[0])
        try:
            if path.startswith("/admin/"):
                reply = admin.handle(sandbox, request)
            elif path == "/health" and self.command == "GET":
                reply = json_reply(200, {"status": "ok"})
            else:
                reply = sandbox.gateway.handle(request)
        except Exception:  # a bug, or the platform stopping under the request: still answer
            _logger.exception("%s %s failed", self.command, path)
            reply = unsigned("SYSTEM_ERROR")
        if reply.drop:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if reply.delay and sandbox.stopping.wait(reply.delay):
            self.close_connection = True
            return
        self._send(reply)

    def _send(self, reply):
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            # Headers and body in one write (end_headers would flush the headers alone).
            self._headers_buffer.extend((b"\r\n", reply.body))
            self.flush_headers()
        except OSError:  # the client gave up (e.g. its read timeout fired)
            self.close_connection = True

    def log_message(self, format, *args):
        _logger.debug("%s " + format, self.client_address[0], *args)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

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
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
