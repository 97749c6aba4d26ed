"""A fake monotonic clock for the handler tests: time moves only when the code under test sleeps
(or a test moves ``now``), so deadlines and backoffs are exact and instant."""

from __future__ import annotations


class FakeClock:
    """Stands in for ``time.monotonic`` (call it) and ``time.sleep`` (its ``sleep``)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        """Every sleep asked for, in order."""

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, f"asked to sleep {seconds} s"
        self.sleeps.append(seconds)
        self.now += seconds
