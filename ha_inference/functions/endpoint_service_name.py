"""Custom resource: reads another Region's endpoint service name from SSM Parameter Store.

A cross-Region PrivateLink endpoint names the service it connects to (``com.amazonaws.vpce.
<region>.vpce-svc-...``), which AWS assigns when the provider's stack creates the service. That
stack publishes the name as a String parameter in its own Region (``PublishedRuntime``); this
handler, in the consumer's stack, reads it there at deploy time. CloudFormation has no
cross-Region references, and a synth-time lookup would need credentials and cache a name that
goes stale when the service is replaced. It runs behind aws-cdk-lib's provider framework
(``custom_resources.Provider``), which answers CloudFormation on success, on error and on
timeout: :func:`on_event` returns ``{"PhysicalResourceId", "Data"}`` or raises.

* Create / Update: ``ssm:GetParameter`` in ``Region``; the value must be an endpoint service
  name of that Region. ``Data``: ``ServiceName``. A parameter that does not exist fails with a
  message naming the stack that publishes it (``PublishedBy``): deploy that stack first.
* Delete: nothing to undo (the parameter belongs to the provider's stack).

Resource properties: ``Region``, ``ParameterName``, ``PublishedBy`` (a stack name, for messages)
and ``Generation`` (not read: it changes when the provider's service is replaced, so that the
name is read again). Physical id: ``<Region>:<ParameterName>``.

Time: each call's timeouts fit the time left, no botocore retries; throttling, 5xx and network
errors are retried with capped, jittered backoff while time is left. Errors reach CloudFormation
as short messages without ARNs or account ids.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

try:
    from . import resilience
except ImportError:  # pragma: no cover - in Lambda, the asset folder is the code root
    import resilience  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

ClientFactory = Callable[[str, Config], Any]
"""Builds an ``ssm`` client for a Region with a botocore config."""

RESERVE_SECONDS = 5.0
MAX_MESSAGE_BYTES = 512
BACKOFF = resilience.Backoff(max_attempts=5, base_delay=0.5, max_delay=8.0)

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_PARAMETER = re.compile(r"^/?[a-zA-Z0-9_.\-/]{1,1011}$")


class ServiceNameError(Exception):
    """A failure reported to CloudFormation, with a short message without ARNs."""

    def __init__(self, message: str) -> None:
        super().__init__(public_message(message))


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point, invoked by the provider framework's onEvent function."""
    return Lookup(deadline=resilience.Deadline(context, reserve=RESERVE_SECONDS)).handle(event)


def ssm_client(region: str, config: Config) -> Any:
    import boto3  # noqa: PLC0415 - only where a real client is built

    return boto3.client("ssm", region_name=region, config=config)


class Lookup:
    """Handles one request; tests pass ``clients`` and ``backoff``."""

    def __init__(
        self,
        *,
        deadline: resilience.Deadline,
        clients: ClientFactory = ssm_client,
        backoff: resilience.Backoff | None = None,
    ) -> None:
        self.deadline = deadline
        self.clients = clients
        self.backoff = backoff or BACKOFF

    def handle(self, event: Mapping[str, Any]) -> dict[str, Any]:
        request = event.get("RequestType")
        properties = event.get("ResourceProperties") or {}
        if request == "Delete":
            return {"PhysicalResourceId": event.get("PhysicalResourceId", "none")}
        if request not in {"Create", "Update"}:
            raise ServiceNameError(f"unknown RequestType {request!r}")
        region = _property(properties, "Region", _REGION)
        name = _property(properties, "ParameterName", _PARAMETER)
        published_by = str(properties.get("PublishedBy") or f"the stack in {region}")
        try:
            value = self._read(region, name)
        except ClientError as err:
            LOGGER.error("GetParameter %s in %s failed: %s", name, region, resilience.describe(err))
            if resilience.error_code(err) == "ParameterNotFound":
                raise ServiceNameError(
                    f"the endpoint service of {region} is not published yet (no parameter {name} "
                    f"in {region}): deploy {published_by} first, it publishes the name"
                ) from None
            raise ServiceNameError(
                f"reading parameter {name} in {region} failed with "
                f"{resilience.summarize(err)}; check the lookup function's role"
            ) from None
        except (resilience.RetriesExhaustedError, resilience.DeadlineExceededError) as err:
            LOGGER.error("GetParameter %s in %s: %s", name, region, resilience.describe(err))
            raise ServiceNameError(
                f"reading parameter {name} in {region} kept failing "
                f"({resilience.summarize(err)}) until time ran out; deploy again"
            ) from None
        expected = re.compile(rf"^([a-z0-9-]+\.)+vpce\.{re.escape(region)}\.vpce-svc-[0-9a-f]+$")
        if not expected.match(value):
            raise ServiceNameError(
                f"parameter {name} in {region} does not hold an endpoint service name of "
                f"{region} (com.amazonaws.vpce.{region}.vpce-svc-...); it is written by "
                f"{published_by}, deploy that stack again"
            )
        LOGGER.info("endpoint service of %s: %s", region, value)
        return {"PhysicalResourceId": f"{region}:{name}", "Data": {"ServiceName": value}}

    def _read(self, region: str, name: str) -> str:
        def call(attempt: resilience.Deadline) -> str:
            client = self.clients(region, attempt.client_config(connect=3.0, read=10.0))
            return str(client.get_parameter(Name=name)["Parameter"]["Value"])

        return resilience.call_with_retries(
            f"SSM GetParameter in {region}", call, deadline=self.deadline, backoff=self.backoff
        )


def _property(properties: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not pattern.match(value):
        raise ServiceNameError(f"resource property {key} is missing or malformed: {value!r}")
    return value


def public_message(text: str) -> str:
    """``text`` without ARNs and account ids, cut to :data:`MAX_MESSAGE_BYTES` of UTF-8."""
    return resilience.truncate_utf8(resilience.redact(text), MAX_MESSAGE_BYTES)
