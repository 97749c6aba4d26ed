"""The reference app: one :class:`RegionalStack` per configured Region."""

from __future__ import annotations

import aws_cdk as cdk

from ha_inference import RegionCoverage, declare_data_residency
from stacks.config import Settings, load_settings
from stacks.regional_stack import RegionalStack

__all__ = ["RegionalStack", "Settings", "build_reference_app", "load_settings", "stack_name"]


SUPPORTING_KINDS = ("bedrock-endpoints", "vector-search", "compute")
"""What every Region that uses the inference profile must also have (GENREL05-BP01 step 4)."""


def stack_name(region: str) -> str:
    return f"HaInference-{region}"


def build_reference_app(app: cdk.App, *, default_account: str | None = None) -> list[RegionalStack]:
    """Reads the app's context into settings and adds one regional stack per Region."""
    settings = load_settings(
        app.node.try_get_context,
        known_keys=app.node.get_all_context(),
        default_account=default_account,
    )
    if settings.data_residency is not None:
        declare_data_residency(app, settings.data_residency)
    stacks = [
        RegionalStack(app, stack_name(region.region), settings=settings, region=region)
        for region in settings.regions
    ]
    RegionCoverage(
        app,
        "RegionCoverage",
        supporting=SUPPORTING_KINDS,
        require_all_destinations=settings.require_all_destinations,
    )
    return stacks
