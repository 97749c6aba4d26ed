"""The CloudWatch metrics the library's alarms and dashboards use, as AWS documents them, and the
ones the project's own handlers publish (read from their code).

One row per (namespace, metric): the dimension sets the service publishes it under, the
statistics that mean something for it, and the page that says so. "Statistics" are the page's
"valid" or "relevant" statistics where it lists them; where it lists none (the Bedrock runtime
metrics give a unit only), the row says what the metric is and the statistics follow from it:
counts are summed (``Sum``; ``SampleCount`` counts requests), latencies per request take
``Average``, ``Minimum``, ``Maximum`` and percentiles. Percentiles are allowed only where the page
documents them or the metric is a per-request latency whose page lists no statistics.

Checked 2026-12-08 against the stored copies of the pages named in each row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ha_inference.functions import metrics as published
from ha_inference.operations.answers import PUBLISHING_HANDLERS

CHECKED = "2026-12-08"

COUNT = frozenset({"Sum", "SampleCount"})
LATENCY = frozenset({"Average", "Minimum", "Maximum", "SampleCount"})


@dataclass(frozen=True)
class MetricRow:
    """A metric, the dimension sets it is published under, and the statistics that fit it."""

    namespace: str
    metric: str
    dimension_sets: frozenset[frozenset[str]]
    statistics: frozenset[str]
    source: str
    percentiles: bool = False
    publishers: frozenset[str] = field(default_factory=frozenset)
    """For a metric the project publishes itself: the Lambda handlers that publish it (the
    ``FunctionName`` dimension must name a function running one of them)."""

    def allows(self, statistic: str) -> bool:
        if statistic in self.statistics:
            return True
        return self.percentiles and _is_percentile(statistic)


def _is_percentile(statistic: str) -> bool:
    if not statistic.startswith("p"):
        return False
    try:
        return 0 < float(statistic[1:]) < 100
    except ValueError:
        return False


def _dims(*sets: Iterable[str]) -> frozenset[frozenset[str]]:
    return frozenset(frozenset(s) for s in sets)


def _rows(
    namespace: str,
    names: Iterable[str],
    dims: frozenset[frozenset[str]],
    statistics: frozenset[str],
    source: str,
    *,
    percentiles: bool = False,
) -> list[MetricRow]:
    return [
        MetricRow(namespace, name, dims, statistics, source, percentiles=percentiles)
        for name in names
    ]


BEDROCK = "https://docs.aws.amazon.com/bedrock/latest/userguide/monitoring-runtime-metrics.html"
BEDROCK_TTFT_QUOTA = (
    "https://aws.amazon.com/blogs/machine-learning/improve-operational-visibility-for-inference-"
    "workloads-on-amazon-bedrock-with-new-cloudwatch-metrics-for-ttft-and-estimated-quota-"
    "consumption/"
)
SAGEMAKER = "https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html"
NLB = (
    "https://docs.aws.amazon.com/elasticloadbalancing/latest/network/"
    "load-balancer-cloudwatch-metrics.html"
)
LAMBDA = "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html"
AOSS = "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/monitoring-cloudwatch.html"
AGENTCORE = "https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/observability-runtime-metrics.html"

MODEL_ID = _dims({"ModelId"})
ENDPOINT_VARIANT = _dims({"EndpointName", "VariantName"})
TARGET_GROUP = _dims(
    {"LoadBalancer", "TargetGroup"}, {"AvailabilityZone", "LoadBalancer", "TargetGroup"}
)
FUNCTION = _dims({"FunctionName"}, {"FunctionName", "Resource"})
COLLECTION = _dims({"ClientId", "CollectionId", "CollectionName"})
AGENT_RUNTIME = _dims({"Operation", "Resource", "Name"})
"""The runtime page names the metrics but not their dimensions; these are the ones AgentCore's
gateway metrics page documents (Operation, Resource: the ARN, Name: the version or endpoint)
and that aws-cdk-lib's Runtime metric helpers use (``Name`` = ``<runtime name>::DEFAULT``)."""

