"""The retrieval handler, offline, through its Lambda entry point.

Bedrock is a real botocore client whose HTTP sends are scripted (``tests/support/collection_stub.py``),
the collection a local HTTP server that checks SigV4. The fault tests go through
``retrieval.handler`` with the environment a deployment sets, so they say what a caller would
see.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import random
import re
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from ha_inference.functions import retrieval as index
from ha_inference.functions.store import Store
from ha_inference.functions.vector_index import DEFAULT_INDEX
from tests.support.collection_stub import (
    ACCOUNT,
    DENIED,
    REGION,
    CollectionServer,
    Context,
    FakeBedrock,
    check_recorded,
    check_signed,
)

pytestmark = pytest.mark.usefixtures("fake_credentials", "requests_the_service_accepts")

PROFILE_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
EMBEDDING = [0.125, -0.5, 0.25, 0.0625] * 64  # 256 values
QUESTION = "How does the service stay available when an Availability Zone fails?"
HITS = [
    {
        "_id": "aoss-generated-1",
        "_score": 0.91,
        "_source": {
            "text": "Standby replicas run in another AZ.",
            "document_id": "ha.md#1",
            "source": "ha.md",
        },
    },
    {
        "_id": "aoss-generated-2",
        "_score": 0.77,
        "_source": {"text": "Lambda functions use a subnet in every AZ.", "source": "l.md"},
    },
]
SOURCES = [
    {
        "id": "ha.md#1",
        "score": 0.91,
        "text": "Standby replicas run in another AZ.",
        "metadata": {"source": "ha.md"},
    },
    {
        "id": "aoss-generated-2",
        "score": 0.77,
        "text": "Lambda functions use a subnet in every AZ.",
        "metadata": {"source": "l.md"},
    },
]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Waits between attempts, recorded instead of slept; jitter gives the longest delay."""
    recorded: list[float] = []
    monkeypatch.setattr(time, "sleep", recorded.append)
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    return recorded


def environment(endpoint: str) -> dict[str, str]:
    return {
        "MODEL_ID": PROFILE_ID,
        "EMBEDDING_MODEL_ID": EMBEDDING_MODEL,
        "COLLECTION_ENDPOINT": endpoint,
        "INDEX_NAME": "passages",
        "METADATA_FIELDS": "source",
        "EMBEDDING_DIMENSIONS": str(len(EMBEDDING)),
        "TOP_K": "3",
        "AWS_REGION": REGION,
    }


@dataclass
class Lambda:
    """The function as deployed: its environment, its entry point."""

    collection: CollectionServer
    bedrock: FakeBedrock
    sleeps: list[float]
    monkeypatch: pytest.MonkeyPatch

    def setenv(self, **changes: str | None) -> None:
        for name, value in changes.items():
            if value is None:
                self.monkeypatch.delenv(name, raising=False)
            else:
                self.monkeypatch.setenv(name, value)

    def invoke(self, event: Any, context: Any = None) -> dict[str, Any]:
        return index.handler(event, context or Context())

    def ask(self, context: Any = None) -> tuple[int, dict[str, Any]]:
        response = self.invoke({"question": QUESTION}, context)
        return response["statusCode"], body_of(response)

    def happy(self, hits: list[Any] | None = None) -> None:
        self.bedrock.embedding(EMBEDDING)
        self.collection.answer(200, {"hits": {"hits": HITS if hits is None else hits}})


