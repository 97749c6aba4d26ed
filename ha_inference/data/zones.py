"""Services offered in only some Availability Zones of a Region, and the AZ IDs that offer them.

An AZ *name* (``us-east-1a``) maps to a different physical AZ in every account; an AZ *ID*
(``use1-az1``) names the same AZ in every account. AWS publishes the AZs an AZ-limited service
supports as AZ IDs, so placing a resource in them needs the account's name-to-ID mapping, which
only the account can tell::

    aws ec2 describe-availability-zones --region us-east-1 \\
        --query 'AvailabilityZones[].[ZoneName,ZoneId]' --output text

ha-inference never guesses it: the constructs that place an AZ-limited service take it as
``zone_ids`` (``{"us-east-1a": "use1-az6", ...}``; the reference app reads it from the
``ha-inference:zone-ids`` setting). Where AWS publishes the supported AZ IDs (AgentCore Runtime)
synth fails without the mapping; where it does not (``bedrock-mantle``), the service goes in
every selected AZ with a warning unless ``zone_ids`` and ``supported_az_ids`` are given. And
``ha-inference preflight``
compares the mapping the app was synthesized with against the account's, and every placed
subnet's AZ ID against :data:`ZONE_SUPPORT` and, for interface endpoints, against what
``DescribeVpcEndpointServices`` reports (``ServiceDetails[].AvailabilityZoneIds``).

Each row names its source and the day it was read. Standard library only: the tools read it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ha_inference.regions import AVAILABILITY_ZONES

AGENTCORE_RUNTIME = "bedrock-agentcore-runtime"
"""Amazon Bedrock AgentCore Runtime in VPC mode (its network interfaces), not an endpoint."""
BEDROCK_MANTLE = "bedrock-mantle"
"""The ``com.amazonaws.<region>.bedrock-mantle`` interface endpoint service."""

ZONE_ID = re.compile(r"^(?P<prefix>[a-z]+[0-9]+)-az(?P<number>[0-9]+)$")
"""An AZ ID: a Region code such as ``use1`` or ``apse2``, ``-az`` and a number."""


@dataclass(frozen=True)
class ZoneSupport:
    """The AZ IDs that offer one AZ-limited service, per Region, with the source."""

    service: str
    """The service: an endpoint service's short name, or :data:`AGENTCORE_RUNTIME`."""
    zone_ids: Mapping[str, frozenset[str]]
    """Region -> the AZ IDs that offer the service there. A Region missing here is one this
    table has no data for (the service may still be offered there: give the IDs yourself)."""
    source: str
    """Where the table was read."""
    read_on: str
    """When it was read (YYYY-MM-DD)."""
    how_to_check: str
    """How to read the current offering in an account (a command, with ``{region}``)."""
    published: bool = True
    """Whether AWS publishes the AZ IDs: then synth fails without them (and without the
    account's mapping); otherwise the service is placed in every selected AZ with a warning,
    and ``ha-inference preflight`` reads the offering before a deploy."""

    def supported(self, region: str) -> frozenset[str] | None:
        """The AZ IDs offering the service in ``region``; ``None`` when there is no data."""
        return self.zone_ids.get(region)


def _ids(prefix: str, *numbers: int) -> frozenset[str]:
    return frozenset(f"{prefix}-az{n}" for n in numbers)


