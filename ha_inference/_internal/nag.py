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
    acknowledge_all(scope, {finding: reason})


SYNCHRONOUS_NO_DLQ = (
    "The function is invoked synchronously (by a caller or by CloudFormation's custom-resource "
    "framework), which receives every error itself; a dead-letter queue only receives failed "
    "asynchronous events, so there is nothing to send to one."
)
NO_RESERVED_CONCURRENCY = (
    "Reserved concurrency is left to the app owner: Lambda refuses a reservation that leaves "
    "fewer than 10 unreserved executions, so a default reservation would fail the first deploy "
    "in accounts with the default concurrency quota; the function's own retries and timeouts "
    "bound its load instead."
)
CONTROL_PLANE_OUTSIDE_VPC = (
    "A deploy-time function that calls only AWS control-plane APIs (and the pre-signed S3 "
    "response URL of CloudFormation); it handles no application data, and running it in the VPC "
    "would need NAT or extra interface endpoints just to reach those APIs."
)
INLINE_POLICY = (
    "The policy is bound to exactly one role and is created and deleted with it; its statements "
    "are scoped to this construct's resources, which a shared customer managed policy could not "
    "be without widening it."
)


SYNCHRONOUS_FUNCTION = {
    "NIST.800.53.R5-LambdaConcurrency": NO_RESERVED_CONCURRENCY,
    "NIST.800.53.R5-LambdaDLQ": SYNCHRONOUS_NO_DLQ,
}
"""What NIST 800-53 asks of a function that is only ever invoked synchronously."""

CONTROL_PLANE_FUNCTION = {
    **SYNCHRONOUS_FUNCTION,
    "NIST.800.53.R5-LambdaInsideVPC": CONTROL_PLANE_OUTSIDE_VPC,
}
"""...and of a synchronous deploy-time function that calls only control-plane APIs."""


def acknowledge_all(scope: IConstruct, reasons: dict[str, str]) -> None:
    """Acknowledges each finding id in ``reasons`` on ``scope`` with its reason (one call)."""
    cdk.Validations.of(scope).acknowledge(
        *(cdk.Acknowledgment(id=finding, reason=reason) for finding, reason in reasons.items())
    )
