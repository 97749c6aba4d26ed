"""Data-residency boundaries: the Regions where a scope's inference requests may be processed.

A boundary is declared on any construct (usually the app or a stack) and applies to every
inference profile beneath it. Nested boundaries intersect. Declarations are construct metadata
(:data:`ha_inference.metadata.RESIDENCY_METADATA`), so they are visible in the cloud assembly
too.
"""

from __future__ import annotations

from collections.abc import Iterable

from constructs import IConstruct

from ha_inference._internal.props import checked_props
from ha_inference.metadata import RESIDENCY_METADATA, declared, mark_data_residency
from ha_inference.regions import check_region_name


@checked_props
def declare_data_residency(scope: IConstruct, regions: Iterable[str]) -> None:
    """Declares that inference requests under ``scope`` may be processed only in ``regions``.

    Every :class:`~ha_inference.CrossRegionInferenceProfile` and
    :class:`~ha_inference.ApplicationInferenceProfile` beneath ``scope`` whose destination
    Regions leave this set fails synth, naming the Regions outside it.

    :param scope: the app, a stage, a stack or any construct: the boundary covers its subtree.
    :param regions: the Regions where inference data may be processed (Region names).
    """
    allowed = sorted(set(regions))
    if not allowed:
        raise ValueError(
            "regions must name at least one Region for a data-residency boundary, got none; "
            "list the Regions data may be processed in, e.g. ['eu-central-1', 'eu-west-1']"
        )
    for region in allowed:
        check_region_name("regions", region)
    mark_data_residency(scope, allowed)


@checked_props
def data_residency_of(scope: IConstruct) -> frozenset[str] | None:
    """The Regions allowed for ``scope`` by every boundary declared on it or its ancestors.

    ``None`` when no boundary is declared.
    """
    boundary: frozenset[str] | None = None
    for regions in declared(scope, RESIDENCY_METADATA):
        boundary = frozenset(regions) if boundary is None else boundary & frozenset(regions)
    return boundary


def residency_violation(
    what: str, destinations: Iterable[str], boundary: frozenset[str] | None
) -> str | None:
    """The error message when ``destinations`` leave ``boundary``, else ``None``."""
    if boundary is None:
        return None
    outside = sorted(set(destinations) - boundary)
    if not outside:
        return None
    return (
        f"{what} may route requests to {', '.join(outside)}, outside the data-residency "
        f"boundary ({', '.join(sorted(boundary))}); choose a geography whose destination "
        "Regions all lie inside the boundary (for example eu for an EU boundary, never global), "
        "or widen the boundary with declare_data_residency"
    )
