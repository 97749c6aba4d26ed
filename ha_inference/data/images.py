"""AWS Deep Learning Containers: which account publishes an image family in each Region.

An image URI is ``<account>.dkr.ecr.<region>.<dns suffix>/<repository>:<tag>``; both the account
and the DNS suffix differ by Region. The account of most commercial Regions is 763104351884, but
newer Regions, GovCloud and China each have their own, and China's endpoints end in
``amazonaws.com.cn``.

Sources:

* Registries and tag: the SageMaker Python SDK's image URI configuration for the Hugging Face TGI
  family (repository ``huggingface-pytorch-tgi-inference``), ``inference.versions["3.3.6"]`` of
  ``sagemaker-core/src/sagemaker/core/image_uri_config/huggingface-llm.json`` in
  https://github.com/aws/sagemaker-python-sdk (commit 55c2a9bd), read 2026-12-08: TGI 3.3.6, the
  newest version there (alias ``3.3``), tag ``<tag_prefix>-gpu-<py_version>-<container_version>``.
  Only the Regions this library knows are copied.
* DNS suffixes: the ``dnsSuffix`` of each partition in botocore's ``endpoints.json``.
* Digests: :data:`HUGGING_FACE_TGI_DIGESTS`, with the source of each row. A tag can be pushed
  again (the DLC releases publish patch images under the same tag), a digest cannot: a pinned
  digest is what SageMaker pulls. No machine-readable source read so far publishes this tag's
  digest: the AWS Deep Learning Containers GitHub releases list one digest per release, for the
  ``us-west-2`` URI only, and no release note of the TGI 3.3.6 images was among the stored
  sources; ECR cannot be asked offline. So the table is empty and the default image is pinned by
  tag; ``ha-inference preflight`` resolves the tag in each Region's registry
  (``ecr:BatchGetImage``), shows the digest it stands for and fails when it differs from a
  pinned one. Pin your own with the ``image`` setting (``...@sha256:<digest>``).

``tests/data/test_data_sources.py`` checks that every Region here has an ECR endpoint in botocore.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ha_inference.regions import partition_of

HUGGING_FACE_TGI_REPOSITORY = "huggingface-pytorch-tgi-inference"
HUGGING_FACE_TGI_TAG = "2.7.0-tgi3.3.6-gpu-py311-cu124-ubuntu22.04"
"""The reference app's serving image tag (TGI 3.3.6 on PyTorch 2.7.0 and CUDA 12.4)."""

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
"""An image manifest digest as ECR reports it (``imageDigest``)."""


@dataclass(frozen=True)
class PinnedDigest:
    """The digest a tag stood for in one Region's registry, and where that was read."""

    tag: str
    digest: str
    source: str
    read: str
    """The day the source was read (``YYYY-MM-DD``)."""


HUGGING_FACE_TGI_DIGESTS: Mapping[str, PinnedDigest] = MappingProxyType({})
"""Per Region, the verified digest of the Hugging Face TGI image; none verified yet (see the
module's sources)."""

HUGGING_FACE_TGI_REGISTRIES: Mapping[str, str] = MappingProxyType(
    {
        "af-south-1": "626614931356",
        "ap-east-1": "871362719292",
        "ap-east-2": "975050140332",
        "ap-northeast-1": "763104351884",
        "ap-northeast-2": "763104351884",
        "ap-northeast-3": "364406365360",
        "ap-south-1": "763104351884",
        "ap-south-2": "772153158452",
        "ap-southeast-1": "763104351884",
        "ap-southeast-2": "763104351884",
        "ap-southeast-3": "907027046896",
        "ap-southeast-4": "457447274322",
        "ap-southeast-5": "550225433462",
        "ap-southeast-6": "633930458069",
        "ap-southeast-7": "590183813437",
        "ca-central-1": "763104351884",
        "ca-west-1": "204538143572",
        "cn-north-1": "727897471807",
        "cn-northwest-1": "727897471807",
        "eu-central-1": "763104351884",
        "eu-central-2": "380420809688",
        "eu-north-1": "763104351884",
        "eu-south-1": "692866216735",
        "eu-south-2": "503227376785",
        "eu-west-1": "763104351884",
        "eu-west-2": "763104351884",
        "eu-west-3": "763104351884",
        "il-central-1": "780543022126",
        "me-central-1": "914824155844",
        "me-south-1": "217643126080",
        "mx-central-1": "637423239942",
        "sa-east-1": "763104351884",
        "us-east-1": "763104351884",
        "us-east-2": "763104351884",
        "us-gov-east-1": "446045086412",
        "us-gov-west-1": "442386744353",
        "us-west-1": "763104351884",
        "us-west-2": "763104351884",
    }
)
"""The account that publishes the Hugging Face TGI containers in each Region."""

