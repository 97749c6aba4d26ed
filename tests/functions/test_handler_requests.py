"""Every request a shipped handler sends to AWS, and the SDK call of the templates'
``AwsCustomResource``, passes botocore's service model strictly: required members, types,
patterns, lengths, ranges, enums (``tests/support/botocore_strict.py``).

Which requests a handler sends is read from its source: every botocore operation name (a
method called on a client, or the name handed to a helper) of the services each module talks
to. One scenario per handler sends them all through real botocore clients, recorded; a new call
in a handler that no scenario sends fails :func:`test_every_operation_a_handler_names_is_sent`.
The collection's data-plane requests (``aoss.py``, plain signed HTTP) have no botocore model:
``tests/functions/test_aoss.py`` and the handler tests check their signature and bodies instead.
"""

from __future__ import annotations

import ast
import io
import json
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import botocore
import pytest
from botocore.credentials import Credentials
from botocore.stub import Stubber

from ha_inference.compute.shipped import FUNCTIONS_DIR
from ha_inference.functions import agent_client, keep_warm, model_import, retrieval, self_hosted
from ha_inference.functions.failover import Route
from ha_inference.functions.resilience import Backoff, Deadline
from ha_inference.functions.store import Doubles, Store
from ha_inference.functions.vector_index import IndexDefinition
from tests.support import Synth
from tests.support.botocore_strict import (
    Recording,
    operation_model,
    recording,
    service_model,
    strict_errors,
)
from tests.support.collection_stub import ScriptedClient
from tests.support.endpoint_targets import (
    IPS,
    PID,
    TARGET_GROUP,
    Stubbed,
    event,
    handler,
    targets_of,
)

SERVICES_OF_MODULE: dict[str, tuple[str, ...]] = {
    "model_import": ("bedrock",),
    "embeddings": ("bedrock-runtime",),
    "retrieval": ("bedrock-runtime",),
    "keep_warm": ("bedrock-runtime",),
    "failover": ("sagemaker-runtime",),
    "endpoint_targets": ("ec2", "elbv2"),
    "agent_client": ("bedrock-agentcore",),
}
"""The AWS services each shipped module calls through botocore."""

ACCOUNT = "111111111111"
STACK_ID = (
    f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/Subject/5b6c7d8e-0000-1111-2222-333344445555"
)
MODEL_ARN = f"arn:aws:bedrock:us-east-1:{ACCOUNT}:imported-model/abcdefgh1234"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Subject-LlmImportRole-1A2B3C"


# --- what the handlers name --------------------------------------------------------------------


@cache
def python_operations(service: str) -> dict[str, str]:
    """``{python name: API name}`` of a service's operations."""
    model = service_model(service)
    return {botocore.xform_name(name): name for name in model.operation_names}


def named_operations(path: Path, services: tuple[str, ...]) -> set[tuple[str, str]]:
    """The operations of ``services`` a module's source names: attributes it calls and string
    constants (what ``getattr(client, operation)`` helpers are handed). A call that also names
    one of the services (``_call("elbv2", "describe_tags")``) names that service's operation
    only (EC2 has a DescribeTags too)."""
    tree = ast.parse(path.read_text())
    found: set[tuple[str, str]] = set()
    placed: set[int] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        constants = [a for a in node.args if isinstance(a, ast.Constant)]
        named = [a.value for a in constants if a.value in services]
        for service in named:
            for arg in constants:
                if arg.value in python_operations(service):
                    found.add((service, python_operations(service)[arg.value]))
                    placed.add(id(arg))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in placed
        ):
            names.add(node.value)
    for service in services:
        for name in names & set(python_operations(service)):
            found.add((service, python_operations(service)[name]))
    return found


def modules_that_build_clients() -> set[str]:
    """The modules with a ``boto3.client(...)`` call in their code."""

    def builds(path: Path) -> bool:
        return any(
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "client"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "boto3"
            for node in ast.walk(ast.parse(path.read_text()))
        )

    return {path.stem for path in FUNCTIONS_DIR.glob("*.py") if builds(path)}


