"""The custom-resource handler that keeps the NLB target group on the endpoint's ENI IPs.

Real boto3 clients answered by ``botocore.stub.Stubber`` (no network, fake credentials), and a
real HTTP server on 127.0.0.1 that records the response the handler PUTs to ``ResponseURL``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ha_inference.functions import endpoint_targets as index

TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/Subjec-Targe-1A2B3C/0123456789abcdef"
OTHER_TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/Subjec-Targe-9Z8Y7X/fedcba9876543210"
ENIS = {"eni-0a": "10.0.0.10", "eni-0b": "10.0.1.20", "eni-0c": "10.0.2.30"}


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(
            {
                "path": self.path,
                "content_type": self.headers.get("Content-Type"),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadingHTTPServer]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def responses(server: ThreadingHTTPServer) -> list[dict[str, Any]]:
    _Recorder.received = []
    return _Recorder.received


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Fake credentials and Region, and no real waiting."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    slept: list[float] = []
    monkeypatch.setattr(index, "sleep", slept.append)
    return slept


@pytest.fixture
def ec2() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("ec2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def elbv2() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("elbv2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


class _Context:
    log_stream_name = "2026/11/20/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 110_000


def _event(
    server: ThreadingHTTPServer,
    request_type: str,
    *,
    enis: list[str] | None = None,
    target_group: str = TARGET_GROUP,
    port: str = "443",
    physical_id: str | None = None,
    old: dict[str, Any] | None = None,
) -> dict[str, Any]:
    host, port_number = server.server_address[:2]
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ResponseURL": f"http://{host!s}:{port_number}/cfn-response?X-Amz-Signature=abc",
        "StackId": "arn:aws:cloudformation:us-east-1:111111111111:stack/Subject/guid",
        "RequestId": "request-1",
        "LogicalResourceId": "RuntimeEndpointTargets305A7179",
        "ResourceType": "Custom::SageMakerRuntimeTargets",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:111111111111:function:handler",
            "NetworkInterfaceIds": list(ENIS) if enis is None else enis,
            "TargetGroupArn": target_group,
            "Port": port,
        },
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old is not None:
        event["OldResourceProperties"] = old
    return event


def _expect_describe_enis(stubber: Stubber, enis: dict[str, str]) -> None:
    stubber.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {"NetworkInterfaceId": eni, "PrivateIpAddress": ip} for eni, ip in enis.items()
            ]
        },
        {"NetworkInterfaceIds": list(enis)},
    )


def _expect_target_health(
    stubber: Stubber, targets: list[tuple[str, int]], target_group: str = TARGET_GROUP
) -> None:
    stubber.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": ip, "Port": port}, "TargetHealth": {"State": "healthy"}}
                for ip, port in targets
            ]
        },
        {"TargetGroupArn": target_group},
    )


def _targets(*ips: str, port: int = 443) -> list[dict[str, Any]]:
    return [{"Id": ip, "Port": port} for ip in ips]


def _only(responses: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(responses) == 1, responses
    sent = responses[0]
    assert sent["content_type"] == "", "pre-signed S3 URLs need an empty Content-Type"
    assert sent["path"].startswith("/cfn-response?")
    body: dict[str, Any] = sent["body"]
    return body


def test_create_registers_every_interface_ip(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    _expect_describe_enis(ec2[1], ENIS)
    elbv2[1].add_response(
        "register_targets",
        {},
        {"TargetGroupArn": TARGET_GROUP, "Targets": _targets(*sorted(ENIS.values()))},
    )
    _expect_target_health(elbv2[1], [(ip, 443) for ip in ENIS.values()])

    index.handle(_event(server, "Create"), _Context(), ec2=ec2[0], elbv2=elbv2[0])

    body = _only(responses)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == TARGET_GROUP
    assert body["Data"] == {"Ips": "10.0.0.10,10.0.1.20,10.0.2.30", "Count": "3"}
    assert body["RequestId"] == "request-1"
    assert body["LogicalResourceId"] == "RuntimeEndpointTargets305A7179"
    assert body["StackId"].startswith("arn:aws:cloudformation:")


def test_create_waits_for_new_interfaces_to_become_visible(
    server: ThreadingHTTPServer,
    responses: list[dict[str, Any]],
    ec2: Any,
    elbv2: Any,
    offline: list[float],
) -> None:
    ec2[1].add_client_error(
        "describe_network_interfaces",
        service_error_code="InvalidNetworkInterfaceID.NotFound",
        service_message="The networkInterface ID 'eni-0c' does not exist",
        expected_params={"NetworkInterfaceIds": list(ENIS)},
    )
    _expect_describe_enis(ec2[1], ENIS)
    elbv2[1].add_response(
        "register_targets",
        {},
        {"TargetGroupArn": TARGET_GROUP, "Targets": _targets(*sorted(ENIS.values()))},
    )
    _expect_target_health(elbv2[1], [(ip, 443) for ip in ENIS.values()])

    index.handle(_event(server, "Create"), _Context(), ec2=ec2[0], elbv2=elbv2[0])

    assert _only(responses)["Status"] == "SUCCESS"
    assert offline == [2.0]


def test_update_with_changed_interfaces_registers_new_and_deregisters_stale(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    """The endpoint moved out of one subnet into another: eni-0a went, eni-0d came."""
    now = {"eni-0d": "10.0.3.40", "eni-0b": "10.0.1.20", "eni-0c": "10.0.2.30"}
    _expect_describe_enis(ec2[1], now)
    elbv2[1].add_response(
        "register_targets",
        {},
        {
            "TargetGroupArn": TARGET_GROUP,
            "Targets": _targets("10.0.1.20", "10.0.2.30", "10.0.3.40"),
        },
    )
    _expect_target_health(
        elbv2[1], [("10.0.0.10", 443), ("10.0.1.20", 443), ("10.0.2.30", 443), ("10.0.3.40", 443)]
    )
    elbv2[1].add_response(
        "deregister_targets", {}, {"TargetGroupArn": TARGET_GROUP, "Targets": _targets("10.0.0.10")}
    )
    event = _event(
        server,
        "Update",
        enis=list(now),
        physical_id=TARGET_GROUP,
        old=_event(server, "Create")["ResourceProperties"],
    )

    index.handle(event, _Context(), ec2=ec2[0], elbv2=elbv2[0])

    body = _only(responses)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == TARGET_GROUP, "a stable id: no replacement, no Delete"
    assert body["Data"] == {"Ips": "10.0.1.20,10.0.2.30,10.0.3.40", "Count": "3"}


def test_update_of_the_port_deregisters_the_old_port(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    _expect_describe_enis(ec2[1], ENIS)
    elbv2[1].add_response(
        "register_targets",
        {},
        {"TargetGroupArn": TARGET_GROUP, "Targets": _targets(*sorted(ENIS.values()), port=8443)},
    )
    _expect_target_health(
        elbv2[1], [(ip, 443) for ip in ENIS.values()] + [(ip, 8443) for ip in ENIS.values()]
    )
    elbv2[1].add_response(
        "deregister_targets",
        {},
        {"TargetGroupArn": TARGET_GROUP, "Targets": _targets(*sorted(ENIS.values()))},
    )

    index.handle(
        _event(server, "Update", port="8443", physical_id=TARGET_GROUP),
        _Context(),
        ec2=ec2[0],
        elbv2=elbv2[0],
    )

    assert _only(responses)["Status"] == "SUCCESS"


def test_update_to_a_new_target_group_returns_its_arn(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    """A new physical id makes CloudFormation send a Delete that cleans the old group."""
    _expect_describe_enis(ec2[1], ENIS)
    elbv2[1].add_response(
        "register_targets",
        {},
        {"TargetGroupArn": OTHER_TARGET_GROUP, "Targets": _targets(*sorted(ENIS.values()))},
    )
    _expect_target_health(elbv2[1], [], target_group=OTHER_TARGET_GROUP)

    index.handle(
        _event(server, "Update", target_group=OTHER_TARGET_GROUP, physical_id=TARGET_GROUP),
        _Context(),
        ec2=ec2[0],
        elbv2=elbv2[0],
    )

    assert _only(responses)["PhysicalResourceId"] == OTHER_TARGET_GROUP


def test_delete_deregisters_every_target(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    _expect_target_health(elbv2[1], [("10.0.1.20", 443), ("10.0.0.10", 443)])
    elbv2[1].add_response(
        "deregister_targets",
        {},
        {"TargetGroupArn": TARGET_GROUP, "Targets": _targets("10.0.0.10", "10.0.1.20")},
    )

    index.handle(
        _event(server, "Delete", physical_id=TARGET_GROUP), _Context(), ec2=ec2[0], elbv2=elbv2[0]
    )

    body = _only(responses)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == TARGET_GROUP


def test_delete_succeeds_when_the_target_group_is_already_gone(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    elbv2[1].add_client_error(
        "describe_target_health",
        service_error_code="TargetGroupNotFound",
        service_message="One or more target groups not found",
        expected_params={"TargetGroupArn": TARGET_GROUP},
    )

    index.handle(
        _event(server, "Delete", physical_id=TARGET_GROUP), _Context(), ec2=ec2[0], elbv2=elbv2[0]
    )

    assert _only(responses)["Status"] == "SUCCESS"


def test_delete_succeeds_when_no_targets_are_left(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    _expect_target_health(elbv2[1], [])

    index.handle(
        _event(server, "Delete", physical_id=TARGET_GROUP), _Context(), ec2=ec2[0], elbv2=elbv2[0]
    )

    assert _only(responses)["Status"] == "SUCCESS"


def test_delete_after_a_failed_create_touches_nothing(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    index.handle(
        _event(server, "Delete", target_group="", physical_id="endpoint-targets-request-0"),
        _Context(),
        ec2=ec2[0],
        elbv2=elbv2[0],
    )

    body = _only(responses)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == "endpoint-targets-request-0"


def test_fails_with_the_error_as_reason_when_registration_is_refused(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    _expect_describe_enis(ec2[1], ENIS)
    elbv2[1].add_client_error(
        "register_targets",
        service_error_code="InvalidTarget",
        service_message="The following targets are not in the target group VPC: 10.0.0.10",
    )

    index.handle(_event(server, "Create"), _Context(), ec2=ec2[0], elbv2=elbv2[0])

    body = _only(responses)
    assert body["Status"] == "FAILED"
    assert "InvalidTarget" in body["Reason"]
    assert "not in the target group VPC" in body["Reason"]
    assert _Context.log_stream_name in body["Reason"]
    assert body["PhysicalResourceId"] == TARGET_GROUP
    assert body["Data"] == {}


def test_fails_with_a_reason_when_properties_are_missing(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    index.handle(_event(server, "Create", enis=[]), _Context(), ec2=ec2[0], elbv2=elbv2[0])

    body = _only(responses)
    assert body["Status"] == "FAILED"
    assert "NetworkInterfaceIds must be a non-empty list" in body["Reason"]


def test_fails_a_failed_update_under_its_old_physical_id(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    ec2[1].add_client_error(
        "describe_network_interfaces",
        service_error_code="UnauthorizedOperation",
        service_message="You are not authorized to perform this operation.",
    )

    index.handle(
        _event(server, "Update", target_group=OTHER_TARGET_GROUP, physical_id=TARGET_GROUP),
        _Context(),
        ec2=ec2[0],
        elbv2=elbv2[0],
    )

    body = _only(responses)
    assert body["Status"] == "FAILED"
    assert "UnauthorizedOperation" in body["Reason"]
    assert body["PhysicalResourceId"] == TARGET_GROUP


def test_fails_when_an_interface_has_no_ip(
    server: ThreadingHTTPServer, responses: list[dict[str, Any]], ec2: Any, elbv2: Any
) -> None:
    ec2[1].add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"NetworkInterfaceId": eni} for eni in ENIS]},
        {"NetworkInterfaceIds": list(ENIS)},
    )

    index.handle(_event(server, "Create"), _Context(), ec2=ec2[0], elbv2=elbv2[0])

    body = _only(responses)
    assert body["Status"] == "FAILED"
    assert "has no private IPv4 address" in body["Reason"]


def test_lambda_entry_point_uses_boto3_clients_and_puts_the_response(
    server: ThreadingHTTPServer,
    responses: list[dict[str, Any]],
    ec2: Any,
    elbv2: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clients = {"ec2": ec2[0], "elbv2": elbv2[0]}
    monkeypatch.setattr(boto3, "client", lambda name, **_: clients[name])
    _expect_target_health(elbv2[1], [])

    returned = index.handler(_event(server, "Delete", physical_id=TARGET_GROUP), _Context())

    assert _only(responses) == returned
    assert returned["Status"] == "SUCCESS"


def test_response_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="ResponseURL must be an HTTPS URL"):
        index.send_response("file:///etc/passwd", b"{}")
