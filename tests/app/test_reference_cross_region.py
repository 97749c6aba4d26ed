"""The reference app's cross-Region paths: with the self-hosted model in every Region,
each Region reaches every other Region's model privately, and fails over to it.

The path from a caller in Region A to Region B's model is traced hop by hop over the synthesized
templates: the caller's security group egress and the endpoint's ingress on 443, the private
hosted zone record for B's runtime hostname, B's endpoint service offering A, IAM on B's
endpoint ARN, and B's runtime endpoint policy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from ha_inference import RegionCoverage
from ha_inference.tools.assembly import StackArtifact, zones_of
from stacks import build_reference_app
from stacks.config import SettingsError, load_settings
from tests.support import TEST_ACCOUNT, Synth, new_app, one_resource, resources
from tests.support.lint import lint_template
from tests.truth.metrics import ALARM, DASHBOARD, alarm_metrics, check_template, dashboard_metrics

REGIONS = ("us-east-1", "us-east-2", "us-west-2")
AZS = {region: [f"{region}{z}" for z in "abc"] for region in REGIONS}


def _others(region: str) -> list[str]:
    return [r for r in REGIONS if r != region]


def _output_of(reference: Synth, value: Any) -> Any:
    """What a Fn::GetStackOutput in a -CrossRegion template names in the regional template."""
    assert isinstance(value, dict) and "Fn::GetStackOutput" in value, value
    ref = value["Fn::GetStackOutput"]
    producer = reference.artifacts[ref["Region"]]
    assert ref["StackName"] == producer.name
    return producer.template["Outputs"][ref["OutputName"]]["Value"]


def _cross(reference: Synth, region: str) -> StackArtifact:
    return reference.cross_region[region]


def test_one_cross_region_stack_per_region_after_every_regional_stack(reference: Synth) -> None:
    assert sorted(reference.cross_region) == list(REGIONS)
    for stack in reference.stacks:
        assert stack.dependencies == [], "regional stacks deploy independently, in any order"
        cross = stack.cross_region
        assert cross is not None and cross.stack_name == f"{stack.stack_name}-CrossRegion"
        assert sorted(s.stack_name for s in cross.dependencies) == sorted(
            s.stack_name for s in reference.stacks
        ), "after its own Region's stack (VPC, load balancer) and every other Region's"


@pytest.mark.parametrize("region", REGIONS)
def test_each_endpoint_service_offers_the_other_regions_to_their_deploy_roles_only(
    reference: Synth, region: str
) -> None:
    """Only the CloudFormation execution roles of the other Regions (which create the
    -CrossRegion stacks' endpoints) may connect, not every principal of the account."""
    template = reference.template(region)
    service_id, service = one_resource(
        template, "AWS::EC2::VPCEndpointService", "RuntimeLoadBalancer"
    )
    assert sorted(service["Properties"]["SupportedRegions"]) == _others(region)
    assert service["Properties"]["AcceptanceRequired"] is False
    _, permissions = one_resource(
        template, "AWS::EC2::VPCEndpointServicePermissions", "RuntimeLoadBalancer"
    )
    assert permissions["Properties"]["ServiceId"] == {"Ref": service_id}
    assert permissions["Properties"]["AllowedPrincipals"] == [
        f"arn:aws:iam::{TEST_ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{TEST_ACCOUNT}-{other}"
        for other in _others(region)
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_endpoints_to_every_other_region_in_every_az(reference: Synth, region: str) -> None:
    cross = _cross(reference, region).template
    regional = reference.template(region)
    endpoints = {
        e["Properties"]["ServiceRegion"]: (logical_id, e["Properties"])
        for logical_id, e in resources(cross, "AWS::EC2::VPCEndpoint").items()
    }
    assert sorted(endpoints) == _others(region)
    for remote, (_, props) in endpoints.items():
        assert props["VpcEndpointType"] == "Interface" and props["PrivateDnsEnabled"] is False
        assert "PolicyDocument" not in props
        subnets = [_output_of(reference, ref) for ref in props["SubnetIds"]]
        assert sorted(zones_of(regional, subnets)) == AZS[region]  # type: ignore[type-var]
        assert _output_of(reference, props["VpcId"]) == {
            "Ref": next(iter(resources(regional, "AWS::EC2::VPC")))
        }
        # com.amazonaws.vpce.<remote>.<id of the remote Region's service>
        separator, (prefix, service_ref) = props["ServiceName"]["Fn::Join"]
        assert (separator, prefix) == (".", f"com.amazonaws.vpce.{remote}")
        assert service_ref["Fn::GetStackOutput"]["Region"] == remote
        remote_service, _ = one_resource(
            reference.template(remote), "AWS::EC2::VPCEndpointService", "RuntimeLoadBalancer"
        )
        assert _output_of(reference, service_ref) == {"Ref": remote_service}


@pytest.mark.parametrize("region", REGIONS)
def test_remote_runtime_hostnames_resolve_to_the_endpoints(reference: Synth, region: str) -> None:
    cross = _cross(reference, region).template
    regional = reference.template(region)
    vpc = {"Ref": next(iter(resources(regional, "AWS::EC2::VPC")))}
    zones = {
        z["Properties"]["Name"]: (k, z)
        for k, z in resources(cross, "AWS::Route53::HostedZone").items()
    }
    assert sorted(zones) == [f"runtime.sagemaker.{r}.amazonaws.com." for r in _others(region)]
    records = resources(cross, "AWS::Route53::RecordSet")
    for remote in _others(region):
        zone_id, zone = zones[f"runtime.sagemaker.{remote}.amazonaws.com."]
        (association,) = zone["Properties"]["VPCs"]
        assert _output_of(reference, association["VPCId"]) == vpc
        assert association["VPCRegion"] == region
        endpoint_id = next(
            k
            for k, e in resources(cross, "AWS::EC2::VPCEndpoint").items()
            if e["Properties"]["ServiceRegion"] == remote
        )
        (record,) = [
            r for r in records.values() if r["Properties"]["HostedZoneId"] == {"Ref": zone_id}
        ]
        assert record["Properties"]["Type"] == "A"
        assert f'"{endpoint_id}", "DnsEntries"' in json.dumps(record["Properties"]["AliasTarget"])


def _rules(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in resources(template, kind).values()]


@pytest.mark.parametrize("region", REGIONS)
def test_only_the_failover_function_reaches_the_paths_and_the_local_runtime(
    reference: Synth, region: str
) -> None:
    """Caller SG egress -> endpoint SG ingress, on 443, for the cross-Region endpoints and for
    the Region's own load balancer and runtime endpoint (rules written in the -CrossRegion
    stack, on the regional stack's groups named through Fn::GetStackOutput)."""
    cross = _cross(reference, region).template
    regional = reference.template(region)
    function_sg, _ = one_resource(cross, "AWS::EC2::SecurityGroup", "FailoverFunctionSecurityGroup")
    paths_sg, _ = one_resource(cross, "AWS::EC2::SecurityGroup", "PathsSecurityGroup")
    lb_sg, _ = one_resource(regional, "AWS::EC2::SecurityGroup", "RuntimeLoadBalancerSecurityGroup")
    runtime_sg, _ = one_resource(
        regional, "AWS::EC2::SecurityGroup", "RuntimeLoadBalancerEndpointSecurityGroup"
    )

    def group(value: Any) -> str:
        if "Fn::GetStackOutput" in value:
            value = _output_of(reference, value)
        return str(value["Fn::GetAtt"][0])

    caller = {"Fn::GetAtt": [function_sg, "GroupId"]}
    egress = _rules(cross, "AWS::EC2::SecurityGroupEgress")
    assert {group(r["DestinationSecurityGroupId"]) for r in egress if r["GroupId"] == caller} == {
        paths_sg,
        lb_sg,
        runtime_sg,
    }
    ingress = _rules(cross, "AWS::EC2::SecurityGroupIngress")
    assert {group(r["GroupId"]) for r in ingress if r.get("SourceSecurityGroupId") == caller} == {
        paths_sg,
        lb_sg,
        runtime_sg,
    }
    for rule in egress + ingress:
        assert (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) == ("tcp", 443, 443)
    # Nothing else may reach the paths.
    assert [r for r in ingress if group(r["GroupId"]) == paths_sg] == [
        r
        for r in ingress
        if r.get("SourceSecurityGroupId") == caller and group(r["GroupId"]) == paths_sg
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_the_failover_function_tries_its_own_region_then_the_others(
    reference: Synth, region: str
) -> None:
    cross = _cross(reference, region).template
    _, function = one_resource(cross, "AWS::Lambda::Function", "FailoverFunction")
    props = function["Properties"]
    assert props["Handler"] == "self_hosted.handler"
    names = {
        s.region: s.inference.self_hosted.endpoint_name
        for s in reference.stacks
        if s.inference.self_hosted
    }
    routes = json.loads(props["Environment"]["Variables"]["ROUTES"])
    assert routes == [{"region": r, "endpointName": names[r]} for r in [region, *_others(region)]]
    assert props["Timeout"] == 210
    subnets = [_output_of(reference, ref) for ref in props["VpcConfig"]["SubnetIds"]]
    assert sorted(zones_of(reference.template(region), subnets)) == AZS[region]  # type: ignore[type-var]


@pytest.mark.parametrize("region", REGIONS)
def test_the_failover_role_may_invoke_exactly_the_three_models(
    reference: Synth, region: str
) -> None:
    cross = _cross(reference, region).template
    role_id, _ = one_resource(cross, "AWS::IAM::Role", "FailoverFunctionServiceRole")
    statements = [
        s
        for p in resources(cross, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "sagemaker:InvokeEndpoint" in s["Action"]
    ]
    (statement,) = statements
    names = {
        s.region: s.inference.self_hosted.endpoint_name
        for s in reference.stacks
        if s.inference.self_hosted
    }
    assert sorted(statement["Resource"]) == sorted(
        f"arn:aws:sagemaker:{r}:{TEST_ACCOUNT}:endpoint/{names[r]}" for r in REGIONS
    )


@pytest.mark.parametrize("region", REGIONS)
def test_each_runtime_endpoint_policy_lets_the_other_regions_invoke_its_model(
    reference: Synth, region: str
) -> None:
    """The last hop: the provider Region's sagemaker.runtime endpoint admits InvokeEndpoint on
    its own model for any principal (of this account, by IAM); the caller's role is granted it."""
    template = reference.template(region)
    endpoint_id, _ = one_resource(template, "AWS::SageMaker::Endpoint", "SelfHosted")
    _, runtime = one_resource(template, "AWS::EC2::VPCEndpoint", "RuntimeLoadBalancerEndpoint")
    (statement,) = runtime["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": "*"}
    assert "sagemaker:InvokeEndpoint" in statement["Action"]
    assert statement["Resource"] == {"Fn::GetAtt": [endpoint_id, "EndpointArn"]}


@pytest.mark.parametrize("region", REGIONS)
def test_health_alarms_in_every_region(reference: Synth, region: str) -> None:
    alarms = [
        a["Properties"]
        for a in resources(reference.template(region), "AWS::CloudWatch::Alarm").values()
    ]
    self_hosted = {"AWS/NetworkELB", "AWS/SageMaker"}
    metrics = sorted(
        (a["Namespace"], a["MetricName"], a["Threshold"])
        for a in alarms
        if a.get("Namespace") in self_hosted
    )
    assert metrics == [
        ("AWS/NetworkELB", "HealthyHostCount", 1),
        ("AWS/NetworkELB", "HealthyHostCount", 3),
        ("AWS/SageMaker", "Invocation5XXErrors", 1),
        ("AWS/SageMaker", "ModelLatency", 30_000_000),
    ]
    math = sorted(
        (q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
        for a in alarms
        for q in a.get("Metrics", [])
        if "MetricStat" in q
    )
    assert math == [
        ("AWS/SageMaker", "Invocations"),
        ("AWS/SageMaker", "InvocationsPerInstance"),
        ("HaInference", "Answers"),
        ("HaInference", "ServerErrors"),
    ], "instances serving, and the retrieval function's 5xx share"


@pytest.mark.parametrize("region", REGIONS)
def test_the_failover_functions_answers_are_alarmed_on_their_5xx_share(
    reference: Synth, region: str
) -> None:
    """The failover function answers 502/503 instead of raising: its own answers' share of
    server errors is alarmed in its stack (the regional stack's drill, deployed first, cannot
    name it)."""
    template = _cross(reference, region).template
    (function_id,) = [
        logical_id
        for logical_id, f in resources(template, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "self_hosted.handler"
    ]
    (alarm,) = resources(template, "AWS::CloudWatch::Alarm").values()
    dimensions = {
        json.dumps(q["MetricStat"]["Metric"]["Dimensions"])
        for q in alarm["Properties"]["Metrics"]
        if "MetricStat" in q
    }
    assert dimensions == {json.dumps([{"Name": "FunctionName", "Value": {"Ref": function_id}}])}
    assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


def test_every_alarm_and_graph_reads_a_documented_or_published_metric(reference: Synth) -> None:
    """The self-hosted configuration with cross-Region paths and zonal autoshift: every regional
    and -CrossRegion template passes the metrics check, and the check saw every kind of alarm
    (plain, metric math, the project's own metrics) and the dashboards."""
    templates = {
        artifact.name: artifact.template
        for artifact in [*reference.artifacts.values(), *reference.cross_region.values()]
    }
    assert len(templates) == 2 * len(REGIONS)
    findings = [str(f) for name, t in templates.items() for f in check_template(name, t)]
    assert findings == []
    uses = [
        use
        for t in templates.values()
        for logical_id, r in t["Resources"].items()
        if r["Type"] in (ALARM, DASHBOARD)
        for use in (
            alarm_metrics(logical_id, r["Properties"])
            if r["Type"] == ALARM
            else dashboard_metrics(logical_id, r["Properties"])
        )
    ]
    namespaces = {use.namespace for use in uses}
    assert {
        "AWS/SageMaker",
        "AWS/NetworkELB",
        "AWS/Bedrock",
        "AWS/Lambda",
        "AWS/AOSS",
    } <= namespaces
    assert "HaInference" in namespaces


@pytest.mark.parametrize("region", REGIONS)
def test_cross_region_template_lints_clean(reference: Synth, region: str) -> None:
    assert lint_template(_cross(reference, region).template, region) == []


@pytest.mark.parametrize("region", REGIONS)
def test_cross_region_template_snapshot(
    reference: Synth, region: str, template_snapshot: SnapshotAssertion
) -> None:
    assert _cross(reference, region).template == template_snapshot


def test_the_app_checks_that_every_model_region_is_reached(reference: Synth) -> None:
    (coverage,) = [c for c in reference.app.node.children if isinstance(c, RegionCoverage)]
    assert coverage.require_cross_region_paths is True
    assert coverage.problems() == []


def test_fails_coverage_when_model_regions_cannot_reach_each_other(outdir: Path) -> None:
    """With cross-region off, each Region's model is on its own: the strict check says which
    Region cannot reach which (the app's own check is lenient then, as configured)."""
    app = new_app(
        outdir,
        {
            "ha-inference:account": TEST_ACCOUNT,
            "ha-inference:regions": ["us-east-1", "us-west-2"],
            "ha-inference:require-all-destinations": False,
            "ha-inference:self-hosted": {
                "model-data": "s3://m-{region}/llm/model.tar.gz",
                "cross-region": False,
            },
        },
    )
    stacks = build_reference_app(app)
    assert all(s.cross_region is None for s in stacks)
    strict = RegionCoverage(
        app, "Strict", require_all_destinations=False, require_cross_region_paths=True
    )
    problems = strict.problems()
    assert [p.split(":")[0] for p in problems] == [
        f"us-east-1 hosts self-hosted model {stacks[0].inference.self_hosted.endpoint_name} but us-west-2 cannot reach it",  # type: ignore[union-attr]
        f"us-west-2 hosts self-hosted model {stacks[1].inference.self_hosted.endpoint_name} but us-east-1 cannot reach it",  # type: ignore[union-attr]
    ]
    with pytest.raises(Exception, match="RegionCoverage: us-east-1 hosts self-hosted model"):
        app.synth()


# --- the setting -----------------------------------------------------------------------------


def _settings(**self_hosted: Any) -> Any:
    context = {
        "ha-inference:regions": list(self_hosted.pop("regions", REGIONS)),
        "ha-inference:self-hosted": {
            "model-data": "s3://m-{region}/llm/model.tar.gz",
            **self_hosted,
        },
    }
    return load_settings(context.get, known_keys=context).self_hosted


def test_cross_region_is_on_with_two_regions_and_off_with_one_or_outside_consumers() -> None:
    assert _settings().cross_region is True
    assert _settings(regions=["us-east-1"]).cross_region is False
    partner = ["arn:aws:iam::210987654321:root"]
    assert _settings(**{"allowed-principals": partner}).cross_region is False
    assert _settings(**{"cross-region": False}).cross_region is False


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"cross-region": True, "allowed-principals": ["arn:aws:iam::210987654321:root"]},
            r"ha-inference:self-hosted\.cross-region is true but ha-inference:self-hosted\.allowed-principals names outside consumers \(arn:aws:iam::210987654321:root\).*CloudFormation cannot give",
        ),
        (
            {"cross-region": True, "regions": ["us-east-1"]},
            r"ha-inference:self-hosted\.cross-region is true but ha-inference:regions has one Region \(us-east-1\)",
        ),
        (
            {"cross-region": "yes"},
            r"ha-inference:self-hosted\.cross-region must be true or false, got 'yes'",
        ),
    ],
)
def test_fails_on_a_cross_region_setting_that_cannot_work(
    fields: dict[str, Any], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        _settings(**fields)