def test_every_module_that_calls_aws_is_listed_with_its_services() -> None:
    """A new handler module that builds a botocore client must be added to the table above."""
    assert modules_that_build_clients() <= set(SERVICES_OF_MODULE)
    for module in SERVICES_OF_MODULE:
        assert (FUNCTIONS_DIR / f"{module}.py").is_file(), module


def all_named_operations() -> set[tuple[str, str]]:
    named: set[tuple[str, str]] = set()
    for module, services in SERVICES_OF_MODULE.items():
        named |= named_operations(FUNCTIONS_DIR / f"{module}.py", services)
    return named


def test_the_scan_finds_the_calls_it_must() -> None:
    """The source scan is no vacuous check: it sees the calls made each way the handlers make
    them (a method on a client, a name handed to a helper, one per service)."""
    named = all_named_operations()
    assert {
        ("bedrock", "CreateModelImportJob"),
        ("bedrock", "TagResource"),
        ("bedrock-runtime", "Converse"),
        ("bedrock-runtime", "InvokeModel"),
        ("sagemaker-runtime", "InvokeEndpoint"),
        ("ec2", "DescribeNetworkInterfaces"),
        ("elbv2", "RemoveTags"),
    } <= named


# --- one scenario per handler, every request recorded ------------------------------------------


def drive_model_import() -> None:
    """Update that imports a new model (tagging the untagged current one), its completion
    check, and a Delete."""
    bedrock = ScriptedClient("bedrock")
    importer = model_import.Importer(
        Deadline.after(60.0), client=lambda deadline: bedrock.client, backoff=Backoff()
    )
    properties = {
        "ServiceToken": "arn:token",
        "ImportedModelName": "support_llm",
        "S3Uri": "s3://models-us-east-1/llm/",
        "RoleArn": ROLE,
        "ImportedModelKmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
        "RequireConverse": "true",
    }
    old_job = "support-llm-0a0b0c0d-11111111"
    request = {
        "RequestType": "Update",
        "RequestId": "9f1c2b3a-aaaa-bbbb-cccc-000000000002",
        "StackId": STACK_ID,
        "LogicalResourceId": "Llm20BDA581",
        "PhysicalResourceId": old_job,
        "ResourceProperties": properties,
    }
    completed = {"jobName": old_job, "status": "Completed", "importedModelArn": MODEL_ARN}
    bedrock.then("GetImportedModel", ("error", "ResourceNotFoundException", 404))
    bedrock.then("GetModelImportJob", completed)
    bedrock.then("ListTagsForResource", {"tags": []})
    bedrock.then("TagResource", {})
    bedrock.then("CreateModelImportJob", {"jobArn": "arn"})
    job = model_import.handle_event(request, None, importer=importer)["PhysicalResourceId"]

    bedrock.then("GetModelImportJob", {**completed, "jobName": job})
    bedrock.then("GetImportedModel", {"modelArn": MODEL_ARN, "instructSupported": True})
    model_import.check_complete({**request, "PhysicalResourceId": job}, None, importer=importer)
    bedrock.then("GetModelImportJob", {**completed, "jobName": job})
    bedrock.then("DeleteImportedModel", {})
    model_import.check_complete(
        {**request, "RequestType": "Delete", "PhysicalResourceId": job}, None, importer=importer
    )
    bedrock.assert_done()


class _Answer(io.BytesIO):
    status = 200
    headers: dict[str, str] = {}


