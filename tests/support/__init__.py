"""Shared test machinery: one synthesis per scenario, template snapshots, AZ assertions."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template
from syrupy.extensions.json import JSONSnapshotExtension

from ha_inference._internal.nag import SAME_RULE
from ha_inference.tools.assembly import StackArtifact, load_stacks, zones_of
from stacks import RegionalStack, build_reference_app, stack_name

ROOT = Path(__file__).resolve().parents[2]
TEST_ACCOUNT = "111111111111"
MODEL_DATA = "s3://ha-inference-models-{region}/llm/model.tar.gz"
"""The self-hosted model archive of the test sessions, one bucket per Region."""
SELF_HOSTED = {
    "ha-inference:self-hosted": {"model-data": MODEL_DATA},
    "ha-inference:zonal-autoshift": True,
}
"""The reference app's settings with the self-hosted model on (cdk.json leaves it off), reached
from every other Region (cross-Region, on by default with it), with zonal autoshift on its load
balancers: every kind of alarm and safety net the app can build."""
ZONE_IDS = {
    "us-east-1": {
        "us-east-1a": "use1-az6",
        "us-east-1b": "use1-az1",
        "us-east-1c": "use1-az2",
        "us-east-1d": "use1-az4",
        "us-east-1e": "use1-az3",
        "us-east-1f": "use1-az5",
    },
    "us-east-2": {"us-east-2a": "use2-az1", "us-east-2b": "use2-az2", "us-east-2c": "use2-az3"},
    "us-west-2": {
        "us-west-2a": "usw2-az2",
        "us-west-2b": "usw2-az1",
        "us-west-2c": "usw2-az3",
        "us-west-2d": "usw2-az4",
    },
}
"""A made-up account's AZ-name-to-ID mapping (``ha-inference:zone-ids``): us-east-1a is use1-az6,
which AgentCore Runtime's VPC mode does not support, so the agent uses two of us-east-1's three
configured AZs."""
AGENT = {"ha-inference:agent": True, "ha-inference:zone-ids": ZONE_IDS}
"""The reference app's settings with the agent runtime on (the shipped retrieval agent)."""
IMPORTED_MODEL_REGIONS = ["us-east-1", "us-west-2"]
IMPORTED_MODEL_FOLDER = "s3://ha-inference-models-{region}/llama-3-8b-support/"
CONFIGURATIONS: Mapping[str, Mapping[str, Any]] = {
    # cdk.json alone: three Regions, the inference profile, no self-hosted model.
    "default": {},
    # The self-hosted model in every Region, each reaching the others' (cross-Region
    # PrivateLink, the -CrossRegion stacks), with zonal autoshift on its load balancer, sized
    # to keep its full load after losing two AZs; the chat model in the Priority tier, and the
    # retrieval role denied Flex and Reserved.
    "self-hosted": {
        **SELF_HOSTED,
        "ha-inference:self-hosted": {"model-data": MODEL_DATA, "cross-region": True},
        "ha-inference:tolerated-az-losses": 2,
        "ha-inference:bedrock-service-tier": "priority",
        "ha-inference:denied-service-tiers": ["flex", "reserved"],
    },
    # A model imported with Custom Model Import in each Region instead of the profile.
    "imported-model": {
        "ha-inference:regions": IMPORTED_MODEL_REGIONS,
        "ha-inference:imported-model": IMPORTED_MODEL_FOLDER,
    },
    # The agent runtime (AgentCore, VPC mode) in every Region, with its endpoints and caller.
    "agent": AGENT,
}
"""The reference app's configurations that every template check covers, by name (context on
top of cdk.json's); the session fixture ``configurations`` synthesizes each once."""


@cache
def cdk_json_context() -> Mapping[str, Any]:
    """The context the CLI would pass: cdk.json's, read once."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return context


def new_app(outdir: Path, context: Mapping[str, Any] | None = None) -> cdk.App:
    """An App with cdk.json's context (feature flags) plus ``context``; never bundles assets.

    aws-cdk-lib's built-in CloudFormation validation is off: it costs seconds per synth and is
    checked once, on the real CLI's synth (tests/app/test_cli.py).
    """
    return cdk.App(
        outdir=str(outdir),
        context={**cdk_json_context(), "aws:cdk:bundling-stacks": [], **(context or {})},
        builtin_cloud_formation_validation=False,
    )


@dataclass
class Synth:
    """A synthesized scenario: the app, its stacks, and each stack's template."""

    app: cdk.App
    stacks: list[RegionalStack]
    assembly: cdk.cx_api.CloudAssembly
    artifacts: dict[str, StackArtifact]
    """The regional stack of each Region."""
    cross_region: dict[str, StackArtifact]
    """Each Region's ``-CrossRegion`` stack (paths to the other Regions' models), if any."""

    def template(self, region: str) -> dict[str, Any]:
        return self.artifacts[region].template

    def assertions(self, region: str) -> Template:
        return Template.from_json(self.template(region))

    @property
    def regions(self) -> list[str]:
        return list(self.artifacts)


