"""cfn-lint over every synthesized template, for the Region the template deploys to."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam

from ha_inference import (
    ApplicationInferenceProfile,
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    Geography,
    VectorCollection,
)
from ha_inference.data.models import DEFAULT_CHAT_MODEL, MODEL_CARDS, ModelStatus
from ha_inference.regions import REGIONS_WITHOUT, partition_of
from ha_inference.selfhosted.instance_types import hosting_instance_types
from tests.support import Synth, ZonalStack, new_app, resources
from tests.support.lint import lint_template

AS_OF = date(2026, 12, 8)
"""The day the model table was read: the lint covers the routes usable on that day, whatever
the day the suite runs."""

_REFERENCE_LINT: dict[str, list[str]] = {}


def _lint_reference(reference: Synth, region: str) -> list[str]:
    """Lints the reference template of ``region``, once per template shape: templates that
    differ only in their Region's name are linted together, in all their Regions, by one run."""
    if region not in _REFERENCE_LINT:
        shapes: dict[str, list[str]] = {}
        for name in reference.regions:
            shape = json.dumps(reference.template(name), sort_keys=True).replace(name, "<region>")
            shapes.setdefault(shape, []).append(name)
        for names in shapes.values():
            problems = lint_template(reference.template(names[0]), names)
            _REFERENCE_LINT.update(dict.fromkeys(names, problems))
    return _REFERENCE_LINT[region]


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2", "us-west-2"])
def test_reference_template_lints_clean_in_its_region(reference: Synth, region: str) -> None:
    assert _lint_reference(reference, region) == []


def test_lint_reports_a_resource_type_missing_in_the_region() -> None:
    """The check can fail: OpenSearch Serverless does not exist in ca-west-1 (E3006)."""
    template = {
        "Resources": {
            "Collection": {
                "Type": "AWS::OpenSearchServerless::Collection",
                "Properties": {"Name": "vectors", "Type": "VECTORSEARCH"},
            }
        }
    }
    assert lint_template(template, "us-east-1") == []
    (problem,) = lint_template(template, "ca-west-1")
    assert problem.startswith("E3006")
    # Several Regions in one run report the Region that lacks the type.
    (problem,) = lint_template(template, ["us-east-1", "ca-west-1", "eu-west-1"])
    assert problem.startswith("E3006") and "ca-west-1" in problem


def _profile_for(region: str) -> tuple[str, Geography]:
    """A model and geography whose card routes from ``region``: the default chat model where it
    can, another model's geographic profile, else a global profile."""
    usable = [
        card
        for card in sorted(MODEL_CARDS.values(), key=lambda c: c.model_id != DEFAULT_CHAT_MODEL)
        if card.lifecycle.status_on(AS_OF) is not ModelStatus.END_OF_LIFE
    ]
    for card in usable:
        for geography, table in card.routes.items():
            if geography is not Geography.GLOBAL and region in table.source_regions:
                return card.model_id, geography
    return DEFAULT_CHAT_MODEL, Geography.GLOBAL


SOURCE_REGIONS = sorted(
    {r for card in MODEL_CARDS.values() for t in card.routes.values() for r in t.source_regions}
)


def _shape(region: str) -> tuple[str, bool, bool]:
    """What a Region's template holds besides region names: partition and optional types."""
    return (
        partition_of(region),
        region not in REGIONS_WITHOUT["AWS::Bedrock::ApplicationInferenceProfile"],
        region not in REGIONS_WITHOUT["AWS::OpenSearchServerless::Collection"],
    )


@pytest.fixture(scope="module")
def regional_templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """The Bedrock and vector-search constructs built in every source Region of the table."""
    app = new_app(tmp_path_factory.mktemp("regions"))
    for region in SOURCE_REGIONS:
        stack = ZonalStack(
            app, f"Bedrock-{region}", region=region, zones=(f"{region}a", f"{region}b")
        )
        model_id, geography = _profile_for(region)
        profile = CrossRegionInferenceProfile(
            stack, "Profile", model_id=model_id, geography=geography, as_of=AS_OF
        )
        role = iam.Role(stack, "Invoker", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        profile.grant_invoke(role)
        targets: list[Any] = [profile]
        _, application_profiles, collections = _shape(region)
        if application_profiles:
            tagged = ApplicationInferenceProfile(
                stack, "Tagged", inference_profile_name="tagged", source=profile
            )
            tagged.grant_invoke(role)
            targets.append(tagged)
        BedrockVpcEndpoints(
            stack,
            "Bedrock",
            vpc=stack.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="private"),
            invoke_targets=targets,
        )
        if collections:
            endpoint = CollectionVpcEndpoint(
                stack,
                "CollectionEndpoint",
                vpc=stack.vpc,
                vpc_subnets=ec2.SubnetSelection(subnet_group_name="private"),
            )
            VectorCollection(
                stack, "Vectors", collection_name="vectors", vpc_endpoint=endpoint
            ).grant_read(role)
    assembly = app.synth()
    return {
        region: assembly.get_stack_by_name(f"Bedrock-{region}").template
        for region in SOURCE_REGIONS
    }


SHAPES = sorted({_shape(r) for r in SOURCE_REGIONS})


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "-".join(map(str, s)))
def test_bedrock_and_vector_constructs_lint_clean_in_every_source_region(
    regional_templates: dict[str, dict[str, Any]], shape: tuple[str, bool, bool]
) -> None:
    """Every source Region is linted: Regions whose templates differ only in Region names are
    linted together, on one of their templates, in a single cfn-lint run (the per-template cost
    dominates: one run over ten Regions costs about what one Region does)."""
    regions = [r for r in SOURCE_REGIONS if _shape(r) == shape]
    assert lint_template(regional_templates[regions[0]], regions) == []


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2", "us-west-2"])
def test_reference_instance_types_are_offered_in_their_region(
    reference: Synth, region: str
) -> None:
    """cfn-lint's E3642 hosting table (from the pricing API) covers inference experiments only,
    so every instance type of the endpoint configs, instance pools included, is checked against
    the library's copy of it here."""
    offered = hosting_instance_types(region)
    assert offered is not None
    types = [
        pool.get("InstanceType")
        for config in resources(
            reference.template(region), "AWS::SageMaker::EndpointConfig"
        ).values()
        for variant in config["Properties"]["ProductionVariants"]
        for pool in variant.get("InstancePools", [variant])
    ]
    assert types and all(t in offered for t in types), types
