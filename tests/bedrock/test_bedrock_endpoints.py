"""Bedrock interface endpoints: an ENI in every AZ, closed security group, scoped policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from ha_inference import BedrockVpcEndpoints, CrossRegionInferenceProfile, RegionCoverage
from tests.support import TEST_ACCOUNT, ZonalStack, assert_one_subnet_per_az, new_app, resources
from tests.support.nag import findings

SONNET = "anthropic.claude-sonnet-5-5"
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


class Scenario:
    def __init__(self, outdir: Path) -> None:
        self.app = new_app(outdir)
        self.stack = ZonalStack(self.app, "Endpoints", zones=AZS)
        self.profile = CrossRegionInferenceProfile(self.stack, "Profile", model_id=SONNET)
        self.endpoints = BedrockVpcEndpoints(
            self.stack,
            "Bedrock",
            vpc=self.stack.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="private"),
            services=[
                ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
                ec2.InterfaceVpcEndpointAwsService.BEDROCK_AGENT_RUNTIME,
                ec2.InterfaceVpcEndpointAwsService("bedrock-mantle"),
            ],
            invoke_targets=[self.profile],
        )
        self.client = ec2.SecurityGroup(self.stack, "Client", vpc=self.stack.vpc)
        self.endpoints.connections.allow_default_port_from(self.client)
        self.template: dict[str, Any] = self.app.synth().get_stack_by_name("Endpoints").template


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return Scenario(tmp_path_factory.mktemp("endpoints"))


def endpoints(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources(template, "AWS::EC2::VPCEndpoint")


def test_one_interface_endpoint_per_service_with_private_dns(scenario: Scenario) -> None:
    interface = [
        e
        for e in endpoints(scenario.template).values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    ]
    services = sorted(e["Properties"]["ServiceName"] for e in interface)
    assert services == [
        "com.amazonaws.us-east-1.bedrock-agent-runtime",
        "com.amazonaws.us-east-1.bedrock-mantle",
        "com.amazonaws.us-east-1.bedrock-runtime",
    ]
    for endpoint in interface:
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True


def test_every_endpoint_has_a_subnet_in_every_az(scenario: Scenario) -> None:
    for logical_id, endpoint in endpoints(scenario.template).items():
        assert_one_subnet_per_az(
            scenario.template, endpoint["Properties"]["SubnetIds"], AZS, logical_id
        )
    assert scenario.endpoints.availability_zones == AZS


def test_security_group_admits_only_allowed_peers(scenario: Scenario) -> None:
    group_id = scenario.stack.get_logical_id(scenario.endpoints.security_group.node.default_child)  # type: ignore[arg-type]
    group = scenario.template["Resources"][group_id]["Properties"]
    assert "SecurityGroupIngress" not in group
    ingress = [
        rule["Properties"]
        for rule in resources(scenario.template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    client_id = scenario.stack.get_logical_id(scenario.client.node.default_child)  # type: ignore[arg-type]
    assert [
        (
            rule["IpProtocol"],
            rule["FromPort"],
            rule["ToPort"],
            rule.get("SourceSecurityGroupId"),
            rule.get("CidrIp"),
        )
        for rule in ingress
    ] == [("tcp", 443, 443, {"Fn::GetAtt": [client_id, "GroupId"]}, None)]


def test_endpoint_policy_names_only_the_profile_and_its_models(scenario: Scenario) -> None:
    profile = f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:inference-profile/us.{SONNET}"
    models = [
        f"arn:aws:bedrock:{r}::foundation-model/{SONNET}"
        for r in ("us-east-1", "us-east-2", "us-west-2")
    ]
    by_service = {
        e["Properties"]["ServiceName"].rsplit(".", 1)[1]: e["Properties"]
        for e in endpoints(scenario.template).values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    }
    # the invoke-only policy on bedrock-agent-runtime denied Retrieve,
    # RetrieveAndGenerate, InvokeAgent ... to every caller in the VPC. Only bedrock-runtime
    # serves the invoke actions; endpoints asked for beyond it keep AWS's default policy.
    assert "PolicyDocument" not in by_service["bedrock-agent-runtime"]
    assert "PolicyDocument" not in by_service["bedrock-mantle"]
    for endpoint in [by_service["bedrock-runtime"]]:
        assert endpoint["PolicyDocument"]["Statement"] == [
            {
                "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                "Condition": {"StringEquals": {"aws:PrincipalAccount": TEST_ACCOUNT}},
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Resource": sorted([profile, *models]),
            }
        ]


def test_no_cdk_nag_findings(scenario: Scenario) -> None:
    assert [f for f in findings(scenario.app) if "/Bedrock/" in f[1]] == []


def test_fails_when_subnets_span_one_az(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "S", zones=AZS)
    with pytest.raises(
        ValueError,
        match=r"vpc_subnets must span at least 2 Availability Zones so that losing one AZ leaves capacity, got 1 \(us-east-1a\); select subnets in more",
    ):
        BedrockVpcEndpoints(
            stack,
            "B",
            vpc=stack.vpc,
            vpc_subnets=ec2.SubnetSelection(
                availability_zones=["us-east-1a"], subnet_group_name="private"
            ),
        )


def test_fails_when_two_subnets_share_an_az(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "S", zones=AZS)
    both = [s for s in stack.vpc.isolated_subnets if s.availability_zone == "us-east-1a"]
    with pytest.raises(
        ValueError,
        match=r"vpc_subnets puts more than one subnet in us-east-1a \(got subnets in us-east-1a, us-east-1a\); select one subnet per Availability Zone",
    ):
        BedrockVpcEndpoints(
            stack, "B", vpc=stack.vpc, vpc_subnets=ec2.SubnetSelection(subnets=both)
        )


def test_fails_at_synth_without_invoke_targets(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = ZonalStack(app, "S", zones=AZS)
    BedrockVpcEndpoints(stack, "B", vpc=stack.vpc)
    with pytest.raises(
        RuntimeError,
        match=r"BedrockVpcEndpoints has no invoke targets, so its endpoint policies would allow nothing; pass invoke_targets=\[profile\]",
    ):
        app.synth()


def test_fails_for_an_unknown_service_in_add_to_policy(scenario: Scenario) -> None:
    with pytest.raises(
        ValueError,
        match=r"service must be one of this construct's endpoints \(bedrock-agent-runtime, bedrock-mantle, bedrock-runtime\), got 'bedrock'",
    ):
        scenario.endpoints.add_to_policy(scenario.endpoints._invoke_statement, service="bedrock")


def coverage_app(
    tmp_path: Path, regions: list[str], *, with_endpoints: set[str], **kwargs: Any
) -> cdk.App:
    """One stack per Region, each using the US profile where it can, checked by RegionCoverage."""
    app = new_app(tmp_path)
    for region in regions:
        stack = ZonalStack(app, f"S-{region}", region=region)
        if region.startswith("us-"):
            profile = CrossRegionInferenceProfile(stack, "Profile", model_id=SONNET)
            if region in with_endpoints:
                BedrockVpcEndpoints(stack, "Bedrock", vpc=stack.vpc, invoke_targets=[profile])
    RegionCoverage(app, "Coverage", supporting=["bedrock-endpoints"], **kwargs)
    return app


def test_coverage_passes_when_every_region_is_covered(tmp_path: Path) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-2"]
    app = coverage_app(tmp_path, regions, with_endpoints=set(regions))
    app.synth()


def test_fails_coverage_when_a_region_lacks_supporting_infrastructure(tmp_path: Path) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-2"]
    app = coverage_app(tmp_path, regions, with_endpoints={"us-east-1", "us-west-2"})
    with pytest.raises(
        RuntimeError,
        match=r"RegionCoverage: us-east-2 uses an inference profile but has no bedrock-endpoints; add that supporting infrastructure",
    ):
        app.synth()


def test_fails_coverage_when_a_destination_is_not_deployed(tmp_path: Path) -> None:
    app = coverage_app(
        tmp_path, ["us-east-1", "us-west-2"], with_endpoints={"us-east-1", "us-west-2"}
    )
    with pytest.raises(
        RuntimeError,
        match=r"RegionCoverage: 'us\.anthropic\.claude-sonnet-5-5' routes to us-east-2, where the app deploys nothing; deploy the regional stack there too, or pass require_all_destinations=False",
    ):
        app.synth()


def test_coverage_can_accept_uncovered_destinations(tmp_path: Path) -> None:
    app = coverage_app(
        tmp_path, ["us-east-1"], with_endpoints={"us-east-1"}, require_all_destinations=False
    )
    app.synth()


def test_fails_coverage_when_a_deployed_region_cannot_use_the_profile(tmp_path: Path) -> None:
    regions = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"]
    app = coverage_app(tmp_path, regions, with_endpoints=set(regions))
    with pytest.raises(
        RuntimeError,
        match=r"RegionCoverage: eu-west-1 is deployed but not a source Region of 'us\.anthropic\..*' \(sources: ca-central-1, .*\); deploy only to source Regions",
    ):
        app.synth()


def test_default_is_the_runtime_endpoint_only(tmp_path: Path) -> None:
    """bedrock-agent-runtime is left out unless asked for."""
    stack = ZonalStack(new_app(tmp_path), "Default", zones=AZS)
    profile = CrossRegionInferenceProfile(stack, "Profile", model_id=SONNET)
    bedrock = BedrockVpcEndpoints(stack, "Bedrock", vpc=stack.vpc, invoke_targets=[profile])
    assert sorted(bedrock.endpoints) == ["bedrock-runtime"]
