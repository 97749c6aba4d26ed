"""The ingestion handler, offline, through its Lambda entry point and over any faults."""

from __future__ import annotations

import io
import json
import logging
import random
import time
import urllib.error
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.response import StreamingBody
from hypothesis import given, settings
from hypothesis import strategies as st

from ha_inference.functions import ingestion
from ha_inference.functions.resilience import Backoff
from ha_inference.functions.store import Doubles, Store
from ha_inference.functions.vector_index import IndexDefinition
from tests.support.clock import FakeClock
from tests.support.collection_stub import (
    ACCOUNT,
    DENIED,
    REGION,
    CollectionServer,
    Context,
    FakeBedrock,
    check_recorded,
)

pytestmark = pytest.mark.usefixtures("fake_credentials", "requests_the_service_accepts")

EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
VECTOR = [0.25, -0.5] * 128  # 256 values
DOCS = [
    {
        "text": "Standby replicas run in another AZ.",
        "id": "ha.md#1",
        "metadata": {"source": "ha.md"},
    },
    {"text": "Lambda functions use a subnet in every AZ."},
    {"text": "Endpoints have an ENI per AZ.", "metadata": {"source": "vpc.md"}},
]


def created(count: int) -> dict[str, Any]:
    return {
        "took": 12,
        "errors": False,
        "items": [
            {"index": {"_index": "passages", "_id": f"g{n}", "status": 201}} for n in range(count)
        ],
    }


@dataclass
class Lambda:
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
        result = ingestion.handler(event, context or Context(seconds=300.0))
        json.dumps(result)  # what Lambda returns must serialize
        return result

    def embeddings(self, count: int) -> None:
        for _ in range(count):
            self.bedrock.embedding(VECTOR)


@pytest.fixture
def fn(
    monkeypatch: pytest.MonkeyPatch, collection: CollectionServer, bedrock: FakeBedrock
) -> Lambda:
    env = {
        "EMBEDDING_MODEL_ID": EMBEDDING_MODEL,
        "COLLECTION_ENDPOINT": collection.url,
        "AWS_REGION": REGION,
        **IndexDefinition(dimension=len(VECTOR)).to_environment(),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(ingestion, "_ingestor", None)
    sleeps: list[float] = []
    monkeypatch.setattr(time, "sleep", sleeps.append)
    monkeypatch.setattr(random, "uniform", lambda low, high: high)
    return Lambda(collection, bedrock, sleeps, monkeypatch)


def test_indexes_documents_with_one_bulk_request(fn: Lambda) -> None:
    fn.embeddings(3)
    fn.collection.answer(200, created(3))

    result = fn.invoke({"documents": DOCS}, Context(request_id="ing-1"))

    assert result == {"indexed": 3, "failed": [], "retryable": False, "requestId": "ing-1"}
    assert [c.body for c in fn.bedrock.called("InvokeModel")] == [
        {"inputText": d["text"], "dimensions": 256, "normalize": True} for d in DOCS
    ]
    (request,) = fn.collection.requests
    assert (request.method, request.path) == ("POST", "/passages/_bulk")
    assert request.headers["content-type"] == "application/x-ndjson"
    assert request.body.endswith(b"\n")
    check_recorded(request, fn.collection)
    assert request.lines() == [
        {"index": {}},
        {"source": "ha.md", "text": DOCS[0]["text"], "vector": VECTOR, "document_id": "ha.md#1"},
        {"index": {}},
        {"text": DOCS[1]["text"], "vector": VECTOR},
        {"index": {}},
        {"source": "vpc.md", "text": DOCS[2]["text"], "vector": VECTOR},
    ]


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ("text", "documents[1] must be an object with text, got str"),
        ({}, "documents[1].text must be a non-empty string"),
        ({"text": "  "}, "documents[1].text must be a non-empty string"),
        ({"text": 5}, "documents[1].text must be a non-empty string"),
        (
            {"text": "x" * 20_001},
            "documents[1].text is 20001 characters long, over the limit of 20000; split it into passages",
        ),
        ({"text": "x", "id": 7}, "documents[1].id must be a string of 1-512 characters"),
        ({"text": "x", "id": "i" * 513}, "documents[1].id must be a string of 1-512 characters"),
        ({"text": "x", "metadata": ["a"]}, "documents[1].metadata must be an object of strings"),
        (
            {"text": "x", "metadata": {"title": "t"}},
            "documents[1].metadata.title is not a metadata field of the index (fields: source)",
        ),
        (
            {"text": "x", "metadata": {"source": 3}},
            "documents[1].metadata.source must be a string of at most 1024 characters",
        ),
        (
            {"text": "x", "vector": [1.0]},
            "documents[1].vector is not a document field (text, id, metadata)",
        ),
    ],
)
def test_fails_bad_documents_by_position_and_indexes_the_rest(
    fn: Lambda, document: Any, error: str
) -> None:
    fn.embeddings(2)
    fn.collection.answer(200, created(2))

    result = fn.invoke({"documents": [DOCS[0], document, DOCS[1]]})

    own_id = (
        document.get("id")
        if isinstance(document, dict) and isinstance(document.get("id"), str)
        else None
    )
    assert result["indexed"] == 2
    assert result["failed"] == [{"position": 1, "id": own_id, "error": error, "retryable": False}]
    assert result["retryable"] is False
    assert len(fn.collection.requests[0].lines()) == 4


