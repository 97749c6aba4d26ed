"""Checks shared by the constructs. Each raises with a message that names the prop and the fix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct, IValidation

from ha_inference._internal.tokens import is_unresolved
from ha_inference.metadata import mark_subnet_zones

MIN_AZS = 2
"""The fewest Availability Zones a highly available component may span."""


def subnet_azs(
    prop: str, subnets: Sequence[ec2.ISubnet], *, minimum: int = MIN_AZS
) -> tuple[str, ...] | None:
    """Checks that ``subnets`` hold exactly one subnet in each of at least ``minimum`` AZs.

    Returns the AZs in subnet order, or ``None`` when an AZ is an unresolved token (an imported
    VPC without AZ names): then only the number of subnets can be checked at synth time.
    """
    azs = [subnet.availability_zone for subnet in subnets]
    if any(is_unresolved(az) for az in azs):
        if len(azs) < minimum:
            raise ValueError(
                f"{prop} must hold at least {minimum} subnets, one per Availability Zone, got "
                f"{len(azs)}; select subnets in more Availability Zones"
            )
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
    if is_unresolved(region):
        raise ValueError(
            f"{prop} needs a concrete Region but stack {scope.node.path!r} is environment-"
            "agnostic (its Region is a deploy-time token); give the stack "
            "env=cdk.Environment(account=..., region='us-east-1')"
        )
    return region


def select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> list[ec2.ISubnet]:
    """The subnets ``selection`` picks in ``vpc`` (default: one in every AZ of the private ones).

    ``IVpc.select_subnets`` takes the selection as keyword arguments in Python; jsii structs keep
    theirs in ``_values``.
    """
    chosen = selection or ec2.SubnetSelection(one_per_az=True)
    return list(vpc.select_subnets(**chosen._values).subnets)


@dataclass(frozen=True)
class ZonalSubnets:
    """Subnets with exactly one in each AZ, and those AZs (token strings when not known)."""

    subnets: tuple[ec2.ISubnet, ...]
    availability_zones: tuple[str, ...]
    checked: bool
    """``False`` when the AZs are deploy-time tokens and could not be checked at synth time."""

    @property
    def selection(self) -> ec2.SubnetSelection:
        """A selection of exactly these subnets, to hand to other constructs."""
        return ec2.SubnetSelection(subnets=list(self.subnets))


def select_zonal_subnets(
    prop: str, vpc: ec2.IVpc, selection: ec2.SubnetSelection | None, *, scope: IConstruct
) -> ZonalSubnets:
    """Selects ``selection`` in ``vpc`` (default: one in every AZ of the private subnets) and checks
    that it holds exactly one subnet in each of at least two AZs (see ``subnet_azs``).

    Warns on ``scope`` when the default picks among several private subnet groups, and when an
    environment-agnostic stack limits the VPC to the two AZs CDK gives such stacks. Records on
    ``scope`` the AZ of each imported subnet (id and AZ known at synth), which the template does
    not say, for the AZ-loss report.
    """
    subnets = tuple(select_subnets(vpc, selection))
    azs = subnet_azs(prop, subnets)
    mark_subnet_zones(
        scope,
        {
            subnet.subnet_id: subnet.availability_zone
            for subnet in subnets
            if not is_unresolved(subnet.subnet_id) and not is_unresolved(subnet.availability_zone)
        },
    )
    if selection is None:
        warn_if_several_private_groups(scope, prop, vpc, subnets)
    if azs is None:
        _warn_if_environment_agnostic(scope, prop, subnets)
        tokens = tuple(subnet.availability_zone for subnet in subnets)
        return ZonalSubnets(subnets=subnets, availability_zones=tokens, checked=False)
    return ZonalSubnets(subnets=subnets, availability_zones=azs, checked=True)


def warn_if_several_private_groups(
    scope: IConstruct, prop: str, vpc: ec2.IVpc, chosen: Sequence[ec2.ISubnet]
) -> None:
    candidates = list(vpc.select_subnets().subnets)
    if len(candidates) <= len(chosen):
        return
    cdk.Annotations.of(scope).add_warning_v2(
        "ha-inference:several-private-subnet-groups",
        f"{prop} is not given and {vpc.node.path} has more than one private subnet per AZ "
        f"(several private subnet groups): the default takes the first of each AZ "
        f"({', '.join(s.node.path for s in chosen)}). Pass {prop}=ec2.SubnetSelection("
        "subnet_group_name='<group>') to choose the tier on purpose.",
    )


def _warn_if_environment_agnostic(
    scope: IConstruct, prop: str, subnets: Sequence[ec2.ISubnet]
) -> None:
    stack = cdk.Stack.of(scope)
    if not is_unresolved(stack.region):
        return
    cdk.Annotations.of(scope).add_warning_v2(
        "ha-inference:environment-agnostic",
        f"{stack.node.path} is environment-agnostic, so its AZs are unknown at synth time and "
        f"CDK gives a VPC created in it at most two AZs whatever max_azs says; {prop} spans "
        f"{len(subnets)} subnets. Give the stack env=cdk.Environment(account=..., region=...) "
        "(and availability_zones) so the construct uses every AZ you intend and synth can "
        "check them.",
    )


@jsii.implements(IValidation)
class LateCheck:
    """Adapts a function returning error messages to ``node.add_validation``."""

    def __init__(self, check: Callable[[], list[str]]) -> None:
        self._check = check

    def validate(self) -> list[str]:
        return self._check()
