"""``ha-inference:pipeline``: its defaults, and a clear error for each value it cannot use."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import SettingsError, load_settings

CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/0f8e7c1a-1b2c-4d5e"
SOURCE = {"connection-arn": CONNECTION, "repository": "example-org/ha-inference"}
REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"]


def load(pipeline: Any, **context: Any) -> Any:
    full = {
        "ha-inference:regions": REGIONS,
        "ha-inference:bedrock-geography": "global",
        "ha-inference:pipeline": pipeline,
        **{f"ha-inference:{key.replace('_', '-')}": value for key, value in context.items()},
    }
    return load_settings(full.get, known_keys=full).pipeline


def test_off_unless_set() -> None:
    assert load(None) is None
    assert load(False) is None
    assert load("false") is None


def test_default_waves_are_one_per_geography_in_region_order() -> None:
    pipeline = load(SOURCE)
    assert pipeline.waves == (
        ("us", ("us-east-1", "us-east-2", "us-west-2")),
        ("eu", ("eu-west-1",)),
    )
    assert pipeline.region == "us-east-1"
    assert pipeline.branch == "main"
    assert pipeline.bake_minutes == 30
    assert (pipeline.connection_arn, pipeline.repository) == (CONNECTION, SOURCE["repository"])


def test_named_waves_keep_their_order_and_listed_waves_are_numbered() -> None:
    named = load(
        {**SOURCE, "waves": {"eu": ["eu-west-1"], "us": ["us-west-2", "us-east-1", "us-east-2"]}}
    )
    assert [name for name, _ in named.waves] == ["eu", "us"]
    assert named.region == "eu-west-1"
    listed = load({**SOURCE, "waves": [["us-east-1"], ["us-east-2", "us-west-2"], ["eu-west-1"]]})
    assert listed.waves == (
        ("wave-1", ("us-east-1",)),
        ("wave-2", ("us-east-2", "us-west-2")),
        ("wave-3", ("eu-west-1",)),
    )


def test_command_line_json_and_codecommit_source() -> None:
    pipeline = load(
        '{"codecommit-repository": "ha-inference", "branch": "release", "bake-minutes": 60, '
        '"region": "us-west-2"}'
    )
    assert pipeline.codecommit_repository == "ha-inference"
    assert (pipeline.branch, pipeline.bake_minutes, pipeline.region) == ("release", 60, "us-west-2")
    assert pipeline.connection_arn is None


WAVES = "ha-inference:pipeline.waves"


@pytest.mark.parametrize(
    ("pipeline", "message"),
    [
        (
            {
                **SOURCE,
                "waves": {
                    "us": ["us-east-1", "us-east-2"],
                    "west": ["us-west-2", "us-east-1"],
                    "eu": ["eu-west-1"],
                },
            },
            f"{WAVES} lists us-east-1 in more than one wave .*; deploy each Region in exactly one wave",
        ),
        (
            {**SOURCE, "waves": {"us": [*REGIONS[:3]], "eu": [], "later": ["eu-west-1"]}},
            rf"{WAVES}\['eu'\] is empty; list its Regions",
        ),
        (
            {**SOURCE, "waves": [[*REGIONS], ["ap-southeast-2"]]},
            rf"{WAVES}\['wave-2'\] names ap-southeast-2, which the app does not deploy .*; add it to ha-inference:regions or remove it from the wave",
        ),
        (
            {**SOURCE, "waves": {"us": ["us-east-1", "us-east-2", "us-west-2"]}},
            f"{WAVES} leaves out eu-west-1, which ha-inference:regions deploys",
        ),
        ({**SOURCE, "waves": {}}, f"{WAVES} is empty"),
        ({**SOURCE, "waves": "us-east-1"}, f"{WAVES} must map wave names to lists of Regions"),
        (
            {**SOURCE, "waves": {"us": "us-east-1"}},
            rf"{WAVES}\['us'\] must be a list of Region names",
        ),
        ({**SOURCE, "waves": {"Build": [*REGIONS]}}, f"{WAVES} has the wave name 'Build'"),
        ({**SOURCE, "waves": {"us east": [*REGIONS]}}, f"{WAVES} has the wave name 'us east'"),
        (
            {**SOURCE, "waves": {"all": [*REGIONS, "ca-central-1", "sa-east-1"]}},
            rf"{WAVES}\['all'\] names ca-central-1, sa-east-1",
        ),
        (
            {**SOURCE, "bake-minutes": 0},
            "bake-minutes must be a whole number of minutes, at least 1",
        ),
        ({**SOURCE, "bake-minutes": "30"}, "bake-minutes must be a whole number of minutes"),
        ({**SOURCE, "region": "us-east-9"}, "ha-inference:pipeline.region"),
        (
            {**SOURCE, "connection-arn": "arn:aws:iam::111111111111:role/x"},
            "connection-arn must be the ARN of an AWS CodeConnections connection",
        ),
        ({"repository": "o/r"}, "connection-arn must be the ARN"),
        (
            {**SOURCE, "repository": "ha-inference"},
            "repository must name the repository as owner/repo",
        ),
        ({**SOURCE, "branch": "my branch"}, "branch must be a branch name"),
        (
            {**SOURCE, "codecommit-repository": "x"},
            "names both a connection .* and codecommit-repository",
        ),
        ({**SOURCE, "wave": {}}, "has unknown field.s. wave; the fields are"),
        (["us-east-1"], "ha-inference:pipeline must be an object naming the source and the waves"),
    ],
    ids=[
        "region-in-two-waves",
        "empty-wave",
        "region-not-deployed",
        "region-left-out",
        "no-waves",
        "waves-not-a-map",
        "wave-not-a-list",
        "reserved-name",
        "bad-name",
        "foreign-regions",
        "zero-bake",
        "string-bake",
        "bad-region",
        "not-a-connection",
        "no-connection",
        "repository-without-owner",
        "branch-with-space",
        "two-sources",
        "typo",
        "not-an-object",
    ],
)
def test_fails_on_a_pipeline_setting_it_cannot_build(pipeline: Any, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(pipeline)


def test_fails_on_a_wave_of_more_regions_than_one_condition_watches() -> None:
    regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1"]
    with pytest.raises(
        SettingsError, match=r"waves\['eu'\] has 6 Regions, .* at most 5 alarm rules"
    ):
        load({**SOURCE, "waves": {"eu": regions}}, regions=regions)


def test_fails_with_the_cross_region_paths_on() -> None:
    """The -CrossRegion stacks depend on every other Region's stack: CDK Pipelines cannot
    deploy a stack that depends on a stack of another stage."""
    with pytest.raises(SettingsError, match="cannot deliver the cross-Region paths"):
        load(
            SOURCE,
            regions=REGIONS[:2],
            bedrock_geography="us",
            self_hosted={"model-data": "s3://m-{region}/model.tar.gz"},
        )
    pipeline = load(
        SOURCE,
        regions=REGIONS[:2],
        bedrock_geography="us",
        self_hosted={"model-data": "s3://m-{region}/model.tar.gz", "cross-region": False},
    )
    assert pipeline.waves == (("us", ("us-east-1", "us-east-2")),)