@pytest.fixture
def fn(
    monkeypatch: pytest.MonkeyPatch,
    collection: CollectionServer,
    bedrock: FakeBedrock,
    sleeps: list[float],
) -> Lambda:
    for name, value in environment(collection.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(index, "_retriever", None)
    return Lambda(collection, bedrock, sleeps, monkeypatch)


def body_of(response: dict[str, Any]) -> Any:
    assert set(response) == {"statusCode", "headers", "body"}
    headers = response["headers"]
    assert headers["Content-Type"] == "application/json"
    assert set(headers) <= {"Content-Type", "Retry-After"}
    assert "Retry-After" not in headers or response["statusCode"] == 503
    return json.loads(response["body"])


# --- what a caller gets when all is well ----------------------------------------------------


def test_answers_from_the_retrieved_passages(fn: Lambda) -> None:
    fn.happy()
    fn.bedrock.answer()

    response = fn.invoke({"question": QUESTION}, Context(request_id="req-42"))

    assert response["statusCode"] == 200, response
    assert body_of(response) == {
        "answer": "Standby replicas keep search running [1].",
        "complete": True,
        "stopReason": "end_turn",
        "sources": SOURCES,
        "requestId": "req-42",
    }
    assert fn.sleeps == []


def test_embeds_the_question_with_the_titan_v2_request(fn: Lambda) -> None:
    fn.happy()
    fn.bedrock.answer()
    fn.invoke({"question": f"  {QUESTION}  "})

    (call,) = fn.bedrock.called("InvokeModel")
    assert call.body == {"inputText": QUESTION, "dimensions": 256, "normalize": True}


def test_searches_the_collection_with_a_signed_knn_query(fn: Lambda) -> None:
    fn.happy()
    fn.bedrock.answer()
    fn.invoke({"question": QUESTION})

    (request,) = fn.collection.requests
    assert (request.method, request.path) == ("POST", "/passages/_search")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == fn.collection.host
    check_recorded(request, fn.collection)
    assert request.json() == {
        "size": 3,
        "query": {"knn": {"vector": {"vector": EMBEDDING, "k": 3}}},
        "_source": ["text", "document_id", "source"],
    }


def test_converses_through_the_profile_with_the_passages(fn: Lambda) -> None:
    fn.happy()
    fn.bedrock.answer()
    fn.invoke({"question": QUESTION})

    (call,) = fn.bedrock.called("Converse")
    assert call.body["system"] == [{"text": index.SYSTEM_PROMPT}]
    (message,) = call.body["messages"]
    assert message["role"] == "user"
    text = message["content"][0]["text"]
    assert "[1] Standby replicas run in another AZ." in text
    assert "[2] Lambda functions use a subnet in every AZ." in text
    assert text.endswith(f"Question: {QUESTION}")
    assert call.body["inferenceConfig"] == {"maxTokens": 1024}


def test_accepts_a_proxy_event_with_a_json_body(fn: Lambda) -> None:
    for encoded in (False, True):
        fn.happy()
        fn.bedrock.answer()
        body = json.dumps({"question": QUESTION})
        if encoded:
            body = base64.b64encode(body.encode()).decode()
        event = {"version": "2.0", "rawPath": "/", "body": body, "isBase64Encoded": encoded}
        assert fn.invoke(event)["statusCode"] == 200
    assert [c.body["inputText"] for c in fn.bedrock.called("InvokeModel")] == [QUESTION] * 2


def test_skips_converse_when_nothing_matches(fn: Lambda) -> None:
    fn.happy(hits=[])
    status, body = fn.ask()
    assert status == 200
    assert body == {
        "answer": index.NO_PASSAGES_ANSWER,
        "complete": True,
        "stopReason": "no_passages",
        "sources": [],
        "requestId": "req-0001",
    }
    assert fn.bedrock.called("Converse") == []


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ({}, "question", r'^question is required; send \{"question": "..."\}$'),
        ({"question": None}, "question", r"^question is required"),
        ({"question": ""}, "question", r"^question must not be empty$"),
        ({"question": " \n\t "}, "question", r"^question must not be empty$"),
        ({"question": 42}, "question", r"^question must be a string, got int$"),
        ({"question": ["a"]}, "question", r"^question must be a string, got list$"),
        (
            {"question": "x" * 4001},
            "question",
            r"^question is 4001 characters long, over the limit of 4000; shorten it$",
        ),
        ({"body": None}, "question", r"^question is required"),
        (
            {"body": "{not json"},
            "body",
            r'^body must be a JSON object like \{"question": "..."\}: ',
        ),
        ({"body": "[1, 2]"}, "body", r"^body must be a JSON object .*, got list$"),
        ({"body": json.dumps({"q": "hi"})}, "question", r"^question is required"),
        ({"body": "%%%", "isBase64Encoded": True}, "body", r"^body is marked base64"),
        ({"body": "e30=\u00e9", "isBase64Encoded": True}, "body", r"^body is marked base64"),
        ({"body": " " * 60_000}, "body", r"^body is 60000 bytes, over the limit of 52096"),
        (["question"], "body", r"^the event must be a JSON object .*, got list$"),
    ],
)
def test_fails_bad_input_with_400_without_calling_anything(
    fn: Lambda, event: Any, field: str, message: str
) -> None:
    response = fn.invoke(event)
    assert response["statusCode"] == 400
    body = body_of(response)
    assert set(body) == {"error", "field", "requestId"}
    assert body["field"] == field
    assert re.search(message, body["error"]), body["error"]
    assert fn.bedrock.calls == [] and fn.collection.requests == []


