"""GENREL05-BP01 rules for cdk-nag: one small function per invariant, on any CfnResource.

Each rule takes the L1 resource and returns a :class:`cdk_nag.NagRuleCompliance` (or a list of
findings). Rules read the resolved properties of the resource and, where an invariant spans
resources (subnets and their AZs, an endpoint and its security groups), look the other resource
up in the same stack. A value that cannot be known at synth time (an imported subnet, a
deploy-time token) never makes a rule fail on its own.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_sagemaker as sagemaker
from cdk_nag import NagRuleCompliance

from ha_inference._internal.tokens import is_unresolved
from ha_inference.checks.paths import RUNTIME_SERVICE_ACTIONS, PathIndex
from ha_inference.data.zones import AGENTCORE_RUNTIME
from ha_inference.metadata import (
    AZ_LOSS_TOLERANCE_METADATA,
    ZONE_PLACEMENT_METADATA,
    declared,
)
from ha_inference.selfhosted.capacity import instance_fallbacks_required
from ha_inference.zonal import default_full_load, remaining_after

COMPLIANT = NagRuleCompliance.COMPLIANT
NON_COMPLIANT = NagRuleCompliance.NON_COMPLIANT
NOT_APPLICABLE = NagRuleCompliance.NOT_APPLICABLE

RuleResult = NagRuleCompliance | list[str]


@dataclass(frozen=True)
class Rule:
    """One invariant: a stable id suffix, a one-line info, an explanation and the check."""

    suffix: str
    resource_types: frozenset[str]
    info: str
    explanation: str
    check: Callable[[cdk.CfnResource], RuleResult]


# --------------------------------------------------------------------------- helpers


def _resolve(node: cdk.CfnResource, value: Any) -> Any:
    return cdk.Stack.of(node).resolve(value)


@dataclass
class StackIndex:
    """What rules look up across resources of one stack, read in one walk of its tree.

    ``zones``: subnet logical id -> AZ (``None`` when not a literal); ``ingress`` and ``egress``:
    security group logical id -> its rules (inline, then separate resources), each a dict with
    ``cidrIp``/``cidrIpv6``; ``inline_egress``: groups with at least one inline egress rule;
    ``service_principals``: endpoint service logical id -> allowed principals.
    """

    zones: dict[str, str | None] = field(default_factory=dict)
    ingress: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    egress: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    groups: set[str] = field(default_factory=set)
    inline_egress: set[str] = field(default_factory=set)
    service_principals: dict[str, list[Any]] = field(default_factory=dict)
    model_subnets: dict[str, Any] = field(default_factory=dict)
    """SageMaker model logical id -> the subnet references of its VPC configuration."""
    endpoint_names: dict[str, str] = field(default_factory=dict)
    """Endpoint config logical id -> the literal name of the endpoint that uses it."""
    scaling_minimums: dict[str, Any] = field(default_factory=dict)
    """Application Auto Scaling ``ResourceId`` -> its scalable target's ``MinCapacity``."""
    paths: PathIndex = field(default_factory=PathIndex)
    """What the network-path rule reads (:mod:`ha_inference.checks.paths`)."""
    route_tables: dict[str, str] = field(default_factory=dict)
    """Subnet logical id -> its route table's logical id."""
    s3_route_tables: set[str] = field(default_factory=set)
    """Route tables with an S3 gateway endpoint (or a default route: NAT, internet gateway)."""

    @classmethod
    def of(cls, stack: cdk.Stack) -> StackIndex:
        index = cls()
        for construct in stack.node.find_all():
            index.paths.add(stack, construct)
            if isinstance(construct, ec2.CfnSubnet):
                az = stack.resolve(construct.availability_zone)
                index.zones[stack.get_logical_id(construct)] = az if isinstance(az, str) else None
            elif isinstance(construct, ec2.CfnSecurityGroup):
                group = stack.get_logical_id(construct)
                index.groups.add(group)
                index.ingress[group] += _as_list(
                    stack.resolve(construct.security_group_ingress) or []
                )
                inline = _as_list(stack.resolve(construct.security_group_egress) or [])
                index.egress[group] += inline
                if inline:
                    index.inline_egress.add(group)
            elif isinstance(construct, ec2.CfnSecurityGroupIngress | ec2.CfnSecurityGroupEgress):
                target = stack.resolve(construct.group_id)
                if isinstance(target, dict) and "Fn::GetAtt" in target:
                    rules = (
                        index.ingress
                        if isinstance(construct, ec2.CfnSecurityGroupIngress)
                        else index.egress
                    )
                    rules[target["Fn::GetAtt"][0]].append(
                        {
                            "cidrIp": stack.resolve(construct.cidr_ip),
                            "cidrIpv6": stack.resolve(construct.cidr_ipv6),
                        }
                    )
            elif isinstance(construct, sagemaker.CfnModel | sagemaker.CfnEndpoint):
                index._add_sagemaker(stack, construct)
            elif isinstance(construct, appscaling.CfnScalableTarget):
                resource_id = stack.resolve(construct.resource_id)
                if isinstance(resource_id, str):
                    index.scaling_minimums[resource_id] = stack.resolve(construct.min_capacity)
            elif isinstance(construct, ec2.CfnSubnetRouteTableAssociation | ec2.CfnVPCEndpoint):
                index._add_route_table(stack, construct)
            elif isinstance(construct, ec2.CfnRoute):
                table = stack.resolve(construct.route_table_id)
                if stack.resolve(construct.destination_cidr_block) == "0.0.0.0/0" and (
                    isinstance(table, dict) and "Ref" in table
                ):
                    index.s3_route_tables.add(table["Ref"])
            elif isinstance(construct, ec2.CfnVPCEndpointServicePermissions):
                service = stack.resolve(construct.service_id)
                if isinstance(service, dict) and "Ref" in service:
                    index.service_principals[service["Ref"]] = _as_list(
                        stack.resolve(construct.allowed_principals) or []
                    )
        return index

    def _add_sagemaker(
        self, stack: cdk.Stack, construct: sagemaker.CfnModel | sagemaker.CfnEndpoint
    ) -> None:
        if isinstance(construct, sagemaker.CfnModel):
            vpc_config = stack.resolve(construct.vpc_config)
            if isinstance(vpc_config, dict):
                self.model_subnets[stack.get_logical_id(construct)] = vpc_config.get("subnets")
            return
        config = stack.resolve(construct.endpoint_config_name)
        name = stack.resolve(construct.endpoint_name)
        if isinstance(config, dict) and "Fn::GetAtt" in config and isinstance(name, str):
            self.endpoint_names[config["Fn::GetAtt"][0]] = name

    def _add_route_table(
        self, stack: cdk.Stack, construct: ec2.CfnSubnetRouteTableAssociation | ec2.CfnVPCEndpoint
    ) -> None:
        if isinstance(construct, ec2.CfnSubnetRouteTableAssociation):
            subnet, table = (
                stack.resolve(construct.subnet_id),
                stack.resolve(construct.route_table_id),
            )
            if isinstance(subnet, dict) and "Ref" in subnet and isinstance(table, dict):
                self.route_tables[subnet["Ref"]] = table.get("Ref", "")
            return
        name = stack.resolve(construct.service_name)
        if isinstance(name, dict) and "Fn::Join" in name:
            name = "".join(p for p in name["Fn::Join"][1] if isinstance(p, str))
        if stack.resolve(construct.vpc_endpoint_type) == "Gateway" and str(name).endswith(".s3"):
            for table in _as_list(stack.resolve(construct.route_table_ids) or []):
                if isinstance(table, dict) and "Ref" in table:
                    self.s3_route_tables.add(table["Ref"])


