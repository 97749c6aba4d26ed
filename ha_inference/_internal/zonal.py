"""Zonal placement shared by the self-hosted constructs: one subnet in every selected AZ."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2

from ha_inference._internal.validation import select_subnets, subnet_azs


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
    prop: str, vpc: ec2.IVpc, selection: ec2.SubnetSelection | None
) -> ZonalSubnets:
    """Selects ``selection`` in ``vpc`` (default: one in every AZ of the private subnets) and checks
    that it holds exactly one subnet in each of at least two AZs (see ``subnet_azs``)."""
    subnets = tuple(select_subnets(vpc, selection))
    azs = subnet_azs(prop, subnets)
    if azs is None:
        tokens = tuple(subnet.availability_zone for subnet in subnets)
        return ZonalSubnets(subnets=subnets, availability_zones=tokens, checked=False)
    return ZonalSubnets(subnets=subnets, availability_zones=azs, checked=True)
