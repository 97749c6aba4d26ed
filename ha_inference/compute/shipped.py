"""The Lambda handlers shipped with ha-inference, packaged for any CDK app.

Every handler lives in the one folder ``ha_inference/functions`` (boto3 and botocore only, no
bundling), so one asset carries all of them; a function picks its handler by name.
"""

from __future__ import annotations

import enum
from pathlib import Path

from aws_cdk import aws_lambda as lambda_

import ha_inference.functions

FUNCTIONS_DIR = Path(ha_inference.functions.__file__).resolve().parent
"""The folder that is the code root of every shipped function."""

EXCLUDE = ["__pycache__", "*.pyc", "__init__.py", "*.md"]  # the folder's README is not code


class ShippedHandler(enum.Enum):
    """The ``handler`` setting of each shipped function."""

    RETRIEVAL = "retrieval.handler"
    """Answers ``{"question": ...}`` from a vector collection through Bedrock."""
    INGESTION = "ingestion.handler"
    """Embeds ``{"documents": [...]}`` and bulk-writes them into the vector index."""
    CREATE_INDEX = "create_index.on_event"
    """Custom resource (provider framework): creates the k-NN index with the shipped mapping."""
    ENDPOINT_TARGETS = "endpoint_targets.on_event"
    """Custom resource (through the provider framework): registers a VPC endpoint's interface IPs
    as NLB targets."""
    MODEL_IMPORT = "model_import.on_event"
    """Custom resource (provider framework): starts a Bedrock Custom Model Import job, and deletes
    the imported model on Delete."""
    MODEL_IMPORT_IS_COMPLETE = "model_import.is_complete"
    """The ``isComplete`` handler of the same custom resource: waits for the import job."""
    KEEP_WARM = "keep_warm.handler"
    """Calls an imported model on a schedule so that Bedrock keeps it loaded (``ImportedModel``
    ``keep_warm``)."""
    AGENT_CLIENT = "agent_client.handler"
    """Asks an AgentCore agent runtime ``{"question": ...}`` (``InvokeAgentRuntime``) and returns
    its answer."""
    SELF_HOSTED = "self_hosted.handler"
    """Invokes the self-hosted SageMaker model with ``{"inputs": ...}``, in this Region first and
    in the other Regions on failure (``failover.py``); set up by ``SageMakerFailoverFunction``."""


def handler_code() -> lambda_.Code:
    """The shipped handlers as Lambda code (``Code.from_asset`` on their folder, no Docker).

    Use it with :class:`ha_inference.MultiAzFunction` or a plain ``aws_lambda.Function`` and a
    :class:`ShippedHandler` value as ``handler``::

        MultiAzFunction(self, "Retrieval", vpc=vpc, code=handler_code(),
                        handler=ShippedHandler.RETRIEVAL.value, ...)
    """
    return lambda_.Code.from_asset(str(FUNCTIONS_DIR), exclude=list(EXCLUDE))
