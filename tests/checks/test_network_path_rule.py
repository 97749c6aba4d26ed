"""HaInference-LAMBDA2: a function granted a model or a collection must have a network path to it.

A grant writes IAM only; without ``connections.allow_default_port_from(function)`` on the
endpoints, the app synthesizes, deploys, and its calls time out. One app holds every case, each
in a stack of its own; the pack runs over it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

from ha_inference import (
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    MultiAzFunction,
    MultiAzSageMakerEndpoint,
    SageMakerRuntimeLoadBalancer,
    ShippedHandler,
    VectorCollection,
    handler_code,
)
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from tests.support import ZonalStack, new_app

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"
RULE = "HaInference-LAMBDA2"


@dataclass
class Case:
    """One stack: a VPC with Bedrock and collection endpoints, and a function ``Caller``."""

    stack: ZonalStack
    endpoints: BedrockVpcEndpoints
    collection_endpoint: CollectionVpcEndpoint
    collection: VectorCollection
    profile: CrossRegionInferenceProfile
    caller: MultiAzFunction


def _case(app: cdk.App, name: str, *, role: iam.IRole | None = None) -> Case:
    stack = ZonalStack(app, name, groups=("private",))
    profile = CrossRegionInferenceProfile(stack, "Profile", model_id=MODEL)
    endpoints = BedrockVpcEndpoints(stack, "Bedrock", vpc=stack.vpc, invoke_targets=[profile])
    collection_endpoint = CollectionVpcEndpoint(stack, "CollectionEndpoint", vpc=stack.vpc)
    collection = VectorCollection(
        stack, "Vectors", collection_name=f"{name.lower()}-docs", vpc_endpoint=collection_endpoint
    )
    caller = MultiAzFunction(
        stack,
        "Caller",
        vpc=stack.vpc,
        code=handler_code(),
        handler=ShippedHandler.RETRIEVAL.value,
        role=role,
    )
    return Case(stack, endpoints, collection_endpoint, collection, profile, caller)


def _build(app: cdk.App) -> None:
    # Granted the profile and the collection, admitted nowhere: both paths time out.
    forgotten = _case(app, "Forgotten")
    forgotten.profile.grant_invoke(forgotten.caller)
    forgotten.collection.grant_read(forgotten.caller)

    # The same, wired as the constructs' docs say.
    wired = _case(app, "Wired")
    wired.profile.grant_invoke(wired.caller)
    wired.collection.grant_read(wired.caller)
    wired.endpoints.connections.allow_default_port_from(wired.caller)
    wired.collection_endpoint.connections.allow_default_port_from(wired.caller)

    # Granted through the role the function runs with, admitted on the collection only.
    through_role = _case(app, "ThroughRole")
    role = through_role.caller.function.role
    assert role is not None
    through_role.profile.grant_invoke(role)
    through_role.collection_endpoint.connections.allow_default_port_from(through_role.caller)

    # Admitted by the VPC's whole CIDR block (a literal here): a path, if a wide one.
    by_cidr = _case(app, "ByCidr")
    by_cidr.profile.grant_invoke(by_cidr.caller)
    by_cidr.endpoints.connections.allow_from(ec2.Peer.ipv4("10.0.0.0/16"), ec2.Port.tcp(443))
    by_cidr.caller.connections.allow_to(ec2.Peer.ipv4("10.0.0.0/16"), ec2.Port.tcp(443))

    # Admitted by the VPC's CIDR attribute, a deploy-time value: cannot be judged, no finding.
    by_token = _case(app, "ByToken")
    by_token.profile.grant_invoke(by_token.caller)
    by_token.endpoints.connections.allow_from(
        ec2.Peer.ipv4(by_token.stack.vpc.vpc_cidr_block), ec2.Port.tcp(443)
    )
    by_token.caller.connections.allow_to(
        ec2.Peer.ipv4(by_token.stack.vpc.vpc_cidr_block), ec2.Port.tcp(443)
    )

    # Admitted on the endpoint, but its own group lets nothing out: still no path.
    no_egress = _case(app, "NoEgress")
    no_egress.profile.grant_invoke(no_egress.caller)
    (endpoint_group,) = no_egress.endpoints.connections.security_groups
    endpoint_group.add_ingress_rule(no_egress.caller.security_group, ec2.Port.tcp(443))

    # A function outside any VPC reaches the public endpoints: not this rule's business.
    outside = _case(app, "Outside")
    plain = lambda_.Function(
        outside.stack,
        "Plain",
        runtime=lambda_.Runtime.PYTHON_3_13,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
    )
    outside.profile.grant_invoke(plain)

    # The self-hosted model behind the runtime load balancer: granted, never admitted.
    hosted = ZonalStack(app, "SelfHosted", groups=("private",))
    endpoint = MultiAzSageMakerEndpoint(
        hosted,
        "Model",
        vpc=hosted.vpc,
        image="763104351884.dkr.ecr.us-east-1.amazonaws.com/model:1",
        model_data_url="s3://models-us-east-1/llm/model.tar.gz",
        invocations_per_instance_target=10,
    )
    SageMakerRuntimeLoadBalancer(
        hosted, "Runtime", vpc=hosted.vpc, endpoint_arns=[endpoint.endpoint_arn]
    )
    caller = MultiAzFunction(
        hosted,
        "Caller",
        vpc=hosted.vpc,
        code=handler_code(),
        handler=ShippedHandler.SELF_HOSTED.value,
    )
    endpoint.grant_invoke(caller)


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """Stack name -> the LAMBDA2 findings (rule id with its service) on its ``Caller``."""
    app = new_app(tmp_path_factory.mktemp("paths"))
    _build(app)
    found: dict[str, set[str]] = {}
    for rule, path in findings_of(HaInferenceChecks(), app):
        if rule.startswith(RULE):
            stack, construct = path.split("/", 1)
            assert construct in {"Caller/Resource/Resource", "Plain/Resource"}, path
            found.setdefault(stack, set()).add(rule)
    return found


def test_fails_a_function_granted_a_model_and_a_collection_without_a_path(
    findings: dict[str, set[str]],
) -> None:
    assert findings["Forgotten"] == {f"{RULE}[bedrock-runtime]", f"{RULE}[aoss]"}


def test_passes_the_same_function_once_the_endpoints_admit_it(
    findings: dict[str, set[str]],
) -> None:
    assert "Wired" not in findings


def test_fails_a_grant_made_to_the_functions_role(findings: dict[str, set[str]]) -> None:
    assert findings["ThroughRole"] == {f"{RULE}[bedrock-runtime]"}


def test_passes_a_path_opened_to_a_cidr_block_that_covers_the_function(
    findings: dict[str, set[str]],
) -> None:
    assert "ByCidr" not in findings


def test_never_fails_on_a_deploy_time_cidr_block(findings: dict[str, set[str]]) -> None:
    assert "ByToken" not in findings


def test_fails_when_the_functions_own_group_lets_no_https_out(
    findings: dict[str, set[str]],
) -> None:
    assert findings["NoEgress"] == {f"{RULE}[bedrock-runtime]"}


def test_ignores_functions_outside_a_vpc(findings: dict[str, set[str]]) -> None:
    assert "Outside" not in findings


def test_fails_a_function_granted_a_self_hosted_model_it_cannot_reach(
    findings: dict[str, set[str]],
) -> None:
    assert findings["SelfHosted"] == {f"{RULE}[sagemaker-runtime]"}


def test_acknowledging_the_finding_names_the_service(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    case = _case(app, "Acknowledged")
    case.profile.grant_invoke(case.caller)
    cdk.Validations.of(case.caller).acknowledge(
        cdk.Acknowledgment(
            id=f"{RULE}[bedrock-runtime]",
            reason="this function reaches Bedrock through a proxy the stack does not show",
        )
    )
    assert [r for r, _ in findings_of(HaInferenceChecks(), app) if r.startswith(RULE)] == []
