"""What every platform simulator's HTTP server shares (the reference sandbox's, 诺诺's ...): a
threading server on loopback that never waits for its handlers to close, and one way to write a
reply."""

from http.server import ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


def send_reply(handler, reply):
    """Write ``reply`` (``status``, ``headers``, ``body``) through the BaseHTTPRequestHandler
    ``handler``: headers and body in one write (end_headers would flush the headers alone). A client
    that gave up (its read timeout fired) only closes the connection."""
    try:
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(reply.body)))
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler._headers_buffer.extend((b"\r\n", reply.body))
        handler.flush_headers()
    except OSError:
        handler.close_connection = True
