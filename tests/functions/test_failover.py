"""The failover client: Region order, circuit breakers, no retry on 4xx, and the deadline.

Single calls go through real ``sagemaker-runtime`` clients answered by ``botocore.stub.Stubber``;
network faults (which a Stubber cannot raise) and the deadline property use a fake client on a
fake clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ha_inference.functions import failover
from ha_inference.functions.failover import (
    CircuitBreaker,
    FailoverInvoker,
    RefusedError,
    Route,
    Timeouts,
    UnavailableError,
)
from ha_inference.functions.resilience import Deadline
from tests.support.failover import ANSWER, BODY, Clock, Stubbed, answer

pytestmark = pytest.mark.usefixtures("requests_the_service_accepts")

EAST, OHIO, WEST = "us-east-1", "us-east-2", "us-west-2"
ROUTES = (Route(EAST, "model-east"), Route(OHIO, "model-ohio"), Route(WEST, "model-west"))


def invoker(stubbed: Stubbed, clock: Clock, **kwargs: Any) -> FailoverInvoker:
    return FailoverInvoker(
        routes=kwargs.pop("routes", ROUTES),
        breaker=kwargs.pop(
            "breaker", CircuitBreaker(failure_threshold=2, cooldown=30, clock=clock)
        ),
        clients=stubbed.factory,
        **kwargs,
    )


def deadline(clock: Clock, seconds: float = 180.0) -> Deadline:
    return Deadline(None, reserve=0.0, budget=seconds, clock=clock)


def test_serves_from_the_first_region_when_it_answers() -> None:
    stubbed, clock = Stubbed(), Clock()
    stubbed.expect(EAST, "model-east")
    served = invoker(stubbed, clock).invoke(BODY, deadline(clock))
    assert (served.region, served.body, served.failed_over) == (EAST, ANSWER, False)
    assert [a.to_json() for a in served.attempts] == [{"region": EAST, "outcome": "served"}]
    assert [region for region, _ in stubbed.configs] == [EAST]
    stubbed.verify()


def test_client_timeouts_fit_the_fair_share_and_botocore_does_not_retry() -> None:
    stubbed, clock = Stubbed(), Clock()
    stubbed.expect(EAST, "model-east")
    invoker(stubbed, clock).invoke(BODY, deadline(clock, 90.0))
    ((_, config),) = stubbed.configs
    # 90 s for three Regions: 30 s each; 3 addresses x 2 s connect + 24 s read.
    assert (config.connect_timeout, config.read_timeout) == (2.0, 24.0)
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottlingException", 429),
        ("ModelNotReadyException", 429),
        ("ServiceUnavailable", 503),
        ("InternalFailure", 500),
        ("InternalDependencyException", 530),
    ],
)
def test_fails_over_on_throttling_and_server_errors(code: str, status: int) -> None:
    stubbed, clock = Stubbed(), Clock()
    stubbed.refuse(EAST, code, status)
    stubbed.expect(OHIO, "model-ohio")
    served = invoker(stubbed, clock).invoke(BODY, deadline(clock))
    assert (served.region, served.failed_over) == (OHIO, True)
    assert [a.to_json() for a in served.attempts] == [
        {"region": EAST, "outcome": code},
        {"region": OHIO, "outcome": "served"},
    ]
    stubbed.verify()


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ValidationError", 400),
        ("AccessDeniedException", 403),
        ("ModelError", 424),
    ],
)
def test_never_retries_or_fails_over_a_refusal(code: str, status: int) -> None:
    stubbed, clock = Stubbed(), Clock()
    stubbed.refuse(EAST, code, status)
    with pytest.raises(RefusedError) as caught:
        invoker(stubbed, clock).invoke(BODY, deadline(clock))
    assert caught.value.region == EAST
    assert [a.to_json() for a in caught.value.attempts] == [{"region": EAST, "outcome": code}]
    assert [region for region, _ in stubbed.configs] == [EAST], "no other Region was asked"
    stubbed.verify()


MISSING = "Endpoint model-east of account 111111111111 not found."
"""SageMaker's answer to InvokeEndpoint on an endpoint that does not exist (HTTP 400)."""


