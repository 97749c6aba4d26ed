"""Amazon Bedrock interface VPC endpoints with an ENI in every selected AZ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference._internal.names import warn_private_dns_takes_over
from ha_inference._internal.network import closed_interface_endpoint, closed_security_group
from ha_inference._internal.props import checked_props
from ha_inference._internal.stacks import account_of, stack_of
from ha_inference._internal.validation import LateCheck, ZonalSubnets, select_zonal_subnets
from ha_inference._internal.zones import place_in_supported_zones
from ha_inference.bedrock.profiles import INVOKE_ACTIONS, IInvokeTarget
from ha_inference.data.zones import zone_support
from ha_inference.metadata import mark_supporting

DEFAULT_SERVICES = (ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,)
"""InvokeModel and Converse. Other Bedrock endpoints (``bedrock-agent-runtime`` for knowledge
bases and agents, ``bedrock``, ``bedrock-agent``) only when asked for: with private DNS on, an
endpoint takes over its service's hostname for every caller in the VPC."""

INVOKE_SERVICES = frozenset({"bedrock-runtime", "bedrock-runtime-fips"})
"""The endpoints that serve InvokeModel and Converse, whose policy the invoke targets scope."""

SUPPORTING_KIND = "bedrock-endpoints"


@jsii.implements(ec2.IConnectable)
class BedrockVpcEndpoints(Construct):
    """One Bedrock interface endpoint per service, each with a subnet in every selected AZ.

    Resources: one ``aws_ec2.InterfaceVpcEndpoint`` per service (named after it, e.g.
    ``BedrockRuntime``) and ``SecurityGroup``.

    * an interface in every selected AZ (Bedrock endpoints are offered in multiple AZs, not
      necessarily all: ``ha-inference preflight`` checks them); a service offered only in some
      AZs (``bedrock-mantle``, :mod:`ha_inference.data.zones`) only in the AZs whose AZ ID
      offers it, at least two;
    * one security group for all of them, with no ingress until you allow peers through
      ``connections`` (port 443), and no egress;
    * on the ``bedrock-runtime`` endpoint, a policy that allows only ``bedrock:InvokeModel`` and
      ``bedrock:InvokeModelWithResponseStream`` on the ARNs of the invoke targets (profiles and
      the models they route to), for principals of this account. With private DNS on, that
      policy applies to every caller in the VPC, also workloads that were there before: add
      what they need (guardrails, other models) with :meth:`add_to_policy` or
      :meth:`allow_invoke`. Any other endpoint keeps AWS's default policy (full access; IAM
      still decides) until you add statements to it with ``add_to_policy(..., service=...)``.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        services: Sequence[ec2.InterfaceVpcEndpointAwsService] = DEFAULT_SERVICES,
        invoke_targets: Sequence[IInvokeTarget] = (),
        private_dns_enabled: bool = True,
        existing_endpoints: Mapping[str, ec2.IInterfaceVpcEndpoint] | None = None,
        manage_existing_policies: bool = False,
        zone_ids: Mapping[str, str] | None = None,
        supported_az_ids: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """
        :param vpc: the VPC of the endpoints.
        :param vpc_subnets: where their network interfaces go. Default: one subnet in every AZ
            of the VPC's private subnets.
        :param services: the Bedrock endpoint services. Default: ``bedrock-runtime`` only.
        :param invoke_targets: profiles and models the ``bedrock-runtime`` endpoint policy
            allows invoking. Default: none (add them later with :meth:`allow_invoke`).
        :param private_dns_enabled: whether the endpoints answer the services' standard
            hostnames inside ``vpc`` (for every caller there). Default: ``True``. A VPC takes
            one private-DNS endpoint per service: with one already there, pass ``False`` or
            adopt it through ``existing_endpoints``.
        :param existing_endpoints: endpoints the VPC already has, by service short name (e.g.
            ``{"bedrock-runtime": endpoint}``); they are used instead of creating one:
            ``connections`` admits callers on their security groups. Default: none.
        :param manage_existing_policies: add the invoke statement to the policies of
            ``existing_endpoints`` (which must be defined in this app). Default: ``False``, their
            policies are left alone.
        :param zone_ids: this account's AZ-name-to-ID mapping in the stack's Region (e.g.
            ``{"us-east-1a": "use1-az6", ...}``, as ``aws ec2 describe-availability-zones
            --query 'AvailabilityZones[].[ZoneName,ZoneId]'`` lists it), needed for services
            offered only in some AZs. Default: none (synth fails if such a service is asked for).
        :param supported_az_ids: the AZ IDs that offer a service, by short name (e.g.
            ``{"bedrock-mantle": ["use1-az1", "use1-az2", "use1-az4"]}`` from
            ``DescribeVpcEndpointServices``); its endpoint goes only in those AZs. Default: the
            AZ IDs of :data:`ha_inference.data.zones.ZONE_SUPPORT`; other services in every
            selected AZ.
        """
        super().__init__(scope, construct_id)
        if not services:
            raise ValueError(
                "services must name at least one Bedrock endpoint service, got none; "
                "leave it out for bedrock-runtime"
            )
        existing = dict(existing_endpoints or {})
        _check_existing(existing, services, manage_existing_policies)
        _check_named("supported_az_ids", supported_az_ids or {}, services)
        zonal = select_zonal_subnets("vpc_subnets", vpc, vpc_subnets, scope=self)
        self.availability_zones = zonal.availability_zones
        """The AZs of the endpoints' subnets, in subnet order (tokens for an imported VPC)."""
        self.security_group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Bedrock interface endpoints: HTTPS from allowed peers only",
        )
        self.endpoints: dict[str, ec2.IInterfaceVpcEndpoint] = {}
        for service in services:
            short = service.short_name
            if short in existing:
                self.endpoints[short] = existing[short]
                continue
            placed = self._subnets_of(
                short,
                zonal,
                vpc=vpc,
                vpc_subnets=vpc_subnets,
                zone_ids=zone_ids,
                supported_az_ids=supported_az_ids,
            )
            self.endpoints[short] = closed_interface_endpoint(
                self,
                _construct_id(short),
                vpc=vpc,
                service=service,
                short_name=short,
                subnets=placed.selection,
                security_group=self.security_group,
                private_dns_enabled=private_dns_enabled,
            )
        if private_dns_enabled and len(existing) < len(self.endpoints):
            warn_private_dns_takes_over(self, vpc, sorted(set(self.endpoints) - set(existing)))
        self._connections = ec2.Connections(
            security_groups=[
                self.security_group,
                *(g for e in existing.values() for g in e.connections.security_groups),
            ],
            default_port=ec2.Port.tcp(443),
        )
        self._invoke_statement = iam.PolicyStatement(
            principals=[iam.AnyPrincipal()],
            actions=list(INVOKE_ACTIONS),
            conditions={"StringEquals": {"aws:PrincipalAccount": account_of(stack_of(self))}},
        )
        for short_name, endpoint in self.endpoints.items():
            if short_name not in INVOKE_SERVICES:
                continue
            if short_name in existing and not manage_existing_policies:
                continue
            assert isinstance(endpoint, ec2.InterfaceVpcEndpoint)
            endpoint.add_to_policy(self._invoke_statement)
        for target in invoke_targets:
            self.allow_invoke(target)
        self.node.add_validation(LateCheck(self._check_has_targets))
        mark_supporting(self, SUPPORTING_KIND)

    def _subnets_of(
        self,
        short: str,
        zonal: ZonalSubnets,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None,
        zone_ids: Mapping[str, str] | None,
        supported_az_ids: Mapping[str, Sequence[str]] | None,
    ) -> ZonalSubnets:
        """The selected subnets, or for a service offered only in some AZs, those of them in
        the AZs that offer it (at least two)."""
        supported = (supported_az_ids or {}).get(short)
        if supported is None and zone_support(short) is None:
            return zonal
        return place_in_supported_zones(
            "vpc_subnets",
            vpc,
            vpc_subnets,
            scope=self,
            service=short,
            zone_ids=zone_ids,
            supported=supported,
            strict=False,
        ).zonal

    def allow_invoke(self, target: IInvokeTarget) -> None:
        """Lets callers in this account invoke through ``target`` over these endpoints."""
        known = set(self.invoke_resource_arns)
        self._invoke_statement.add_resources(
            *(arn for arn in target.invoke_resource_arns if arn not in known)
        )

    def add_to_policy(self, statement: iam.PolicyStatement, *, service: str | None = None) -> None:
        """Adds ``statement`` to the policy of one endpoint (by short name) or of all of them
        (the adopted endpoints only with ``manage_existing_policies``)."""
        if service is not None and service not in self.endpoints:
            raise ValueError(
                f"service must be one of this construct's endpoints "
                f"({', '.join(sorted(self.endpoints))}), got {service!r}"
            )
        for name, endpoint in self.endpoints.items():
            if (service is None or name == service) and isinstance(
                endpoint, ec2.InterfaceVpcEndpoint
            ):
                endpoint.add_to_policy(statement)

    def _check_has_targets(self) -> list[str]:
        if self.invoke_resource_arns or not INVOKE_SERVICES & set(self.endpoints):
            return []
        return [
            "BedrockVpcEndpoints has no invoke targets, so its endpoint policies would allow "
            "nothing; pass invoke_targets=[profile] or call allow_invoke(profile)"
        ]

    @property
    def connections(self) -> ec2.Connections:
        """Every endpoint's security group, default port 443: admit callers with
        ``connections.allow_default_port_from(peer)``. A property, so that aws-cdk-lib can read
        it through jsii when the endpoints are passed as an ``IConnectable``."""
        return self._connections

    @property
    def invoke_resource_arns(self) -> tuple[str, ...]:
        """Every ARN the endpoint policies allow invoking."""
        return tuple(self._invoke_statement.resources)


