"""Small environment-specific stacks for construct tests: AZs given, not looked up; a private
VPC with two isolated tiers; template lookups by type and by construct."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from tests.support import TEST_ACCOUNT


class ZonedStack(cdk.Stack):
    """An environment-specific stack whose AZs are given, not looked up."""

    def __init__(self, scope: cdk.App, construct_id: str, *, region: str, zones: list[str]):
        self._zones = zones
        super().__init__(
            scope, construct_id, env=cdk.Environment(account=TEST_ACCOUNT, region=region)
        )

    @property
    def availability_zones(self) -> list[str]:
        return self._zones


def private_vpc(stack: cdk.Stack) -> ec2.Vpc:
    """Two isolated tiers, one subnet per AZ each, with flow logs (cdk-nag VPC7)."""
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=stack.availability_zones,
        nat_gateways=0,
        restrict_default_security_group=True,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="endpoints", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            ),
            ec2.SubnetConfiguration(
                name="workloads", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
            ),
        ],
    )
    vpc.add_flow_log("FlowLog")
    return vpc


ENDPOINT_SUBNETS = ec2.SubnetSelection(subnet_group_name="endpoints")
WORKLOAD_SUBNETS = ec2.SubnetSelection(subnet_group_name="workloads")


def of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == resource_type}


def logical_id(stack: cdk.Stack, construct: Any) -> str:
    element = construct if isinstance(construct, cdk.CfnElement) else construct.node.default_child
    return str(stack.resolve(element.logical_id))