@pytest.mark.parametrize(
    ("event", "field", "error"),
    [
        (
            [],
            "event",
            'the event must be an object like {"documents": [{"text": "..."}]}, got list',
        ),
        ({}, "documents", "documents must be a list of documents, got NoneType"),
        (
            {"documents": {"text": "x"}},
            "documents",
            "documents must be a list of documents, got dict",
        ),
        (
            {"documents": [DOCS[1]] * 51},
            "documents",
            "documents has 51 entries, over the limit of 50; send smaller batches",
        ),
    ],
)
def test_fails_an_unusable_event_as_a_whole(fn: Lambda, event: Any, field: str, error: str) -> None:
    result = fn.invoke(event, Context(request_id="r"))
    assert result == {
        "indexed": 0,
        "failed": [],
        "retryable": False,
        "error": error,
        "field": field,
        "requestId": "r",
    }
    assert fn.bedrock.calls == [] and fn.collection.requests == []


def test_an_empty_batch_is_nothing_to_do(fn: Lambda) -> None:
    result = fn.invoke({"documents": []})
    assert (result["indexed"], result["failed"]) == (0, [])
    assert fn.collection.requests == []


def test_retries_throttled_and_unreachable_embeddings(fn: Lambda) -> None:
    fn.bedrock.error("InvokeModel", "ThrottlingException", 429)
    fn.bedrock.then("InvokeModel", EndpointConnectionError(endpoint_url="https://x"))
    fn.embeddings(1)
    fn.collection.answer(200, created(1))
    assert fn.invoke({"documents": DOCS[:1]})["indexed"] == 1
    assert fn.sleeps == [0.25, 0.5]


def test_an_unavailable_embedding_model_fails_the_rest_as_retryable(fn: Lambda) -> None:
    fn.setenv(MAX_ATTEMPTS="2")
    fn.embeddings(1)
    fn.bedrock.error("InvokeModel", "ThrottlingException", 429, DENIED)
    fn.bedrock.error("InvokeModel", "ThrottlingException", 429, DENIED)
    fn.collection.answer(200, created(1))

    result = fn.invoke({"documents": DOCS})

    reason = "the embedding model is unavailable (ThrottlingException)"
    assert result["indexed"] == 1
    assert result["failed"] == [
        {"position": 1, "id": None, "error": reason, "retryable": True},
        {"position": 2, "id": None, "error": reason, "retryable": True},
    ]
    assert result["retryable"] is True
    assert len(fn.collection.requests[0].lines()) == 2


