"""AWS Deep Learning Containers: which account publishes an image family in each Region.

An image URI is ``<account>.dkr.ecr.<region>.<dns suffix>/<repository>:<tag>``; both the account
and the DNS suffix differ by Region. The account of most commercial Regions is 763104351884, but
newer Regions, GovCloud and China each have their own, and China's endpoints end in
``amazonaws.com.cn``.

Sources:

* Registries: the SageMaker Python SDK's image URI configuration for the Hugging Face TGI family
  (repository ``huggingface-pytorch-tgi-inference``), ``inference.versions["2.4.0"].registries``
  of ``sagemaker-core/src/sagemaker/core/image_uri_config/huggingface-llm.json`` in
  https://github.com/aws/sagemaker-python-sdk (commit a2481266, 2026-08-21), read 2026-12-08.
  Only the Regions this library knows are copied.
* DNS suffixes: the ``dnsSuffix`` of each partition in botocore's ``endpoints.json``.

``tests/data/test_data_sources.py`` checks that every Region here has an ECR endpoint in botocore.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ha_inference.regions import partition_of

HUGGING_FACE_TGI_REPOSITORY = "huggingface-pytorch-tgi-inference"
HUGGING_FACE_TGI_TAG = "2.4.0-tgi2.4.0-gpu-py311-cu124-ubuntu22.04"
"""The reference app's serving image tag (TGI 2.4.0 on CUDA 12.4)."""

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


def hugging_face_tgi_image(region: str, tag: str = HUGGING_FACE_TGI_TAG) -> str:
    """The Hugging Face TGI container's URI in ``region``; ``ValueError`` for a Region without
    a registry in the table."""
    account = HUGGING_FACE_TGI_REGISTRIES.get(region)
    if account is None:
        raise ValueError(
            f"the Hugging Face TGI container has no registry in {region!r} in the SageMaker "
            f"Python SDK's table (Regions: {', '.join(sorted(HUGGING_FACE_TGI_REGISTRIES))}); "
            "give your own ECR image URI for that Region"
        )
    return ecr_image_uri(account, region, HUGGING_FACE_TGI_REPOSITORY, tag)
