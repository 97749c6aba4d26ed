"""One stack per configured Region: the network, and the inference path on top of it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from ha_inference import (
    DEFAULT_INDEX,
    ApplicationDashboard,
    AvailabilityZoneDrill,
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    EndpointServiceOptions,
    FoundationModel,
    MultiAzFunction,
    MultiAzSageMakerEndpoint,
    RegionalDashboard,
    SageMakerRuntimeLoadBalancer,
    ShippedHandler,
    VectorCollection,
    VectorIndex,
    ZonalAutoshiftOptions,
    handler_code,
    require_instance_fallbacks,
)
from ha_inference.regions import REGIONS_WITHOUT
from stacks.config import RegionSettings, SelfHostedSettings, Settings
from stacks.network import Network

COLLECTION_NAME = "ha-inference-vectors"
INDEX = DEFAULT_INDEX
APP_DASHBOARD_NAME = "HaInference"
MODEL_LATENCY_ALARM = cdk.Duration.seconds(30)
"""Average SageMaker model latency that raises the endpoint's latency alarm (InvokeEndpoint
itself gives up after 60 seconds)."""


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
        self._add_bedrock()
        self._add_vector_search()
        self.retrieval = self._add_retrieval()
        self.ingestion = self._add_ingestion()
        self.self_hosted: MultiAzSageMakerEndpoint | None = None
        self.runtime_load_balancer: SageMakerRuntimeLoadBalancer | None = None
        if settings.self_hosted is not None:
            self._add_self_hosted(settings.self_hosted)
        self._add_operations()
        self._add_outputs()

    def _add_bedrock(self) -> None:
        """The cross-Region profile, the embedding model, and the runtime endpoint in every AZ."""
        settings = self.settings
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

    def _add_vector_search(self) -> None:
        """The collection behind its own VPC endpoint, and its index created at deploy time."""
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
        self.index = VectorIndex(
            self,
            "Index",
            collection=self.collection,
            vpc_endpoint=self.collection_endpoint,
            vpc_subnets=self.network.workload_subnets,
            definition=INDEX,
        )

    def _add_retrieval(self) -> MultiAzFunction:
        """Answers questions from the collection through the profile, in every AZ."""
        self.inference_role = iam.Role(
            self,
            "InferenceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Invokes the model through the cross-Region inference profile only",
        )
        self.profile.grant_invoke(self.inference_role)
        self.embedding_model.grant_invoke(self.inference_role)
        retrieval = MultiAzFunction(
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
                "EMBEDDING_MODEL_ID": self.settings.embedding_model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                **INDEX.to_environment(),
            },
        )
        self.collection.grant_read(retrieval, index_name=INDEX.name)
        self.bedrock_endpoints.connections.allow_default_port_from(retrieval)
        self.collection_endpoint.connections.allow_default_port_from(retrieval)
        return retrieval

    def _add_ingestion(self) -> MultiAzFunction:
        """Embeds documents and writes them into the index; allowed to write and nothing more."""
        ingestion = MultiAzFunction(
            self,
            "Ingestion",
            vpc=self.network.vpc,
            vpc_subnets=self.network.workload_subnets,
            code=handler_code(),
            handler=ShippedHandler.INGESTION.value,
            description="Embeds documents and writes them into the vector index",
            timeout=cdk.Duration.minutes(5),
            environment={
                "EMBEDDING_MODEL_ID": self.settings.embedding_model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                **INDEX.to_environment(),
            },
        )
        self.embedding_model.grant_invoke(ingestion)
        self.collection.grant_write_documents(ingestion, index_name=INDEX.name)
        self.bedrock_endpoints.connections.allow_default_port_from(ingestion)
        self.collection_endpoint.connections.allow_default_port_from(ingestion)
        return ingestion

    def _add_self_hosted(self, hosted: SelfHostedSettings) -> None:
        """A SageMaker endpoint in every AZ behind the internal NLB on the runtime endpoint."""
        self.self_hosted = MultiAzSageMakerEndpoint(
            self,
            "SelfHosted",
            vpc=self.network.vpc,
            vpc_subnets=self.network.workload_subnets,
            image=hosted.image_in(self.region),
            instance_type=hosted.instance_type,
            fallback_instance_types=hosted.fallback_instance_types,
            model_data_url=hosted.model_data_in(self.region),
            environment=dict(hosted.environment),
            invocations_per_instance_target=hosted.invocations_per_instance,
            network_isolation=hosted.network_isolation,
            allow_internet_https=not hosted.network_isolation and self.settings.nat_gateways > 0,
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
        self.self_hosted.grant_invoke(self.inference_role)
        self.runtime_load_balancer.connections.allow_default_port_from(self.retrieval)

    def _add_operations(self) -> None:
        """Failover and proof of it: alarms on the self-hosted endpoint (which judge zonal
        autoshift's practice runs when ``ha-inference:zonal-autoshift`` is on), instance-type
        fallbacks required of every SageMaker variant, this Region's dashboard and its column on
        the app dashboard, and one AZ-loss drill template per AZ."""
        endpoint_alarms: list[cloudwatch.IAlarm] = []
        if self.self_hosted is not None:
            alarms = self.self_hosted.add_alarms(model_latency_threshold=MODEL_LATENCY_ALARM)
            endpoint_alarms = [alarms.errors_5xx, alarms.model_latency, alarms.instances_below_azs]
            require_instance_fallbacks(self)
        if self.runtime_load_balancer is not None and self.settings.zonal_autoshift:
            self.runtime_load_balancer.enable_zonal_autoshift(
                ZonalAutoshiftOptions(outcome_alarms=endpoint_alarms)
            )
        quota = self.settings.bedrock_tokens_per_minute_quota
        self.dashboard = RegionalDashboard(
            self,
            "Dashboard",
            bedrock_model_ids=[self.profile.profile_id, self.settings.embedding_model_id],
            tokens_per_minute_quotas={self.profile.profile_id: quota} if quota else None,
            endpoint=self.self_hosted,
            load_balancer=self.runtime_load_balancer,
            collection=self.collection,
            functions={
                "Retrieval": self.retrieval.function,
                "Ingestion": self.ingestion.function,
            },
            alarms=endpoint_alarms,
            dashboard_name=self.stack_name,
        )
        self.app_dashboard = self._app_dashboard()
        self.app_dashboard.add_region(self.dashboard.view())
        self.drill: AvailabilityZoneDrill | None = None
        if self.region in REGIONS_WITHOUT["AWS::FIS::ExperimentTemplate"]:
            cdk.Annotations.of(self).add_warning_v2(
                "ha-inference:no-fis",
                f"No AZ-loss drill in {self.region}: CloudFormation offers no AWS FIS experiment "
                "templates there.",
            )
            return
        self.drill = AvailabilityZoneDrill(
            self,
            "AzDrill",
            vpc=self.network.vpc,
            vpc_subnets=[self.network.endpoint_subnets, self.network.workload_subnets],
            stop_condition_alarms=[*endpoint_alarms, *self.dashboard.function_alarms.values()],
        )
        for zone, template in self.drill.experiment_templates.items():
            cdk.CfnOutput(
                self,
                "AzDrill" + "".join(part.capitalize() for part in zone.split("-")),
                value=template.ref,
                description=f"Lose {zone}: aws fis start-experiment --experiment-template-id ...",
            )

    def _app_dashboard(self) -> ApplicationDashboard:
        """The one app dashboard, held by the stack of the first configured Region; the stacks
        of the other Regions add their column to it."""
        for sibling in self.node.scope.node.children if self.node.scope else ():
            if isinstance(sibling, RegionalStack) and hasattr(sibling, "app_dashboard"):
                return sibling.app_dashboard
        return ApplicationDashboard(self, "AppDashboard", dashboard_name=APP_DASHBOARD_NAME)

    def _add_outputs(self) -> None:
        """What the README's walkthrough and ``make load-documents`` use after a deploy."""
        cdk.CfnOutput(
            self,
            "RetrievalFunctionName",
            value=self.retrieval.function.function_name,
            description="aws lambda invoke --function-name <this> --payload "
            '\'{"question": "..."}\' answer.json',
        )
        cdk.CfnOutput(
            self,
            "IngestionFunctionName",
            value=self.ingestion.function.function_name,
            description="Loads documents: make load-documents DOCS=<folder>",
        )
        if self.self_hosted is not None:
            cdk.CfnOutput(
                self,
                "SelfHostedEndpointName",
                value=self.self_hosted.endpoint_name,
                description="Invoke it at runtime.sagemaker.<region>.amazonaws.com (SigV4)",
            )

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs (overrides the context lookup an env-specific stack would make)."""
        return self._zones
