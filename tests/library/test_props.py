"""Every public construct, class, function and props dataclass refuses the plausible wrong
kinds of input with the house message: the prop, what was given, and the fix.

Driven from ``ha_inference.__all__``: a new public name needs valid props in ``VALID`` (or a
reason in ``NOT_PROPS``), and then every one of its props is fed, one at a time, the wrong kinds
its annotation implies: ``None`` for a required prop, a string for an object, a list for a single
value and a single value for a list, a dict for a dataclass, a bool for a number, the library's
own wrapper where the object inside it is expected. The check runs before anything is built, so
one stack serves every case.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import types
import typing
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import pipelines
from constructs import Construct, IConstruct

import ha_inference
from ha_inference import (
    AgentCode,
    AnswerMetrics,
    AvailabilityZoneDrill,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    DeliveryWave,
    EndpointServiceOptions,
    Geography,
    IndexDefinition,
    MultiAzFunction,
    RegionalDashboard,
    RegionDelivery,
    RegionView,
    RuntimeRoute,
    ShippedHandler,
    VectorCollection,
    ZonalAutoshiftOptions,
    handler_code,
)
from ha_inference._internal.props import matches
from tests.support import TEST_ACCOUNT, ZonalStack, new_app

NOT_PROPS: dict[str, str] = {
    "DEFAULT_INDEX": "a constant",
    "DEFAULT_ROUTES": "a constant",
    "MODEL_CARDS": "a constant",
    "Geography": "an enum",
    "ModelStatus": "an enum",
    "ShippedHandler": "an enum",
    "IInvokeTarget": "a protocol, implemented, never called",
    "IVectorCollection": "a protocol, implemented, never called",
    "EndpointAlarms": "returned by add_alarms, never built by users",
    "TargetHealthAlarms": "returned by add_target_health_alarms, never built by users",
    "ImportedModelAlarms": "returned by add_alarms, never built by users",
    "PolicyStatementShape": "returned by invoke_statements, never built by users",
    "Lifecycle": "a row of the model data, checked against its sources in test_data_sources",
    "ModelCard": "a row of the model data, checked against its sources in test_data_sources",
    "RoutingTable": "a row of the model data, checked against its sources in test_data_sources",
    "handler_code": "takes no arguments",
    "ServiceTier": "an enum",
    "retrieval_agent_code": "takes no arguments",
    "AgentRuntimeAlarms": "returned by add_alarms, never built by users",
}
"""Public names that take no props, with the reason."""

MESSAGE = r"^{label}(\[[^\]]+\])? must be .+, got .+; \S.*"
"""The house form: the prop (or the item of it), what it must be, what was given, the fix."""


class Fixture:
    """One stack and one sample of every kind of object the public props take."""

    def __init__(self, tmp: Path) -> None:
        self.app = new_app(tmp)
        self.stack = ZonalStack(self.app, "Props", groups=("endpoints", "workloads"))
        stack, vpc = self.stack, self.stack.vpc
        self.vpc = vpc
        self.alarm = cloudwatch.Alarm(
            stack,
            "Alarm",
            metric=cloudwatch.Metric(namespace="HaInference", metric_name="Answers"),
            threshold=1,
            evaluation_periods=1,
        )
        self.function = MultiAzFunction(
            stack, "Function", vpc=vpc, code=handler_code(), handler=ShippedHandler.RETRIEVAL.value
        )
        self.endpoint = CollectionVpcEndpoint(stack, "CollectionEndpoint", vpc=vpc)
        self.collection = VectorCollection(
            stack, "Vectors", collection_name="props", vpc_endpoint=self.endpoint
        )
        self.profile = CrossRegionInferenceProfile(
            stack, "Profile", model_id="anthropic.claude-sonnet-5-5"
        )
        self.stage = cdk.Stage(self.app, "Stage", env=cdk.Environment(region="us-east-1"))
        self.route = RuntimeRoute(
            region="us-west-2",
            account=TEST_ACCOUNT,
            endpoint_name="llm-endpoint",
            service_name="com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0",
        )
        self.samples: dict[Any, Callable[[], Any]] = {
            ec2.IVpc: lambda: vpc,
            ec2.SubnetSelection: lambda: ec2.SubnetSelection(subnet_group_name="workloads"),
            ec2.IConnectable: lambda: self.function,
            ec2.IInterfaceVpcEndpoint: lambda: self._once("Interface", self._interface),
            ec2.InterfaceVpcEndpointAwsService: lambda: (
                ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME
            ),
            cloudwatch.IAlarm: lambda: self.alarm,
            cloudwatch.Alarm: lambda: self.alarm,
            kms.IKey: lambda: self._once("Key", lambda: kms.Key(stack, "Key")),
            iam.IRole: lambda: self._once("Role", self._role),
            iam.IGrantable: lambda: self._once("Role", self._role),
            iam.ArnPrincipal: lambda: iam.ArnPrincipal(f"arn:aws:iam::{TEST_ACCOUNT}:root"),
            lambda_.IFunction: lambda: self.function.function,
            lambda_.Code: handler_code,
            lambda_.Runtime: lambda: lambda_.Runtime.PYTHON_3_13,
            lambda_.Architecture: lambda: lambda_.Architecture.ARM_64,
            cdk.Duration: lambda: cdk.Duration.minutes(10),
            cdk.Size: lambda: cdk.Size.mebibytes(512),
            cdk.Stage: lambda: self.stage,
            cdk.CfnOutput: lambda: self._once(
                "Output", lambda: cdk.CfnOutput(stack, "Output", value="x")
            ),
            pipelines.CodePipelineSource: lambda: pipelines.CodePipelineSource.connection(
                "owner/repo",
                "main",
                connection_arn=(
                    f"arn:aws:codeconnections:us-east-1:{TEST_ACCOUNT}:connection/"
                    "0123abcd-0123-abcd-0123-0123456789ab"
                ),
            ),
            date: lambda: date(2027, 1, 1),
            Construct: lambda: stack,
            lambda_.ILayerVersion: lambda: self._once(
                "Layer",
                lambda: lambda_.LayerVersion.from_layer_version_arn(
                    stack, "Layer", f"arn:aws:lambda:us-east-1:{TEST_ACCOUNT}:layer:x:1"
                ),
            ),
            sqs.IQueue: self._queue,
            lambda_.IDestination: lambda: destinations.SqsDestination(self._queue()),
            ecr.IRepository: lambda: self._once(
                "Repository", lambda: ecr.Repository.from_repository_name(stack, "Repo", "tgi")
            ),
            elbv2.TargetGroupHealth: elbv2.TargetGroupHealth,
            ha_inference.ImportedModel: lambda: self._once(
                "Imported",
                lambda: ha_inference.ImportedModel(
                    stack, "Imported", s3_uri="s3://models-us-east-1/llama/"
                ),
            ),
            ha_inference.MultiAzSageMakerEndpoint: self._endpoint,
            ha_inference.SageMakerRuntimeLoadBalancer: lambda: self._once(
                "Runtime",
                lambda: ha_inference.SageMakerRuntimeLoadBalancer(stack, "Runtime", vpc=vpc),
            ),
            ha_inference.CrossRegionRuntimePaths: lambda: self._once(
                "Paths",
                lambda: ha_inference.CrossRegionRuntimePaths(
                    stack, "Paths", vpc=vpc, routes=[self.route]
                ),
            ),
            IConstruct: lambda: stack,
            MultiAzFunction: lambda: self.function,
            CollectionVpcEndpoint: lambda: self.endpoint,
            VectorCollection: lambda: self.collection,
            ha_inference.IVectorCollection: lambda: self.collection,
            CrossRegionInferenceProfile: lambda: self.profile,
            ha_inference.IInvokeTarget: lambda: self.profile,
            RuntimeRoute: lambda: self.route,
            ha_inference.RegionalInference: self.inference,
            ha_inference.ImportedModelOptions: lambda: ha_inference.ImportedModelOptions(
                s3_uri="s3://models-us-east-1/llama/"
            ),
            ha_inference.SelfHostedModelOptions: lambda: ha_inference.SelfHostedModelOptions(
                invocations_per_instance_target=100.0
            ),
            AgentCode: lambda: AgentCode.from_image_uri(AGENT_IMAGE),
            agentcore.AgentCoreRuntime: lambda: agentcore.AgentCoreRuntime.PYTHON_3_13,
            s3.IBucket: lambda: self._once(
                "Bucket", lambda: s3.Bucket.from_bucket_name(stack, "Bucket", "code-us-east-1")
            ),
            ec2.IGatewayVpcEndpoint: lambda: self._once(
                "Gateway",
                lambda: ec2.GatewayVpcEndpoint.from_gateway_vpc_endpoint_id(
                    stack, "Gateway", "vpce-0fedcba9876543210"
                ),
            ),
            ha_inference.BedrockVpcEndpoints: lambda: self._once(
                "BedrockEndpoints",
                lambda: ha_inference.BedrockVpcEndpoints(
                    stack,
                    "BedrockEndpoints",
                    vpc=vpc,
                    invoke_targets=[self.profile],
                    private_dns_enabled=False,
                ),
            ),
            ha_inference.MultiAzAgentRuntime: lambda: self._once(
                "Agent",
                lambda: ha_inference.MultiAzAgentRuntime(
                    stack, "Agent", **VALID["MultiAzAgentRuntime"](self)
                ),
            ),
            ha_inference.AgentRuntimeOptions: ha_inference.AgentRuntimeOptions,
            ha_inference.ApplicationDashboard: lambda: self._once(
                "AppDashboard", lambda: ha_inference.ApplicationDashboard(self.stack, "AppBoard")
            ),
            logs.RetentionDays: lambda: logs.RetentionDays.ONE_YEAR,
            cdk.Stack: lambda: stack,
            RegionDelivery: lambda: RegionDelivery(stage=self.stage),
            DeliveryWave: lambda: DeliveryWave("us", [RegionDelivery(stage=self.stage)]),
            RegionView: lambda: RegionView(region="us-east-1"),
            IndexDefinition: lambda: IndexDefinition(name="faq"),
            ZonalAutoshiftOptions: lambda: ZonalAutoshiftOptions(outcome_alarms=[self.alarm]),
            EndpointServiceOptions: lambda: EndpointServiceOptions(
                allowed_principals=[iam.ArnPrincipal(f"arn:aws:iam::{TEST_ACCOUNT}:root")]
            ),
        }
        self._built: dict[str, Any] = {}

    def _once(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self._built:
            self._built[key] = build()
        return self._built[key]

    def _queue(self) -> sqs.IQueue:
        return self._once(  # type: ignore[no-any-return]
            "Queue",
            lambda: sqs.Queue.from_queue_arn(
                self.stack, "Queue", f"arn:aws:sqs:us-east-1:{TEST_ACCOUNT}:dead-letters"
            ),
        )

    def _endpoint(self) -> ha_inference.MultiAzSageMakerEndpoint:
        return self._once(  # type: ignore[no-any-return]
            "Endpoint",
            lambda: ha_inference.MultiAzSageMakerEndpoint(
                self.stack, "Endpoint", **VALID["MultiAzSageMakerEndpoint"](self)
            ),
        )

    def inference(self) -> ha_inference.RegionalInference:
        """One RegionalInference in the fixture's VPC (built on first use)."""
        return self._once(  # type: ignore[no-any-return]
            "Inference",
            lambda: ha_inference.RegionalInference(
                self.stack, "Inference", vpc=self.vpc, drill=False, dashboard=False
            ),
        )

    def _role(self) -> iam.Role:
        return iam.Role(self.stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))

    def _interface(self) -> ec2.IInterfaceVpcEndpoint:
        return ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
            self.stack, "Existing", vpc_endpoint_id="vpce-0123456789abcdef0", port=443
        )

    def sample(self, kind: Any) -> Any:
        """A valid value of ``kind`` (an annotation without ``None``)."""
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if origin in (typing.Union, types.UnionType):
            return self.sample(next(a for a in args if a is not type(None)))
        if origin is not None and issubclass(origin, typing.Mapping | dict):  # type: ignore[arg-type]
            return {self.sample(args[0]) if args else "key": self.sample(args[1]) if args else 1}
        if origin is not None:
            return [self.sample(args[0])] if args else []
        if kind in (str, int, float, bool):
            return {str: "name", int: 3, float: 2.5, bool: True}[kind]
        if inspect.isclass(kind) and issubclass(kind, enum.Enum):
            return next(iter(kind))
        if kind in self.samples:
            return self.samples[kind]()
        if kind is Any:
            return "anything"
        pytest.fail(
            f"no sample of {kind!r}: add one to Fixture.samples in tests/library/test_props.py"
        )


