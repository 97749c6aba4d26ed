"""Custom resource: keeps an NLB IP target group on a VPC endpoint's interface addresses.

``AWS::EC2::VPCEndpoint`` returns its network interface ids but not their IP addresses, and an NLB
target group of type ``ip`` needs addresses. This handler resolves the interfaces to their private
IPv4 addresses and registers them as targets. It runs behind aws-cdk-lib's provider framework
(``custom_resources.Provider``), which answers CloudFormation on success, on error and when this
function times out: :func:`on_event` returns ``{"PhysicalResourceId", "Data"}`` or raises.

Claims. Every resource instance has its own physical id, ``endpoint-targets-<digest of stack id
and logical id>``, and records what it registered as a tag on the target group, its *claim*:
key ``ha-inference:<physical id>``, value ``"<ip>:<port> <ip>:<port> ..."``. The group's targets
are the union of the claims, so one instance never takes away what another one still needs:

* Create / Update: resolve the addresses, register them (make before break), write the claim,
  then deregister every target of the group that no claim names (stale addresses of interfaces
  that went away when the endpoint's subnets changed, the old port, leftovers of a create that
  died). A Create that fails withdraws its claim and deregisters what only it claimed before it
  raises, since the framework gives a failed Create a marker id whose Delete never reaches us.
  A failed Update is undone by CloudFormation's rollback Update with the old properties.
* Delete: deregister what this instance claimed and no other claim names, then remove its
  claim. A target or group that is already gone is success.

Target-group changes. The function knows its construct's current target group
(``TARGET_GROUP_ARN``), and its role may touch only that group. A Delete for another group (the
construct's group was replaced, CloudFormation deletes the old one itself) succeeds without a
call; a Create or Update for another group fails with a clear message.

Time. Every AWS call gets connect and read timeouts that fit the time left in the invocation and
no botocore retries; throttling, 5xx and network errors are retried with capped, jittered backoff
(:mod:`resilience`) only while time is left, keeping :data:`RESERVE_SECONDS` for a failed
Create's rollback. Errors raised to the framework have short, stable messages without ARNs or
account ids (capped at :data:`MAX_MESSAGE_BYTES`); the details go to the log.

During a partial outage of EC2 or Elastic Load Balancing: SUCCESS only once the targets are
registered and the claim written (Create, Update) or withdrawn (Delete); a call that keeps
failing until the time left fails the request, and a failed Create first withdraws what it
added. A lost answer is safe: every call is repeated as it was (registering, deregistering and
tagging the same targets again changes nothing).

Resource properties: ``NetworkInterfaceIds`` (list of ENI ids), ``TargetGroupArn``, ``Port``
(an integer or a string of digits).
``Data``: ``Ips`` (sorted, comma-separated) and ``Count``. Standard library and boto3/botocore
only, as shipped in the AWS Lambda Python runtime.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

try:
    from . import resilience
except ImportError:  # pragma: no cover - in Lambda, the asset folder is the code root
    import resilience  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

T = TypeVar("T")
Target = tuple[str, int]
ClientFactory = Callable[[str, Config], Any]

TARGET_GROUP_ENV = "TARGET_GROUP_ARN"
"""The environment variable naming the construct's current target group."""
PHYSICAL_ID_PREFIX = "endpoint-targets-"
CLAIM_TAG_PREFIX = "ha-inference:"
MAX_TAG_VALUE = 256
"""Elastic Load Balancing's limit on a tag value (characters)."""
MAX_MESSAGE_BYTES = 512
"""Error messages raised to the framework stay this short: the framework adds a stack trace and
the whole response to CloudFormation must stay below 4096 bytes."""
RESERVE_SECONDS = 15.0
"""Kept at the end of the invocation for a failed Create's rollback."""
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
ENI_NOT_FOUND = "InvalidNetworkInterfaceID.NotFound"
TARGET_GROUP_GONE = "TargetGroupNotFound"
INVALID_TARGET = "InvalidTarget"
DRAINING = "draining"

CALL_BACKOFF = resilience.Backoff(max_attempts=5, base_delay=0.5, max_delay=8.0)
"""Throttling, 5xx and network errors: up to 5 attempts, while time is left."""
ENI_BACKOFF = resilience.Backoff(max_attempts=8, base_delay=1.0, max_delay=8.0)
"""New interfaces that DescribeNetworkInterfaces does not show yet (eventual consistency)."""


