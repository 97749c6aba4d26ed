"""RegionalDashboard and ApplicationDashboard: every signal, per AZ where CloudWatch has it, and
every Region side by side on one dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from ha_inference.compute.shipped import ShippedHandler
from ha_inference.operations.dashboard import ApplicationDashboard, RegionalDashboard, RegionView
from ha_inference.selfhosted.endpoint import MultiAzSageMakerEndpoint
from ha_inference.selfhosted.load_balancer import SageMakerRuntimeLoadBalancer
from ha_inference.vectors.collection import VectorCollection
from tests.support import TEST_ACCOUNT, ZonalStack, new_app, resources
from tests.support.lint import lint_template
from tests.support.nag import findings
from tests.truth.metrics import check_template

PROFILE = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
EMBEDDINGS = "amazon.titan-embed-text-v2:0"
IMAGE = f"{TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/models/llm:1"
REGIONS = ("us-east-1", "us-west-2")
BEDROCK_METRICS = {
    "Invocations",
    "InvocationLatency",
    "TimeToFirstToken",
    "InvocationClientErrors",
    "InvocationServerErrors",
    "InvocationThrottles",
    "EstimatedTPMQuotaUsage",
}


@dataclass
class Scenario:
    app: cdk.App
    dashboards: dict[str, RegionalDashboard]
    application: ApplicationDashboard
    endpoint: MultiAzSageMakerEndpoint
    balancer: SageMakerRuntimeLoadBalancer
    templates: dict[str, dict[str, Any]]


def _function(stack: cdk.Stack, name: str, handler: str = "index.handler") -> lambda_.Function:
    return lambda_.Function(
        stack,
        name,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler=handler,
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """us-east-1 with everything (and the app dashboard, added to before and after), us-west-2
    with Bedrock and functions only."""
    app = new_app(tmp_path_factory.mktemp("dashboards"))
    dashboards: dict[str, RegionalDashboard] = {}
    stacks = {}
    for region in REGIONS:
        stacks[region] = ZonalStack(
            app, f"Dash-{region}", region=region, groups=("endpoints", "workloads")
        )
    east = stacks["us-east-1"]
    endpoint = MultiAzSageMakerEndpoint(
        east,
        "Llm",
        vpc=east.vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="workloads"),
        image=IMAGE,
        invocations_per_instance_target=30,
    )
    endpoint_alarms = endpoint.add_alarms(model_latency_threshold=cdk.Duration.seconds(20))
    balancer = SageMakerRuntimeLoadBalancer(
        east,
        "Runtime",
        vpc=east.vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="endpoints"),
    )
    collection = VectorCollection.from_collection_attributes(
        east,
        "Vectors",
        collection_arn=f"arn:aws:aoss:us-east-1:{TEST_ACCOUNT}:collection/abcdefghij0123456789",
        collection_endpoint="https://abcdefghij0123456789.us-east-1.aoss.amazonaws.com",
        collection_name="vectors",
    )
    retrieval = _function(east, "Retrieval", ShippedHandler.RETRIEVAL.value)
    dashboards["us-east-1"] = RegionalDashboard(
        east,
        "Dashboard",
        bedrock_model_ids=[PROFILE, EMBEDDINGS],
        tokens_per_minute_quotas={PROFILE: 200_000},
        endpoint=endpoint,
        load_balancer=balancer,
        collection=collection,
        functions={"Retrieval": retrieval},
        answering_functions={"Retrieval": retrieval},
        alarms=[
            endpoint_alarms.errors_5xx,
            endpoint_alarms.model_latency,
            endpoint_alarms.instances_below_azs,
        ],
        dashboard_name="HaInference-us-east-1",
    )
    application = ApplicationDashboard(
        east, "AppDashboard", regions=[dashboards["us-east-1"].view()], dashboard_name="HaInference"
    )
    west = stacks["us-west-2"]
    dashboards["us-west-2"] = RegionalDashboard(
        west,
        "Dashboard",
        bedrock_model_ids=[PROFILE],
        functions={"Retrieval": _function(west, "Retrieval")},
        dashboard_name="HaInference-us-west-2",
    )
    application.add_region(dashboards["us-west-2"].view())
    templates = {
        region: dict(Template.from_stack(stack).to_json()) for region, stack in stacks.items()
    }
    return Scenario(app, dashboards, application, endpoint, balancer, templates)


def _body(resource: dict[str, Any]) -> dict[str, Any]:
    """The dashboard body with every deploy-time value replaced by ``"<token>"``."""
    body = resource["Properties"]["DashboardBody"]
    if isinstance(body, dict):
        separator, parts = body["Fn::Join"]
        body = separator.join(p if isinstance(p, str) else "<token>" for p in parts)
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def _dashboard(template: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [
        d
        for d in resources(template, "AWS::CloudWatch::Dashboard").values()
        if d["Properties"].get("DashboardName") == name
    ]
    return _body(found)


def _metrics(widget: dict[str, Any]) -> list[list[Any]]:
    return list(widget.get("properties", {}).get("metrics", []))


def _widgets(body: dict[str, Any], title_part: str) -> list[dict[str, Any]]:
    return [w for w in body["widgets"] if title_part in str(w["properties"].get("title", ""))]


# --- regional dashboard ----------------------------------------------------------------------


def test_bedrock_rows_graph_every_signal_per_model_id(scenario: Scenario) -> None:
    body = _dashboard(scenario.templates["us-east-1"], "HaInference-us-east-1")
    for model_id in (PROFILE, EMBEDDINGS):
        widgets = _widgets(body, f"Bedrock {model_id}")
        assert len(widgets) == 4
        lines = [m for w in widgets for m in _metrics(w)]
        assert {m[1] for m in lines} == BEDROCK_METRICS
        assert all(m[0] == "AWS/Bedrock" and m[2:4] == ["ModelId", model_id] for m in lines)
    (usage,) = _widgets(body, f"Bedrock {PROFILE}: throttles and quota use")
    assert usage["properties"]["annotations"]["horizontal"][0]["value"] == 200_000


def test_load_balancer_targets_are_graphed_per_az(scenario: Scenario) -> None:
    body = _dashboard(scenario.templates["us-east-1"], "HaInference-us-east-1")
    for kind, statistic in (("healthy", "Minimum"), ("unhealthy", "Maximum")):
        (widget,) = _widgets(body, f": {kind} targets per AZ")
        lines = _metrics(widget)
        assert [line[line.index("AvailabilityZone") + 1] for line in lines] == [
            "us-east-1a",
            "us-east-1b",
            "us-east-1c",
        ]
        for line in lines:
            assert line[0] == "AWS/NetworkELB"
            assert {"LoadBalancer", "TargetGroup"} <= {p for p in line if isinstance(p, str)}
            assert line[-1]["stat"] == statistic


def test_endpoint_collection_and_function_rows(scenario: Scenario) -> None:
    body = _dashboard(scenario.templates["us-east-1"], "HaInference-us-east-1")
    name = scenario.endpoint.endpoint_name
    endpoint_lines = [m for w in _widgets(body, f"SageMaker {name}") for m in _metrics(w)]
    assert {m[1] for m in endpoint_lines if isinstance(m[0], str)} == {
        "Invocations",
        "InvocationsPerInstance",
        "ModelLatency",
        "Invocation4XXErrors",
        "Invocation5XXErrors",
    }, "no CPUUtilization sample counting: instances are Invocations / InvocationsPerInstance"
    (instances,) = _widgets(body, "instances serving")
    (expression,) = [m[0] for m in _metrics(instances) if isinstance(m[0], dict)]
    assert expression["expression"] == "invocations / perInstance"
    assert instances["properties"]["annotations"]["horizontal"][0]["value"] == 3
    collection_lines = [m for w in _widgets(body, "Collection") for m in _metrics(w)]
    assert {m[1] for m in collection_lines} == {
        "SearchRequestRate",
        "SearchRequestLatency",
        "SearchRequestErrors",
        "4xx",
        "5xx",
    }
    function_lines = [m for w in _widgets(body, "Functions") for m in _metrics(w)]
    assert {m[1] for m in function_lines} == {"Invocations", "Errors", "Throttles", "Duration"}
    answer_lines = [m for w in _widgets(body, "Retrieval: ") for m in _metrics(w)]
    assert {(m[0], m[1]) for m in answer_lines if isinstance(m[0], str)} == {
        ("HaInference", "Answers"),
        ("HaInference", "ClientErrors"),
        ("HaInference", "ServerErrors"),
    }
    (alarms,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(alarms["properties"]["alarms"]) == 3 + 3 + 1 + 1, (
        "given, Bedrock (2+1), the answers' 5xx share, function errors"
    )


@pytest.mark.parametrize("region", REGIONS)
def test_every_graph_and_alarm_reads_a_documented_or_published_metric(
    scenario: Scenario, region: str
) -> None:
    assert check_template(f"Dash-{region}", scenario.templates[region]) == []


def test_alarms_on_bedrock_throttles_quota_use_and_function_errors(scenario: Scenario) -> None:
    alarms = {
        logical_id: a["Properties"]
        for logical_id, a in resources(
            scenario.templates["us-east-1"], "AWS::CloudWatch::Alarm"
        ).items()
        if logical_id.startswith("Dashboard")
    }
    throttles = [a for a in alarms.values() if a.get("MetricName") == "InvocationThrottles"]
    assert sorted(a["Dimensions"][0]["Value"] for a in throttles) == sorted([PROFILE, EMBEDDINGS])
    for alarm in throttles:
        assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == (
            "AWS/Bedrock",
            "Sum",
            60,
        )
        assert (alarm["Threshold"], alarm["EvaluationPeriods"]) == (1, 3)
        assert alarm["TreatMissingData"] == "notBreaching"
    (quota,) = [a for a in alarms.values() if a.get("MetricName") == "EstimatedTPMQuotaUsage"]
    assert quota["Dimensions"] == [{"Name": "ModelId", "Value": PROFILE}]
    assert (quota["Statistic"], quota["Threshold"]) == ("Sum", 160_000)
    assert quota["ComparisonOperator"] == "GreaterThanThreshold"
    (errors,) = [a for a in alarms.values() if a.get("MetricName") == "Errors"]
    assert errors["Namespace"] == "AWS/Lambda" and errors["Threshold"] == 1
    assert set(scenario.dashboards["us-east-1"].function_alarms) == {"Retrieval"}
    share = scenario.dashboards["us-east-1"].answer_alarms["Retrieval"]
    (share_alarm,) = [a for lid, a in alarms.items() if "RetrievalServerErrorShare" in lid]
    assert share_alarm["Metrics"][0]["Expression"] == "100 * errors / answers"
    assert share.alarm_arn  # the alarm the drill can stop on


# --- app dashboard -------------------------------------------------------------------------------


def test_app_dashboard_shows_every_region_side_by_side(scenario: Scenario) -> None:
    template = scenario.templates["us-east-1"]
    (resource,) = [
        d
        for d in resources(template, "AWS::CloudWatch::Dashboard").values()
        if d["Properties"].get("DashboardName") == "HaInference"
    ]
    assert isinstance(resource["Properties"]["DashboardBody"], str), "literals only, no references"
    body = _body(resource)
    by_row: dict[int, list[dict[str, Any]]] = {}
    for widget in body["widgets"]:
        by_row.setdefault(widget["y"], []).append(widget)
    for row in by_row.values():
        assert [w["x"] for w in sorted(row, key=lambda w: w["x"])] == [0, 12]
        assert all(w["width"] == 12 for w in row)
    graphs = [w for w in body["widgets"] if w["type"] == "metric"]
    assert {w["properties"]["region"] for w in graphs} == set(REGIONS)
    for widget in graphs:
        region = widget["properties"]["region"]
        assert widget["properties"]["title"].startswith(f"{region}: ")
        for line in _metrics(widget):
            options = line[-1] if isinstance(line[-1], dict) else {}
            assert options.get("region", region) == region
    east_lines = [
        m for w in graphs if w["properties"]["region"] == "us-east-1" for m in _metrics(w)
    ]
    assert any(line[:2] == ["AWS/SageMaker", "ModelLatency"] for line in east_lines)
    west_texts = [
        w["properties"]["markdown"]
        for w in body["widgets"]
        if w["type"] == "text" and "us-west-2" in w["properties"]["markdown"]
    ]
    assert "us-west-2: no self-hosted endpoint" in west_texts
    assert any(
        "region=us-west-2#dashboards/dashboard/HaInference-us-west-2" in text for text in west_texts
    )
    assert [v.region for v in scenario.application.regions] == list(REGIONS)


def test_app_dashboard_lives_only_in_its_stack(scenario: Scenario) -> None:
    west = resources(scenario.templates["us-west-2"], "AWS::CloudWatch::Dashboard")
    assert [d["Properties"]["DashboardName"] for d in west.values()] == ["HaInference-us-west-2"]


@pytest.mark.parametrize("region", REGIONS)
def test_templates_lint_clean_and_pass_the_checks(scenario: Scenario, region: str) -> None:
    assert lint_template(scenario.templates[region], region) == []


def test_no_unacknowledged_nag_findings(scenario: Scenario) -> None:
    assert [
        f for f in findings(scenario.app) if "/Dashboard" in f[1] or "AppDashboard" in f[1]
    ] == []


# --- validation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> ZonalStack:
    return ZonalStack(new_app(tmp_path_factory.mktemp("dash-scratch")), "Scratch")


_counter = iter(range(1_000_000))


def _regional(stack: cdk.Stack, **props: Any) -> RegionalDashboard:
    return RegionalDashboard(stack, f"Case{next(_counter)}", **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"bedrock_model_ids": [PROFILE, PROFILE]},
            r"bedrock_model_ids lists us.anthropic.* more than once",
        ),
        (
            {"bedrock_model_ids": [PROFILE], "tokens_per_minute_quotas": {EMBEDDINGS: 1000}},
            r"tokens_per_minute_quotas names 'amazon.titan-embed-text-v2:0', which is not in "
            r"bedrock_model_ids",
        ),
        (
            {"bedrock_model_ids": [PROFILE], "tokens_per_minute_quotas": {PROFILE: 0}},
            r"tokens_per_minute_quotas\['us.anthropic.*'\] must be a positive whole number .* got 0",
        ),
        (
            {"bedrock_model_ids": [PROFILE], "quota_alarm_percent": 120},
            r"quota_alarm_percent must be between 1 and 100, got 120",
        ),
    ],
)
def test_fails_on_dashboard_props(scratch: ZonalStack, props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _regional(scratch, **props)


def test_fails_on_function_names_that_are_not_letters_and_digits(scratch: ZonalStack) -> None:
    function = lambda_.Function.from_function_name(scratch, "NamedFunction", "retrieval")
    with pytest.raises(ValueError, match=r"functions keys .* got 'retrieval-fn'"):
        _regional(scratch, functions={"retrieval-fn": function})


def test_fails_on_a_region_added_twice(scratch: ZonalStack) -> None:
    dashboard = ApplicationDashboard(scratch, "Twice", regions=[RegionView(region="us-east-1")])
    with pytest.raises(ValueError, match=r"view.region us-east-1 is already on the app dashboard"):
        dashboard.add_region(RegionView(region="us-east-1"))


def test_fails_on_a_view_of_an_environment_agnostic_stack(tmp_path: Path) -> None:
    stack = cdk.Stack(new_app(tmp_path), "Agnostic")
    with pytest.raises(ValueError, match=r"the stack's Region must be known at synth time"):
        RegionalDashboard(stack, "Dashboard", bedrock_model_ids=[PROFILE]).view()


def test_fails_to_synthesize_an_app_dashboard_without_regions(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = ZonalStack(app, "Empty")
    ApplicationDashboard(stack, "App")
    with pytest.raises(RuntimeError, match=r"ApplicationDashboard Empty/App has no Region"):
        app.synth()
