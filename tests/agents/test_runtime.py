"""MultiAzAgentRuntime and AgentRuntimeVpcEndpoint: supported AZs only, the paths a VPC-mode
runtime needs, the exact cross-Region grant, private invocation, and the failures at synth."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Annotations, Match
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks
from syrupy.assertion import SnapshotAssertion

from ha_inference import (
    AgentCode,
    AgentRuntimeVpcEndpoint,
    CrossRegionInferenceProfile,
    FoundationModel,
    InferenceVpc,
    MultiAzAgentRuntime,
    retrieval_agent_code,
)
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.data.zones import AGENTCORE_RUNTIME, ZONE_SUPPORT
from ha_inference.tools.assembly import load_stacks
from tests.support import TEST_ACCOUNT, ZonalStack, new_app, resources, subnet_azs_of
from tests.support.lint import lint_template
from tests.truth.iam import check_stack

SONNET = "anthropic.claude-sonnet-5-5"
EMBEDDING = "amazon.titan-embed-text-v2:0"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d")
ZONE_IDS = {
    "us-east-1a": "use1-az6",
    "us-east-1b": "use1-az1",
    "us-east-1c": "use1-az2",
    "us-east-1d": "use1-az4",
}
"""us-east-1a is use1-az6, where VPC mode is not offered (AgentCore developer guide)."""
SUPPORTED_ZONES = ["us-east-1b", "us-east-1c", "us-east-1d"]
IMAGE = f"{TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/agents/support:1.0"


@dataclass
class Scenario:
    app: cdk.App
    stack: ZonalStack
    profile: CrossRegionInferenceProfile
    runtime: MultiAzAgentRuntime
    image_runtime: MultiAzAgentRuntime
    invoke: AgentRuntimeVpcEndpoint
    caller: iam.Role
    template: dict[str, Any]
    assembly: Path

    def lid(self, construct: Any) -> str:
        element = getattr(construct.node, "default_child", None) or construct
        return str(self.stack.resolve(element.logical_id))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """One stack: a code-package runtime with a model, a second (image) runtime in the same VPC
    that adopts the first one's endpoints, the invoke endpoint for both, and a caller."""
    outdir = tmp_path_factory.mktemp("agents")
    app = new_app(outdir)
    stack = ZonalStack(app, "Agents", zones=ZONES, groups=("private",))
    key = kms.Key(stack, "LogsKey", enable_key_rotation=True)
    profile = CrossRegionInferenceProfile(stack, "Profile", model_id=SONNET)
    runtime = MultiAzAgentRuntime(
        stack,
        "Agent",
        vpc=stack.vpc,
        code=retrieval_agent_code(),
        zone_ids=ZONE_IDS,
        models=[profile],
        environment={"MODEL_ID": profile.profile_id},
        log_encryption_key=key,
    )
    alarms = runtime.add_alarms()
    for alarm in (alarms.system_errors, alarms.throttles):
        cdk.Validations.of(alarm).acknowledge(
            cdk.Acknowledgment(
                id="NIST.800.53.R5-CloudWatchAlarmAction",
                reason="Test scenario: who is paged is the adopting team's choice, as in the app.",
            )
        )
    image_runtime = MultiAzAgentRuntime(
        stack,
        "ImageAgent",
        vpc=stack.vpc,
        code=AgentCode.from_image_uri(IMAGE),
        zone_ids=ZONE_IDS,
        models=[FoundationModel("amazon.titan-embed-text-v2:0", region="us-east-1")],
        bedrock_endpoints=runtime.bedrock_endpoints,
        existing_endpoints={"logs": runtime.endpoints["logs"]},
    )
    invoke = AgentRuntimeVpcEndpoint(
        stack, "Invoke", vpc=stack.vpc, runtimes=[runtime, image_runtime]
    )
    caller = iam.Role(stack, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    runtime.grant_invoke(caller)
    assembly = app.synth()
    template = assembly.get_stack_by_name("Agents").template
    return Scenario(
        app,
        stack,
        profile,
        runtime,
        image_runtime,
        invoke,
        caller,
        template,
        Path(assembly.directory),
    )


def of_type(scenario: Scenario, kind: str) -> dict[str, dict[str, Any]]:
    return resources(scenario.template, kind)


def props(scenario: Scenario, construct: Any) -> dict[str, Any]:
    found: dict[str, Any] = scenario.template["Resources"][scenario.lid(construct)]["Properties"]
    return found


def statements(scenario: Scenario, role: iam.IRole) -> list[dict[str, Any]]:
    role_ref = {"Ref": scenario.lid(role)}
    return [
        statement
        for policy in of_type(scenario, "AWS::IAM::Policy").values()
        if role_ref in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def runtime_subnets(scenario: Scenario, runtime: MultiAzAgentRuntime) -> list[Any]:
    network = props(scenario, runtime.runtime)["NetworkConfiguration"]
    assert network["NetworkMode"] == "VPC"
    subnets: list[Any] = network["NetworkModeConfig"]["Subnets"]
    return subnets


# -- placement --------------------------------------------------------------------------------


def test_default_selection_takes_one_subnet_in_each_supported_az(scenario: Scenario) -> None:
    for runtime in (scenario.runtime, scenario.image_runtime):
        azs = subnet_azs_of(scenario.template, runtime_subnets(scenario, runtime))
        assert azs == SUPPORTED_ZONES
        assert runtime.availability_zones == tuple(SUPPORTED_ZONES)
        assert runtime.zone_ids == ("use1-az1", "use1-az2", "use1-az4")


def test_the_supported_table_is_the_developer_guides() -> None:
    row = ZONE_SUPPORT[AGENTCORE_RUNTIME]
    assert row.supported("us-east-1") == {"use1-az1", "use1-az2", "use1-az4"}
    assert row.supported("ap-northeast-1") == {"apne1-az1", "apne1-az2", "apne1-az4"}
    assert len(row.zone_ids) == 9 and row.read_on == "2026-12-07"
    assert "agentcore-vpc.html" in row.source


def test_a_skipped_az_is_said_in_an_info_annotation(scenario: Scenario) -> None:
    Annotations.from_stack(scenario.stack).has_info(
        "/Agents/Agent",
        Match.string_like_regexp(r"not offered in us-east-1a \(use1-az6\)"),
    )


def test_the_placement_is_recorded_for_preflight(scenario: Scenario) -> None:
    (stack,) = [s for s in load_stacks(scenario.assembly) if s.name == "Agents"]
    placements = {path: data for path, data in stack.metadata_of("ha-inference:zone-placement")}
    agent = placements["/Agents/Agent"]
    assert agent["service"] == AGENTCORE_RUNTIME
    assert agent["zoneIds"] == ZONE_IDS
    assert agent["supportedAzIds"] == ["use1-az1", "use1-az2", "use1-az4"]
    assert agent["subnets"] == runtime_subnets(scenario, scenario.runtime)


# -- paths the runtime needs ------------------------------------------------------------------


def test_s3_gateway_is_on_exactly_the_runtime_subnets_route_tables(scenario: Scenario) -> None:
    gateways = [
        e["Properties"]
        for e in of_type(scenario, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    (gateway,) = gateways  # the image runtime uses the first runtime's, it adds none
    expected = [
        {"Ref": a["Properties"]["RouteTableId"]["Ref"]}
        for a in of_type(scenario, "AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["SubnetId"] in runtime_subnets(scenario, scenario.runtime)
    ]
    assert len(expected) == 3
    assert sorted(map(json.dumps, gateway["RouteTableIds"])) == sorted(map(json.dumps, expected))
    assert scenario.image_runtime.s3_gateway.node.path == scenario.runtime.s3_gateway.node.path


def interface_endpoints(scenario: Scenario) -> dict[str, dict[str, Any]]:
    return {
        e["Properties"]["ServiceName"].split("us-east-1.", 1)[1]: e["Properties"]
        for e in of_type(scenario, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"].get("VpcEndpointType") == "Interface"
    }


def test_one_endpoint_per_service_in_the_vpc(scenario: Scenario) -> None:
    """Logs for both runtimes (the second adopts the first's), ECR for the image only,
    Bedrock Runtime shared, the data plane for callers; each with private DNS."""
    endpoints = interface_endpoints(scenario)
    assert sorted(endpoints) == [
        "bedrock-agentcore",
        "bedrock-runtime",
        "ecr.api",
        "ecr.dkr",
        "logs",
    ]
    assert all(e["PrivateDnsEnabled"] is True for e in endpoints.values())
    for service in ("logs", "bedrock-runtime"):
        assert subnet_azs_of(scenario.template, endpoints[service]["SubnetIds"]) == SUPPORTED_ZONES


def test_logs_endpoint_allows_only_the_runtime_log_groups(scenario: Scenario) -> None:
    logs = interface_endpoints(scenario)["logs"]["PolicyDocument"]["Statement"]
    group = f"arn:aws:logs:us-east-1:{TEST_ACCOUNT}:log-group:/aws/bedrock-agentcore/runtimes/*"
    assert [(s["Action"], s["Resource"]) for s in logs] == [
        (["logs:CreateLogGroup", "logs:DescribeLogStreams"], group),
        ("logs:DescribeLogGroups", "*"),
        (["logs:CreateLogStream", "logs:PutLogEvents"], f"{group}:log-stream:*"),
    ]
    for statement in logs:
        assert statement["Principal"] == {"AWS": "*"}
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": TEST_ACCOUNT}}


def test_ecr_endpoints_allow_only_pulling_the_image(scenario: Scenario) -> None:
    endpoints = interface_endpoints(scenario)
    repository = f"arn:aws:ecr:us-east-1:{TEST_ACCOUNT}:repository/agents/support"
    (api,) = endpoints["ecr.api"]["PolicyDocument"]["Statement"]
    (docker,) = endpoints["ecr.dkr"]["PolicyDocument"]["Statement"]
    assert (api["Action"], api["Resource"]) == ("ecr:GetAuthorizationToken", "*")
    assert (docker["Action"], docker["Resource"]) == (
        ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        repository,
    )


def test_bedrock_endpoint_allows_both_runtimes_models(scenario: Scenario) -> None:
    (statement,) = interface_endpoints(scenario)["bedrock-runtime"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == sorted(
        [
            f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:inference-profile/us.{SONNET}",
            *(
                f"arn:aws:bedrock:{r}::foundation-model/{SONNET}"
                for r in ("us-east-1", "us-east-2", "us-west-2")
            ),
            f"arn:aws:bedrock:us-east-1::foundation-model/{EMBEDDING}",
        ]
    )


def egress(scenario: Scenario, group: ec2.ISecurityGroup) -> list[tuple[str, int, Any]]:
    group_ref = {"Fn::GetAtt": [scenario.lid(group), "GroupId"]}
    return sorted(
        (
            (
                rule["Properties"]["IpProtocol"],
                rule["Properties"]["FromPort"],
                rule["Properties"].get("DestinationSecurityGroupId")
                or rule["Properties"].get("DestinationPrefixListId"),
            )
            for rule in of_type(scenario, "AWS::EC2::SecurityGroupEgress").values()
            if rule["Properties"]["GroupId"] == group_ref
        ),
        key=json.dumps,
    )


def test_runtime_egress_is_https_to_its_endpoints_and_s3_only(scenario: Scenario) -> None:
    runtime = scenario.runtime
    group = props(scenario, runtime.security_group)
    assert group["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]
    assert "SecurityGroupIngress" not in group
    endpoint_groups = {
        scenario.lid(g) for g in (runtime.endpoints["logs"].connections.security_groups[0],)
    } | {scenario.lid(runtime.bedrock_endpoints.security_group)}  # type: ignore[union-attr]
    rules = egress(scenario, runtime.security_group)
    assert all(protocol == "tcp" and port == 443 for protocol, port, _ in rules)
    peers = {json.dumps(peer) for _, _, peer in rules}
    assert peers == {
        *(json.dumps({"Fn::GetAtt": [g, "GroupId"]}) for g in endpoint_groups),
        json.dumps(
            {"Fn::GetAtt": ["HaInferenceS3PrefixListE4755E45", "PrefixLists.0.PrefixListId"]}
        ),
    }


def test_runtime_is_created_after_every_path_it_starts_through(scenario: Scenario) -> None:
    """The service fetches the code through the VPC while it creates the runtime."""
    depends = set(
        scenario.template["Resources"][scenario.lid(scenario.runtime.runtime)]["DependsOn"]
    )
    role = scenario.lid(scenario.runtime.role)
    policy = next(
        k
        for k, p in of_type(scenario, "AWS::IAM::Policy").items()
        if {"Ref": role} in p["Properties"]["Roles"]
    )
    gateway = scenario.lid(scenario.runtime.s3_gateway)
    logs = scenario.lid(scenario.runtime.endpoints["logs"])
    assert {role, policy, gateway, logs} <= depends
    assert any(d.startswith("AgentSecurityGroupto") for d in depends), depends


# -- identity ---------------------------------------------------------------------------------


def test_execution_role_is_trusted_by_agentcore_for_this_runtime_only(scenario: Scenario) -> None:
    role = props(scenario, scenario.runtime.role)
    name = props(scenario, scenario.runtime.runtime)["AgentRuntimeName"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "bedrock-agentcore.amazonaws.com"}
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceAccount": TEST_ACCOUNT},
        "ArnLike": {
            "aws:SourceArn": f"arn:aws:bedrock-agentcore:us-east-1:{TEST_ACCOUNT}:runtime/{name}*"
        },
    }
    assert role["MaxSessionDuration"] == 28800


def test_execution_role_reads_its_code_object_only(scenario: Scenario) -> None:
    code = props(scenario, scenario.runtime.runtime)["AgentRuntimeArtifact"]["CodeConfiguration"]
    bucket, key = code["Code"]["S3"]["Bucket"], code["Code"]["S3"]["Prefix"]
    s3 = [s for s in statements(scenario, scenario.runtime.role) if "s3:GetObject" in json.dumps(s)]
    assert s3 == [
        {"Action": "s3:GetObject", "Effect": "Allow", "Resource": f"arn:aws:s3:::{bucket}/{key}"}
    ]
    assert code["EntryPoint"] == ["agent_server.py"] and code["Runtime"] == "PYTHON_3_13"


def test_models_are_granted_through_the_profile_with_its_condition(scenario: Scenario) -> None:
    profile_arn = f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:inference-profile/us.{SONNET}"
    bedrock = [
        s for s in statements(scenario, scenario.runtime.role) if "bedrock:" in json.dumps(s)
    ]
    assert bedrock == [
        {
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Effect": "Allow",
            "Resource": profile_arn,
        },
        {
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profile_arn}},
            "Effect": "Allow",
            "Resource": [
                f"arn:aws:bedrock:{r}::foundation-model/{SONNET}"
                for r in ("us-east-1", "us-east-2", "us-west-2")
            ],
        },
    ]


def test_execution_role_gets_nothing_from_the_l2(scenario: Scenario) -> None:
    """No whole-bucket read, no X-Ray or CloudWatch on '*': only what this construct wrote."""
    actions = {
        a
        for s in statements(scenario, scenario.runtime.role)
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert actions == {
        "logs:CreateLogGroup",
        "logs:DescribeLogStreams",
        "logs:DescribeLogGroups",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "s3:GetObject",
        "bedrock:InvokeModel",
        "bedrock:InvokeModelWithResponseStream",
    }


def test_image_runtime_pulls_exactly_its_repository(scenario: Scenario) -> None:
    by_action = {
        action: s["Resource"]
        for s in statements(scenario, scenario.image_runtime.role)
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if action.startswith("ecr:")
    }
    assert by_action == {
        "ecr:BatchGetImage": f"arn:aws:ecr:us-east-1:{TEST_ACCOUNT}:repository/agents/support",
        "ecr:GetDownloadUrlForLayer": (
            f"arn:aws:ecr:us-east-1:{TEST_ACCOUNT}:repository/agents/support"
        ),
        "ecr:GetAuthorizationToken": "*",
    }
    artifact = props(scenario, scenario.image_runtime.runtime)["AgentRuntimeArtifact"]
    assert artifact == {"ContainerConfiguration": {"ContainerUri": IMAGE}}


# -- invoking ---------------------------------------------------------------------------------


def runtime_arns(scenario: Scenario, runtime: MultiAzAgentRuntime) -> list[Any]:
    arn = {"Fn::GetAtt": [scenario.lid(runtime.runtime), "AgentRuntimeArn"]}
    return [arn, {"Fn::Join": ["", [arn, "/runtime-endpoint/DEFAULT"]]}]


def test_invoke_endpoint_allows_exactly_the_declared_runtimes(scenario: Scenario) -> None:
    endpoint = interface_endpoints(scenario)["bedrock-agentcore"]
    (statement,) = copy.deepcopy(endpoint["PolicyDocument"]["Statement"])
    resources = statement.pop("Resource")
    assert statement == {
        "Action": "bedrock-agentcore:InvokeAgentRuntime",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": TEST_ACCOUNT}},
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
    }
    expected = [
        *runtime_arns(scenario, scenario.runtime),
        *runtime_arns(scenario, scenario.image_runtime),
    ]
    assert sorted(map(json.dumps, resources)) == sorted(map(json.dumps, expected))
    assert subnet_azs_of(scenario.template, endpoint["SubnetIds"]) == list(ZONES)


def test_grant_invoke_allows_invoking_this_runtime_only(scenario: Scenario) -> None:
    assert statements(scenario, scenario.caller) == [
        {
            "Action": "bedrock-agentcore:InvokeAgentRuntime",
            "Effect": "Allow",
            "Resource": runtime_arns(scenario, scenario.runtime),
        }
    ]


def test_fails_while_the_invoke_endpoint_has_no_runtimes(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = ZonalStack(app, "S", groups=("private",))
    AgentRuntimeVpcEndpoint(stack, "Invoke", vpc=stack.vpc)
    with pytest.raises(RuntimeError, match="AgentRuntimeVpcEndpoint has no runtimes"):
        app.synth()


# -- operations -------------------------------------------------------------------------------


def test_alarms_watch_the_runtimes_documented_metrics(scenario: Scenario) -> None:
    alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in of_type(scenario, "AWS::CloudWatch::Alarm").values()
    }
    assert set(alarms) == {"SystemErrors", "Throttles"}
    for alarm in alarms.values():
        assert alarm["Namespace"] == "AWS/Bedrock-AgentCore"
        assert {d["Name"] for d in alarm["Dimensions"]} == {"Operation", "Resource", "Name"}
        assert alarm["Statistic"] == "Sum" and alarm["Period"] == 300
        assert alarm["TreatMissingData"] == "notBreaching"
    assert alarms["SystemErrors"]["Threshold"] == 1 and alarms["Throttles"]["Threshold"] == 5


def test_fails_for_an_alarm_threshold_below_one(scenario: Scenario) -> None:
    with pytest.raises(ValueError, match=r"^system_errors_threshold must be at least 1, got 0"):
        scenario.runtime.add_alarms(system_errors_threshold=0)


# -- what the checks say ----------------------------------------------------------------------


@pytest.mark.parametrize("pack", [AwsSolutionsChecks, NIST80053R5Checks, HaInferenceChecks])
def test_no_unacknowledged_nag_findings(scenario: Scenario, pack: Any) -> None:
    """The test's own VPC and caller role are not judged, only what the constructs build."""
    found = [
        f
        for f in findings_of(pack(), scenario.app)
        if not f[1].startswith(("Agents/Vpc/", "Agents/Caller/"))
    ]
    assert found == []


def test_template_lints_clean(scenario: Scenario) -> None:
    assert lint_template(scenario.template, "us-east-1") == []


def test_iam_matches_the_service_authorization_reference(scenario: Scenario) -> None:
    (stack,) = [s for s in load_stacks(scenario.assembly) if s.name == "Agents"]
    assert check_stack(stack) == []


def test_template_snapshot(scenario: Scenario, template_snapshot: SnapshotAssertion) -> None:
    assert scenario.template == template_snapshot


# -- adopting the VPC's own S3 gateway --------------------------------------------------------


def test_adopts_the_vpcs_s3_gateway_on_its_route_tables(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=TEST_ACCOUNT, region="us-east-1"))
    network = InferenceVpc(stack, "Network", availability_zones=list(ZONES[:3]))
    runtime = MultiAzAgentRuntime(
        stack,
        "Agent",
        vpc=network.vpc,
        code=retrieval_agent_code(),
        zone_ids=ZONE_IDS,
        vpc_subnets=network.workload_subnets,
        log_encryption_key=network.log_encryption_key,
    )
    assert runtime.s3_gateway.node.path == network.vpc.node.find_child("S3").node.path
    assert runtime.availability_zones == ("us-east-1b", "us-east-1c")
    template = app.synth().get_stack_by_name("S").template
    gateways = [
        r
        for r in resources(template, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    assert len(gateways) == 1


def test_fails_when_the_vpcs_s3_gateway_misses_a_runtime_route_table(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "S", zones=ZONES, groups=("private",))
    stack.vpc.add_gateway_endpoint(
        "S3",
        service=ec2.GatewayVpcEndpointAwsService.S3,
        subnets=[ec2.SubnetSelection(subnets=[stack.vpc.isolated_subnets[1]])],
    )
    with pytest.raises(ValueError, match=r"^s3_gateway is not given and S/Vpc/S3 .* is on some"):
        MultiAzAgentRuntime(
            stack, "Agent", vpc=stack.vpc, code=retrieval_agent_code(), zone_ids=ZONE_IDS
        )


# -- failures at synth ------------------------------------------------------------------------


def build(tmp_path: Path, *, region: str = "us-east-1", **props: Any) -> MultiAzAgentRuntime:
    zones = tuple(f"{region}{c}" for c in "abcd")
    stack = ZonalStack(new_app(tmp_path), "S", region=region, zones=zones, groups=("private",))
    arguments: dict[str, Any] = {
        "vpc": stack.vpc,
        "code": retrieval_agent_code(),
        "zone_ids": ZONE_IDS,
        **props,
    }
    if callable(arguments.get("vpc_subnets")):
        arguments["vpc_subnets"] = arguments["vpc_subnets"](stack)
    return MultiAzAgentRuntime(stack, "Agent", **arguments)


def test_fails_for_a_listed_subnet_in_an_unsupported_az(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=(
            r"^vpc_subnets has a subnet in us-east-1a \(use1-az6\), an AZ that does not offer "
            r"bedrock-agentcore-runtime in us-east-1; it is offered in AZ IDs use1-az1 "
            r"\(us-east-1b\), use1-az2 \(us-east-1c\), use1-az4 \(us-east-1d\)\. Select"
        ),
    ):
        build(
            tmp_path,
            vpc_subnets=lambda s: ec2.SubnetSelection(subnets=s.vpc.isolated_subnets[:2]),
        )


def test_fails_with_one_supported_az(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"^vpc_subnets must span at least 2 AZs that offer bedrock-agentcore-runtime, "
        r"got us-east-1b \(use1-az1\)",
    ):
        build(tmp_path, zone_ids={**ZONE_IDS, "us-east-1c": "use1-az3", "us-east-1d": "use1-az5"})


def test_fails_for_a_listed_single_supported_subnet(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^vpc_subnets must span at least 2 AZs"):
        build(
            tmp_path,
            vpc_subnets=lambda s: ec2.SubnetSelection(subnets=s.vpc.isolated_subnets[1:2]),
        )


def test_fails_when_zone_ids_miss_an_az_of_the_vpc(tmp_path: Path) -> None:
    partial = {k: v for k, v in ZONE_IDS.items() if k != "us-east-1d"}
    with pytest.raises(ValueError, match=r"^zone_ids has no AZ ID for us-east-1d, where"):
        build(tmp_path, zone_ids=partial)


@pytest.mark.parametrize(
    ("zone_ids", "message"),
    [
        ({}, r"^zone_ids must map at least two AZ names to AZ IDs, got \{\}"),
        ({"us-west-2a": "usw2-az1"}, r"^zone_ids names us-west-2a, not AZ names of us-east-1"),
        ({"us-east-1a": "az1"}, r"^zone_ids has 'az1', not AZ IDs \(like 'use1-az6'\)"),
        (
            {"us-east-1a": "use1-az1", "us-east-1b": "usw2-az1"},
            r"^zone_ids mixes AZ IDs of several Regions \(use1, usw2\)",
        ),
        (
            {"us-east-1a": "use1-az1", "us-east-1b": "use1-az1"},
            r"^zone_ids maps both us-east-1a and us-east-1b to use1-az1",
        ),
    ],
)
def test_fails_for_a_malformed_zone_mapping(
    tmp_path: Path, zone_ids: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build(tmp_path, zone_ids=zone_ids)


def test_fails_where_the_table_has_no_data_for_the_region(tmp_path: Path) -> None:
    zones = {f"eu-west-2{c}": f"euw2-az{n}" for n, c in enumerate("abcd", 1)}
    with pytest.raises(
        ValueError,
        match=r"^supported_az_ids must list the AZ IDs that offer bedrock-agentcore-runtime in "
        r"eu-west-2: ha-inference has no data on them there",
    ):
        build(tmp_path, region="eu-west-2", zone_ids=zones)


def test_supported_az_ids_serve_a_region_without_data(tmp_path: Path) -> None:
    zones = {f"eu-west-2{c}": f"euw2-az{n}" for n, c in enumerate("abcd", 1)}
    runtime = build(
        tmp_path, region="eu-west-2", zone_ids=zones, supported_az_ids=["euw2-az1", "euw2-az2"]
    )
    assert runtime.availability_zones == ("eu-west-2a", "eu-west-2b")


def test_fails_where_cloudformation_has_no_runtimes(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"^MultiAzAgentRuntime needs a Region where CloudFormation offers"
    ):
        build(tmp_path, region="ca-west-1")


def test_fails_for_an_image_in_another_region(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^code's image is in us-west-2, but the runtime is in"):
        build(tmp_path, code=AgentCode.from_image_uri(IMAGE.replace("us-east-1", "us-west-2")))


@pytest.mark.parametrize("name", ["support-agent", "1agent", "a" * 49])
def test_fails_for_a_runtime_name_the_service_refuses(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"^runtime_name must start with a letter"):
        build(tmp_path, runtime_name=name)


def test_fails_for_an_endpoint_the_runtime_does_not_use(tmp_path: Path) -> None:
    endpoint = ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
        cdk.Stack(), "E", vpc_endpoint_id="vpce-0123456789abcdef0", port=443
    )
    with pytest.raises(ValueError, match=r"^existing_endpoints names ecr.dkr, which this runtime"):
        build(tmp_path, existing_endpoints={"ecr.dkr": endpoint})


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (
            lambda: AgentCode.from_image_uri("agent:latest"),
            r"^image_uri must be a private Amazon ECR",
        ),
        (
            lambda: AgentCode.from_asset("agent", entrypoint=[]),
            r"^entrypoint must be the command that starts the agent",
        ),
        (
            lambda: AgentCode(kind="docker"),
            r"^kind must be 'asset', 'bucket' or 'image', got 'docker'",
        ),
    ],
)
def test_fails_for_code_the_runtime_cannot_run(factory: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()
