"""Amazon Bedrock service tiers: which tier a caller asks for, and which tiers a role may never
use.

A request names its tier (Converse ``serviceTier: {"type": ...}``, InvokeModel's
``X-Amzn-Bedrock-Service-Tier`` header; botocore ``bedrock-runtime`` ``ServiceTierType``); one that
names none is served in Bedrock's default tier. The tiers share the on-demand quota; Priority
answers faster for a higher price, Flex is cheaper and may wait, Reserved needs a reservation
arranged with AWS (https://docs.aws.amazon.com/bedrock/latest/userguide/service-tiers-inference.html).
IAM can refuse tiers: the condition key ``bedrock:ServiceTier`` applies to ``bedrock:InvokeModel``
and ``bedrock:InvokeModelWithResponseStream``, and "all tiers are allowed unless denied"
(https://docs.aws.amazon.com/bedrock/latest/userguide/security_iam_id-based-policy-examples-agent.html).
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from aws_cdk import aws_iam as iam

from ha_inference._internal.props import checked_props
from ha_inference.bedrock.profiles import INVOKE_ACTIONS, IInvokeTarget

SERVICE_TIER_KEY = "bedrock:ServiceTier"


class ServiceTier(Enum):
    """A Bedrock service tier, as a request names it."""

    PRIORITY = "priority"
    DEFAULT = "default"
    FLEX = "flex"
    RESERVED = "reserved"
    """Only with a reservation arranged with AWS; never a default of this library."""


TIER_METRIC_SUFFIXES = {ServiceTier.PRIORITY: "+priority", ServiceTier.FLEX: "+flex"}
"""How Bedrock publishes a tier's ``AWS/Bedrock`` metrics: under ``ModelId`` ``<model id>+priority``
and ``<model id>+flex`` (service-tiers-inference.html, an earlier version of the page). Not
confirmed for an inference-profile id or with ``list-metrics`` here: the dashboard labels these
series unverified."""


@checked_props
def deny_service_tiers(
    grantee: iam.IGrantable,
    *,
    tiers: Sequence[ServiceTier],
    targets: Sequence[IInvokeTarget],
) -> iam.PolicyStatement:
    """Refuses ``grantee`` the invoke actions on ``targets`` in ``tiers`` (for example
    ``ServiceTier.FLEX`` on a role that answers people waiting): a Deny statement with
    ``StringEquals`` on ``bedrock:ServiceTier``, added to the grantee's identity policy. A request
    that names no tier does not carry the key, so it is not refused (AWS does not say whether
    such a request counts as ``default``: deny ``DEFAULT`` only to force callers to name a tier).

    :param grantee: the role (or anything with an identity policy) to refuse.
    :param tiers: the tiers to refuse, at least one.
    :param targets: the models and profiles the refusal covers (their invoke ARNs).
    :returns: the Deny statement.
    """
    if not tiers:
        raise ValueError(
            "tiers must name at least one ServiceTier, got []; for example tiers=[ServiceTier.FLEX]"
        )
    if not targets:
        raise ValueError(
            "targets must name at least one model or profile, got []; pass the targets the "
            "grantee invokes, for example targets=[profile]"
        )
    statement = iam.PolicyStatement(
        effect=iam.Effect.DENY,
        actions=list(INVOKE_ACTIONS),
        resources=list(dict.fromkeys(a for t in targets for a in t.invoke_resource_arns)),
        conditions={"StringEquals": {SERVICE_TIER_KEY: sorted({t.value for t in tiers})}},
    )
    added = grantee.grant_principal.add_to_principal_policy(statement)
    if not added.statement_added:
        raise ValueError(
            f"grantee must have an identity policy to hold the Deny, got {grantee!r}, whose "
            "principal takes no policy statements; pass a role or user"
        )
    return statement
