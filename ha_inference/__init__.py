"""ha-inference: highly available generative-AI inference constructs (GENREL05-BP01)."""

from ha_inference.bedrock_endpoints import BedrockVpcEndpoints
from ha_inference.bedrock_profiles import (
    ApplicationInferenceProfile,
    CrossRegionInferenceProfile,
    FoundationModel,
    IInvokeTarget,
    PolicyStatementShape,
)
from ha_inference.collection_endpoint import CollectionVpcEndpoint
from ha_inference.coverage import RegionCoverage, mark_supporting
from ha_inference.multi_az_function import MultiAzFunction
from ha_inference.nag_pack import HaInferenceChecks
from ha_inference.regions import DEFAULT_ROUTES, Geography, RoutingTable
from ha_inference.residency import data_residency_of, declare_data_residency
from ha_inference.runtime_load_balancer import EndpointServiceOptions, SageMakerRuntimeLoadBalancer
from ha_inference.sagemaker_endpoint import EndpointAlarms, MultiAzSageMakerEndpoint
from ha_inference.vector_collection import IVectorCollection, VectorCollection

__all__ = [
    "DEFAULT_ROUTES",
    "ApplicationInferenceProfile",
    "BedrockVpcEndpoints",
    "CollectionVpcEndpoint",
    "CrossRegionInferenceProfile",
    "EndpointAlarms",
    "EndpointServiceOptions",
    "FoundationModel",
    "Geography",
    "HaInferenceChecks",
    "IInvokeTarget",
    "IVectorCollection",
    "MultiAzFunction",
    "MultiAzSageMakerEndpoint",
    "PolicyStatementShape",
    "RegionCoverage",
    "RoutingTable",
    "SageMakerRuntimeLoadBalancer",
    "VectorCollection",
    "data_residency_of",
    "declare_data_residency",
    "mark_supporting",
]
