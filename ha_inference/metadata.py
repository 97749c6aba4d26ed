"""The construct metadata this library writes: every ``ha-inference:*`` key and the functions that
mark a construct with one.

A mark is construct metadata (``node.add_metadata``), so it lands in the cloud assembly
(``manifest.json`` or its additional metadata file) where the tools read it without aws-cdk-lib
(:mod:`ha_inference.tools.assembly`), and, for the kinds :class:`~ha_inference.RegionCoverage`
reads, an entry in an in-process registry per app (:func:`marks_under`): reading every
construct's metadata back through jsii cost seconds per app, the registry one call per mark.

This module is the bottom layer: constructs, checks and tools import it, and it imports nothing
from the library, nor aws-cdk-lib (a construct is anything with a ``node``).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from constructs import IConstruct

PROFILE_METADATA = "ha-inference:inference-profile"
"""An inference profile a stack uses: ``profileId``, ``sourceRegion``, ``sourceRegions``,
``destinationRegions`` (:func:`mark_profile`)."""

IMPORTED_MODEL_METADATA = "ha-inference:imported-model"
"""A model imported into Bedrock (Custom Model Import) in its stack's Region:
``importedModelName``, ``region``, ``s3Uri`` (:func:`mark_imported_model`)."""

FOUNDATION_MODEL_METADATA = "ha-inference:foundation-model"
"""A foundation model invoked on demand in one Region, without a profile: ``modelId``,
``region`` (:func:`mark_foundation_model`)."""

SUPPORTING_METADATA = "ha-inference:supporting"
"""Supporting infrastructure of a kind, such as ``bedrock-endpoints`` (:func:`mark_supporting`)."""

AGENTIC_COMPUTE = "agentic-compute"
"""The supporting kind of an agent runtime (``MultiAzAgentRuntime``): GENREL05-BP01's agentic
compute, which every Region a profile routes to needs once any of them runs an agent."""

SELF_HOSTED_METADATA = "ha-inference:self-hosted-model"
"""A self-hosted model (a SageMaker endpoint): ``endpointName`` (:func:`mark_self_hosted_model`)."""

PUBLISHED_RUNTIME_METADATA = "ha-inference:published-runtime"
"""A Region's self-hosted model offered to other Regions over cross-Region PrivateLink:
``endpointName``, ``offeredRegions`` (:func:`mark_published_runtime`)."""

CROSS_REGION_PATHS_METADATA = "ha-inference:cross-region-paths"
"""The Regions whose self-hosted models a Region reaches: ``regions``
(:func:`mark_cross_region_paths`)."""

SUBNET_ZONES_METADATA = "ha-inference:subnet-zones"
"""The Availability Zone of each imported subnet a construct is placed in, by subnet id
(:func:`mark_subnet_zones`): a template names an imported subnet by id only."""

RESIDENCY_METADATA = "ha-inference:data-residency"
"""A data-residency boundary: the sorted Regions inference requests under the construct may be
processed in (:func:`ha_inference.declare_data_residency`)."""

INSTANCE_FALLBACKS_METADATA = "ha-inference:instance-fallbacks"
"""``True``: every SageMaker variant under the construct must name fallback instance types
(:func:`ha_inference.require_instance_fallbacks`)."""

AZ_LOSS_TOLERANCE_METADATA = "ha-inference:az-loss-tolerance"
"""A construct's claim to keep serving its full load after losing AZs
(:func:`mark_az_loss_tolerance`): ``toleratedAzLosses``, and for a SageMaker endpoint
``endpointName``, ``fullLoadInstances`` (the instances that carry the full load) and
``availabilityZones`` (how many AZs its subnets span)."""
ZONE_PLACEMENT_METADATA = "ha-inference:zone-placement"
"""An AZ-limited service placed in the AZs that offer it (:func:`mark_zone_placement`):
``service``, ``region``, ``zoneIds`` (the account's AZ-name-to-ID mapping the app was synthesized
with), ``supportedAzIds`` and ``subnets`` (as the template names them)."""

KEYS = frozenset(
    {
        ZONE_PLACEMENT_METADATA,
        PROFILE_METADATA,
        IMPORTED_MODEL_METADATA,
        FOUNDATION_MODEL_METADATA,
        SUPPORTING_METADATA,
        SELF_HOSTED_METADATA,
        PUBLISHED_RUNTIME_METADATA,
        CROSS_REGION_PATHS_METADATA,
        SUBNET_ZONES_METADATA,
        RESIDENCY_METADATA,
        INSTANCE_FALLBACKS_METADATA,
        AZ_LOSS_TOLERANCE_METADATA,
    }
)
"""Every metadata key the library writes."""

_MARKS: weakref.WeakKeyDictionary[IConstruct, list[tuple[IConstruct, str, Any]]] = (
    weakref.WeakKeyDictionary()
)
"""Per app root: (construct, metadata key, data) for every mark made under it."""


def _mark(construct: IConstruct, kind: str, data: Any) -> None:
    node = construct.node
    node.add_metadata(kind, data)
    _MARKS.setdefault(node.root, []).append((construct, kind, data))


def marks_under(root: IConstruct) -> list[tuple[IConstruct, str, Any]]:
    """(construct, metadata key, data) of every mark made so far in the app whose root is
    ``root``, in the order they were made."""
    return list(_MARKS.get(root, []))


def mark_supporting(construct: IConstruct, kind: str) -> None:
    """Records that ``construct`` is supporting infrastructure of ``kind`` in its stack's Region.

    :param construct: the construct, in a stack with a concrete Region.
    :param kind: what :class:`ha_inference.RegionCoverage` calls it (its ``supporting`` kinds).
    """
    _mark(construct, SUPPORTING_METADATA, kind)


def mark_profile(construct: IConstruct, profile: dict[str, Any]) -> None:
    """Records an inference profile: ``profileId``, ``sourceRegions``, ``destinationRegions``."""
    _mark(construct, PROFILE_METADATA, profile)


def mark_foundation_model(construct: IConstruct, model: dict[str, Any]) -> None:
    """Records a foundation model invoked on demand in one Region, without a profile:
    ``modelId``, ``region``."""
    _mark(construct, FOUNDATION_MODEL_METADATA, model)


def mark_imported_model(construct: IConstruct, model: dict[str, Any]) -> None:
    """Records a model imported into Bedrock in its stack's Region (the only Region serving it):
    ``importedModelName``, ``region``, ``s3Uri``, ``bucketOwner`` (the account that must own the
    source bucket; a token for an environment-agnostic stack)."""
    _mark(construct, IMPORTED_MODEL_METADATA, model)


def mark_self_hosted_model(construct: IConstruct, model: dict[str, Any]) -> None:
    """Records a self-hosted model (a SageMaker endpoint) in its stack's Region:
    ``endpointName``."""
    _mark(construct, SELF_HOSTED_METADATA, model)


def mark_published_runtime(construct: IConstruct, published: dict[str, Any]) -> None:
    """Records that a Region offers its self-hosted model to other Regions over cross-Region
    PrivateLink: ``endpointName``, ``offeredRegions``."""
    _mark(construct, PUBLISHED_RUNTIME_METADATA, published)


def mark_cross_region_paths(construct: IConstruct, paths: dict[str, Any]) -> None:
    """Records that a Region reaches other Regions' self-hosted models: ``regions``."""
    _mark(construct, CROSS_REGION_PATHS_METADATA, paths)