IndexCache = dict[int, tuple[cdk.Stack, StackIndex]]
"""Stack indexes by the stack object's identity (the stack is kept, so the id stays its own)."""

_INDEXES: ContextVar[IndexCache | None] = ContextVar("_INDEXES", default=None)
"""Stack indexes of the validation run in progress (set by the pack); outside a run, each rule
call walks its stack afresh."""


@contextmanager
def stack_indexes(cache: IndexCache) -> Iterator[None]:
    """Shares the indexes in ``cache`` (one per stack) between the rules run inside."""
    token = _INDEXES.set(cache)
    try:
        yield
    finally:
        _INDEXES.reset(token)


def _index(node: cdk.CfnResource) -> StackIndex:
    stack = cdk.Stack.of(node)
    cache = _INDEXES.get()
    if cache is None:
        return StackIndex.of(stack)
    found = cache.get(id(stack))
    if found is None or found[0] is not stack:
        found = cache[id(stack)] = (stack, StackIndex.of(stack))
    return found[1]


def _subnet_zones(node: cdk.CfnResource, subnet_refs: Any) -> list[str | None]:
    """The AZ of each subnet reference (``None`` when it is not a literal of this stack)."""
    refs = _resolve(node, subnet_refs) or []
    if not isinstance(refs, list):
        return [None]
    zones_by_id = _index(node).zones
    return [
        zones_by_id.get(ref["Ref"]) if isinstance(ref, dict) and "Ref" in ref else None
        for ref in refs
    ]


def _group_ids(node: cdk.CfnResource, group_refs: Any) -> set[str]:
    refs = _resolve(node, group_refs) or []
    return {
        ref["Fn::GetAtt"][0]
        for ref in _as_list(refs)
        if isinstance(ref, dict) and "Fn::GetAtt" in ref
    }


def _spans_two_zones(zones: list[str | None]) -> NagRuleCompliance:
    """Compliant when the subnets are in two or more AZs; unknown AZs count as distinct."""
    known = {z for z in zones if z is not None}
    unknown = sum(1 for z in zones if z is None)
    if len(known) >= 2 or (len(zones) >= 2 and unknown):
        return COMPLIANT
    return NON_COMPLIANT


def _json_document(node: cdk.CfnResource, value: Any) -> Any:
    """A JSON policy given as a string that may embed tokens (``Fn::Join``), tokens blanked."""
    resolved = _resolve(node, value)
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        separator, parts = resolved["Fn::Join"]
        resolved = separator.join(p if isinstance(p, str) else "TOKEN" for p in parts)
    if isinstance(resolved, str):
        return json.loads(resolved)
    return resolved


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _attribute(attributes: Any, key: str) -> str | None:
    for attribute in attributes or []:
        if isinstance(attribute, dict) and attribute.get("key") == key:
            value = attribute.get("value")
            return str(value).lower() if value is not None else None
    return None


def _open_egress(node: cdk.CfnResource, group_refs: Any) -> bool:
    """Whether any of the security groups (of this stack) allows egress to the internet: an
    inline or separate rule to 0.0.0.0/0 or ::/0, or no inline egress rule at all, which keeps
    EC2's default allow-all rule. Groups that are not in the stack cannot be judged (False)."""
    index = _index(node)
    for group in _group_ids(node, group_refs) & index.groups:
        if group not in index.inline_egress or any(_to_internet(r) for r in index.egress[group]):
            return True
    return False


def _to_internet(rule: Any) -> bool:
    return isinstance(rule, dict) and (
        "0.0.0.0/0" in (rule.get("cidrIp"), rule.get("CidrIp"))
        or "::/0" in (rule.get("cidrIpv6"), rule.get("CidrIpv6"))
    )


# --------------------------------------------------------------------------- SageMaker


