"""verify: every check against a stubbed deployed stack (pass, fail, access denied, throttling).
No test reaches the network (``no_network``)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ha_inference.compute.shipped import ShippedHandler
from ha_inference.functions.retrieval import NO_PASSAGES_ANSWER
from ha_inference.tools._account import Finding, Status, run_check
from ha_inference.tools.assembly import StackArtifact
from ha_inference.tools.verify import PERMISSIONS, RETRIEVAL_HANDLER, VERIFY
from tests.support.stubs import (
    PHYSICAL,
    REGION,
    STACK,
    ZONES,
    ApiErrorCase,
    Stubs,
    api_error,
    assert_could_not_check,
    findings,
    no_network,  # noqa: F401 - autouse fixture
    only,
    sample_stack,
    sample_subnets,
    sample_template,
    target,
)
from tests.support.verify_answers import (
    IPS,
    SUBNETS,
    answer,
    aoss_endpoint,
    collection,
    deployed,
    endpoint,
    function,
    proxy,
    subnet,
    target_health,
    target_interfaces,
    vpc_endpoint,
)


def check(name: str, stubs: Stubs, *stacks: StackArtifact, **options: Any) -> list[Finding]:
    (found,) = [c for c in VERIFY.checks if c.name == name]
    return run_check(found, target(*stacks, **options), stubs.connector(PERMISSIONS).aws(REGION))


# --------------------------------------------------------------------------- account, stack


def test_account_fails_for_another_account(stubs: Stubs) -> None:
    assert findings(check("account", stubs, sample_stack(account="222222222222"))) == [
        ("fail", STACK)
    ]


def test_stack_passes_when_complete_with_every_resource(stubs: Stubs) -> None:
    deployed(stubs)
    finding = only(check("stack", stubs))
    assert (finding.status, finding.detail) == (Status.PASS, "UPDATE_COMPLETE, 20 resources")


def test_fails_when_the_stack_is_not_deployed(stubs: Stubs) -> None:
    stubs.no_stack()
    finding = only(check("stack", stubs))
    assert (finding.status, finding.detail) == (Status.FAIL, f"no stack {STACK} in us-east-1")


def test_fails_when_the_last_deploy_rolled_back(stubs: Stubs) -> None:
    stubs.stack(PHYSICAL, status="UPDATE_ROLLBACK_COMPLETE")
    finding = only(check("stack", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "the stack is UPDATE_ROLLBACK_COMPLETE",
    )


def test_fails_when_the_deployed_stack_lacks_resources_of_this_assembly(stubs: Stubs) -> None:
    stubs.stack({k: v for k, v in PHYSICAL.items() if k != "Retrieval"})
    finding = only(check("stack", stubs))
    assert finding.status is Status.FAIL
    assert "1 resources of this assembly are not deployed (Retrieval)" in finding.detail


def test_other_checks_skip_a_stack_that_is_not_deployed(stubs: Stubs) -> None:
    stubs.no_stack()
    assert findings(check("collection", stubs)) == [("not applicable", "")]


# --------------------------------------------------------------------------- load balancer


def test_load_balancer_passes_with_a_healthy_target_in_every_az(stubs: Stubs) -> None:
    deployed(stubs)
    target_health(stubs)
    target_interfaces(stubs)
    finding = only(check("load-balancer", stubs))
    assert (finding.status, finding.subject, finding.detail) == (
        Status.PASS,
        "Targets",
        "healthy targets in us-east-1a (1), us-east-1b (1), us-east-1c (1)",
    )


def test_fails_when_an_az_has_no_healthy_target(stubs: Stubs) -> None:
    deployed(stubs)
    target_health(stubs, ("healthy", "healthy", "unhealthy"))
    target_interfaces(stubs)
    finding = only(check("load-balancer", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith(
        "no healthy target in us-east-1c (us-east-1c: unhealthy/Target.Timeout)"
    )


def test_load_balancer_uses_the_azs_it_reports(stubs: Stubs) -> None:
    deployed(stubs)
    stubs("elbv2").add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {
                    "Target": {"Id": ip, "AvailabilityZone": zone},
                    "TargetHealth": {"State": "healthy"},
                }
                for ip, zone in zip(IPS[:2], ZONES[:2], strict=True)
            ]
        },
    )
    finding = only(check("load-balancer", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith("no healthy target in us-east-1c (us-east-1c: no targets)")


def test_load_balancer_never_passes_targets_whose_az_it_cannot_tell(stubs: Stubs) -> None:
    deployed(stubs)
    stubs("elbv2").add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": "i-0abc"}, "TargetHealth": {"State": "healthy"}},
                {
                    "Target": {"Id": IPS[0], "AvailabilityZone": ZONES[0]},
                    "TargetHealth": {"State": "healthy"},
                },
            ]
        },
    )
    finding = only(check("load-balancer", stubs))
    assert finding.status is Status.UNKNOWN
    assert finding.detail.startswith(
        "no healthy target known in us-east-1b, us-east-1c, but healthy targets whose AZ"
    )


# --------------------------------------------------------------------------- SageMaker


def test_endpoint_passes_in_service_with_an_instance_per_az(stubs: Stubs) -> None:
    deployed(stubs)
    endpoint(stubs)
    finding = only(check("sagemaker-endpoint", stubs))
    assert (finding.subject, finding.status, finding.detail) == (
        "llm-endpoint/AllTraffic",
        Status.PASS,
        "InService with 3 instances over 3 AZs (us-east-1a, us-east-1b, us-east-1c)",
    )


def test_fails_with_fewer_instances_than_azs(stubs: Stubs) -> None:
    deployed(stubs)
    endpoint(stubs, instances=2)
    finding = only(check("sagemaker-endpoint", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith("InService with 2 instances for 3 AZs")


def test_fails_when_the_endpoint_is_not_in_service(stubs: Stubs) -> None:
    deployed(stubs)
    endpoint(stubs, status="Failed")
    finding = only(check("sagemaker-endpoint", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "the endpoint is Failed: insufficient capacity",
    )


# --------------------------------------------------------------------------- interface endpoints


def test_interface_endpoints_pass_with_an_eni_in_every_subnet(stubs: Stubs) -> None:
    deployed(stubs)
    vpc_endpoint(stubs)
    aoss_endpoint(stubs)
    assert [(f.status, f.detail) for f in check("interface-endpoint", stubs)] == [
        (Status.PASS, "available, an ENI in each of its 3 subnets"),
        (Status.PASS, "ACTIVE, in all 3 subnets (OpenSearch Serverless manages its ENIs)"),
    ]


def test_fails_when_a_subnet_has_no_endpoint_eni(stubs: Stubs) -> None:
    deployed(stubs)
    vpc_endpoint(stubs, SUBNETS[:2])
    subnet(stubs, "subnet-c", "us-east-1c")
    aoss_endpoint(stubs, "FAILED")
    found = check("interface-endpoint", stubs)
    assert [(f.status, f.detail) for f in found] == [
        (Status.FAIL, "available, but no ENI in subnet-c (us-east-1c)"),
        (Status.FAIL, "the endpoint is FAILED"),
    ]


# --------------------------------------------------------------------------- collection


def test_collection_passes_active_with_standby_replicas(stubs: Stubs) -> None:
    deployed(stubs)
    collection(stubs)
    assert findings(check("collection", stubs)) == [("pass", "vectors")]


def test_fails_without_standby_replicas(stubs: Stubs) -> None:
    deployed(stubs)
    collection(stubs, standby="DISABLED")
    finding = only(check("collection", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "ACTIVE, but standby replicas are DISABLED: one AZ holds the data",
    )


def _encrypted(stack: StackArtifact) -> StackArtifact:
    template = copy.deepcopy(stack.template)
    template["Resources"]["DataKey"] = {"Type": "AWS::KMS::Key", "Properties": {}}
    template["Resources"]["EncryptionPolicy"]["Properties"]["Policy"] = {
        "Fn::Join": [
            "",
            [
                '{"Rules":[{"ResourceType":"collection","Resource":["collection/vectors"]}],'
                '"AWSOwnedKey":false,"KmsARN":"',
                {"Fn::GetAtt": ["DataKey", "Arn"]},
                '"}',
            ],
        ]
    }
    return StackArtifact(**{**stack.__dict__, "template": template})


def test_fails_when_the_collection_is_not_under_the_key_its_policy_names(stubs: Stubs) -> None:
    """A collection created before its encryption policy named the data key keeps its old key
    (OpenSearch Serverless applies the policy to new collections only)."""
    stubs.stack({**PHYSICAL, "DataKey": ("AWS::KMS::Key", "1234abcd-key")})
    stubs("opensearchserverless").add_response(
        "batch_get_collection",
        {
            "collectionDetails": [
                {"id": "coll1234", "status": "ACTIVE", "standbyReplicas": "ENABLED"}
            ]
        },
        {"ids": ["coll1234"]},
    )
    finding = only(check("collection", stubs, _encrypted(sample_stack())))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith(
        "ACTIVE with standby replicas, but encrypted with an AWS owned key, not the key "
        "1234abcd-key its encryption policy names"
    )


def test_collection_under_the_key_its_policy_names_passes(stubs: Stubs) -> None:
    stubs.stack({**PHYSICAL, "DataKey": ("AWS::KMS::Key", "1234abcd-key")})
    stubs("opensearchserverless").add_response(
        "batch_get_collection",
        {
            "collectionDetails": [
                {
                    "id": "coll1234",
                    "status": "ACTIVE",
                    "standbyReplicas": "ENABLED",
                    "kmsKeyArn": "arn:aws:kms:us-east-1:111111111111:key/1234abcd-key",
                }
            ]
        },
        {"ids": ["coll1234"]},
    )
    finding = only(check("collection", stubs, _encrypted(sample_stack())))
    assert (finding.status, finding.detail) == (
        Status.PASS,
        "ACTIVE with standby replicas, encrypted with key 1234abcd-key",
    )


# --------------------------------------------------------------------------- functions


def test_function_passes_with_subnets_in_every_az(stubs: Stubs) -> None:
    deployed(stubs)
    function(stubs)
    finding = only(check("function-vpc", stubs))
    assert (finding.subject, finding.status, finding.detail) == (
        "HaInference-Retrieval-1",
        Status.PASS,
        "Active, subnets in us-east-1a, us-east-1b, us-east-1c (3 subnets)",
    )


def test_fails_when_a_function_misses_an_az(stubs: Stubs) -> None:
    deployed(stubs)
    function(stubs, SUBNETS[:2])
    finding = only(check("function-vpc", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "subnets in us-east-1a, us-east-1b, none in us-east-1c",
    )


def _paths_stacks(outputs: bool = True) -> tuple[StackArtifact, StackArtifact]:
    """A regional stack that publishes its subnets and a ``-CrossRegion`` stack whose function
    runs in them, read through ``Fn::GetStackOutput`` (as the reference app's paths stacks)."""
    published = {
        f"Subnet{zone[-1].upper()}Out": {"Value": {"Ref": f"Subnet{zone[-1].upper()}"}}
        for zone in ZONES
    }
    regional = sample_stack(
        {"Resources": sample_subnets(), **({"Outputs": published} if outputs else {})}
    )
    function = {
        "Type": "AWS::Lambda::Function",
        "Properties": {
            "VpcConfig": {
                "SubnetIds": [
                    {"Fn::GetStackOutput": {"StackName": STACK, "Region": REGION, "OutputName": o}}
                    for o in published
                ]
            }
        },
    }
    paths = sample_stack({"Resources": {"Failover": function}}, name=f"{STACK}-CrossRegion")
    return regional, paths


def _paths_deployed(stubs: Stubs) -> None:
    stubs.stack({"SubnetA": ("AWS::EC2::Subnet", "subnet-a")})
    stubs.stack(
        {"Failover": ("AWS::Lambda::Function", "HaInference-Retrieval-1")},
        name=f"{STACK}-CrossRegion",
    )


def test_a_function_in_another_stacks_subnets_must_cover_that_stacks_azs(stubs: Stubs) -> None:
    """A -CrossRegion stack has no subnets of its own: the AZs its function must cover are
    those of the regional stack's subnets it reads through outputs."""
    _paths_deployed(stubs)
    function(stubs, SUBNETS[:2])
    finding = only(check("function-vpc", stubs, *_paths_stacks()))
    assert (finding.status, finding.detail, finding.stack) == (
        Status.FAIL,
        "subnets in us-east-1a, us-east-1b, none in us-east-1c",
        f"{STACK}-CrossRegion",
    )


def test_a_function_whose_subnets_cannot_be_traced_is_not_passed(stubs: Stubs) -> None:
    _paths_deployed(stubs)
    function(stubs, SUBNETS[:2])
    finding = only(check("function-vpc", stubs, *_paths_stacks(outputs=False)))
    assert finding.status is Status.UNKNOWN
    assert "the AZs it should cover cannot be told from the assembly" in finding.detail


def test_fails_when_a_function_is_not_active(stubs: Stubs) -> None:
    deployed(stubs)
    stubs("lambda").add_response(
        "get_function_configuration",
        {
            "State": "Failed",
            "StateReason": "subnet out of IP addresses",
            "LastUpdateStatus": "Failed",
        },
    )
    finding = only(check("function-vpc", stubs))
    assert finding.status is Status.FAIL
    assert (
        finding.detail == "the function is Failed (last update Failed): subnet out of IP addresses"
    )


# --------------------------------------------------------------------------- the question


def test_question_passes_with_an_answer_and_sources(stubs: Stubs) -> None:
    deployed(stubs)
    answer(stubs, proxy(200, {"answer": "It answers questions [1].", "sources": [{"id": "1"}]}))
    finding = only(check("question", stubs))
    assert (finding.status, finding.detail) == (
        Status.PASS,
        "answered from 1 sources: It answers questions [1].",
    )


def test_question_warns_when_no_documents_are_loaded(stubs: Stubs) -> None:
    deployed(stubs)
    answer(stubs, proxy(200, {"answer": NO_PASSAGES_ANSWER, "sources": []}))
    finding = only(check("question", stubs))
    assert finding.status is Status.WARNING
    assert finding.detail.startswith("embedding and search work, but no passages matched")


@pytest.mark.parametrize(
    ("response", "function_error", "detail"),
    [
        (
            proxy(502, {"error": "a dependency refused the request (AccessDenied)"}),
            None,
            "HTTP 502: a dependency refused the request (AccessDenied)",
        ),
        (
            {"errorMessage": "Task timed out after 60.00 seconds"},
            "Unhandled",
            "the function failed (Unhandled): Task timed out after 60.00 seconds",
        ),
        (
            proxy(200, {"answer": "I made this up."}),
            None,
            "HTTP 200 without sources: I made this up.",
        ),
        (
            ["not", "a", "proxy", "response"],
            None,
            "an answer that is not the documented proxy response: ",
        ),
    ],
)
def test_fails_when_the_question_is_not_answered(
    stubs: Stubs, response: Any, function_error: str | None, detail: str
) -> None:
    deployed(stubs)
    answer(stubs, response, function_error=function_error)
    finding = only(check("question", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith(detail)


def test_question_says_when_an_organization_policy_refused_bedrock(stubs: Stubs) -> None:
    """The retrieval handler names an SCP denial (never its ARNs); verify prints the remedy."""
    deployed(stubs)
    error = (
        "Bedrock refused the request or answered badly (AccessDeniedException, an explicit deny "
        "in a service control policy)"
    )
    answer(stubs, proxy(502, {"error": error, "dependency": "bedrock"}))
    finding = only(check("question", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith(f"HTTP 502: {error}: an AWS Organizations policy refused")
    assert "'ha-inference scp cdk.out' prints the statements" in finding.fix


def test_question_only_asks_retrieval_functions(stubs: Stubs) -> None:
    template = sample_template()
    template["Resources"]["Retrieval"]["Properties"]["Handler"] = "app.handler"
    deployed(stubs)
    assert findings(check("question", stubs, sample_stack(template))) == [("not applicable", "")]


def test_retrieval_handler_is_the_shipped_one() -> None:
    assert ShippedHandler.RETRIEVAL.value == RETRIEVAL_HANDLER


# --------------------------------------------------------------------------- API errors, per check

Setup = Callable[[Stubs], None]


def _nothing(stubs: Stubs) -> None:
    return None


API_ERRORS: dict[str, ApiErrorCase] = {
    "stack": (
        _nothing,
        "cloudformation",
        "describe_stacks",
        "cloudformation:DescribeStacks",
        _nothing,
    ),
    "load-balancer": (
        deployed,
        "elbv2",
        "describe_target_health",
        "elasticloadbalancing:DescribeTargetHealth",
        _nothing,
    ),
    "sagemaker-endpoint": (
        deployed,
        "sagemaker",
        "describe_endpoint",
        "sagemaker:DescribeEndpoint",
        _nothing,
    ),
    "interface-endpoint": (
        deployed,
        "ec2",
        "describe_vpc_endpoints",
        "ec2:DescribeVpcEndpoints",
        aoss_endpoint,
    ),
    "collection": (
        deployed,
        "opensearchserverless",
        "batch_get_collection",
        "aoss:BatchGetCollection",
        _nothing,
    ),
    "function-vpc": (
        deployed,
        "lambda",
        "get_function_configuration",
        "lambda:GetFunctionConfiguration",
        _nothing,
    ),
    "question": (deployed, "lambda", "invoke", "lambda:InvokeFunction", _nothing),
}


def test_every_check_that_calls_aws_has_an_api_error_case() -> None:
    assert set(API_ERRORS) == {c.name for c in VERIFY.checks} - {"account"}


@pytest.mark.parametrize("throttle", [False, True], ids=["access-denied", "throttled"])
@pytest.mark.parametrize("name", sorted(API_ERRORS))
def test_api_errors_are_could_not_check_naming_the_action(
    stubs: Stubs, name: str, throttle: bool
) -> None:
    action = api_error(stubs, API_ERRORS[name], throttle=throttle)
    assert_could_not_check(check(name, stubs), action, stubs, throttled=throttle)
