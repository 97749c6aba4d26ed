"""SigV4-signed requests to an OpenSearch Serverless collection, with botocore and urllib only.

OpenSearch Serverless signs data-plane requests with service name ``aoss`` and requires the
``x-amz-content-sha256`` header (the SHA-256 of the body), which botocore's ``SigV4Auth`` then
uses as the payload hash. The ``Host`` header is signed as it is sent (an endpoint written with
the default port ``:443`` is normalized without it first). Requests go out through ``urllib``.

Every request is bounded by the invocation's :class:`~resilience.Deadline`. The socket timeout
is at most the time left when the request starts, which bounds connecting and each wait for the
status line and headers. The body is read as it arrives (``read1``: what the socket has, at
most one system call per read), and before each read the socket's timeout is set to the time
left, so a body that trickles in byte by byte ends at the deadline (``CollectionError``, status
0, "still arriving at the deadline"), not when the last byte comes.

Failures are :class:`CollectionError` (``retryable`` and ``may_have_applied`` say what a
caller can do about them) or :class:`MalformedAnswerError` (an answer that is not what the API
promises: never retried). Their ``detail`` is for the log only: it can hold account ids.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

try:  # ha_inference.functions.aoss (library, tests) or top-level (Lambda)
    from .resilience import Deadline
except ImportError:  # pragma: no cover - the Lambda runtime path
    from resilience import Deadline  # type: ignore[no-redef,import-not-found]

SERVICE = "aoss"
"""The SigV4 signing name of OpenSearch Serverless data-plane requests."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Hosts that may be reached over plain HTTP (a local stand-in for the collection in tests)."""

MAX_ANSWER_BYTES = 16 * 1024 * 1024
"""The largest answer read; a larger one is malformed for the requests the handlers send."""

_CHUNK = 64 * 1024
_DEFAULT_PORTS = {"https": 443, "http": 80}


class Credentials(Protocol):
    """What botocore's frozen credentials provide."""

    access_key: str
    secret_key: str
    token: str | None


CredentialsProvider = Callable[[], Credentials]
Opener = Callable[..., Any]


class CollectionError(Exception):
    """The collection refused or failed a request, or could not be reached.

    ``status`` is the HTTP status, 0 when no answer arrived; ``sent`` is False when the request
    never reached the collection (a connection failure), so it cannot have been applied.
    ``detail`` is for the log only.
    """

    def __init__(self, status: int, detail: str, *, sent: bool = True) -> None:
        super().__init__(
            f"the vector collection answered HTTP {status}: {detail}"
            if status
            else f"the vector collection could not be reached: {detail}"
        )
        self.status = status
        self.detail = detail
        self.sent = sent

    @property
    def summary(self) -> str:
        """What happened, safe to show a caller (see ``resilience.summarize``)."""
        return f"HTTP {self.status}" if self.status else "no answer (network failure)"

    @property
    def retryable(self) -> bool:
        """Throttling (429), server errors (5xx) and network failures are worth retrying."""
        return self.status in {0, 429} or self.status >= 500

    @property
    def may_have_applied(self) -> bool:
        """Whether a write may have taken effect although it failed: the answer was lost, or a
        server error other than 503 (429 and 503 mean the collection turned it away)."""
        if self.status == 0:
            return self.sent
        return self.status >= 500 and self.status != 503


class MalformedAnswerError(CollectionError):
    """The collection answered, but not with what its API promises; retrying will not help."""

    @property
    def summary(self) -> str:
        return "a malformed answer"

    @property
    def retryable(self) -> bool:
        return False

    @property
    def may_have_applied(self) -> bool:
        return True


class PartialResultError(CollectionError):
    """A search answered 200 but with shards that failed or a search that timed out: its hits
    are a part of the answer, or none of it. Worth asking again; never an empty result."""

    def __init__(self, detail: str) -> None:
        super().__init__(200, detail)

    @property
    def summary(self) -> str:
        return "a partial search result"

    @property
    def retryable(self) -> bool:
        return True

    @property
    def may_have_applied(self) -> bool:
        return False


