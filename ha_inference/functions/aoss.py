"""SigV4-signed JSON requests to an OpenSearch Serverless collection, with botocore only.

OpenSearch Serverless signs data-plane requests with service name ``aoss`` and requires the
``x-amz-content-sha256`` header (the SHA-256 of the body), which botocore's ``SigV4Auth`` then
uses as the payload hash. Requests go out through ``urllib`` from the standard library.
"""

from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest

SERVICE = "aoss"
"""The SigV4 signing name of OpenSearch Serverless data-plane requests."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Hosts that may be reached over plain HTTP (a local stand-in for the collection in tests)."""


class Credentials(Protocol):
    """What botocore's frozen credentials provide."""

    access_key: str
    secret_key: str
    token: str | None


class CollectionError(Exception):
    """The collection refused or failed a request (``status`` 0: no HTTP response at all)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(
            f"the vector collection answered HTTP {status}: {detail}"
            if status
            else f"the vector collection could not be reached: {detail}"
        )
        self.status = status
        self.detail = detail

    @property
    def retryable(self) -> bool:
        """Throttling (429), server errors (5xx) and network failures are worth retrying."""
        return self.status in {0, 429} or self.status >= 500


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` without a trailing slash; HTTPS only, except for loopback hosts."""
    parts = urlsplit(endpoint)
    if not parts.hostname or parts.path not in ("", "/") or parts.query:
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
    return endpoint.rstrip("/")


def signed_request(
    url: str, document: Any, *, credentials: Credentials, region: str
) -> urllib.request.Request:
    """A POST of ``document`` as JSON to ``url``, signed with SigV4 for service ``aoss``."""
    body = json.dumps(document, separators=(",", ":")).encode()
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "x-amz-content-sha256": hashlib.sha256(body).hexdigest(),
        },
    )
    SigV4Auth(credentials, SERVICE, region).add_auth(request)
    return urllib.request.Request(
        url, data=body, headers=dict(request.headers.items()), method="POST"
    )


Opener = Callable[..., Any]


def post_json(
    url: str,
    document: Any,
    *,
    credentials: Credentials,
    region: str,
    timeout: float,
    urlopen: Opener = urllib.request.urlopen,
) -> Any:
    """POSTs ``document`` to ``url`` signed for ``aoss`` and returns the decoded JSON answer.

    Raises :class:`CollectionError` for an HTTP error status or a network failure.
    """
    request = signed_request(url, document, credentials=credentials, region=region)
    try:
        with urlopen(request, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")[:500] if err.fp else str(err.reason)
        raise CollectionError(err.code, detail or str(err.reason)) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        reason = getattr(err, "reason", err)
        raise CollectionError(0, str(reason)) from None
    try:
        return json.loads(payload)
    except ValueError:
        raise CollectionError(502, f"the answer is not JSON: {payload[:200]!r}") from None
