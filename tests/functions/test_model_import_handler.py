"""The Custom Model Import custom resource (provider framework onEvent and isComplete).

A real boto3 ``bedrock`` client answered by ``botocore.stub.Stubber`` (or, where the network
must fail, by a script behind ``before-send``): every request is checked against the service
model, patterns and lengths included (``tests/support/botocore_strict.py``), and nothing leaves the
machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import ANY, Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from ha_inference.bedrock.imported_model import NAME_PREFIX_MAX, S3_URI
from ha_inference.functions import model_import as index
from ha_inference.functions.resilience import MIN_CALL_SECONDS, Backoff, Deadline
from tests.support.botocore_strict import (
    strict_errors,
)
from tests.support.clock import FakeClock
from tests.support.collection_stub import ScriptedClient

pytestmark = pytest.mark.usefixtures("fake_credentials", "requests_the_service_accepts")

REGION = "us-east-1"
ACCOUNT = "111111111111"
PREFIX = "Subject-Llm-BD734EF5"
SOURCE = "s3://my-models-us-east-1/llama/support/"
NEW_SOURCE = "s3://my-models-us-east-1/llama/support-v2/"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Subject-LlmImportRole-1A2B3C"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
MODEL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/abcdefgh1234"
OLD_MODEL_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/zyxwvuts9876"
JOB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:model-import-job/0123456789ab"
STACK_ID = (
    f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/Subject/5b6c7d8e-0000-1111-2222-333344445555"
)

PROPERTIES = {"ImportedModelName": PREFIX, "S3Uri": SOURCE, "RoleArn": ROLE}


def _hex8(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]


MODEL = f"{PREFIX}-{_hex8(SOURCE + chr(10))}"
"""The model name the handler derives from PROPERTIES (prefix, then the source and no key)."""


def event(request_type: str, **fields: Any) -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "RequestId": fields.pop("RequestId", "9f1c2b3a-aaaa-bbbb-cccc-000000000001"),
        "StackId": STACK_ID,
        "LogicalResourceId": "Llm20BDA581",
        "ResourceType": "Custom::BedrockImportedModel",
        "ResourceProperties": {"ServiceToken": "arn:token", **PROPERTIES},
        **fields,
    }


OWNER_TAGS = [
    {"key": "ha-inference:stack-id", "value": STACK_ID},
    {"key": "ha-inference:logical-id", "value": "Llm20BDA581"},
]


@pytest.fixture
def bedrock() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("bedrock", region_name=REGION)
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def importer(bedrock: tuple[Any, Stubber], slept: list[float]) -> index.Importer:
    client, _ = bedrock
    return index.Importer(
        Deadline.after(60.0),
        client=lambda deadline: client,
        backoff=Backoff(max_attempts=3, sleep=slept.append, jitter=lambda low, high: high),
    )


def not_found(stubber: Stubber, operation: str, params: dict[str, Any]) -> None:
    stubber.add_client_error(
        operation,
        service_error_code="ResourceNotFoundException",
        service_message="The specified resource was not found.",
        http_status_code=404,
        expected_params=params,
    )


def job(status: str, name: str, model: str = MODEL, **fields: Any) -> dict[str, Any]:
    return {
        "jobArn": JOB_ARN,
        "jobName": name,
        "importedModelName": model,
        "status": status,
        "roleArn": ROLE,
        "modelDataSource": {"s3DataSource": {"s3Uri": SOURCE}},
        **fields,
    }


def imported(name: str = MODEL, arn: str = MODEL_ARN, **fields: Any) -> dict[str, Any]:
    """GetImportedModel's answer."""
    return {"modelArn": arn, "modelName": name, "jobArn": JOB_ARN, **fields}


def create_params(request: dict[str, Any], model: str = MODEL, **fields: Any) -> dict[str, Any]:
    return {
        "jobName": index.job_name(model, request),
        "importedModelName": model,
        "roleArn": ROLE,
        "modelDataSource": {"s3DataSource": {"s3Uri": SOURCE}},
        "importedModelTags": OWNER_TAGS,
        "clientRequestToken": ANY,
        **fields,
    }


# ---------------------------------------------------------------------------------------- names


def test_names_fit_bedrock_limits() -> None:
    """A 45-character prefix still gives a model name and a job name of at most 63."""
    properties = {**PROPERTIES, "ImportedModelName": "a" * 45}
    model = index.model_name(properties)
    name = index.job_name(model, event("Create"))
    assert len(model) == 54 and len(name) == 63
    assert index.is_job_name(name)


@pytest.mark.parametrize("prefix", ["llama3_support", "a_b_c", "x" * 43 + "_y", "Qwen2_5-7b"])
def test_a_model_name_with_underscores_gives_a_job_name_bedrock_accepts(prefix: str) -> None:
    """Bedrock's model-name pattern allows ``_``, its job-name pattern does not: the job name
    writes ``-`` for it, and the whole request passes the service model."""
    request = event("Create")
    request["ResourceProperties"]["ImportedModelName"] = prefix
    model = index.model_name(request["ResourceProperties"])
    name = index.job_name(model, request)
    assert "_" not in name and index.is_job_name(name)
    params = {**create_params(request, model), "clientRequestToken": "0" * 32}
    assert strict_errors("bedrock", "CreateModelImportJob", params) == []


@pytest.mark.parametrize("prefix", ["a" * 46, "a__b", "a-", "_a", "a b", "a.b"])
def test_fails_a_name_prefix_bedrock_would_refuse(prefix: str) -> None:
    request = event("Create")
    request["ResourceProperties"]["ImportedModelName"] = prefix
    with pytest.raises(
        index.ModelImportError, match=r"^resource property ImportedModelName must be 1-45"
    ):
        index.handle_event(
            request, None, importer=index.Importer(Deadline.after(60.0), client=no_call)
        )


