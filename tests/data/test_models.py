"""The model table and the container registries: each row as its source says."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from ha_inference.data import images
from ha_inference.data.images import (
    HUGGING_FACE_TGI_DIGESTS,
    HUGGING_FACE_TGI_REGISTRIES,
    HUGGING_FACE_TGI_TAG,
    PinnedDigest,
    check_digests,
    hugging_face_tgi_image,
)
from ha_inference.data.models import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    MODEL_CARDS,
    READ_ON,
    ModelCard,
    ModelStatus,
)
from ha_inference.regions import AVAILABILITY_ZONES, Geography, partition_of
from tests.support import ROOT

CARDS = sorted(MODEL_CARDS.values(), key=lambda c: c.model_id)
US = ("us-east-1", "us-east-2", "us-west-2")


@pytest.mark.parametrize("card", CARDS, ids=lambda c: c.model_id)
def test_every_row_names_its_card_and_when_it_was_read(card: ModelCard) -> None:
    assert card.card.startswith("https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-")
    assert card.read.startswith(READ_ON)
    assert card.lifecycle.source
    assert set(card.unverified) <= set(card.routes)
    for geography, table in card.routes.items():
        assert table.geography is geography
        for source, destinations in table.routes.items():
            assert source in destinations, f"{card.model_id} {geography}: {source}"
            assert destinations <= set(AVAILABILITY_ZONES)
            assert {partition_of(r) for r in destinations} == {partition_of(source)}


def test_default_chat_model_is_active_with_verified_routes_from_every_default_region() -> None:
    default_regions = json.loads((ROOT / "cdk.json").read_text())["context"]["ha-inference:regions"]
    card = MODEL_CARDS[DEFAULT_CHAT_MODEL]
    today = datetime.now(UTC).date()
    assert card.lifecycle.status_on(today) is ModelStatus.ACTIVE
    assert Geography.US not in card.unverified
    us = card.routes[Geography.US]
    for region in default_regions:
        assert us.destinations(region) == set(US), region


def test_sonnet_5_5_card() -> None:
    """The card's Geo tables: US from six sources, EU from eight, London and Zurich routing to
    themselves too; no APAC, JP or AU profile; Tel Aviv only through global."""
    card = MODEL_CARDS["anthropic.claude-sonnet-5-5"]
    assert card.geographies == (Geography.US, Geography.EU, Geography.GLOBAL)
    us, eu = card.routes[Geography.US], card.routes[Geography.EU]
    assert us.source_regions == {*US, "us-west-1", "ca-central-1", "ca-west-1"}
    assert us.destinations("us-west-1") == {*US, "us-west-1"}
    assert us.destinations("ca-west-1") == {*US, "ca-west-1"}
    assert len(eu.source_regions) == 8
    assert "il-central-1" not in eu.source_regions
    assert eu.destinations("eu-west-2") - eu.destinations("eu-west-1") == {"eu-west-2"}
    assert "il-central-1" in card.routes[Geography.GLOBAL].source_regions
    assert card.lifecycle.end_of_life_no_sooner_than == date(2027, 9, 28)


def test_sonnet_4_5_card_has_no_canadian_west_israeli_or_apac_source() -> None:
    card = MODEL_CARDS["anthropic.claude-sonnet-4-5-20250929-v1:0"]
    assert "ca-west-1" not in card.routes[Geography.US].source_regions
    assert "il-central-1" not in card.routes[Geography.EU].source_regions
    assert Geography.APAC not in card.routes
    assert Geography.US_GOV in card.unverified


@pytest.mark.parametrize(
    ("model_id", "day", "status"),
    [
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", date(2026, 10, 7), ModelStatus.ACTIVE),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", date(2026, 10, 8), ModelStatus.LEGACY),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", date(2026, 12, 8), ModelStatus.LEGACY),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", date(2027, 4, 7), ModelStatus.LEGACY),
        ("anthropic.claude-sonnet-4-5-20250929-v1:0", date(2027, 4, 8), ModelStatus.END_OF_LIFE),
        ("anthropic.claude-sonnet-4-20250514-v1:0", date(2026, 10, 13), ModelStatus.LEGACY),
        ("anthropic.claude-sonnet-4-20250514-v1:0", date(2026, 10, 14), ModelStatus.END_OF_LIFE),
        ("anthropic.claude-opus-4-1-20250805-v1:0", date(2027, 1, 8), ModelStatus.END_OF_LIFE),
        ("anthropic.claude-sonnet-5-5", date(2027, 12, 31), ModelStatus.ACTIVE),
    ],
)
def test_lifecycle_by_date(model_id: str, day: date, status: ModelStatus) -> None:
    assert MODEL_CARDS[model_id].lifecycle.status_on(day) is status


def test_embedding_model_regions() -> None:
    """Titan Text Embeddings V2 in-Region: 21 of the library's 38 Regions."""
    regions = MODEL_CARDS[DEFAULT_EMBEDDING_MODEL].in_region
    assert regions is not None and len(regions) == 21
    assert set(US) <= regions
    missing = set(AVAILABILITY_ZONES) - regions
    assert {"ca-west-1", "us-west-1", "il-central-1", "me-south-1", "cn-north-1"} <= missing


