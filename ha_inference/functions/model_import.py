"""CloudFormation custom resource: imports a model into Amazon Bedrock (Custom Model Import).

Handlers: ``model_import.on_event`` and ``model_import.is_complete``, the ``onEvent`` and
``isComplete`` handlers of aws-cdk-lib's ``custom_resources.Provider``. The framework answers
CloudFormation: SUCCESS with what ``is_complete`` returns once it says ``IsComplete``, FAILED with
the message of what either handler raises (capped at :data:`MAX_MESSAGE_BYTES` bytes of UTF-8,
ARNs and account ids removed; details go to the log), and FAILED "Operation timed out" when the
waiter's total timeout passes first.

Resource properties: ``ImportedModelName`` (a name prefix: at most 45 letters and digits with
single ``-`` or ``_`` between them), ``S3Uri`` (the Hugging Face model folder), ``RoleArn`` (the
role Bedrock assumes to read it), optionally ``ImportedModelKmsKeyId``, and ``RequireConverse``
(``"true"`` or ``"false"``, default ``"false"``: whether a model that cannot chat fails the
deploy).

Names. The imported model is ``<ImportedModelName>-<8 hex of S3Uri and key>``, so a new source or
key gives a new model that can live beside the old one until CloudFormation deletes the old one,
and going back to a source gives back its name. The import job is ``<model name>-<8 hex of the
CloudFormation request>``, with each ``_`` of the model name written ``-`` (Bedrock's job-name
pattern has no ``_``; job names stay taken, also by failed jobs). The job name is the physical
resource id, so each physical id stands for exactly the model its job made.

Owners. Every model this handler imports carries two tags naming the resource that owns it:
``ha-inference:stack-id`` (the CloudFormation stack id, an ARN unique to that stack's life) and
``ha-inference:logical-id`` (its logical id in the stack). Two stacks of one account and Region
(a dev and a staging copy with the same name prefix) never take each other's model.

* Create: refuses when a model of that name already exists (left by a stack deleted with
  ``RETAIN``, made by hand, or another stack's), so that two stacks never share one model;
  otherwise ``CreateModelImportJob`` with the owner tags and an idempotency token from the
  request, so a retried call does not start a second job. When every answer to it is lost (read
  timeouts, 5xx) the request may still have gone through: the handler asks for the job by name
  before it fails, and carries on with the job when it exists (a failure would leave that job's
  model running on, owned by no stack, blocking the next deploy with "already exists").
* ``is_complete`` polls ``GetModelImportJob``: ``InProgress`` waits; ``Failed`` raises with the
  job's failure message (a failed job leaves no model, so the Delete that CloudFormation sends
  on rollback has nothing to remove); ``Completed`` reads the model (``GetImportedModel``) and
  answers ``Data`` ``ModelArn``, ``ModelName`` and ``ConverseSupported`` (``"true"``,
  ``"false"`` or ``"unknown"``: Bedrock's ``instructSupported``). With ``RequireConverse`` a model
  that Bedrock says does not support Converse (no chat template, or an architecture served by
  ``InvokeModel`` only) fails the deploy with that reason; the rollback deletes it.
* Update: the same model name (only ``RoleArn`` or nothing changed) keeps the physical id when
  the model is still there and its job is this resource's physical id, and imports it again
  when it was deleted by hand. A new model name starts a new import (new physical id:
  CloudFormation deletes the old model after the update), unless a model of that name exists:
  it is adopted only when its owner tags name this stack and logical id (the model this resource
  had before: an update rolled back, or a cleanup that failed), and refused otherwise, as Create
  refuses. Before importing a new model, the current one is tagged with its owner when it has no
  tags (models imported by an earlier version of this handler), so that a rollback can adopt it.
* Delete: waits while the job is still running (a rollback after a timed-out create), then
  ``DeleteImportedModel`` on the model the job made. The handler's role may delete only models
  whose owner tags name this resource, so a model without owner tags (imported by an earlier
  version of this handler) is tagged first; a model that carries another owner's tags is not
  deleted, and the Delete fails saying so. A job or model that is already gone is success.

Time. Calls are bounded by the invocation's time left and retried while they fail transiently
(``resilience.py``). Each completion check (``is_complete``) spends at most
:data:`CHECK_SECONDS` on Bedrock, retries included, and answers "not yet" when Bedrock keeps
throttling or failing, so the waiter asks again at its next interval: the checks' own time (at
most 101 x 2 s, plus each invocation's start) then stays within the five minutes the resource's
``ServiceTimeout`` allows beyond the waiter's total timeout, and a deploy ends with the waiter's
answer, not CloudFormation's generic timeout.

During a partial outage of Bedrock's control plane: a Create or Update that cannot start its
job fails (nothing was imported, or the job it did start is found and followed); a completion
check that cannot reach Bedrock says "not yet"; a Delete that cannot reach Bedrock says "not
yet" until the waiter's timeout, then the deploy fails and the model stays (delete it by hand).

Environment: ``AWS_REGION`` (set by Lambda). Permissions: ``bedrock:CreateModelImportJob``,
``GetModelImportJob``, ``GetImportedModel``, ``DeleteImportedModel``, ``ListTagsForResource``
and ``TagResource`` (the owner tags); ``iam:PassRole`` on the import role; with a key,
``kms:CreateGrant``, ``DescribeKey``, ``GenerateDataKey`` and ``Decrypt`` through Bedrock.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import boto3
from botocore.config import Config
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
        summarize,
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
        summarize,
        truncate_utf8,
    )

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

MAX_MESSAGE_BYTES = 1000
"""Longest failure message; the framework adds a log pointer and a stack trace to it."""

RESERVE_SECONDS = 5.0
"""Time kept at the end of each invocation for the framework to take the answer."""

LOOKUP_SECONDS = 15.0
"""Time kept, when starting an import job, to ask for the job if every answer was lost."""

CHECK_SECONDS = 2.0
"""The longest a completion check spends on Bedrock, retries included."""

NAME_PREFIX_MAX = 45
"""``ImportedModelName`` length limit: Bedrock allows 63 characters for the model and the job
name, and the handler appends ``-<8 hex>`` (source) and another ``-<8 hex>`` (request)."""

STACK_TAG = "ha-inference:stack-id"
"""Owner tag of an imported model: the CloudFormation stack id (an ARN) of its resource."""
LOGICAL_ID_TAG = "ha-inference:logical-id"
"""Owner tag of an imported model: the logical id of its resource in that stack."""

NOT_FOUND = "ResourceNotFoundException"
CONFLICT = "ConflictException"
ACCESS_DENIED = frozenset({"AccessDeniedException", "AccessDenied"})

_PREFIX = re.compile(r"([0-9a-zA-Z][_-]?)+")
"""botocore ``bedrock`` shape ``ImportedModelName``'s pattern (a full match)."""