class TargetsError(Exception):
    """A failure reported to CloudFormation: a short message without ARNs (details are logged)."""

    def __init__(self, message: str) -> None:
        super().__init__(public_message(message))


class PropertyError(TargetsError):
    """A resource property is missing or malformed."""


# --- entry point ---------------------------------------------------------------------------------


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point, invoked by the provider framework's onEvent function.

    A request that CloudFormation sends straight to this function (a resource created by the
    earlier version of this construct, whose ServiceToken was this function) is answered here.
    """
    if _invoked_directly(event, context):
        return _answer_directly(event, context)
    targets = EndpointTargets(
        target_group=os.environ.get(TARGET_GROUP_ENV, ""),
        deadline=resilience.Deadline(context, reserve=RESERVE_SECONDS),
        rollback_deadline=resilience.Deadline(context, reserve=1.0),
    )
    return targets.handle(event, log_location=log_location(context))


class EndpointTargets:
    """Handles one request. ``clients`` makes a boto3 client from a service name and a config
    (tests pass stubbed or moto clients); ``rollback_deadline`` bounds a failed Create's cleanup.
    """

    def __init__(
        self,
        *,
        target_group: str,
        deadline: resilience.Deadline,
        rollback_deadline: resilience.Deadline | None = None,
        clients: ClientFactory | None = None,
        call_backoff: resilience.Backoff | None = None,
        eni_backoff: resilience.Backoff | None = None,
    ) -> None:
        self.target_group = target_group
        self.deadline = deadline
        self.rollback_deadline = rollback_deadline or deadline
        self._factory: ClientFactory = clients or _boto3_client
        self._clients: dict[tuple[str, int, int], Any] = {}
        self.call_backoff = call_backoff or CALL_BACKOFF
        self.eni_backoff = eni_backoff or ENI_BACKOFF

    def handle(self, event: Mapping[str, Any], *, log_location: str = "") -> dict[str, Any]:
        """Returns ``{"PhysicalResourceId", "Data"}`` or raises :class:`TargetsError`."""
        request_type = event.get("RequestType")
        LOGGER.info(
            "%s %s (physical id %s): %s",
            request_type,
            event.get("LogicalResourceId"),
            event.get("PhysicalResourceId"),
            json.dumps(event.get("ResourceProperties") or {}, default=str),
        )
        try:
            if request_type == "Create":
                return self.create(event)
            if request_type == "Update":
                return self.update(event)
            if request_type == "Delete":
                return self.delete(event)
            raise PropertyError(f"RequestType must be Create, Update or Delete, got {request_type}")
        except Exception as err:
            LOGGER.exception("%s failed: %s", request_type, resilience.describe(err))
            raise TargetsError(_failure_message(request_type, err, log_location)) from None

    # --- request types -------------------------------------------------------------------------

    def create(self, event: Mapping[str, Any]) -> dict[str, Any]:
        physical_id = instance_id(event)
        group, port, eni_ids = self._properties(event)
        claim = {(ip, port) for ip in self.resolve_ips(eni_ids)}
        before = self.registered(group, deadline=self.deadline)
        try:
            self.apply(group, physical_id, claim)
        except Exception:
            self._withdraw_failed_create(group, physical_id, claim - before)
            raise
        return _result(physical_id, claim)

    def update(self, event: Mapping[str, Any]) -> dict[str, Any]:
        physical_id = str(event.get("PhysicalResourceId") or "")
        if not physical_id.startswith(PHYSICAL_ID_PREFIX):
            raise PropertyError(
                "PhysicalResourceId is not one this handler gave out; replace the resource"
            )
        group, port, eni_ids = self._properties(event)
        claim = {(ip, port) for ip in self.resolve_ips(eni_ids)}
        self.apply(group, physical_id, claim)
        return _result(physical_id, claim)

    def delete(self, event: Mapping[str, Any]) -> dict[str, Any]:
        physical_id = str(event.get("PhysicalResourceId") or "")
        result: dict[str, Any] = {"PhysicalResourceId": physical_id}
        if not physical_id.startswith(PHYSICAL_ID_PREFIX):
            LOGGER.info("nothing to clean: %s is not an id this handler gave out", physical_id)
            return result
        group = (event.get("ResourceProperties") or {}).get("TargetGroupArn")
        if not isinstance(group, str) or group != self._current_group():
            LOGGER.info(
                "target group %s is not this construct's group (%s) any more: CloudFormation "
                "deletes that group itself, and this function's role may not touch it",
                group,
                self.target_group,
            )
            return result
        try:
            self.withdraw(group, physical_id, deadline=self.deadline)
        except ClientError as err:
            if resilience.error_code(err) != TARGET_GROUP_GONE:
                raise
            LOGGER.info("target group %s is already gone", group)
        return result

    # --- the claim protocol --------------------------------------------------------------------

    def apply(self, group: str, physical_id: str, claim: set[Target]) -> None:
        """Registers ``claim``, records it, and deregisters what no claim names."""
        self.register(group, claim)
        self.put_claim(group, physical_id, claim)
        claims = self.claims(group, deadline=self.deadline)
        stale = self.registered(group, deadline=self.deadline) - _union(claims.values()) - claim
        if stale:
            LOGGER.info("deregistering targets no instance claims: %s", sorted(stale))
            self.deregister(group, stale, deadline=self.deadline)
        LOGGER.info("targets of %s claimed by %s: %s", group, physical_id, sorted(claim))

    def withdraw(self, group: str, physical_id: str, *, deadline: resilience.Deadline) -> None:
        """Deregisters what ``physical_id`` claimed and no other claim names, then drops its
        claim (in this order, so that a Delete retried after a failure still finds its claim)."""
        claims = self.claims(group, deadline=deadline)
        mine = claims.pop(physical_id, None)
        if mine is None:
            LOGGER.info("%s has no claim on %s: nothing to deregister", physical_id, group)
            return
        gone = mine - _union(claims.values())
        if gone:
            self.deregister(group, gone, deadline=deadline)
        LOGGER.info(
            "deregistered %s, kept %s for other instances", sorted(gone), sorted(mine - gone)
        )
        self._call(
            "elbv2",
            "remove_tags",
            deadline,
            ResourceArns=[group],
            TagKeys=[claim_key(physical_id)],
        )

    def _withdraw_failed_create(self, group: str, physical_id: str, added: set[Target]) -> None:
        """Undoes a failed Create, whose Delete never reaches this handler: deregisters what it
        added (targets that were not registered before it) and no other claim names, and drops
        its claim. Logs what it cannot undo."""
        try:
            claims = self.claims(group, deadline=self.rollback_deadline)
            claimed = claims.pop(physical_id, None) is not None
            registered = self.registered(group, deadline=self.rollback_deadline)
            gone = (added & registered) - _union(claims.values())
            if gone:
                self.deregister(group, gone, deadline=self.rollback_deadline)
            if claimed:
                self._call(
                    "elbv2",
                    "remove_tags",
                    self.rollback_deadline,
                    ResourceArns=[group],
                    TagKeys=[claim_key(physical_id)],
                )
            LOGGER.info("failed create of %s rolled back: deregistered %s", physical_id, gone)
        except Exception as err:
            LOGGER.exception(
                "rolling back the failed create of %s failed (%s): its claim or targets may be "
                "left on %s until the next Create or Update of this construct",
                physical_id,
                resilience.describe(err),
                group,
            )

    # --- AWS calls -----------------------------------------------------------------------------

    def resolve_ips(self, eni_ids: list[str]) -> list[str]:
        """The private IPv4 address of each interface, sorted; waits while new interfaces are
        not visible yet."""

        def not_visible_yet(err: BaseException) -> bool:
            return resilience.error_code(err) == ENI_NOT_FOUND or resilience.is_retryable(err)

        response = self._call(
            "ec2",
            "describe_network_interfaces",
            self.deadline,
            retryable=not_visible_yet,
            backoff=self.eni_backoff,
            NetworkInterfaceIds=list(eni_ids),
        )
        found = {eni["NetworkInterfaceId"]: eni for eni in response.get("NetworkInterfaces", [])}
        missing = sorted(set(eni_ids) - set(found))
        if missing:
            raise TargetsError(f"network interfaces not found: {' '.join(missing)}")
        ips = set()
        for eni_id in eni_ids:
            ip = found[eni_id].get("PrivateIpAddress")
            if not ip:
                raise TargetsError(f"network interface {eni_id} has no private IPv4 address")
            ips.add(str(ip))
        return sorted(ips)

    def register(self, group: str, targets: Iterable[Target]) -> None:
        self._call(
            "elbv2",
            "register_targets",
            self.deadline,
            TargetGroupArn=group,
            Targets=_target_list(targets),
        )

    def deregister(
        self, group: str, targets: Iterable[Target], *, deadline: resilience.Deadline
    ) -> None:
        """Deregisters ``targets``; one that is not registered (``InvalidTarget``) is success."""
        wanted = _target_list(targets)
        try:
            self._call(
                "elbv2", "deregister_targets", deadline, TargetGroupArn=group, Targets=wanted
            )
            return
        except ClientError as err:
            if resilience.error_code(err) != INVALID_TARGET:
                raise
            LOGGER.info("some targets are already gone (%s); deregistering one at a time", err)
        for target in wanted:
            try:
                self._call(
                    "elbv2", "deregister_targets", deadline, TargetGroupArn=group, Targets=[target]
                )
            except ClientError as err:
                if resilience.error_code(err) != INVALID_TARGET:
                    raise
                LOGGER.info("target %s:%s is already gone", target["Id"], target["Port"])

    def registered(self, group: str, *, deadline: resilience.Deadline) -> set[Target]:
        """The group's targets that are registered and not draining, as (ip, port)."""
        response = self._call("elbv2", "describe_target_health", deadline, TargetGroupArn=group)
        return {
            (str(entry["Target"]["Id"]), int(entry["Target"]["Port"]))
            for entry in response.get("TargetHealthDescriptions", [])
            if entry.get("TargetHealth", {}).get("State") != DRAINING
        }

    def claims(self, group: str, *, deadline: resilience.Deadline) -> dict[str, set[Target]]:
        """Every instance's claim on ``group``, by physical id."""
        response = self._call("elbv2", "describe_tags", deadline, ResourceArns=[group])
        result: dict[str, set[Target]] = {}
        for description in response.get("TagDescriptions", []):
            for tag in description.get("Tags", []):
                key = str(tag.get("Key", ""))
                if key.startswith(CLAIM_TAG_PREFIX + PHYSICAL_ID_PREFIX):
                    result[key.removeprefix(CLAIM_TAG_PREFIX)] = parse_claim(tag.get("Value", ""))
        return result

    def put_claim(self, group: str, physical_id: str, claim: set[Target]) -> None:
        self._call(
            "elbv2",
            "add_tags",
            self.deadline,
            ResourceArns=[group],
            Tags=[{"Key": claim_key(physical_id), "Value": format_claim(claim)}],
        )

    def _call(
        self,
        service: str,
        operation: str,
        deadline: resilience.Deadline,
        *,
        retryable: Callable[[BaseException], bool] = resilience.is_retryable,
        backoff: resilience.Backoff | None = None,
        **params: Any,
    ) -> Any:
        def attempt(left: resilience.Deadline) -> Any:
            return getattr(self._client(service, left), operation)(**params)

        return resilience.call_with_retries(
            _api_name(operation),
            attempt,
            deadline=deadline,
            backoff=backoff or self.call_backoff,
            retryable=retryable,
        )

    def _client(self, service: str, deadline: resilience.Deadline) -> Any:
        """A client whose timeouts fit the time left (whole seconds, so that clients are shared
        between calls until the last half minute)."""
        connect, read = deadline.timeouts(connect=CONNECT_TIMEOUT, read=READ_TIMEOUT)
        key = (service, max(1, math.floor(connect)), max(1, math.floor(read)))
        if key not in self._clients:
            config = Config(
                connect_timeout=key[1],
                read_timeout=key[2],
                retries={"mode": "standard", "total_max_attempts": 1},
            )
            self._clients[key] = self._factory(service, config)
        return self._clients[key]

    # --- properties ----------------------------------------------------------------------------

    def _current_group(self) -> str:
        if not self.target_group:
            raise TargetsError(
                f"the function has no {TARGET_GROUP_ENV} environment variable; deploy it with "
                "SageMakerRuntimeLoadBalancer"
            )
        return self.target_group

    def _properties(self, event: Mapping[str, Any]) -> tuple[str, int, list[str]]:
        properties = event.get("ResourceProperties") or {}
        group = properties.get("TargetGroupArn")
        if not isinstance(group, str) or ":targetgroup/" not in group:
            LOGGER.error("TargetGroupArn is %r", group)
            raise PropertyError("TargetGroupArn must be the ARN of an ELBv2 target group")
        if group != self._current_group():
            LOGGER.error("TargetGroupArn %s, this function manages %s", group, self.target_group)
            raise PropertyError(
                f"TargetGroupArn is not the target group this function manages "
                f"({TARGET_GROUP_ENV}); its role may touch only that group"
            )
        return group, _port(properties), _eni_ids(properties)


