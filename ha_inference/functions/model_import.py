"""CloudFormation custom resource: imports a model into Amazon Bedrock (Custom Model Import).

Handlers: ``model_import.on_event`` and ``model_import.is_complete``, the ``onEvent`` and
``isComplete`` handlers of aws-cdk-lib's ``custom_resources.Provider``. The framework answers
CloudFormation: SUCCESS with what ``is_complete`` returns once it says ``IsComplete``, FAILED with
the message of what either handler raises (capped at :data:`MAX_MESSAGE_BYTES` bytes of UTF-8,
ARNs and account ids removed; details go to the log), and FAILED "Operation timed out" when the
waiter's total timeout passes first.

Resource properties: ``ImportedModelName`` (a name prefix), ``S3Uri`` (the Hugging Face model
folder), ``RoleArn`` (the role Bedrock assumes to read it) and, optionally,
``ImportedModelKmsKeyId``.

Names. The imported model is ``<ImportedModelName>-<8 hex of S3Uri and key>``, so a new source or
key gives a new model that can live beside the old one until CloudFormation deletes the old one,
and going back to a source gives back its name. The import job is ``<model name>-<8 hex of the
CloudFormation request>`` (job names stay taken, also by failed jobs); the job name is the
physical resource id, so each physical id stands for exactly the model its job made.

* Create: refuses when a model of that name already exists (left by a stack deleted with
  ``RETAIN``, or made by hand), so that two stacks never share one model; otherwise
  ``CreateModelImportJob`` with an idempotency token from the request, so a retried call does
  not start a second job. ``is_complete`` polls ``GetModelImportJob``: ``InProgress`` waits,
  ``Completed`` answers ``Data`` ``ModelArn`` and ``ModelName``, ``Failed`` raises with the
  job's failure message (a failed job leaves no model, so the Delete that CloudFormation sends
  on rollback has nothing to remove).
* Update: the same model name (only ``RoleArn`` or nothing changed) keeps the physical id when
  the model is still there, and imports it again when it was deleted by hand. A new model name
  starts a new import (new physical id: CloudFormation deletes the old model after the update),
  unless a model of that name exists: then it is the model this resource had before (an update
  rolled back, or a cleanup that failed), and it is used again as it is.
* Delete: waits while the job is still running (a rollback after a timed-out create), then
  ``DeleteImportedModel`` on the model the job made. A job or model that is already gone is
  success.

Calls are bounded by the invocation's time left and retried while they fail transiently
(``resilience.py``); ``is_complete`` answers "not yet" rather than failing when Bedrock keeps
throttling, so the waiter asks again at its next interval.

Environment: ``AWS_REGION`` (set by Lambda). Permissions: ``bedrock:CreateModelImportJob``,
``GetModelImportJob``, ``GetImportedModel``, ``DeleteImportedModel``; ``iam:PassRole`` on the
import role; with a key, ``kms:CreateGrant``, ``DescribeKey``, ``GenerateDataKey`` and ``Decrypt``
through Bedrock.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.exceptions import ClientError

try:  # ha_inference.functions.model_import (library, tests) or top-level (Lambda)
    from .resilience import (
        Backoff,
        Deadline,
        DeadlineExceededError,
        RetriesExhaustedError,
        call_with_retries,
        describe,
        error_code,
        redact,
        truncate_utf8,
    )
except ImportError:  # pragma: no cover - the Lambda runtime path
    from resilience import (  # type: ignore[no-redef,import-not-found]
        Backoff,
        Deadline,
        DeadlineExceededError,
        RetriesExhaustedError,
        call_with_retries,
        describe,
        error_code,
        redact,
        truncate_utf8,
    )

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

MAX_MESSAGE_BYTES = 1000
"""Longest failure message; the framework adds a log pointer and a stack trace to it."""

RESERVE_SECONDS = 5.0
"""Time kept at the end of each invocation for the framework to take the answer."""

NOT_FOUND = "ResourceNotFoundException"
CONFLICT = "ConflictException"


ClientFactory = Callable[[Deadline], Any]


class ModelImportError(Exception):
    """A request that cannot succeed; the message (what CloudFormation shows) is redacted and
    capped."""

    def __init__(self, message: str) -> None:
        super().__init__(truncate_utf8(redact(message), MAX_MESSAGE_BYTES))


def model_name(properties: Mapping[str, Any]) -> str:
    """``<ImportedModelName>-<8 hex>`` of the source and key: a new source is a new model."""
    prefix = _required(properties, "ImportedModelName")
    source = f"{_required(properties, 'S3Uri')}\n{properties.get('ImportedModelKmsKeyId') or ''}"
    return f"{prefix}-{hashlib.sha256(source.encode()).hexdigest()[:8]}"


def job_name(model: str, event: Mapping[str, Any]) -> str:
    """``<model>-<8 hex>`` of this CloudFormation request: a new job name per request."""
    return f"{model}-{_request_hash(event)[:8]}"


def model_of_job(job: str) -> str:
    """The model name a job name of :func:`job_name` was made for."""
    return job.rsplit("-", 1)[0]


def _request_hash(event: Mapping[str, Any]) -> str:
    request = f"{event.get('StackId')}/{event.get('LogicalResourceId')}/{event.get('RequestId')}"
    return hashlib.sha256(request.encode()).hexdigest()


def _required(properties: Mapping[str, Any], key: str) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not value:
        raise ModelImportError(f"resource property {key} must be a non-empty string, got {value!r}")
    return value


def _default_client(deadline: Deadline) -> Any:
    return boto3.client("bedrock", config=deadline.client_config(connect=3.0, read=20.0))


class Importer:
    """The Bedrock calls of one request, each bounded by ``deadline`` and retried if transient."""

    def __init__(
        self,
        deadline: Deadline,
        *,
        client: ClientFactory = _default_client,
        backoff: Backoff | None = None,
    ) -> None:
        self.deadline = deadline
        self._client = client
        self.backoff = backoff or Backoff(max_attempts=5, base_delay=0.5, max_delay=8.0)

    def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        def attempt(deadline: Deadline) -> dict[str, Any]:
            result: dict[str, Any] = getattr(self._client(deadline), operation)(**params)
            return result

        return call_with_retries(
            f"Bedrock {operation}", attempt, deadline=self.deadline, backoff=self.backoff
        )

    def imported_model(self, name: str) -> dict[str, Any] | None:
        """``GetImportedModel``, or ``None`` when there is no such model."""
        try:
            return self._call("get_imported_model", modelIdentifier=name)
        except ClientError as err:
            if error_code(err) == NOT_FOUND:
                return None
            raise

    def job(self, name: str) -> dict[str, Any] | None:
        """``GetModelImportJob``, or ``None`` when there is no such job."""
        try:
            return self._call("get_model_import_job", jobIdentifier=name)
        except ClientError as err:
            if error_code(err) == NOT_FOUND:
                return None
            raise

    def start(self, properties: Mapping[str, Any], model: str, job: str, token: str) -> None:
        """``CreateModelImportJob`` (idempotent: the same token does not start a second job)."""
        params: dict[str, Any] = {
            "jobName": job,
            "importedModelName": model,
            "roleArn": _required(properties, "RoleArn"),
            "modelDataSource": {"s3DataSource": {"s3Uri": _required(properties, "S3Uri")}},
            "clientRequestToken": token,
        }
        key = properties.get("ImportedModelKmsKeyId")
        if key:
            params["importedModelKmsKeyId"] = key
        self._call("create_model_import_job", **params)
        LOGGER.info("started import job %s for model %s", job, model)

    def delete_model(self, identifier: str) -> None:
        """``DeleteImportedModel``; a model that is already gone is success."""
        try:
            self._call("delete_imported_model", modelIdentifier=identifier)
        except ClientError as err:
            if error_code(err) != NOT_FOUND:
                raise
            LOGGER.info("the imported model was already gone")


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point for the framework's ``onEvent``."""
    return handle_event(event, context)


