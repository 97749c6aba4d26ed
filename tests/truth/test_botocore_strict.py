"""The strict request check (``tests/support/botocore_strict.py``) finds what botocore's own validator
lets through, and passes what the services accept."""

from __future__ import annotations

import io
from typing import Any

import boto3
import pytest
from botocore.exceptions import ParamValidationError
from botocore.stub import Stubber

from tests.support.botocore_strict import matches, recording, strict_errors, translate

ROLE = "arn:aws:iam::111111111111:role/Import"
GOOD_IMPORT = {
    "jobName": "support-llm-1a2b3c4d-9f8e7d6c",
    "importedModelName": "support_llm-1a2b3c4d",
    "roleArn": ROLE,
    "modelDataSource": {"s3DataSource": {"s3Uri": "s3://models-us-east-1/llm/"}},
    "importedModelTags": [{"key": "ha-inference:logical-id", "value": "Llm20BDA581"}],
    "clientRequestToken": "0123456789abcdef0123456789abcdef",
}


def test_a_request_the_service_accepts_has_no_errors() -> None:
    assert strict_errors("bedrock", "CreateModelImportJob", GOOD_IMPORT) == []
    assert strict_errors("bedrock", "create_model_import_job", GOOD_IMPORT) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"jobName": "support_llm-1"}, "params.jobName: 'support_llm-1' does not match"),
        ({"jobName": "x" * 64}, "params.jobName: length 64 is above the maximum 63"),
        ({"importedModelName": "a--b"}, "params.importedModelName: 'a--b' does not match"),
        ({"roleArn": 42}, "params.roleArn: must be a string, got int"),
        ({"roleArn": None}, "params.roleArn: must be a string, got NoneType"),
        ({"importedModelTags": [{"key": "k", "value": "v" * 257}]}, "value: length 257 is above"),
        ({"importedModelTags": [{"key": "k!", "value": "v"}]}, "key: 'k!' does not match"),
        ({"importedModelTags": [{"key": "k"}]}, "missing required member value"),
        ({"importedModelTags": {"key": "k"}}, "params.importedModelTags: must be a list"),
        ({"clientRequestToken": "-starts-with-a-dash"}, "clientRequestToken: '-starts"),
        ({"vpcConfig": {"subnetIds": [], "securityGroupIds": ["sg-1"]}}, "below the minimum 1"),
        ({"unknown": 1}, "params: unknown member unknown"),
    ],
)
def test_finds_what_the_service_would_refuse(change: dict[str, Any], error: str) -> None:
    errors = strict_errors("bedrock", "CreateModelImportJob", {**GOOD_IMPORT, **change})
    assert any(error in e for e in errors), errors


def test_finds_a_missing_required_member() -> None:
    params = {k: v for k, v in GOOD_IMPORT.items() if k != "roleArn"}
    assert strict_errors("bedrock", "CreateModelImportJob", params) == [
        "params: missing required member roleArn"
    ]


def test_botocore_alone_lets_a_bad_pattern_and_length_through() -> None:
    """What the strict check adds: botocore sends a job name the service refuses."""
    client = boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    bad = {**GOOD_IMPORT, "jobName": "support_llm-" + "x" * 60}
    with Stubber(client) as stubber:
        stubber.add_response("create_model_import_job", {"jobArn": "arn"}, bad)
        client.create_model_import_job(**bad)  # botocore's validator: fine
    assert len(strict_errors("bedrock", "CreateModelImportJob", bad)) == 2


def test_botocore_refuses_what_the_strict_check_refuses_too() -> None:
    client = boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    bad = {**GOOD_IMPORT, "roleArn": 42}
    with pytest.raises(ParamValidationError):
        client.create_model_import_job(**bad)
    assert strict_errors("bedrock", "CreateModelImportJob", bad)


