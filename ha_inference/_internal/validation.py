"""Checks shared by the constructs. Each raises with a message that names the prop and the fix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

MIN_AZS = 2
"""The fewest Availability Zones a highly available component may span."""


def subnet_azs(
    prop: str, subnets: Sequence[ec2.ISubnet], *, minimum: int = MIN_AZS
) -> tuple[str, ...] | None:
    """Checks that ``subnets`` hold exactly one subnet in each of at least ``minimum`` AZs.

    Returns the AZs in subnet order, or ``None`` when an AZ is an unresolved token (an imported
    VPC without AZ names), in which case nothing can be checked at synth time.
    """
    azs = [subnet.availability_zone for subnet in subnets]
    if any(cdk.Token.is_unresolved(az) for az in azs):
        return None
    crowded = sorted(az for az, count in Counter(azs).items() if count > 1)
    if crowded:
        raise ValueError(
            f"{prop} puts more than one subnet in {', '.join(crowded)} (got subnets in "
            f"{', '.join(azs)}); select one subnet per Availability Zone, for example "
            "ec2.SubnetSelection(subnet_group_name=..., one_per_az=True)"
        )
    if len(azs) < minimum:
        raise ValueError(
            f"{prop} must span at least {minimum} Availability Zones so that losing one AZ "
            f"leaves capacity, got {len(azs)} ({', '.join(azs) or 'no subnets'}); select "
            "subnets in more Availability Zones"
        )
    return tuple(azs)


def concrete_region(prop: str, scope: cdk.Stack) -> str:
    """The stack's Region, which must be concrete because it decides what gets granted."""
    region = scope.region
    if cdk.Token.is_unresolved(region):
        raise ValueError(
            f"{prop} needs a concrete Region but stack {scope.node.path!r} is environment-"
            "agnostic (its Region is a deploy-time token); give the stack "
            "env=cdk.Environment(account=..., region='us-east-1')"
        )
    return region
