"""Invoking agent runtimes privately: :class:`AgentRuntimeVpcEndpoint`.

VPC mode carries a runtime's own outbound calls only; an invocation reaches the runtime through
the AgentCore data plane, ``bedrock-agentcore.<region>.amazonaws.com``. Callers in a VPC without
internet reach it through the ``com.amazonaws.<region>.bedrock-agentcore`` interface endpoint,
whose private DNS answers that hostname inside the VPC (AgentCore developer guide, "Use interface
VPC endpoints (AWS PrivateLink)",
https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/vpc-interface-endpoints.html).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference._internal.names import warn_private_dns_takes_over
from ha_inference._internal.network import closed_interface_endpoint, closed_security_group
from ha_inference._internal.props import checked_props
from ha_inference._internal.validation import LateCheck
from ha_inference._internal.zones import place_in_supported_zones
from ha_inference.agents.runtime import INVOKE_ACTION, MultiAzAgentRuntime

SERVICE = "bedrock-agentcore"
"""The AgentCore data plane's endpoint service (``InvokeAgentRuntime`` and the other data-plane
operations)."""


@jsii.implements(ec2.IConnectable)
class AgentRuntimeVpcEndpoint(Construct):
    """The ``bedrock-agentcore`` interface endpoint in every selected AZ, allowing
    ``bedrock-agentcore:InvokeAgentRuntime`` on exactly the declared runtimes.

    Resources: ``Endpoint`` (``com.amazonaws.<region>.bedrock-agentcore``) and ``SecurityGroup``.

    * an interface in every selected AZ (at least two), so a caller in any AZ reaches the data
      plane without crossing AZs, and losing one AZ leaves the others;
    * a policy allowing ``InvokeAgentRuntime`` on the declared runtimes (and their endpoints)
      only, for principals of this account; with private DNS on, it applies to every caller in
      the VPC, also one using other AgentCore data-plane APIs (Memory, Identity): add what they
      need with ``endpoint.add_to_policy``;
    * no ingress until callers are admitted through ``connections`` (port 443), no egress.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        runtimes: Sequence[MultiAzAgentRuntime] = (),
        vpc_subnets: ec2.SubnetSelection | None = None,
        private_dns_enabled: bool = True,
        zone_ids: Mapping[str, str] | None = None,
        supported_az_ids: Sequence[str] | None = None,
    ) -> None:
        """
        :param vpc: the callers' VPC.
        :param runtimes: the runtimes callers may invoke through the endpoint. Default: none
            (add them with :meth:`allow_invoke`; synth fails while there are none).
        :param vpc_subnets: where the endpoint's interfaces go. Default: one subnet in every
            AZ of the VPC's private subnets.
        :param private_dns_enabled: whether ``bedrock-agentcore.<region>.amazonaws.com``
            resolves to the endpoint inside ``vpc`` (for every caller there). Default: ``True``.
        :param zone_ids: this account's AZ-name-to-ID mapping in the stack's Region, needed
            only with ``supported_az_ids``. Default: none.
        :param supported_az_ids: the AZ IDs that offer ``bedrock-agentcore``, if it is not
            offered in every AZ of the selection (``DescribeVpcEndpointServices`` tells).
            Default: every selected AZ (``ha-inference preflight`` checks them).
        """
        super().__init__(scope, construct_id)
        placement = place_in_supported_zones(
            "vpc_subnets",
            vpc,
            vpc_subnets,
            scope=self,
            service=SERVICE,
            zone_ids=zone_ids,
            supported=supported_az_ids,
        )
        self.availability_zones = placement.zonal.availability_zones
        """The AZs of the endpoint's interfaces."""
        self.security_group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="AgentCore data-plane endpoint: HTTPS from allowed callers only",
        )
        if private_dns_enabled:
            warn_private_dns_takes_over(self, vpc, [SERVICE])
        self.endpoint = closed_interface_endpoint(
            self,
            "Endpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointAwsService.BEDROCK_AGENTCORE,
            short_name=SERVICE,
            subnets=placement.zonal.selection,
            security_group=self.security_group,
            private_dns_enabled=private_dns_enabled,
        )
        """The interface endpoint."""
        self._statement = iam.PolicyStatement(
            principals=[iam.AnyPrincipal()],
            actions=[INVOKE_ACTION],
            conditions={"StringEquals": {"aws:PrincipalAccount": cdk.Stack.of(self).account}},
        )
        self.endpoint.add_to_policy(self._statement)
        self._connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(443)
        )
        for runtime in runtimes:
            self.allow_invoke(runtime)
        self.node.add_validation(LateCheck(self._check_has_runtimes))

    def allow_invoke(self, runtime: MultiAzAgentRuntime) -> None:
        """Lets callers of this account invoke ``runtime`` through the endpoint."""
        known = set(self.invoke_resource_arns)
        self._statement.add_resources(
            *(arn for arn in runtime.invoke_resource_arns if arn not in known)
        )

    @property
    def invoke_resource_arns(self) -> tuple[str, ...]:
        """Every ARN the endpoint policy allows invoking."""
        return tuple(self._statement.resources)

    def _check_has_runtimes(self) -> list[str]:
        if self.invoke_resource_arns:
            return []
        return [
            "AgentRuntimeVpcEndpoint has no runtimes, so its endpoint policy would allow "
            "nothing; pass runtimes=[runtime] or call allow_invoke(runtime)"
        ]

    @property
    def connections(self) -> ec2.Connections:
        """The endpoint's security group, default port 443: admit callers with
        ``connections.allow_default_port_from(peer)``."""
        return self._connections
