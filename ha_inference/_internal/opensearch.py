"""Checks shared by the OpenSearch Serverless constructs (names and Region coverage)."""

from __future__ import annotations

import re

from constructs import Construct

from ha_inference._internal.stacks import region_of, stack_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference.regions import REGIONS_WITHOUT

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{2,31}$")
"""Collection, policy and VPC endpoint names: 3-32 characters, the API's limits.

botocore's ``CollectionName`` and ``PolicyName`` shapes allow 3-32 characters of
``[a-z][a-z0-9-]+``; CloudFormation allows collection names up to 64, which the API then rejects.
"""

NAME_MAX = 32

COLLECTION_TYPE = "AWS::OpenSearchServerless::Collection"


def check_name(prop: str, value: str) -> None:
    """Raises ``ValueError`` unless ``value`` is a valid OpenSearch Serverless name."""
    if not isinstance(value, str):
        raise TypeError(f"{prop} must be a string, got {type(value).__name__} {value!r}")
    if is_unresolved(value):
        raise ValueError(
            f"{prop} must be a literal name, got the unresolved token {value!r}; the policy "
            "names and resource patterns are derived from it at synth time, so pass the name "
            "as a plain string"
        )
    if NAME_PATTERN.match(value):
        return
    if len(value) < 3 or len(value) > NAME_MAX:
        problem = f"is {len(value)} characters long"
    elif not value[0].isascii() or not value[0].islower():
        problem = "does not start with a lowercase letter"
    else:
        problem = "has characters other than lowercase letters, digits and hyphens"
    raise ValueError(
        f"{prop} {value!r} {problem}; OpenSearch Serverless names are 3-{NAME_MAX} characters "
        "of lowercase letters, digits and hyphens, starting with a letter "
        "(^[a-z][a-z0-9-]{2,31}$)"
    )


def check_region(scope: Construct, what: str) -> None:
    """Raises ``ValueError`` when the stack's Region is known to lack OpenSearch Serverless.

    An environment-agnostic stack (Region unknown at synth time) passes: nothing can be told.
    """
    region = region_of(stack_of(scope))
    if is_unresolved(region):
        return
    if region in REGIONS_WITHOUT[COLLECTION_TYPE]:
        raise ValueError(
            f"OpenSearch Serverless is not available in {region}; {what} cannot be deployed "
            f"there ({COLLECTION_TYPE} and AWS::OpenSearchServerless::VpcEndpoint do not exist "
            "in that Region). Deploy the stack to a Region that has OpenSearch Serverless, or "
            "leave the vector store out of this Region's stack"
        )
