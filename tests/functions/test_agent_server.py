"""The shipped retrieval agent (``agent_server.py``): AgentCore's HTTP contract over the
retrieval handler, on a real local server."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from ha_inference.functions import agent_server
from ha_inference.functions.agent_server import AgentHandler, Context, deadline_seconds, invoke

ANSWER = {"answer": "Use the blue form [1].", "complete": True, "sources": [], "requestId": "r"}


class Recorder:
    """Stands in for the retrieval handler: records each event and answers as told."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.events: list[Any] = []
        self.deadlines: list[int] = []

    def __call__(self, event: Any, context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.deadlines.append(context.get_remaining_time_in_millis())
        return self.answer


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, Recorder]]:
    recorder = Recorder(
        {
            "statusCode": 200,
            "headers": {"Content-Type": "application/json"},
            "body": json.dumps(ANSWER),
        }
    )
    monkeypatch.setattr(AgentHandler, "answer", staticmethod(recorder))
    monkeypatch.setenv("ANSWER_DEADLINE_SECONDS", "30")
    httpd = agent_server.serve(host="127.0.0.1", port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield httpd.server_address[1], recorder
    finally:
        httpd.shutdown()
        httpd.server_close()


def request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    connection.request(method, path, body=body, headers={"Content-Type": "application/json"})
    response = connection.getresponse()
    data = response.read()
    connection.close()
    return response.status, json.loads(data)


def test_ping_answers_healthy(server: tuple[int, Recorder]) -> None:
    port, _ = server
    assert request(port, "GET", "/ping") == (200, {"status": "Healthy"})


@pytest.mark.parametrize("field", ["question", "prompt"])
def test_invocations_answer_through_the_retrieval_handler(
    server: tuple[int, Recorder], field: str
) -> None:
    port, recorder = server
    status, body = request(port, "POST", "/invocations", json.dumps({field: "How?"}).encode())
    assert (status, body) == (200, ANSWER)
    (event,) = recorder.events
    assert json.loads(event["body"]) == {"question": "How?"}
    assert 25_000 < recorder.deadlines[0] <= 30_000


def test_the_retrieval_handlers_status_is_kept(
    server: tuple[int, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, recorder = server
    recorder.answer = {"statusCode": 503, "body": json.dumps({"error": "busy", "retryable": True})}
    assert request(port, "POST", "/invocations", b"{}") == (
        503,
        {"error": "busy", "retryable": True},
    )


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/other", 404), ("POST", "/ping", 405), ("GET", "/invocations", 405)],
)
def test_anything_else_is_refused(
    server: tuple[int, Recorder], method: str, path: str, status: int
) -> None:
    port, recorder = server
    assert request(port, method, path, b"{}" if method == "POST" else None)[0] == status
    assert recorder.events == []


def test_a_body_over_the_limit_is_413_unread(server: tuple[int, Recorder]) -> None:
    port, recorder = server
    status, _ = request(port, "POST", "/invocations", b"x" * (agent_server.MAX_BODY_BYTES + 1))
    assert status == 413 and recorder.events == []


def test_an_answer_without_a_status_is_a_500() -> None:
    status, _, body = invoke(b"{}", lambda event, context: {"body": "{}"}, 10)
    assert (status, json.loads(body)) == (500, {"error": "internal error"})


def test_a_failing_handler_is_a_500_once(
    server: tuple[int, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, _ = server

    def broken(event: Any, context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    monkeypatch.setattr(AgentHandler, "answer", staticmethod(broken))
    assert request(port, "POST", "/invocations", b"{}") == (500, {"error": "internal error"})


@pytest.mark.parametrize(("raw", "seconds"), [("", 60), ("90", 90), ("1", 60), ("x", 60)])
def test_deadline_setting(raw: str, seconds: int) -> None:
    assert deadline_seconds({"ANSWER_DEADLINE_SECONDS": raw}) == seconds


def test_context_counts_down() -> None:
    now = [100.0]
    context = Context(10, clock=lambda: now[0])
    now[0] += 4
    assert context.get_remaining_time_in_millis() == 6000
    assert len(context.aws_request_id) == 36


def test_the_agent_uses_the_retrieval_handler_without_its_lambda_metrics() -> None:
    from ha_inference.functions import retrieval  # noqa: PLC0415

    assert agent_server._retrieval_answer() is retrieval.handler.__wrapped__  # type: ignore[attr-defined]
