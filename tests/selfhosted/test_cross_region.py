"""Cross-Region paths to self-hosted models: offering, consuming, failing over, and the checks.

One scenario: us-west-2 offers its model (endpoint service offering us-east-1); us-east-1 hosts
its own model and, in the same stack, reaches us-west-2's over cross-Region PrivateLink with a
failover function trying us-east-1 first. The only link between the stacks is the service id,
which aws-cdk-lib renders as ``Fn::GetStackOutput`` with us-west-2 (weak references, cdk.json).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks

from ha_inference import (
    CrossRegionRuntimePaths,
    EndpointServiceOptions,
    MultiAzSageMakerEndpoint,
    RegionCoverage,
    RuntimeRoute,
    SageMakerFailoverFunction,
    SageMakerRuntimeLoadBalancer,
)
from ha_inference._internal.nag import NO_RESERVED_CONCURRENCY, SYNCHRONOUS_NO_DLQ, acknowledge_all
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.checks.nag_rules import (
    COMPLIANT,
    NOT_APPLICABLE,
    endpoint_service_cross_region,
)
from ha_inference.compute.shipped import ShippedHandler
from ha_inference.tools.assembly import zones_of
from tests.support import TEST_ACCOUNT, ZonalStack, new_app, one_resource, resources
from tests.support.lint import lint_template

EAST, WEST = "us-east-1", "us-west-2"
IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
)
ACCOUNT_ROOT = f"arn:aws:iam::{TEST_ACCOUNT}:root"
ENDPOINTS = ec2.SubnetSelection(subnet_group_name="endpoints")
WORKLOADS = ec2.SubnetSelection(subnet_group_name="workloads")


@dataclass
class Hosted:
    endpoint: MultiAzSageMakerEndpoint
    balancer: SageMakerRuntimeLoadBalancer
    route: RuntimeRoute


def host_model(stack: ZonalStack, *, offer_to: list[str]) -> Hosted:
    region = stack.region
    endpoint = MultiAzSageMakerEndpoint(
        stack,
        "Llm",
        vpc=stack.vpc,
        vpc_subnets=WORKLOADS,
        image=IMAGE.format(region=region),
        model_data_url=f"s3://models-{region}/llm/model.tar.gz",
        invocations_per_instance_target=30,
    )
    balancer = SageMakerRuntimeLoadBalancer(
        stack,
        "Runtime",
        vpc=stack.vpc,
        vpc_subnets=ENDPOINTS,
        endpoint_arns=[endpoint.endpoint_arn],
        endpoint_service=EndpointServiceOptions(
            allowed_principals=[iam.ArnPrincipal(ACCOUNT_ROOT)],
            acceptance_required=False,
            allowed_regions=offer_to,
        ),
    )
    return Hosted(endpoint, balancer, RuntimeRoute.through(balancer, endpoint=endpoint))


@dataclass
class Scenario:
    app: cdk.App
    east: ZonalStack
    west: ZonalStack
    hosted: dict[str, Hosted]
    paths: CrossRegionRuntimePaths
    failover: SageMakerFailoverFunction
    templates: dict[str, dict[str, Any]]


def zonal_stack(app: cdk.App, region: str) -> ZonalStack:
    return ZonalStack(app, f"Models-{region}", region=region, groups=("endpoints", "workloads"))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    app = new_app(tmp_path_factory.mktemp("cross-region"))
    west = zonal_stack(app, WEST)
    east = zonal_stack(app, EAST)
    hosted = {
        WEST: host_model(west, offer_to=[EAST]),
        EAST: host_model(east, offer_to=[WEST]),
    }
    paths = CrossRegionRuntimePaths(
        east,
        "CrossRegion",
        vpc=east.vpc,
        vpc_subnets=ENDPOINTS,
        routes=[hosted[WEST].route],
    )
    failover = SageMakerFailoverFunction(
        east,
        "Failover",
        vpc=east.vpc,
        vpc_subnets=WORKLOADS,
        routes=[RuntimeRoute.of(hosted[EAST].endpoint), hosted[WEST].route],
        local_network=hosted[EAST].balancer,
        paths=paths,
    )
    acknowledge_all(
        failover.function.function,
        {
            "NIST.800.53.R5-LambdaDLQ": SYNCHRONOUS_NO_DLQ,
            "NIST.800.53.R5-LambdaConcurrency": NO_RESERVED_CONCURRENCY,
        },
    )
    for region, stack in ((EAST, east), (WEST, west)):
        hosted[region].balancer.add_target_health_alarms()
        hosted[region].endpoint.add_alarms(model_latency_threshold=cdk.Duration.seconds(30))
        del stack
    templates = {
        EAST: dict(Template.from_stack(east).to_json()),
        WEST: dict(Template.from_stack(west).to_json()),
    }
    return Scenario(app, east, west, hosted, paths, failover, templates)


# --- the provider ------------------------------------------------------------------------------


def test_the_service_offers_the_consumer_region_to_this_account_only(scenario: Scenario) -> None:
    template = scenario.templates[WEST]
    service_id, service = one_resource(template, "AWS::EC2::VPCEndpointService", "Runtime")
    assert service["Properties"]["SupportedRegions"] == [EAST]
    assert service["Properties"]["AcceptanceRequired"] is False
    _, permissions = one_resource(template, "AWS::EC2::VPCEndpointServicePermissions", "Runtime")
    assert permissions["Properties"] == {
        "AllowedPrincipals": [ACCOUNT_ROOT],
        "ServiceId": {"Ref": service_id},
    }


def test_the_route_names_the_service_by_its_id(scenario: Scenario) -> None:
    route = scenario.hosted[WEST].route
    assert (route.region, route.account, route.service_name) == (WEST, TEST_ACCOUNT, None)
    assert route.endpoint_name == scenario.hosted[WEST].endpoint.endpoint_name
    service = scenario.hosted[WEST].balancer.endpoint_service
    assert service is not None and route.service_id == service.vpc_endpoint_service_id


def test_the_consumer_reads_the_service_id_from_the_provider_region(scenario: Scenario) -> None:
    """A weak reference: no export to lock the provider, and the consumer deploys after it."""
    west, east = scenario.templates[WEST], scenario.templates[EAST]
    service_id, _ = one_resource(west, "AWS::EC2::VPCEndpointService", "Runtime")
    (output_name,) = [
        name for name, output in west["Outputs"].items() if output["Value"] == {"Ref": service_id}
    ]
    assert "Export" not in west["Outputs"][output_name]
    _, endpoint = one_resource(east, "AWS::EC2::VPCEndpoint", "CrossRegionuswest2")
    # com.amazonaws.vpce.us-west-2.<id>: built from the route's Region, not AWS::Region.
    assert endpoint["Properties"]["ServiceName"] == {
        "Fn::Join": [
            ".",
            [
                "com.amazonaws.vpce.us-west-2",
                {
                    "Fn::GetStackOutput": {
                        "StackName": "Models-us-west-2",
                        "Region": WEST,
                        "OutputName": output_name,
                    }
                },
            ],
        ]
    }
    assert "Fn::ImportValue" not in json.dumps(east)
    assert scenario.east.dependencies == [scenario.west]


# --- the consumer ------------------------------------------------------------------------------


def test_the_endpoint_to_the_other_region_is_in_every_az(scenario: Scenario) -> None:
    template = scenario.templates[EAST]
    _, endpoint = one_resource(template, "AWS::EC2::VPCEndpoint", "CrossRegionuswest2")
    props = endpoint["Properties"]
    assert props["ServiceRegion"] == WEST
    assert props["VpcEndpointType"] == "Interface"
    assert props["PrivateDnsEnabled"] is False
    assert "PolicyDocument" not in props
    assert sorted(zones_of(template, props["SubnetIds"])) == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]  # type: ignore[type-var]


def test_the_remote_hostname_resolves_to_the_endpoint_in_the_vpc(scenario: Scenario) -> None:
    template = scenario.templates[EAST]
    endpoint_id, _ = one_resource(template, "AWS::EC2::VPCEndpoint", "CrossRegionuswest2")
    zone_id, zone = one_resource(template, "AWS::Route53::HostedZone", "CrossRegionuswest2")
    vpc_id = next(iter(resources(template, "AWS::EC2::VPC")))
    assert zone["Properties"]["Name"] == "runtime.sagemaker.us-west-2.amazonaws.com."
    assert zone["Properties"]["VPCs"] == [{"VPCId": {"Ref": vpc_id}, "VPCRegion": "us-east-1"}]
    _, record = one_resource(template, "AWS::Route53::RecordSet", "CrossRegionuswest2")
    assert record["Properties"]["Type"] == "A"
    assert record["Properties"]["HostedZoneId"] == {"Ref": zone_id}
    alias = json.dumps(record["Properties"]["AliasTarget"])
    assert f'"{endpoint_id}", "DnsEntries"' in alias
    assert record["Properties"]["Name"] == "runtime.sagemaker.us-west-2.amazonaws.com."
    assert scenario.paths.hostname(WEST) == "runtime.sagemaker.us-west-2.amazonaws.com"


def _ingress(template: dict[str, Any], group_id: str) -> list[dict[str, Any]]:
    return [
        rule["Properties"]
        for rule in resources(template, "AWS::EC2::SecurityGroupIngress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]


def _egress(template: dict[str, Any], group_id: str) -> list[dict[str, Any]]:
    return [
        rule["Properties"]
        for rule in resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]


def test_only_the_failover_function_may_reach_the_endpoints(scenario: Scenario) -> None:
    template = scenario.templates[EAST]
    paths_sg, _ = one_resource(template, "AWS::EC2::SecurityGroup", "CrossRegionSecurityGroup")
    function_sg, _ = one_resource(
        template, "AWS::EC2::SecurityGroup", "FailoverFunctionSecurityGroup"
    )
    (ingress,) = _ingress(template, paths_sg)
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": [function_sg, "GroupId"]}
    assert (ingress["IpProtocol"], ingress["FromPort"], ingress["ToPort"]) == ("tcp", 443, 443)
    egress = _egress(template, function_sg)
    targets = {rule["DestinationSecurityGroupId"]["Fn::GetAtt"][0] for rule in egress}
    lb_sg, _ = one_resource(template, "AWS::EC2::SecurityGroup", "RuntimeSecurityGroup")
    endpoint_sg, _ = one_resource(
        template, "AWS::EC2::SecurityGroup", "RuntimeEndpointSecurityGroup"
    )
    assert targets == {paths_sg, lb_sg, endpoint_sg}
    assert {(r["IpProtocol"], r["FromPort"], r["ToPort"]) for r in egress} == {("tcp", 443, 443)}


def test_the_failover_function_tries_its_own_region_first(scenario: Scenario) -> None:
    template = scenario.templates[EAST]
    function_id, function = one_resource(template, "AWS::Lambda::Function", "FailoverFunction")
    props = function["Properties"]
    assert props["Handler"] == ShippedHandler.SELF_HOSTED.value
    environment = props["Environment"]["Variables"]
    names = {r: scenario.hosted[r].endpoint.endpoint_name for r in (EAST, WEST)}
    assert json.loads(environment["ROUTES"]) == [
        {"region": EAST, "endpointName": names[EAST]},
        {"region": WEST, "endpointName": names[WEST]},
    ]
    assert environment["CONNECT_ADDRESSES"] == "3"
    assert (environment["BREAKER_FAILURES"], environment["BREAKER_COOLDOWN_SECONDS"]) == ("2", "30")
    assert (environment["CONNECT_TIMEOUT_SECONDS"], environment["MAX_ATTEMPT_SECONDS"]) == (
        "2",
        "60",
    )
    assert props["Timeout"] == 140
    assert sorted(zones_of(template, props["VpcConfig"]["SubnetIds"])) == [
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]  # type: ignore[type-var]
    endpoint_id, _ = one_resource(template, "AWS::EC2::VPCEndpoint", "CrossRegionuswest2")
    record_id, _ = one_resource(template, "AWS::Route53::RecordSet", "CrossRegionuswest2")
    assert {endpoint_id, record_id} <= set(function.get("DependsOn", [])), function_id


def test_the_failover_function_may_invoke_exactly_the_two_endpoints(scenario: Scenario) -> None:
    template = scenario.templates[EAST]
    role_id, _ = one_resource(template, "AWS::IAM::Role", "FailoverFunctionServiceRole")
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(a).startswith("sagemaker:") for a in _listed(statement["Action"]))
    ]
    (statement,) = statements
    assert statement["Action"] == [
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
    ]
    names = {r: scenario.hosted[r].endpoint.endpoint_name for r in (EAST, WEST)}
    assert statement["Resource"] == [
        f"arn:aws:sagemaker:{region}:{TEST_ACCOUNT}:endpoint/{names[region]}"
        for region in (EAST, WEST)
    ]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_grant_invoke_names_only_the_remote_endpoints(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    west = zonal_stack(app, WEST)
    hosted = host_model(west, offer_to=[EAST])
    east = zonal_stack(app, EAST)
    paths = CrossRegionRuntimePaths(east, "Paths", vpc=east.vpc, routes=[hosted.route])
    role = iam.Role(east, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    grant = paths.grant_invoke(role)
    assert grant.success
    statement = grant.principal_statement
    assert statement is not None
    assert east.resolve(statement.resources) == [
        f"arn:aws:sagemaker:us-west-2:{TEST_ACCOUNT}:endpoint/{hosted.endpoint.endpoint_name}"
    ]


# --- health ------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", [EAST, WEST])
def test_alarms_on_healthy_targets_and_endpoint_errors(scenario: Scenario, region: str) -> None:
    template = scenario.templates[region]
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    balancer_id, _ = one_resource(template, "AWS::ElasticLoadBalancingV2::LoadBalancer", "Runtime")
    group_id, _ = one_resource(template, "AWS::ElasticLoadBalancingV2::TargetGroup", "Runtime")
    healthy = {
        logical_id: alarm["Properties"]
        for logical_id, alarm in alarms.items()
        if alarm["Properties"].get("MetricName") == "HealthyHostCount"
    }
    assert {
        (p["Threshold"], p["ComparisonOperator"], p["EvaluationPeriods"], p["TreatMissingData"])
        for p in healthy.values()
    } == {(3, "LessThanThreshold", 2, "breaching"), (1, "LessThanThreshold", 1, "breaching")}
    for props in healthy.values():
        assert props["Namespace"] == "AWS/NetworkELB"
        assert (props["Statistic"], props["Period"]) == ("Minimum", 60)
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        assert dimensions == {
            "LoadBalancer": {"Fn::GetAtt": [balancer_id, "LoadBalancerFullName"]},
            "TargetGroup": {"Fn::GetAtt": [group_id, "TargetGroupFullName"]},
        }
    errors = [
        a for a in alarms.values() if a["Properties"].get("MetricName") == "Invocation5XXErrors"
    ]
    assert len(errors) == 1


def test_fails_when_target_health_alarms_are_added_twice(tmp_path: Path) -> None:
    stack = zonal_stack(new_app(tmp_path), WEST)
    hosted = host_model(stack, offer_to=[EAST])
    hosted.balancer.add_target_health_alarms()
    with pytest.raises(ValueError, match="add_target_health_alarms was already called"):
        hosted.balancer.add_target_health_alarms()


# --- checks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", [EAST, WEST])
def test_templates_lint_clean(scenario: Scenario, region: str) -> None:
    assert lint_template(scenario.templates[region], region) == []


def test_no_unacknowledged_findings(scenario: Scenario) -> None:
    """AwsSolutions and the GENREL05-BP01 pack (NIST 800-53 runs on the reference app, whose
    stacks give every log group a key and the VPC flow logs)."""
    for pack in (AwsSolutionsChecks(), HaInferenceChecks()):
        assert findings_of(pack, scenario.app) == [], type(pack).__name__


def test_coverage_sees_the_paths_and_the_offers(scenario: Scenario) -> None:
    coverage = RegionCoverage(scenario.app, "Coverage", require_cross_region_paths=True)
    names = {r: scenario.hosted[r].endpoint.endpoint_name for r in (EAST, WEST)}
    # us-east-1 reaches us-west-2; us-west-2 has no path back (this scenario is one-way).
    assert coverage.problems() == [
        f"us-east-1 hosts self-hosted model {names[EAST]} but us-west-2 cannot reach it: "
        "us-west-2 has no cross-Region path to us-east-1; add us-east-1's route to a "
        "CrossRegionRuntimePaths in us-west-2"
    ]
    scenario.app.node.try_remove_child("Coverage")


def test_coverage_fails_when_a_caller_is_not_offered_the_service(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    west = zonal_stack(app, WEST)
    hosted = host_model(west, offer_to=["eu-west-1"])
    east = zonal_stack(app, EAST)
    local = host_model(east, offer_to=[WEST])
    CrossRegionRuntimePaths(east, "Paths", vpc=east.vpc, routes=[hosted.route])
    CrossRegionRuntimePaths(west, "Paths", vpc=west.vpc, routes=[local.route])
    problems = RegionCoverage(app, "Coverage", require_cross_region_paths=True).problems()
    assert problems == [
        "us-east-1 has a cross-Region path to us-west-2, but us-west-2's endpoint service does "
        "not offer us-east-1; add us-east-1 to allowed_regions of the load balancer's endpoint "
        "service and route through it (RuntimeRoute.through)"
    ]
    assert RegionCoverage(app, "Lenient").problems() == [], "the check is opt-in"


# --- bad input ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def route() -> RuntimeRoute:
    return RuntimeRoute(
        region=WEST,
        account=TEST_ACCOUNT,
        endpoint_name="llm",
        service_id="vpce-svc-0123456789abcdef0",
    )


def _consumer(tmp_path: Path) -> ZonalStack:
    return zonal_stack(new_app(tmp_path), EAST)


@pytest.mark.parametrize(
    ("routes", "message"),
    [
        ([], "routes must name at least one other Region"),
        ("twice", "routes names us-west-2 more than once"),
        ("own", "routes includes this stack's own Region us-east-1"),
        ("unpublished", "routes to us-west-2 name no endpoint service"),
    ],
)
def test_fails_on_bad_paths(tmp_path: Path, route: RuntimeRoute, routes: Any, message: str) -> None:
    stack = _consumer(tmp_path)
    given = (
        routes
        if isinstance(routes, list)
        else {
            "twice": [route, route],
            "own": [
                RuntimeRoute(
                    region=EAST,
                    account=TEST_ACCOUNT,
                    endpoint_name="x",
                    service_id="vpce-svc-1",
                )
            ],
            "unpublished": [RuntimeRoute(region=WEST, account=TEST_ACCOUNT, endpoint_name="x")],
        }[routes]
    )
    with pytest.raises(ValueError, match=message):
        CrossRegionRuntimePaths(stack, "Paths", vpc=stack.vpc, routes=given)


def test_fails_on_a_second_path_to_one_region_in_one_vpc(
    tmp_path: Path, route: RuntimeRoute
) -> None:
    stack = _consumer(tmp_path)
    CrossRegionRuntimePaths(stack, "Paths", vpc=stack.vpc, routes=[route])
    with pytest.raises(ValueError, match=r"runtime\.sagemaker\.us-west-2\.amazonaws\.com.*already"):
        CrossRegionRuntimePaths(stack, "Again", vpc=stack.vpc, routes=[route])


def test_a_service_outside_the_app_is_named_literally(tmp_path: Path) -> None:
    stack = _consumer(tmp_path)
    name = "com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0"
    literal = RuntimeRoute(
        region=WEST, account=TEST_ACCOUNT, endpoint_name="llm", service_name=name
    )
    CrossRegionRuntimePaths(stack, "Paths", vpc=stack.vpc, routes=[literal])
    template = Template.from_stack(stack).to_json()
    (endpoint,) = resources(template, "AWS::EC2::VPCEndpoint").values()
    assert endpoint["Properties"]["ServiceName"] == name
    assert endpoint["Properties"]["ServiceRegion"] == WEST


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"region": "mars-1"}, "RuntimeRoute.region has an unknown Region"),
        ({"account": "123"}, "RuntimeRoute.account must be a 12-digit account id"),
        (
            {"endpoint_name": "no spaces"},
            "RuntimeRoute.endpoint_name must be a SageMaker endpoint name",
        ),
        ({"service_name": "com.amazonaws.vpce.us-west-2.vpce-svc-0abc"}, "not both"),
        (
            {
                "service_id": None,
                "service_name": "com.amazonaws.vpce.us-east-1.vpce-svc-0abc",
            },
            "must be an endpoint service name of us-west-2",
        ),
    ],
)
def test_fails_on_bad_routes(props: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "region": WEST,
        "account": TEST_ACCOUNT,
        "endpoint_name": "llm",
        "service_id": "vpce-svc-0123456789abcdef0",
    }
    with pytest.raises(ValueError, match=message):
        RuntimeRoute(**{**base, **props})


def test_fails_to_route_through_a_load_balancer_without_an_offer(tmp_path: Path) -> None:
    stack = zonal_stack(new_app(tmp_path), WEST)
    endpoint = MultiAzSageMakerEndpoint(
        stack,
        "Llm",
        vpc=stack.vpc,
        vpc_subnets=WORKLOADS,
        image=IMAGE.format(region=WEST),
        model_data_url="s3://models/llm/model.tar.gz",
        invocations_per_instance_target=30,
    )
    plain = SageMakerRuntimeLoadBalancer(stack, "Plain", vpc=stack.vpc, vpc_subnets=ENDPOINTS)
    with pytest.raises(
        ValueError, match="has no endpoint service, so no other Region can reach it"
    ):
        RuntimeRoute.through(plain, endpoint=endpoint)
    local_only = SageMakerRuntimeLoadBalancer(
        stack,
        "LocalOnly",
        vpc=stack.vpc,
        vpc_subnets=ENDPOINTS,
        private_dns_enabled=False,
        endpoint_service=EndpointServiceOptions(
            allowed_principals=[iam.ArnPrincipal(ACCOUNT_ROOT)]
        ),
    )
    with pytest.raises(ValueError, match="offers no other Region"):
        RuntimeRoute.through(local_only, endpoint=endpoint)
    elsewhere = host_model(zonal_stack(stack.node.root, "eu-west-1"), offer_to=[WEST])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is in us-west-2, not in eu-west-1"):
        RuntimeRoute.through(elsewhere.balancer, endpoint=endpoint)


def test_fails_on_bad_failover_settings(tmp_path: Path, route: RuntimeRoute) -> None:
    app = new_app(tmp_path)
    stack = zonal_stack(app, EAST)
    local = RuntimeRoute(region=EAST, account=TEST_ACCOUNT, endpoint_name="local")
    paths = CrossRegionRuntimePaths(stack, "Paths", vpc=stack.vpc, routes=[route])
    cases: list[tuple[dict[str, Any], str]] = [
        ({"routes": []}, "routes must name at least one Region's model"),
        ({"routes": [route, route]}, "routes names us-west-2 more than once"),
        ({"routes": [local]}, "local_network is not given"),
        (
            {
                "routes": [
                    RuntimeRoute(
                        region="eu-west-1",
                        account=TEST_ACCOUNT,
                        endpoint_name="e",
                        service_id="vpce-svc-1",
                    )
                ]
            },
            "paths has no cross-Region path there",
        ),
        (
            {"routes": [route], "timeout": cdk.Duration.millis(1500)},
            "timeout must be a literal whole number",
        ),
        ({"routes": [route], "breaker_failures": 0}, "breaker_failures must be 1-100"),
        (
            {"routes": [route], "connect_timeout": cdk.Duration.seconds(30)},
            "connect_timeout must be",
        ),
    ]
    for i, (props, message) in enumerate(cases):
        with pytest.raises(ValueError, match=message):
            SageMakerFailoverFunction(stack, f"F{i}", vpc=stack.vpc, paths=paths, **props)


# --- the rule (HaInference-VPCE5) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("acceptance", "regions", "principals", "expected"),
    [
        (True, ["us-west-2"], None, []),
        (False, ["us-west-2"], [ACCOUNT_ROOT], []),
        (False, ["us-west-2"], None, ["no-acceptance-or-principals"]),
        (None, ["us-west-2"], ["arn:aws:iam::*:root"], ["no-acceptance-or-principals"]),
        (True, "token", None, ["regions-not-explicit"]),
        (True, None, None, "not applicable"),
    ],
)
def test_the_cross_region_endpoint_service_rule(
    tmp_path: Path, acceptance: Any, regions: Any, principals: Any, expected: Any
) -> None:
    stack = cdk.Stack(
        new_app(tmp_path), "Rule", env=cdk.Environment(account=TEST_ACCOUNT, region=EAST)
    )
    if regions == "token":
        regions = cdk.Fn.split(",", cdk.CfnParameter(stack, "Regions").value_as_string)
    service = ec2.CfnVPCEndpointService(
        stack,
        "Service",
        network_load_balancer_arns=[
            "arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/x/1"
        ],
        acceptance_required=acceptance,
        supported_regions=regions,
    )
    if principals is not None:
        ec2.CfnVPCEndpointServicePermissions(
            stack, "Permissions", service_id=service.ref, allowed_principals=principals
        )
    result = endpoint_service_cross_region(service)
    if expected == "not applicable":
        assert result == NOT_APPLICABLE
    elif expected == []:
        assert result == COMPLIANT
    else:
        assert result == expected
