"""CloudWatch dashboards for the inference path: one per Region, and one for the whole app that
shows every Region side by side (GENREL05-BP01: "monitor performance metrics like latency, error
rates, and throughput across Regions").

What each service publishes, and whether a metric can be seen per Availability Zone:

* Amazon Bedrock (``AWS/Bedrock``, dimension ``ModelId`` = the model or inference-profile id the
  caller passes): ``Invocations``, ``InvocationLatency`` (ms), ``InvocationClientErrors``,
  ``InvocationServerErrors``, ``InvocationThrottles``, ``InputTokenCount``, ``OutputTokenCount``,
  ``TimeToFirstToken`` (streaming APIs) and ``EstimatedTPMQuotaUsage`` (the tokens each completed
  request counts against the tokens-per-minute quota, cache writes and output burndown included;
  summed per minute it is the quota used that minute). Bedrock is a Regional service: no AZ.
* SageMaker endpoints (``AWS/SageMaker`` invocation metrics): dimensions ``EndpointName`` and
  ``VariantName`` (plus ``InstanceId`` with enhanced metrics); **no AZ dimension** and no
  instance-count metric, so the endpoint is watched as a whole and the instances serving it are
  counted from two documented invocation metrics (``Invocations / InvocationsPerInstance``,
  :meth:`MultiAzSageMakerEndpoint.metric_instances`): fewer than the AZs means some AZ has none.
* The runtime load balancer (``AWS/NetworkELB``): ``HealthyHostCount`` and
  ``UnHealthyHostCount`` **per AZ** (dimensions ``AvailabilityZone``, ``LoadBalancer``,
  ``TargetGroup``): the one per-AZ view of the self-hosted path.
* OpenSearch Serverless (``AWS/AOSS``) and Lambda (``AWS/Lambda``): per collection and per
  function, **no AZ dimension**.
* The answers of the shipped HTTP-style handlers (``HaInference``, dimension ``FunctionName``,
  published by the handlers themselves: :mod:`ha_inference.operations.answers`): answers, 4xx
  and 5xx, and the 5xx share, which moves when serving breaks even though the handlers never
  raise (Lambda's ``Errors`` does not).
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import aws_cdk as cdk
import jsii
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ha_inference._internal import sequences
from ha_inference._internal.props import check_fields, checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import LateCheck
from ha_inference.bedrock.imported_model import ImportedModel
from ha_inference.bedrock.tiers import TIER_METRIC_SUFFIXES, ServiceTier
from ha_inference.compute.multi_az_function import MultiAzFunction
from ha_inference.operations.answers import (
    DEFAULT_THRESHOLD_PERCENT,
    AnswerMetrics,
    function_of,
)
from ha_inference.regions import partition_of
from ha_inference.selfhosted.endpoint import MultiAzSageMakerEndpoint
from ha_inference.selfhosted.load_balancer import SageMakerRuntimeLoadBalancer
from ha_inference.vectors.collection import IVectorCollection

BEDROCK_NAMESPACE = "AWS/Bedrock"
ONE_MINUTE = cdk.Duration.minutes(1)
WIDGET_WIDTH = 6
WIDGET_HEIGHT = 6
GRID_WIDTH = 24


def bedrock_metric(
    model_id: str,
    metric_name: str,
    *,
    statistic: str = "Sum",
    region: str | None = None,
    label: str | None = None,
) -> cloudwatch.Metric:
    """A one-minute ``AWS/Bedrock`` metric of ``model_id`` (dimension ``ModelId``: the model or
    inference-profile id exactly as callers pass it). Without ``label`` an alarm on it is a plain
    metric alarm."""
    return cloudwatch.Metric(
        namespace=BEDROCK_NAMESPACE,
        metric_name=metric_name,
        dimensions_map={"ModelId": model_id},
        statistic=statistic,
        period=ONE_MINUTE,
        region=region,
        label=label,
    )


@dataclass(frozen=True)
class RegionView:
    """What the app dashboard shows of one Region. Every field is a literal (a metric of another
    Region cannot name a deploy-time value of another stack).

    :param region: the Region.
    :param bedrock_model_ids: the model and inference-profile ids invoked there. Default: none.
    :param endpoint_name: the SageMaker endpoint there. Default: none.
    :param variant_name: the endpoint's production variant. Default: ``AllTraffic``.
    :param dashboard_name: the Region's own dashboard, linked from the app dashboard.
        Default: no link.
    :param endpoint_instances: the endpoint's minimum instance count (one per AZ), drawn as a
        line on its graph. Default: no line.
    """

    region: str
    bedrock_model_ids: tuple[str, ...] = ()
    endpoint_name: str | None = None
    variant_name: str = "AllTraffic"
    dashboard_name: str | None = None
    endpoint_instances: int | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        object.__setattr__(self, "bedrock_model_ids", tuple(self.bedrock_model_ids))


class RegionalDashboard(Construct):
    """A CloudWatch dashboard of one Region's inference path, and the alarms it adds.

    Resources: ``Resource`` (AWS::CloudWatch::Dashboard), ``Throttles<model>`` and
    ``QuotaUsage<model>`` alarms per Bedrock model id, ``<name>Errors`` alarms per function,
    ``<name>ServerErrorShare`` alarms per answering function.

    * rows for Bedrock (per model id), the imported model, the SageMaker endpoint (instances
      serving against one per AZ), the runtime load balancer's healthy and unhealthy targets
      **per AZ**, the collection, the answering functions (answers, 4xx and 5xx, 5xx share) and
      the functions, then the state of every alarm; every graph reads a metric its service
      documents, with a statistic the documentation lists;
    * an alarm per Bedrock model id throttled in 3 consecutive minutes
      (``InvocationThrottles`` >= 1; the SDK retries single throttles), and one when the
      estimated quota use passes ``quota_alarm_percent`` of the quota you give (Bedrock
      publishes usage, not the quota);
    * an alarm per function with errors in 3 consecutive minutes (Lambda's ``Errors``), and per
      answering function when at least 5 % of its answers were server errors in 2 of 3 minutes
      (:meth:`AnswerMetrics.add_server_error_alarm`; no answers is no alarm);
    * alarms have no actions; add yours (``alarm.add_alarm_action``).
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bedrock_model_ids: Sequence[str] = (),
        tokens_per_minute_quotas: Mapping[str, int] | None = None,
        quota_alarm_percent: float = 80,
        service_tiers: Mapping[str, ServiceTier] | None = None,
        imported_model: ImportedModel | None = None,
        endpoint: MultiAzSageMakerEndpoint | None = None,
        load_balancer: SageMakerRuntimeLoadBalancer | None = None,
        collection: IVectorCollection | None = None,
        functions: Mapping[str, lambda_.IFunction | MultiAzFunction] | None = None,
        answering_functions: Mapping[str, lambda_.IFunction | MultiAzFunction] | None = None,
        alarms: Sequence[cloudwatch.IAlarm] = (),
        dashboard_name: str | None = None,
    ) -> None:
        """
        :param bedrock_model_ids: the Bedrock model and inference-profile ids invoked in this
            Region, as callers pass them (e.g. ``us.anthropic.claude-sonnet-4-5-...``: a
            profile's metrics are published under the profile id). Default: none.
        :param tokens_per_minute_quotas: model id -> the account's tokens-per-minute quota for it
            in this Region (Service Quotas, service ``bedrock``; for a cross-Region profile the
            "Cross-region model inference tokens per minute" quota). Default: none, so no quota
            alarm.
        :param quota_alarm_percent: the share of the quota that raises the quota alarm, 1-100.
            Default: 80.
        :param service_tiers: model id -> the Bedrock service tier its callers ask for; for
            Priority and Flex a row of the tier's own series (``ModelId`` ``<id>+priority`` or
            ``<id>+flex``, labelled unverified: AWS documents the form for model ids, and it is
            not confirmed for profile ids). Default: none.
        :param imported_model: a model imported into Bedrock in this Region, shown under its ARN
            (its alarms come from ``ImportedModel.add_alarms``; pass them in ``alarms``).
            Default: none.
        :param endpoint: the self-hosted SageMaker endpoint. Default: none.
        :param load_balancer: the runtime load balancer in front of it. Default: none.
        :param collection: the vector collection. Default: none.
        :param functions: name -> function (a Lambda function or a :class:`MultiAzFunction`),
            for rows and error alarms (names are letters and digits). Default: none.
        :param answering_functions: name -> function running a shipped handler that publishes
            its answers' status (``retrieval.handler``, ``self_hosted.handler``), for a row of
            its answers and a 5xx-share alarm (names as for ``functions``). Default: none.
        :param alarms: more alarms to show, e.g. the endpoint's (``add_alarms``). Default: none.
        :param dashboard_name: the dashboard's name, unique in the account (dashboards are
            global). Default: a name CloudFormation generates.
        """
        super().__init__(scope, construct_id)
        model_ids = tuple(bedrock_model_ids)
        quotas = dict(tokens_per_minute_quotas or {})
        named_functions = {name: function_of(f) for name, f in (functions or {}).items()}
        answering = {name: AnswerMetrics(f) for name, f in (answering_functions or {}).items()}
        tiers = dict(service_tiers or {})
        _check_model_ids(model_ids)
        _check_quotas(quotas, model_ids, quota_alarm_percent)
        _check_tiers(tiers, model_ids)
        _check_function_names([*named_functions, *answering])

        self.bedrock_model_ids = model_ids
        self.endpoint = endpoint
        self.dashboard_name = dashboard_name
        self.bedrock_alarms = self._create_bedrock_alarms(model_ids, quotas, quota_alarm_percent)
        self.function_alarms: dict[str, cloudwatch.Alarm] = {
            name: self._create_function_alarm(name, function)
            for name, function in named_functions.items()
        }
        self.answer_alarms: dict[str, cloudwatch.Alarm] = {
            name: answers.add_server_error_alarm(self, f"{name}ServerErrorShare")
            for name, answers in answering.items()
        }
        """The 5xx-share alarm of each answering function: the ones that move when serving
        breaks."""
        self.alarms: list[cloudwatch.IAlarm] = [
            *alarms,
            *self.bedrock_alarms,
            *self.answer_alarms.values(),
            *self.function_alarms.values(),
        ]
        """Every alarm the dashboard shows: the given ones, then those it created."""
        self.dashboard = cloudwatch.Dashboard(self, "Resource", dashboard_name=dashboard_name)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(markdown=self._header(), width=GRID_WIDTH, height=2)
        )
        for model_id in model_ids:
            _add_rows(self.dashboard, _bedrock_widgets(model_id, quotas.get(model_id)))
            tier = tiers.get(model_id)
            suffix = TIER_METRIC_SUFFIXES.get(tier) if tier is not None else None
            if suffix:
                _add_rows(self.dashboard, _tier_widgets(model_id, suffix))
        if imported_model is not None:
            _add_rows(self.dashboard, _imported_model_widgets(imported_model))
        if endpoint is not None:
            _add_rows(self.dashboard, _endpoint_widgets(endpoint))
        if load_balancer is not None:
            _add_rows(self.dashboard, _load_balancer_widgets(load_balancer))
        if collection is not None:
            _add_rows(self.dashboard, _collection_widgets(collection))
        if answering:
            _add_rows(self.dashboard, _answer_widgets(answering))
        if named_functions:
            _add_rows(self.dashboard, _function_widgets(named_functions))
        if self.alarms:
            self.dashboard.add_widgets(
                cloudwatch.AlarmStatusWidget(
                    title="Alarms", alarms=self.alarms, width=GRID_WIDTH, height=4
                )
            )

    def view(self) -> RegionView:
        """What the app dashboard shows of this Region (literals only)."""
        stack = cdk.Stack.of(self)
        for prop, value in (
            ("the stack's Region", stack.region),
            ("dashboard_name", self.dashboard_name),
            ("the endpoint's endpoint_name", self.endpoint and self.endpoint.endpoint_name),
        ):
            if value is not None and is_unresolved(value):
                raise ValueError(
                    f"{prop} must be known at synth time for the app dashboard (it shows other "
                    f"Regions' metrics and cannot reference their stacks), got a deploy-time "
                    f"value in {self.node.path}; give the stack an explicit Region and name the "
                    "dashboard and endpoint"
                )
        return RegionView(
            region=stack.region,
            bedrock_model_ids=self.bedrock_model_ids,
            endpoint_name=self.endpoint.endpoint_name if self.endpoint else None,
            variant_name=self.endpoint.variant_name if self.endpoint else "AllTraffic",
            dashboard_name=self.dashboard_name,
            endpoint_instances=self.endpoint.instance_count if self.endpoint else None,
        )

    def _header(self) -> str:
        stack = cdk.Stack.of(self)
        return (
            f"## {stack.stack_name}: inference in {stack.region}\n"
            "Per-AZ series: the runtime load balancer's healthy and unhealthy targets. Bedrock, "
            "SageMaker, OpenSearch Serverless and Lambda publish no AZ dimension. SageMaker "
            "instances serving = Invocations / InvocationsPerInstance (data only with traffic)."
        )

    def _create_bedrock_alarms(
        self, model_ids: Sequence[str], quotas: Mapping[str, int], percent: float
    ) -> list[cloudwatch.Alarm]:
        created = []
        for model_id in model_ids:
            name = _construct_id(model_id)
            created.append(
                bedrock_metric(model_id, "InvocationThrottles").create_alarm(
                    self,
                    f"Throttles{name}",
                    alarm_description=(
                        f"Bedrock throttled {model_id} in 3 consecutive minutes: the quota or "
                        "the Regions it routes to are saturated"
                    ),
                    threshold=1,
                    evaluation_periods=3,
                    comparison_operator=(
                        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD
                    ),
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
            quota = quotas.get(model_id)
            if quota is None:
                continue
            created.append(
                bedrock_metric(model_id, "EstimatedTPMQuotaUsage").create_alarm(
                    self,
                    f"QuotaUsage{name}",
                    alarm_description=(
                        f"Estimated tokens-per-minute quota use of {model_id} above {percent:g} "
                        f"% of {quota} in 3 consecutive minutes: request a quota increase"
                    ),
                    threshold=quota * percent / 100,
                    evaluation_periods=3,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        return created

    def _create_function_alarm(self, name: str, function: lambda_.IFunction) -> cloudwatch.Alarm:
        return function.metric_errors(period=ONE_MINUTE, statistic="Sum").create_alarm(
            self,
            f"{name}Errors",
            alarm_description=f"Function {name} returned errors in 3 consecutive minutes",
            threshold=1,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


@jsii.implements(cdk.IStableStringProducer)
class _Body:
    """Renders the app dashboard's body at synthesis, after every Region was added."""

    def __init__(self, dashboard: ApplicationDashboard) -> None:
        self._dashboard = dashboard

    def produce(self) -> str:
        return self._dashboard._render()


class ApplicationDashboard(Construct):
    """One CloudWatch dashboard with every Region of the app side by side: a column per Region in
    each row, every metric read from its own Region (``region=``).

    Resources: ``Resource`` (AWS::CloudWatch::Dashboard). Regions can be added after
    construction (:meth:`add_region`) until synthesis; the body is rendered then.

    CloudWatch dashboards are global to the account: the stack that holds this one only stores
    its definition, the data stays in each Region, and the dashboard keeps showing the other
    Regions when the holding stack's Region is impaired.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        regions: Sequence[RegionView] = (),
        dashboard_name: str | None = None,
    ) -> None:
        """
        :param regions: the Regions to show, in order. Default: none yet (see ``add_region``).
        :param dashboard_name: the dashboard's name, unique in the account. Default: a name
            CloudFormation generates.
        """
        super().__init__(scope, construct_id)
        self._regions: list[RegionView] = []
        for view in regions:
            self.add_region(view)
        self.resource = cloudwatch.CfnDashboard(
            self,
            "Resource",
            dashboard_name=dashboard_name,
            dashboard_body=cdk.Lazy.string(_Body(self)),
        )
        self.node.add_validation(LateCheck(self._check_regions))

    @property
    def regions(self) -> tuple[RegionView, ...]:
        return tuple(self._regions)

    def add_region(self, view: RegionView) -> None:
        """Adds a column for ``view``'s Region (each Region once)."""
        if is_unresolved(view.region):
            raise ValueError(
                "view.region must be a literal Region name, got a deploy-time token; give the "
                "Region's stack an explicit env"
            )
        if any(known.region == view.region for known in self._regions):
            raise ValueError(
                f"view.region {view.region} is already on the app dashboard "
                f"({self.node.path}); add each Region once"
            )
        self._regions.append(view)

    def _check_regions(self) -> list[str]:
        if self._regions:
            return []
        return [
            f"ApplicationDashboard {self.node.path} has no Region; pass regions= or call "
            "add_region(RegionalDashboard.view()) for each Region of the app"
        ]

    def _render(self) -> str:
        rows = _side_by_side(self._regions)
        # Row is a widget at run time; its jsii type lacks IWidget's ``warnings`` members.
        column = cloudwatch.Column(
            *(cast(cloudwatch.IWidget, cloudwatch.Row(*row)) for row in rows)
        )
        column.position(0, 0)
        return cdk.Stack.of(self).to_json_string({"widgets": column.to_json()})


# --------------------------------------------------------------------------- widgets


_WIDTHS: weakref.WeakKeyDictionary[cloudwatch.IWidget, int] = weakref.WeakKeyDictionary()
"""The width of each widget :func:`_graph` made: what ``widget.width`` would answer over jsii."""


def _graph(
    title: str, left: Sequence[cloudwatch.IMetric], **props: object
) -> cloudwatch.GraphWidget:
    widget = cloudwatch.GraphWidget(
        title=title,
        left=list(left),
        width=WIDGET_WIDTH,
        height=WIDGET_HEIGHT,
        **props,  # type: ignore[arg-type]
    )
    _WIDTHS[widget] = WIDGET_WIDTH
    return widget


def _add_rows(dashboard: cloudwatch.Dashboard, widgets: Sequence[cloudwatch.IWidget]) -> None:
    """Adds ``widgets`` in rows that fill the 24-unit grid."""
    row: list[cloudwatch.IWidget] = []
    used = 0.0
    for widget in widgets:
        known = _WIDTHS.get(widget)
        width = widget.width if known is None else known  # widget.width: a jsii round trip
        if used + width > GRID_WIDTH:
            dashboard.add_widgets(*row)
            row, used = [], 0.0
        row.append(widget)
        used += width
    if row:
        dashboard.add_widgets(*row)


def _series(model_id: str) -> Callable[..., cloudwatch.Metric]:
    """A labelled one-minute ``AWS/Bedrock`` metric of ``model_id`` by name and statistic."""

    def metric(name: str, statistic: str = "Sum", label: str | None = None) -> cloudwatch.Metric:
        return bedrock_metric(model_id, name, statistic=statistic, label=label or name)

    return metric


def _bedrock_widgets(model_id: str, quota: int | None) -> list[cloudwatch.IWidget]:
    metric = _series(model_id)

    return [
        _graph(f"Bedrock {model_id}: invocations", [metric("Invocations")]),
        _graph(
            f"Bedrock {model_id}: latency (ms)",
            [
                metric("InvocationLatency", "p50", "InvocationLatency p50"),
                metric("InvocationLatency", "p99", "InvocationLatency p99"),
                metric("TimeToFirstToken", "p99", "TimeToFirstToken p99"),
            ],
        ),
        _graph(
            f"Bedrock {model_id}: errors",
            [metric("InvocationClientErrors"), metric("InvocationServerErrors")],
        ),
        _graph(
            f"Bedrock {model_id}: throttles and quota use",
            [metric("InvocationThrottles")],
            right=[metric("EstimatedTPMQuotaUsage", label="EstimatedTPMQuotaUsage (tokens/min)")],
            right_annotations=(
                [cloudwatch.HorizontalAnnotation(value=quota, label="tokens-per-minute quota")]
                if quota
                else None
            ),
        ),
    ]


def _tier_widgets(model_id: str, suffix: str) -> list[cloudwatch.IWidget]:
    """The tier's own series of ``model_id``: ``ModelId`` ``<id>+priority`` or ``<id>+flex``."""
    series = f"{model_id}{suffix}"
    metric = _series(series)
    title = f"Bedrock {series} (tier series, unverified)"
    return [
        _graph(f"{title}: invocations", [metric("Invocations")]),
        _graph(
            f"{title}: latency (ms)",
            [
                metric("InvocationLatency", "p50", "InvocationLatency p50"),
                metric("InvocationLatency", "p99", "InvocationLatency p99"),
            ],
        ),
        _graph(
            f"{title}: errors and throttles",
            [
                metric("InvocationClientErrors"),
                metric("InvocationServerErrors"),
                metric("InvocationThrottles"),
            ],
        ),
    ]


def _endpoint_widgets(endpoint: MultiAzSageMakerEndpoint) -> list[cloudwatch.IWidget]:
    name = endpoint.endpoint_name
    return [
        _graph(f"SageMaker {name}: invocations", [endpoint.metric_invocations()]),
        _graph(
            f"SageMaker {name}: model latency (µs)",
            [
                endpoint.metric_model_latency(),
                # SageMaker lists Average, Sum, Min, Max and Sample Count for ModelLatency.
                endpoint.metric_model_latency(statistic="Maximum").with_(
                    label="ModelLatency maximum"
                ),
            ],
        ),
        _graph(
            f"SageMaker {name}: errors",
            [endpoint.metric_4xx_errors(), endpoint.metric_5xx_errors()],
        ),
        _graph(
            f"SageMaker {name}: instances serving",
            [endpoint.metric_instances()],
            left_annotations=[
                cloudwatch.HorizontalAnnotation(
                    value=len(endpoint.availability_zones), label="one per AZ"
                )
            ],
        ),
    ]


def _load_balancer_widgets(balancer: SageMakerRuntimeLoadBalancer) -> list[cloudwatch.IWidget]:
    return [
        cloudwatch.GraphWidget(
            title=f"Runtime load balancer: {kind} targets per AZ",
            left=[metric(availability_zone=zone) for zone in balancer.availability_zones],
            width=GRID_WIDTH // 2,
            height=WIDGET_HEIGHT,
        )
        for kind, metric in (
            ("healthy", balancer.metric_healthy_host_count),
            ("unhealthy", balancer.metric_unhealthy_host_count),
        )
    ]


def _collection_widgets(collection: IVectorCollection) -> list[cloudwatch.IWidget]:
    width = GRID_WIDTH // 3
    return [
        cloudwatch.GraphWidget(title=title, left=metrics, width=width, height=WIDGET_HEIGHT)
        for title, metrics in (
            ("Collection: search requests", [collection.metric_search_request_rate()]),
            (
                "Collection: search latency, maximum (ms)",
                # AWS/AOSS lists Average and Maximum as the relevant statistics.
                [collection.metric_search_request_latency(statistic="Maximum")],
            ),
            (
                "Collection: errors",
                [
                    collection.metric_search_request_errors(),
                    collection.metric_client_error(),
                    collection.metric_server_error(),
                ],
            ),
        )
    ]


def _imported_model_widgets(model: ImportedModel) -> list[cloudwatch.IWidget]:
    title = f"Imported model {model.imported_model_name}"
    return [
        _graph(f"{title}: invocations", [model.metric_invocations()]),
        _graph(f"{title}: latency (ms)", [model.metric_invocation_latency()]),
        _graph(
            f"{title}: errors",
            [model.metric_invocation_client_errors(), model.metric_invocation_server_errors()],
        ),
        _graph(f"{title}: throttles", [model.metric_invocation_throttles()]),
    ]


def _answer_widgets(functions: Mapping[str, AnswerMetrics]) -> list[cloudwatch.IWidget]:
    widgets: list[cloudwatch.IWidget] = []
    for name, answers in functions.items():
        widgets += [
            _graph(
                f"{name}: answers",
                [answers.metric_answers(), answers.metric_client_errors()],
            ),
            _graph(f"{name}: 5xx answers", [answers.metric_server_errors()]),
            _graph(
                f"{name}: 5xx share of answers (%)",
                [answers.metric_server_error_percent()],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=DEFAULT_THRESHOLD_PERCENT, label="ServerErrorShare alarm"
                    )
                ],
            ),
        ]
    return widgets


def _function_widgets(functions: Mapping[str, lambda_.IFunction]) -> list[cloudwatch.IWidget]:
    def lines(metric: str, statistic: str) -> list[cloudwatch.IMetric]:
        return [
            function.metric(metric, period=ONE_MINUTE, statistic=statistic, label=name)
            for name, function in functions.items()
        ]

    return [
        _graph("Functions: invocations", lines("Invocations", "Sum")),
        _graph("Functions: errors", lines("Errors", "Sum")),
        _graph("Functions: throttles", lines("Throttles", "Sum")),
        _graph("Functions: duration p99 (ms)", lines("Duration", "p99")),
    ]


# --------------------------------------------------------------------------- app dashboard


def _side_by_side(views: Sequence[RegionView]) -> list[list[cloudwatch.IWidget]]:
    """Rows with one widget per Region, at most four Regions per row."""
    per_region = [_app_widgets(view, width=_column_width(len(views))) for view in views]
    rows: list[list[cloudwatch.IWidget]] = []
    for start in range(0, len(views), 4):
        chunk = per_region[start : start + 4]
        rows.extend([list(widgets) for widgets in zip(*chunk, strict=True)])
    return rows


def _column_width(regions: int) -> int:
    return max(WIDGET_WIDTH, GRID_WIDTH // max(regions, 1))


def _app_widgets(view: RegionView, *, width: int) -> list[cloudwatch.IWidget]:
    """The same widgets for every Region, in the same order, so the columns line up."""
    region = view.region

    def graph(
        title: str, left: Sequence[cloudwatch.IMetric], **props: object
    ) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title=f"{region}: {title}",
            left=list(left),
            region=region,
            width=width,
            height=WIDGET_HEIGHT,
            **props,  # type: ignore[arg-type]
        )

    def bedrock(name: str, statistic: str = "Sum") -> list[cloudwatch.IMetric]:
        return [
            bedrock_metric(
                model_id, name, statistic=statistic, region=region, label=f"{model_id} {name}"
            )
            for model_id in view.bedrock_model_ids
        ]

    widgets: list[cloudwatch.IWidget] = [
        cloudwatch.TextWidget(markdown=_region_header(view), width=width, height=2),
        graph("Bedrock invocations", bedrock("Invocations")),
        graph("Bedrock latency p99 (ms)", bedrock("InvocationLatency", "p99")),
        graph(
            "Bedrock server errors and throttles",
            [*bedrock("InvocationServerErrors"), *bedrock("InvocationThrottles")],
        ),
        graph("Bedrock estimated quota use (tokens/min)", bedrock("EstimatedTPMQuotaUsage")),
    ]
    if view.endpoint_name is None:
        note = f"{region}: no self-hosted endpoint"
        return [
            *widgets,
            *(
                cloudwatch.TextWidget(markdown=note, width=width, height=WIDGET_HEIGHT)
                for _ in range(3)
            ),
        ]

    def endpoint(name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/SageMaker",
            metric_name=name,
            dimensions_map={
                "EndpointName": view.endpoint_name or "",
                "VariantName": view.variant_name,
            },
            statistic=statistic,
            period=ONE_MINUTE,
            region=region,
            label=name,
        )

    return [
        *widgets,
        graph(
            "SageMaker invocations and 5XX",
            [endpoint("Invocations", "Sum"), endpoint("Invocation5XXErrors", "Sum")],
        ),
        graph("SageMaker model latency, maximum (µs)", [endpoint("ModelLatency", "Maximum")]),
        graph(
            "SageMaker instances serving",
            [
                cloudwatch.MathExpression(
                    expression="invocations / perInstance",
                    using_metrics={
                        "invocations": endpoint("Invocations", "Sum"),
                        "perInstance": endpoint("InvocationsPerInstance", "Sum"),
                    },
                    period=ONE_MINUTE,
                    label="instances serving",
                )
            ],
            left_annotations=(
                [cloudwatch.HorizontalAnnotation(value=view.endpoint_instances, label="one per AZ")]
                if view.endpoint_instances
                else None
            ),
        ),
    ]


def _region_header(view: RegionView) -> str:
    if view.dashboard_name is None:
        return f"## {view.region}"
    domain = {
        "aws-cn": "console.amazonaws.cn",
        "aws-us-gov": "console.amazonaws-us-gov.com",
    }.get(partition_of(view.region), "console.aws.amazon.com")
    link = (
        f"https://{domain}/cloudwatch/home?region={view.region}"
        f"#dashboards/dashboard/{view.dashboard_name}"
    )
    return (
        f"## {view.region}\n[{view.dashboard_name}]({link}): per-AZ load balancer targets, "
        "functions, collection"
    )


# --------------------------------------------------------------------------- checks

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


def _construct_id(model_id: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", model_id) if part)


def _check_model_ids(model_ids: Sequence[str]) -> None:
    for model_id in model_ids:
        if is_unresolved(model_id) or not model_id.strip():
            raise ValueError(
                f"bedrock_model_ids must hold literal model or inference-profile ids (the "
                f"ModelId dimension), got {model_id!r}; pass e.g. profile.profile_id"
            )
    repeated = sequences.repeated(model_ids)
    if repeated:
        raise ValueError(
            f"bedrock_model_ids lists {', '.join(repeated)} more than once, got "
            f"{list(model_ids)!r}; list each id once"
        )


def _check_quotas(quotas: Mapping[str, int], model_ids: Sequence[str], percent: float) -> None:
    for model_id, quota in quotas.items():
        if model_id not in model_ids:
            raise ValueError(
                f"tokens_per_minute_quotas names {model_id!r}, which is not in "
                f"bedrock_model_ids {list(model_ids)!r}; add it there or remove its quota"
            )
        if isinstance(quota, bool) or not isinstance(quota, int) or quota < 1:
            raise ValueError(
                f"tokens_per_minute_quotas[{model_id!r}] must be a positive whole number of "
                f"tokens per minute, got {quota!r}; copy the applied quota value from Service "
                "Quotas (service code bedrock)"
            )
    if not 1 <= percent <= 100:
        raise ValueError(
            f"quota_alarm_percent must be between 1 and 100, got {percent}; use e.g. 80 to hear "
            "about it before requests are throttled"
        )


def _check_tiers(tiers: Mapping[str, ServiceTier], model_ids: Sequence[str]) -> None:
    stray = sorted(set(tiers) - set(model_ids))
    if stray:
        raise ValueError(
            f"service_tiers names {', '.join(stray)}, not among bedrock_model_ids "
            f"{list(model_ids)!r}; add it there or remove its tier"
        )


def _check_function_names(names: Sequence[str]) -> None:
    for name in names:
        if not _NAME.match(name):
            raise ValueError(
                f"functions keys name the functions on the dashboard and their alarms, so they "
                f"must be 1-64 letters and digits starting with a letter, got {name!r}; e.g. "
                "'Retrieval'"
            )
