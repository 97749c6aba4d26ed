"""Reads a synthesized cloud assembly (``cdk.out``) without importing aws-cdk-lib.

:func:`load_stacks` gives one :class:`StackArtifact` per CloudFormation stack (top-level and in
stages): its environment, template, construct metadata (the ``ha-inference:*`` keys of
:mod:`ha_inference.metadata` among them) and file assets. The tools read assemblies through it;
so can your own tooling, with the standard library only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ha_inference.metadata import SUBNET_ZONES_METADATA
from ha_inference.regions import partition_of

DEFAULT_QUALIFIER = "hnb659fds"
"""The CDK bootstrap qualifier when an app does not set its own."""

UNKNOWN_ACCOUNT = "unknown-account"
UNKNOWN_REGION = "unknown-region"
"""What the manifest says for an environment-agnostic stack."""

_BOOTSTRAP_PARAMETER = re.compile(r"^/cdk-bootstrap/(?P<qualifier>[^/]+)/version$")
_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass(frozen=True)
class StackArtifact:
    """One CloudFormation stack of an assembly."""

    name: str
    account: str
    region: str
    template_path: Path
    template: dict[str, Any]
    properties: Mapping[str, Any] = field(default_factory=dict)
    """The artifact's ``properties`` in the manifest (bootstrap version, role ARNs...)."""
    metadata: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    """Construct metadata by construct path, from the manifest or its additional file."""
    asset_objects: frozenset[tuple[str, str]] = frozenset()
    """(bucket, key) of every file asset ``cdk deploy`` publishes for this stack."""

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r.get("Type") == resource_type}

    def metadata_of(self, kind: str) -> list[tuple[str, Any]]:
        """(construct path, data) of every metadata entry of type ``kind``, in path order."""
        return [
            (path, entry.get("data"))
            for path, entries in sorted(self.metadata.items())
            for entry in entries
            if entry.get("type") == kind
        ]

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def bootstrap_parameter(self) -> str:
        """The SSM parameter holding the bootstrap version this stack's synthesizer checks."""
        name = self.properties.get("bootstrapStackVersionSsmParameter")
        return name if isinstance(name, str) else f"/cdk-bootstrap/{DEFAULT_QUALIFIER}/version"

    @property
    def bootstrap_qualifier(self) -> str:
        found = _BOOTSTRAP_PARAMETER.match(self.bootstrap_parameter)
        return found.group("qualifier") if found else DEFAULT_QUALIFIER

    @property
    def required_bootstrap_version(self) -> int | None:
        version = self.properties.get("requiresBootstrapStackVersion")
        return version if isinstance(version, int) else None

    def literal(self, value: Any, names: Mapping[str, str] | None = None) -> str | None:
        """``value`` as a plain string, or ``None`` when it depends on a deploy-time value.

        Resolves ``Fn::Join`` and ``Fn::Sub`` over literals and the pseudo parameters this
        stack knows (``AWS::Region``, ``AWS::AccountId``, ``AWS::Partition``,
        ``AWS::URLSuffix``), plus ``names``: strings known for ``{"Ref": id}`` (key ``id``) or
        ``{"Fn::GetAtt": [id, attr]}`` (key ``id.attr``).
        """
        known = {**self._pseudo(), **(names or {})}
        return _literal(value, known)

    def _pseudo(self) -> dict[str, str]:
        known = {"AWS::Partition": self.partition, "AWS::URLSuffix": "amazonaws.com"}
        if self.region != UNKNOWN_REGION:
            known["AWS::Region"] = self.region
            if self.partition == "aws-cn":
                known["AWS::URLSuffix"] = "amazonaws.com.cn"
        if self.account != UNKNOWN_ACCOUNT:
            known["AWS::AccountId"] = self.account
        return known


