"""What every platform simulator's HTTP server shares (the reference sandbox's, 诺诺's ...): a
threading server on loopback that never waits for its handlers to close, one way to write a
reply and to hold it back (the platform's latency, a fault's delay), and the sliding window that
counts an app's requests against its rate."""

import threading
import time
from collections import deque
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


MAX_LATENCY = 3600.0        # seconds: no platform answers an hour later; more is a mistake


def check_latency(seconds):
    """A simulated platform's latency -> seconds (float, 0 to MAX_LATENCY); ValueError otherwise."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 <= seconds <= MAX_LATENCY:
        raise ValueError(f"a latency is a number of seconds from 0 to {MAX_LATENCY:g}, not {seconds!r}")
    return float(seconds)


def hold(handler, seconds, stopping):
    """Wait ``seconds`` before answering through ``handler``, in its connection's own thread, so
    that other requests go on meanwhile -> False when the server stops (``stopping`` is set) before
    then: the connection is closed without an answer."""
    if seconds and stopping.wait(seconds):
        handler.close_connection = True
        return False
    return True


class RateWindow:
    """The requests of each key (an app) that arrived in the last ``seconds`` of the real clock, as
    a platform counts them to refuse an app faster than its rate; and the most it ever saw in one
    window. Thread-safe: the server answers each connection in its own thread."""

    def __init__(self, seconds=1.0, clock=time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._arrivals = {}     # key -> arrival times within the window, oldest first
        self._peaks = {}        # key -> the most arrivals seen in one window (since the start)

    def arrive(self, key, rate):
        """Note one request of ``key`` as it arrives -> whether it makes more than ``rate`` in the
        window (``rate`` 0 or None: no limit, only counted)."""
        with self._lock:
            # read under the lock, so that the arrivals stay in order
            now = self._clock()
            seen = self._arrivals.setdefault(key, deque())
            seen.append(now)
            while seen[0] <= now - self.seconds:
                seen.popleft()
            self._peaks[key] = max(self._peaks.get(key, 0), len(seen))
            return bool(rate) and len(seen) > rate

    def peak(self, key=None):
        """The most requests of ``key`` seen in one window; of any key when None."""
        with self._lock:
            if key is None:
                return max(self._peaks.values(), default=0)
            return self._peaks.get(key, 0)
