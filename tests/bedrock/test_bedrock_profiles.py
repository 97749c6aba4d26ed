"""Inference profiles: the synthesized IAM equals AWS's documented policy, statement by statement."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Annotations, Match

from ha_inference import (
    ApplicationInferenceProfile,
    CrossRegionInferenceProfile,
    FoundationModel,
    Geography,
    RegionCoverage,
    declare_data_residency,
)
from tests.support import TEST_ACCOUNT, new_app, resources

SONNET = "anthropic.claude-sonnet-5-5"
"""The default chat model: Active, routes verified for US and EU."""
SONNET_4_5 = "anthropic.claude-sonnet-4-5-20250929-v1:0"
"""Legacy since 2026-10-08, end of life 2027-04-08."""
READ = date(2026, 12, 8)
STREAMING = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]


def geo_documented_policy(account: str) -> list[dict[str, Any]]:
    """geographic-cross-region-inference.html#geographic-cris-iam-setup, with the streaming
    action added to both statements as the page says to for streaming and ConverseStream."""
    profile = f"arn:aws:bedrock:us-east-1:{account}:inference-profile/us.{SONNET}"
    return [
        {"Effect": "Allow", "Action": STREAMING, "Resource": profile},
        {
            "Effect": "Allow",
            "Action": STREAMING,
            "Resource": [
                f"arn:aws:bedrock:us-east-1::foundation-model/{SONNET}",
                f"arn:aws:bedrock:us-east-2::foundation-model/{SONNET}",
                f"arn:aws:bedrock:us-west-2::foundation-model/{SONNET}",
            ],
            "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": profile}},
        },
    ]


def global_documented_policy(account: str, region: str) -> list[dict[str, Any]]:
    """global-cross-region-inference.html#global-cris-iam-setup: the three-part policy."""
    profile = f"arn:aws:bedrock:{region}:{account}:inference-profile/global.{SONNET}"
    return [
        {
            "Effect": "Allow",
            "Action": STREAMING,
            "Resource": profile,
            "Condition": {"StringEquals": {"aws:RequestedRegion": region}},
        },
        {
            "Effect": "Allow",
            "Action": STREAMING,
            "Resource": f"arn:aws:bedrock:{region}::foundation-model/{SONNET}",
            "Condition": {
                "StringEquals": {
                    "aws:RequestedRegion": region,
                    "bedrock:InferenceProfileArn": profile,
                }
            },
        },
        {
            "Effect": "Allow",
            "Action": STREAMING,
            "Resource": f"arn:aws:bedrock:::foundation-model/{SONNET}",
            "Condition": {
                "StringEquals": {
                    "aws:RequestedRegion": "unspecified",
                    "bedrock:InferenceProfileArn": profile,
                }
            },
        },
    ]


def policy_statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """The statements of every inline policy attached to the role."""
    found = []
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]:
            found.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return found


class Scenario:
    """One app with a stack per grant shape, synthesized once for this module."""

    def __init__(self, outdir: Path) -> None:
        self.app = new_app(outdir)
        self.stacks: dict[str, cdk.Stack] = {}
        self.roles: dict[str, iam.Role] = {}

        geo = self._stack("Geo", "us-east-1")
        self.geo = CrossRegionInferenceProfile(geo, "Profile", model_id=SONNET)
        self.geo.grant_invoke(self.roles["Geo"])

        glob = self._stack("Global", "eu-west-1")
        self.glob = CrossRegionInferenceProfile(
            glob, "Profile", model_id=SONNET, geography=Geography.GLOBAL
        )
        self.glob.grant_invoke(self.roles["Global"])

        app_stack = self._stack("Application", "us-east-2")
        system = CrossRegionInferenceProfile(app_stack, "System", model_id=SONNET)
        self.application = ApplicationInferenceProfile(
            app_stack,
            "Profile",
            inference_profile_name="claude-support-prod",
            source=system,
            description="Support assistant",
            tags={"cost-center": "1234"},
        )
        self.application.grant_invoke(self.roles["Application"])

        single = self._stack("Single", "us-east-1")
        self.single = ApplicationInferenceProfile(
            single,
            "Profile",
            inference_profile_name="titan-embeddings",
            model_id="amazon.titan-embed-text-v2:0",
        )
        self.single.grant_invoke(self.roles["Single"])

        self.assembly = self.app.synth()

    def _stack(self, name: str, region: str) -> cdk.Stack:
        stack = cdk.Stack(self.app, name, env=cdk.Environment(account=TEST_ACCOUNT, region=region))
        self.stacks[name] = stack
        self.roles[name] = iam.Role(
            stack, "Invoker", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
        )
        return stack

    def template(self, name: str) -> dict[str, Any]:
        return self.assembly.get_stack_by_name(name).template  # type: ignore[no-any-return]

    def statements(self, name: str) -> list[dict[str, Any]]:
        stack = self.stacks[name]
        role_id = stack.get_logical_id(self.roles[name].node.default_child)  # type: ignore[arg-type]
        return policy_statements(self.template(name), role_id)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return Scenario(tmp_path_factory.mktemp("profiles"))


