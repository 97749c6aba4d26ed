"""The answers' status as metrics: what the shipped HTTP-style handlers print (CloudWatch embedded
metric format), run the way the Lambda runtime loads them, and the library's metrics and alarm on
exactly that.

The metrics check (tests/truth) accepts an alarm on namespace ``HaInference`` only because these
tests show the handlers publish those metrics, under those dimensions."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from ha_inference import AnswerMetrics, MultiAzFunction
from ha_inference.compute.shipped import FUNCTIONS_DIR, ShippedHandler
from ha_inference.functions import metrics
from ha_inference.operations.answers import PUBLISHING_HANDLERS
from ha_inference.operations.dashboard import RegionalDashboard
from tests.support import ZonalStack, new_app, one_resource
from tests.truth.documented_metrics import published_rows

FUNCTION_NAME = "HaInference-us-east-1-Retrieval02F13EA8-AbCdEf012345"

# Runs one shipped handler as the Lambda Python runtime loads it (the asset folder on sys.path,
# the module at the top level), once per event, and prints each answer's status to stderr; what
# the handler prints on stdout is what Lambda sends to CloudWatch Logs.
RUNNER = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
module = importlib.import_module(sys.argv[2])

class Context:
    aws_request_id = "req-0001"
    def get_remaining_time_in_millis(self):
        return 30_000

for event in json.loads(sys.argv[3]):
    answer = module.handler(event, Context())
    print(answer["statusCode"], file=sys.stderr)
"""

SETTINGS = {
    "retrieval": {
        "MODEL_ID": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        "EMBEDDING_MODEL_ID": "amazon.titan-embed-text-v2:0",
        "COLLECTION_ENDPOINT": "https://abcdefghij0123456789.us-east-1.aoss.amazonaws.com",
        "INDEX_NAME": "passages",
        "AWS_REGION": "us-east-1",
    },
    "self_hosted": {
        "ROUTES": json.dumps([{"region": "us-east-1", "endpointName": "model-east"}]),
        "AWS_REGION": "us-east-1",
    },
}


