"""The shipped self-hosted function (``self_hosted.handler``): what goes in, what comes out."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from ha_inference.functions import self_hosted, settings
from ha_inference.functions.failover import Route
from ha_inference.functions.self_hosted import STATUSES, SelfHosted, Settings
from tests.support.botocore_strict import (
    strict_errors,
)
from tests.support.failover import ANSWER, Clock, Stubbed, answer

pytestmark = pytest.mark.usefixtures("requests_the_service_accepts")

EAST, OHIO = "us-east-1", "us-east-2"
ROUTES = (Route(EAST, "model-east"), Route(OHIO, "model-ohio"))
ROUTES_JSON = json.dumps([{"region": r.region, "endpointName": r.endpoint_name} for r in ROUTES])


class Context:
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def handler(stubbed: Stubbed) -> SelfHosted:
    return SelfHosted(Settings(routes=ROUTES), clients=stubbed.factory, clock=Clock())


def body_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response["statusCode"] in STATUSES
    assert response["headers"] == {"Content-Type": "application/json"}
    parsed: dict[str, Any] = json.loads(response["body"])
    assert parsed["requestId"] == "req-1"
    assert "arn:" not in response["body"] and "111111111111" not in response["body"]
    return parsed


def expect(stubbed: Stubbed, region: str, endpoint: str, body: bytes) -> None:
    stubbed.stub(region).add_response(
        "invoke_endpoint",
        answer(ANSWER),
        {
            "EndpointName": endpoint,
            "Body": body,
            "ContentType": "application/json",
            "Accept": "application/json",
        },
    )


@pytest.mark.parametrize(
    "event",
    [
        {"inputs": "Hello", "parameters": {"max_new_tokens": 8}},
        {"prompt": "Hello", "parameters": {"max_new_tokens": 8}},
        {"body": json.dumps({"inputs": "Hello", "parameters": {"max_new_tokens": 8}})},
        {
            "body": base64.b64encode(
                json.dumps({"prompt": "Hello", "parameters": {"max_new_tokens": 8}}).encode()
            ).decode(),
            "isBase64Encoded": True,
        },
    ],
)
def test_answers_from_the_first_region(event: dict[str, Any]) -> None:
    stubbed = Stubbed()
    expect(stubbed, EAST, "model-east", b'{"inputs": "Hello", "parameters": {"max_new_tokens": 8}}')
    body = body_of(handler(stubbed).handle(event, Context()))
    assert body == {
        "answer": "Hi",
        "output": [{"generated_text": "Hi"}],
        "region": EAST,
        "failedOver": False,
        "attempts": [{"region": EAST, "outcome": "served"}],
        "requestId": "req-1",
    }
    stubbed.verify()


def test_fails_over_and_says_so() -> None:
    stubbed = Stubbed()
    stubbed.refuse(EAST, "ServiceUnavailable", 503)
    expect(stubbed, OHIO, "model-ohio", b'{"inputs": "Hello"}')
    body = body_of(handler(stubbed).handle({"inputs": "Hello"}, Context()))
    assert (body["region"], body["failedOver"]) == (OHIO, True)
    assert body["attempts"] == [
        {"region": EAST, "outcome": "ServiceUnavailable"},
        {"region": OHIO, "outcome": "served"},
    ]


def test_a_region_whose_endpoint_is_missing_fails_over_instead_of_a_502() -> None:
    stubbed = Stubbed()
    stubbed.stub(EAST).add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        service_message="Endpoint model-east of account 111111111111 not found.",
        http_status_code=400,
    )
    expect(stubbed, OHIO, "model-ohio", b'{"inputs": "Hello"}')
    response = handler(stubbed).handle({"inputs": "Hello"}, Context())
    assert response["statusCode"] == 200
    body = body_of(response)
    assert (body["region"], body["failedOver"]) == (OHIO, True)
    assert body["attempts"][0] == {"region": EAST, "outcome": "endpoint not found"}


def test_missing_endpoints_in_every_region_are_a_retryable_503() -> None:
    stubbed = Stubbed()
    for region in (EAST, OHIO):
        stubbed.stub(region).add_client_error(
            "invoke_endpoint",
            service_error_code="ValidationError",
            service_message=f"Endpoint model of account 111111111111 not found in {region}.",
            http_status_code=400,
        )
    response = handler(stubbed).handle({"inputs": "Hello"}, Context())
    assert response["statusCode"] == 503
    assert [a["outcome"] for a in body_of(response)["attempts"]] == ["endpoint not found"] * 2


def test_a_refusal_is_a_502_and_goes_nowhere_else() -> None:
    stubbed = Stubbed()
    stubbed.refuse(EAST, "ModelError", 424)
    response = handler(stubbed).handle({"inputs": "Hello"}, Context())
    assert response["statusCode"] == 502
    body = body_of(response)
    assert body["region"] == EAST and "ModelError" in body["error"]
    assert [region for region, _ in stubbed.configs] == [EAST]


def test_every_region_failing_is_a_retryable_503() -> None:
    def unreachable(region: str, config: Config) -> Any:
        class Client:
            def invoke_endpoint(self, **_: Any) -> Any:
                raise EndpointConnectionError(endpoint_url=f"https://runtime.sagemaker.{region}")

        return Client()

    response = SelfHosted(Settings(routes=ROUTES), clients=unreachable, clock=Clock()).handle(
        {"inputs": "Hello"}, Context()
    )
    assert response["statusCode"] == 503
    body = body_of(response)
    assert body["retryable"] is True
    assert body["attempts"] == [
        {"region": EAST, "outcome": "connection failure"},
        {"region": OHIO, "outcome": "connection failure"},
    ]


def test_a_text_answer_is_returned_as_text() -> None:
    class Client:
        def invoke_endpoint(self, **_: Any) -> Any:
            return answer(b"plain words")

    body = body_of(
        SelfHosted(Settings(routes=ROUTES), clients=lambda r, c: Client(), clock=Clock()).handle(
            {"inputs": "Hello"}, Context()
        )
    )
    assert (body["answer"], body["output"]) == ("plain words", "plain words")


def strict_json(text: str) -> Any:
    """``json.loads`` as strict parsers read JSON: ``NaN`` and ``Infinity`` are not JSON."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    ("model_answer", "output"),
    [
        (b'[{"generated_text": "Hi", "score": NaN}]', [{"generated_text": "Hi", "score": None}]),
        (
            b'{"generated_text": "Hi", "logprobs": [-Infinity, Infinity]}',
            {"generated_text": "Hi", "logprobs": [None, None]},
        ),
        (b'{"generated_text": "Hi", "big": 1e999}', {"generated_text": "Hi", "big": None}),
    ],
)
def test_numbers_json_cannot_carry_are_null_so_the_answer_stays_json(
    model_answer: bytes, output: Any
) -> None:
    """A container's ``NaN``, ``Infinity`` or overflowing number would otherwise be written
    back as bare ``NaN`` and make every 200 unreadable to strict JSON parsers."""

    class Client:
        def invoke_endpoint(self, **_: Any) -> Any:
            return answer(model_answer)

    response = SelfHosted(
        Settings(routes=ROUTES), clients=lambda r, c: Client(), clock=Clock()
    ).handle({"inputs": "Hello"}, Context())
    assert response["statusCode"] == 200
    body = strict_json(response["body"])
    assert (body["answer"], body["output"]) == ("Hi", output)


