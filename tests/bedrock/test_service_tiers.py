"""Bedrock service tiers in the constructs: the tier each function asks for (its environment),
the Deny on ``bedrock:ServiceTier`` a latency-sensitive role carries (checked against
iam-data and evaluated with @cloud-copilot/iam-simulate), the dashboard's tier series, and the
reference app's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from ha_inference import (
    CrossRegionInferenceProfile,
    ImportedModelOptions,
    RegionalInference,
    ServiceTier,
    deny_service_tiers,
)
from ha_inference.compute.shipped import ShippedHandler
from ha_inference.tools.assembly import StackArtifact
from stacks.config import SettingsError, load_settings
from tests.support import TEST_ACCOUNT, ZonalStack, new_app
from tests.support.rehearsal.policies import Simulator, simulation
from tests.truth.iam import check_stack

MODEL = "anthropic.claude-sonnet-5-5"
PROFILE_ID = f"us.{MODEL}"
PROFILE_ARN = f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:inference-profile/{PROFILE_ID}"
ROLE_ARN = f"arn:aws:iam::{TEST_ACCOUNT}:role/answers"


@pytest.fixture(scope="module")
def inference(tmp_path_factory: pytest.TempPathFactory) -> tuple[RegionalInference, Template]:
    app = new_app(tmp_path_factory.mktemp("tiers"))
    stack = ZonalStack(app, "Tiers", groups=("endpoints", "workloads"))
    construct = RegionalInference(
        stack,
        "Inference",
        vpc=stack.vpc,
        drill=False,
        service_tier=ServiceTier.PRIORITY,
        embedding_service_tier=ServiceTier.FLEX,
        denied_service_tiers=[ServiceTier.RESERVED],
    )
    return construct, Template.from_stack(stack)


def environment_of(template: Template, handler: ShippedHandler) -> dict[str, Any]:
    (function,) = [
        f
        for f in template.find_resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == handler.value
    ]
    variables: dict[str, Any] = function["Properties"]["Environment"]["Variables"]
    return variables


def test_functions_ask_for_the_configured_tiers(
    inference: tuple[RegionalInference, Template],
) -> None:
    _, template = inference
    retrieval = environment_of(template, ShippedHandler.RETRIEVAL)
    assert (retrieval["SERVICE_TIER"], retrieval["EMBEDDING_SERVICE_TIER"]) == ("priority", "flex")
    ingestion = environment_of(template, ShippedHandler.INGESTION)
    assert ingestion["EMBEDDING_SERVICE_TIER"] == "flex" and "SERVICE_TIER" not in ingestion


def test_no_tier_is_set_by_default(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "Default", groups=("endpoints", "workloads"))
    RegionalInference(stack, "Inference", vpc=stack.vpc, drill=False, dashboard=False)
    template = Template.from_stack(stack)
    for handler in (ShippedHandler.RETRIEVAL, ShippedHandler.INGESTION):
        assert not {"SERVICE_TIER", "EMBEDDING_SERVICE_TIER"} & set(
            environment_of(template, handler)
        )
    assert "bedrock:ServiceTier" not in json.dumps(template.to_json())


def test_the_retrieval_role_carries_the_deny(inference: tuple[RegionalInference, Template]) -> None:
    construct, template = inference
    role = cdk.Stack.of(construct).get_logical_id(
        construct.inference_role.node.default_child  # type: ignore[arg-type]
    )
    denies = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        # The role's other Deny keeps the function's own code from mutating network interfaces.
        and any(str(action).startswith("bedrock:") for action in statement["Action"])
    ]
    assert len(denies) == 1
    (deny,) = denies
    assert deny["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert deny["Condition"] == {"StringEquals": {"bedrock:ServiceTier": ["reserved"]}}
    resources = json.dumps(deny["Resource"])
    assert PROFILE_ID in resources and "amazon.titan-embed-text-v2:0" in resources
    # The action, the resources and the condition key are the Service Authorization Reference's.
    artifact = StackArtifact("Tiers", TEST_ACCOUNT, "us-east-1", Path("Tiers"), template.to_json())
    assert check_stack(artifact) == []


def test_the_dashboard_shows_the_tier_series(inference: tuple[RegionalInference, Template]) -> None:
    _, template = inference
    (dashboard,) = template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    assert f"{PROFILE_ID}+priority" in body
    assert "amazon.titan-embed-text-v2:0+flex" in body
    assert "tier series, unverified" in body


@pytest.fixture(scope="module")
def denied_policy(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    app = new_app(tmp_path_factory.mktemp("deny"))
    stack = cdk.Stack(app, "Deny", env=cdk.Environment(account=TEST_ACCOUNT, region="us-east-1"))
    role = iam.Role(stack, "Answers", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    profile = CrossRegionInferenceProfile(stack, "Profile", model_id=MODEL)
    profile.grant_invoke(role)
    deny_service_tiers(role, tiers=[ServiceTier.FLEX], targets=[profile])
    (policy,) = Template.from_stack(stack).find_resources("AWS::IAM::Policy").values()
    document: dict[str, Any] = policy["Properties"]["PolicyDocument"]
    return document


@pytest.mark.parametrize(
    ("tier", "allowed"),
    [("flex", False), ("priority", True), ("default", True), (None, True)],
)
def test_the_deny_refuses_exactly_the_denied_tier(
    denied_policy: dict[str, Any], tier: str | None, allowed: bool
) -> None:
    """Evaluated like IAM does: flex is refused on the profile; other tiers, and a request that
    names none (which carries no bedrock:ServiceTier), are allowed."""
    context: dict[str, str] = {"aws:RequestedRegion": "us-east-1"}
    if tier is not None:
        context["bedrock:ServiceTier"] = tier
    simulator = Simulator()
    key = simulator.submit(
        simulation(
            principal=ROLE_ARN,
            action="bedrock:InvokeModel",
            resource=PROFILE_ARN,
            account=TEST_ACCOUNT,
            context=context,
            identity_policies=[("policy", denied_policy)],
        )
    )
    simulator.run()
    assert simulator.result(key).allowed is allowed


def test_fails_on_empty_tiers_or_targets_or_a_principal_without_policy(tmp_path: Path) -> None:
    stack = cdk.Stack(new_app(tmp_path), "S", env=cdk.Environment(region="us-east-1"))
    profile = CrossRegionInferenceProfile(stack, "Profile", model_id=MODEL)
    role = iam.Role(stack, "R", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    with pytest.raises(ValueError, match=r"^tiers must name at least one ServiceTier, got \[\]"):
        deny_service_tiers(role, tiers=[], targets=[profile])
    with pytest.raises(ValueError, match=r"^targets must name at least one model or profile"):
        deny_service_tiers(role, tiers=[ServiceTier.FLEX], targets=[])
    with pytest.raises(ValueError, match=r"^grantee must have an identity policy"):
        deny_service_tiers(
            iam.ServicePrincipal("lambda.amazonaws.com"),
            tiers=[ServiceTier.FLEX],
            targets=[profile],
        )


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"service_tier": ServiceTier.FLEX, "denied_service_tiers": [ServiceTier.FLEX]},
            r"^service_tier is ServiceTier.FLEX, which denied_service_tiers refuses",
        ),
        (
            {
                "embedding_service_tier": ServiceTier.FLEX,
                "denied_service_tiers": [ServiceTier.FLEX],
            },
            r"^embedding_service_tier is ServiceTier.FLEX, which denied_service_tiers refuses",
        ),
        (
            {
                "service_tier": ServiceTier.PRIORITY,
                "imported_model": ImportedModelOptions(s3_uri="s3://models-us-east-1/llama/"),
            },
            r"^service_tier is ServiceTier.PRIORITY, but imported_model replaces",
        ),
    ],
)
def test_fails_on_tiers_that_cannot_work(
    tmp_path: Path, props: dict[str, Any], message: str
) -> None:
    stack = ZonalStack(new_app(tmp_path), "Bad", groups=("endpoints", "workloads"))
    with pytest.raises(ValueError, match=message):
        RegionalInference(stack, "Inference", vpc=stack.vpc, **props)


def test_reads_the_tier_settings() -> None:
    context = {
        "ha-inference:bedrock-service-tier": "priority",
        "ha-inference:embedding-service-tier": "flex",
        "ha-inference:denied-service-tiers": ["reserved"],
    }
    settings = load_settings(context.get, known_keys=context)
    assert settings.service_tier is ServiceTier.PRIORITY
    assert settings.embedding_service_tier is ServiceTier.FLEX
    assert settings.denied_service_tiers == (ServiceTier.RESERVED,)
    assert load_settings({}.get).service_tier is None


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"bedrock-service-tier": "fast"}, r"^ha-inference:bedrock-service-tier must be one of "),
        ({"denied-service-tiers": "flex"}, r"^ha-inference:denied-service-tiers must be a list"),
        (
            {"bedrock-service-tier": "flex", "denied-service-tiers": ["flex"]},
            r"^ha-inference:bedrock-service-tier is flex, which ha-inference:denied-service-tiers",
        ),
    ],
)
def test_fails_on_bad_tier_setting(context: dict[str, Any], message: str) -> None:
    full = {f"ha-inference:{key}": value for key, value in context.items()}
    with pytest.raises(SettingsError, match=message):
        load_settings(full.get, known_keys=full)
