"""How much per-AZ capacity is left after losing Availability Zones, and how much to provision
so that what is left carries the full load (standard library only: constructs, the rule pack
and the report share it).

A SageMaker variant's instances are spread over the AZs of its subnets; SageMaker "attempts to
distribute" them (https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-best-practices.html),
so the arithmetic assumes the most even spread and judges the worst case: the AZs lost are the
ones holding the most instances. Static stability (AWS Builders' Library, "Static stability
using Availability Zones") means provisioning that much before the loss, so that nothing on the
recovery path waits for a control-plane call (a scale-out, an instance replacement).
"""

from __future__ import annotations

MAX_TOLERATED_AZ_LOSSES = 2
"""The most AZ losses the library sizes for: AWS publishes no guidance for more (nor for two;
the Region is then the unit of failure, see docs/region-loss.md)."""


def remaining_after(instances: int, zones: int, lost: int) -> int:
    """Instances left, worst case, after losing ``lost`` of ``zones`` AZs when ``instances``
    are spread as evenly as they can be (the fullest AZs are the ones lost)."""
    if zones <= 0 or lost >= zones:
        return 0
    per_zone, fuller = divmod(instances, zones)
    gone = min(lost, fuller) * (per_zone + 1) + max(0, lost - fuller) * per_zone
    return max(instances - gone, 0)


def default_full_load(zones: int) -> int:
    """The full load, in instances, when nobody says: what one instance per AZ leaves after
    losing one AZ (``zones - 1``, at least one), the capacity the one-AZ design keeps serving
    with."""
    return max(zones - 1, 1)


def instances_for(full_load: int, zones: int, tolerated: int) -> int:
    """The fewest instances over ``zones`` AZs (at least one per AZ and at least two) whose
    worst case after losing ``tolerated`` AZs still holds ``full_load`` instances."""
    if tolerated >= zones:
        raise ValueError(f"cannot survive the loss of {tolerated} of {zones} AZs")
    count = max(zones, 2)
    while remaining_after(count, zones, tolerated) < full_load:
        count += 1
    return count
