"""Checks shared by the constructs. Each raises with a message that names the prop and the fix."""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct, IValidation

from ha_inference._internal.stacks import region_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference.metadata import mark_subnet_zones

MIN_AZS = 2
"""The fewest Availability Zones a highly available component may span."""


def subnet_azs(
    prop: str, availability_zones: Sequence[str], *, minimum: int = MIN_AZS
) -> tuple[str, ...] | None:
    """Checks that subnets in ``availability_zones`` (each subnet's AZ, in subnet order) hold
    exactly one subnet in each of at least ``minimum`` AZs.

    Returns the AZs in subnet order, or ``None`` when an AZ is an unresolved token (an imported
    VPC without AZ names): then only the number of subnets can be checked at synth time.
    """
    azs = list(availability_zones)
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
    region = region_of(scope)
    if is_unresolved(region):
        raise ValueError(
            f"{prop} needs a concrete Region but stack {scope.node.path!r} is environment-"
            "agnostic (its Region is a deploy-time token); give the stack "
            "env=cdk.Environment(account=..., region='us-east-1')"
        )
    return region


def select_subnets(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> list[ec2.ISubnet]:
    """The subnets ``selection`` picks in ``vpc`` (default: one in every AZ of the private ones)."""
    return list(_selected(vpc, selection or ec2.SubnetSelection(one_per_az=True)).subnets)


def subnet_zones(vpc: ec2.IVpc, selection: ec2.SubnetSelection | None) -> tuple[str, ...]:
    """The AZ of each subnet :func:`select_subnets` picks, in subnet order (tokens where the
    VPC does not know them)."""
    return _selected(vpc, selection or ec2.SubnetSelection(one_per_az=True)).availability_zones


@dataclass(frozen=True)
class _Selected:
    """What ``vpc.select_subnets`` picked; each subnet's AZ and id read once, when first asked."""

    selection: ec2.SubnetSelection
    """The selection asked for (kept alive, so that an identity key stays unique)."""
    subnets: tuple[ec2.ISubnet, ...]

    @cached_property
    def availability_zones(self) -> tuple[str, ...]:
        return tuple(subnet.availability_zone for subnet in self.subnets)

    @cached_property
    def subnet_ids(self) -> tuple[str, ...]:
        return tuple(subnet.subnet_id for subnet in self.subnets)


_SELECTED: weakref.WeakKeyDictionary[ec2.Vpc, dict[Hashable, _Selected]] = (
    weakref.WeakKeyDictionary()
)
"""Per VPC this app created: each selection's subnets, by the selection's values (or by its
identity when a value is not hashable, such as a list of subnets or filters).

Every round trip to the jsii kernel counts at synth (``select_subnets`` alone is seven: the
call and each field of the struct it returns), and several constructs of a stack select the
same subnets of the same VPC. Only an ``ec2.Vpc`` is cached: it creates all its subnets in its
constructor and never adds or drops one, and a subnet's id and AZ never change, so the same
selection picks the same subnets every time. Keyed weakly by the VPC object, so nothing outlives
the app that holds it."""


def _selected(vpc: ec2.IVpc, selection: ec2.SubnetSelection) -> _Selected:
    """``vpc.select_subnets(selection)`` with the AZ and id of each subnet (cached for an
    ``ec2.Vpc``, see :data:`_SELECTED`).

    ``IVpc.select_subnets`` takes the selection as keyword arguments in Python; jsii structs keep
    theirs in ``_values``.
    """
    cache = _SELECTED.setdefault(vpc, {}) if isinstance(vpc, ec2.Vpc) else {}
    by_value, key = _selection_key(selection)
    found = cache.get(key)
    if found is not None and (by_value or found.selection is selection):
        return found
    selected = _Selected(selection, tuple(vpc.select_subnets(**selection._values).subnets))
    cache[key] = selected
    return selected


def _selection_key(selection: ec2.SubnetSelection) -> tuple[bool, Hashable]:
    """Whether ``selection`` is keyed by its values (when all are hashable: subnet types, group
    names, flags), and the key; else by its identity (lists of subnets, AZs or filters)."""
    values = tuple(sorted(selection._values.items()))
    try:
        hash(values)
    except TypeError:
        return False, id(selection)
    return True, values


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
    selected = _selected(vpc, selection or ec2.SubnetSelection(one_per_az=True))
    subnets, zones = selected.subnets, selected.availability_zones
    azs = subnet_azs(prop, zones)
    mark_subnet_zones(
        scope,
        {
            subnet_id: az
            for subnet_id, az in zip(selected.subnet_ids, zones, strict=True)
            if not is_unresolved(subnet_id) and not is_unresolved(az)
        },
    )
    if selection is None:
        warn_if_several_private_groups(scope, prop, vpc, subnets)
    if azs is None:
        _warn_if_environment_agnostic(scope, prop, subnets)
        return ZonalSubnets(subnets=subnets, availability_zones=zones, checked=False)
    return ZonalSubnets(subnets=subnets, availability_zones=azs, checked=True)


def warn_if_several_private_groups(
    scope: IConstruct, prop: str, vpc: ec2.IVpc, chosen: Sequence[ec2.ISubnet]
) -> None:
    candidates = _selected(vpc, ec2.SubnetSelection()).subnets
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
