"""GENREL05-BP01 step 4: every Region that uses an inference profile is fully covered.

Constructs mark what they are (:mod:`ha_inference.metadata`): inference profiles record where
they are used and where they route, imported models (Bedrock Custom Model Import) the one Region
that serves them, models invoked in-Region (:meth:`ha_inference.FoundationModel.in_stack_region`)
the Region they are called in, supporting infrastructure its kind. :class:`RegionCoverage` reads
the marks at synth time. Any construct can be marked with
:func:`~ha_inference.metadata.mark_supporting`, so the check covers stacks built with or without
this library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import aws_cdk as cdk
from constructs import Construct, IConstruct

from ha_inference._internal.props import checked_props
from ha_inference._internal.stacks import region_of, stack_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import LateCheck
from ha_inference.data.models import READ_ON, model_card
from ha_inference.metadata import (
    AGENTIC_COMPUTE,
    CROSS_REGION_PATHS_METADATA,
    FOUNDATION_MODEL_METADATA,
    IMPORTED_MODEL_METADATA,
    PUBLISHED_RUNTIME_METADATA,
    SELF_HOSTED_METADATA,
    SUPPORTING_METADATA,
    marks_under,
)
from ha_inference.metadata import mark_supporting as _mark_supporting

_CROSS_REGION_KINDS = frozenset(
    {SELF_HOSTED_METADATA, PUBLISHED_RUNTIME_METADATA, CROSS_REGION_PATHS_METADATA}
)


@checked_props
def mark_supporting(construct: IConstruct, kind: str) -> None:
    """Records that ``construct`` is supporting infrastructure of ``kind`` in its stack's Region,
    for :class:`RegionCoverage` (for your own constructs; the library's mark themselves).

    :param construct: the construct, in a stack with a concrete Region.
    :param kind: what :class:`RegionCoverage` calls it (one of its ``supporting`` kinds).
    """
    _mark_supporting(construct, kind)


class RegionCoverage(Construct):
    """An app-level check that each Region using a profile has everything it needs.

    Add it once, to the app (or a stage); it creates no resources. At synth it fails with one
    message that lists, per Region, what is missing:

    * every Region with a stack that uses an inference profile or serves an imported model has
      each ``supporting`` kind (for example ``bedrock-endpoints``, ``vector-search``,
      ``compute``);
    * every Region the app deploys to is a source Region of each profile geography it uses;
    * once any Region that uses a profile runs an agent (``MultiAzAgentRuntime``, kind
      ``agentic-compute``), every Region that uses a profile runs one too: agentic compute is
      supporting infrastructure of every Region requests can be served from;
    * every model invoked in-Region (an embedding model, ``FoundationModel.in_stack_region``)
      is offered on demand in that Region, where the model's row in
      :data:`ha_inference.data.models.MODEL_CARDS` records its Regions;
    * with ``require_all_destinations``, every Region a profile can route to is itself
      deployed, so the loss of any one Region leaves the others serving;
    * with ``require_cross_region_paths``, every Region that hosts a self-hosted model
      (``MultiAzSageMakerEndpoint``) can be reached from every other Region that hosts one or
      calls one: the callers have a cross-Region path to it (``CrossRegionRuntimePaths``) and
      it offers them its endpoint service (``RuntimeRoute.through``), so losing one Region leaves
      every caller a model to fail over to (GENREL05-BP01 step 5).
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        supporting: Iterable[str] = (),
        require_all_destinations: bool = True,
        require_cross_region_paths: bool = False,
    ) -> None:
        """
        :param supporting: the kinds of supporting infrastructure every Region that uses a
            profile or serves an imported model must have (the kinds constructs declare with
            :func:`mark_supporting`, e.g. ``bedrock-endpoints``, ``vector-search``,
            ``compute``). Default: none.
        :param require_all_destinations: require a deployed Region for every Region a profile
            can route to. Default: ``True``.
        :param require_cross_region_paths: require every Region that hosts a self-hosted model
            to be reachable from every other Region that hosts or calls one. Default: ``False``.
        """
        super().__init__(scope, construct_id)
        self.supporting = tuple(sorted(set(supporting)))
        self.require_all_destinations = require_all_destinations
        self.require_cross_region_paths = require_cross_region_paths
        self.node.add_validation(
            LateCheck(lambda: [f"RegionCoverage: {problem}" for problem in self.problems()])
        )

    def problems(self) -> list[str]:
        """What is missing, one line per Region and kind of gap."""
        scope = self.node.scope or self
        path = scope.node.path
        prefix = f"{path}/" if path else ""
        kinds: dict[str, set[str]] = defaultdict(set)
        profiles: dict[str, list[dict[str, Any]]] = defaultdict(list)
        uses: dict[str, set[str]] = defaultdict(set)
        in_region: set[tuple[str, str]] = set()
        cross_region: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for construct, kind, data in marks_under(self.node.root):
            # Every path starts with the root's empty prefix: no need to ask for it then.
            if prefix and not construct.node.path.startswith(prefix):
                continue
            region = region_of(stack_of(construct))
            if is_unresolved(region):
                continue
            if kind in _CROSS_REGION_KINDS:
                cross_region[kind][region].append(data)
            elif kind == SUPPORTING_METADATA:
                kinds[region].add(data)
            elif kind == FOUNDATION_MODEL_METADATA:
                in_region.add((data["region"], data["modelId"]))
            elif kind == IMPORTED_MODEL_METADATA:
                uses[region].add(f"serves imported model {data['importedModelName']!r}")
            else:
                profiles[region].append(data)
                uses[region].add("uses an inference profile")
        deployed = {region_of(s) for s in _stacks(scope) if not is_unresolved(region_of(s))}

        problems = []
        for region in sorted(uses):
            missing = [kind for kind in self.supporting if kind not in kinds[region]]
            if missing:
                problems.append(
                    f"{region} {' and '.join(sorted(uses[region]))} but has no "
                    f"{', '.join(missing)}; add that supporting infrastructure to the Region's "
                    "stack"
                )
        problems.extend(self._agentic_problems(uses, kinds))
        problems.extend(_in_region_problems(in_region))
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
        if self.require_cross_region_paths:
            problems.extend(_cross_region_problems(cross_region))
        return problems

    def _agentic_problems(self, uses: dict[str, set[str]], kinds: dict[str, set[str]]) -> list[str]:
        """Regions without an agent while another Region using a profile runs one (unless
        ``supporting`` already requires the kind, which reports it above)."""
        if AGENTIC_COMPUTE in self.supporting:
            return []
        with_agent = sorted(r for r in uses if AGENTIC_COMPUTE in kinds[r])
        if not with_agent:
            return []
        return [
            f"{region} {' and '.join(sorted(uses[region]))} but runs no agent runtime "
            f"({AGENTIC_COMPUTE}), while {', '.join(with_agent)} "
            f"{'does' if len(with_agent) == 1 else 'do'}; deploy the agent in every Region, "
            "so that losing one leaves agents in the others"
            for region in sorted(uses)
            if AGENTIC_COMPUTE not in kinds[region]
        ]