def test_geographic_grant_is_the_documented_policy(scenario: Scenario) -> None:
    assert scenario.statements("Geo") == geo_documented_policy(TEST_ACCOUNT)


def test_global_grant_is_the_documented_three_part_policy(scenario: Scenario) -> None:
    assert scenario.statements("Global") == global_documented_policy(TEST_ACCOUNT, "eu-west-1")


def test_no_region_wildcard_in_any_grant(scenario: Scenario) -> None:
    for name in scenario.stacks:
        for statement in scenario.statements(name):
            arns = (
                statement["Resource"]
                if isinstance(statement["Resource"], list)
                else [statement["Resource"]]
            )
            for arn in arns:
                assert "*" not in str(arn), f"{name}: wildcard in {arn}"


def test_application_profile_grant(scenario: Scenario) -> None:
    app_arn = {
        "Fn::GetAtt": [
            scenario.stacks["Application"].get_logical_id(scenario.application.resource),
            "InferenceProfileArn",
        ]
    }
    system = f"arn:aws:bedrock:us-east-2:{TEST_ACCOUNT}:inference-profile/us.{SONNET}"
    assert scenario.statements("Application") == [
        {"Effect": "Allow", "Action": STREAMING, "Resource": [system, app_arn]},
        {
            "Effect": "Allow",
            "Action": STREAMING,
            "Resource": [
                f"arn:aws:bedrock:{r}::foundation-model/{SONNET}"
                for r in ("us-east-1", "us-east-2", "us-west-2")
            ],
            "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": app_arn}},
        },
    ]
    (profile,) = resources(
        scenario.template("Application"), "AWS::Bedrock::ApplicationInferenceProfile"
    ).values()
    assert profile["Properties"] == {
        "InferenceProfileName": "claude-support-prod",
        "Description": "Support assistant",
        "ModelSource": {"CopyFrom": system},
        "Tags": [{"Key": "cost-center", "Value": "1234"}],
    }


def test_single_region_application_profile_grant(scenario: Scenario) -> None:
    app_arn = {
        "Fn::GetAtt": [
            scenario.stacks["Single"].get_logical_id(scenario.single.resource),
            "InferenceProfileArn",
        ]
    }
    model = "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0"
    assert scenario.statements("Single") == [
        {"Effect": "Allow", "Action": STREAMING, "Resource": app_arn},
        {
            "Effect": "Allow",
            "Action": STREAMING,
            "Resource": model,
            "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": app_arn}},
        },
    ]
    (profile,) = resources(
        scenario.template("Single"), "AWS::Bedrock::ApplicationInferenceProfile"
    ).values()
    assert profile["Properties"]["ModelSource"] == {"CopyFrom": model}


