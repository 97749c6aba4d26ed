"""Ingestion: embeds documents and writes them to the collection in one ``_bulk`` request.

Handler: ``ingestion.handler``, invoked directly (Lambda ``Invoke``, ``RequestResponse``), for
example by ``ha-inference load-documents``.

Event: ``{"documents": [{"text": str, "id": str (optional), "metadata": {str: str}
(optional)}]}``: at most ``MAX_DOCUMENTS`` documents, each text at most ``MAX_TEXT_CHARS``
characters, each id at most 512 characters, metadata keys among the index's metadata fields
and values at most ``MAX_METADATA_CHARS`` characters.

Result: ``{"indexed": n, "failed": [{"position", "id", "error", "retryable"}], "retryable":
bool, "requestId"}``. ``position`` is the document's index in ``documents``, ``id`` its own id
(or null), ``error`` a short text (an error code or HTTP status, never an AWS message).
``retryable`` (per document and overall): sending those documents again later may succeed
(throttling, an unavailable dependency, the invocation's deadline). A document whose fate is
unknown (the collection's answer was lost after the request went out) is reported with
``retryable`` false: it may be indexed already, and sending it again would index it twice.
An event that is unusable as a whole adds ``"error"`` and ``"field"`` (nothing is indexed); a
missing or invalid setting adds ``"error"`` and ``"setting"``. A fault the handler does not
classify (no credentials, a bug) adds ``"error": "internal error"`` and reports every document
failed (``retryable`` false, "may be indexed already" once the ``_bulk`` request went out):
``failed`` is never empty unless every document was indexed. The handler never raises.

During a partial outage: ``indexed`` counts only documents the collection's ``_bulk`` answer
said it indexed (2xx per item); every other document is in ``failed``, retryable when sending
it again cannot make a second copy.

Documents: ``{<text field>: text, <vector field>: embedding, <id field>: id, <metadata>...}``.
OpenSearch Serverless vector search collections refuse a custom ``_id`` ("Document ID is not
supported in create/index operation request"), so the collection assigns ``_id`` and the
document's own id goes into the index's id field. There is no upsert either: indexing a
document again adds a second copy (load into a new index to replace the passages).

Retries: the embedding call as in retrieval (throttling, 5xx, network failures), and the
``_bulk`` request while the collection turns it away (429, 503) or cannot be reached before
the request is sent; never after a lost answer. Embedding stops early enough to leave
``BULK_RESERVE_SECONDS`` for the ``_bulk`` request; documents not reached by then fail as
retryable. Settings: those of ``store.Store``, ``MAX_DOCUMENTS`` (default 50),
``MAX_TEXT_CHARS`` (20000; Titan V2 takes up to 50000), ``MAX_METADATA_CHARS`` (1024),
``MAX_ATTEMPTS`` (4).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

try:  # ha_inference.functions.ingestion (library, tests) or top-level (Lambda)
    from . import aoss, embeddings, resilience, settings
    from . import store as vector_store
except ImportError:  # pragma: no cover - the Lambda runtime path
    import aoss  # type: ignore[no-redef,import-not-found]
    import embeddings  # type: ignore[no-redef,import-not-found]
    import resilience  # type: ignore[no-redef,import-not-found]
    import settings  # type: ignore[no-redef,import-not-found]
    import store as vector_store  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

RESERVE_SECONDS = 2.0
"""Time kept at the end of the invocation to answer."""

BULK_RESERVE_SECONDS = 20.0
"""Time kept after embedding for the ``_bulk`` request."""

BULK_TIMEOUT_SECONDS = 60.0
BEDROCK_READ_SECONDS = 30.0
MAX_ID_CHARS = 512

FATAL_CODES = frozenset(
    {"AccessDeniedException", "ResourceNotFoundException", "UnrecognizedClientException"}
)
"""Embedding refusals that every later document would meet too: the batch stops there."""


@dataclass(frozen=True)
class Settings:
    """The function's settings, from its environment."""

    store: vector_store.Store
    max_documents: int = 50
    max_text_chars: int = 20_000
    max_metadata_chars: int = 1024
    max_attempts: int = 4

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Settings:
        """Raises :class:`settings.ConfigError` naming the first missing or invalid setting."""
        return cls(
            store=vector_store.Store.from_environment(env),
            max_documents=settings.integer(env, "MAX_DOCUMENTS", 50, 1, 500),
            max_text_chars=settings.integer(env, "MAX_TEXT_CHARS", 20_000, 1, 50_000),
            max_metadata_chars=settings.integer(env, "MAX_METADATA_CHARS", 1024, 1, 8192),
            max_attempts=settings.integer(env, "MAX_ATTEMPTS", 4, 1, 10),
        )


