"""Several platform requests in flight at once, their outcomes handed back to the one thread that
may use the database.

A platform answers in hundreds of milliseconds: one request at a time, a worker spends nearly all
its time waiting. :class:`ParallelSender` runs the calls (platform work only) in a bounded pool of
threads and yields each outcome, in the caller's thread, as soon as it comes, so that the caller
writes one result while the next requests are in flight. What a call must leave to the caller's
thread (an audit log line that needs the caller's transaction, say) goes to
:func:`deferred_work`'s list and runs there before the call's outcome is yielded.
"""

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed

NOT_SENT = object()     # the call was not made: stopped, or the deadline had passed

_local = threading.local()


def deferred_work():
    """In a sending thread, the list where work that must run in the caller's thread goes (a
    zero-argument callable per item); None in any other thread."""
    return getattr(_local, "deferred", None)


class ParallelSender:
    """At most ``width`` calls at once. ``deadline``: a callable saying that no more may start."""

    def __init__(self, width, deadline=None, stop_on=()):
        """``stop_on``: exception classes after which no call starts (a lapsed login, say: the
        platform refuses them all); the sending thread stops the others at once, before its
        outcome reaches the caller."""
        self._width = max(1, int(width))
        self._deadline = deadline
        self._stop_on = tuple(stop_on)
        self._stopped = threading.Event()

    def stop(self):
        """Calls that have not started are not made (their outcome is NOT_SENT)."""
        self._stopped.set()

    def run(self, calls):
        """``calls``: {key: zero-argument callable} -> yields ``(key, outcome)`` as each completes:
        the call's answer, the exception it raised, or NOT_SENT. A caller that stops iterating (or
        fails) stops the calls not yet started and waits for those in flight."""
        if not calls:
            return
        if self._width == 1:    # no thread: each call, then its outcome, in the caller's thread
            for key, call in calls.items():
                outcome = self._attempt(call)
                yield key, outcome
            return
        with ThreadPoolExecutor(max_workers=min(self._width, len(calls)),
                                thread_name_prefix="l10n_cn_einv_send") as pool:
            futures = {pool.submit(self._one, call): key for key, call in calls.items()}
            try:
                for future in as_completed(futures):
                    outcome, deferred = future.result()
                    for work in deferred:
                        work()
                    yield futures[future], outcome
            finally:
                self._stopped.set()

    def _attempt(self, call):
        if self._stopped.is_set() or (self._deadline is not None and self._deadline()):
            return NOT_SENT
        try:
            return call()
        except Exception as error:  # handed to the caller's thread, which decides
            if isinstance(error, self._stop_on):
                self._stopped.set()
            return error

    def _one(self, call):
        deferred = []
        _local.deferred = deferred
        try:
            return self._attempt(call), deferred
        finally:
            _local.deferred = None
