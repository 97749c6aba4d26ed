"""Metrics and an alarm on the answers of a shipped HTTP-style handler (``retrieval``,
``self_hosted``): how many it gave, and what share were server errors.

The shipped ``retrieval`` and ``self_hosted`` handlers never raise: a dependency that fails
becomes a 502 or 503 answer, so Lambda's ``Errors`` metric stays at zero while callers get
nothing useful. Each answer's status is published instead, as CloudWatch embedded metric format
records (:mod:`ha_inference.functions.metrics`): namespace ``HaInference``, dimension
``FunctionName``, metrics ``Answers``, ``ClientErrors`` and ``ServerErrors``. This module names
those metrics for alarms and dashboards, with the constants of the handler-side module, so the
two cannot drift apart.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ha_inference._internal.props import checked_props
from ha_inference.compute.multi_az_function import MultiAzFunction
from ha_inference.compute.shipped import ShippedHandler
from ha_inference.functions import metrics as published

PUBLISHING_HANDLERS = frozenset({ShippedHandler.RETRIEVAL, ShippedHandler.SELF_HOSTED})
"""The shipped handlers that publish their answers' status (``@metrics.publishes_status``; a
test keeps this equal to what the handler modules do)."""

ONE_MINUTE = cdk.Duration.minutes(1)

DEFAULT_THRESHOLD_PERCENT = 5
"""The share of server errors, in percent of the answers, that raises the alarm by default."""


class AnswerMetrics:
    """The answer metrics of one function that runs a publishing shipped handler.

    :param function: the function: a Lambda function or a :class:`ha_inference.MultiAzFunction`.
        A function defined in the app must run ``retrieval.handler`` or
        ``self_hosted.handler``; for an imported function this cannot be checked.
    """

    @checked_props
    def __init__(self, function: lambda_.IFunction | MultiAzFunction) -> None:
        self.function = function_of(function)
        """The Lambda function whose answers these metrics count."""
        _check_function(self.function)

    def metric(
        self, metric_name: str, *, statistic: str = "Sum", period: cdk.Duration | None = None
    ) -> cloudwatch.Metric:
        """``metric_name`` (``Answers``, ``ClientErrors`` or ``ServerErrors``) of this function.
        Default: the ``Sum`` over one minute."""
        if metric_name not in published.METRICS:
            raise ValueError(
                f"metric_name must be one of the published answer metrics "
                f"({', '.join(published.METRICS)}), got {metric_name!r}"
            )
        return cloudwatch.Metric(
            namespace=published.NAMESPACE,
            metric_name=metric_name,
            dimensions_map={published.FUNCTION_NAME: self.function.function_name},
            statistic=statistic,
            period=period or ONE_MINUTE,
        )

    def metric_answers(self) -> cloudwatch.Metric:
        """``Answers``: answers given (Sum per minute)."""
        return self.metric(published.ANSWERS)

    def metric_client_errors(self) -> cloudwatch.Metric:
        """``ClientErrors``: answers with a 4xx status (Sum per minute)."""
        return self.metric(published.CLIENT_ERRORS)

    def metric_server_errors(self) -> cloudwatch.Metric:
        """``ServerErrors``: answers with a 5xx status (Sum per minute)."""
        return self.metric(published.SERVER_ERRORS)

    def metric_server_error_percent(self) -> cloudwatch.MathExpression:
        """The share of answers that were server errors, in percent per minute:
        ``100 * ServerErrors / Answers``. Both come from the same records, so the share is
        defined exactly when there were answers; a minute without answers has no value."""
        return cloudwatch.MathExpression(
            expression="100 * errors / answers",
            using_metrics={
                "errors": self.metric_server_errors(),
                "answers": self.metric_answers(),
            },
            period=ONE_MINUTE,
            label="5xx share of answers (%)",
        )

    def add_server_error_alarm(
        self,
        scope: Construct,
        construct_id: str,
        *,
        threshold_percent: float = DEFAULT_THRESHOLD_PERCENT,
        evaluation_periods: int = 3,
        datapoints_to_alarm: int = 2,
    ) -> cloudwatch.Alarm:
        """An alarm (without actions; add yours) when at least ``threshold_percent`` of the
        answers were server errors in ``datapoints_to_alarm`` of ``evaluation_periods`` minutes.

        Missing data is not breaching: a minute without answers is a minute without traffic,
        which hurts nobody. Breaching on it would put the alarm in ALARM at every quiet hour,
        stopping an AZ-loss drill (or failing a zonal autoshift practice run) that nothing was
        wrong with, and keeping a drill from starting at all; drive traffic during a drill so the
        alarm has answers to judge. "M out of N" evaluation is what CloudWatch advises for EMF
        metrics from Lambda, whose log flushing the function does not control
        (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Alarms.html).

        :param threshold_percent: the share of server errors that raises the alarm, above 0 and
            at most 100. Default: 5.
        :param evaluation_periods: the minutes looked at. Default: 3.
        :param datapoints_to_alarm: the minutes among them that must breach. Default: 2.
        """
        _check_alarm(threshold_percent, evaluation_periods, datapoints_to_alarm)
        return self.metric_server_error_percent().create_alarm(
            scope,
            construct_id,
            alarm_description=(
                f"At least {threshold_percent:g} % of the answers of function "
                f"{self.function.node.path} were server errors (5xx) in {datapoints_to_alarm} "
                f"of {evaluation_periods} minutes"
            ),
            threshold=threshold_percent,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )


def function_of(function: lambda_.IFunction | MultiAzFunction) -> lambda_.IFunction:
    """The Lambda function itself, also when given the :class:`MultiAzFunction` around it."""
    return function.function if isinstance(function, MultiAzFunction) else function


def _check_function(function: lambda_.IFunction) -> None:
    resource = function.node.default_child
    if not isinstance(resource, lambda_.CfnFunction):
        return  # imported: its handler is not known here
    handler = resource.handler
    publishing = sorted(h.value for h in PUBLISHING_HANDLERS)
    if handler not in publishing:
        raise ValueError(
            f"function must run a shipped handler that publishes its answers' status "
            f"({', '.join(publishing)}), got {function.node.path} with handler {handler!r}; "
            "alarm on its Lambda metrics (function.metric_errors()) instead"
        )


def _check_alarm(threshold: float, evaluation_periods: int, datapoints: int) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise TypeError(f"threshold_percent must be a number, got {threshold!r}")
    if not 0 < threshold <= 100:
        raise ValueError(
            f"threshold_percent must be above 0 and at most 100 (a share of answers), got "
            f"{threshold:g}; use e.g. 5"
        )
    for prop, value in (
        ("evaluation_periods", evaluation_periods),
        ("datapoints_to_alarm", datapoints),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{prop} must be a whole number of minutes, at least 1, got {value!r}")
    if datapoints > evaluation_periods:
        raise ValueError(
            f"datapoints_to_alarm must be at most evaluation_periods ({evaluation_periods}), "
            f"got {datapoints}; lower it or look at more minutes"
        )