def test_a_refused_text_fails_only_that_document(fn: Lambda) -> None:
    fn.embeddings(1)
    fn.bedrock.error("InvokeModel", "ValidationException", 400, "Malformed input request")
    fn.embeddings(1)
    fn.collection.answer(200, created(2))
    result = fn.invoke({"documents": DOCS})
    assert result["indexed"] == 2
    assert result["failed"] == [
        {
            "position": 1,
            "id": None,
            "error": "the embedding model refused the text (ValidationException)",
            "retryable": False,
        }
    ]


def test_access_denied_stops_the_batch_without_leaking_the_message(fn: Lambda) -> None:
    fn.bedrock.error("InvokeModel", "AccessDeniedException", 403, DENIED)
    result = fn.invoke({"documents": DOCS})
    assert result["indexed"] == 0 and len(result["failed"]) == 3
    assert {f["error"] for f in result["failed"]} == {
        "the embedding model refused the text (AccessDeniedException)"
    }
    assert "arn:" not in json.dumps(result) and ACCOUNT not in json.dumps(result)
    assert fn.collection.requests == [] and len(fn.bedrock.calls) == 1


def test_retries_a_bulk_request_the_collection_turned_away(fn: Lambda) -> None:
    fn.embeddings(2)
    fn.collection.answer(429, {"status": 429})
    fn.collection.answer(503, {"status": 503})
    fn.collection.answer(200, created(2))
    assert fn.invoke({"documents": DOCS[:2]})["indexed"] == 2
    assert len(fn.collection.requests) == 3
    assert fn.collection.requests[0].body == fn.collection.requests[2].body


def test_never_resends_a_bulk_request_whose_answer_was_lost(fn: Lambda) -> None:
    fn.embeddings(2)
    fn.collection.truncated(200, created(2), keep=30)

    result = fn.invoke({"documents": DOCS[:2]})

    assert len(fn.collection.requests) == 1
    assert result["indexed"] == 0 and result["retryable"] is False
    assert [f["error"] for f in result["failed"]] == [
        "the collection's answer did not arrive intact (no answer (network failure)); the "
        "document may be indexed already"
    ] * 2


def test_never_resends_after_a_server_error(fn: Lambda) -> None:
    fn.embeddings(1)
    fn.collection.answer(500, {"status": 500})
    result = fn.invoke({"documents": DOCS[:1]})
    assert len(fn.collection.requests) == 1
    assert result["failed"][0]["retryable"] is False


def test_reports_each_bulk_item(fn: Lambda) -> None:
    fn.embeddings(3)
    answer = {
        "errors": True,
        "items": [
            {"index": {"status": 201}},
            {
                "index": {
                    "status": 429,
                    "error": {"type": "es_rejected_execution_exception", "reason": "busy"},
                }
            },
            {
                "index": {
                    "status": 400,
                    "error": {"type": "mapper_parsing_exception", "reason": DENIED},
                }
            },
        ],
    }
    fn.collection.answer(200, answer)

    result = fn.invoke({"documents": DOCS})

    assert result["indexed"] == 1
    assert result["failed"] == [
        {
            "position": 1,
            "id": None,
            "error": "the collection refused it (HTTP 429: es_rejected_execution_exception)",
            "retryable": True,
        },
        {
            "position": 2,
            "id": None,
            "error": "the collection refused it (HTTP 400: mapper_parsing_exception)",
            "retryable": False,
        },
    ]
    assert result["retryable"] is True
    assert "arn:" not in json.dumps(result)


@pytest.mark.parametrize(
    "answer", [{"items": [{"index": {"status": 201}}]}, {"items": None}, [1, 2]]
)
def test_a_malformed_bulk_answer_fails_everything_as_unknown(fn: Lambda, answer: Any) -> None:
    fn.embeddings(2)
    fn.collection.answer(200, answer)
    result = fn.invoke({"documents": DOCS[:2]})
    assert result["indexed"] == 0 and result["retryable"] is False
    assert {f["error"] for f in result["failed"]} == {
        "the collection's answer is malformed; the document may be indexed already"
    }


