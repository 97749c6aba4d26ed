"""Invokes the self-hosted model in this Region first, then in the other Regions (failover.py).

Handler: ``self_hosted.handler``. Asset: this folder, as is (standard library, boto3 and botocore
from the Lambda runtime; no bundling).

Event: ``{"inputs": "...", "parameters": {...}}`` (``"prompt"`` is accepted for ``"inputs"``;
``parameters`` is optional and passed to the model as is), or an API Gateway / Lambda function
URL / ALB event whose ``body`` is that JSON (base64 when ``isBase64Encoded``). The model receives
``{"inputs": ..., "parameters": ...}`` as ``application/json``, the request format of the
Hugging Face inference containers (TGI).

Response, always in the proxy shape ``{"statusCode", "headers", "body"}`` with a JSON body that
carries the Lambda ``requestId``:

* 200 ``{"answer", "output", "region", "failedOver", "attempts", "requestId"}``: ``output`` is
  the model's JSON answer (its text when it is not JSON), ``answer`` its ``generated_text`` (or
  the text, or null), ``region`` the Region that answered, ``failedOver`` whether that is not
  the first Region, ``attempts`` one ``{"region", "outcome"}`` per Region tried or skipped;
* 400 ``{"error", "field", "requestId"}``: ``inputs`` missing, empty, not a string or too long,
  ``parameters`` not an object or too large, or the body not a JSON object;
* 502 ``{"error", "region", "attempts", "requestId"}``: a Region refused the request (HTTP 4xx:
  ``ValidationError``, ``AccessDeniedException``, ``ModelError`` when the container answered an
  error) or answered with bytes that are not UTF-8 text. Not retried, not sent to another
  Region: it would be refused there too;
* 503 ``{"error", "retryable": true, "attempts", "requestId"}``: every Region failed
  transiently (connection failures, timeouts, throttling, 5xx), has no such endpoint (deleted,
  rolled back, not yet created: ``"endpoint not found"``), was skipped because its circuit is
  open (or another call is probing it), or the invocation had no time left to try it. Retry
  later;
* 500 ``{"error": "internal error", "requestId"}`` for anything unexpected, and ``{"error",
  "setting", "requestId"}`` when a setting is missing or invalid (logged once per execution
  environment, with the detail).

During a partial outage: a 200 whose ``failedOver`` is true was answered by another Region
(``attempts`` says why each earlier one was passed over); a Region whose endpoint is missing,
unreachable, throttled or failing is passed over, never reported as the caller's fault; only a
refusal that every Region would give (a 4xx other than a missing endpoint) is a 502 without
trying further.

Errors name an AWS error code, an HTTP status or the kind of failure and the Region, never an
AWS error message, an ARN or an endpoint name; the details go to the log.

Environment (read once, at the first invocation; the construct
``SageMakerFailoverFunction`` sets them): ``ROUTES`` (required): JSON list of ``{"region",
"endpointName"}`` in the order to try, this Region first; ``CONNECT_TIMEOUT_SECONDS`` (2, per
address), ``CONNECT_ADDRESSES`` (3: addresses a runtime hostname resolves to, one per AZ of its
interface endpoint), ``MAX_ATTEMPT_SECONDS`` (60: longest wait for one Region's answer),
``BREAKER_FAILURES`` (2: consecutive failures that open a Region's circuit),
``BREAKER_COOLDOWN_SECONDS`` (30), ``MAX_INPUT_CHARS`` (100000), ``MAX_PARAMETERS_BYTES`` (16384).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

try:  # ha_inference.functions.self_hosted (library, tests) or top-level (Lambda)
    from . import failover, metrics, proxy, resilience, settings
except ImportError:  # pragma: no cover - the Lambda runtime path
    import failover  # type: ignore[no-redef,import-not-found]
    import metrics  # type: ignore[no-redef,import-not-found]
    import proxy  # type: ignore[no-redef,import-not-found]
    import resilience  # type: ignore[no-redef,import-not-found]
    import settings  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

STATUSES = frozenset({200, 400, 500, 502, 503})
"""Every status the handler answers with."""

RESERVE_SECONDS = 1.0
"""Time kept at the end of the invocation to answer."""

ROUTES_ENV = "ROUTES"


@dataclass(frozen=True)
class Settings:
    """The function's settings, from its environment."""

    routes: tuple[failover.Route, ...]
    connect_timeout: int = 2
    addresses: int = 3
    max_attempt_seconds: int = 60
    breaker_failures: int = 2
    breaker_cooldown: int = 30
    max_input_chars: int = 100_000
    max_parameters_bytes: int = 16_384

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        """Raises :class:`settings.ConfigError` naming the first missing or invalid setting."""
        raw = settings.required(env, ROUTES_ENV)
        try:
            routes = failover.Route.parse_all(raw)
        except ValueError as err:
            raise settings.ConfigError(ROUTES_ENV, f"{ROUTES_ENV} {err}") from None
        return cls(
            routes=routes,
            connect_timeout=settings.integer(env, "CONNECT_TIMEOUT_SECONDS", 2, 1, 10),
            addresses=settings.integer(env, "CONNECT_ADDRESSES", 3, 1, 16),
            max_attempt_seconds=settings.integer(env, "MAX_ATTEMPT_SECONDS", 60, 1, 900),
            breaker_failures=settings.integer(env, "BREAKER_FAILURES", 2, 1, 100),
            breaker_cooldown=settings.integer(env, "BREAKER_COOLDOWN_SECONDS", 30, 1, 3600),
            max_input_chars=settings.integer(env, "MAX_INPUT_CHARS", 100_000, 1, 5_000_000),
            max_parameters_bytes=settings.integer(
                env, "MAX_PARAMETERS_BYTES", 16_384, 2, 1_000_000
            ),
        )