def test_accepts_a_question_at_the_limit(fn: Lambda) -> None:
    fn.happy(hits=[])
    assert fn.invoke({"question": "y" * 4000})["statusCode"] == 200


# --- retries ---------------------------------------------------------------------------------


def test_retries_a_throttled_embedding_with_backoff(fn: Lambda) -> None:
    fn.bedrock.error("InvokeModel", "ThrottlingException", 429)
    fn.bedrock.error("InvokeModel", "ServiceUnavailableException", 503)
    fn.happy()
    fn.bedrock.answer()

    status, _ = fn.ask()

    assert status == 200
    assert len(fn.bedrock.called("InvokeModel")) == 3
    assert fn.sleeps == [0.25, 0.5]


def test_retries_a_throttled_or_failing_collection(fn: Lambda) -> None:
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.answer(429, {"status": 429, "error": "Too Many Requests"})
    fn.collection.answer(503, {"status": 503, "error": "Service Unavailable"})
    fn.collection.answer(200, {"hits": {"hits": HITS}})
    fn.bedrock.answer()

    status, _ = fn.ask()

    assert status == 200
    assert len(fn.collection.requests) == 3
    for request in fn.collection.requests:
        check_recorded(request, fn.collection)
    assert fn.sleeps == [0.25, 0.5]


def test_gives_up_on_persistent_throttling_with_a_503(fn: Lambda) -> None:
    fn.setenv(MAX_ATTEMPTS="3")
    fn.happy()
    for _ in range(3):
        fn.bedrock.error("Converse", "ThrottlingException", 429)

    status, body = fn.ask()

    assert status == 503
    assert body == {
        "error": "Bedrock is throttled or unavailable (ThrottlingException); retry later",
        "dependency": "bedrock",
        "retryable": True,
        "requestId": "req-0001",
    }
    assert fn.sleeps == [0.25, 0.5]
    assert len(fn.bedrock.called("Converse")) == 3


def test_does_not_retry_access_denied(fn: Lambda) -> None:
    fn.bedrock.error("InvokeModel", "AccessDeniedException", 403, DENIED)
    status, body = fn.ask()
    assert status == 502
    assert body["dependency"] == "bedrock"
    assert "(AccessDeniedException)" in body["error"]
    assert fn.sleeps == [] and fn.collection.requests == []


def test_does_not_retry_a_refused_search(fn: Lambda) -> None:
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.answer(403, {"status": 403, "message": "User does not have permissions"})
    status, body = fn.ask()
    assert status == 502
    assert body["error"] == (
        "the vector collection refused the request or answered badly (HTTP 403)"
    )
    assert body["dependency"] == "collection"
    assert len(fn.collection.requests) == 1 and fn.sleeps == []


def test_unreachable_collection_is_retried_then_reported(fn: Lambda) -> None:
    fn.setenv(MAX_ATTEMPTS="2", COLLECTION_ENDPOINT="http://127.0.0.1:9")  # nothing listens
    fn.bedrock.embedding(EMBEDDING)
    status, body = fn.ask()
    assert status == 503
    assert body["dependency"] == "collection"
    assert "no answer (network failure)" in body["error"]
    assert fn.sleeps == [0.25]


# --- each fault, as a caller sees it ---------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        EndpointConnectionError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://bedrock-runtime.us-east-1.amazonaws.com"),
    ],
    ids=["endpoint-connection", "connect-timeout"],
)
def test_bedrock_connection_failures_are_retried(fn: Lambda, fault: Exception) -> None:
    """An endpoint ENI or AZ outage: retried, then answered."""
    fn.bedrock.then("InvokeModel", fault)
    fn.happy()
    fn.bedrock.then("Converse", fault)
    fn.bedrock.answer()

    status, _ = fn.ask()

    assert status == 200
    assert len(fn.bedrock.called("InvokeModel")) == 2
    assert len(fn.bedrock.called("Converse")) == 2
    assert fn.sleeps == [0.25, 0.25]