def is_complete(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point for the framework's ``isComplete``."""
    return check_complete(event, context)


def handle_event(
    event: Mapping[str, Any], context: Any, *, importer: Importer | None = None
) -> dict[str, Any]:
    """Starts what the request asks for; :func:`check_complete` follows it to the end."""
    request_type = event.get("RequestType")
    LOGGER.info("%s request for %s", request_type, event.get("LogicalResourceId"))
    importer = importer or Importer(Deadline(context, reserve=RESERVE_SECONDS))
    try:
        if request_type == "Create":
            return {"PhysicalResourceId": _create(event, importer)}
        if request_type == "Update":
            return {"PhysicalResourceId": _update(event, importer)}
        if request_type == "Delete":
            return {"PhysicalResourceId": event.get("PhysicalResourceId")}
        raise ModelImportError(
            f"RequestType must be Create, Update or Delete, got {request_type!r}"
        )
    except ModelImportError as err:
        LOGGER.error("%s failed: %s", request_type, err)
        raise
    except Exception as err:
        LOGGER.exception("%s failed", request_type)
        raise ModelImportError(f"{request_type} failed: {describe(err)}") from err


def _create(event: Mapping[str, Any], importer: Importer) -> str:
    properties = event.get("ResourceProperties") or {}
    model = model_name(properties)
    if importer.imported_model(model) is not None:
        raise ModelImportError(
            f"an imported model named {model} already exists in this account and Region (left "
            "by a stack deleted with removal_policy RETAIN, or imported by hand); delete it "
            f"(aws bedrock delete-imported-model --model-identifier {model}) or choose another "
            "imported_model_name"
        )
    job = job_name(model, event)
    importer.start(properties, model, job, _request_hash(event)[:32])
    return job


def _update(event: Mapping[str, Any], importer: Importer) -> str:
    properties = event.get("ResourceProperties") or {}
    model = model_name(properties)
    existing = importer.imported_model(model)
    if existing is not None:
        # The same model (RoleArn changed, or the template only), or the model this resource had
        # before (a rolled-back update): its job is the physical id it had.
        job = str(existing.get("jobName") or event.get("PhysicalResourceId"))
        LOGGER.info("model %s exists (made by job %s); keeping it", model, job)
        return job
    job = job_name(model, event)
    LOGGER.info("model %s does not exist; importing it", model)
    importer.start(properties, model, job, _request_hash(event)[:32])
    return job


def check_complete(
    event: Mapping[str, Any], context: Any, *, importer: Importer | None = None
) -> dict[str, Any]:
    """``{"IsComplete": False}`` while the job runs; the model's ``Data`` when it is done."""
    request_type = event.get("RequestType")
    job = str(event.get("PhysicalResourceId") or "")
    importer = importer or Importer(Deadline(context, reserve=RESERVE_SECONDS))
    try:
        if request_type == "Delete":
            return _delete(job, importer)
        return _follow(job, importer)
    except (RetriesExhaustedError, DeadlineExceededError) as err:
        LOGGER.warning("Bedrock is not answering (%s); asking again at the next interval", err)
        return {"IsComplete": False}
    except ModelImportError as err:
        LOGGER.error("%s failed: %s", request_type, err)
        raise
    except Exception as err:
        LOGGER.exception("%s failed", request_type)
        raise ModelImportError(f"{request_type} failed: {describe(err)}") from err


def _follow(job: str, importer: Importer) -> dict[str, Any]:
    found = importer.job(job)
    if found is None:
        raise ModelImportError(
            f"the import job {job} does not exist; deploy again to start a new one"
        )
    status = found.get("status")
    if status == "InProgress":
        LOGGER.info("import job %s is in progress", job)
        return {"IsComplete": False}
    if status == "Failed":
        reason = found.get("failureMessage") or "no reason given"
        LOGGER.error("import job %s failed: %s", job, reason)
        raise ModelImportError(
            f"the import job {job} failed: {reason}; check that the S3 folder holds the model in "
            "Hugging Face format (config.json, tokenizer files, .safetensors weights) for an "
            "architecture Custom Model Import supports"
        )
    if status != "Completed":
        raise ModelImportError(f"the import job {job} has an unknown status {status!r}")
    model = found.get("importedModelName") or model_of_job(job)
    model_arn = found.get("importedModelArn")
    if not model_arn:
        raise ModelImportError(f"the import job {job} completed but names no imported model")
    LOGGER.info("import job %s completed: model %s", job, model)
    return {"IsComplete": True, "Data": {"ModelArn": model_arn, "ModelName": model}}


def _delete(job: str, importer: Importer) -> dict[str, Any]:
    found = importer.job(job) if job else None
    if found is None:
        LOGGER.info("no import job %r: nothing to delete", job)
        return {"IsComplete": True}
    status = found.get("status")
    if status == "InProgress":
        LOGGER.info("import job %s is still running; deleting its model once it ends", job)
        return {"IsComplete": False}
    if status == "Completed" and found.get("importedModelArn"):
        # The model this job made, by ARN: a later model of the same name (another job) stays.
        try:
            importer.delete_model(found["importedModelArn"])
        except ClientError as err:
            if error_code(err) != CONFLICT:
                raise
            LOGGER.warning("the model is busy (%s); deleting it at the next interval", err)
            return {"IsComplete": False}
        LOGGER.info("deleted the model of import job %s", job)
    else:
        LOGGER.info("import job %s ended %s without a model: nothing to delete", job, status)
    return {"IsComplete": True}
