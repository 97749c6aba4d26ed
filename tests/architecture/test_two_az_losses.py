"""Surviving two AZ losses: capacity sized so the survivors carry the full load, the checks that
refuse a VPC too small for the claim, the rules that catch a template that does not keep it, and
the AZ-loss report's two-AZ column, which flips when the setting is on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from ha_inference import MultiAzSageMakerEndpoint, RegionalInference
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.tools import loss_levels
from ha_inference.tools.report import StackReport, analyse, main
from ha_inference.zonal import instances_for, remaining_after
from stacks.config import SettingsError, load_settings
from tests.support import SELF_HOSTED, TEST_ACCOUNT, ZonalStack, new_app, synth_reference

IMAGE = f"{TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/models/llm:1"
ONE_REGION = {
    **SELF_HOSTED,
    "ha-inference:regions": ["us-east-1"],
    "ha-inference:require-all-destinations": False,
}


def endpoint(stack: cdk.Stack, **props: Any) -> MultiAzSageMakerEndpoint:
    return MultiAzSageMakerEndpoint(
        stack,
        "Model",
        vpc=stack.vpc,  # type: ignore[attr-defined]
        vpc_subnets=cdk.aws_ec2.SubnetSelection(subnet_group_name="private"),
        image=IMAGE,
        model_data_url="s3://models-us-east-1/llm/model.tar.gz",
        invocations_per_instance_target=100,
        **props,
    )


# --------------------------------------------------------------------------- arithmetic


@pytest.mark.parametrize(
    ("instances", "zones", "lost", "left"),
    [(3, 3, 1, 2), (3, 3, 2, 1), (4, 3, 2, 1), (5, 3, 2, 1), (6, 3, 2, 2), (7, 4, 2, 3)],
)
def test_worst_case_survivors_of_an_even_spread(
    instances: int, zones: int, lost: int, left: int
) -> None:
    assert remaining_after(instances, zones, lost) == left


def test_fewest_instances_that_keep_the_full_load() -> None:
    assert instances_for(2, 3, 1) == 3  # one per AZ: the one-AZ design, unchanged
    assert instances_for(2, 3, 2) == 6  # the full load in every AZ
    assert instances_for(1, 3, 2) == 3
    assert instances_for(3, 4, 2) == 7


# --------------------------------------------------------------------------- the endpoint


@pytest.fixture(scope="module")
def two_az_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Template:
    app = new_app(tmp_path_factory.mktemp("endpoint"))
    stack = ZonalStack(app, "Endpoint")
    model = endpoint(stack, tolerated_az_losses=2)
    assert (model.instance_count, model.max_capacity, model.full_load_instances) == (6, 12, 2)
    return Template.from_stack(stack)


def test_two_az_endpoint_runs_the_full_load_in_every_az(two_az_endpoint: Template) -> None:
    (config,) = two_az_endpoint.find_resources("AWS::SageMaker::EndpointConfig").values()
    assert [v["InitialInstanceCount"] for v in config["Properties"]["ProductionVariants"]] == [6]
    (target,) = two_az_endpoint.find_resources(
        "AWS::ApplicationAutoScaling::ScalableTarget"
    ).values()
    assert (target["Properties"]["MinCapacity"], target["Properties"]["MaxCapacity"]) == (6, 12)


def test_full_load_sets_the_count(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "Endpoint")
    model = endpoint(stack, tolerated_az_losses=2, full_load_instances=1)
    assert model.instance_count == 3
    other = ZonalStack(new_app(tmp_path / "b"), "Endpoint")
    assert endpoint(other, full_load_instances=3).instance_count == 5


@pytest.mark.parametrize(
    ("props", "zones", "message"),
    [
        (
            {"tolerated_az_losses": 2, "instance_count": 5},
            3,
            r"^instance_count must leave full_load_instances \(2\) serving after losing any 2 of "
            r"the 3 AZs \(tolerated_az_losses=2\), got 5, which leaves 1 in the worst case; use "
            r"instance_count=6",
        ),
        (
            {"tolerated_az_losses": 2},
            2,
            r"^tolerated_az_losses is 2, which needs subnets in at least 3 Availability Zones "
            r"so that one is left, but vpc_subnets span 2 \(us-east-1a, us-east-1b\); select",
        ),
        (
            {"tolerated_az_losses": 3},
            3,
            r"^tolerated_az_losses must be 1 or 2, got 3; use 2",
        ),
        (
            {"full_load_instances": 0},
            3,
            r"^full_load_instances must be at least 1, got 0; divide the peak",
        ),
    ],
)
def test_fails_on_capacity_that_cannot_keep_the_claim(
    tmp_path: Path, props: dict[str, Any], zones: int, message: str
) -> None:
    stack = ZonalStack(
        new_app(tmp_path), "Endpoint", zones=tuple(f"us-east-1{c}" for c in "abc"[:zones])
    )
    with pytest.raises(ValueError, match=message):
        endpoint(stack, **props)


def test_rule_catches_a_template_edited_below_the_claim(tmp_path: Path) -> None:
    """An escape hatch that lowers the count or the floor breaks the recorded claim: SM6 says
    which, and the report exits 1 naming it."""
    app = new_app(tmp_path / "cdk.out")
    stack = ZonalStack(app, "Edited")
    model = endpoint(stack, tolerated_az_losses=2)
    (variant,) = model.endpoint_config.production_variants  # type: ignore[misc]
    model.endpoint_config.production_variants = [
        cdk.aws_sagemaker.CfnEndpointConfig.ProductionVariantProperty(
            **{**variant._values, "initial_instance_count": 3}
        )
    ]
    target = model.scalable_target.node.default_child
    assert isinstance(target, cdk.aws_applicationautoscaling.CfnScalableTarget)
    target.min_capacity = 3
    assert {rule for rule, _ in findings_of(HaInferenceChecks(), app)} == {
        "HaInference-SM6[AllTraffic:instances]",
        "HaInference-SM6[AllTraffic:autoscaling-minimum]",
    }
    app.synth()
    (report,) = analyse(tmp_path / "cdk.out")
    assert report.claimed == 2 and report.broken_claim
    assert report.two_azs.state == loss_levels.REDUCED
    assert main([str(tmp_path / "cdk.out")]) == 1


def test_rule_passes_the_two_az_endpoint(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    endpoint(ZonalStack(app, "Kept"), tolerated_az_losses=2)
    assert [f for f in findings_of(HaInferenceChecks(), app) if "SM6" in f[0]] == []


# --------------------------------------------------------------------------- the L3 and the app


def test_fails_when_the_vpc_has_too_few_azs_for_the_claim(tmp_path: Path) -> None:
    stack = ZonalStack(
        new_app(tmp_path), "TwoAzs", zones=("us-east-1a", "us-east-1b"), groups=("private",)
    )
    with pytest.raises(
        ValueError,
        match=r"^tolerated_az_losses is 2, which needs endpoint_subnets in at least 3 "
        r"Availability Zones so that one is left, but they span 2 \(us-east-1a, us-east-1b\); "
        r"give the VPC more AZs",
    ):
        RegionalInference(stack, "Inference", vpc=stack.vpc, tolerated_az_losses=2)


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"tolerated-az-losses": 2, "az-count": 2},
            r"^ha-inference:tolerated-az-losses is 2, which needs at least 3 AZs in every "
            r"Region so that one is left, but us-east-1 \(2\) uses fewer; raise "
            r"ha-inference:az-count",
        ),
        ({"tolerated-az-losses": 3}, r"^ha-inference:tolerated-az-losses must be 1 or 2, got 3"),
        ({"tolerated-az-losses": True}, r"must be 1 or 2, got True"),
        (
            {"self-hosted": {"model-data": "s3://m-{region}/m.tar.gz", "full-load-instances": 0}},
            r"^ha-inference:self-hosted.full-load-instances must be a positive whole number",
        ),
    ],
)
def test_fails_on_bad_two_az_setting(context: dict[str, Any], message: str) -> None:
    full = {
        "ha-inference:regions": ["us-east-1"],
        **{f"ha-inference:{key}": value for key, value in context.items()},
    }
    with pytest.raises(SettingsError, match=message):
        load_settings(full.get, known_keys=full)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[int, StackReport]:
    """The one-Region reference app with the self-hosted model, tolerating one and two AZ
    losses (one synthesis each)."""
    found = {}
    for tolerated in (1, 2):
        synth = synth_reference(
            tmp_path_factory.mktemp(f"tolerates-{tolerated}"),
            {**ONE_REGION, "ha-inference:tolerated-az-losses": tolerated},
        )
        (report,) = [r for r in analyse(synth.assembly.directory) if r.region == "us-east-1"]
        found[tolerated] = report
    return found


def sagemaker_row(report: StackReport) -> loss_levels.LossRow:
    (row,) = [r for r in report.loss if r.component.startswith("SageMaker instances")]
    return row


def test_two_az_column_flips_when_the_setting_is_on(reports: dict[int, StackReport]) -> None:
    one, two = reports[1], reports[2]
    assert sagemaker_row(one).two_azs == loss_levels.Cell(
        loss_levels.REDUCED, "reduced: 1 of 3 instances, full load needs 2"
    )
    assert sagemaker_row(two).two_azs == loss_levels.Cell(
        loss_levels.SERVES, "full load (2 of 6 instances, needs 2)"
    )
    assert (one.two_azs.state, two.two_azs.state) == (loss_levels.REDUCED, loss_levels.SERVES)
    assert "scale-out" in sagemaker_row(one).recovery
    assert sagemaker_row(two).recovery == "nothing: the instances left carry the full load"
    assert (one.claimed, two.claimed) == (1, 2)
    assert not one.broken_claim and not two.broken_claim


def test_every_row_says_all_three_loss_levels(reports: dict[int, StackReport]) -> None:
    rows = {row.component.split(":")[0]: row for row in reports[2].loss}
    assert {
        "subnets",
        "interface endpoint",
        "network load balancer",
        "SageMaker instances",
        "Lambda function",
        "collection endpoint",
        "collection",
        "Bedrock profile",
        "Bedrock in-Region model",
    } <= set(rows)
    for row in reports[2].loss:
        assert row.one_az.state == loss_levels.SERVES, row
        assert row.region.state == loss_levels.LOST, row
        # One Region: nothing takes over, and the report says so plainly.
        assert "**nothing" in row.region.text, row
    assert rows["Bedrock profile"].two_azs.state == loss_levels.NOT_PROMISED
    assert rows["collection"].two_azs.state == loss_levels.NOT_PROMISED
    assert rows["Lambda function"].two_azs.text == "serves (1 of 3)"