def test_persistent_connection_failures_end_as_503(fn: Lambda) -> None:
    fn.setenv(MAX_ATTEMPTS="3")
    for _ in range(3):
        fn.bedrock.then("InvokeModel", EndpointConnectionError(endpoint_url="https://x"))

    status, body = fn.ask()

    assert status == 503
    assert body["retryable"] is True and body["dependency"] == "bedrock"
    assert "(connection failure)" in body["error"]


def test_read_timeouts_and_truncated_bodies_from_bedrock_are_retried(fn: Lambda) -> None:
    fn.bedrock.then("InvokeModel", ReadTimeoutError(endpoint_url="https://x"))
    fn.bedrock.embedding(EMBEDDING, declared=100_000)  # Content-Length says more than sent
    fn.happy()
    fn.bedrock.answer()
    status, _ = fn.ask()
    assert status == 200
    assert len(fn.bedrock.called("InvokeModel")) == 3


def test_a_truncated_collection_answer_is_retried(fn: Lambda) -> None:
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.truncated(200, {"hits": {"hits": HITS}}, keep=20)
    fn.collection.answer(200, {"hits": {"hits": HITS}})
    fn.bedrock.answer()

    status, body = fn.ask()

    assert status == 200, body
    assert body["sources"] == SOURCES
    assert len(fn.collection.requests) == 2


def test_persistent_truncation_ends_as_503(fn: Lambda) -> None:
    fn.setenv(MAX_ATTEMPTS="2")
    fn.bedrock.embedding(EMBEDDING)
    for _ in range(2):
        fn.collection.truncated(200, {"hits": {"hits": HITS}}, keep=20)
    status, body = fn.ask()
    assert (status, body["dependency"], body["retryable"]) == (503, "collection", True)


PARTIAL = [
    {
        "_shards": {"total": 2, "successful": 1, "skipped": 0, "failed": 1},
        "hits": {"hits": HITS[:1]},
    },
    {"_shards": {"total": 2, "successful": 0, "skipped": 0, "failed": 2}, "hits": {"hits": []}},
    {
        "timed_out": True,
        "_shards": {"total": 2, "successful": 2, "failed": 0},
        "hits": {"hits": []},
    },
]


@pytest.mark.parametrize("partial", PARTIAL, ids=["one-shard-failed", "all-failed", "timed-out"])
def test_a_search_with_failed_shards_or_a_timeout_is_retried(fn: Lambda, partial: Any) -> None:
    """A 200 whose shards partly failed (or whose search timed out) is a partial result, not
    "no passages match": it is asked again, and the complete answer is served."""
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.answer(200, partial)
    fn.collection.answer(
        200, {"_shards": {"total": 2, "successful": 2, "failed": 0}, "hits": {"hits": HITS}}
    )
    fn.bedrock.answer()

    status, body = fn.ask()

    assert (status, body["complete"], body["sources"]) == (200, True, SOURCES)
    assert len(fn.collection.requests) == 2


@pytest.mark.parametrize("partial", PARTIAL, ids=["one-shard-failed", "all-failed", "timed-out"])
def test_a_search_that_stays_partial_is_a_retryable_503_never_a_confident_answer(
    fn: Lambda, partial: Any
) -> None:
    fn.setenv(MAX_ATTEMPTS="2")
    fn.bedrock.embedding(EMBEDDING)
    for _ in range(2):
        fn.collection.answer(200, partial)

    status, body = fn.ask()

    assert status == 503
    assert body == {
        "error": "the vector collection is throttled or unavailable (a partial search result); "
        "retry later",
        "dependency": "collection",
        "retryable": True,
        "requestId": "req-0001",
    }
    assert fn.bedrock.called("Converse") == []


def test_metadata_that_json_cannot_carry_is_null_in_a_strict_json_answer(fn: Lambda) -> None:
    hit = {"_id": "x", "_score": 0.5, "_source": {"text": "Passage.", "source": "s"}}
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.raw(
        200,
        json.dumps({"hits": {"hits": [hit]}}).replace('"s"', "NaN").encode(),
        "application/json",
    )
    fn.bedrock.answer()

    response = fn.invoke({"question": QUESTION})

    def refuse(constant: str) -> Any:
        raise ValueError(constant)

    body = json.loads(response["body"], parse_constant=refuse)
    assert response["statusCode"] == 200
    assert body["sources"][0]["metadata"] == {"source": None}