def no_call(deadline: Deadline) -> Any:
    raise AssertionError("a request that cannot succeed must not reach Bedrock")


S3_FOLDERS = st.from_regex(S3_URI, fullmatch=True).filter(lambda uri: len(uri) <= 1024)
PREFIXES = st.from_regex(r"[0-9a-zA-Z]([_-]?[0-9a-zA-Z]){0,44}", fullmatch=True).filter(
    lambda name: len(name) <= NAME_PREFIX_MAX
)


@settings(max_examples=60, deadline=None)
@given(
    prefix=PREFIXES,
    source=S3_FOLDERS,
    key=st.none() | st.just(KEY),
    stack=st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,127}", fullmatch=True),
    logical_id=st.from_regex(r"[A-Za-z0-9]{1,255}", fullmatch=True),
    request_id=st.uuids(),
)
def test_every_name_the_construct_accepts_gives_requests_bedrock_accepts(
    *, prefix: str, source: str, key: str | None, stack: str, logical_id: str, request_id: Any
) -> None:
    """Any prefix and source the construct lets through, any stack and logical id: the
    CreateModelImportJob, GetModelImportJob, GetImportedModel, ListTagsForResource and
    TagResource requests the handler builds pass the service model's patterns and lengths."""
    properties = {**PROPERTIES, "ImportedModelName": prefix, "S3Uri": source}
    if key:
        properties["ImportedModelKmsKeyId"] = key
    request = {
        **event("Create", RequestId=str(request_id)),
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/{request_id}",
        "LogicalResourceId": logical_id,
        "ResourceProperties": properties,
    }
    model = index.model_name(properties)
    name = index.job_name(model, request)
    params = {
        **create_params(request, model),
        "modelDataSource": {"s3DataSource": {"s3Uri": source}},
        "importedModelTags": index.owner_tags(request),
        "clientRequestToken": index._request_hash(request)[:32],
        **({"importedModelKmsKeyId": key} if key else {}),
    }
    assert strict_errors("bedrock", "CreateModelImportJob", params) == []
    assert strict_errors("bedrock", "GetModelImportJob", {"jobIdentifier": name}) == []
    assert strict_errors("bedrock", "GetImportedModel", {"modelIdentifier": model}) == []
    tags = {"resourceARN": MODEL_ARN, "tags": index.owner_tags(request)}
    assert strict_errors("bedrock", "TagResource", tags) == []
    assert strict_errors("bedrock", "ListTagsForResource", {"resourceARN": MODEL_ARN}) == []


def test_a_new_source_or_key_is_a_new_model_name() -> None:
    assert index.model_name(PROPERTIES) == MODEL
    assert index.model_name({**PROPERTIES, "S3Uri": NEW_SOURCE}) != MODEL
    assert index.model_name({**PROPERTIES, "ImportedModelKmsKeyId": KEY}) != MODEL
    # The role is not part of the name: a new import role alone imports nothing again.
    assert index.model_name({**PROPERTIES, "RoleArn": ROLE + "2"}) == MODEL


def test_job_names_differ_per_request() -> None:
    first = index.job_name(MODEL, event("Create", RequestId="r-1"))
    again = index.job_name(MODEL, event("Create", RequestId="r-1"))
    other = index.job_name(MODEL, event("Create", RequestId="r-2"))
    assert first == again != other


def test_redact_removes_arns_and_account_ids() -> None:
    text = f"role {ROLE} cannot read s3://b/k in {ACCOUNT}"
    assert index.redact(text) == "role <arn> cannot read s3://b/k in <account>"


# --------------------------------------------------------------------------------------- create


