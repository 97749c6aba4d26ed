"""Names that must be unique per account and Region, checked across the whole app at synth.

OpenSearch Serverless collections, security and access policies, VPC endpoints, SageMaker
endpoints and application inference profiles are named by us and must be unique in their
account and Region; two constructs that pick the same name synthesize fine and then fail at
deploy. :func:`claim_name` records each name per app and raises on the second claim.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct

from ha_inference._internal.stacks import account_of, region_of, stack_of
from ha_inference._internal.tokens import is_unresolved

_CLAIMS: weakref.WeakKeyDictionary[IConstruct, dict[tuple[str, str, str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def _where(scope: IConstruct) -> tuple[str, str]:
    stack = stack_of(scope)
    account, region = account_of(stack), region_of(stack)
    return (
        "<any account>" if is_unresolved(account) else account,
        "<any Region>" if is_unresolved(region) else region,
    )


def claim_name(scope: IConstruct, kind: str, name: str, prop: str) -> None:
    """Records that ``scope`` names a ``kind`` resource ``name``; raises when another construct
    of the app already did in the same account and Region (or in an environment-agnostic stack,
    which may be deployed anywhere)."""
    if is_unresolved(name):
        return
    account, region = _where(scope)
    node = scope.node
    claims = _CLAIMS.setdefault(node.root, {})
    key = (kind, name, account, region)
    other, path = claims.get(key), node.path
    if other is not None and other != path:
        raise ValueError(
            f"{prop} {name!r} is already the name of {kind} {other}, in the same account and "
            f"Region ({account}, {region}); {kind} names are unique per account and Region, so "
            f"the second would fail at deploy: give {path} another {prop}"
        )
    claims[key] = path


_PRIVATE_DNS: weakref.WeakKeyDictionary[IConstruct, dict[tuple[str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def claim_private_dns(scope: IConstruct, vpc: ec2.IVpc, service: str) -> None:
    """Records that ``scope`` puts a private-DNS interface endpoint for ``service`` (its short
    name, e.g. ``bedrock-runtime``) in ``vpc``; raises when the app already has one there (a
    VPC takes one private-DNS endpoint per service: the second fails at deploy), naming both."""
    node = scope.node
    claims = _PRIVATE_DNS.setdefault(node.root, {})
    vpc_key = vpc.node.path if is_unresolved(vpc.vpc_id) else vpc.vpc_id
    key = (vpc_key, service)
    other, path = claims.get(key) or _private_dns_endpoint_under(vpc, service), node.path
    if other is not None and other != path:
        raise ValueError(
            f"{path} adds a {service} interface endpoint with private DNS to "
            f"{vpc.node.path}, which already has one ({other}); a VPC takes only one private-DNS "
            "endpoint per service and the second fails at deploy. Pass "
            "private_dns_enabled=False to one of them, or reuse the existing endpoint "
            "(BedrockVpcEndpoints(existing_endpoints=...))"
        )
    claims[key] = path


def _private_dns_endpoint_under(vpc: ec2.IVpc, service: str) -> str | None:
    """An endpoint added with ``vpc.add_interface_endpoint`` (a child of the VPC), if any.

    A VPC's subnets and its L1 resources are skipped without a round trip to the jsii kernel:
    the default child of aws-cdk-lib's ``Subnet`` is its ``CfnSubnet``, and an L1 has none.
    """
    stack = stack_of(vpc)
    for child in vpc.node.children:
        if isinstance(child, ec2.Subnet | cdk.CfnElement):
            continue
        cfn = child.node.default_child
        if not isinstance(cfn, ec2.CfnVPCEndpoint) or cfn.vpc_endpoint_type != "Interface":
            continue
        if cfn.private_dns_enabled is False:
            continue
        name = stack.resolve(cfn.service_name)
        if isinstance(name, dict):  # com.amazonaws.<Ref AWS::Region>.<service>
            name = "".join(
                part for part in name.get("Fn::Join", ["", []])[1] if isinstance(part, str)
            )
        if str(name).endswith(f".{service}"):
            return child.node.path
    return None


def warn_private_dns_takes_over(scope: IConstruct, vpc: ec2.IVpc, services: Sequence[str]) -> None:
    """Warns when private-DNS endpoints land in a VPC this app did not create: they take over
    the services' hostnames, and their policies, for every caller already in that VPC."""
    if isinstance(vpc, ec2.Vpc):
        return
    cdk.Annotations.of(scope).add_warning_v2(
        "ha-inference:private-dns-takes-over",
        f"{scope.node.path} adds private-DNS endpoints for {', '.join(services)} to the existing "
        f"VPC {vpc.node.path}: from the deploy on, every caller in that VPC reaches those "
        "services through these endpoints, their security group and their endpoint policy. "
        "Admit existing callers (connections.allow_default_port_from) and extend the policy "
        "for what they call, or pass private_dns_enabled=False, or adopt the VPC's own "
        "endpoints with existing_endpoints.",
    )
