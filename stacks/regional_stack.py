"""One stack per configured Region: the network, and the reference architecture in it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, IConstruct

from ha_inference import (
    AgentCode,
    AgentRuntimeOptions,
    ApplicationDashboard,
    EndpointServiceOptions,
    ImportedModelOptions,
    InferenceVpc,
    RegionalInference,
    SelfHostedModelOptions,
)
from stacks.config import RegionSettings, SelfHostedSettings, Settings

COLLECTION_NAME = "ha-inference-vectors"
APP_DASHBOARD_NAME = "HaInference"
MODEL_LATENCY_ALARM = cdk.Duration.seconds(30)
"""Average SageMaker model latency that raises the endpoint's latency alarm (InvokeEndpoint
itself gives up after 60 seconds)."""


class RegionalStack(cdk.Stack):
    """The reference app in one Region: its VPC (:class:`ha_inference.InferenceVpc`), the
    reference architecture in it (:class:`ha_inference.RegionalInference`, id ``Default``, so
    that its resources keep the logical ids they had when the stack built them itself), the
    app dashboard (in the first Region's stack) with this Region's column, and the outputs.

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
        self.logs_key = kms.Key(
            self,
            "LogsKey",
            description="Encrypts every log group of this regional stack",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.network = InferenceVpc(
            self,
            "Network",
            availability_zones=region.availability_zones,
            cidr=settings.vpc_cidr,
            nat_gateways=settings.nat_gateways,
            log_encryption_key=self.logs_key,
        )
        self.inference = RegionalInference(
            self,
            "Default",
            vpc=self.network.vpc,
            endpoint_subnets=self.network.endpoint_subnets,
            workload_subnets=self.network.workload_subnets,
            model_id=settings.model_id,
            geography=settings.geography,
            embedding_model_id=settings.embedding_model_id,
            imported_model=self._imported_model(),
            collection_name=COLLECTION_NAME,
            self_hosted=self._self_hosted(),
            dashboard_name=self.stack_name,
            tokens_per_minute_quota=settings.bedrock_tokens_per_minute_quota,
            log_encryption_key=self.logs_key,
            tolerated_az_losses=settings.tolerated_az_losses,
            service_tier=settings.service_tier,
            embedding_service_tier=settings.embedding_service_tier,
            denied_service_tiers=settings.denied_service_tiers,
            agent=self._agent(),
            zone_ids=settings.zone_ids_in(region.region),
        )
        # The column is added here rather than with app_dashboard=: the app dashboard is then
        # created after the Region's own, where the stack created it before the construct.
        self.app_dashboard = self._app_dashboard()
        assert self.inference.dashboard is not None
        self.app_dashboard.add_region(self.inference.dashboard.view())
        self.cross_region: cdk.Stack | None = None
        """The stack with this Region's paths to the others (set by ``build_reference_app``)."""
        self._add_outputs()

    def _imported_model(self) -> ImportedModelOptions | None:
        """The model this Region imports from its own bucket (``ha-inference:imported-model``)."""
        source = self.settings.imported_model_in(self.region)
        return ImportedModelOptions(s3_uri=source) if source is not None else None

    def _agent(self) -> AgentRuntimeOptions | None:
        """``ha-inference:agent`` in this Region's terms."""
        agent = self.settings.agent
        if agent is None:
            return None
        image = agent.image_in(self.region)
        return AgentRuntimeOptions(code=AgentCode.from_image_uri(image) if image else None)

    def _self_hosted(self) -> SelfHostedModelOptions | None:
        """``ha-inference:self-hosted`` in this Region's terms."""
        hosted = self.settings.self_hosted
        if hosted is None:
            return None
        return SelfHostedModelOptions(
            invocations_per_instance_target=hosted.invocations_per_instance,
            image=hosted.image_in(self.region),
            model_data_url=hosted.model_data_in(self.region),
            model_data_bucket_owner=hosted.model_data_bucket_owner,
            environment=dict(hosted.environment),
            instance_type=hosted.instance_type,
            fallback_instance_types=hosted.fallback_instance_types,
            network_isolation=hosted.network_isolation,
            allow_internet_https=not hosted.network_isolation and self.settings.nat_gateways > 0,
            deletion_protection=hosted.deletion_protection,
            endpoint_service=self._endpoint_service_options(hosted),
            zonal_autoshift=self.settings.zonal_autoshift,
            model_latency_alarm_threshold=MODEL_LATENCY_ALARM,
            full_load_instances=hosted.full_load_instances,
        )

    def _endpoint_service_options(
        self, hosted: SelfHostedSettings
    ) -> EndpointServiceOptions | None:
        """PrivateLink for the app's other Regions (no acceptance: CloudFormation cannot accept
        a connection), connectable only by the roles that deploy their ``-CrossRegion`` stacks,
        or for the outside consumers of ``allowed-principals`` (acceptance required); never both
        (see ``stacks.config``)."""
        if hosted.cross_region:
            others = [r for r in self.settings.region_names if r != self.region]
            return EndpointServiceOptions(
                allowed_principals=[
                    iam.ArnPrincipal(p) for p in self._cross_region_principals(hosted, others)
                ],
                acceptance_required=False,
                allowed_regions=others,
            )
        if hosted.allowed_principals:
            return EndpointServiceOptions(
                allowed_principals=[iam.ArnPrincipal(p) for p in hosted.allowed_principals]
            )
        return None

    def _cross_region_principals(self, hosted: SelfHostedSettings, regions: list[str]) -> list[str]:
        """Who creates the other Regions' interface endpoints to this Region's service: the
        CloudFormation execution role that the CDK bootstrap makes in each of those Regions
        (``cdk-<qualifier>-cfn-exec-role-<account>-<region>``), which deploys their
        ``-CrossRegion`` stacks, unless ``self-hosted.cross-region-principals`` names others.
        Nobody else in the account can connect a VPC to the runtime load balancer."""
        if hosted.cross_region_principals is not None:
            return list(hosted.cross_region_principals)
        synthesizer = self.synthesizer
        if not isinstance(synthesizer, cdk.DefaultStackSynthesizer):
            raise ValueError(
                f"{self.stack_name} uses {type(synthesizer).__name__}, so the roles that will "
                "create the other Regions' endpoints to its endpoint service are not known; set "
                "ha-inference:self-hosted.cross-region-principals to the ARNs of the roles that "
                "deploy the -CrossRegion stacks"
            )
        qualifier = synthesizer.bootstrap_qualifier or cdk.DefaultStackSynthesizer.DEFAULT_QUALIFIER
        return [
            f"arn:{self.partition}:iam::{self.account}:role/"
            f"cdk-{qualifier}-cfn-exec-role-{self.account}-{region}"
            for region in regions
        ]

    def _app_dashboard(self) -> ApplicationDashboard:
        """The one app dashboard, held by the stack of the first configured Region; the stacks
        of the other Regions add their column to it (also from their own ``cdk.Stage``, where a
        pipeline deploys them: dashboards are global to the account, so one name is one
        dashboard)."""
        for sibling in _regional_stacks(self.node.root):
            if sibling is not self and hasattr(sibling, "app_dashboard"):
                return sibling.app_dashboard
        return ApplicationDashboard(self, "AppDashboard", dashboard_name=APP_DASHBOARD_NAME)

    def _add_outputs(self) -> None:
        """What docs/reference-app.md's walkthrough and ``make load-documents`` use after a
        deploy."""
        inference = self.inference
        if inference.imported_model is not None:
            cdk.CfnOutput(
                self,
                "ImportedModelArn",
                value=inference.imported_model.model_arn,
                description="The imported model: modelId for InvokeModel or Converse in this "
                "Region",
            )
        cdk.CfnOutput(
            self,
            "RetrievalFunctionName",
            value=inference.retrieval.function.function_name,
            description="aws lambda invoke --function-name <this> --payload "
            '\'{"question": "..."}\' answer.json',
        )
        cdk.CfnOutput(
            self,
            "IngestionFunctionName",
            value=inference.ingestion.function.function_name,
            description="Loads documents: make load-documents DOCS=<folder>",
        )
        if inference.agent_client is not None:
            cdk.CfnOutput(
                self,
                "AgentClientFunctionName",
                value=inference.agent_client.function.function_name,
                description="Asks the agent: aws lambda invoke --function-name <this> --payload "
                '\'{"question": "..."}\' answer.json',
            )
        if inference.self_hosted is not None:
            cdk.CfnOutput(
                self,
                "SelfHostedEndpointName",
                value=inference.self_hosted.endpoint_name,
                description="Invoke it at runtime.sagemaker.<region>.amazonaws.com (SigV4)",
            )
        if inference.drill is not None:
            for zone, template in inference.drill.experiment_templates.items():
                cdk.CfnOutput(
                    self,
                    "AzDrill" + "".join(part.capitalize() for part in zone.split("-")),
                    value=template.ref,
                    description=f"Lose {zone}: aws fis start-experiment "
                    "--experiment-template-id ...",
                )

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs (overrides the context lookup an env-specific stack would make,
        and aws-cdk-lib's stack-wide acknowledgement of literal AZs that comes with it)."""
        return self._zones

    @property
    def health_alarms(self) -> list[cloudwatch.IAlarm]:
        """Every CloudWatch alarm of this stack, in construct order: what says the Region is
        unhealthy (a delivery pipeline rolls the Region back on them)."""
        return [c for c in self.node.find_all() if isinstance(c, cloudwatch.AlarmBase)]


def _regional_stacks(root: IConstruct) -> list[RegionalStack]:
    """The regional stacks built so far: children of the app, or of a stage in it."""
    found = []
    for child in root.node.children:
        if isinstance(child, RegionalStack):
            found.append(child)
        elif cdk.Stage.is_stage(child):
            found.extend(c for c in child.node.children if isinstance(c, RegionalStack))
    return found