def check_search_complete(answer: Any) -> None:
    """Raises :class:`PartialResultError` when a ``_search`` answer reports failed shards
    (``_shards.failed`` above 0) or ``timed_out: true``; OpenSearch answers those with HTTP 200
    and the hits of the shards that did answer."""
    if not isinstance(answer, dict):
        return
    shards = answer.get("_shards")
    failed = shards.get("failed") if isinstance(shards, dict) else None
    if isinstance(failed, int) and not isinstance(failed, bool) and failed > 0:
        total = shards.get("total") if isinstance(shards, dict) else None
        raise PartialResultError(f"{failed} of {total} shards failed to answer the search")
    if answer.get("timed_out") is True:
        raise PartialResultError("the search timed out before every shard answered")


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` as ``scheme://host[:port]``: HTTPS only (except for loopback hosts), no path,
    no trailing slash, and without the scheme's default port, which would otherwise be sent in
    ``Host`` but not signed. Raises ``ValueError`` naming ``COLLECTION_ENDPOINT``."""
    parts = urlsplit(endpoint.strip())
    try:
        port = parts.port
    except ValueError:
        port = -1
    if (
        not parts.hostname
        or port == -1
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise ValueError(
            f"COLLECTION_ENDPOINT must be the collection's base URL like "
            f"https://<id>.<region>.aoss.amazonaws.com, got {endpoint!r}"
        )
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
    ):
        raise ValueError(
            f"COLLECTION_ENDPOINT must use https (plain http is allowed only for a loopback "
            f"test server), got {endpoint!r}"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def signed_request(
    method: str,
    url: str,
    body: bytes | None,
    *,
    credentials: Credentials,
    region: str,
    content_type: str = "application/json",
) -> urllib.request.Request:
    """A request for ``url`` signed with SigV4 for ``aoss``; the ``Host`` header it carries is
    the one that was signed."""
    headers = {
        "Host": urlsplit(url).netloc,
        "x-amz-content-sha256": hashlib.sha256(body or b"").hexdigest(),
    }
    if body is not None:
        headers["Content-Type"] = content_type
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return urllib.request.Request(
        url, data=body, headers=dict(request.headers.items()), method=method
    )


class SessionCredentials:
    """The function's credentials (boto3's chain), refreshed by botocore as they near expiry."""

    def __init__(self) -> None:
        self._credentials: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Credentials:
        with self._lock:
            if self._credentials is None:
                self._credentials = boto3.Session().get_credentials()
                if self._credentials is None:
                    raise RuntimeError("no AWS credentials found to sign the collection request")
            frozen: Credentials = self._credentials.get_frozen_credentials()
            return frozen


class Collection:
    """One OpenSearch Serverless collection, reached at ``endpoint`` with SigV4 in ``region``."""

    def __init__(
        self,
        endpoint: str,
        *,
        region: str,
        credentials: CredentialsProvider | None = None,
        urlopen: Opener | None = None,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
    ) -> None:
        self.endpoint = check_endpoint(endpoint)
        self.host = urlsplit(self.endpoint).netloc
        self.region = region
        self._credentials = credentials or SessionCredentials()
        self._urlopen = urlopen
        self._max_answer_bytes = max_answer_bytes

    def url(self, *segments: str) -> str:
        """The URL of ``/<segment>/<segment>...``, each segment percent-encoded."""
        return "/".join([self.endpoint, *(quote(s, safe="") for s in segments)])

    def request(
        self,
        method: str,
        url: str,
        *,
        deadline: Deadline,
        document: Any = None,
        lines: Sequence[Any] | None = None,
        timeout: float = 30.0,
        on_send: Callable[[], None] | None = None,
    ) -> Any:
        """Sends one request and returns its decoded JSON answer (``None`` for an empty one).

        ``document`` is sent as JSON, or ``lines`` as newline-delimited JSON (``_bulk``). The
        socket timeout is ``timeout`` at most and never more than the time ``deadline`` has
        left. ``on_send`` is called once the request is signed, just before it goes out.
        Raises :class:`CollectionError` for an HTTP error status or a network failure and
        :class:`MalformedAnswerError` for an answer that is not JSON, is truncated or too large.
        """
        body: bytes | None = None
        content_type = "application/json"
        if lines is not None:
            ndjson = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
            body = ndjson.encode()
            content_type = "application/x-ndjson"
        elif document is not None:
            body = json.dumps(document, separators=(",", ":")).encode()
        signed = signed_request(
            method,
            url,
            body,
            credentials=self._credentials(),
            region=self.region,
            content_type=content_type,
        )
        if on_send is not None:
            on_send()
        payload, status = self._send(signed, deadline, timeout)
        if not payload.strip():
            return None
        try:  # NaN and Infinity are not JSON; read as null, so what is passed on stays JSON
            return json.loads(payload, parse_constant=lambda _: None)
        except (ValueError, RecursionError):
            raise MalformedAnswerError(
                status, f"the answer is not JSON: {payload[:200]!r}"
            ) from None

    def _send(
        self, request: urllib.request.Request, deadline: Deadline, timeout: float
    ) -> tuple[bytes, int]:
        urlopen = self._urlopen or urllib.request.urlopen
        try:
            with urlopen(request, timeout=deadline.timeout(timeout)) as response:
                return self._read(response, deadline, timeout), int(response.status)
        except urllib.error.HTTPError as err:
            raise CollectionError(err.code, _error_detail(err)) from None
        except urllib.error.URLError as err:  # raised before the request was fully sent
            raise CollectionError(0, str(err.reason), sent=False) from None
        except (OSError, http.client.HTTPException) as err:  # the answer was lost
            raise CollectionError(0, f"{type(err).__name__}: {err}") from None

    def _read(self, response: Any, deadline: Deadline, timeout: float) -> bytes:
        """The whole answer, read as it arrives; each read waits at most the time left (and
        ``timeout``), and none starts after the deadline or past the size limit."""
        sock = _socket_of(response)
        read = getattr(response, "read1", None) or response.read
        chunks: list[bytes] = []
        size = 0
        while True:
            left = deadline.remaining()
            if left <= 0:
                raise CollectionError(0, "the answer was still arriving at the deadline")
            if sock is not None:
                sock.settimeout(min(timeout, left))
            try:
                chunk = read(_CHUNK)
            except TimeoutError:
                if deadline.remaining() <= 0:
                    raise CollectionError(
                        0, "the answer was still arriving at the deadline"
                    ) from None
                raise
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if size > self._max_answer_bytes:
                raise MalformedAnswerError(
                    int(response.status),
                    f"the answer is larger than {self._max_answer_bytes} bytes",
                )
        payload = b"".join(chunks)
        expected = response.headers.get("Content-Length")
        if expected is not None and expected.isdigit() and int(expected) != len(payload):
            raise http.client.IncompleteRead(payload, int(expected) - len(payload))
        return payload


def _socket_of(response: Any) -> socket.socket | None:
    """The socket an ``http.client`` response reads from (``fp.raw._sock`` in CPython, whose
    ``socket.makefile`` gives a ``BufferedReader`` over a ``SocketIO``), or ``None`` for an
    answer that is not read from a socket (a test double)."""
    raw = getattr(getattr(response, "fp", None), "raw", None)
    sock = getattr(raw, "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _error_detail(err: urllib.error.HTTPError) -> str:
    try:
        text = err.read(2000).decode("utf-8", "replace") if err.fp else ""
    except (OSError, http.client.HTTPException):
        text = ""
    return text.strip() or str(err.reason)
