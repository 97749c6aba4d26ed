"""The custom resource that reads another Region's endpoint service name (Stubber-answered)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from ha_inference.functions.endpoint_service_name import Lookup, ServiceNameError
from ha_inference.functions.resilience import Backoff, Deadline

PARAMETER = "/ha-inference/runtime-service/HaInferenceuseast2Published1234"
SERVICE = "com.amazonaws.vpce.us-east-2.vpce-svc-0123456789abcdef0"
PROPERTIES = {
    "Region": "us-east-2",
    "ParameterName": PARAMETER,
    "PublishedBy": "HaInference-us-east-2",
    "Generation": "HaInference-us-east-2/RuntimeLoadBalancerEndpointService",
}


@cache
def _session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


class Clients:
    def __init__(self) -> None:
        self.client = _session().client("ssm", region_name="us-east-2")
        self.stubber = Stubber(self.client)
        self.stubber.activate()
        self.regions: list[str] = []
        self.configs: list[Config] = []

    def __call__(self, region: str, config: Config) -> Any:
        self.regions.append(region)
        self.configs.append(config)
        return self.client


def lookup(clients: Any) -> Lookup:
    return Lookup(
        deadline=Deadline.after(60.0),
        clients=clients,
        backoff=Backoff(max_attempts=3, sleep=lambda s: None, jitter=lambda a, b: 0.0),
    )


def event(request: str, **properties: Any) -> dict[str, Any]:
    return {
        "RequestType": request,
        "ResourceProperties": {**PROPERTIES, **properties},
        "PhysicalResourceId": f"us-east-2:{PARAMETER}",
    }


def parameter(value: str) -> dict[str, Any]:
    return {"Parameter": {"Name": PARAMETER, "Type": "String", "Value": value, "Version": 1}}


@pytest.mark.parametrize("request_type", ["Create", "Update"])
def test_reads_the_name_in_the_provider_region(request_type: str) -> None:
    clients = Clients()
    clients.stubber.add_response("get_parameter", parameter(SERVICE), {"Name": PARAMETER})
    answer = lookup(clients).handle(event(request_type))
    assert answer == {
        "PhysicalResourceId": f"us-east-2:{PARAMETER}",
        "Data": {"ServiceName": SERVICE},
    }
    assert clients.regions == ["us-east-2"]
    assert clients.configs[0].retries == {"mode": "standard", "total_max_attempts": 1}
    clients.stubber.assert_no_pending_responses()


def test_delete_calls_nothing() -> None:
    clients = Clients()
    answer = lookup(clients).handle(event("Delete"))
    assert answer == {"PhysicalResourceId": f"us-east-2:{PARAMETER}"}
    assert clients.regions == []


def test_fails_naming_the_stack_to_deploy_first_when_nothing_is_published() -> None:
    clients = Clients()
    clients.stubber.add_client_error(
        "get_parameter", service_error_code="ParameterNotFound", http_status_code=400
    )
    with pytest.raises(ServiceNameError, match="deploy HaInference-us-east-2 first"):
        lookup(clients).handle(event("Create"))


def test_fails_on_a_value_that_is_not_a_service_of_that_region() -> None:
    clients = Clients()
    clients.stubber.add_response(
        "get_parameter",
        parameter("com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0"),
        {"Name": PARAMETER},
    )
    with pytest.raises(
        ServiceNameError, match="does not hold an endpoint service name of us-east-2"
    ):
        lookup(clients).handle(event("Create"))


def test_retries_throttling_then_reads() -> None:
    clients = Clients()
    clients.stubber.add_client_error(
        "get_parameter", service_error_code="ThrottlingException", http_status_code=400
    )
    clients.stubber.add_response("get_parameter", parameter(SERVICE), {"Name": PARAMETER})
    assert lookup(clients).handle(event("Create"))["Data"] == {"ServiceName": SERVICE}


def test_a_denied_read_says_so_without_the_arn() -> None:
    clients = Clients()
    clients.stubber.add_client_error(
        "get_parameter",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:sts::111111111111:assumed-role/x is not authorized",
        http_status_code=400,
    )
    with pytest.raises(ServiceNameError) as caught:
        lookup(clients).handle(event("Create"))
    assert "AccessDeniedException" in str(caught.value)
    assert "arn:" not in str(caught.value) and "111111111111" not in str(caught.value)


def test_an_unreachable_region_fails_after_the_retries() -> None:
    def unreachable(region: str, config: Config) -> Any:
        class Client:
            def get_parameter(self, **_: Any) -> Any:
                raise EndpointConnectionError(endpoint_url=f"https://ssm.{region}.amazonaws.com")

        return Client()

    with pytest.raises(ServiceNameError, match="kept failing"):
        lookup(unreachable).handle(event("Create"))


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"Region": "mars"}, "Region is missing or malformed"),
        ({"ParameterName": "no spaces allowed"}, "ParameterName is missing or malformed"),
    ],
)
def test_fails_on_malformed_properties(properties: dict[str, Any], message: str) -> None:
    with pytest.raises(ServiceNameError, match=message):
        lookup(Clients()).handle(event("Create", **properties))