def _scope_args(fixture: Fixture, name: str, parameters: Any) -> dict[str, Any]:
    args: dict[str, Any] = {"scope": fixture.stack}
    if "construct_id" in parameters:
        args["construct_id"] = f"Wrong{name}"
    return args


AGENT_IMAGE = f"{TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/agent:1"
ZONE_IDS = {"us-east-1a": "use1-az1", "us-east-1b": "use1-az2", "us-east-1c": "use1-az4"}

VALID: dict[str, Callable[[Fixture], dict[str, Any]]] = {
    "AgentCode": lambda f: {"kind": "image", "image_uri": AGENT_IMAGE},
    "AgentRuntimeOptions": lambda f: {},
    "AgentRuntimeVpcEndpoint": lambda f: {
        "vpc": f.vpc,
        "runtimes": [f.sample(ha_inference.MultiAzAgentRuntime)],
        "private_dns_enabled": False,
    },
    "BedrockMantleEndpoint": lambda f: {"vpc": f.vpc, "models": ["openai.gpt-oss-120b"]},
    "MultiAzAgentRuntime": lambda f: {
        "vpc": f.vpc,
        "code": AgentCode.from_image_uri(AGENT_IMAGE),
        "zone_ids": ZONE_IDS,
        "vpc_subnets": ec2.SubnetSelection(subnet_group_name="workloads"),
        "private_dns_enabled": False,
    },
    "AnswerMetrics": lambda f: {"function": f.function.function},
    "ApplicationDashboard": lambda f: {},
    "ApplicationInferenceProfile": lambda f: {
        "inference_profile_name": "support",
        "source": f.profile,
    },
    "AvailabilityZoneDrill": lambda f: {"vpc": f.vpc, "stop_condition_alarms": [f.alarm]},
    "BedrockVpcEndpoints": lambda f: {"vpc": f.vpc, "invoke_targets": [f.profile]},
    "CollectionVpcEndpoint": lambda f: {"vpc": f.vpc},
    "CrossRegionInferenceProfile": lambda f: {"model_id": "anthropic.claude-sonnet-5-5"},
    "CrossRegionRuntimePaths": lambda f: {"vpc": f.vpc, "routes": [f.route]},
    "DeliveryWave": lambda f: {"name": "us", "regions": [RegionDelivery(stage=f.stage)]},
    "EndpointServiceOptions": lambda f: {
        "allowed_principals": [iam.ArnPrincipal(f"arn:aws:iam::{TEST_ACCOUNT}:root")]
    },
    "FoundationModel": lambda f: {
        "model_id": "amazon.titan-embed-text-v2:0",
        "region": "us-east-1",
    },
    "HaInferenceChecks": lambda f: {"scope": f.app},
    "ImportedModel": lambda f: {"s3_uri": "s3://models-us-east-1/llama/"},
    "IndexDefinition": lambda f: {"name": "faq"},
    "MultiAzFunction": lambda f: {
        "vpc": f.vpc,
        "code": handler_code(),
        "handler": ShippedHandler.RETRIEVAL.value,
    },
    "MultiAzSageMakerEndpoint": lambda f: {
        "vpc": f.vpc,
        "image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/tgi:latest",
        "invocations_per_instance_target": 100,
        "model_data_url": "s3://models-us-east-1/llm/model.tar.gz",
    },
    "RegionCoverage": lambda f: {},
    "RegionDelivery": lambda f: {"stage": f.stage},
    "RegionHealthAlarm": lambda f: {"alarms": [f.alarm]},
    "RegionView": lambda f: {"region": "us-east-1"},
    "RegionalDashboard": lambda f: {},
    "RegionalDeliveryPipeline": lambda f: {
        "source": f.samples[pipelines.CodePipelineSource](),
        "waves": [DeliveryWave("us", [RegionDelivery(stage=f.stage)])],
        "verify_install_commands": ["pip install boto3"],
    },
    "RuntimeRoute": lambda f: {
        "region": "us-west-2",
        "account": TEST_ACCOUNT,
        "endpoint_name": "llm-endpoint",
        "service_name": "com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0",
    },
    "SageMakerFailoverFunction": lambda f: {"vpc": f.vpc, "routes": [f.route]},
    "SageMakerRuntimeLoadBalancer": lambda f: {"vpc": f.vpc},
    "VectorCollection": lambda f: {"collection_name": "wrong", "vpc_endpoint": f.endpoint},
    "VectorIndex": lambda f: {"collection": f.collection, "vpc_endpoint": f.endpoint},
    "ZonalAutoshiftOptions": lambda f: {"outcome_alarms": [f.alarm]},
    "InferenceVpc": lambda f: {"availability_zones": ["us-east-1a", "us-east-1b"]},
    "RegionalInference": lambda f: {"vpc": f.vpc},
    "ImportedModelOptions": lambda f: {"s3_uri": "s3://models-us-east-1/llama/"},
    "SelfHostedModelOptions": lambda f: {"invocations_per_instance_target": 100.0},
    "CrossRegionFailover": lambda f: {"inference": f.inference(), "routes": [f.route]},
    "pin_availability_zones": lambda f: {"stack": f.stack},
    "data_residency_of": lambda f: {"scope": f.stack},
    "declare_data_residency": lambda f: {"scope": f.stack, "regions": ["us-east-1"]},
    "mark_supporting": lambda f: {"construct": f.function, "kind": "compute"},
    "require_instance_fallbacks": lambda f: {"scope": f.stack},
    "deny_service_tiers": lambda f: {
        "grantee": f.function,
        "tiers": [ha_inference.ServiceTier.FLEX],
        "targets": [f.profile],
    },
}
"""Props of the right kinds for every public name that takes props (values need only be of the
right kind: the kinds are checked before anything else)."""


