"""cdk-nag acknowledgements that name one finding on one construct, with the finding rendered the
way cdk-nag renders it (``src/utils/flatten-cfn-reference.ts``, cdk-nag 3.0.2)."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct


def flatten_cfn_reference(node: Any) -> str:
    """A resolved CloudFormation value as cdk-nag flattens it for finding ids.

    ``{"Ref": "X"}`` becomes ``<X>``, ``{"Fn::GetAtt": ["X", "Arn"]}`` becomes ``<X.Arn>``,
    ``Fn::Join`` is joined, ``${X}`` in ``Fn::Sub`` becomes ``<X>``.
    """
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(flatten_cfn_reference(item) for item in items)
        if "Fn::Sub" in node:
            return flatten_cfn_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_cfn_reference(resource)}.{flatten_cfn_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_cfn_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_cfn_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def wildcard_resource_finding(scope: IConstruct, resource: str) -> str:
    """The AwsSolutions-IAM5 finding id that ``resource`` (an ARN, maybe with tokens) draws."""
    resolved = cdk.Stack.of(scope).resolve(resource)
    return f"AwsSolutions-IAM5[Resource::{flatten_cfn_reference(resolved)}]"


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledges exactly ``finding`` on ``scope`` (and what is below it), with ``reason``."""
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=finding, reason=reason))