def test_fails_over_when_the_endpoint_does_not_exist_in_a_region() -> None:
    """A deleted, rolled-back or not-yet-created endpoint is that Region's outage: the next
    Region serves, and the missing one counts as a failure on its breaker, not a success."""
    stubbed, clock = Stubbed(), Clock()
    stubbed.stub(EAST).add_client_error(
        "invoke_endpoint",
        service_error_code="ValidationError",
        service_message=MISSING,
        http_status_code=400,
    )
    stubbed.expect(OHIO, "model-ohio")
    breaker = CircuitBreaker(failure_threshold=1, cooldown=30, clock=clock)
    served = invoker(stubbed, clock, breaker=breaker).invoke(BODY, deadline(clock))
    assert (served.region, served.failed_over) == (OHIO, True)
    assert [a.to_json() for a in served.attempts] == [
        {"region": EAST, "outcome": "endpoint not found"},
        {"region": OHIO, "outcome": "served"},
    ]
    assert breaker.state(EAST) == "open"
    stubbed.verify()


def test_other_validation_errors_are_still_refusals() -> None:
    assert failover.missing_endpoint(
        ClientError({"Error": {"Code": "ValidationError", "Message": MISSING}}, "InvokeEndpoint")
    )
    for code, message in [
        ("ValidationError", "Input payload must be smaller than 6 MB"),
        ("ValidationError", "1 validation error detected: Value at 'endpointName' failed"),
        ("AccessDeniedException", MISSING),
    ]:
        error = ClientError({"Error": {"Code": code, "Message": message}}, "InvokeEndpoint")
        assert not failover.missing_endpoint(error), (code, message)


def test_tries_every_region_in_the_configured_order() -> None:
    stubbed, clock = Stubbed(), Clock()
    stubbed.refuse(WEST, "ThrottlingException", 429)
    stubbed.refuse(EAST, "ServiceUnavailable", 503)
    stubbed.expect(OHIO, "model-ohio")
    routes = (Route(WEST, "model-west"), Route(EAST, "model-east"), Route(OHIO, "model-ohio"))
    served = invoker(stubbed, clock, routes=routes).invoke(BODY, deadline(clock))
    assert [a.region for a in served.attempts] == [WEST, EAST, OHIO]
    assert [region for region, _ in stubbed.configs] == [WEST, EAST, OHIO]
    assert served.first_region == WEST and served.failed_over


def test_unavailable_when_every_region_fails() -> None:
    stubbed, clock = Stubbed(), Clock()
    for region in (EAST, OHIO, WEST):
        stubbed.refuse(region, "ServiceUnavailable", 503)
    with pytest.raises(UnavailableError) as caught:
        invoker(stubbed, clock).invoke(BODY, deadline(clock))
    assert [a.to_json() for a in caught.value.attempts] == [
        {"region": r, "outcome": "ServiceUnavailable"} for r in (EAST, OHIO, WEST)
    ]
    assert "arn:" not in str(caught.value) and "111111111111" not in str(caught.value)


# --------------------------------------------------------------------------- fake network


@dataclass
class Fake:
    """Fake clients: ``script[region]`` lists what each call does: ``"ok"``, an exception, or
    ``("hang", error)`` (the call takes its whole worst case on the clock, then raises)."""

    clock: Clock
    script: dict[str, list[Any]]
    addresses: int = 3
    calls: list[tuple[str, float, float]] = field(default_factory=list)

    def factory(self, region: str, config: Config) -> Any:
        return _FakeClient(self, region, config)


@dataclass
class _FakeClient:
    fake: Fake
    region: str
    config: Config

    def invoke_endpoint(self, **params: Any) -> dict[str, Any]:
        connect, read = self.config.connect_timeout, self.config.read_timeout
        self.fake.calls.append((self.region, connect, read))
        step = self.fake.script[self.region].pop(0) if self.fake.script[self.region] else "ok"
        if isinstance(step, tuple) and step[0] == "hang":
            self.fake.clock.now += connect * self.fake.addresses + read
            raise step[1]
        self.fake.clock.now += 0.05
        if isinstance(step, BaseException):
            raise step
        return answer()


