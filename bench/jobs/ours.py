"""The peer-benchmark job with this library, as a newcomer writes it from the README: a VPC in
three AZs, a US cross-Region inference profile granted to a function in every AZ of the VPC, and
a vector collection that function may read, behind private endpoints.

``python bench/jobs/ours.py <stacks> <outdir>`` (see ``shared.py``).
"""

import time

IMPORTED_AT = time.perf_counter()

import aws_cdk as cdk  # noqa: E402
import shared  # noqa: E402

from ha_inference import (  # noqa: E402
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    Geography,
    MultiAzFunction,
    VectorCollection,
)


def build(stack: cdk.Stack, index: int) -> None:
    vpc = shared.vpc(stack)
    profile = CrossRegionInferenceProfile(
        stack, "Claude", model_id=shared.MODEL_ID, geography=Geography.US
    )
    bedrock = BedrockVpcEndpoints(stack, "Bedrock", vpc=vpc, invoke_targets=[profile])
    collection_endpoint = CollectionVpcEndpoint(stack, "CollectionEndpoint", vpc=vpc)
    collection = VectorCollection(
        stack,
        "Vectors",
        collection_name=shared.collection_name(index),
        vpc_endpoint=collection_endpoint,
    )
    function = MultiAzFunction(
        stack,
        "Function",
        vpc=vpc,
        code=shared.code(),
        handler=shared.HANDLER,
        memory_size=shared.MEMORY_MIB,
        timeout=shared.TIMEOUT,
        environment={
            "PROFILE_ID": profile.profile_id,
            "COLLECTION_ENDPOINT": collection.collection_endpoint,
        },
    )
    profile.grant_invoke(function)
    collection.grant_read(function)
    bedrock.connections.allow_default_port_from(function)
    collection_endpoint.connections.allow_default_port_from(function)


if __name__ == "__main__":
    shared.run(IMPORTED_AT, build)
