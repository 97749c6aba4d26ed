"""The reference app's settings: defaults from cdk.json, and a clear error for each bad value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ha_inference import Geography
from stacks import build_reference_app
from stacks.config import PLACEHOLDER_ACCOUNT, SettingsError, load_settings
from tests.support import cdk_json_context, new_app

MODEL_DATA_KEY = "model-data"
M = "s3://m-{region}/model.tar.gz"


def load(**context: Any) -> Any:
    full = {f"ha-inference:{key.replace('_', '-')}": value for key, value in context.items()}
    return load_settings(full.get, known_keys=full)


def test_defaults_are_the_us_geography_with_three_azs_each() -> None:
    ctx = cdk_json_context()
    settings = load_settings(ctx.get, known_keys=ctx)
    assert settings.region_names == ("us-east-1", "us-east-2", "us-west-2")
    assert {r.region: r.availability_zones for r in settings.regions} == {
        "us-east-1": ("us-east-1a", "us-east-1b", "us-east-1c"),
        "us-east-2": ("us-east-2a", "us-east-2b", "us-east-2c"),
        "us-west-2": ("us-west-2a", "us-west-2b", "us-west-2c"),
    }
    assert settings.account == PLACEHOLDER_ACCOUNT
    assert settings.nat_gateways == 0


def test_account_comes_from_credentials_when_not_configured() -> None:
    assert load_settings({}.get, default_account="123456789012").account == "123456789012"
    assert load(account="210987654321").account == "210987654321"


def test_explicit_azs_and_json_strings_from_the_command_line() -> None:
    settings = load(
        regions='["eu-west-1", "eu-central-2"]',
        bedrock_geography="eu",
        availability_zones='{"eu-central-2": ["eu-central-2a", "eu-central-2c"]}',
    )
    assert [r.availability_zones for r in settings.regions] == [
        ("eu-west-1a", "eu-west-1b", "eu-west-1c"),
        ("eu-central-2a", "eu-central-2c"),
    ]
    assert settings.geography is Geography.EU
    settings = load(
        regions='["us-east-1", "us-west-1"]',
        az_count=2,
        availability_zones='{"us-west-1": ["us-west-1a", "us-west-1c"]}',
    )
    assert [r.availability_zones for r in settings.regions] == [
        ("us-east-1a", "us-east-1b"),
        ("us-west-1a", "us-west-1c"),
    ]


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"regions": ["us-east-1", "mars-north-1"]}, r"ha-inference:regions has an unknown Region 'mars-north-1'.*use one of"),
        ({"regions": ["us-east-1", "useast1"]}, r"unknown Region 'useast1' \(it is not a Region name\)"),
        ({"regions": []}, r"ha-inference:regions is empty.*list at least one Region"),
        ({"regions": "us-east-1"}, r"ha-inference:regions must be a list of Region names, got 'us-east-1'"),
        ({"regions": ["us-east-1", "us-east-1"]}, r"ha-inference:regions lists us-east-1 more than once"),
        ({"availability_zones": {"us-east-1": ["us-east-1a"]}}, r"availability-zones\['us-east-1'\] must list at least 2 Availability Zones.*got \['us-east-1a'\]"),
        ({"availability_zones": {"us-east-1": ["us-east-1a", "us-east-1a"]}}, r"availability-zones\['us-east-1'\] lists us-east-1a more than once"),
        ({"availability_zones": {"us-east-1": ["us-east-1a", "us-west-2b"]}}, r"availability-zones\['us-east-1'\] has us-west-2b, which is not an Availability Zone of us-east-1; use AZs of that Region"),
        ({"availability_zones": {"eu-west-1": ["eu-west-1a", "eu-west-1b"]}}, r"availability-zones names eu-west-1, which is not in ha-inference:regions"),
        ({"availability_zones": ["us-east-1a"]}, r"availability-zones must map Region names to lists of AZ names"),
        ({"az_count": 1}, r"ha-inference:az-count must be a whole number of at least 2.*got 1"),
        ({"regions": ["us-west-1"], "az_count": 3}, r"az-count is 3 but us-west-1 offers an account only 2"),
        ({"account": "12345"}, r"ha-inference:account must be a 12-digit AWS account id, got '12345'"),
        ({"vpc_cidr": "10.0.0.0/8"}, r"ha-inference:vpc-cidr must be a /16 to /18 block.*got '10.0.0.0/8'"),
        ({"vpc_cidr": "ten"}, r"ha-inference:vpc-cidr must be an IPv4 CIDR block, got 'ten'"),
        ({"nat_gateways": 4}, r"nat-gateways is 4 but us-east-1 uses only 3 AZs"),
        ({"nat_gateways": -1}, r"nat-gateways must be 0 .* got -1"),
        ({"regions": "[us-east-1"}, r"ha-inference:regions is not valid JSON"),
        ({"region": ["us-east-1"]}, r"ha-inference:region is not a setting of the reference app"),
        ({"regions": ["us-east-1", "eu-west-1"]}, r"ha-inference:regions has eu-west-1, which cannot use the 'us' inference profile of 'anthropic\.claude-sonnet-5-5' \(ha-inference:bedrock-geography\); its card lists the source Regions ca-central-1, .*; deploy to those Regions or choose the geography"),
        ({"regions": ["il-central-1"], "bedrock_geography": "eu"}, r"ha-inference:regions has il-central-1, which cannot use the 'eu' inference profile of 'anthropic\.claude-sonnet-5-5'"),
        ({"regions": ["ca-west-1"], "bedrock_model_id": "anthropic.claude-sonnet-4-5-20250929-v1:0"}, r"ha-inference:regions has ca-west-1, which cannot use the 'us' inference profile of 'anthropic\.claude-sonnet-4-5-20250929-v1:0'"),
        ({"bedrock_geography": "jp"}, r"ha-inference:bedrock-geography is 'jp', but the card of 'anthropic\.claude-sonnet-5-5' lists no jp\. profile; use one of us, eu, global"),
        ({"bedrock_model_id": "amazon.nova-pro-v1:0"}, r"ha-inference:bedrock-model-id is 'amazon\.nova-pro-v1:0', whose cross-Region routes ha-inference has not recorded, so the app cannot grant it; use one of anthropic\.claude-haiku-4-5-20251001-v1:0, .*anthropic\.claude-sonnet-5-5"),
        ({"bedrock_geography": "europe"}, r"ha-inference:bedrock-geography must be one of us, eu, apac, jp, au, in, us-gov, global, got 'europe'"),
        ({"bedrock_model_id": "us.anthropic.claude-sonnet-4-5-20250929-v1:0"}, r"ha-inference:bedrock-model-id is not usable: model_id must be the foundation-model id without a geography prefix"),
        ({"data_residency": []}, r"ha-inference:data-residency must be a non-empty list of Region names, got \[\]"),
        ({"data_residency": ["eu-west-9"]}, r"ha-inference:data-residency has an unknown Region 'eu-west-9'"),
        ({"require_all_destinations": "maybe"}, r"ha-inference:require-all-destinations must be true or false, got 'maybe'"),
        ({"self_hosted": "yes"}, r"ha-inference:self-hosted must be an object naming the model \(model-data, or environment with a hub model id\), or false"),
        ({"self_hosted": {"image": "nginx:latest"}}, r"ha-inference:self-hosted\.image must be an Amazon ECR image URI \(may contain \{region\}\), got 'nginx:latest'"),
        ({"self_hosted": {"instance-type": "g5.xlarge"}}, r"ha-inference:self-hosted\.instance-type must be a SageMaker instance type such as ml\.g5\.xlarge, got 'g5\.xlarge'"),
        ({"self_hosted": {"invocations-per-instance": 0}}, r"ha-inference:self-hosted\.invocations-per-instance must be a positive whole number .* got 0"),
        ({"self_hosted": {"model-data": "https://x/{region}"}}, r"ha-inference:self-hosted\.model-data for us-east-1 must be the s3:// URL of a model archive object"),
        ({"self_hosted": {"model-data-url": "s3://m/model.tar.gz"}}, r"ha-inference:self-hosted has unknown field\(s\) model-data-url \(model-data-url is now model-data\)"),
        ({"self_hosted": {MODEL_DATA_KEY: "s3://one-bucket/model.tar.gz"}}, r"ha-inference:self-hosted\.model-data is one URL for 3 Regions \(us-east-1, us-east-2, us-west-2\), got 's3://one-bucket/model.tar.gz'; SageMaker reads model artifacts only from a bucket in the endpoint's own Region"),
        ({"self_hosted": {MODEL_DATA_KEY: {"us-east-1": "s3://a/m.tar.gz"}}}, r"ha-inference:self-hosted\.model-data has no model archive for us-east-2, us-west-2"),
        ({"self_hosted": {MODEL_DATA_KEY: {"us-east-1": "s3://a/m.tar.gz", "us-east-2": "s3://a/m.tar.gz", "us-west-2": "s3://b/m.tar.gz", }}}, r"ha-inference:self-hosted\.model-data uses s3://a/m\.tar\.gz in several Regions"),
        ({"self_hosted": {MODEL_DATA_KEY: {"eu-west-1": "s3://a/m.tar.gz"}}}, r"ha-inference:self-hosted\.model-data names eu-west-1, which is not in ha-inference:regions"),
        ({"self_hosted": {}}, r"ha-inference:self-hosted names no model: model-data is not set and environment\.HF_MODEL_ID is 'not set'.*would have nothing to serve"),
        ({"self_hosted": {"environment": {"HF_MODEL_ID": "/opt/ml/model"}}}, r"ha-inference:self-hosted names no model: model-data is not set and environment\.HF_MODEL_ID is '/opt/ml/model'"),
        ({"self_hosted": {"environment": {"HF_MODEL_ID": "mistralai/Mistral-7B"}}}, r"HF_MODEL_ID is the hub model 'mistralai/Mistral-7B' but the VPC has no NAT \(ha-inference:nat-gateways is 0\)"),
        ({"self_hosted": {MODEL_DATA_KEY: M, "network-isolation": "yes"}}, r"ha-inference:self-hosted\.network-isolation must be true or false, got 'yes'"),
        ({"self_hosted": {MODEL_DATA_KEY: M, "model-data-bucket-owner": "models"}}, r"ha-inference:self-hosted\.model-data-bucket-owner must be the 12-digit account that owns the model-data buckets .* got 'models'; leave it out"),
        ({"nat_gateways": 1, "self_hosted": {"environment": {"HF_MODEL_ID": "mistralai/Mistral-7B"}, "model-data-bucket-owner": "222222222222"}}, r"ha-inference:self-hosted\.model-data-bucket-owner must be .* got '222222222222' without model-data"),
        ({"self_hosted": {MODEL_DATA_KEY: M, "cross-region-principals": "arn:aws:iam::111111111111:root"}}, r"ha-inference:self-hosted\.cross-region-principals must be a non-empty list of IAM principal ARNs"),
        ({"regions": ["us-east-1"], "self_hosted": {MODEL_DATA_KEY: M, "cross-region-principals": ["arn:aws:iam::111111111111:role/deployer"]}}, r"ha-inference:self-hosted\.cross-region-principals is set but cross-region is off"),
        ({"nat_gateways": 1, "self_hosted": {"environment": {"HF_MODEL_ID": "mistralai/Mistral-7B"}, "network-isolation": True}}, r"ha-inference:self-hosted\.network-isolation is true but the container downloads its model"),
        ({"self_hosted": {MODEL_DATA_KEY: M, "allowed-principals": ["123456789012"]}}, r"ha-inference:self-hosted\.allowed-principals must be a list of IAM principal ARNs"),
        ({"self_hosted": {"imagee": "x"}}, r"ha-inference:self-hosted has unknown field\(s\) imagee"),
        ({"self_hosted": {MODEL_DATA_KEY: M, "deletion-protection": "no"}}, r"ha-inference:self-hosted\.deletion-protection must be true or false, got 'no'"),
    ],
)  # fmt: skip
def test_fails_on_bad_setting(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(**context)


def test_default_chat_model_is_the_active_sonnet() -> None:
    settings = load()
    assert settings.model_id == "anthropic.claude-sonnet-5-5"
    assert settings.embedding_model_id == "amazon.titan-embed-text-v2:0"


def test_imported_model_in_every_default_region() -> None:
    """Custom Model Import is offered in US East (Ohio) too."""
    settings = load(imported_model="s3://models-{region}/llama/")
    assert dict(settings.imported_model)["us-east-2"] == "s3://models-us-east-2/llama/"


def test_own_image_keeps_its_region_placeholder() -> None:
    image = "111111111111.dkr.ecr.{region}.amazonaws.com/llm:1"
    hosted = load(self_hosted={"model-data": M, "image": image}).self_hosted
    assert hosted is not None
    assert hosted.image_in("eu-west-1") == "111111111111.dkr.ecr.eu-west-1.amazonaws.com/llm:1"


def test_fails_synth_with_the_settings_error(outdir: Path) -> None:
    """A bad value stops the app before any stack exists, with the same message."""
    app = new_app(outdir, {"ha-inference:availability-zones": {"us-east-1": ["us-east-1a"]}})
    with pytest.raises(
        SettingsError, match=r"availability-zones\['us-east-1'\] must list at least 2"
    ):
        build_reference_app(app)
    assert app.node.children == []


def test_fails_synth_when_data_residency_excludes_a_destination(outdir: Path) -> None:
    """The reference app's boundary reaches the profiles: us-west-2 is outside it here."""
    app = new_app(outdir, {"ha-inference:data-residency": ["us-east-1", "us-east-2"]})
    with pytest.raises(
        ValueError,
        match=r"CrossRegionInferenceProfile 'us\.anthropic\..*' \(from us-east-1\) may route requests to us-west-2, outside the data-residency boundary \(us-east-1, us-east-2\)",
    ):
        build_reference_app(app)


