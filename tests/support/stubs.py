"""Stubbed AWS for the preflight and verify tests: real botocore clients with fake credentials
and a fixed Region, each behind a Stubber, and a sample stack built from dicts.

Nothing here can reach the network: ``no_network`` (import it into a test module) makes every
socket connection fail, and the clients only ever answer from their stubbers.
"""

from __future__ import annotations

import copy
import json
import socket
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ha_inference.metadata import (
    IMPORTED_MODEL_METADATA,
    PROFILE_METADATA,
    ZONE_PLACEMENT_METADATA,
)
from ha_inference.tools._account import Connector, Finding, Permissions, Target
from ha_inference.tools.assembly import StackArtifact

ACCOUNT = "111111111111"
REGION = "us-east-1"
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
ZONE_IDS = {"us-east-1a": "use1-az6", "us-east-1b": "use1-az1", "us-east-1c": "use1-az2"}
PROFILE_ID = "us.anthropic.claude-sonnet-5-5"
MODEL_ID = "anthropic.claude-sonnet-5-5"
EMBEDDING_MODEL_ID = "amazon.titan-embed-text-v2:0"
PROFILE_REGIONS = ("us-east-1", "us-east-2", "us-west-2")
MODEL_DATA = "s3://models-us-east-1/llm/model.tar.gz"
SAMPLE_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1"
"""The sample model's container image (an ECR URI with a tag)."""
IMPORT_SOURCE = "s3://imports-us-east-1/support-llm/"
STACK = "HaInference-us-east-1"
NOW = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a test tried to reach the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@cache
def _session() -> boto3.Session:
    """One session with fake credentials for every test: it loads each service model once."""
    return boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )


