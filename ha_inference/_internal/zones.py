"""The one AZ-support mechanism: an AZ-limited service goes only where its AZ IDs offer it.

Every construct that places an AZ-limited service (:mod:`ha_inference.data.zones`) selects its
subnets through :func:`place_in_supported_zones`: the account's AZ-name-to-ID mapping
(``zone_ids``, never guessed), the AZ IDs that offer the service (``supported_az_ids``, or the
data table's row for the Region), and the subnets. A subnet of the default selection or of a
tier (``subnet_group_name``) in an AZ that does not offer the service is left out (and said so
in an info annotation); one the caller listed by hand (``subnets=[...]``) fails synth, naming
its AZ ID and the supported ones. Fewer than two supported AZs
fail synth. The placement is recorded (``ha-inference:zone-placement``) for ``ha-inference
preflight``, which compares the mapping and the AZ IDs with the account's before a deploy.

Services not known to be AZ-limited keep the ordinary selection (one subnet in every AZ, at
least two) without a mapping; preflight still checks each interface endpoint's AZs against
``DescribeVpcEndpointServices``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from constructs import IConstruct

from ha_inference._internal.props import given
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import (
    MIN_AZS,
    ZonalSubnets,
    concrete_region,
    select_subnets,
    select_zonal_subnets,
    warn_if_several_private_groups,
)
from ha_inference.data.zones import ZONE_ID, ZONE_IDS_COMMAND, check_zone_ids, zone_support
from ha_inference.metadata import mark_zone_placement

ZONE_IDS_EXAMPLE = "{'us-east-1a': 'use1-az6', 'us-east-1b': 'use1-az1'}"


@dataclass(frozen=True)
class ZonePlacement:
    """The subnets an AZ-limited service was placed in, and their AZ IDs."""

    zonal: ZonalSubnets
    zone_ids: tuple[str, ...]
    """The AZ ID of each subnet, in subnet order (empty for a service not AZ-limited)."""
    skipped: tuple[tuple[str, str], ...] = ()
    """(AZ name, AZ ID) of the AZs of the default selection that do not offer the service."""


def check_supported_az_ids(prop: str, supported: Sequence[str]) -> frozenset[str]:
    """Checks a list of AZ IDs (``['use1-az1', 'use1-az2']``)."""
    bad = [zone_id for zone_id in supported if not ZONE_ID.match(zone_id)]
    if bad or not supported:
        raise ValueError(
            f"{prop} must list AZ IDs such as ['use1-az1', 'use1-az2'], got "
            f"{given(list(supported))}; copy them from the service's documentation or "
            "DescribeVpcEndpointServices"
        )
    return frozenset(supported)


def place_in_supported_zones(
    prop: str,
    vpc: ec2.IVpc,
    selection: ec2.SubnetSelection | None,
    *,
    scope: IConstruct,
    service: str,
    zone_ids: Mapping[str, str] | None,
    supported: Sequence[str] | None = None,
    strict: bool | None = None,
    zone_ids_prop: str = "zone_ids",
    supported_prop: str = "supported_az_ids",
) -> ZonePlacement:
    """Selects ``selection`` in ``vpc`` (default: one subnet in every AZ of the private subnets)
    for ``service``, keeping only AZs whose AZ ID offers it (see the module).

    ``strict`` refuses a selected subnet in an AZ that does not offer the service instead of
    leaving it out. Default: when ``selection`` names its subnets one by one
    (``SubnetSelection(subnets=[...])``); a selection by tier (``subnet_group_name``,
    ``subnet_type``) is taken in the AZs of that tier that offer the service.
    """
    row = zone_support(service)
    if row is None and supported is None:
        return ZonePlacement(select_zonal_subnets(prop, vpc, selection, scope=scope), ())
    region = concrete_region(zone_ids_prop, cdk.Stack.of(scope))
    allowed = _allowed(service, region, supported, supported_prop)
    if allowed is None:
        return _unknown_support(
            prop,
            vpc,
            selection=selection,
            scope=scope,
            service=service,
            region=region,
            zone_ids_prop=zone_ids_prop,
        )
    how = ZONE_IDS_COMMAND.format(region=region)
    if zone_ids is None:
        raise ValueError(
            f"{zone_ids_prop} must map this account's AZ names to AZ IDs, because {service} is "
            f"offered only in AZ IDs {', '.join(sorted(allowed))} of {region} and AZ names map "
            f"to different AZ IDs in every account; got none. Pass {zone_ids_prop}="
            f"{ZONE_IDS_EXAMPLE} as `{how}` lists them (the reference app: the "
            "ha-inference:zone-ids setting)"
        )
    mapping = check_zone_ids(zone_ids_prop, zone_ids, region)
    subnets = select_subnets(vpc, selection)
    _check_literal_zones(prop, subnets, service)
    missing = sorted({s.availability_zone for s in subnets} - set(mapping))
    if missing:
        raise ValueError(
            f"{zone_ids_prop} has no AZ ID for {', '.join(missing)}, where {prop} has a subnet, "
            f"got {mapping}; add every AZ of the VPC as `{how}` lists them"
        )
    unsupported = [
        (s.availability_zone, mapping[s.availability_zone])
        for s in subnets
        if mapping[s.availability_zone] not in allowed
    ]
    if unsupported and (_names_subnets(selection) if strict is None else strict):
        az, zone_id = unsupported[0]
        raise ValueError(
            f"{prop} has a subnet in {az} ({zone_id}), an AZ that does not offer {service} in "
            f"{region}; it is offered in AZ IDs {_named(allowed, mapping)}. Select subnets only "
            f"in those AZs, or leave {prop} out to use them by default"
        )
    kept = [s for s in subnets if mapping[s.availability_zone] in allowed]
    spread = sorted({s.availability_zone for s in kept})
    if len(spread) < MIN_AZS:
        have = ", ".join(f"{az} ({mapping[az]})" for az in spread) or "none"
        raise ValueError(
            f"{prop} must span at least {MIN_AZS} AZs that offer {service}, got {have}; "
            f"{region} offers it in AZ IDs {_named(allowed, mapping)}: add subnets in those AZs "
            "to the VPC (or the selection)"
        )
    zonal = select_zonal_subnets(prop, vpc, ec2.SubnetSelection(subnets=kept), scope=scope)
    if selection is None:
        warn_if_several_private_groups(scope, prop, vpc, subnets)
    if unsupported:
        skipped = ", ".join(f"{az} ({zone_id})" for az, zone_id in unsupported)
        cdk.Annotations.of(scope).add_info(
            f"{service} is not offered in {skipped} of {region}, so {scope.node.path} has no "
            f"subnet there; it uses {', '.join(f'{az} ({mapping[az]})' for az in spread)}"
        )
    _record(scope, service=service, region=region, mapping=mapping, allowed=allowed, kept=kept)
    return ZonePlacement(
        zonal, tuple(mapping[s.availability_zone] for s in kept), tuple(unsupported)
    )


def _names_subnets(selection: ec2.SubnetSelection | None) -> bool:
    """Whether ``selection`` lists its subnets one by one (rather than naming a tier)."""
    return selection is not None and selection._values.get("subnets") is not None


def _unknown_support(
    prop: str,
    vpc: ec2.IVpc,
    *,
    selection: ec2.SubnetSelection | None,
    scope: IConstruct,
    service: str,
    region: str,
    zone_ids_prop: str,
) -> ZonePlacement:
    """A service reported to be AZ-limited whose AZ IDs AWS does not publish: every selected AZ,
    and a warning that says how to narrow it and that preflight checks it."""
    zonal = select_zonal_subnets(prop, vpc, selection, scope=scope)
    row = zone_support(service)
    how = row.how_to_check.format(region=region) if row is not None else ""
    cdk.Annotations.of(scope).add_warning_v2(
        "ha-inference:az-support-unknown",
        f"{service} is reported to be offered in only some AZs of {region}, and AWS publishes no "
        f"list of them, so {scope.node.path} puts it in every selected AZ "
        f"({', '.join(zonal.availability_zones)}); a subnet in an AZ that does not offer it "
        f"fails the deploy. Run `ha-inference preflight` before deploying, or pass "
        f"{zone_ids_prop} and supported_az_ids (`{how}`) to place it only where it is offered.",
    )
    return ZonePlacement(zonal, ())


def _allowed(
    service: str, region: str, supported: Sequence[str] | None, supported_prop: str
) -> frozenset[str] | None:
    """The AZ IDs that offer ``service``; ``None`` where AWS publishes none (place it in every
    AZ, with a warning); raises where it does but ha-inference has no data for the Region."""
    if supported is not None:
        return check_supported_az_ids(supported_prop, supported)
    row = zone_support(service)
    found = row.supported(region) if row is not None else None
    if row is not None and found is None and not row.published:
        return None
    if row is None or found is None:
        how = row.how_to_check.format(region=region) if row is not None else ""
        raise ValueError(
            f"{supported_prop} must list the AZ IDs that offer {service} in {region}: "
            f"ha-inference has no data on them there, got none; read them with `{how}` and pass "
            f"{supported_prop}=['<az id>', ...]"
        )
    return found


def _check_literal_zones(prop: str, subnets: Sequence[ec2.ISubnet], service: str) -> None:
    if any(is_unresolved(s.availability_zone) for s in subnets):
        raise ValueError(
            f"{prop} must be subnets whose AZs are known at synth time, to compare their AZ IDs "
            f"with those that offer {service}, but the VPC's AZs are deploy-time values; give "
            "the stack env=cdk.Environment(account=..., region=...) and pin_availability_zones"
            "(stack), or import the VPC with its AZ names"
        )


def _named(allowed: frozenset[str], mapping: Mapping[str, str]) -> str:
    """``use1-az1 (us-east-1b), use1-az4 (not in zone_ids)``."""
    names = {zone_id: name for name, zone_id in mapping.items()}
    return ", ".join(
        f"{zone_id} ({names.get(zone_id, 'no AZ name given for it')})"
        for zone_id in sorted(allowed)
    )


def _record(
    scope: IConstruct,
    *,
    service: str,
    region: str,
    mapping: Mapping[str, str],
    allowed: frozenset[str],
    kept: Sequence[ec2.ISubnet],
) -> None:
    stack = cdk.Stack.of(scope)
    subnets: list[Any] = [stack.resolve(s.subnet_id) for s in kept]
    mark_zone_placement(
        scope,
        {
            "service": service,
            "region": region,
            "zoneIds": dict(sorted(mapping.items())),
            "supportedAzIds": sorted(allowed),
            "subnets": subnets,
        },
    )
