"""Deadlines, bounded clients and retries shared by the shipped handlers.

A Lambda function dies at its timeout whatever it is doing, so every call a handler makes must
fit in the time the invocation has left, and the handler must keep enough time to answer. This
module gives handlers three things, standard library and botocore only:

* :class:`Deadline`: the seconds left in the invocation (from the Lambda context), less a
  reserve kept for answering;
* :meth:`Deadline.client_config`: a botocore ``Config`` whose connect and read timeouts fit in
  that time, with botocore's own retries off (one attempt per call), so that attempts never
  multiply and a call never outlives the invocation;
* :func:`call_with_retries`: capped exponential backoff with full jitter around one operation,
  that retries only what :func:`is_retryable` says is transient and never sleeps past the
  deadline;
* :class:`ClientCache`: botocore clients whose timeouts fit the time left, built once per
  timeout pair (whole seconds) and reused across invocations;
* :func:`summarize`, :func:`redact` and :func:`request_id`: what a handler may tell its caller
  about a failure (an error code or status, never an ARN or account id) and the id that finds
  the details in the log.

What is retryable: throttling and transient server errors from AWS APIs (HTTP 429 and 5xx, and
the error codes in :data:`RETRYABLE_CODES`), and network failures: botocore's
``ConnectionError`` family (``EndpointConnectionError``, ``ConnectTimeoutError``: what a lost
endpoint interface or AZ looks like) and ``HTTPClientError`` family (read timeouts, closed
connections, truncated streams), and the standard library's ``OSError`` and
``http.client.HTTPException`` (``IncompleteRead``). Client errors (4xx other than 429) are not.
An error with a boolean ``retryable`` attribute (the collection errors of ``aoss.py``) decides
for itself.
"""

from __future__ import annotations

import http.client
import logging
import math
import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError, IncompleteReadError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

LOGGER = logging.getLogger(__name__)

T = TypeVar("T")

RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerException",
        "InternalFailure",
        "InternalError",
        "ModelNotReadyException",
        "ModelTimeoutException",
    }
)
"""AWS error codes worth retrying; any HTTP 429 or 5xx is retried as well."""

MIN_CALL_SECONDS = 1.0
"""The shortest timeout a call is given; with less time left, no call is started."""


class DeadlineExceededError(Exception):
    """Not enough time is left in the invocation to start (or retry) a call."""


class RetriesExhaustedError(Exception):
    """An operation kept failing transiently through every attempt, or until the deadline.

    ``last`` is the last transient error.
    """

    def __init__(self, message: str, last: BaseException) -> None:
        super().__init__(message)
        self.last = last


class StillLoadingError(RetriesExhaustedError):
    """The service kept answering that the resource is being loaded (an imported model that
    Bedrock unloaded: ``ModelNotReadyException``) for as long as the caller would wait.
    ``retry_after`` is the seconds a caller should wait before it asks again."""

    def __init__(self, message: str, last: BaseException, retry_after: int) -> None:
        super().__init__(message, last)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Loading:
    """Errors that mean "not yet": the resource is being loaded and will serve in a while,
    which takes much longer than throttling lasts. They are waited out with their own, longer
    ``backoff``, waiting at most ``seconds`` in all (and never past the deadline), without
    using up the call's ordinary attempts; then :class:`StillLoadingError` says to retry after
    ``retry_after`` seconds."""

    codes: frozenset[str]
    seconds: float
    backoff: Backoff
    retry_after: int = 30

    def matches(self, err: BaseException) -> bool:
        return error_code(err) in self.codes