_JOB_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*")
"""botocore ``bedrock`` shape ``JobName``'s pattern (a full match, at most 63 characters)."""

ClientFactory = Callable[[Deadline], Any]


class ModelImportError(Exception):
    """A request that cannot succeed; the message (what CloudFormation shows) is redacted and
    capped."""

    def __init__(self, message: str) -> None:
        super().__init__(truncate_utf8(redact(message), MAX_MESSAGE_BYTES))


# --- names and owners ------------------------------------------------------------------------


def model_name(properties: Mapping[str, Any]) -> str:
    """``<ImportedModelName>-<8 hex>`` of the source and key: a new source is a new model."""
    prefix = _prefix(properties)
    source = f"{_required(properties, 'S3Uri')}\n{properties.get('ImportedModelKmsKeyId') or ''}"
    return f"{prefix}-{hashlib.sha256(source.encode()).hexdigest()[:8]}"


def job_name(model: str, event: Mapping[str, Any]) -> str:
    """``<model>-<8 hex>`` of this CloudFormation request, every ``_`` written ``-``: Bedrock's
    job-name pattern (``[a-zA-Z0-9](-*[a-zA-Z0-9+\\-.])*``, 63 characters) has no ``_``."""
    return f"{model.replace('_', '-')}-{_request_hash(event)[:8]}"


