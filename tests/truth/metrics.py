"""The metrics check: every metric an alarm or a dashboard of a template watches is one AWS
documents, under dimensions and with a statistic the documentation allows, or one the project's
own handlers publish, under the dimensions they publish it with and for a function that runs one
of them.

Pure: it reads template dictionaries and the table of :mod:`tests.truth.documented_metrics`, and
returns findings that name the template, the resource and the rule. Run it over any set of
synthesized templates::

    findings = [f for name, template in templates.items() for f in check_template(name, template)]
    assert findings == [], "\\n".join(map(str, findings))

Rules:

* ``alarm-watches-a-metric``: a metric alarm names a metric, or metric-math inputs;
* ``metric-is-documented``: the (namespace, metric) is in the table;
* ``dimensions-are-documented``: its dimension names form one of the row's dimension sets;
* ``statistic-fits-the-metric``: its statistic is one the row allows;
* ``published-by-this-function``: for a metric the project publishes, the ``FunctionName``
  dimension names a function of the template whose handler publishes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tests.truth.documented_metrics import MetricRow, table

ALARM = "AWS::CloudWatch::Alarm"
DASHBOARD = "AWS::CloudWatch::Dashboard"


@dataclass(frozen=True)
class Finding:
    template: str
    resource: str
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.template}/{self.resource}: {self.rule}: {self.detail}"


@dataclass(frozen=True)
class MetricUse:
    """One metric as an alarm or a dashboard widget reads it. Dimension values are literals, or
    ``${Ref:<logical id>}`` (and the like) for values CloudFormation resolves."""

    where: str
    namespace: str | None
    metric: str | None
    dimensions: Mapping[str, str]
    statistic: str | None


def check_template(name: str, template: Mapping[str, Any]) -> list[Finding]:
    """Every finding of every alarm and dashboard of ``template`` (``name`` labels them)."""
    rows = table()
    resources = template.get("Resources", {})
    findings: list[Finding] = []
    for logical_id, resource in resources.items():
        if resource.get("Type") == ALARM:
            uses = list(alarm_metrics(logical_id, resource.get("Properties", {})))
            if not uses:
                findings.append(
                    Finding(name, logical_id, "alarm-watches-a-metric", "no metric and no math")
                )
        elif resource.get("Type") == DASHBOARD:
            uses = list(dashboard_metrics(logical_id, resource.get("Properties", {})))
        else:
            continue
        for use in uses:
            findings += [
                Finding(name, use.where, rule, d) for rule, d in judge(use, rows, resources)
            ]
    return findings


def judge(
    use: MetricUse, rows: Mapping[tuple[str, str], MetricRow], resources: Mapping[str, Any]
) -> Iterator[tuple[str, str]]:
    """(rule, detail) for each rule ``use`` breaks."""
    row = rows.get((str(use.namespace), str(use.metric)))
    if row is None:
        yield (
            "metric-is-documented",
            f"{use.namespace} {use.metric} is neither documented by AWS nor published by the "
            "project (add it to tests/truth/documented_metrics.py with its source, or fix it)",
        )
        return
    names = frozenset(use.dimensions)
    if names not in row.dimension_sets:
        documented = " or ".join(sorted(",".join(sorted(s)) for s in row.dimension_sets))
        yield (
            "dimensions-are-documented",
            f"{use.namespace} {use.metric} with dimensions {','.join(sorted(names)) or 'none'}; "
            f"documented: {documented} ({row.source})",
        )
    if use.statistic is None or not row.allows(use.statistic):
        allowed = ", ".join(sorted(row.statistics)) + (", percentiles" if row.percentiles else "")
        yield (
            "statistic-fits-the-metric",
            f"{use.namespace} {use.metric} with statistic {use.statistic}; allowed: {allowed} "
            f"({row.source})",
        )
    if row.publishers:
        handler = _handler_of(use.dimensions.get("FunctionName"), resources)
        if handler not in row.publishers:
            yield (
                "published-by-this-function",
                f"{use.namespace} {use.metric} for FunctionName "
                f"{use.dimensions.get('FunctionName')} (handler {handler}); only functions "
                f"running {', '.join(sorted(row.publishers))} publish it",
            )


def _handler_of(value: str | None, resources: Mapping[str, Any]) -> str | None:
    """The handler of the function a ``FunctionName`` dimension value names (``${Ref:<id>}``)."""
    if value is None or not value.startswith("${Ref:"):
        return None
    function = resources.get(value.removeprefix("${Ref:").removesuffix("}"), {})
    if function.get("Type") != "AWS::Lambda::Function":
        return None
    handler = function.get("Properties", {}).get("Handler")
    return handler if isinstance(handler, str) else None


# --------------------------------------------------------------------------- alarms


def alarm_metrics(logical_id: str, props: Mapping[str, Any]) -> Iterator[MetricUse]:
    """The metrics of a metric alarm: its one metric, or every ``MetricStat`` of its math."""
    if props.get("MetricName") is not None:
        yield MetricUse(
            logical_id,
            props.get("Namespace"),
            props["MetricName"],
            _dimensions(props.get("Dimensions")),
            props.get("Statistic") or props.get("ExtendedStatistic"),
        )
    for query in props.get("Metrics", []) or []:
        stat = query.get("MetricStat")
        if stat is None:
            continue  # an expression: its inputs are the other queries
        metric = stat.get("Metric", {})
        yield MetricUse(
            f"{logical_id}[{query.get('Id')}]",
            metric.get("Namespace"),
            metric.get("MetricName"),
            _dimensions(metric.get("Dimensions")),
            stat.get("Stat"),
        )


def _dimensions(dimensions: Any) -> dict[str, str]:
    return {d["Name"]: _literal(d["Value"]) for d in dimensions or []}


def _literal(value: Any) -> str:
    """A template value as text: a literal, or ``${Ref:<id>}``/``${GetAtt:<id>.<attr>}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"${{Ref:{argument}}}"
        if function == "Fn::GetAtt":
            return f"${{GetAtt:{'.'.join(map(str, argument))}}}"
        if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
            separator, parts = argument
            return str(separator).join(_literal(p) for p in parts)
    return "${Token}"


# --------------------------------------------------------------------------- dashboards


def dashboard_metrics(logical_id: str, props: Mapping[str, Any]) -> Iterator[MetricUse]:
    """The metrics of every graph widget of a dashboard body (tokens become ``${Ref:<id>}``)."""
    body = json.loads(_literal(props.get("DashboardBody", "{}")))
    for index, widget in enumerate(body.get("widgets", [])):
        properties = widget.get("properties", {})
        # A metric widget without "stat" shows the Average (dashboard body structure).
        default_stat = properties.get("stat", "Average")
        for entry in properties.get("metrics", []) or []:
            options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
            names = entry[:-1] if options else entry
            if not names:
                continue  # a math expression ({"expression": ...}): its inputs are listed too
            namespace, metric, *pairs = names
            yield MetricUse(
                f"{logical_id}.widgets[{index}] {properties.get('title', '')!r}",
                namespace,
                metric,
                dict(zip(pairs[::2], pairs[1::2], strict=True)),
                options.get("stat", default_stat),
            )
