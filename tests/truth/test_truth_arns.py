"""ARNs of every template of the reference app's configurations: none built by hand for a
resource of the same template, fields with a required form in that form, computed strings
within their schema's pattern; and each rule failing on a broken template. The rules are in
``tests/truth/arns.py``."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import CONFIGURATIONS, Configurations
from tests.truth.arns import (
    ALLOWED_HAND_BUILT,
    check_hand_built,
    check_required_forms,
    check_schema_patterns,
    check_stack,
)
from tests.truth.cfn import Stack

REGION, ACCOUNT = "us-east-1", "111111111111"
PARTITION = {"Ref": "AWS::Partition"}
LOGS_PREFIX = f":logs:{REGION}:{ACCOUNT}:log-group:"


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_no_hand_built_arn_and_every_form_and_pattern_holds(
    configurations: Configurations, name: str
) -> None:
    findings = [f for stack in configurations.stacks(name) for f in check_stack(stack)]
    assert not findings, "ARN findings:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_drill_logs_to_the_log_groups_arn_attribute(
    configurations: Configurations, name: str
) -> None:
    """The FIS log group ARN is the attribute (ends in ':*'), in every Region's three AZs."""
    seen = 0
    for stack in configurations[name].artifacts.values():
        for resource in stack.of_type("AWS::FIS::ExperimentTemplate").values():
            arn = resource["Properties"]["LogConfiguration"]["CloudWatchLogsConfiguration"]
            (logical_id, attribute) = arn["LogGroupArn"]["Fn::GetAtt"]
            assert attribute == "Arn"
            assert stack.resources[logical_id]["Type"] == "AWS::Logs::LogGroup"
            seen += 1
    assert seen == 3 * len(configurations[name].artifacts)


# -- broken templates ---------------------------------------------------------------------------


def _stack(**resources: dict[str, Any]) -> Stack:
    return Stack("Broken", REGION, ACCOUNT, {"Resources": resources})


LOG_GROUP = {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 365}}


def _experiment(log_group_arn: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::FIS::ExperimentTemplate",
        "Properties": {
            "Description": "drill",
            "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/drill",
            "StopConditions": [{"Source": "none"}],
            "Targets": {},
            "Tags": {},
            "LogConfiguration": {
                "LogSchemaVersion": 2,
                "CloudWatchLogsConfiguration": {"LogGroupArn": log_group_arn},
            },
        },
    }


def _policy(resource: Any, action: str = "logs:PutLogEvents") -> dict[str, Any]:
    return {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "p",
            "Roles": ["r"],
            "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]
            },
        },
    }


HAND_BUILT_JOIN = {"Fn::Join": ["", ["arn:", PARTITION, LOGS_PREFIX, {"Ref": "Logs"}]]}


def test_fails_on_a_log_group_arn_built_from_its_name() -> None:
    """What the drill did: the FIS log ARN from the group's name instead of its attribute."""
    stack = _stack(Logs=LOG_GROUP, Drill=_experiment(HAND_BUILT_JOIN))
    (finding,) = check_hand_built(stack)
    assert (finding.stack, finding.logical_id, finding.rule) == (
        "Broken",
        "Drill",
        "hand-built-arn",
    )
    assert finding.where == "LogConfiguration.CloudWatchLogsConfiguration.LogGroupArn"
    assert "built by hand from its Ref of Logs (AWS::Logs::LogGroup)" in finding.message
    assert "Fn::GetAtt Logs.Arn" in finding.message


def test_fails_on_a_fis_log_group_arn_without_the_wildcard() -> None:
    stack = _stack(Logs=LOG_GROUP, Drill=_experiment(HAND_BUILT_JOIN))
    (finding,) = check_required_forms(stack)
    assert (finding.logical_id, finding.rule) == ("Drill", "required-form")
    assert f"'arn:aws{LOGS_PREFIX}\u27e8Logs\u27e9' does not match" in finding.message
    assert "ValidationException" in finding.message
    literal = _stack(Drill=_experiment(f"arn:aws{LOGS_PREFIX}/aws/fis/drill"))
    assert [f.rule for f in check_required_forms(literal)] == ["required-form"]


