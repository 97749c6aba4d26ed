"""The reference app: one :class:`RegionalStack` per configured Region, deployed by
``cdk deploy --all`` or, with ``ha-inference:pipeline``, by a pipeline of waves."""

from __future__ import annotations

import aws_cdk as cdk

from ha_inference import RegionalInference, RegionCoverage, declare_data_residency
from stacks.config import Settings, load_settings
from stacks.cross_region_stack import CrossRegionStack
from stacks.delivery import PIPELINE_STACK_NAME, PipelineStack, add_delivery
from stacks.regional_stack import RegionalStack

__all__ = [
    "PIPELINE_STACK_NAME",
    "CrossRegionStack",
    "PipelineStack",
    "RegionalStack",
    "Settings",
    "build_reference_app",
    "load_settings",
    "stack_name",
]


SUPPORTING_KINDS = RegionalInference.SUPPORTING_KINDS
"""What every Region that uses the inference profile must also have (GENREL05-BP01 step 4)."""


def stack_name(region: str) -> str:
    return f"HaInference-{region}"


def build_reference_app(app: cdk.App, *, default_account: str | None = None) -> list[RegionalStack]:
    """Reads the app's context into settings and adds one regional stack per Region: in the app,
    or, with ``ha-inference:pipeline``, in one ``cdk.Stage`` per Region that the pipeline stack
    deploys wave by wave."""
    settings = load_settings(
        app.node.try_get_context,
        known_keys=app.node.get_all_context(),
        default_account=default_account,
    )
    if settings.data_residency is not None:
        declare_data_residency(app, settings.data_residency)
    if settings.pipeline is None:
        stacks = [
            RegionalStack(app, stack_name(region.region), settings=settings, region=region)
            for region in settings.regions
        ]
    else:
        stacks = add_delivery(app, settings, stack_name)
    cross_region = settings.self_hosted is not None and settings.self_hosted.cross_region
    if cross_region:
        _add_cross_region_stacks(app, stacks)
    RegionCoverage(
        app,
        "RegionCoverage",
        supporting=stacks[0].inference.supporting_kinds if stacks else SUPPORTING_KINDS,
        require_all_destinations=settings.require_all_destinations,
        require_cross_region_paths=cross_region,
    )
    return stacks


def _add_cross_region_stacks(app: cdk.App, stacks: list[RegionalStack]) -> None:
    """One ``-CrossRegion`` stack per Region, deployed after every regional stack (see
    :mod:`stacks.cross_region_stack` for the order and why)."""
    for stack in stacks:
        peers = [other for other in stacks if other is not stack]
        stack.cross_region = CrossRegionStack(
            app, f"{stack.stack_name}-CrossRegion", regional=stack, peers=peers
        )