def test_self_hosted_is_off_until_a_model_is_named() -> None:
    """the default deploys (no model without data); naming the model turns it
    on, with deletion protection off and network isolation on for S3 model data."""
    assert load().self_hosted is None
    assert load(self_hosted=False).self_hosted is None
    assert load(self_hosted="false").self_hosted is None
    hosted = load(self_hosted={"model-data": M}).self_hosted
    assert hosted is not None and hosted.instance_type == "ml.g5.xlarge"
    assert hosted.image_in("us-east-2").startswith("763104351884.dkr.ecr.us-east-2.amazonaws.com/")
    assert hosted.image_in("ap-southeast-3").startswith(
        "907027046896.dkr.ecr.ap-southeast-3.amazonaws.com/huggingface-pytorch-tgi-inference:"
    )
    assert hosted.image_in("cn-northwest-1").startswith(
        "727897471807.dkr.ecr.cn-northwest-1.amazonaws.com.cn/"
    )
    assert hosted.deletion_protection is False
    assert hosted.network_isolation is True
    assert hosted.environment == (("HF_MODEL_ID", "/opt/ml/model"),)
    assert hosted.model_data_in("us-west-2") == "s3://m-us-west-2/model.tar.gz"
    protected = load(self_hosted={"model-data": M, "deletion-protection": True}).self_hosted
    assert protected is not None and protected.deletion_protection is True


