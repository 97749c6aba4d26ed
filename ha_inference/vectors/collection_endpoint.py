"""An OpenSearch Serverless-managed VPC endpoint with a network interface in every selected AZ."""

from __future__ import annotations

import re

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct

from ha_inference._internal.names import claim_name
from ha_inference._internal.opensearch import NAME_MAX, check_name, check_region
from ha_inference._internal.props import checked_props
from ha_inference._internal.validation import select_zonal_subnets

MAX_SUBNETS = 6
"""``AWS::OpenSearchServerless::VpcEndpoint.SubnetIds`` takes 1-6 subnets (registry schema)."""


@jsii.implements(ec2.IConnectable)
class CollectionVpcEndpoint(Construct):
    """A private path from a VPC to OpenSearch Serverless collections, in every selected AZ.

    One endpoint serves any number of collections: pass it as ``vpc_endpoint`` to each
    :class:`ha_inference.VectorCollection` whose network policy should admit it.

    Resources: ``Resource`` (AWS::OpenSearchServerless::VpcEndpoint) and ``SecurityGroup``.

    * a network interface in every selected AZ (at most six: the API's limit);
    * its own security group admits nothing until you allow peers on HTTPS (443), for example
      ``endpoint.connections.allow_default_port_from(function)``; it is never open to
      ``0.0.0.0/0`` or to the whole VPC CIDR, and has no egress rules.

    Add the endpoint to each collection's network policy; the endpoint alone grants no access.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        name: str | None = None,
    ) -> None:
        """
        :param vpc: The VPC the endpoint's network interfaces live in.
        :param vpc_subnets: Where the network interfaces go. Default: one subnet in every AZ of
            the VPC's private subnets.
        :param name: The endpoint's name, 3-32 characters of ``[a-z0-9-]`` starting with a
            letter, unique in the account and Region. Default: derived from the construct path.
        """
        super().__init__(scope, construct_id)
        check_region(self, "CollectionVpcEndpoint")
        if name is not None:
            check_name("name", name)
        zonal = select_zonal_subnets("vpc_subnets", vpc, vpc_subnets, scope=self)
        self.availability_zones = zonal.availability_zones
        """The AZs of the endpoint's subnets, in subnet order (tokens for an imported VPC)."""
        if len(zonal.subnets) > MAX_SUBNETS:
            raise ValueError(
                f"vpc_subnets selects {len(zonal.subnets)} subnets but an OpenSearch Serverless "
                f"VPC endpoint takes at most {MAX_SUBNETS}; select subnets in at most "
                f"{MAX_SUBNETS} Availability Zones"
            )
        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description=(
                "OpenSearch Serverless VPC endpoint: HTTPS from the peers allowed through "
                "connections only"
            ),
            allow_all_outbound=False,
        )
        self._connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(443)
        )
        endpoint_name = name if name is not None else _default_name(self)
        claim_name(self, "OpenSearch Serverless VPC endpoint", endpoint_name, "name")
        self.endpoint = aoss.CfnVpcEndpoint(
            self,
            "Resource",
            name=endpoint_name,
            vpc_id=vpc.vpc_id,
            subnet_ids=[subnet.subnet_id for subnet in zonal.subnets],
            security_group_ids=[self.security_group.security_group_id],
        )
        self.vpc = vpc

    @property
    def connections(self) -> ec2.Connections:
        """Allow clients with ``connections.allow_default_port_from(peer)`` (HTTPS, 443)."""
        return self._connections

    @property
    def endpoint_id(self) -> str:
        """The endpoint's id (``vpce-…``), which network policies list in ``SourceVPCEs``."""
        return self.endpoint.attr_id

    @property
    def endpoint_name(self) -> str:
        """The endpoint's name."""
        return str(self.endpoint.name)


def _default_name(scope: Construct) -> str:
    """A valid, stable endpoint name unique to ``scope``'s path within its stack."""
    unique = cdk.Names.unique_resource_name(scope, max_length=NAME_MAX, separator="-")
    name = re.sub(r"[^a-z0-9-]", "", unique.lower())
    if not name[:1].isalpha():
        name = f"e{name}"[:NAME_MAX]
    return name
