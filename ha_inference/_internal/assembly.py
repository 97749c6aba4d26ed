"""Reads a synthesized cloud assembly (``cdk.out``) without importing aws-cdk-lib."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class StackArtifact:
    """One CloudFormation stack of an assembly."""

    name: str
    account: str
    region: str
    template_path: Path
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources: dict[str, dict[str, Any]] = self.template.get("Resources", {})
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.resources.items() if r.get("Type") == resource_type}


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
    stacks: list[StackArtifact] = []
    for name, artifact in manifest.get("artifacts", {}).items():
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
                )
            )
    return stacks


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
