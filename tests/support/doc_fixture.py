"""The fixture every Python block of the docs runs against (as cdk-nag's rosetta fixture is for
its README snippets).

Each block runs in a stack of its own, in one app shared by all blocks of all docs, which is
synthesized once at the end; a block that names ``app`` (app-wide checks and declarations)
gets an app of its own, synthesized after it runs. A block may use, without defining them:

* the modules ``cdk`` (aws_cdk), ``ec2``, ``iam``, ``lambda_``, ``kms``, ``cloudwatch``;
* ``app``; ``stack``: the block's own stack, us-east-1, AZs us-east-1a-c, in an account of its
  own (names unique per account and Region never clash between blocks);
  ``vpc``: its VPC, with isolated subnet groups ``endpoints`` and ``workloads``, one subnet per
  AZ in each;
* ``my_function``: a :class:`ha_inference.MultiAzFunction` in ``workloads`` (any grantee and
  connectable caller); ``retrieval``: one running the shipped ``retrieval.handler``;
* ``profile``: the default ``CrossRegionInferenceProfile``; ``embeddings``: the embedding model
  (``FoundationModel``); ``bedrock_endpoints``: ``BedrockVpcEndpoints`` for both;
* ``endpoint`` and ``collection``: a ``CollectionVpcEndpoint`` and a ``VectorCollection``;
* ``model``: a ``MultiAzSageMakerEndpoint``, ``alarms``: its ``add_alarms(...)``, ``nlb``: a
  ``SageMakerRuntimeLoadBalancer`` in front of it;
* for the multi-Region example: ``stack_b``, ``vpc_b`` and ``model_b`` in us-west-2;
  ``paths_stack_a`` (us-east-1); ``vpc_a``, ``model_a`` and ``nlb_a``, Region A's (the block's
  ``vpc``, ``model`` and ``nlb``).

Names are built on first use only, so a block pays for what it names.
"""

from __future__ import annotations

import builtins
import itertools
from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import cx_api

import ha_inference
from tests.support import TEST_ACCOUNT, ZonalStack, new_app

IMAGE = "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0"
MODULES = {"cdk": cdk, "ec2": ec2, "iam": iam, "lambda_": lambda_, "kms": kms,
           "cloudwatch": cloudwatch}  # fmt: skip


class DocApp:
    """One app for every block; :meth:`namespace` gives each block its stack and its names."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self.app = new_app(outdir / "shared")
        self._ids = itertools.count(1)

    def namespace(self, label: str, code: CodeType) -> Namespace:
        """The names of one block; its own app when its code names ``app``."""
        number = next(self._ids)
        prefix = f"Doc{number}"
        own = "app" in _names(code)
        app = new_app(self.outdir / prefix) if own else self.app
        return Namespace(app, prefix, label, account=str(int(TEST_ACCOUNT) + number))

    def synth(self) -> cx_api.CloudAssembly:
        return self.app.synth()


def _names(code: CodeType) -> set[str]:
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _names(constant)
    return names


class Namespace(dict[str, Any]):
    """The names a block sees: its assignments, then the fixture's names, built on first use."""

    def __init__(self, app: cdk.App, prefix: str, label: str, account: str) -> None:
        super().__init__(MODULES)
        self.app = app
        self.account = account
        self.prefix = prefix
        self.label = label
        self["app"] = self.app
        self["__builtins__"] = builtins

    def __missing__(self, name: str) -> Any:
        factory = FACTORIES.get(name)
        if factory is None:
            raise KeyError(name)
        value = factory(self)
        self[name] = value
        return value

    def stack_in(self, suffix: str, region: str) -> ZonalStack:
        return ZonalStack(
            self.app,
            f"{self.prefix}{suffix}",
            region=region,
            account=self.account,
            groups=("endpoints", "workloads"),
        )


def _model(ns: Namespace, stack: cdk.Stack, vpc: ec2.IVpc) -> ha_inference.MultiAzSageMakerEndpoint:
    region = stack.region
    return ha_inference.MultiAzSageMakerEndpoint(
        stack,
        "FixtureModel",
        vpc=vpc,
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="workloads"),
        image=IMAGE.format(region=region),
        model_data_url=f"s3://my-models-{region}/llm/model.tar.gz",
        invocations_per_instance_target=100,
    )


def _function(ns: Namespace, construct_id: str, handler: str) -> ha_inference.MultiAzFunction:
    return ha_inference.MultiAzFunction(
        ns["stack"],
        construct_id,
        vpc=ns["vpc"],
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="workloads"),
        code=ha_inference.handler_code(),
        handler=handler,
    )


def _model_b(ns: Namespace) -> ha_inference.MultiAzSageMakerEndpoint:
    return _model(ns, ns["stack_b"], ns["vpc_b"])


FACTORIES: dict[str, Callable[[Namespace], Any]] = {
    "stack": lambda ns: ns.stack_in("", "us-east-1"),
    "vpc": lambda ns: ns["stack"].vpc,
    "my_function": lambda ns: _function(ns, "MyFunction", "retrieval.handler"),
    "retrieval": lambda ns: _function(ns, "FixtureRetrieval", "retrieval.handler"),
    "profile": lambda ns: ha_inference.CrossRegionInferenceProfile(
        ns["stack"], "FixtureProfile", model_id="anthropic.claude-sonnet-5-5"
    ),
    "embeddings": lambda ns: ha_inference.FoundationModel.in_stack_region(
        ns["stack"], "amazon.titan-embed-text-v2:0"
    ),
    "bedrock_endpoints": lambda ns: ha_inference.BedrockVpcEndpoints(
        ns["stack"],
        "FixtureBedrock",
        vpc=ns["vpc"],
        vpc_subnets=ec2.SubnetSelection(subnet_group_name="endpoints"),
        invoke_targets=[ns["profile"], ns["embeddings"]],
    ),
    "endpoint": lambda ns: ha_inference.CollectionVpcEndpoint(
        ns["stack"], "FixtureCollectionEndpoint", vpc=ns["vpc"]
    ),
    "collection": lambda ns: ha_inference.VectorCollection(
        ns["stack"],
        "FixtureVectors",
        collection_name=f"docs-{ns.prefix.lower()}",
        vpc_endpoint=ns["endpoint"],
    ),
    "model": lambda ns: _model(ns, ns["stack"], ns["vpc"]),
    "alarms": lambda ns: ns["model"].add_alarms(model_latency_threshold=cdk.Duration.seconds(5)),
    "nlb": lambda ns: ha_inference.SageMakerRuntimeLoadBalancer(
        ns["stack"], "FixtureRuntime", vpc=ns["vpc"], endpoint_arns=[ns["model"].endpoint_arn]
    ),
    "stack_b": lambda ns: ns.stack_in("B", "us-west-2"),
    "vpc_b": lambda ns: ns["stack_b"].vpc,
    "model_b": _model_b,
    "paths_stack_a": lambda ns: cdk.Stack(
        ns.app,
        f"{ns.prefix}PathsA",
        env=cdk.Environment(account=ns.account, region="us-east-1"),
    ),
    "vpc_a": lambda ns: ns["vpc"],
    "model_a": lambda ns: ns["model"],
    "nlb_a": lambda ns: ns["nlb"],
}
"""How each fixture name is built (see the module docstring)."""
