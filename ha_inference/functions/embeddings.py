"""Text embeddings from Titan Text Embeddings V2 through Bedrock, bounded by the deadline.

The request is Titan V2's ``{"inputText", "dimensions", "normalize": true}`` and the answer
``{"embedding": [...]}``; normalized vectors rank the same under L2, inner product and cosine.
Calls go through a :class:`~resilience.ClientCache` (timeouts within the time left, botocore
retries off) and :func:`~resilience.call_with_retries` (throttling and network failures).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

import boto3
import botocore
import botocore.session
from botocore.config import Config

try:  # ha_inference.functions.embeddings (library, tests) or top-level (Lambda)
    from . import settings
    from .resilience import Backoff, ClientCache, Deadline, Loading, call_with_retries
except ImportError:  # pragma: no cover - the Lambda runtime path
    import settings  # type: ignore[no-redef,import-not-found]
    from resilience import (  # type: ignore[no-redef,import-not-found]
        Backoff,
        ClientCache,
        Deadline,
        Loading,
        call_with_retries,
    )

EMBEDDING_CALL = "Bedrock InvokeModel (embedding)"

SERVICE_TIERS = ("priority", "default", "flex", "reserved")
"""Bedrock's service tiers (botocore ``bedrock-runtime`` ``ServiceTierType``): sent as the
``X-Amzn-Bedrock-Service-Tier`` header of InvokeModel (``serviceTier``) and as
``serviceTier: {"type": ...}`` in a Converse request. Not sending one leaves the choice to
Bedrock (its default tier); ``reserved`` needs a reservation arranged with AWS."""


@cache
def _input_members(operation: str) -> frozenset[str]:
    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    return frozenset(model.operation_model(operation).input_shape.members)


def service_tier(env: Mapping[str, str], name: str, *, operation: str) -> str | None:
    """The service tier in ``name`` (``None`` when unset: Bedrock's default), checked against
    the tiers Bedrock has and against the botocore of this runtime, which must know
    ``serviceTier`` for ``operation`` (botocore validates every request before it sends it)."""
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if raw not in SERVICE_TIERS:
        raise settings.ConfigError(
            name, f"{name} must be one of {', '.join(SERVICE_TIERS)}, got {raw!r}"
        )
    if "serviceTier" not in _input_members(operation):
        raise settings.ConfigError(
            name,
            f"{name} is {raw}, but botocore {botocore.__version__} in this runtime cannot send a "
            f"service tier on bedrock-runtime {operation}; unset {name} or ship a newer botocore",
        )
    return raw


class ModelAnswerError(Exception):
    """A Bedrock model answered, but not with what its API promises; retrying will not help."""

    summary = "a malformed answer"


def bedrock_runtime(region: str) -> Callable[[Config], Any]:
    """A factory of ``bedrock-runtime`` clients in ``region`` for a :class:`ClientCache`."""

    def build(config: Config) -> Any:
        return boto3.client("bedrock-runtime", region_name=region, config=config)

    return build


class TitanEmbedder:
    """Embeds text with ``model_id`` into ``dimensions`` normalized values."""

    def __init__(
        self,
        model_id: str,
        dimensions: int,
        *,
        clients: ClientCache,
        backoff: Backoff,
        loading: Loading | None = None,
        service_tier: str | None = None,
    ) -> None:
        self.model_id = model_id
        self.dimensions = dimensions
        self._clients = clients
        self._backoff = backoff
        self._loading = loading
        self._tier = {"serviceTier": service_tier} if service_tier else {}

    def embed(self, text: str, deadline: Deadline) -> list[float]:
        """The embedding of ``text``, retried through throttling and network failures.

        Raises :class:`ModelAnswerError` for an answer without a usable embedding, the
        ``ClientError`` of a refused request, or what :func:`call_with_retries` raises.
        """
        body = json.dumps({"inputText": text, "dimensions": self.dimensions, "normalize": True})

        def call(attempt: Deadline) -> list[float]:
            response = self._clients.get(attempt).invoke_model(
                modelId=self.model_id,
                body=body,
                contentType="application/json",
                accept="application/json",
                **self._tier,
            )
            return parse_embedding(response["body"].read(), self.dimensions)

        return call_with_retries(
            EMBEDDING_CALL, call, deadline=deadline, backoff=self._backoff, loading=self._loading
        )


def parse_embedding(raw: bytes, dimensions: int) -> list[float]:
    """The ``embedding`` of a Titan V2 answer: ``dimensions`` finite numbers."""
    try:
        answer = json.loads(raw)
    except (ValueError, RecursionError):
        raise ModelAnswerError("the embedding model's answer is not JSON") from None
    embedding = answer.get("embedding") if isinstance(answer, dict) else None
    if not isinstance(embedding, list) or len(embedding) != dimensions:
        raise ModelAnswerError(
            f"the embedding model did not answer with {dimensions} values "
            f"(got {len(embedding) if isinstance(embedding, list) else type(embedding).__name__})"
        )
    if not all(
        isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)
        for x in embedding
    ):
        raise ModelAnswerError("the embedding model answered with values that are not numbers")
    return [float(x) for x in embedding]