def test_a_model_bedrock_is_loading_is_waited_for_longer_than_throttling(fn: Lambda) -> None:
    """An imported model Bedrock unloaded answers ModelNotReadyException while it reloads,
    much longer than a throttle lasts: the handler waits with its own backoff (2 s doubling),
    without using up the ordinary attempts, and answers once the model serves."""
    fn.setenv(MAX_ATTEMPTS="2")
    fn.happy()
    for _ in range(3):
        fn.bedrock.error(
            "Converse", "ModelNotReadyException", 429, "Model is not ready for inference"
        )
    fn.bedrock.answer()

    status, body = fn.ask()

    assert (status, body["complete"]) == (200, True)
    assert len(fn.bedrock.called("Converse")) == 4
    assert fn.sleeps == [2.0, 4.0, 8.0]


def test_a_model_still_loading_is_a_503_that_says_when_to_retry(fn: Lambda) -> None:
    fn.happy()
    for _ in range(6):
        fn.bedrock.error(
            "Converse", "ModelNotReadyException", 429, "Model is not ready for inference"
        )

    response = fn.invoke({"question": QUESTION})

    assert response["statusCode"] == 503
    assert response["headers"] == {"Content-Type": "application/json", "Retry-After": "30"}
    assert body_of(response) == {
        "error": "Bedrock is loading the model, which it unloads after a while without calls "
        "(ModelNotReadyException); retry in 30 s",
        "dependency": "bedrock",
        "retryable": True,
        "retryAfterSeconds": 30,
        "requestId": "req-0001",
    }
    assert fn.sleeps == [2.0, 4.0, 8.0, 8.0, 8.0], "30 s of waiting (the default), no more"


def test_the_wait_for_a_loading_model_is_a_setting_within_the_deadline(fn: Lambda) -> None:
    fn.setenv(MODEL_NOT_READY_WAIT_SECONDS="5")
    fn.happy()
    for _ in range(2):
        fn.bedrock.error("Converse", "ModelNotReadyException", 429)

    response = fn.invoke({"question": QUESTION}, Context(seconds=60.0))

    assert response["statusCode"] == 503 and response["headers"]["Retry-After"] == "30"
    assert fn.sleeps == [2.0]  # 2 s, then 4 s more would pass the 5 s


