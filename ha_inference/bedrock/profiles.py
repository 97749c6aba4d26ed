"""Amazon Bedrock cross-Region inference profiles with exactly the IAM AWS documents.

Sources: https://docs.aws.amazon.com/bedrock/latest/userguide/geographic-cross-region-inference.html
(geographic policy) and .../global-cross-region-inference.html (the three-part global policy).
Routes and lifecycle come from each model's row in :mod:`ha_inference.data.models`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Protocol, runtime_checkable

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference._internal.names import claim_name
from ha_inference._internal.props import checked_props
from ha_inference._internal.stacks import account_of, stack_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import LateCheck, concrete_region
from ha_inference.checks.residency import data_residency_of, residency_violation
from ha_inference.data.models import (
    DEFAULT_CHAT_MODEL,
    MODEL_CARDS,
    ModelCard,
    ModelStatus,
    model_card,
)
from ha_inference.metadata import mark_foundation_model, mark_profile
from ha_inference.regions import (
    REGIONS_WITHOUT,
    Geography,
    RoutingTable,
    partition_of,
)

INVOKE_ACTIONS = ("bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream")
"""InvokeModel covers InvokeModel and Converse; the streaming action covers ConverseStream."""

_MODEL_ID = re.compile(r"^[a-z0-9-]+\.[a-zA-Z0-9\-:.]+$")
_PROFILE_NAME = re.compile(r"^([0-9a-zA-Z][ _-]?)+$")
_PROFILE_DESCRIPTION = re.compile(r"^([0-9a-zA-Z:.][ _-]?)+$")
_TAG_TEXT = re.compile(r"^[a-zA-Z0-9\s._:/=+@-]*$")
MODEL_CARDS_PAGE = "https://docs.aws.amazon.com/bedrock/latest/userguide/model-cards.html"
LEGACY_MODEL_WARNING = "ha-inference:legacy-model"
UNVERIFIED_ROUTES_WARNING = "ha-inference:unverified-routes"


@dataclass(frozen=True)
class PolicyStatementShape:
    """One Allow statement of an invoke policy, as plain data (no principal, no effect)."""

    resources: tuple[str, ...]
    """The ARNs the statement allows the invoke actions on."""
    conditions: Mapping[str, Mapping[str, Any]] | None = None
    """The statement's conditions (e.g. ``bedrock:InferenceProfileArn``). Default: none."""

    def to_statement(self) -> iam.PolicyStatement:
        return iam.PolicyStatement(
            actions=list(INVOKE_ACTIONS),
            resources=list(self.resources),
            conditions=dict(self.conditions) if self.conditions else None,
        )


@runtime_checkable
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
            f"{DEFAULT_CHAT_MODEL!r}), got {model_id!r}; copy the model id "
            "from the Bedrock model card"
        )


