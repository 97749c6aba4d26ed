"""ha-inference: highly available generative-AI inference constructs (GENREL05-BP01).

Every public name is importable from here. Modules load on first use (PEP 562), so an app that
never touches the rule pack does not load cdk-nag, and one without self-hosted models does not
load the SageMaker constructs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "RegionalInference": "ha_inference.architecture.regional_inference",
    "AgentRuntimeOptions": "ha_inference.architecture.regional_inference",
    "MultiAzAgentRuntime": "ha_inference.agents.runtime",
    "AgentRuntimeAlarms": "ha_inference.agents.runtime",
    "AgentCode": "ha_inference.agents.code",
    "retrieval_agent_code": "ha_inference.agents.code",
    "AgentRuntimeVpcEndpoint": "ha_inference.agents.invoke_endpoint",
    "BedrockMantleEndpoint": "ha_inference.bedrock.mantle",
    "ImportedModelOptions": "ha_inference.architecture.regional_inference",
    "SelfHostedModelOptions": "ha_inference.architecture.regional_inference",
    "CrossRegionFailover": "ha_inference.architecture.cross_region_failover",
    "InferenceVpc": "ha_inference.architecture.network",
    "pin_availability_zones": "ha_inference.architecture.network",
    "ApplicationInferenceProfile": "ha_inference.bedrock.profiles",
    "CrossRegionInferenceProfile": "ha_inference.bedrock.profiles",
    "FoundationModel": "ha_inference.bedrock.profiles",
    "IInvokeTarget": "ha_inference.bedrock.profiles",
    "PolicyStatementShape": "ha_inference.bedrock.profiles",
    "ServiceTier": "ha_inference.bedrock.tiers",
    "deny_service_tiers": "ha_inference.bedrock.tiers",
    "BedrockVpcEndpoints": "ha_inference.bedrock.endpoints",
    "ImportedModel": "ha_inference.bedrock.imported_model",
    "ImportedModelAlarms": "ha_inference.bedrock.imported_model",
    "CollectionVpcEndpoint": "ha_inference.vectors.collection_endpoint",
    "IVectorCollection": "ha_inference.vectors.collection",
    "VectorCollection": "ha_inference.vectors.collection",
    "VectorIndex": "ha_inference.vectors.index",
    "IndexDefinition": "ha_inference.functions.vector_index",
    "DEFAULT_INDEX": "ha_inference.functions.vector_index",
    "MultiAzFunction": "ha_inference.compute.multi_az_function",
    "ShippedHandler": "ha_inference.compute.shipped",
    "handler_code": "ha_inference.compute.shipped",
    "EndpointAlarms": "ha_inference.selfhosted.endpoint",
    "MultiAzSageMakerEndpoint": "ha_inference.selfhosted.endpoint",
    "EndpointServiceOptions": "ha_inference.selfhosted.load_balancer",
    "SageMakerRuntimeLoadBalancer": "ha_inference.selfhosted.load_balancer",
    "TargetHealthAlarms": "ha_inference.selfhosted.load_balancer",
    "CrossRegionRuntimePaths": "ha_inference.selfhosted.cross_region",
    "RuntimeRoute": "ha_inference.selfhosted.cross_region",
    "SageMakerFailoverFunction": "ha_inference.selfhosted.cross_region",
    "ZonalAutoshiftOptions": "ha_inference.selfhosted.load_balancer",
    "require_instance_fallbacks": "ha_inference.selfhosted.capacity",
    "AnswerMetrics": "ha_inference.operations.answers",
    "AvailabilityZoneDrill": "ha_inference.operations.drill",
    "ApplicationDashboard": "ha_inference.operations.dashboard",
    "RegionView": "ha_inference.operations.dashboard",
    "RegionalDashboard": "ha_inference.operations.dashboard",
    "DeliveryWave": "ha_inference.delivery.pipeline",
    "RegionDelivery": "ha_inference.delivery.pipeline",
    "RegionalDeliveryPipeline": "ha_inference.delivery.pipeline",
    "RegionHealthAlarm": "ha_inference.delivery.health",
    "RegionCoverage": "ha_inference.checks.coverage",
    "mark_supporting": "ha_inference.checks.coverage",
    "HaInferenceChecks": "ha_inference.checks.nag_pack",
    "DEFAULT_ROUTES": "ha_inference.data.models",
    "MODEL_CARDS": "ha_inference.data.models",
    "Lifecycle": "ha_inference.data.models",
    "ModelCard": "ha_inference.data.models",
    "ModelStatus": "ha_inference.data.models",
    "Geography": "ha_inference.regions",
    "RoutingTable": "ha_inference.regions",
    "data_residency_of": "ha_inference.checks.residency",
    "declare_data_residency": "ha_inference.checks.residency",
}

__all__ = [
    "DEFAULT_INDEX",
    "DEFAULT_ROUTES",
    "MODEL_CARDS",
    "AgentCode",
    "AgentRuntimeAlarms",
    "AgentRuntimeOptions",
    "AgentRuntimeVpcEndpoint",
    "AnswerMetrics",
    "ApplicationDashboard",
    "ApplicationInferenceProfile",
    "AvailabilityZoneDrill",
    "BedrockMantleEndpoint",
    "BedrockVpcEndpoints",
    "CollectionVpcEndpoint",
    "CrossRegionFailover",
    "CrossRegionInferenceProfile",
    "CrossRegionRuntimePaths",
    "DeliveryWave",
    "EndpointAlarms",
    "EndpointServiceOptions",
    "FoundationModel",
    "Geography",
    "HaInferenceChecks",
    "IInvokeTarget",
    "IVectorCollection",
    "ImportedModel",
    "ImportedModelAlarms",
    "ImportedModelOptions",
    "IndexDefinition",
    "InferenceVpc",
    "Lifecycle",
    "ModelCard",
    "ModelStatus",
    "MultiAzAgentRuntime",
    "MultiAzFunction",
    "MultiAzSageMakerEndpoint",
    "PolicyStatementShape",
    "RegionCoverage",
    "RegionDelivery",
    "RegionHealthAlarm",
    "RegionView",
    "RegionalDashboard",
    "RegionalDeliveryPipeline",
    "RegionalInference",
    "RoutingTable",
    "RuntimeRoute",
    "SageMakerFailoverFunction",
    "SageMakerRuntimeLoadBalancer",
    "SelfHostedModelOptions",
    "ServiceTier",
    "ShippedHandler",
    "TargetHealthAlarms",
    "VectorCollection",
    "VectorIndex",
    "ZonalAutoshiftOptions",
    "data_residency_of",
    "declare_data_residency",
    "deny_service_tiers",
    "handler_code",
    "mark_supporting",
    "pin_availability_zones",
    "require_instance_fallbacks",
    "retrieval_agent_code",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'ha_inference' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # pragma: no cover - what type checkers and IDEs see
    from ha_inference.agents.code import AgentCode, retrieval_agent_code
    from ha_inference.agents.invoke_endpoint import AgentRuntimeVpcEndpoint
    from ha_inference.agents.runtime import AgentRuntimeAlarms, MultiAzAgentRuntime
    from ha_inference.architecture.cross_region_failover import CrossRegionFailover
    from ha_inference.architecture.network import InferenceVpc, pin_availability_zones
    from ha_inference.architecture.regional_inference import (
        AgentRuntimeOptions,
        ImportedModelOptions,
        RegionalInference,
        SelfHostedModelOptions,
    )
    from ha_inference.bedrock.endpoints import BedrockVpcEndpoints
    from ha_inference.bedrock.imported_model import ImportedModel, ImportedModelAlarms
    from ha_inference.bedrock.mantle import BedrockMantleEndpoint
    from ha_inference.bedrock.profiles import (
        ApplicationInferenceProfile,
        CrossRegionInferenceProfile,
        FoundationModel,
        IInvokeTarget,
        PolicyStatementShape,
    )
    from ha_inference.bedrock.tiers import ServiceTier, deny_service_tiers
    from ha_inference.checks.coverage import RegionCoverage, mark_supporting
    from ha_inference.checks.nag_pack import HaInferenceChecks
    from ha_inference.checks.residency import data_residency_of, declare_data_residency
    from ha_inference.compute.multi_az_function import MultiAzFunction
    from ha_inference.compute.shipped import ShippedHandler, handler_code
    from ha_inference.data.models import (
        DEFAULT_ROUTES,
        MODEL_CARDS,
        Lifecycle,
        ModelCard,
        ModelStatus,
    )
    from ha_inference.delivery.health import RegionHealthAlarm
    from ha_inference.delivery.pipeline import (
        DeliveryWave,
        RegionalDeliveryPipeline,
        RegionDelivery,
    )
    from ha_inference.functions.vector_index import DEFAULT_INDEX, IndexDefinition
    from ha_inference.operations.answers import AnswerMetrics
    from ha_inference.operations.dashboard import (
        ApplicationDashboard,
        RegionalDashboard,
        RegionView,
    )
    from ha_inference.operations.drill import AvailabilityZoneDrill
    from ha_inference.regions import Geography, RoutingTable
    from ha_inference.selfhosted.capacity import require_instance_fallbacks
    from ha_inference.selfhosted.cross_region import (
        CrossRegionRuntimePaths,
        RuntimeRoute,
        SageMakerFailoverFunction,
    )
    from ha_inference.selfhosted.endpoint import EndpointAlarms, MultiAzSageMakerEndpoint
    from ha_inference.selfhosted.load_balancer import (
        EndpointServiceOptions,
        SageMakerRuntimeLoadBalancer,
        TargetHealthAlarms,
        ZonalAutoshiftOptions,
    )
    from ha_inference.vectors.collection import IVectorCollection, VectorCollection
    from ha_inference.vectors.collection_endpoint import CollectionVpcEndpoint
    from ha_inference.vectors.index import VectorIndex
