"""Invoke a SageMaker endpoint in the caller's Region first, and in other Regions when it fails.

A client module for Lambda functions (standard library, boto3 and botocore only). Give it the
Regions in order, each with its endpoint name (:class:`Route`); :meth:`FailoverInvoker.invoke`
sends one request to the first Region and moves on to the next one on:

* connection failures and timeouts (botocore's ``ConnectionError`` and ``HTTPClientError``
  families: a lost endpoint interface, AZ or Region looks like this);
* throttling (HTTP 429, ``ThrottlingException``, ``ModelNotReadyException``) and server errors
  (HTTP 5xx);
* an endpoint that does not exist in that Region (``ValidationError`` "Endpoint <name> of
  account <id> not found": deleted, its stack rolled back, or the Region still being added).
  That is a Region-local outage, not the caller's fault: it counts as the Region's failure;

and never on a refusal (HTTP 4xx: ``ValidationError``, ``AccessDeniedException``, and
``ModelError``, HTTP 424, whose container answered an error): the same request would be refused
in every Region, so the refusal is returned at once (:class:`RefusedError`).

Circuit breaker. Each Region has a breaker (:class:`CircuitBreaker`, kept per execution
environment: one instance for the life of the module). ``failure_threshold`` consecutive
failures open it; while open, calls skip that Region, so a dead Region costs nothing on every
call. After ``cooldown`` seconds the breaker is half-open: exactly one call (the probe) may try
the Region again, and every other call keeps skipping it until the probe reports (success
closes the breaker, failure opens it for another cooldown) or, if the probe never reports (its
execution environment died), until another cooldown has passed since it started. A Region that
answers, even with a refusal, is reachable and closes its breaker. When every Region's breaker
is open the call tries them all in order anyway: skipping everything would turn a short blip
into an outage as long as the cooldown.

Deadline. Attempts never outlive the caller's :class:`resilience.Deadline`. Each attempt gets a
budget: the time left shared evenly among the Regions still to try (at least
:data:`MIN_CONNECT_SECONDS` per address plus :data:`MIN_READ_SECONDS`; with less time left the
remaining Regions are not tried). Its botocore timeouts fit that budget for the worst case of one
attempt: urllib3 tries each address the hostname resolves to (one per AZ of an interface
endpoint) with the full connect timeout, then waits at most the read timeout for the answer, so
``connect x addresses + read <= budget``. botocore's own retries are off (one HTTP request per
attempt). ``InvokeEndpoint`` answers in one piece once the model is done; the read timeout bounds
each wait for data, so an answer that trickled in slower than that, byte after byte, could take
longer: SageMaker's real-time endpoints do not stream through ``InvokeEndpoint``.

Health signal. The breaker is the only health signal: it reacts to the first failed call, costs
nothing and needs no network path. CloudWatch alarm state (``DescribeAlarms``) would lag by the
alarm's evaluation periods (minutes), cost an API request per check and, from a VPC without
internet access, need a ``monitoring`` interface endpoint in every Region to ask (CloudWatch is
not reachable over cross-Region PrivateLink).
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

try:  # ha_inference.functions.failover (library, tests) or top-level (Lambda)
    from . import resilience
except ImportError:  # pragma: no cover - the Lambda runtime path
    import resilience  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)

ClientFactory = Callable[[str, Config], Any]
"""Builds a ``sagemaker-runtime`` client for a Region with a botocore config."""

MIN_CONNECT_SECONDS = 0.5
MIN_READ_SECONDS = 1.0
CONNECT_SECONDS = 2.0
"""Default connect timeout per address: a VPC endpoint accepts in milliseconds, a cross-Region
PrivateLink path adds the Regions' round trip (tens of milliseconds)."""
READ_SECONDS = 60.0
"""Default read timeout: SageMaker real-time endpoints answer within 60 seconds or fail."""
ADDRESSES = 3
"""Default addresses per hostname: one per AZ of the interface endpoint it resolves to."""
CIRCUIT_OPEN = "circuit open"
NO_TIME_LEFT = "no time left"
ENDPOINT_NOT_FOUND = "endpoint not found"

