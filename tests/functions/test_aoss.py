"""The collection client (``aoss.py``) and the helpers handlers share from ``resilience.py``."""

from __future__ import annotations

import http.client
import io
import time
import urllib.error
from typing import Any

import pytest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from ha_inference.functions import aoss
from ha_inference.functions.resilience import (
    ClientCache,
    Deadline,
    RetriesExhaustedError,
    is_retryable,
    redact,
    request_id,
    summarize,
)
from tests.support.collection_stub import ACCOUNT, DENIED, serve_collection


@pytest.mark.parametrize(
    ("endpoint", "normalized"),
    [
        ("https://abc.us-east-1.aoss.amazonaws.com", "https://abc.us-east-1.aoss.amazonaws.com"),
        ("https://abc.us-east-1.aoss.amazonaws.com/", "https://abc.us-east-1.aoss.amazonaws.com"),
        (
            "https://abc.us-east-1.aoss.amazonaws.com:443",
            "https://abc.us-east-1.aoss.amazonaws.com",
        ),
        (
            "https://ABC.us-east-1.aoss.amazonaws.com:8443/",
            "https://abc.us-east-1.aoss.amazonaws.com:8443",
        ),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("http://localhost:80", "http://localhost"),
        ("http://[::1]:9200", "http://[::1]:9200"),
    ],
)
def test_endpoints_are_normalized_to_what_is_signed(endpoint: str, normalized: str) -> None:
    assert aoss.check_endpoint(endpoint) == normalized


@pytest.mark.parametrize(
    ("endpoint", "message"),
    [
        ("http://10.0.0.5:443", "must use https"),
        ("https://abc.aoss.amazonaws.com/index", "must be the collection's base URL"),
        ("https://abc.aoss.amazonaws.com?x=1", "must be the collection's base URL"),
        ("https://user@abc.aoss.amazonaws.com", "must be the collection's base URL"),
        ("https://abc.aoss.amazonaws.com:99999", "must be the collection's base URL"),
        ("abc.aoss.amazonaws.com", "must be the collection's base URL"),
    ],
)
def test_fails_endpoints_that_are_not_a_collection_base_url(endpoint: str, message: str) -> None:
    with pytest.raises(ValueError, match=rf"^COLLECTION_ENDPOINT {message}"):
        aoss.check_endpoint(endpoint)


def test_the_signed_host_is_the_host_header_sent() -> None:
    request = aoss.signed_request(
        "GET",
        "https://abc.us-east-1.aoss.amazonaws.com:8443/passages",
        None,
        credentials=Credentials("AKIDEXAMPLE", "secret", "token"),
        region="us-east-1",
    )
    assert request.get_header("Host") == "abc.us-east-1.aoss.amazonaws.com:8443"
    assert "host;" in request.get_header("Authorization")
    assert request.data is None and request.get_header("Content-type") is None


@pytest.mark.parametrize(
    ("error", "retryable", "may_have_applied"),
    [
        (aoss.CollectionError(0, "refused", sent=False), True, False),
        (aoss.CollectionError(0, "reset"), True, True),
        (aoss.CollectionError(429, "slow down"), True, False),
        (aoss.CollectionError(503, "busy"), True, False),
        (aoss.CollectionError(500, "oops"), True, True),
        (aoss.CollectionError(403, "denied"), False, False),
        (aoss.MalformedAnswerError(200, "not JSON"), False, True),
    ],
)
def test_collection_errors_say_whether_to_retry_and_whether_they_may_have_applied(
    error: aoss.CollectionError, retryable: bool, may_have_applied: bool
) -> None:
    assert (error.retryable, error.may_have_applied) == (retryable, may_have_applied)
    assert is_retryable(error) is retryable


