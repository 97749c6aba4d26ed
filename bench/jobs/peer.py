"""The peer-benchmark job with generative-ai-cdk-constructs (the version pinned in
``bench/peer-requirements.txt``), as its README shows: a VPC in three AZs, a US cross-Region
inference profile granted to a Lambda function in the VPC, and a vector collection that function
may use. The library has no Lambda construct and no VPC endpoints: the function is aws-cdk-lib's
``lambda.Function`` with the same code and settings, and the collection is reached the way the
library builds it (a network policy open to the internet, access through IAM and the data access
policy that ``grant_data_access`` writes: read and write).

``python bench/jobs/peer.py <stacks> <outdir>`` in ``bench/.peer-venv`` (see ``shared.py``).
"""

import time

IMPORTED_AT = time.perf_counter()

import aws_cdk as cdk  # noqa: E402
import shared  # noqa: E402
from aws_cdk import aws_lambda as lambda_  # noqa: E402
from cdklabs.generative_ai_cdk_constructs import bedrock, opensearchserverless  # noqa: E402


def build(stack: cdk.Stack, index: int) -> None:
    vpc = shared.vpc(stack)
    model = bedrock.BedrockFoundationModel(shared.MODEL_ID, supports_cross_region=True)
    profile = bedrock.CrossRegionInferenceProfile.from_config(
        geo_region=bedrock.CrossRegionInferenceProfileRegion.US, model=model
    )
    collection = opensearchserverless.VectorCollection(
        stack, "Vectors", collection_name=shared.collection_name(index)
    )
    function = lambda_.Function(
        stack,
        "Function",
        vpc=vpc,
        code=shared.code(),
        handler=shared.HANDLER,
        runtime=lambda_.Runtime.PYTHON_3_14,
        architecture=lambda_.Architecture.ARM_64,
        memory_size=shared.MEMORY_MIB,
        timeout=shared.TIMEOUT,
        environment={
            "PROFILE_ID": profile.inference_profile_id,
            "COLLECTION_ENDPOINT": collection.collection_endpoint,
        },
    )
    profile.grant_invoke(function)
    assert function.role is not None
    collection.grant_data_access(function.role)


if __name__ == "__main__":
    shared.run(IMPORTED_AT, build)