def owner_tags(event: Mapping[str, Any]) -> list[dict[str, str]]:
    """The tags naming the resource of ``event`` as a model's owner."""
    return [
        {"key": STACK_TAG, "value": str(event.get("StackId") or "")},
        {"key": LOGICAL_ID_TAG, "value": str(event.get("LogicalResourceId") or "")},
    ]


def owned_by(tags: list[dict[str, Any]], event: Mapping[str, Any]) -> bool:
    """Whether ``tags`` (ListTagsForResource's) name the resource of ``event`` as the owner."""
    found = {str(tag.get("key")): tag.get("value") for tag in tags if isinstance(tag, dict)}
    return all(found.get(tag["key"]) == tag["value"] for tag in owner_tags(event)) and all(
        tag["value"] for tag in owner_tags(event)
    )


def is_job_name(text: str) -> bool:
    """Whether ``text`` can be an import job's name (a physical id this handler gave out)."""
    return len(text) <= 63 and bool(_JOB_NAME.fullmatch(text))


def _request_hash(event: Mapping[str, Any]) -> str:
    request = f"{event.get('StackId')}/{event.get('LogicalResourceId')}/{event.get('RequestId')}"
    return hashlib.sha256(request.encode()).hexdigest()


def _required(properties: Mapping[str, Any], key: str) -> str:
    value = properties.get(key)
    if not isinstance(value, str) or not value:
        raise ModelImportError(f"resource property {key} must be a non-empty string, got {value!r}")
    return value


def _prefix(properties: Mapping[str, Any]) -> str:
    prefix = _required(properties, "ImportedModelName")
    if (
        len(prefix) > NAME_PREFIX_MAX
        or not _PREFIX.fullmatch(prefix)
        or prefix.endswith(("-", "_"))
    ):
        raise ModelImportError(
            f"resource property ImportedModelName must be 1-{NAME_PREFIX_MAX} letters and digits "
            f"with single '-' or '_' between them, got {prefix!r}"
        )
    return prefix


def _flag(properties: Mapping[str, Any], key: str) -> bool:
    """A boolean property (CloudFormation passes ``"true"``/``"false"``); absent is false."""
    value = properties.get(key, "false")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ModelImportError(f"resource property {key} must be 'true' or 'false', got {value!r}")


# --- Bedrock ---------------------------------------------------------------------------------


def client_config(deadline: Deadline) -> Config:
    """The botocore config of one call: timeouts within the time left (connect at most 3 s and
    half the time left, read at most 20 s), botocore's own retries off."""
    connect = min(3.0, max(1.0, deadline.remaining() / 2))
    return deadline.client_config(connect=connect, read=20.0)


