"""The deadline, bounded-client and retry helpers every shipped handler uses."""

from __future__ import annotations

import http.client
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ha_inference.functions import resilience
from ha_inference.functions.resilience import (
    Backoff,
    Deadline,
    DeadlineExceededError,
    RetriesExhaustedError,
    call_with_retries,
    is_retryable,
    truncate_utf8,
)
from tests.support.clock import FakeClock


class Context:
    def __init__(self, millis: int) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


def client_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Op",
    )


@pytest.mark.parametrize(
    "err",
    [
        client_error("ThrottlingException", 429),
        client_error("ServiceUnavailableException", 503),
        client_error("Whatever", 500),
        EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://x"),
        ReadTimeoutError(endpoint_url="https://x"),
        http.client.IncompleteRead(b"partial", 10),
        TimeoutError("timed out"),
    ],
)
def test_transient_failures_are_retryable(err: BaseException) -> None:
    assert is_retryable(err)


@pytest.mark.parametrize(
    "err",
    [
        client_error("AccessDeniedException", 403),
        client_error("ValidationException", 400),
        client_error("ResourceNotFoundException", 404),
        ValueError("bad"),
        KeyError("x"),
    ],
)
def test_client_errors_are_not_retryable(err: BaseException) -> None:
    assert not is_retryable(err)


def test_deadline_reads_the_lambda_context_and_keeps_the_reserve() -> None:
    clock = FakeClock()
    deadline = Deadline(Context(10_000), reserve=2.0, clock=clock)
    assert deadline.remaining() == pytest.approx(8.0)
    clock.sleep(7.5)
    assert deadline.remaining() == pytest.approx(0.5)
    with pytest.raises(DeadlineExceededError, match="not enough time left"):
        deadline.check("Bedrock")


