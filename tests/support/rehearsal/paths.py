"""The reference app's runtime paths: who calls what, and what each call asks of AWS.

:data:`PATHS` is the one table: each row names a caller and a target by the stack's Python
objects (``stack.inference.retrieval``, ``stack.inference.profile``, ``stack.inference.index.creator``...), so adding a path
is one line. A target knows the hostname the SDK uses, the IAM evaluations the service makes
(with the request context it sets) and, for OpenSearch Serverless, the data access permission.
Rows with ``denied_by`` are paths that must be refused, by exactly those layers.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import aws_cdk as cdk
import botocore.session

from ha_inference import (
    CrossRegionInferenceProfile,
    FoundationModel,
    MultiAzAgentRuntime,
    MultiAzFunction,
)
from ha_inference.bedrock.profiles import foundation_model_arn
from ha_inference.regions import AVAILABILITY_ZONES, partition_of
from ha_inference.selfhosted.endpoint import MultiAzSageMakerEndpoint
from ha_inference.vectors.collection import VectorCollection
from stacks import RegionalStack


class Layer(enum.Enum):
    """The layers a request crosses, in order; each failure message names one."""

    DNS = "dns"
    SECURITY_GROUPS = "security-groups"
    ENDPOINT_POLICY = "endpoint-policy"
    IDENTITY = "identity"
    DATA_ACCESS = "data-access"


@dataclass(frozen=True)
class Evaluation:
    """One IAM authorization the service makes for the call (``resource`` as the template
    writes it: a literal ARN or an intrinsic)."""

    action: str
    resource: Any
    context: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Target:
    """What a call reaches and what AWS checks on the way.

    ``service`` is the SDK's service name (its hostname comes from botocore) or ``aoss``, whose
    hostname is the collection's endpoint (``collection_endpoint``, as the template writes it).
    ``collection`` is the collection's logical id and ``data_access`` (collection name, index,
    permission), for aoss only.
    """

    service: str
    evaluations: tuple[Evaluation, ...]
    collection: str | None = None
    collection_endpoint: Any = None
    data_access: tuple[str, str, str] | None = None
    hostname: str | None = None
    """The hostname called, where botocore does not name the service (ECR's registry)."""
    presigned: bool = False
    """Authorized by a presigned URL another service handed out (ECR's image layers in S3),
    not by the caller's role: the identity layer does not apply."""


@cache
def _botocore() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def sdk_hostname(service: str, region: str) -> str:
    """The hostname boto3 uses for ``service`` in ``region`` (no call is made)."""
    client = _botocore().create_client(
        service, region_name=region, aws_access_key_id="rehearsal", aws_secret_access_key="x"
    )
    url: str = client.meta.endpoint_url
    return url.removeprefix("https://")


# -- targets ----------------------------------------------------------------------------------


def through_profile(
    profile: CrossRegionInferenceProfile, *, routed_to: str | None = None
) -> Target:
    """InvokeModel/Converse with the profile id as model id.

    Bedrock authorizes the profile ARN in the source Region, then the foundation model in the
    Region it routes the request to, with ``bedrock:InferenceProfileArn`` set on the model
    evaluations only (Bedrock user guide, "Prerequisites for inference profiles"). Every destination is a possible route, so each is one
    evaluation; ``aws:RequestedRegion`` is the Region evaluated (for a global profile, the
    Region-less model ARN with ``unspecified``). ``routed_to`` evaluates one Region instead,
    for example one the profile does not route to.
    """
    source, partition = profile.source_region, profile.partition
    first = Evaluation("bedrock:InvokeModel", profile.profile_arn, {"aws:RequestedRegion": source})
    via = {"bedrock:InferenceProfileArn": profile.profile_arn}
    if routed_to is not None:
        regions: list[tuple[str, str]] = [(routed_to, routed_to)]
    elif profile.is_global:
        regions = [(source, source), ("", "unspecified")]
    else:
        regions = [(r, r) for r in sorted(profile.destination_regions)]
    models = tuple(
        Evaluation(
            "bedrock:InvokeModel",
            foundation_model_arn(profile.model_id, region, partition),
            {**via, "aws:RequestedRegion": requested},
        )
        for region, requested in regions
    )
    return Target("bedrock-runtime", (first, *models))


def outside_profile(profile: CrossRegionInferenceProfile) -> Target:
    """InvokeModel on the profile's foundation model in the source Region, without the profile."""
    arn = foundation_model_arn(profile.model_id, profile.source_region, profile.partition)
    return Target(
        "bedrock-runtime",
        (Evaluation("bedrock:InvokeModel", arn, {"aws:RequestedRegion": profile.source_region}),),
    )


def on_demand(model: FoundationModel) -> Target:
    """InvokeModel on a foundation model in its Region (the embedding model)."""
    return Target(
        "bedrock-runtime",
        (
            Evaluation(
                "bedrock:InvokeModel", model.model_arn, {"aws:RequestedRegion": model.region}
            ),
        ),
    )


def collection_index(collection: VectorCollection, index: str, permission: str) -> Target:
    """A signed OpenSearch Serverless request on ``index``: IAM ``aoss:APIAccessAll`` on the
    collection, then ``permission`` from the data access policy."""
    stack = cdk.Stack.of(collection)
    return Target(
        "aoss",
        (Evaluation("aoss:APIAccessAll", stack.resolve(collection.collection_arn)),),
        collection=stack.resolve(collection.collection.logical_id),
        collection_endpoint=stack.resolve(collection.collection_endpoint),
        data_access=(collection.collection_name, index, permission),
    )


def sagemaker_endpoint(endpoint: MultiAzSageMakerEndpoint | None) -> Target | None:
    """InvokeEndpoint at runtime.sagemaker.<region>.amazonaws.com (none without the model)."""
    if endpoint is None:
        return None
    arn = cdk.Stack.of(endpoint).resolve(endpoint.endpoint_arn)
    return Target("sagemaker-runtime", (Evaluation("sagemaker:InvokeEndpoint", arn),))


def runtime_code(runtime: MultiAzAgentRuntime | None) -> Target | None:
    """The runtime fetching its code package from S3 as it starts (through the VPC: no
    service-managed S3 path for runtimes created from 2026-05-05 on)."""
    arn = getattr(runtime, "code_object_arn", None)
    if runtime is None or arn is None:
        return None
    return Target("s3", (Evaluation("s3:GetObject", cdk.Stack.of(runtime).resolve(arn)),))


def runtime_logs(runtime: MultiAzAgentRuntime | None) -> Target | None:
    """The runtime writing to its log group (``/aws/bedrock-agentcore/runtimes/<id>-DEFAULT``,
    which the service creates at the first invocation)."""
    if runtime is None:
        return None
    stack = cdk.Stack.of(runtime)
    runtime_id = {
        "Fn::GetAtt": [
            stack.resolve(runtime.runtime.node.default_child.logical_id),
            "AgentRuntimeId",
        ]
    }  # type: ignore[union-attr]
    group = (
        f"arn:aws:logs:{stack.region}:{stack.account}:log-group:/aws/bedrock-agentcore/runtimes/"
    )
    stream = {"Fn::Join": ["", [group, runtime_id, "-DEFAULT:log-stream:runtime-logs"]]}
    return Target("logs", (Evaluation("logs:PutLogEvents", stream),))


def ecr_token(runtime: MultiAzAgentRuntime | None) -> Target | None:
    """The image pull's first call: an authorization token from ``api.ecr.<region>``."""
    if runtime is None:
        return None
    region = cdk.Stack.of(runtime).region
    return Target(
        "ecr.api",
        (Evaluation("ecr:GetAuthorizationToken", "*"),),
        hostname=f"api.ecr.{region}.amazonaws.com",
    )


def ecr_pull(runtime: MultiAzAgentRuntime | None, repository: str) -> Target | None:
    """The manifest and layer locations from the registry (``<account>.dkr.ecr.<region>``)."""
    if runtime is None:
        return None
    stack = cdk.Stack.of(runtime)
    arn = f"arn:aws:ecr:{stack.region}:{stack.account}:repository/{repository}"
    return Target(
        "ecr.dkr",
        (Evaluation("ecr:BatchGetImage", arn), Evaluation("ecr:GetDownloadUrlForLayer", arn)),
        hostname=f"{stack.account}.dkr.ecr.{stack.region}.amazonaws.com",
    )


def image_layers(runtime: MultiAzAgentRuntime | None) -> Target | None:
    """The layers, from ECR's S3 bucket of the Region, with the URLs ECR presigned."""
    if runtime is None:
        return None
    region = cdk.Stack.of(runtime).region
    layer = f"arn:aws:s3:::prod-{region}-starport-layer-bucket/layer"
    return Target("s3", (Evaluation("s3:GetObject", layer),), presigned=True)


def invoke_runtime(runtime: MultiAzAgentRuntime | None) -> Target | None:
    """InvokeAgentRuntime on the runtime's DEFAULT endpoint: authorized on the runtime and on
    that endpoint (Service Authorization Reference: both resource types are required)."""
    if runtime is None:
        return None
    stack = cdk.Stack.of(runtime)
    arn = stack.resolve(runtime.agent_runtime_arn)
    endpoint = {"Fn::Join": ["", [arn, "/runtime-endpoint/DEFAULT"]]}
    return Target(
        "bedrock-agentcore",
        (
            Evaluation("bedrock-agentcore:InvokeAgentRuntime", arn),
            Evaluation("bedrock-agentcore:InvokeAgentRuntime", endpoint),
        ),
    )


def unrouted_region(profile: CrossRegionInferenceProfile) -> str:
    """A Region near the profile's source (same prefix, e.g. ``us-``, and partition) that the
    profile does not route to."""
    source = profile.source_region
    others = sorted(
        r
        for r in AVAILABILITY_ZONES
        if partition_of(r) == partition_of(source) and r not in profile.destination_regions
    )
    near = [r for r in others if r.split("-")[0] == source.split("-")[0]]
    return (near or others)[0]


# -- the table --------------------------------------------------------------------------------

Caller = Callable[[RegionalStack], MultiAzFunction | MultiAzAgentRuntime]
TargetOf = Callable[[RegionalStack], Target | None]


@dataclass(frozen=True)
class RuntimePath:
    name: str
    caller: Caller
    target: TargetOf
    denied_by: frozenset[Layer] = frozenset()

    @property
    def must_be_denied(self) -> bool:
        return bool(self.denied_by)


def _retrieval(s: RegionalStack) -> MultiAzFunction:
    return s.inference.retrieval


def _ingestion(s: RegionalStack) -> MultiAzFunction:
    return s.inference.ingestion


def _creator(s: RegionalStack) -> MultiAzFunction:
    return s.inference.index.creator


def _index(permission: str) -> TargetOf:
    return lambda s: collection_index(
        s.inference.collection, s.inference.index.index_name, permission
    )


IDENTITY = frozenset({Layer.IDENTITY})
DATA = frozenset({Layer.DATA_ACCESS})

PATHS: tuple[RuntimePath, ...] = (
    # Paths the app relies on: every layer must allow them.
    RuntimePath("retrieval -> bedrock-runtime: InvokeModel/Converse through the profile", _retrieval, lambda s: through_profile(s.inference.profile)),
    RuntimePath("retrieval -> bedrock-runtime: InvokeModel on the embedding model", _retrieval, lambda s: on_demand(s.inference.embedding_model)),
    RuntimePath("retrieval -> collection: search (aoss:ReadDocument)", _retrieval, _index("aoss:ReadDocument")),
    RuntimePath("retrieval -> self-hosted model: sagemaker:InvokeEndpoint", _retrieval, lambda s: sagemaker_endpoint(s.inference.self_hosted)),
    RuntimePath("ingestion -> bedrock-runtime: InvokeModel on the embedding model", _ingestion, lambda s: on_demand(s.inference.embedding_model)),
    RuntimePath("ingestion -> collection: write documents (aoss:WriteDocument)", _ingestion, _index("aoss:WriteDocument")),
    RuntimePath("index creator -> collection: describe the index (aoss:DescribeIndex)", _creator, _index("aoss:DescribeIndex")),
    RuntimePath("index creator -> collection: create the index (aoss:CreateIndex)", _creator, _index("aoss:CreateIndex")),
    # Paths that must be refused, by exactly these layers.
    RuntimePath("retrieval -> bedrock-runtime: the model outside its profile", _retrieval, lambda s: outside_profile(s.inference.profile), IDENTITY),
    RuntimePath("retrieval -> bedrock-runtime: the profile to a Region it does not route to", _retrieval, lambda s: through_profile(s.inference.profile, routed_to=unrouted_region(s.inference.profile)), frozenset({Layer.ENDPOINT_POLICY, Layer.IDENTITY})),
    RuntimePath("ingestion -> bedrock-runtime: InvokeModel through the profile", _ingestion, lambda s: through_profile(s.inference.profile), IDENTITY),
    RuntimePath("ingestion -> collection: search (aoss:ReadDocument)", _ingestion, _index("aoss:ReadDocument"), DATA),
    RuntimePath("retrieval -> collection: write documents (aoss:WriteDocument)", _retrieval, _index("aoss:WriteDocument"), DATA),
    RuntimePath("retrieval -> collection: create the index (aoss:CreateIndex)", _retrieval, _index("aoss:CreateIndex"), DATA),
    RuntimePath("ingestion -> collection: create the index (aoss:CreateIndex)", _ingestion, _index("aoss:CreateIndex"), DATA),
    RuntimePath("index creator -> collection: write documents (aoss:WriteDocument)", _creator, _index("aoss:WriteDocument"), DATA),
    RuntimePath("ingestion -> self-hosted model: sagemaker:InvokeEndpoint", _ingestion, lambda s: sagemaker_endpoint(s.inference.self_hosted), frozenset({Layer.SECURITY_GROUPS, Layer.IDENTITY})),
)  # fmt: skip


def _agent(s: RegionalStack) -> MultiAzAgentRuntime:
    assert s.inference.agent is not None
    return s.inference.agent


def _client(s: RegionalStack) -> MultiAzFunction:
    assert s.inference.agent_client is not None
    return s.inference.agent_client


def _agent_index(permission: str) -> TargetOf:
    return lambda s: collection_index(
        s.inference.collection, s.inference.index.index_name, permission
    )


AGENT_PATHS: tuple[RuntimePath, ...] = (
    # What the runtime needs to start and to answer, and who may call it.
    RuntimePath("agent -> S3: its code package (s3:GetObject through the gateway)", _agent, lambda s: runtime_code(s.inference.agent)),
    RuntimePath("agent -> logs: its log group (logs:PutLogEvents)", _agent, lambda s: runtime_logs(s.inference.agent)),
    RuntimePath("agent -> bedrock-runtime: InvokeModel/Converse through the profile", _agent, lambda s: through_profile(s.inference.profile)),
    RuntimePath("agent -> bedrock-runtime: InvokeModel on the embedding model", _agent, lambda s: on_demand(s.inference.embedding_model)),
    RuntimePath("agent -> collection: search (aoss:ReadDocument)", _agent, _agent_index("aoss:ReadDocument")),
    RuntimePath("agent client -> bedrock-agentcore: InvokeAgentRuntime", _client, lambda s: invoke_runtime(s.inference.agent)),
    # Refused.
    RuntimePath("agent -> bedrock-runtime: the model outside its profile", _agent, lambda s: outside_profile(s.inference.profile), IDENTITY),
    RuntimePath("agent -> collection: write documents (aoss:WriteDocument)", _agent, _agent_index("aoss:WriteDocument"), DATA),
    RuntimePath("retrieval -> bedrock-agentcore: InvokeAgentRuntime", _retrieval, lambda s: invoke_runtime(s.inference.agent), frozenset({Layer.SECURITY_GROUPS, Layer.IDENTITY})),
)  # fmt: skip
"""The agent runtime's paths (the reference app with ``ha-inference:agent``)."""

IMAGE_REPOSITORY = "agents/retrieval"
"""The repository of the image the image-agent rehearsal configures."""

IMAGE_PATHS: tuple[RuntimePath, ...] = (
    RuntimePath("agent -> ecr.api: an authorization token", _agent, lambda s: ecr_token(s.inference.agent)),
    RuntimePath("agent -> ecr.dkr: the image manifest and layer URLs", _agent, lambda s: ecr_pull(s.inference.agent, IMAGE_REPOSITORY)),
    RuntimePath("agent -> S3: image layers (URLs presigned by ECR)", _agent, lambda s: image_layers(s.inference.agent)),
    RuntimePath("agent -> logs: its log group (logs:PutLogEvents)", _agent, lambda s: runtime_logs(s.inference.agent)),
    RuntimePath("agent -> bedrock-runtime: InvokeModel/Converse through the profile", _agent, lambda s: through_profile(s.inference.profile)),
    RuntimePath("agent -> ecr.dkr: another repository", _agent, lambda s: ecr_pull(s.inference.agent, "agents/other"), frozenset({Layer.ENDPOINT_POLICY, Layer.IDENTITY})),
)  # fmt: skip
"""The paths of an agent that runs an ECR image (``ha-inference:agent`` with ``image``)."""


def path_named(name: str) -> RuntimePath:
    for path in (*PATHS, *AGENT_PATHS, *IMAGE_PATHS):
        if path.name == name:
            return path
    raise KeyError(name)