def test_every_call_gets_timeouts_within_the_time_left(
    fn: Lambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 60 s read timeout on a function with 9 s left would outlive it."""
    timeouts: list[float] = []
    real_urlopen = urllib.request.urlopen

    def urlopen(request: Any, timeout: float) -> Any:
        timeouts.append(timeout)
        return real_urlopen(request, timeout=timeout)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    fn.happy()
    fn.bedrock.answer()

    status, _ = fn.ask(Context(seconds=9.0))

    assert status == 200
    assert timeouts and all(0 < t <= 7.0 for t in timeouts)  # 9 s less the 2 s reserve
    calls = fn.bedrock.calls
    assert len(calls) == 2
    for call in calls:
        assert call.connect_timeout + call.read_timeout <= 7.0, call
    assert all(config.retries["total_max_attempts"] == 1 for config in fn.bedrock.configs)


def test_a_client_is_reused_while_time_is_plentiful(fn: Lambda) -> None:
    for _ in range(2):
        fn.happy()
        fn.bedrock.answer()
        assert fn.ask(Context(seconds=120.0))[0] == 200
    assert len(fn.bedrock.configs) == 1
    (config,) = fn.bedrock.configs
    assert (config.connect_timeout, config.read_timeout) == (3, 60)


@pytest.mark.parametrize(
    ("stop", "text", "complete", "sourced"),
    [
        ("end_turn", "Replicas [1].", True, True),
        ("stop_sequence", "Replicas [1].", True, True),
        ("max_tokens", "Replicas run in anoth", False, True),
        ("model_context_window_exceeded", "Replicas", False, True),
        ("content_filtered", "", False, False),
        ("guardrail_intervened", "Sorry, I cannot answer that.", False, False),
    ],
)
def test_the_answer_says_how_the_model_stopped(
    fn: Lambda, stop: str, text: str, complete: bool, sourced: bool
) -> None:
    fn.happy()
    fn.bedrock.answer(text, stop=stop)

    status, body = fn.ask()

    assert status == 200
    assert (body["answer"], body["stopReason"], body["complete"]) == (text, stop, complete)
    assert body["sources"] == (SOURCES if sourced else [])


def test_a_deeply_nested_body_is_a_400(fn: Lambda) -> None:
    response = fn.invoke({"body": "[" * 40_000 + "]" * 40_000})
    assert response["statusCode"] == 400
    assert body_of(response)["field"] == "body"
    assert fn.bedrock.calls == []


def test_a_missing_setting_answers_500_naming_it_and_logs_once(
    fn: Lambda, caplog: pytest.LogCaptureFixture
) -> None:
    fn.setenv(MODEL_ID=None)
    with caplog.at_level(logging.ERROR):
        responses = [fn.invoke({"question": QUESTION}, Context(request_id=f"r{n}")) for n in (1, 2)]
    for n, response in enumerate(responses, start=1):
        assert response["statusCode"] == 500
        assert body_of(response) == {
            "error": "the function is misconfigured: setting MODEL_ID is missing or invalid "
            "(details in the function's log)",
            "setting": "MODEL_ID",
            "requestId": f"r{n}",
        }
    logged = [r for r in caplog.records if "misconfigured" in r.getMessage()]
    assert len(logged) == 1
    assert "environment variable MODEL_ID is required" in logged[0].getMessage()


@pytest.mark.parametrize(
    ("changes", "setting"),
    [
        ({"COLLECTION_ENDPOINT": ""}, "COLLECTION_ENDPOINT"),
        ({"COLLECTION_ENDPOINT": "http://abc.aoss.amazonaws.com"}, "COLLECTION_ENDPOINT"),
        ({"EMBEDDING_DIMENSIONS": "100"}, "EMBEDDING_DIMENSIONS"),
        ({"EMBEDDING_DIMENSIONS": "1536"}, "EMBEDDING_DIMENSIONS"),
        ({"INDEX_NAME": "Passages"}, "INDEX_NAME"),
        ({"INDEX_NAME": "_all"}, "INDEX_NAME"),
        ({"INDEX_NAME": "a,b"}, "INDEX_NAME"),
        ({"METADATA_FIELDS": "source,text"}, "METADATA_FIELDS"),
        ({"TOP_K": "many"}, "TOP_K"),
    ],
)
def test_settings_the_services_reject_answer_500_naming_them(
    fn: Lambda, changes: dict[str, str], setting: str
) -> None:
    fn.setenv(**changes)
    status, body = fn.ask()
    assert (status, body["setting"]) == (500, setting)
    assert fn.bedrock.calls == [] and fn.collection.requests == []


@pytest.mark.parametrize(
    "answer",
    [
        {"hits": None},
        {"hits": {"hits": None}},
        {"hits": {"hits": [1, 2]}},
        {"hits": {"hits": [{"_score": "high", "_source": {"text": "x"}}]}},
        {"hits": {"hits": [{"_score": None, "_source": {"text": "x"}}]}},
        {"hits": {"hits": [{"_score": 1.0, "_source": "text"}]}},
        [{"_score": 1.0}],
    ],
    ids=[
        "hits-null",
        "hits-hits-null",
        "not-objects",
        "score-text",
        "score-null",
        "source-string",
        "array",
    ],
)
def test_a_malformed_search_answer_is_a_502_naming_the_collection(fn: Lambda, answer: Any) -> None:
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.answer(200, answer)
    status, body = fn.ask()
    assert status == 502
    assert body["dependency"] == "collection"
    assert body["error"] == (
        "the vector collection refused the request or answered badly (a malformed answer)"
    )
    assert len(fn.collection.requests) == 1 and fn.sleeps == []


def test_a_non_json_200_is_not_retried(fn: Lambda) -> None:
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.raw(200, b"<html>captive portal</html>")
    status, body = fn.ask()
    assert len(fn.collection.requests) == 1 and fn.sleeps == []
    assert (status, body.get("dependency")) == (502, "collection")


def test_error_bodies_never_repeat_aws_messages(fn: Lambda) -> None:
    fn.bedrock.error("InvokeModel", "AccessDeniedException", 403, DENIED)
    response = fn.invoke({"question": QUESTION}, Context(request_id="c0ffee"))
    assert response["statusCode"] == 502
    assert "arn:" not in response["body"] and ACCOUNT not in response["body"]
    assert body_of(response)["requestId"] == "c0ffee"


def test_throttling_messages_are_not_repeated_either(fn: Lambda) -> None:
    fn.setenv(MAX_ATTEMPTS="1")
    fn.bedrock.error("InvokeModel", "ThrottlingException", 429, f"Too many requests for {DENIED}")
    response = fn.invoke({"question": QUESTION})
    assert response["statusCode"] == 503
    assert "arn:" not in response["body"] and ACCOUNT not in response["body"]


def test_collection_error_bodies_are_not_repeated(fn: Lambda) -> None:
    fn.bedrock.embedding(EMBEDDING)
    fn.collection.answer(403, {"status": 403, "message": DENIED})
    response = fn.invoke({"question": QUESTION})
    assert response["statusCode"] == 502
    assert "arn:" not in response["body"] and ACCOUNT not in response["body"]


def test_an_endpoint_with_port_443_is_signed_for_the_host_it_sends(
    fn: Lambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urllib sends ``Host`` as written in the URL; the signature must cover exactly that."""
    sent: list[tuple[str, dict[str, str]]] = []

    class Answer(io.BytesIO):
        status = 200
        headers: dict[str, str] = {}

    def urlopen(request: urllib.request.Request, timeout: float) -> Any:
        host = request.get_header("Host") or request.host  # what http.client sends
        headers = {k.lower(): v for k, v in request.header_items()}
        headers["host"] = host
        check_signed(request.get_method(), request.full_url, headers, request.data or b"")
        sent.append((request.full_url, headers))
        return Answer(json.dumps({"hits": {"hits": HITS}}).encode())

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    fn.setenv(COLLECTION_ENDPOINT="https://abc123.us-east-1.aoss.amazonaws.com:443")
    fn.bedrock.embedding(EMBEDDING)
    fn.bedrock.answer()

    status, _ = fn.ask()

    assert status == 200
    ((url, headers),) = sent
    assert url == "https://abc123.us-east-1.aoss.amazonaws.com/passages/_search"
    assert headers["host"] == "abc123.us-east-1.aoss.amazonaws.com"


def test_metadata_named_id_or_score_keeps_the_hit_id_and_score(fn: Lambda) -> None:
    fn.setenv(METADATA_FIELDS="id,score")
    hit = {
        "_id": "generated",
        "_score": 0.5,
        "_source": {"text": "Passage.", "id": "meta-id", "score": "meta-score"},
    }
    fn.happy(hits=[hit])
    fn.bedrock.answer()
    status, body = fn.ask()
    assert status == 200
    assert body["sources"] == [
        {
            "id": "generated",
            "score": 0.5,
            "text": "Passage.",
            "metadata": {"id": "meta-id", "score": "meta-score"},
        }
    ]


def test_passages_are_capped_before_the_prompt(fn: Lambda) -> None:
    fn.setenv(MAX_PASSAGE_CHARS="1000", MAX_CONTEXT_CHARS="2500")
    hits = [{"_id": f"h{n}", "_score": 1.0, "_source": {"text": f"{n}" * 5000}} for n in range(3)]
    fn.happy(hits=hits)
    fn.bedrock.answer()

    status, body = fn.ask()

    assert status == 200
    assert [len(s["text"]) for s in body["sources"]] == [1000, 1000]
    prompt = fn.bedrock.called("Converse")[0].body["messages"][0]["content"][0]["text"]
    assert "0" * 1000 in prompt and "0" * 1001 not in prompt
    assert "2" * 10 not in prompt


# --- configuration and packaging -------------------------------------------------------------


def test_settings_read_the_environment_with_defaults() -> None:
    env = {
        "MODEL_ID": PROFILE_ID,
        "EMBEDDING_MODEL_ID": EMBEDDING_MODEL,
        "COLLECTION_ENDPOINT": "https://abc123.us-east-1.aoss.amazonaws.com/",
        "AWS_REGION": REGION,
        "TOP_K": "8",
    }
    settings = index.Settings.from_environment(env)
    assert settings == index.Settings(
        model_id=PROFILE_ID,
        store=Store(
            collection_endpoint="https://abc123.us-east-1.aoss.amazonaws.com",
            embedding_model_id=EMBEDDING_MODEL,
            region=REGION,
            index=DEFAULT_INDEX,
        ),
        top_k=8,
    )
    assert (settings.max_question_chars, settings.max_attempts) == (4000, 4)


def test_lambda_entry_point_reads_settings_once(fn: Lambda) -> None:
    assert fn.invoke({"question": ""})["statusCode"] == 400
    first = index._retriever
    assert isinstance(first, index.Retriever)
    fn.setenv(TOP_K="9")
    fn.invoke({})
    assert index._retriever is first and first.config.top_k == 3