DNS_SUFFIXES: Mapping[str, str] = MappingProxyType(
    {"aws": "amazonaws.com", "aws-cn": "amazonaws.com.cn", "aws-us-gov": "amazonaws.com"}
)
"""Each partition's DNS suffix (botocore ``endpoints.json``)."""


def ecr_image_uri(account: str, region: str, repository: str, tag: str) -> str:
    """``<account>.dkr.ecr.<region>.<dns suffix>/<repository>:<tag>``."""
    return f"{account}.dkr.ecr.{region}.{DNS_SUFFIXES[partition_of(region)]}/{repository}:{tag}"


def ecr_image_digest_uri(account: str, region: str, repository: str, digest: str) -> str:
    """``<account>.dkr.ecr.<region>.<dns suffix>/<repository>@<digest>``."""
    suffix = DNS_SUFFIXES[partition_of(region)]
    return f"{account}.dkr.ecr.{region}.{suffix}/{repository}@{digest}"


def hugging_face_tgi_image(region: str, tag: str = HUGGING_FACE_TGI_TAG) -> str:
    """The Hugging Face TGI container's URI in ``region``: by digest where
    :data:`HUGGING_FACE_TGI_DIGESTS` pins one for ``tag`` there, else by tag; ``ValueError``
    for a Region without a registry in the table."""
    account = HUGGING_FACE_TGI_REGISTRIES.get(region)
    if account is None:
        raise ValueError(
            f"the Hugging Face TGI container has no registry in {region!r} in the SageMaker "
            f"Python SDK's table (Regions: {', '.join(sorted(HUGGING_FACE_TGI_REGISTRIES))}); "
            "give your own ECR image URI for that Region"
        )
    pinned = HUGGING_FACE_TGI_DIGESTS.get(region)
    if pinned is not None and pinned.tag == tag:
        return ecr_image_digest_uri(account, region, HUGGING_FACE_TGI_REPOSITORY, pinned.digest)
    return ecr_image_uri(account, region, HUGGING_FACE_TGI_REPOSITORY, tag)


def pinned_digest(region: str, repository: str, tag: str) -> PinnedDigest | None:
    """The digest this module pins for ``repository:tag`` in ``region``, if any."""
    if repository != HUGGING_FACE_TGI_REPOSITORY:
        return None
    pinned = HUGGING_FACE_TGI_DIGESTS.get(region)
    return pinned if pinned is not None and pinned.tag == tag else None


def check_digests(
    digests: Mapping[str, PinnedDigest], tag: str, registries: Mapping[str, str]
) -> list[str]:
    """What is wrong with a digest table for the image ``tag``: a row for another tag (the tag
    moved on and the digest was not read again), a malformed digest, a Region without a
    registry, a row without its source or day. Empty when the table holds."""
    problems = []
    for region, pinned in sorted(digests.items()):
        if pinned.tag != tag:
            problems.append(
                f"{region}: the digest {pinned.digest} was read for tag {pinned.tag}, but the "
                f"image is {tag}; read the digest of {tag} again or drop the row"
            )
        if not DIGEST.match(pinned.digest):
            problems.append(f"{region}: {pinned.digest!r} is not a sha256 image digest")
        if region not in registries:
            problems.append(f"{region}: no registry for the image in this Region")
        if not pinned.source or not re.match(r"^\d{4}-\d{2}-\d{2}$", pinned.read):
            problems.append(f"{region}: the row names no source or no day it was read")
    return problems