def sagemaker_variant_instance_count(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, sagemaker.CfnEndpointConfig):
        return NOT_APPLICABLE
    findings = []
    for variant in _as_list(_resolve(node, node.production_variants)):
        if not isinstance(variant, dict) or "serverlessConfig" in variant:
            continue
        count = variant.get("initialInstanceCount")
        if isinstance(count, int) and count < 2:
            findings.append(f"{variant.get('variantName', '?')}:{count}")
    return findings or COMPLIANT


def sagemaker_variant_fallback(node: cdk.CfnResource) -> RuleResult:
    """Variants with one instance type where the app asked for fallbacks."""
    if not isinstance(node, sagemaker.CfnEndpointConfig) or not instance_fallbacks_required(node):
        return NOT_APPLICABLE
    findings = []
    for variant in _as_list(_resolve(node, node.production_variants)):
        if not isinstance(variant, dict) or "serverlessConfig" in variant:
            continue
        pools = variant.get("instancePools")
        if not isinstance(pools, list) or len(pools) < 2:
            findings.append(str(variant.get("variantName", "?")))
    return findings or COMPLIANT


def _tolerated(node: cdk.CfnResource) -> tuple[int, dict[str, Any]]:
    """The most AZ losses a construct above ``node`` claims to carry the full load through
    (``ha-inference:az-loss-tolerance``; 0 without a claim), and the nearest claim that names
    an endpoint's full load."""
    claims = [c for c in declared(node, AZ_LOSS_TOLERANCE_METADATA) if isinstance(c, dict)]
    tolerated = max((c.get("toleratedAzLosses", 0) for c in claims), default=0)
    endpoint = next((c for c in reversed(claims) if "fullLoadInstances" in c), {})
    return (tolerated if isinstance(tolerated, int) else 0), endpoint


def _zone_count(zones: list[str | None]) -> int:
    """AZs spanned: distinct known ones, each unknown counted as its own."""
    return len({z for z in zones if z is not None}) + sum(1 for z in zones if z is None)


def _model_id(value: Any) -> str | None:
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    return None


def sagemaker_full_load_after_az_losses(node: cdk.CfnResource) -> RuleResult:
    """Under a claim to tolerate N AZ losses, each variant's instance count and autoscaling
    floor leave the full load after losing any N of its AZs (worst case, even spread)."""
    if not isinstance(node, sagemaker.CfnEndpointConfig):
        return NOT_APPLICABLE
    tolerated, claim = _tolerated(node)
    if tolerated < 1:
        return NOT_APPLICABLE
    index = _index(node)
    name = index.endpoint_names.get(cdk.Stack.of(node).get_logical_id(node))
    findings = []
    for variant in _as_list(_resolve(node, node.production_variants)):
        if not isinstance(variant, dict) or "serverlessConfig" in variant:
            continue
        model = _model_id(variant.get("modelName"))
        subnets = index.model_subnets.get(model or "")
        zones = _zone_count(_subnet_zones(node, subnets)) if subnets else 0
        zones = zones or claim.get("availabilityZones", 0)
        if not isinstance(zones, int) or zones < 1:
            continue
        full_load = claim.get("fullLoadInstances", default_full_load(zones))
        variant_name = str(variant.get("variantName", "?"))
        count = variant.get("initialInstanceCount")
        if isinstance(count, int) and remaining_after(count, zones, tolerated) < full_load:
            findings.append(f"{variant_name}:instances")
        minimum = index.scaling_minimums.get(f"endpoint/{name}/variant/{variant_name}")
        if isinstance(minimum, int) and remaining_after(minimum, zones, tolerated) < full_load:
            findings.append(f"{variant_name}:autoscaling-minimum")
    return findings or COMPLIANT


def _subnet_refs(node: cdk.CfnResource) -> Any:
    """The subnet references of a zonal resource (``None`` when it has none)."""
    if isinstance(node, lambda_.CfnFunction | sagemaker.CfnModel):
        vpc_config = _resolve(node, node.vpc_config)
        if not isinstance(vpc_config, dict):
            return None
        return vpc_config.get("subnetIds") or vpc_config.get("subnets")
    if isinstance(node, ec2.CfnVPCEndpoint | aoss.CfnVpcEndpoint):
        return node.subnet_ids
    if isinstance(node, elbv2.CfnLoadBalancer):
        subnets = _resolve(node, node.subnets)
        if subnets is None:
            mappings = _resolve(node, node.subnet_mappings) or []
            subnets = [m.get("subnetId") for m in mappings if isinstance(m, dict)]
        return subnets
    return None


def zones_for_claimed_losses(node: cdk.CfnResource) -> RuleResult:
    """Under a claim to tolerate N >= 2 AZ losses, a zonal resource spans more than N AZs."""
    tolerated, _ = _tolerated(node)
    if tolerated < 2:
        return NOT_APPLICABLE
    if isinstance(node, ec2.CfnVPCEndpoint) and not _is_interface_endpoint(node):
        return NOT_APPLICABLE
    refs = _subnet_refs(node)
    if not refs:
        return NOT_APPLICABLE
    return COMPLIANT if _zone_count(_subnet_zones(node, refs)) > tolerated else NON_COMPLIANT


def sagemaker_model_open_egress(node: cdk.CfnResource) -> RuleResult:
    """The model's security groups send to the internet (0.0.0.0/0, ::/0, or EC2's default)."""
    if not isinstance(node, sagemaker.CfnModel):
        return NOT_APPLICABLE
    vpc_config = _resolve(node, node.vpc_config)
    if not isinstance(vpc_config, dict):
        return NOT_APPLICABLE
    return NON_COMPLIANT if _open_egress(node, vpc_config.get("securityGroupIds")) else COMPLIANT


