"""The data modules against botocore's models and endpoint data of the pinned version.

Every Region the library knows must be a Region of a botocore partition; every Region the data
claims a service in must have that service's endpoint in botocore's ``endpoints.json``; every
SageMaker instance type must be in the API's enum. The check names the bad value, and fails on
variants of the data that break each rule. What botocore cannot prove (a model's routes, the
accounts of the container registries) is checked against its own source in
``tests/data/test_models.py`` and ``tests/library/test_regions.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore
import botocore.loaders
import pytest
from cfnlint.data.schemas.extensions import aws_sagemaker_hosting

from ha_inference.data.images import DNS_SUFFIXES, HUGGING_FACE_TGI_REGISTRIES
from ha_inference.data.models import MODEL_CARDS
from ha_inference.regions import (
    AVAILABILITY_ZONES,
    CUSTOM_MODEL_IMPORT_REGIONS,
    REGIONS_WITHOUT,
)
from ha_inference.selfhosted.endpoint import DEFAULT_INSTANCE_TYPE
from ha_inference.selfhosted.instance_types import hosting_instance_types, hosting_regions
from stacks.config import DEFAULT_FALLBACKS, DEFAULT_SELF_HOSTED

REGION = "region"
INSTANCE_TYPE = "instance type"
BEDROCK = "bedrock"
"""botocore lists ``bedrock-runtime``'s Regions under ``bedrock`` (the runtime has only an
endpoint rule set), so a Region's Bedrock endpoint is checked there."""


@dataclass(frozen=True)
class Claim:
    """A value the data holds and what botocore must know about it."""

    where: str
    """Where the value sits in the data, for the failure message."""
    value: str
    kind: str
    """``region``, ``instance type``, or an ``endpoints.json`` service name."""


@dataclass(frozen=True)
class Botocore:
    """What botocore knows: partitions' Regions and DNS suffixes, endpoints, the SageMaker
    endpoint-variant instance-type enum."""

    regions: frozenset[str]
    dns_suffixes: Mapping[str, str]
    endpoints: Mapping[str, frozenset[str]]
    instance_types: frozenset[str]


@cache
def pinned_botocore() -> Botocore:
    data = Path(botocore.__file__).parent / "data"
    partitions = json.loads((data / "partitions.json").read_text())["partitions"]
    endpoints = json.loads((data / "endpoints.json").read_text())["partitions"]
    by_service: dict[str, set[str]] = {}
    for partition in endpoints:
        for service, entry in partition["services"].items():
            by_service.setdefault(service, set()).update(
                region
                for region, endpoint in entry.get("endpoints", {}).items()
                if not endpoint.get("deprecated")
            )
    model = botocore.loaders.create_loader().load_service_model("sagemaker", "service-2")
    return Botocore(
        regions=frozenset(r for p in partitions for r in p["regions"]),
        dns_suffixes={p["partition"]: p["dnsSuffix"] for p in endpoints},
        endpoints={s: frozenset(r) for s, r in by_service.items()},
        instance_types=frozenset(model["shapes"]["ProductionVariantInstanceType"]["enum"]),
    )


def library_claims(
    *,
    zones: Mapping[str, Any] = AVAILABILITY_ZONES,
    regions_without: Mapping[str, frozenset[str]] = REGIONS_WITHOUT,
    hosting: Mapping[str, frozenset[str]] | None = None,
    registries: Mapping[str, str] = HUGGING_FACE_TGI_REGISTRIES,
) -> list[Claim]:
    """Every Region, service-in-Region and instance type the data modules hold (the keyword
    arguments replace a table, for the broken variants)."""
    if hosting is None:
        hosting = {r: hosting_instance_types(r) or frozenset() for r in hosting_regions()}
    claims = [Claim("AVAILABILITY_ZONES", region, REGION) for region in zones]
    for model_id, card in MODEL_CARDS.items():
        for geography, table in card.routes.items():
            where = f"MODEL_CARDS[{model_id!r}].routes[{geography.value}]"
            for source, destinations in table.routes.items():
                claims.append(Claim(f"{where} source", source, BEDROCK))
                claims += [Claim(f"{where}[{source!r}]", d, BEDROCK) for d in destinations]
        for region in card.in_region or ():
            claims.append(Claim(f"MODEL_CARDS[{model_id!r}].in_region", region, BEDROCK))
    claims += [
        Claim("CUSTOM_MODEL_IMPORT_REGIONS", region, BEDROCK)
        for region in CUSTOM_MODEL_IMPORT_REGIONS
    ]
    for resource_type, service in (
        ("AWS::OpenSearchServerless::Collection", "aoss"),
        ("AWS::Bedrock::ApplicationInferenceProfile", BEDROCK),
        ("AWS::SageMaker::EndpointConfig", "api.sagemaker"),
    ):
        allowed = set(zones) - regions_without[resource_type]
        where = f"AVAILABILITY_ZONES less REGIONS_WITHOUT[{resource_type!r}]"
        claims += [Claim(where, region, service) for region in sorted(allowed)]
    for region, types in hosting.items():
        claims.append(Claim("hosting instance types", region, "runtime.sagemaker"))
        claims += [Claim(f"hosting instance types[{region!r}]", t, INSTANCE_TYPE) for t in types]
    claims += [Claim("HUGGING_FACE_TGI_REGISTRIES", region, "api.ecr") for region in registries]
    defaults = {DEFAULT_INSTANCE_TYPE, DEFAULT_SELF_HOSTED["instance-type"]}
    defaults |= {t for key, more in DEFAULT_FALLBACKS.items() for t in (key, *more)}
    claims += [Claim("default instance types", t, INSTANCE_TYPE) for t in sorted(defaults)]
    return claims


