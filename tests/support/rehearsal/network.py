"""The network of one resolved stack: who runs where, what names resolve to, what SGs admit.

Security groups are evaluated the way EC2 does:

* a group's rules are its inline ``SecurityGroupIngress``/``SecurityGroupEgress`` plus every
  ``AWS::EC2::SecurityGroupIngress``/``Egress`` resource whose ``GroupId`` is the group;
* a group whose inline ``SecurityGroupEgress`` is absent or empty keeps EC2's default rule
  that allows all outbound traffic, whatever separate egress resources add ("The default rule
  is removed only when you specify one or more egress rules in the SecurityGroupEgress
  property", AWS::EC2::SecurityGroup). The rehearsal counts that as allowing all; a caller
  whose group keeps it fails the security-group layer all the same, with its own reason: the
  app must not rely on it (``ha_inference/_internal/network.py``);
* a rule matches TCP 443 when its protocol is ``tcp``/``6`` with 443 in its port range, or
  ``-1`` (all traffic); aws-cdk-lib's "disallow all" placeholder (ICMP type 252 code 86 to
  255.255.255.255/32) therefore matches nothing;
* a peer matches by security group id, or by a CIDR block that covers every subnet of the
  other side (every ENI the caller may be handed by DNS, or may call from); prefix lists never
  match a VPC endpoint.

There are no network ACLs in the reference app; a template with ``AWS::EC2::NetworkAclEntry``
resources is refused rather than half-modelled.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.rehearsal.resolver import TemplateResolver, UnresolvableError

HTTPS = 443
DEFAULT_EGRESS = "EC2's default allow-all egress rule"


@dataclass(frozen=True)
class Placement:
    """Where an ENI-owning thing runs: its VPC, subnets (with CIDRs) and security groups."""

    vpc: str
    subnets: tuple[str, ...]
    cidrs: tuple[str, ...]
    security_groups: tuple[str, ...]


@dataclass(frozen=True)
class InterfaceEndpoint:
    logical_id: str
    service_name: str
    vpc: str
    private_dns: bool
    placement: Placement
    policy: Mapping[str, Any] | None


@dataclass(frozen=True)
class GatewayEndpoint:
    logical_id: str
    service_name: str
    vpc: str
    route_tables: tuple[str, ...]
    policy: Mapping[str, Any] | None


@dataclass(frozen=True)
class CollectionEndpoint:
    logical_id: str
    endpoint_id: str
    placement: Placement


@dataclass
class SecurityGroup:
    group_id: str
    logical_id: str
    inline_egress: list[dict[str, Any]] | None
    ingress: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    egress: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """(where the rule is written, the resolved rule)."""

    @property
    def default_egress(self) -> bool:
        return not self.inline_egress


@dataclass(frozen=True)
class SecurityGroupVerdict:
    allowed: bool
    reason: str
    relies_on_default_egress: bool = False
    evidence: tuple[str, ...] = ()
    """Where the rules that allow it are written (rule resources, or groups for inline rules)."""


class NetworkModel:
    """Subnets, security groups and endpoints of one resolved template."""

    def __init__(self, resolver: TemplateResolver) -> None:
        self.resolver = resolver
        resources = resolver.resources
        if any(r["Type"] == "AWS::EC2::NetworkAclEntry" for r in resources.values()):
            raise UnresolvableError("network ACL entries are not modelled by the rehearsal")
        self.subnet_vpc: dict[str, str] = {}
        self.vpc_dns: dict[str, tuple[bool, bool]] = {}
        """(enableDnsSupport, enableDnsHostnames) per VPC; CloudFormation defaults true, false."""
        self.subnet_cidr: dict[str, str] = {}
        self.groups: dict[str, SecurityGroup] = {}
        self.interface_endpoints: list[InterfaceEndpoint] = []
        self.collection_endpoints: list[CollectionEndpoint] = []
        self.gateway_endpoints: list[GatewayEndpoint] = []
        self.route_tables: dict[str, str] = {}
        """Subnet id -> its route table id (``AWS::EC2::SubnetRouteTableAssociation``)."""
        self.default_routes: set[str] = set()
        """Route tables with a 0.0.0.0/0 route (NAT or internet gateway)."""
        self.s3_prefix_lists: set[str] = set()
        """What ``DestinationPrefixListId`` resolves to for the Region's S3 prefix list: the
        ``PrefixLists.0.PrefixListId`` of each ``Custom::AWS`` lookup of
        ``com.amazonaws.<region>.s3`` (``ha_inference._internal.network``)."""
        for logical_id, resource in resources.items():
            kind = resource["Type"]
            props = resolver.resolved_props(logical_id)
            if kind == "AWS::EC2::VPC":
                self.vpc_dns[resolver.ref(logical_id)] = (
                    _true(props.get("EnableDnsSupport", True)),
                    _true(props.get("EnableDnsHostnames", False)),
                )
            elif kind == "AWS::EC2::Subnet":
                subnet = resolver.ref(logical_id)
                self.subnet_vpc[subnet] = props["VpcId"]
                self.subnet_cidr[subnet] = props["CidrBlock"]
            elif kind == "AWS::EC2::SecurityGroup":
                group_id = resolver.ref(logical_id)
                group = self.groups.setdefault(
                    group_id, SecurityGroup(group_id, logical_id, props.get("SecurityGroupEgress"))
                )
                group.logical_id = logical_id
                group.inline_egress = props.get("SecurityGroupEgress")
                group.ingress.extend(
                    (logical_id, rule) for rule in props.get("SecurityGroupIngress", [])
                )
                group.egress.extend(
                    (logical_id, rule) for rule in props.get("SecurityGroupEgress", [])
                )
        for logical_id, resource in resources.items():
            kind = resource["Type"]
            if kind not in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                continue
            props = resolver.resolved_props(logical_id)
            group = self.groups.get(props["GroupId"])
            if group is None:
                raise UnresolvableError(f"{logical_id} names a security group outside the stack")
            rules = group.ingress if kind.endswith("Ingress") else group.egress
            rules.append((logical_id, props))
        for logical_id, resource in resources.items():
            kind = resource["Type"]
            props = resolver.resolved_props(logical_id)
            if kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Interface":
                self.interface_endpoints.append(
                    InterfaceEndpoint(
                        logical_id=logical_id,
                        service_name=props["ServiceName"],
                        vpc=props["VpcId"],
                        private_dns=_true(props.get("PrivateDnsEnabled", False)),
                        placement=self.placement(
                            props["SubnetIds"], props.get("SecurityGroupIds", [])
                        ),
                        policy=props.get("PolicyDocument"),
                    )
                )
            elif kind == "AWS::EC2::VPCEndpoint" and props.get("VpcEndpointType") == "Gateway":
                self.gateway_endpoints.append(
                    GatewayEndpoint(
                        logical_id=logical_id,
                        service_name=props["ServiceName"],
                        vpc=props["VpcId"],
                        route_tables=tuple(props.get("RouteTableIds", [])),
                        policy=props.get("PolicyDocument"),
                    )
                )
            elif kind == "AWS::EC2::SubnetRouteTableAssociation":
                self.route_tables[props["SubnetId"]] = props["RouteTableId"]
            elif kind == "AWS::EC2::Route" and props.get("DestinationCidrBlock") == "0.0.0.0/0":
                self.default_routes.add(props["RouteTableId"])
            elif kind == "Custom::AWS" and f"com.amazonaws.{resolver.region}.s3" in str(
                props.get("Create", "")
            ):
                self.s3_prefix_lists.add(f"{logical_id}.PrefixLists.0.PrefixListId")
            elif kind == "AWS::OpenSearchServerless::VpcEndpoint":
                self.collection_endpoints.append(
                    CollectionEndpoint(
                        logical_id=logical_id,
                        endpoint_id=resolver.ref(logical_id),
                        placement=self.placement(
                            props["SubnetIds"], props.get("SecurityGroupIds", [])
                        ),
                    )
                )

    def placement(self, subnets: Iterable[str], groups: Iterable[str]) -> Placement:
        subnets = tuple(subnets)
        vpcs = {self.subnet_vpc.get(s) for s in subnets}
        if len(vpcs) != 1 or None in vpcs:
            raise UnresolvableError(f"subnets {subnets} are not in exactly one VPC of the stack")
        return Placement(
            vpc=str(vpcs.pop()),
            subnets=subnets,
            cidrs=tuple(self.subnet_cidr[s] for s in subnets),
            security_groups=tuple(groups),
        )

    def function_placement(self, function_logical_id: str) -> Placement:
        """Where a Lambda function's ENIs run, or an AgentCore runtime's (VPC mode)."""
        if self.resolver.type_of(function_logical_id) == "AWS::BedrockAgentCore::Runtime":
            network = self.resolver.resolved_props(function_logical_id)["NetworkConfiguration"]
            if network.get("NetworkMode") != "VPC":
                raise UnresolvableError(f"{function_logical_id} is not in VPC mode")
            config = network["NetworkModeConfig"]
            return self.placement(config["Subnets"], config.get("SecurityGroups", []))
        props = self.resolver.resolved_props(function_logical_id)
        vpc_config = props.get("VpcConfig")
        if not vpc_config:
            raise UnresolvableError(f"{function_logical_id} is not attached to a VPC")
        return self.placement(vpc_config["SubnetIds"], vpc_config.get("SecurityGroupIds", []))

    # -- S3 through a gateway endpoint ----------------------------------------------------------

    def s3_route(self, caller: Placement) -> tuple[bool, str, GatewayEndpoint | None]:
        """Whether every subnet of ``caller`` routes S3 traffic through an S3 gateway endpoint
        of its VPC (or through a default route): (allowed, why, the gateway)."""
        gateways = [
            g
            for g in self.gateway_endpoints
            if g.vpc == caller.vpc and g.service_name.endswith(".s3")
        ]
        missing, used = [], None
        for subnet in caller.subnets:
            table = self.route_tables.get(subnet)
            found = next((g for g in gateways if table in g.route_tables), None)
            if found is not None:
                used = found
            elif table not in self.default_routes:
                missing.append(f"{subnet} (route table {table})")
        if missing:
            return (
                False,
                f"no route to S3 from {', '.join(missing)}: no S3 gateway endpoint on its route "
                "table and no default route",
                None,
            )
        assert used is not None or gateways == []
        where = used.logical_id if used else "the default route"
        return True, f"every subnet's route table sends S3 traffic to {where}", used

    def https_to_s3(self, caller: Placement) -> SecurityGroupVerdict:
        """Whether the caller's security groups let TCP 443 out to the S3 prefix list."""
        for group_id in caller.security_groups:
            group = self.groups[group_id]
            if group.default_egress:
                return SecurityGroupVerdict(
                    False,
                    f"{group.logical_id} keeps {DEFAULT_EGRESS}; the app must not rely on it",
                    relies_on_default_egress=True,
                )
            for where, rule in group.egress:
                if _port_443(rule) and (
                    rule.get("DestinationPrefixListId") in self.s3_prefix_lists
                    or rule.get("CidrIp") == "0.0.0.0/0"
                ):
                    return SecurityGroupVerdict(
                        True, f"egress {where} to the S3 prefix list", evidence=(where,)
                    )
        return SecurityGroupVerdict(
            False,
            "no egress rule of the caller's security groups "
            f"({', '.join(self.name(g) for g in caller.security_groups)}) allows TCP 443 to the "
            "S3 prefix list",
        )

    def private_dns_problem(self, vpc: str) -> str | None:
        """Why private DNS of endpoints cannot answer in ``vpc`` ("To use private DNS, you must
        set the following VPC attributes to true: enableDnsHostnames and enableDnsSupport",
        AWS PrivateLink guide), if it cannot."""
        support, hostnames = self.vpc_dns.get(vpc, (False, False))
        off = [
            n
            for n, on in (("EnableDnsSupport", support), ("EnableDnsHostnames", hostnames))
            if not on
        ]
        if not off:
            return None
        return f"the VPC {vpc} has {' and '.join(off)} off, so endpoint private DNS does not answer"

    def load_balancer_placement(self, logical_id: str) -> Placement:
        props = self.resolver.resolved_props(logical_id)
        return self.placement(props["Subnets"], props.get("SecurityGroups", []))

    def name(self, group_id: str) -> str:
        group = self.groups.get(group_id)
        return group.logical_id if group else group_id

    # -- security groups ----------------------------------------------------------------------

    def https(self, caller: Placement, endpoint: Placement) -> SecurityGroupVerdict:
        """Whether ``caller`` may open TCP 443 to every ENI of ``endpoint``."""
        egress = [self._egress(g, endpoint) for g in caller.security_groups]
        ingress = [self._ingress(g, caller) for g in endpoint.security_groups]
        out = next((e for e in egress if e and e != DEFAULT_EGRESS), None) or next(
            (e for e in egress if e), None
        )  # an explicit rule when there is one, for the message
        into = next((i for i in ingress if i), None)
        problems = []
        if out is None:
            problems.append(
                "no egress rule of the caller's security groups "
                f"({', '.join(self.name(g) for g in caller.security_groups)}) allows TCP 443 to "
                f"the endpoint's groups ({', '.join(self.name(g) for g in endpoint.security_groups)})"
                " or to all of its subnets"
            )
        if into is None:
            problems.append(
                "no ingress rule of the endpoint's security groups "
                f"({', '.join(self.name(g) for g in endpoint.security_groups)}) admits TCP 443 "
                f"from the caller's groups ({', '.join(self.name(g) for g in caller.security_groups)})"
                " or from all of its subnets"
            )
        if problems:
            return SecurityGroupVerdict(False, "; ".join(problems))
        open_groups = [g for g in caller.security_groups if self.groups[g].default_egress]
        if open_groups:
            return SecurityGroupVerdict(
                False,
                f"{', '.join(self.name(g) for g in open_groups)} keeps {DEFAULT_EGRESS} (no "
                "inline SecurityGroupEgress), so the caller reaches this and anything else; "
                "the app must not rely on it: use closed_security_group and explicit rules",
                relies_on_default_egress=True,
            )
        assert out is not None and into is not None
        return SecurityGroupVerdict(True, f"egress {out}, ingress {into}", evidence=(out, into))

    def _egress(self, group_id: str, endpoint: Placement) -> str | None:
        found = self._rule(group_id, "egress", "DestinationSecurityGroupId", endpoint)
        return found or (DEFAULT_EGRESS if self.groups[group_id].default_egress else None)

    def _ingress(self, group_id: str, caller: Placement) -> str | None:
        return self._rule(group_id, "ingress", "SourceSecurityGroupId", caller)

    def _rule(self, group_id: str, direction: str, peer_key: str, peer: Placement) -> str | None:
        """Where the first rule of ``group_id`` that admits TCP 443 with ``peer`` is written."""
        group = self.groups.get(group_id)
        if group is None:
            raise UnresolvableError(f"security group {group_id} is not in the stack")
        for where, rule in group.egress if direction == "egress" else group.ingress:
            if _port_443(rule) and _peer(rule, peer_key, peer.security_groups, peer.cidrs):
                return where
        return None


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _port_443(rule: Mapping[str, Any]) -> bool:
    protocol = str(rule.get("IpProtocol", "")).lower()
    if protocol in ("-1", "all"):
        return True
    if protocol not in ("tcp", "6"):
        return False
    return int(rule.get("FromPort", -1)) <= HTTPS <= int(rule.get("ToPort", -1))


def _peer(
    rule: Mapping[str, Any], group_key: str, groups: Iterable[str], cidrs: Iterable[str]
) -> bool:
    if group_key in rule:
        return rule[group_key] in set(groups)
    if "CidrIp" in rule:
        network = ipaddress.ip_network(rule["CidrIp"])
        return all(ipaddress.ip_network(c).subnet_of(network) for c in cidrs)  # type: ignore[arg-type]
    return False