def test_a_refused_bulk_request_is_not_retried(fn: Lambda) -> None:
    fn.embeddings(1)
    fn.collection.answer(403, {"status": 403, "message": DENIED})
    result = fn.invoke({"documents": DOCS[:1]})
    assert result["failed"] == [
        {
            "position": 0,
            "id": "ha.md#1",
            "error": "the collection did not index it (HTTP 403)",
            "retryable": False,
        }
    ]
    assert "arn:" not in json.dumps(result) and len(fn.collection.requests) == 1


def test_an_unreachable_collection_is_retried_then_retryable(fn: Lambda) -> None:
    fn.setenv(MAX_ATTEMPTS="2", COLLECTION_ENDPOINT="http://127.0.0.1:9")
    fn.embeddings(1)
    result = fn.invoke({"documents": DOCS[:1]})
    assert (
        result["failed"][0]["error"]
        == "the collection did not index it (no answer (network failure))"
    )
    assert result["retryable"] is True
    assert fn.sleeps == [0.25]


def test_a_missing_setting_is_reported_and_logged_once(
    fn: Lambda, caplog: pytest.LogCaptureFixture
) -> None:
    fn.setenv(EMBEDDING_MODEL_ID=None)
    with caplog.at_level(logging.ERROR):
        results = [fn.invoke({"documents": DOCS}) for _ in range(2)]
    for result in results:
        assert result["setting"] == "EMBEDDING_MODEL_ID"
        assert result["error"] == (
            "the function is misconfigured: setting EMBEDDING_MODEL_ID is missing or invalid "
            "(details in the function's log)"
        )
        assert (result["indexed"], result["failed"], result["retryable"]) == (0, [], False)
    assert len([r for r in caplog.records if "misconfigured" in r.getMessage()]) == 1


def test_an_unexpected_fault_reports_every_document_as_failed() -> None:
    """No credentials (or any fault the handler does not classify): a direct caller sees each
    document failed, not an empty ``failed`` list that reads as nothing went wrong."""

    def no_credentials() -> Any:
        raise RuntimeError("no AWS credentials found to sign the collection request")

    ingestor = ingestion.Ingestor(
        CONFIG,
        doubles=Doubles(
            bedrock=lambda config: Bedrock([]),
            credentials=no_credentials,
            urlopen=bulk([]),
            backoff=Backoff(max_attempts=3, sleep=lambda seconds: None),
        ),
    )
    documents = [*DOCS, {"text": ""}]

    result = ingestor.handle({"documents": documents}, Context(seconds=300.0, request_id="u"))

    internal = "internal error (details in the function's log under this request id)"
    assert result == {
        "indexed": 0,
        "failed": [
            {"position": 0, "id": "ha.md#1", "error": internal, "retryable": False},
            {"position": 1, "id": None, "error": internal, "retryable": False},
            {"position": 2, "id": None, "error": internal, "retryable": False},
            {
                "position": 3,
                "id": None,
                "error": "documents[3].text must be a non-empty string",
                "retryable": False,
            },
        ],
        "retryable": False,
        "error": "internal error",
        "requestId": "u",
    }


def test_an_unexpected_fault_after_the_bulk_request_says_documents_may_be_indexed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(answer: Any, documents: Any, failures: Any) -> int:
        raise KeyError("a bug reading the answer")

    monkeypatch.setattr(ingestion, "_count_items", broken)
    ingestor = ingestion.Ingestor(
        CONFIG,
        doubles=Doubles(
            bedrock=lambda config: Bedrock([]),
            credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
            urlopen=bulk([]),
        ),
    )

    result = ingestor.handle({"documents": DOCS}, Context(seconds=300.0))

    assert result["indexed"] == 0 and result["error"] == "internal error"
    assert [f["error"] for f in result["failed"]] == [
        "internal error (details in the function's log under this request id); the document "
        "may be indexed already"
    ] * 3
    assert not result["retryable"]


