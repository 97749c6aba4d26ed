"""The region data module: internally consistent, and in line with cfn-lint's offline data."""

from __future__ import annotations

import pytest
from aws_cdk import aws_bedrock
from cfnlint.helpers import AVAILABILITY_ZONES as CFN_LINT_AZS
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER

import ha_inference
from ha_inference.data.models import DEFAULT_CHAT_MODEL, DEFAULT_ROUTES, MODEL_CARDS
from ha_inference.regions import (
    AVAILABILITY_ZONES,
    CUSTOM_MODEL_IMPORT_REGIONS,
    REGIONS_WITHOUT,
    Geography,
    RoutingTable,
    check_region_name,
    partition_of,
    zones_of,
)

AZ_IDS = {
    "us-east-1": 6, "us-east-2": 3, "us-west-1": 3, "us-west-2": 4, "ca-central-1": 3,
    "ca-west-1": 3, "mx-central-1": 3, "af-south-1": 3, "ap-east-1": 3, "ap-east-2": 3,
    "ap-northeast-1": 4, "ap-northeast-2": 4, "ap-northeast-3": 3, "ap-south-1": 3,
    "ap-south-2": 3, "ap-southeast-1": 3, "ap-southeast-2": 3, "ap-southeast-3": 3,
    "ap-southeast-4": 3, "ap-southeast-5": 3, "ap-southeast-6": 3, "ap-southeast-7": 3,
    "eu-central-1": 3, "eu-central-2": 3, "eu-north-1": 3, "eu-south-1": 3, "eu-south-2": 3,
    "eu-west-1": 3, "eu-west-2": 4, "eu-west-3": 3, "il-central-1": 3, "me-central-1": 3,
    "me-south-1": 3, "sa-east-1": 3,
}  # fmt: skip
"""AZ IDs per Region on "AWS Availability Zones"
(https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-availability-zones.html,
read 2026-12-08; the page does not cover GovCloud and China)."""

AOSS_WITHOUT_ENDPOINT = frozenset({"me-south-1"})
"""Regions whose CloudFormation schemas list the OpenSearch Serverless types but where botocore's
endpoints.json has no aoss endpoint (tests/data/test_data_sources.py checks the endpoint side)."""


def test_default_routes_are_the_default_chat_models() -> None:
    """DEFAULT_ROUTES, importable from ha_inference and ha_inference.data.models: the routes of
    the default chat model's card (US, EU, global)."""
    assert DEFAULT_ROUTES is MODEL_CARDS[DEFAULT_CHAT_MODEL].routes
    assert set(DEFAULT_ROUTES) == {Geography.US, Geography.EU, Geography.GLOBAL}
    assert ha_inference.DEFAULT_ROUTES is DEFAULT_ROUTES


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
    if resource_type == "AWS::OpenSearchServerless::Collection":
        missing |= AOSS_WITHOUT_ENDPOINT
    assert missing == REGIONS_WITHOUT[resource_type]


def test_zones_per_account_match_the_aws_az_ids() -> None:
    """An account can use as many AZs as the Region has AZ IDs (us-west-1 gives newer
    accounts two of its three)."""
    expected = {**AZ_IDS, "us-west-1": 2}
    assert {region: zones_of(region) for region in AZ_IDS} == expected


def test_london_has_a_fourth_az() -> None:
    assert AVAILABILITY_ZONES["eu-west-2"] == (
        "eu-west-2a",
        "eu-west-2b",
        "eu-west-2c",
        "eu-west-2d",
    )
    assert zones_of("eu-west-2") == 4


def test_opensearch_serverless_is_refused_where_it_has_no_endpoint() -> None:
    assert "me-south-1" in REGIONS_WITHOUT["AWS::OpenSearchServerless::Collection"]


def test_custom_model_import_is_offered_in_every_default_region() -> None:
    """The user guide lists US East (N. Virginia), US East (Ohio), US West (Oregon) and Europe
    (Frankfurt)."""
    assert sorted(CUSTOM_MODEL_IMPORT_REGIONS) == [
        "eu-central-1",
        "us-east-1",
        "us-east-2",
        "us-west-2",
    ]


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


def test_routing_tables_print_sorted_and_round_trip() -> None:
    """The API reference prints the tables: their text must not depend on hash order."""
    table = DEFAULT_ROUTES[Geography.US]
    text = repr(table)
    assert text.startswith("RoutingTable.of(Geography.US, {'ca-central-1': ['ca-central-1', ")
    assert eval(text, {"RoutingTable": RoutingTable, "Geography": Geography}) == table
