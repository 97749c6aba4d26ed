"""SageMakerRuntimeLoadBalancer: an internal NLB in every AZ on the runtime endpoint's ENIs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from docgen.acknowledgements import acknowledgements
from ha_inference._internal.network import NO_TRAFFIC_RULE
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.compute.multi_az_function import PYTHON_RUNTIME
from ha_inference.compute.shipped import FUNCTIONS_DIR, ShippedHandler
from ha_inference.functions import endpoint_targets
from ha_inference.selfhosted.load_balancer import (
    EndpointServiceOptions,
    SageMakerRuntimeLoadBalancer,
    ZonalAutoshiftOptions,
)
from ha_inference.tools.assembly import zones_of
from tests.support import (
    TEST_ACCOUNT,
    ZonalStack,
    isolated_vpc,
    new_app,
    one_resource,
    resources,
    without_twins,
)
from tests.support.lint import lint_template
from tests.support.nag import findings

REGIONS = ("us-east-1", "us-west-2")
CONSUMER_CIDR = "10.1.0.0/16"
PARTNER = "arn:aws:iam::222222222222:root"
LLM_ENDPOINT = f"arn:aws:sagemaker:us-east-1:{TEST_ACCOUNT}:endpoint/llm"


class ProviderStack(ZonalStack):
    """Three fixed AZs, a provider VPC with an ``endpoints`` and an ``other`` subnet in each,
    and a consumer VPC."""

    def __init__(self, scope: cdk.App, construct_id: str, *, region: str) -> None:
        super().__init__(scope, construct_id, region=region, groups=("endpoints", "other"))
        self.consumer = isolated_vpc(
            self, "Consumer", zones=self.availability_zones, groups=("apps",), cidr=CONSUMER_CIDR
        )


@dataclass
class Scenario:
    app: cdk.App
    stacks: dict[str, ZonalStack]
    balancers: dict[str, SageMakerRuntimeLoadBalancer]
    templates: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """us-east-1 with every option (PrivateLink, private hosted zone), us-west-2 with defaults."""
    app = new_app(tmp_path_factory.mktemp("runtime-load-balancer"))
    stacks: dict[str, ZonalStack] = {}
    balancers: dict[str, SageMakerRuntimeLoadBalancer] = {}
    for region in REGIONS:
        stack = ProviderStack(app, f"Runtime-{region}", region=region)
        stacks[region] = stack
        endpoints = ec2.SubnetSelection(subnet_group_name="endpoints")
        if region == "us-east-1":
            balancer = SageMakerRuntimeLoadBalancer(
                stack,
                "Runtime",
                vpc=stack.vpc,
                vpc_subnets=endpoints,
                endpoint_arns=[LLM_ENDPOINT],
                endpoint_service=EndpointServiceOptions(
                    allowed_principals=[iam.ArnPrincipal(PARTNER)],
                    allowed_regions=["us-west-2"],
                ),
                private_hosted_zone_vpcs=[stack.consumer],
            )
        else:
            balancer = SageMakerRuntimeLoadBalancer(
                stack, "Runtime", vpc=stack.vpc, vpc_subnets=endpoints
            )
        balancer.connections.allow_default_port_from(ec2.Peer.ipv4(CONSUMER_CIDR))
        balancers[region] = balancer
    templates = {region: dict(Template.from_stack(stacks[region]).to_json()) for region in REGIONS}
    return Scenario(app, stacks, balancers, templates)


def _one(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    """The balancer's own resource of ``resource_type`` (its ids start with ``Runtime``)."""
    return one_resource(template, resource_type, "Runtime")


def _azs(template: dict[str, Any], subnets: Any) -> list[str | None]:
    return sorted(zones_of(template, subnets))  # type: ignore[type-var]


# --- every AZ ---------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_endpoint_and_nlb_use_the_same_subnet_in_every_az(scenario: Scenario, region: str) -> None:
    template = scenario.templates[region]
    _, endpoint = _one(template, "AWS::EC2::VPCEndpoint")
    _, nlb = _one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    azs = [f"{region}a", f"{region}b", f"{region}c"]
    assert _azs(template, endpoint["Properties"]["SubnetIds"]) == azs
    assert _azs(template, nlb["Properties"]["Subnets"]) == azs
    assert endpoint["Properties"]["SubnetIds"] == nlb["Properties"]["Subnets"]
    assert all(ref["Ref"].startswith("Vpcendpoints") for ref in endpoint["Properties"]["SubnetIds"])
    assert scenario.balancers[region].availability_zones == tuple(azs)


