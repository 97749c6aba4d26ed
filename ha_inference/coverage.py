"""GENREL05-BP01 step 4: every Region that uses an inference profile is fully covered.

Constructs mark what they are with construct metadata: inference profiles record where they are
used and where they route (``ha-inference:inference-profile``); supporting infrastructure records
its kind (``ha-inference:supporting``). :class:`RegionCoverage` reads those marks across the
whole app at synth time, so it works for stacks built with or without this library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import aws_cdk as cdk
from constructs import Construct, IConstruct

from ha_inference._internal.validation import LateCheck

SUPPORTING_METADATA = "ha-inference:supporting"
PROFILE_METADATA = "ha-inference:inference-profile"


def mark_supporting(construct: IConstruct, kind: str) -> None:
    """Records that ``construct`` is supporting infrastructure of ``kind`` in its stack's Region."""
    construct.node.add_metadata(SUPPORTING_METADATA, kind)


class RegionCoverage(Construct):
    """An app-level check that each Region using a profile has everything it needs.

    Add it once, to the app (or a stage); it creates no resources. At synth it fails with one
    message that lists, per Region, what is missing:

    * every Region with a stack that uses an inference profile has each ``supporting`` kind
      (for example ``bedrock-endpoints``, ``vector-search``, ``compute``);
    * every Region the app deploys to is a source Region of each profile geography it uses;
    * with ``require_all_destinations`` (default), every Region a profile can route to is itself
      deployed, so the loss of any one Region leaves the others serving.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        supporting: Iterable[str] = (),
        require_all_destinations: bool = True,
    ) -> None:
        super().__init__(scope, construct_id)
        self.supporting = tuple(sorted(set(supporting)))
        self.require_all_destinations = require_all_destinations
        self.node.add_validation(
            LateCheck(lambda: [f"RegionCoverage: {problem}" for problem in self.problems()])
        )

    def problems(self) -> list[str]:
        """What is missing, one line per Region and kind of gap."""
        root = self.node.scope or self
        kinds: dict[str, set[str]] = defaultdict(set)
        profiles: dict[str, list[dict[str, Any]]] = defaultdict(list)
        deployed: set[str] = set()
        for node in root.node.find_all():
            stack = _stack_of(node)
            if stack is None or cdk.Token.is_unresolved(stack.region):
                continue
            if node is stack:
                deployed.add(stack.region)
            for entry in node.node.metadata:
                if entry.type == SUPPORTING_METADATA:
                    kinds[stack.region].add(entry.data)
                elif entry.type == PROFILE_METADATA:
                    profiles[stack.region].append(entry.data)

        problems = []
        for region in sorted(profiles):
            missing = [kind for kind in self.supporting if kind not in kinds[region]]
            if missing:
                problems.append(
                    f"{region} uses an inference profile but has no {', '.join(missing)}; add "
                    "that supporting infrastructure to the Region's stack"
                )
        used = {p["profileId"]: p for region_profiles in profiles.values() for p in region_profiles}
        for profile_id, profile in sorted(used.items()):
            not_sources = sorted(deployed - set(profile["sourceRegions"]))
            if not_sources:
                problems.append(
                    f"{', '.join(not_sources)} {'is' if len(not_sources) == 1 else 'are'} "
                    f"deployed but not a source Region of {profile_id!r} (sources: "
                    f"{', '.join(profile['sourceRegions'])}); deploy only to source Regions or "
                    "use a profile of the geography that serves them"
                )
            if self.require_all_destinations:
                routes_to = {
                    d
                    for p in (
                        q for r in profiles.values() for q in r if q["profileId"] == profile_id
                    )
                    for d in p["destinationRegions"]
                }
                uncovered = sorted(routes_to - deployed)
                if uncovered:
                    problems.append(
                        f"{profile_id!r} routes to {', '.join(uncovered)}, where the app deploys "
                        "nothing; deploy the regional stack there too, or pass "
                        "require_all_destinations=False to accept Regions you cannot fail over to"
                    )
        return problems


def _stack_of(node: IConstruct) -> cdk.Stack | None:
    """The nearest stack at or above ``node``, or ``None`` for the app and stages."""
    for scope in reversed(node.node.scopes):
        if cdk.Stack.is_stack(scope):
            return scope  # type: ignore[return-value]
    return None