# --- helpers -------------------------------------------------------------------------------------


def instance_id(event: Mapping[str, Any]) -> str:
    """The physical id of a new instance: unique per stack and logical id, so two live instances
    never share one, and stable, so a create retried in a later deploy takes over the claim a
    failed one may have left."""
    source = f"{event.get('StackId', '')}|{event.get('LogicalResourceId', '')}"
    return PHYSICAL_ID_PREFIX + hashlib.sha256(source.encode()).hexdigest()[:20]


def claim_key(physical_id: str) -> str:
    return CLAIM_TAG_PREFIX + physical_id


def format_claim(claim: Iterable[Target]) -> str:
    value = " ".join(f"{ip}:{port}" for ip, port in sorted(claim))
    if len(value) > MAX_TAG_VALUE:
        raise TargetsError(
            f"{len(set(claim))} targets do not fit in one claim tag ({MAX_TAG_VALUE} characters)"
        )
    return value


def parse_claim(value: str) -> set[Target]:
    targets = set()
    for item in value.split():
        ip, _, port = item.rpartition(":")
        if ip and port.isdigit():
            targets.add((ip, int(port)))
    return targets


_ARN = re.compile(r"arn:[\w.-]*:[^\s\"',;)]*")
_ACCOUNT = re.compile(r"(?<!\d)\d{12}(?!\d)")