def test_client_config_fits_the_time_left_and_turns_botocore_retries_off() -> None:
    clock = FakeClock()
    deadline = Deadline(Context(12_000), reserve=2.0, clock=clock)
    config = deadline.client_config(connect=3, read=60)
    assert config.connect_timeout == 3
    assert config.read_timeout == pytest.approx(7.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


@settings(max_examples=200, deadline=None)
@given(elapsed=st.floats(min_value=0.0, max_value=40.0))
def test_a_started_call_ends_within_the_reserve(elapsed: float) -> None:
    """Calls start only with at least MIN_CALL_SECONDS left, and each timeout is at least that
    long, so connect plus read can pass the deadline by at most one MIN_CALL_SECONDS: within
    the default reserve (2 s), which is therefore kept for answering. ClientCache rounds its
    timeouts down to whole seconds, so it never gives more than ``timeouts`` does."""
    clock = FakeClock()
    deadline = Deadline(Context(30_000), clock=clock)
    clients: list[Any] = []
    cache = resilience.ClientCache(lambda config: clients.append(config) or config)
    clock.sleep(elapsed)
    left = deadline.remaining()
    try:
        deadline.check("Bedrock")
    except DeadlineExceededError:
        assert left < resilience.MIN_CALL_SECONDS
        return
    connect, read = deadline.timeouts(connect=3.0, read=30.0)
    assert connect + read <= left + resilience.MIN_CALL_SECONDS + 1e-9
    assert deadline.reserve > resilience.MIN_CALL_SECONDS
    config = cache.get(deadline)
    assert config.connect_timeout <= connect
    assert config.read_timeout <= max(read, resilience.MIN_CALL_SECONDS)
    assert config.connect_timeout + config.read_timeout <= left + resilience.MIN_CALL_SECONDS + 1e-9


def test_retries_transient_failures_then_succeeds() -> None:
    clock = FakeClock()
    failures = [client_error("ThrottlingException", 429), ConnectTimeoutError(endpoint_url="u")]

    def operation(_: Deadline) -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    backoff = Backoff(max_attempts=4, sleep=clock.sleep, jitter=lambda lo, hi: hi)
    result = call_with_retries(
        "op", operation, deadline=Deadline.after(30, clock=clock), backoff=backoff
    )
    assert result == "ok"
    assert clock.now == pytest.approx(0.25 + 0.5)


def test_does_not_retry_a_client_error() -> None:
    calls = []

    def operation(_: Deadline) -> None:
        calls.append(1)
        raise client_error("AccessDeniedException", 403)

    with pytest.raises(ClientError):
        call_with_retries("op", operation, deadline=Deadline.after(30))
    assert len(calls) == 1


def test_gives_up_after_the_last_attempt_with_the_last_error() -> None:
    clock = FakeClock()
    err = EndpointConnectionError(endpoint_url="https://x")

    def operation(_: Deadline) -> None:
        raise err

    backoff = Backoff(max_attempts=3, sleep=clock.sleep, jitter=lambda lo, hi: 0.0)
    with pytest.raises(RetriesExhaustedError, match="failed transiently 3 times") as info:
        call_with_retries(
            "op", operation, deadline=Deadline.after(30, clock=clock), backoff=backoff
        )
    assert info.value.last is err


@settings(max_examples=200, deadline=None)
@given(
    budget=st.floats(min_value=0.0, max_value=20.0),
    durations=st.lists(st.floats(min_value=0.0, max_value=5.0), min_size=1, max_size=12),
    attempts=st.integers(min_value=1, max_value=10),
)
def test_never_sleeps_or_starts_a_call_past_the_deadline(
    budget: float, durations: list[float], attempts: int
) -> None:
    """Whatever the failures and their durations, no attempt starts with less than the minimum
    call time left, no wait ends past the deadline, and calls bounded by the timeouts the
    deadline gives end by then (at most one minimum call time late)."""
    clock = FakeClock()
    deadline = Deadline.after(budget, clock=clock)
    started: list[float] = []

    def operation(d: Deadline) -> Any:
        started.append(d.remaining())
        _, read = d.timeouts(connect=1.0, read=30.0)
        clock.now += min(durations[(len(started) - 1) % len(durations)], read)
        raise client_error("ThrottlingException", 429)

    backoff = Backoff(max_attempts=attempts, sleep=clock.sleep)
    with pytest.raises((RetriesExhaustedError, DeadlineExceededError)):
        call_with_retries("op", operation, deadline=deadline, backoff=backoff)
    assert all(left >= resilience.MIN_CALL_SECONDS for left in started)
    assert len(started) <= attempts
    assert clock.now <= budget + resilience.MIN_CALL_SECONDS


def test_truncates_by_bytes_not_characters() -> None:
    text = "é" * 3000  # 2 bytes each
    cut = truncate_utf8(text, 4096)
    assert len(cut.encode()) <= 4096
    assert cut == "é" * 2048
    assert truncate_utf8("short", 10) == "short"


# --- a resource being loaded ------------------------------------------------------------------

NOT_READY = client_error("ModelNotReadyException", 429)


def loading(clock: FakeClock, seconds: float) -> resilience.Loading:
    return resilience.Loading(
        codes=frozenset({"ModelNotReadyException"}),
        seconds=seconds,
        backoff=Backoff(
            max_attempts=20,
            base_delay=2.0,
            max_delay=8.0,
            sleep=clock.sleep,
            jitter=lambda lo, hi: hi,
        ),
    )


def test_loading_is_waited_out_without_using_up_the_attempts() -> None:
    clock = FakeClock()
    outcomes: list[Any] = [
        NOT_READY,
        NOT_READY,
        client_error("ThrottlingException", 429),
        NOT_READY,
        "ok",
    ]

    def operation(deadline: Deadline) -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return str(outcome)

    result = call_with_retries(
        "op",
        operation,
        deadline=Deadline.after(120.0, clock=clock),
        backoff=Backoff(max_attempts=2, sleep=clock.sleep, jitter=lambda lo, hi: hi),
        loading=loading(clock, 60.0),
    )
    assert result == "ok"
    assert clock.now == 2.0 + 4.0 + 0.25 + 8.0


def test_still_loading_after_its_budget_says_when_to_retry() -> None:
    clock = FakeClock()

    def operation(deadline: Deadline) -> str:
        raise NOT_READY

    with pytest.raises(resilience.StillLoadingError) as caught:
        call_with_retries(
            "op",
            operation,
            deadline=Deadline.after(120.0, clock=clock),
            loading=loading(clock, 20.0),
        )
    assert caught.value.retry_after == 30 and caught.value.last is NOT_READY
    assert clock.now == 2.0 + 4.0 + 8.0  # the next 8 s would pass the 20 s
    assert resilience.summarize(caught.value) == "ModelNotReadyException"


@settings(max_examples=100, deadline=None)
@given(
    seconds=st.floats(min_value=0.5, max_value=60.0),
    budget=st.floats(min_value=0.0, max_value=600.0),
)
def test_waiting_for_loading_never_passes_its_budget_or_the_deadline(
    seconds: float, budget: float
) -> None:
    clock = FakeClock()

    def operation(deadline: Deadline) -> str:
        clock.now += 0.1
        raise NOT_READY

    with pytest.raises(
        (resilience.StillLoadingError, DeadlineExceededError, RetriesExhaustedError)
    ):
        call_with_retries(
            "op",
            operation,
            deadline=Deadline.after(seconds, clock=clock),
            loading=loading(clock, budget),
        )
    assert clock.now <= seconds + 0.1
