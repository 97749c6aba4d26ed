"""Whether a Lambda function granted a model or a collection can reach the endpoint that serves it.

A grant (``profile.grant_invoke(fn)``, ``collection.grant_read(fn)``) writes IAM only. A function
in a VPC reaches Bedrock, SageMaker Runtime or an OpenSearch Serverless collection through the
interface endpoint (or collection endpoint) of that VPC, and only if the endpoint's security
groups admit it on HTTPS and its own security groups let it out. A missing rule synthesizes and
deploys, and fails at run time as connection timeouts. :func:`unreachable_services` finds those
functions from the synthesized tree of one stack, the way EC2 evaluates security groups:

* a group's rules are its inline rules plus every ``AWS::EC2::SecurityGroupIngress``/``Egress``
  resource that names it; a group without inline egress rules keeps EC2's default allow-all
  egress;
* a rule covers HTTPS when its protocol is ``tcp``/``6`` with 443 in its port range, or ``-1``;
* a peer matches by security group, or by a CIDR block that covers every subnet of the other
  side (0.0.0.0/0 covers all).

What one stack cannot show is never a finding: a role, security group or subnet imported by id,
an endpoint in another stack or outside the app, a VPC without an endpoint for the service in
this stack (its callers may go through NAT).
"""

from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchserverless as aoss
from constructs import IConstruct

HTTPS = 443
BEDROCK_RUNTIME = "bedrock-runtime"
SAGEMAKER_RUNTIME = "sagemaker-runtime"
COLLECTION = "aoss"
AGENTCORE = "bedrock-agentcore"
LOGS = "logs"
ECR_API = "ecr.api"
ECR_DOCKER = "ecr.dkr"

SERVICE_ACTIONS: dict[str, tuple[str, ...]] = {
    BEDROCK_RUNTIME: ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"),
    SAGEMAKER_RUNTIME: (
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
        "sagemaker:InvokeEndpointAsync",
    ),
    COLLECTION: ("aoss:APIAccessAll",),
    AGENTCORE: ("bedrock-agentcore:InvokeAgentRuntime",),
}
"""The IAM actions that mean a principal calls the service's data plane (Converse is authorized
as bedrock:InvokeModel; every OpenSearch Serverless data-plane request as aoss:APIAccessAll;
invoking an agent runtime as bedrock-agentcore:InvokeAgentRuntime)."""

RUNTIME_SERVICE_ACTIONS: dict[str, tuple[str, ...]] = {
    **SERVICE_ACTIONS,
    LOGS: ("logs:PutLogEvents",),
    ECR_API: ("ecr:GetAuthorizationToken",),
    ECR_DOCKER: ("ecr:BatchGetImage",),
}
"""What an AgentCore runtime in VPC mode calls through the VPC: the data planes, and its own
logs and image pulls (a Lambda function's logs and code never take its VPC)."""

_INTERFACE_SERVICES = {
    BEDROCK_RUNTIME: re.compile(r"\.bedrock-runtime(-fips)?$"),
    SAGEMAKER_RUNTIME: re.compile(r"\.sagemaker\.runtime(-fips)?$"),
    AGENTCORE: re.compile(r"\.bedrock-agentcore$"),
    LOGS: re.compile(r"\.logs$"),
    ECR_API: re.compile(r"\.ecr\.api$"),
    ECR_DOCKER: re.compile(r"\.ecr\.dkr$"),
}
"""Interface endpoint service names (``com.amazonaws.<region>.<service>``) by data plane."""


def key(value: Any) -> str:
    """A resolved value as a comparable string."""
    return json.dumps(value, sort_keys=True, default=str)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _logical_id(ref: Any) -> str | None:
    """``X`` of ``{"Ref": "X"}`` or ``{"Fn::GetAtt": ["X", ...]}``."""
    if isinstance(ref, dict):
        if "Ref" in ref and isinstance(ref["Ref"], str):
            return str(ref["Ref"])
        if "Fn::GetAtt" in ref:
            return str(ref["Fn::GetAtt"][0])
    return None


def _flat_string(value: Any) -> str | None:
    """A string, or the literal parts of an ``Fn::Join`` (tokens left out)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(p if isinstance(p, str) else "" for p in parts)
    return None


def _field(rule: dict[str, Any], name: str) -> Any:
    """A rule's field, camelCase as stack.resolve gives it or PascalCase as in a template."""
    return rule.get(name, rule.get(name[0].upper() + name[1:]))


@dataclass
class Endpoint:
    """An interface endpoint or collection endpoint of the stack."""

    service: str
    vpc: str
    groups: list[Any]
    subnets: list[Any]
    private_dns: bool


