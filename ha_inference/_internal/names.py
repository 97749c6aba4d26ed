"""Names that must be unique per account and Region, checked across the whole app at synth.

OpenSearch Serverless collections, security and access policies, VPC endpoints, SageMaker
endpoints and application inference profiles are named by us and must be unique in their
account and Region; two constructs that pick the same name synthesize fine and then fail at
deploy. :func:`claim_name` records each name per app and raises on the second claim.
"""

from __future__ import annotations

import weakref

import aws_cdk as cdk
from constructs import IConstruct

_CLAIMS: weakref.WeakKeyDictionary[IConstruct, dict[tuple[str, str, str, str], str]] = (
    weakref.WeakKeyDictionary()
)


def _where(scope: IConstruct) -> tuple[str, str]:
    stack = cdk.Stack.of(scope)
    account = "<any account>" if cdk.Token.is_unresolved(stack.account) else stack.account
    region = "<any Region>" if cdk.Token.is_unresolved(stack.region) else stack.region
    return account, region


def claim_name(scope: IConstruct, kind: str, name: str, prop: str) -> None:
    """Records that ``scope`` names a ``kind`` resource ``name``; raises when another construct
    of the app already did in the same account and Region (or in an environment-agnostic stack,
    which may be deployed anywhere)."""
    if cdk.Token.is_unresolved(name):
        return
    account, region = _where(scope)
    claims = _CLAIMS.setdefault(scope.node.root, {})
    key = (kind, name, account, region)
    other = claims.get(key)
    if other is not None and other != scope.node.path:
        raise ValueError(
            f"{prop} {name!r} is already the name of {kind} {other}, in the same account and "
            f"Region ({account}, {region}); {kind} names are unique per account and Region, so "
            f"the second would fail at deploy: give {scope.node.path} another {prop}"
        )
    claims[key] = scope.node.path
