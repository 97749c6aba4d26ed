"""One stack per configured Region: the network, and the inference path on top of it."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct, IConstruct

from ha_inference import (
    DEFAULT_INDEX,
    ApplicationDashboard,
    AvailabilityZoneDrill,
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    EndpointAlarms,
    EndpointServiceOptions,
    FoundationModel,
    ImportedModel,
    MultiAzFunction,
    MultiAzSageMakerEndpoint,
    RegionalDashboard,
    RuntimeRoute,
    SageMakerRuntimeLoadBalancer,
    ShippedHandler,
    VectorCollection,
    VectorIndex,
    ZonalAutoshiftOptions,
    handler_code,
    require_instance_fallbacks,
)
from ha_inference._internal.nag import (
    INLINE_POLICY,
    SYNCHRONOUS_FUNCTION,
    acknowledge,
    acknowledge_all,
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
ALARMS_WITHOUT_ACTIONS = (
    "The reference app's alarms carry no notification action on purpose: their state stops the "
    "AZ-loss drill (FIS stop conditions), judges zonal autoshift practice runs and shows on the "
    "dashboards; who is paged, and how, is the operator's choice (alarm.add_alarm_action with an "
    "SNS topic or an Incident Manager response plan)."
)
TARGET_ALARMS_WITHOUT_ACTIONS = (
    "The reference app does not know who is on call: the adopting team adds its action (an SNS "
    "topic, Incident Manager) with alarm.add_alarm_action. Failover does not wait for these "
    "alarms: the failover function's circuit breakers react to the first failed call."
)


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
        self.logs_key = kms.Key(
            self,
            "LogsKey",
            description="Encrypts every log group of this regional stack",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.network = Network(
            self,
            "Network",
            availability_zones=region.availability_zones,
            cidr=settings.vpc_cidr,
            nat_gateways=settings.nat_gateways,
            log_encryption_key=self.logs_key,
        )
        self.imported_model = self._add_imported_model()
        self._add_bedrock()
        self._add_vector_search()
        self.retrieval = self._add_retrieval()
        self.ingestion = self._add_ingestion()
        self.self_hosted: MultiAzSageMakerEndpoint | None = None
        self.runtime_load_balancer: SageMakerRuntimeLoadBalancer | None = None
        self.runtime_route: RuntimeRoute | None = None
        """This Region's model as other Regions reach it (``cross-region`` on)."""
        self.cross_region: cdk.Stack | None = None
        """The stack with this Region's paths to the others (set by ``build_reference_app``)."""
        if settings.self_hosted is not None:
            self._add_self_hosted(settings.self_hosted)
        self._add_operations()
        self._add_outputs()

    def _add_imported_model(self) -> ImportedModel | None:
        """The model this Region imports from its own bucket (``ha-inference:imported-model``),
        served by Bedrock in this Region only; it replaces the cross-Region profile."""
        source = self.settings.imported_model_in(self.region)
        if source is None:
            return None
        model = ImportedModel(self, "ImportedModel", s3_uri=source)
        cdk.CfnOutput(
            self,
            "ImportedModelArn",
            value=model.model_arn,
            description="The imported model: modelId for InvokeModel or Converse in this Region",
        )
        return model

    @property
    def chat_model_id(self) -> str:
        """The retrieval function's ``MODEL_ID``: the profile id, or the imported model's ARN."""
        if isinstance(self.chat_model, ImportedModel):
            return self.chat_model.model_arn
        return self.chat_model.profile_id

    def _add_bedrock(self) -> None:
        """The chat model (cross-Region profile or imported model), the embedding model, and the
        runtime endpoint in every AZ."""
        settings = self.settings
        self.profile: CrossRegionInferenceProfile | None = None
        self.chat_model: CrossRegionInferenceProfile | ImportedModel
        if self.imported_model is not None:
            self.chat_model = self.imported_model
        else:
            self.profile = self.chat_model = CrossRegionInferenceProfile(
                self, "InferenceProfile", model_id=settings.model_id, geography=settings.geography
            )
        self.embedding_model = FoundationModel.in_stack_region(self, settings.embedding_model_id)
        self.bedrock_endpoints = BedrockVpcEndpoints(
            self,
            "BedrockEndpoints",
            vpc=self.network.vpc,
            vpc_subnets=self.network.endpoint_subnets,
            invoke_targets=[self.chat_model, self.embedding_model],
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
            log_encryption_key=self.logs_key,
        )

    def _add_retrieval(self) -> MultiAzFunction:
        """Answers questions from the collection with the chat model, in every AZ."""
        self.inference_role = iam.Role(
            self,
            "InferenceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Invokes the chat model (profile or imported) and the embedding model only",
        )
        self.chat_model.grant_invoke(self.inference_role)
        self.embedding_model.grant_invoke(self.inference_role)
        retrieval = MultiAzFunction(
            self,
            "Retrieval",
            vpc=self.network.vpc,
            vpc_subnets=self.network.workload_subnets,
            code=handler_code(),
            handler=ShippedHandler.RETRIEVAL.value,
            role=self.inference_role,
            log_encryption_key=self.logs_key,
            description="Answers a question from the vector collection with the chat model",
            environment={
                "MODEL_ID": self.chat_model_id,
                "EMBEDDING_MODEL_ID": self.settings.embedding_model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                **INDEX.to_environment(),
            },
        )
        # Invoked synchronously (aws lambda invoke, an API): the caller receives every error.
        acknowledge_all(retrieval.function, SYNCHRONOUS_FUNCTION)
        acknowledge(self.inference_role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
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
            log_encryption_key=self.logs_key,
            environment={
                "EMBEDDING_MODEL_ID": self.settings.embedding_model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                **INDEX.to_environment(),
            },
        )
        acknowledge_all(ingestion.function, SYNCHRONOUS_FUNCTION)
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
            log_encryption_key=self.logs_key,
        )
        self.runtime_load_balancer = SageMakerRuntimeLoadBalancer(
            self,
            "RuntimeLoadBalancer",
            vpc=self.network.vpc,
            vpc_subnets=self.network.endpoint_subnets,
            endpoint_arns=[self.self_hosted.endpoint_arn],
            deletion_protection=hosted.deletion_protection,
            log_encryption_key=self.logs_key,
            endpoint_service=self._endpoint_service_options(hosted),
        )
        self.self_hosted.grant_invoke(self.inference_role)
        self.runtime_load_balancer.connections.allow_default_port_from(self.retrieval)
        self._add_self_hosted_alarms()
        if hosted.cross_region:
            self.runtime_route = RuntimeRoute.through(
                self.runtime_load_balancer, endpoint=self.self_hosted
            )

    def _endpoint_service_options(
        self, hosted: SelfHostedSettings
    ) -> EndpointServiceOptions | None:
        """PrivateLink for the app's other Regions (this account, no acceptance: CloudFormation
        cannot accept a connection, and IAM already decides who may invoke), or for the outside
        consumers of ``allowed-principals`` (acceptance required); never both (see
        ``stacks.config``)."""
        if hosted.cross_region:
            return EndpointServiceOptions(
                allowed_principals=[
                    iam.ArnPrincipal(f"arn:{self.partition}:iam::{self.account}:root")
                ],
                acceptance_required=False,
                allowed_regions=[r for r in self.settings.region_names if r != self.region],
            )
        if hosted.allowed_principals:
            return EndpointServiceOptions(
                allowed_principals=[iam.ArnPrincipal(p) for p in hosted.allowed_principals]
            )
        return None

    def _add_self_hosted_alarms(self) -> None:
        """The load balancer's healthy targets: fewer than AZs, and none (the endpoint's own
        alarms come with the operations, ``_add_operations``).

        Without actions: who is on call is the adopting team's to say
        (``alarm.add_alarm_action``); the failover function does not read them (its circuit
        breakers react to the first failed call).
        """
        assert self.runtime_load_balancer is not None
        target_alarms = self.runtime_load_balancer.add_target_health_alarms()
        for alarm in (target_alarms.below_azs, target_alarms.none_healthy):
            acknowledge(
                alarm, "NIST.800.53.R5-CloudWatchAlarmAction", TARGET_ALARMS_WITHOUT_ACTIONS
            )

    def _add_operations(self) -> None:
        """Failover and proof of it: alarms on what serves (the retrieval function's answers,
        the imported model, the self-hosted endpoint, whose alarms also judge zonal autoshift's
        practice runs when ``ha-inference:zonal-autoshift`` is on), instance-type fallbacks
        required of every SageMaker variant, this Region's dashboard and its column on the app
        dashboard, and one AZ-loss drill template per AZ, stopped by those alarms."""
        endpoint_alarms: list[cloudwatch.IAlarm] = []
        alarms: EndpointAlarms | None = None
        if self.self_hosted is not None:
            alarms = self.self_hosted.add_alarms(model_latency_threshold=MODEL_LATENCY_ALARM)
            endpoint_alarms = [alarms.errors_5xx, alarms.model_latency, alarms.instances_below_azs]
            require_instance_fallbacks(self)
        model_alarms: list[cloudwatch.IAlarm] = []
        imported_stop: list[cloudwatch.IAlarm] = []
        if self.imported_model is not None:
            imported = self.imported_model.add_alarms(
                invocation_latency_threshold=MODEL_LATENCY_ALARM
            )
            model_alarms = [imported.server_errors, imported.throttles, imported.invocation_latency]
            # Slow answers reach callers as the retrieval function's 503s (its deadline), which
            # its own alarm watches; the FIS quota of five leaves room for one more here.
            imported_stop = [imported.server_errors]
        for alarm in (*endpoint_alarms, *model_alarms):
            acknowledge(alarm, "NIST.800.53.R5-CloudWatchAlarmAction", ALARMS_WITHOUT_ACTIONS)
        if (
            self.runtime_load_balancer is not None
            and alarms is not None
            and self.settings.zonal_autoshift
        ):
            # A shift moves the load balancer's traffic only (other Regions and VPCs), never an
            # instance: practice runs are judged by what its callers meet at the model (5XX,
            # latency). The instance count cannot move with a shift; it blocks practice runs
            # while capacity is already short instead of judging them.
            self.runtime_load_balancer.enable_zonal_autoshift(
                ZonalAutoshiftOptions(
                    outcome_alarms=[alarms.errors_5xx, alarms.model_latency],
                    blocking_alarms=[alarms.instances_below_azs],
                )
            )
        quota = self.settings.bedrock_tokens_per_minute_quota
        # The app dashboard shows other Regions' metrics and takes literal ids only: the
        # profile id is one, an imported model's ARN is known at deploy time, so the imported
        # model has a row on this Region's dashboard only.
        profile_id = self.profile.profile_id if self.profile is not None else None
        self.dashboard = RegionalDashboard(
            self,
            "Dashboard",
            bedrock_model_ids=[
                *([profile_id] if profile_id else []),
                self.settings.embedding_model_id,
            ],
            tokens_per_minute_quotas={profile_id: quota} if quota and profile_id else None,
            imported_model=self.imported_model,
            endpoint=self.self_hosted,
            load_balancer=self.runtime_load_balancer,
            collection=self.collection,
            functions={
                "Retrieval": self.retrieval.function,
                "Ingestion": self.ingestion.function,
            },
            answering_functions={"Retrieval": self.retrieval.function},
            alarms=[*endpoint_alarms, *model_alarms],
            dashboard_name=self.stack_name,
        )
        acknowledge(self.dashboard, "NIST.800.53.R5-CloudWatchAlarmAction", ALARMS_WITHOUT_ACTIONS)
        self.app_dashboard = self._app_dashboard()
        self.app_dashboard.add_region(self.dashboard.view())
        self._add_drill(
            [self.dashboard.answer_alarms["Retrieval"], *imported_stop, *endpoint_alarms]
        )

    def _add_drill(self, stop_conditions: list[cloudwatch.IAlarm]) -> None:
        """One AZ-loss drill template per AZ over the endpoints and workloads tiers, stopped by
        alarms that move when serving breaks: the retrieval function's 5xx share (its handler
        answers 502/503 instead of raising, so Lambda's ``Errors`` would not move), the imported
        model's server errors, the self-hosted endpoint's 5XX and latency, and its instance count
        (which the drill cannot lower: it guards against capacity lost for another reason while
        an AZ is off the network)."""
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
            stop_condition_alarms=stop_conditions,
            log_encryption_key=self.logs_key,
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
        of the other Regions add their column to it (also from their own ``cdk.Stage``, where a
        pipeline deploys them: dashboards are global to the account, so one name is one
        dashboard)."""
        for sibling in _regional_stacks(self.node.root):
            if hasattr(sibling, "app_dashboard"):
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
    def health_alarms(self) -> list[cloudwatch.IAlarm]:
        """Every CloudWatch alarm of this stack, in construct order: what says the Region is
        unhealthy (a delivery pipeline rolls the Region back on them)."""
        return [c for c in self.node.find_all() if isinstance(c, cloudwatch.AlarmBase)]

    @property
    def availability_zones(self) -> list[str]:
        """The configured AZs (overrides the context lookup an env-specific stack would make)."""
        return self._zones


def _regional_stacks(root: IConstruct) -> list[RegionalStack]:
    """The regional stacks built so far: children of the app, or of a stage in it."""
    found = []
    for child in root.node.children:
        if isinstance(child, RegionalStack):
            found.append(child)
        elif cdk.Stage.is_stage(child):
            found.extend(c for c in child.node.children if isinstance(c, RegionalStack))
    return found
