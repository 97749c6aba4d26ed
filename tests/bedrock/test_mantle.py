"""The bedrock-mantle endpoint: only in the AZs that offer it, scoped with the service's own
actions and condition keys, an optional project; and the same AZ mechanism in
BedrockVpcEndpoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from ha_inference import BedrockMantleEndpoint, BedrockVpcEndpoints, FoundationModel
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.regions import BEDROCK_MANTLE_REGIONS, REGIONS_WITHOUT
from ha_inference.tools.assembly import load_stacks
from tests.support import TEST_ACCOUNT, ZonalStack, new_app, resources, subnet_azs_of
from tests.support.lint import lint_template
from tests.truth.iam import check_stack

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")
ZONE_IDS = {
    "us-east-1a": "use1-az6",
    "us-east-1b": "use1-az1",
    "us-east-1c": "use1-az2",
    "us-east-1d": "use1-az4",
}
OFFERED = ["use1-az1", "use1-az4"]
"""What DescribeVpcEndpointServices would report in this made-up account."""
MODELS = ["openai.gpt-oss-120b", "openai.gpt-oss-20b"]


@dataclass
class Scenario:
    app: cdk.App
    stack: ZonalStack
    mantle: BedrockMantleEndpoint
    endpoints: BedrockVpcEndpoints
    caller: iam.Role
    template: dict[str, Any]
    assembly: Path


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    outdir = tmp_path_factory.mktemp("mantle")
    app = new_app(outdir)
    stack = ZonalStack(app, "Mantle", zones=ZONES, groups=("private", "other"))
    mantle = BedrockMantleEndpoint(
        stack,
        "Mantle",
        vpc=stack.vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="private"),
        zone_ids=ZONE_IDS,
        supported_az_ids=OFFERED,
        models=MODELS,
        project_name="support",
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    mantle.grant_inference(caller)
    endpoints = BedrockVpcEndpoints(
        stack,
        "Bedrock",
        vpc=stack.vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="other"),
        services=[
            ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
            ec2.InterfaceVpcEndpointAwsService("bedrock-mantle"),
        ],
        invoke_targets=[FoundationModel("amazon.titan-embed-text-v2:0", region="us-east-1")],
        private_dns_enabled=False,
        zone_ids=ZONE_IDS,
        supported_az_ids={"bedrock-mantle": OFFERED},
    )
    assembly = app.synth()
    return Scenario(
        app,
        stack,
        mantle,
        endpoints,
        caller,
        assembly.get_stack_by_name("Mantle").template,
        Path(assembly.directory),
    )


def endpoint(scenario: Scenario, construct: Any) -> dict[str, Any]:
    found: dict[str, Any] = scenario.template["Resources"][
        scenario.stack.resolve(construct.node.default_child.logical_id)
    ]["Properties"]
    return found


def project_arn(scenario: Scenario) -> Any:
    assert scenario.mantle.project is not None
    return {"Fn::GetAtt": [scenario.stack.resolve(scenario.mantle.project.logical_id), "Arn"]}


def test_endpoint_is_only_in_the_azs_that_offer_it(scenario: Scenario) -> None:
    props = endpoint(scenario, scenario.mantle.endpoint)
    assert props["ServiceName"] == "com.amazonaws.us-east-1.bedrock-mantle"
    assert subnet_azs_of(scenario.template, props["SubnetIds"]) == ["us-east-1b", "us-east-1d"]
    assert scenario.mantle.zone_ids == ("use1-az1", "use1-az4")
    assert props["PrivateDnsEnabled"] is True


def test_policy_allows_inference_on_the_project_for_the_listed_models_only(
    scenario: Scenario,
) -> None:
    (statement,) = endpoint(scenario, scenario.mantle.endpoint)["PolicyDocument"]["Statement"]
    assert statement == {
        "Action": ["bedrock-mantle:CountTokens", "bedrock-mantle:CreateInference"],
        "Condition": {
            "StringEquals": {"aws:PrincipalAccount": TEST_ACCOUNT, "bedrock-mantle:Model": MODELS}
        },
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Resource": project_arn(scenario),
    }


def test_grant_is_scoped_by_project_and_model(scenario: Scenario) -> None:
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(scenario.template, "AWS::IAM::Policy").values()
        if {"Ref": scenario.stack.resolve(scenario.caller.node.default_child.logical_id)}  # type: ignore[union-attr]
        in p["Properties"]["Roles"]
    ]
    assert policy == [
        {
            "Action": ["bedrock-mantle:CountTokens", "bedrock-mantle:CreateInference"],
            "Condition": {"StringEquals": {"bedrock-mantle:Model": MODELS}},
            "Effect": "Allow",
            "Resource": project_arn(scenario),
        }
    ]


def test_project_is_created_with_its_name(scenario: Scenario) -> None:
    (project,) = resources(scenario.template, "AWS::BedrockMantle::Project").values()
    assert project["Properties"] == {"Name": "support"}


def test_default_project_when_no_name_is_given(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "S", zones=ZONES, groups=("private",))
    mantle = BedrockMantleEndpoint(
        stack, "Mantle", vpc=stack.vpc, zone_ids=ZONE_IDS, supported_az_ids=OFFERED, models=MODELS
    )
    assert mantle.project is None
    assert stack.resolve(mantle.project_arn) == (
        f"arn:aws:bedrock-mantle:us-east-1:{TEST_ACCOUNT}:project/default"
    )


def test_bedrock_endpoints_place_mantle_only_where_it_is_offered(scenario: Scenario) -> None:
    by_service = {short: endpoint(scenario, e) for short, e in scenario.endpoints.endpoints.items()}
    runtime = subnet_azs_of(scenario.template, by_service["bedrock-runtime"]["SubnetIds"])
    mantle = subnet_azs_of(scenario.template, by_service["bedrock-mantle"]["SubnetIds"])
    assert runtime == list(ZONES)
    assert mantle == ["us-east-1b", "us-east-1d"]


def test_a_skipped_az_is_said_in_an_info_annotation(scenario: Scenario) -> None:
    Annotations.from_stack(scenario.stack).has_info(
        "/Mantle/Mantle",
        Match.string_like_regexp(r"not offered in us-east-1a \(use1-az6\), us-east-1c"),
    )


def test_without_the_az_ids_it_goes_in_every_az_with_a_warning(tmp_path: Path) -> None:
    """AWS publishes no AZ list for bedrock-mantle: placed in every selected AZ, and the
    warning says to run preflight or to give the AZ IDs."""
    app = new_app(tmp_path)
    stack = ZonalStack(app, "S", zones=ZONES, groups=("private",))
    mantle = BedrockMantleEndpoint(stack, "Mantle", vpc=stack.vpc, models=MODELS)
    assert mantle.availability_zones == ZONES
    Annotations.from_stack(stack).has_warning(
        "/S/Mantle",
        Match.string_like_regexp(
            r"bedrock-mantle is reported to be offered in only some AZs.*preflight"
        ),
    )


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, NIST80053R5Checks, HaInferenceChecks])
def test_no_unacknowledged_nag_findings(scenario: Scenario, pack: Any) -> None:
    found = [f for f in findings_of(pack(), scenario.app) if f[1].startswith("Mantle/Mantle/")]
    assert found == []


def test_template_lints_clean(scenario: Scenario) -> None:
    assert lint_template(scenario.template, "us-east-1") == []


def test_iam_and_endpoint_policies_match_the_service_authorization_reference(
    scenario: Scenario,
) -> None:
    (stack,) = load_stacks(scenario.assembly)
    assert check_stack(stack) == []


def test_cloudformation_offers_projects_in_fewer_regions_than_mantle_serves() -> None:
    """cfn-lint's schemas lack AWS::BedrockMantle::Project in three Regions that serve mantle."""
    without = BEDROCK_MANTLE_REGIONS & REGIONS_WITHOUT["AWS::BedrockMantle::Project"]
    assert without == {"eu-central-1", "eu-south-1", "ap-southeast-2"}