class Stubs:
    """One stubbed client per (service, Region); ``stubs("ec2")`` is the EC2 Stubber."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], tuple[Any, Stubber]] = {}
        self.sleeps: list[float] = []

    def __call__(self, service: str, region: str = REGION) -> Stubber:
        return self._entry(service, region)[1]

    def _entry(self, service: str, region: str) -> tuple[Any, Stubber]:
        key = (service, region)
        if key not in self._clients:
            client = _session().client(service, region_name=region)
            stubber = Stubber(client)
            stubber.activate()
            self._clients[key] = (client, stubber)
        return self._clients[key]

    def client_for(self, service: str, region: str) -> Any:
        return self._entry(service, region)[0]

    def connector(self, permissions: Permissions, *, attempts: int = 4) -> Connector:
        return Connector(
            self.client_for,
            permissions,
            attempts=attempts,
            sleep=self.sleeps.append,
            default_region=REGION,
        )

    def assert_done(self) -> None:
        for (service, region), (_, stubber) in self._clients.items():
            try:
                stubber.assert_no_pending_responses()
            except AssertionError as err:
                raise AssertionError(f"{service} in {region}: {err}") from None

    # ------------------------------------------------------------------ common answers

    def identity(self, account: str = ACCOUNT) -> None:
        self("sts").add_response(
            "get_caller_identity",
            {"Account": account, "Arn": f"arn:aws:iam::{account}:user/ci", "UserId": "AIDA"},
        )

    def no_stack(self, name: str = STACK, region: str = REGION) -> None:
        self("cloudformation", region).add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {name} does not exist",
            http_status_code=400,
            expected_params={"StackName": name},
        )

    def stack(
        self,
        physical: Mapping[str, tuple[str, str]],
        *,
        name: str = STACK,
        status: str = "UPDATE_COMPLETE",
        region: str = REGION,
    ) -> None:
        """The stack exists with ``physical``: logical id -> (type, physical id)."""
        cloudformation = self("cloudformation", region)
        cloudformation.add_response(
            "describe_stacks",
            {"Stacks": [{"StackName": name, "StackStatus": status, "CreationTime": NOW}]},
            {"StackName": name},
        )
        cloudformation.add_response(
            "list_stack_resources",
            {
                "StackResourceSummaries": [
                    {
                        "LogicalResourceId": logical,
                        "PhysicalResourceId": physical_id,
                        "ResourceType": resource_type,
                        "LastUpdatedTimestamp": NOW,
                        "ResourceStatus": "CREATE_COMPLETE",
                    }
                    for logical, (resource_type, physical_id) in physical.items()
                ]
            },
            {"StackName": name},
        )

    def error(
        self,
        service: str,
        method: str,
        code: str,
        *,
        status: int = 400,
        times: int = 1,
        region: str = REGION,
        message: str = "",
    ) -> None:
        for _ in range(times):
            self(service, region).add_client_error(
                method,
                service_error_code=code,
                service_message=message or code,
                http_status_code=status,
            )


def access_denied(stubs: Stubs, service: str, method: str) -> None:
    stubs.error(service, method, "AccessDeniedException", status=403)


ApiErrorCase = tuple[Callable[[Stubs], None], str, str, str, Callable[[Stubs], None]]
"""(answers before the failing call, service, method, IAM action it needs, answers after)."""


def api_error(stubs: Stubs, case: ApiErrorCase, *, throttle: bool) -> str:
    """Queues an API-error case (access denied, or throttling on every attempt); returns the
    IAM action the findings must name."""
    before, service, method, action, after = case
    before(stubs)
    if throttle:
        throttled(stubs, service, method, times=4)
    else:
        access_denied(stubs, service, method)
    after(stubs)
    return action


def assert_could_not_check(found: list[Any], action: str, stubs: Stubs, *, throttled: bool) -> None:
    """The findings that name ``action`` are all "could not check", never a pass: access
    denied at once, throttling after the bounded retries (3 sleeps between 4 attempts)."""
    named = [f for f in found if action in f.detail]
    assert named, found
    assert {f.status.value for f in named} == {"could not check"}, named
    if throttled:
        assert "still throttled or unavailable after 4 attempts" in named[0].detail
        assert len(stubs.sleeps) == 3
    else:
        assert named[0].detail.startswith(f"access denied to {action}")
        assert action in named[0].fix
        assert not stubs.sleeps


def throttled(stubs: Stubs, service: str, method: str, times: int = 4) -> None:
    code = "RequestLimitExceeded" if service == "ec2" else "ThrottlingException"
    stubs.error(service, method, code, status=400 if service != "lambda" else 429, times=times)


# --------------------------------------------------------------------------- the sample stack


def sample_subnets() -> dict[str, Any]:
    return {
        f"Subnet{zone[-1].upper()}": {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"AvailabilityZone": zone, "VpcId": {"Ref": "Vpc"}},
        }
        for zone in ZONES
    }


SUBNET_REFS = [{"Ref": "SubnetA"}, {"Ref": "SubnetB"}, {"Ref": "SubnetC"}]


def sample_template() -> dict[str, Any]:
    """A small template with every kind of resource the two commands look at."""
    profile_arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{PROFILE_ID}"
    invoke = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    resources: dict[str, Any] = {
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}},
        **sample_subnets(),
        "S3Gateway": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {"ServiceName": "com.amazonaws.us-east-1.s3", "VpcId": {"Ref": "Vpc"}},
        },
        "BedrockRuntime": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "ServiceName": {
                    "Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".bedrock-runtime"]]
                },
                "VpcEndpointType": "Interface",
                "SubnetIds": SUBNET_REFS,
                "VpcId": {"Ref": "Vpc"},
            },
        },
        "CollectionEndpoint": {
            "Type": "AWS::OpenSearchServerless::VpcEndpoint",
            "Properties": {"Name": "vectors-endpoint", "SubnetIds": SUBNET_REFS},
        },
        "Vectors": {
            "Type": "AWS::OpenSearchServerless::Collection",
            "Properties": {"Name": "vectors", "Type": "VECTORSEARCH", "StandbyReplicas": "ENABLED"},
        },
        "EncryptionPolicy": {
            "Type": "AWS::OpenSearchServerless::SecurityPolicy",
            "Properties": {"Name": "vectors-enc", "Type": "encryption", "Policy": "{}"},
        },
        "DataPolicy": {
            "Type": "AWS::OpenSearchServerless::AccessPolicy",
            "Properties": {"Name": "vectors-data", "Type": "data", "Policy": "[]"},
        },
        "InferencePolicy": {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyDocument": {
                    "Statement": [
                        {
                            "Action": invoke,
                            "Effect": "Allow",
                            "Resource": [
                                profile_arn,
                                f"arn:aws:bedrock:{REGION}::foundation-model/{EMBEDDING_MODEL_ID}",
                            ],
                        },
                        {
                            "Action": invoke,
                            "Effect": "Allow",
                            "Condition": {
                                "StringEquals": {"bedrock:InferenceProfileArn": profile_arn}
                            },
                            "Resource": [
                                {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            f":bedrock:{region}::foundation-model/{MODEL_ID}",
                                        ],
                                    ]
                                }
                                for region in PROFILE_REGIONS
                            ],
                        },
                    ]
                },
                "PolicyName": "InferencePolicy",
                "Roles": [{"Ref": "Role"}],
            },
        },
        "Model": {
            "Type": "AWS::SageMaker::Model",
            "Properties": {
                "PrimaryContainer": {"Image": SAMPLE_IMAGE, "ModelDataUrl": MODEL_DATA},
                "VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": SUBNET_REFS},
            },
        },
        "Config": {
            "Type": "AWS::SageMaker::EndpointConfig",
            "Properties": {
                "ProductionVariants": [
                    {
                        "InitialInstanceCount": 3,
                        "InstanceType": "ml.g5.xlarge",
                        "ModelName": {"Fn::GetAtt": ["Model", "ModelName"]},
                        "VariantName": "AllTraffic",
                    }
                ]
            },
        },
        "Endpoint": {
            "Type": "AWS::SageMaker::Endpoint",
            "Properties": {
                "EndpointConfigName": {"Fn::GetAtt": ["Config", "EndpointConfigName"]},
                "EndpointName": "llm-endpoint",
            },
        },
        "Scaling": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {
                "MaxCapacity": 6,
                "MinCapacity": 3,
                "ResourceId": "endpoint/llm-endpoint/variant/AllTraffic",
                "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                "ServiceNamespace": "sagemaker",
            },
        },
        "Balancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Type": "network", "Scheme": "internal", "Subnets": SUBNET_REFS},
        },
        "Listener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "DefaultActions": [{"TargetGroupArn": {"Ref": "Targets"}, "Type": "forward"}],
                "LoadBalancerArn": {"Ref": "Balancer"},
                "Port": 443,
                "Protocol": "TCP",
            },
        },
        "Targets": {
            "Type": "AWS::ElasticLoadBalancingV2::TargetGroup",
            "Properties": {
                "Port": 443,
                "Protocol": "TCP",
                "TargetType": "ip",
                "VpcId": {"Ref": "Vpc"},
            },
        },
        "Retrieval": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Handler": "retrieval.handler",
                "Runtime": "python3.14",
                "VpcConfig": {"SecurityGroupIds": ["sg-2"], "SubnetIds": SUBNET_REFS},
            },
        },
        "Provider": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Handler": "index.handler", "Runtime": "nodejs24.x"},
        },
    }
    return {"Resources": resources}


PHYSICAL: dict[str, tuple[str, str]] = {
    "Vpc": ("AWS::EC2::VPC", "vpc-1"),
    "SubnetA": ("AWS::EC2::Subnet", "subnet-a"),
    "SubnetB": ("AWS::EC2::Subnet", "subnet-b"),
    "SubnetC": ("AWS::EC2::Subnet", "subnet-c"),
    "S3Gateway": ("AWS::EC2::VPCEndpoint", "vpce-s3"),
    "BedrockRuntime": ("AWS::EC2::VPCEndpoint", "vpce-bedrock"),
    "CollectionEndpoint": ("AWS::OpenSearchServerless::VpcEndpoint", "vpce-aoss"),
    "Vectors": ("AWS::OpenSearchServerless::Collection", "coll1234"),
    "EncryptionPolicy": ("AWS::OpenSearchServerless::SecurityPolicy", "vectors-enc|encryption"),
    "DataPolicy": ("AWS::OpenSearchServerless::AccessPolicy", "vectors-data|data"),
    "InferencePolicy": ("AWS::IAM::Policy", "Infer-1"),
    "Model": ("AWS::SageMaker::Model", "arn:aws:sagemaker:us-east-1:111111111111:model/m"),
    "Config": ("AWS::SageMaker::EndpointConfig", "arn:aws:sagemaker:us-east-1:1:endpoint-config/c"),
    "Endpoint": (
        "AWS::SageMaker::Endpoint",
        "arn:aws:sagemaker:us-east-1:111111111111:endpoint/llm-endpoint",
    ),
    "Scaling": ("AWS::ApplicationAutoScaling::ScalableTarget", "endpoint/llm-endpoint/variant/x"),
    "Balancer": ("AWS::ElasticLoadBalancingV2::LoadBalancer", "arn:aws:elb:lb"),
    "Listener": ("AWS::ElasticLoadBalancingV2::Listener", "arn:aws:elb:listener"),
    "Targets": (
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        "arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/t/1",
    ),
    "Retrieval": ("AWS::Lambda::Function", "HaInference-Retrieval-1"),
    "Provider": ("AWS::Lambda::Function", "HaInference-Provider-1"),
}
"""The sample stack as CloudFormation would report it after a deploy."""


def sample_stack(
    template: dict[str, Any] | None = None,
    *,
    name: str = STACK,
    region: str = REGION,
    account: str = ACCOUNT,
    metadata: Mapping[str, Any] | None = None,
    properties: Mapping[str, Any] | None = None,
) -> StackArtifact:
    profile = {
        "type": PROFILE_METADATA,
        "data": {
            "profileId": PROFILE_ID,
            "geography": "us",
            "sourceRegion": region,
            "destinationRegions": list(PROFILE_REGIONS),
        },
    }
    imported = {
        "type": IMPORTED_MODEL_METADATA,
        "data": {"importedModelName": "support-llm", "region": region, "s3Uri": IMPORT_SOURCE},
    }
    placement = {"type": ZONE_PLACEMENT_METADATA, "data": agent_placement()}
    return StackArtifact(
        name=name,
        account=account,
        region=region,
        template_path=Path(f"{name}.template.json"),
        template=template if template is not None else sample_template(),
        properties=properties
        if properties is not None
        else {
            "requiresBootstrapStackVersion": 6,
            "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/hnb659fds/version",
        },
        metadata=metadata
        if metadata is not None
        else {
            f"/{name}/InferenceProfile": (profile,),
            f"/{name}/Imported": (imported,),
            f"/{name}/Agent": (placement,),
        },
    )


def agent_placement(**changes: Any) -> dict[str, Any]:
    """An AgentCore runtime placed in subnets B and C (use1-az1, use1-az2), as
    ``MultiAzAgentRuntime`` records it (``ha-inference:zone-placement``)."""
    return {
        "service": "bedrock-agentcore-runtime",
        "region": REGION,
        "zoneIds": dict(ZONE_IDS),
        "supportedAzIds": ["use1-az1", "use1-az2", "use1-az4"],
        "subnets": [{"Ref": "SubnetB"}, {"Ref": "SubnetC"}],
        **changes,
    }


def without(template: dict[str, Any], *types: str) -> dict[str, Any]:
    """A copy of ``template`` without the resources of ``types``."""
    copied = copy.deepcopy(template)
    copied["Resources"] = {
        k: r for k, r in copied["Resources"].items() if r["Type"] not in set(types)
    }
    return copied


def target(*stacks: StackArtifact, **options: Any) -> Target:
    return Target(REGION, list(stacks) or [sample_stack()], ACCOUNT, options)


def write_assembly(directory: Path, stacks: list[StackArtifact]) -> Path:
    """A cloud assembly on disk (manifest, templates, metadata) holding ``stacks``."""
    directory.mkdir(parents=True, exist_ok=True)
    artifacts: dict[str, Any] = {}
    for stack in stacks:
        template_file = f"{stack.name}.template.json"
        (directory / template_file).write_text(json.dumps(stack.template))
        artifacts[stack.name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://{stack.account}/{stack.region}",
            "properties": {"templateFile": template_file, **stack.properties},
            "metadata": {path: list(entries) for path, entries in stack.metadata.items()},
        }
    (directory / "manifest.json").write_text(
        json.dumps({"version": "55.0.0", "artifacts": artifacts})
    )
    return directory


def findings(results: Iterator[Any] | list[Any]) -> list[tuple[str, str]]:
    """(status, subject) of each finding, for compact assertions."""
    return [(f.status.value, f.subject) for f in results]


def only(found: list[Finding]) -> Finding:
    """The one finding of a check that must give exactly one."""
    assert len(found) == 1, found
    return found[0]
