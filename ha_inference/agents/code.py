"""What an agent runtime runs, without Docker: :class:`AgentCode`.

AgentCore Runtime runs either a code package (a zip in S3 with an entry point, on a managed
Python runtime, Linux arm64) or a container image in Amazon ECR (linux/arm64). Each factory here
builds one of them without Docker at synth time, and tells :class:`MultiAzAgentRuntime` exactly
which object or repository the runtime reads, so that its role, its endpoints and their policies
allow that and nothing else. (aws-cdk-lib's ``AgentRuntimeArtifact.from_asset`` builds an image
with Docker; it is not offered here.)

Sources: Amazon Bedrock AgentCore developer guide, "Get started with Amazon Bedrock AgentCore
Runtime direct code deployment"
(https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/runtime-get-started-code-deploy.html)
and "HTTP protocol contract"
(https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/runtime-http-protocol-contract.html).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_s3 as s3

from ha_inference._internal.props import check_fields, checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference.compute.shipped import EXCLUDE, FUNCTIONS_DIR

DEFAULT_RUNTIME = agentcore.AgentCoreRuntime.PYTHON_3_13
"""The managed Python runtime of code packages by default."""

ECR_IMAGE_URI = re.compile(
    r"^(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repository>[a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::(?P<tag>[\w][\w.-]{0,127})|@sha256:[a-f0-9]{64})$"
)
"""A private Amazon ECR image URI with a tag or a digest."""


@dataclass(frozen=True)
class AgentCode:
    """What an agent runtime runs: build one with :meth:`from_asset`, :meth:`from_bucket` or
    :meth:`from_image_uri` (none needs Docker).

    :param kind: ``asset``, ``bucket`` or ``image``.
    :param path: the zip file or folder of an ``asset``. Default: none.
    :param bucket: the bucket of a ``bucket`` package. Default: none.
    :param object_key: the key of a ``bucket`` package. Default: none.
    :param version_id: the object version of a ``bucket`` package. Default: the latest.
    :param image_uri: the ECR image of an ``image``. Default: none.
    :param entrypoint: the command of a code package (``["main.py"]``). Default: none.
    :param runtime: the managed runtime of a code package. Default: Python 3.13.
    :param exclude: glob patterns left out of an ``asset`` folder. Default: none.
    """

    kind: str
    path: str | None = None
    bucket: s3.IBucket | None = None
    object_key: str | None = None
    version_id: str | None = None
    image_uri: str | None = None
    entrypoint: Sequence[str] = ()
    runtime: agentcore.AgentCoreRuntime = DEFAULT_RUNTIME
    exclude: Sequence[str] = ()

    def __post_init__(self) -> None:
        check_fields(self)
        if self.kind not in ("asset", "bucket", "image"):
            raise ValueError(
                f"kind must be 'asset', 'bucket' or 'image', got {self.kind!r}; build the code "
                "with AgentCode.from_asset, from_bucket or from_image_uri"
            )
        if self.kind != "image":
            _check_entrypoint(self.entrypoint)

    @classmethod
    @checked_props
    def from_asset(
        cls,
        path: str,
        *,
        entrypoint: Sequence[str],
        runtime: agentcore.AgentCoreRuntime = DEFAULT_RUNTIME,
        exclude: Sequence[str] = (),
    ) -> AgentCode:
        """A code package from this machine, uploaded as a CDK asset: a ``.zip`` file as is, or
        a folder zipped at synth (no bundling, no Docker). Its dependencies must be in it, built
        for Linux arm64.

        :param path: the zip file or folder.
        :param entrypoint: the command that starts the agent, relative to the package root
            (e.g. ``["main.py"]``): a server answering ``POST /invocations`` and ``GET /ping``
            on port 8080.
        :param runtime: the managed runtime. Default: Python 3.13.
        :param exclude: glob patterns left out of a folder. Default: none.
        """
        return cls(
            kind="asset",
            path=path,
            entrypoint=tuple(entrypoint),
            runtime=runtime,
            exclude=tuple(exclude),
        )

    @classmethod
    @checked_props
    def from_bucket(
        cls,
        bucket: s3.IBucket,
        object_key: str,
        *,
        entrypoint: Sequence[str],
        runtime: agentcore.AgentCoreRuntime = DEFAULT_RUNTIME,
        version_id: str | None = None,
    ) -> AgentCode:
        """A code package (a zip) already in S3, in a bucket of the runtime's Region (an S3
        gateway endpoint reaches only buckets of its own Region).

        :param bucket: the bucket.
        :param object_key: the zip's key.
        :param entrypoint: the command that starts the agent (e.g. ``["main.py"]``).
        :param runtime: the managed runtime. Default: Python 3.13.
        :param version_id: the object version. Default: the latest.
        """
        if not is_unresolved(object_key) and not object_key.endswith(".zip"):
            raise ValueError(
                f"object_key must name a .zip code package, got {object_key!r}; upload the "
                "package as a zip"
            )
        return cls(
            kind="bucket",
            bucket=bucket,
            object_key=object_key,
            version_id=version_id,
            entrypoint=tuple(entrypoint),
            runtime=runtime,
        )

    @classmethod
    @checked_props
    def from_image_uri(cls, image_uri: str) -> AgentCode:
        """A linux/arm64 container image in a private Amazon ECR repository of the runtime's
        Region, by tag or digest; the runtime's role gets exactly the pull permissions on that
        repository.

        :param image_uri: ``<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>`` (or
            ``@sha256:<digest>``).
        """
        if not ECR_IMAGE_URI.match(image_uri):
            raise ValueError(
                f"image_uri must be a private Amazon ECR image such as "
                f"'111111111111.dkr.ecr.us-east-1.amazonaws.com/agent:1.0', got {image_uri!r}; "
                "push the image to ECR in the runtime's Region and give its URI"
            )
        return cls(kind="image", image_uri=image_uri)

    @property
    def is_image(self) -> bool:
        """Whether the runtime pulls a container image (from ECR) rather than a code zip."""
        return self.kind == "image"

    def image_parts(self) -> tuple[str, str, str]:
        """(account, Region, repository) of an image."""
        match = ECR_IMAGE_URI.match(self.image_uri or "")
        if match is None:
            raise ValueError(f"{self.kind} code has no image URI")
        return match["account"], match["region"], match["repository"]


def _check_entrypoint(entrypoint: Sequence[str]) -> None:
    if (
        isinstance(entrypoint, str)
        or not entrypoint
        or not all(isinstance(part, str) and part for part in entrypoint)
    ):
        raise ValueError(
            f"entrypoint must be the command that starts the agent, as a list such as "
            f"['main.py'], got {entrypoint!r}; name the package's entry file"
        )


AGENT_ENTRYPOINT = "agent_server.py"
"""The shipped retrieval agent's entry point (``ha_inference/functions/agent_server.py``)."""


def retrieval_agent_code() -> AgentCode:
    """The retrieval agent shipped with ha-inference: the shipped handlers' folder as a code
    package, started by ``agent_server.py``, which answers ``{"question": ...}`` with the
    retrieval path (the same code as the retrieval function). Give its runtime the retrieval
    function's environment, the chat and embedding models and read access to the collection."""
    return AgentCode.from_asset(
        str(FUNCTIONS_DIR), entrypoint=[AGENT_ENTRYPOINT], exclude=list(EXCLUDE)
    )