def _default_client(deadline: Deadline) -> Any:
    return boto3.client("bedrock", config=client_config(deadline))


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

    def _call(
        self, operation: str, *, deadline: Deadline | None = None, **params: Any
    ) -> dict[str, Any]:
        def attempt(left: Deadline) -> dict[str, Any]:
            result: dict[str, Any] = getattr(self._client(left), operation)(**params)
            return result

        return call_with_retries(
            f"Bedrock {operation}",
            attempt,
            deadline=deadline or self.deadline,
            backoff=self.backoff,
        )

    def imported_model(self, identifier: str) -> dict[str, Any] | None:
        """``GetImportedModel`` (by name or ARN), or ``None`` when there is no such model."""
        try:
            return self._call("get_imported_model", modelIdentifier=identifier)
        except ClientError as err:
            if error_code(err) == NOT_FOUND:
                return None
            raise

    def job(self, name: str, *, deadline: Deadline | None = None) -> dict[str, Any] | None:
        """``GetModelImportJob``, or ``None`` when there is no such job."""
        try:
            return self._call("get_model_import_job", deadline=deadline, jobIdentifier=name)
        except ClientError as err:
            if error_code(err) == NOT_FOUND:
                return None
            raise

    def tags(self, arn: str) -> list[dict[str, Any]]:
        """``ListTagsForResource`` of the model ``arn``."""
        tags = self._call("list_tags_for_resource", resourceARN=arn).get("tags")
        return tags if isinstance(tags, list) else []

    def tag(self, arn: str, tags: list[dict[str, str]]) -> None:
        """``TagResource`` on the model ``arn``."""
        self._call("tag_resource", resourceARN=arn, tags=tags)

    def start(self, event: Mapping[str, Any], model: str, job: str) -> None:
        """``CreateModelImportJob`` with the owner tags (idempotent: the same token does not
        start a second job). When every answer is lost, the job is looked up before failing."""
        properties = event.get("ResourceProperties") or {}
        params: dict[str, Any] = {
            "jobName": job,
            "importedModelName": model,
            "roleArn": _required(properties, "RoleArn"),
            "modelDataSource": {"s3DataSource": {"s3Uri": _required(properties, "S3Uri")}},
            "importedModelTags": owner_tags(event),
            "clientRequestToken": _request_hash(event)[:32],
        }
        key = properties.get("ImportedModelKmsKeyId")
        if key:
            params["importedModelKmsKeyId"] = key
        try:
            self._call(
                "create_model_import_job", deadline=self.deadline.sooner(LOOKUP_SECONDS), **params
            )
        except (RetriesExhaustedError, DeadlineExceededError) as err:
            self._find_started(job, model, err)
        except ClientError as err:
            if error_code(err) != CONFLICT:
                raise
            self._find_started(job, model, err)  # a lost attempt's job takes the name
        LOGGER.info("started import job %s for model %s", job, model)

    def _find_started(self, job: str, model: str, err: BaseException) -> None:
        """Carries on when the job of this request exists (its start went through although the
        answers were lost); raises otherwise."""
        LOGGER.warning("CreateModelImportJob did not answer (%s); looking for job %s", err, job)
        try:
            found = self.job(job)
        except (ClientError, RetriesExhaustedError, DeadlineExceededError) as lookup:
            LOGGER.error("looking up job %s failed too: %s", job, describe(lookup))
            raise ModelImportError(
                f"starting import job {job} failed ({describe(err)}) and Bedrock could not be "
                f"asked whether it started; if job {job} appears (aws bedrock "
                f"get-model-import-job --job-identifier {job}), delete the model it makes "
                "before deploying again"
            ) from err
        if found is None:
            raise ModelImportError(
                f"starting import job {job} failed ({summarize(err)}) and Bedrock has no such "
                "job: nothing was imported; deploy again"
            ) from err
        if found.get("importedModelName") not in (None, model):
            raise ModelImportError(
                f"import job {job} exists but imports {found.get('importedModelName')!r}, not "
                f"{model}"
            ) from err
        LOGGER.warning("job %s exists although the answers were lost; carrying on with it", job)

    def delete_model(self, identifier: str) -> None:
        """``DeleteImportedModel``; a model that is already gone is success."""
        try:
            self._call("delete_imported_model", modelIdentifier=identifier)
        except ClientError as err:
            if error_code(err) != NOT_FOUND:
                raise
            LOGGER.info("the imported model was already gone")


# --- entry points ----------------------------------------------------------------------------


def on_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point for the framework's ``onEvent``."""
    return handle_event(event, context)


