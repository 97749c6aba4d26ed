"""CloudFormation custom resource: creates the k-NN index of a vector collection.

Handler: ``create_index.on_event``, the ``onEvent`` handler of aws-cdk-lib's
``custom_resources.Provider``. The framework answers CloudFormation: it reports SUCCESS with what
this handler returns and FAILED with the message of what it raises (in the stack event's reason,
followed by a pointer to the framework's log group and a Node stack trace; the whole response
must stay under 4096 bytes, so messages here are capped at :data:`MAX_MESSAGE_BYTES` bytes of
UTF-8, with ARNs and account ids removed).

Resource properties: ``CollectionEndpoint`` (the collection's ``https://`` endpoint) and
``Index`` (``vector_index.IndexDefinition.to_properties()``; numbers may arrive as strings).

* Create and Update: ``GET /<index>``; when the index does not exist, ``PUT /<index>`` with
  ``IndexDefinition.mapping()``. When it exists (or a concurrent PUT made it), its vector field
  must have the definition's dimension, engine and space type: then it is kept as it is;
  otherwise the request fails with a message saying the index needs a new name (an index's
  vector field cannot change).
* Delete: deletes nothing. The index lives and dies with its collection (deleting the collection
  deletes it), and the function's role is not granted ``aoss:DeleteIndex``, so that a stack
  update that renames the index never destroys the passages of the old one.

Physical id: ``<collection host>/<index name>``, so a new index name or collection makes
CloudFormation replace the resource (and send a Delete, which does nothing, for the old id).
``Data``: ``{"IndexName": ...}``.

Retries until the deadline (the function's timeout less :data:`RESERVE_SECONDS`): a new data
access policy takes about a minute to apply (401/403 until then), and on a first deploy the
collection's VPC endpoint DNS may not resolve yet (network failures) or the collection may not
serve its endpoint yet (404 other than ``index_not_found_exception``); throttling (429) and
server errors (5xx) as well. Backoff doubles from 1 s to at most 20 s, with full jitter. Other
refusals (400: a mapping the collection rejects) fail at once.

During a partial outage of the collection: SUCCESS only after the collection acknowledged the
``PUT`` or showed the index with the definition's vector field; a collection that keeps
refusing, failing or not answering until the deadline fails the request with what to check
(the framework answers FAILED, the deploy rolls back); nothing is reported created that was not.

Environment: ``AWS_REGION`` (set by Lambda). Permissions: IAM ``aoss:APIAccessAll`` on the
collection; data access ``aoss:DescribeIndex`` and ``aoss:CreateIndex`` on the index.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

try:  # ha_inference.functions.create_index (library, tests) or top-level (Lambda)
    from . import aoss, resilience, settings, vector_index
except ImportError:  # pragma: no cover - the Lambda runtime path
    import aoss  # type: ignore[no-redef,import-not-found]
    import resilience  # type: ignore[no-redef,import-not-found]
    import settings  # type: ignore[no-redef,import-not-found]
    import vector_index  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

RESERVE_SECONDS = 30.0
"""Time kept at the end of the invocation for the framework to answer CloudFormation."""

MAX_MESSAGE_BYTES = 1500
"""Longest failure message; the framework adds a log pointer and a stack trace to it."""

REQUEST_TIMEOUT_SECONDS = 30.0

RETRY_STATUSES = frozenset({0, 401, 403, 404, 429})
"""Collection answers retried until the deadline, besides 5xx (0: no answer)."""


class ResourceError(Exception):
    """A failed request; its message (what CloudFormation shows) is capped and redacted."""

    def __init__(self, message: str) -> None:
        super().__init__(resilience.truncate_utf8(resilience.redact(message), MAX_MESSAGE_BYTES))


class IndexMismatchError(ResourceError):
    """An index of that name exists with another vector field; it needs a new name."""


class IndexCreationError(ResourceError):
    """The index could not be created; the message says why and what to check."""


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point for the provider framework."""
    return handle(event, context)


