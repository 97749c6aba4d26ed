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
  deadline.

What is retryable: throttling and transient server errors from AWS APIs (HTTP 429 and 5xx, and
the error codes in :data:`RETRYABLE_CODES`), and network failures: botocore's
``ConnectionError`` family (``EndpointConnectionError``, ``ConnectTimeoutError``: what a lost
endpoint interface or AZ looks like) and ``HTTPClientError`` family (read timeouts, closed
connections, truncated streams), and the standard library's ``OSError`` and
``http.client.HTTPException`` (``IncompleteRead``). Client errors (4xx other than 429) are not.
"""

from __future__ import annotations

import http.client
import logging
import random
import time
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
        """``(connect, read)`` timeouts that fit in the time left (at least 1 s each)."""
        left = max(MIN_CALL_SECONDS, self.remaining())
        connect_timeout = max(MIN_CALL_SECONDS, min(connect, left))
        read_timeout = max(MIN_CALL_SECONDS, min(read, left - connect_timeout))
        return connect_timeout, read_timeout

    def client_config(self, *, connect: float = 3.0, read: float = 30.0) -> Config:
        """A botocore config for one call: timeouts within the time left, no botocore retries."""
        connect_timeout, read_timeout = self.timeouts(connect=connect, read=read)
        return Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": 1},
        )


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


def describe(err: BaseException) -> str:
    """A short description for logs: the error code and message, or the exception's text."""
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(err).__name__}: {err}"


@dataclass
class Backoff:
    """Capped exponential backoff with full jitter: attempt ``n`` (from 1) that fails waits
    ``uniform(0, min(max_delay, base_delay * 2 ** (n - 1)))`` seconds before the next."""

    max_attempts: int = 4
    base_delay: float = 0.25
    max_delay: float = 4.0
    sleep: Callable[[float], None] = time.sleep
    jitter: Callable[[float, float], float] = random.uniform

    def delay(self, attempt: int) -> float:
        return self.jitter(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


def call_with_retries(
    what: str,
    operation: Callable[[Deadline], T],
    *,
    deadline: Deadline,
    backoff: Backoff | None = None,
    retryable: Callable[[BaseException], bool] = is_retryable,
) -> T:
    """Runs ``operation(deadline)`` and retries it while it fails transiently.

    Each attempt starts only with at least :data:`MIN_CALL_SECONDS` left; a wait that would end
    past the deadline is not started. Raises the operation's own error when it is not
    retryable, and :class:`RetriesExhaustedError` when the attempts or the time run out.
    """
    policy = backoff or Backoff()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            deadline.check(what)
        except DeadlineExceededError as err:
            if attempt == 1:
                raise
            raise RetriesExhaustedError(f"{what}: {err}", last=err) from None
        try:
            return operation(deadline)
        except Exception as err:
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
