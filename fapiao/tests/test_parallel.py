"""fapiao.parallel: several calls in flight, outcomes handed back to the caller's thread."""

import threading
import time

import pytest

from fapiao.parallel import NOT_SENT, ParallelSender, deferred_work


def test_calls_overlap_up_to_the_width_and_never_more():
    lock, running, peak = threading.Lock(), [0], [0]

    def call():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return "ok"

    started = time.monotonic()
    outcomes = dict(ParallelSender(4).run({key: call for key in range(12)}))
    elapsed = time.monotonic() - started
    assert outcomes == {key: "ok" for key in range(12)}
    assert peak[0] == 4
    assert elapsed < 12 * 0.05 / 2, "three waves of four, not twelve calls one after the other"


def test_outcomes_come_in_the_callers_thread_as_each_completes():
    caller = threading.current_thread()
    order = []

    def slow():
        time.sleep(0.2)
        return "slow"

    for key, outcome in ParallelSender(2).run({"slow": slow, "fast": lambda: "fast"}):
        assert threading.current_thread() is caller
        order.append((key, outcome))
    assert order == [("fast", "fast"), ("slow", "slow")]


def test_an_exception_is_the_calls_outcome_and_the_others_go_on():
    def refused():
        raise ValueError("refused")

    outcomes = dict(ParallelSender(3).run({"a": lambda: 1, "b": refused, "c": lambda: 3}))
    assert outcomes["a"] == 1 and outcomes["c"] == 3
    assert isinstance(outcomes["b"], ValueError)


def test_stop_leaves_what_has_not_started_unsent():
    sender = ParallelSender(1)
    outcomes = []
    for key, outcome in sender.run({index: (lambda index=index: index) for index in range(5)}):
        outcomes.append((key, outcome))
        if key == 1:
            sender.stop()
    assert outcomes == [(0, 0), (1, 1), (2, NOT_SENT), (3, NOT_SENT), (4, NOT_SENT)]


def test_a_passed_deadline_sends_nothing_more():
    started = time.monotonic()
    sender = ParallelSender(2, deadline=lambda: time.monotonic() - started > 0.1)
    outcomes = dict(sender.run({index: (lambda: time.sleep(0.15) or "sent") for index in range(6)}))
    assert list(outcomes.values()).count("sent") == 2
    assert list(outcomes.values()).count(NOT_SENT) == 4


def test_deferred_work_runs_in_the_callers_thread_before_the_outcome():
    caller = threading.current_thread()
    ran_in = []
    assert deferred_work() is None, "the caller's own thread defers nothing"

    def call():
        deferred_work().append(lambda: ran_in.append(threading.current_thread()))
        return "answer"

    for _key, outcome in ParallelSender(2).run({1: call, 2: call}):
        assert outcome == "answer"
    assert ran_in == [caller, caller]


def test_a_caller_failing_midway_stops_the_rest_and_waits_for_those_in_flight():
    made = []

    def call(index):
        time.sleep(0.05)
        made.append(index)
        return index

    sender = ParallelSender(2)
    with pytest.raises(RuntimeError):
        for _key, _outcome in sender.run({index: (lambda index=index: call(index)) for index in range(10)}):
            raise RuntimeError("the caller's bookkeeping failed")
    settled = len(made)
    time.sleep(0.2)
    assert len(made) == settled <= 4, "nothing starts after the caller gave up, nothing is left running"


def test_an_error_that_stops_everything_stops_the_sending_threads_at_once():
    class Lapsed(Exception):
        pass

    made = []

    def call(index):
        made.append(index)
        if index == 0:
            raise Lapsed
        time.sleep(0.1)
        return index

    sender = ParallelSender(2, stop_on=(Lapsed,))
    outcomes = dict(sender.run({index: (lambda index=index: call(index)) for index in range(8)}))
    assert isinstance(outcomes[0], Lapsed)
    assert len(made) <= 2, "only the call already in flight beside it was made"
    assert list(outcomes.values()).count(NOT_SENT) == 8 - len(made)