def test_an_answer_nested_too_deeply_to_parse_is_returned_as_text() -> None:
    """The docstring's promise for answers it cannot parse: the text, not a 500."""
    nested = b"[" * 100_000 + b"]" * 100_000

    class Client:
        def invoke_endpoint(self, **_: Any) -> Any:
            return answer(nested)

    response = SelfHosted(
        Settings(routes=ROUTES), clients=lambda r, c: Client(), clock=Clock()
    ).handle({"inputs": "Hello"}, Context())
    assert response["statusCode"] == 200
    body = body_of(response)
    assert body["output"] == body["answer"] == nested.decode()


def test_bytes_that_are_not_text_are_a_502() -> None:
    class Client:
        def invoke_endpoint(self, **_: Any) -> Any:
            return answer(b"\xff\xfe\x00")

    response = SelfHosted(
        Settings(routes=ROUTES), clients=lambda r, c: Client(), clock=Clock()
    ).handle({"inputs": "Hello"}, Context())
    assert response["statusCode"] == 502
    assert "not UTF-8" in body_of(response)["error"]


@pytest.mark.parametrize(
    ("event", "field", "message"),
    [
        ("text", "body", "must be a JSON object"),
        ({}, "inputs", "inputs is required"),
        ({"inputs": 3}, "inputs", "inputs must be a string"),
        ({"inputs": "  "}, "inputs", "must not be empty"),
        ({"inputs": "x" * 11}, "inputs", "over the limit of 10"),
        ({"inputs": "x", "parameters": [1]}, "parameters", "must be an object"),
        ({"inputs": "x", "parameters": {"p": "y" * 100}}, "parameters", "over the limit of 64"),
        ({"body": "{"}, "body", "must be a JSON object"),
        ({"body": "[]"}, "body", "got list"),
        ({"body": "e30=", "isBase64Encoded": True}, "inputs", "inputs is required"),
        ({"body": "@@@", "isBase64Encoded": True}, "body", "does not decode"),
        ({"body": "e30=\u00e9", "isBase64Encoded": True}, "body", "does not decode"),
        ({"body": ""}, "inputs", "inputs is required"),
    ],
)
def test_fails_on_bad_input_with_a_400_naming_the_field(
    event: Any, field: str, message: str
) -> None:
    config = Settings(routes=ROUTES, max_input_chars=10, max_parameters_bytes=64)
    stubbed = Stubbed()
    response = SelfHosted(config, clients=stubbed.factory, clock=Clock()).handle(event, Context())
    assert response["statusCode"] == 400
    body = body_of(response)
    assert body["field"] == field and message in body["error"]
    assert stubbed.configs == [], "nothing was sent"