def public_message(text: str) -> str:
    """``text`` without ARNs and account ids, cut to :data:`MAX_MESSAGE_BYTES` of UTF-8."""
    cleaned = _ACCOUNT.sub("<account>", _ARN.sub("<arn>", text))
    return resilience.truncate_utf8(cleaned, MAX_MESSAGE_BYTES)


def _failure_message(request_type: Any, err: BaseException, log_location: str) -> str:
    where = f" (details in the function's log{log_location})"
    if isinstance(err, TargetsError):
        reason = str(err)
    elif isinstance(err, resilience.RetriesExhaustedError):
        reason = f"{_what(err)} kept failing transiently ({_kind(err.last)}) until time ran out"
    elif isinstance(err, resilience.DeadlineExceededError):
        reason = "the invocation ran out of time before the next AWS call"
    elif isinstance(err, ClientError):
        operation = str(getattr(err, "operation_name", "") or "an AWS call")
        reason = f"{operation} failed with {_kind(err)}"
        if resilience.error_code(err) in {"AccessDenied", "AccessDeniedException", "Unauthorized"}:
            reason += "; check the function's role"
    else:
        reason = f"unexpected {type(err).__name__}"
    verb = request_type if request_type in {"Create", "Update", "Delete"} else "The request"
    reason = resilience.truncate_utf8(reason, MAX_MESSAGE_BYTES // 2)
    return public_message(f"{verb} of the endpoint targets failed: {reason}{where}")


def _what(err: resilience.RetriesExhaustedError) -> str:
    return str(err).split(" ", 1)[0].rstrip(":")


def _kind(err: BaseException) -> str:
    return resilience.error_code(err) or type(err).__name__


def _api_name(operation: str) -> str:
    return "".join(part.title() for part in operation.split("_"))


def _union(claims: Iterable[set[Target]]) -> set[Target]:
    result: set[Target] = set()
    for claim in claims:
        result |= claim
    return result


def _result(physical_id: str, claim: set[Target]) -> dict[str, Any]:
    ips = sorted({ip for ip, _ in claim})
    return {
        "PhysicalResourceId": physical_id,
        "Data": {"Ips": ",".join(ips), "Count": str(len(ips))},
    }


def _target_list(targets: Iterable[Target]) -> list[dict[str, Any]]:
    return [{"Id": ip, "Port": port} for ip, port in sorted(targets)]


def _eni_ids(properties: Mapping[str, Any]) -> list[str]:
    value = properties.get("NetworkInterfaceIds")
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, str) and v.startswith("eni-") for v in value)
    ):
        LOGGER.error("NetworkInterfaceIds is %r", value)
        raise PropertyError("NetworkInterfaceIds must be a non-empty list of eni- ids")
    return list(value)


