"""ImportedModel: Bedrock Custom Model Import through a custom resource, one Region per import.

One app synthesized once (module fixture): a us-east-1 stack with a customer managed key, the
Bedrock runtime endpoint and a caller; a us-west-2 stack importing a whole bucket with RETAIN.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from ha_inference import BedrockVpcEndpoints, ImportedModel, RegionCoverage
from ha_inference.bedrock.imported_model import MODEL_NAME, OWNER_TAG_KEYS, parse_s3_uri
from ha_inference.checks.nag_pack import findings_of
from ha_inference.metadata import IMPORTED_MODEL_METADATA
from tests.support import TEST_ACCOUNT, ZonalStack, new_app, resources
from tests.support.lint import lint_template

SOURCE = "s3://my-models-us-east-1/llama/support/"
WEST_SOURCE = "s3://my-models-us-west-2"


class Scenario:
    def __init__(self, outdir: Path) -> None:
        self.app = new_app(outdir)
        self.east = ZonalStack(self.app, "East", region="us-east-1")
        self.key = kms.Key(self.east, "ModelKey", enable_key_rotation=True)
        self.model = ImportedModel(
            self.east,
            "Llm",
            s3_uri=SOURCE,
            imported_model_name="llama3-support",
            imported_model_key=self.key,
            keep_warm=cdk.Duration.minutes(30),
        )
        self.caller = iam.Role(
            self.east, "Caller", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
        )
        self.grant = self.model.grant_invoke(self.caller)
        self.endpoints = BedrockVpcEndpoints(
            self.east,
            "Bedrock",
            vpc=self.east.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="private"),
            invoke_targets=[self.model],
        )
        self.west = ZonalStack(self.app, "West", region="us-west-2")
        self.west_model = ImportedModel(
            self.west, "Llm", s3_uri=WEST_SOURCE, removal_policy=cdk.RemovalPolicy.RETAIN
        )
        BedrockVpcEndpoints(
            self.west,
            "Bedrock",
            vpc=self.west.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="private"),
            invoke_targets=[self.west_model],
        )
        self.coverage = RegionCoverage(self.app, "Coverage", supporting=["bedrock-endpoints"])
        assembly = self.app.synth()
        self.template: dict[str, Any] = assembly.get_stack_by_name("East").template
        self.west_template: dict[str, Any] = assembly.get_stack_by_name("West").template

    def logical_id(self, construct: cdk.CfnResource | Any, stack: cdk.Stack | None = None) -> str:
        return str((stack or self.east).get_logical_id(construct))


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    return Scenario(tmp_path_factory.mktemp("imported-model"))


def only(template: dict[str, Any], resource_type: str) -> tuple[str, dict[str, Any]]:
    (item,) = resources(template, resource_type).items()
    return item


def model_logical_id(scenario: Scenario) -> str:
    cfn = scenario.model.resource.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    return scenario.logical_id(cfn)


def role_by_description(template: dict[str, Any], start: str) -> tuple[str, dict[str, Any]]:
    (item,) = [
        (logical_id, role)
        for logical_id, role in resources(template, "AWS::IAM::Role").items()
        if role["Properties"].get("Description", "").startswith(start)
    ]
    return item


# ------------------------------------------------------------------------------------ resource


def test_the_import_is_one_custom_resource_with_the_source_role_and_key(
    scenario: Scenario,
) -> None:
    logical_id, resource = only(scenario.template, "Custom::BedrockImportedModel")
    role_id, _ = role_by_description(scenario.template, "Bedrock Custom Model Import")
    assert logical_id == model_logical_id(scenario)
    assert resource["Properties"] == {
        "ServiceToken": resource["Properties"]["ServiceToken"],
        "ServiceTimeout": "3300",
        "ImportedModelName": "llama3-support",
        "S3Uri": SOURCE,
        "RoleArn": {"Fn::GetAtt": [role_id, "Arn"]},
        "RequireConverse": "true",
        "ImportedModelKmsKeyId": {
            "Fn::GetAtt": [scenario.logical_id(scenario.key.node.default_child), "Arn"]
        },
    }
    # Removed with the stack by default: DeleteImportedModel runs on stack deletion.
    assert resource["DeletionPolicy"] == "Delete"
    assert resource["UpdateReplacePolicy"] == "Delete"


def test_retain_keeps_the_model_and_no_key_means_an_aws_owned_key(scenario: Scenario) -> None:
    _, resource = only(scenario.west_template, "Custom::BedrockImportedModel")
    assert resource["DeletionPolicy"] == "Retain"
    assert "ImportedModelKmsKeyId" not in resource["Properties"]
    assert resource["Properties"]["S3Uri"] == WEST_SOURCE


def test_the_model_arn_is_the_resource_attribute(scenario: Scenario) -> None:
    resolved = scenario.east.resolve(scenario.model.model_arn)
    assert resolved == {"Fn::GetAtt": [model_logical_id(scenario), "ModelArn"]}


def test_the_default_name_is_derived_and_fits_bedrock(scenario: Scenario) -> None:
    name = scenario.west_model.imported_model_name
    assert name.startswith("West-Llm-") and len(name) <= 45
    assert MODEL_NAME.match(name) and not name.endswith(("-", "_"))


def test_handlers_are_the_shipped_ones_outside_any_vpc(scenario: Scenario) -> None:
    functions = resources(scenario.template, "AWS::Lambda::Function")
    handlers = {
        f["Properties"]["Handler"]: f["Properties"]
        for f in functions.values()
        if f["Properties"]["Handler"].startswith("model_import.")
    }
    assert sorted(handlers) == ["model_import.is_complete", "model_import.on_event"]
    for properties in handlers.values():
        assert properties["Runtime"] == "python3.14"
        assert properties["Architectures"] == ["arm64"]
        assert "VpcConfig" not in properties  # Bedrock's control plane, not reachable from it


def test_the_waiter_polls_every_30_seconds_for_50_minutes_and_logs_everything(
    scenario: Scenario,
) -> None:
    _, machine = only(scenario.template, "AWS::StepFunctions::StateMachine")
    definition = "".join(
        part if isinstance(part, str) else "<ref>"
        for part in machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    )
    assert '"IntervalSeconds":30,"MaxAttempts":100,"BackoffRate":1' in definition
    logging = machine["Properties"]["LoggingConfiguration"]
    assert logging["Level"] == "ALL"
    assert logging["IncludeExecutionData"] is False  # the events carry the response URL


# ----------------------------------------------------------------------------------------- IAM


def test_the_import_role_trusts_bedrock_for_this_accounts_import_jobs_only(
    scenario: Scenario,
) -> None:
    _, role = role_by_description(scenario.template, "Bedrock Custom Model Import")
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "bedrock.amazonaws.com"},
            "Condition": {
                "StringEquals": {"aws:SourceAccount": TEST_ACCOUNT},
                "ArnEquals": {
                    "aws:SourceArn": f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:model-import-job/*"
                },
            },
        }
    ]


def test_the_import_role_reads_only_the_source_prefix(scenario: Scenario) -> None:
    _, role = role_by_description(scenario.template, "Bedrock Custom Model Import")
    (policy,) = role["Properties"]["Policies"]
    owner = {"aws:ResourceAccount": TEST_ACCOUNT}
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "ReadObjects",
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": "arn:aws:s3:::my-models-us-east-1/llama/support/*",
            "Condition": {"StringEquals": owner},
        },
        {
            "Sid": "ListPrefix",
            "Action": "s3:ListBucket",
            "Effect": "Allow",
            "Resource": "arn:aws:s3:::my-models-us-east-1",
            "Condition": {
                "StringEquals": owner,
                "StringLike": {"s3:prefix": ["llama/support", "llama/support/*"]},
            },
        },
    ]
    # Nothing else may use the role: no other policy is attached to it.
    role_refs = [
        p["Properties"]["Roles"] for p in resources(scenario.template, "AWS::IAM::Policy").values()
    ]
    import_role_id, _ = role_by_description(scenario.template, "Bedrock Custom Model Import")
    assert [{"Ref": import_role_id}] not in role_refs


def test_a_whole_bucket_source_reads_the_bucket(scenario: Scenario) -> None:
    _, role = role_by_description(scenario.west_template, "Bedrock Custom Model Import")
    statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert [s["Resource"] for s in statements] == [
        "arn:aws:s3:::my-models-us-west-2/*",
        "arn:aws:s3:::my-models-us-west-2",
    ]
    assert "StringLike" not in statements[1]["Condition"]


def test_the_handler_role_imports_passes_the_import_role_and_uses_the_key_through_bedrock(
    scenario: Scenario,
) -> None:
    _, role = role_by_description(scenario.template, "Imports one model into Bedrock")
    import_role_id, _ = role_by_description(scenario.template, "Bedrock Custom Model Import")
    key_id = scenario.logical_id(scenario.key.node.default_child)
    jobs = f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:model-import-job/*"
    models = f"arn:aws:bedrock:us-east-1:{TEST_ACCOUNT}:imported-model/*"
    statements = {
        s["Sid"]: s for s in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    }
    assert statements["ImportModels"]["Action"] == "bedrock:CreateModelImportJob"
    # No resource type in the Service Authorization Reference: only "*" authorizes it.
    assert statements["ImportModels"]["Resource"] == "*"
    assert statements["FollowJobs"]["Resource"] == jobs
    # Reading any model (to refuse another stack's of the same name), nothing more.
    assert statements["ReadModels"] == {
        "Sid": "ReadModels",
        "Action": ["bedrock:GetImportedModel", "bedrock:ListTagsForResource"],
        "Effect": "Allow",
        "Resource": models,
    }
    # Deleting only a model whose owner tags name this stack and this resource.
    resource_id = scenario.logical_id(scenario.model.resource.node.default_child)
    owner = {
        "ha-inference:stack-id": {"Ref": "AWS::StackId"},
        "ha-inference:logical-id": resource_id,
    }
    assert statements["DeleteOwnModels"] == {
        "Sid": "DeleteOwnModels",
        "Action": "bedrock:DeleteImportedModel",
        "Effect": "Allow",
        "Resource": models,
        "Condition": {"StringEquals": {f"aws:ResourceTag/{k}": v for k, v in owner.items()}},
    }
    assert not any(
        "bedrock:DeleteImportedModel" in s["Action"]
        for sid, s in statements.items()
        if sid != "DeleteOwnModels"
    )
    # Tagging with the owner tags only, naming this resource, and never over another owner's.
    assert statements["TagModelsWithTheirOwner"] == {
        "Sid": "TagModelsWithTheirOwner",
        "Action": "bedrock:TagResource",
        "Effect": "Allow",
        "Resource": [models, jobs],
        "Condition": {
            "ForAllValues:StringEquals": {
                "aws:TagKeys": ["ha-inference:stack-id", "ha-inference:logical-id"]
            },
            "StringEquals": {f"aws:RequestTag/{k}": v for k, v in owner.items()},
            "StringEqualsIfExists": {f"aws:ResourceTag/{k}": v for k, v in owner.items()},
        },
    }
    assert statements["PassImportRole"] == {
        "Sid": "PassImportRole",
        "Action": "iam:PassRole",
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [import_role_id, "Arn"]},
        "Condition": {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}},
    }
    assert statements["EncryptModel"]["Resource"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert statements["EncryptModel"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "bedrock.us-east-1.amazonaws.com"}
    }
    assert set(statements) == {
        "ImportModels",
        "FollowJobs",
        "ReadModels",
        "DeleteOwnModels",
        "TagModelsWithTheirOwner",
        "PassImportRole",
        "EncryptModel",
    }


def test_the_owner_tags_the_role_allows_are_the_ones_the_handler_writes() -> None:
    from ha_inference.functions import model_import  # noqa: PLC0415 - imports boto3

    assert OWNER_TAG_KEYS == (model_import.STACK_TAG, model_import.LOGICAL_ID_TAG)


def test_require_converse_can_be_turned_off(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    ImportedModel(stack, "Llm", s3_uri=SOURCE, require_converse=False)
    template = Template.from_stack(stack, skip_cyclical_dependencies_check=True)
    template.has_resource_properties("Custom::BedrockImportedModel", {"RequireConverse": "false"})


def test_fails_a_require_converse_that_is_not_a_boolean(tmp_path: Path) -> None:
    with pytest.raises(
        TypeError,
        match=r"^require_converse must be True or False, got 'yes'; pass require_converse=True or require_converse=False$",
    ):
        ImportedModel(_stack(tmp_path), "Llm", s3_uri=SOURCE, require_converse="yes")  # type: ignore[arg-type]


def test_grant_invoke_allows_exactly_the_model_arn_on_the_callers_role(
    scenario: Scenario,
) -> None:
    caller_id = scenario.logical_id(scenario.caller.node.default_child)
    (policy,) = [
        p
        for p in resources(scenario.template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": caller_id}]
    ]
    key_id = scenario.logical_id(scenario.key.node.default_child)
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [model_logical_id(scenario), "ModelArn"]},
        },
        {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": "bedrock.us-east-1.amazonaws.com"}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [key_id, "Arn"]},
        },
    ]
    assert scenario.grant.success


def test_the_bedrock_endpoint_policy_allows_the_model(scenario: Scenario) -> None:
    (endpoint,) = [
        e
        for e in resources(scenario.template, "AWS::EC2::VPCEndpoint").values()
        if e["Properties"]["ServiceName"] == "com.amazonaws.us-east-1.bedrock-runtime"
    ]
    (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"]
    assert statement["Resource"] == {"Fn::GetAtt": [model_logical_id(scenario), "ModelArn"]}
    assert scenario.model.invoke_resource_arns == (scenario.model.model_arn,)


# ---------------------------------------------------------------------------------- keep warm


def test_keep_warm_calls_the_model_on_a_schedule_through_the_shipped_handler(
    scenario: Scenario,
) -> None:
    model_arn = {"Fn::GetAtt": [model_logical_id(scenario), "ModelArn"]}
    ((function_id, function),) = [
        (logical_id, f)
        for logical_id, f in resources(scenario.template, "AWS::Lambda::Function").items()
        if f["Properties"]["Handler"] == "keep_warm.handler"
    ]
    assert function["Properties"]["Environment"] == {"Variables": {"MODEL_ID": model_arn}}
    assert function["Properties"]["Timeout"] == 60
    _, rule = only(scenario.template, "AWS::Events::Rule")
    assert rule["Properties"]["ScheduleExpression"] == "rate(30 minutes)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    # The function's role may invoke this model (and decrypt it through Bedrock), nothing else.
    role_id, _ = role_by_description(scenario.template, "Calls the imported model now and then")
    (policy,) = [
        p
        for p in resources(scenario.template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statements[0] == {
        "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
        "Effect": "Allow",
        "Resource": model_arn,
    }
    assert [s["Action"] for s in statements[1:]] == [
        "kms:Decrypt",
        ["logs:CreateLogStream", "logs:PutLogEvents"],
    ]


def test_keep_warm_is_off_by_default(scenario: Scenario) -> None:
    assert scenario.west_model.keep_warm_function is None
    assert resources(scenario.west_template, "AWS::Events::Rule") == {}


@pytest.mark.parametrize(
    ("keep_warm", "require_converse", "error", "message"),
    [
        (
            cdk.Duration.seconds(90),
            True,
            ValueError,
            r"^keep_warm must be a whole number of minutes from 1 to 59",
        ),
        (cdk.Duration.hours(1), True, ValueError, r"got 1 hour; for example"),
        (
            30,
            True,
            TypeError,
            r"^keep_warm must be a cdk.Duration, got 30; pass a cdk.Duration, e\.g\. cdk\.Duration\.minutes\(n\)",
        ),
        (cdk.Duration.minutes(30), False, ValueError, r"^keep_warm needs require_converse=True"),
    ],
)
def test_fails_a_keep_warm_that_cannot_work(
    tmp_path: Path, keep_warm: Any, require_converse: bool, error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        ImportedModel(
            _stack(tmp_path),
            "Llm",
            s3_uri=SOURCE,
            keep_warm=keep_warm,
            require_converse=require_converse,
        )


# ------------------------------------------------------------------------------ coverage, nag


def test_the_model_is_marked_with_its_one_region(scenario: Scenario) -> None:
    (entry,) = [m for m in scenario.model.node.metadata if m.type == IMPORTED_MODEL_METADATA]
    assert entry.data == {
        "importedModelName": "llama3-support",
        "region": "us-east-1",
        "s3Uri": SOURCE,
        "bucketOwner": TEST_ACCOUNT,
    }
    assert scenario.coverage.problems() == []


def test_coverage_reports_a_region_serving_a_model_without_its_supporting_kinds(
    tmp_path: Path,
) -> None:
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Bare", env=cdk.Environment(account=TEST_ACCOUNT, region="eu-central-1"))
    ImportedModel(stack, "Llm", s3_uri="s3://models-eu-central-1/llm/", imported_model_name="llm")
    coverage = RegionCoverage(app, "Coverage", supporting=["bedrock-endpoints", "compute"])
    assert coverage.problems() == [
        "eu-central-1 serves imported model 'llm' but has no bedrock-endpoints, compute; add "
        "that supporting infrastructure to the Region's stack"
    ]


def test_no_unacknowledged_findings_of_any_cdk_nag_pack(scenario: Scenario) -> None:
    """The caller role of the test is not ours; everything under the constructs is judged, by
    every pack (the keep-warm schedule and function included)."""
    ours = ("/Llm/", "/Bedrock/")
    for pack in (
        AwsSolutionsChecks(),
        NIST80053R5Checks(),
        cdk_nag.NIST80053R4Checks(),
        cdk_nag.HIPAASecurityChecks(),
        cdk_nag.PCIDSS321Checks(),
        cdk_nag.ServerlessChecks(),
    ):
        found = [f for f in findings_of(pack, scenario.app) if any(p in f[1] for p in ours)]
        assert found == [], type(pack).__name__


def test_every_acknowledgement_names_one_finding(scenario: Scenario) -> None:
    rules = [
        (node.node.path, rule.removeprefix("Annotation::"))
        for node in scenario.model.node.find_all()
        for entry in node.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule in entry.data
    ]
    assert rules, "the construct acknowledges its findings"
    for path, rule in rules:
        assert rule not in {"AwsSolutions-IAM5", "AwsSolutions-IAM4"}, (path, rule)
    assert ("East/Llm/Provider/Provider/waiter-state-machine", "AwsSolutions-SF2") in rules


def test_template_lints_clean(scenario: Scenario) -> None:
    """cfn-lint caught a dependency cycle here once (one framework role for onEvent and the
    waiter's functions); the us-west-2 template has the same resource types."""
    assert lint_template(scenario.template, "us-east-1") == []


# -------------------------------------------------------------------------------- validation


def test_parse_s3_uri_gives_bucket_and_folder() -> None:
    assert parse_s3_uri("s3://bucket-a/x/y") == ("bucket-a", "x/y/")
    assert parse_s3_uri("s3://bucket-a/x/y/") == ("bucket-a", "x/y/")
    assert parse_s3_uri("s3://bucket-a/") == ("bucket-a", "")
    assert parse_s3_uri("s3://bucket-a") == ("bucket-a", "")


def _stack(tmp_path: Path, region: str = "us-east-1") -> cdk.Stack:
    app = new_app(tmp_path)
    return cdk.Stack(app, "Subject", env=cdk.Environment(account=TEST_ACCOUNT, region=region))


@pytest.mark.parametrize(
    ("s3_uri", "message"),
    [
        (
            "https://bucket.s3.amazonaws.com/llm/",
            r"s3_uri must be an s3:// URI of the model folder, got 'https://",
        ),
        ("/models/llm", r"s3_uri must be an s3:// URI"),
        (
            "s3://Bucket_Upper/llm/",
            r"s3_uri must match Bedrock's S3Uri pattern .* got 's3://Bucket_Upper/llm/'; rename",
        ),
        ("s3://bucket/llm//weights", r"s3_uri must match Bedrock's S3Uri pattern"),
        ("s3://bucket/llm weights/", r"s3_uri must match Bedrock's S3Uri pattern"),
    ],
)
def test_fails_on_a_source_that_is_not_an_s3_folder(
    tmp_path: Path, s3_uri: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ImportedModel(_stack(tmp_path), "Llm", s3_uri=s3_uri)


def test_fails_on_a_source_known_only_at_deploy_time(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    uri = cdk.Fn.join("", ["s3://", cdk.Aws.ACCOUNT_ID, "/llm/"])
    with pytest.raises(TypeError, match=r"s3_uri must be a literal s3:// URI"):
        ImportedModel(stack, "Llm", s3_uri=uri)


@pytest.mark.parametrize(
    "name",
    ["llama 3", "llama--3", "-llama", "llama3-", "llama.3", "x" * 46, ""],
)
def test_fails_on_a_name_outside_bedrocks_pattern(tmp_path: Path, name: str) -> None:
    with pytest.raises(
        ValueError,
        match=rf"imported_model_name must be 1-45 letters and digits .* got {re.escape(repr(name))}",
    ):
        ImportedModel(_stack(tmp_path), "Llm", s3_uri=SOURCE, imported_model_name=name)


def test_fails_on_a_name_claimed_twice_in_one_account_and_region(tmp_path: Path) -> None:
    stack = _stack(tmp_path)
    ImportedModel(stack, "One", s3_uri=SOURCE, imported_model_name="llama3")
    with pytest.raises(
        ValueError,
        match=r"imported_model_name 'llama3' is already the name of Bedrock imported model Subject/One",
    ):
        ImportedModel(stack, "Two", s3_uri=WEST_SOURCE, imported_model_name="llama3")


@pytest.mark.parametrize("region", ["us-west-1", "ap-northeast-1", "eu-west-1"])
def test_fails_in_a_region_without_custom_model_import(tmp_path: Path, region: str) -> None:
    with pytest.raises(
        ValueError,
        match=rf"ImportedModel cannot be created in {region}: Amazon Bedrock Custom Model Import is offered in eu-central-1, us-east-1, us-east-2, us-west-2 \(Bedrock user guide, checked 2026-12\); deploy",
    ):
        ImportedModel(_stack(tmp_path, region), "Llm", s3_uri=SOURCE)


def test_fails_in_an_environment_agnostic_stack(tmp_path: Path) -> None:
    stack = cdk.Stack(new_app(tmp_path), "Agnostic")
    with pytest.raises(ValueError, match=r"ImportedModel needs a concrete Region"):
        ImportedModel(stack, "Llm", s3_uri=SOURCE)


@pytest.mark.parametrize(
    "timeout",
    [
        cdk.Duration.minutes(4),
        cdk.Duration.minutes(56),
        cdk.Duration.seconds(330),
        cdk.Duration.hours(2),
    ],
)
def test_fails_on_an_import_timeout_cloudformation_cannot_wait_for(
    tmp_path: Path, timeout: cdk.Duration
) -> None:
    with pytest.raises(
        ValueError, match=r"import_timeout must be a whole number of minutes from 5 to 55 .* got"
    ):
        ImportedModel(_stack(tmp_path), "Llm", s3_uri=SOURCE, import_timeout=timeout)


def test_fails_on_a_snapshot_removal_policy(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError,
        match=r"removal_policy must be RemovalPolicy.DESTROY or RemovalPolicy.RETAIN, got .*SNAPSHOT",
    ):
        ImportedModel(
            _stack(tmp_path), "Llm", s3_uri=SOURCE, removal_policy=cdk.RemovalPolicy.SNAPSHOT
        )


def test_fails_on_a_bucket_owner_that_is_not_an_account_id(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"bucket_owner must be the 12-digit id .* got '12345'"):
        ImportedModel(_stack(tmp_path), "Llm", s3_uri=SOURCE, bucket_owner="12345")


# ------------------------------------------------------------------------ metrics and alarms


def test_metrics_and_alarms_watch_the_documented_bedrock_runtime_metrics_of_this_model(
    tmp_path: Path,
) -> None:
    """ModelId is the model's ARN (the modelId callers pass); which value Bedrock publishes for
    an imported model is not documented, which the docstring says."""
    stack = _stack(tmp_path)
    model = ImportedModel(stack, "Llm", s3_uri=SOURCE)
    alarms = model.add_alarms(invocation_latency_threshold=cdk.Duration.seconds(30))
    for metric, name in (
        (model.metric_invocations(), "Invocations"),
        (model.metric_invocation_latency(), "InvocationLatency"),
        (model.metric_invocation_client_errors(), "InvocationClientErrors"),
        (model.metric_invocation_server_errors(), "InvocationServerErrors"),
        (model.metric_invocation_throttles(), "InvocationThrottles"),
    ):
        assert (metric.namespace, metric.metric_name) == ("AWS/Bedrock", name)
        assert metric.dimensions == {"ModelId": model.model_arn}
    template = dict(Template.from_stack(stack).to_json())
    cfn = model.resource.node.default_child
    assert isinstance(cfn, cdk.CfnResource)
    arn = {"Fn::GetAtt": [stack.get_logical_id(cfn), "ModelArn"]}
    found = {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
    }
    assert set(found) == {"InvocationServerErrors", "InvocationThrottles", "InvocationLatency"}
    for props in found.values():
        assert props["Dimensions"] == [{"Name": "ModelId", "Value": arn}]
        assert props["TreatMissingData"] == "notBreaching", "no calls is no harm"
    assert found["InvocationLatency"]["Threshold"] == 30_000, "milliseconds"
    assert alarms.server_errors.alarm_arn and alarms.invocation_latency.alarm_arn
    assert "not" in (ImportedModel.metric.__doc__ or "") and "list-metrics" in (
        ImportedModel.metric.__doc__ or ""
    ), "the unconfirmed dimension value is said where the metric is made"


@pytest.mark.parametrize(
    ("props", "error", "message"),
    [
        (
            {"invocation_latency_threshold": cdk.Duration.seconds(0)},
            ValueError,
            r"invocation_latency_threshold must be a positive duration, got 0 seconds",
        ),
        (
            {"invocation_latency_threshold": 30},
            TypeError,
            r"invocation_latency_threshold must be a cdk.Duration, got 30",
        ),
        (
            {"invocation_latency_threshold": cdk.Duration.seconds(30), "evaluation_periods": 0},
            ValueError,
            r"evaluation_periods must be at least 1 minute, got 0",
        ),
    ],
)
def test_fails_on_alarm_settings_that_cannot_fire(
    tmp_path: Path, props: dict[str, Any], error: type[Exception], message: str
) -> None:
    model = ImportedModel(_stack(tmp_path), "Llm", s3_uri=SOURCE)
    with pytest.raises(error, match=message):
        model.add_alarms(**props)


def test_fails_when_alarms_are_added_twice(tmp_path: Path) -> None:
    model = ImportedModel(_stack(tmp_path), "Llm", s3_uri=SOURCE)
    model.add_alarms(invocation_latency_threshold=cdk.Duration.seconds(30))
    with pytest.raises(ValueError, match=r"add_alarms was already called on Subject/Llm"):
        model.add_alarms(invocation_latency_threshold=cdk.Duration.seconds(30))
