"""The region data module: internally consistent, and in line with cfn-lint's offline data."""

from __future__ import annotations

import pytest
from aws_cdk import aws_bedrock
from cfnlint.helpers import AVAILABILITY_ZONES as CFN_LINT_AZS
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

from ha_inference.regions import (
    AVAILABILITY_ZONES,
    CUSTOM_MODEL_IMPORT_REGIONS,
    DEFAULT_ROUTES,
    REGIONS_WITHOUT,
    Geography,
    RoutingTable,
    check_region_name,
    partition_of,
)


def test_every_geography_has_a_routing_table() -> None:
    assert set(DEFAULT_ROUTES) == set(Geography)


@pytest.mark.parametrize("geography", list(Geography))
def test_every_source_routes_to_itself_and_only_to_known_regions(geography: Geography) -> None:
    table = DEFAULT_ROUTES[geography]
    for source, destinations in table.routes.items():
        assert source in destinations, f"{geography.value}: {source} does not route to itself"
        assert destinations <= set(AVAILABILITY_ZONES)
        assert {partition_of(r) for r in destinations} == {partition_of(source)}


def test_documented_routes() -> None:
    """Spot checks against the model cards quoted in aws-facts.md section A.2."""
    us = DEFAULT_ROUTES[Geography.US]
    assert us.destinations("us-east-1") == {"us-east-1", "us-east-2", "us-west-2"}
    assert us.destinations("us-west-1") == {"us-east-1", "us-east-2", "us-west-1", "us-west-2"}
    assert us.destinations("ca-central-1") == {
        "ca-central-1",
        "us-east-1",
        "us-east-2",
        "us-west-2",
    }
    eu = DEFAULT_ROUTES[Geography.EU]
    assert len(eu.destinations("eu-west-1")) == 6
    assert "eu-west-2" in eu.destinations("eu-west-2") and "eu-west-2" not in eu.destinations(
        "eu-west-1"
    )
    assert DEFAULT_ROUTES[Geography.JP].destinations("ap-northeast-3") == {
        "ap-northeast-1",
        "ap-northeast-3",
    }
    assert len(DEFAULT_ROUTES[Geography.GLOBAL].all_destinations) == 33


def test_fails_for_a_region_that_is_not_a_source() -> None:
    with pytest.raises(
        ValueError, match=r"Region 'eu-west-1' is not a source Region of the 'us' inference profile"
    ):
        DEFAULT_ROUTES[Geography.US].destinations("eu-west-1")


def test_fails_for_bad_routes() -> None:
    with pytest.raises(ValueError, match=r"routes has an unknown Region 'us-east-9'"):
        RoutingTable.of(Geography.US, {"us-east-1": ["us-east-9"]})
    with pytest.raises(
        ValueError, match=r"routes\['us-east-1'\] must list at least one destination"
    ):
        RoutingTable.of(Geography.US, {"us-east-1": []})
    with pytest.raises(
        ValueError, match=r"routes for geography 'us' must name at least one source"
    ):
        RoutingTable.of(Geography.US, {})


def test_region_names_are_checked() -> None:
    check_region_name("x", "eu-central-2")
    with pytest.raises(
        ValueError, match=r"x has an unknown Region 'EU-WEST-1' \(it is not a Region name\)"
    ):
        check_region_name("x", "EU-WEST-1")


def test_az_names_agree_with_cfn_lint() -> None:
    for region, zones in CFN_LINT_AZS.items():
        if region in AVAILABILITY_ZONES:
            assert set(zones) <= set(AVAILABILITY_ZONES[region]), region


@pytest.mark.parametrize("resource_type", sorted(REGIONS_WITHOUT))
def test_service_gaps_agree_with_cfn_lint(resource_type: str) -> None:
    missing = {
        region
        for region in AVAILABILITY_ZONES
        if resource_type not in PROVIDER_SCHEMA_MANAGER.get_resource_types(region)
    }
    assert missing == REGIONS_WITHOUT[resource_type]


def test_custom_model_import_regions_are_known_regions_with_bedrock_in_cloudformation() -> None:
    """Each Region of the user guide's list is one this library knows, in the commercial
    partition (the ARNs it grants), where CloudFormation has Bedrock resource types."""
    assert set(AVAILABILITY_ZONES) >= CUSTOM_MODEL_IMPORT_REGIONS
    assert {partition_of(region) for region in CUSTOM_MODEL_IMPORT_REGIONS} == {"aws"}
    for region in CUSTOM_MODEL_IMPORT_REGIONS:
        types = PROVIDER_SCHEMA_MANAGER.get_resource_types(region)
        assert "AWS::Bedrock::ApplicationInferenceProfile" in types, region


def test_model_import_job_is_still_unknown_to_cfn_lint_and_aws_cdk_lib() -> None:
    """ImportedModel is a custom resource because neither pinned tool knows the CloudFormation
    type. When one of them learns it, this fails: cross-check CUSTOM_MODEL_IMPORT_REGIONS
    against cfn-lint's schemas (as test_service_gaps_agree_with_cfn_lint does) and reconsider
    AWS::Bedrock::ModelImportJob."""
    knowing = sorted(
        region
        for region in AVAILABILITY_ZONES
        if "AWS::Bedrock::ModelImportJob" in PROVIDER_SCHEMA_MANAGER.get_resource_types(region)
    )
    assert knowing == []
    assert not hasattr(aws_bedrock, "CfnModelImportJob")
