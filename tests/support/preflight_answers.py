"""Stubbed AWS answers for preflight's checks, one function per call (or group of calls) a
check makes; the preflight tests and the docs' example run (``docgen/tool_examples.py``) both
queue them on a :class:`tests.support.stubs.Stubs`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.stub import ANY

from tests.support.stubs import (
    ACCOUNT,
    EMBEDDING_MODEL_ID,
    MODEL_ID,
    NOW,
    PHYSICAL,
    PROFILE_ID,
    PROFILE_REGIONS,
    REGION,
    ZONE_IDS,
    ZONES,
    Stubs,
)


def toolkit(stubs: Stubs, status: str = "UPDATE_COMPLETE") -> None:
    stubs("cloudformation").add_response(
        "describe_stacks",
        {"Stacks": [{"StackName": "CDKToolkit", "StackStatus": status, "CreationTime": NOW}]},
        {"StackName": "CDKToolkit"},
    )


def bootstrap_version(stubs: Stubs, value: str = "27") -> None:
    stubs("ssm").add_response(
        "get_parameter",
        {"Parameter": {"Name": "/cdk-bootstrap/hnb659fds/version", "Value": value}},
        {"Name": "/cdk-bootstrap/hnb659fds/version"},
    )


def quotas(stubs: Stubs, value: float, *, usage_metric: bool = False) -> None:
    quota: dict[str, Any] = {
        "ServiceCode": "sagemaker",
        "QuotaCode": "L-1234ABCD",
        "QuotaName": "ml.g5.xlarge for endpoint usage",
        "Value": value,
    }
    if usage_metric:
        quota["UsageMetric"] = {
            "MetricNamespace": "AWS/Usage",
            "MetricName": "ResourceCount",
            "MetricDimensions": {"Service": "SageMaker", "Resource": "ml.g5.xlarge"},
            "MetricStatisticRecommendation": "Maximum",
        }
    other = {**quota, "QuotaCode": "L-0", "QuotaName": "ml.g5.xlarge for training job usage"}
    stubs("service-quotas").add_response(
        "list_service_quotas",
        {"Quotas": [other], "NextToken": "page2"},
        {"ServiceCode": "sagemaker"},
    )
    stubs("service-quotas").add_response(
        "list_service_quotas",
        {"Quotas": [quota]},
        {"ServiceCode": "sagemaker", "NextToken": "page2"},
    )


def usage(stubs: Stubs, values: list[float]) -> None:
    stubs("cloudwatch").add_response(
        "get_metric_data",
        {"MetricDataResults": [{"Id": "usage", "Values": values, "StatusCode": "Complete"}]},
        {"MetricDataQueries": ANY, "StartTime": ANY, "EndTime": ANY},
    )


def zones(stubs: Stubs) -> None:
    stubs("ec2").add_response(
        "describe_availability_zones",
        {
            "AvailabilityZones": [
                {"ZoneName": z, "ZoneId": ZONE_IDS[z], "RegionName": REGION} for z in ZONES
            ]
        },
        {},
    )


def service(stubs: Stubs, name: str, offered: tuple[str, ...] = ZONES) -> None:
    stubs("ec2").add_response(
        "describe_vpc_endpoint_services",
        {"ServiceDetails": [{"ServiceName": name, "AvailabilityZones": list(offered)}]},
        {"ServiceNames": [name]},
    )


def profile(stubs: Stubs, regions: tuple[str, ...] = PROFILE_REGIONS) -> None:
    stubs("bedrock").add_response(
        "get_inference_profile",
        {
            "inferenceProfileName": "US Claude Sonnet 5.5",
            "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{PROFILE_ID}",
            "inferenceProfileId": PROFILE_ID,
            "models": [
                {"modelArn": f"arn:aws:bedrock:{r}::foundation-model/{MODEL_ID}"} for r in regions
            ],
            "status": "ACTIVE",
            "type": "SYSTEM_DEFINED",
        },
        {"inferenceProfileIdentifier": PROFILE_ID},
    )


def foundation_model(stubs: Stubs, kinds: tuple[str, ...] = ("ON_DEMAND",)) -> None:
    stubs("bedrock").add_response(
        "get_foundation_model",
        {
            "modelDetails": {
                "modelArn": f"arn:aws:bedrock:{REGION}::foundation-model/{EMBEDDING_MODEL_ID}",
                "modelId": EMBEDDING_MODEL_ID,
                "inferenceTypesSupported": list(kinds),
                "modelLifecycle": {"status": "ACTIVE"},
            }
        },
        {"modelIdentifier": EMBEDDING_MODEL_ID},
    )


PAST = datetime(2020, 1, 1, tzinfo=UTC)


FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def lifecycle(
    stubs: Stubs,
    region: str,
    status: str = "ACTIVE",
    *,
    model_id: str = MODEL_ID,
    kinds: tuple[str, ...] = ("INFERENCE_PROFILE",),
    **times: datetime,
) -> None:
    """GetFoundationModel in ``region``: ``status`` with ``legacyTime``/``endOfLifeTime``."""
    stubs("bedrock", region).add_response(
        "get_foundation_model",
        {
            "modelDetails": {
                "modelArn": f"arn:aws:bedrock:{region}::foundation-model/{model_id}",
                "modelId": model_id,
                "inferenceTypesSupported": list(kinds),
                "modelLifecycle": {"status": status, **times},
            }
        },
        {"modelIdentifier": model_id},
    )


def all_active(stubs: Stubs, regions: tuple[str, ...] = PROFILE_REGIONS) -> None:
    for region in regions:
        lifecycle(stubs, region)


def bucket(stubs: Stubs, location: str | None = None, owner: str = ACCOUNT) -> None:
    stubs("s3").add_response(
        "get_bucket_location",
        {"LocationConstraint": location} if location else {},
        {"Bucket": "models-us-east-1", "ExpectedBucketOwner": owner},
    )


def head(stubs: Stubs, region: str = REGION, owner: str = ACCOUNT) -> None:
    stubs("s3", region).add_response(
        "head_object",
        {"ContentLength": 4_200_000_000},
        {"Bucket": "models-us-east-1", "Key": "llm/model.tar.gz", "ExpectedBucketOwner": owner},
    )


def collections(stubs: Stubs, existing: list[dict[str, str]] | None = None) -> None:
    stubs("opensearchserverless").add_response(
        "batch_get_collection",
        {"collectionDetails": existing or [], "collectionErrorDetails": []},
        {"names": ["vectors"]},
    )


def policies(stubs: Stubs, *, encryption: bool = False, data: bool = False) -> None:
    aoss = stubs("opensearchserverless")
    if encryption:
        aoss.add_response(
            "get_security_policy",
            {"securityPolicyDetail": {"name": "vectors-enc", "type": "encryption"}},
            {"type": "encryption", "name": "vectors-enc"},
        )
    else:
        aoss.add_client_error(
            "get_security_policy", "ResourceNotFoundException", http_status_code=404
        )
    if data:
        aoss.add_response(
            "get_access_policy",
            {"accessPolicyDetail": {"name": "vectors-data", "type": "data"}},
            {"type": "data", "name": "vectors-data"},
        )
    else:
        aoss.add_client_error(
            "get_access_policy", "ResourceNotFoundException", http_status_code=404
        )


def endpoint_name(stubs: Stubs, *, exists: bool = False) -> None:
    if exists:
        stubs("sagemaker").add_response(
            "describe_endpoint",
            {
                "EndpointName": "llm-endpoint",
                "EndpointArn": PHYSICAL["Endpoint"][1],
                "EndpointStatus": "InService",
                "CreationTime": NOW,
                "LastModifiedTime": NOW,
            },
            {"EndpointName": "llm-endpoint"},
        )
    else:
        stubs("sagemaker").add_client_error(
            "describe_endpoint",
            "ValidationException",
            'Could not find endpoint "llm-endpoint".',
            http_status_code=400,
        )


def import_listing(stubs: Stubs, keys: tuple[str, ...]) -> None:
    stubs("s3").add_response(
        "list_objects_v2",
        {"Contents": [{"Key": f"support-llm/{key}"} for key in keys]},
        {
            "Bucket": "imports-us-east-1",
            "Prefix": "support-llm/",
            "MaxKeys": 1000,
            "ExpectedBucketOwner": ACCOUNT,
        },
    )


DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


IMPORT_BUCKET = {"Bucket": "imports-us-east-1", "ExpectedBucketOwner": ACCOUNT}


def image_answer(stubs: Stubs, digest: str | None, ids: dict[str, str] | None = None) -> None:
    found = {"imageId": {"imageTag": "1", "imageDigest": digest}} if digest else None
    stubs("ecr").add_response(
        "batch_get_image",
        {
            "images": [found] if found else [],
            "failures": []
            if found
            else [{"imageId": ids or {"imageTag": "1"}, "failureCode": "ImageNotFound"}],
        },
        {
            "registryId": "123456789012",
            "repositoryName": "model",
            "imageIds": [ids or {"imageTag": "1"}],
            "acceptedMediaTypes": [
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.oci.image.manifest.v1+json",
            ],
        },
    )