def handle(
    event: Mapping[str, Any],
    context: Any,
    *,
    urlopen: aoss.Opener | None = None,
    credentials: aoss.CredentialsProvider | None = None,
    backoff: resilience.Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Handles one request: returns the framework's result or raises with a short message.

    Tests pass ``urlopen``, ``credentials``, ``backoff`` and ``clock``.
    """
    request_type = event.get("RequestType")
    LOGGER.info("%s request for %s", request_type, event.get("LogicalResourceId"))
    if request_type == "Delete":
        LOGGER.info("Delete keeps the index: it goes with its collection")
        return {"PhysicalResourceId": event.get("PhysicalResourceId")}
    if request_type not in {"Create", "Update"}:
        raise ValueError(f"RequestType must be Create, Update or Delete, got {request_type!r}")
    try:
        collection, index = _read_properties(
            event.get("ResourceProperties") or {}, urlopen=urlopen, credentials=credentials
        )
        creator = IndexCreator(
            collection,
            deadline=resilience.Deadline(context, reserve=RESERVE_SECONDS, clock=clock),
            backoff=backoff
            or resilience.Backoff(max_attempts=10_000, base_delay=1.0, max_delay=20.0),
        )
        outcome = creator.ensure(index)
    except ResourceError as err:
        LOGGER.error("%s failed: %s", request_type, err)
        raise
    except settings.ConfigError as err:
        LOGGER.error("%s failed: %s", request_type, err)
        raise ResourceError(str(err)) from err
    except Exception as err:
        LOGGER.exception("%s failed unexpectedly", request_type)
        raise ResourceError(f"unexpected failure ({type(err).__name__}: {err})") from err
    LOGGER.info("index %s %s on %s", index.name, outcome, collection.host)
    return {
        "PhysicalResourceId": f"{collection.host}/{index.name}",
        "Data": {"IndexName": index.name},
    }


def _read_properties(
    properties: Mapping[str, Any],
    *,
    urlopen: aoss.Opener | None,
    credentials: aoss.CredentialsProvider | None,
) -> tuple[aoss.Collection, vector_index.IndexDefinition]:
    endpoint = properties.get("CollectionEndpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise settings.ConfigError(
            "CollectionEndpoint",
            f"CollectionEndpoint must be the collection's https endpoint, got {endpoint!r}",
        )
    try:
        collection = aoss.Collection(
            endpoint,
            region=settings.required(os.environ, "AWS_REGION"),
            urlopen=urlopen,
            credentials=credentials,
        )
    except ValueError as err:
        message = str(err).replace("COLLECTION_ENDPOINT", "CollectionEndpoint")
        raise settings.ConfigError("CollectionEndpoint", message) from None
    return collection, vector_index.IndexDefinition.from_properties(
        properties.get("Index"), prefix="Index"
    )


class IndexCreator:
    """Makes sure an index exists on ``collection`` with the definition's vector field."""

    def __init__(
        self,
        collection: aoss.Collection,
        *,
        deadline: resilience.Deadline,
        backoff: resilience.Backoff,
    ) -> None:
        self.collection = collection
        self.deadline = deadline
        self.backoff = backoff

    def ensure(self, index: vector_index.IndexDefinition) -> str:
        """``"created"`` or ``"kept"``; raises :class:`IndexMismatchError` or
        :class:`IndexCreationError`."""
        url = self.collection.url(index.name)
        started = self.deadline.remaining()

        def attempt(deadline: resilience.Deadline) -> str:
            existing = self._describe(url, deadline)
            if existing is None:
                try:
                    self.collection.request(
                        "PUT",
                        url,
                        document=index.mapping(),
                        deadline=deadline,
                        timeout=REQUEST_TIMEOUT_SECONDS,
                    )
                    return "created"
                except aoss.CollectionError as err:
                    if "resource_already_exists_exception" not in err.detail:
                        raise
                    LOGGER.info("index %s was created meanwhile", index.name)
                    existing = self._describe(url, deadline) or {}
            _check_vector_field(existing, index)
            return "kept"

        try:
            return resilience.call_with_retries(
                f"creating index {index.name}",
                attempt,
                deadline=self.deadline,
                backoff=self.backoff,
                retryable=_retryable,
            )
        except resilience.RetriesExhaustedError as err:
            waited = started - self.deadline.remaining()
            raise IndexCreationError(
                f"index {index.name} could not be created on {self.collection.host}: the "
                f"collection kept answering {resilience.summarize(err.last)} for {waited:.0f} s; "
                f"{_advice(err.last, index)}"
            ) from err
        except aoss.CollectionError as err:
            LOGGER.error("the collection refused: %s", resilience.describe(err))
            detail = resilience.redact(err.detail)[:600]
            raise IndexCreationError(
                f"the collection refused to create index {index.name} "
                f"({resilience.summarize(err)}: {detail})"
            ) from err

    def _describe(self, url: str, deadline: resilience.Deadline) -> Any:
        """The index's ``GET`` answer, or ``None`` when the collection says it does not exist."""
        try:
            return self.collection.request(
                "GET", url, deadline=deadline, timeout=REQUEST_TIMEOUT_SECONDS
            )
        except aoss.CollectionError as err:
            if err.status == 404 and "index_not_found_exception" in err.detail:
                return None
            raise


def _retryable(err: BaseException) -> bool:
    if isinstance(err, aoss.MalformedAnswerError):
        return False
    if isinstance(err, aoss.CollectionError):
        return err.status in RETRY_STATUSES or err.status >= 500
    return False


def _check_vector_field(answer: Any, index: vector_index.IndexDefinition) -> None:
    """Raises :class:`IndexMismatchError` unless the existing index's vector field matches."""
    entry = answer.get(index.name) if isinstance(answer, dict) else None
    if entry is None and isinstance(answer, dict) and len(answer) == 1:
        entry = next(iter(answer.values()))  # answered under the concrete name of an alias
    properties = _dig(entry, "mappings", "properties")
    field = properties.get(index.vector_field) if isinstance(properties, dict) else None
    if not isinstance(field, dict) or field.get("type") != "knn_vector":
        found = "no knn_vector field"
    else:
        method = field.get("method")
        method = method if isinstance(method, dict) else {}
        actual = (
            _as_int(field.get("dimension")),
            method.get("engine", "unstated"),
            method.get("space_type") or field.get("space_type") or "l2",
        )
        if actual == index.vector_method():
            return
        found = f"dimension {actual[0]}, engine {actual[1]}, space type {actual[2]}"
    dimension, engine, space_type = index.vector_method()
    raise IndexMismatchError(
        f"index {index.name} already exists with {found} in {index.vector_field}, but the "
        f"definition asks for dimension {dimension}, engine {engine}, space type "
        f"{space_type}; a vector field cannot change, so give the index a new name "
        "(IndexDefinition name) and load the documents into it"
    )


def _advice(err: BaseException, index: vector_index.IndexDefinition) -> str:
    status = getattr(err, "status", None)
    if status in {401, 403}:
        return (
            "a new data access policy takes about a minute to apply; check that the "
            "collection's data access policy grants this function's role aoss:CreateIndex and "
            f"aoss:DescribeIndex on index/<collection>/{index.name}, and that its IAM policy "
            "allows aoss:APIAccessAll on the collection"
        )
    if status == 404:
        return "the collection is not serving its endpoint; check that it is ACTIVE"
    if status == 0:
        return (
            "the endpoint could not be reached; check the collection's VPC endpoint, its "
            "security group (HTTPS from this function) and the collection's network policy"
        )
    return "the collection is throttling or failing; deploy again later"


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
