"""The custom-resource handler that keeps the NLB target group on the endpoint's ENI IPs.

Single calls and their faults: real boto3 clients answered by ``botocore.stub.Stubber``.
Sequences (create, replace, failed create, update, delete): moto's EC2 (a real interface VPC
endpoint and its ENIs) and ELBv2 (a real IP target group). Properties: hypothesis over event
sequences with injected faults (lost answers included), on moto. Time is a fake clock:
nothing sleeps.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ha_inference.functions import endpoint_targets as index
from tests.support.endpoint_targets import (
    ACCOUNT,
    ENIS,
    FUNCTION_TIMEOUT,
    HANDLER_ARN,
    IPS,
    PID,
    REGION,
    STACK,
    TARGET_GROUP,
    Clock,
    Context,
    Stubbed,
    event,
    handler,
    targets_of,
)

pytestmark = pytest.mark.usefixtures("fake_credentials", "requests_the_service_accepts")

OLD_TARGET_GROUP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/Subjec-Targe-9Z8Y7X/fedcba9876543210"
ARN_OR_ACCOUNT = re.compile(r"arn:|\d{12}")


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries back off without waiting (the credentials come from ``fake_credentials``)."""
    monkeypatch.setattr(index, "sleep", lambda _: None)


def assert_well_formed_failure(err: BaseException) -> str:
    """One raised error whose message is short, byte-capped and free of ARNs and account ids."""
    assert isinstance(err, index.TargetsError), repr(err)
    message = str(err)
    assert 0 < len(message.encode()) <= index.MAX_MESSAGE_BYTES
    assert not ARN_OR_ACCOUNT.search(message), message
    return message


# --- Stubber: single calls -----------------------------------------------------------------------


