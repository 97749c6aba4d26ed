"""The reference app with ``ha-inference:imported-model``: each Region imports the model from its
own bucket and the retrieval function uses it instead of the inference profile.

One synthesis (the session's imported-model configuration) of two Regions; settings errors need no
synthesis.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ha_inference.metadata import IMPORTED_MODEL_METADATA, PROFILE_METADATA
from stacks.config import SettingsError, load_settings
from tests.support import (
    IMPORTED_MODEL_FOLDER,
    IMPORTED_MODEL_REGIONS,
    Configurations,
    Synth,
    resources,
)
from tests.support.lint import lint_template
from tests.truth.metrics import check_template

REGIONS = IMPORTED_MODEL_REGIONS
FOLDER = IMPORTED_MODEL_FOLDER


@pytest.fixture(scope="module")
def app(configurations: Configurations) -> Synth:
    """The session's imported-model configuration (the template checks read it too)."""
    return configurations["imported-model"]


def load(**context: Any) -> Any:
    full = {f"ha-inference:{key.replace('_', '-')}": value for key, value in context.items()}
    return load_settings(full.get, known_keys=full)


def model_logical_id(template: dict[str, Any]) -> str:
    (logical_id,) = resources(template, "Custom::BedrockImportedModel")
    return logical_id


@pytest.mark.parametrize("region", REGIONS)
def test_each_region_imports_from_its_own_bucket(app: Synth, region: str) -> None:
    (model,) = resources(app.template(region), "Custom::BedrockImportedModel").values()
    assert model["Properties"]["S3Uri"] == FOLDER.replace("{region}", region)


