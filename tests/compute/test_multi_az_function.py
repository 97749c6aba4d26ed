"""MultiAzFunction, and a minimal stack of all the supporting constructs under cdk-nag and cfn-lint."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from docgen.acknowledgements import acknowledgements
from ha_inference._internal.network import NO_TRAFFIC_RULE
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.compute.multi_az_function import (
    NETWORK_INTERFACE_ACTIONS,
    NETWORK_INTERFACE_MUTATIONS,
    PYTHON_RUNTIME,
    TRACING_ACTIONS,
    MultiAzFunction,
)
from ha_inference.compute.shipped import handler_code
from ha_inference.tools.assembly import zones_of
from ha_inference.vectors.collection import VectorCollection
from ha_inference.vectors.collection_endpoint import CollectionVpcEndpoint
from tests.support import TEST_ACCOUNT, new_app, without_twins
from tests.support.lint import lint_template
from tests.support.nag import findings
from tests.support.zoned import (
    ENDPOINT_SUBNETS,
    WORKLOAD_SUBNETS,
    ZonedStack,
    logical_id,
    of_type,
    private_vpc,
)


def retrieval_code() -> lambda_.Code:
    return handler_code()


@dataclass
class Minimal:
    """The three supporting constructs wired together, as the reference app will."""

    stack: ZonedStack
    vpc: ec2.Vpc
    template: dict[str, Any]
    function: MultiAzFunction
    collection: VectorCollection
    endpoint: CollectionVpcEndpoint


@dataclass
class Scenario:
    app: cdk.App
    minimal: dict[str, Minimal]
    options: ZonedStack
    options_template: dict[str, Any]
    optioned: MultiAzFunction
    role: iam.Role
    key: kms.Key
    queue: sqs.Queue


def build_minimal(app: cdk.App, region: str) -> Minimal:
    zones = [f"{region}{letter}" for letter in "abc"]
    stack = ZonedStack(app, f"Minimal-{region}", region=region, zones=zones)
    vpc = private_vpc(stack)
    endpoint = CollectionVpcEndpoint(
        stack, "CollectionEndpoint", vpc=vpc, vpc_subnets=ENDPOINT_SUBNETS
    )
    collection = VectorCollection(
        stack,
        "Collection",
        collection_name="knowledge",
        vpc_endpoint=endpoint,
        allowed_services=["bedrock.amazonaws.com"],
    )
    function = MultiAzFunction(
        stack,
        "Answer",
        vpc=vpc,
        vpc_subnets=WORKLOAD_SUBNETS,
        code=retrieval_code(),
        handler="retrieval.handler",
        environment={
            "COLLECTION_ENDPOINT": collection.collection_endpoint,
            "INDEX_NAME": "passages",
            "MODEL_ID": "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "EMBEDDING_MODEL_ID": "amazon.titan-embed-text-v2:0",
        },
    )
    endpoint.connections.allow_default_port_from(function)
    collection.grant_read(function)
    return Minimal(stack, vpc, {}, function, collection, endpoint)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    app = new_app(tmp_path_factory.mktemp("multi-az-function"))
    minimal = {region: build_minimal(app, region) for region in ("us-east-1", "eu-west-1")}

    options = ZonedStack(app, "Options", region="us-east-1", zones=["us-east-1a", "us-east-1b"])
    vpc = private_vpc(options)
    role = iam.Role(options, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    key = kms.Key(options, "Key", enable_key_rotation=True)
    queue = sqs.Queue(options, "Failures", enforce_ssl=True)
    optioned = MultiAzFunction(
        options,
        "Worker",
        vpc=vpc,
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        handler="retrieval.handler",
        memory_size=1024,
        timeout=cdk.Duration.minutes(5),
        reserved_concurrent_executions=10,
        on_failure=destinations.SqsDestination(queue),
        dead_letter_queue=queue,
        environment_encryption=key,
        log_retention=cdk.aws_logs.RetentionDays.THREE_MONTHS,
        role=role,
    )
    assembly = app.synth()
    for item in minimal.values():
        item.template = assembly.get_stack_artifact(item.stack.artifact_id).template
    return Scenario(
        app=app,
        minimal=minimal,
        options=options,
        options_template=assembly.get_stack_artifact(options.artifact_id).template,
        optioned=optioned,
        role=role,
        key=key,
        queue=queue,
    )


@pytest.fixture
def us(scenario: Scenario) -> Minimal:
    return scenario.minimal["us-east-1"]


def the_function(template: dict[str, Any], stack: cdk.Stack, fn: MultiAzFunction) -> Any:
    return template["Resources"][logical_id(stack, fn.function)]


def test_function_runs_the_latest_python_on_arm64_with_tracing(us: Minimal) -> None:
    props = the_function(us.template, us.stack, us.function)["Properties"]
    newest = max(
        (r for r in lambda_.Runtime.ALL if r.family == lambda_.RuntimeFamily.PYTHON),
        key=lambda r: tuple(int(p) for p in r.name.removeprefix("python").split(".")),
    )
    assert props["Runtime"] == newest.name == PYTHON_RUNTIME.name
    assert props["Architectures"] == ["arm64"]
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert props["Handler"] == "retrieval.handler"
    assert (props["MemorySize"], props["Timeout"]) == (512, 60)
    assert "ReservedConcurrentExecutions" not in props


def test_function_has_a_subnet_in_every_az(us: Minimal) -> None:
    props = the_function(us.template, us.stack, us.function)["Properties"]
    zones = zones_of(us.template, props["VpcConfig"]["SubnetIds"])
    assert sorted(zones) == ["us-east-1a", "us-east-1b", "us-east-1c"]  # type: ignore[type-var]
    assert us.function.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c")
    workloads = {
        logical_id(us.stack, subnet.node.default_child)
        for subnet in us.vpc.select_subnets(subnet_group_name="workloads").subnets
    }
    assert {ref["Ref"] for ref in props["VpcConfig"]["SubnetIds"]} == workloads


def test_log_group_keeps_events_for_a_year(us: Minimal) -> None:
    props = the_function(us.template, us.stack, us.function)["Properties"]
    group = logical_id(us.stack, us.function.log_group)
    assert props["LoggingConfig"] == {"LogGroup": {"Ref": group}}
    log_group = us.template["Resources"][group]
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"


def test_environment_is_encrypted_with_a_rotated_customer_key(us: Minimal) -> None:
    props = the_function(us.template, us.stack, us.function)["Properties"]
    key = logical_id(us.stack, us.function.environment_key)
    assert props["KmsKeyArn"] == {"Fn::GetAtt": [key, "Arn"]}
    assert us.template["Resources"][key]["Properties"]["EnableKeyRotation"] is True


def test_nothing_is_open_to_the_internet(us: Minimal) -> None:
    text = json.dumps(us.template)
    for ingress in of_type(us.template, "AWS::EC2::SecurityGroupIngress").values():
        assert "SourceSecurityGroupId" in ingress["Properties"], ingress
    for group in of_type(us.template, "AWS::EC2::SecurityGroup").values():
        assert "SecurityGroupIngress" not in group["Properties"], group
    assert '"CidrIpv6": "::/0"' not in text


def test_function_security_group_allows_only_what_was_allowed_to_it(us: Minimal) -> None:
    """No egress but the rule to the collection endpoint; the inline placeholder stays, so EC2's
    default allow-all rule is removed (aws-cdk-lib would drop it with the first SG rule)."""
    group = logical_id(us.stack, us.function.security_group)
    props = us.template["Resources"][group]["Properties"]
    assert props["SecurityGroupEgress"] == [NO_TRAFFIC_RULE]
    egress = [
        r["Properties"]
        for r in of_type(us.template, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]
    endpoint_group = logical_id(us.stack, us.endpoint.security_group)
    assert [(e["DestinationSecurityGroupId"], e["FromPort"], e["ToPort"]) for e in egress] == [
        ({"Fn::GetAtt": [endpoint_group, "GroupId"]}, 443, 443)
    ]
    (ingress,) = [
        r["Properties"]
        for r in of_type(us.template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [endpoint_group, "GroupId"]}
    ]
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    assert (ingress["FromPort"], ingress["ToPort"]) == (443, 443)


def test_runtime_and_architecture_can_be_chosen(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = ZonedStack(app, "Node", region="us-east-1", zones=["us-east-1a", "us-east-1b"])
    vpc = private_vpc(stack)
    fn = MultiAzFunction(
        stack,
        "Fn",
        vpc=vpc,
        code=lambda_.Code.from_inline("exports.handler = async () => 1;"),
        handler="index.handler",
        runtime=lambda_.Runtime.NODEJS_22_X,
        architecture=lambda_.Architecture.X86_64,
        ephemeral_storage_size=cdk.Size.gibibytes(2),
    )
    props = Template.from_stack(stack).to_json()["Resources"][logical_id(stack, fn.function)][
        "Properties"
    ]
    assert props["Runtime"] == "nodejs22.x"
    assert props["Architectures"] == ["x86_64"]
    assert props["EphemeralStorage"] == {"Size": 2048}


def test_default_runtime_is_pinned_by_the_library() -> None:
    """Not the newest runtime of whatever aws-cdk-lib is installed: an upgrade must not move it."""
    assert PYTHON_RUNTIME.name == "python3.14"


def policies_of(template: dict[str, Any], role: str) -> dict[str, list[dict[str, Any]]]:
    return {
        logical: policy["Properties"]["PolicyDocument"]["Statement"]
        for logical, policy in of_type(template, "AWS::IAM::Policy").items()
        if {"Ref": role} in policy["Properties"]["Roles"]
    }


def test_role_has_no_managed_policies_and_only_scoped_grants(us: Minimal) -> None:
    role = logical_id(us.stack, us.function.role)
    assert "ManagedPolicyArns" not in us.template["Resources"][role]["Properties"]
    policies = policies_of(us.template, role)
    wildcard = logical_id(us.stack, us.function.node.find_child("NetworkAndTracing"))
    assert policies.pop(wildcard) == [
        {
            "Sid": "ManageNetworkInterfaces",
            "Action": list(NETWORK_INTERFACE_ACTIONS),
            "Effect": "Allow",
            "Resource": "*",
        },
        # Lambda creates and deletes the interfaces; the function's own code may not.
        {
            "Sid": "NotFromFunctionCode",
            "Action": list(NETWORK_INTERFACE_MUTATIONS),
            "Effect": "Deny",
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "lambda:SourceFunctionArn": f"arn:aws:lambda:us-east-1:{TEST_ACCOUNT}:function:*"
                }
            },
        },
        {"Sid": "SendTraces", "Action": list(TRACING_ACTIONS), "Effect": "Allow", "Resource": "*"},
    ]
    (default,) = policies.values()
    collection = logical_id(us.stack, us.collection.collection)
    assert default == [
        {
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [logical_id(us.stack, us.function.log_group), "Arn"]},
        },
        {
            "Action": "kms:Decrypt",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [logical_id(us.stack, us.function.environment_key), "Arn"]},
        },
        {
            "Action": "aoss:APIAccessAll",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [collection, "Arn"]},
        },
    ]


def test_function_waits_for_its_network_permissions(us: Minimal) -> None:
    wildcard = logical_id(us.stack, us.function.node.find_child("NetworkAndTracing"))
    assert wildcard in the_function(us.template, us.stack, us.function)["DependsOn"]


def test_function_role_reads_the_collection_through_the_data_policy(us: Minimal) -> None:
    (policy,) = of_type(us.template, "AWS::OpenSearchServerless::AccessPolicy").values()
    role = logical_id(us.stack, us.function.role)
    assert json.dumps({"Fn::GetAtt": [role, "Arn"]}) in json.dumps(policy)
    assert "WriteDocument" not in json.dumps(policy)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_minimal_stack_has_no_unacknowledged_nag_findings(scenario: Scenario, region: str) -> None:
    assert findings(scenario.minimal[region].stack) == []


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_minimal_stack_passes_the_ha_inference_pack(scenario: Scenario, region: str) -> None:
    assert findings_of(HaInferenceChecks(), scenario.minimal[region].stack) == []


def test_the_only_acknowledgements_are_the_narrow_wildcard_and_inline_policies(
    us: Minimal,
) -> None:
    """The IAM5 wildcard on NetworkAndTracing, and NIST's inline-policy rule on the two policies
    the construct owns; nothing about how the function is invoked (that is the app's call)."""
    ours = ("Answer", "Collection", "CollectionEndpoint")
    acknowledged = sorted(
        (path, rule, reason)
        for path, rule, reason in without_twins(acknowledgements(us.stack))
        if path.split("/")[1] in ours or "AwsSolutions" in rule
    )
    assert [(path, rule) for path, rule, _ in acknowledged] == [
        (
            "Minimal-us-east-1/Answer/NetworkAndTracing",
            "Annotation::AwsSolutions-IAM5[Resource::*]",
        ),
        (
            "Minimal-us-east-1/Answer/NetworkAndTracing",
            "Annotation::NIST.800.53.R5-IAMNoInlinePolicy",
        ),
        ("Minimal-us-east-1/Answer/ServiceRole", "Annotation::NIST.800.53.R5-IAMNoInlinePolicy"),
    ]
    assert all(len(reason) >= 60 for _, _, reason in acknowledged)


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1"])
def test_minimal_stack_lints_clean(scenario: Scenario, region: str) -> None:
    assert lint_template(scenario.minimal[region].template, region) == []


def test_minimal_stack_snapshot(us: Minimal, template_snapshot: SnapshotAssertion) -> None:
    assert us.template == template_snapshot


def test_options_reach_the_function(scenario: Scenario) -> None:
    template, stack, fn = scenario.options_template, scenario.options, scenario.optioned
    props = the_function(template, stack, fn)["Properties"]
    assert props["MemorySize"] == 1024
    assert props["Timeout"] == 300
    assert props["ReservedConcurrentExecutions"] == 10
    assert props["Role"] == {"Fn::GetAtt": [logical_id(stack, scenario.role), "Arn"]}
    assert props["KmsKeyArn"] == {"Fn::GetAtt": [logical_id(stack, scenario.key), "Arn"]}
    queue_arn = {"Fn::GetAtt": [logical_id(stack, scenario.queue), "Arn"]}
    assert props["DeadLetterConfig"] == {"TargetArn": queue_arn}
    (invoke_config,) = of_type(template, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["DestinationConfig"] == {
        "OnFailure": {"Destination": queue_arn}
    }
    assert fn.role is scenario.role and fn.node.try_find_child("ServiceRole") is None
    assert fn.environment_key is scenario.key and fn.node.try_find_child("EnvironmentKey") is None
    assert len(of_type(template, "AWS::KMS::Key")) == 1
    retention = {
        r["Properties"]["RetentionInDays"]
        for r in of_type(template, "AWS::Logs::LogGroup").values()
    }
    assert 90 in retention
    zones = zones_of(template, props["VpcConfig"]["SubnetIds"])
    assert sorted(zones) == ["us-east-1a", "us-east-1b"]  # type: ignore[type-var]
    wildcard = logical_id(stack, fn.node.find_child("NetworkAndTracing"))
    assert template["Resources"][wildcard]["Properties"]["Roles"] == [
        {"Ref": logical_id(stack, scenario.role)}
    ]


# Failing inputs.


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[ZonedStack, ec2.Vpc]:
    app = new_app(tmp_path_factory.mktemp("multi-az-function-sandbox"))
    stack = ZonedStack(
        app, "Sandbox", region="us-east-1", zones=["us-east-1a", "us-east-1b", "us-east-1c"]
    )
    return stack, private_vpc(stack)


_ids = iter(range(1_000_000))


def make(sandbox: tuple[ZonedStack, ec2.Vpc], **overrides: Any) -> MultiAzFunction:
    stack, vpc = sandbox
    props: dict[str, Any] = {
        "vpc": vpc,
        "code": lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
        "handler": "retrieval.handler",
        **overrides,
    }
    return MultiAzFunction(stack, f"Fn{next(_ids)}", **props)


def test_fails_on_one_az(sandbox: tuple[ZonedStack, ec2.Vpc]) -> None:
    with pytest.raises(
        ValueError,
        match=r"vpc_subnets must span at least 2 Availability Zones .* got 1 \(us-east-1b\)",
    ):
        make(
            sandbox,
            vpc_subnets=ec2.SubnetSelection(
                subnet_group_name="workloads", availability_zones=["us-east-1b"]
            ),
        )


def test_fails_on_two_subnets_in_one_az(sandbox: tuple[ZonedStack, ec2.Vpc]) -> None:
    _, vpc = sandbox
    same_az = [s for s in vpc.isolated_subnets if s.availability_zone == "us-east-1c"]
    with pytest.raises(ValueError, match=r"vpc_subnets puts more than one subnet in us-east-1c"):
        make(sandbox, vpc_subnets=ec2.SubnetSelection(subnets=same_az))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"handler": "handler"}, r"handler must be 'module.function' .* got 'handler'"),
        ({"handler": "index.handler()"}, r"handler must be 'module.function'"),
        ({"memory_size": 64}, r"memory_size must be 128-10240 MiB, got 64"),
        ({"memory_size": 20480}, r"memory_size must be 128-10240 MiB, got 20480"),
        ({"timeout": cdk.Duration.minutes(20)}, r"timeout must be 1 second to 15 minutes"),
        (
            {"reserved_concurrent_executions": 0},
            r"reserved_concurrent_executions must be at least 1, got 0",
        ),
    ],
)
def test_fails_on_bad_props(
    sandbox: tuple[ZonedStack, ec2.Vpc], overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make(sandbox, **overrides)


def test_default_selection_is_one_subnet_per_az(sandbox: tuple[ZonedStack, ec2.Vpc]) -> None:
    """Two isolated tiers, no selection: one subnet per AZ still, never two in one AZ."""
    function = make(sandbox)
    assert function.availability_zones == ("us-east-1a", "us-east-1b", "us-east-1c")


def test_grant_principal_is_the_role(sandbox: tuple[ZonedStack, ec2.Vpc]) -> None:
    function = make(sandbox)
    assert function.grant_principal is function.role