def _port(properties: Mapping[str, Any]) -> int:
    """The ``Port`` property: an integer, or a string of ASCII digits (CloudFormation passes
    numbers as strings). ``True`` (an ``int`` to Python), ``443.7`` and ``" 443"`` are refused
    rather than read as 1, 443 and 443."""
    value: Any = properties.get("Port")
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        port = int(value)
    else:
        LOGGER.error("Port is %r", value)
        raise PropertyError(
            f"Port must be a whole number or a string of digits, got {repr(value)[:40]}"
        )
    if not 1 <= port <= 65535:
        raise PropertyError(f"Port must be between 1 and 65535, got {port}")
    return port


def _boto3_client(service: str, config: Config) -> Any:
    return boto3.client(service, config=config)


def log_location(context: Any) -> str:
    group = getattr(context, "log_group_name", None)
    stream = getattr(context, "log_stream_name", None)
    if isinstance(group, str) and isinstance(stream, str):
        return f" {group}, stream {stream}"
    return ""


# --- requests CloudFormation sends straight to this function -------------------------------------


def _invoked_directly(event: Mapping[str, Any], context: Any) -> bool:
    """Whether the resource's ServiceToken is this function itself (not the provider framework).

    Only resources created by the earlier version of this construct have such a token; the
    deploy that moves to the framework replaces them, and CloudFormation sends their Delete here.
    """
    token = (event.get("ResourceProperties") or {}).get("ServiceToken")
    invoked = getattr(context, "invoked_function_arn", None)
    if not isinstance(token, str) or not isinstance(invoked, str):
        return False
    return token.split(":")[:7] == invoked.split(":")[:7]


