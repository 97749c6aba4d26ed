"""What every template of the reference app's configurations grants, and to whom: the
generated permissions page (docs/permissions.md), and the least-privilege properties a
regulated adopter checks template by template. Each property is checked over every stack of
every configuration (``tests.support.CONFIGURATIONS``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from docgen.permissions import DOC, collect, render, roles_without_why
from ha_inference.compute.multi_az_function import NETWORK_INTERFACE_MUTATIONS
from tests.support import CONFIGURATIONS, TEST_ACCOUNT, Configurations, resources

NAMES = sorted(CONFIGURATIONS)


def _templates(configurations: Configurations, name: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for stack in configurations.stacks(name):
        yield stack.name, stack.template


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of ``role_id``'s inline policies and of the policies attached to it."""
    role = template["Resources"][role_id]["Properties"]
    found = [s for p in role.get("Policies") or [] for s in p["PolicyDocument"]["Statement"]]
    for policy in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            found += policy["Properties"]["PolicyDocument"]["Statement"]
    return found


# -- the permissions page ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page(configurations: Configurations) -> str:
    return render(collect({name: configurations[name] for name in CONFIGURATIONS}))


def test_permissions_page_is_current(page: str) -> None:
    """docs/permissions.md says, per role of every configuration, what it may do and why."""
    assert DOC.read_text() == page, "docs/permissions.md is stale: run 'make docs'"


def test_every_role_says_why_it_exists(configurations: Configurations) -> None:
    assert roles_without_why(collect({n: configurations[n] for n in CONFIGURATIONS})) == []


def test_the_page_shows_each_roles_trust_and_statements(page: str) -> None:
    """Not vacuous: the page carries the conditions and statements the other tests check."""
    assert "## `Default/SelfHosted/Role`" in page
    assert "ArnLike `aws:SourceArn`: arn:aws:sagemaker:us-east-1:111111111111:*" in page
    assert "| DeleteOwnModels | Allow | `bedrock:DeleteImportedModel` |" in page
    assert "| NotFromFunctionCode | Deny |" in page


# -- every Lambda function logs into its own stack ------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_function_logs_to_an_encrypted_expiring_log_group_of_its_stack(
    configurations: Configurations, name: str
) -> None:
    """aws-cdk-lib's own functions included (the default security group's, the provider
    frameworks', the AwsCustomResource's): without LoggingConfig Lambda writes to an implicit
    /aws/lambda/<name> group, unencrypted, never expiring and outside the stack."""
    checked = 0
    for stack, template in _templates(configurations, name):
        groups = resources(template, "AWS::Logs::LogGroup")
        for logical_id, function in resources(template, "AWS::Lambda::Function").items():
            group = (function["Properties"].get("LoggingConfig") or {}).get("LogGroup")
            assert isinstance(group, dict) and group.get("Ref") in groups, (stack, logical_id)
            properties = groups[group["Ref"]]["Properties"]
            assert "KmsKeyId" in properties, (stack, logical_id, "unencrypted log group")
            assert "RetentionInDays" in properties, (stack, logical_id, "never expires")
            checked += 1
    assert checked >= 5


def test_the_default_security_group_function_logs_to_the_stack(
    configurations: Configurations,
) -> None:
    template = configurations["default"].template("us-east-1")
    (function,) = [
        f
        for i, f in resources(template, "AWS::Lambda::Function").items()
        if i.startswith("CustomVpcRestrictDefaultSG")
    ]
    assert function["Properties"]["LoggingConfig"] == {
        "LogGroup": {
            "Ref": next(
                i for i in template["Resources"] if i.startswith("NetworkDefaultSecurityGroupLogs")
            )
        }
    }