def problems(claims: Iterable[Claim], known: Botocore) -> list[str]:
    """One line per claim botocore does not back, naming the value and where it sits."""
    found = []
    for claim in claims:
        if claim.kind == REGION:
            ok = claim.value in known.regions
            rule = "is not a Region of any botocore partition"
        elif claim.kind == INSTANCE_TYPE:
            ok = claim.value in known.instance_types
            rule = "is not in the sagemaker enum ProductionVariantInstanceType"
        else:
            ok = claim.value in known.endpoints.get(claim.kind, frozenset())
            rule = f"has no {claim.kind!r} endpoint in botocore's endpoints.json"
        if not ok:
            found.append(f"{claim.where}: {claim.value!r} {rule}")
    return found


def test_every_region_endpoint_and_instance_type_is_known_to_botocore() -> None:
    assert problems(library_claims(), pinned_botocore()) == []


def test_dns_suffixes_are_botocores() -> None:
    known = pinned_botocore().dns_suffixes
    assert {p: known[p] for p in DNS_SUFFIXES} == dict(DNS_SUFFIXES)


def _variants() -> Iterator[tuple[str, list[Claim], str]]:
    """(name, claims of a broken copy of the data, a failure line it must produce; every line
    it produces names the bad value)."""
    yield (
        "unknown-region",
        library_claims(zones={**AVAILABILITY_ZONES, "us-east-9": ("us-east-9a",)}),
        "AVAILABILITY_ZONES: 'us-east-9' is not a Region of any botocore partition",
    )
    without = {
        **REGIONS_WITHOUT,
        "AWS::OpenSearchServerless::Collection": REGIONS_WITHOUT[
            "AWS::OpenSearchServerless::Collection"
        ]
        - {"me-south-1"},
    }
    yield (
        "collection-where-aoss-has-no-endpoint",
        library_claims(regions_without=without),
        "AVAILABILITY_ZONES less REGIONS_WITHOUT['AWS::OpenSearchServerless::Collection']: "
        "'me-south-1' has no 'aoss' endpoint in botocore's endpoints.json",
    )
    hosting = {r: hosting_instance_types(r) or frozenset() for r in hosting_regions()}
    hosting["us-east-1"] = hosting["us-east-1"] | {"ml.t3.medium"}
    yield (
        "notebook-instance-type",
        library_claims(hosting=hosting),
        "hosting instance types['us-east-1']: 'ml.t3.medium' is not in the sagemaker enum "
        "ProductionVariantInstanceType",
    )
    yield (
        "registry-without-ecr",
        library_claims(registries={**HUGGING_FACE_TGI_REGISTRIES, "sa-west-1": "0"}),
        "HUGGING_FACE_TGI_REGISTRIES: 'sa-west-1' has no 'api.ecr' endpoint in botocore's "
        "endpoints.json",
    )


VARIANTS = list(_variants())


@pytest.mark.parametrize(
    ("claims", "expected"), [v[1:] for v in VARIANTS], ids=[v[0] for v in VARIANTS]
)
def test_fails_on_data_botocore_does_not_back(claims: list[Claim], expected: str) -> None:
    found = problems(claims, pinned_botocore())
    bad = expected.split(": ", 1)[1].split(" ", 1)[0]
    assert expected in found
    assert all(f": {bad} " in line for line in found), found


def test_fails_on_a_route_to_a_region_without_bedrock() -> None:
    claim = Claim("MODEL_CARDS['x'].routes[apac]['ap-east-1']", "ap-east-1", BEDROCK)
    assert problems([claim], pinned_botocore()) == [
        "MODEL_CARDS['x'].routes[apac]['ap-east-1']: 'ap-east-1' has no 'bedrock' endpoint in "
        "botocore's endpoints.json"
    ]


def test_hosting_table_is_cfn_lints_within_the_api_enum() -> None:
    """The shipped copy equals the installed cfn-lint's table (the pricing API's hosting
    offers) less the types the SageMaker API refuses for an endpoint variant: bumping cfn-lint
    or botocore fails here until the copy is refreshed."""
    table = json.loads(
        (Path(aws_sagemaker_hosting.__file__).parent / "instancetype_enum.json").read_text()
    )
    enum = pinned_botocore().instance_types
    regions = {region for region in table if region != "description"}
    assert hosting_regions() == regions
    for region in regions:
        expected = frozenset(table[region]["enum"]) & enum
        assert hosting_instance_types(region) == expected, region


def test_the_pricing_table_lists_types_the_api_refuses() -> None:
    """Why the copy is filtered: cfn-lint's pricing table offers notebook and other types that
    CreateEndpointConfig rejects (44 of them in cfn-lint 1.58 against botocore 1.44.8)."""
    table = json.loads(
        (Path(aws_sagemaker_hosting.__file__).parent / "instancetype_enum.json").read_text()
    )
    listed = {
        t for region, entry in table.items() if region != "description" for t in entry["enum"]
    }
    refused = listed - pinned_botocore().instance_types
    assert {"ml.t3.medium", "ml.m7g.large", "ml.m5.8xlarge"} <= refused
    assert not any(hosting_instance_types(r) & refused for r in hosting_regions())  # type: ignore[operator]


def test_claims_cover_every_table() -> None:
    """A table left out of :func:`library_claims` would go unchecked."""
    wheres = {claim.where.split("[")[0].split(" less ")[0] for claim in library_claims()}
    assert wheres >= {
        "AVAILABILITY_ZONES",
        "MODEL_CARDS",
        "CUSTOM_MODEL_IMPORT_REGIONS",
        "hosting instance types",
        "HUGGING_FACE_TGI_REGISTRIES",
        "default instance types",
    }