DOCUMENTED: tuple[MetricRow, ...] = (
    # Bedrock: the page gives each metric's unit, not its statistics. Counts and per-request
    # latencies, dimension ModelId.
    *_rows(
        "AWS/Bedrock",
        ["Invocations", "InvocationClientErrors", "InvocationServerErrors", "InvocationThrottles"],
        MODEL_ID,
        COUNT,
        BEDROCK,
    ),
    *_rows("AWS/Bedrock", ["InvocationLatency"], MODEL_ID, LATENCY, BEDROCK, percentiles=True),
    # Announced with the user guide's "Monitoring Amazon Bedrock" page; the stored copy of that
    # page predates them, the AWS blog post describes both (ModelId; summed per minute for quota).
    *_rows(
        "AWS/Bedrock", ["TimeToFirstToken"], MODEL_ID, LATENCY, BEDROCK_TTFT_QUOTA, percentiles=True
    ),
    *_rows(
        "AWS/Bedrock", ["EstimatedTPMQuotaUsage"], MODEL_ID, frozenset({"Sum"}), BEDROCK_TTFT_QUOTA
    ),
    # SageMaker endpoint invocation metrics: "Valid statistics" as the page lists them.
    *_rows("AWS/SageMaker", ["Invocations"], ENDPOINT_VARIANT, COUNT, SAGEMAKER),
    *_rows(
        "AWS/SageMaker", ["InvocationsPerInstance"], ENDPOINT_VARIANT, frozenset({"Sum"}), SAGEMAKER
    ),
    *_rows(
        "AWS/SageMaker",
        ["Invocation4XXErrors", "Invocation5XXErrors"],
        ENDPOINT_VARIANT,
        frozenset({"Average", "Sum"}),
        SAGEMAKER,
    ),
    *_rows(
        "AWS/SageMaker",
        ["ModelLatency"],
        ENDPOINT_VARIANT,
        frozenset({"Average", "Sum", "Minimum", "Maximum", "SampleCount"}),
        SAGEMAKER,
    ),
    # Network Load Balancer target health: "The most useful statistics are Maximum and Minimum".
    *_rows(
        "AWS/NetworkELB",
        ["HealthyHostCount", "UnHealthyHostCount"],
        TARGET_GROUP,
        frozenset({"Minimum", "Maximum"}),
        NLB,
    ),
    # Lambda: counts are summed; Duration also supports percentiles.
    *_rows(
        "AWS/Lambda", ["Invocations", "Errors", "Throttles"], FUNCTION, frozenset({"Sum"}), LAMBDA
    ),
    *_rows(
        "AWS/Lambda",
        ["Duration"],
        FUNCTION,
        frozenset({"Average", "Minimum", "Maximum"}),
        LAMBDA,
        percentiles=True,
    ),
    # OpenSearch Serverless: "Relevant statistics" as the page lists them.
    *_rows(
        "AWS/AOSS",
        ["SearchRequestErrors", "IngestionRequestErrors", "4xx", "5xx"],
        COLLECTION,
        frozenset({"Sum"}),
        AOSS,
    ),
    *_rows(
        "AWS/AOSS",
        ["SearchRequestRate"],
        COLLECTION,
        frozenset({"Average", "Maximum", "Sum"}),
        AOSS,
    ),
    *_rows(
        "AWS/AOSS", ["SearchRequestLatency"], COLLECTION, frozenset({"Average", "Maximum"}), AOSS
    ),
    # AgentCore Runtime: counts of InvokeAgentRuntime requests (batched per minute) and the
    # end-to-end latency; the page lists no statistics, so counts are summed.
    *_rows(
        "AWS/Bedrock-AgentCore",
        ["Invocations", "Throttles", "SystemErrors", "UserErrors", "TotalErrors", "SessionCount"],
        AGENT_RUNTIME,
        COUNT,
        AGENTCORE,
    ),
    *_rows(
        "AWS/Bedrock-AgentCore", ["Latency"], AGENT_RUNTIME, LATENCY, AGENTCORE, percentiles=True
    ),
)
"""Every AWS metric the library's alarms and dashboards may use, one source per row."""


def published_rows() -> tuple[MetricRow, ...]:
    """The metrics the project's own handlers publish, from the handler-side module's constants
    (``ha_inference.functions.metrics``; a test runs the handlers and reads what they print).
    Each is 1 or 0 per answer: ``Sum`` counts, ``Average`` is a share, ``SampleCount`` counts
    answers."""
    return tuple(
        MetricRow(
            namespace=published.NAMESPACE,
            metric=name,
            dimension_sets=_dims({published.FUNCTION_NAME}),
            statistics=frozenset({"Sum", "Average", "SampleCount"}),
            source="ha_inference/functions/metrics.py (embedded metric format records)",
            publishers=frozenset(h.value for h in PUBLISHING_HANDLERS),
        )
        for name in published.METRICS
    )


def table() -> dict[tuple[str, str], MetricRow]:
    """Every row, by (namespace, metric)."""
    rows = [*DOCUMENTED, *published_rows()]
    keyed = {(row.namespace, row.metric): row for row in rows}
    assert len(keyed) == len(rows), "a (namespace, metric) is listed twice"
    return keyed