# -- function credentials cannot touch the network --------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_function_code_may_not_create_or_delete_network_interfaces(
    configurations: Configurations, name: str
) -> None:
    """Every Lambda role that lets Lambda manage network interfaces on '*' denies the same
    actions to calls made with the function's own credentials (lambda:SourceFunctionArn)."""
    mutations = set(NETWORK_INTERFACE_MUTATIONS)
    roles = 0
    for stack, template in _templates(configurations, name):
        for role_id, role in resources(template, "AWS::IAM::Role").items():
            trust = json.dumps(role["Properties"]["AssumeRolePolicyDocument"])
            if "lambda.amazonaws.com" not in trust:
                continue
            statements = _statements(template, role_id)
            allowed = {
                a
                for s in statements
                if s["Effect"] == "Allow" and "*" in _listed(s["Resource"])
                for a in _listed(s["Action"])
            }
            if not mutations & allowed:
                continue
            roles += 1
            denied = [
                s
                for s in statements
                if s["Effect"] == "Deny"
                and set(_listed(s["Action"])) >= mutations & allowed
                and "lambda:SourceFunctionArn" in json.dumps(s.get("Condition"))
            ]
            assert denied, (stack, role_id)
    assert roles >= 3, "the retrieval, ingestion and index-creator roles"


# -- confused-deputy conditions ---------------------------------------------------------------------


SOURCE_CONDITIONS = {
    "sagemaker.amazonaws.com": "arn:aws:sagemaker:{region}:{account}:*",
    "vpc-flow-logs.amazonaws.com": "arn:aws:ec2:{region}:{account}:vpc-flow-log/*",
    "states.amazonaws.com": "arn:aws:states:{region}:{account}:stateMachine:*",
    "fis.amazonaws.com": "arn:aws:fis:{region}:{account}:experiment/*",
    "bedrock.amazonaws.com": "arn:aws:bedrock:{region}:{account}:model-import-job/*",
    # One agent runtime, by its name (the runtime name pattern) and whatever follows it.
    "bedrock-agentcore.amazonaws.com": "arn:aws:bedrock-agentcore:{region}:{account}:runtime/"
    "<runtime name>*",
}
"""The services whose trust documents aws:SourceArn and aws:SourceAccount for their roles, and
the source each role here admits. Lambda documents neither for execution roles."""
RUNTIME_NAME = r"[a-zA-Z][a-zA-Z0-9_]{0,47}"
"""The AgentCore runtime name pattern (botocore ``bedrock-agentcore-control`` ``AgentRuntimeName``)."""


def _matches_source(pattern: str, arn: str) -> bool:
    """``arn`` is ``pattern`` exactly, a ``<runtime name>`` part standing for one runtime name."""
    regex = re.escape(pattern).replace(re.escape("<runtime name>"), RUNTIME_NAME)
    return re.fullmatch(regex, arn) is not None


@pytest.mark.parametrize("name", NAMES)
def test_service_roles_trust_only_their_service_acting_for_this_account_and_region(
    configurations: Configurations, name: str
) -> None:
    seen = set()
    for stack in configurations.stacks(name):
        for role_id, role in resources(stack.template, "AWS::IAM::Role").items():
            for trust in role["Properties"]["AssumeRolePolicyDocument"]["Statement"]:
                service = trust["Principal"].get("Service")
                if service not in SOURCE_CONDITIONS:
                    assert service == "lambda.amazonaws.com", (stack.name, role_id, service)
                    continue
                seen.add(service)
                source = SOURCE_CONDITIONS[service].format(
                    region=stack.region, account=TEST_ACCOUNT
                )
                # ArnLike and ArnEquals both match wildcards (IAM condition operators).
                condition = dict(trust.get("Condition") or {})
                arn = condition.pop("ArnLike", None) or condition.pop("ArnEquals", None)
                assert arn is not None and set(arn) == {"aws:SourceArn"}, (stack.name, role_id)
                assert _matches_source(source, arn["aws:SourceArn"]), (stack.name, role_id, arn)
                assert condition == {"StringEquals": {"aws:SourceAccount": TEST_ACCOUNT}}
    assert {"vpc-flow-logs.amazonaws.com", "fis.amazonaws.com"} <= seen
    if name == "self-hosted":
        assert "sagemaker.amazonaws.com" in seen
    if name == "imported-model":
        assert {"states.amazonaws.com", "bedrock.amazonaws.com"} <= seen
    if name == "agent":
        assert "bedrock-agentcore.amazonaws.com" in seen


