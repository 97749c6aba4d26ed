"""The Custom Model Import custom resource (provider framework onEvent and isComplete).

A real boto3 ``bedrock`` client answered by ``botocore.stub.Stubber``: every call is checked
against the service model (names, patterns, required fields), and nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from ha_inference.functions import model_import as index
from ha_inference.functions.resilience import Backoff, Deadline

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


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


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


def job(status: str, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "jobArn": JOB_ARN,
        "jobName": name,
        "importedModelName": index.model_of_job(name),
        "status": status,
        "roleArn": ROLE,
        "modelDataSource": {"s3DataSource": {"s3Uri": SOURCE}},
        **fields,
    }


# ---------------------------------------------------------------------------------------- names


def test_names_fit_bedrock_limits() -> None:
    """A 45-character prefix still gives a model name and a job name of at most 63."""
    properties = {**PROPERTIES, "ImportedModelName": "a" * 45}
    model = index.model_name(properties)
    name = index.job_name(model, event("Create"))
    assert len(model) == 54 and len(name) == 63
    assert index.model_of_job(name) == model


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


def test_create_starts_an_idempotent_import_job(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    request = event("Create")
    expected_job = index.job_name(MODEL, request)
    not_found(stubber, "get_imported_model", {"modelIdentifier": MODEL})
    stubber.add_response(
        "create_model_import_job",
        {"jobArn": JOB_ARN},
        {
            "jobName": expected_job,
            "importedModelName": MODEL,
            "roleArn": ROLE,
            "modelDataSource": {"s3DataSource": {"s3Uri": SOURCE}},
            "clientRequestToken": ANY,
        },
    )
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
        {
            "jobName": index.job_name(model, request),
            "importedModelName": model,
            "roleArn": ROLE,
            "modelDataSource": {"s3DataSource": {"s3Uri": SOURCE}},
            "clientRequestToken": ANY,
            "importedModelKmsKeyId": KEY,
        },
    )
    index.handle_event(request, None, importer=importer)


def test_create_retries_throttling_with_the_same_token(
    bedrock: tuple[Any, Stubber], importer: index.Importer, slept: list[float]
) -> None:
    """A retried CreateModelImportJob carries the same clientRequestToken: no second job."""
    _, stubber = bedrock
    request = event("Create")
    token = hashlib.sha256(f"{STACK_ID}/Llm20BDA581/{request['RequestId']}".encode()).hexdigest()
    params = {
        "jobName": index.job_name(MODEL, request),
        "importedModelName": MODEL,
        "roleArn": ROLE,
        "modelDataSource": {"s3DataSource": {"s3Uri": SOURCE}},
        "clientRequestToken": token[:32],
    }
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
    result = index.check_complete(event("Create", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": True, "Data": {"ModelArn": MODEL_ARN, "ModelName": MODEL}}


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


def test_update_with_a_new_source_imports_a_new_model(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """New physical id: CloudFormation deletes the old model after the update."""
    _, stubber = bedrock
    old_job = index.job_name(MODEL, event("Create"))
    request = event(
        "Update",
        RequestId="9f1c2b3a-aaaa-bbbb-cccc-000000000002",
        PhysicalResourceId=old_job,
        OldResourceProperties={"ServiceToken": "arn:token", **PROPERTIES},
    )
    request["ResourceProperties"]["S3Uri"] = NEW_SOURCE
    new_model = index.model_name(request["ResourceProperties"])
    new_job = index.job_name(new_model, request)
    not_found(stubber, "get_imported_model", {"modelIdentifier": new_model})
    stubber.add_response(
        "create_model_import_job",
        {"jobArn": JOB_ARN},
        {
            "jobName": new_job,
            "importedModelName": new_model,
            "roleArn": ROLE,
            "modelDataSource": {"s3DataSource": {"s3Uri": NEW_SOURCE}},
            "clientRequestToken": ANY,
        },
    )
    result = index.handle_event(request, None, importer=importer)
    assert result == {"PhysicalResourceId": new_job}
    assert new_job != old_job and new_model != MODEL


def test_update_without_a_new_source_keeps_the_model(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """A new import role (or only a new template) keeps the physical id, and the waiter still
    answers the model's ARN (GetAtt after an update reads the new response's Data)."""
    _, stubber = bedrock
    old_job = index.job_name(MODEL, event("Create"))
    request = event(
        "Update",
        PhysicalResourceId=old_job,
        OldResourceProperties={"ServiceToken": "arn:token", **PROPERTIES},
    )
    request["ResourceProperties"]["RoleArn"] = ROLE + "-new"
    stubber.add_response(
        "get_imported_model",
        {"modelArn": MODEL_ARN, "modelName": MODEL, "jobName": old_job},
        {"modelIdentifier": MODEL},
    )
    assert index.handle_event(request, None, importer=importer) == {"PhysicalResourceId": old_job}
    stubber.add_response(
        "get_model_import_job",
        job("Completed", old_job, importedModelArn=MODEL_ARN),
        {"jobIdentifier": old_job},
    )
    done = index.check_complete({**request, "PhysicalResourceId": old_job}, None, importer=importer)
    assert done["Data"]["ModelArn"] == MODEL_ARN


def test_update_rolled_back_uses_the_model_it_had(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    """The rollback of a failed source change asks for the old source again: its model still
    exists (CloudFormation deletes replaced resources only after a successful update), so it is
    used as it is, under the physical id it had, and nothing is imported."""
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
        "get_imported_model",
        {"modelArn": MODEL_ARN, "modelName": MODEL, "jobName": original_job},
        {"modelIdentifier": MODEL},
    )
    assert index.handle_event(rollback, None, importer=importer) == {
        "PhysicalResourceId": original_job
    }


def test_update_imports_again_a_model_deleted_by_hand(
    bedrock: tuple[Any, Stubber], importer: index.Importer
) -> None:
    _, stubber = bedrock
    old_job = index.job_name(MODEL, event("Create"))
    request = event("Update", RequestId="u-3", PhysicalResourceId=old_job)
    not_found(stubber, "get_imported_model", {"modelIdentifier": MODEL})
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
    stubber.add_response("delete_imported_model", {}, {"modelIdentifier": MODEL_ARN})
    assert index.handle_event(event("Delete", PhysicalResourceId=name), None) == {
        "PhysicalResourceId": name
    }
    result = index.check_complete(event("Delete", PhysicalResourceId=name), None, importer=importer)
    assert result == {"IsComplete": True}


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