def build(tmp_path: Path, *, region: str = "us-east-1", **props: Any) -> BedrockMantleEndpoint:
    zones = tuple(f"{region}{c}" for c in "abc")
    stack = ZonalStack(new_app(tmp_path), "S", region=region, zones=zones, groups=("private",))
    return BedrockMantleEndpoint(stack, "Mantle", vpc=stack.vpc, **{"models": MODELS, **props})


def test_fails_where_mantle_is_not_served(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"^BedrockMantleEndpoint needs a Region that serves bedrock-mantle, got us-west-1",
    ):
        build(tmp_path, region="us-west-1")


def test_fails_for_a_project_where_cloudformation_has_none(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^project_name is set, but CloudFormation offers no"):
        build(tmp_path, region="eu-central-1", project_name="support")


def test_fails_for_a_cross_region_profile_id(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"^models\[0\] is 'us.anthropic.claude-sonnet-5-5', a cross-Region"
    ):
        build(tmp_path, models=["us.anthropic.claude-sonnet-5-5"])


def test_fails_without_models(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^models must name at least one model id"):
        build(tmp_path, models=[])


def test_fails_for_supported_az_ids_without_the_mapping(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^zone_ids must map this account's AZ names to AZ IDs"):
        build(tmp_path, supported_az_ids=OFFERED)


def test_fails_for_malformed_supported_az_ids(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^supported_az_ids must list AZ IDs such as"):
        build(tmp_path, zone_ids=ZONE_IDS, supported_az_ids=["us-east-1a"])


def test_bedrock_endpoints_warn_for_mantle_without_its_az_ids(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = ZonalStack(app, "S", zones=ZONES, groups=("private",))
    endpoints = BedrockVpcEndpoints(
        stack,
        "Bedrock",
        vpc=stack.vpc,
        services=[ec2.InterfaceVpcEndpointAwsService("bedrock-mantle")],
    )
    assert endpoints.availability_zones == ZONES
    Annotations.from_stack(stack).has_warning(
        "/S/Bedrock", Match.string_like_regexp(r"bedrock-mantle is reported to be offered")
    )


def test_fails_for_supported_az_ids_of_a_service_not_asked_for(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "S", zones=ZONES, groups=("private",))
    with pytest.raises(
        ValueError, match=r"^supported_az_ids names bedrock-mantle, not in services"
    ):
        BedrockVpcEndpoints(
            stack,
            "Bedrock",
            vpc=stack.vpc,
            invoke_targets=[FoundationModel("amazon.titan-embed-text-v2:0", region="us-east-1")],
            zone_ids=ZONE_IDS,
            supported_az_ids={"bedrock-mantle": OFFERED},
        )