CONNECTION = EndpointConnectionError(
    endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"
)


@pytest.mark.parametrize(
    "fault",
    [
        CONNECTION,
        (
            "hang",
            ConnectTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"),
        ),
        (
            "hang",
            ReadTimeoutError(endpoint_url="https://runtime.sagemaker.us-east-1.amazonaws.com"),
        ),
    ],
)
def test_fails_over_on_connection_errors_and_timeouts(fault: Any) -> None:
    clock = Clock()
    fake = Fake(clock, {EAST: [fault], OHIO: ["ok"], WEST: []})
    served = FailoverInvoker(
        routes=ROUTES, clients=fake.factory, breaker=CircuitBreaker(clock=clock)
    ).invoke(BODY, deadline(clock, 90.0))
    assert served.region == OHIO
    assert served.attempts[0].outcome in {"connection failure", "network failure"}
    assert clock.now <= 90.0


def test_an_open_circuit_skips_a_dead_region_until_the_cooldown() -> None:
    clock = Clock()
    fake = Fake(clock, {EAST: [CONNECTION, CONNECTION, CONNECTION], OHIO: [], WEST: []})
    breaker = CircuitBreaker(failure_threshold=2, cooldown=30, clock=clock)
    client = FailoverInvoker(routes=ROUTES, clients=fake.factory, breaker=breaker)
    for _ in range(2):
        assert client.invoke(BODY, deadline(clock)).region == OHIO
    assert breaker.state(EAST) == "open"
    fake.calls.clear()
    served = client.invoke(BODY, deadline(clock))
    assert [region for region, _, _ in fake.calls] == [OHIO], "us-east-1 is not tried"
    assert served.attempts[0].to_json() == {"region": EAST, "outcome": "circuit open"}
    # After the cooldown one call tries it again (half-open); it fails, the circuit reopens.
    clock.now += 30
    assert breaker.state(EAST) == "half-open"
    fake.calls.clear()
    assert client.invoke(BODY, deadline(clock)).region == OHIO
    assert [region for region, _, _ in fake.calls] == [EAST, OHIO]
    assert breaker.state(EAST) == "open"
    # Next time round it answers: the circuit closes and us-east-1 serves again.
    clock.now += 30
    assert client.invoke(BODY, deadline(clock)).region == EAST
    assert breaker.state(EAST) == "closed"


@dataclass
class Probed:
    """Clients whose us-east-1 call runs another, concurrent invocation while it is in flight
    (as a second caller in the same execution environment would), then ``ends`` as told."""

    clock: Clock
    ends: Any
    invoker: FailoverInvoker | None = None
    calls: list[str] = field(default_factory=list)
    concurrent: list[Any] = field(default_factory=list)

    def factory(self, region: str, config: Config) -> Any:
        probed = self

        class Client:
            def invoke_endpoint(self, **_: Any) -> dict[str, Any]:
                probed.calls.append(region)
                if region == EAST and len(probed.calls) == 1:
                    assert probed.invoker is not None
                    probed.concurrent.append(probed.invoker.invoke(BODY, deadline(probed.clock)))
                    if isinstance(probed.ends, BaseException):
                        raise probed.ends
                return answer()

        return Client()


@pytest.mark.parametrize(
    ("ends", "after"),
    [(ReadTimeoutError(endpoint_url="https://x"), "open"), ("ok", "closed")],
    ids=["probe-fails", "probe-succeeds"],
)
def test_after_the_cooldown_one_call_probes_and_the_others_keep_skipping(
    ends: Any, after: str
) -> None:
    """Half-open lets one probe through; a call that arrives while it is out skips the Region
    (no stampede of callers each waiting out its timeout) until the probe reports."""
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=30, clock=clock)
    breaker.record_failure(EAST)
    clock.now += 30
    assert breaker.state(EAST) == "half-open"
    probed = Probed(clock, ends)
    probed.invoker = FailoverInvoker(routes=ROUTES, clients=probed.factory, breaker=breaker)

    probe = probed.invoker.invoke(BODY, deadline(clock))

    (concurrent,) = probed.concurrent
    assert concurrent.region == OHIO
    assert concurrent.attempts[0].to_json() == {"region": EAST, "outcome": "circuit open"}
    assert probed.calls.count(EAST) == 1, "only the probe tried us-east-1"
    assert probe.region == (EAST if after == "closed" else OHIO)
    assert breaker.state(EAST) == after