def sagemaker_model_network_isolation(node: cdk.CfnResource) -> RuleResult:
    """A model whose artifacts come from S3 runs its container without network isolation."""
    if not isinstance(node, sagemaker.CfnModel):
        return NOT_APPLICABLE
    containers = [
        _resolve(node, node.primary_container),
        *_as_list(_resolve(node, node.containers) or []),
    ]
    from_s3 = any(
        isinstance(c, dict) and (c.get("modelDataUrl") or c.get("modelDataSource"))
        for c in containers
    )
    if not from_s3:
        return NOT_APPLICABLE
    return COMPLIANT if _resolve(node, node.enable_network_isolation) is True else NON_COMPLIANT


def sagemaker_model_subnets(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, sagemaker.CfnModel):
        return NOT_APPLICABLE
    vpc_config = _resolve(node, node.vpc_config)
    if not isinstance(vpc_config, dict):
        return NOT_APPLICABLE
    return _spans_two_zones(_subnet_zones(node, vpc_config.get("subnets")))


# --------------------------------------------------------------------------- load balancers


def _nlb_attribute_on(node: cdk.CfnResource, key: str) -> RuleResult:
    """Compliant when a Network Load Balancer sets attribute ``key`` to ``true`` (both attributes
    checked here default to ``false``)."""
    if not isinstance(node, elbv2.CfnLoadBalancer) or _resolve(node, node.type) != "network":
        return NOT_APPLICABLE
    enabled = _attribute(_resolve(node, node.load_balancer_attributes), key)
    return COMPLIANT if enabled == "true" else NON_COMPLIANT


def nlb_cross_zone(node: cdk.CfnResource) -> RuleResult:
    return _nlb_attribute_on(node, "load_balancing.cross_zone.enabled")


def nlb_zonal_shift(node: cdk.CfnResource) -> RuleResult:
    return _nlb_attribute_on(node, "zonal_shift.config.enabled")


def target_group_cross_zone(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, elbv2.CfnTargetGroup):
        return NOT_APPLICABLE
    setting = _attribute(
        _resolve(node, node.target_group_attributes), "load_balancing.cross_zone.enabled"
    )
    return NON_COMPLIANT if setting == "false" else COMPLIANT


def load_balancer_zones(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, elbv2.CfnLoadBalancer):
        return NOT_APPLICABLE
    subnets = _resolve(node, node.subnets)
    if subnets is None:
        mappings = _resolve(node, node.subnet_mappings) or []
        subnets = [m.get("subnetId") for m in mappings if isinstance(m, dict)]
    return _spans_two_zones(_subnet_zones(node, subnets))


# --------------------------------------------------------------------------- VPC endpoints


def _is_interface_endpoint(node: cdk.CfnResource) -> bool:
    return (
        isinstance(node, ec2.CfnVPCEndpoint)
        and _resolve(node, node.vpc_endpoint_type) == "Interface"
    )


def interface_endpoint_zones(node: cdk.CfnResource) -> RuleResult:
    if not _is_interface_endpoint(node):
        return NOT_APPLICABLE
    return _spans_two_zones(_subnet_zones(node, node.subnet_ids))  # type: ignore[attr-defined]


def interface_endpoint_policy(node: cdk.CfnResource) -> RuleResult:
    if not _is_interface_endpoint(node):
        return NOT_APPLICABLE
    document = _json_document(node, node.policy_document)  # type: ignore[attr-defined]
    if not isinstance(document, dict):
        return ["no-policy"]
    for statement in _as_list(document.get("Statement", [])):
        if statement.get("Effect") != "Allow" or statement.get("Condition"):
            continue
        actions = _as_list(statement.get("Action", []))
        resources = _as_list(statement.get("Resource", []))
        if "*" in actions and "*" in resources:
            return ["allows-everything"]
    return COMPLIANT


def interface_endpoint_open_egress(node: cdk.CfnResource) -> RuleResult:
    """The endpoint's security groups send to the internet; an endpoint never starts traffic."""
    if not _is_interface_endpoint(node):
        return NOT_APPLICABLE
    groups = node.security_group_ids  # type: ignore[attr-defined]
    return NON_COMPLIANT if _open_egress(node, groups) else COMPLIANT


def interface_endpoint_open_ingress(node: cdk.CfnResource) -> RuleResult:
    """The endpoint's security groups admit 0.0.0.0/0 or ::/0."""
    if not _is_interface_endpoint(node):
        return NOT_APPLICABLE
    index = _index(node)
    groups = _group_ids(node, node.security_group_ids)  # type: ignore[attr-defined]
    if any(_to_internet(rule) for group in groups for rule in index.ingress.get(group, [])):
        return NON_COMPLIANT
    return COMPLIANT


# --------------------------------------------------------------------------- PrivateLink

_REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")


def _service_principals(node: cdk.CfnResource) -> list[Any] | None:
    """The allowed principals of an endpoint service (its ``VPCEndpointServicePermissions`` in
    the same stack), or ``None`` when it has none."""
    return _index(node).service_principals.get(cdk.Stack.of(node).get_logical_id(node))


def endpoint_service_cross_region(node: cdk.CfnResource) -> RuleResult:
    """An endpoint service that offers other Regions names them, and gates who connects."""
    if not isinstance(node, ec2.CfnVPCEndpointService):
        return NOT_APPLICABLE
    regions = _resolve(node, node.supported_regions)
    if not regions:
        return NOT_APPLICABLE
    findings = []
    if not isinstance(regions, list) or not all(
        isinstance(r, str) and _REGION_NAME.match(r) for r in regions
    ):
        findings.append("regions-not-explicit")
    if _resolve(node, node.acceptance_required) is not True:
        principals = _service_principals(node)
        if not principals or any("*" in json.dumps(p) for p in principals):
            findings.append("no-acceptance-or-principals")
    return findings or COMPLIANT