class Deadline:
    """The time an invocation has left, less ``reserve`` seconds kept for answering.

    ``context`` is the Lambda context (``get_remaining_time_in_millis``). Without one (a test,
    a script), ``budget`` seconds from now are assumed.
    """

    def __init__(
        self,
        context: Any = None,
        *,
        reserve: float = 2.0,
        budget: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        remaining = getattr(context, "get_remaining_time_in_millis", None)
        total = remaining() / 1000.0 if callable(remaining) else budget
        self._clock = clock
        self._ends = clock() + total - reserve
        self.reserve = reserve

    @classmethod
    def after(cls, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> Deadline:
        """A deadline ``seconds`` from now, with no reserve."""
        return cls(None, reserve=0.0, budget=seconds, clock=clock)

    def sooner(self, seconds: float) -> Deadline:
        """This deadline brought ``seconds`` forward (time kept for what must follow)."""
        return self._with_end(self._ends - seconds)

    def capped(self, seconds: float) -> Deadline:
        """This deadline, or ``seconds`` from now if that comes first."""
        return self._with_end(min(self._ends, self._clock() + seconds))

    def _with_end(self, ends: float) -> Deadline:
        other = Deadline.after(0.0, clock=self._clock)
        other._ends = ends
        other.reserve = self.reserve
        return other

    def remaining(self) -> float:
        """Seconds left before the reserve, never negative."""
        return max(0.0, self._ends - self._clock())

    def check(self, what: str) -> float:
        """The seconds left; raises :class:`DeadlineExceededError` when too few to call ``what``."""
        left = self.remaining()
        if left < MIN_CALL_SECONDS:
            raise DeadlineExceededError(
                f"not enough time left in the invocation to call {what} ({left:.1f} s)"
            )
        return left

    def timeouts(self, *, connect: float, read: float) -> tuple[float, float]:
        """``(connect, read)`` timeouts that fit in the time left, at least
        :data:`MIN_CALL_SECONDS` each. With less than ``connect + MIN_CALL_SECONDS`` left the
        pair can exceed the time left by at most one :data:`MIN_CALL_SECONDS` (calls start only
        with that much left), which the reserve (2 s by default) absorbs: a started call ends
        before the reserve is used up."""
        left = max(MIN_CALL_SECONDS, self.remaining())
        connect_timeout = max(MIN_CALL_SECONDS, min(connect, left))
        read_timeout = max(MIN_CALL_SECONDS, min(read, left - connect_timeout))
        return connect_timeout, read_timeout

    def client_config(self, *, connect: float = 3.0, read: float = 30.0) -> Config:
        """A botocore config for one call: timeouts within the time left, no botocore retries."""
        connect_timeout, read_timeout = self.timeouts(connect=connect, read=read)
        return single_attempt_config(connect_timeout, read_timeout)

    def timeout(self, cap: float) -> float:
        """One timeout for a call that takes a single one (``urllib``): at most ``cap`` and at
        most the time left, at least :data:`MIN_CALL_SECONDS`."""
        return max(MIN_CALL_SECONDS, min(cap, self.remaining()))


def single_attempt_config(connect_timeout: float, read_timeout: float) -> Config:
    """A botocore config with these timeouts and botocore's own retries off (one attempt)."""
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"mode": "standard", "total_max_attempts": 1},
    )