class BadEventError(Exception):
    """The event as a whole is unusable; ``field`` names what to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Document:
    position: int
    text: str
    id: str | None
    metadata: Mapping[str, str]


@dataclass(frozen=True)
class Failure:
    position: int
    id: str | None
    error: str
    retryable: bool

    def report(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "id": self.id,
            "error": self.error,
            "retryable": self.retryable,
        }


class Ingestor:
    """Embeds and indexes batches of documents.

    Tests pass :class:`store.Doubles` for the clients, the backoff and the clock.
    """

    def __init__(self, config: Settings, *, doubles: vector_store.Doubles | None = None) -> None:
        self.config = config
        self.connections = vector_store.Connections(
            config.store,
            max_attempts=config.max_attempts,
            bedrock_read=BEDROCK_READ_SECONDS,
            doubles=doubles,
        )

    def handle(self, event: Any, context: Any = None) -> dict[str, Any]:
        """Indexes one batch; never raises."""
        rid = resilience.request_id(context)
        deadline = self.connections.deadline(context, reserve=RESERVE_SECONDS)
        failures: list[Failure] = []
        bulk = _Bulk()
        try:
            documents = self.parse(event, failures)
            embedded = self._embed_all(documents, deadline, failures)
            indexed = self._index(embedded, deadline, failures, bulk) if embedded else 0
        except BadEventError as err:
            return _result(0, [], rid, error=str(err), field=err.field)
        except Exception:
            LOGGER.exception("unexpected failure (request %s)", rid)
            return _result(0, _unreported(event, failures, bulk.sent), rid, error="internal error")
        LOGGER.info("indexed %d documents, %d failed", indexed, len(failures))
        return _result(indexed, failures, rid)

    def parse(self, event: Any, failures: list[Failure]) -> list[Document]:
        """The usable documents of ``event``; a failure for each unusable one goes to
        ``failures``."""
        if not isinstance(event, dict):
            raise BadEventError(
                'the event must be an object like {"documents": [{"text": "..."}]}, got '
                f"{type(event).__name__}",
                "event",
            )
        entries = event.get("documents")
        if not isinstance(entries, list):
            raise BadEventError(
                f"documents must be a list of documents, got {type(entries).__name__}",
                "documents",
            )
        if len(entries) > self.config.max_documents:
            raise BadEventError(
                f"documents has {len(entries)} entries, over the limit of "
                f"{self.config.max_documents}; send smaller batches",
                "documents",
            )
        documents: list[Document] = []
        for position, entry in enumerate(entries):
            try:
                documents.append(self._document(position, entry))
            except ValueError as err:
                failures.append(Failure(position, _own_id(entry), str(err), False))
        return documents

    def _document(self, position: int, entry: Any) -> Document:
        where = f"documents[{position}]"
        if not isinstance(entry, dict):
            raise ValueError(f"{where} must be an object with text, got {type(entry).__name__}")
        unknown = sorted(set(entry) - {"text", "id", "metadata"})
        if unknown:
            raise ValueError(f"{where}.{unknown[0]} is not a document field (text, id, metadata)")
        text = entry.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValueError(f"{where}.text must be a non-empty string")
        if len(text) > self.config.max_text_chars:
            raise ValueError(
                f"{where}.text is {len(text)} characters long, over the limit of "
                f"{self.config.max_text_chars}; split it into passages"
            )
        own_id = entry.get("id")
        if own_id is not None and (
            not isinstance(own_id, str) or not own_id or len(own_id) > MAX_ID_CHARS
        ):
            raise ValueError(f"{where}.id must be a string of 1-{MAX_ID_CHARS} characters")
        return Document(position, text, own_id, self._metadata(where, entry.get("metadata")))

    def _metadata(self, where: str, metadata: Any) -> dict[str, str]:
        if metadata is None:
            return {}
        if not isinstance(metadata, dict):
            raise ValueError(f"{where}.metadata must be an object of strings")
        fields = self.config.store.index.metadata_fields
        for key, value in metadata.items():
            if key not in fields:
                raise ValueError(
                    f"{where}.metadata.{key} is not a metadata field of the index "
                    f"(fields: {', '.join(fields) or 'none'})"
                )
            if not isinstance(value, str) or len(value) > self.config.max_metadata_chars:
                raise ValueError(
                    f"{where}.metadata.{key} must be a string of at most "
                    f"{self.config.max_metadata_chars} characters"
                )
        return dict(metadata)

    def _embed_all(
        self, documents: Sequence[Document], deadline: resilience.Deadline, failures: list[Failure]
    ) -> list[tuple[Document, list[float]]]:
        """The embedding of each document; the ones that fail go to ``failures``."""
        embedded: list[tuple[Document, list[float]]] = []
        for n, document in enumerate(documents):
            if deadline.remaining() < BULK_RESERVE_SECONDS:
                _fail_all(documents[n:], "not embedded before the deadline", True, failures)
                break
            try:
                embedded.append(
                    (document, self.connections.embedder.embed(document.text, deadline))
                )
            except (resilience.RetriesExhaustedError, resilience.DeadlineExceededError) as err:
                LOGGER.warning("the embedding model is unavailable: %s", resilience.describe(err))
                reason = f"the embedding model is unavailable ({resilience.summarize(err)})"
                _fail_all(documents[n:], reason, True, failures)
                break
            except (ClientError, embeddings.ModelAnswerError) as err:
                LOGGER.error(
                    "the embedding model refused document %d: %s", n, resilience.describe(err)
                )
                reason = f"the embedding model refused the text ({resilience.summarize(err)})"
                if resilience.error_code(err) in FATAL_CODES:
                    _fail_all(documents[n:], reason, False, failures)
                    break
                failures.append(Failure(document.position, document.id, reason, False))
        return embedded

    def _index(
        self,
        embedded: Sequence[tuple[Document, list[float]]],
        deadline: resilience.Deadline,
        failures: list[Failure],
        bulk: _Bulk,
    ) -> int:
        """Writes the embedded documents in one ``_bulk`` request; returns how many it indexed."""
        index = self.config.store.index
        lines: list[Any] = []
        for document, vector in embedded:
            body: dict[str, Any] = {index.text_field: document.text, index.vector_field: vector}
            if document.id is not None:
                body[index.id_field] = document.id
            lines += [{"index": {}}, {**document.metadata, **body}]
        url = self.connections.collection.url(index.name, "_bulk")

        def call(attempt: resilience.Deadline) -> Any:
            return self.connections.collection.request(
                "POST",
                url,
                lines=lines,
                deadline=attempt,
                timeout=BULK_TIMEOUT_SECONDS,
                on_send=bulk.going_out,  # from then on, what fails may have been indexed
            )

        documents = [document for document, _ in embedded]
        try:
            answer = resilience.call_with_retries(
                "OpenSearch Serverless _bulk",
                call,
                deadline=deadline,
                backoff=self.connections.backoff,
                retryable=_safe_to_resend,
            )
        except (
            resilience.RetriesExhaustedError,
            resilience.DeadlineExceededError,
            aoss.CollectionError,
        ) as err:
            LOGGER.error("the _bulk request failed: %s", resilience.describe(err))
            last = err.last if isinstance(err, resilience.RetriesExhaustedError) else err
            if isinstance(last, aoss.CollectionError) and last.may_have_applied:
                reason = (
                    "the collection's answer did not arrive intact "
                    f"({resilience.summarize(err)}); the document may be indexed already"
                )
                _fail_all(documents, reason, False, failures)
            else:
                reason = f"the collection did not index it ({resilience.summarize(err)})"
                _fail_all(documents, reason, _retryable(err), failures)
            return 0
        return _count_items(answer, documents, failures)


@dataclass
class _Bulk:
    """Whether the ``_bulk`` request may have gone out (so its documents may be indexed)."""

    sent: bool = False

    def going_out(self) -> None:
        self.sent = True


INTERNAL_ERROR = "internal error (details in the function's log under this request id)"


def _own_id(entry: Any) -> str | None:
    own_id = entry.get("id") if isinstance(entry, dict) else None
    return own_id if isinstance(own_id, str) else None


def _unreported(event: Any, failures: Sequence[Failure], sent: bool) -> list[Failure]:
    """After a fault the handler does not classify: ``failures`` as they are, and every other
    document of the event failed too (not retryable: the cause is unknown), "may be indexed
    already" once the ``_bulk`` request may have gone out. A caller never reads an empty
    ``failed`` list as success."""
    entries = event.get("documents") if isinstance(event, dict) else None
    if not isinstance(entries, list):
        return list(failures)
    reported = {f.position for f in failures}
    reason = INTERNAL_ERROR + ("; the document may be indexed already" if sent else "")
    return [
        *failures,
        *(
            Failure(position, _own_id(entry), reason, False)
            for position, entry in enumerate(entries)
            if position not in reported
        ),
    ]


def _count_items(answer: Any, documents: Sequence[Document], failures: list[Failure]) -> int:
    """The documents a ``_bulk`` answer says were indexed; the others go to ``failures``."""
    items = answer.get("items") if isinstance(answer, dict) else None
    if not isinstance(items, list) or len(items) != len(documents):
        LOGGER.error("malformed _bulk answer: %.500r", answer)
        reason = "the collection's answer is malformed; the document may be indexed already"
        _fail_all(documents, reason, False, failures)
        return 0
    indexed = 0
    for document, item in zip(documents, items, strict=True):
        outcome = item.get("index") if isinstance(item, dict) else None
        status = outcome.get("status") if isinstance(outcome, dict) else None
        if isinstance(status, int) and 200 <= status < 300:
            indexed += 1
            continue
        error = outcome.get("error") if isinstance(outcome, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        LOGGER.error("document %d was not indexed: %.500r", document.position, outcome)
        reason = f"the collection refused it (HTTP {status}" + (f": {kind})" if kind else ")")
        retryable = isinstance(status, int) and (status == 429 or status >= 500)
        failures.append(Failure(document.position, document.id, reason, retryable))
    return indexed


def _safe_to_resend(err: BaseException) -> bool:
    """Retry a ``_bulk`` request only when it cannot have been applied."""
    return isinstance(err, aoss.CollectionError) and err.retryable and not err.may_have_applied


def _retryable(err: BaseException) -> bool:
    if isinstance(err, resilience.RetriesExhaustedError | resilience.DeadlineExceededError):
        return True
    return isinstance(err, aoss.CollectionError) and err.retryable


def _fail_all(
    documents: Sequence[Document], reason: str, retryable: bool, failures: list[Failure]
) -> None:
    failures.extend(Failure(d.position, d.id, reason, retryable) for d in documents)


def _result(indexed: int, failures: Sequence[Failure], rid: str, **extra: str) -> dict[str, Any]:
    ordered = sorted(failures, key=lambda f: f.position)
    return {
        "indexed": indexed,
        "failed": [f.report() for f in ordered],
        "retryable": any(f.retryable for f in ordered),
        **extra,
        "requestId": rid,
    }


_ingestor: Ingestor | settings.ConfigError | None = None


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda entry point: settings and clients are set up at the first call."""
    global _ingestor  # noqa: PLW0603 - one Ingestor per execution environment
    _ingestor = settings.setup_once(
        _ingestor, lambda: Ingestor(Settings.from_environment(os.environ))
    )
    if isinstance(_ingestor, settings.ConfigError):
        return _result(
            0,
            [],
            resilience.request_id(context),
            error=settings.misconfigured(_ingestor),
            setting=_ingestor.setting,
        )
    return _ingestor.handle(event, context)