@dataclass
class PathIndex:
    """What the path check reads from one stack, filled construct by construct (:meth:`add`)."""

    subnet_vpc: dict[str, str] = field(default_factory=dict)
    subnet_cidr: dict[str, str | None] = field(default_factory=dict)
    group_vpc: dict[str, str] = field(default_factory=dict)
    inline_egress: dict[str, bool] = field(default_factory=dict)
    ingress: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    egress: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    documents: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    """Role logical id -> the policy documents attached to it in this stack."""
    managed_documents: dict[str, Any] = field(default_factory=dict)
    role_managed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    endpoints: list[Endpoint] = field(default_factory=list)

    def add(self, stack: cdk.Stack, construct: IConstruct) -> None:
        if isinstance(construct, ec2.CfnSubnet):
            subnet = stack.get_logical_id(construct)
            self.subnet_vpc[subnet] = key(stack.resolve(construct.vpc_id))
            cidr = stack.resolve(construct.cidr_block)
            self.subnet_cidr[subnet] = cidr if isinstance(cidr, str) else None
        elif isinstance(construct, ec2.CfnSecurityGroup):
            self._add_group(stack, construct)
        elif isinstance(construct, ec2.CfnSecurityGroupIngress | ec2.CfnSecurityGroupEgress):
            self._add_rule(stack, construct)
        elif isinstance(construct, iam.CfnPolicy | iam.CfnManagedPolicy):
            self._add_policy(stack, construct)
        elif isinstance(construct, iam.CfnRole):
            role = stack.get_logical_id(construct)
            for policy in _as_list(stack.resolve(construct.policies)):
                if isinstance(policy, dict):
                    self.documents[role].append(policy.get("policyDocument"))
            for arn in _as_list(stack.resolve(construct.managed_policy_arns)):
                managed = _logical_id(arn)
                if managed is not None:
                    self.role_managed[role].append(managed)
        elif isinstance(construct, ec2.CfnVPCEndpoint):
            self._add_interface_endpoint(stack, construct)
        elif isinstance(construct, aoss.CfnVpcEndpoint):
            self.endpoints.append(_endpoint(stack, construct, COLLECTION, private_dns=True))

    def _add_group(self, stack: cdk.Stack, group: ec2.CfnSecurityGroup) -> None:
        name = stack.get_logical_id(group)
        self.group_vpc[name] = key(stack.resolve(group.vpc_id))
        inline_egress = _as_list(stack.resolve(group.security_group_egress))
        self.inline_egress[name] = bool(inline_egress)
        self.egress[name] += [r for r in inline_egress if isinstance(r, dict)]
        self.ingress[name] += [
            r for r in _as_list(stack.resolve(group.security_group_ingress)) if isinstance(r, dict)
        ]

    def _add_rule(
        self, stack: cdk.Stack, rule: ec2.CfnSecurityGroupIngress | ec2.CfnSecurityGroupEgress
    ) -> None:
        group = _logical_id(stack.resolve(rule.group_id))
        if group is None:
            return
        resolved = {
            "ipProtocol": stack.resolve(rule.ip_protocol),
            "fromPort": stack.resolve(rule.from_port),
            "toPort": stack.resolve(rule.to_port),
            "cidrIp": stack.resolve(rule.cidr_ip),
            "cidrIpv6": stack.resolve(rule.cidr_ipv6),
        }
        if isinstance(rule, ec2.CfnSecurityGroupIngress):
            resolved["sourceSecurityGroupId"] = stack.resolve(rule.source_security_group_id)
            self.ingress[group].append(resolved)
        else:
            resolved["destinationSecurityGroupId"] = stack.resolve(
                rule.destination_security_group_id
            )
            self.egress[group].append(resolved)

    def _add_policy(self, stack: cdk.Stack, policy: iam.CfnPolicy | iam.CfnManagedPolicy) -> None:
        document = stack.resolve(policy.policy_document)
        if isinstance(policy, iam.CfnManagedPolicy):
            self.managed_documents[stack.get_logical_id(policy)] = document
        for role in _as_list(stack.resolve(policy.roles)):
            name = _logical_id(role)
            if name is not None:
                self.documents[name].append(document)

    def _add_interface_endpoint(self, stack: cdk.Stack, endpoint: ec2.CfnVPCEndpoint) -> None:
        if stack.resolve(endpoint.vpc_endpoint_type) != "Interface":
            return
        name = _flat_string(stack.resolve(endpoint.service_name)) or ""
        private_dns = stack.resolve(endpoint.private_dns_enabled) is True
        for service, pattern in _INTERFACE_SERVICES.items():
            if pattern.search(name):
                self.endpoints.append(_endpoint(stack, endpoint, service, private_dns))

    # -- the check ----------------------------------------------------------------------------

    def role_documents(self, role: str) -> list[Any]:
        return [
            *self.documents.get(role, []),
            *(self.managed_documents.get(m) for m in self.role_managed.get(role, [])),
        ]

    def unreachable_services(self, stack: cdk.Stack, function: lambda_.CfnFunction) -> list[str]:
        """The data planes ``function`` is granted but cannot reach (see the module)."""
        vpc_config = stack.resolve(function.vpc_config)
        role = _logical_id(stack.resolve(function.role))
        if not isinstance(vpc_config, dict) or role is None:
            return []
        return self.unreachable(
            role,
            subnets=_as_list(vpc_config.get("subnetIds")),
            groups=_as_list(vpc_config.get("securityGroupIds")),
            table=SERVICE_ACTIONS,
        )

    def unreachable(
        self,
        role: str,
        *,
        subnets: list[Any],
        groups: list[Any],
        table: dict[str, tuple[str, ...]],
    ) -> list[str]:
        """The services of ``table`` that the role (logical id) is granted and that the caller
        in ``subnets`` with ``groups`` cannot reach through its VPC's endpoints."""
        vpc = self._vpc_of(subnets, groups)
        if vpc is None or not groups:
            return []
        caller = _Side(groups=groups, cidrs=self._cidrs(subnets))
        findings = []
        for service in _called_services(self.role_documents(role), table):
            endpoints = [e for e in self.endpoints if e.service == service and e.vpc == vpc]
            reached = [e for e in endpoints if e.private_dns] or endpoints
            if reached and not any(self._reaches(caller, e) for e in reached):
                findings.append(service)
        return findings

    def _vpc_of(self, subnets: list[Any], groups: list[Any]) -> str | None:
        for ref in [*subnets, *groups]:
            name = _logical_id(ref)
            found = self.subnet_vpc.get(name or "") or self.group_vpc.get(name or "")
            if found is not None:
                return found
        return None

    def _cidrs(self, subnets: list[Any]) -> list[str] | None:
        cidrs = [self.subnet_cidr.get(_logical_id(s) or "") for s in subnets]
        return None if any(c is None for c in cidrs) else [c for c in cidrs if c]

    def _reaches(self, caller: _Side, endpoint: Endpoint) -> bool:
        """Whether the caller may open HTTPS to the endpoint (unknown groups count as open)."""
        target = _Side(groups=endpoint.groups, cidrs=self._cidrs(endpoint.subnets))
        if not endpoint.groups or any(_logical_id(g) not in self.group_vpc for g in target.groups):
            return True  # the VPC's default group, or groups this stack cannot show
        admitted = any(
            _admits(rule, "sourceSecurityGroupId", caller)
            for group in target.groups
            for rule in self.ingress.get(_logical_id(group) or "", [])
        )
        return admitted and any(self._lets_out(group, target) for group in caller.groups)

    def _lets_out(self, group: Any, target: _Side) -> bool:
        name = _logical_id(group)
        if name is None or name not in self.group_vpc or not self.inline_egress.get(name):
            return True  # imported, or EC2's default allow-all egress
        return any(
            _admits(rule, "destinationSecurityGroupId", target) for rule in self.egress[name]
        )