# --------------------------------------------------------------------------- OpenSearch Serverless


def collection_standby_replicas(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, aoss.CfnCollection):
        return NOT_APPLICABLE
    return NON_COMPLIANT if _resolve(node, node.standby_replicas) == "DISABLED" else COMPLIANT


def collection_network_public(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, aoss.CfnSecurityPolicy) or _resolve(node, node.type) != "network":
        return NOT_APPLICABLE
    rule_sets = _json_document(node, node.policy)
    for rule_set in _as_list(rule_sets):
        if isinstance(rule_set, dict) and rule_set.get("AllowFromPublic") is True:
            return NON_COMPLIANT
    return COMPLIANT


def collection_endpoint_zones(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, aoss.CfnVpcEndpoint):
        return NOT_APPLICABLE
    return _spans_two_zones(_subnet_zones(node, node.subnet_ids))


# --------------------------------------------------------------------------- Lambda


def lambda_zones(node: cdk.CfnResource) -> RuleResult:
    if not isinstance(node, lambda_.CfnFunction):
        return NOT_APPLICABLE
    vpc_config = _resolve(node, node.vpc_config)
    if not isinstance(vpc_config, dict) or not vpc_config.get("subnetIds"):
        return NOT_APPLICABLE
    return _spans_two_zones(_subnet_zones(node, vpc_config["subnetIds"]))


def lambda_network_path(node: cdk.CfnResource) -> RuleResult:
    """A VPC function granted a Bedrock model, a SageMaker endpoint or a collection whose
    security groups cannot reach the endpoint of that service in its VPC."""
    if not isinstance(node, lambda_.CfnFunction):
        return NOT_APPLICABLE
    vpc_config = _resolve(node, node.vpc_config)
    if not isinstance(vpc_config, dict) or not vpc_config.get("subnetIds"):
        return NOT_APPLICABLE
    return _index(node).paths.unreachable_services(cdk.Stack.of(node), node) or COMPLIANT


# --------------------------------------------------------------------------- AgentCore


def _runtime_properties(node: cdk.CfnResource) -> dict[str, Any]:
    """A runtime's resolved properties. aws-cdk-lib's ``Runtime`` sets them lazily, which the
    L1's own getters cannot read back through jsii; its ``cfnProperties`` (protected in
    TypeScript, ``_cfn_properties`` here) can."""
    properties = _resolve(node, node._cfn_properties)
    return properties if isinstance(properties, dict) else {}


def _runtime_vpc(node: cdk.CfnResource) -> dict[str, Any] | None:
    """The ``NetworkModeConfig`` of a VPC-mode runtime, else ``None``."""
    if not isinstance(node, agentcore.CfnRuntime):
        return None
    network = _runtime_properties(node).get("networkConfiguration")
    if not isinstance(network, dict) or network.get("networkMode") != "VPC":
        return None
    config = network.get("networkModeConfig")
    return config if isinstance(config, dict) else None


def agent_runtime_zones(node: cdk.CfnResource) -> RuleResult:
    """A VPC-mode runtime in fewer than two AZs, or (where the construct recorded the account's
    AZ IDs) with a subnet in an AZ whose AZ ID does not support VPC mode."""
    config = _runtime_vpc(node)
    if config is None:
        return NOT_APPLICABLE
    zones = _subnet_zones(node, config.get("subnets"))
    if _spans_two_zones(zones) is NON_COMPLIANT:
        return ["fewer-than-two-azs"]
    findings = []
    for placement in declared(node, ZONE_PLACEMENT_METADATA):
        if not isinstance(placement, dict) or placement.get("service") != AGENTCORE_RUNTIME:
            continue
        ids, supported = placement.get("zoneIds", {}), set(placement.get("supportedAzIds", []))
        findings += [
            f"{zone}-{ids[zone]}"
            for zone in zones
            if zone is not None and zone in ids and ids[zone] not in supported
        ]
    return sorted(set(findings)) or COMPLIANT


def agent_runtime_s3_path(node: cdk.CfnResource) -> RuleResult:
    """A VPC-mode runtime with a subnet whose route table has no S3 gateway endpoint and no
    default route (NAT or internet gateway): it cannot fetch its code or image at start."""
    config = _runtime_vpc(node)
    if config is None:
        return NOT_APPLICABLE
    index = _index(node)
    findings = []
    for ref in _as_list(_resolve(node, config.get("subnets")) or []):
        subnet = ref.get("Ref") if isinstance(ref, dict) else None
        table = index.route_tables.get(subnet or "")
        if subnet is None or table is None:
            continue  # imported: not judged
        if table not in index.s3_route_tables:
            findings.append(subnet)
    return sorted(findings) or COMPLIANT


def agent_runtime_network_path(node: cdk.CfnResource) -> RuleResult:
    """A VPC-mode runtime granted a model, a collection, its logs or an image pull whose
    security groups cannot reach the interface endpoint of that service in its VPC."""
    config = _runtime_vpc(node)
    if config is None or not isinstance(node, agentcore.CfnRuntime):
        return NOT_APPLICABLE
    role = _runtime_properties(node).get("roleArn")
    role_id = role["Fn::GetAtt"][0] if isinstance(role, dict) and "Fn::GetAtt" in role else None
    if role_id is None:
        return NOT_APPLICABLE
    return (
        _index(node).paths.unreachable(
            role_id,
            subnets=_as_list(_resolve(node, config.get("subnets")) or []),
            groups=_as_list(_resolve(node, config.get("securityGroups")) or []),
            table=RUNTIME_SERVICE_ACTIONS,
        )
        or COMPLIANT
    )