_MISSING_ENDPOINT = re.compile(r"\bendpoint\b.*\bnot found\b", re.IGNORECASE | re.DOTALL)
"""SageMaker's ``ValidationError`` message for an endpoint that does not exist: "Endpoint
<name> of account <id> not found."."""

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


@dataclass(frozen=True)
class Route:
    """One Region's endpoint, in the order the caller tries them."""

    region: str
    endpoint_name: str

    @classmethod
    def parse_all(cls, text: str) -> tuple[Route, ...]:
        """Routes from JSON ``[{"region": ..., "endpointName": ...}, ...]``; raises
        ``ValueError`` saying what is wrong (not empty, valid names, each Region once)."""
        try:
            items = json.loads(text)
        except ValueError:
            raise ValueError(
                "must be a non-empty JSON list of {region, endpointName} objects"
            ) from None
        if not isinstance(items, list) or not items:
            raise ValueError("must be a non-empty JSON list of {region, endpointName} objects")
        routes = []
        for position, item in enumerate(items):
            if not isinstance(item, dict):
                raise ValueError(f"item {position} is not an object")
            region, name = item.get("region"), item.get("endpointName")
            if not isinstance(region, str) or not _REGION.match(region):
                raise ValueError(f"item {position} has no valid region")
            if not isinstance(name, str) or not _ENDPOINT_NAME.match(name):
                raise ValueError(f"item {position} has no valid endpointName")
            routes.append(cls(region, name))
        regions = [r.region for r in routes]
        if len(set(regions)) != len(regions):
            raise ValueError("lists a Region more than once")
        return tuple(routes)