def _check_existing(
    existing: Mapping[str, ec2.IInterfaceVpcEndpoint],
    services: Sequence[ec2.InterfaceVpcEndpointAwsService],
    manage_policies: bool,
) -> None:
    names = {service.short_name for service in services}
    stray = sorted(set(existing) - names)
    if stray:
        raise ValueError(
            f"existing_endpoints names {', '.join(stray)}, not in services "
            f"({', '.join(sorted(names))}); add the service to services or drop the endpoint"
        )
    if manage_policies:
        imported = sorted(
            name for name, e in existing.items() if not isinstance(e, ec2.InterfaceVpcEndpoint)
        )
        if imported:
            raise ValueError(
                f"manage_existing_policies=True needs endpoints defined in this app, but "
                f"existing_endpoints[{', '.join(imported)}] is imported, so its policy cannot be "
                "changed here; leave manage_existing_policies off and add the invoke statement "
                "where that endpoint is defined"
            )


def _check_named(
    prop: str,
    by_service: Mapping[str, object],
    services: Sequence[ec2.InterfaceVpcEndpointAwsService],
) -> None:
    names = {service.short_name for service in services}
    stray = sorted(set(by_service) - names)
    if stray:
        raise ValueError(
            f"{prop} names {', '.join(stray)}, not in services ({', '.join(sorted(names))}); "
            "add the service to services or drop the entry"
        )


def _construct_id(short_name: str) -> str:
    """``bedrock-agent-runtime`` -> ``BedrockAgentRuntime`` (stable logical ids)."""
    return "".join(part.capitalize() for part in short_name.replace(".", "-").split("-"))
