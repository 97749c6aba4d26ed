"""Service control policy statements that keep an app's inference profiles working under a
Region-deny SCP: ``ha-inference scp cdk.out``.

Why: a cross-Region or global inference profile runs each call in a destination Region that
Bedrock picks, and IAM authorizes the foundation model there, in that Region
(``aws:RequestedRegion`` is the destination); for a global profile, against the Region-less model
ARN with ``aws:RequestedRegion`` set to ``unspecified``
(https://docs.aws.amazon.com/bedrock/latest/userguide/global-cross-region-inference.html). An
organization that denies every Region but its approved ones therefore breaks every call routed
outside them, with ``AccessDeniedException`` ("blocking any destination Region ... will prevent
cross-Region inference",
https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html).

What it prints follows AWS's published example (aws-samples/service-control-policy-examples,
``Region-controls/Deny-access-to-AWS-based-on-the-requested-AWS-region-with-Bedrock-CRIS.json``):
the Bedrock invoke actions are taken out of the Region deny and denied by a second statement
outside the approved Regions unless ``bedrock:InferenceProfileArn`` names a profile, which Bedrock
sets on the model's evaluation in every destination (never on the profile's own evaluation). It
is narrower than the example in three ways, all read from the synthesized assembly:

* only the profiles the app uses, by their exact ARNs in the app's account and source Regions
  (an application profile, whose id is known only after deploy, by
  ``application-inference-profile/*`` in its account and Region);
* only the actions the app's grants use (``bedrock:InvokeModel``,
  ``bedrock:InvokeModelWithResponseStream``; no batch ``CreateModelInvocationJob``);
* one more statement per profile that denies its calls outside its destination Regions (plus
  ``unspecified`` for a global profile), so an exempted profile reaches exactly the Regions it
  routes to and nothing else.

Profiles come from the constructs' metadata (``ha-inference:inference-profile``: id, source and
destination Regions), else from the identity policies (a profile ARN and the model grants
conditioned on it); application profiles from ``AWS::Bedrock::ApplicationInferenceProfile``.
Standard library only; nothing is applied (an SCP is the organization's to change).

Exit codes: 0 printed, 2 the assembly cannot be read or an approved-Region list leaves out a
Region the app deploys to.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ha_inference.tools._template import geography_of, model_grants, profiles_of
from ha_inference.tools.assembly import UNKNOWN_ACCOUNT, UNKNOWN_REGION, StackArtifact, load_stacks

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
"""What the app's grants allow: InvokeModel covers Converse, the streaming action
ConverseStream (https://docs.aws.amazon.com/bedrock/latest/userguide/inference-prereq.html)."""

MAX_SCP_CHARACTERS = 5120
"""The most characters an SCP document may hold (AWS Organizations quotas)."""

REGIONLESS = "unspecified"
"""``aws:RequestedRegion`` of a global profile's Region-less model evaluation."""

EXAMPLE = (
    "https://github.com/aws-samples/service-control-policy-examples/blob/main/Region-controls/"
    "Deny-access-to-AWS-based-on-the-requested-AWS-region-with-Bedrock-CRIS.json"
)

_SYSTEM_PROFILE = re.compile(
    r"^arn:(?P<partition>[\w-]+):bedrock:(?P<region>[a-z0-9-]+):(?P<account>\d*):"
    r"inference-profile/(?P<profile>[^/]+)$"
)


@dataclass(frozen=True)
class RoutedProfile:
    """A profile the app calls, and the Regions IAM authorizes its calls in."""

    label: str
    """The profile id, or ``application profile copying <id>``."""
    patterns: tuple[str, ...]
    """The ``bedrock:InferenceProfileArn`` values of its calls."""
    regions: tuple[str, ...]
    """Every ``aws:RequestedRegion`` its model evaluations carry."""


def _account(stack: StackArtifact) -> str:
    return "*" if stack.account == UNKNOWN_ACCOUNT else stack.account


def _system_regions(
    stack: StackArtifact, profile_id: str, known: frozenset[str] | None
) -> set[str]:
    """Where a system profile's calls from ``stack`` are authorized: the source Region and
    ``unspecified`` for a global profile; else the destinations the construct recorded, or the
    Regions the stack's grants allow the model in through it."""
    if geography_of(profile_id) == "global":
        return {stack.region, REGIONLESS}
    if known:
        return set(known)
    model = profile_id.split(".", 1)[1]
    return {
        grant.region
        for grant in model_grants(stack)
        if grant.model_id == model and grant.region and grant.through_profile
    } or {stack.region}


def routed_profiles(stacks: Sequence[StackArtifact]) -> list[RoutedProfile]:
    """Every profile the app calls, one entry per (profile, Regions) with the ARNs of every
    source Region that routes it there."""
    groups: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for stack in stacks:
        if stack.region == UNKNOWN_REGION:
            continue
        system: dict[str, set[str]] = {}
        for use in profiles_of(stack):
            regions = _system_regions(stack, use.profile_id, use.destinations)
            system[use.profile_id] = regions
            arn = (
                f"arn:{stack.partition}:bedrock:{stack.region}:{_account(stack)}:"
                f"inference-profile/{use.profile_id}"
            )
            groups.setdefault((use.profile_id, tuple(sorted(regions))), set()).add(arn)
        for copied in _application_profiles(stack):
            regions = system.get(copied) or _system_regions(stack, copied, None)
            pattern = (
                f"arn:{stack.partition}:bedrock:{stack.region}:{_account(stack)}:"
                "application-inference-profile/*"
            )
            label = f"application profiles copying {copied}"
            groups.setdefault((label, tuple(sorted(regions))), set()).add(pattern)
    return [
        RoutedProfile(label, tuple(sorted(patterns)), regions)
        for (label, regions), patterns in sorted(groups.items())
    ]


def _application_profiles(stack: StackArtifact) -> list[str]:
    """The system profile each cross-Region application profile of the stack copies (one that
    copies a foundation model serves in its own Region only and needs no exemption)."""
    copied = []
    for resource in stack.of_type("AWS::Bedrock::ApplicationInferenceProfile").values():
        source = (resource.get("Properties", {}).get("ModelSource") or {}).get("CopyFrom")
        arn = _SYSTEM_PROFILE.match(stack.literal(source) or "")
        if arn:
            copied.append(arn["profile"])
    return copied


def app_regions(stacks: Sequence[StackArtifact]) -> list[str]:
    """The Regions the app deploys stacks to."""
    return sorted({s.region for s in stacks if s.region != UNKNOWN_REGION})


def policy(profiles: Sequence[RoutedProfile], approved: Sequence[str]) -> dict[str, Any]:
    """The SCP: a Region deny that leaves the invoke actions out, the deny of those actions
    outside the approved Regions except through the app's profiles, and per profile the deny
    outside its own Regions."""
    regions = sorted(set(approved))
    patterns = sorted({p for profile in profiles for p in profile.patterns})
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DenyUnapprovedRegionsExceptBedrockInference",
            "Effect": "Deny",
            "NotAction": list(INVOKE_ACTIONS),
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:RequestedRegion": regions}},
        },
        {
            "Sid": "DenyBedrockInferenceOutsideApprovedRegions",
            "Effect": "Deny",
            "Action": list(INVOKE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": regions},
                "ArnNotLike": {"bedrock:InferenceProfileArn": patterns},
            },
        },
    ]
    for position, profile in enumerate(profiles, start=1):
        statements.append(
            {
                "Sid": f"DenyProfile{position}OutsideItsRegions",
                "Effect": "Deny",
                "Action": list(INVOKE_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {
                        "aws:RequestedRegion": sorted(set(regions) | set(profile.regions))
                    },
                    "ArnLike": {"bedrock:InferenceProfileArn": list(profile.patterns)},
                },
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


def explanation(
    profiles: Sequence[RoutedProfile], approved: Sequence[str], assembly: str
) -> list[str]:
    """What the statements do and how to use them, as ``#`` lines."""
    lines = [
        f"Service control policy statements for the Bedrock inference profiles of {assembly}",
        f"(after AWS's example: {EXAMPLE}).",
        "",
        f"Approved Regions: {', '.join(approved)}.",
        "Profiles, and the Regions IAM authorizes their calls in (aws:RequestedRegion):",
    ]
    for number, profile in enumerate(profiles, start=1):
        lines.append(f"  {number}. {profile.label}: {', '.join(profile.regions)}")
        lines += [f"       {pattern}" for pattern in profile.patterns]
    outside = sorted({r for p in profiles for r in p.regions} - set(approved))
    lines += [
        "",
        "Statement 1 is a Region deny whose NotAction leaves out the two Bedrock invoke actions:",
        "merge those into the NotAction of your own Region deny, which lists your global",
        "services (AWS's example lists them) and, as there, any exempt administrator role",
        "(ArnNotLike aws:PrincipalARN). Statements 2 and on keep Bedrock inference inside the",
        "approved Regions except through these profiles, and each profile inside its own Regions.",
    ]
    if outside:
        lines.append(
            f"Without them, calls routed to {', '.join(outside)} fail with AccessDeniedException."
        )
    if REGIONLESS in outside:
        lines.append(
            "A global profile's calls are authorized against the Region-less model ARN with "
            "aws:RequestedRegion 'unspecified', which no Region list matches."
        )
    if any("application-inference-profile/*" in p for pr in profiles for p in pr.patterns):
        lines.append(
            "Application profile ids are known only after deploy: the pattern covers every "
            "application profile of that account and Region; replace it with the ARNs once "
            "deployed to narrow it."
        )
    return [f"# {line}".rstrip() for line in lines]


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="ha-inference scp",
        description="Print the service control policy statements that keep the app's Bedrock "
        "inference profiles working under a Region-deny SCP (nothing is applied).",
    )
    parser.add_argument("assembly", nargs="?", default="cdk.out", help="cloud assembly (cdk.out)")
    parser.add_argument(
        "--approved-region",
        action="append",
        default=[],
        metavar="REGION",
        help="a Region your organization approves (repeatable); default: the app's Regions. "
        "It must include every Region the app deploys to",
    )
    parser.add_argument("--json", action="store_true", help="print the policy document only")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        stacks = load_stacks(args.assembly)
    except FileNotFoundError as err:
        print(err, file=sys.stderr)
        return 2
    deployed = app_regions(stacks)
    approved = sorted(set(args.approved_region or deployed))
    missing = [region for region in deployed if region not in approved]
    if missing:
        print(
            f"--approved-region leaves out {', '.join(missing)}, where the app deploys stacks, "
            f"got {', '.join(approved)}; an SCP that denies them denies the deploy too: approve "
            "them, or remove their stacks from the app",
            file=sys.stderr,
        )
        return 2
    profiles = routed_profiles(stacks)
    if not profiles:
        print(
            f"No cross-Region inference profile in {args.assembly}: every Bedrock call runs in "
            "the Region of its stack, so a Region deny of the app's Regions needs no exemption."
        )
        return 0
    built = policy(profiles, approved)
    size = len(json.dumps(built, separators=(",", ":")))
    if size > MAX_SCP_CHARACTERS:
        print(
            f"the statements take {size} characters without whitespace, more than the "
            f"{MAX_SCP_CHARACTERS} an SCP may hold: split them over two policies",
            file=sys.stderr,
        )
    if not args.json:
        print("\n".join(explanation(profiles, approved, str(Path(args.assembly)))))
    print(json.dumps(built, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
