"""CloudFormation custom resource: keeps an NLB IP target group on a VPC endpoint's ENI addresses.

``AWS::EC2::VPCEndpoint`` returns its network interface ids but not their IP addresses, and an NLB
target group of type ``ip`` needs addresses. This handler resolves the interfaces to their private
IPv4 addresses and registers them as targets:

* Create: register the current addresses.
* Update: register the current addresses, then deregister every target of the group that is not
  one of them (stale addresses of interfaces that went away when the endpoint's subnets changed,
  or the old port). Make before break.
* Delete: deregister the targets of the group. A group or target that is already gone is success:
  a Delete never fails the stack for that.

Resource properties: ``NetworkInterfaceIds`` (list of ENI ids), ``TargetGroupArn``, ``Port``.
The physical resource id is the target group ARN, stable across updates (a new target group makes
CloudFormation delete the old resource, which cleans the old group). ``Data``: ``Ips`` (sorted,
comma-separated) and ``Count``.

It speaks the custom-resource protocol itself (no provider framework): it always PUTs a response
to ``ResponseURL``, also when something fails, with the error as the reason. Standard library and
boto3/botocore only, as shipped in the AWS Lambda Python runtime.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

CLIENT_CONFIG = Config(
    retries={"max_attempts": 8, "mode": "standard"}, connect_timeout=5, read_timeout=30
)
ENI_NOT_FOUND = "InvalidNetworkInterfaceID.NotFound"
TARGET_GROUP_GONE = "TargetGroupNotFound"
ENI_ATTEMPTS = 6
"""DescribeNetworkInterfaces attempts while new interfaces become visible (eventual consistency)."""
MAX_REASON = 2000
"""The whole response must stay below 4096 bytes."""

sleep: Callable[[float], None] = time.sleep
"""Waits between attempts (tests replace it)."""


class PropertyError(ValueError):
    """A resource property is missing or malformed."""


Sender = Callable[[str, bytes], None]


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    ec2 = boto3.client("ec2", config=CLIENT_CONFIG)
    elbv2 = boto3.client("elbv2", config=CLIENT_CONFIG)
    return handle(event, context, ec2=ec2, elbv2=elbv2)


def handle(
    event: Mapping[str, Any],
    context: Any,
    *,
    ec2: Any,
    elbv2: Any,
    send: Sender | None = None,
) -> dict[str, Any]:
    """Handles one request and always sends a response; returns the response sent."""
    request_type = event.get("RequestType")
    properties = event.get("ResourceProperties") or {}
    physical_id = str(event.get("PhysicalResourceId") or _fallback_physical_id(event))
    LOGGER.info(
        "%s %s: %s",
        request_type,
        event.get("LogicalResourceId"),
        json.dumps({"properties": properties, "physical_id": physical_id}),
    )
    data: dict[str, str] = {}
    try:
        if request_type in {"Create", "Update"}:
            physical_id, data = _register(properties, ec2=ec2, elbv2=elbv2, context=context)
        elif request_type == "Delete":
            _deregister_all(physical_id, elbv2=elbv2)
        else:
            raise PropertyError(f"unknown RequestType {request_type!r}")
        body = _response(event, context, "SUCCESS", physical_id, data=data)
    except Exception as error:
        LOGGER.exception("%s failed", request_type)
        body = _response(event, context, "FAILED", physical_id, reason=_describe(error))
    (send or send_response)(str(event["ResponseURL"]), json.dumps(body).encode())
    return body


def _register(
    properties: Mapping[str, Any], *, ec2: Any, elbv2: Any, context: Any
) -> tuple[str, dict[str, str]]:
    eni_ids = _eni_ids(properties)
    target_group = _target_group_arn(properties)
    port = _port(properties)
    ips = resolve_ips(ec2, eni_ids, context=context)
    wanted = {(ip, port) for ip in ips}
    elbv2.register_targets(
        TargetGroupArn=target_group, Targets=[{"Id": ip, "Port": port} for ip in ips]
    )
    stale = sorted(registered_targets(elbv2, target_group) - wanted)
    if stale:
        LOGGER.info("deregistering stale targets %s", stale)
        elbv2.deregister_targets(
            TargetGroupArn=target_group,
            Targets=[{"Id": ip, "Port": stale_port} for ip, stale_port in stale],
        )
    LOGGER.info("targets of %s: %s on port %d", target_group, ips, port)
    return target_group, {"Ips": ",".join(ips), "Count": str(len(ips))}


def _deregister_all(physical_id: str, *, elbv2: Any) -> None:
    if not physical_id.startswith("arn:"):
        LOGGER.info("nothing to clean: %s is not a target group (the create failed)", physical_id)
        return
    try:
        targets = sorted(registered_targets(elbv2, physical_id))
        if targets:
            elbv2.deregister_targets(
                TargetGroupArn=physical_id,
                Targets=[{"Id": ip, "Port": port} for ip, port in targets],
            )
        LOGGER.info("deregistered %s from %s", targets, physical_id)
    except ClientError as error:
        if _code(error) != TARGET_GROUP_GONE:
            raise
        LOGGER.info("target group %s is already gone", physical_id)


def resolve_ips(ec2: Any, eni_ids: Sequence[str], *, context: Any = None) -> list[str]:
    """The private IPv4 address of each interface, sorted; retries while they are not visible."""
    response: Any = None
    for attempt in range(1, ENI_ATTEMPTS + 1):
        try:
            response = ec2.describe_network_interfaces(NetworkInterfaceIds=list(eni_ids))
            break
        except ClientError as error:
            if _code(error) != ENI_NOT_FOUND or attempt == ENI_ATTEMPTS:
                raise
            delay = float(2 * attempt)
            if context is not None and context.get_remaining_time_in_millis() < (delay + 30) * 1000:
                raise
            LOGGER.info("interfaces not visible yet (%s), retrying in %.0f s", error, delay)
            sleep(delay)
    interfaces = response.get("NetworkInterfaces", [])
    found = {interface["NetworkInterfaceId"]: interface for interface in interfaces}
    missing = sorted(set(eni_ids) - set(found))
    if missing:
        raise RuntimeError(f"network interfaces not found: {', '.join(missing)}")
    ips = []
    for eni_id in eni_ids:
        ip = found[eni_id].get("PrivateIpAddress")
        if not ip:
            raise RuntimeError(f"network interface {eni_id} has no private IPv4 address")
        ips.append(str(ip))
    return sorted(set(ips))


def registered_targets(elbv2: Any, target_group: str) -> set[tuple[str, int]]:
    """Every target registered in ``target_group`` (in any state) as (id, port)."""
    response = elbv2.describe_target_health(TargetGroupArn=target_group)
    return {
        (str(entry["Target"]["Id"]), int(entry["Target"]["Port"]))
        for entry in response.get("TargetHealthDescriptions", [])
    }


def send_response(url: str, body: bytes) -> None:
    """PUTs the response to the pre-signed ``ResponseURL`` (retried: CloudFormation otherwise
    waits an hour for it)."""
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in {"https", "http"}:
        raise ValueError(f"ResponseURL must be an HTTPS URL, got scheme {scheme!r}")
    request = urllib.request.Request(
        url,
        data=body,
        method="PUT",
        headers={"Content-Type": "", "Content-Length": str(len(body))},
    )
    for attempt in range(1, 4):
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                LOGGER.info("response sent: HTTP %s", response.status)
                return
        except OSError:
            LOGGER.exception("sending the response failed (attempt %d)", attempt)
            if attempt == 3:
                raise
            sleep(float(attempt))


def _response(
    event: Mapping[str, Any],
    context: Any,
    status: str,
    physical_id: str,
    *,
    data: Mapping[str, str] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    log_stream = getattr(context, "log_stream_name", None)
    detail = f" (log stream {log_stream})" if log_stream else ""
    text = (reason or "OK")[: MAX_REASON - len(detail)] + detail
    return {
        "Status": status,
        "Reason": text,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": dict(data or {}),
    }


def _eni_ids(properties: Mapping[str, Any]) -> list[str]:
    value = properties.get("NetworkInterfaceIds")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise PropertyError(f"NetworkInterfaceIds must be a non-empty list of ids, got {value!r}")
    return list(value)


def _target_group_arn(properties: Mapping[str, Any]) -> str:
    value = properties.get("TargetGroupArn")
    if not isinstance(value, str) or ":targetgroup/" not in value:
        raise PropertyError(f"TargetGroupArn must be a target group ARN, got {value!r}")
    return value


def _port(properties: Mapping[str, Any]) -> int:
    value: Any = properties.get("Port")
    try:
        port = int(value)  # CloudFormation passes numbers as strings
    except (TypeError, ValueError):
        raise PropertyError(f"Port must be a port number, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise PropertyError(f"Port must be between 1 and 65535, got {port}")
    return port


def _fallback_physical_id(event: Mapping[str, Any]) -> str:
    properties = event.get("ResourceProperties") or {}
    target_group = properties.get("TargetGroupArn")
    if isinstance(target_group, str) and target_group.startswith("arn:"):
        return target_group
    return f"endpoint-targets-{event.get('RequestId', 'unknown')}"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _describe(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"