def test_endpoint_is_the_sagemaker_runtime_with_private_dns(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    _, endpoint = _one(template, "AWS::EC2::VPCEndpoint")
    props = endpoint["Properties"]
    assert props["ServiceName"] == "com.amazonaws.us-east-1.sagemaker.runtime"
    assert props["VpcEndpointType"] == "Interface"
    assert props["PrivateDnsEnabled"] is True


@pytest.mark.parametrize(
    ("region", "resource"),
    [
        ("us-east-1", LLM_ENDPOINT),
        ("us-west-2", f"arn:aws:sagemaker:us-west-2:{TEST_ACCOUNT}:endpoint/*"),
    ],
)
def test_endpoint_policy_allows_only_invoking_endpoints(
    scenario: Scenario, region: str, resource: str
) -> None:
    _, endpoint = _one(scenario.templates[region], "AWS::EC2::VPCEndpoint")
    assert endpoint["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "InvokeEndpoints",
            "Effect": "Allow",
            "Principal": {"AWS": "*"},
            "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
            "Resource": resource,
            # Principals of this account only, as on the Bedrock endpoints.
            "Condition": {"StringEquals": {"aws:PrincipalAccount": TEST_ACCOUNT}},
        }
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_nlb_is_internal_with_cross_zone_on(scenario: Scenario, region: str) -> None:
    _, nlb = _one(scenario.templates[region], "AWS::ElasticLoadBalancingV2::LoadBalancer")
    props = nlb["Properties"]
    assert props["Type"] == "network"
    assert props["Scheme"] == "internal"
    attributes = {a["Key"]: a["Value"] for a in props["LoadBalancerAttributes"]}
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    # on by default, a failed first deploy could not roll the NLB back.
    assert attributes["deletion_protection.enabled"] == "false"


@pytest.mark.parametrize("region", REGIONS)
def test_target_group_is_ip_on_tcp_443_with_explicit_health_checks(
    scenario: Scenario, region: str
) -> None:
    template = scenario.templates[region]
    group_id, group = _one(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert group["Properties"] == {
        "TargetType": "ip",
        "Protocol": "TCP",
        "Port": 443,
        "VpcId": group["Properties"]["VpcId"],
        "HealthCheckEnabled": True,
        "HealthCheckProtocol": "TCP",
        "HealthCheckPort": "traffic-port",
        "HealthCheckIntervalSeconds": 10,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 3,
        "UnhealthyThresholdCount": 2,
        # Zonal shift on a cross-zone NLB: keep connections to unhealthy targets, and follow the
        # load balancer's cross-zone setting (no load_balancing.cross_zone.enabled here).
        "TargetGroupAttributes": [
            {
                "Key": "target_health_state.unhealthy.connection_termination.enabled",
                "Value": "false",
            }
        ],
    }
    _, listener = _one(template, "AWS::ElasticLoadBalancingV2::Listener")
    assert listener["Properties"]["Protocol"] == "TCP"
    assert listener["Properties"]["Port"] == 443
    assert listener["Properties"]["DefaultActions"] == [
        {"TargetGroupArn": {"Ref": group_id}, "Type": "forward"}
    ]


def test_failure_detection_time_is_interval_times_unhealthy_threshold(scenario: Scenario) -> None:
    assert scenario.balancers["us-east-1"].failure_detection_time.to_seconds() == 20


# --- security groups ---------------------------------------------------------------------------


def test_endpoint_admits_https_from_the_nlb_and_the_allowed_callers_only(
    scenario: Scenario,
) -> None:
    """inside the VPC the runtime hostname resolves to the endpoint's own
    interfaces, so a caller allowed through ``connections`` must be admitted there as well as
    on the NLB; nothing else is."""
    template = scenario.templates["us-east-1"]
    groups = {
        logical_id: group
        for logical_id, group in resources(template, "AWS::EC2::SecurityGroup").items()
        if logical_id.startswith("Runtime")
    }
    (nlb_group,) = [g for g in groups if g.startswith("RuntimeSecurityGroup")]
    (endpoint_group,) = [g for g in groups if g.startswith("RuntimeEndpointSecurityGroup")]

    def ingress_of(group: str) -> list[tuple[Any, ...]]:
        return sorted(
            (
                json.dumps(rule["Properties"].get("SourceSecurityGroupId")),
                rule["Properties"].get("CidrIp"),
                rule["Properties"]["IpProtocol"],
                rule["Properties"]["FromPort"],
                rule["Properties"]["ToPort"],
            )
            for rule in resources(template, "AWS::EC2::SecurityGroupIngress").values()
            if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
        )

    nlb = json.dumps({"Fn::GetAtt": [nlb_group, "GroupId"]})
    assert ingress_of(endpoint_group) == sorted(
        [(nlb, None, "tcp", 443, 443), ("null", CONSUMER_CIDR, "tcp", 443, 443)]
    )
    assert ingress_of(nlb_group) == [("null", CONSUMER_CIDR, "tcp", 443, 443)]
    for group in (nlb_group, endpoint_group):
        props = groups[group]["Properties"]
        assert "SecurityGroupIngress" not in props
        # The inline "disallow all" placeholder stays: no EC2 default allow-all egress.
        assert props["SecurityGroupEgress"] == [NO_TRAFFIC_RULE]
    (egress,) = [
        rule["Properties"]
        for rule in resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [nlb_group, "GroupId"]}
    ]
    assert egress["DestinationSecurityGroupId"] == {"Fn::GetAtt": [endpoint_group, "GroupId"]}
    assert (egress["FromPort"], egress["ToPort"]) == (443, 443)
    _, balancer = _one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert balancer["Properties"]["SecurityGroups"] == [{"Fn::GetAtt": [nlb_group, "GroupId"]}]
    assert scenario.balancers["us-east-1"].connections.security_groups == [
        scenario.balancers["us-east-1"].security_group,
        scenario.balancers["us-east-1"].endpoint_security_group,
    ]


# --- the target registration ------------------------------------------------------------------

# Logical ids of the version that spoke the custom-resource protocol itself (ServiceToken = the
# handler function). CloudFormation refuses to change a custom resource's ServiceToken, so the
# resource served by the framework needs a new logical id, and the old one is deleted in the
# update's cleanup: its Delete goes to the old handler function, which must then already run
# the new code (same logical id, so CloudFormation updates it in place first).
LEGACY_RESOURCE = "RuntimeEndpointTargets305A7179"
HANDLER = "RuntimeEndpointTargetsHandler38799F12"


def _functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        logical_id: function["Properties"]
        for logical_id, function in resources(template, "AWS::Lambda::Function").items()
        if logical_id.startswith("Runtime")
    }


