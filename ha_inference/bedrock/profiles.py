"""Amazon Bedrock cross-Region inference profiles with exactly the IAM AWS documents.

Sources: https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html
(geographic policy) and .../global-cross-region-inference.html (the three-part global policy);
``shared/reference/aws-facts.md`` sections A.1 to A.4.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aws_cdk as cdk
from aws_cdk import aws_bedrock as bedrock
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference._internal.names import claim_name
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import LateCheck, concrete_region
from ha_inference.checks.coverage import mark_profile
from ha_inference.regions import (
    DEFAULT_ROUTES,
    REGIONS_WITHOUT,
    ROUTED_MODELS,
    Geography,
    RoutingTable,
    partition_of,
)
from ha_inference.residency import data_residency_of, residency_violation

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
"""InvokeModel covers InvokeModel and Converse; the streaming action covers ConverseStream."""

_MODEL_ID = re.compile(r"^[a-z0-9-]+\.[a-zA-Z0-9\-:.]+$")
_PROFILE_NAME = re.compile(r"^([0-9a-zA-Z][ _-]?)+$")
_PROFILE_DESCRIPTION = re.compile(r"^([0-9a-zA-Z:.][ _-]?)+$")
_TAG_TEXT = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")


@dataclass(frozen=True)
class PolicyStatementShape:
    """One Allow statement of an invoke policy, as plain data (no principal, no effect)."""

    resources: tuple[str, ...]
    conditions: Mapping[str, Mapping[str, Any]] | None = None

    def to_statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=list(INVOKE_ACTIONS),
            resources=list(self.resources),
            conditions=dict(self.conditions) if self.conditions else None,
        )


class IInvokeTarget(Protocol):
    """Something a caller invokes models through: its statements and every ARN they name."""

    @property
    def invoke_statements(self) -> tuple[PolicyStatementShape, ...]: ...

    @property
    def invoke_resource_arns(self) -> tuple[str, ...]: ...


def foundation_model_arn(model_id: str, region: str, partition: str = "aws") -> str:
    """``arn:aws:bedrock:<region>::foundation-model/<id>``; region ``""`` is the Region-less ARN."""
    return f"arn:{partition}:bedrock:{region}::foundation-model/{model_id}"


def check_model_id(model_id: str) -> None:
    """Raises unless ``model_id`` is a bare foundation-model id such as ``anthropic.claude-…``."""
    prefix = model_id.split(".", 1)[0] if isinstance(model_id, str) else ""
    if prefix in {g.value for g in Geography}:
        raise ValueError(
            f"model_id must be the foundation-model id without a geography prefix, got "
            f"{model_id!r}; pass model_id={model_id.split('.', 1)[1]!r} and "
            f"geography=Geography.{Geography(prefix).name}"
        )
    if not isinstance(model_id, str) or not _MODEL_ID.match(model_id):
        raise ValueError(
            f"model_id must look like '<provider>.<model>' (for example "
            f"'anthropic.claude-sonnet-4-5-20250929-v1:0'), got {model_id!r}; copy the model id "
            "from the Bedrock model card"
        )


def _invoke_shapes(
    *,
    model_id: str,
    partition: str,
    source_region: str,
    destinations: Iterable[str],
    is_global: bool,
    profile_arns: Sequence[str],
    condition_arn: str,
) -> tuple[PolicyStatementShape, ...]:
    """The documented policy: profile ARN(s), then the model only through ``condition_arn``."""
    if not is_global:
        return (
            PolicyStatementShape(resources=tuple(profile_arns)),
            PolicyStatementShape(
                resources=tuple(
                    foundation_model_arn(model_id, r, partition) for r in sorted(destinations)
                ),
                conditions={"StringEquals": {"bedrock:InferenceProfileArn": condition_arn}},
            ),
        )
    # Global: the three-part policy. Bedrock evaluates the model in other Regions against the
    # Region-less ARN with aws:RequestedRegion "unspecified".
    return (
        PolicyStatementShape(
            resources=tuple(profile_arns),
            conditions={"StringEquals": {"aws:RequestedRegion": source_region}},
        ),
        PolicyStatementShape(
            resources=(foundation_model_arn(model_id, source_region, partition),),
            conditions={
                "StringEquals": {
                    "aws:RequestedRegion": source_region,
                    "bedrock:InferenceProfileArn": condition_arn,
                }
            },
        ),
        PolicyStatementShape(
            resources=(foundation_model_arn(model_id, "", partition),),
            conditions={
                "StringEquals": {
                    "aws:RequestedRegion": "unspecified",
                    "bedrock:InferenceProfileArn": condition_arn,
                }
            },
        ),
    )


def _grant(grantee: iam.IGrantable, shapes: Iterable[PolicyStatementShape]) -> iam.Grant:
    grants = [
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(INVOKE_ACTIONS),
            resource_arns=list(shape.resources),
            conditions=dict(shape.conditions) if shape.conditions else None,
        )
        for shape in shapes
    ]
    combined = grants[0]
    for grant in grants[1:]:
        combined = combined.combine(grant)
    return combined


def _arns(shapes: Iterable[PolicyStatementShape]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(arn for shape in shapes for arn in shape.resources))


class FoundationModel:
    """An on-demand foundation model invoked directly in one Region (no cross-Region routing).

    For models without an inference profile, such as embedding models. ``grant_invoke`` allows
    the invoke actions on the model in exactly that Region.
    """

    def __init__(self, model_id: str, *, region: str) -> None:
        check_model_id(model_id)
        self.model_id = model_id
        self.region = region
        self.model_arn = foundation_model_arn(model_id, region, partition_of(region))

    @classmethod
    def in_stack_region(cls, scope: Construct, model_id: str) -> FoundationModel:
        """The model in the Region of ``scope``'s stack (which must be concrete)."""
        region = concrete_region("FoundationModel", cdk.Stack.of(scope))
        return cls(model_id, region=region)

    @property
    def invoke_statements(self) -> tuple[PolicyStatementShape, ...]:
        return (PolicyStatementShape(resources=(self.model_arn,)),)

    @property
    def invoke_resource_arns(self) -> tuple[str, ...]:
        return (self.model_arn,)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` invoke this model in its Region only."""
        return _grant(grantee, self.invoke_statements)


class _Profile(Construct):
    """What both kinds of profile share: grants from their statements, the residency check."""

    destination_regions: frozenset[str]

    @property
    def invoke_statements(self) -> tuple[PolicyStatementShape, ...]:
        raise NotImplementedError

    @property
    def invoke_resource_arns(self) -> tuple[str, ...]:
        """Every ARN the invoke statements name (for endpoint policies)."""
        return _arns(self.invoke_statements)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` invoke the model through this profile, and only through it."""
        return _grant(grantee, self.invoke_statements)

    def _residency_subject(self) -> str:
        raise NotImplementedError

    def residency_error(self) -> str | None:
        """Why the destinations break a data-residency boundary above this profile, if they do."""
        return residency_violation(
            self._residency_subject(), self.destination_regions, data_residency_of(self)
        )

    def _check_residency(self) -> None:
        error = self.residency_error()
        if error:
            raise ValueError(error)


class CrossRegionInferenceProfile(_Profile):
    """A system-defined cross-Region inference profile (``{geography}.{model_id}``).

    Creates no resources: it names the profile AWS defines, checks that the stack's Region may
    use it and that its destinations respect any data-residency boundary, and grants exactly the
    documented permissions.

    Default settings:

    * geography US; destination Regions from :data:`ha_inference.regions.DEFAULT_ROUTES`
      (pass ``routes`` when your model's card lists other destinations);
    * ``grant_invoke`` allows ``bedrock:InvokeModel`` and ``bedrock:InvokeModelWithResponseStream``
      (InvokeModel, Converse and their streaming forms) on the profile in the stack's Region, and
      on the foundation model in every destination Region only through this profile
      (``bedrock:InferenceProfileArn``); for ``global``, AWS's three-part policy with the
      Region-less model ARN. No Region wildcard anywhere.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_id: str,
        geography: Geography = Geography.US,
        routes: Mapping[str, Iterable[str]] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not isinstance(geography, Geography):
            raise TypeError(
                f"geography must be a Geography, got {geography!r}; use for example Geography.US"
            )
        check_model_id(model_id)
        stack = cdk.Stack.of(self)
        self.source_region = concrete_region("CrossRegionInferenceProfile", stack)
        table = (
            RoutingTable.of(geography, routes) if routes is not None else DEFAULT_ROUTES[geography]
        )
        self.model_id = model_id
        self.geography = geography
        self.profile_id = f"{geography.value}.{model_id}"
        if len(self.profile_id) > 64:
            raise ValueError(
                f"model_id makes the profile id {self.profile_id!r} longer than 64 characters; "
                "check the model id against the model card"
            )
        self.destination_regions: frozenset[str] = table.destinations(self.source_region)
        if routes is None and model_id not in ROUTED_MODELS:
            cdk.Annotations.of(self).add_warning_v2(
                "ha-inference:unverified-routes",
                f"model_id {model_id!r} is not one of the models whose cards the built-in "
                f"{geography.value!r} routing table was checked against "
                f"({', '.join(sorted(ROUTED_MODELS))}): its grants and endpoint policy assume "
                f"the destinations {', '.join(sorted(self.destination_regions))}. Pass "
                "routes={source Region: [destinations]} from the model card, or confirm with "
                "'python -m ha_inference.preflight cdk.out' (bedrock:GetInferenceProfile) "
                "before deploying.",
            )
        self.partition = partition_of(self.source_region)
        self.profile_arn = (
            f"arn:{self.partition}:bedrock:{self.source_region}:{stack.account}:"
            f"inference-profile/{self.profile_id}"
        )
        self._check_residency()
        self.node.add_validation(LateCheck(lambda: [e for e in [self.residency_error()] if e]))
        mark_profile(
            self,
            {
                "profileId": self.profile_id,
                "geography": geography.value,
                "sourceRegion": self.source_region,
                "destinationRegions": sorted(self.destination_regions),
                "sourceRegions": sorted(table.source_regions),
            },
        )

    @property
    def is_global(self) -> bool:
        return self.geography is Geography.GLOBAL

    def statements_for(
        self, condition_arn: str, profile_arns: Sequence[str]
    ) -> tuple[PolicyStatementShape, ...]:
        """The documented invoke policy with the model reachable only through ``condition_arn``."""
        return _invoke_shapes(
            model_id=self.model_id,
            partition=self.partition,
            source_region=self.source_region,
            destinations=self.destination_regions,
            is_global=self.is_global,
            profile_arns=profile_arns,
            condition_arn=condition_arn,
        )

    @property
    def invoke_statements(self) -> tuple[PolicyStatementShape, ...]:
        return self.statements_for(self.profile_arn, [self.profile_arn])

    def _residency_subject(self) -> str:
        return f"CrossRegionInferenceProfile {self.profile_id!r} (from {self.source_region})"


class ApplicationInferenceProfile(_Profile):
    """An application inference profile (``AWS::Bedrock::ApplicationInferenceProfile``).

    Copies a system cross-Region profile (multi-Region) or a foundation model in the stack's
    Region (single Region), so that usage and cost carry your tags.

    Default settings:

    * source: the given :class:`CrossRegionInferenceProfile`, or ``model_id`` in the stack's
      Region when no profile is given;
    * ``grant_invoke`` allows the invoke actions (streaming included) on the application
      profile, on the copied system profile, and on the foundation model in every Region the
      source routes to, conditioned on ``bedrock:InferenceProfileArn`` being this application
      profile, so the model is usable only through it.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        inference_profile_name: str,
        source: CrossRegionInferenceProfile | None = None,
        model_id: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        _check_pattern(
            "inference_profile_name",
            inference_profile_name,
            _PROFILE_NAME,
            64,
            "letters, digits and single spaces, underscores or hyphens between them",
        )
        if description is not None:
            _check_pattern(
                "description",
                description,
                _PROFILE_DESCRIPTION,
                200,
                "letters, digits, ':' and '.', with single spaces, underscores or "
                "hyphens between them",
            )
        if (source is None) == (model_id is None):
            raise ValueError(
                "ApplicationInferenceProfile needs exactly one of source (a "
                "CrossRegionInferenceProfile, multi-Region) or model_id (a foundation model in "
                f"this Region), got source={source!r}, model_id={model_id!r}; pass one of them"
            )
        claim_name(
            self,
            "application inference profile",
            inference_profile_name,
            "inference_profile_name",
        )
        stack = cdk.Stack.of(self)
        region = concrete_region("ApplicationInferenceProfile", stack)
        if region in REGIONS_WITHOUT["AWS::Bedrock::ApplicationInferenceProfile"]:
            raise ValueError(
                f"ApplicationInferenceProfile cannot be created in {region}: CloudFormation has "
                "no AWS::Bedrock::ApplicationInferenceProfile type there; use the "
                "CrossRegionInferenceProfile directly in this Region, or deploy the application "
                "profile from a Region that supports it"
            )
        for key, value in (tags or {}).items():
            if not (
                1 <= len(key) <= 128
                and len(value) <= 256
                and _TAG_TEXT.match(key)
                and _TAG_TEXT.match(value)
            ):
                raise ValueError(
                    f"tags has an invalid tag {key!r}: {value!r}; keys are 1-128 and values 0-256 "
                    "characters of letters, digits, spaces and . _ : / = + @ -"
                )
        self.source = source
        partition = partition_of(region)
        if source is not None:
            copy_from = source.profile_arn
            self.model_id = source.model_id
            self.destination_regions = source.destination_regions
        else:
            assert model_id is not None
            check_model_id(model_id)
            copy_from = foundation_model_arn(model_id, region, partition)
            self.model_id = model_id
            self.destination_regions = frozenset({region})
        self.resource = bedrock.CfnApplicationInferenceProfile(
            self,
            "Resource",
            inference_profile_name=inference_profile_name,
            description=description,
            model_source=bedrock.CfnApplicationInferenceProfile.InferenceProfileModelSourceProperty(
                copy_from=copy_from
            ),
            tags=[cdk.CfnTag(key=k, value=v) for k, v in sorted((tags or {}).items())] or None,
        )
        self.inference_profile_arn: str = self.resource.attr_inference_profile_arn
        self.inference_profile_id: str = self.resource.attr_inference_profile_id
        self._region = region
        self._partition = partition
        if source is not None:
            self._check_residency()
        self.node.add_validation(LateCheck(lambda: [e for e in [self.residency_error()] if e]))

    @property
    def invoke_statements(self) -> tuple[PolicyStatementShape, ...]:
        if self.source is not None:
            return self.source.statements_for(
                self.inference_profile_arn, [self.inference_profile_arn, self.source.profile_arn]
            )
        return _invoke_shapes(
            model_id=self.model_id,
            partition=self._partition,
            source_region=self._region,
            destinations=self.destination_regions,
            is_global=False,
            profile_arns=[self.inference_profile_arn],
            condition_arn=self.inference_profile_arn,
        )

    def _residency_subject(self) -> str:
        return f"ApplicationInferenceProfile {self.node.path!r}"


def _check_pattern(prop: str, value: str, pattern: re.Pattern[str], limit: int, rule: str) -> None:
    if is_unresolved(value):
        return
    if not isinstance(value, str) or not 1 <= len(value) <= limit or not pattern.match(value):
        raise ValueError(
            f"{prop} must be 1-{limit} characters of {rule} (CloudFormation pattern "
            f"{pattern.pattern}), got {value!r}; for example 'claude-support-prod'"
        )
