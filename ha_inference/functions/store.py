"""Where a handler's vectors live: the collection, its index and the embedding model.

The settings retrieval and ingestion share, read from the same environment variables, so that
the two always embed with the same model into (and search) the same index.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

try:  # ha_inference.functions.store (library, tests) or top-level (Lambda)
    from . import aoss, embeddings, settings
    from .resilience import Backoff, ClientCache
    from .vector_index import IndexDefinition, check_embedding_dimension
except ImportError:  # pragma: no cover - the Lambda runtime path
    import aoss  # type: ignore[no-redef,import-not-found]
    import embeddings  # type: ignore[no-redef,import-not-found]
    import settings  # type: ignore[no-redef,import-not-found]
    from resilience import Backoff, ClientCache  # type: ignore[no-redef,import-not-found]
    from vector_index import (  # type: ignore[no-redef,import-not-found]
        IndexDefinition,
        check_embedding_dimension,
    )


@dataclass(frozen=True)
class Store:
    """The collection endpoint, the index definition and the embedding model, in ``region``.

    Environment: ``COLLECTION_ENDPOINT``, ``EMBEDDING_MODEL_ID`` and ``AWS_REGION`` (required),
    and the index variables of :meth:`IndexDefinition.from_environment`.
    """

    collection_endpoint: str
    embedding_model_id: str
    region: str
    index: IndexDefinition = field(default_factory=IndexDefinition)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> Store:
        """Raises :class:`settings.ConfigError` naming the first missing or invalid setting."""
        endpoint = settings.required(env, "COLLECTION_ENDPOINT")
        try:
            endpoint = aoss.check_endpoint(endpoint)
        except ValueError as err:
            raise settings.ConfigError("COLLECTION_ENDPOINT", str(err)) from None
        index = IndexDefinition.from_environment(env)
        model_id = settings.required(env, "EMBEDDING_MODEL_ID")
        try:
            check_embedding_dimension(model_id, index.dimension, label="EMBEDDING_DIMENSIONS")
        except ValueError as err:
            raise settings.ConfigError("EMBEDDING_DIMENSIONS", str(err)) from None
        return cls(
            collection_endpoint=endpoint,
            embedding_model_id=model_id,
            region=settings.required(env, "AWS_REGION"),
            index=index,
        )

    def collection(
        self,
        *,
        credentials: aoss.CredentialsProvider | None = None,
        urlopen: aoss.Opener | None = None,
    ) -> aoss.Collection:
        return aoss.Collection(
            self.collection_endpoint, region=self.region, credentials=credentials, urlopen=urlopen
        )

    def bedrock(
        self, factory: Callable[[Config], Any] | None = None, *, read: float
    ) -> ClientCache:
        """``bedrock-runtime`` clients in the store's Region, timeouts within the time left."""
        return ClientCache(
            factory or embeddings.bedrock_runtime(self.region), connect=3.0, read=read
        )

    def embedder(self, clients: ClientCache, backoff: Backoff) -> embeddings.TitanEmbedder:
        return embeddings.TitanEmbedder(
            self.embedding_model_id, self.index.dimension, clients=clients, backoff=backoff
        )