def test_passes_the_log_groups_arn_attribute() -> None:
    stack = _stack(Logs=LOG_GROUP, Drill=_experiment({"Fn::GetAtt": ["Logs", "Arn"]}))
    assert check_stack(stack) == []
    literal = _stack(Drill=_experiment(f"arn:aws{LOGS_PREFIX}/aws/fis/drill:*"))
    assert check_stack(literal) == []


def test_fails_on_an_arn_built_with_sub_or_from_a_literal_name() -> None:
    endpoint = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointName": "llm-endpoint", "EndpointConfigName": "llm-config"},
    }
    sub = {
        "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Logs}:*"
    }
    stack = _stack(
        Logs=LOG_GROUP,
        Endpoint=endpoint,
        BySub=_policy(sub),
        ByName=_policy(
            f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/llm-endpoint",
            "sagemaker:InvokeEndpoint",
        ),
    )
    findings = check_hand_built(stack)
    assert sorted((f.logical_id, f.where) for f in findings) == [
        ("ByName", "PolicyDocument.Statement[0].Resource"),
        ("BySub", "PolicyDocument.Statement[0].Resource"),
    ]
    by_name = next(f for f in findings if f.logical_id == "ByName")
    assert "its name 'llm-endpoint' of Endpoint (AWS::SageMaker::Endpoint)" in by_name.message


def test_passes_arns_derived_from_the_attribute_or_of_another_service() -> None:
    """A function's versions (its Arn attribute + ':*'), a subnet (no ARN attribute in its
    schema), and a log group named after an endpoint (logs, not sagemaker)."""
    function = {"Type": "AWS::Lambda::Function", "Properties": {"Role": "r", "Code": {}}}
    subnet = {"Type": "AWS::EC2::Subnet", "Properties": {"VpcId": "vpc-1"}}
    endpoint = {
        "Type": "AWS::SageMaker::Endpoint",
        "Properties": {"EndpointName": "llm-endpoint", "EndpointConfigName": "c"},
    }
    stack = _stack(
        Function=function,
        Subnet=subnet,
        Endpoint=endpoint,
        Versions=_policy(
            {"Fn::Join": ["", [{"Fn::GetAtt": ["Function", "Arn"]}, ":*"]]}, "lambda:InvokeFunction"
        ),
        Subnets=_policy(
            {"Fn::Join": ["", ["arn:aws:ec2:us-east-1:111111111111:subnet/", {"Ref": "Subnet"}]]},
            "ec2:CreateNetworkInterface",
        ),
        EndpointLogs=_policy(f"arn:aws{LOGS_PREFIX}/aws/sagemaker/Endpoints/llm-endpoint:*"),
    )
    assert check_hand_built(stack) == []


def test_fails_on_a_computed_value_outside_its_schema_pattern() -> None:
    """A key ARN where the schema wants one, but of the wrong form (computed, so cfn-lint
    cannot read it), and a role's ARN where a key's is required."""
    wrong_form = {
        **LOG_GROUP,
        "Properties": {
            "KmsKeyId": {
                "Fn::Join": ["", ["arn:", PARTITION, ":kms:us-east-1:111111111111:keys/abc"]]
            }
        },
    }
    wrong_kind = {**LOG_GROUP, "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Role", "Arn"]}}}
    right = {**LOG_GROUP, "Properties": {"KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}}
    stack = _stack(
        WrongForm=wrong_form,
        WrongKind=wrong_kind,
        Right=right,
        Role={"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        Key={"Type": "AWS::KMS::Key", "Properties": {}},
    )
    findings = check_schema_patterns(stack)
    assert sorted((f.logical_id, f.where, f.rule) for f in findings) == [
        ("WrongForm", "KmsKeyId", "schema-pattern"),
        ("WrongKind", "KmsKeyId", "schema-pattern"),
    ]
    assert all("does not match the pattern" in f.message for f in findings)


def test_an_exception_is_accepted_only_with_its_reason() -> None:
    stack = _stack(Logs=LOG_GROUP, Drill=_experiment(HAND_BUILT_JOIN))
    place = ("AWS::FIS::ExperimentTemplate", "LogConfiguration")
    reason = "an example exception: this field takes the name-built form (it does not)"
    assert check_hand_built(stack, {place: reason}) == []
    with pytest.raises(ValueError, match="needs its reason"):
        check_hand_built(stack, {place: "because"})
    assert ALLOWED_HAND_BUILT == {}, "no exception is needed today; each new one says why"
