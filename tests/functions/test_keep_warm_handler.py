"""The keep-warm handler: one one-token Converse call that keeps an imported model loaded."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ha_inference.functions import keep_warm
from ha_inference.functions.resilience import MIN_CALL_SECONDS, Backoff, Deadline
from ha_inference.functions.settings import ConfigError
from tests.support.clock import FakeClock
from tests.support.collection_stub import ACCOUNT, ScriptedClient

pytestmark = pytest.mark.usefixtures("requests_the_service_accepts")

MODEL_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:imported-model/abcdefgh1234"
ANSWER = {
    "output": {"message": {"role": "assistant", "content": [{"text": "p"}]}},
    "stopReason": "max_tokens",
    "usage": {"inputTokens": 3, "outputTokens": 1, "totalTokens": 4},
    "metrics": {"latencyMs": 80},
}


def run(
    bedrock: ScriptedClient,
    clock: FakeClock | None = None,
    seconds: float = 60.0,
    configs: list[Any] | None = None,
) -> bool:
    clock = clock or FakeClock()

    def client(deadline: Deadline) -> Any:
        if configs is not None:
            configs.append(keep_warm.client_config(deadline))
        return bedrock.client

    return keep_warm.keep_warm(
        MODEL_ARN,
        Deadline.after(seconds, clock=clock),
        client=client,
        backoff=Backoff(max_attempts=3, sleep=clock.sleep, jitter=lambda low, high: high),
    )


def test_the_model_answered_is_warm() -> None:
    bedrock = ScriptedClient("bedrock-runtime")
    bedrock.then("Converse", ANSWER)
    assert run(bedrock) is True
    assert bedrock.calls == ["Converse"]


def test_a_model_being_loaded_is_not_an_error() -> None:
    """ModelNotReadyException: the call made Bedrock load the model again, which is the job."""
    bedrock = ScriptedClient("bedrock-runtime")
    bedrock.then("Converse", ("error", "ModelNotReadyException", 429))
    assert run(bedrock) is False
    assert bedrock.calls == ["Converse"], "not retried: the next scheduled call finds it loaded"


@pytest.mark.parametrize(
    "outcomes",
    [
        [("error", "AccessDeniedException", 403)],
        [("error", "ThrottlingException", 429)] * 3,
        [EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")]
        * 3,
    ],
    ids=["denied", "throttled", "unreachable"],
)
def test_a_failed_call_raises_without_the_aws_message(outcomes: list[Any]) -> None:
    """The invocation fails, so it counts in the function's Errors metric."""
    bedrock = ScriptedClient("bedrock-runtime")
    bedrock.then("Converse", *outcomes)
    with pytest.raises(keep_warm.KeepWarmError, match=r"^the keep-warm call failed \(") as caught:
        run(bedrock)
    assert "arn:" not in str(caught.value) and ACCOUNT not in str(caught.value)


def test_the_entry_point_reads_the_model_from_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bedrock = ScriptedClient("bedrock-runtime")
    bedrock.then("Converse", ANSWER)
    monkeypatch.setattr(keep_warm, "_default_client", lambda deadline: bedrock.client)
    monkeypatch.setenv("MODEL_ID", MODEL_ARN)

    class Context:
        aws_request_id = "kw-1"

        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    assert keep_warm.handler({"source": "aws.events"}, Context()) == {
        "warm": True,
        "requestId": "kw-1",
    }
    monkeypatch.delenv("MODEL_ID")
    with pytest.raises(ConfigError, match="MODEL_ID is required"):
        keep_warm.handler({}, Context())


@cache
def shared_client() -> ScriptedClient:
    """One client for every example (building one costs more than an example)."""
    return ScriptedClient("bedrock-runtime")


OUTCOMES = st.sampled_from(
    [
        ANSWER,
        ("error", "ModelNotReadyException", 429),
        ("error", "ThrottlingException", 429),
        ("error", "ServiceUnavailableException", 503),
        ("error", "ValidationException", 400),
        "hang",
    ]
)


FLOAT_ROUNDING = 1e-9
"""Seconds the stand-in clock may drift from exact sums: it adds binary floats."""


@settings(max_examples=60, deadline=None)
@given(outcomes=st.lists(OUTCOMES, max_size=4), seconds=st.floats(min_value=0.5, max_value=90.0))
@example(  # two throttles then a hang that uses exactly the time left (a float rounding edge)
    outcomes=[("error", "ThrottlingException", 429)] * 2 + ["hang"], seconds=2.00001
)
def test_answers_once_in_time_and_never_warm_without_an_answer(
    outcomes: list[Any], seconds: float
) -> None:
    clock = FakeClock()
    bedrock = shared_client()
    bedrock.reset()
    configs: list[Any] = []

    def play(outcome: Any) -> Any:
        if outcome == "hang":  # the whole connect and read timeouts the call was given
            clock.now += configs[-1].connect_timeout + configs[-1].read_timeout
            return ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com")
        clock.now += 0.1
        return outcome

    script = list(outcomes)
    bedrock.otherwise = lambda operation: lambda: play(script.pop(0) if script else ANSWER)
    try:
        warm = run(bedrock, clock, seconds, configs)
    except keep_warm.KeepWarmError:
        warm = None
    except Exception as err:  # pragma: no cover - the property's failure
        raise AssertionError(f"raised {err!r}, not KeepWarmError") from err
    played = outcomes[: len(bedrock.calls)] + [ANSWER] * (len(bedrock.calls) - len(outcomes))
    if warm is True:
        assert played[-1] == ANSWER, "warm only when the model answered"
    if warm is False:
        assert played[-1] == ("error", "ModelNotReadyException", 429)
    # Calls start with at least MIN_CALL_SECONDS left and their timeouts fit what is left, to
    # within that second (which the invocation's reserve absorbs).
    assert clock.now <= seconds + MIN_CALL_SECONDS + FLOAT_ROUNDING
