"""Bedrock service tiers in the shipped handlers: a typed setting, checked when the function
starts, sent as Converse ``serviceTier`` and as InvokeModel's ``X-Amzn-Bedrock-Service-Tier``
header (every request checked strictly against botocore's model), and nothing sent by default."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ha_inference.functions import embeddings, ingestion, retrieval
from ha_inference.functions.settings import ConfigError
from ha_inference.functions.store import Store
from tests.support.collection_stub import (
    REGION,
    CollectionServer,
    Context,
    FakeBedrock,
    serve_collection,
    use_fake_credentials,
)

pytestmark = pytest.mark.usefixtures("requests_the_service_accepts")

EMBEDDING = [0.25] * 256
HIT = {"_id": "1", "_score": 0.9, "_source": {"text": "Standby replicas run in another AZ."}}


@pytest.fixture
def collection(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CollectionServer]:
    use_fake_credentials(monkeypatch, tmp_path)
    with serve_collection() as server:
        yield server


def environment(endpoint: str, **tiers: str) -> dict[str, str]:
    return {
        "MODEL_ID": "us.anthropic.claude-sonnet-5-5",
        "EMBEDDING_MODEL_ID": "amazon.titan-embed-text-v2:0",
        "COLLECTION_ENDPOINT": endpoint,
        "EMBEDDING_DIMENSIONS": "256",
        "AWS_REGION": REGION,
        **tiers,
    }


def ask(
    monkeypatch: pytest.MonkeyPatch,
    collection: CollectionServer,
    bedrock: FakeBedrock,
    **tiers: str,
) -> dict[str, object]:
    for name, value in environment(collection.url, **tiers).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(retrieval, "_retriever", None)
    bedrock.embedding(EMBEDDING)
    collection.answer(200, {"hits": {"hits": [HIT]}})
    bedrock.answer()
    response = retrieval.handler({"question": "How?"}, Context())
    assert response["statusCode"] == 200, response
    return response


def test_sends_no_tier_by_default(
    monkeypatch: pytest.MonkeyPatch, collection: CollectionServer, bedrock: FakeBedrock
) -> None:
    ask(monkeypatch, collection, bedrock)
    (converse,) = bedrock.called("Converse")
    assert "serviceTier" not in converse.body
    (embed,) = bedrock.called("InvokeModel")
    assert "X-Amzn-Bedrock-Service-Tier" not in embed.headers


def test_sends_the_configured_tiers(
    monkeypatch: pytest.MonkeyPatch, collection: CollectionServer, bedrock: FakeBedrock
) -> None:
    ask(
        monkeypatch,
        collection,
        bedrock,
        SERVICE_TIER="priority",
        EMBEDDING_SERVICE_TIER="flex",
    )
    (converse,) = bedrock.called("Converse")
    assert converse.body["serviceTier"] == {"type": "priority"}
    (embed,) = bedrock.called("InvokeModel")
    assert embed.headers["X-Amzn-Bedrock-Service-Tier"] == "flex"


def test_ingestion_embeds_with_the_embedding_tier() -> None:
    env = environment("https://abc123.us-east-1.aoss.amazonaws.com", EMBEDDING_SERVICE_TIER="flex")
    assert ingestion.Settings.from_environment(env).store.embedding_service_tier == "flex"


@pytest.mark.parametrize("name", ["SERVICE_TIER", "EMBEDDING_SERVICE_TIER"])
def test_fails_at_start_on_an_unknown_tier(name: str) -> None:
    env = environment("https://abc123.us-east-1.aoss.amazonaws.com", **{name: "fast"})
    with pytest.raises(ConfigError, match=rf"^{name} must be one of priority, default, flex, "):
        retrieval.Settings.from_environment(env)


def test_fails_at_start_when_the_runtime_botocore_cannot_send_a_tier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Lambda runtime whose botocore predates service tiers would refuse every request; the
    function says so once, naming the setting, instead."""
    monkeypatch.setattr(embeddings, "_input_members", lambda operation: frozenset({"modelId"}))
    with pytest.raises(ConfigError, match=r"^SERVICE_TIER is flex, but botocore .* cannot send"):
        embeddings.service_tier({"SERVICE_TIER": "flex"}, "SERVICE_TIER", operation="Converse")


def test_a_bad_tier_is_answered_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, collection: CollectionServer
) -> None:
    for name, value in environment(collection.url, SERVICE_TIER="Flex").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(retrieval, "_retriever", None)
    response = retrieval.handler({"question": "How?"}, Context())
    assert response["statusCode"] == 500
    body = json.loads(response["body"])
    assert body["setting"] == "SERVICE_TIER" and "Flex" not in body["error"]


def test_the_pinned_botocore_knows_every_tier() -> None:
    """The tiers the handlers accept are the ones botocore's model lists (ServiceTierType)."""
    assert embeddings._input_members("Converse") >= {"serviceTier"}
    assert embeddings._input_members("InvokeModel") >= {"serviceTier"}
    import botocore.session  # noqa: PLC0415 - only here

    model = botocore.session.get_session().get_service_model("bedrock-runtime")
    assert tuple(model.shape_for("ServiceTierType").enum) == embeddings.SERVICE_TIERS
    assert Store.__dataclass_fields__["embedding_service_tier"].default is None


def test_an_scp_denial_is_named_without_its_arns(
    monkeypatch: pytest.MonkeyPatch, collection: CollectionServer, bedrock: FakeBedrock
) -> None:
    """A destination Region denied by the organization reaches the caller as a 502 that says so
    (for ha-inference verify's remedy), never with the ARNs of AWS's message."""
    for name, value in environment(collection.url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(retrieval, "_retriever", None)
    bedrock.embedding(EMBEDDING)
    collection.answer(200, {"hits": {"hits": [HIT]}})
    bedrock.error(
        "Converse",
        "AccessDeniedException",
        403,
        "User: arn:aws:sts::111111111111:assumed-role/answers/x is not authorized to perform: "
        "bedrock:InvokeModel on resource: arn:aws:bedrock:us-west-2::foundation-model/m with an "
        "explicit deny in a service control policy",
    )
    response = retrieval.handler({"question": "How?"}, Context())
    body = json.loads(response["body"])
    assert response["statusCode"] == 502
    assert body["error"] == (
        "Bedrock refused the request or answered badly (AccessDeniedException, an explicit deny "
        "in a service control policy)"
    )
    assert "arn:" not in response["body"]
