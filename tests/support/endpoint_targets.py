"""The endpoint-targets custom-resource handler (``endpoint_targets.py``) as its tests drive
it: a stack's ids, the fake clock and Lambda context, ``on_event`` requests, and stubbed ec2 and
elbv2 clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config
from botocore.stub import Stubber

from ha_inference.functions import endpoint_targets as index
from ha_inference.functions.resilience import Backoff, Deadline

REGION = "us-east-1"
ACCOUNT = "111111111111"
STACK = f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Subject/5a1b2c3d-guid"
TARGET_GROUP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/Subjec-Targe-1A2B3C/0123456789abcdef"
HANDLER_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Subject-RuntimeEndpointTargetsHandler"
FRAMEWORK_ARN = (
    f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:Subject-RuntimeEndpointTargetsFramework"
)
ENIS = {"eni-0a": "10.0.0.10", "eni-0b": "10.0.1.20", "eni-0c": "10.0.2.30"}
FUNCTION_TIMEOUT = 120.0


@dataclass
class Clock:
    """A fake monotonic clock; sleeping and slow calls advance it."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Context:
    """A Lambda context whose remaining time follows ``clock``."""

    clock: Clock
    timeout: float = FUNCTION_TIMEOUT
    invoked_function_arn: str = HANDLER_ARN
    log_group_name: str = "Subject-RuntimeEndpointTargetsLogs6338E895-AbCdEf"
    log_stream_name: str = "2026/11/20/[$LATEST]0123456789abcdef"
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock.now

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.timeout - (self.clock.now - self.started)) * 1000)

    def elapsed(self) -> float:
        return self.clock.now - self.started


def handler(
    clients: index.ClientFactory,
    *,
    clock: Clock | None = None,
    group: str = TARGET_GROUP,
    timeout: float = FUNCTION_TIMEOUT,
) -> tuple[index.EndpointTargets, Context]:
    """An EndpointTargets as ``on_event`` builds it, on the fake clock, with no jitter."""
    clock = clock or Clock()
    context = Context(clock, timeout)

    def backoff(attempts: int, base: float) -> Backoff:
        return Backoff(attempts, base, 8.0, sleep=clock.sleep, jitter=lambda _, top: top)

    return (
        index.EndpointTargets(
            target_group=group,
            deadline=Deadline(context, reserve=index.RESERVE_SECONDS, clock=clock),
            rollback_deadline=Deadline(context, reserve=1.0, clock=clock),
            clients=clients,
            call_backoff=backoff(5, 0.5),
            eni_backoff=backoff(8, 1.0),
        ),
        context,
    )


def event(
    request_type: str,
    *,
    logical_id: str = "RuntimeEndpointTargetsRegistrationAF7C6981",
    enis: list[str] | None = None,
    target_group: str = TARGET_GROUP,
    port: Any = "443",
    physical_id: str | None = None,
    service_token: str = FRAMEWORK_ARN,
    response_url: str = "https://cloudformation-custom-resource-response.example/x?sig=abc",
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": response_url,
        "StackId": STACK,
        "RequestId": f"request-{request_type.lower()}",
        "LogicalResourceId": logical_id,
        "ResourceType": "Custom::SageMakerRuntimeTargets",
        "ResourceProperties": {
            "ServiceToken": service_token,
            "NetworkInterfaceIds": list(ENIS) if enis is None else enis,
            "TargetGroupArn": target_group,
            "Port": port,
        },
    }
    if physical_id is not None:
        result["PhysicalResourceId"] = physical_id
    return result


@dataclass
class Stubbed:
    """Stubbed ec2 and elbv2 clients, and the config each client request asked for."""

    ec2: Any
    elbv2: Any
    ec2_stub: Stubber
    elbv2_stub: Stubber
    configs: list[Config] = field(default_factory=list)

    def __call__(self, service: str, config: Config) -> Any:
        self.configs.append(config)
        return {"ec2": self.ec2, "elbv2": self.elbv2}[service]

    def describe_enis(self, enis: dict[str, str] = ENIS) -> None:
        self.ec2_stub.add_response(
            "describe_network_interfaces",
            {
                "NetworkInterfaces": [
                    {"NetworkInterfaceId": eni, "PrivateIpAddress": ip} for eni, ip in enis.items()
                ]
            },
            {"NetworkInterfaceIds": list(enis)},
        )

    def target_health(
        self, targets: list[tuple[str, int]], *, draining: tuple[tuple[str, int], ...] = ()
    ) -> None:
        self.elbv2_stub.add_response(
            "describe_target_health",
            {
                "TargetHealthDescriptions": [
                    {"Target": {"Id": ip, "Port": port}, "TargetHealth": {"State": "healthy"}}
                    for ip, port in targets
                ]
                + [
                    {"Target": {"Id": ip, "Port": port}, "TargetHealth": {"State": "draining"}}
                    for ip, port in draining
                ]
            },
            {"TargetGroupArn": TARGET_GROUP},
        )

    def tags(self, claims: dict[str, str]) -> None:
        self.elbv2_stub.add_response(
            "describe_tags",
            {
                "TagDescriptions": [
                    {
                        "ResourceArn": TARGET_GROUP,
                        "Tags": [{"Key": "aws:cloudformation:stack-name", "Value": "Subject"}]
                        + [{"Key": f"ha-inference:{pid}", "Value": v} for pid, v in claims.items()],
                    }
                ]
            },
            {"ResourceArns": [TARGET_GROUP]},
        )

    def expect(self, operation: str, params: dict[str, Any]) -> None:
        self.elbv2_stub.add_response(operation, {}, params)


def targets_of(*ips: str, port: int = 443) -> list[dict[str, Any]]:
    """The ``Targets`` of a register or deregister request: ``ips`` on ``port``, sorted."""
    return [{"Id": ip, "Port": port} for ip in sorted(ips)]


PID = index.instance_id(event("Create"))
IPS = sorted(ENIS.values())