@dataclass(frozen=True)
class Request:
    inputs: str
    parameters: Mapping[str, Any] | None

    def payload(self) -> bytes:
        body: dict[str, Any] = {"inputs": self.inputs}
        if self.parameters is not None:
            body["parameters"] = self.parameters
        return json.dumps(body).encode("utf-8")


class SelfHosted:
    """Answers events through a :class:`failover.FailoverInvoker` whose breakers live as long
    as this object (one per execution environment). Tests pass the client factory and clock."""

    def __init__(
        self,
        config: Settings,
        *,
        clients: failover.ClientFactory = failover.sagemaker_runtime,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.clock = clock
        self.invoker = failover.FailoverInvoker(
            routes=config.routes,
            breaker=failover.CircuitBreaker(
                failure_threshold=config.breaker_failures,
                cooldown=float(config.breaker_cooldown),
                clock=clock,
            ),
            clients=clients,
            timeouts=failover.Timeouts(
                connect=float(config.connect_timeout),
                read=float(config.max_attempt_seconds),
                addresses=config.addresses,
            ),
        )

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Answers one event; never raises. Every answer leaves through the one ``return``
        below (one place to observe it)."""
        rid = resilience.request_id(context)
        deadline = resilience.Deadline(context, reserve=RESERVE_SECONDS, clock=self.clock)
        try:
            response = self._serve(event, deadline, rid)
        except Exception:
            LOGGER.exception("unexpected failure (request %s)", rid)
            response = proxy.respond(500, {"error": "internal error", "requestId": rid})
        return response

    def _serve(self, event: Any, deadline: resilience.Deadline, rid: str) -> dict[str, Any]:
        try:
            request = parse_request(
                event, self.config.max_input_chars, self.config.max_parameters_bytes
            )
            served = self.invoker.invoke(request.payload(), deadline)
        except proxy.BadRequestError as err:
            return proxy.respond(400, {"error": str(err), "field": err.field, "requestId": rid})
        except failover.RefusedError as err:
            return proxy.respond(
                502,
                {
                    "error": f"the model in {err.region} refused the request "
                    f"({resilience.summarize(err.error)}); it was not sent to another Region",
                    "region": err.region,
                    "attempts": [a.to_json() for a in err.attempts],
                    "requestId": rid,
                },
            )
        except failover.UnavailableError as err:
            LOGGER.warning("no Region answered: %s", err)
            return proxy.respond(
                503,
                {
                    "error": f"{err}; retry later",
                    "retryable": True,
                    "attempts": [a.to_json() for a in err.attempts],
                    "requestId": rid,
                },
            )
        attempts = [a.to_json() for a in served.attempts]
        try:
            answer, output = parse_answer(served.body)
        except UndecodableAnswerError as err:
            return proxy.respond(
                502,
                {
                    "error": f"the model in {served.region} {err}",
                    "region": served.region,
                    "attempts": attempts,
                    "requestId": rid,
                },
            )
        LOGGER.info(
            "served by %s after %d attempt(s)%s",
            served.region,
            len(served.attempts),
            " (failed over)" if served.failed_over else "",
        )
        return proxy.respond(
            200,
            {
                "answer": answer,
                "output": output,
                "region": served.region,
                "failedOver": served.failed_over,
                "attempts": attempts,
                "requestId": rid,
            },
        )


class UndecodableAnswerError(Exception):
    """The model answered with bytes that are not UTF-8 text."""


def parse_answer(body: bytes) -> tuple[str | None, Any]:
    """``(answer, output)``: the model's JSON (or text) and its ``generated_text``.

    Numbers JSON cannot carry (``NaN``, ``Infinity``, ``1e999``) become ``null`` so that the
    answer stays strict JSON; text that is not JSON, or JSON nested too deeply to parse or
    write back, is returned as text."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise UndecodableAnswerError("answered with bytes that are not UTF-8 text") from None
    try:
        output = proxy.loads_finite(text)
        json.dumps(output)  # what cannot be written back (nested too deeply) is text
    except (ValueError, RecursionError):
        return text, text
    first = output[0] if isinstance(output, list) and output else output
    answer = first.get("generated_text") if isinstance(first, dict) else None
    return (answer if isinstance(answer, str) else None), output


def parse_request(event: Any, max_chars: int, max_parameters_bytes: int) -> Request:
    """The inputs and parameters of a direct or proxy (API Gateway, function URL, ALB) event."""
    payload: Any = proxy.event_object(event, "inputs")
    if "inputs" not in event and "prompt" not in event and "body" in event:
        payload = proxy.json_body(
            event, field="inputs", max_body_bytes=max_chars * 12 + max_parameters_bytes + 4096
        )
    inputs = payload.get("inputs", payload.get("prompt"))
    if inputs is None:
        raise proxy.BadRequestError('inputs is required; send {"inputs": "..."}', "inputs")
    if not isinstance(inputs, str):
        raise proxy.BadRequestError(
            f"inputs must be a string, got {type(inputs).__name__}", "inputs"
        )
    if not inputs.strip():
        raise proxy.BadRequestError("inputs must not be empty", "inputs")
    if len(inputs) > max_chars:
        raise proxy.BadRequestError(
            f"inputs is {len(inputs)} characters long, over the limit of {max_chars}; shorten it",
            "inputs",
        )
    parameters = payload.get("parameters")
    if parameters is not None:
        if not isinstance(parameters, dict):
            raise proxy.BadRequestError(
                f"parameters must be an object, got {type(parameters).__name__}", "parameters"
            )
        size = len(json.dumps(parameters).encode("utf-8"))
        if size > max_parameters_bytes:
            raise proxy.BadRequestError(
                f"parameters is {size} bytes, over the limit of {max_parameters_bytes}",
                "parameters",
            )
    return Request(inputs, parameters)


_self_hosted: SelfHosted | settings.ConfigError | None = None


@metrics.publishes_status
def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings, clients and circuit breakers are set up at the first
    call and kept for the execution environment.

    A setting that is missing or invalid is logged once; every invocation then answers a 500
    that names the setting (not its value) until the function is fixed.
    """
    global _self_hosted  # noqa: PLW0603 - one invoker (and its breakers) per environment
    _self_hosted = settings.setup_once(
        _self_hosted, lambda: SelfHosted(Settings.from_environment(os.environ))
    )
    if isinstance(_self_hosted, settings.ConfigError):
        return proxy.misconfigured(
            settings.misconfigured(_self_hosted),
            _self_hosted.setting,
            resilience.request_id(context),
        )
    return _self_hosted.handle(event, context)
