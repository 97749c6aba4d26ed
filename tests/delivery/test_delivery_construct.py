"""RegionalDeliveryPipeline and RegionHealthAlarm as a library: each bad input fails at synth
time with a message that names the prop and the fix (the reference app's pipeline is tested in
tests/app/test_delivery.py)."""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import pipelines
from aws_cdk.assertions import Template

from ha_inference import (
    DeliveryWave,
    RegionalDeliveryPipeline,
    RegionDelivery,
    RegionHealthAlarm,
)
from ha_inference.delivery.verify_step import BY_REGION, BY_STACK, BY_STACK_TAG
from ha_inference.tools.verify import PERMISSIONS
from stacks.config import load_settings
from tests.support import ROOT, TEST_ACCOUNT, new_app
from tests.support.lint import lint_template

CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/0f8e7c1a-1b2c-4d5e"
METRIC = cloudwatch.Metric(namespace="Test", metric_name="Errors")


class Region:
    """A stage with one stack, a named alarm and an output, in ``region``."""

    def __init__(self, app: cdk.App, region: str, *, stacks: int = 1, name_alarm: bool = True):
        env = cdk.Environment(account=TEST_ACCOUNT, region=region)
        self.stage = cdk.Stage(app, region, env=env)
        self.stacks = [
            cdk.Stack(self.stage, f"App{i}", stack_name=f"App{i}-{region}") for i in range(stacks)
        ]
        stack = self.stacks[0]
        self.alarm = METRIC.create_alarm(
            stack,
            "Errors",
            threshold=1,
            evaluation_periods=1,
            alarm_name=f"errors-{region}" if name_alarm else None,
        )
        self.output = cdk.CfnOutput(stack, "Name", value="x")

    def delivery(self, **changes: Any) -> RegionDelivery:
        return RegionDelivery(
            **{"stage": self.stage, "alarms": [self.alarm], "outputs": {"NAME": self.output}}
            | changes
        )


def pipeline_stack(app: cdk.App, account: str = TEST_ACCOUNT) -> cdk.Stack:
    return cdk.Stack(app, "Pipeline", env=cdk.Environment(account=account, region="us-east-1"))


def source() -> pipelines.CodePipelineSource:
    return pipelines.CodePipelineSource.connection("o/r", "main", connection_arn=CONNECTION)


INSTALL = ["pip install -r requirements.txt"]


def build(stack: cdk.Stack, waves: Sequence[DeliveryWave], **props: Any) -> None:
    RegionalDeliveryPipeline(
        stack, "Delivery", source=source(), waves=waves, verify_install_commands=INSTALL, **props
    )


def test_verify_step_permissions_cover_every_call_verify_makes() -> None:
    """Each IAM action verify declares is scoped by exactly one rule of the verify step."""
    actions = {p.action for p in PERMISSIONS if p.action}
    rules = [BY_STACK, set(BY_STACK_TAG), BY_REGION]
    assert actions == set().union(*rules)
    assert all(len([r for r in rules if a in r]) == 1 for a in actions)


def test_one_region_wave_takes_its_stages_name(tmp_path: Path) -> None:
    """CDK Pipelines names a one-stage wave's CodePipeline stage after the stage; the condition
    goes there."""
    app = new_app(tmp_path)
    east, west = Region(app, "us-east-1"), Region(app, "us-west-2")
    delivery = RegionalDeliveryPipeline(
        pipeline_stack(app),
        "Delivery",
        source=source(),
        waves=[
            DeliveryWave(name="first", regions=[east.delivery()]),
            DeliveryWave(name="second", regions=[west.delivery(alarms=[])]),
        ],
        bake_time=cdk.Duration.minutes(45),
        verify_install_commands=INSTALL,
    )
    assert delivery.stage_names == {"first": "us-east-1", "second": "us-west-2"}
    assert delivery.bake_minutes == 45
    assert sorted(delivery.verify_steps) == ["us-east-1", "us-west-2"]
    assert delivery.stack_names == {
        "us-east-1": ["App0-us-east-1"],
        "us-west-2": ["App0-us-west-2"],
    }