ZONE_SUPPORT: Mapping[str, ZoneSupport] = MappingProxyType(
    {
        AGENTCORE_RUNTIME: ZoneSupport(
            service=AGENTCORE_RUNTIME,
            zone_ids=MappingProxyType(
                {
                    "us-east-1": _ids("use1", 1, 2, 4),
                    "us-east-2": _ids("use2", 1, 2, 3),
                    "us-west-2": _ids("usw2", 1, 2, 3),
                    "ap-southeast-2": _ids("apse2", 1, 2, 3),
                    "ap-south-1": _ids("aps1", 1, 2, 3),
                    "ap-southeast-1": _ids("apse1", 1, 2, 3),
                    "ap-northeast-1": _ids("apne1", 1, 2, 4),
                    "eu-west-1": _ids("euw1", 1, 2, 3),
                    "eu-central-1": _ids("euc1", 1, 2, 3),
                }
            ),
            source=(
                "Amazon Bedrock AgentCore developer guide, 'Configure Amazon Bedrock AgentCore "
                "Runtime and tools for VPC', supported Availability Zones "
                "(https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/"
                "agentcore-vpc.html#agentcore-supported-azs), as mirrored in "
                "aws/bedrock-agentcore-starter-toolkit documentation/docs/user-guide/security/"
                "agentcore-vpc.md at commit 4f90432b. A later AWS sample "
                "(aws-samples/sample-autonomous-cloud-coding-agents, agentcore-azs.ts, "
                "2026-08-11) lists more Regions; they are not used here because no AWS page "
                "confirming them was read."
            ),
            read_on="2026-12-07",
            how_to_check=(
                "the AgentCore developer guide's table (no API lists it); a runtime in an "
                "unsupported AZ fails with 'The following subnets are in unsupported "
                "availability zones'"
            ),
        ),
        BEDROCK_MANTLE: ZoneSupport(
            service=BEDROCK_MANTLE,
            zone_ids=MappingProxyType({}),
            source=(
                "No AWS page lists the AZs of the bedrock-mantle interface endpoint; a "
                "third-party module reports it in 3 of the 6 AZs of us-east-1. It is treated "
                "as AZ-limited: give its AZ IDs as DescribeVpcEndpointServices reports them."
            ),
            read_on="2026-12-07",
            how_to_check=(
                "aws ec2 describe-vpc-endpoint-services --region {region} --service-names "
                "com.amazonaws.{region}.bedrock-mantle --query "
                "'ServiceDetails[0].AvailabilityZoneIds'"
            ),
            published=False,
        ),
    }
)
"""Every AZ-limited service ha-inference places, by service."""

ZONE_IDS_COMMAND = (
    "aws ec2 describe-availability-zones --region {region} "
    "--query 'AvailabilityZones[].[ZoneName,ZoneId]' --output text"
)
"""How to read an account's AZ-name-to-ID mapping in a Region."""


def zone_support(service: str) -> ZoneSupport | None:
    """The row of an AZ-limited service; ``None`` for a service not known to be AZ-limited."""
    return ZONE_SUPPORT.get(service)


def zone_id_prefix(zone_id: str) -> str | None:
    """``use1`` of ``use1-az6``; ``None`` when ``zone_id`` is not an AZ ID."""
    match = ZONE_ID.match(zone_id) if isinstance(zone_id, str) else None
    return match["prefix"] if match else None


def check_zone_ids(prop: str, zone_ids: Mapping[str, str], region: str) -> dict[str, str]:
    """Checks an account's AZ-name-to-ID mapping of ``region`` (names of that Region, AZ IDs
    of one Region code such as ``use1-az6``, no AZ ID twice) and returns it as a dict; raises
    ``ValueError`` naming ``prop``, the value and how to read the mapping."""
    mapping = dict(zone_ids)
    example = f"as `{ZONE_IDS_COMMAND.format(region=region)}` lists them"
    if not mapping:
        raise ValueError(f"{prop} must map at least two AZ names to AZ IDs, got {{}}; {example}")
    known = AVAILABILITY_ZONES.get(region, ())
    foreign = sorted(name for name in mapping if name not in known)
    if foreign:
        raise ValueError(
            f"{prop} names {', '.join(foreign)}, not AZ names of {region} ({', '.join(known)}), "
            f"got {mapping}; give the names of the stack's Region, {example}"
        )
    bad = sorted(zone_id for zone_id in mapping.values() if not ZONE_ID.match(zone_id))
    if bad:
        raise ValueError(
            f"{prop} has {', '.join(map(repr, bad))}, not AZ IDs (like 'use1-az6'), got "
            f"{mapping}; give each name's ZoneId, {example}"
        )
    prefixes = sorted({zone_id_prefix(zone_id) or "" for zone_id in mapping.values()})
    if len(prefixes) > 1:
        raise ValueError(
            f"{prop} mixes AZ IDs of several Regions ({', '.join(prefixes)}), got {mapping}; "
            f"give the AZ IDs of {region} only, {example}"
        )
    seen: dict[str, str] = {}
    for name, zone_id in mapping.items():
        if zone_id in seen:
            raise ValueError(
                f"{prop} maps both {seen[zone_id]} and {name} to {zone_id}, got {mapping}; "
                f"each AZ name has its own AZ ID, {example}"
            )
        seen[zone_id] = name
    return mapping