def test_profile_attributes(scenario: Scenario) -> None:
    assert scenario.geo.profile_id == f"us.{SONNET}"
    assert scenario.geo.destination_regions == {"us-east-1", "us-east-2", "us-west-2"}
    assert (
        scenario.glob.profile_arn
        == f"arn:aws:bedrock:eu-west-1:{TEST_ACCOUNT}:inference-profile/global.{SONNET}"
    )


def test_routes_override_per_model(tmp_path: Path) -> None:
    """Destinations differ by model: us.anthropic.claude-3-haiku from us-west-2 skips us-east-2."""
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "S", env=cdk.Environment(account=TEST_ACCOUNT, region="us-west-2"))
    haiku = CrossRegionInferenceProfile(
        stack,
        "Haiku",
        model_id="anthropic.claude-3-haiku-20240307-v1:0",
        routes={
            "us-west-2": ["us-east-1", "us-west-2"],
            "us-east-2": ["us-east-1", "us-east-2", "us-west-2"],
        },
    )
    assert haiku.destination_regions == {"us-east-1", "us-west-2"}


def _stack(tmp_path: Path, region: str | None = "us-east-1") -> cdk.Stack:
    app = new_app(tmp_path)
    env = cdk.Environment(account=TEST_ACCOUNT, region=region) if region else None
    return cdk.Stack(app, "S", env=env)


def test_fails_when_model_id_has_a_geography_prefix(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"model_id must be the foundation-model id without a geography prefix, got 'us\.anthropic\..*'; pass model_id='anthropic\..*' and geography=Geography\.US",
    ):
        CrossRegionInferenceProfile(_stack(tmp_path), "P", model_id=f"us.{SONNET}")
    with pytest.raises(ValueError, match=r"geography=Geography\.US_GOV"):
        CrossRegionInferenceProfile(_stack(tmp_path), "Q", model_id=f"us-gov.{SONNET}")


def test_fails_when_model_id_is_malformed(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"model_id must look like '<provider>\.<model>'.*got 'claude'"
    ):
        CrossRegionInferenceProfile(_stack(tmp_path), "P", model_id="claude")


def test_fails_when_stack_region_is_not_a_source_region(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"model_id 'anthropic\.claude-sonnet-5-5' with geography=Geography\.US cannot be called from eu-west-1 \(the stack's Region\): its card \(https://docs\.aws\.amazon\.com/bedrock/latest/userguide/model-card-anthropic-claude-sonnet-5-5\.html, read .*\) lists the source Regions ca-central-1, ca-west-1, us-east-1, us-east-2, us-west-1, us-west-2 for 'us\.anthropic\.claude-sonnet-5-5', so every call from eu-west-1 would fail; deploy this stack to one of those Regions, choose Geography\.EU, Geography\.GLOBAL, or pass routes=",
    ):
        CrossRegionInferenceProfile(_stack(tmp_path, "eu-west-1"), "P", model_id=SONNET)


@pytest.mark.parametrize(
    ("region", "geography"),
    [("ca-west-1", Geography.US), ("il-central-1", Geography.EU), ("us-east-1", Geography.APAC)],
)
def test_fails_where_the_chosen_models_card_has_no_route(
    tmp_path: Path, region: str, geography: Geography
) -> None:
    """Routes come from the chosen model's own card: Claude Sonnet 4.5's card lists no
    ca-west-1 or il-central-1 source and no APAC profile, although other cards do."""
    with pytest.raises(ValueError, match=r"cannot be called from|has no apac\. profile") as err:
        CrossRegionInferenceProfile(
            _stack(tmp_path, region), "P", model_id=SONNET_4_5, geography=geography, as_of=READ
        )
    assert "anthropic.claude-sonnet-4-5-20250929-v1:0" in str(err.value)
    assert "routes=" in str(err.value)


def test_fails_for_a_geography_the_card_does_not_list(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"geography=Geography\.JP has no jp\. profile for model_id 'anthropic\.claude-sonnet-5-5' on its card \(.*\): it lists Geography\.US, Geography\.EU, Geography\.GLOBAL; choose one of those, or pass routes= from the card",
    ):
        CrossRegionInferenceProfile(
            _stack(tmp_path, "ap-northeast-1"), "P", model_id=SONNET, geography=Geography.JP
        )


