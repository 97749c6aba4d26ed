"""What the library reads once per object (to save round trips to the jsii kernel) answers as
the uncached read would: subnet selections, a construct's stack and a stack's Region and
account, the CloudWatch Logs statement of a key, and RegionCoverage's scope."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs

from ha_inference import CrossRegionInferenceProfile, RegionCoverage
from ha_inference._internal.logs import new_log_group
from ha_inference._internal.stacks import account_of, region_of, stack_of
from ha_inference._internal.validation import select_subnets, subnet_zones
from ha_inference.checks.coverage import mark_supporting
from tests.support import TEST_ACCOUNT, ZonalStack, new_app

SONNET = "anthropic.claude-sonnet-5-5"


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``ec2.Vpc.select_subnets`` call (its keyword arguments), still answered by CDK."""
    made: list[dict[str, Any]] = []
    original = ec2.Vpc.select_subnets

    def counted(self: ec2.Vpc, **selection: Any) -> ec2.SelectedSubnets:
        made.append(selection)
        return original(self, **selection)

    monkeypatch.setattr(ec2.Vpc, "select_subnets", counted)
    return made


def test_equal_selections_of_one_vpc_ask_cdk_once(
    tmp_path: Path, calls: list[dict[str, Any]]
) -> None:
    stack = ZonalStack(new_app(tmp_path), "S", groups=("private", "other"))
    first = ec2.SubnetSelection(subnet_group_name="private")
    again = ec2.SubnetSelection(subnet_group_name="private")
    chosen = select_subnets(stack.vpc, first)
    assert select_subnets(stack.vpc, again) == chosen
    assert subnet_zones(stack.vpc, again) == ("us-east-1a", "us-east-1b", "us-east-1c")
    assert len(calls) == 1
    other = select_subnets(stack.vpc, ec2.SubnetSelection(subnet_group_name="other"))
    assert len(calls) == 2
    assert {s.node.path for s in other}.isdisjoint({s.node.path for s in chosen})


def test_selections_of_different_subnet_lists_are_never_confused(
    tmp_path: Path, calls: list[dict[str, Any]]
) -> None:
    stack = ZonalStack(new_app(tmp_path), "S", groups=("private", "other"))
    private = stack.vpc.select_subnets(subnet_group_name="private").subnets
    other = stack.vpc.select_subnets(subnet_group_name="other").subnets
    calls.clear()
    for subnets in (private[:2], other[:2], private[1:]):
        picked = select_subnets(stack.vpc, ec2.SubnetSelection(subnets=subnets))
        assert [s.node.path for s in picked] == [s.node.path for s in subnets]
    assert len(calls) == 3


def test_equal_selections_of_different_vpcs_pick_each_vpcs_own_subnets(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    one, two = ZonalStack(app, "One"), ZonalStack(app, "Two")
    selection = ec2.SubnetSelection(subnet_group_name="private")
    paths = [{s.node.path for s in select_subnets(v, selection)} for v in (one.vpc, two.vpc)]
    assert all(p.startswith("One/") for p in paths[0])
    assert all(p.startswith("Two/") for p in paths[1])


def test_stack_region_and_account_answer_as_cdk_does(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    pinned = cdk.Stack(app, "Pinned", env=cdk.Environment(account=TEST_ACCOUNT, region="eu-west-1"))
    agnostic = cdk.Stack(app, "Agnostic")
    nested = cdk.NestedStack(pinned, "Nested")
    for scope in (pinned, agnostic, nested):
        inner = ec2.CfnVPC(scope, "Vpc", cidr_block="10.0.0.0/16")
        stack = stack_of(inner)
        assert stack.node.path == cdk.Stack.of(inner).node.path == scope.node.path
        assert stack_of(inner) is stack
        assert region_of(stack) == stack.region
        assert account_of(stack) == stack.account
    assert (region_of(pinned), account_of(pinned)) == ("eu-west-1", TEST_ACCOUNT)
    assert cdk.Token.is_unresolved(region_of(agnostic))
    assert cdk.Token.is_unresolved(account_of(agnostic))


def _logs_statements(stack: cdk.Stack) -> list[dict[str, Any]]:
    template = cdk.assertions.Template.from_stack(stack).to_json()
    (key,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::KMS::Key"]
    return [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowCloudWatchLogsOfThisAccount"
    ]


def test_a_key_shared_by_two_log_groups_admits_cloudwatch_logs_once(tmp_path: Path) -> None:
    stack = cdk.Stack(
        new_app(tmp_path), "S", env=cdk.Environment(account=TEST_ACCOUNT, region="us-east-1")
    )
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    for name in ("One", "Two"):
        new_log_group(stack, name, retention=logs.RetentionDays.ONE_WEEK, encryption_key=key)
    (statement,) = _logs_statements(stack)
    assert statement["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}


def test_keys_of_different_stacks_each_admit_their_own_regions_logs(tmp_path: Path) -> None:
    for region in ("us-east-1", "us-west-2"):
        stack = cdk.Stack(
            new_app(tmp_path / region),
            "S",
            env=cdk.Environment(account=TEST_ACCOUNT, region=region),
        )
        key = kms.Key(stack, "Key", enable_key_rotation=True)
        new_log_group(stack, "Logs", retention=logs.RetentionDays.ONE_WEEK, encryption_key=key)
        (statement,) = _logs_statements(stack)
        assert statement["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}


def _region_using_a_profile(scope: cdk.Stage | cdk.App, region: str, *, supported: bool) -> None:
    stack = cdk.Stack(scope, "Stack", env=cdk.Environment(account=TEST_ACCOUNT, region=region))
    CrossRegionInferenceProfile(stack, "Profile", model_id=SONNET)
    if supported:
        mark_supporting(stack, "vector-search")


def test_coverage_in_a_stage_judges_only_the_stacks_of_that_stage(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    kept, lacking = cdk.Stage(app, "Kept"), cdk.Stage(app, "Lacking")
    _region_using_a_profile(kept, "us-east-1", supported=True)
    _region_using_a_profile(lacking, "us-west-2", supported=False)
    options: dict[str, Any] = {"supporting": ["vector-search"], "require_all_destinations": False}
    in_kept = RegionCoverage(kept, "Coverage", **options)
    in_lacking = RegionCoverage(lacking, "Coverage", **options)
    over_the_app = RegionCoverage(app, "Coverage", **options)
    assert in_kept.problems() == []
    (gap,) = in_lacking.problems()
    assert gap.startswith("us-west-2 ") and "vector-search" in gap
    assert over_the_app.problems() == [gap]
