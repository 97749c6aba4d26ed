"""RegionalInference, InferenceVpc, pin_availability_zones and CrossRegionFailover in a user's app.

Two synthesized scenarios: examples/my_app.py (the whole reference architecture in three Regions,
every pack registered) and a small stack with the optional parts switched the other way
(self-hosted model on with every default, drill and dashboard off, the construct's own logs
key). The reference app (tests/app/test_reference_*.py) covers the rest: imported model, cross-Region
failover, zonal autoshift, the app dashboard. Bad props fail before anything is built.
"""

from __future__ import annotations

import json
import runpy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from ha_inference import (
    DEFAULT_INDEX,
    ApplicationDashboard,
    CrossRegionFailover,
    EndpointServiceOptions,
    Geography,
    HaInferenceChecks,
    ImportedModelOptions,
    InferenceVpc,
    RegionalInference,
    SelfHostedModelOptions,
    pin_availability_zones,
)
from ha_inference.architecture import regional_inference
from ha_inference.checks.nag_pack import findings_of
from ha_inference.data.images import hugging_face_tgi_image
from tests.support import ROOT, TEST_ACCOUNT, new_app, one_resource, resources
from tests.support.lint import lint_template
from tests.truth import arns, metrics
from tests.truth import iam as iam_truth
from tests.truth.cfn import Stack

EXAMPLE = ROOT / "examples" / "my_app.py"
EAST = "us-east-1"


# --------------------------------------------------------------------------- the example app


