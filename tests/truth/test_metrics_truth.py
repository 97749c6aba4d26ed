"""The metrics check (tests/truth/metrics.py) over every stack of the three configurations of
``tests.support.CONFIGURATIONS`` (default; self-hosted with cross-Region and zonal autoshift;
imported model), and the check failing, naming the alarm and the rule, on variants that break it.

The configurations are the session's (one synthesis each); the broken variants are edited
copies of the default configuration's templates."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.support import CONFIGURATIONS, Configurations, Synth, resources
from tests.truth.documented_metrics import DOCUMENTED, table
from tests.truth.metrics import Finding, check_template

REGION = "us-east-1"


@pytest.fixture(scope="module")
def default_app(configurations: Configurations) -> Synth:
    """The reference app exactly as cdk.json configures it (three Regions, no self-hosted
    model, no imported model)."""
    return configurations["default"]


def test_the_default_configuration_is_cdk_json_alone(default_app: Synth) -> None:
    assert default_app.regions == ["us-east-1", "us-east-2", "us-west-2"]
    assert default_app.cross_region == {}


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_configuration_passes_the_metrics_check(
    configurations: Configurations, name: str
) -> None:
    findings = [
        str(f)
        for artifact in configurations.stacks(name)
        for f in check_template(artifact.name, artifact.template)
    ]
    assert findings == []


def test_the_default_drill_stops_on_the_retrieval_functions_5xx_share(default_app: Synth) -> None:
    """The handler answers 502/503 and never raises, so Lambda's Errors cannot stop the drill;
    the share of its answers that were server errors can."""
    template = default_app.template(REGION)
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    for experiment in resources(template, "AWS::FIS::ExperimentTemplate").values():
        (stop,) = experiment["Properties"]["StopConditions"]
        alarm = alarms[stop["Value"]["Fn::GetAtt"][0]]["Properties"]
        namespaces = {
            q["MetricStat"]["Metric"]["Namespace"] for q in alarm["Metrics"] if "MetricStat" in q
        }
        assert namespaces == {"HaInference"}
        assert alarm["TreatMissingData"] == "notBreaching", "no traffic must not stop a drill"


# --- the check fails on broken variants ------------------------------------------------------


def _broken(
    default_app: Synth, prefix: str, edit: Callable[[dict[str, Any], dict[str, Any]], None]
) -> tuple[str, list[Finding]]:
    """Findings of a copy of the us-east-1 template whose one resource starting with ``prefix``
    was edited by ``edit(properties, resources)``."""
    template = copy.deepcopy(default_app.template(REGION))
    (logical_id,) = [k for k in template["Resources"] if k.startswith(prefix)]
    edit(template["Resources"][logical_id]["Properties"], template["Resources"])
    return logical_id, check_template("Broken", template)


def _stat(props: dict[str, Any], query_id: str) -> dict[str, Any]:
    (query,) = [q for q in props["Metrics"] if q["Id"] == query_id]
    stat: dict[str, Any] = query["MetricStat"]
    return stat


def test_fails_on_a_wrong_dimension_name(default_app: Synth) -> None:
    def edit(props: dict[str, Any], _: dict[str, Any]) -> None:
        _stat(props, "errors")["Metric"]["Dimensions"][0]["Name"] = "Function"

    alarm, findings = _broken(default_app, "DashboardRetrievalServerErrorShare", edit)
    assert [(f.resource, f.rule) for f in findings] == [
        (f"{alarm}[errors]", "dimensions-are-documented"),
        (f"{alarm}[errors]", "published-by-this-function"),
    ]
    assert "with dimensions Function; documented: FunctionName" in findings[0].detail


def test_fails_on_an_undocumented_metric(default_app: Synth) -> None:
    """The old instance alarm: SampleCount of CPUUtilization in /aws/sagemaker/Endpoints, a
    reading of how that metric is published that no AWS page confirms."""

    def edit(props: dict[str, Any], _: dict[str, Any]) -> None:
        props.update(
            Namespace="/aws/sagemaker/Endpoints",
            MetricName="CPUUtilization",
            Statistic="SampleCount",
            Dimensions=[
                {"Name": "EndpointName", "Value": "model"},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
        )

    alarm, findings = _broken(default_app, "DashboardIngestionErrors", edit)
    assert [(str(f.template), f.resource, f.rule) for f in findings] == [
        ("Broken", alarm, "metric-is-documented")
    ]
    assert "/aws/sagemaker/Endpoints CPUUtilization is neither documented" in findings[0].detail


def test_fails_on_a_statistic_the_table_does_not_allow(default_app: Synth) -> None:
    def edit(props: dict[str, Any], _: dict[str, Any]) -> None:
        props["Statistic"] = "Average"

    alarm, findings = _broken(default_app, "DashboardThrottlesUsAnthropic", edit)
    assert [(f.resource, f.rule) for f in findings] == [(alarm, "statistic-fits-the-metric")]
    assert "InvocationThrottles with statistic Average; allowed: SampleCount, Sum" in str(
        findings[0]
    )


def test_fails_on_a_published_metric_of_a_function_that_does_not_publish_it(
    default_app: Synth,
) -> None:
    """Ingestion answers no statuses: an alarm on its answers would never see data."""

    def edit(props: dict[str, Any], all_resources: dict[str, Any]) -> None:
        (ingestion,) = [
            k
            for k, r in all_resources.items()
            if r["Type"] == "AWS::Lambda::Function"
            and r["Properties"].get("Handler") == "ingestion.handler"
        ]
        for query in props["Metrics"]:
            if "MetricStat" in query:
                query["MetricStat"]["Metric"]["Dimensions"][0]["Value"] = {"Ref": ingestion}

    alarm, findings = _broken(default_app, "DashboardRetrievalServerErrorShare", edit)
    assert {(f.resource.split("[")[0], f.rule) for f in findings} == {
        (alarm, "published-by-this-function")
    }
    assert "(handler ingestion.handler)" in findings[0].detail


def test_fails_on_an_alarm_that_watches_nothing(default_app: Synth) -> None:
    def edit(props: dict[str, Any], _: dict[str, Any]) -> None:
        for key in ("Namespace", "MetricName", "Statistic", "Dimensions"):
            props.pop(key)

    alarm, findings = _broken(default_app, "DashboardRetrievalErrors", edit)
    assert [(f.resource, f.rule) for f in findings] == [(alarm, "alarm-watches-a-metric")]


def test_fails_on_a_dashboard_graph_of_a_metric_nothing_publishes(default_app: Synth) -> None:
    def edit(props: dict[str, Any], _: dict[str, Any]) -> None:
        _separator, parts = props["DashboardBody"]["Fn::Join"]
        parts[:] = [
            p.replace('"SearchRequestLatency"', '"SearchLatency"') if isinstance(p, str) else p
            for p in parts
        ]

    dashboard, findings = _broken(default_app, "Dashboard7A06DACF", edit)
    assert [f.rule for f in findings] == ["metric-is-documented"]
    assert findings[0].resource.startswith(f"{dashboard}.widgets[")
    assert "AWS/AOSS SearchLatency" in findings[0].detail


# --- the table itself ----------------------------------------------------------------------


def test_every_row_names_one_aws_documentation_source() -> None:
    keys = table()
    assert len(keys) == len(DOCUMENTED) + 3
    for row in DOCUMENTED:
        url = urlparse(row.source)
        assert url.scheme == "https" and url.netloc in {"docs.aws.amazon.com", "aws.amazon.com"}
        assert row.dimension_sets and row.statistics, row


def test_the_check_reads_metric_math_and_plain_alarms_alike(default_app: Synth) -> None:
    """Not vacuous: the default app has plain alarms (Lambda, Bedrock) and metric math (the
    answers' share), and the check reads every metric of both."""
    template = default_app.template(REGION)
    kinds = {
        "math" if "Metrics" in a["Properties"] else "plain"
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert kinds == {"math", "plain"}
    assert '"HaInference"' in json.dumps(template)