@pytest.fixture(scope="module")
def fixture(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    return Fixture(tmp_path_factory.mktemp("props"))


def _public_callables() -> list[str]:
    return sorted(n for n in ha_inference.__all__ if n not in NOT_PROPS)


def _signature_of(target: Any) -> inspect.Signature:
    """The constructor's own signature (jsii's metaclass hides it behind ``*args``)."""
    if inspect.isclass(target) and not _is_dataclass(target):
        signature = inspect.signature(inspect.unwrap(target.__init__))
        return signature.replace(parameters=list(signature.parameters.values())[1:])
    return inspect.signature(target)


def _hints(target: Any) -> dict[str, Any]:
    if inspect.isclass(target) and dataclasses.is_dataclass(target):
        return typing.get_type_hints(target)
    function = target.__init__ if inspect.isclass(target) else target
    return typing.get_type_hints(inspect.unwrap(function))


def _is_dataclass(target: Any) -> bool:
    return inspect.isclass(target) and dataclasses.is_dataclass(target)


def _label(target: Any, prop: str) -> str:
    """How a message names the prop: ``prop``, or ``Class.prop`` for a field of a dataclass
    (``IndexDefinition`` names its fields bare, as its environment and properties do)."""
    if _is_dataclass(target):
        return rf"(?:{re.escape(target.__name__)}\.)?{re.escape(prop)}"
    return re.escape(prop)


def _wrong_values(fixture: Fixture, hint: Any, required: bool) -> Iterator[tuple[str, Any]]:
    """(what it is, value) for the plausible wrong kinds of ``hint``; the caller keeps those
    the annotation refuses."""
    if required:
        yield "None for a required prop", None
    kinds = [a for a in _alternatives(hint) if a is not type(None)]
    for kind in kinds:
        origin, args = typing.get_origin(kind), typing.get_args(kind)
        if origin is not None and issubclass(origin, typing.Mapping | dict):  # type: ignore[arg-type]
            yield "a list for a dict", [fixture.sample(args[1]) if args else 1]
            yield "a string for a dict", "key=value"
        elif origin is not None:
            item = fixture.sample(args[0]) if args else "x"
            yield "a single value for a list", item
            yield "a dict for a list", {"0": item}
            yield "a number in a list", [12345]
        elif kind is bool:
            yield "a string for a bool", "yes"
            yield "a number for a bool", 1
        elif kind in (int, float):
            yield "a bool for a number", True
            yield "a string for a number", "3"
        elif kind is str:
            yield "a number for a string", 12345
            yield "a list for a string", ["name"]
        else:
            yield "a string for an object", "some-id"
            yield "a list for a single value", [fixture.sample(kind)]
            if _is_dataclass(kind):
                yield "a dict for a dataclass", {"name": "x"}
            if inspect.isclass(kind) and issubclass(kind, enum.Enum):
                yield "the enum's value for the enum", next(iter(kind)).value
            wrapper = _wrapper_of(fixture, kind)
            if wrapper is not None:
                yield "the library's wrapper for the object inside it", wrapper


def _alternatives(hint: Any) -> list[Any]:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return list(typing.get_args(hint))
    return [hint]


def _wrapper_of(fixture: Fixture, kind: Any) -> Any:
    """The library's construct around an object of ``kind``, where there is one."""
    if kind is lambda_.IFunction:
        return fixture.function  # MultiAzFunction.function
    if kind is cloudwatch.IAlarm:
        return ha_inference.EndpointAlarms(fixture.alarm, fixture.alarm, fixture.alarm)
    return None


def test_every_public_name_that_takes_props_is_covered() -> None:
    missing = [name for name in _public_callables() if name not in VALID]
    assert missing == [], (
        f"add valid props for {missing} to VALID in tests/library/test_props.py (or a reason to "
        "NOT_PROPS), so their wrong kinds of input are tested"
    )
    stale = sorted(set(VALID) - set(ha_inference.__all__)) + sorted(
        set(NOT_PROPS) - set(ha_inference.__all__)
    )
    assert stale == []


def _cases() -> list[tuple[str, str]]:
    cases = []
    for name in _public_callables():
        target = getattr(ha_inference, name)
        for prop in _signature_of(target).parameters:
            if prop not in ("self",):
                cases.append((name, prop))
    return cases


@pytest.mark.parametrize(("name", "prop"), _cases())
def test_refuses_wrong_kinds_naming_the_prop_and_the_fix(
    fixture: Fixture, name: str, prop: str
) -> None:
    target = getattr(ha_inference, name)
    parameter = _signature_of(target).parameters[prop]
    hint = _hints(target)[prop]
    valid = VALID[name](fixture)
    parameters = _signature_of(target).parameters
    if "construct_id" in parameters or ("scope" in parameters and "scope" not in valid):
        valid = {**_scope_args(fixture, name, parameters), **valid}
    required = parameter.default is inspect.Parameter.empty
    tried = 0
    for what, wrong in _wrong_values(fixture, hint, required):
        if matches(wrong, hint):
            continue  # a kind this prop takes (e.g. a MultiAzFunction for a dashboard's function)
        tried += 1
        props = {**valid, prop: wrong}
        with pytest.raises((TypeError, ValueError)) as raised:
            _call(target, props)
        message = str(raised.value)
        assert re.match(MESSAGE.format(label=_label(target, prop)), message), (
            f"{name}({prop}=<{what}>) must fail naming {prop}, the value and the fix, "
            f"got {type(raised.value).__name__}: {message}"
        )
    assert tried, f"no wrong kind of input was tried for {name}.{prop}"


def _call(target: Any, props: dict[str, Any]) -> Any:
    positional = [props.pop(p) for p in ("scope", "construct_id") if p in props]
    if _is_dataclass(target) or not positional:
        return target(*positional, **props)
    return target(*positional, **props)


# ------------------------------------------------------------ what the brief's user tried


def test_fails_on_an_index_name_given_for_the_index_definition(fixture: Fixture) -> None:
    with pytest.raises(
        TypeError,
        match=r"^definition must be an IndexDefinition, got 'faq'; pass IndexDefinition\(name='faq'\)$",
    ):
        ha_inference.VectorIndex(
            fixture.stack, "Faq", collection=fixture.collection, vpc_endpoint=fixture.endpoint,
            definition="faq",  # type: ignore[arg-type]
        )  # fmt: skip


def test_fails_on_zonal_autoshift_true_saying_it_needs_outcome_alarms(fixture: Fixture) -> None:
    with pytest.raises(
        TypeError,
        match=r"^zonal_autoshift must be a ZonalAutoshiftOptions, got True; pass ZonalAutoshiftOptions\(outcome_alarms=\[\.\.\.\]\): ARC judges",
    ):
        ha_inference.SageMakerRuntimeLoadBalancer(
            fixture.stack, "Autoshift", vpc=fixture.vpc, zonal_autoshift=True  # type: ignore[arg-type]
        )  # fmt: skip


def test_the_drill_takes_one_subnet_selection_as_every_construct_does(fixture: Fixture) -> None:
    drill = AvailabilityZoneDrill(
        fixture.stack,
        "OneSelection",
        vpc=fixture.vpc,
        stop_condition_alarms=[fixture.alarm],
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="workloads"),
    )
    workloads = {
        s.node.path for s in fixture.vpc.select_subnets(subnet_group_name="workloads").subnets
    }
    chosen = {s.node.path for subnets in drill.subnets_by_zone.values() for s in subnets}
    assert chosen == workloads