def test_tgi_images_come_from_each_regions_registry() -> None:
    """763104351884 publishes the container in 16 of the 38 Regions; the others (newer Regions,
    GovCloud, China) have their own account, and China its own domain."""
    assert set(HUGGING_FACE_TGI_REGISTRIES) == set(AVAILABILITY_ZONES)
    assert sum(a == "763104351884" for a in HUGGING_FACE_TGI_REGISTRIES.values()) == 16
    assert hugging_face_tgi_image("us-east-1") == (
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
        "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
    )
    assert hugging_face_tgi_image("ap-southeast-3").startswith(
        "907027046896.dkr.ecr.ap-southeast-3.amazonaws.com/"
    )
    assert hugging_face_tgi_image("us-gov-west-1").startswith(
        "442386744353.dkr.ecr.us-gov-west-1.amazonaws.com/"
    )
    assert hugging_face_tgi_image("cn-north-1").startswith(
        "727897471807.dkr.ecr.cn-north-1.amazonaws.com.cn/"
    )


def test_every_pinned_digest_was_read_for_the_image_tag_served() -> None:
    """A digest row read for an older tag would pin the old image while the module names the
    new tag: the table and the tag must agree (empty today: see ha_inference.data.images)."""
    assert (
        check_digests(HUGGING_FACE_TGI_DIGESTS, HUGGING_FACE_TGI_TAG, HUGGING_FACE_TGI_REGISTRIES)
        == []
    )


def test_the_digest_check_fails_when_tag_and_digest_disagree() -> None:
    stale = PinnedDigest(
        tag="2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04",
        digest="sha256:" + "0" * 64,
        source="an AWS Deep Learning Containers release note",
        read="2026-12-08",
    )
    problems = check_digests(
        {"us-east-1": stale}, HUGGING_FACE_TGI_TAG, HUGGING_FACE_TGI_REGISTRIES
    )
    assert problems == [
        f"us-east-1: the digest {stale.digest} was read for tag {stale.tag}, but the image is "
        f"{HUGGING_FACE_TGI_TAG}; read the digest of {HUGGING_FACE_TGI_TAG} again or drop the row"
    ]
    bad = PinnedDigest(tag=HUGGING_FACE_TGI_TAG, digest="sha256:abc", source="", read="today")
    assert (
        len(check_digests({"mars-1": bad}, HUGGING_FACE_TGI_TAG, HUGGING_FACE_TGI_REGISTRIES)) == 3
    )


def test_the_image_is_named_by_digest_where_one_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = "sha256:" + "a" * 64
    pin = PinnedDigest(
        tag=HUGGING_FACE_TGI_TAG, digest=digest, source="a release note", read="2026-12-08"
    )
    monkeypatch.setattr(images, "HUGGING_FACE_TGI_DIGESTS", {"us-east-1": pin})
    assert images.hugging_face_tgi_image("us-east-1") == (
        f"763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference@{digest}"
    )
    assert images.hugging_face_tgi_image("us-west-2").endswith(f":{HUGGING_FACE_TGI_TAG}")


def test_fails_for_a_region_without_a_registry() -> None:
    with pytest.raises(ValueError, match=r"no registry in 'us-iso-east-1'.*give your own ECR"):
        hugging_face_tgi_image("us-iso-east-1")


def test_readme_names_the_default_chat_model() -> None:
    readme = (ROOT / "README.md").read_text()
    assert f"`{DEFAULT_CHAT_MODEL}`" in readme
    assert "claude-sonnet-4-5" not in readme.split("## Constructs")[0]