def drive_retrieval_and_keep_warm() -> None:
    """A question answered (InvokeModel for the embedding, Converse) with Bedrock service tiers
    set on both calls, and a keep-warm call."""
    bedrock = ScriptedClient("bedrock-runtime")
    bedrock.then("InvokeModel", {"embedding": [0.5] * 256})
    bedrock.then(
        "Converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "ok"}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2},
            "metrics": {"latencyMs": 1},
        },
    )
    hits = {"hits": {"hits": [{"_id": "a", "_score": 1.0, "_source": {"text": "t"}}]}}
    config = retrieval.Settings(
        model_id=MODEL_ARN,
        store=Store(
            collection_endpoint="https://abc123.us-east-1.aoss.amazonaws.com",
            embedding_model_id="amazon.titan-embed-text-v2:0",
            region="us-east-1",
            index=IndexDefinition(dimension=256),
            embedding_service_tier="flex",
        ),
        service_tier="priority",
    )
    answer = retrieval.Retriever(
        config,
        doubles=Doubles(
            bedrock=lambda _: bedrock.client,
            credentials=lambda: Credentials("AKIDEXAMPLE", "secret", "token"),
            urlopen=lambda request, timeout: _Answer(json.dumps(hits).encode()),
        ),
    ).handle({"question": "How?"})
    assert answer["statusCode"] == 200, answer
    bedrock.then("Converse", ("error", "ModelNotReadyException", 429))
    assert (
        keep_warm.keep_warm(MODEL_ARN, Deadline.after(30.0), client=lambda _: bedrock.client)
        is False
    )
    bedrock.assert_done()


def drive_self_hosted() -> None:
    sagemaker = ScriptedClient("sagemaker-runtime")
    sagemaker.then("InvokeEndpoint", [{"generated_text": "Hi"}])
    routes = (Route("us-east-1", "Subject-SelfHosted-Endpoint-1A2B3C4D"),)
    answer = self_hosted.SelfHosted(
        self_hosted.Settings(routes=routes), clients=lambda region, config: sagemaker.client
    ).handle({"inputs": "Hello", "parameters": {"max_new_tokens": 8}})
    assert answer["statusCode"] == 200, answer
    sagemaker.assert_done()


def drive_agent_client() -> None:
    """A question asked of an agent runtime (InvokeAgentRuntime)."""
    agentcore = ScriptedClient("bedrock-agentcore")
    agentcore.then("InvokeAgentRuntime", {"answer": "ok", "complete": True, "sources": []})
    answer = agent_client.AgentClient(
        agent_client.Settings(
            runtime_arn=f"arn:aws:bedrock-agentcore:us-east-1:{ACCOUNT}:runtime/agent-a1B2c3D4e5"
        ),
        client_factory=lambda _: agentcore.client,
    ).handle({"question": "How?"}, None)
    assert answer["statusCode"] == 200, answer
    agentcore.assert_done()