# --- any batch, any faults -------------------------------------------------------------------

CONFIG = ingestion.Settings(
    store=Store(
        collection_endpoint="https://abc123.us-east-1.aoss.amazonaws.com",
        embedding_model_id=EMBEDDING_MODEL,
        region=REGION,
        index=IndexDefinition(dimension=len(VECTOR)),
    ),
    max_documents=8,
)
EMBEDDING = json.dumps({"embedding": VECTOR}).encode()


def aws_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": DENIED},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "InvokeModel",
    )


EMBED_OUTCOMES: list[Any] = [
    EMBEDDING,
    b"[]",
    aws_error("ThrottlingException", 429),
    aws_error("ValidationException", 400),
    aws_error("AccessDeniedException", 403),
    EndpointConnectionError(endpoint_url="https://x"),
]
BULK_OUTCOMES: list[Any] = [
    "created",
    (200, {"items": [{"index": {"status": 429}}]}),
    (200, b"<html>"),
    (403, {"message": DENIED}),
    (429, {"message": DENIED}),
    (500, {"message": DENIED}),
    (503, {"message": DENIED}),
    urllib.error.URLError(ConnectionRefusedError(111, "refused")),
    TimeoutError("timed out"),
    "lost",
    "mixed",
]
ENTRIES = st.one_of(
    st.builds(lambda text: {"text": text}, st.text(min_size=1, max_size=20)),
    st.builds(
        lambda text, i: {"text": text, "id": i},
        st.text(min_size=1, max_size=20),
        st.text(max_size=5),
    ),
    st.builds(
        lambda v: {"text": "t", "metadata": {"source": v}},
        st.one_of(st.text(max_size=5), st.integers()),
    ),
    st.dictionaries(
        st.sampled_from(["text", "id", "metadata", "other"]), st.integers(), max_size=3
    ),
    st.integers(),
)


class Bedrock:
    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = list(outcomes)

    def invoke_model(self, **_: Any) -> Any:
        outcome = self.outcomes.pop(0) if self.outcomes else EMBEDDING
        if isinstance(outcome, BaseException):
            raise outcome
        return {"body": StreamingBody(io.BytesIO(outcome), len(outcome))}


class Response(io.BytesIO):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(body)
        self.status = status
        self.headers = {"Content-Length": str(len(body))}


@dataclass
class Index:
    """What the collection holds: the texts of the documents it indexed, in order."""

    texts: list[str]


def bulk(outcomes: list[Any], index: Index | None = None, clock: Any = None) -> Any:
    """A collection that plays ``outcomes``, then indexes everything. ``lost``: the request is
    applied, then the answer is lost (a reset connection); ``mixed``: every other item is
    refused with 429."""
    script = list(outcomes)
    stored = index if index is not None else Index([])

    def urlopen(request: Any, timeout: float) -> Any:
        if clock is not None:
            clock.now += 0.5
        outcome = script.pop(0) if script else "created"
        if isinstance(outcome, BaseException):
            raise outcome
        sent = [json.loads(line) for line in request.data.decode().splitlines()][1::2]
        if isinstance(outcome, str) and outcome in {"created", "lost"}:
            stored.texts += [document["text"] for document in sent]
            if outcome == "lost":
                raise ConnectionResetError(104, "Connection reset by peer")
            return Response(200, json.dumps(created(len(sent))).encode())
        if isinstance(outcome, str):  # "mixed"
            items = []
            for n, document in enumerate(sent):
                if n % 2:
                    items.append({"index": {"status": 429, "error": {"type": "es_rejected"}}})
                else:
                    stored.texts.append(document["text"])
                    items.append({"index": {"status": 201}})
            return Response(200, json.dumps({"errors": True, "items": items}).encode())
        status, document = outcome
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        if status >= 400:
            raise urllib.error.HTTPError(
                request.full_url, status, "error", Message(), io.BytesIO(body)
            )
        return Response(status, body)

    return urlopen


