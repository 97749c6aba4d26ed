"""Capacity fallback for SageMaker variants: instance pools in priority order (GENREL05-BP01).

An Availability Zone keeps serving only while SageMaker can place an instance there. When a GPU
type runs out (an insufficient-capacity error, ICE) at create, scale-out or instance replacement,
a variant with one instance type cannot refill that AZ. Instance pools list up to five types with
priorities; "SageMaker AI attempts to provision instances starting with the highest-priority type
(priority 1) and automatically falls back to lower-priority types when capacity is unavailable"
(https://docs.aws.amazon.com/sagemaker/latest/dg/realtime-endpoints-heterogeneous.html). In the
API, ``InstancePools`` replaces ``InstanceType`` in the production variant ("replace the
InstanceType parameter in the production variant with the InstancePools list", same page); each
pool is ``{InstanceType, Priority 1-5}`` (botocore ``sagemaker`` ``InstancePool``, list of 1-5).

An app asks for fallbacks with :func:`require_instance_fallbacks`; the rule pack's
``HaInference-SM3`` then reports every variant beneath it that names one instance type only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from constructs import IConstruct

from ha_inference._internal.props import checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference.metadata import INSTANCE_FALLBACKS_METADATA, declared, mark_instance_fallbacks
from ha_inference.selfhosted.instance_types import SOURCE, hosting_instance_types

MAX_INSTANCE_TYPES = 5
"""SageMaker instance pools per production variant (``InstancePools``, 1-5; ``Priority`` 1-5)."""

INSTANCE_TYPE_PATTERN = re.compile(r"^ml\.(?P<family>[a-z0-9-]+)\.(?P<size>[a-z0-9-]+)$")


@checked_props
def require_instance_fallbacks(scope: IConstruct) -> None:
    """Declares that every SageMaker production variant under ``scope`` must be able to fall back
    to another instance type (at least two types in its instance pools).

    The declaration is construct metadata (``ha-inference:instance-fallbacks``); the rule pack's
    ``HaInference-SM3`` reads it and reports each variant beneath ``scope`` that names a single
    instance type. Without a declaration the rule does not apply: a CPU variant whose type is
    plentiful needs no fallback, and only the app knows which of its models can run on another
    type.
    """
    mark_instance_fallbacks(scope)


def instance_fallbacks_required(scope: IConstruct) -> bool:
    """Whether :func:`require_instance_fallbacks` was declared on ``scope`` or an ancestor."""
    return bool(declared(scope, INSTANCE_FALLBACKS_METADATA))


def check_instance_types(
    region: str, instance_type: str, fallback_instance_types: Sequence[str]
) -> tuple[str, ...]:
    """Checks ``instance_type`` and its fallbacks and returns them in priority order.

    Each literal type must look like ``ml.<family>.<size>``, appear once, and be offered for
    SageMaker real-time hosting in ``region`` when the Region is concrete and known to the
    hosting table (:mod:`ha_inference.selfhosted.instance_types`); at most five types in all.
    Deploy-time tokens are passed through unchecked.
    """
    types = (instance_type, *fallback_instance_types)
    props = ["instance_type", *(f"fallback_instance_types[{i}]" for i in range(len(types) - 1))]
    if len(types) > MAX_INSTANCE_TYPES:
        raise ValueError(
            f"fallback_instance_types may name at most {MAX_INSTANCE_TYPES - 1} types (a "
            f"SageMaker variant's instance pools hold at most {MAX_INSTANCE_TYPES} types, "
            f"instance_type included), got {len(types) - 1} ({', '.join(fallback_instance_types)})"
            "; keep the ones most likely to have capacity"
        )
    seen: dict[str, str] = {}
    for prop, value in zip(props, types, strict=True):
        if is_unresolved(value):
            continue
        if not INSTANCE_TYPE_PATTERN.match(value):
            raise ValueError(
                f"{prop} must be a SageMaker ML instance type such as 'ml.g5.xlarge' "
                f"(ml.<family>.<size>), got {value!r}; add the 'ml.' prefix or pick a hosting "
                "instance type"
            )
        if value in seen:
            raise ValueError(
                f"{prop} repeats {value}, which {seen[value]} already names, got "
                f"instance_type={instance_type!r} and fallback_instance_types="
                f"{list(fallback_instance_types)!r}; name each instance type once, in priority "
                "order"
            )
        seen[value] = prop
        _check_offered(prop, value, region)
    return types


def _check_offered(prop: str, instance_type: str, region: str) -> None:
    if is_unresolved(region):
        return
    offered = hosting_instance_types(region)
    if offered is None or instance_type in offered:
        return
    family = instance_type.split(".")[1]
    alike = sorted(t for t in offered if t.split(".")[1] == family)
    hint = (
        f"the {family} types offered there are {', '.join(alike)}"
        if alike
        else f"{region} offers no ml.{family} type"
    )
    raise ValueError(
        f"{prop} must be offered for SageMaker real-time hosting in {region}, got "
        f"{instance_type!r}, which is not ({SOURCE}); {hint}: choose a type offered in "
        f"{region}, or deploy this endpoint to a Region that offers {instance_type}"
    )