def _literal(value: Any, known: Mapping[str, str]) -> str | None:
    if isinstance(value, str):
        return value
    if not isinstance(value, dict) or len(value) != 1:
        return None
    ((function, argument),) = value.items()
    if function == "Ref" and isinstance(argument, str):
        return known.get(argument)
    if function == "Fn::GetAtt" and isinstance(argument, list) and len(argument) == 2:
        return known.get(f"{argument[0]}.{argument[1]}")
    if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
        delimiter, parts = argument
        if not isinstance(delimiter, str) or not isinstance(parts, list):
            return None
        rendered = [_literal(part, known) for part in parts]
        return None if None in rendered else delimiter.join(p for p in rendered if p is not None)
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else [*argument, {}][:2]
        if not isinstance(text, str) or not isinstance(variables, dict):
            return None
        scope = {**known, **{k: _literal(v, known) for k, v in variables.items()}}
        missing = [n for n in _SUB_VARIABLE.findall(text) if scope.get(n) is None]
        if missing:
            return None
        return _SUB_VARIABLE.sub(lambda m: str(scope[m.group(1)]), text)
    return None


def iam_statements(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every statement of every identity policy in ``template`` (``AWS::IAM::Policy``,
    ``AWS::IAM::ManagedPolicy`` and the inline ``Policies`` of ``AWS::IAM::Role``)."""
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        kind = resource.get("Type")
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            documents = [properties.get("PolicyDocument")]
        elif kind == "AWS::IAM::Role":
            documents = [p.get("PolicyDocument") for p in properties.get("Policies") or []]
        else:
            continue
        for document in documents:
            statements = document.get("Statement", []) if isinstance(document, dict) else []
            yield from (s for s in _as_list(statements) if isinstance(s, dict))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def load_stacks(assembly_dir: str | Path) -> list[StackArtifact]:
    """Every stack in ``assembly_dir`` (nested stage assemblies included), in manifest order."""
    root = Path(assembly_dir)
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(
            f"{root} is not a cloud assembly (no manifest.json); synthesize your app first "
            "('cdk synth', or 'cdk synth -o <dir>') and pass its output directory "
            "(default cdk.out)"
        )
    manifest = json.loads(manifest_path.read_text())
    artifacts: dict[str, Any] = manifest.get("artifacts", {})
    stacks: list[StackArtifact] = []
    for name, artifact in artifacts.items():
        kind = artifact.get("type")
        props = artifact.get("properties", {})
        if kind == "cdk:cloud-assembly":
            stacks.extend(load_stacks(root / props["directoryName"]))
        elif kind == "aws:cloudformation:stack":
            env = artifact.get("environment", "aws://unknown-account/unknown-region")
            account, region = env.removeprefix("aws://").split("/", 1)
            path = root / props["templateFile"]
            stacks.append(
                StackArtifact(
                    name=props.get("stackName", name),
                    account=account,
                    region=region,
                    template_path=path,
                    template=json.loads(path.read_text()),
                    properties=props,
                    metadata=_metadata(root, artifact),
                    asset_objects=_asset_objects(root, artifact, artifacts, account, region),
                )
            )
    return stacks


def _metadata(root: Path, artifact: dict[str, Any]) -> dict[str, tuple[Mapping[str, Any], ...]]:
    """The artifact's metadata, inline or in ``additionalMetadataFile`` (newer CDK)."""
    found: dict[str, list[Mapping[str, Any]]] = {}
    sources = [artifact.get("metadata") or {}]
    extra = artifact.get("additionalMetadataFile")
    if isinstance(extra, str) and (root / extra).is_file():
        sources.append(json.loads((root / extra).read_text()))
    for source in sources:
        for path, entries in source.items():
            found.setdefault(path, []).extend(e for e in entries if isinstance(e, dict))
    return {path: tuple(entries) for path, entries in found.items()}


def _asset_objects(
    root: Path, artifact: dict[str, Any], artifacts: dict[str, Any], account: str, region: str
) -> frozenset[tuple[str, str]]:
    """The S3 objects of the file assets in the asset manifests this stack depends on."""
    objects: set[tuple[str, str]] = set()
    for dependency in artifact.get("dependencies", []):
        other = artifacts.get(dependency, {})
        if other.get("type") != "cdk:asset-manifest":
            continue
        manifest = json.loads((root / other["properties"]["file"]).read_text())
        for asset in manifest.get("files", {}).values():
            for destination in asset.get("destinations", {}).values():
                bucket, key = destination.get("bucketName"), destination.get("objectKey")
                if isinstance(bucket, str) and isinstance(key, str):
                    objects.add((_placeholders(bucket, account, region), key))
    return frozenset(objects)


def _placeholders(text: str, account: str, region: str) -> str:
    return text.replace("${AWS::AccountId}", account).replace("${AWS::Region}", region)


def subnet_zones(template: dict[str, Any]) -> dict[str, str]:
    """Maps each ``AWS::EC2::Subnet`` logical id to its AZ name (when the AZ is a literal)."""
    zones: dict[str, str] = {}
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == "AWS::EC2::Subnet":
            az = resource.get("Properties", {}).get("AvailabilityZone")
            if isinstance(az, str):
                zones[logical_id] = az
    return zones


def zones_of(template: dict[str, Any], subnet_refs: Any) -> list[str | None]:
    """The AZ of every subnet reference in ``subnet_refs`` (``None`` where it cannot be told).

    Accepts a list of ``{"Ref": logicalId}`` (what CDK writes for subnets of the same stack);
    a literal ``subnet-…`` id or an import resolves to ``None``.
    """
    zones = subnet_zones(template)
    if not isinstance(subnet_refs, list):
        return [None]
    found: list[str | None] = []
    for ref in subnet_refs:
        logical_id = ref.get("Ref") if isinstance(ref, dict) else None
        found.append(zones.get(logical_id) if isinstance(logical_id, str) else None)
    return found


def stack_output_key(ref: Any) -> str | None:
    """The key of a subnet reference: a logical id (``Ref``), or another stack's output
    (``output:<stack>/<output>`` for ``Fn::GetStackOutput``, ``export:<name>`` for
    ``Fn::ImportValue``) as :func:`published_subnets` maps them; ``None`` for anything else."""
    if not isinstance(ref, dict) or len(ref) != 1:
        return None
    ((function, argument),) = ref.items()
    if function == "Ref" and isinstance(argument, str):
        return argument
    if function == "Fn::GetStackOutput" and isinstance(argument, dict):
        return f"output:{argument.get('StackName')}/{argument.get('OutputName')}"
    if function == "Fn::ImportValue" and isinstance(argument, str):
        return f"export:{argument}"
    return None


def published_subnets(
    stacks: Sequence[StackArtifact],
    zones_of_stack: Callable[[StackArtifact], Mapping[str, str | None]] = (
        lambda stack: subnet_zones(stack.template)
    ),
) -> dict[str, str | None]:
    """The AZ of every subnet a stack publishes in an output (``Value: {"Ref": subnet}``), by
    ``output:<stack>/<output>`` and, when exported, ``export:<name>``: what another stack of the
    assembly reads with ``Fn::GetStackOutput`` or ``Fn::ImportValue`` (a ``-CrossRegion``
    stack's functions run in the regional stack's subnets this way)."""
    found: dict[str, str | None] = {}
    for stack in stacks:
        zones = zones_of_stack(stack)
        for name, output in (stack.template.get("Outputs") or {}).items():
            value = output.get("Value") if isinstance(output, dict) else None
            logical_id = value.get("Ref") if isinstance(value, dict) else None
            if not isinstance(logical_id, str) or logical_id not in zones:
                continue
            found[f"output:{stack.name}/{name}"] = zones[logical_id]
            export = output.get("Export", {}).get("Name")
            if isinstance(export, str):
                found[f"export:{export}"] = zones[logical_id]
    return found


def recorded_subnet_zones(stacks: Sequence[StackArtifact]) -> dict[str, str]:
    """The AZ of every imported subnet, by subnet id, as the constructs placed in it recorded it
    (:func:`ha_inference.metadata.mark_subnet_zones`): a template names such a subnet by its id
    only. Subnet ids are unique, so the records of every stack apply to all."""
    found: dict[str, str] = {}
    for stack in stacks:
        for _path, zones in stack.metadata_of(SUBNET_ZONES_METADATA):
            if isinstance(zones, dict):
                found.update({k: v for k, v in zones.items() if isinstance(v, str)})
    return found