def test_fails_for_a_model_whose_routes_were_not_recorded(tmp_path: Path) -> None:
    """Claude Opus 4.1 has a lifecycle row but no routes: the card's routes must be given."""
    with pytest.raises(
        ValueError, match=r"ha-inference recorded no routes for this model; or pass routes="
    ):
        CrossRegionInferenceProfile(
            _stack(tmp_path),
            "P",
            model_id="anthropic.claude-opus-4-1-20250805-v1:0",
            as_of=READ,
        )


def test_routes_come_from_each_models_card(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "ca-west-1")
    opus = CrossRegionInferenceProfile(stack, "Opus", model_id="anthropic.claude-opus-4-7")
    sonnet = CrossRegionInferenceProfile(stack, "Sonnet", model_id=SONNET)
    expected = {"ca-west-1", "us-east-1", "us-east-2", "us-west-2"}
    assert opus.destination_regions == sonnet.destination_regions == expected


def test_fails_when_explicit_routes_lack_the_stack_region(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"routes has no entry for us-east-1, the Region of stack 'S' \(it lists us-west-2\); add routes\['us-east-1'\]",
    ):
        CrossRegionInferenceProfile(
            _stack(tmp_path),
            "P",
            model_id="amazon.nova-pro-v1:0",
            routes={"us-west-2": ["us-west-2"]},
        )


def _warnings(stack: cdk.Stack, pattern: str) -> list[Any]:
    return Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp(pattern))