def test_model_data_per_region_as_a_map_or_one_region() -> None:
    regions = ["us-east-1", "us-west-2"]
    mapped = load(
        regions=regions,
        self_hosted={
            "model-data": {"us-east-1": "s3://e/m.tar.gz", "us-west-2": "s3://w/m.tar.gz"}
        },
    ).self_hosted
    assert mapped.model_data == (("us-east-1", "s3://e/m.tar.gz"), ("us-west-2", "s3://w/m.tar.gz"))
    single = load(regions=["us-east-1"], self_hosted={"model-data": "s3://e/m.tar.gz"}).self_hosted
    assert single.model_data_in("us-east-1") == "s3://e/m.tar.gz"


def test_hub_download_needs_nat_and_turns_isolation_off() -> None:
    hub = load(
        nat_gateways=3, self_hosted={"environment": {"HF_MODEL_ID": "mistralai/Mistral-7B"}}
    ).self_hosted
    assert hub is not None and hub.model_data == () and hub.network_isolation is False
    custom = load(
        self_hosted={
            "model-data": M,
            "instance-type": "ml.m5.xlarge",
            "allowed-principals": ["arn:aws:iam::210987654321:root"],
        }
    ).self_hosted
    assert custom is not None and custom.instance_type == "ml.m5.xlarge"
    assert custom.allowed_principals == ("arn:aws:iam::210987654321:root",)