def check_lifecycle(scope: Construct, model_id: str, as_of: date | None = None) -> None:
    """Fails past the model's end-of-life date and warns while it is Legacy, by its row in
    :data:`ha_inference.data.models.MODEL_CARDS` (models without a row are not judged).

    ``as_of`` is the day to judge on; default: today (UTC) at synth.
    """
    if as_of is not None and (not isinstance(as_of, date) or isinstance(as_of, datetime)):
        raise TypeError(
            f"as_of must be a datetime.date, got {as_of!r}; pass for example "
            "datetime.date(2027, 1, 1), or leave it out to judge on today's date"
        )
    card = model_card(model_id)
    if card is None:
        return
    day = as_of or datetime.now(UTC).date()
    lifecycle = card.lifecycle
    status = lifecycle.status_on(day)
    if status is ModelStatus.END_OF_LIFE:
        raise ValueError(
            f"model_id {model_id!r} ({card.name}) reached its end of life on Amazon Bedrock on "
            f"{lifecycle.end_of_life}, so every call to it fails (judged on {day}; source: "
            f"{lifecycle.source}); choose an Active model, for example {DEFAULT_CHAT_MODEL!r}"
        )
    if status is ModelStatus.LEGACY:
        since = f" since {lifecycle.legacy_since}" if lifecycle.legacy_since else ""
        end = lifecycle.end_of_life or "not yet announced"
        cdk.Annotations.of(scope).add_warning_v2(
            LEGACY_MODEL_WARNING,
            f"model_id {model_id!r} ({card.name}) is Legacy on Amazon Bedrock{since}; its end "
            f"of life, when every call to it fails, is {end} (source: {lifecycle.source}). "
            f"Move to an Active model, for example {DEFAULT_CHAT_MODEL!r}.",
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

    @checked_props
    def __init__(self, model_id: str, *, region: str) -> None:
        """
        :param model_id: the foundation-model id, without a geography prefix.
        :param region: the Region the model is invoked in.
        """
        check_model_id(model_id)
        self.model_id = model_id
        self.region = region
        self.model_arn = foundation_model_arn(model_id, region, partition_of(region))

    @classmethod
    def in_stack_region(
        cls, scope: Construct, model_id: str, *, as_of: date | None = None
    ) -> FoundationModel:
        """The model in the Region of ``scope``'s stack (which must be concrete).

        Warns on ``scope`` while the model is Legacy and fails past its end of life (judged on
        ``as_of``, default today), and records the use for :class:`~ha_inference.RegionCoverage`,
        which fails synth where the model's card does not offer it in-Region.
        """
        region = concrete_region("FoundationModel", stack_of(scope))
        model = cls(model_id, region=region)
        check_lifecycle(scope, model_id, as_of)
        mark_foundation_model(scope, {"modelId": model_id, "region": region})
        return model

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

    Creates no resources: it names the profile AWS defines, checks that the model's card lists
    the stack's Region as a source Region of that geography, that the model has not reached its
    end of life (a Legacy model warns), and that its destinations respect any data-residency
    boundary, and grants exactly the documented permissions.

    * every call goes to a Region of the profile's geography that has capacity (GENREL05-BP01
      step 2), from the routes of the model's card;
    * ``grant_invoke`` allows ``bedrock:InvokeModel`` and ``bedrock:InvokeModelWithResponseStream``
      (InvokeModel, Converse and their streaming forms) on the profile in the stack's Region, and
      on the foundation model in every destination Region only through this profile
      (``bedrock:InferenceProfileArn``); for ``global``, AWS's three-part policy with the
      Region-less model ARN. No Region wildcard anywhere.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_id: str,
        geography: Geography = Geography.US,
        routes: Mapping[str, Iterable[str]] | None = None,
        as_of: date | None = None,
    ) -> None:
        """
        :param model_id: the foundation-model id, without a geography prefix.
        :param geography: the profile's geography. Default: ``Geography.US``.
        :param routes: ``{source Region: [destination Regions]}`` from the model's card, for a
            model the library has no row for or whose card changed. Default: the routes of the
            model's row in :data:`ha_inference.data.models.MODEL_CARDS`.
        :param as_of: the day to judge the model's lifecycle on. Default: today (UTC) at synth.
        """
        super().__init__(scope, construct_id)
        if not isinstance(geography, Geography):
            raise TypeError(
                f"geography must be a Geography, got {geography!r}; use for example Geography.US"
            )
        check_model_id(model_id)
        stack = stack_of(self)
        self.source_region = concrete_region("CrossRegionInferenceProfile", stack)
        self.model_id = model_id
        self.geography = geography
        self.profile_id = f"{geography.value}.{model_id}"
        if len(self.profile_id) > 64:
            raise ValueError(
                f"model_id makes the profile id {self.profile_id!r} longer than 64 characters; "
                "check the model id against the model card"
            )
        self.card: ModelCard | None = model_card(model_id)
        check_lifecycle(self, model_id, as_of)
        table = self._routing_table(routes)
        self.destination_regions: frozenset[str] = self._destinations(table, explicit=routes)
        self.partition = partition_of(self.source_region)
        self.profile_arn = (
            f"arn:{self.partition}:bedrock:{self.source_region}:{account_of(stack)}:"
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

    def _routing_table(self, routes: Mapping[str, Iterable[str]] | None) -> RoutingTable:
        """The given routes, else the model's row for the geography; warns where the card did
        not show every route."""
        geography, card = self.geography, self.card
        if routes is not None:
            return RoutingTable.of(geography, routes)
        if card is None:
            known = ", ".join(sorted(m for m, c in MODEL_CARDS.items() if c.routes))
            raise ValueError(
                f"model_id {self.model_id!r} has no routing table in ha-inference (it has read "
                f"the cards of {known}), so its destination Regions are unknown; pass "
                "routes={source Region: [destination Regions]} from the model's card "
                f"({MODEL_CARDS_PAGE}), or choose one of those models"
            )
        table = card.routes.get(geography)
        if table is None:
            listed = ", ".join(f"Geography.{g.name}" for g in card.geographies)
            raise ValueError(
                f"geography=Geography.{geography.name} has no {geography.value}. profile for "
                f"model_id {self.model_id!r} on its card ({card.card}, read {card.read}): "
                + (
                    f"it lists {listed}; choose one of those, "
                    if listed
                    else "ha-inference recorded no routes for this model; "
                )
                + "or pass routes= from the card if AWS lists the profile now"
            )
        unverified = card.unverified.get(geography)
        if unverified:
            cdk.Annotations.of(self).add_warning_v2(
                UNVERIFIED_ROUTES_WARNING,
                f"the {geography.value} routes of model_id {self.model_id!r} are not all "
                f"verified: {unverified}. The grants and endpoint policy assume the "
                f"destinations {', '.join(sorted(table.all_destinations))}; confirm them with "
                "'ha-inference preflight cdk.out' (bedrock:GetInferenceProfile) "
                "before deploying, or pass routes= from the card.",
            )
        return table

    def _destinations(
        self, table: RoutingTable, *, explicit: Mapping[str, Iterable[str]] | None
    ) -> frozenset[str]:
        """The destinations for the stack's Region, which must be a source Region."""
        source = self.source_region
        if source in table.routes:
            return table.routes[source]
        sources = ", ".join(sorted(table.source_regions))
        if explicit is not None:
            raise ValueError(
                f"routes has no entry for {source}, the Region of stack "
                f"{cdk.Stack.of(self).node.path!r} (it lists {sources}); add "
                f"routes[{source!r}] from the model's card, or deploy to one of those Regions"
            )
        card = self.card
        assert card is not None
        serving = ", ".join(
            f"Geography.{g.name}" for g, t in card.routes.items() if source in t.routes
        )
        raise ValueError(
            f"model_id {self.model_id!r} with geography=Geography.{self.geography.name} cannot "
            f"be called from {source} (the stack's Region): its card ({card.card}, read "
            f"{card.read}) lists the source Regions {sources} for {self.profile_id!r}, so every "
            f"call from {source} would fail; deploy this stack to one of those Regions"
            + (f", choose {serving}" if serving else "")
            + ", or pass routes= if the card lists the Region now"
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

    * copying a cross-Region profile keeps its routing over every destination Region;
    * ``grant_invoke`` allows the invoke actions (streaming included) on the application
      profile, on the copied system profile, and on the foundation model in every Region the
      source routes to, conditioned on ``bedrock:InferenceProfileArn`` being this application
      profile, so the model is usable only through it.
    """

    @checked_props
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
        as_of: date | None = None,
    ) -> None:
        """
        :param inference_profile_name: the profile's name, unique in the account and Region.
        :param source: the system profile to copy (multi-Region). Default: none; give
            ``model_id`` instead.
        :param model_id: a foundation model in the stack's Region to copy (single Region).
            Default: none; give ``source`` instead.
        :param description: the profile's description. Default: none.
        :param tags: tags for cost allocation. Default: none.
        :param as_of: the day to judge ``model_id``'s lifecycle on (a ``source`` judged its own).
            Default: today (UTC) at synth.
        """
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
            check_lifecycle(self, model_id, as_of)
            copy_from = foundation_model_arn(model_id, region, partition)
            self.model_id = model_id
            self.destination_regions = frozenset({region})
        # Imported here: only an application profile needs aws_cdk.aws_bedrock, whose import
        # costs every process that loads this module about 0.02 s of CPU.
        from aws_cdk import aws_bedrock as bedrock  # noqa: PLC0415

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