def test_a_legacy_model_warns_with_its_end_of_life(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    CrossRegionInferenceProfile(stack, "Legacy", model_id=SONNET_4_5, as_of=READ)
    CrossRegionInferenceProfile(stack, "Active", model_id=SONNET, as_of=READ)
    (warning,) = _warnings(stack, "is Legacy on Amazon Bedrock")
    assert warning.id == "/S/Legacy"
    assert warning.entry.data == (
        "model_id 'anthropic.claude-sonnet-4-5-20250929-v1:0' (Claude Sonnet 4.5) is Legacy on "
        "Amazon Bedrock since 2026-10-08; its end of life, when every call to it fails, is "
        "2027-04-08 (source: https://docs.aws.amazon.com/bedrock/latest/userguide/"
        "model-lifecycle-legacy.html (copy dated by its content 2026-09-30 to 2026-10-14)). "
        "Move to an Active model, for example 'anthropic.claude-sonnet-5-5'. "
        "[ack: ha-inference:legacy-model]"
    )


def test_a_legacy_model_fails_from_its_end_of_life_date(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"model_id 'anthropic\.claude-sonnet-4-5-20250929-v1:0' \(Claude Sonnet 4\.5\) reached its end of life on Amazon Bedrock on 2027-04-08, so every call to it fails \(judged on 2027-04-08; .*\); choose an Active model, for example 'anthropic\.claude-sonnet-5-5'",
    ):
        CrossRegionInferenceProfile(
            _stack(tmp_path), "P", model_id=SONNET_4_5, as_of=date(2027, 4, 8)
        )
    # The day before, it is still usable (with the Legacy warning).
    CrossRegionInferenceProfile(_stack(tmp_path), "Q", model_id=SONNET_4_5, as_of=date(2027, 4, 7))


def test_an_end_of_life_model_fails_today(tmp_path: Path) -> None:
    """Claude Sonnet 4 reached its end of life on 2026-10-14: without as_of, synth judges on
    today's date."""
    with pytest.raises(ValueError, match=r"\(Claude Sonnet 4\) reached its end of life"):
        CrossRegionInferenceProfile(
            _stack(tmp_path),
            "P",
            model_id="anthropic.claude-sonnet-4-20250514-v1:0",
            routes={"us-east-1": ["us-east-1", "us-east-2", "us-west-2"]},
        )


def test_fails_when_as_of_is_not_a_date(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"as_of must be a datetime\.date, got '2027-01-01'"):
        CrossRegionInferenceProfile(_stack(tmp_path), "P", model_id=SONNET, as_of="2027-01-01")  # type: ignore[arg-type]


def test_single_region_application_profile_judges_its_model(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"\(Claude Opus 4\.1\) reached its end of life on Amazon Bedrock on 2027-01-08",
    ):
        ApplicationInferenceProfile(
            _stack(tmp_path),
            "P",
            inference_profile_name="opus",
            model_id="anthropic.claude-opus-4-1-20250805-v1:0",
            as_of=date(2027, 1, 8),
        )


def test_unverified_routes_warn(tmp_path: Path) -> None:
    """Claude Sonnet 5.5's card lists its global source Regions but not their destinations."""
    stack = _stack(tmp_path, "eu-west-1")
    CrossRegionInferenceProfile(stack, "Global", model_id=SONNET, geography=Geography.GLOBAL)
    CrossRegionInferenceProfile(stack, "Eu", model_id=SONNET, geography=Geography.EU)
    warnings = _warnings(stack, "routes of model_id .* are not all verified")
    assert [w.id for w in warnings] == ["/S/Global"]


def test_embedding_model_regions_are_checked_by_region_coverage(tmp_path: Path) -> None:
    """Titan Text Embeddings V2 is not offered in ca-west-1: every embedding call there fails."""
    app = new_app(tmp_path)
    for region in ("us-east-1", "ca-west-1"):
        stack = cdk.Stack(app, region, env=cdk.Environment(account=TEST_ACCOUNT, region=region))
        FoundationModel.in_stack_region(stack, "amazon.titan-embed-text-v2:0")
    coverage = RegionCoverage(app, "Coverage")
    assert coverage.problems() == [
        "ca-west-1 invokes 'amazon.titan-embed-text-v2:0' in its own Region, but Amazon Bedrock "
        "offers it on demand only in ap-northeast-1, ap-northeast-2, ap-northeast-3, "
        "ap-south-1, ap-south-2, ap-southeast-2, ca-central-1, eu-central-1, eu-central-2, "
        "eu-north-1, eu-south-1, eu-south-2, eu-west-1, eu-west-2, eu-west-3, sa-east-1, "
        "us-east-1, us-east-2, us-gov-east-1, us-gov-west-1, us-west-2 "
        "(https://docs.aws.amazon.com/bedrock/latest/userguide/knowledge-base-supported.html, "
        "'Single-region model support' column, read 2026-12-08), so every call from ca-west-1 "
        "fails; deploy to those Regions or choose a model offered in ca-west-1"
    ]
    with pytest.raises(RuntimeError, match=r"RegionCoverage: ca-west-1 invokes"):
        app.synth()


def test_a_direct_model_past_its_end_of_life_fails(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"\(Claude Sonnet 4\) reached its end of life"):
        FoundationModel.in_stack_region(_stack(tmp_path), "anthropic.claude-sonnet-4-20250514-v1:0")


def test_fails_when_region_is_a_token(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"CrossRegionInferenceProfile needs a concrete Region but stack 'S' is environment-agnostic.*env=cdk\.Environment",
    ):
        CrossRegionInferenceProfile(_stack(tmp_path, None), "P", model_id=SONNET)


def test_fails_when_geography_is_a_string(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"geography must be a Geography, got 'us'"):
        CrossRegionInferenceProfile(_stack(tmp_path), "P", model_id=SONNET, geography="us")  # type: ignore[arg-type]


EU = ["eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3"]


def test_data_residency_allows_a_profile_inside_the_boundary(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "eu-west-1")
    declare_data_residency(stack.node.root, EU)
    profile = CrossRegionInferenceProfile(stack, "P", model_id=SONNET, geography=Geography.EU)
    assert profile.residency_error() is None


def test_fails_when_global_profile_leaves_an_eu_boundary(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "eu-west-1")
    declare_data_residency(stack.node.root, EU)
    with pytest.raises(
        ValueError,
        match=r"CrossRegionInferenceProfile 'global\..*' \(from eu-west-1\) may route requests to af-south-1, ap-east-2, .*us-west-2, outside the data-residency boundary \(eu-central-1, .*\); choose a geography whose destination Regions all lie inside",
    ):
        CrossRegionInferenceProfile(stack, "P", model_id=SONNET, geography=Geography.GLOBAL)


def test_fails_at_synth_when_the_boundary_is_declared_after_the_profile(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "eu-west-2")
    CrossRegionInferenceProfile(stack, "P", model_id=SONNET, geography=Geography.EU)
    declare_data_residency(stack, EU)  # eu-west-2 routes to itself, outside this boundary
    with pytest.raises(
        RuntimeError, match=r"may route requests to eu-west-2, outside the data-residency boundary"
    ):
        stack.node.root.synth()  # type: ignore[attr-defined]


def test_nested_boundaries_intersect(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "eu-central-1")
    declare_data_residency(stack.node.root, [*EU, "us-east-1"])
    declare_data_residency(stack, ["eu-central-1", "eu-west-1"])
    with pytest.raises(
        ValueError,
        match=r"may route requests to eu-north-1, eu-south-1, eu-south-2, eu-west-3, outside",
    ):
        CrossRegionInferenceProfile(stack, "P", model_id=SONNET, geography=Geography.EU)


def test_fails_on_an_empty_or_unknown_boundary(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"regions must name at least one Region"):
        declare_data_residency(_stack(tmp_path), [])
    with pytest.raises(ValueError, match=r"regions has an unknown Region 'europe'"):
        declare_data_residency(_stack(tmp_path), ["europe"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"inference_profile_name": "claude.prod"}, r"inference_profile_name must be 1-64 characters of letters, digits and single spaces, underscores or hyphens between them \(CloudFormation pattern .*\), got 'claude\.prod'"),
        ({"inference_profile_name": "a" * 65}, r"inference_profile_name must be 1-64 characters"),
        ({"inference_profile_name": "ok", "description": "bad--description"}, r"description must be 1-200 characters.*got 'bad--description'"),
        ({"inference_profile_name": "ok", "tags": {"": "x"}}, r"tags has an invalid tag ''"),
    ],
)  # fmt: skip
def test_fails_on_bad_application_profile_props(
    tmp_path: Path, kwargs: dict[str, Any], message: str
) -> None:
    stack = _stack(tmp_path)
    source = CrossRegionInferenceProfile(stack, "System", model_id=SONNET)
    with pytest.raises(ValueError, match=message):
        ApplicationInferenceProfile(stack, "P", source=source, **kwargs)