def mark_subnet_zones(construct: IConstruct, zones: Mapping[str, str]) -> None:
    """Records the AZ of each subnet ``construct`` is placed in, by subnet id, for the subnets
    whose id and AZ are both known at synth time (an imported VPC or subnets; a subnet the app
    creates is in its template already). Nothing is recorded when ``zones`` is empty."""
    if zones:
        construct.node.add_metadata(SUBNET_ZONES_METADATA, dict(sorted(zones.items())))


def mark_zone_placement(construct: IConstruct, placement: dict[str, Any]) -> None:
    """Records that ``construct`` placed an AZ-limited service: ``service``, ``region``,
    ``zoneIds``, ``supportedAzIds``, ``subnets`` (for ``ha-inference preflight`` and the rule
    pack)."""
    construct.node.add_metadata(ZONE_PLACEMENT_METADATA, placement)


def mark_data_residency(construct: IConstruct, regions: list[str]) -> None:
    """Records a data-residency boundary on ``construct`` (already checked by the caller)."""
    construct.node.add_metadata(RESIDENCY_METADATA, regions)


def mark_instance_fallbacks(construct: IConstruct) -> None:
    """Records that SageMaker variants under ``construct`` must name fallback instance types."""
    construct.node.add_metadata(INSTANCE_FALLBACKS_METADATA, True)


def mark_az_loss_tolerance(construct: IConstruct, claim: dict[str, Any]) -> None:
    """Records that ``construct`` claims to keep its full load after losing AZs:
    ``toleratedAzLosses`` (1 or 2), plus ``endpointName``, ``fullLoadInstances`` and
    ``availabilityZones`` on a SageMaker endpoint. The rule pack (``HaInference-SM6``,
    ``HaInference-AZ1``) and the AZ-loss report hold the templates to it."""
    construct.node.add_metadata(AZ_LOSS_TOLERANCE_METADATA, claim)


def declared(construct: IConstruct, kind: str) -> list[Any]:
    """The data of every ``kind`` mark on ``construct`` and its ancestors, root first."""
    return [
        entry.data
        for node in construct.node.scopes
        for entry in node.node.metadata
        if entry.type == kind
    ]