def test_a_probe_that_never_reports_frees_the_region_after_a_cooldown() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=30, clock=clock)
    breaker.record_failure(EAST)
    clock.now += 30
    assert breaker.acquire(EAST), "the first call takes the probe"
    assert not breaker.acquire(EAST) and breaker.state(EAST) == "open"
    clock.now += 29
    assert not breaker.allows(EAST)
    clock.now += 1
    assert breaker.acquire(EAST), "the lost probe has gone stale: a new one may start"


def test_a_refusal_closes_the_circuit_it_answered_through() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=2, cooldown=30, clock=clock)
    breaker.record_failure(EAST)
    refusal = ClientError(
        {"Error": {"Code": "ValidationError"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        "InvokeEndpoint",
    )
    fake = Fake(clock, {EAST: [refusal], OHIO: [], WEST: []})
    with pytest.raises(RefusedError):
        FailoverInvoker(routes=ROUTES, clients=fake.factory, breaker=breaker).invoke(
            BODY, deadline(clock)
        )
    breaker.record_failure(EAST)
    assert breaker.state(EAST) == "closed", "the count started again after the refusal"


def test_when_every_circuit_is_open_every_region_is_tried() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, cooldown=30, clock=clock)
    for region in (EAST, OHIO, WEST):
        breaker.record_failure(region)
    fake = Fake(clock, {EAST: [CONNECTION], OHIO: [], WEST: []})
    served = FailoverInvoker(routes=ROUTES, clients=fake.factory, breaker=breaker).invoke(
        BODY, deadline(clock)
    )
    assert served.region == OHIO
    assert [region for region, _, _ in fake.calls] == [EAST, OHIO]


def test_no_call_starts_without_time_for_its_worst_case() -> None:
    clock = Clock()
    fake = Fake(clock, {EAST: [], OHIO: [], WEST: []})
    timeouts = Timeouts()
    with pytest.raises(UnavailableError) as caught:
        FailoverInvoker(routes=ROUTES, clients=fake.factory, timeouts=timeouts).invoke(
            BODY, deadline(clock, timeouts.minimum - 0.1)
        )
    assert fake.calls == []
    assert {a.outcome for a in caught.value.attempts} == {"no time left"}


def test_a_slow_first_region_leaves_time_for_the_others() -> None:
    clock = Clock()
    timeout = ("hang", ReadTimeoutError(endpoint_url="https://x"))
    fake = Fake(clock, {EAST: [timeout], OHIO: [timeout], WEST: ["ok"]})
    served = FailoverInvoker(
        routes=ROUTES, clients=fake.factory, breaker=CircuitBreaker(clock=clock)
    ).invoke(BODY, deadline(clock, 60.0))
    assert served.region == WEST
    assert clock.now <= 60.0
    # The first Region got a third of the time, the second half of what was left.
    assert [round(c * 3 + r, 1) for _, c, r in fake.calls[:2]] == [20.0, 20.0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "non-empty JSON list"),
        ("{}", "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ('[{"region": "us-east-1"}]', "item 0 has no valid endpointName"),
        ('[{"region": "mars", "endpointName": "m"}]', "item 0 has no valid region"),
        (
            '[{"region": "us-east-1", "endpointName": "a"}, {"region": "us-east-1", "endpointName": "b"}]',
            "more than once",
        ),
    ],
)
def test_fails_on_malformed_routes(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Route.parse_all(text)


def test_routes_round_trip() -> None:
    text = '[{"region": "us-east-1", "endpointName": "a"}, {"region": "us-west-2", "endpointName": "b"}]'
    assert Route.parse_all(text) == (Route(EAST, "a"), Route(WEST, "b"))


# --------------------------------------------------------------------------- the deadline

STEP = st.one_of(
    st.just("ok"),
    st.just(CONNECTION),
    st.sampled_from(
        [
            ("hang", ConnectTimeoutError(endpoint_url="https://x")),
            ("hang", ReadTimeoutError(endpoint_url="https://x")),
            ClientError(
                {
                    "Error": {"Code": "ThrottlingException"},
                    "ResponseMetadata": {"HTTPStatusCode": 429},
                },
                "InvokeEndpoint",
            ),
            ClientError(
                {"Error": {"Code": "ValidationError"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                "InvokeEndpoint",
            ),
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(
    budget=st.floats(min_value=0.0, max_value=400.0),
    regions=st.integers(min_value=1, max_value=4),
    addresses=st.integers(min_value=1, max_value=6),
    connect=st.floats(min_value=0.5, max_value=10.0),
    read=st.floats(min_value=1.0, max_value=120.0),
    open_circuits=st.lists(st.booleans(), min_size=4, max_size=4),
    scripts=st.lists(st.lists(STEP, max_size=3), min_size=4, max_size=4),
    calls=st.integers(min_value=1, max_value=3),
)
def test_a_call_never_outlives_its_deadline(
    *,
    budget: float,
    regions: int,
    addresses: int,
    connect: float,
    read: float,
    open_circuits: list[bool],
    scripts: list[list[Any]],
    calls: int,
) -> None:
    """Whatever fails, hangs or is skipped, each call returns or raises before its deadline, and
    a refusal is never followed by another Region."""
    clock = Clock()
    names = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"][:regions]
    routes = tuple(Route(region, f"model-{i}") for i, region in enumerate(names))
    breaker = CircuitBreaker(failure_threshold=1, cooldown=1000, clock=clock)
    for region, is_open in zip(names, open_circuits, strict=False):
        if is_open:
            breaker.record_failure(region)
    fake = Fake(clock, {r: list(s) for r, s in zip(names, scripts, strict=False)}, addresses)
    client = FailoverInvoker(
        routes=routes,
        clients=fake.factory,
        breaker=breaker,
        timeouts=Timeouts(connect=connect, read=read, addresses=addresses),
    )
    for _ in range(calls):
        start = clock.now
        before = len(fake.calls)
        try:
            client.invoke(BODY, deadline(clock, budget))
        except RefusedError as refused:
            tried = [region for region, _, _ in fake.calls[before:]]
            assert tried[-1] == refused.region, "nothing is tried after a refusal"
        except UnavailableError:
            pass
        assert clock.now - start <= budget + 1e-9
        for _, c, r in fake.calls[before:]:
            assert c <= connect and r <= read, "timeouts stay within their caps"


def test_budget_helpers_fit_their_budget() -> None:
    timeouts = Timeouts(connect=2.0, read=60.0, addresses=3)
    assert failover.attempt_budget(timeouts.minimum - 0.01, 1, timeouts) is None
    assert failover.attempt_budget(10.0, 5, timeouts) == timeouts.minimum
    assert failover.attempt_budget(90.0, 3, timeouts) == 30.0
    for budget in (timeouts.minimum, 3.0, 7.3, 30.0, 500.0):
        connect, read = timeouts.for_budget(budget)
        assert timeouts.worst_case(connect, read) <= budget
        assert connect <= 2.0 and read <= 60.0


def test_fails_on_bad_invoker_settings() -> None:
    with pytest.raises(ValueError, match="at least one Region"):
        FailoverInvoker(routes=())
    with pytest.raises(ValueError, match="each Region once"):
        FailoverInvoker(routes=(Route(EAST, "a"), Route(EAST, "b")))
    with pytest.raises(ValueError, match="connect must be"):
        Timeouts(connect=0.1)
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)


Factory = Callable[[str, Config], Any]