def _endpoint(
    stack: cdk.Stack,
    endpoint: ec2.CfnVPCEndpoint | aoss.CfnVpcEndpoint,
    service: str,
    private_dns: bool,
) -> Endpoint:
    return Endpoint(
        service=service,
        vpc=key(stack.resolve(endpoint.vpc_id)),
        groups=_as_list(stack.resolve(endpoint.security_group_ids)),
        subnets=_as_list(stack.resolve(endpoint.subnet_ids)),
        private_dns=private_dns,
    )


@dataclass(frozen=True)
class _Side:
    """One end of a connection: its security groups and its subnets' CIDRs (``None`` if any
    subnet's CIDR is not known here)."""

    groups: list[Any]
    cidrs: list[str] | None


def _covers_https(rule: dict[str, Any]) -> bool:
    protocol = str(_field(rule, "ipProtocol")).lower()
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = _field(rule, "fromPort"), _field(rule, "toPort")
    return isinstance(low, int) and isinstance(high, int) and low <= HTTPS <= high


def _admits(rule: dict[str, Any], peer_field: str, peer: _Side) -> bool:
    if not _covers_https(rule):
        return False
    peer_group = _field(rule, peer_field)
    if peer_group is not None:
        return key(peer_group) in {key(g) for g in peer.groups}
    cidr = _field(rule, "cidrIp")
    if cidr is None:
        return False  # a prefix list, or IPv6 only: never the peer's subnets here
    if not isinstance(cidr, str):
        return True  # a deploy-time block (the VPC's CIDR attribute): not a finding
    if cidr == "0.0.0.0/0":
        return True
    if peer.cidrs is None:
        return True  # subnets this stack cannot show: not a finding
    network = ipaddress.ip_network(cidr, strict=False)
    return bool(peer.cidrs) and all(
        ipaddress.ip_network(c).subnet_of(network)  # type: ignore[arg-type]
        for c in peer.cidrs
    )


def _called_services(
    documents: Iterable[Any], table: dict[str, tuple[str, ...]] = SERVICE_ACTIONS
) -> list[str]:
    """The services of ``table`` the documents allow calling, in its order."""
    allowed: list[str] = []
    for document in documents:
        if not isinstance(document, dict):
            continue
        for statement in _as_list(document.get("Statement")):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            for action in _as_list(statement.get("Action")):
                if isinstance(action, str) and ":" in action:
                    allowed.append(action.lower())
    return [
        service
        for service, actions in table.items()
        if any(
            pattern.split(":")[0] == action.split(":")[0].lower()
            and fnmatch.fnmatchcase(action.lower(), pattern)
            for pattern in allowed
            for action in actions
        )
    ]
