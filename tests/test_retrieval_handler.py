"""The retrieval handler, offline: botocore stubs for Bedrock, a local server for the collection."""

from __future__ import annotations

import base64
import copy
import hashlib
import importlib
import io
import json
import queue
import re
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ha_inference.functions import aoss
from ha_inference.functions import retrieval as index

ACCESS_KEY = "AKIDEXAMPLE0000000000"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN"
REGION = "us-east-1"
PROFILE_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
EMBEDDING = [0.125, -0.5, 0.25, 0.0625]
QUESTION = "How does the service stay available when an Availability Zone fails?"
HITS = [
    {
        "_id": "doc-1",
        "_score": 0.91,
        "_source": {"text": "Standby replicas run in another AZ.", "source": "s3://kb/ha.md"},
    },
    {
        "_id": "doc-2",
        "_score": 0.77,
        "_source": {"text": "Lambda functions use a subnet in every AZ.", "source": "s3://kb/l.md"},
    },
]


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials from the environment only: no profile, no config file, no metadata service."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class CollectionServer:
    """A stand-in for the collection endpoint on 127.0.0.1 that records every request."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    answers: queue.Queue[tuple[int, Any]] = field(default_factory=queue.Queue)

    def answer(self, status: int, document: Any) -> None:
        self.answers.put((status, document))


@pytest.fixture
def collection() -> Iterator[CollectionServer]:
    server_state: list[CollectionServer] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            state = server_state[0]
            length = int(self.headers.get("Content-Length", "0"))
            state.requests.append(
                Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
            )
            status, document = state.answers.get_nowait()
            payload = json.dumps(document).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    server_state.append(CollectionServer(url=f"http://{host!s}:{port}"))
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server_state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class Bedrock:
    client: Any
    stubber: Stubber
    calls: list[tuple[str, dict[str, Any]]]

    def embedding(self) -> None:
        raw = json.dumps({"embedding": EMBEDDING, "inputTextTokenCount": 12}).encode()
        self.stubber.add_response(
            "invoke_model",
            {"body": StreamingBody(io.BytesIO(raw), len(raw)), "contentType": "application/json"},
        )

    def answer(self, text: str = "Standby replicas keep search running [1].") -> None:
        self.stubber.add_response(
            "converse",
            {
                "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": 120, "outputTokens": 12, "totalTokens": 132},
                "metrics": {"latencyMs": 350},
            },
        )

    def error(self, operation: str, code: str, status: int) -> None:
        self.stubber.add_client_error(
            operation,
            service_error_code=code,
            service_message=f"{code} (test)",
            http_status_code=status,
        )

    def called(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]


@pytest.fixture
def bedrock() -> Iterator[Bedrock]:
    client = boto3.client("bedrock-runtime", region_name=REGION)
    calls: list[tuple[str, dict[str, Any]]] = []

    def capture(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, copy.deepcopy(params)))

    client.meta.events.register("provide-client-params.bedrock-runtime.*", capture)
    with Stubber(client) as stubber:
        yield Bedrock(client, stubber, calls)
        stubber.assert_no_pending_responses()


def config(endpoint: str, **overrides: Any) -> index.Config:
    settings: dict[str, Any] = {
        "model_id": PROFILE_ID,
        "embedding_model_id": EMBEDDING_MODEL,
        "collection_endpoint": endpoint,
        "index_name": "passages",
        "region": REGION,
        "metadata_fields": ("source",),
        "embedding_dimensions": len(EMBEDDING),
        "top_k": 3,
        **overrides,
    }
    return index.Config(**settings)


@dataclass
class Harness:
    retriever: index.Retriever
    bedrock: Bedrock
    collection: CollectionServer
    sleeps: list[float]


@pytest.fixture
def harness(bedrock: Bedrock, collection: CollectionServer) -> Harness:
    sleeps: list[float] = []
    retriever = index.Retriever(
        config(collection.url),
        bedrock=bedrock.client,
        sleep=sleeps.append,
        jitter=lambda low, high: high,  # the longest delay the backoff allows
    )
    return Harness(retriever, bedrock, collection, sleeps)


def body_of(response: dict[str, Any]) -> Any:
    assert response["headers"] == {"Content-Type": "application/json"}
    return json.loads(response["body"])


AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def check_signed(recorded: Recorded, url: str) -> None:
    """The request is SigV4-signed for aoss in us-east-1, and the signature verifies."""
    match = AUTHORIZATION.fullmatch(recorded.headers["authorization"])
    assert match, recorded.headers["authorization"]
    assert (match["key"], match["region"], match["service"]) == (ACCESS_KEY, REGION, "aoss")
    amz_date = recorded.headers["x-amz-date"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", amz_date) and amz_date.startswith(match["date"])
    assert recorded.headers["x-amz-content-sha256"] == hashlib.sha256(recorded.body).hexdigest()
    assert recorded.headers["x-amz-security-token"] == SESSION_TOKEN
    signed = match["signed"].split(";")
    assert {"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"} <= set(signed)
    request = AWSRequest(
        method=recorded.method,
        url=f"{url}{recorded.path}",
        data=recorded.body,
        headers={name: recorded.headers[name] for name in signed},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), "aoss", REGION)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    assert match["signature"] == expected


def test_answers_from_the_retrieved_passages(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(200, {"hits": {"hits": HITS}})
    harness.bedrock.answer()

    response = harness.retriever.handle({"question": QUESTION})

    assert response["statusCode"] == 200, response
    assert body_of(response) == {
        "answer": "Standby replicas keep search running [1].",
        "sources": [
            {
                "id": "doc-1",
                "score": 0.91,
                "text": "Standby replicas run in another AZ.",
                "source": "s3://kb/ha.md",
            },
            {
                "id": "doc-2",
                "score": 0.77,
                "text": "Lambda functions use a subnet in every AZ.",
                "source": "s3://kb/l.md",
            },
        ],
    }
    assert harness.sleeps == []


def test_embeds_the_question_with_the_titan_v2_request(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(200, {"hits": {"hits": HITS}})
    harness.bedrock.answer()
    harness.retriever.handle({"question": f"  {QUESTION}  "})

    (call,) = harness.bedrock.called("InvokeModel")
    assert call["modelId"] == EMBEDDING_MODEL
    assert (call["contentType"], call["accept"]) == ("application/json", "application/json")
    assert json.loads(call["body"]) == {
        "inputText": QUESTION,
        "dimensions": len(EMBEDDING),
        "normalize": True,
    }


def test_searches_the_collection_with_a_signed_knn_query(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(200, {"hits": {"hits": HITS}})
    harness.bedrock.answer()
    harness.retriever.handle({"question": QUESTION})

    (request,) = harness.collection.requests
    assert (request.method, request.path) == ("POST", "/passages/_search")
    assert request.headers["content-type"] == "application/json"
    check_signed(request, harness.collection.url)
    assert json.loads(request.body) == {
        "size": 3,
        "query": {"knn": {"vector": {"vector": EMBEDDING, "k": 3}}},
        "_source": ["text", "source"],
    }


def test_converses_through_the_profile_with_the_passages(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(200, {"hits": {"hits": HITS}})
    harness.bedrock.answer()
    harness.retriever.handle({"question": QUESTION})

    (call,) = harness.bedrock.called("Converse")
    assert call["modelId"] == PROFILE_ID
    assert call["system"] == [{"text": index.SYSTEM_PROMPT}]
    (message,) = call["messages"]
    assert message["role"] == "user"
    (content,) = message["content"]
    text = content["text"]
    assert "[1] Standby replicas run in another AZ." in text
    assert "[2] Lambda functions use a subnet in every AZ." in text
    assert text.endswith(f"Question: {QUESTION}")
    assert call["inferenceConfig"] == {"maxTokens": 1024}


def test_accepts_a_proxy_event_with_a_json_body(harness: Harness) -> None:
    for encoded in (False, True):
        harness.bedrock.embedding()
        harness.collection.answer(200, {"hits": {"hits": HITS}})
        harness.bedrock.answer()
        body = json.dumps({"question": QUESTION})
        if encoded:
            body = base64.b64encode(body.encode()).decode()
        event = {"version": "2.0", "rawPath": "/", "body": body, "isBase64Encoded": encoded}
        assert harness.retriever.handle(event)["statusCode"] == 200
    assert [json.loads(c["body"])["inputText"] for c in harness.bedrock.called("InvokeModel")] == [
        QUESTION,
        QUESTION,
    ]


def test_skips_converse_when_nothing_matches(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(200, {"hits": {"total": {"value": 0}, "hits": []}})
    response = harness.retriever.handle({"question": QUESTION})
    assert response["statusCode"] == 200
    assert body_of(response) == {"answer": index.NO_PASSAGES_ANSWER, "sources": []}
    assert harness.bedrock.called("Converse") == []


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
        (["question"], "body", r"^the event must be a JSON object .*, got list$"),
    ],
)
def test_rejects_bad_input_without_calling_anything(
    harness: Harness, event: Any, field: str, message: str
) -> None:
    response = harness.retriever.handle(event)
    assert response["statusCode"] == 400
    body = body_of(response)
    assert set(body) == {"error", "field"}
    assert body["field"] == field
    assert re.search(message, body["error"]), body["error"]
    assert harness.bedrock.calls == [] and harness.collection.requests == []


def test_accepts_a_question_at_the_limit(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(200, {"hits": {"hits": []}})
    assert harness.retriever.handle({"question": "y" * 4000})["statusCode"] == 200


def test_retries_a_throttled_embedding_with_backoff(harness: Harness) -> None:
    harness.bedrock.error("invoke_model", "ThrottlingException", 429)
    harness.bedrock.error("invoke_model", "ServiceUnavailableException", 503)
    harness.bedrock.embedding()
    harness.collection.answer(200, {"hits": {"hits": HITS}})
    harness.bedrock.answer()

    response = harness.retriever.handle({"question": QUESTION})

    assert response["statusCode"] == 200
    assert len(harness.bedrock.called("InvokeModel")) == 3
    assert harness.sleeps == [0.25, 0.5]


def test_retries_a_throttled_or_failing_collection(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(429, {"status": 429, "error": "Too Many Requests"})
    harness.collection.answer(503, {"status": 503, "error": "Service Unavailable"})
    harness.collection.answer(200, {"hits": {"hits": HITS}})
    harness.bedrock.answer()

    response = harness.retriever.handle({"question": QUESTION})

    assert response["statusCode"] == 200
    assert len(harness.collection.requests) == 3
    for request in harness.collection.requests:
        check_signed(request, harness.collection.url)
    assert harness.sleeps == [0.25, 0.5]


def test_gives_up_on_persistent_throttling_with_a_clear_503(
    bedrock: Bedrock, collection: CollectionServer
) -> None:
    sleeps: list[float] = []
    retriever = index.Retriever(
        config(collection.url, max_attempts=3),
        bedrock=bedrock.client,
        sleep=sleeps.append,
        jitter=lambda low, high: high,
    )
    bedrock.embedding()
    collection.answer(200, {"hits": {"hits": HITS}})
    for _ in range(3):
        bedrock.error("converse", "ThrottlingException", 429)

    response = retriever.handle({"question": QUESTION})

    assert response["statusCode"] == 503
    assert body_of(response) == {
        "error": "Bedrock Converse is throttled or unavailable after 3 attempts "
        "(ThrottlingException: ThrottlingException (test)); retry later",
        "retryable": True,
    }
    assert sleeps == [0.25, 0.5]
    assert len(bedrock.called("Converse")) == 3


def test_does_not_retry_access_denied(harness: Harness) -> None:
    harness.bedrock.error("invoke_model", "AccessDeniedException", 403)
    response = harness.retriever.handle({"question": QUESTION})
    assert response["statusCode"] == 502
    assert "AccessDeniedException" in body_of(response)["error"]
    assert harness.sleeps == [] and harness.collection.requests == []


def test_does_not_retry_a_refused_search(harness: Harness) -> None:
    harness.bedrock.embedding()
    harness.collection.answer(403, {"status": 403, "message": "User does not have permissions"})
    response = harness.retriever.handle({"question": QUESTION})
    assert response["statusCode"] == 502
    assert "HTTP 403" in body_of(response)["error"]
    assert len(harness.collection.requests) == 1 and harness.sleeps == []


def test_backoff_is_capped_and_jittered() -> None:
    sleeps: list[float] = []
    bounds: list[tuple[float, float]] = []

    def jitter(low: float, high: float) -> float:
        bounds.append((low, high))
        return high / 2

    backoff = index.Backoff(8, base_delay=1.0, max_delay=5.0, sleep=sleeps.append, jitter=jitter)
    attempts = iter(range(8))

    def flaky() -> str:
        if next(attempts) < 7:
            raise aoss.CollectionError(429, "slow down")
        return "ok"

    assert backoff.call("test", flaky) == "ok"
    assert bounds == [(0.0, high) for high in (1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0)]
    assert sleeps == [0.5, 1.0, 2.0, 2.5, 2.5, 2.5, 2.5]


def test_backoff_stops_when_the_invocation_runs_out_of_time(harness: Harness) -> None:
    harness.retriever.backoff.time_left = lambda: 2.1  # < 0.25 s delay + 2 s reserve
    harness.bedrock.error("invoke_model", "ThrottlingException", 429)
    response = harness.retriever.handle({"question": QUESTION})
    assert response["statusCode"] == 503
    assert "after 1 attempts (ThrottlingException" in body_of(response)["error"]
    assert "running out of time" in body_of(response)["error"]
    assert harness.sleeps == []


def test_backoff_does_not_retry_other_errors() -> None:
    sleeps: list[float] = []
    backoff = index.Backoff(5, sleep=sleeps.append)

    def broken() -> None:
        raise KeyError("embedding")

    with pytest.raises(KeyError):
        backoff.call("test", broken)
    assert sleeps == []


def test_unreachable_collection_is_retried_then_reported(bedrock: Bedrock) -> None:
    sleeps: list[float] = []
    retriever = index.Retriever(
        config("http://127.0.0.1:9", max_attempts=2),  # discard port: nothing listens
        bedrock=bedrock.client,
        sleep=sleeps.append,
        jitter=lambda low, high: high,
    )
    bedrock.embedding()
    response = retriever.handle({"question": QUESTION})
    assert response["statusCode"] == 503
    assert "could not be reached" in body_of(response)["error"]
    assert sleeps == [0.25]


ENV = {
    "MODEL_ID": PROFILE_ID,
    "EMBEDDING_MODEL_ID": EMBEDDING_MODEL,
    "COLLECTION_ENDPOINT": "https://abc123.us-east-1.aoss.amazonaws.com/",
    "INDEX_NAME": "passages",
    "AWS_REGION": REGION,
}


def test_config_reads_the_environment_with_defaults() -> None:
    settings = index.Config.from_env({**ENV, "METADATA_FIELDS": "source, title,", "TOP_K": "8"})
    assert settings == index.Config(
        model_id=PROFILE_ID,
        embedding_model_id=EMBEDDING_MODEL,
        collection_endpoint="https://abc123.us-east-1.aoss.amazonaws.com",
        index_name="passages",
        region=REGION,
        metadata_fields=("source", "title"),
        top_k=8,
    )
    assert (settings.max_question_chars, settings.max_attempts, settings.embedding_dimensions) == (
        4000,
        4,
        1024,
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"MODEL_ID": ""}, r"environment variable MODEL_ID is required"),
        ({"INDEX_NAME": None}, r"environment variable INDEX_NAME is required"),
        ({"INDEX_NAME": "a/b"}, r"INDEX_NAME must be a plain index name"),
        (
            {"COLLECTION_ENDPOINT": "http://abc.aoss.amazonaws.com"},
            r"COLLECTION_ENDPOINT must use https",
        ),
        (
            {"COLLECTION_ENDPOINT": "https://abc.aoss.amazonaws.com/x"},
            r"COLLECTION_ENDPOINT must be the collection's base URL",
        ),
        ({"TOP_K": "many"}, r"TOP_K must be a whole number, got 'many'"),
        ({"MAX_ATTEMPTS": "0"}, r"MAX_ATTEMPTS must be 1-10, got 0"),
    ],
)
def test_config_rejects_bad_environment(changes: dict[str, str | None], message: str) -> None:
    env = {k: v for k, v in {**ENV, **changes}.items() if v is not None}
    with pytest.raises(index.ConfigError, match=message):
        index.Config.from_env(env)


def test_plain_http_is_allowed_only_for_loopback() -> None:
    assert aoss.check_endpoint("http://127.0.0.1:8080/") == "http://127.0.0.1:8080"
    assert aoss.check_endpoint("http://localhost:1") == "http://localhost:1"
    with pytest.raises(ValueError, match="must use https"):
        aoss.check_endpoint("http://10.0.0.5:443")


def test_lambda_entry_point_reads_config_once(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(index, "_retriever", None)
    response = index.handler({"question": ""}, None)
    assert response["statusCode"] == 400
    first = index._retriever
    assert first is not None and first.config == index.Config.from_env(ENV)
    assert first.backoff.time_left is None

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 12_500

    index.handler({}, Context())
    assert index._retriever is first
    assert first.backoff.time_left is not None and first.backoff.time_left() == 12.5


def test_module_imports_as_the_lambda_runtime_does(monkeypatch: pytest.MonkeyPatch) -> None:
    """In Lambda the asset folder is on sys.path and the handler module is top-level."""
    folder = Path(index.__file__).parent
    monkeypatch.syspath_prepend(str(folder))
    for name in ("retrieval", "aoss"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    top_level = importlib.import_module("retrieval")

    try:
        assert top_level.__file__ == index.__file__
        assert top_level.aoss.SERVICE == "aoss"
        assert top_level.aoss is sys.modules["aoss"]
    finally:
        for name in ("retrieval", "aoss"):
            sys.modules.pop(name, None)