@settings(max_examples=100, deadline=None)
@given(
    event=st.one_of(
        st.builds(lambda docs: {"documents": docs}, st.lists(ENTRIES, max_size=10)), st.integers()
    ),
    embeds=st.lists(st.sampled_from(EMBED_OUTCOMES), max_size=6),
    bulks=st.lists(st.sampled_from(BULK_OUTCOMES), max_size=4),
)
def test_every_document_is_indexed_or_reported_exactly_once(
    event: Any, embeds: list[Any], bulks: list[Any]
) -> None:
    """Whatever the embedding model and the collection answer (refusals, throttling, lost and
    partly refused bulk answers), the one result accounts for every document: ``indexed`` is
    exactly what the collection holds, and a document that may be indexed is never reported
    as safe to send again (a second copy)."""
    clock = FakeClock()
    stored = Index([])
    ingestor = ingestion.Ingestor(
        CONFIG,
        doubles=Doubles(
            bedrock=lambda config: Bedrock(embeds),
            credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
            urlopen=bulk(bulks, stored, clock),
            backoff=Backoff(max_attempts=3, sleep=clock.sleep),
            clock=clock,
        ),
    )

    result = ingestor.handle(event, ClockContext(clock, 300.0, "p"))

    assert clock.now <= 300.0 - ingestion.RESERVE_SECONDS
    if "error" not in result:
        assert result["indexed"] <= len(stored.texts), "never more than the collection holds"
        texts = [d.get("text") for d in event["documents"] if isinstance(d, dict)]
        for failure in result["failed"]:
            entry = event["documents"][failure["position"]]
            text = entry.get("text") if isinstance(entry, dict) else None
            if failure["retryable"] and texts.count(text) == 1:
                assert text not in stored.texts, "a document the collection holds is no retry"

    text = json.dumps(result)
    assert "arn:" not in text and ACCOUNT not in text
    assert result["requestId"] == "p"
    assert result["retryable"] == any(f["retryable"] for f in result["failed"])
    if "error" in result:
        assert result["indexed"] == 0
        assert result["failed"] == [], "a bad event fails as a whole, naming its field"
        return
    count = len(event["documents"])
    positions = [f["position"] for f in result["failed"]]
    assert positions == sorted(set(positions))
    assert result["indexed"] + len(positions) == count
    assert set(positions) <= set(range(count))


class ClockContext:
    def __init__(self, clock: FakeClock, seconds: float, request_id: str) -> None:
        self.clock, self.ends, self.aws_request_id = clock, clock.now + seconds, request_id

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.ends - self.clock.now) * 1000)


def test_stops_embedding_in_time_for_the_bulk_request() -> None:
    """Each embedding takes 10 s of a 50 s budget: four start with at least 20 s left for the
    bulk request, the fifth would not."""
    now = [0.0]

    class SlowBedrock(Bedrock):
        def invoke_model(self, **kwargs: Any) -> Any:
            now[0] += 10.0
            return super().invoke_model(**kwargs)

    ingestor = ingestion.Ingestor(
        CONFIG,
        doubles=Doubles(
            bedrock=lambda config: SlowBedrock([]),
            credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
            urlopen=bulk([]),
            clock=lambda: now[0],
        ),
    )
    documents = [{"text": f"passage {n}"} for n in range(5)]

    result = ingestor.handle(
        {"documents": documents}, Context(seconds=50.0 + ingestion.RESERVE_SECONDS)
    )

    assert result["indexed"] == 4
    assert result["failed"] == [
        {"position": 4, "id": None, "error": "not embedded before the deadline", "retryable": True}
    ]
