"""Keeps an imported model loaded: one one-token Converse call, on a schedule.

Handler: ``keep_warm.handler``, invoked by the EventBridge schedule of ``ImportedModel``'s
``keep_warm`` (off by default). Bedrock unloads an imported model it has not served for a while
(typically an hour, AWS re:Post knowledge center "Why do I get ModelNotReadyException with my
imported model in Amazon Bedrock?") and answers ``ModelNotReadyException`` until it has loaded
it again; a call now and then keeps it loaded, at the price of the call's tokens.

Environment: ``MODEL_ID`` (the imported model's ARN) and ``AWS_REGION`` (set by Lambda).

Answer: ``{"warm": true, "requestId"}`` when the model answered; ``{"warm": false, "loading":
true, "requestId"}`` when Bedrock answered ``ModelNotReadyException`` (that call is what makes
it load the model again: the next one finds it loaded). Anything else (a refusal, throttling or
an unreachable Bedrock through every attempt, a missing setting) raises, so that the invocation
counts in the function's ``Errors`` metric; the message names an error code, never an AWS
message. Calls fit the invocation's time left (``resilience.py``), botocore's retries off.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config

try:  # ha_inference.functions.keep_warm (library, tests) or top-level (Lambda)
    from . import resilience, settings
except ImportError:  # pragma: no cover - the Lambda runtime path
    import resilience  # type: ignore[no-redef,import-not-found]
    import settings  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

MODEL_NOT_READY = "ModelNotReadyException"
RESERVE_SECONDS = 2.0
PROMPT = "ping"


class KeepWarmError(Exception):
    """The model could not be called; the message names an error code, never an AWS message."""


def client_config(deadline: resilience.Deadline) -> Config:
    """A call's botocore config: connect at most 3 s and read at most 30 s, within the time
    left; botocore's retries off."""
    return deadline.client_config(connect=3.0, read=30.0)


def _default_client(deadline: resilience.Deadline) -> Any:
    return boto3.client("bedrock-runtime", config=client_config(deadline))


def keep_warm(
    model_id: str,
    deadline: resilience.Deadline,
    *,
    client: Callable[[resilience.Deadline], Any] | None = None,
    backoff: resilience.Backoff | None = None,
) -> bool:
    """Calls the model once; ``True`` when it answered, ``False`` when Bedrock is loading it."""
    factory = client or _default_client

    def call(left: resilience.Deadline) -> None:
        factory(left).converse(
            modelId=model_id,
            messages=[{"role": "user", "content": [{"text": PROMPT}]}],
            inferenceConfig={"maxTokens": 1},
        )

    def transient(err: BaseException) -> bool:
        return resilience.error_code(err) != MODEL_NOT_READY and resilience.is_retryable(err)

    try:
        resilience.call_with_retries(
            "Bedrock Converse (keep warm)",
            call,
            deadline=deadline,
            backoff=backoff or resilience.Backoff(max_attempts=3),
            retryable=transient,
        )
    except Exception as err:
        if resilience.error_code(err) == MODEL_NOT_READY:
            LOGGER.info("Bedrock is loading the model again (%s)", resilience.describe(err))
            return False
        LOGGER.error("the keep-warm call failed: %s", resilience.describe(err))
        raise KeepWarmError(
            f"the keep-warm call failed ({resilience.summarize(err)}); see the function's log"
        ) from err
    return True


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point; the event (the schedule's) carries nothing it needs."""
    model_id = settings.required(os.environ, "MODEL_ID")
    deadline = resilience.Deadline(context, reserve=RESERVE_SECONDS)
    warm = keep_warm(model_id, deadline)
    answer: dict[str, Any] = {"warm": warm, "requestId": resilience.request_id(context)}
    if not warm:
        answer["loading"] = True
    LOGGER.info("keep-warm: %s", answer)
    return answer