def is_complete(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point for the framework's ``isComplete``."""
    return check_complete(event, context)


def handle_event(
    event: Mapping[str, Any],
    context: Any,
    *,
    importer: Importer | None = None,
    client: ClientFactory = _default_client,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Starts what the request asks for; :func:`check_complete` follows it to the end. Tests
    pass an ``importer``, or the ``client``, ``backoff`` and ``clock`` to build one with."""
    request_type = event.get("RequestType")
    LOGGER.info("%s request for %s", request_type, event.get("LogicalResourceId"))
    importer = importer or Importer(
        Deadline(context, reserve=RESERVE_SECONDS, clock=clock), client=client, backoff=backoff
    )
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
        raise ModelImportError(_taken(model))
    job = job_name(model, event)
    importer.start(event, model, job)
    return job


def _update(event: Mapping[str, Any], importer: Importer) -> str:
    properties = event.get("ResourceProperties") or {}
    physical_id = str(event.get("PhysicalResourceId") or "")
    model = model_name(properties)
    existing = importer.imported_model(model)
    if existing is None:
        _tag_current(event, importer)
        job = job_name(model, event)
        LOGGER.info("model %s does not exist; importing it", model)
        importer.start(event, model, job)
        return job
    job = str(existing.get("jobName") or "")
    arn = str(existing.get("modelArn") or "")
    if job and job == physical_id:
        # This resource's own model (its job is the physical id): RoleArn changed, or nothing.
        LOGGER.info("model %s is this resource's (job %s); keeping it", model, job)
        _ensure_owner_tags(arn, event, importer)
        return job
    if arn and job and owned_by(importer.tags(arn), event):
        # The model this resource had before (an update rolled back, a cleanup that failed).
        LOGGER.info("model %s is tagged as this resource's (job %s); using it again", model, job)
        return job
    raise ModelImportError(_taken(model))


def _taken(model: str) -> str:
    return (
        f"an imported model named {model} already exists in this account and Region and is not "
        "this resource's (left by a stack deleted with removal_policy RETAIN, imported by hand, "
        f"or another stack's with the same name prefix); delete it (aws bedrock "
        f"delete-imported-model --model-identifier {model}) or choose another imported_model_name"
    )


def _tag_current(event: Mapping[str, Any], importer: Importer) -> None:
    """Before an Update imports a new model: tags the current one (the model the physical id's
    job made) with its owner if it has no owner tags, so that a rollback to it can adopt it.
    Best effort: a failure is logged, never fails the update."""
    physical_id = str(event.get("PhysicalResourceId") or "")
    try:
        found = importer.job(physical_id) if is_job_name(physical_id) else None
        arn = found.get("importedModelArn") if found else None
        if isinstance(arn, str) and arn:
            _ensure_owner_tags(arn, event, importer)
    except Exception as err:
        LOGGER.warning("could not check the current model's owner tags: %s", describe(err))


def _ensure_owner_tags(arn: str, event: Mapping[str, Any], importer: Importer) -> None:
    """Tags this resource's model ``arn`` with its owner when it carries no owner tags (imported
    by an earlier version of this handler). Best effort: a failure is logged."""
    if not arn:
        return
    try:
        tags = importer.tags(arn)
        if any(isinstance(t, dict) and t.get("key") == STACK_TAG for t in tags):
            return
        importer.tag(arn, owner_tags(event))
        LOGGER.info("tagged the model with its owner")
    except Exception as err:
        LOGGER.warning("could not tag the model with its owner: %s", describe(err))


def check_complete(
    event: Mapping[str, Any],
    context: Any,
    *,
    importer: Importer | None = None,
    client: ClientFactory = _default_client,
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """``{"IsComplete": False}`` while the job runs, or while Bedrock does not answer within
    :data:`CHECK_SECONDS`; the model's ``Data`` when it is done."""
    request_type = event.get("RequestType")
    job = str(event.get("PhysicalResourceId") or "")
    importer = importer or Importer(
        Deadline(context, reserve=RESERVE_SECONDS, clock=clock).capped(CHECK_SECONDS),
        client=client,
        backoff=backoff or Backoff(max_attempts=3, base_delay=0.25, max_delay=1.0),
    )
    try:
        if request_type == "Delete":
            return _delete(job, event, importer)
        return _follow(job, event.get("ResourceProperties") or {}, importer)
    except (RetriesExhaustedError, DeadlineExceededError) as err:
        LOGGER.warning("Bedrock is not answering (%s); asking again at the next interval", err)
        return {"IsComplete": False}
    except ModelImportError as err:
        LOGGER.error("%s failed: %s", request_type, err)
        raise
    except Exception as err:
        LOGGER.exception("%s failed", request_type)
        raise ModelImportError(f"{request_type} failed: {describe(err)}") from err


def _follow(job: str, properties: Mapping[str, Any], importer: Importer) -> dict[str, Any]:
    require_converse = _flag(properties, "RequireConverse")
    found = importer.job(job) if is_job_name(job) else None
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
    model_arn = found.get("importedModelArn")
    if not isinstance(model_arn, str) or not model_arn:
        raise ModelImportError(f"the import job {job} completed but names no imported model")
    model = importer.imported_model(model_arn)
    if model is None:
        raise ModelImportError(
            f"the import job {job} completed but its model is gone (deleted by hand?); deploy "
            "again to import it again"
        )
    name = str(model.get("modelName") or found.get("importedModelName") or "")
    converse = _converse_supported(model)
    if converse == "false":
        architecture = model.get("modelArchitecture") or "its"
        reason = (
            f"the imported model {name} does not support the Converse API (Bedrock reports "
            f"instructSupported false for {architecture} architecture: no chat template, or an "
            "architecture served through InvokeModel only)"
        )
        if require_converse:
            raise ModelImportError(
                f"{reason}; import a model with a chat template in its tokenizer_config.json, "
                "or set require_converse=False and call it with InvokeModel"
            )
        LOGGER.warning("%s; callers must use InvokeModel", reason)
    LOGGER.info("import job %s completed: model %s (Converse: %s)", job, name, converse)
    return {
        "IsComplete": True,
        "Data": {"ModelArn": model_arn, "ModelName": name, "ConverseSupported": converse},
    }


def _converse_supported(model: Mapping[str, Any]) -> str:
    supported = model.get("instructSupported")
    if isinstance(supported, bool):
        return "true" if supported else "false"
    return "unknown"


def _not_ours_to_delete(job: str) -> str:
    return (
        f"Bedrock refused to delete the model of import job {job}: the handler may delete only "
        f"models whose owner tags ({STACK_TAG}, {LOGICAL_ID_TAG}) name this stack and resource, "
        "and the model carries another owner's tags or could not be tagged; delete it by hand "
        f"(aws bedrock get-model-import-job --job-identifier {job}, then aws bedrock "
        "delete-imported-model) and retry, or retain it"
    )


def _delete(job: str, event: Mapping[str, Any], importer: Importer) -> dict[str, Any]:
    found = importer.job(job) if is_job_name(job) else None
    if found is None:
        LOGGER.info("no import job %r: nothing to delete", job)
        return {"IsComplete": True}
    status = found.get("status")
    if status == "InProgress":
        LOGGER.info("import job %s is still running; deleting its model once it ends", job)
        return {"IsComplete": False}
    if status == "Completed" and found.get("importedModelArn"):
        # The model this job made, by ARN: a later model of the same name (another job) stays.
        # The role may delete only models tagged as this resource's: one imported before the
        # handler tagged its models is tagged first.
        _ensure_owner_tags(found["importedModelArn"], event, importer)
        try:
            importer.delete_model(found["importedModelArn"])
        except ClientError as err:
            if error_code(err) in ACCESS_DENIED:
                raise ModelImportError(_not_ours_to_delete(job)) from err
            if error_code(err) != CONFLICT:
                raise
            LOGGER.warning("the model is busy (%s); deleting it at the next interval", err)
            return {"IsComplete": False}
        LOGGER.info("deleted the model of import job %s", job)
    else:
        LOGGER.info("import job %s ended %s without a model: nothing to delete", job, status)
    return {"IsComplete": True}