def test_unexpected_failures_are_a_500_without_details() -> None:
    def broken(region: str, config: Config) -> Any:
        raise RuntimeError("arn:aws:iam::111111111111:role/secret")

    response = SelfHosted(Settings(routes=ROUTES), clients=broken, clock=Clock()).handle(
        {"inputs": "Hello"}, Context()
    )
    assert response["statusCode"] == 500
    assert body_of(response)["error"] == "internal error"


def test_settings_come_from_the_environment() -> None:
    config = Settings.from_environment(
        {
            "ROUTES": ROUTES_JSON,
            "CONNECT_TIMEOUT_SECONDS": "3",
            "CONNECT_ADDRESSES": "2",
            "MAX_ATTEMPT_SECONDS": "45",
            "BREAKER_FAILURES": "4",
            "BREAKER_COOLDOWN_SECONDS": "60",
        }
    )
    assert config.routes == ROUTES
    assert (config.connect_timeout, config.addresses, config.max_attempt_seconds) == (3, 2, 45)
    assert (config.breaker_failures, config.breaker_cooldown) == (4, 60)
    invoker = SelfHosted(config).invoker
    assert (invoker.timeouts.connect, invoker.timeouts.read, invoker.timeouts.addresses) == (
        3.0,
        45.0,
        2,
    )
    assert invoker.breaker.failure_threshold == 4 and invoker.breaker.cooldown == 60.0