@pytest.mark.parametrize(
    ("waves", "message"),
    [
        ([], "waves must be a non-empty list"),
        (lambda e, w: [DeliveryWave(name="us", regions=[])], r"waves\[0\] \(us\) has no Region"),
        (
            lambda e, w: [
                DeliveryWave(name="a", regions=[e.delivery()]),
                DeliveryWave(name="b", regions=[e.delivery(alarms=[])]),
            ],
            "waves list us-east-1 in more than one wave",
        ),
        (
            lambda e, w: [
                DeliveryWave(name="a", regions=[e.delivery()]),
                DeliveryWave(name="a", regions=[w.delivery()]),
            ],
            "a names more than one wave",
        ),
        (
            lambda e, w: [DeliveryWave(name="Build", regions=[e.delivery()])],
            "'Build' is a stage CDK Pipelines adds itself",
        ),
        (
            lambda e, w: [DeliveryWave(name="us east", regions=[e.delivery()])],
            r"waves\[0\].name must be 1 to 100 letters",
        ),
        (
            lambda e, w: [DeliveryWave(name="us", regions=[e.delivery(alarms=[w.alarm])])],
            r"alarms\[0\] \(us-west-2/App0/Errors\) is in us-west-2, the stage in us-east-1",
        ),
        (
            lambda e, w: [DeliveryWave(name="us", regions=[e.delivery(outputs={"N": w.output})])],
            r"outputs\['N'\] must be a cdk.CfnOutput of a stack in the Region's stage",
        ),
        (
            lambda e, w: [DeliveryWave(name="us", regions=[e.delivery(outputs={"1X": e.output})])],
            "outputs has '1X', which is not an environment variable name",
        ),
        (
            lambda e, w: [
                DeliveryWave(
                    name="us",
                    regions=[e.delivery(alarms=[e.alarm] * 3), w.delivery(alarms=[w.alarm] * 3)],
                )
            ],
            r"gates on 6 alarms, but a CodePipeline stage takes one on-success condition of at "
            r"most 5 rules.*RegionHealthAlarm",
        ),
    ],
    ids=[
        "no-waves",
        "empty-wave",
        "region-twice",
        "wave-name-twice",
        "reserved-name",
        "bad-name",
        "alarm-elsewhere",
        "foreign-output",
        "bad-variable",
        "six-alarms",
    ],
)
def test_fails_on_waves_codepipeline_cannot_run(tmp_path: Path, waves: Any, message: str) -> None:
    app = new_app(tmp_path)
    east, west = Region(app, "us-east-1"), Region(app, "us-west-2")
    with pytest.raises(ValueError, match=message):
        build(pipeline_stack(app), waves(east, west) if callable(waves) else waves)


