"""Offline stand-ins for the shipped handlers' dependencies.

* :class:`CollectionServer`: an HTTP server on 127.0.0.1 standing in for an OpenSearch
  Serverless collection. It records every request and plays scripted replies, including
  truncated ones and ones that are not JSON; :func:`check_signed` verifies a recorded request's
  SigV4 signature the way the service would.
* :class:`FakeBedrock`: real botocore ``bedrock-runtime`` clients, built by the code under test
  through ``boto3.client``, whose HTTP sends are answered from a script (``before-send``): real
  request serialization and response parsing, with faults (connection failures, timeouts,
  truncated bodies, error codes) injected where the network would produce them.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials

ACCESS_KEY = "AKIDEXAMPLE0000000000"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN"
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/InferenceRole/retrieval"
DENIED = (
    f"User: {ROLE_ARN} is not authorized to perform: bedrock:InvokeModel on resource: "
    f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.example"
)
"""An AWS error message as Bedrock writes it: it names the caller's role and account."""


def use_fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials from the environment only: no profile, no config file, no metadata service."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)  # Lambda sets both
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


class Context:
    """A Lambda context with ``seconds`` left and a request id."""

    def __init__(self, seconds: float = 60.0, request_id: str = "req-0001") -> None:
        self.millis = int(seconds * 1000)
        self.aws_request_id = request_id

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


# --- the collection -------------------------------------------------------------------------


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def lines(self) -> list[Any]:
        return [json.loads(line) for line in self.body.decode().splitlines()]


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    keep: int | None = None
    """Bytes actually sent of ``body`` (a truncated answer); all when None."""
    pieces: tuple[tuple[float, bytes], ...] = ()
    """When set, the body is sent as these pieces instead, each after a pause of that many
    seconds (a trickling answer); ``Content-Length`` still declares ``body``'s length."""


@dataclass
class CollectionServer:
    """A stand-in for the collection endpoint that records requests and plays replies."""

    url: str
    requests: list[Recorded] = field(default_factory=list)
    replies: queue.Queue[Reply] = field(default_factory=queue.Queue)
    otherwise: Reply = field(
        default_factory=lambda: Reply(500, b'{"error": "the test queued no reply"}')
    )
    """The reply once the queued ones are used up."""

    def answer(self, status: int, document: Any) -> None:
        self.replies.put(Reply(status, json.dumps(document).encode()))

    def raw(self, status: int, body: bytes, content_type: str = "text/html") -> None:
        self.replies.put(Reply(status, body, content_type))

    def trickled(self, status: int, body: bytes, pieces: tuple[tuple[float, bytes], ...]) -> None:
        """An answer declaring ``body``'s length whose bytes arrive as ``pieces`` (pause,
        bytes)."""
        self.replies.put(Reply(status, body, "application/json", pieces=pieces))

    def truncated(self, status: int, document: Any, keep: int = 10) -> None:
        """An answer that declares its full length but stops after ``keep`` bytes."""
        self.replies.put(Reply(status, json.dumps(document).encode(), keep=keep))

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