def drive_endpoint_targets(aws: Stubbed) -> None:
    """A Create that registers, claims and deregisters a stale target, then a Delete."""
    aws.describe_enis()
    aws.target_health([])
    aws.expect("register_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of(*IPS)})
    claim = " ".join(f"{ip}:443" for ip in IPS)
    aws.expect(
        "add_tags",
        {"ResourceArns": [TARGET_GROUP], "Tags": [{"Key": f"ha-inference:{PID}", "Value": claim}]},
    )
    aws.tags({PID: claim})
    aws.target_health([(ip, 443) for ip in IPS] + [("10.0.9.9", 443)])
    aws.expect(
        "deregister_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of("10.0.9.9")}
    )
    handler(aws)[0].handle(event("Create"))
    aws.tags({PID: claim})
    aws.expect("deregister_targets", {"TargetGroupArn": TARGET_GROUP, "Targets": targets_of(*IPS)})
    aws.expect("remove_tags", {"ResourceArns": [TARGET_GROUP], "TagKeys": [f"ha-inference:{PID}"]})
    handler(aws)[0].handle(event("Delete", physical_id=PID))


def drive_endpoint_targets_stubbed() -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    with Stubber(ec2) as ec2_stub, Stubber(elbv2) as elbv2_stub:
        drive_endpoint_targets(Stubbed(ec2, elbv2, ec2_stub, elbv2_stub))
        ec2_stub.assert_no_pending_responses()
        elbv2_stub.assert_no_pending_responses()


@pytest.fixture(scope="module")
def sent() -> Iterator[Recording]:
    """Every request the four scenarios send."""
    scenarios: list[Callable[[], None]] = [
        drive_model_import,
        drive_retrieval_and_keep_warm,
        drive_self_hosted,
        drive_agent_client,
        drive_endpoint_targets_stubbed,
    ]
    with pytest.MonkeyPatch.context() as patch:
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(key, "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        with recording() as found:
            for scenario in scenarios:
                scenario()
        yield found


def test_every_request_the_handlers_send_passes_the_service_model(sent: Recording) -> None:
    assert sent.sent, "the scenarios sent requests"
    assert [(s.service, s.operation, s.errors) for s in sent.refused()] == []


def test_every_operation_a_handler_names_is_sent(sent: Recording) -> None:
    assert all_named_operations() <= sent.operations()


# --- the templates' AwsCustomResource ------------------------------------------------------------

SDK_V3_SERVICES = {"EC2": "ec2"}
"""The AWS SDK for JavaScript v3 client names the templates' SDK calls use, as botocore names
them (the provider's Lambda runs the JavaScript SDK; both read the same service models)."""


def sdk_calls(template: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """``(logical id and event, botocore service, API operation, parameters)`` of every
    ``Custom::AWS`` resource's Create, Update and Delete call."""
    calls = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "Custom::AWS":
            continue
        for key in ("Create", "Update", "Delete"):
            text = resource["Properties"].get(key)
            if text is None:
                continue
            assert isinstance(text, str), f"{logical_id}.{key} is not literal JSON: {text}"
            call = json.loads(text)
            service = SDK_V3_SERVICES.get(call["service"], call["service"].lower())
            action = call["action"][0].upper() + call["action"][1:]
            calls.append((f"{logical_id}.{key}", service, action, call.get("parameters", {})))
    return calls


def strict_sdk_errors(calls: list[tuple[str, str, str, dict[str, Any]]]) -> list[str]:
    errors = []
    for where, service, action, parameters in calls:
        try:
            operation_model(service, action)
        except Exception:
            errors.append(f"{where}: {service} has no operation {action}")
            continue
        errors += [f"{where}: {e}" for e in strict_errors(service, action, parameters)]
    return errors


def test_the_prefix_list_lookup_passes_the_service_model(reference: Synth) -> None:
    calls = [c for region in reference.regions for c in sdk_calls(reference.template(region))]
    assert {(service, action) for _, service, action, _ in calls} == {
        ("ec2", "DescribeManagedPrefixLists")
    }
    assert len(calls) == 2 * len(reference.regions), "Create and Update in every Region"
    assert strict_sdk_errors(calls) == []


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"Filters": "prefix-list-name"}, "params.Filters: must be a list"),
        ({"MaxResults": 500}, "params.MaxResults: value 500 is above the maximum 100"),
        ({"Filter": []}, "params: unknown member Filter"),
    ],
)
def test_the_sdk_call_check_fails_a_broken_call(
    reference: Synth, change: dict[str, Any], error: str
) -> None:
    template = json.loads(json.dumps(reference.template(reference.regions[0])))
    for resource in template["Resources"].values():
        if resource["Type"] == "Custom::AWS":
            call = json.loads(resource["Properties"]["Create"])
            call["parameters"] = {**call["parameters"], **change}
            resource["Properties"]["Create"] = json.dumps(call)
    errors = strict_sdk_errors(sdk_calls(template))
    assert any(error in e for e in errors), errors


def test_the_sdk_call_check_fails_an_action_the_service_lacks(reference: Synth) -> None:
    template = json.loads(json.dumps(reference.template(reference.regions[0])))
    for resource in template["Resources"].values():
        if resource["Type"] == "Custom::AWS":
            call = json.loads(resource["Properties"]["Update"])
            resource["Properties"]["Update"] = json.dumps({**call, "action": "describePrefixList"})
    errors = strict_sdk_errors(sdk_calls(template))
    assert any("ec2 has no operation DescribePrefixList" in e for e in errors), errors