def synth_reference(outdir: Path, context: Mapping[str, Any] | None = None) -> Synth:
    """Builds and synthesizes the reference app once; templates are read back from disk."""
    app = new_app(outdir, {"ha-inference:account": TEST_ACCOUNT, **(context or {})})
    stacks = build_reference_app(app)
    assembly = app.synth()
    loaded = load_stacks(assembly.directory)
    artifacts = {a.region: a for a in loaded if a.name == stack_name(a.region)}
    cross_region = {a.region: a for a in loaded if a.name == f"{stack_name(a.region)}-CrossRegion"}
    return Synth(
        app=app, stacks=stacks, assembly=assembly, artifacts=artifacts, cross_region=cross_region
    )


class Configurations:
    """:data:`CONFIGURATIONS` synthesized on first use, once each, into ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._synths: dict[str, Synth] = {}

    def __getitem__(self, name: str) -> Synth:
        if name not in self._synths:
            self._synths[name] = synth_reference(self.folder / name, CONFIGURATIONS[name])
        return self._synths[name]

    def stacks(self, name: str) -> list[StackArtifact]:
        """Every stack of configuration ``name``: each Region's and its ``-CrossRegion``."""
        synth = self[name]
        return [*synth.artifacts.values(), *synth.cross_region.values()]


def without_twins(acknowledged: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """(path, rule id, reason) acknowledgements without the ids that the crosswalk adds for
    the same rule in the other cdk-nag packs (``ha_inference._internal.nag.SAME_RULE``): what
    the library acknowledges itself."""
    twins = {twin for twins in SAME_RULE.values() for twin in twins}
    return [a for a in acknowledged if a[1].removeprefix("Annotation::") not in twins]


def subnet_azs_of(template: dict[str, Any], subnet_refs: Any) -> list[str | None]:
    """The AZ of each subnet a resource names (``None`` for a subnet not in the template)."""
    return zones_of(template, subnet_refs)


def resources(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def one_resource(
    template: dict[str, Any], resource_type: str, prefix: str = ""
) -> tuple[str, dict[str, Any]]:
    """The logical id and body of the one resource of ``resource_type`` whose logical id starts
    with ``prefix``; fails unless there is exactly one."""
    ((logical_id, resource),) = [
        (logical_id, resource)
        for logical_id, resource in resources(template, resource_type).items()
        if logical_id.startswith(prefix)
    ]
    return logical_id, resource


def assert_one_subnet_per_az(
    template: dict[str, Any],
    subnet_refs: Any,
    expected_azs: list[str] | tuple[str, ...],
    what: str,
) -> None:
    """Asserts the subnets cover exactly ``expected_azs``, one subnet in each."""
    azs = subnet_azs_of(template, subnet_refs)
    assert None not in azs, f"{what}: a subnet is not one of this template's subnets: {subnet_refs}"
    assert sorted(azs) == sorted(expected_azs), f"{what}: subnets in {azs}, want {expected_azs}"  # type: ignore[type-var]


_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def normalize_template(template: Any) -> Any:
    """A copy of ``template`` in which asset hashes and CDK version strings are masked."""
    data = copy.deepcopy(template)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value) for value in node]
        if isinstance(node, str):
            return _HASH.sub("<asset-hash>", node)
        return node

    for resource in data.get("Resources", {}).values():
        if resource.get("Type") == "AWS::CDK::Metadata":
            resource["Properties"] = {"Analytics": "<cdk-version-and-construct-analytics>"}
    return walk(data)


class TemplateSnapshotExtension(JSONSnapshotExtension):
    """JSON snapshots of templates that change only when the infrastructure does."""

    def serialize(self, data: Any, **kwargs: Any) -> str:
        return str(super().serialize(normalize_template(data), **kwargs))


Outdir = Callable[[str], Path]


def isolated_vpc(
    scope: cdk.Stack,
    construct_id: str,
    *,
    zones: list[str] | None = None,
    groups: tuple[str, ...] = ("private", "other"),
    cidr: str = "10.0.0.0/16",
) -> ec2.Vpc:
    """A test VPC: one isolated subnet per group in each of ``zones`` (default: the stack's
    first two, which are tokens in an environment-agnostic stack), no NAT, no flow logs."""
    vpc = ec2.Vpc(
        scope,
        construct_id,
        ip_addresses=ec2.IpAddresses.cidr(cidr),
        availability_zones=zones,
        max_azs=None if zones else 2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name=name, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            )
            for name in groups
        ],
    )
    cdk.Validations.of(vpc).acknowledge(
        cdk.Acknowledgment(
            id="AwsSolutions-VPC7",
            reason="Test fixture VPC: the reference app's Network adds flow logs; here only the "
            "constructs under test are judged.",
        )
    )
    return vpc


class ZonalStack(cdk.Stack):
    """An env-specific test stack with fixed AZs and a VPC that has a private subnet in each."""

    def __init__(
        self,
        scope: cdk.App,
        construct_id: str,
        *,
        region: str = "us-east-1",
        zones: tuple[str, ...] | None = None,
        account: str = TEST_ACCOUNT,
        groups: tuple[str, ...] = ("private", "other"),
    ) -> None:
        self._zones = list(zones or (f"{region}a", f"{region}b", f"{region}c"))
        super().__init__(scope, construct_id, env=cdk.Environment(account=account, region=region))
        self.vpc = isolated_vpc(self, "Vpc", zones=self._zones, groups=groups)

    @property
    def availability_zones(self) -> list[str]:
        return self._zones
