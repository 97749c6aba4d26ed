"""cdk-nag's AwsSolutions pack over a construct tree, as data."""

from __future__ import annotations

from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from ha_inference.checks.nag_pack import findings_of


def findings(scope: IConstruct) -> list[tuple[str, str]]:
    """Every unacknowledged AwsSolutions finding under ``scope`` as (rule, construct path)."""
    return findings_of(AwsSolutionsChecks(), scope)
