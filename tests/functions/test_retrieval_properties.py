"""Properties of the retrieval handler over any event and any sequence of dependency faults.

Whatever arrives and whatever fails (refusals, throttling, a model being loaded, lost and
truncated answers, answers trickling in, searches with failed shards or timed out), the answer
is one proxy-shaped response with a strict JSON body, a status from the fixed set, the request
id, nothing of an AWS error message (no ARN, no account id), no wait past the invocation's
deadline, and never a 200 the dependencies did not give.
"""

from __future__ import annotations

import http.client
import io
import json
import socket
import urllib.error
from dataclasses import dataclass
from email.message import Message
from types import SimpleNamespace
from typing import Any

from botocore.credentials import Credentials
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.response import StreamingBody
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ha_inference.functions import retrieval
from ha_inference.functions.resilience import Backoff
from ha_inference.functions.store import Doubles, Store
from ha_inference.functions.vector_index import IndexDefinition
from tests.support.botocore_strict import strict_errors
from tests.support.clock import FakeClock
from tests.support.collection_stub import ACCOUNT, DENIED, Context

DIMENSIONS = 256
EMBEDDING = json.dumps({"embedding": [0.5] * DIMENSIONS}).encode()
HITS = {"hits": {"hits": [{"_id": "a", "_score": 1.0, "_source": {"text": "t", "source": "s"}}]}}
ANSWER = {"output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}}}


def aws_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": DENIED},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "InvokeModel",
    )


NETWORK_FAULTS: list[Any] = [
    EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
    ConnectTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
]
AWS_FAULTS: list[Any] = [
    aws_error("AccessDeniedException", 403),
    aws_error("ValidationException", 400),
    aws_error("ThrottlingException", 429),
    aws_error("ServiceUnavailableException", 503),
    aws_error("InternalServerException", 500),
    aws_error("ModelErrorException", 424),
]
EMBED_OUTCOMES: list[Any] = [
    EMBEDDING,
    b"not json",
    json.dumps({"embedding": [0.5] * 3}).encode(),
    json.dumps({"embedding": ["x"] * DIMENSIONS}).encode(),
    "truncated",
    ValueError("a bug"),
    *NETWORK_FAULTS,
    *AWS_FAULTS,
]
PARTIAL = {"_shards": {"total": 2, "successful": 1, "failed": 1}, "hits": {"hits": []}}
CONVERSE_OUTCOMES: list[Any] = [
    *({**ANSWER, "stopReason": reason} for reason in sorted(retrieval.COMPLETE_STOP_REASONS)),
    {**ANSWER, "stopReason": "max_tokens"},
    {**ANSWER, "stopReason": "guardrail_intervened"},
    {"output": {"message": {"role": "assistant", "content": []}}, "stopReason": "content_filtered"},
    {"stopReason": "end_turn"},
    *NETWORK_FAULTS,
    *AWS_FAULTS,
    aws_error("ModelNotReadyException", 429),
]
SEARCH_OUTCOMES: list[Any] = [
    (200, HITS),
    (200, PARTIAL),
    (200, {**HITS, "timed_out": True}),
    (200, "trickle"),
    (200, {"hits": {"hits": []}}),
    (200, {"hits": None}),
    (200, [1]),
    (200, b"<html>"),
    (200, "truncated"),
    (403, {"message": DENIED}),
    (429, {"message": DENIED}),
    (500, {"message": DENIED}),
    (503, b"Service Unavailable"),
    urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")),
    TimeoutError("timed out"),
    http.client.IncompleteRead(b"{", 10),
    ConnectionResetError(104, "reset"),
]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
EVENTS = st.one_of(
    st.builds(lambda q: {"question": q}, st.one_of(st.text(max_size=40), JSON)),
    st.builds(
        lambda body, encoded: {"body": body, "isBase64Encoded": encoded},
        st.one_of(st.text(max_size=40), JSON.map(json.dumps), st.just("[" * 3000)),
        st.booleans(),
    ),
    JSON,
)


def not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


class Bedrock:
    """A bedrock-runtime client that plays scripted outcomes, then succeeds; it remembers the
    last outcome of each operation."""

    def __init__(self, embeds: list[Any], answers: list[Any]) -> None:
        self.embeds = list(embeds)
        self.answers = list(answers)
        self.last: dict[str, Any] = {}

    def invoke_model(self, **params: Any) -> Any:
        assert not strict_errors("bedrock-runtime", "InvokeModel", params)
        outcome = self.embeds.pop(0) if self.embeds else EMBEDDING
        self.last["embed"] = outcome
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome == "truncated":
            return {"body": StreamingBody(io.BytesIO(EMBEDDING[:50]), len(EMBEDDING))}
        return {"body": StreamingBody(io.BytesIO(outcome), len(outcome))}

    def converse(self, **params: Any) -> Any:
        assert not strict_errors("bedrock-runtime", "Converse", params)
        outcome = self.answers.pop(0) if self.answers else {**ANSWER, "stopReason": "end_turn"}
        self.last["converse"] = outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


class Response(io.BytesIO):
    def __init__(self, status: int, body: bytes, declared: int | None = None) -> None:
        super().__init__(body)
        self.status = status
        self.headers = {"Content-Length": str(declared if declared is not None else len(body))}