@pytest.mark.parametrize(
    ("environment", "setting"),
    [
        ({}, "ROUTES"),
        ({"ROUTES": "[]"}, "ROUTES"),
        ({"ROUTES": ROUTES_JSON, "BREAKER_FAILURES": "0"}, "BREAKER_FAILURES"),
    ],
)
def test_fails_with_a_500_naming_a_bad_setting(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], setting: str
) -> None:
    for name in ("ROUTES", "BREAKER_FAILURES"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(self_hosted, "_self_hosted", None)
    response = self_hosted.handler({"inputs": "Hello"}, Context())
    assert response["statusCode"] == 500
    body = body_of(response)
    assert body["setting"] == setting
    assert body["error"] == settings.misconfigured(settings.ConfigError(setting, ""))


def test_the_breakers_outlive_one_invocation(monkeypatch: pytest.MonkeyPatch) -> None:
    """The handler keeps one invoker, with its circuit breakers, per execution environment."""
    monkeypatch.setenv("ROUTES", ROUTES_JSON)
    monkeypatch.setattr(self_hosted, "_self_hosted", None)
    self_hosted.handler("not an event", Context())
    first = self_hosted._self_hosted
    self_hosted.handler("not an event", Context())
    assert isinstance(first, SelfHosted) and self_hosted._self_hosted is first


def test_refusal_messages_never_carry_the_aws_message() -> None:
    stubbed = Stubbed()
    stubbed.refuse(EAST, "AccessDeniedException", 403)
    response = handler(stubbed).handle({"inputs": "Hello"}, Context())
    assert "is not allowed" not in response["body"]
    assert response["statusCode"] == 502
    body_of(response)


# --- whatever the Regions answer ------------------------------------------------------------

ENDPOINT = "https://runtime.sagemaker.us-east-1.amazonaws.com"
REGIONS = ("us-east-1", "us-east-2", "us-west-2")
NESTED = b"[" * 5000 + b"]" * 5000


def _error(code: str, status: int, message: str = "User: arn:aws:sts::111111111111:x") -> Any:
    return ClientError(
        {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "InvokeEndpoint",
    )


ANSWERS = [b'[{"generated_text": "Hi"}]', b'{"generated_text": "Hi", "p": NaN}', NESTED, b"plain"]
REFUSALS = [
    _error("ValidationError", 400, "Input is too long"),
    _error("AccessDeniedException", 403),
    _error("ModelError", 424),
]
OUTCOMES = st.sampled_from(
    [
        *(("answer", a) for a in ANSWERS),
        ("answer", b"\xff\xfe"),
        *(("refused", r) for r in REFUSALS),
        (
            "missing",
            _error("ValidationError", 400, "Endpoint m of account 111111111111 not found."),
        ),
        ("transient", _error("ThrottlingException", 429)),
        ("transient", _error("ServiceUnavailable", 503)),
        ("transient", EndpointConnectionError(endpoint_url=ENDPOINT)),
        ("hang", ReadTimeoutError(endpoint_url=ENDPOINT)),
    ]
)


class ClockContext:
    """A Lambda context whose remaining time follows the fake clock."""

    aws_request_id = "req-1"

    def __init__(self, clock: Clock, seconds: float) -> None:
        self.clock, self.ends = clock, clock.now + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.ends - self.clock.now) * 1000)


@examples(max_examples=150, deadline=None)
@given(
    scripts=st.lists(st.lists(OUTCOMES, max_size=2), min_size=3, max_size=3),
    seconds=st.floats(min_value=0.0, max_value=200.0),
    regions=st.integers(min_value=1, max_value=3),
    event=st.sampled_from([{"inputs": "Hello"}, {"body": '{"inputs": "Hello"}'}, {"inputs": ""}]),
)
def test_answers_once_in_time_and_never_claims_an_answer_no_region_gave(
    scripts: list[list[Any]], seconds: float, regions: int, event: dict[str, Any]
) -> None:
    clock = Clock()
    played: list[tuple[str, str]] = []  # (region, kind) of every call, in order

    def clients(region: str, config: Config) -> Any:
        script = scripts[REGIONS.index(region)]

        class Client:
            def invoke_endpoint(self, **params: Any) -> Any:
                assert not failover_strict_errors(params), failover_strict_errors(params)
                kind, outcome = script.pop(0) if script else ("answer", ANSWERS[0])
                played.append((region, kind))
                if kind == "hang":
                    clock.now += config.connect_timeout * 3 + config.read_timeout
                    raise outcome
                clock.now += 0.05
                if isinstance(outcome, BaseException):
                    raise outcome
                return answer(outcome)

        return Client()

    routes = tuple(Route(region, f"model-{n}") for n, region in enumerate(REGIONS[:regions]))
    handler = SelfHosted(Settings(routes=routes), clients=clients, clock=clock)

    response = handler.handle(event, ClockContext(clock, seconds))

    assert set(response) == {"statusCode", "headers", "body"}
    assert response["statusCode"] in STATUSES
    body = strict_json(response["body"])
    assert body["requestId"] == "req-1"
    assert "arn:" not in response["body"] and "111111111111" not in response["body"]
    assert clock.now <= max(0.0, seconds - self_hosted.RESERVE_SECONDS) + 1e-9
    status = response["statusCode"]
    if status == 200:
        assert played and played[-1] == (body["region"], "answer"), "served by the last call"
        assert body["failedOver"] == (body["region"] != REGIONS[0])
    elif status == 502:
        assert played and played[-1][1] in {"refused", "answer"}
    elif status == 503:
        assert all(kind in {"missing", "transient", "hang"} for _, kind in played)
    elif status == 400:
        assert played == []
    else:
        raise AssertionError(response)


def failover_strict_errors(params: dict[str, Any]) -> list[str]:
    return strict_errors("sagemaker-runtime", "InvokeEndpoint", params)