def test_create_starts_an_idempotent_import_job_tagged_with_its_owner(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    request = event("Create")
    expected_job = index.job_name(MODEL, request)
    not_found(stubber, "get_imported_model", {"modelIdentifier": MODEL})
    stubber.add_response("create_model_import_job", {"jobArn": JOB_ARN}, create_params(request))
    result = index.handle_event(request, None, importer=importer)
    assert result == {"PhysicalResourceId": expected_job}


def test_create_passes_the_customer_managed_key(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    request = event("Create")
    request["ResourceProperties"]["ImportedModelKmsKeyId"] = KEY
    model = index.model_name(request["ResourceProperties"])
    not_found(stubber, "get_imported_model", {"modelIdentifier": model})
    stubber.add_response(
        "create_model_import_job",
        {"jobArn": JOB_ARN},
        create_params(request, model, importedModelKmsKeyId=KEY),
    )
    index.handle_event(request, None, importer=importer)


def test_create_retries_throttling_with_the_same_token(
    bedrock: tuple[Any, Stubber], importer: index.Importer, slept: list[float]
) -> None:
    """A retried CreateModelImportJob carries the same clientRequestToken: no second job."""
    _, stubber = bedrock
    request = event("Create")
    token = hashlib.sha256(f"{STACK_ID}/Llm20BDA581/{request['RequestId']}".encode()).hexdigest()
    params = create_params(request, clientRequestToken=token[:32])
    not_found(stubber, "get_imported_model", {"modelIdentifier": MODEL})
    stubber.add_client_error(
        "create_model_import_job",
        service_error_code="ThrottlingException",
        http_status_code=429,
        expected_params=params,
    )
    stubber.add_response("create_model_import_job", {"jobArn": JOB_ARN}, params)
    index.handle_event(request, None, importer=importer)
    assert slept == [0.25]


# --- answers lost: the job may have started ----------------------------------------------------

TIMEOUT = ReadTimeoutError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")


def scripted_importer(bedrock: ScriptedClient, slept: list[float]) -> index.Importer:
    return index.Importer(
        Deadline.after(60.0),
        client=lambda deadline: bedrock.client,
        backoff=Backoff(max_attempts=3, sleep=slept.append, jitter=lambda low, high: high),
    )


def test_create_carries_on_with_a_job_that_started_although_every_answer_was_lost(
    slept: list[float],
) -> None:
    """CreateModelImportJob went through but each answer was lost: rather than fail while the
    job runs on (an orphaned model that blocks the next deploy), the handler finds the job and
    follows it."""
    bedrock = ScriptedClient("bedrock")
    request = event("Create")
    name = index.job_name(MODEL, request)
    bedrock.then("GetImportedModel", ("error", "ResourceNotFoundException", 404))
    bedrock.then("CreateModelImportJob", TIMEOUT, TIMEOUT, TIMEOUT)
    bedrock.then("GetModelImportJob", job("InProgress", name))

    result = index.handle_event(request, None, importer=scripted_importer(bedrock, slept))

    assert result == {"PhysicalResourceId": name}
    assert bedrock.calls == [
        "GetImportedModel",
        "CreateModelImportJob",
        "CreateModelImportJob",
        "CreateModelImportJob",
        "GetModelImportJob",
    ]
    bedrock.assert_done()


def test_create_fails_when_the_answers_were_lost_and_no_job_started(slept: list[float]) -> None:
    bedrock = ScriptedClient("bedrock")
    bedrock.then("GetImportedModel", ("error", "ResourceNotFoundException", 404))
    bedrock.then("CreateModelImportJob", TIMEOUT, TIMEOUT, TIMEOUT)
    bedrock.then("GetModelImportJob", ("error", "ResourceNotFoundException", 404))
    with pytest.raises(
        index.ModelImportError,
        match=r"^starting import job \S+ failed \(network failure\) and Bedrock has no such job",
    ):
        index.handle_event(event("Create"), None, importer=scripted_importer(bedrock, slept))
    bedrock.assert_done()


def test_create_says_what_to_check_when_bedrock_cannot_be_asked_about_the_job(
    slept: list[float],
) -> None:
    bedrock = ScriptedClient("bedrock")
    request = event("Create")
    name = index.job_name(MODEL, request)
    bedrock.then("GetImportedModel", ("error", "ResourceNotFoundException", 404))
    bedrock.then("CreateModelImportJob", TIMEOUT, TIMEOUT, TIMEOUT)
    unreachable = EndpointConnectionError(endpoint_url="https://bedrock.us-east-1.amazonaws.com")
    bedrock.then("GetModelImportJob", unreachable, unreachable, unreachable)
    with pytest.raises(index.ModelImportError) as caught:
        index.handle_event(request, None, importer=scripted_importer(bedrock, slept))
    assert f"if job {name} appears" in str(caught.value)
    assert "delete the model it makes" in str(caught.value)


def test_create_carries_on_when_a_lost_attempt_took_the_job_name(slept: list[float]) -> None:
    """The first attempt started the job and its answer was lost; the retry is told the name
    is taken (ConflictException): that job is this request's."""
    bedrock = ScriptedClient("bedrock")
    request = event("Create")
    name = index.job_name(MODEL, request)
    bedrock.then("GetImportedModel", ("error", "ResourceNotFoundException", 404))
    bedrock.then("CreateModelImportJob", TIMEOUT, ("error", "ConflictException", 409))
    bedrock.then("GetModelImportJob", job("InProgress", name))
    assert index.handle_event(request, None, importer=scripted_importer(bedrock, slept)) == {
        "PhysicalResourceId": name
    }


def test_create_refuses_a_model_name_that_exists(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """A retained model of a deleted stack is never adopted: two stacks must not share it."""
    _, stubber = bedrock
    stubber.add_response(
        "get_imported_model",
        {"modelArn": MODEL_ARN, "modelName": MODEL, "jobName": "someone-else"},
        {"modelIdentifier": MODEL},
    )
    with pytest.raises(index.ModelImportError, match=r"already exists") as caught:
        index.handle_event(event("Create"), None, importer=importer)
    assert "delete-imported-model" in str(caught.value)


def test_create_fails_with_a_short_message_without_arns(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    not_found(stubber, "get_imported_model", {"modelIdentifier": MODEL})
    stubber.add_client_error(
        "create_model_import_job",
        service_error_code="AccessDeniedException",
        service_message=f"User is not authorized to perform iam:PassRole on {ROLE} " + "x" * 3000,
        http_status_code=403,
    )
    with pytest.raises(index.ModelImportError, match=r"^Create failed: AccessDenied") as caught:
        index.handle_event(event("Create"), None, importer=importer)
    message = str(caught.value)
    assert "arn:" not in message and ACCOUNT not in message
    assert len(message.encode()) <= index.MAX_MESSAGE_BYTES


def test_fails_on_a_missing_property(importer: index.Importer) -> None:
    request = event("Create")
    del request["ResourceProperties"]["S3Uri"]
    with pytest.raises(index.ModelImportError, match=r"resource property S3Uri must be"):
        index.handle_event(request, None, importer=importer)


# ----------------------------------------------------------------------------------------- wait


def test_wait_while_the_job_is_in_progress(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response("get_model_import_job", job("InProgress", name), {"jobIdentifier": name})
    result = index.check_complete(event("Create", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": False}


def test_wait_ends_with_the_model_arn(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job("Completed", name, importedModelArn=MODEL_ARN),
        {"jobIdentifier": name},
    )
    stubber.add_response(
        "get_imported_model", imported(instructSupported=True), {"modelIdentifier": MODEL_ARN}
    )
    result = index.check_complete(event("Create", PhysicalResourceId=name), None, importer=importer)
    assert result == {
        "IsComplete": True,
        "Data": {"ModelArn": MODEL_ARN, "ModelName": MODEL, "ConverseSupported": "true"},
    }


def test_a_model_that_cannot_chat_fails_the_deploy_when_converse_is_required(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """Converse needs a chat template, and some architectures are served through InvokeModel
    only: such an import would deploy and every question would then answer 502. Bedrock says
    so when the import completes (instructSupported), and the deploy fails with the reason."""
    _, stubber = bedrock
    request = event("Create", PhysicalResourceId=index.job_name(MODEL, event("Create")))
    request["ResourceProperties"]["RequireConverse"] = "true"
    name = request["PhysicalResourceId"]
    stubber.add_response("get_model_import_job", job("Completed", name, importedModelArn=MODEL_ARN))
    stubber.add_response(
        "get_imported_model",
        imported(instructSupported=False, modelArchitecture="qwen2_5"),
        {"modelIdentifier": MODEL_ARN},
    )
    with pytest.raises(index.ModelImportError) as caught:
        index.check_complete(request, None, importer=importer)
    message = str(caught.value)
    assert message.startswith(
        f"the imported model {MODEL} does not support the Converse API (Bedrock reports "
        "instructSupported false for qwen2_5 architecture"
    )
    assert "set require_converse=False and call it with InvokeModel" in message


@pytest.mark.parametrize(
    ("required", "supported", "answer"),
    [("false", False, "false"), (None, False, "false"), ("true", None, "unknown")],
)
def test_converse_support_is_reported_when_it_is_not_required_or_not_known(
    bedrock: tuple[Any, Stubber],
    importer: index.Importer,
    required: str | None,
    supported: bool | None,
    answer: str,
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    request = event("Create", PhysicalResourceId=name)
    if required is not None:
        request["ResourceProperties"]["RequireConverse"] = required
    stubber.add_response("get_model_import_job", job("Completed", name, importedModelArn=MODEL_ARN))
    fields = {} if supported is None else {"instructSupported": supported}
    stubber.add_response("get_imported_model", imported(**fields))
    result = index.check_complete(request, None, importer=importer)
    assert result["Data"]["ConverseSupported"] == answer


def test_fails_a_require_converse_that_is_not_a_boolean(importer: index.Importer) -> None:
    request = event("Create", PhysicalResourceId="job-1")
    request["ResourceProperties"]["RequireConverse"] = "yes"
    with pytest.raises(index.ModelImportError, match=r"RequireConverse must be 'true' or 'false'"):
        index.check_complete(request, None, importer=importer)


def test_wait_fails_when_the_completed_jobs_model_is_gone(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response("get_model_import_job", job("Completed", name, importedModelArn=MODEL_ARN))
    not_found(stubber, "get_imported_model", {"modelIdentifier": MODEL_ARN})
    with pytest.raises(index.ModelImportError, match=r"completed but its model is gone"):
        index.check_complete(event("Create", PhysicalResourceId=name), None, importer=importer)


def test_wait_raises_the_failure_message_of_a_failed_job(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job(
            "Failed",
            name,
            failureMessage=f"Model architecture MambaForCausalLM is not supported ({ROLE})",
        ),
        {"jobIdentifier": name},
    )
    with pytest.raises(
        index.ModelImportError,
        match=r"failed: Model architecture MambaForCausalLM is not supported \(<arn>\); check",
    ):
        index.check_complete(event("Create", PhysicalResourceId=name), None, importer=importer)


def test_wait_fails_on_a_completed_job_without_a_model(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """GetAtt ModelArn would fail later and less clearly; the deploy fails here, saying why."""
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response("get_model_import_job", job("Completed", name), {"jobIdentifier": name})
    with pytest.raises(index.ModelImportError, match=r"completed but names no imported model"):
        index.check_complete(event("Create", PhysicalResourceId=name), None, importer=importer)


def test_wait_asks_again_when_bedrock_keeps_throttling(
    bedrock: tuple[Any, Stubber], importer: index.Importer, slept: list[float]
) -> None:
    """A throttled poll is not a failed deploy: the waiter asks again at its next interval."""
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    for _ in range(3):
        stubber.add_client_error(
            "get_model_import_job", service_error_code="ThrottlingException", http_status_code=429
        )
    result = index.check_complete(event("Create", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": False}
    assert slept == [0.25, 0.5]


class Context:
    """A Lambda context whose remaining time follows ``clock`` (the function's 2 minutes)."""

    def __init__(self, clock: FakeClock, seconds: float = 120.0) -> None:
        self.clock, self.ends = clock, clock.now + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(max(0.0, self.ends - self.clock.now) * 1000)


@pytest.mark.parametrize("fault", ["hangs", "throttles"])
def test_each_completion_check_spends_at_most_a_few_seconds_on_bedrock(fault: str) -> None:
    """Under sustained throttling or a hanging control plane a check answers "not yet" within
    CHECK_SECONDS, rather than spend its two minutes in retries: at a 30 s interval, 101 checks
    then fit in the time CloudFormation gives the resource beyond the waiter's timeout."""
    clock = FakeClock()
    bedrock = ScriptedClient("bedrock")
    configs: list[Any] = []

    def client(deadline: Deadline) -> Any:
        config = index.client_config(deadline)
        configs.append(config)
        return bedrock.client

    def answer() -> Any:
        if fault == "hangs":
            config = configs[-1]
            clock.now += config.connect_timeout + config.read_timeout
            return TIMEOUT
        clock.now += 0.05
        return ("error", "ThrottlingException", 429)

    bedrock.otherwise = lambda operation: answer
    result = index.check_complete(
        event("Create", PhysicalResourceId=index.job_name(MODEL, event("Create"))),
        Context(clock),
        client=client,
        backoff=Backoff(max_attempts=3, base_delay=0.25, max_delay=1.0, sleep=clock.sleep),
        clock=clock,
    )
    assert result == {"IsComplete": False}
    assert clock.now <= index.CHECK_SECONDS
    assert bedrock.calls and set(bedrock.calls) == {"GetModelImportJob"}


def test_failed_create_then_rollback_delete_leaves_nothing(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """The Delete CloudFormation sends for the failed create finds a failed job: no model to
    delete, and it succeeds without calling DeleteImportedModel."""
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job("Failed", name, failureMessage="config.json not found"),
        {"jobIdentifier": name},
    )
    result = index.check_complete(event("Delete", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": True}


# --------------------------------------------------------------------------------------- update


def update(
    physical_id: str, request_id: str = "9f1c2b3a-aaaa-bbbb-cccc-000000000002", **changes: Any
) -> dict[str, Any]:
    request = event(
        "Update",
        RequestId=request_id,
        PhysicalResourceId=physical_id,
        OldResourceProperties={"ServiceToken": "arn:token", **PROPERTIES},
    )
    request["ResourceProperties"].update(changes)
    return request


def test_update_with_a_new_source_imports_a_new_model(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """New physical id: CloudFormation deletes the old model after the update. The current
    model already carries its owner tags, so nothing is tagged."""
    _, stubber = bedrock
    old_job = index.job_name(MODEL, event("Create"))
    request = update(old_job, S3Uri=NEW_SOURCE)
    new_model = index.model_name(request["ResourceProperties"])
    new_job = index.job_name(new_model, request)
    not_found(stubber, "get_imported_model", {"modelIdentifier": new_model})
    stubber.add_response(
        "get_model_import_job",
        job("Completed", old_job, importedModelArn=OLD_MODEL_ARN),
        {"jobIdentifier": old_job},
    )
    stubber.add_response(
        "list_tags_for_resource", {"tags": OWNER_TAGS}, {"resourceARN": OLD_MODEL_ARN}
    )
    stubber.add_response(
        "create_model_import_job",
        {"jobArn": JOB_ARN},
        {
            **create_params(request, new_model),
            "modelDataSource": {"s3DataSource": {"s3Uri": NEW_SOURCE}},
        },
    )
    result = index.handle_event(request, None, importer=importer)
    assert result == {"PhysicalResourceId": new_job}
    assert new_job != old_job and new_model != MODEL


def test_update_tags_an_untagged_current_model_before_importing_a_new_one(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """A model imported by an earlier version of the handler has no owner tags: the update that
    moves away from it tags it first, so that a rollback to it can adopt it."""
    _, stubber = bedrock
    old_job = index.job_name(MODEL, event("Create"))
    request = update(old_job, S3Uri=NEW_SOURCE)
    new_model = index.model_name(request["ResourceProperties"])
    not_found(stubber, "get_imported_model", {"modelIdentifier": new_model})
    stubber.add_response(
        "get_model_import_job", job("Completed", old_job, importedModelArn=OLD_MODEL_ARN)
    )
    stubber.add_response("list_tags_for_resource", {"tags": []}, {"resourceARN": OLD_MODEL_ARN})
    stubber.add_response("tag_resource", {}, {"resourceARN": OLD_MODEL_ARN, "tags": OWNER_TAGS})
    stubber.add_response("create_model_import_job", {"jobArn": JOB_ARN})
    assert index.handle_event(request, None, importer=importer)["PhysicalResourceId"] == (
        index.job_name(new_model, request)
    )


def test_update_without_a_new_source_keeps_the_model(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """A new import role (or only a new template) keeps the physical id, and the waiter still
    answers the model's ARN (GetAtt after an update reads the new response's Data)."""
    _, stubber = bedrock
    old_job = index.job_name(MODEL, event("Create"))
    request = update(old_job, RoleArn=ROLE + "-new")
    stubber.add_response(
        "get_imported_model", imported(jobName=old_job), {"modelIdentifier": MODEL}
    )
    stubber.add_response("list_tags_for_resource", {"tags": OWNER_TAGS}, {"resourceARN": MODEL_ARN})
    assert index.handle_event(request, None, importer=importer) == {"PhysicalResourceId": old_job}
    stubber.add_response(
        "get_model_import_job",
        job("Completed", old_job, importedModelArn=MODEL_ARN),
        {"jobIdentifier": old_job},
    )
    stubber.add_response("get_imported_model", imported(jobName=old_job))
    done = index.check_complete({**request, "PhysicalResourceId": old_job}, None, importer=importer)
    assert done["Data"]["ModelArn"] == MODEL_ARN


def test_update_rolled_back_uses_the_model_it_had(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """The rollback of a failed source change asks for the old source again: its model still
    exists (CloudFormation deletes replaced resources only after a successful update) and its
    owner tags name this resource, so it is used as it is, under the physical id it had, and
    nothing is imported."""
    _, stubber = bedrock
    original_job = index.job_name(MODEL, event("Create"))
    failed_job = index.job_name(
        index.model_name({**PROPERTIES, "S3Uri": NEW_SOURCE}), event("Update", RequestId="u-1")
    )
    rollback = event(
        "Update",
        RequestId="u-2",
        PhysicalResourceId=failed_job,
        OldResourceProperties={"ServiceToken": "arn:token", **PROPERTIES, "S3Uri": NEW_SOURCE},
    )
    stubber.add_response(
        "get_imported_model", imported(jobName=original_job), {"modelIdentifier": MODEL}
    )
    stubber.add_response("list_tags_for_resource", {"tags": OWNER_TAGS}, {"resourceARN": MODEL_ARN})
    assert index.handle_event(rollback, None, importer=importer) == {
        "PhysicalResourceId": original_job
    }


OTHER_STACK = STACK_ID.replace("stack/Subject/5b6c7d8e", "stack/Subject-Staging/0a0b0c0d")


@pytest.mark.parametrize(
    "tags",
    [
        [{"key": "ha-inference:stack-id", "value": OTHER_STACK}, OWNER_TAGS[1]],
        [OWNER_TAGS[0], {"key": "ha-inference:logical-id", "value": "OtherModel1234"}],
        [],
        [{"key": "team", "value": "ml"}],
    ],
    ids=["another-stack", "another-resource", "untagged", "unrelated-tags"],
)
def test_update_never_adopts_a_model_another_resource_owns(
    bedrock: tuple[Any, Stubber], importer: index.Importer, tags: list[dict[str, str]]
) -> None:
    """Stack B's update must not take stack A's model of the same name as its own: deleting B
    would then delete A's live model. Only a model whose owner tags name this stack and logical
    id is adopted; any other is refused, as Create refuses."""
    _, stubber = bedrock
    current = index.job_name(index.model_name({**PROPERTIES, "S3Uri": NEW_SOURCE}), event("Create"))
    request = update(current)
    stubber.add_response(
        "get_imported_model", imported(jobName="Subject-Llm-BD734EF5-16bd3627-0a0b0c0d")
    )
    stubber.add_response("list_tags_for_resource", {"tags": tags}, {"resourceARN": MODEL_ARN})
    with pytest.raises(
        index.ModelImportError, match=r"already exists .* and is not this resource's"
    ):
        index.handle_event(request, None, importer=importer)


def test_update_imports_again_a_model_deleted_by_hand(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    old_job = index.job_name(MODEL, event("Create"))
    request = event("Update", RequestId="u-3", PhysicalResourceId=old_job)
    not_found(stubber, "get_imported_model", {"modelIdentifier": MODEL})
    stubber.add_response(
        "get_model_import_job", job("Completed", old_job, importedModelArn=MODEL_ARN)
    )
    not_found(stubber, "list_tags_for_resource", {"resourceARN": MODEL_ARN})
    stubber.add_response("create_model_import_job", {"jobArn": JOB_ARN})
    result = index.handle_event(request, None, importer=importer)
    assert result["PhysicalResourceId"] == index.job_name(MODEL, request) != old_job


# --------------------------------------------------------------------------------------- delete


def test_delete_removes_the_model_its_job_made(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job("Completed", name, importedModelArn=MODEL_ARN),
        {"jobIdentifier": name},
    )
    stubber.add_response("list_tags_for_resource", {"tags": OWNER_TAGS}, {"resourceARN": MODEL_ARN})
    stubber.add_response("delete_imported_model", {}, {"modelIdentifier": MODEL_ARN})
    assert index.handle_event(event("Delete", PhysicalResourceId=name), None) == {
        "PhysicalResourceId": name
    }
    result = index.check_complete(event("Delete", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": True}


def test_delete_tags_a_model_imported_before_owner_tags_then_deletes_it(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """The role may delete only models whose owner tags name this resource: a model imported
    by an earlier version of the handler (no tags) is tagged with its owner first."""
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job("Completed", name, importedModelArn=MODEL_ARN),
        {"jobIdentifier": name},
    )
    stubber.add_response("list_tags_for_resource", {"tags": []}, {"resourceARN": MODEL_ARN})
    stubber.add_response("tag_resource", {}, {"resourceARN": MODEL_ARN, "tags": OWNER_TAGS})
    stubber.add_response("delete_imported_model", {}, {"modelIdentifier": MODEL_ARN})
    result = index.check_complete(event("Delete", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": True}


def test_delete_refused_for_another_owners_model_fails_saying_so(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """A model whose owner tags name another resource is neither tagged over nor deleted: the
    role's aws:ResourceTag condition refuses, and the Delete fails with what to do."""
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job("Completed", name, importedModelArn=MODEL_ARN),
        {"jobIdentifier": name},
    )
    foreign = [{"key": "ha-inference:stack-id", "value": "arn:aws:cloudformation:other"}]
    stubber.add_response("list_tags_for_resource", {"tags": foreign}, {"resourceARN": MODEL_ARN})
    stubber.add_client_error(
        "delete_imported_model", service_error_code="AccessDeniedException", http_status_code=403
    )
    with pytest.raises(index.ModelImportError, match="may delete only models whose owner tags"):
        index.check_complete(event("Delete", PhysicalResourceId=name), None, importer=importer)


def test_delete_of_a_model_already_gone_succeeds(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job("Completed", name, importedModelArn=OLD_MODEL_ARN),
        {"jobIdentifier": name},
    )
    not_found(stubber, "list_tags_for_resource", {"resourceARN": OLD_MODEL_ARN})
    not_found(stubber, "delete_imported_model", {"modelIdentifier": OLD_MODEL_ARN})
    result = index.check_complete(event("Delete", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": True}


def test_delete_of_a_job_that_never_started_succeeds(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    not_found(stubber, "get_model_import_job", {"jobIdentifier": name})
    result = index.check_complete(event("Delete", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": True}


def test_delete_waits_for_a_job_still_running(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """The rollback of a create that timed out: the job goes on, so the Delete waits for it and
    then deletes its model, rather than leaving a model behind."""
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response("get_model_import_job", job("InProgress", name), {"jobIdentifier": name})
    assert index.check_complete(
        event("Delete", PhysicalResourceId=name), None, importer=importer
    ) == {"IsComplete": False}


def test_delete_keeps_trying_a_busy_model(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    name = index.job_name(MODEL, event("Create"))
    stubber.add_response(
        "get_model_import_job",
        job("Completed", name, importedModelArn=MODEL_ARN),
        {"jobIdentifier": name},
    )
    stubber.add_response("list_tags_for_resource", {"tags": OWNER_TAGS}, {"resourceARN": MODEL_ARN})
    stubber.add_client_error(
        "delete_imported_model", service_error_code="ConflictException", http_status_code=409
    )
    assert index.check_complete(
        event("Delete", PhysicalResourceId=name), None, importer=importer
    ) == {"IsComplete": False}


def test_delete_of_a_failed_create_marker_calls_nothing(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """onEvent never changes the physical id of a Delete (the framework would refuse it)."""
    marker = "AWSCDK::CustomResourceProviderFramework::CREATE_FAILED"
    assert index.handle_event(event("Delete", PhysicalResourceId=marker), None) == {
        "PhysicalResourceId": marker
    }


# --- whatever Bedrock answers: one outcome, in time, never a success it did not earn ----------


class FakeBedrock:
    """Bedrock's import state (models and jobs) behind a client whose calls can fail: each call
    takes the next fault (``None``: it behaves). ``lost`` applies the call, then loses the
    answer; ``hang`` waits out the call's timeouts (on the fake clock) and is not applied."""

    def __init__(self, clock: FakeClock, faults: list[str | None], instruct: bool | None) -> None:
        self.clock = clock
        self.faults = list(faults)
        self.instruct = instruct
        self.models: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.config: Any = None

    def client(self, deadline: Deadline) -> FakeBedrock:
        self.config = index.client_config(deadline)
        return self

    def _fault(self, operation: str, params: dict[str, Any]) -> str | None:
        """The next fault; every request is checked against the service model first."""
        assert not strict_errors("bedrock", operation, params), (operation, params)
        fault = self.faults.pop(0) if self.faults else None
        if fault == "hang":
            self.clock.now += self.config.connect_timeout + self.config.read_timeout
            raise TIMEOUT
        self.clock.now += 0.05
        if fault in {"throttle", "denied"}:
            code, status = {
                "throttle": ("ThrottlingException", 429),
                "denied": ("AccessDeniedException", 403),
            }[fault]
            raise ClientError(
                {
                    "Error": {"Code": code, "Message": f"{code} for {ROLE}"},
                    "ResponseMetadata": {"HTTPStatusCode": status},
                },
                operation,
            )
        return fault

    def _answer(self, fault: str | None, result: dict[str, Any]) -> dict[str, Any]:
        if fault == "lost":
            raise TIMEOUT
        return result

    def _missing(self, operation: str) -> ClientError:
        return ClientError(
            {"Error": {"Code": "ResourceNotFoundException", "Message": "x"}}, operation
        )

    def _model(self, identifier: str) -> dict[str, Any] | None:
        return next(
            (m for m in self.models.values() if identifier in (m["modelName"], m["modelArn"])), None
        )

    def get_imported_model(self, **params: Any) -> dict[str, Any]:
        fault = self._fault("GetImportedModel", params)
        model = self._model(params["modelIdentifier"])
        if model is None:
            raise self._missing("GetImportedModel")
        fields = {} if self.instruct is None else {"instructSupported": self.instruct}
        return self._answer(fault, {**{k: v for k, v in model.items() if k != "tags"}, **fields})

    def list_tags_for_resource(self, **params: Any) -> dict[str, Any]:
        fault = self._fault("ListTagsForResource", params)
        model = self._model(params["resourceARN"])
        if model is None:
            raise self._missing("ListTagsForResource")
        return self._answer(fault, {"tags": list(model["tags"])})

    @staticmethod
    def _denied(operation: str) -> ClientError:
        return ClientError(
            {
                "Error": {"Code": "AccessDeniedException", "Message": "x"},
                "ResponseMetadata": {"HTTPStatusCode": 403},
            },
            operation,
        )

    def tag_resource(self, **params: Any) -> dict[str, Any]:
        """As the handler's role allows it: only the owner tags naming this resource, on a
        model without owner tags or with this resource's (StringEqualsIfExists)."""
        fault = self._fault("TagResource", params)
        model = self._model(params["resourceARN"])
        if model is None:
            raise self._missing("TagResource")
        if params["tags"] != OWNER_TAGS or _foreign_owner(model["tags"]):
            raise self._denied("TagResource")
        model["tags"] = [*model["tags"], *params["tags"]]
        return self._answer(fault, {})

    def create_model_import_job(self, **params: Any) -> dict[str, Any]:
        fault = self._fault("CreateModelImportJob", params)
        name = params["jobName"]
        if name in self.jobs:
            if self.jobs[name]["token"] != params["clientRequestToken"]:
                raise ClientError(
                    {"Error": {"Code": "ConflictException", "Message": "x"}}, "CreateModelImportJob"
                )
        else:
            self.jobs[name] = {
                "jobName": name,
                "importedModelName": params["importedModelName"],
                "status": "InProgress",
                "token": params["clientRequestToken"],
                "tags": params.get("importedModelTags", []),
            }
        return self._answer(fault, {"jobArn": JOB_ARN})

    def get_model_import_job(self, **params: Any) -> dict[str, Any]:
        fault = self._fault("GetModelImportJob", params)
        job = self.jobs.get(params["jobIdentifier"])
        if job is None:
            raise self._missing("GetModelImportJob")
        return self._answer(fault, {k: v for k, v in job.items() if k not in {"token", "tags"}})

    def delete_imported_model(self, **params: Any) -> dict[str, Any]:
        fault = self._fault("DeleteImportedModel", params)
        model = self._model(params["modelIdentifier"])
        if model is None:
            raise self._missing("DeleteImportedModel")
        if not all(tag in model["tags"] for tag in OWNER_TAGS):
            raise self._denied("DeleteImportedModel")  # the role's aws:ResourceTag condition
        del self.models[model["modelName"]]
        return self._answer(fault, {})

    def finish(self, outcome: str) -> None:
        """Every running job ends: ``Completed`` (its model appears) or ``Failed``."""
        for n, job in enumerate(self.jobs.values()):
            if job["status"] != "InProgress":
                continue
            job["status"] = outcome
            if outcome == "Completed":
                arn = f"arn:aws:bedrock:{REGION}:{ACCOUNT}:imported-model/{n:012d}"
                job["importedModelArn"] = arn
                self.models[job["importedModelName"]] = {
                    "modelArn": arn,
                    "modelName": job["importedModelName"],
                    "jobName": job["jobName"],
                    "tags": job["tags"],
                }


def _foreign_owner(tags: list[dict[str, str]]) -> bool:
    """Whether ``tags`` name another resource as the owner."""
    found = {t["key"]: t["value"] for t in tags}
    return any(found.get(t["key"], t["value"]) != t["value"] for t in OWNER_TAGS)


FAULTS = st.lists(
    st.sampled_from([None, None, None, "throttle", "denied", "lost", "hang"]), max_size=8
)
OWNERS = st.sampled_from(["none", "this", "another-stack", "untagged"])


@settings(max_examples=150, deadline=None)
@given(
    request_type=st.sampled_from(["Create", "Update"]),
    existing=OWNERS,
    faults=FAULTS,
    ends=st.sampled_from(["Completed", "Failed", "InProgress"]),
    instruct=st.sampled_from([True, False, None]),
    require=st.booleans(),
)
def test_a_deploy_answers_once_in_time_and_never_claims_work_not_done(
    *,
    request_type: str,
    existing: str,
    faults: list[str | None],
    ends: str,
    instruct: bool | None,
    require: bool,
) -> None:
    clock = FakeClock()
    bedrock = FakeBedrock(clock, faults, instruct)
    request = event(request_type, PhysicalResourceId="Subject-Llm-BD734EF5-00000000-11111111")
    request["ResourceProperties"]["RequireConverse"] = "true" if require else "false"
    if existing != "none":
        tags = {
            "this": OWNER_TAGS,
            "another-stack": [{**OWNER_TAGS[0], "value": OTHER_STACK}, OWNER_TAGS[1]],
            "untagged": [],
        }[existing]
        bedrock.models[MODEL] = {
            "modelArn": MODEL_ARN,
            "modelName": MODEL,
            "jobName": "someone-0a0b0c0d",
            "tags": tags,
        }
    budget = 120.0

    def within_budget(run: Callable[[], Any]) -> Any:
        started = clock.now
        try:
            return run()
        except index.ModelImportError as err:
            message = str(err)
            assert message and len(message.encode()) <= index.MAX_MESSAGE_BYTES
            assert "arn:" not in message and ACCOUNT not in message
            return err
        finally:
            assert clock.now - started <= budget - index.RESERVE_SECONDS + MIN_CALL_SECONDS

    jobs_before = set(bedrock.jobs)
    started = within_budget(
        lambda: index.handle_event(
            request, Context(clock, budget), client=bedrock.client, backoff=fast(clock), clock=clock
        )
    )
    if isinstance(started, Exception):
        return
    job = started["PhysicalResourceId"]
    if request_type == "Create":
        assert existing == "none", "Create never takes a model that exists"
    else:
        assert existing in {"none", "this"}, "Update never adopts another resource's model"
    if existing == "this":
        assert job == "someone-0a0b0c0d", "the adopted model's own job is the physical id"
        return
    assert job in bedrock.jobs and job not in jobs_before, "a physical id names a job started"
    assert bedrock.jobs[job]["tags"] == OWNER_TAGS, "every import is tagged with its owner"
    bedrock.finish(ends)
    bedrock.faults = list(faults)
    checked = within_budget(
        lambda: index.check_complete(
            {**request, "PhysicalResourceId": job},
            Context(clock, budget),
            client=bedrock.client,
            backoff=fast(clock),
            clock=clock,
        )
    )
    if isinstance(checked, Exception) or not checked["IsComplete"]:
        return
    state = bedrock.jobs.get(job)
    assert state is not None and state["status"] == "Completed", "complete only for a completed job"
    assert checked["Data"]["ModelArn"] == state["importedModelArn"]
    assert not (require and instruct is False), "a model that cannot chat never completes"


@settings(max_examples=100, deadline=None)
@given(status=st.sampled_from(["Completed", "Failed", "InProgress", "absent"]), faults=FAULTS)
def test_a_delete_is_complete_only_once_the_model_is_gone(
    status: str, faults: list[str | None]
) -> None:
    clock = FakeClock()
    bedrock = FakeBedrock(clock, faults, True)
    name = "Subject-Llm-BD734EF5-00000000-11111111"
    if status != "absent":
        bedrock.jobs[name] = {
            "jobName": name,
            "importedModelName": MODEL,
            "status": "InProgress",
            "token": "t",
            "tags": OWNER_TAGS,
        }
        if status != "InProgress":
            bedrock.finish(status)
    try:
        result = index.check_complete(
            event("Delete", PhysicalResourceId=name),
            Context(clock, 120.0),
            client=bedrock.client,
            backoff=fast(clock),
            clock=clock,
        )
    except index.ModelImportError as err:
        assert "arn:" not in str(err)
        result = None
    assert clock.now <= index.CHECK_SECONDS + MIN_CALL_SECONDS
    if result and result["IsComplete"]:
        assert not bedrock.models, "complete only once the job's model is gone"


def fast(clock: FakeClock) -> Backoff:
    return Backoff(max_attempts=5, base_delay=0.5, max_delay=8.0, sleep=clock.sleep)
