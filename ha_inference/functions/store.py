"""Where a handler's vectors live: the collection, its index and the embedding model.

The settings retrieval and ingestion share, read from the same environment variables, so that
the two always embed with the same model into (and search) the same index.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

try:  # ha_inference.functions.store (library, tests) or top-level (Lambda)
    from . import aoss, embeddings, resilience, settings, vector_index
except ImportError:  # pragma: no cover - the Lambda runtime path
    import aoss  # type: ignore[no-redef,import-not-found]
    import embeddings  # type: ignore[no-redef,import-not-found]
    import resilience  # type: ignore[no-redef,import-not-found]
    import settings  # type: ignore[no-redef,import-not-found]
    import vector_index  # type: ignore[no-redef,import-not-found]


@dataclass(frozen=True)
class Store:
    """The collection endpoint, the index definition and the embedding model, in ``region``.

    Environment: ``COLLECTION_ENDPOINT``, ``EMBEDDING_MODEL_ID`` and ``AWS_REGION`` (required),
    the index variables of :meth:`IndexDefinition.from_environment`, and
    ``EMBEDDING_SERVICE_TIER`` (Bedrock's service tier for the embedding calls; unset: Bedrock's
    default).
    """

    collection_endpoint: str
    embedding_model_id: str
    region: str
    index: vector_index.IndexDefinition = field(default_factory=vector_index.IndexDefinition)
    embedding_service_tier: str | None = None

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Store:
        """Raises :class:`settings.ConfigError` naming the first missing or invalid setting."""
        endpoint = settings.required(env, "COLLECTION_ENDPOINT")
        try:
            endpoint = aoss.check_endpoint(endpoint)
        except ValueError as err:
            raise settings.ConfigError("COLLECTION_ENDPOINT", str(err)) from None
        index = vector_index.IndexDefinition.from_environment(env)
        model_id = settings.required(env, "EMBEDDING_MODEL_ID")
        try:
            vector_index.check_embedding_dimension(
                model_id, index.dimension, label="EMBEDDING_DIMENSIONS"
            )
        except ValueError as err:
            raise settings.ConfigError("EMBEDDING_DIMENSIONS", str(err)) from None
        return cls(
            collection_endpoint=endpoint,
            embedding_model_id=model_id,
            region=settings.required(env, "AWS_REGION"),
            index=index,
            embedding_service_tier=embeddings.service_tier(
                env, "EMBEDDING_SERVICE_TIER", operation="InvokeModel"
            ),
        )


@dataclass(frozen=True)
class Doubles:
    """Stand-ins a test gives a handler for what it reaches; each is optional."""

    bedrock: Callable[[Config], Any] | None = None
    """Builds a ``bedrock-runtime`` client from a botocore ``Config``."""
    credentials: aoss.CredentialsProvider | None = None
    urlopen: aoss.Opener | None = None
    backoff: resilience.Backoff | None = None
    clock: Callable[[], float] = time.monotonic


MODEL_NOT_READY = "ModelNotReadyException"
"""Bedrock's answer while it loads a model it unloaded (an imported model idle for a while)."""


class Connections:
    """How a handler reaches its store: ``bedrock`` clients whose timeouts fit the time left
    (reads at most ``bedrock_read`` seconds), the ``embedder``, the ``collection``, one
    ``backoff`` (``max_attempts`` attempts per call), the ``loading`` wait for a model Bedrock
    is loading (at most ``model_loading_seconds``, backoff 2 s doubling to 8 s) and the
    ``clock`` deadlines run on."""

    def __init__(
        self,
        store: Store,
        *,
        max_attempts: int,
        bedrock_read: float,
        doubles: Doubles | None = None,
        model_loading_seconds: float = 0.0,
    ) -> None:
        doubles = doubles or Doubles()
        self.clock = doubles.clock
        self.backoff = doubles.backoff or resilience.Backoff(max_attempts=max_attempts)
        self.loading = (
            resilience.Loading(
                codes=frozenset({MODEL_NOT_READY}),
                seconds=model_loading_seconds,
                backoff=resilience.Backoff(
                    max_attempts=20,
                    base_delay=2.0,
                    max_delay=8.0,
                    sleep=self.backoff.sleep,
                    jitter=self.backoff.jitter,
                ),
            )
            if model_loading_seconds > 0
            else None
        )
        self.bedrock = resilience.ClientCache(
            doubles.bedrock or embeddings.bedrock_runtime(store.region),
            connect=3.0,
            read=bedrock_read,
        )
        self.embedder = embeddings.TitanEmbedder(
            store.embedding_model_id,
            store.index.dimension,
            clients=self.bedrock,
            backoff=self.backoff,
            loading=self.loading,
            service_tier=store.embedding_service_tier,
        )
        self.collection = aoss.Collection(
            store.collection_endpoint,
            region=store.region,
            credentials=doubles.credentials,
            urlopen=doubles.urlopen,
        )

    def deadline(self, context: Any, *, reserve: float) -> resilience.Deadline:
        """The invocation's deadline (from the Lambda ``context``) on this clock."""
        return resilience.Deadline(context, reserve=reserve, clock=self.clock)