@pytest.fixture
def aws() -> Iterator[Stubbed]:
    ec2 = boto3.client("ec2", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    with Stubber(ec2) as ec2_stub, Stubber(elbv2) as elbv2_stub:
        yield Stubbed(ec2, elbv2, ec2_stub, elbv2_stub)
        ec2_stub.assert_no_pending_responses()
        elbv2_stub.assert_no_pending_responses()


CLAIM = " ".join(f"{ip}:443" for ip in IPS)


def test_create_registers_claims_and_returns_the_ips(aws: Stubbed) -> None:
    aws.describe_enis()
    aws.target_health([])
    aws.expect("register_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of(*IPS)})
    aws.expect(
        "add_tags",
        {"ResourceArns": [TARGET_GROUP], "Tags": [{"Key": f"ha-inference:{PID}", "Value": CLAIM}]},
    )
    aws.tags({PID: CLAIM})
    aws.target_health([(ip, 443) for ip in IPS] + [("10.0.9.9", 443)])
    aws.expect(
        "deregister_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of("10.0.9.9")}
    )

    result = handler(aws)[0].handle(event("Create"))

    assert result == {
        "PhysicalResourceId": PID,
        "Data": {"Ips": "10.0.0.10,10.0.1.20,10.0.2.30", "Count": "3"},
    }
    assert PID.startswith("endpoint-targets-") and not ARN_OR_ACCOUNT.search(PID)


def test_instance_ids_differ_per_logical_id_and_stack() -> None:
    ids = {
        index.instance_id({"StackId": stack, "LogicalResourceId": logical})
        for stack in (STACK, STACK.replace("guid", "other"))
        for logical in ("RegistrationA", "RegistrationB")
    }
    assert len(ids) == 4


def test_create_waits_for_new_interfaces_to_become_visible(aws: Stubbed) -> None:
    aws.ec2_stub.add_client_error(
        "describe_network_interfaces",
        service_error_code="InvalidNetworkInterfaceID.NotFound",
        service_message="The networkInterface ID 'eni-0c' does not exist",
    )
    aws.describe_enis()
    aws.target_health([])
    aws.expect("register_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of(*IPS)})
    aws.expect(
        "add_tags",
        {"ResourceArns": [TARGET_GROUP], "Tags": [{"Key": f"ha-inference:{PID}", "Value": CLAIM}]},
    )
    aws.tags({PID: CLAIM})
    aws.target_health([(ip, 443) for ip in IPS])
    targets, context = handler(aws)

    assert targets.handle(event("Create"))["Data"]["Count"] == "3"
    assert context.elapsed() == 1.0, "one backoff step (1 s), no real sleep"


def test_update_of_the_port_registers_the_new_port_and_drops_the_old(aws: Stubbed) -> None:
    new_claim = " ".join(f"{ip}:8443" for ip in IPS)
    aws.describe_enis()
    aws.expect(
        "register_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of(*IPS, port=8443)}
    )
    aws.expect(
        "add_tags",
        {
            "ResourceArns": [TARGET_GROUP],
            "Tags": [{"Key": f"ha-inference:{PID}", "Value": new_claim}],
        },
    )
    aws.tags({PID: new_claim})
    aws.target_health([(ip, 443) for ip in IPS] + [(ip, 8443) for ip in IPS])
    aws.expect("deregister_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of(*IPS)})

    result = handler(aws)[0].handle(event("Update", port="8443", physical_id=PID))

    assert result["PhysicalResourceId"] == PID, "a stable id: no replacement, no Delete"


def test_update_does_not_deregister_draining_targets_again(aws: Stubbed) -> None:
    aws.describe_enis()
    aws.expect("register_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of(*IPS)})
    aws.expect(
        "add_tags",
        {"ResourceArns": [TARGET_GROUP], "Tags": [{"Key": f"ha-inference:{PID}", "Value": CLAIM}]},
    )
    aws.tags({PID: CLAIM})
    aws.target_health([(ip, 443) for ip in IPS], draining=(("10.0.9.9", 443),))

    handler(aws)[0].handle(event("Update", physical_id=PID))


def test_delete_keeps_targets_another_instance_claims(aws: Stubbed) -> None:
    other = "endpoint-targets-00000000000000000000"
    aws.tags({PID: CLAIM, other: "10.0.0.10:443"})
    aws.expect(
        "deregister_targets",
        {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of("10.0.1.20", "10.0.2.30")},
    )
    aws.expect("remove_tags", {"ResourceArns": [TARGET_GROUP], "TagKeys": [f"ha-inference:{PID}"]})

    assert handler(aws)[0].handle(event("Delete", physical_id=PID)) == {"PhysicalResourceId": PID}


def test_delete_succeeds_when_the_target_group_is_already_gone(aws: Stubbed) -> None:
    aws.elbv2_stub.add_client_error(
        "describe_tags",
        service_error_code="TargetGroupNotFound",
        service_message=f"Target groups '{TARGET_GROUP}' not found",
    )

    assert handler(aws)[0].handle(event("Delete", physical_id=PID)) == {"PhysicalResourceId": PID}


def test_delete_of_an_id_this_handler_never_gave_touches_nothing(aws: Stubbed) -> None:
    """E.g. a Create that failed before answering: the framework's default id is the RequestId."""
    result = handler(aws)[0].handle(event("Delete", physical_id="request-create"))

    assert result == {"PhysicalResourceId": "request-create"}


def test_each_client_fits_the_time_left_and_has_no_botocore_retries(aws: Stubbed) -> None:
    """30 s left: the work keeps a 15 s reserve (connect 3 s, read 12 s), the rollback of the
    failed Create 1 s (read capped at 20 s); one attempt per botocore call."""
    aws.describe_enis()
    aws.target_health([])
    aws.elbv2_stub.add_client_error("register_targets", service_error_code="AccessDenied")
    aws.tags({})  # the rollback: no claim, nothing registered, nothing to undo
    aws.target_health([])

    with pytest.raises(index.TargetsError):
        handler(aws, timeout=30.0)[0].handle(event("Create"))

    assert [(c.connect_timeout, c.read_timeout) for c in aws.configs] == [(3, 12), (3, 12), (3, 20)]
    for config in aws.configs:
        assert config.retries == {"mode": "standard", "total_max_attempts": 1}


def test_fails_with_a_clear_message_when_properties_are_missing(aws: Stubbed) -> None:
    with pytest.raises(index.TargetsError) as raised:
        handler(aws)[0].handle(event("Create", enis=[]))

    message = assert_well_formed_failure(raised.value)
    assert "NetworkInterfaceIds must be a non-empty list of eni- ids" in message


@pytest.mark.parametrize(
    "port", [True, False, 443.7, 443.0, "443.0", " 443", "+443", "0", "65536", None, [443]]
)
def test_fails_a_port_that_is_not_a_whole_number_of_digits(aws: Stubbed, port: Any) -> None:
    """A port is an integer or a string of digits (CloudFormation passes numbers as strings):
    ``True`` is not port 1 and ``443.7`` is not 443."""
    with pytest.raises(index.TargetsError) as raised:
        handler(aws)[0].handle(event("Create", port=port))

    message = assert_well_formed_failure(raised.value)
    assert message.startswith("Create of the endpoint targets failed: Port must be ")


@pytest.mark.parametrize(
    ("port", "expected"), [("443", 443), (8443, 8443), ("1", 1), ("65535", 65535)]
)
def test_a_port_is_an_integer_or_a_string_of_digits(port: Any, expected: int) -> None:
    assert index._port({"Port": port}) == expected


def test_fails_when_an_interface_has_no_ip(aws: Stubbed) -> None:
    aws.ec2_stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": [{"NetworkInterfaceId": eni} for eni in ENIS]},
    )

    with pytest.raises(index.TargetsError, match="network interface eni-0a has no private IPv4"):
        handler(aws)[0].handle(event("Create"))


def test_fails_an_update_of_an_id_this_handler_never_gave(aws: Stubbed) -> None:
    with pytest.raises(index.TargetsError, match="PhysicalResourceId is not one this handler"):
        handler(aws)[0].handle(event("Update", physical_id=TARGET_GROUP))


def test_fails_a_create_for_a_group_this_function_does_not_manage(aws: Stubbed) -> None:
    with pytest.raises(index.TargetsError) as raised:
        handler(aws)[0].handle(event("Create", target_group=OLD_TARGET_GROUP))

    message = assert_well_formed_failure(raised.value)
    assert "TargetGroupArn is not the target group this function manages" in message


# --- faults a review found ---------------------------------------------------------------------


def test_hanging_calls_fail_the_request_before_the_function_times_out(
    aws: Stubbed,
) -> None:
    """Every ELB call hangs until its read timeout: the handler raises a meaningful error (and
    rolls back) inside the function's 120 s, where botocore's defaults (up to 9 attempts of 30 s
    reads, as the earlier version configured) would have run past it."""
    clock = Clock()

    def hang(service: str, config: Config) -> Any:
        if service == "ec2":
            return aws.ec2

        class Hanging:
            def __getattr__(self, name: str) -> Callable[..., Any]:
                def call(**_: Any) -> Any:
                    clock.sleep(float(config.connect_timeout) + float(config.read_timeout))
                    raise ReadTimeoutError(endpoint_url="https://elasticloadbalancing")

                return call

        return Hanging()

    aws.describe_enis()
    targets, context = handler(hang, clock=clock)

    with pytest.raises(index.TargetsError) as raised:
        targets.handle(event("Create"))

    message = assert_well_formed_failure(raised.value)
    assert "Create of the endpoint targets failed: DescribeTargetHealth kept failing" in message
    assert "ReadTimeoutError" in message
    assert context.elapsed() < FUNCTION_TIMEOUT


def test_delete_for_a_replaced_target_group_makes_no_call(aws: Stubbed) -> None:
    """The construct's group was replaced; the function (env) and its role now know only the new
    group. CloudFormation deletes the old group itself, so the Delete succeeds untouched: no
    stubbed response, so any call would fail the test."""
    targets, _ = handler(aws, group=TARGET_GROUP)

    result = targets.handle(event("Delete", target_group=OLD_TARGET_GROUP, physical_id=PID))

    assert result == {"PhysicalResourceId": PID}


def test_errors_are_short_byte_capped_and_free_of_arns(aws: Stubbed) -> None:
    """AWS's own message (logged, not raised) holds ARNs, the account id and 10 KB of multibyte
    text; the error raised to the framework has none of it."""
    aws.describe_enis()
    aws.target_health([])
    aws.elbv2_stub.add_client_error(
        "register_targets",
        service_error_code="AccessDenied",
        service_message=(
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/Subject-Role/x is not authorized to "
            f"perform: elasticloadbalancing:RegisterTargets on resource: {TARGET_GROUP} "
            + "ü€"
            * 3000
        ),
        http_status_code=403,
    )
    aws.tags({})
    aws.target_health([])

    targets, context = handler(aws)

    with pytest.raises(index.TargetsError) as raised:
        targets.handle(event("Create"), log_location=index.log_location(context))

    message = assert_well_formed_failure(raised.value)
    assert message.startswith(
        "Create of the endpoint targets failed: RegisterTargets failed with AccessDenied; "
        "check the function's role (details in the function's log "
        "Subject-RuntimeEndpointTargetsLogs6338E895-AbCdEf, stream 2026/11/20/"
    )


@given(st.text(max_size=3000))
def test_public_messages_are_capped_in_bytes_and_drop_arns(text: str) -> None:
    message = index.public_message(f"{text} arn:aws:iam::{ACCOUNT}:role/x {text}")

    assert len(message.encode()) <= index.MAX_MESSAGE_BYTES
    assert "arn:aws" not in message
    assert ACCOUNT not in message


def test_delete_treats_invalid_target_as_already_gone(aws: Stubbed) -> None:
    aws.tags({PID: CLAIM})
    aws.elbv2_stub.add_client_error("deregister_targets", service_error_code="InvalidTarget")
    aws.expect(
        "deregister_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of("10.0.0.10")}
    )
    aws.elbv2_stub.add_client_error("deregister_targets", service_error_code="InvalidTarget")
    aws.expect(
        "deregister_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of("10.0.2.30")}
    )
    aws.expect("remove_tags", {"ResourceArns": [TARGET_GROUP], "TagKeys": [f"ha-inference:{PID}"]})

    assert handler(aws)[0].handle(event("Delete", physical_id=PID)) == {"PhysicalResourceId": PID}


# --- moto: sequences -----------------------------------------------------------------------------


@dataclass
class Cloud:
    """moto's EC2 and ELBv2: a VPC, an interface endpoint with an ENI in each of 3 subnets,
    two spare ENIs (interfaces of the endpoint after a subnet change), and IP target groups."""

    ec2: Any
    elbv2: Any
    vpc: str
    endpoint_enis: list[str]
    spare_enis: list[str]
    ips: dict[str, str]

    groups: int = 0

    def new_target_group(self) -> str:
        self.groups += 1
        name = f"tg-{self.groups}"
        response = self.elbv2.create_target_group(
            Name=name, Protocol="TCP", Port=443, VpcId=self.vpc, TargetType="ip"
        )
        return str(response["TargetGroups"][0]["TargetGroupArn"])

    def targets(self, group: str) -> set[tuple[str, int]]:
        return {
            (entry["Target"]["Id"], entry["Target"]["Port"])
            for entry in self.elbv2.describe_target_health(TargetGroupArn=group)[
                "TargetHealthDescriptions"
            ]
        }

    def claims(self, group: str) -> set[str]:
        (description,) = self.elbv2.describe_tags(ResourceArns=[group])["TagDescriptions"]
        return {tag["Key"] for tag in description["Tags"]}

    def expected(self, enis: list[str]) -> set[tuple[str, int]]:
        return {(self.ips[eni], 443) for eni in enis}


_clients: dict[tuple[str, Any, Any], Any] = {}


def moto_clients(service: str, config: Config) -> Any:
    """Real boto3 clients (answered by moto), shared between requests for speed."""
    key = (service, config.connect_timeout, config.read_timeout)
    if key not in _clients:
        _clients[key] = boto3.client(service, region_name=REGION, config=config)
    return _clients[key]


@pytest.fixture(scope="module")
def cloud() -> Iterator[Cloud]:
    with pytest.MonkeyPatch.context() as patch:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(key, "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        with mock_aws():
            ec2 = boto3.client("ec2", region_name=REGION)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnets = [
                ec2.create_subnet(
                    VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{zone}"
                )["Subnet"]["SubnetId"]
                for i, zone in enumerate("abcd")
            ]
            endpoint = ec2.create_vpc_endpoint(
                VpcId=vpc,
                ServiceName=f"com.amazonaws.{REGION}.sagemaker.runtime",
                VpcEndpointType="Interface",
                SubnetIds=subnets[:3],
            )["VpcEndpoint"]
            spare = [
                ec2.create_network_interface(SubnetId=subnets[3])["NetworkInterface"][
                    "NetworkInterfaceId"
                ]
                for _ in range(2)
            ]
            everything = [*endpoint["NetworkInterfaceIds"], *spare]
            ips = {
                eni["NetworkInterfaceId"]: eni["PrivateIpAddress"]
                for eni in ec2.describe_network_interfaces(NetworkInterfaceIds=everything)[
                    "NetworkInterfaces"
                ]
            }
            assert len(set(ips.values())) == len(everything)
            yield Cloud(
                ec2,
                boto3.client("elbv2", region_name=REGION),
                vpc,
                list(endpoint["NetworkInterfaceIds"]),
                spare,
                ips,
            )
    _clients.clear()


def test_replacement_keeps_the_targets_of_the_new_instance(cloud: Cloud) -> None:
    """A new logical id creates a second instance on the same group; CloudFormation then deletes
    the old one. The earlier version used the group ARN as both ids, and the old Delete
    deregistered every target: no targets, stack green."""
    group = cloud.new_target_group()
    enis = cloud.endpoint_enis
    old = handler(moto_clients, group=group)[0].handle(
        event("Create", logical_id="Old", enis=enis, target_group=group)
    )
    new = handler(moto_clients, group=group)[0].handle(
        event("Create", logical_id="New", enis=enis, target_group=group)
    )
    assert old["PhysicalResourceId"] != new["PhysicalResourceId"]

    handler(moto_clients, group=group)[0].handle(
        event(
            "Delete",
            logical_id="Old",
            enis=enis,
            target_group=group,
            physical_id=old["PhysicalResourceId"],
        )
    )

    assert cloud.targets(group) == cloud.expected(enis)
    assert cloud.claims(group) == {f"ha-inference:{new['PhysicalResourceId']}"}


def test_failed_second_create_leaves_the_first_instance_targets(
    cloud: Cloud,
) -> None:
    """A second instance's Create fails after registering; its rollback removes only what it
    added and nothing the first instance claims (its Delete never comes: the framework gives a
    failed Create a marker id and ignores that id's Delete)."""
    group = cloud.new_target_group()
    first = cloud.endpoint_enis[:2]
    handler(moto_clients, group=group)[0].handle(
        event("Create", logical_id="First", enis=first, target_group=group)
    )
    faulty = Faults(moto_clients, [Fault("add_tags", "denied")])

    with pytest.raises(index.TargetsError) as raised:
        handler(faulty, group=group)[0].handle(
            event("Create", logical_id="Second", enis=cloud.endpoint_enis, target_group=group)
        )

    assert "AddTags failed with AccessDenied" in assert_well_formed_failure(raised.value)
    assert cloud.targets(group) == cloud.expected(first)
    assert len(cloud.claims(group)) == 1


def test_failed_create_keeps_targets_an_unclaimed_earlier_version_registered(cloud: Cloud) -> None:
    """Upgrading from the raw-protocol version: its instance registered the addresses without a
    claim. A failed Create of the new instance must not take them away."""
    group = cloud.new_target_group()
    legacy = cloud.expected(cloud.endpoint_enis)
    cloud.elbv2.register_targets(
        TargetGroupArn=group, Targets=[{"Id": ip, "Port": port} for ip, port in legacy]
    )
    faulty = Faults(moto_clients, [Fault("add_tags", "denied")])

    with pytest.raises(index.TargetsError):
        handler(faulty, group=group)[0].handle(
            event("Create", enis=cloud.endpoint_enis, target_group=group)
        )

    assert cloud.targets(group) == legacy


def test_update_with_changed_subnets_moves_the_targets_and_delete_removes_them(
    cloud: Cloud,
) -> None:
    group = cloud.new_target_group()
    before = cloud.endpoint_enis
    after = [cloud.endpoint_enis[0], *cloud.spare_enis]
    pid = handler(moto_clients, group=group)[0].handle(
        event("Create", enis=before, target_group=group)
    )["PhysicalResourceId"]

    result = handler(moto_clients, group=group)[0].handle(
        event("Update", enis=after, target_group=group, physical_id=pid)
    )

    assert result["PhysicalResourceId"] == pid
    assert cloud.targets(group) == cloud.expected(after)

    handler(moto_clients, group=group)[0].handle(
        event("Delete", enis=after, target_group=group, physical_id=pid)
    )

    assert cloud.targets(group) == set()
    assert cloud.claims(group) == set()


def test_delete_retried_after_a_failure_still_finds_its_claim(cloud: Cloud) -> None:
    group = cloud.new_target_group()
    pid = handler(moto_clients, group=group)[0].handle(
        event("Create", enis=cloud.endpoint_enis, target_group=group)
    )["PhysicalResourceId"]
    delete = event("Delete", enis=cloud.endpoint_enis, target_group=group, physical_id=pid)

    with pytest.raises(index.TargetsError, match="RemoveTags failed with AccessDenied"):
        handler(Faults(moto_clients, [Fault("remove_tags", "denied")]), group=group)[0].handle(
            delete
        )
    handler(moto_clients, group=group)[0].handle(delete)

    assert cloud.targets(group) == set()
    assert cloud.claims(group) == set()


# --- requests CloudFormation sends straight to the function --------------------------------------


class _Recorder(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        self.received.append(
            {
                "content_type": self.headers.get("Content-Type"),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def response_url() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    host, port = httpd.server_address[:2]
    yield f"http://{host!s}:{port}/cfn-response?X-Amz-Signature=abc"
    httpd.shutdown()
    httpd.server_close()


def test_delete_of_the_earlier_versions_resource_answers_and_keeps_claimed_targets(
    cloud: Cloud, response_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The upgrade deploy's cleanup sends the old resource's Delete (ServiceToken = this
    function, physical id = the group ARN) straight to the updated function."""
    group = cloud.new_target_group()
    handler(moto_clients, group=group)[0].handle(
        event("Create", enis=cloud.endpoint_enis, target_group=group)
    )
    cloud.elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "10.0.3.99", "Port": 443}])
    monkeypatch.setenv(index.TARGET_GROUP_ENV, group)
    _Recorder.received = []

    returned = index.on_event(
        event(
            "Delete",
            logical_id="RuntimeEndpointTargets305A7179",
            target_group=group,
            physical_id=group,
            service_token=HANDLER_ARN,
            response_url=response_url,
        ),
        Context(Clock()),
    )

    (sent,) = _Recorder.received
    assert sent["content_type"] == "", "pre-signed S3 URLs need an empty Content-Type"
    assert sent["body"] == returned
    assert returned["Status"] == "SUCCESS"
    assert returned["PhysicalResourceId"] == group
    assert cloud.targets(group) == cloud.expected(cloud.endpoint_enis), "unclaimed 10.0.3.99 gone"


def test_direct_create_is_refused_with_an_answer(
    response_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(index.TARGET_GROUP_ENV, TARGET_GROUP)
    _Recorder.received = []

    returned = index.on_event(
        event("Create", service_token=HANDLER_ARN, response_url=response_url), Context(Clock())
    )

    assert [r["body"] for r in _Recorder.received] == [returned]
    assert returned["Status"] == "FAILED"
    assert "through its provider framework" in returned["Reason"]
    assert not ARN_OR_ACCOUNT.search(returned["Reason"])


def test_on_event_through_the_framework_uses_the_environment_and_boto3(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = cloud.new_target_group()
    monkeypatch.setenv(index.TARGET_GROUP_ENV, group)

    result = index.on_event(
        event("Create", enis=cloud.endpoint_enis, target_group=group), Context(Clock())
    )

    assert result["Data"]["Count"] == "3"
    assert cloud.targets(group) == cloud.expected(cloud.endpoint_enis)


def test_response_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="ResponseURL must be an HTTPS URL"):
        index.send_response("file:///etc/passwd", b"{}")


# --- faults and properties -----------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """``kind`` on the first attempt of ``operation`` in a request (``hang``: on every attempt).

    transient: a retryable error (throttling, 503, read timeout, lost endpoint), retried.
    denied: AccessDenied, not retryable: the request fails.
    hang: the call waits out its timeouts and fails with a read timeout, every time.
    gone: InvalidTarget (a target already deregistered).
    lost: the call goes through, then its answer is lost (a read timeout), once.
    """

    operation: str
    kind: str
    error: int = 0


TRANSIENT: list[Callable[[str], Exception]] = [
    lambda op: ClientError(
        {"Error": {"Code": "Throttling"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, op
    ),
    lambda op: ClientError(
        {"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, op
    ),
    lambda _: ReadTimeoutError(endpoint_url="https://elasticloadbalancing"),
    lambda _: EndpointConnectionError(endpoint_url="https://ec2"),
]


class Faults:
    """A client factory whose clients fail as the faults say; time passes on ``clock``."""

    def __init__(
        self, factory: index.ClientFactory, faults: list[Fault], clock: Clock | None = None
    ) -> None:
        self.factory = factory
        self.faults = list(faults)
        self.clock = clock or Clock()
        self.fired: set[Fault] = set()

    def __call__(self, service: str, config: Config) -> Any:
        real = self.factory(service, config)
        faults = self

        class Client:
            def __getattr__(self, operation: str) -> Callable[..., Any]:
                def call(**params: Any) -> Any:
                    faults.before(operation, config)
                    answer = getattr(real, operation)(**params)
                    faults.after(operation)
                    return answer

                return call

        return Client()

    def after(self, operation: str) -> None:
        """``lost``: the call went through, but its answer never arrived (a read timeout)."""
        for fault in self.faults:
            if fault.operation == operation and fault.kind == "lost" and fault not in self.fired:
                self.fired.add(fault)
                raise ReadTimeoutError(endpoint_url="https://elasticloadbalancing")

    def before(self, operation: str, config: Config) -> None:
        api = "".join(part.title() for part in operation.split("_"))
        for fault in self.faults:
            if fault.operation != operation or fault.kind == "lost":  # lost: see after()
                continue
            if fault.kind == "hang":
                self.clock.sleep(float(config.connect_timeout) + float(config.read_timeout))
                raise ReadTimeoutError(endpoint_url="https://elasticloadbalancing")
            if fault in self.fired:
                continue
            self.fired.add(fault)
            if fault.kind == "transient":
                raise TRANSIENT[fault.error](api)
            code = {"denied": "AccessDenied", "gone": "InvalidTarget"}[fault.kind]
            raise ClientError(
                {"Error": {"Code": code, "Message": f"{code} on {TARGET_GROUP}"}}, api
            )


OPERATIONS = [
    "describe_network_interfaces",
    "describe_target_health",
    "register_targets",
    "deregister_targets",
    "add_tags",
    "remove_tags",
    "describe_tags",
]
soft_faults = st.one_of(
    st.builds(Fault, st.sampled_from(OPERATIONS), st.just("transient"), st.integers(0, 3)),
    st.builds(Fault, st.just("deregister_targets"), st.just("gone")),
    st.builds(Fault, st.sampled_from(OPERATIONS), st.just("lost")),
)
hard_faults = st.one_of(
    st.builds(Fault, st.sampled_from(OPERATIONS), st.just("denied")),
    # What a failed Create's rollback does not call, so the rollback itself can still work.
    st.builds(
        Fault,
        st.sampled_from(["describe_network_interfaces", "register_targets", "add_tags"]),
        st.just("hang"),
    ),
)
eni_picks = st.sets(st.integers(0, 4), min_size=1)
# At most one hard fault a request: a second one could refuse a failed Create's rollback too,
# which the handler logs and leaves to the next Create of that logical id (same physical id,
# so it takes the claim over); that is outside this property.
fault_lists = st.builds(
    lambda hard, soft: [*hard, *soft],
    st.lists(hard_faults, max_size=1),
    st.lists(soft_faults, max_size=1),
)


@dataclass
class Live:
    physical_id: str
    enis: list[str]


def _request(group: str, request: dict[str, Any], fault_list: list[Fault]) -> dict[str, Any] | None:
    """One request as the framework runs it: exactly one outcome, in time, well formed."""
    clock = Clock()
    targets, context = handler(Faults(moto_clients, fault_list, clock), clock=clock, group=group)
    try:
        result = targets.handle(request)
    except Exception as err:
        assert_well_formed_failure(err)
        result = None
    else:
        assert isinstance(result["PhysicalResourceId"], str) and result["PhysicalResourceId"]
        assert not ARN_OR_ACCOUNT.search(result["PhysicalResourceId"])
        if request["RequestType"] == "Delete":
            assert result == {"PhysicalResourceId": request["PhysicalResourceId"]}
        else:
            ips = result["Data"]["Ips"].split(",")
            assert result["Data"]["Count"] == str(len(ips))
    assert context.elapsed() < FUNCTION_TIMEOUT, "answered before Lambda's timeout"
    return result


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
def test_every_sequence_leaves_exactly_the_live_instances_targets(
    cloud: Cloud, data: st.DataObject
) -> None:
    """Each step is a request CloudFormation could send next, with up to two faults (at most one
    that fails the request). Its side is
    modelled: a failed Create leaves no instance (marker id, Delete ignored), a failed Update is
    rolled back with the old properties, a failed Delete is retried. After every step the group
    holds exactly the addresses of the live instances and one claim per live instance."""
    group = cloud.new_target_group()
    pool = [*cloud.endpoint_enis, *cloud.spare_enis]
    live: dict[str, Live] = {}
    for _ in range(data.draw(st.integers(1, 6), label="steps")):
        choices = [("Create", name) for name in "ABC" if name not in live]
        choices += [(kind, name) for name in live for kind in ("Update", "Delete")]
        request_type, logical_id = data.draw(st.sampled_from(choices), label="request")
        enis = [pool[i] for i in sorted(data.draw(eni_picks, label="enis"))]
        fault_list = data.draw(fault_lists, label="faults")
        if request_type == "Create":
            create = event("Create", logical_id=logical_id, enis=enis, target_group=group)
            result = _request(group, create, fault_list)
            if result is not None:
                live[logical_id] = Live(result["PhysicalResourceId"], enis)
        elif request_type == "Update":
            instance = live[logical_id]
            update = event(
                "Update",
                logical_id=logical_id,
                enis=enis,
                target_group=group,
                physical_id=instance.physical_id,
            )
            if _request(group, update, fault_list) is not None:
                instance.enis = enis
            else:
                rollback = {**update, "ResourceProperties": {**update["ResourceProperties"]}}
                rollback["ResourceProperties"]["NetworkInterfaceIds"] = instance.enis
                assert _request(group, rollback, []) is not None
        else:
            delete = event(
                "Delete",
                logical_id=logical_id,
                enis=live[logical_id].enis,
                target_group=group,
                physical_id=live[logical_id].physical_id,
            )
            if _request(group, delete, fault_list) is None:
                assert _request(group, delete, []) is not None
            del live[logical_id]
        wanted = set().union(*(cloud.expected(i.enis) for i in live.values()))
        assert cloud.targets(group) == wanted
        assert cloud.claims(group) == {f"ha-inference:{i.physical_id}" for i in live.values()}