@pytest.mark.parametrize("region", REGIONS)
def test_the_retrieval_function_converses_with_the_imported_model(app: Synth, region: str) -> None:
    template = app.template(region)
    model_arn = {"Fn::GetAtt": [model_logical_id(template), "ModelArn"]}
    (retrieval,) = [
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"]["Handler"] == "retrieval.handler"
    ]
    assert retrieval["Properties"]["Environment"]["Variables"]["MODEL_ID"] == model_arn
    role_id = retrieval["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "bedrock:InvokeModel" in statement["Action"]
    ]
    granted = [
        resource
        for statement in statements
        for resource in (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
    ]
    # The imported model and the embedding model; no inference profile, no other model.
    assert sorted(map(str, granted)) == sorted(
        [
            str(model_arn),
            f"arn:aws:bedrock:{region}::foundation-model/amazon.titan-embed-text-v2:0",
        ]
    )


@pytest.mark.parametrize("region", REGIONS)
def test_the_bedrock_endpoint_policy_allows_the_imported_model(app: Synth, region: str) -> None:
    template = app.template(region)
    (endpoint,) = [
        e
        for e in resources(template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["ServiceName"] == f"com.amazonaws.{region}.bedrock-runtime"
    ]
    (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
    assert sorted(map(str, statement["Resource"])) == sorted(
        [
            str({"Fn::GetAtt": [model_logical_id(template), "ModelArn"]}),
            f"arn:aws:bedrock:{region}::foundation-model/amazon.titan-embed-text-v2:0",
        ]
    )


def test_no_inference_profile_and_every_region_covered(app: Synth) -> None:
    """The profile is not declared (RegionCoverage would otherwise demand its destinations, such
    as us-east-2, where this app deploys nothing); each Region serves its imported model with
    the supporting infrastructure, which RegionCoverage checked during synthesis."""
    directory = Path(app.assembly.directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    marks = {
        (artifact["environment"].rsplit("/", 1)[1], entry["type"], entry["data"].get("region"))
        for artifact in manifest["artifacts"].values()
        if artifact["type"] == "aws:cloudformation:stack"
        for entries in json.loads(
            (directory / artifact["additionalMetadataFile"]).read_text()
        ).values()
        for entry in entries
        if entry["type"] in {IMPORTED_MODEL_METADATA, PROFILE_METADATA}
    }
    assert marks == {(region, IMPORTED_MODEL_METADATA, region) for region in REGIONS}
    for stack in app.stacks:
        assert stack.inference.profile is None and stack.inference.imported_model is not None


def test_outputs_name_the_imported_model(app: Synth) -> None:
    template = app.template("us-east-1")
    assert template["Outputs"]["ImportedModelArn"]["Value"] == {
        "Fn::GetAtt": [model_logical_id(template), "ModelArn"]
    }


@pytest.mark.parametrize("region", REGIONS)
def test_the_imported_model_is_alarmed_and_backed_by_the_answers_share(
    app: Synth, region: str
) -> None:
    """ModelId = the model's ARN is the one value no AWS page confirms for imported models; the
    retrieval function, which serves the model, backs it with its answers' 5xx share, and both
    stop the drill."""
    template = app.template(region)
    model_arn = {"Fn::GetAtt": [model_logical_id(template), "ModelArn"]}
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    model_alarms = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in alarms.values()
        if a["Properties"].get("Dimensions") == [{"Name": "ModelId", "Value": model_arn}]
    }
    assert set(model_alarms) == {
        "InvocationServerErrors",
        "InvocationThrottles",
        "InvocationLatency",
    }
    assert all(a["Namespace"] == "AWS/Bedrock" for a in model_alarms.values())
    assert all(a["TreatMissingData"] == "notBreaching" for a in model_alarms.values())
    (experiment, *_) = resources(template, "AWS::FIS::ExperimentTemplate").values()
    stops = {c["Value"]["Fn::GetAtt"][0] for c in experiment["Properties"]["StopConditions"]}
    watched = sorted(
        alarms[stop]["Properties"].get("MetricName")
        or alarms[stop]["Properties"]["Metrics"][1]["MetricStat"]["Metric"]["Namespace"]
        for stop in stops
    )
    assert watched == ["HaInference", "InvocationServerErrors"]


def test_every_alarm_and_graph_reads_a_documented_or_published_metric(app: Synth) -> None:
    findings = [
        str(f)
        for artifact in app.artifacts.values()
        for f in check_template(artifact.name, artifact.template)
    ]
    assert findings == []


def test_template_lints_clean(app: Synth) -> None:
    """The construct's own nag and lint tests cover its resources; this checks them wired into
    the regional stack (references between the model, the endpoint policy and the function)."""
    assert lint_template(app.template("us-west-2"), "us-west-2") == []


# -------------------------------------------------------------------------------- settings


def test_settings_map_or_region_placeholder() -> None:
    mapped = load(
        regions=REGIONS,
        imported_model={"us-east-1": "s3://east-bucket/llm/", "us-west-2": "s3://w-bucket/llm"},
    )
    assert mapped.imported_model_in("us-west-2") == "s3://w-bucket/llm"
    placeholder = load(regions=REGIONS, imported_model=FOLDER)
    assert placeholder.imported_model_in("us-east-1") == FOLDER.replace("{region}", "us-east-1")
    assert load().imported_model == ()
    assert load(imported_model=False).imported_model == ()


def test_imported_model_lifts_the_profile_source_region_check() -> None:
    """eu-central-1 and us-east-1 share no geography but global; with an imported model the
    profile is not used, so its source Regions do not matter."""
    settings = load(regions=["eu-central-1", "us-east-1"], imported_model=FOLDER)
    assert settings.region_names == ("eu-central-1", "us-east-1")


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"imported_model": "s3://one-bucket/llm/"},
            r"ha-inference:imported-model is one URL for 3 Regions \(us-east-1, us-east-2, us-west-2\), got 's3://one-bucket/llm/'; each Region imports its own copy",
        ),
        (
            {"regions": REGIONS, "imported_model": {"us-east-1": "s3://bucket-a/llm/"}},
            r"ha-inference:imported-model has no model folder for us-west-2; every Region hosts the model",
        ),
        (
            {
                "regions": REGIONS,
                "imported_model": {
                    "us-east-1": "s3://bucket-a/llm/",
                    "us-west-2": "s3://bucket-a/llm/",
                },
            },
            r"ha-inference:imported-model uses s3://bucket-a/llm/ in several Regions; a bucket lives in one Region, so give each Region the folder in its own bucket",
        ),
        (
            {
                "regions": REGIONS,
                "imported_model": {
                    "us-east-1": "s3://bucket-a/llm/",
                    "us-west-2": "s3://bucket-b/llm/",
                    "eu-west-1": "s3://bucket-c/llm/",
                },
            },
            r"ha-inference:imported-model names eu-west-1, which is not in ha-inference:regions",
        ),
        (
            {"regions": REGIONS, "imported_model": "https://models-{region}.s3.amazonaws.com/llm/"},
            r"ha-inference:imported-model for us-east-1 must be the s3:// URI of the model's Hugging Face folder .* got 'https://",
        ),
        (
            {"regions": REGIONS, "imported_model": "s3://Models_{region}/llm/"},
            r"ha-inference:imported-model for us-east-1 must be the s3:// URI .*Bedrock's S3Uri pattern",
        ),
        (
            {"regions": REGIONS, "imported_model": ["s3://bucket-a/llm/"]},
            r"ha-inference:imported-model must be an s3:// URL \(with \{region\} for several Regions\) or a map",
        ),
        (
            {"regions": ["us-east-1", "ap-northeast-1"], "imported_model": FOLDER},
            r"ha-inference:imported-model is set but ap-northeast-1 has no Amazon Bedrock Custom Model Import \(offered in eu-central-1, us-east-1, us-east-2, us-west-2\); deploy to those Regions",
        ),
        (
            {"regions": REGIONS, "imported_model": FOLDER, "bedrock_tokens_per_minute_quota": 1000},
            r"ha-inference:bedrock-tokens-per-minute-quota is 1000, a quota of the cross-Region inference profile, but ha-inference:imported-model replaces the profile; leave the quota out",
        ),
    ],
)
def test_fails_on_imported_model_settings(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(**context)