class Trickle(io.BytesIO):
    """An answer whose every read takes a second of the deadline's clock."""

    status = 200

    def __init__(
        self, body: bytes, clock: list[float], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(body)
        self.clock = clock
        self.headers = headers or {}

    def read(self, size: int | None = -1) -> bytes:
        self.clock[0] += 1.0
        return super().read(min(size or 4, 4))

    def read1(self, size: int = -1) -> bytes:
        return self.read(size)


def collection(urlopen: Any, **kwargs: Any) -> aoss.Collection:
    return aoss.Collection(
        "https://abc.us-east-1.aoss.amazonaws.com",
        region="us-east-1",
        credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
        urlopen=urlopen,
        **kwargs,
    )


def collection_at(url: str) -> aoss.Collection:
    """A client of a local stand-in, over plain HTTP, with the real ``urllib``."""
    return aoss.Collection(
        url,
        region="us-east-1",
        credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
    )


def test_stops_reading_an_answer_at_the_deadline() -> None:
    now = [0.0]
    client = collection(lambda request, timeout: Trickle(b'{"hits": {"hits": []}}', now))
    with pytest.raises(aoss.CollectionError, match="still arriving at the deadline") as info:
        client.request("GET", client.url("x"), deadline=Deadline.after(3.0, clock=lambda: now[0]))
    assert info.value.retryable and info.value.may_have_applied
    assert now[0] == 3.0


def test_a_trickling_answer_ends_at_the_deadline_not_when_its_last_byte_comes() -> None:
    """A real socket: 22 bytes, one every 0.25 s, would take 5.5 s; with 1 s left the read
    stops at the deadline, because it reads what has arrived and never waits past the time
    left."""
    body = b'{"hits": {"hits": []}}'
    with serve_collection() as server:
        server.trickled(200, body, tuple((0.25, body[i : i + 1]) for i in range(len(body))))
        client = collection_at(server.url)
        started = time.monotonic()
        with pytest.raises(aoss.CollectionError, match="still arriving at the deadline") as info:
            client.request("GET", client.url("x"), deadline=Deadline.after(1.0))
        elapsed = time.monotonic() - started
    assert info.value.retryable
    assert elapsed < 2.5, f"read for {elapsed:.1f} s; the whole answer takes 5.5 s"


def test_each_read_waits_no_longer_than_the_time_left() -> None:
    """One byte, then one more after 1.2 s, then nothing for 5 s. The read that starts at
    1.2 s has 0.8 s left: its socket timeout is that, not the 2 s the request started with."""
    body = b'{"hits": {"hits": []}}'
    with serve_collection() as server:
        server.trickled(200, body, ((0.0, body[:1]), (1.2, body[1:2]), (5.0, body[2:])))
        client = collection_at(server.url)
        started = time.monotonic()
        with pytest.raises(aoss.CollectionError, match="still arriving at the deadline"):
            client.request("GET", client.url("x"), deadline=Deadline.after(2.0), timeout=30.0)
        elapsed = time.monotonic() - started
    assert elapsed < 2.9, f"read for {elapsed:.1f} s past a 2 s deadline"


def test_a_trickling_answer_that_arrives_in_time_is_read_whole() -> None:
    body = b'{"hits": {"hits": []}}'
    with serve_collection() as server:
        server.trickled(200, body, tuple((0.01, body[i : i + 4]) for i in range(0, len(body), 4)))
        client = collection_at(server.url)
        assert client.request("GET", client.url("x"), deadline=Deadline.after(30.0)) == {
            "hits": {"hits": []}
        }


def test_refuses_an_answer_larger_than_the_limit() -> None:
    now = [0.0]
    client = collection(
        lambda request, timeout: Trickle(b"[" + b"1," * 50 + b"1]", now), max_answer_bytes=40
    )
    with pytest.raises(aoss.MalformedAnswerError, match="larger than 40 bytes"):
        client.request("GET", client.url("x"), deadline=Deadline.after(600.0, clock=lambda: now[0]))


def test_a_short_answer_is_an_incomplete_read() -> None:
    now = [0.0]
    answer = Trickle(b'{"a": 1}', now, {"Content-Length": "100"})
    client = collection(lambda request, timeout: answer)
    with pytest.raises(aoss.CollectionError, match="IncompleteRead") as info:
        client.request("GET", client.url("x"), deadline=Deadline.after(600.0, clock=lambda: now[0]))
    assert info.value.retryable


def test_the_socket_timeout_is_the_time_left() -> None:
    timeouts: list[float] = []

    def urlopen(request: Any, timeout: float) -> Any:
        timeouts.append(timeout)
        return Trickle(b"{}", [0.0])

    client = collection(urlopen)
    client.request("GET", client.url("x"), deadline=Deadline.after(4.5), timeout=30.0)
    client.request("GET", client.url("x"), deadline=Deadline.after(600.0), timeout=30.0)
    assert timeouts[0] <= 4.5 and timeouts[1] == 30.0


def test_connection_failures_were_not_sent_and_lost_answers_were() -> None:
    def refused(request: Any, timeout: float) -> Any:
        raise urllib.error.URLError(ConnectionRefusedError(111, "refused"))

    def reset(request: Any, timeout: float) -> Any:
        raise http.client.RemoteDisconnected("closed")

    for urlopen, sent in ((refused, False), (reset, True)):
        client = collection(urlopen)
        with pytest.raises(aoss.CollectionError) as info:
            client.request("GET", client.url("x"), deadline=Deadline.after(60.0))
        assert (info.value.status, info.value.sent) == (0, sent)


def test_urls_encode_each_segment() -> None:
    assert (
        collection(None).url("a b", "_search")
        == "https://abc.us-east-1.aoss.amazonaws.com/a%20b/_search"
    )


# --- resilience helpers ----------------------------------------------------------------------


def test_client_cache_builds_one_client_per_whole_second_pair_and_forgets_the_oldest() -> None:
    built: list[Config] = []

    def factory(config: Config) -> object:
        built.append(config)
        return object()

    cache = ClientCache(factory, connect=3.0, read=30.0, size=2)
    plenty = cache.get(Deadline.after(600.0))
    assert cache.get(Deadline.after(500.0)) is plenty
    assert (built[0].connect_timeout, built[0].read_timeout) == (3, 30)
    assert built[0].retries == {"mode": "standard", "total_max_attempts": 1}
    short = cache.get(Deadline.after(9.7))  # 3 s to connect, 6.7 s to read: 6 s
    assert (built[1].connect_timeout, built[1].read_timeout) == (3, 6)
    cache.get(Deadline.after(2.0))  # a third pair: the least recently used (plenty) goes
    assert cache.get(Deadline.after(9.9)) is short
    assert cache.get(Deadline.after(600.0)) is not plenty
    assert len(built) == 4


def test_redact_removes_arns_and_account_ids() -> None:
    assert redact(DENIED) == (
        "User: <arn> is not authorized to perform: bedrock:InvokeModel on resource: <arn>"
    )
    assert (
        redact(f"account {ACCOUNT}, request 1234567890123")
        == "account <account>, request 1234567890123"
    )


@pytest.mark.parametrize(
    ("error", "summary"),
    [
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": DENIED}}, "Op"),
            "AccessDeniedException",
        ),
        (
            ClientError(
                {
                    "Error": {"Code": DENIED, "Message": DENIED},
                    "ResponseMetadata": {"HTTPStatusCode": 403},
                },
                "Op",
            ),
            "HTTP 403",
        ),
        (EndpointConnectionError(endpoint_url="https://x"), "connection failure"),
        (ReadTimeoutError(endpoint_url="https://x"), "network failure"),
        (RetriesExhaustedError("x", last=aoss.CollectionError(503, DENIED)), "HTTP 503"),
        (aoss.MalformedAnswerError(200, DENIED), "a malformed answer"),
        (KeyError(DENIED), "internal error"),
    ],
)
def test_summaries_never_repeat_the_message(error: BaseException, summary: str) -> None:
    assert summarize(error) == summary


def test_request_id_of_a_lambda_context() -> None:
    class Context:
        aws_request_id = "8f5c"

    assert request_id(Context()) == "8f5c"
    assert request_id(None) == "unknown"