def test_fails_without_exactly_one_source(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    source = CrossRegionInferenceProfile(stack, "System", model_id=SONNET)
    with pytest.raises(ValueError, match=r"needs exactly one of source .* or model_id"):
        ApplicationInferenceProfile(
            stack, "A", inference_profile_name="x", source=source, model_id=SONNET
        )
    with pytest.raises(ValueError, match=r"needs exactly one of source .* or model_id"):
        ApplicationInferenceProfile(stack, "B", inference_profile_name="x")


def test_fails_where_cloudformation_lacks_application_profiles(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "us-west-1")
    source = CrossRegionInferenceProfile(stack, "System", model_id=SONNET)
    with pytest.raises(
        ValueError,
        match=r"ApplicationInferenceProfile cannot be created in us-west-1: CloudFormation has no AWS::Bedrock::ApplicationInferenceProfile type there",
    ):
        ApplicationInferenceProfile(stack, "P", inference_profile_name="x", source=source)


def test_fails_when_application_profile_leaves_the_boundary(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "us-east-1")
    source = CrossRegionInferenceProfile(stack, "System", model_id=SONNET)
    declare_data_residency(stack, ["us-east-1"])
    with pytest.raises(
        ValueError,
        match=r"ApplicationInferenceProfile 'S/P' may route requests to us-east-2, us-west-2, outside",
    ):
        ApplicationInferenceProfile(stack, "P", inference_profile_name="x", source=source)
