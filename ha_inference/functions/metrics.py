"""The status of every answer of a shipped HTTP-style handler, as CloudWatch metrics.

Standard library only. ``@publishes_status`` on a handler prints one CloudWatch embedded metric
format (EMF) record per answer to stdout. Lambda sends stdout to the function's log group and
CloudWatch Logs extracts the metrics from the record: no agent, no ``PutMetricData`` call, no
``monitoring`` endpoint in the VPC and no permission beyond writing the function's own logs
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Lambda.html;
record layout: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
The shipped functions keep Lambda's default text log format, in which each printed line reaches
CloudWatch Logs as one event, exactly as printed.

Each record holds, in namespace :data:`NAMESPACE` with the one dimension :data:`FUNCTION_NAME`
(the function's name, from ``AWS_LAMBDA_FUNCTION_NAME``), the metrics (unit ``Count``):

* ``Answers``: 1, for every answer;
* ``ClientErrors``: 1 when the answer's ``statusCode`` is 4xx, else 0;
* ``ServerErrors``: 1 when it is 5xx (or the answer has no valid ``statusCode``), else 0;

and the status itself (``StatusCode``, not a metric) for CloudWatch Logs Insights. ``Sum`` of
``ServerErrors`` over ``Sum`` of ``Answers`` is the share of answers that were server errors;
the alarm of :class:`ha_inference.operations.answers.AnswerMetrics` watches exactly that.

What it does not count: an invocation that ends without an answer (an exception that escapes
the handler, a timeout, the runtime running out of memory). Lambda's own ``Errors`` metric
counts those, and the shipped handlers answer within their deadline instead of raising.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import Any

LOGGER = logging.getLogger(__name__)

NAMESPACE = "HaInference"
"""The CloudWatch namespace of the answers' metrics (a custom namespace: no ``AWS/`` prefix)."""

FUNCTION_NAME = "FunctionName"
"""The one dimension: the function's name, as Lambda sets it in ``AWS_LAMBDA_FUNCTION_NAME``."""

FUNCTION_NAME_ENV = "AWS_LAMBDA_FUNCTION_NAME"

ANSWERS = "Answers"
CLIENT_ERRORS = "ClientErrors"
SERVER_ERRORS = "ServerErrors"

METRICS: Mapping[str, str] = {
    ANSWERS: "answers given (1 per answer)",
    CLIENT_ERRORS: "answers with a 4xx status (1, else 0)",
    SERVER_ERRORS: "answers with a 5xx status or none (1, else 0)",
}
"""Every metric of a record, all with unit ``Count``, in the order of the record."""

UNIT = "Count"

MARKER = "publishes_answer_status"
"""The attribute ``@publishes_status`` sets on the handler it wraps (read by the library and the
tests to know which shipped handlers publish)."""


def status_of(answer: Any) -> int | None:
    """The answer's HTTP status, or ``None`` when it has no whole ``statusCode`` in 100-599."""
    status = answer.get("statusCode") if isinstance(answer, dict) else None
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        return None
    return status


def record(answer: Any, *, function_name: str, timestamp_ms: int) -> dict[str, Any]:
    """The EMF record of one answer (see the module docstring). An answer without a valid
    status counts as a server error: the caller got nothing it could use."""
    status = status_of(answer)
    server_error = status is None or status >= 500
    client_error = status is not None and 400 <= status < 500
    return {
        "_aws": {
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [[FUNCTION_NAME]],
                    "Metrics": [{"Name": name, "Unit": UNIT} for name in METRICS],
                }
            ],
        },
        FUNCTION_NAME: function_name,
        ANSWERS: 1,
        CLIENT_ERRORS: int(client_error),
        SERVER_ERRORS: int(server_error),
        "StatusCode": status,
    }


def publish(answer: Any) -> None:
    """Prints the EMF record of ``answer`` as one line on stdout; never raises (a metric that
    cannot be written is logged, and the answer still goes out)."""
    try:
        line = json.dumps(
            record(
                answer,
                function_name=os.environ.get(FUNCTION_NAME_ENV, "").strip() or "unknown",
                timestamp_ms=int(time.time() * 1000),
            ),
            separators=(",", ":"),
        )
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (OSError, ValueError) as err:
        LOGGER.warning("could not write the answer's status metric: %s", type(err).__name__)


Handler = Callable[[Any, Any], dict[str, Any]]


def publishes_status(handler: Handler) -> Handler:
    """Wraps a Lambda handler so that every answer it returns is also published as metrics.

    An exception that escapes ``handler`` is not an answer: it propagates unchanged and Lambda
    counts it in its ``Errors`` metric (counting it here too would count it twice).
    """

    @functools.wraps(handler)
    def answer_and_publish(event: Any, context: Any) -> dict[str, Any]:
        answer = handler(event, context)
        publish(answer)
        return answer

    setattr(answer_and_publish, MARKER, True)
    return answer_and_publish


def publishes(handler: Any) -> bool:
    """Whether ``handler`` was wrapped by :func:`publishes_status`."""
    return getattr(handler, MARKER, False) is True