# -- customer data under the Region's data key ----------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_customer_data_is_under_the_regions_data_key(
    configurations: Configurations, name: str
) -> None:
    """The collection (and the imported model) are encrypted with one customer managed key per
    Region, which the account may use only through the services that hold the data."""
    for region in configurations[name].regions:
        template = configurations[name].template(region)
        (key_id,) = [i for i in resources(template, "AWS::KMS::Key") if i.startswith("DataKey")]
        key = template["Resources"][key_id]
        (encryption,) = [
            p
            for p in resources(template, "AWS::OpenSearchServerless::SecurityPolicy").values()
            if p["Properties"]["Type"] == "encryption"
        ]
        rendered = json.dumps(encryption["Properties"]["Policy"])
        assert '\\"AWSOwnedKey\\":false' in rendered
        assert json.dumps({"Fn::GetAtt": [key_id, "Arn"]}) in rendered
        services = ["aoss"]
        models = resources(template, "Custom::BedrockImportedModel")
        if models:
            services.append("bedrock")
            for model in models.values():
                assert model["Properties"]["ImportedModelKmsKeyId"] == {
                    "Fn::GetAtt": [key_id, "Arn"]
                }
        statements = {s["Sid"]: s for s in key["Properties"]["KeyPolicy"]["Statement"]}
        via = [f"{service}.{region}.amazonaws.com" for service in services]
        use = statements["UseThroughTheDataServices"]
        assert use["Condition"]["StringEquals"]["kms:ViaService"] == via
        assert "kms:CreateGrant" in use["Action"]
        # Managing the key is not using it: no kms:* and no cryptographic action for the
        # account outside those services.
        admin = statements["KeyAdministration"]["Action"]
        assert "kms:*" not in admin and not {"kms:Decrypt", "kms:CreateGrant"} & set(admin)
        assert key["DeletionPolicy"] == "Retain"
        assert key["Properties"]["EnableKeyRotation"] is True


# -- the self-hosted model's paths -----------------------------------------------------------------


def test_the_model_archive_is_read_only_from_the_accounts_bucket(
    configurations: Configurations,
) -> None:
    for region in configurations["self-hosted"].regions:
        template = configurations["self-hosted"].template(region)
        (role_id,) = [
            i for i in resources(template, "AWS::IAM::Role") if i.startswith("SelfHostedRole")
        ]
        (read,) = [s for s in _statements(template, role_id) if s.get("Sid") == "ReadModelData"]
        assert read["Condition"] == {"StringEquals": {"aws:ResourceAccount": TEST_ACCOUNT}}


def test_the_runtime_endpoint_admits_principals_of_this_account_only(
    configurations: Configurations,
) -> None:
    for region in configurations["self-hosted"].regions:
        template = configurations["self-hosted"].template(region)
        for endpoint in resources(template, "AWS::EC2::VPCEndpoint").values():
            policy = endpoint["Properties"].get("PolicyDocument")
            if policy is None:
                continue
            for statement in policy["Statement"]:
                assert (
                    statement["Condition"]["StringEquals"]["aws:PrincipalAccount"] == TEST_ACCOUNT
                )


def test_no_endpoint_service_admits_the_whole_account(configurations: Configurations) -> None:
    permissions = [
        p
        for stack in configurations.stacks("self-hosted")
        for p in resources(stack.template, "AWS::EC2::VPCEndpointServicePermissions").values()
    ]
    assert len(permissions) == 3
    for permission in permissions:
        principals = permission["Properties"]["AllowedPrincipals"]
        assert principals and not any(":root" in json.dumps(p) for p in principals)
        assert all(":role/cdk-hnb659fds-cfn-exec-role-" in p for p in principals)


# -- the imported model -------------------------------------------------------------------------------


def test_the_import_handler_deletes_only_models_tagged_as_its_own(
    configurations: Configurations,
) -> None:
    for region in configurations["imported-model"].regions:
        template = configurations["imported-model"].template(region)
        (role_id,) = [
            i
            for i in resources(template, "AWS::IAM::Role")
            if i.startswith("ImportedModelHandlerRole")
        ]
        deletes = [
            s
            for s in _statements(template, role_id)
            if "bedrock:DeleteImportedModel" in _listed(s["Action"])
        ]
        assert deletes and all(
            "aws:ResourceTag/ha-inference:stack-id" in s["Condition"]["StringEquals"]
            for s in deletes
        )