def _framework(template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ((logical_id, props),) = [
        (logical_id, props)
        for logical_id, props in _functions(template).items()
        if props["Handler"] == "framework.onEvent"
    ]
    return logical_id, props


def test_custom_resource_is_served_by_the_provider_framework(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    endpoint_id, _ = _one(template, "AWS::EC2::VPCEndpoint")
    group_id, _ = _one(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    framework_id, framework = _framework(template)
    custom_id, custom = _one(template, "Custom::SageMakerRuntimeTargets")
    assert custom["Properties"] == {
        "ServiceToken": {"Fn::GetAtt": [framework_id, "Arn"]},
        "ServiceTimeout": "300",
        "NetworkInterfaceIds": {"Fn::GetAtt": [endpoint_id, "NetworkInterfaceIds"]},
        "TargetGroupArn": {"Ref": group_id},
        "Port": 443,
    }
    assert framework["Environment"]["Variables"]["USER_ON_EVENT_FUNCTION_ARN"] == {
        "Fn::GetAtt": [HANDLER, "Arn"]
    }
    assert framework["Timeout"] == 900, "the framework outlives the handler, so it always answers"
    assert cdk.Stack.of(scenario.balancers["us-east-1"]).resolve(
        scenario.balancers["us-east-1"].target_ips
    ) == {"Fn::GetAtt": [custom_id, "Ips"]}


def test_custom_resource_moves_to_a_new_logical_id_and_keeps_the_handler(
    scenario: Scenario,
) -> None:
    """Upgrading a stack deployed with the raw-protocol version: the handler function is updated
    in place (same logical id), the resource is new (a ServiceToken cannot change)."""
    template = scenario.templates["us-east-1"]
    custom_id, _ = _one(template, "Custom::SageMakerRuntimeTargets")
    assert custom_id != LEGACY_RESOURCE
    assert custom_id.startswith("RuntimeEndpointTargetsRegistration")
    assert template["Resources"][HANDLER]["Type"] == "AWS::Lambda::Function"


def test_handler_function_is_latest_python_on_arm_outside_the_vpc(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    group_id, _ = _one(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    props = _functions(template)[HANDLER]
    latest = max(
        (r for r in lambda_.Runtime.ALL if r.family == lambda_.RuntimeFamily.PYTHON),
        key=lambda r: tuple(int(part) for part in r.name.removeprefix("python").split(".")),
    )
    assert props["Runtime"] == PYTHON_RUNTIME.name == latest.name
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == ShippedHandler.ENDPOINT_TARGETS.value == "endpoint_targets.on_event"
    assert callable(endpoint_targets.on_event)
    assert props["Timeout"] == 120
    assert props["Environment"] == {
        "Variables": {endpoint_targets.TARGET_GROUP_ENV: {"Ref": group_id}}
    }
    log_group_id, log_group = _one(template, "AWS::Logs::LogGroup")
    assert log_group["Properties"]["RetentionInDays"] == 365
    for function in _functions(template).values():
        assert "VpcConfig" not in function, "control-plane calls only: no NAT or endpoints needed"
        assert function["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}
    assert (FUNCTIONS_DIR / "endpoint_targets.py").is_file()


def _policies_of(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        policy["Properties"]
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
    ]


def test_handler_role_is_least_privilege(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    group_id, _ = _one(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    log_group_id, _ = _one(template, "AWS::Logs::LogGroup")
    role_id = _functions(template)[HANDLER]["Role"]["Fn::GetAtt"][0]
    role = template["Resources"][role_id]
    assert "ManagedPolicyArns" not in role["Properties"]
    (policy,) = role["Properties"]["Policies"]
    statements = {
        s["Sid"]: (s["Action"], s["Resource"]) for s in policy["PolicyDocument"]["Statement"]
    }
    assert statements == {
        "Logs": (
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            {"Fn::GetAtt": [log_group_id, "Arn"]},
        ),
        "Describe": (
            [
                "ec2:DescribeNetworkInterfaces",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "*",
        ),
        "Targets": (
            [
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:DeregisterTargets",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:RemoveTags",
            ],
            {"Ref": group_id},
        ),
    }
    assert _policies_of(template, role_id) == [], "nothing else is attached to the handler role"


def test_framework_role_may_only_invoke_the_handler_and_log(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    log_group_id, _ = _one(template, "AWS::Logs::LogGroup")
    _, framework = _framework(template)
    role_id = framework["Role"]["Fn::GetAtt"][0]
    assert role_id != _functions(template)[HANDLER]["Role"]["Fn::GetAtt"][0]
    assert "ManagedPolicyArns" not in template["Resources"][role_id]["Properties"]
    (policy,) = _policies_of(template, role_id)
    handler_arn = {"Fn::GetAtt": [HANDLER, "Arn"]}
    assert sorted(
        (json.dumps(s["Action"]), json.dumps(s["Resource"], sort_keys=True))
        for s in policy["PolicyDocument"]["Statement"]
    ) == sorted(
        [
            (
                json.dumps(["logs:CreateLogStream", "logs:PutLogEvents"]),
                json.dumps({"Fn::GetAtt": [log_group_id, "Arn"]}, sort_keys=True),
            ),
            (
                json.dumps("lambda:InvokeFunction"),
                json.dumps([handler_arn, {"Fn::Join": ["", [handler_arn, ":*"]]}], sort_keys=True),
            ),
            (json.dumps("lambda:GetFunction"), json.dumps(handler_arn, sort_keys=True)),
        ]
    )


# --- PrivateLink and DNS -----------------------------------------------------------------------


def test_endpoint_service_admits_named_principals_from_named_regions(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    nlb_id, nlb = _one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    service_id, service = _one(template, "AWS::EC2::VPCEndpointService")
    assert service["Properties"] == {
        "AcceptanceRequired": True,
        "NetworkLoadBalancerArns": [{"Ref": nlb_id}],
        "SupportedRegions": ["us-west-2"],
    }
    _, permissions = _one(template, "AWS::EC2::VPCEndpointServicePermissions")
    assert permissions["Properties"] == {
        "AllowedPrincipals": [PARTNER],
        "ServiceId": {"Ref": service_id},
    }
    assert nlb["Properties"]["EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic"] == "off"


def test_private_hosted_zone_aliases_the_runtime_hostname_to_the_nlb(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    nlb_id, _ = _one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    zone_id, zone = _one(template, "AWS::Route53::HostedZone")
    (consumer_id,) = [v for v in resources(template, "AWS::EC2::VPC") if v.startswith("Consumer")]
    assert zone["Properties"]["Name"] == "runtime.sagemaker.us-east-1.amazonaws.com."
    assert zone["Properties"]["VPCs"] == [{"VPCId": {"Ref": consumer_id}, "VPCRegion": "us-east-1"}]
    _, record = _one(template, "AWS::Route53::RecordSet")
    assert record["Properties"]["Type"] == "A"
    assert record["Properties"]["Name"] == "runtime.sagemaker.us-east-1.amazonaws.com."
    assert record["Properties"]["HostedZoneId"] == {"Ref": zone_id}
    assert record["Properties"]["AliasTarget"]["HostedZoneId"] == {
        "Fn::GetAtt": [nlb_id, "CanonicalHostedZoneID"]
    }


def test_defaults_add_no_endpoint_service_and_no_zone(scenario: Scenario) -> None:
    template = scenario.templates["us-west-2"]
    assert not resources(template, "AWS::EC2::VPCEndpointService")
    assert not resources(template, "AWS::Route53::HostedZone")
    _, nlb = _one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic" not in nlb["Properties"]
    assert scenario.balancers["us-west-2"].endpoint_service is None
    assert scenario.balancers["us-west-2"].private_hosted_zone is None


# --- checks on the whole output -----------------------------------------------------------------


def test_no_unacknowledged_nag_findings(scenario: Scenario) -> None:
    assert findings(scenario.app) == []


def test_no_ha_inference_findings(scenario: Scenario) -> None:
    assert findings_of(HaInferenceChecks(), scenario.app) == []


def test_acknowledgements_are_narrow_and_explained(scenario: Scenario) -> None:
    """The access-log and deletion-protection findings on the load balancer, the certificate
    finding on the TCP listener, IAM5[Resource::*] and the NIST inline-policy and
    synchronous-function findings on the handler, and HandlerProvider's own acknowledgements on
    the framework, nothing else."""
    acknowledged = [
        (path.split("/", 1)[1], rule.removeprefix("Annotation::"), reason)
        for path, rule, reason in without_twins(acknowledgements(scenario.app))
        if "/Runtime/" in path
    ]
    assert sorted((path, rule) for path, rule, _ in acknowledged) == sorted(
        [
            ("Runtime/Resource", "AwsSolutions-ELB2"),
            ("Runtime/Resource", "NIST.800.53.R5-ELBLoggingEnabled"),
            ("Runtime/Resource", "NIST.800.53.R5-ELBDeletionProtectionEnabled"),
            ("Runtime/Resource/Listener", "NIST.800.53.R5-ELBv2ACMCertificateRequired"),
            ("Runtime/EndpointTargets/Role", "AwsSolutions-IAM5[Resource::*]"),
            ("Runtime/EndpointTargets/Role", "Serverless-LambdaStarPermissions"),
            ("Runtime/EndpointTargets/Role", "NIST.800.53.R5-IAMNoInlinePolicy"),
            ("Runtime/EndpointTargets/Handler", "NIST.800.53.R5-LambdaConcurrency"),
            ("Runtime/EndpointTargets/Handler", "NIST.800.53.R5-LambdaDLQ"),
            ("Runtime/EndpointTargets/Handler", "NIST.800.53.R5-LambdaInsideVPC"),
            ("Runtime/EndpointTargets/Handler", "Serverless-LambdaTracing"),
            (
                "Runtime/EndpointTargets/Provider/FrameworkRole",
                f"AwsSolutions-IAM5[Resource::<{HANDLER}.Arn>:*]",
            ),
            (
                "Runtime/EndpointTargets/Provider/FrameworkRole",
                "NIST.800.53.R5-IAMNoInlinePolicy",
            ),
        ]
        * len(REGIONS)
        + [
            ("Runtime/EndpointTargets/Provider/Provider/framework-onEvent", rule)
            for rule in (
                "NIST.800.53.R5-LambdaConcurrency",
                "NIST.800.53.R5-LambdaDLQ",
                "NIST.800.53.R5-LambdaInsideVPC",
                "Serverless-LambdaDefaultMemorySize",
                "Serverless-LambdaTracing",
            )
        ]
        * len(REGIONS)
    )
    for _, rule, reason in acknowledged:
        assert len(reason) >= 60, reason
        if rule in {"AwsSolutions-ELB2", "NIST.800.53.R5-ELBLoggingEnabled"}:
            assert "only for TLS listeners" in reason
        if rule == "AwsSolutions-IAM5[Resource::*]":
            for action in (
                "ec2:DescribeNetworkInterfaces",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetHealth",
            ):
                assert action in reason
            assert "no resource-level permissions" in reason


@pytest.mark.parametrize("region", REGIONS)
def test_template_lints_clean(scenario: Scenario, region: str) -> None:
    assert lint_template(scenario.templates[region], region) == []


def test_snapshot(scenario: Scenario, template_snapshot: SnapshotAssertion) -> None:
    assert scenario.templates["us-east-1"] == template_snapshot


# --- validation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> ZonalStack:
    """A stack that is never synthesized, for constructs that must fail."""
    return ProviderStack(new_app(tmp_path_factory.mktemp("scratch")), "Scratch", region="us-east-1")


_counter = iter(range(1_000_000))


def _balancer(stack: ZonalStack, **props: Any) -> SageMakerRuntimeLoadBalancer:
    props = {
        "vpc": stack.vpc,
        "vpc_subnets": ec2.SubnetSelection(subnet_group_name="endpoints"),
        **props,
    }
    return SageMakerRuntimeLoadBalancer(stack, f"Case{next(_counter)}", **props)


def test_fails_when_subnets_span_one_az(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"vpc_subnets must span at least 2 Availability Zones .* got 1 \(us-east-1b\)",
    ):
        _balancer(
            scratch,
            vpc_subnets=ec2.SubnetSelection(
                subnet_group_name="endpoints", availability_zones=["us-east-1b"]
            ),
        )


def test_fails_when_two_subnets_share_an_az(scratch: ZonalStack) -> None:
    with pytest.raises(ValueError, match="vpc_subnets puts more than one subnet in us-east-1a"):
        _balancer(
            scratch, vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        )


@pytest.mark.parametrize("seconds", [4, 301])
def test_fails_on_an_interval_nlbs_reject(scratch: ZonalStack, seconds: int) -> None:
    with pytest.raises(
        ValueError,
        match=rf"health_check_interval must be between 5 and 300 seconds .* got {seconds} seconds",
    ):
        _balancer(
            scratch,
            health_check_interval=cdk.Duration.seconds(seconds),
            health_check_timeout=cdk.Duration.seconds(2),
        )


@pytest.mark.parametrize("seconds", [1, 121])
def test_fails_on_a_timeout_nlbs_reject(scratch: ZonalStack, seconds: int) -> None:
    with pytest.raises(
        ValueError,
        match=rf"health_check_timeout must be between 2 and 120 seconds .* got {seconds} seconds",
    ):
        _balancer(
            scratch,
            health_check_interval=cdk.Duration.seconds(300),
            health_check_timeout=cdk.Duration.seconds(seconds),
        )


def test_fails_when_the_timeout_exceeds_the_interval(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"health_check_timeout must not be longer than health_check_interval "
        r"\(5 seconds\), got 6 seconds",
    ):
        _balancer(
            scratch,
            health_check_interval=cdk.Duration.seconds(5),
            health_check_timeout=cdk.Duration.seconds(6),
        )


def test_fails_on_a_fractional_interval(scratch: ZonalStack) -> None:
    with pytest.raises(ValueError, match="health_check_interval must be a whole number of seconds"):
        _balancer(scratch, health_check_interval=cdk.Duration.millis(10_500))


@pytest.mark.parametrize("prop", ["healthy_threshold_count", "unhealthy_threshold_count"])
@pytest.mark.parametrize("count", [1, 11])
def test_fails_on_thresholds_nlbs_reject(scratch: ZonalStack, prop: str, count: int) -> None:
    with pytest.raises(
        ValueError, match=rf"{prop} must be between 2 and 10 consecutive .* got {count};"
    ):
        _balancer(scratch, **{prop: count})


def test_fails_when_the_zone_includes_the_endpoint_vpc(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"private_hosted_zone_vpcs includes the load balancer's own VPC \(Scratch/Vpc\)",
    ):
        _balancer(scratch, private_hosted_zone_vpcs=[scratch.consumer, scratch.vpc])


def test_zone_may_include_the_endpoint_vpc_without_private_dns(scratch: ZonalStack) -> None:
    balancer = _balancer(scratch, private_dns_enabled=False, private_hosted_zone_vpcs=[scratch.vpc])
    assert balancer.private_hosted_zone is not None


def test_fails_on_an_endpoint_service_without_principals(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"endpoint_service\.allowed_principals must name at least one principal"
    ):
        _balancer(scratch, endpoint_service=EndpointServiceOptions(allowed_principals=[]))


def test_fails_on_an_empty_endpoint_list(scratch: ZonalStack) -> None:
    with pytest.raises(ValueError, match="endpoint_arns must name at least one SageMaker endpoint"):
        _balancer(scratch, endpoint_arns=[])


def test_fails_on_an_unknown_allowed_region(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"endpoint_service.allowed_regions has an unknown Region 'us-west-9'"
    ):
        _balancer(
            scratch,
            endpoint_service=EndpointServiceOptions(
                allowed_principals=[iam.ArnPrincipal(PARTNER)], allowed_regions=["us-west-9"]
            ),
        )


def test_custom_health_checks_change_the_failure_detection_time(scratch: ZonalStack) -> None:
    balancer = _balancer(
        scratch,
        health_check_interval=cdk.Duration.seconds(30),
        health_check_timeout=cdk.Duration.seconds(10),
        unhealthy_threshold_count=3,
    )
    assert balancer.failure_detection_time.to_seconds() == 90


# --- zonal shift, autoshift and failover thresholds --------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_zonal_shift_is_on_by_default_with_the_target_group_it_requires(
    scenario: Scenario, region: str
) -> None:
    """ "Enable zonal shift for your Network Load Balancer": with cross-zone on, every target
    group is TCP or TLS, uses the load balancer's cross-zone setting (or true) and does not
    terminate connections to unhealthy targets."""
    template = scenario.templates[region]
    _, nlb = _one(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    attributes = {a["Key"]: a["Value"] for a in nlb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["zonal_shift.config.enabled"] == "true"
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    assert "dns_record.client_routing_policy" not in attributes
    for group in resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values():
        props = group["Properties"]
        assert props["Protocol"] in {"TCP", "TLS"} and props["TargetType"] != "alb"
        group_attributes = {a["Key"]: a["Value"] for a in props["TargetGroupAttributes"]}
        assert group_attributes["target_health_state.unhealthy.connection_termination.enabled"] == (
            "false"
        )
        assert group_attributes.get(
            "load_balancing.cross_zone.enabled", "use_load_balancer_configuration"
        ) in {"true", "use_load_balancer_configuration"}
    assert resources(template, "AWS::ARCZonalShift::ZonalAutoshiftConfiguration") == {}
    assert scenario.balancers[region].zonal_shift is True
    assert scenario.balancers[region].zonal_autoshift is None


@dataclass
class Failover:
    app: cdk.App
    balancer: SageMakerRuntimeLoadBalancer
    plain: SageMakerRuntimeLoadBalancer
    template: dict[str, Any]


@pytest.fixture(scope="module")
def failover(tmp_path_factory: pytest.TempPathFactory) -> Failover:
    """Autoshift judged by two alarms (so a composite) and blocked by one, zonal affinity and
    target group health thresholds; and a load balancer with zonal shift off."""
    app = new_app(tmp_path_factory.mktemp("failover"))
    stack = ProviderStack(app, "Failover", region="us-east-1")
    metric = cloudwatch.Metric(namespace="Test", metric_name="Errors")
    errors, latency, deploying = (
        metric.create_alarm(stack, name, threshold=1, evaluation_periods=1)
        for name in ("Errors", "Latency", "Deploying")
    )
    balancer = SageMakerRuntimeLoadBalancer(
        stack,
        "Runtime",
        vpc=stack.vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="endpoints"),
        zonal_autoshift=ZonalAutoshiftOptions(
            outcome_alarms=[errors, latency],
            blocking_alarms=[deploying],
            blocked_dates=["2026-12-24"],
            blocked_windows=["Mon:09:00-Mon:17:00"],
        ),
        client_routing_policy=elbv2.ClientRoutingPolicy.PARTIAL_AVAILABILITY_ZONE_AFFINITY,
        target_group_health=elbv2.TargetGroupHealth(
            dns_minimum_healthy_target_count=2, routing_minimum_healthy_target_count=1
        ),
    )
    plain = SageMakerRuntimeLoadBalancer(
        stack,
        "NoShift",
        vpc=stack.vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="other"),
        private_dns_enabled=False,  # one private-DNS endpoint per service and VPC (E3064)
        zonal_shift=False,
    )
    return Failover(app, balancer, plain, dict(Template.from_stack(stack).to_json()))


def _logical_id(template: dict[str, Any], resource_type: str, prefix: str) -> str:
    (found,) = [k for k in resources(template, resource_type) if k.startswith(prefix)]
    return found


def test_autoshift_practice_runs_are_judged_by_one_composite_of_the_outcome_alarms(
    failover: Failover,
) -> None:
    template = failover.template
    (config,) = resources(template, "AWS::ARCZonalShift::ZonalAutoshiftConfiguration").values()
    props = config["Properties"]
    nlb = _logical_id(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", "Runtime")
    assert props["ResourceIdentifier"] == {"Ref": nlb}
    assert props["ZonalAutoshiftStatus"] == "ENABLED"
    composite = _logical_id(
        template, "AWS::CloudWatch::CompositeAlarm", "RuntimePracticeRunOutcome"
    )
    practice = props["PracticeRunConfiguration"]
    assert practice["OutcomeAlarms"] == [
        {"AlarmIdentifier": {"Fn::GetAtt": [composite, "Arn"]}, "Type": "CLOUDWATCH"}
    ]
    rule = json.dumps(template["Resources"][composite]["Properties"]["AlarmRule"])
    for alarm in ("Errors", "Latency"):
        assert _logical_id(template, "AWS::CloudWatch::Alarm", alarm) in rule
    assert " OR " in rule and "Deploying" not in rule
    deploying = _logical_id(template, "AWS::CloudWatch::Alarm", "Deploying")
    assert practice["BlockingAlarms"] == [
        {"AlarmIdentifier": {"Fn::GetAtt": [deploying, "Arn"]}, "Type": "CLOUDWATCH"}
    ]
    assert practice["BlockedDates"] == ["2026-12-24"]
    assert practice["BlockedWindows"] == ["Mon:09:00-Mon:17:00"]
    assert failover.balancer.zonal_autoshift is not None


def _attributes(template: dict[str, Any], prefix: str) -> tuple[dict[str, str], dict[str, str]]:
    """The attributes of the load balancer and of the target group whose ids start with
    ``prefix`` (empty when none are written)."""

    def of(resource_type: str, prefix: str, key: str) -> dict[str, str]:
        props = template["Resources"][_logical_id(template, resource_type, prefix)]["Properties"]
        return {a["Key"]: a["Value"] for a in props.get(key, [])}

    return (
        of("AWS::ElasticLoadBalancingV2::LoadBalancer", prefix, "LoadBalancerAttributes"),
        of("AWS::ElasticLoadBalancingV2::TargetGroup", f"{prefix}Targets", "TargetGroupAttributes"),
    )


def test_client_routing_policy_and_target_group_health_are_written(failover: Failover) -> None:
    attributes, group_attributes = _attributes(failover.template, "Runtime")
    assert attributes["dns_record.client_routing_policy"] == "partial_availability_zone_affinity"
    assert group_attributes["target_group_health.dns_failover.minimum_healthy_targets.count"] == "2"
    assert (
        group_attributes[
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count"
        ]
        == "1"
    )


def test_zonal_shift_off_leaves_the_api_defaults(failover: Failover) -> None:
    attributes, group_attributes = _attributes(failover.template, "NoShift")
    assert attributes["zonal_shift.config.enabled"] == "false"
    assert group_attributes == {}
    assert failover.plain.zonal_shift is False


def test_failover_options_lint_clean_and_pass_the_checks(failover: Failover) -> None:
    assert lint_template(failover.template, "us-east-1") == []
    assert findings(failover.app) == []


def test_fails_on_autoshift_without_zonal_shift(scratch: ZonalStack) -> None:
    alarm = _alarm(scratch)
    with pytest.raises(
        ValueError, match=r"zonal_autoshift needs zonal_shift=True, got zonal_shift=False"
    ):
        _balancer(
            scratch,
            zonal_shift=False,
            zonal_autoshift=ZonalAutoshiftOptions(outcome_alarms=[alarm]),
        )


def test_fails_on_autoshift_without_outcome_alarms(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"zonal_autoshift.outcome_alarms must name at least one alarm"
    ):
        _balancer(scratch, zonal_autoshift=ZonalAutoshiftOptions(outcome_alarms=[]))


@pytest.mark.parametrize(
    ("prop", "value"),
    [("blocked_dates", "24.12.2026"), ("blocked_windows", "Monday:09:00-Monday:17:00")],
)
def test_fails_on_a_malformed_blocked_entry(scratch: ZonalStack, prop: str, value: str) -> None:
    options = ZonalAutoshiftOptions(outcome_alarms=[_alarm(scratch)], **{prop: [value]})
    with pytest.raises(
        ValueError, match=rf"zonal_autoshift.{prop} entries must look like .* got {value!r}"
    ):
        _balancer(scratch, zonal_autoshift=options)


def test_fails_on_too_many_blocked_dates(scratch: ZonalStack) -> None:
    options = ZonalAutoshiftOptions(
        outcome_alarms=[_alarm(scratch)], blocked_dates=[f"2026-12-{d:02}" for d in range(1, 17)]
    )
    with pytest.raises(
        ValueError, match=r"zonal_autoshift.blocked_dates may hold at most 15 entries, got 16"
    ):
        _balancer(scratch, zonal_autoshift=options)


def test_fails_on_a_client_routing_policy_string(scratch: ZonalStack) -> None:
    with pytest.raises(
        TypeError,
        match=r"client_routing_policy must be an elbv2.ClientRoutingPolicy, got 'availability_zone_affinity'",
    ):
        _balancer(scratch, client_routing_policy="availability_zone_affinity")


@pytest.mark.parametrize(
    ("health", "message"),
    [
        (
            elbv2.TargetGroupHealth(dns_minimum_healthy_target_count=4),
            r"target_group_health.dns_minimum_healthy_target_count must be a number of targets "
            r"from 0 to 3 .* got 4",
        ),
        (
            elbv2.TargetGroupHealth(routing_minimum_healthy_target_count=0),
            r"routing_minimum_healthy_target_count must be a number of targets from 1 to 3 .* got 0",
        ),
        (
            elbv2.TargetGroupHealth(dns_minimum_healthy_target_percentage=101),
            r"dns_minimum_healthy_target_percentage must be a percentage from 1 to 100, or 0 for "
            r"off, got 101",
        ),
        (
            elbv2.TargetGroupHealth(
                dns_minimum_healthy_target_count=1, routing_minimum_healthy_target_count=2
            ),
            r"dns_minimum_healthy_target_count must be at least "
            r"routing_minimum_healthy_target_count \(2\), got 1",
        ),
    ],
)
def test_fails_on_target_group_health_elb_rejects(
    scratch: ZonalStack, health: elbv2.TargetGroupHealth, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _balancer(scratch, target_group_health=health)


def _alarm(stack: ZonalStack) -> cloudwatch.Alarm:
    return cloudwatch.Metric(namespace="Test", metric_name="Errors").create_alarm(
        stack, f"Alarm{next(_counter)}", threshold=1, evaluation_periods=1
    )


def test_fails_when_autoshift_is_enabled_twice(scratch: ZonalStack) -> None:
    balancer = _balancer(scratch, private_dns_enabled=False)
    options = ZonalAutoshiftOptions(outcome_alarms=[_alarm(scratch)])
    assert balancer.enable_zonal_autoshift(options) is balancer.zonal_autoshift
    with pytest.raises(ValueError, match=r"zonal autoshift is already enabled on Scratch/Case"):
        balancer.enable_zonal_autoshift(options)


def test_is_a_connectable_that_aws_cdk_lib_can_read(tmp_path: Path) -> None:
    """aws-cdk-lib reads ``connections`` through jsii when the balancer is passed as an
    ``IConnectable``: a caller's ``connections.allow_to_default_port(balancer)`` opens 443 to
    both the load balancer's and the endpoint's security groups."""
    stack = ProviderStack(new_app(tmp_path), "Connectable", region="us-east-1")
    balancer = _balancer(stack)
    caller = ec2.SecurityGroup(stack, "Caller", vpc=stack.vpc, allow_all_outbound=False)
    caller.connections.allow_to_default_port(balancer, "caller to the model")
    template = Template.from_stack(stack).to_json()
    egress = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"]
        == {"Fn::GetAtt": [stack.get_logical_id(caller.node.default_child), "GroupId"]}
    ]
    targets = {
        stack.get_logical_id(g.node.default_child)
        for g in (balancer.security_group, balancer.endpoint_security_group)
    }
    assert {e["DestinationSecurityGroupId"]["Fn::GetAtt"][0] for e in egress} == targets
    assert {(e["FromPort"], e["ToPort"]) for e in egress} == {(443, 443)}