# --------------------------------------------------------------------------- Bedrock IAM

_INVOKE = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
_BEDROCK_ARN = re.compile(
    r"^arn:[^:]+:bedrock:(?P<region>[^:]*):[^:]*:(?P<kind>[a-z-]+)/(?P<name>.+)$"
)
_PROFILE_CONDITION = "bedrock:inferenceprofilearn"


def _policy_documents(node: cdk.CfnResource) -> list[Any]:
    if isinstance(node, iam.CfnPolicy | iam.CfnManagedPolicy):
        return [_resolve(node, node.policy_document)]
    if isinstance(node, iam.CfnRole):
        return [
            p.get("policyDocument")
            for p in _as_list(_resolve(node, node.policies) or [])
            if isinstance(p, dict)
        ]
    return []


def _invoke_statements(node: cdk.CfnResource) -> Iterable[dict[str, Any]]:
    for document in _policy_documents(node):
        if not isinstance(document, dict):
            continue
        for statement in _as_list(document.get("Statement", [])):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            actions = [a for a in _as_list(statement.get("Action", [])) if isinstance(a, str)]
            if any(
                fnmatch.fnmatchcase(invoke.lower(), a.lower())
                for a in actions
                for invoke in _INVOKE
            ):
                yield statement


def bedrock_region_wildcard(node: cdk.CfnResource) -> RuleResult:
    findings = []
    for statement in _invoke_statements(node):
        for resource in _as_list(statement.get("Resource", [])):
            if not isinstance(resource, str):
                continue
            match = _BEDROCK_ARN.match(resource)
            if resource == "*" or (match and "*" in match["region"]):
                findings.append(resource.replace(":", "-") if resource != "*" else "Resource-*")
    return sorted(set(findings)) or (COMPLIANT if _policy_documents(node) else NOT_APPLICABLE)


def bedrock_model_without_profile_condition(node: cdk.CfnResource) -> RuleResult:
    """Foundation models granted so that callers could bypass the inference profile."""
    statements = list(_invoke_statements(node))
    if not statements:
        return NOT_APPLICABLE
    stack_region = cdk.Stack.of(node).region
    profiled_models: set[str] = set()
    for statement in statements:
        for resource in _as_list(statement.get("Resource", [])):
            match = _BEDROCK_ARN.match(resource) if isinstance(resource, str) else None
            if match and match["kind"] == "inference-profile":
                profiled_models.add(match["name"].split(".", 1)[-1])
    findings = []
    for statement in statements:
        conditions = statement.get("Condition", {}) or {}
        if any(key.lower() == _PROFILE_CONDITION for block in conditions.values() for key in block):
            continue
        for resource in _as_list(statement.get("Resource", [])):
            match = _BEDROCK_ARN.match(resource) if isinstance(resource, str) else None
            if not match or match["kind"] != "foundation-model":
                continue
            elsewhere = not is_unresolved(stack_region) and match["region"] != stack_region
            if match["name"] in profiled_models or elsewhere:
                findings.append(f"{match['region'] or 'no-region'}/{match['name']}")
    return sorted(set(findings)) or COMPLIANT


_POLICY_TYPES = frozenset({"AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"})
_ZONAL_TYPES = frozenset(
    {
        "AWS::Lambda::Function",
        "AWS::EC2::VPCEndpoint",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::OpenSearchServerless::VpcEndpoint",
        "AWS::SageMaker::Model",
    }
)