class ClientCache:
    """botocore clients whose timeouts fit the time left, reused across invocations.

    ``factory(config)`` builds a client (``boto3.client("bedrock-runtime", config=config, ...)``).
    :meth:`get` asks the deadline for ``(connect, read)`` timeouts, rounds them down to whole
    seconds (never more than :meth:`Deadline.timeouts` gives, whose bound it keeps) and returns
    the client built for that pair, building it on first use. While the invocation has plenty
    of time that is always the same client; near the deadline a few shorter ones appear, and the
    least recently used beyond ``size`` are dropped. Thread-safe.
    """

    def __init__(
        self,
        factory: Callable[[Config], Any],
        *,
        connect: float = 3.0,
        read: float = 30.0,
        size: int = 4,
    ) -> None:
        self._factory = factory
        self._connect = connect
        self._read = read
        self._size = size
        self._clients: OrderedDict[tuple[int, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, deadline: Deadline) -> Any:
        """The client for the time ``deadline`` has left."""
        connect, read = deadline.timeouts(connect=self._connect, read=self._read)
        key = (max(1, math.floor(connect)), max(1, math.floor(read)))
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = self._factory(single_attempt_config(*key))
                self._clients[key] = client
                while len(self._clients) > self._size:
                    self._clients.popitem(last=False)
            else:
                self._clients.move_to_end(key)
            return client


def error_code(err: BaseException) -> str:
    """The AWS error code of a ``ClientError`` (``""`` for anything else)."""
    if isinstance(err, ClientError):
        return str(err.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(err: BaseException) -> int:
    """The HTTP status of a ``ClientError`` (0 for anything else)."""
    if isinstance(err, ClientError):
        return int(err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return 0


def is_retryable(err: BaseException) -> bool:
    """Throttling, transient server errors and network failures (see the module docstring)."""
    verdict = getattr(err, "retryable", None)
    if isinstance(verdict, bool):
        return verdict
    if isinstance(err, ClientError):
        status = http_status(err)
        return error_code(err) in RETRYABLE_CODES or status == 429 or status >= 500
    return isinstance(
        err,
        BotocoreConnectionError
        | HTTPClientError
        | IncompleteReadError
        | http.client.HTTPException
        | OSError,
    )


_ERROR_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9.]{0,63}$")
ORGANIZATION_DENIAL = re.compile(
    r"explicit deny in an? (?P<policy>service control policy|resource control policy)", re.I
)
"""What an access-denied message says when an AWS Organizations policy refused the request
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)."""


def organization_denial(err: BaseException) -> str | None:
    """``service control policy`` or ``resource control policy`` when an access-denied error
    says one of them refused the request explicitly, else ``None``."""
    if not isinstance(err, ClientError) or "AccessDenied" not in error_code(err):
        return None
    message = str(err.response.get("Error", {}).get("Message", ""))
    found = ORGANIZATION_DENIAL.search(message)
    return found["policy"].lower() if found else None


def summarize(err: BaseException) -> str:
    """A short description of ``err`` that is safe to show a caller: an AWS error code, an HTTP
    status or the kind of failure, never an AWS error message (those name ARNs and accounts).

    An error with a string ``summary`` attribute gives its own.
    """
    summary = getattr(err, "summary", None)
    if isinstance(summary, str):
        return summary
    if isinstance(err, RetriesExhaustedError):
        return summarize(err.last)
    if isinstance(err, DeadlineExceededError):
        return "no time left in the invocation"
    if isinstance(err, ClientError):
        code = error_code(err)
        policy = organization_denial(err)
        if policy and _ERROR_CODE.match(code):
            return f"{code}, an explicit deny in a {policy}"
        return code if _ERROR_CODE.match(code) else f"HTTP {http_status(err)}"
    if isinstance(err, BotocoreConnectionError):
        return "connection failure"
    if isinstance(err, HTTPClientError | IncompleteReadError | http.client.HTTPException | OSError):
        return "network failure"
    return "internal error"


def describe(err: BaseException) -> str:
    """A short description for logs: the error code and message, or the exception's text."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(err).__name__}: {err}"


def _sleep(seconds: float) -> None:
    """``time.sleep``, looked up at each call (a test may replace it)."""
    time.sleep(seconds)


def _uniform(low: float, high: float) -> float:
    """``random.uniform``, looked up at each call (a test may replace it)."""
    return random.uniform(low, high)


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter: attempt ``n`` (from 1) that fails waits
    ``uniform(0, min(max_delay, base_delay * 2 ** (n - 1)))`` seconds before the next."""

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    sleep: Callable[[float], None] = _sleep
    jitter: Callable[[float, float], float] = _uniform

    def delay(self, attempt: int) -> float:
        return self.jitter(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def call_with_retries(
    what: str,
    operation: Callable[[Deadline], T],
    *,
    deadline: Deadline,
    backoff: Backoff | None = None,
    retryable: Callable[[BaseException], bool] = is_retryable,
    loading: Loading | None = None,
) -> T:
    """Runs ``operation(deadline)`` and retries it while it fails transiently.

    Each attempt starts only with at least :data:`MIN_CALL_SECONDS` left; a wait that would end
    past the deadline is not started. Errors ``loading`` matches are waited out with its own
    backoff and budget (see :class:`Loading`). Raises the operation's own error when it is not
    retryable, :class:`StillLoadingError` when the loading budget runs out, and
    :class:`RetriesExhaustedError` when the attempts or the time run out.
    """
    policy = backoff or Backoff()
    attempt = 0
    waits_for_loading = 0
    waited_for_loading = 0.0
    while attempt < policy.max_attempts:
        attempt += 1
        try:
            deadline.check(what)
        except DeadlineExceededError as err:
            if attempt == 1 and not waits_for_loading:
                raise
            raise RetriesExhaustedError(f"{what}: {err}", last=err) from None
        try:
            return operation(deadline)
        except Exception as err:
            if loading is not None and loading.matches(err):
                attempt -= 1  # loading is not a failed attempt; it has its own budget
                waits_for_loading += 1
                wait = loading.backoff.delay(waits_for_loading)
                if (
                    waited_for_loading + wait > loading.seconds
                    or waits_for_loading > loading.backoff.max_attempts
                    or deadline.remaining() < wait + MIN_CALL_SECONDS
                ):
                    raise StillLoadingError(
                        f"{what}: still loading after waiting {waited_for_loading:.1f} s "
                        f"({describe(err)})",
                        last=err,
                        retry_after=loading.retry_after,
                    ) from err
                waited_for_loading += wait
                LOGGER.warning(
                    "%s: the resource is loading (%s); asking again in %.2f s",
                    what,
                    describe(err),
                    wait,
                )
                loading.backoff.sleep(wait)
                continue
            if not retryable(err):
                raise
            if attempt == policy.max_attempts:
                raise RetriesExhaustedError(
                    f"{what} failed transiently {attempt} times ({describe(err)})", last=err
                ) from err
            wait = policy.delay(attempt)
            if deadline.remaining() < wait + MIN_CALL_SECONDS:
                raise RetriesExhaustedError(
                    f"{what} failed transiently ({describe(err)}) and the invocation has no "
                    "time left for another attempt",
                    last=err,
                ) from err
            LOGGER.warning(
                "%s failed transiently (%s), attempt %d of %d; retrying in %.2f s",
                what,
                describe(err),
                attempt,
                policy.max_attempts,
                wait,
            )
            policy.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


def truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", "ignore")


_ARN = re.compile(r"arn:aws[a-zA-Z-]*:[^\s\"',;)\]}]*")
_ACCOUNT_ID = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


def redact(text: str) -> str:
    """``text`` with ARNs and 12-digit account ids replaced by ``<arn>`` and ``<account>``.

    AWS error messages name the caller's role ARN ("User: arn:aws:sts::123456789012:assumed-role/
    ... is not authorized"); a handler logs them whole but never repeats them to its caller.
    """
    return _ACCOUNT_ID.sub("<account>", _ARN.sub("<arn>", text))


def request_id(context: Any) -> str:
    """The Lambda request id of the invocation (``"unknown"`` without a Lambda context)."""
    value = getattr(context, "aws_request_id", None)
    return value if isinstance(value, str) and value else "unknown"