def test_dashboards_and_answer_metrics_take_a_multi_az_function(fixture: Fixture) -> None:
    dashboard = RegionalDashboard(
        fixture.stack,
        "Wrapped",
        functions={"Retrieval": fixture.function},
        answering_functions={"Retrieval": fixture.function},
    )
    assert set(dashboard.answer_alarms) == {"Retrieval"}
    assert AnswerMetrics(fixture.function).function is fixture.function.function


def test_fails_on_a_list_item_of_the_wrong_kind_naming_its_position(fixture: Fixture) -> None:
    with pytest.raises(
        TypeError,
        match=r"^stop_condition_alarms\[1\] must be a cloudwatch.IAlarm, got 'HighLatency'; ",
    ):
        AvailabilityZoneDrill(
            fixture.stack, "Named", vpc=fixture.vpc,
            stop_condition_alarms=[fixture.alarm, "HighLatency"],  # type: ignore[list-item]
        )  # fmt: skip


def test_fails_on_a_geography_string_naming_the_member(fixture: Fixture) -> None:
    with pytest.raises(
        TypeError, match=r"^geography must be a Geography, got 'eu'; pass Geography.EU$"
    ):
        CrossRegionInferenceProfile(
            fixture.stack, "Eu", model_id="anthropic.claude-sonnet-5-5", geography="eu"
        )  # type: ignore[arg-type]
    assert Geography.EU.value == "eu"