class CircuitBreaker:
    """Per-Region breakers: closed; open for ``cooldown`` seconds after ``failure_threshold``
    consecutive failures; then half-open, when one call (the probe, :meth:`acquire`) may try
    the Region while the others keep skipping it. Thread-safe."""

    def __init__(
        self,
        *,
        failure_threshold: int = 2,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1 or cooldown <= 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown > 0")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._failures: dict[str, int] = {}
        self._opened: dict[str, float] = {}
        self._probes: dict[str, float] = {}
        self._lock = threading.Lock()

    def state(self, region: str) -> str:
        """``closed``, ``open``, or ``half-open`` (a probe may start now)."""
        with self._lock:
            return self._state(region)

    def _state(self, region: str) -> str:
        opened = self._opened.get(region)
        if opened is None:
            return "closed"
        now = self._clock()
        if now - opened < self.cooldown:
            return "open"
        probe = self._probes.get(region)
        if probe is not None and now - probe < self.cooldown:
            return "open"  # another call is probing; it reports, or goes stale after a cooldown
        return "half-open"

    def allows(self, region: str) -> bool:
        """Whether a call could try ``region`` now (closed, or half-open with no probe out)."""
        return self.state(region) != "open"

    def acquire(self, region: str) -> bool:
        """Whether this call may try ``region``: always when closed; when half-open, only the
        one call that takes the probe, until it reports (:meth:`record_success`,
        :meth:`record_failure`, :meth:`release`) or a cooldown passes."""
        with self._lock:
            state = self._state(region)
            if state == "half-open":
                self._probes[region] = self._clock()
            return state != "open"

    def release(self, region: str) -> None:
        """Ends a probe that neither succeeded nor failed (a bug, no time left to try)."""
        with self._lock:
            self._probes.pop(region, None)

    def record_success(self, region: str) -> None:
        with self._lock:
            self._failures.pop(region, None)
            self._opened.pop(region, None)
            self._probes.pop(region, None)

    def record_failure(self, region: str) -> None:
        with self._lock:
            failures = self._failures.get(region, 0) + 1
            self._failures[region] = failures
            if failures >= self.failure_threshold or self._probes.pop(region, None) is not None:
                self._opened[region] = self._clock()


@dataclass(frozen=True)
class Attempt:
    """What happened in one Region: ``served``, the error's summary (an AWS error code, an HTTP
    status or the kind of network failure), ``circuit open`` or ``no time left``."""

    region: str
    outcome: str

    def to_json(self) -> dict[str, str]:
        return {"region": self.region, "outcome": self.outcome}


@dataclass(frozen=True)
class Served:
    """The model's answer and where it came from."""

    region: str
    body: bytes
    content_type: str
    attempts: tuple[Attempt, ...]
    first_region: str

    @property
    def failed_over(self) -> bool:
        """Whether the answer came from a Region other than the first one."""
        return self.region != self.first_region


class RefusedError(Exception):
    """A Region refused the request (HTTP 4xx); it was not sent anywhere else."""

    def __init__(self, region: str, error: BaseException, attempts: Sequence[Attempt]) -> None:
        super().__init__(f"{region} refused the request ({resilience.summarize(error)})")
        self.region = region
        self.error = error
        self.attempts = tuple(attempts)


class UnavailableError(Exception):
    """No Region answered: each failed transiently, was skipped (circuit open), or no time was
    left to try it."""

    def __init__(self, attempts: Sequence[Attempt]) -> None:
        self.attempts = tuple(attempts)
        summary = "; ".join(f"{a.region}: {a.outcome}" for a in self.attempts) or "no Region"
        super().__init__(f"the model is unavailable in every Region ({summary})")


@dataclass(frozen=True)
class Timeouts:
    """Caps of one attempt's timeouts, and the addresses a hostname resolves to."""

    connect: float = CONNECT_SECONDS
    read: float = READ_SECONDS
    addresses: int = ADDRESSES

    def __post_init__(self) -> None:
        if self.connect < MIN_CONNECT_SECONDS or self.read < MIN_READ_SECONDS:
            raise ValueError(
                f"connect must be >= {MIN_CONNECT_SECONDS} s and read >= {MIN_READ_SECONDS} s"
            )
        if self.addresses < 1:
            raise ValueError("addresses must be >= 1")

    @property
    def minimum(self) -> float:
        """The shortest budget an attempt can run in."""
        return MIN_CONNECT_SECONDS * self.addresses + MIN_READ_SECONDS

    def worst_case(self, connect: float, read: float) -> float:
        """The longest one attempt with these timeouts can take."""
        return connect * self.addresses + read

    def for_budget(self, budget: float) -> tuple[float, float]:
        """``(connect, read)`` within the caps whose worst case fits ``budget`` (which must be at
        least :attr:`minimum`), rounded down to tenths of a second."""
        connect = min(self.connect, (budget - MIN_READ_SECONDS) / self.addresses)
        connect = max(MIN_CONNECT_SECONDS, math.floor(connect * 10) / 10)
        read = min(self.read, budget - connect * self.addresses)
        read = max(MIN_READ_SECONDS, math.floor(read * 10) / 10)
        return connect, read


def attempt_budget(left: float, regions_to_try: int, timeouts: Timeouts) -> float | None:
    """The time one attempt may take: ``left`` shared evenly among the Regions still to try,
    raised to the minimum an attempt needs; ``None`` when not even that is left."""
    if left < timeouts.minimum:
        return None
    return max(timeouts.minimum, left / max(1, regions_to_try))


def missing_endpoint(err: BaseException) -> bool:
    """Whether ``err`` is SageMaker saying the endpoint does not exist in that Region."""
    if not isinstance(err, ClientError) or resilience.error_code(err) != "ValidationError":
        return False
    message = err.response.get("Error", {}).get("Message", "")
    return isinstance(message, str) and bool(_MISSING_ENDPOINT.search(message))


def sagemaker_runtime(region: str, config: Config) -> Any:
    """The default client factory: a boto3 ``sagemaker-runtime`` client for ``region``."""
    import boto3  # noqa: PLC0415 - only where a real client is built

    return boto3.client("sagemaker-runtime", region_name=region, config=config)


@dataclass
class FailoverInvoker:
    """Sends ``InvokeEndpoint`` to the routes in order (see the module docstring).

    ``clients(region, config)`` builds a client (default :func:`sagemaker_runtime`); clients
    are cached per Region and timeout pair, so a warm execution environment reuses them.
    """

    routes: Sequence[Route]
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)
    clients: ClientFactory = sagemaker_runtime
    timeouts: Timeouts = field(default_factory=Timeouts)
    content_type: str = "application/json"
    accept: str = "application/json"
    cache_size: int = 16
    _cache: OrderedDict[tuple[str, float, float], Any] = field(
        default_factory=OrderedDict, init=False, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.routes:
            raise ValueError("routes must name at least one Region")
        regions = [route.region for route in self.routes]
        if len(set(regions)) != len(regions):
            raise ValueError(f"routes must name each Region once, got {regions}")

    def invoke(self, body: bytes, deadline: resilience.Deadline) -> Served:
        """The first answer, in route order; raises :class:`RefusedError` on a 4xx and
        :class:`UnavailableError` when no Region answered."""
        allowed = [route for route in self.routes if self.breaker.allows(route.region)]
        candidates = allowed or list(self.routes)
        attempts: list[Attempt] = []
        for route in self.routes:
            if route not in candidates:
                attempts.append(Attempt(route.region, CIRCUIT_OPEN))
                continue
            still_to_try = len(candidates) - candidates.index(route)
            budget = attempt_budget(deadline.remaining(), still_to_try, self.timeouts)
            if budget is None:
                attempts.append(Attempt(route.region, NO_TIME_LEFT))
                continue
            if allowed and not self.breaker.acquire(route.region):
                attempts.append(Attempt(route.region, CIRCUIT_OPEN))  # another call probes it
                continue
            try:
                answer = self._call(route, body, budget)
                self.breaker.record_success(route.region)
            except ClientError as err:
                if missing_endpoint(err):
                    self._failed(route, err, attempts, ENDPOINT_NOT_FOUND)
                    continue
                if not resilience.is_retryable(err):
                    # It answered, so it is reachable: a refusal is no sign of ill health.
                    self.breaker.record_success(route.region)
                    attempts.append(Attempt(route.region, resilience.summarize(err)))
                    LOGGER.error(
                        "%s refused the request: %s", route.region, resilience.describe(err)
                    )
                    raise RefusedError(route.region, err, attempts) from err
                self._failed(route, err, attempts)
                continue
            except Exception as err:
                if not resilience.is_retryable(err):
                    raise  # not an answer from AWS: a bug, reported as such
                self._failed(route, err, attempts)
                continue
            finally:
                self.breaker.release(route.region)  # no-op once the outcome is recorded
            attempts.append(Attempt(route.region, "served"))
            payload, content_type = answer
            return Served(
                region=route.region,
                body=payload,
                content_type=content_type,
                attempts=tuple(attempts),
                first_region=self.routes[0].region,
            )
        raise UnavailableError(attempts)

    def _failed(
        self, route: Route, err: BaseException, attempts: list[Attempt], outcome: str = ""
    ) -> None:
        self.breaker.record_failure(route.region)
        attempts.append(Attempt(route.region, outcome or resilience.summarize(err)))
        LOGGER.warning(
            "%s failed (%s); breaker %s",
            route.region,
            resilience.describe(err),
            self.breaker.state(route.region),
        )

    def _call(self, route: Route, body: bytes, budget: float) -> tuple[bytes, str]:
        connect, read = self.timeouts.for_budget(budget)
        response = self._client(route.region, connect, read).invoke_endpoint(
            EndpointName=route.endpoint_name,
            Body=body,
            ContentType=self.content_type,
            Accept=self.accept,
        )
        payload = response["Body"].read()
        return payload, str(response.get("ContentType") or self.accept)

    def _client(self, region: str, connect: float, read: float) -> Any:
        key = (region, connect, read)
        with self._lock:
            client = self._cache.get(key)
            if client is None:
                client = self.clients(region, resilience.single_attempt_config(connect, read))
                self._cache[key] = client
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(key)
            return client