class Trickle(Response):
    """An answer whose bytes arrive one every ``gap`` seconds of the fake clock. Each read waits
    at most its socket's timeout (what the reader sets, as on a real socket): a read that would
    wait longer times out."""

    def __init__(self, body: bytes, clock: FakeClock, gap: float) -> None:
        super().__init__(200, body)
        self.clock, self.gap = clock, gap
        self.sock = socket.socket()
        self.fp = SimpleNamespace(raw=SimpleNamespace(_sock=self.sock))

    def read1(self, size: int = -1) -> bytes:
        timeout = self.sock.gettimeout()
        if timeout is not None and timeout < self.gap:
            self.clock.now += timeout
            raise TimeoutError("timed out")
        self.clock.now += self.gap
        return self.read(1)

    def __exit__(self, *exc: Any) -> None:
        self.sock.close()
        super().__exit__(*exc)


def collection(
    outcomes: list[Any], clock: FakeClock | None = None, seen: list[Any] | None = None
) -> Any:
    script = list(outcomes)

    def urlopen(request: Any, timeout: float) -> Any:
        assert timeout > 0
        outcome = script.pop(0) if script else (200, HITS)
        if seen is not None:
            seen.append(outcome)
        if isinstance(outcome, BaseException):
            raise outcome
        status, document = outcome
        if document == "trickle":
            assert clock is not None
            return Trickle(json.dumps(HITS).encode(), clock, gap=0.5)
        if document == "truncated":
            body = json.dumps(HITS).encode()
            return Response(status, body[:10], declared=len(body))
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        if status >= 400:
            raise urllib.error.HTTPError(
                request.full_url, status, "error", Message(), io.BytesIO(body)
            )
        return Response(status, body)

    return urlopen


CONFIG = retrieval.Settings(
    model_id="us.anthropic.claude-sonnet-4-5-20250929-v1:0",
    store=Store(
        collection_endpoint="https://abc123.us-east-1.aoss.amazonaws.com",
        embedding_model_id="amazon.titan-embed-text-v2:0",
        region="us-east-1",
        index=IndexDefinition(dimension=DIMENSIONS),
    ),
)


@dataclass(frozen=True)
class Faults:
    """What each dependency does, in order, before it behaves; and the invocation's limits."""

    embeds: list[Any]
    searches: list[Any]
    answers: list[Any]
    attempts: int
    seconds: float


FAULTS = st.builds(
    Faults,
    embeds=st.lists(st.sampled_from(EMBED_OUTCOMES), max_size=5),
    searches=st.lists(st.sampled_from(SEARCH_OUTCOMES), max_size=5),
    answers=st.lists(st.sampled_from(CONVERSE_OUTCOMES), max_size=5),
    attempts=st.integers(min_value=1, max_value=5),
    seconds=st.floats(min_value=0.5, max_value=30.0),
)


@settings(max_examples=150, deadline=None)
@given(event=EVENTS, faults=FAULTS)
@example(event={"question": "q"}, faults=Faults([], [], [], 4, 30.0))
@example(event={"question": "q"}, faults=Faults([], [(200, PARTIAL)], [], 2, 30.0))
def test_every_answer_is_proxy_shaped_in_the_status_set_and_leaks_nothing(
    event: Any, faults: Faults
) -> None:
    clock = FakeClock()
    client = Bedrock(faults.embeds, faults.answers)
    searches: list[Any] = []
    retriever = retrieval.Retriever(
        CONFIG,
        doubles=Doubles(
            bedrock=lambda config: client,
            credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
            urlopen=collection(faults.searches, clock, searches),
            backoff=Backoff(
                max_attempts=faults.attempts, sleep=clock.sleep, jitter=lambda low, high: high
            ),
            clock=clock,
        ),
    )

    response = retriever.handle(event, Context(seconds=faults.seconds, request_id="r-1"))

    assert set(response) == {"statusCode", "headers", "body"}
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["statusCode"] in retrieval.STATUSES
    body = json.loads(response["body"], parse_constant=not_json)
    assert isinstance(body, dict) and body["requestId"] == "r-1"
    assert "arn:" not in response["body"] and ACCOUNT not in response["body"]
    if response["statusCode"] == 200:
        assert set(body) == {"answer", "complete", "stopReason", "sources", "requestId"}
        # Never an answer the dependencies did not give: the last search was whole and found
        # the passages shown; "complete" only when the model said it was done.
        assert searches[-1] in [(200, HITS), (200, {"hits": {"hits": []}}), (200, "trickle")]
        assert searches[-1] != (200, {"hits": {"hits": []}}) or body["stopReason"] == "no_passages"
        if body["stopReason"] != "no_passages":
            assert client.last["converse"].get("stopReason") == body["stopReason"]
        if body["complete"]:
            assert body["stopReason"] in retrieval.COMPLETE_STOP_REASONS | {"no_passages"}
    elif response["statusCode"] == 503:
        assert body["retryable"] is True
        assert ("Retry-After" in response["headers"]) == ("retryAfterSeconds" in body)
    else:
        assert "error" in body
    assert clock.now <= max(0.0, faults.seconds - retrieval.RESERVE_SECONDS)


def test_no_wait_ends_past_the_deadline() -> None:
    """With 3 s to spend and a collection that keeps failing, the waits (0.25, 0.5, 1 s) stop
    before the 2 s one that would end past the deadline; the answer is a 503 in time."""
    clock = FakeClock()
    retriever = retrieval.Retriever(
        CONFIG,
        doubles=Doubles(
            bedrock=lambda config: Bedrock([], []),
            credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
            urlopen=collection([(503, b"busy")] * 10),
            backoff=Backoff(max_attempts=10, sleep=clock.sleep, jitter=lambda low, high: high),
            clock=clock,
        ),
    )
    response = retriever.handle({"question": "q"}, Context(seconds=3.0 + retrieval.RESERVE_SECONDS))
    assert response["statusCode"] == 503
    assert clock.now == 1.75
