"""The platforms' rate and latency, as the simulators show them: the sliding window that counts an
app's requests (providers.loopback.RateWindow), the reference sandbox refusing an app over its rate,
the reference client pacing itself below it, and the latency every answer of a simulator waits."""

from fapiao.providers.loopback import RateWindow


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_a_window_counts_the_arrivals_of_the_last_second_per_key_and_keeps_the_peak():
    clock = Clock()
    window = RateWindow(1.0, clock=clock)
    assert [window.arrive("a", 2) for _ in range(3)] == [False, False, True]
    assert window.arrive("b", 2) is False               # each key its own window
    clock.now += 0.5
    assert window.arrive("a", 2) is True                # 4 within the second
    clock.now += 0.5                                    # the first three leave exactly one second on
    assert window.arrive("a", 2) is False
    assert (window.peak("a"), window.peak("b"), window.peak(), window.peak("c")) == (4, 1, 4, 0)


def test_without_a_rate_a_window_only_counts():
    window = RateWindow(1.0, clock=Clock())
    assert not any(window.arrive("a", rate) for rate in (0, None, 0.0) * 10)
    assert window.peak("a") == 30
