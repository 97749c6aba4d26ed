"""The shipped agent client (``agent_client.handler``): asks the agent runtime, answers once."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from ha_inference.functions import agent_client
from ha_inference.functions.agent_client import AgentClient, Settings
from ha_inference.functions.resilience import Backoff
from tests.support.collection_stub import ScriptedClient

pytestmark = pytest.mark.usefixtures("requests_the_service_accepts")

RUNTIME_ARN = "arn:aws:bedrock-agentcore:us-east-1:111111111111:runtime/support_agent-a1B2c3D4e5"
SLEEPS: list[float] = []
"""The backoff's waits (recorded, not slept)."""
ANSWER = {"answer": "Use the blue form [1].", "complete": True, "sources": [], "requestId": "x"}


class Context:
    aws_request_id = "req-1"

    def __init__(self, millis: int = 120_000) -> None:
        self.millis = millis

    def get_remaining_time_in_millis(self) -> int:
        return self.millis


@pytest.fixture
def agentcore() -> Iterator[ScriptedClient]:
    client = ScriptedClient("bedrock-agentcore")
    yield client
    client.assert_done()


def ask(agentcore: ScriptedClient, event: Any, context: Any = None) -> tuple[int, dict[str, Any]]:
    client = AgentClient(
        Settings(runtime_arn=RUNTIME_ARN),
        client_factory=lambda _: agentcore.client,
        backoff=Backoff(sleep=SLEEPS.append),
    )
    answer = client.handle(event, context or Context())
    assert answer["headers"] == {"Content-Type": "application/json"}
    body: dict[str, Any] = json.loads(answer["body"])
    assert body["requestId"] == "req-1"
    assert "arn:" not in answer["body"] and "111111111111" not in answer["body"]
    return answer["statusCode"], body


@pytest.mark.parametrize(
    "event",
    [{"question": "How do I file?"}, {"body": json.dumps({"question": "How do I file?"})}],
)
def test_returns_the_agents_answer(agentcore: ScriptedClient, event: Any) -> None:
    agentcore.then("InvokeAgentRuntime", ANSWER)
    status, body = ask(agentcore, event)
    assert status == 200
    assert body == {**ANSWER, "requestId": "req-1"}
    assert agentcore.calls == ["InvokeAgentRuntime"]


def test_sends_the_question_to_the_default_endpoint_in_a_new_session() -> None:
    recorded: list[dict[str, Any]] = []

    class Client:
        def invoke_agent_runtime(self, **params: Any) -> dict[str, Any]:
            recorded.append(params)
            return {"statusCode": 200, "response": io.BytesIO(json.dumps(ANSWER).encode())}

    AgentClient(Settings(runtime_arn=RUNTIME_ARN), client_factory=lambda _: Client()).handle(
        {"question": " How? "}, Context()
    )
    (params,) = recorded
    assert params["agentRuntimeArn"] == RUNTIME_ARN
    assert params["qualifier"] == "DEFAULT"
    assert json.loads(params["payload"]) == {"question": "How?"}
    assert len(params["runtimeSessionId"]) >= 33


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({}, "question"),
        ({"question": "  "}, "question"),
        ({"question": 3}, "question"),
        ({"question": "x" * 4001}, "question"),
        ("text", "body"),
        ({"body": "{"}, "body"),
    ],
)
def test_bad_questions_are_400_without_a_call(
    agentcore: ScriptedClient, event: Any, field: str
) -> None:
    status, body = ask(agentcore, event)
    assert (status, body["field"]) == (400, field)
    assert agentcore.calls == []


def test_refused_calls_are_502_naming_the_code(agentcore: ScriptedClient) -> None:
    agentcore.then("InvokeAgentRuntime", ("error", "AccessDeniedException", 403))
    status, body = ask(agentcore, {"question": "How?"})
    assert (status, body["dependency"]) == (502, "agent")
    assert "AccessDeniedException" in body["error"]


def test_throttling_is_retried_then_answered(agentcore: ScriptedClient) -> None:
    agentcore.then("InvokeAgentRuntime", ("error", "ThrottlingException", 429), ANSWER)
    SLEEPS.clear()
    status, _ = ask(agentcore, {"question": "How?"})
    assert status == 200
    assert agentcore.calls == ["InvokeAgentRuntime", "InvokeAgentRuntime"]
    assert len(SLEEPS) == 1


def test_an_unreachable_runtime_is_503_retryable(agentcore: ScriptedClient) -> None:
    lost = EndpointConnectionError(endpoint_url="https://bedrock-agentcore.us-east-1.amazonaws.com")
    agentcore.then("InvokeAgentRuntime", *([lost] * 4))
    status, body = ask(agentcore, {"question": "How?"})
    assert (status, body["retryable"], body["dependency"]) == (503, True, "agent")


def test_no_time_left_is_503_without_a_call(agentcore: ScriptedClient) -> None:
    status, body = ask(agentcore, {"question": "How?"}, Context(millis=1500))
    assert (status, body["retryable"]) == (503, True)
    assert agentcore.calls == []


def test_an_answer_that_is_not_json_is_502(agentcore: ScriptedClient) -> None:
    agentcore.then("InvokeAgentRuntime", ["not", "an", "object"])
    status, body = ask(agentcore, {"question": "How?"})
    assert (status, body["dependency"]) == (502, "agent")


def test_a_missing_setting_is_500_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AGENT_RUNTIME_ARN", raising=False)
    monkeypatch.setattr(agent_client, "_client", None)
    answer = agent_client.handler({"question": "How?"}, Context())
    body = json.loads(answer["body"])
    assert (answer["statusCode"], body["setting"]) == (500, "AGENT_RUNTIME_ARN")