RULES: tuple[Rule, ...] = (
    Rule(
        suffix="SM1",
        resource_types=frozenset({"AWS::SageMaker::EndpointConfig"}),
        info="A SageMaker production variant runs fewer than 2 instances.",
        explanation=(
            "With one instance an endpoint lives in one AZ and stops serving when that AZ or "
            "instance fails. SageMaker spreads 2 or more instances over at least 2 AZs; run at "
            "least one per AZ you use."
        ),
        check=sagemaker_variant_instance_count,
    ),
    Rule(
        suffix="SM6",
        resource_types=frozenset({"AWS::SageMaker::EndpointConfig"}),
        info=(
            "A SageMaker variant claimed to tolerate N AZ losses cannot carry its full load "
            "after losing N AZs."
        ),
        explanation=(
            "The construct above the variant claims (tolerated_az_losses) that its instances "
            "keep the full load after losing that many AZs, with nothing to wait for. With the "
            "instances spread as evenly as SageMaker can, the worst-case survivors of the "
            "InitialInstanceCount, and of the autoscaling floor (MinCapacity), must hold the "
            "claimed full_load_instances; anything less waits for a scale-out, a control-plane "
            "call that an AZ-wide event throttles. Raise the count, or lower the claim. "
            "Findings: <variant>:instances, <variant>:autoscaling-minimum."
        ),
        check=sagemaker_full_load_after_az_losses,
    ),
    Rule(
        suffix="SM2",
        resource_types=frozenset({"AWS::SageMaker::Model"}),
        info="A SageMaker model's VPC subnets are in fewer than 2 AZs.",
        explanation=(
            "SageMaker places endpoint instances only in the AZs of the model's subnets; subnets "
            "in one AZ pin every instance there, whatever the instance count."
        ),
        check=sagemaker_model_subnets,
    ),
    Rule(
        suffix="SM3",
        resource_types=frozenset({"AWS::SageMaker::EndpointConfig"}),
        info="A SageMaker variant has one instance type where the app requires fallbacks.",
        explanation=(
            "The app declared require_instance_fallbacks: when a GPU type runs out of capacity at "
            "create, scale-out or replacement, a variant with one type cannot refill the AZ that "
            "lost its instance. List two or more types in InstancePools, in priority order "
            "(MultiAzSageMakerEndpoint fallback_instance_types)."
        ),
        check=sagemaker_variant_fallback,
    ),
    Rule(
        suffix="SM4",
        resource_types=frozenset({"AWS::SageMaker::Model"}),
        info="A SageMaker model's security group allows egress to the internet.",
        explanation=(
            "A model's instances need HTTPS to Amazon S3 for the model data and nothing else "
            "(SageMaker pulls the image itself); 0.0.0.0/0 egress, or a group without egress "
            "rules (EC2's default allows all), becomes open internet access for a third-party "
            "container as soon as the VPC gets a NAT gateway. Allow the S3 prefix list only."
        ),
        check=sagemaker_model_open_egress,
    ),
    Rule(
        suffix="SM5",
        resource_types=frozenset({"AWS::SageMaker::Model"}),
        info="A SageMaker model with model data in S3 runs without network isolation.",
        explanation=(
            "SageMaker downloads ModelDataUrl before the container starts, so a container "
            "served from S3 needs no network at all; with EnableNetworkIsolation off, a "
            "third-party inference container can reach whatever the VPC reaches. Turn it on, "
            "or acknowledge the finding for a container that must call out."
        ),
        check=sagemaker_model_network_isolation,
    ),
    Rule(
        suffix="ELB1",
        resource_types=frozenset({"AWS::ElasticLoadBalancingV2::LoadBalancer"}),
        info="A Network Load Balancer has cross-zone load balancing off.",
        explanation=(
            "Cross-zone is off by default on NLBs: each AZ's node then sends only to targets in "
            "its own AZ, so an AZ with few or unhealthy targets drops or overloads traffic that "
            "other AZs could serve."
        ),
        check=nlb_cross_zone,
    ),
    Rule(
        suffix="ELB2",
        resource_types=frozenset({"AWS::ElasticLoadBalancingV2::TargetGroup"}),
        info="A target group turns cross-zone load balancing off.",
        explanation=(
            "The target-group setting overrides the load balancer's; false confines each load "
            "balancer node to targets in its own AZ."
        ),
        check=target_group_cross_zone,
    ),
    Rule(
        suffix="ELB3",
        resource_types=frozenset({"AWS::ElasticLoadBalancingV2::LoadBalancer"}),
        info="A load balancer has subnets in fewer than 2 AZs.",
        explanation=(
            "A load balancer has a node only in the AZs of its subnets; with one AZ, losing it "
            "loses the entry point."
        ),
        check=load_balancer_zones,
    ),
    Rule(
        suffix="ELB4",
        resource_types=frozenset({"AWS::ElasticLoadBalancingV2::LoadBalancer"}),
        info="A Network Load Balancer has zonal shift off.",
        explanation=(
            "Without zonal_shift.config.enabled nobody can move the load balancer's traffic away "
            "from an impaired AZ in one action (ARC zonal shift), and zonal autoshift cannot do "
            "it either; health checks alone miss gray failures that keep targets passing."
        ),
        check=nlb_zonal_shift,
    ),
    Rule(
        suffix="VPCE1",
        resource_types=frozenset({"AWS::EC2::VPCEndpoint"}),
        info="An interface VPC endpoint has subnets in fewer than 2 AZs.",
        explanation=(
            "An interface endpoint has one network interface per subnet; callers in an AZ without "
            "one cross AZs, and losing the only AZ cuts the service off."
        ),
        check=interface_endpoint_zones,
    ),
    Rule(
        suffix="VPCE2",
        resource_types=frozenset({"AWS::EC2::VPCEndpoint"}),
        info=(
            "An interface VPC endpoint has no policy, or one that allows every action on every "
            "resource."
        ),
        explanation=(
            "Without a policy an endpoint allows full access to the service. Scope it to the "
            "actions and resources the workload needs, such as invoking its inference profile."
        ),
        check=interface_endpoint_policy,
    ),
    Rule(
        suffix="VPCE3",
        resource_types=frozenset({"AWS::EC2::VPCEndpoint"}),
        info="An interface VPC endpoint's security group admits 0.0.0.0/0 or ::/0.",
        explanation=(
            "Endpoints serve private callers; allow the calling security groups, never every "
            "address."
        ),
        check=interface_endpoint_open_ingress,
    ),
    Rule(
        suffix="VPCE4",
        resource_types=frozenset({"AWS::EC2::VPCEndpoint"}),
        info="An interface endpoint's security group allows egress to the internet.",
        explanation=(
            "An interface endpoint only answers connections, so its security group needs no "
            "egress; 0.0.0.0/0 egress (or no egress rule, which keeps EC2's default allow-all) "
            "is an open path from the endpoint's network interfaces. Remove the egress rules."
        ),
        check=interface_endpoint_open_egress,
    ),
    Rule(
        suffix="AOSS1",
        resource_types=frozenset({"AWS::OpenSearchServerless::Collection"}),
        info="An OpenSearch Serverless collection has standby replicas disabled.",
        explanation=(
            "Without standby replicas a collection runs without the standby nodes in another AZ "
            "that keep it serving through the loss of an AZ."
        ),
        check=collection_standby_replicas,
    ),
    Rule(
        suffix="AOSS2",
        resource_types=frozenset({"AWS::OpenSearchServerless::SecurityPolicy"}),
        info="An OpenSearch Serverless network policy allows public access.",
        explanation=(
            "AllowFromPublic overrides VPC rules for the same collection; reach collections "
            "through an OpenSearch Serverless VPC endpoint instead."
        ),
        check=collection_network_public,
    ),
    Rule(
        suffix="AOSS3",
        resource_types=frozenset({"AWS::OpenSearchServerless::VpcEndpoint"}),
        info="An OpenSearch Serverless VPC endpoint has subnets in fewer than 2 AZs.",
        explanation=(
            "The collection is reachable only through the endpoint's subnets; one AZ makes that AZ"
            " a single point of failure."
        ),
        check=collection_endpoint_zones,
    ),
    Rule(
        suffix="LAMBDA1",
        resource_types=frozenset({"AWS::Lambda::Function"}),
        info="A Lambda function in a VPC has subnets in fewer than 2 AZs.",
        explanation=(
            "Lambda runs a VPC function only in the AZs of its subnets (Security Hub Lambda.5); "
            "one AZ stops the function when that AZ fails."
        ),
        check=lambda_zones,
    ),
    Rule(
        suffix="LAMBDA2",
        resource_types=frozenset({"AWS::Lambda::Function"}),
        info=(
            "A VPC Lambda function is granted a model, a collection or an agent runtime it has no "
            "network path to."
        ),
        explanation=(
            "A grant writes IAM only. In a VPC the function reaches Bedrock, SageMaker Runtime "
            "and OpenSearch Serverless through the VPC's interface or collection endpoint, and "
            "only if the endpoint's security groups admit it on HTTPS and its own let it out; "
            "without that the calls time out after deploy. Admit it, e.g. "
            "endpoints.connections.allow_default_port_from(function). The finding names the "
            "service: bedrock-runtime, sagemaker-runtime, aoss, or bedrock-agentcore for a "
            "caller of an agent runtime. Judged within one stack: imported roles, groups or "
            "endpoints are not judged."
        ),
        check=lambda_network_path,
    ),
    Rule(
        suffix="AGENT1",
        resource_types=frozenset({"AWS::BedrockAgentCore::Runtime"}),
        info=(
            "An AgentCore runtime in VPC mode has subnets in fewer than 2 AZs, or in an AZ whose "
            "AZ ID does not support VPC mode."
        ),
        explanation=(
            "A runtime's network interfaces live only in its subnets' AZs: one AZ makes that AZ "
            "a single point of failure. VPC mode is offered only in some AZ IDs per Region; a "
            "subnet elsewhere fails the deploy late and rolls the stack back. The finding names "
            "the AZ and its ID (judged where MultiAzAgentRuntime recorded the account's AZ IDs)."
        ),
        check=agent_runtime_zones,
    ),
    Rule(
        suffix="AGENT2",
        resource_types=frozenset({"AWS::BedrockAgentCore::Runtime"}),
        info="An AgentCore runtime in VPC mode has a subnet without a path to Amazon S3.",
        explanation=(
            "Runtimes created from 2026-05-05 on get no service-managed S3 gateway: they fetch "
            "their code package or image layers through the VPC. Put an S3 gateway endpoint on "
            "every runtime subnet's route table (or route it through NAT). The finding names the "
            "subnet; imported subnets are not judged."
        ),
        check=agent_runtime_s3_path,
    ),
    Rule(
        suffix="AGENT3",
        resource_types=frozenset({"AWS::BedrockAgentCore::Runtime"}),
        info=("An AgentCore runtime in VPC mode is granted a service it has no network path to."),
        explanation=(
            "In VPC mode the runtime's own calls (models, collections, its logs, image pulls) "
            "leave through its security groups to the VPC's interface endpoints; a grant without "
            "a path times out after deploy. The finding names the service (bedrock-runtime, aoss, "
            "logs, ecr.api, ecr.dkr...). Judged within one stack."
        ),
        check=agent_runtime_network_path,
    ),
    Rule(
        suffix="BR1",
        resource_types=_POLICY_TYPES,
        info="A Bedrock invoke permission uses a Region wildcard.",
        explanation=(
            "Grant the inference profile in its source Region and the model in exactly the "
            "destination Regions the profile routes to; a wildcard grants every Region, present "
            "and future."
        ),
        check=bedrock_region_wildcard,
    ),
    Rule(
        suffix="BR2",
        resource_types=_POLICY_TYPES,
        info=(
            "A Bedrock foundation model is granted without a bedrock:InferenceProfileArn condition."
        ),
        explanation=(
            "When a role may use an inference profile, or a model outside its own Region, the "
            "model statement must be conditioned on bedrock:InferenceProfileArn; otherwise callers"
            " can bypass the profile and its routing."
        ),
        check=bedrock_model_without_profile_condition,
    ),
    Rule(
        suffix="VPCE5",
        resource_types=frozenset({"AWS::EC2::VPCEndpointService"}),
        info=(
            "A cross-Region endpoint service does not name its Regions, or lets any principal "
            "connect unreviewed."
        ),
        explanation=(
            "Cross-Region PrivateLink (SupportedRegions) exposes a service beyond its Region. "
            "List the consumer Regions by name (not a deploy-time value or a wildcard), and "
            "either require acceptance of each connection or allow only named principals "
            "(VPCEndpointServicePermissions without '*'); otherwise any account could connect "
            "from any offered Region without review."
        ),
        check=endpoint_service_cross_region,
    ),
    Rule(
        suffix="AZ1",
        resource_types=_ZONAL_TYPES,
        info=("A zonal resource claimed to tolerate N AZ losses has subnets in N or fewer AZs."),
        explanation=(
            "The construct above it claims (tolerated_az_losses of 2) that it keeps serving "
            "after losing that many AZs; a Lambda function, interface or collection endpoint, "
            "load balancer or SageMaker model serves only in the AZs of its subnets, so it needs "
            "subnets in at least one AZ more than the losses it claims to tolerate. Select "
            "subnets in more AZs, or lower the claim."
        ),
        check=zones_for_claimed_losses,
    ),
)
"""The GENREL05-BP01 rules, each applied as ``HaInference-<suffix>``."""
