"""Asks the agent runtime a question: Amazon Bedrock AgentCore ``InvokeAgentRuntime``.

Handler: ``agent_client.handler``. Asset: this folder, as is (standard library, boto3 and botocore
from the Lambda runtime; no bundling). In a VPC, the call goes through the ``bedrock-agentcore``
interface endpoint (private DNS), whose policy allows invoking exactly the declared runtimes.

Event: ``{"question": "..."}``, or a proxy event (API Gateway, function URL, ALB) whose ``body`` is
that JSON.

Response, in the proxy shape ``{"statusCode", "headers", "body"}``:

* the agent's answer, its status and JSON body as the agent wrote them (the retrieval agent,
  ``agent_server.py``: 200 with ``answer``, ``complete``, ``sources``; 4xx/5xx with ``error``);
* 400 ``{"error", "field", "requestId"}``: the event is not ``{"question": "<text>"}``;
* 502 ``{"error", "dependency": "agent", "requestId"}``: AgentCore refused the call (access
  denied, validation, not found) or the agent answered something that is not JSON; the error
  names the AWS error code, never the message;
* 503 ``{"error", "dependency": "agent", "retryable": true, "requestId"}``: AgentCore kept
  throttling or failing (5xx), or could not be reached, through every attempt, or the
  invocation ran out of time;
* 500 ``{"error", "setting", "requestId"}`` when ``AGENT_RUNTIME_ARN`` is missing.

Retries: throttling, 5xx and network failures, ``MAX_ATTEMPTS`` (4) attempts with capped
exponential backoff and full jitter, each within the time the invocation has left (less 2 s to
answer); botocore's own retries are off. Each attempt opens a new runtime session
(``runtimeSessionId``: a fresh UUID, 36 characters; the API asks for at least 33).

Environment: ``AGENT_RUNTIME_ARN`` (required), ``AGENT_QUALIFIER`` (default ``DEFAULT``, the
runtime's default endpoint), ``MAX_ATTEMPTS`` (4), ``AWS_REGION`` (set by Lambda).
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import ClientError

try:  # ha_inference.functions.agent_client (library, tests) or top-level (Lambda)
    from . import proxy, resilience, settings
except ImportError:  # pragma: no cover - the Lambda runtime path
    import proxy  # type: ignore[no-redef,import-not-found]
    import resilience  # type: ignore[no-redef,import-not-found]
    import settings  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

AGENT = "agent"
MAX_BODY_BYTES = 64 * 1024
MAX_QUESTION_CHARS = 4000
READ_SECONDS = 120.0


@dataclass(frozen=True)
class Settings:
    runtime_arn: str
    qualifier: str = "DEFAULT"
    max_attempts: int = 4

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        return cls(
            runtime_arn=settings.required(env, "AGENT_RUNTIME_ARN"),
            qualifier=settings.optional(env, "AGENT_QUALIFIER", "DEFAULT"),
            max_attempts=settings.integer(env, "MAX_ATTEMPTS", 4, 1, 10),
        )


class AgentClient:
    """One per execution environment: settings and a client cache."""

    def __init__(
        self,
        config: Settings,
        client_factory: Any = None,
        backoff: resilience.Backoff | None = None,
    ) -> None:
        self.settings = config
        self.backoff = backoff or resilience.Backoff(max_attempts=config.max_attempts)
        factory = client_factory or (lambda cfg: boto3.client("bedrock-agentcore", config=cfg))
        self.clients = resilience.ClientCache(factory, read=READ_SECONDS)

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        request = resilience.request_id(context)
        try:
            question = _question(event)
        except proxy.BadRequestError as err:
            return proxy.respond(400, {"error": str(err), "field": err.field, "requestId": request})
        deadline = resilience.Deadline(context)
        payload = json.dumps({"question": question}).encode("utf-8")
        try:
            response = resilience.call_with_retries(
                "AgentCore InvokeAgentRuntime",
                lambda d: self._invoke(d, payload),
                deadline=deadline,
                backoff=self.backoff,
            )
        except (resilience.RetriesExhaustedError, resilience.DeadlineExceededError) as err:
            LOGGER.warning("the agent could not answer in time: %s", resilience.redact(str(err)))
            return proxy.respond(
                503,
                {
                    "error": "the agent runtime is not answering; retry later",
                    "dependency": AGENT,
                    "retryable": True,
                    "requestId": request,
                },
            )
        except ClientError as err:
            LOGGER.error("the agent runtime refused the call: %s", resilience.redact(str(err)))
            return proxy.respond(
                502,
                {
                    "error": f"the agent runtime refused the call ({resilience.summarize(err)})",
                    "dependency": AGENT,
                    "requestId": request,
                },
            )
        return self._answer(response, request)

    def _invoke(self, deadline: resilience.Deadline, payload: bytes) -> tuple[int, bytes]:
        client = self.clients.get(deadline)
        response = client.invoke_agent_runtime(
            agentRuntimeArn=self.settings.runtime_arn,
            qualifier=self.settings.qualifier,
            runtimeSessionId=str(uuid.uuid4()),
            contentType="application/json",
            accept="application/json",
            payload=payload,
        )
        body = response["response"].read()
        return int(response.get("statusCode") or 200), body

    def _answer(self, response: tuple[int, bytes], request: str) -> dict[str, Any]:
        status, body = response
        try:
            answer = proxy.loads_finite(body.decode("utf-8"))
        except (ValueError, RecursionError):
            answer = None
        if not isinstance(answer, dict):
            LOGGER.error("the agent answered %d with a body that is not a JSON object", status)
            return proxy.respond(
                502,
                {
                    "error": "the agent answered with something other than a JSON object",
                    "dependency": AGENT,
                    "requestId": request,
                },
            )
        return proxy.respond(status, {**answer, "requestId": request})


def _question(event: Any) -> str:
    obj = proxy.event_object(event, "question")
    if "body" in obj:
        obj = proxy.json_body(obj, field="question", max_body_bytes=MAX_BODY_BYTES)
    question = obj.get("question")
    if not isinstance(question, str) or not question.strip():
        raise proxy.BadRequestError(
            'question is required and must be text; send {"question": "..."}', "question"
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise proxy.BadRequestError(
            f"question is {len(question)} characters long, over the limit of "
            f"{MAX_QUESTION_CHARS}; shorten it",
            "question",
        )
    return question.strip()


_client: AgentClient | settings.ConfigError | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings and the client are set up at the first call."""
    global _client  # noqa: PLW0603 - one client per execution environment
    _client = settings.setup_once(
        _client, lambda: AgentClient(Settings.from_environment(os.environ))
    )
    if isinstance(_client, settings.ConfigError):
        return proxy.misconfigured(
            settings.misconfigured(_client), _client.setting, resilience.request_id(context)
        )
    return _client.handle(event, context)