def run_handler(module: str, events: list[Any], settings: dict[str, str]) -> tuple[list[int], str]:
    """(the statuses the handler answered, what it printed on stdout)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION_NAME,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_EC2_METADATA_DISABLED": "true",
        **settings,
    }
    result = subprocess.run(
        [sys.executable, "-I", "-c", RUNNER, str(FUNCTIONS_DIR), module, json.dumps(events)],
        cwd=FUNCTIONS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    statuses = [int(line) for line in result.stderr.split() if line.isdigit()]
    return statuses, result.stdout


def emf_records(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line that is an embedded metric format document (a JSON object with
    ``_aws``), checked against the parts of the specification CloudWatch Logs enforces: each
    directive's dimensions and metrics are members of the root with the right types."""
    records = []
    for line in stdout.splitlines():
        document = json.loads(line)
        assert isinstance(document, dict) and "_aws" in document, line
        meta = document["_aws"]
        assert isinstance(meta["Timestamp"], int)
        assert abs(meta["Timestamp"] / 1000 - time.time()) < 120, "milliseconds since the epoch"
        for directive in meta["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                for name in dimension_set:
                    assert isinstance(document[name], str) and document[name], name
            for definition in directive["Metrics"]:
                assert isinstance(document[definition["Name"]], int | float), definition
        records.append(document)
    return records


def published(document: dict[str, Any]) -> set[tuple[str, str, frozenset[str]]]:
    """(namespace, metric, dimension names) of every metric a record publishes."""
    return {
        (directive["Namespace"], definition["Name"], frozenset(dimension_set))
        for directive in document["_aws"]["CloudWatchMetrics"]
        for dimension_set in directive["Dimensions"]
        for definition in directive["Metrics"]
    }


@pytest.fixture(scope="module")
def printed() -> dict[str, dict[int, list[dict[str, Any]]]]:
    """Each publishing handler run twice as Lambda runs it: without its settings (it answers 500)
    and with them, on an event that is not an object (400); by module, the EMF records it
    printed for each status."""
    runs: dict[str, dict[int, list[dict[str, Any]]]] = {}
    for module, settings in SETTINGS.items():
        misconfigured, unset = run_handler(module, [{}], {})
        refused, bad_input = run_handler(module, ["not an object"], settings)
        assert (misconfigured, refused) == ([500], [400])
        runs[module] = {500: emf_records(unset), 400: emf_records(bad_input)}
    return runs


@pytest.mark.parametrize("module", ["retrieval", "self_hosted"])
def test_each_answer_is_printed_as_one_emf_record_of_its_status(
    printed: dict[str, dict[int, list[dict[str, Any]]]], module: str
) -> None:
    for status, errors in ((500, (0, 1)), (400, (1, 0))):
        (record,) = printed[module][status]
        assert record["FunctionName"] == FUNCTION_NAME
        assert record["StatusCode"] == status
        assert (record["Answers"], record["ClientErrors"], record["ServerErrors"]) == (1, *errors)
        assert [m["Unit"] for m in record["_aws"]["CloudWatchMetrics"][0]["Metrics"]] == [
            "Count"
        ] * 3


@pytest.mark.parametrize("module", ["retrieval", "self_hosted"])
def test_the_metrics_table_lists_exactly_what_the_handlers_print(
    printed: dict[str, dict[int, list[dict[str, Any]]]], module: str
) -> None:
    """The rows the metrics check accepts for namespace HaInference are what the code prints,
    under exactly those dimensions, for the functions whose handlers print them."""
    rows = published_rows()
    for records in printed[module].values():
        (record,) = records
        assert published(record) == {
            (row.namespace, row.metric, dimensions)
            for row in rows
            for dimensions in row.dimension_sets
        }
    assert all(f"{module}.handler" in row.publishers for row in rows)


def test_the_publishing_handlers_are_the_ones_the_library_names() -> None:
    """PUBLISHING_HANDLERS (what the library lets AnswerMetrics alarm on) is what the handler
    modules do: exactly the handlers wrapped by @metrics.publishes_status."""
    wrapped = set()
    for handler in ShippedHandler:
        module_name, attribute = handler.value.split(".")
        module = importlib.import_module(f"ha_inference.functions.{module_name}")
        if metrics.publishes(getattr(module, attribute)):
            wrapped.add(handler)
    assert (
        wrapped
        == set(PUBLISHING_HANDLERS)
        == {
            ShippedHandler.RETRIEVAL,
            ShippedHandler.SELF_HOSTED,
        }
    )


@pytest.mark.parametrize(
    ("answer", "client", "server"),
    [
        ({"statusCode": 200}, 0, 0),
        ({"statusCode": 404}, 1, 0),
        ({"statusCode": 502}, 0, 1),
        ({"statusCode": 503}, 0, 1),
        ({"statusCode": "200"}, 0, 1),
        ({"statusCode": True}, 0, 1),
        ({}, 0, 1),
        (None, 0, 1),
    ],
)
def test_an_answer_without_a_usable_status_counts_as_a_server_error(
    answer: Any, client: int, server: int
) -> None:
    record = metrics.record(answer, function_name="f", timestamp_ms=0)
    assert (record["Answers"], record["ClientErrors"], record["ServerErrors"]) == (
        1,
        client,
        server,
    )


def test_an_exception_is_not_an_answer_and_is_not_counted(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Lambda counts it in Errors; counting it here too would count it twice."""

    @metrics.publishes_status
    def broken(event: Any, context: Any) -> dict[str, Any]:
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError, match="bug"):
        broken({}, None)
    assert capsys.readouterr().out == ""


def test_an_unwritable_stdout_never_loses_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    class Closed:
        def write(self, text: str) -> int:
            raise OSError("closed")

        def flush(self) -> None:
            raise OSError("closed")

    monkeypatch.setattr(sys, "stdout", Closed())

    @metrics.publishes_status
    def handler(event: Any, context: Any) -> dict[str, Any]:
        return {"statusCode": 200}

    assert handler({}, None) == {"statusCode": 200}


# --- the library side ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> ZonalStack:
    return ZonalStack(new_app(tmp_path_factory.mktemp("answers")), "Answers")


def _shipped(stack: cdk.Stack, construct_id: str, handler: ShippedHandler) -> lambda_.Function:
    return lambda_.Function(
        stack,
        construct_id,
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler=handler.value,
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )


def test_the_alarm_watches_the_5xx_share_of_the_published_answers(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "Share")
    function = _shipped(stack, "Retrieval", ShippedHandler.RETRIEVAL)
    AnswerMetrics(function).add_server_error_alarm(stack, "Share")
    _, alarm = one_resource(
        dict(Template.from_stack(stack).to_json()), "AWS::CloudWatch::Alarm", "Share"
    )
    props = alarm["Properties"]
    (expression,) = [q for q in props["Metrics"] if "Expression" in q]
    assert expression["Expression"] == "100 * errors / answers"
    inputs = {q["Id"]: q["MetricStat"] for q in props["Metrics"] if "MetricStat" in q}
    function_id = next(iter(stack.resolve(function.function_name).values()))
    for query_id, name in (("errors", "ServerErrors"), ("answers", "Answers")):
        assert inputs[query_id] == {
            "Metric": {
                "Namespace": "HaInference",
                "MetricName": name,
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": function_id}}],
            },
            "Period": 60,
            "Stat": "Sum",
        }
    assert (props["Threshold"], props["DatapointsToAlarm"], props["EvaluationPeriods"]) == (
        5,
        2,
        3,
    )
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["TreatMissingData"] == "notBreaching", "no traffic is no harm"


def test_a_multi_az_function_is_taken_as_its_function(stack: ZonalStack) -> None:
    function = MultiAzFunction(
        stack,
        "Failover",
        vpc=stack.vpc,
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        handler=ShippedHandler.SELF_HOSTED.value,
    )
    assert AnswerMetrics(function.function).metric_answers().metric_name == "Answers"
    assert AnswerMetrics(function).function is function.function


def test_fails_on_a_function_whose_handler_publishes_nothing(stack: ZonalStack) -> None:
    ingestion = _shipped(stack, "Ingestion", ShippedHandler.INGESTION)
    with pytest.raises(
        ValueError,
        match=r"function must run a shipped handler that publishes its answers' status "
        r"\(retrieval.handler, self_hosted.handler\), got Answers/Ingestion with handler "
        r"'ingestion.handler'; alarm on its Lambda metrics",
    ):
        AnswerMetrics(ingestion)
    with pytest.raises(ValueError, match=r"got Answers/Ingestion with handler 'ingestion.handler'"):
        RegionalDashboard(stack, "Dashboard", answering_functions={"Ingestion": ingestion})


def test_an_imported_function_cannot_be_checked_and_is_accepted(stack: ZonalStack) -> None:
    imported = lambda_.Function.from_function_name(stack, "Imported", "retrieval")
    assert AnswerMetrics(imported).metric_server_errors().dimensions == {
        "FunctionName": "retrieval"
    }


@pytest.mark.parametrize(
    ("props", "error", "message"),
    [
        ({"threshold_percent": 0}, ValueError, r"threshold_percent must be above 0 .* got 0"),
        ({"threshold_percent": 150}, ValueError, r"threshold_percent .* got 150"),
        ({"threshold_percent": "5"}, TypeError, r"threshold_percent must be a number, got '5'"),
        ({"evaluation_periods": 0}, ValueError, r"evaluation_periods must be .* got 0"),
        (
            {"evaluation_periods": 2, "datapoints_to_alarm": 3},
            ValueError,
            r"datapoints_to_alarm must be at most evaluation_periods \(2\), got 3",
        ),
    ],
)
def test_fails_on_alarm_settings_cloudwatch_rejects_or_that_cannot_fire(
    stack: ZonalStack, props: dict[str, Any], error: type[Exception], message: str
) -> None:
    function = _shipped(stack, f"Case{len(stack.node.children)}", ShippedHandler.RETRIEVAL)
    with pytest.raises(error, match=message):
        AnswerMetrics(function).add_server_error_alarm(stack, "Alarm", **props)


def test_fails_on_a_metric_the_handlers_do_not_publish(stack: ZonalStack) -> None:
    function = _shipped(stack, "Named", ShippedHandler.RETRIEVAL)
    with pytest.raises(ValueError, match=r"metric_name must be one of .* got 'Errors'"):
        AnswerMetrics(function).metric("Errors")