@pytest.mark.parametrize(
    ("service", "operation", "params", "error"),
    [
        (
            "sagemaker-runtime",
            "InvokeEndpoint",
            {"EndpointName": "model--east", "Body": b"{}"},
            None,
        ),
        ("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "-x", "Body": b"{}"}, "match"),
        (
            "sagemaker-runtime",
            "InvokeEndpoint",
            {"EndpointName": "m", "Body": b"{}", "ContentType": "text/\u00e9"},
            "match",
        ),
        (
            "sagemaker-runtime",
            "InvokeEndpoint",
            {"EndpointName": "m", "Body": b"x" * 6291457},
            "size in bytes 6291457 is above the maximum 6291456",
        ),
        ("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "m", "Body": io.BytesIO()}, None),
        ("sagemaker-runtime", "InvokeEndpoint", {"EndpointName": "m", "Body": 3}, "bytes, text"),
        (
            "elbv2",
            "RegisterTargets",
            {"TargetGroupArn": "arn", "Targets": [{"Id": "10.0.0.1", "Port": 0}]},
            "value 0 is below the minimum 1",
        ),
        (
            "elbv2",
            "RegisterTargets",
            {"TargetGroupArn": "arn", "Targets": [{"Id": "10.0.0.1", "Port": True}]},
            "must be of type integer, got bool",
        ),
        (
            "elbv2",
            "AddTags",
            {"ResourceArns": ["arn"], "Tags": [{"Key": "ha-inference:endpoint-targets-é"}]},
            None,
        ),
        (
            "elbv2",
            "AddTags",
            {"ResourceArns": ["arn"], "Tags": [{"Key": "k", "Value": "10.0.0.1:443;"}]},
            "does not match",
        ),
        (
            "elbv2",
            "DescribeTargetHealth",
            {"TargetGroupArn": "arn", "Include": ["Everything"]},
            "'Everything' is not one of",
        ),
        (
            "bedrock-runtime",
            "Converse",
            {
                "modelId": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                "messages": [{"role": "user", "content": [{"text": "q"}]}],
                "inferenceConfig": {"maxTokens": 0},
            },
            "value 0 is below the minimum 1",
        ),
        (
            "bedrock-runtime",
            "Converse",
            {
                "modelId": "m",
                "messages": [{"role": "user", "content": [{"text": "q", "image": {}}]}],
            },
            "a union must set exactly one member",
        ),
    ],
)
def test_checks_every_shape_kind(
    service: str, operation: str, params: dict[str, Any], error: str | None
) -> None:
    errors = strict_errors(service, operation, params)
    if error is None:
        assert errors == []
    else:
        assert any(error in e for e in errors), errors


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("\\p{ASCII}*", "application/json", True),
        ("\\p{ASCII}*", "caf\u00e9", False),
        ("\\A\\S[\\p{Print}]*\\z", "id-1", True),
        ("\\A\\S[\\p{Print}]*\\z", "id\u00e9", False),
        ("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$", "caf\u00e9 1", True),
        ("[a-z]+", "abc1", False),
    ],
)
def test_patterns_read_as_the_services_read_them(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_translate_keeps_what_it_does_not_know() -> None:
    assert translate("[\\p{Print}]x\\p{ASCII}\\p{L}\\z") == "[ -~]x[\\x00-\\x7F]\\p{L}\\Z"


def test_recording_sees_every_request_with_its_errors() -> None:
    client = boto3.client(
        "bedrock", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    bad = {**GOOD_IMPORT, "jobName": "bad_name"}
    with recording() as found, Stubber(client) as stubber:
        stubber.add_response("get_model_import_job", {}, {"jobIdentifier": "job-1"})
        stubber.add_response("create_model_import_job", {"jobArn": "arn"}, bad)
        client.get_model_import_job(jobIdentifier="job-1")
        client.create_model_import_job(**bad)
    assert found.operations() == {
        ("bedrock", "GetModelImportJob"),
        ("bedrock", "CreateModelImportJob"),
    }
    (refused,) = found.refused()
    assert refused.operation == "CreateModelImportJob"
    assert refused.errors and "jobName" in refused.errors[0]