def test_fails_on_an_alarm_whose_name_is_generated(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    east = Region(app, "us-east-1", name_alarm=False)
    with pytest.raises(ValueError, match="has a name CloudFormation generates at deploy time"):
        build(pipeline_stack(app), [DeliveryWave(name="us", regions=[east.delivery()])])


def test_fails_on_a_stage_in_another_account(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    east = Region(app, "us-east-1")
    with pytest.raises(ValueError, match="deploys to account 111111111111, the pipeline is in"):
        build(pipeline_stack(app, "222222222222"), [DeliveryWave("us", [east.delivery()])])


def test_fails_on_a_stage_without_a_region(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stage = cdk.Stage(app, "Anywhere")
    cdk.Stack(stage, "App")
    with pytest.raises(ValueError, match=r"stage \(Anywhere\) has no explicit Region"):
        build(pipeline_stack(app), [DeliveryWave("us", [RegionDelivery(stage=stage)])])


@pytest.mark.parametrize("bake", [cdk.Duration.seconds(30), cdk.Duration.seconds(90)])
def test_fails_on_a_bake_time_that_is_not_whole_minutes(tmp_path: Path, bake: cdk.Duration) -> None:
    app = new_app(tmp_path)
    east = Region(app, "us-east-1")
    with pytest.raises(ValueError, match="bake_time must be a whole number of minutes"):
        build(pipeline_stack(app), [DeliveryWave("us", [east.delivery()])], bake_time=bake)


@pytest.mark.parametrize(
    ("install", "message"),
    [
        ([], "verify_install_commands must be a non-empty list"),
        ([""], "verify_install_commands must be a non-empty list"),
        ("pip install x", r"verify_install_commands must be a list of str, got 'pip install x'; "
                          r"wrap the string in a list: verify_install_commands=\['pip install x'\]"),
    ],
)  # fmt: skip
def test_fails_without_commands_that_install_verify(
    tmp_path: Path, install: Any, message: str
) -> None:
    app = new_app(tmp_path)
    east = Region(app, "us-east-1")
    with pytest.raises(TypeError, match=message):
        RegionalDeliveryPipeline(
            pipeline_stack(app),
            "Delivery",
            source=source(),
            waves=[DeliveryWave("us", [east.delivery()])],
            verify_install_commands=install,
        )


def test_fails_on_a_source_that_is_not_a_pipeline_source(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    east = Region(app, "us-east-1")
    with pytest.raises(TypeError, match=r"source must be a pipelines\.CodePipelineSource"):
        RegionalDeliveryPipeline(
            pipeline_stack(app),
            "Delivery",
            source="o/r",  # type: ignore[arg-type]
            waves=[DeliveryWave("us", [east.delivery()])],
            verify_install_commands=INSTALL,
        )


def test_fails_on_a_wave_with_more_actions_than_a_stage_holds(tmp_path: Path) -> None:
    """Three Regions of nine stacks: 3 x (9 x 2 + 1) = 57 actions in one CodePipeline stage."""
    app = new_app(tmp_path)
    regions = [Region(app, r, stacks=9) for r in ("us-east-1", "us-east-2", "us-west-2")]
    with pytest.raises(
        ValueError, match=r"wave 'us' needs 57 actions .* splits it into us.1, us.2"
    ):
        build(pipeline_stack(app), [DeliveryWave("us", [r.delivery() for r in regions])])


def test_health_alarm_names_itself_after_its_stack(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    east = Region(app, "us-east-1", name_alarm=False)
    health = RegionHealthAlarm(east.stacks[0], "Health", alarms=[east.alarm])
    assert health.alarm_name == "App0-us-east-1-Health"
    template = Template.from_stack(east.stacks[0]).to_json()
    (composite,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::CompositeAlarm"
    ]
    assert composite["Properties"]["AlarmName"] == "App0-us-east-1-Health"
    assert lint_template(template, "us-east-1") == []


@pytest.mark.parametrize(
    ("alarms", "error", "message"),
    [
        ([], ValueError, "alarms is empty, so the composite alarm could never go into ALARM"),
        ("too-many", ValueError, "alarms holds 101 alarms, but a composite alarm's rule may name"),
        (["errors"], TypeError, r"alarms\[0\] must be a cloudwatch.IAlarm"),
        ("other-region", ValueError, r"is in Region us-west-2, this composite alarm in us-east-1"),
    ],
)
def test_fails_on_health_alarms_a_composite_alarm_cannot_watch(
    tmp_path: Path, alarms: Any, error: type[Exception], message: str
) -> None:
    app = new_app(tmp_path)
    east, west = Region(app, "us-east-1"), Region(app, "us-west-2")
    named = {"other-region": [west.alarm], "too-many": [east.alarm] * 101}
    given = named[alarms] if isinstance(alarms, str) else alarms
    with pytest.raises(error, match=message):
        RegionHealthAlarm(east.stacks[0], "Health", alarms=given)


def test_fails_on_a_health_alarm_without_a_literal_name(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    east = Region(app, "us-east-1")
    with pytest.raises(ValueError, match="alarm_name must be a literal name of 1 to 255"):
        RegionHealthAlarm(east.stacks[0], "Health", alarms=[east.alarm], alarm_name="x" * 256)


DOC = ROOT / "docs" / "delivery.md"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^ *```{language}\n(.*?)^ *```", DOC.read_text(), re.MULTILINE | re.DOTALL)


def test_the_library_example_in_docs_builds_a_pipeline() -> None:
    (code,) = _blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), namespace)
    (delivery,) = [
        c
        for c in namespace["pipeline_stack"].node.children
        if isinstance(c, RegionalDeliveryPipeline)
    ]
    assert delivery.stage_names == {"east": "us-east-1", "west": "us-west-2"}


def test_the_setting_example_in_docs_is_a_valid_setting() -> None:
    (setting,) = _blocks("json")
    context = json.loads("{" + textwrap.dedent(setting) + "}")
    loaded = load_settings(context.get, known_keys=context).pipeline
    assert loaded is not None
    assert loaded.waves == (("us-east", ("us-east-1", "us-east-2")), ("us-west", ("us-west-2",)))