def _answer_directly(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Handles a request sent straight to this function and PUTs the answer to ResponseURL.

    Delete: the earlier version's instance kept no claim; its successor (created in the same
    deploy) claims the endpoint's addresses, so the Delete deregisters only targets that no
    claim names. Create and Update are refused: resources are served through the framework.
    """
    physical_id = str(event.get("PhysicalResourceId") or event.get("RequestId") or "unknown")
    status, reason = "SUCCESS", "OK"
    try:
        if event.get("RequestType") != "Delete":
            raise TargetsError(
                "this function serves custom resources through its provider framework; use the "
                "framework's ServiceToken"
            )
        targets = EndpointTargets(
            target_group=os.environ.get(TARGET_GROUP_ENV, ""),
            deadline=resilience.Deadline(context, reserve=RESERVE_SECONDS),
        )
        group = (event.get("ResourceProperties") or {}).get("TargetGroupArn")
        if isinstance(group, str) and group == targets.target_group:
            claims = targets.claims(group, deadline=targets.deadline)
            unclaimed = targets.registered(group, deadline=targets.deadline) - _union(
                claims.values()
            )
            if unclaimed:
                targets.deregister(group, unclaimed, deadline=targets.deadline)
            LOGGER.info("earlier instance deleted; deregistered unclaimed %s", sorted(unclaimed))
        else:
            LOGGER.info("earlier instance's group %s is not this construct's group", group)
    except Exception as err:
        LOGGER.exception("direct %s failed", event.get("RequestType"))
        status = "FAILED"
        reason = (
            str(err)
            if isinstance(err, TargetsError)
            else _failure_message(event.get("RequestType"), err, log_location(context))
        )
    body: dict[str, Any] = {
        "Status": status,
        "Reason": reason,
        "PhysicalResourceId": physical_id,
        "StackId": event.get("StackId"),
        "RequestId": event.get("RequestId"),
        "LogicalResourceId": event.get("LogicalResourceId"),
        "NoEcho": False,
        "Data": {},
    }
    send_response(str(event.get("ResponseURL", "")), json.dumps(body).encode())
    return body


sleep: Callable[[float], None] = time.sleep
"""Waits between attempts to send a direct answer (tests replace it)."""


def send_response(url: str, body: bytes) -> None:
    """PUTs a direct answer to the pre-signed ``ResponseURL`` (3 attempts, 10 s each)."""
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
            with urllib.request.urlopen(request, timeout=10) as response:
                LOGGER.info("response sent: HTTP %s", response.status)
                return
        except OSError:
            LOGGER.exception("sending the response failed (attempt %d)", attempt)
            if attempt == 3:
                raise
            sleep(float(attempt))
