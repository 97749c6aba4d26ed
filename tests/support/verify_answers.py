"""Stubbed AWS answers for verify's checks on a deployed sample stack, one function per call
(or group of calls) a check makes; the verify tests and the docs' example run
(``docgen/tool_examples.py``) both queue them on a :class:`tests.support.stubs.Stubs`."""

from __future__ import annotations

import io
import json
from typing import Any

from botocore.response import StreamingBody

from tests.support.stubs import NOW, PHYSICAL, ZONES, Stubs

TARGET_GROUP = PHYSICAL["Targets"][1]
SUBNETS = ("subnet-a", "subnet-b", "subnet-c")
IPS = ("10.0.0.10", "10.0.1.10", "10.0.2.10")


def deployed(stubs: Stubs) -> None:
    stubs.stack(PHYSICAL)


def target_health(stubs: Stubs, states: tuple[str, ...] = ("healthy",) * 3) -> None:
    stubs("elbv2").add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": ip, "Port": 443},
                    "TargetHealth": {"State": state}
                    | ({"Reason": "Target.Timeout"} if state == "unhealthy" else {}),
                }
                for ip, state in zip(IPS, states, strict=True)
            ]
        },
        {"TargetGroupArn": TARGET_GROUP},
    )


def target_interfaces(stubs: Stubs) -> None:
    stubs("ec2").add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {
                    "NetworkInterfaceId": f"eni-{zone[-1]}",
                    "AvailabilityZone": zone,
                    "SubnetId": subnet,
                    "PrivateIpAddresses": [{"PrivateIpAddress": ip}],
                }
                for zone, subnet, ip in zip(ZONES, SUBNETS, IPS, strict=True)
            ]
        },
        {
            "Filters": [
                {"Name": "addresses.private-ip-address", "Values": sorted(IPS)},
                {"Name": "vpc-id", "Values": ["vpc-1"]},
            ]
        },
    )


def endpoint(stubs: Stubs, *, status: str = "InService", instances: int = 3) -> None:
    stubs("sagemaker").add_response(
        "describe_endpoint",
        {
            "EndpointName": "llm-endpoint",
            "EndpointArn": PHYSICAL["Endpoint"][1],
            "EndpointStatus": status,
            "CreationTime": NOW,
            "LastModifiedTime": NOW,
            "ProductionVariants": [
                {"VariantName": "AllTraffic", "CurrentInstanceCount": instances}
            ],
        }
        | ({"FailureReason": "insufficient capacity"} if status == "Failed" else {}),
        {"EndpointName": "llm-endpoint"},
    )


def vpc_endpoint(
    stubs: Stubs, subnets: tuple[str, ...] = SUBNETS, state: str = "available"
) -> None:
    interfaces = [f"eni-{s}" for s in subnets]
    stubs("ec2").add_response(
        "describe_vpc_endpoints",
        {
            "VpcEndpoints": [
                {
                    "VpcEndpointId": "vpce-bedrock",
                    "State": state,
                    "SubnetIds": list(SUBNETS),
                    "NetworkInterfaceIds": interfaces,
                }
            ]
        },
        {"VpcEndpointIds": ["vpce-bedrock"]},
    )
    stubs("ec2").add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"NetworkInterfaceId": f"eni-{s}", "SubnetId": s} for s in subnets]},
        {"NetworkInterfaceIds": interfaces},
    )


def aoss_endpoint(stubs: Stubs, status: str = "ACTIVE") -> None:
    stubs("opensearchserverless").add_response(
        "batch_get_vpc_endpoint",
        {"vpcEndpointDetails": [{"id": "vpce-aoss", "status": status, "subnetIds": list(SUBNETS)}]},
        {"ids": ["vpce-aoss"]},
    )


def subnet(stubs: Stubs, subnet_id: str, zone: str) -> None:
    stubs("ec2").add_response(
        "describe_subnets",
        {"Subnets": [{"SubnetId": subnet_id, "AvailabilityZone": zone}]},
        {"SubnetIds": [subnet_id]},
    )


def collection(stubs: Stubs, *, status: str = "ACTIVE", standby: str = "ENABLED") -> None:
    stubs("opensearchserverless").add_response(
        "batch_get_collection",
        {"collectionDetails": [{"id": "coll1234", "status": status, "standbyReplicas": standby}]},
        {"ids": ["coll1234"]},
    )


def function(stubs: Stubs, subnets: tuple[str, ...] = SUBNETS, state: str = "Active") -> None:
    stubs("lambda").add_response(
        "get_function_configuration",
        {
            "FunctionName": "HaInference-Retrieval-1",
            "State": state,
            "LastUpdateStatus": "Successful",
            "VpcConfig": {"SubnetIds": list(subnets), "VpcId": "vpc-1"},
        },
        {"FunctionName": "HaInference-Retrieval-1"},
    )
    for subnet_id in subnets:
        subnet(stubs, subnet_id, ZONES[SUBNETS.index(subnet_id)])


def answer(stubs: Stubs, response: Any, *, function_error: str | None = None) -> None:
    data = json.dumps(response).encode()
    stubs("lambda").add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(data), len(data))}
        | ({"FunctionError": function_error} if function_error else {}),
        {
            "FunctionName": "HaInference-Retrieval-1",
            "InvocationType": "RequestResponse",
            "Payload": json.dumps({"question": "What is this service for?"}).encode(),
        },
    )


def proxy(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "headers": {}, "body": json.dumps(body)}
