"""One stack per configured Region: the network, and the inference path on top of it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference import (
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    EndpointServiceOptions,
    FoundationModel,
    MultiAzFunction,
    MultiAzSageMakerEndpoint,
    SageMakerRuntimeLoadBalancer,
    ShippedHandler,
    VectorCollection,
    handler_code,
)
from stacks.config import RegionSettings, SelfHostedSettings, Settings
from stacks.network import Network

COLLECTION_NAME = "ha-inference-vectors"
INDEX_NAME = "passages"


class RegionalStack(cdk.Stack):
    """The reference app in one Region.

    Its Availability Zones come from configuration, never from a context lookup, so synth is
    offline and deterministic and uses every configured AZ (an environment-agnostic stack would
    get only two).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        region: RegionSettings,
        **kwargs: Any,
    ) -> None:
        self._zones = list(region.availability_zones)
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=settings.account, region=region.region),
            description=(
                "ha-inference reference app (GENREL05-BP01): highly available generative-AI "
                f"inference in {region.region} across {', '.join(region.availability_zones)}"
            ),
            **kwargs,
        )
        self.settings = settings
        self.region_settings = region
        self.network = Network(
            self,
            "Network",
            availability_zones=region.availability_zones,
            cidr=settings.vpc_cidr,
            nat_gateways=settings.nat_gateways,
        )

        # Bedrock: the cross-Region profile, the embedding model, and runtime endpoints in every AZ.
        self.profile = CrossRegionInferenceProfile(
            self, "InferenceProfile", model_id=settings.model_id, geography=settings.geography
        )
        self.embedding_model = FoundationModel.in_stack_region(self, settings.embedding_model_id)
        self.bedrock_endpoints = BedrockVpcEndpoints(
            self,
            "BedrockEndpoints",
            vpc=self.network.vpc,
            vpc_subnets=self.network.endpoint_subnets,
            invoke_targets=[self.profile, self.embedding_model],
        )
        self.inference_role = iam.Role(
            self,
            "InferenceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Invokes the model through the cross-Region inference profile only",
        )
        self.profile.grant_invoke(self.inference_role)
        self.embedding_model.grant_invoke(self.inference_role)

        # Vector search behind its own VPC endpoint, and the retrieval function in every AZ.
        self.collection_endpoint = CollectionVpcEndpoint(
            self,
            "CollectionEndpoint",
            vpc=self.network.vpc,
            vpc_subnets=self.network.endpoint_subnets,
        )
        self.collection = VectorCollection(
            self,
            "Vectors",
            collection_name=COLLECTION_NAME,
            vpc_endpoint=self.collection_endpoint,
            description="Passages the retrieval function grounds its answers in",
        )
        self.retrieval = MultiAzFunction(
            self,
            "Retrieval",
            vpc=self.network.vpc,
            vpc_subnets=self.network.workload_subnets,
            code=handler_code(),
            handler=ShippedHandler.RETRIEVAL.value,
            role=self.inference_role,
            description="Answers a question from the vector collection through the profile",
            environment={
                "MODEL_ID": self.profile.profile_id,
                "EMBEDDING_MODEL_ID": settings.embedding_model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                "INDEX_NAME": INDEX_NAME,
            },
        )
        self.collection.grant_read(self.retrieval)
        self.bedrock_endpoints.connections.allow_default_port_from(self.retrieval)
        self.collection_endpoint.connections.allow_default_port_from(self.retrieval)

        self.self_hosted: MultiAzSageMakerEndpoint | None = None
        self.runtime_load_balancer: SageMakerRuntimeLoadBalancer | None = None
        if settings.self_hosted is not None:
            self._add_self_hosted(settings.self_hosted)

    def _add_self_hosted(self, hosted: SelfHostedSettings) -> None:
        """A SageMaker endpoint in every AZ behind the internal NLB on the runtime endpoint."""
        self.self_hosted = MultiAzSageMakerEndpoint(
            self,
            "SelfHosted",
            vpc=self.network.vpc,
            vpc_subnets=self.network.workload_subnets,
            image=hosted.image_in(self.region),
            instance_type=hosted.instance_type,
            model_data_url=hosted.model_data_url,
            environment=dict(hosted.environment),
            invocations_per_instance_target=hosted.invocations_per_instance,
        )
        self.runtime_load_balancer = SageMakerRuntimeLoadBalancer(
            self,
            "RuntimeLoadBalancer",
            vpc=self.network.vpc,
            vpc_subnets=self.network.endpoint_subnets,
            endpoint_arns=[self.self_hosted.endpoint_arn],
            deletion_protection=hosted.deletion_protection,
            endpoint_service=(
                EndpointServiceOptions(
                    allowed_principals=[iam.ArnPrincipal(p) for p in hosted.allowed_principals]
                )
                if hosted.allowed_principals
                else None
            ),
        )
        if hosted.model_data_url is None and self.settings.nat_gateways == 0:
            cdk.Annotations.of(self.self_hosted).add_warning_v2(
                "ha-inference:self-hosted-model",
                "The self-hosted container has no model: model-data-url is null and the VPC has "
                "no NAT, so it cannot download one either. Before deploying, set "
                "ha-inference:self-hosted.model-data-url to an s3:// model archive, or set "
                "ha-inference:nat-gateways and an HF_MODEL_ID hub id, or set "
                "ha-inference:self-hosted to false.",
            )
        self.self_hosted.grant_invoke(self.inference_role)
        self.runtime_load_balancer.connections.allow_default_port_from(self.retrieval)

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs (overrides the context lookup an env-specific stack would make)."""
        return self._zones