@contextlib.contextmanager
def serve_collection() -> Iterator[CollectionServer]:
    state: list[CollectionServer] = []

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            server = state[0]
            length = int(self.headers.get("Content-Length", "0"))
            server.requests.append(
                Recorded(
                    method=self.command,
                    path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=self.rfile.read(length),
                )
            )
            try:
                reply = server.replies.get_nowait()
            except queue.Empty:
                reply = server.otherwise
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if not reply.pieces:
                self.wfile.write(reply.body if reply.keep is None else reply.body[: reply.keep])
                return
            self.wfile.flush()
            try:
                for pause, piece in reply.pieces:
                    time.sleep(pause)
                    self.wfile.write(piece)
                    self.wfile.flush()
            except OSError:  # the client gave up (its deadline): nothing to tell anyone
                self.close_connection = True

        def do_GET(self) -> None:
            self._handle()

        def do_PUT(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def do_DELETE(self) -> None:
            self._handle()

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    state.append(CollectionServer(url=f"http://{host!s}:{port}"))
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield state[0]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def check_signed(method: str, url: str, headers: dict[str, str], body: bytes) -> None:
    """The request is SigV4-signed for aoss in us-east-1 over exactly the headers sent
    (``headers`` lowercase, ``host`` as sent), and the signature verifies."""
    match = AUTHORIZATION.fullmatch(headers["authorization"])
    assert match, headers["authorization"]
    assert (match["key"], match["region"], match["service"]) == (ACCESS_KEY, REGION, "aoss")
    amz_date = headers["x-amz-date"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", amz_date) and amz_date.startswith(match["date"])
    assert headers["x-amz-content-sha256"] == hashlib.sha256(body).hexdigest()
    assert headers["x-amz-security-token"] == SESSION_TOKEN
    signed = match["signed"].split(";")
    assert {"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"} <= set(signed)
    request = AWSRequest(
        method=method, url=url, data=body, headers={name: headers[name] for name in signed}
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), "aoss", REGION)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    assert match["signature"] == expected


def check_recorded(recorded: Recorded, server: CollectionServer) -> None:
    check_signed(recorded.method, f"{server.url}{recorded.path}", recorded.headers, recorded.body)


# --- Bedrock --------------------------------------------------------------------------------


class _Raw:
    """What botocore reads an HTTP body from (``stream`` and ``read``)."""

    def __init__(self, data: bytes) -> None:
        self._io = io.BytesIO(data)

    def stream(self, **_: Any) -> Iterator[bytes]:
        while chunk := self._io.read(1024):
            yield chunk

    def read(self, amt: int | None = None) -> bytes:
        return self._io.read() if amt is None else self._io.read(amt)

    def close(self) -> None:
        pass


Outcome = Callable[[], AWSResponse]


@dataclass
class BedrockCall:
    operation: str
    body: Any
    connect_timeout: float
    read_timeout: float
    headers: Mapping[str, str] = field(default_factory=dict)
    """The request's headers (``X-Amzn-Bedrock-Service-Tier`` among them)."""


@dataclass
class FakeBedrock:
    """Scripted answers for the bedrock-runtime clients the code under test builds."""

    script: dict[str, list[Outcome | BaseException]] = field(default_factory=dict)
    calls: list[BedrockCall] = field(default_factory=list)
    configs: list[Any] = field(default_factory=list)

    def then(self, operation: str, outcome: Outcome | BaseException) -> None:
        self.script.setdefault(operation, []).append(outcome)

    def embedding(self, vector: list[float], *, declared: int | None = None) -> None:
        """An InvokeModel answer with ``vector``; ``declared`` fakes a Content-Length."""
        raw = json.dumps({"embedding": vector, "inputTextTokenCount": 12}).encode()
        self.then("InvokeModel", lambda: _response(200, raw, declared=declared))

    def answer(
        self, text: str = "Standby replicas keep search running [1].", stop: str = "end_turn"
    ) -> None:
        document = {
            "output": {
                "message": {"role": "assistant", "content": [{"text": text}] if text else []}
            },
            "stopReason": stop,
            "usage": {"inputTokens": 120, "outputTokens": 12, "totalTokens": 132},
            "metrics": {"latencyMs": 350},
        }
        self.then("Converse", lambda: _response(200, json.dumps(document).encode()))

    def error(self, operation: str, code: str, status: int, message: str = "") -> None:
        body = json.dumps({"message": message or f"{code} (test)"}).encode()
        self.then(operation, lambda: _response(status, body, error_type=code))

    def called(self, operation: str) -> list[BedrockCall]:
        return [c for c in self.calls if c.operation == operation]

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Makes ``boto3.client("bedrock-runtime", ...)`` build clients answered by the script."""
        real_client = boto3.client

        def client(service: str, *args: Any, **kwargs: Any) -> Any:
            built = real_client(service, *args, **kwargs)
            if service == "bedrock-runtime":
                config = kwargs.get("config")
                self.configs.append(config)
                built.meta.events.register(
                    "before-send.bedrock-runtime", self._sender(built.meta.config)
                )
            return built

        monkeypatch.setattr(boto3, "client", client)

    def _sender(self, config: Any) -> Callable[..., AWSResponse]:
        def send(request: Any, event_name: str, **_: Any) -> AWSResponse:
            operation = event_name.rsplit(".", 1)[-1]
            body = request.body
            try:
                document = json.loads(body) if body else None
            except ValueError:
                document = body
            headers = {
                k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
            }
            self.calls.append(
                BedrockCall(
                    operation, document, config.connect_timeout, config.read_timeout, headers
                )
            )
            pending = self.script.get(operation) or []
            assert pending, f"the test scripted no more {operation} answers"
            outcome = pending.pop(0)
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome()

        return send

    def assert_done(self) -> None:
        left = {op: len(outcomes) for op, outcomes in self.script.items() if outcomes}
        assert not left, f"scripted answers not used: {left}"


def _response(
    status: int, body: bytes, *, error_type: str | None = None, declared: int | None = None
) -> AWSResponse:
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(declared if declared is not None else len(body)),
        "x-amzn-RequestId": "11111111-2222-3333-4444-555555555555",
    }
    if error_type:
        headers["x-amzn-ErrorType"] = f"{error_type}:http://internal.amazon.com/"
    return AWSResponse(
        "https://bedrock-runtime.us-east-1.amazonaws.com", status, headers, _Raw(body)
    )


# --- any botocore client ----------------------------------------------------------------------

Scripted = Callable[[], Any] | BaseException | dict[str, Any] | tuple[str, str, int]


@dataclass
class ScriptedClient:
    """A real botocore client of ``service`` whose HTTP sends are answered from a script: real
    request validation, serialization and response parsing, with the faults a network gives
    (timeouts, lost connections) raised where botocore would meet them.

    Each outcome, per API operation, is a dict (an HTTP 200 whose JSON body it is), ``("error",
    code, status)`` (an AWS error answer), an exception (raised as the send), or a callable
    whose return value is the outcome (to advance a fake clock first). An operation whose script
    is used up answers ``otherwise(operation)``, or fails the test.
    """

    service: str
    region: str = REGION
    script: dict[str, list[Scripted]] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    otherwise: Callable[[str], Scripted] | None = None
    client: Any = field(init=False)

    def __post_init__(self) -> None:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=self.region
        )
        self.client = session.client(
            self.service,
            region_name=self.region,
            config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        service_id = self.client.meta.service_model.service_id.hyphenize()
        self.client.meta.events.register(f"before-send.{service_id}", self._send)

    def then(self, operation: str, *outcomes: Scripted) -> None:
        self.script.setdefault(operation, []).extend(outcomes)

    def reset(self) -> None:
        self.script.clear()
        self.calls.clear()

    def _send(self, request: Any, event_name: str, **_: Any) -> AWSResponse:
        operation = event_name.rsplit(".", 1)[-1]
        self.calls.append(operation)
        pending = self.script.get(operation)
        if pending:
            outcome = pending.pop(0)
        elif self.otherwise is not None:
            outcome = self.otherwise(operation)
        else:
            raise AssertionError(f"the test scripted no more {operation} answers")
        while callable(outcome) and not isinstance(outcome, BaseException):
            outcome = outcome()
        if isinstance(outcome, BaseException):
            raise outcome
        if isinstance(outcome, tuple):
            _, code, status = outcome
            body = json.dumps({"message": f"{code} (test) for {ROLE_ARN}"}).encode()
            return _response(status, body, error_type=code)
        return _response(200, json.dumps(outcome, default=str).encode())

    def assert_done(self) -> None:
        left = {op: len(outcomes) for op, outcomes in self.script.items() if outcomes}
        assert not left, f"scripted answers not used: {left}"