def _in_region_problems(uses: set[tuple[str, str]]) -> list[str]:
    """Each model invoked in-Region is offered there, where its card records the Regions."""
    problems = []
    for region, model_id in sorted(uses):
        card = model_card(model_id)
        if card is None or card.in_region is None or region in card.in_region:
            continue
        problems.append(
            f"{region} invokes {model_id!r} in its own Region, but Amazon Bedrock offers it on "
            f"demand only in {', '.join(sorted(card.in_region))} ({card.in_region_source}, "
            f"read {READ_ON}), so every call from {region} fails; deploy to those Regions or "
            f"choose a model offered in {region}"
        )
    return problems


def _cross_region_problems(marks: dict[str, dict[str, list[dict[str, Any]]]]) -> list[str]:
    """Each model Region reachable from every other Region that hosts or calls a model."""
    models = marks[SELF_HOSTED_METADATA]
    offered = {
        region: {r for published in items for r in published["offeredRegions"]}
        for region, items in marks[PUBLISHED_RUNTIME_METADATA].items()
    }
    reaches = {
        region: {r for paths in items for r in paths["regions"]}
        for region, items in marks[CROSS_REGION_PATHS_METADATA].items()
    }
    callers = set(models) | set(reaches)
    problems = []
    for region in sorted(models):
        names = ", ".join(sorted(m["endpointName"] for m in models[region]))
        for caller in sorted(callers - {region}):
            if region not in reaches.get(caller, set()):
                problems.append(
                    f"{region} hosts self-hosted model {names} but {caller} cannot reach it: "
                    f"{caller} has no cross-Region path to {region}; add {region}'s route to a "
                    f"CrossRegionRuntimePaths in {caller}"
                )
            elif caller not in offered.get(region, set()):
                problems.append(
                    f"{caller} has a cross-Region path to {region}, but {region}'s endpoint "
                    f"service does not offer {caller}; add {caller} to allowed_regions of the "
                    "load balancer's endpoint service and route through it "
                    "(RuntimeRoute.through)"
                )
    return problems


def _stacks(scope: IConstruct) -> Iterator[cdk.Stack]:
    """The stacks directly under ``scope`` and under its stages (not nested stacks)."""
    for child in scope.node.children:
        if cdk.Stack.is_stack(child):
            yield child  # type: ignore[misc]
        elif cdk.Stage.is_stage(child):
            yield from _stacks(child)