@dataclass
class Example:
    app: cdk.App
    outdir: Path
    namespace: dict[str, Any]

    def template(self, region: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(
            (self.outdir / f"MyInference-{region}.template.json").read_text()
        )
        return data


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    """examples/my_app.py's ``build`` on a test app: its packs run during the synth, which fails
    on any unacknowledged error-level finding, as RegionCoverage does on a gap."""
    outdir = tmp_path_factory.mktemp("example") / "cdk.out"
    namespace = runpy.run_path(str(EXAMPLE), run_name="example")
    app = new_app(outdir)
    namespace["build"](app)
    app.synth()
    return Example(app, outdir, namespace)


def test_example_is_about_twenty_lines_of_code() -> None:
    code = [
        line
        for line in EXAMPLE.read_text().split('"""', 2)[2].splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    assert len(code) <= 35, len(code)


def test_example_synthesizes_without_any_lookup(example: Example) -> None:
    """No missing context: the CDK CLI has nothing to look up in an account, so the first
    synth needs no credentials."""
    manifest = json.loads((example.outdir / "manifest.json").read_text())
    assert manifest.get("missing") is None
    stacks = {
        name for name, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"
    }
    assert stacks == {f"MyInference-{r}" for r in example.namespace["REGIONS"]}


@pytest.mark.parametrize(
    "pack", [AwsSolutionsChecks, NIST80053R5Checks, HaInferenceChecks], ids=lambda p: p.__name__
)
def test_example_has_no_unacknowledged_finding(example: Example, pack: type) -> None:
    """Warnings included: the synth already failed on errors."""
    assert findings_of(pack(), example.app) == []


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2", "us-west-2"])
def test_example_spans_the_first_three_azs_of_each_region(example: Example, region: str) -> None:
    template = example.template(region)
    zones = {
        s["Properties"]["AvailabilityZone"]
        for s in resources(template, "AWS::EC2::Subnet").values()
    }
    assert zones == {f"{region}{letter}" for letter in "abc"}
    (function,) = [
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "retrieval.handler"
    ]
    assert len(function["VpcConfig"]["SubnetIds"]) == 3


def test_example_uses_one_key_for_every_log_group(example: Example) -> None:
    template = example.template(EAST)
    key, _ = one_resource(template, "AWS::KMS::Key", "NetworkLogsKey")
    groups = resources(template, "AWS::Logs::LogGroup").values()
    assert groups and all(
        g["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key, "Arn"]} for g in groups
    )


# --------------------------------------------------------------------------- switched parts


@dataclass
class Switched:
    stack: cdk.Stack
    inference: RegionalInference
    template: dict[str, Any]


@pytest.fixture(scope="module")
def switched(tmp_path_factory: pytest.TempPathFactory) -> Switched:
    app = new_app(tmp_path_factory.mktemp("switched"))
    stack = cdk.Stack(app, "Switched", env=cdk.Environment(account=TEST_ACCOUNT, region=EAST))
    pin_availability_zones(stack, zones=["us-east-1a", "us-east-1b"])
    network = InferenceVpc(stack, "Network")
    inference = RegionalInference(
        stack,
        "Inference",
        vpc=network.vpc,
        endpoint_subnets=network.endpoint_subnets,
        workload_subnets=network.workload_subnets,
        self_hosted=SelfHostedModelOptions(
            invocations_per_instance_target=20,
            model_data_url="s3://models-us-east-1/llm/model.tar.gz",
        ),
        drill=False,
        dashboard=False,
    )
    template = app.synth().get_stack_by_name("Switched").template
    return Switched(stack, inference, template)


def test_every_part_is_an_attribute(switched: Switched) -> None:
    inference = switched.inference
    for part in (
        inference.profile,
        inference.chat_model,
        inference.embedding_model,
        inference.bedrock_endpoints,
        inference.collection_endpoint,
        inference.collection,
        inference.index,
        inference.inference_role,
        inference.retrieval,
        inference.ingestion,
        inference.self_hosted,
        inference.runtime_load_balancer,
        inference.endpoint_alarms,
        inference.answer_alarm,
        inference.logs_key,
    ):
        assert part is not None
    assert inference.imported_model is None
    assert inference.chat_model_id == inference.profile.profile_id  # type: ignore[union-attr]
    assert inference.answer_alarm.node.path in {a.node.path for a in inference.alarms}


def test_drill_and_dashboard_switch_off(switched: Switched) -> None:
    assert switched.inference.drill is None and switched.inference.dashboard is None
    assert resources(switched.template, "AWS::FIS::ExperimentTemplate") == {}
    assert resources(switched.template, "AWS::CloudWatch::Dashboard") == {}
    # The answers' alarm stays: it is what says answering broke.
    one_resource(switched.template, "AWS::CloudWatch::Alarm", "InferenceRetrievalServerErrorShare")


def test_creates_its_logs_key_when_none_is_given(switched: Switched) -> None:
    logical_id, key = one_resource(switched.template, "AWS::KMS::Key", "InferenceLogsKey")
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Retain"
    assert switched.inference.logs_key is not None
    assert logical_id.startswith("InferenceLogsKey")


def test_self_hosted_defaults_are_the_tgi_container_and_gpu_fallbacks(switched: Switched) -> None:
    (_, model) = one_resource(switched.template, "AWS::SageMaker::Model")
    container = model["Properties"]["PrimaryContainer"]
    assert container["Image"] == hugging_face_tgi_image(EAST)
    assert container["Environment"] == {"HF_MODEL_ID": "/opt/ml/model"}
    assert model["Properties"]["EnableNetworkIsolation"] is True
    (_, config) = one_resource(switched.template, "AWS::SageMaker::EndpointConfig")
    (variant,) = config["Properties"]["ProductionVariants"]
    assert [p["InstanceType"] for p in variant["InstancePools"]] == [
        "ml.g5.xlarge",
        "ml.g6.xlarge",
        "ml.g6e.xlarge",
    ]


def test_no_route_for_other_regions_without_an_endpoint_service(switched: Switched) -> None:
    assert switched.inference.runtime_route is None
    assert resources(switched.template, "AWS::EC2::VPCEndpointService") == {}


@pytest.mark.parametrize(
    "pack", [AwsSolutionsChecks, NIST80053R5Checks, HaInferenceChecks], ids=lambda p: p.__name__
)
def test_switched_parts_have_no_unacknowledged_finding(switched: Switched, pack: type) -> None:
    assert findings_of(pack(), switched.stack) == []


# --------------------------------------------------------------------------- truth


def _templates(example: Example, switched: Switched) -> list[Stack]:
    regions = example.namespace["REGIONS"]
    return [
        *(Stack(f"MyInference-{r}", r, TEST_ACCOUNT, example.template(r)) for r in regions),
        Stack("Switched", EAST, TEST_ACCOUNT, switched.template),
    ]


def test_templates_pass_the_truth_checks_and_cfn_lint(example: Example, switched: Switched) -> None:
    """IAM against the Service Authorization Reference, ARNs from attributes, alarms on
    documented metrics, cfn-lint: what the reference app's templates go through."""
    findings = []
    for stack in _templates(example, switched):
        findings += [str(f) for f in iam_truth.check_stack(stack)]
        findings += [str(f) for f in arns.check_stack(stack)]
        findings += [str(f) for f in metrics.check_template(stack.name, stack.template)]
    # cfn-lint once per kind of template (the three Regions' differ in names only).
    for stack in _templates(example, switched)[::3]:
        findings += [f"{stack.name}: {m}" for m in lint_template(stack.template, stack.region)]
    assert findings == []


# --------------------------------------------------------------------------- bad props


@pytest.fixture
def stack(tmp_path: Path) -> cdk.Stack:
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Bad", env=cdk.Environment(account=TEST_ACCOUNT, region=EAST))
    pin_availability_zones(stack)
    return stack


def _vpc(stack: cdk.Stack) -> ec2.IVpc:
    return InferenceVpc(stack, "Network").vpc


BAD_PROPS = [
    ({"vpc": "vpc-0123456789abcdef0"}, TypeError, r"vpc must be an ec2\.IVpc, got 'vpc-0123456789abcdef0'; pass an ec2\.Vpc, or ec2\.Vpc\.from_vpc_attributes"),
    (
        {"endpoint_subnets": [ec2.SubnetSelection(subnet_group_name="endpoints")]},
        TypeError,
        r"endpoint_subnets must be an ec2\.SubnetSelection, got a list of 1 .*; pass one ec2\.SubnetSelection, not a list",
    ),
    ({"geography": "eu"}, TypeError, r"geography must be a Geography, got 'eu'; pass Geography\.EU"),
    ({"model_id": 42}, TypeError, r"model_id must be a string, got 42; pass a string"),
    (
        {"imported_model": "s3://models/llama/"},
        TypeError,
        r"imported_model must be an ImportedModelOptions, got 's3://models/llama/'; pass ImportedModelOptions\(s3_uri=\.\.\.\)",
    ),
    (
        {"self_hosted": {"model-data": "s3://m/model.tar.gz"}},
        TypeError,
        r"self_hosted must be a SelfHostedModelOptions, got a dict with keys 'model-data'; build it with SelfHostedModelOptions\(invocations_per_instance_target=\.\.\., \.\.\.\) instead of a dict; its fields are .*model_data_url",
    ),
    ({"index": "faq"}, TypeError, r"index must be an IndexDefinition, got 'faq'; pass IndexDefinition\(name='faq'\)"),
    ({"drill": "yes"}, TypeError, r"drill must be True or False, got 'yes'; pass drill=True or drill=False"),
    ({"dashboard": 1}, TypeError, r"dashboard must be True or False, got 1; pass dashboard=True or dashboard=False"),
    ({"tokens_per_minute_quota": "100000"}, TypeError, r"tokens_per_minute_quota must be a whole number, got '100000'; pass a whole number"),
    ({"tokens_per_minute_quota": 0}, ValueError, r"tokens_per_minute_quota must be at least 1, got 0; copy the applied quota"),
    ({"log_encryption_key": "arn:aws:kms:us-east-1:111111111111:key/abc"}, TypeError, r"log_encryption_key must be a kms\.IKey, got 'arn:aws:kms:.*'; pass a kms\.Key, or kms\.Key\.from_key_arn\(\.\.\.\) for one defined elsewhere"),
    ({"app_dashboard": "HaInference"}, TypeError, r"app_dashboard must be an ApplicationDashboard, got 'HaInference'; pass an ApplicationDashboard"),
    (
        {"imported_model": ImportedModelOptions(s3_uri="s3://models-us-east-1/llama/"), "tokens_per_minute_quota": 1000},
        ValueError,
        r"tokens_per_minute_quota is 1000, a quota of the cross-Region inference profile, but imported_model replaces the profile; leave tokens_per_minute_quota out",
    ),
    (
        {"dashboard": False, "dashboard_name": "Mine"},
        ValueError,
        r"dashboard_name is set but dashboard is False.*leave dashboard_name out or set dashboard=True",
    ),
    ({"aws_owned_data_keys": "yes"}, TypeError, r"aws_owned_data_keys must be True or False, got 'yes'"),
    ({"data_encryption_key": "alias/data"}, TypeError, r"data_encryption_key must be a kms\.IKey, got 'alias/data'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("props", "error", "message"), BAD_PROPS, ids=[str(i) for i in range(len(BAD_PROPS))]
)
def test_fails_on_bad_props_naming_the_prop_and_the_fix(
    stack: cdk.Stack, props: dict[str, Any], error: type[Exception], message: str
) -> None:
    given = {"vpc": props.pop("vpc")} if "vpc" in props else {"vpc": _vpc(stack)}
    with pytest.raises(error, match=message):
        RegionalInference(stack, "Inference", **given, **props)


BAD_OPTIONS: list[tuple[Callable[[], object], str]] = [
    (lambda: SelfHostedModelOptions(invocations_per_instance_target=5, instance_type=4), r"SelfHostedModelOptions\.instance_type must be a string, got 4; pass a string"),  # type: ignore[arg-type]
    (lambda: SelfHostedModelOptions(invocations_per_instance_target=5, fallback_instance_types="ml.g6.xlarge"), r"SelfHostedModelOptions\.fallback_instance_types must be a list of str, got 'ml\.g6\.xlarge'; wrap the string in a list"),  # type: ignore[arg-type]
    (lambda: SelfHostedModelOptions(invocations_per_instance_target=5, zonal_autoshift="yes"), r"SelfHostedModelOptions\.zonal_autoshift must be True or False, got 'yes'; pass zonal_autoshift=True"),  # type: ignore[arg-type]
    (lambda: SelfHostedModelOptions(invocations_per_instance_target=5, model_latency_alarm_threshold=30), r"SelfHostedModelOptions\.model_latency_alarm_threshold must be a cdk\.Duration, got 30; pass a cdk\.Duration"),  # type: ignore[arg-type]
    (lambda: ImportedModelOptions(s3_uri="s3://m/llama/", invocation_latency_alarm_threshold=30), r"invocation_latency_alarm_threshold must be a cdk\.Duration"),  # type: ignore[arg-type]
]  # fmt: skip
"""Option dataclasses refuse wrong kinds when they are made, before any construct sees them."""


@pytest.mark.parametrize(
    ("make", "message"), BAD_OPTIONS, ids=[str(i) for i in range(len(BAD_OPTIONS))]
)
def test_fails_on_bad_options_naming_the_field_and_the_fix(
    make: Callable[[], object], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        make()


def test_fails_on_a_data_key_and_aws_owned_keys_together(stack: cdk.Stack) -> None:
    key = kms.Key(stack, "Mine")
    with pytest.raises(
        ValueError,
        match=r"data_encryption_key is set but aws_owned_data_keys=True keeps the data under AWS "
        r"owned keys; leave data_encryption_key out or set aws_owned_data_keys=False",
    ):
        RegionalInference(
            stack, "Inference", vpc=_vpc(stack), data_encryption_key=key, aws_owned_data_keys=True
        )


@pytest.mark.parametrize("choice", ["given", "aws-owned"])
def test_the_collection_key_is_the_one_given_or_aws_owned(stack: cdk.Stack, choice: str) -> None:
    key = kms.Key(stack, "Mine") if choice == "given" else None
    inference = RegionalInference(
        stack,
        "Inference",
        vpc=_vpc(stack),
        data_encryption_key=key,
        aws_owned_data_keys=choice == "aws-owned",
        drill=False,
        dashboard=False,
    )
    assert inference.data_key is key
    assert inference.node.try_find_child("DataKey") is None
    policy = stack.resolve(inference.collection.encryption_policy.policy)
    if key is None:
        assert '"AWSOwnedKey":true' in policy
    else:
        assert stack.resolve(key.key_arn) in policy["Fn::Join"][1]


def test_fails_on_an_app_dashboard_without_the_region_dashboard(stack: cdk.Stack) -> None:
    app_dashboard = ApplicationDashboard(stack, "App")
    with pytest.raises(ValueError, match=r"app_dashboard is set but dashboard is False"):
        RegionalInference(
            stack, "Inference", vpc=_vpc(stack), dashboard=False, app_dashboard=app_dashboard
        )


def test_fails_on_a_drill_over_deploy_time_azs(stack: cdk.Stack) -> None:
    azs = [cdk.Fn.select(i, cdk.Fn.get_azs()) for i in range(2)]
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Imported",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=azs,
        isolated_subnet_ids=["subnet-01", "subnet-02"],
    )
    with pytest.raises(ValueError, match=r"drill needs the subnets' Availability Zones at synth "
                       r"time.*or set drill=False"):  # fmt: skip
        RegionalInference(stack, "Inference", vpc=vpc)


def test_warns_and_builds_no_drill_where_cloudformation_has_no_fis(
    stack: cdk.Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in the Regions of REGIONS_WITHOUT["AWS::FIS::ExperimentTemplate"]; us-east-1 stands
    in for them here (none of them offers everything else the construct needs)."""
    without = {**regional_inference.REGIONS_WITHOUT, "AWS::FIS::ExperimentTemplate": {EAST}}
    monkeypatch.setattr(regional_inference, "REGIONS_WITHOUT", without)
    inference = RegionalInference(stack, "Inference", vpc=_vpc(stack))
    assert inference.drill is None
    warnings = [str(m.data) for m in inference.node.metadata if m.type == "aws:cdk:warning"]
    assert any(
        "No AZ-loss drill in us-east-1: CloudFormation offers no AWS FIS experiment templates" in w
        for w in warnings
    ), warnings


def test_adds_its_column_to_the_app_dashboard_passed_in(stack: cdk.Stack) -> None:
    app_dashboard = ApplicationDashboard(stack, "App", dashboard_name="Everything")
    inference = RegionalInference(
        stack,
        "Inference",
        vpc=_vpc(stack),
        drill=False,
        dashboard_name="Inference-us-east-1",
        app_dashboard=app_dashboard,
    )
    (view,) = app_dashboard.regions
    assert (view.region, view.dashboard_name) == (EAST, "Inference-us-east-1")
    assert inference.profile is not None
    assert view.bedrock_model_ids == (
        inference.profile.profile_id,
        inference.embedding_model.model_id,
    )


def test_geography_and_other_defaults_take_the_service_values(stack: cdk.Stack) -> None:
    """The defaults (Geography.US, DEFAULT_INDEX) are accepted as given, spelled out."""
    inference = RegionalInference(
        stack, "Inference", vpc=_vpc(stack), geography=Geography.US, index=DEFAULT_INDEX
    )
    assert inference.index.index_name == DEFAULT_INDEX.name


# --------------------------------------------------------------------------- InferenceVpc


BAD_VPC_PROPS = [
    ({"availability_zones": "us-east-1a"}, TypeError, r"availability_zones must be a list of str, got 'us-east-1a'; wrap the string in a list"),
    ({"availability_zones": ["us-east-1a"]}, ValueError, r"availability_zones must name at least 2 Availability Zones .*got \['us-east-1a'\]"),
    ({"availability_zones": ["us-east-1a", "us-east-1a"]}, ValueError, r"availability_zones names us-east-1a more than once"),
    ({"availability_zones": ["us-east-1a", "eu-west-1b"]}, ValueError, r"availability_zones has eu-west-1b, not an Availability Zone of us-east-1"),
    ({"nat_gateways": True}, TypeError, r"nat_gateways must be a whole number, got True; pass a number: nat_gateways=True is not a count"),
    ({"nat_gateways": -1}, ValueError, r"nat_gateways must be at least 0, got -1"),
    ({"nat_gateways": 4}, ValueError, r"nat_gateways is 4 but the VPC spans 3 AZs; use at most one NAT gateway per AZ"),
    ({"cidr": "10.0.0.0/33"}, ValueError, r"cidr must be an IPv4 CIDR block such as 10\.0\.0\.0/16, got '10\.0\.0\.0/33'"),
    ({"cidr": "10.0.0.0/22"}, ValueError, r"cidr 10\.0\.0\.0/22 holds 1024 addresses, but 3 AZs need 3840 .*use a larger block"),
    ({"log_encryption_key": "alias/logs"}, TypeError, r"log_encryption_key must be a kms\.IKey"),
    ({"flow_log_retention": 365}, TypeError, r"flow_log_retention must be a logs\.RetentionDays, got 365; pass one of logs\.RetentionDays\.ONE_DAY"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("props", "error", "message"), BAD_VPC_PROPS, ids=[str(i) for i in range(len(BAD_VPC_PROPS))]
)
def test_vpc_fails_on_bad_props(
    stack: cdk.Stack, props: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        InferenceVpc(stack, "Network", **props)


def test_vpc_takes_a_key_and_creates_none(stack: cdk.Stack) -> None:
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    network = InferenceVpc(stack, "Network", log_encryption_key=key, nat_gateways=1)
    assert network.log_encryption_key is key
    assert network.node.try_find_child("LogsKey") is None
    assert len(network.vpc.public_subnets) == 3 and len(network.availability_zones) == 3


# --------------------------------------------------------------------------- pinned AZs


def _stack(tmp_path: Path, region: str = EAST, **context: Any) -> cdk.Stack:
    app = new_app(tmp_path, context)
    return cdk.Stack(app, "Pinned", env=cdk.Environment(account=TEST_ACCOUNT, region=region))


def test_pins_every_known_az_of_the_region(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    zones = pin_availability_zones(stack)
    assert zones == [f"us-east-1{c}" for c in "abcdef"]
    assert stack.availability_zones == zones


def test_keeps_a_lookup_already_in_context(tmp_path: Path) -> None:
    looked_up = ["us-east-1b", "us-east-1c", "us-east-1d"]
    key = f"availability-zones:account={TEST_ACCOUNT}:region=us-east-1"
    stack = _stack(tmp_path, **{key: looked_up})
    assert pin_availability_zones(stack) == looked_up
    assert stack.availability_zones == looked_up


def test_pins_given_zones(tmp_path: Path) -> None:
    stack = _stack(tmp_path, "us-west-1")
    assert pin_availability_zones(stack, zones=["us-west-1b", "us-west-1c"]) == [
        "us-west-1b",
        "us-west-1c",
    ]
    assert stack.availability_zones == ["us-west-1b", "us-west-1c"]


def test_fails_to_guess_where_accounts_see_different_azs(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"zones must be given for us-west-1: an account sees 2 of us-west-1a, us-west-1b, "
        r"us-west-1c, and which ones differs per account; pass zones=\[\.\.\.\]",
    ):
        pin_availability_zones(_stack(tmp_path, "us-west-1"))


def test_fails_on_an_environment_agnostic_stack(tmp_path: Path) -> None:
    stack = cdk.Stack(new_app(tmp_path), "Agnostic")
    with pytest.raises(ValueError, match=r"stack Agnostic is environment-agnostic.*give it env="):
        pin_availability_zones(stack)


def test_fails_once_the_stack_holds_constructs(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    InferenceVpc(stack, "Network", availability_zones=["us-east-1a", "us-east-1b"])
    with pytest.raises(
        ValueError, match=r"already holds constructs \(Network, .*right after creating it"
    ):
        pin_availability_zones(stack)


def test_fails_on_zones_given_as_one_string(tmp_path: Path) -> None:
    with pytest.raises(
        TypeError, match=r"zones must be a list of str, got 'us-east-1a'; wrap the string in a list"
    ):
        pin_availability_zones(_stack(tmp_path), zones="us-east-1a")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- CrossRegionFailover


def test_failover_fails_without_a_self_hosted_model(stack: cdk.Stack) -> None:
    inference = RegionalInference(stack, "Inference", vpc=_vpc(stack), drill=False)
    with pytest.raises(ValueError, match=r"hosts no self-hosted model.*self_hosted="):
        CrossRegionFailover(stack, "Failover", inference=inference, routes=[])


@pytest.mark.parametrize(
    ("routes", "error", "message"),
    [
        ([], ValueError, r"routes is empty, so there is no other Region to fail over to"),
        (
            [None],
            TypeError,
            r"routes\[0\] must be a RuntimeRoute, got None; routes\[0\] is required: pass RuntimeRoute\(",
        ),
        (
            "us-west-2",
            TypeError,
            r"routes must be a list of RuntimeRoute, got 'us-west-2'; pass a list of RuntimeRoute",
        ),
    ],
)
def test_failover_fails_on_bad_routes(
    stack: cdk.Stack, routes: Any, error: type[Exception], message: str
) -> None:
    inference = RegionalInference(
        stack,
        "Inference",
        vpc=_vpc(stack),
        drill=False,
        self_hosted=SelfHostedModelOptions(
            invocations_per_instance_target=5,
            model_data_url="s3://models-us-east-1/llm/model.tar.gz",
            endpoint_service=EndpointServiceOptions(
                allowed_principals=[iam.ArnPrincipal(f"arn:aws:iam::{TEST_ACCOUNT}:root")]
            ),
        ),
    )
    with pytest.raises(error, match=message):
        CrossRegionFailover(stack, "Failover", inference=inference, routes=routes)


def test_failover_fails_on_something_else_than_a_regional_inference(stack: cdk.Stack) -> None:
    with pytest.raises(
        TypeError,
        match=r"inference must be a RegionalInference, got a Vpc; pass a RegionalInference",
    ):
        CrossRegionFailover(stack, "Failover", inference=_vpc(stack), routes=[])  # type: ignore[arg-type]