def test_fails_synth_in_a_region_without_opensearch_serverless(outdir: Path) -> None:
    """ca-west-1 may use the US profile, but has no OpenSearch Serverless."""
    app = new_app(
        outdir,
        {"ha-inference:regions": ["ca-west-1"], "ha-inference:require-all-destinations": False},
    )
    with pytest.raises(ValueError, match=r"OpenSearch Serverless is not available in ca-west-1"):
        build_reference_app(app)


def test_failover_settings_default_to_fallbacks_offered_everywhere_and_no_autoshift() -> None:
    hosted = load(self_hosted={"model-data": M}).self_hosted
    assert hosted is not None
    assert hosted.fallback_instance_types == ("ml.g6.xlarge", "ml.g6e.xlarge")
    settings = load()
    assert settings.zonal_autoshift is False
    assert settings.bedrock_tokens_per_minute_quota is None
    # eu-west-1 offers ml.g6 but no ml.g6e for hosting: the default keeps what every Region has.
    ireland = load(regions=["eu-west-1"], bedrock_geography="eu", self_hosted={"model-data": M})
    assert ireland.self_hosted.fallback_instance_types == ("ml.g6.xlarge",)
    # Another instance type has no default fallback; the app's rule pack reports it (SM3).
    cpu = load(self_hosted={"model-data": M, "instance-type": "ml.m5.xlarge"}).self_hosted
    assert cpu.fallback_instance_types == ()
    chosen = load(
        self_hosted={"model-data": M, "fallback-instance-types": ["ml.g6e.xlarge"]},
        zonal_autoshift="true",
        bedrock_tokens_per_minute_quota="400000",
    )
    assert chosen.self_hosted.fallback_instance_types == ("ml.g6e.xlarge",)
    assert chosen.zonal_autoshift is True and chosen.bedrock_tokens_per_minute_quota == 400_000


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"self_hosted": {MODEL_DATA_KEY: M, "fallback-instance-types": "ml.g6.xlarge"}},
            r"ha-inference:self-hosted\.fallback-instance-types must be a list of up to 4 SageMaker instance types",
        ),
        (
            {"self_hosted": {MODEL_DATA_KEY: M, "fallback-instance-types": ["ml.g6.xlarge"] * 2}},
            r"fallback-instance-types repeats ml\.g6\.xlarge",
        ),
        (
            {"self_hosted": {MODEL_DATA_KEY: M, "fallback-instance-types": ["ml.g5.xlarge"]}},
            r"fallback-instance-types repeats ml\.g5\.xlarge \(with instance-type ml\.g5\.xlarge\)",
        ),
        (
            {
                "regions": ["eu-west-1"],
                "bedrock_geography": "eu",
                "self_hosted": {MODEL_DATA_KEY: M, "fallback-instance-types": ["ml.g6e.xlarge"]},
            },
            r"fallback-instance-types has ml\.g6e\.xlarge, not offered for SageMaker hosting in eu-west-1",
        ),
        (
            {"zonal_autoshift": "yes"},
            r"ha-inference:zonal-autoshift must be true or false, got 'yes'",
        ),
        (
            {"zonal_autoshift": True},
            r"ha-inference:zonal-autoshift is true but there is no runtime load balancer to shift",
        ),
        (
            {"bedrock_tokens_per_minute_quota": 0},
            r"ha-inference:bedrock-tokens-per-minute-quota must be a positive whole number .* got 0",
        ),
    ],
)
def test_fails_on_bad_failover_setting(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(**context)


def test_cross_region_principals_and_model_data_owner_are_read() -> None:
    """Both default to None: the regional stacks then admit the other Regions' CloudFormation
    execution roles and read model archives from the app's own account."""
    hosted = load(self_hosted={"model-data": M}).self_hosted
    assert (hosted.cross_region_principals, hosted.model_data_bucket_owner) == (None, None)
    deployer = "arn:aws:iam::111111111111:role/deployer"
    hosted = load(
        self_hosted={
            "model-data": M,
            "cross-region-principals": [deployer],
            "model-data-bucket-owner": "222222222222",
        }
    ).self_hosted
    assert hosted.cross_region_principals == (deployer,)
    assert hosted.model_data_bucket_owner == "222222222222"
