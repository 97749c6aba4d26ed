"""The reference architecture in one Region, in a VPC you give: :class:`RegionalInference`.

What the reference app deploys in each Region, as one construct for your own app: a chat model
(a cross-Region inference profile, or a model imported into Bedrock), an embedding model, the
Bedrock endpoints and the vector collection's endpoint in every AZ, the collection and its index,
a retrieval and an ingestion function in every AZ, optionally a self-hosted SageMaker model behind
the runtime load balancer, the AZ-loss drill and the dashboards. Every wire between them (IAM,
security groups, endpoint policies, data access) is made here; the cdk-nag findings its parts
draw by design are acknowledged here, each with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ha_inference._internal import props
from ha_inference._internal.data_key import new_data_key
from ha_inference._internal.nag import (
    INLINE_POLICY,
    SYNCHRONOUS_FUNCTION,
    acknowledge,
    acknowledge_all,
)
from ha_inference._internal.stacks import region_of, stack_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import subnet_zones
from ha_inference.agents.code import AgentCode, retrieval_agent_code
from ha_inference.agents.invoke_endpoint import AgentRuntimeVpcEndpoint
from ha_inference.agents.runtime import SUPPORTING_KIND as AGENTIC_COMPUTE
from ha_inference.agents.runtime import AgentRuntimeAlarms, MultiAzAgentRuntime
from ha_inference.bedrock.endpoints import BedrockVpcEndpoints
from ha_inference.bedrock.imported_model import ImportedModel
from ha_inference.bedrock.profiles import CrossRegionInferenceProfile, FoundationModel
from ha_inference.bedrock.tiers import ServiceTier, deny_service_tiers
from ha_inference.compute.multi_az_function import MultiAzFunction
from ha_inference.compute.shipped import ShippedHandler, handler_code
from ha_inference.data.images import hugging_face_tgi_image
from ha_inference.data.models import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL
from ha_inference.functions.vector_index import DEFAULT_INDEX, IndexDefinition
from ha_inference.metadata import mark_az_loss_tolerance
from ha_inference.operations.answers import AnswerMetrics
from ha_inference.operations.dashboard import ApplicationDashboard, RegionalDashboard
from ha_inference.operations.drill import AvailabilityZoneDrill
from ha_inference.regions import REGIONS_WITHOUT, Geography
from ha_inference.selfhosted.capacity import require_instance_fallbacks
from ha_inference.selfhosted.cross_region import RuntimeRoute
from ha_inference.selfhosted.endpoint import (
    DEFAULT_INSTANCE_TYPE,
    EndpointAlarms,
    MultiAzSageMakerEndpoint,
)
from ha_inference.selfhosted.instance_types import hosting_instance_types
from ha_inference.selfhosted.load_balancer import (
    EndpointServiceOptions,
    SageMakerRuntimeLoadBalancer,
    ZonalAutoshiftOptions,
)
from ha_inference.vectors.collection import VectorCollection
from ha_inference.vectors.collection_endpoint import CollectionVpcEndpoint
from ha_inference.vectors.index import VectorIndex
from ha_inference.zonal import MAX_TOLERATED_AZ_LOSSES

DEFAULT_COLLECTION_NAME = "ha-inference-vectors"
SUPPORTING_KINDS = ("bedrock-endpoints", "vector-search", "compute")
"""What a :class:`RegionalInference` puts in its Region (GENREL05-BP01 step 4), for
``RegionCoverage(supporting=SUPPORTING_KINDS)``."""
DEFAULT_MODEL_LATENCY_ALARM = cdk.Duration.seconds(30)
"""Average model latency that raises the self-hosted endpoint's (or imported model's) latency
alarm by default; InvokeEndpoint itself gives up after 60 seconds."""
DEFAULT_FALLBACKS: Mapping[str, tuple[str, ...]] = {
    "ml.g5.xlarge": ("ml.g6.xlarge", "ml.g6e.xlarge")
}
"""Fallback instance types of the self-hosted model when none are given: for ml.g5.xlarge (one
A10G, 24 GiB) one L4 (24 GiB) and one L40S (48 GiB), kept where the Region offers them for
hosting; none for other types (only you know what else your model runs on)."""
MODEL_IN_ARCHIVE = {"HF_MODEL_ID": "/opt/ml/model"}
"""The Hugging Face TGI container's environment for a model from ``model_data_url``: SageMaker
unpacks the archive to /opt/ml/model before the container starts."""

ALARMS_WITHOUT_ACTIONS = (
    "These alarms carry no notification action on purpose: their state stops the AZ-loss drill "
    "(FIS stop conditions), judges zonal autoshift practice runs and shows on the dashboards; "
    "who is paged, and how, is the operator's choice (alarm.add_alarm_action with an SNS topic "
    "or an Incident Manager response plan)."
)
TARGET_ALARMS_WITHOUT_ACTIONS = (
    "The library does not know who is on call: the adopting team adds its action (an SNS topic, "
    "Incident Manager) with alarm.add_alarm_action. Failover does not wait for these alarms: "
    "the failover function's circuit breakers react to the first failed call."
)
_ALARM_ACTION = "NIST.800.53.R5-CloudWatchAlarmAction"
AGENT_CLIENT_TIMEOUT = cdk.Duration.seconds(150)
"""The agent client's timeout: the agent's own answer deadline (60 s) with room for retries."""


@dataclass(frozen=True)
class ImportedModelOptions:
    """A model imported into Bedrock in this Region (Custom Model Import), served by Bedrock in
    this Region only; it replaces the cross-Region inference profile as the chat model.

    :param s3_uri: the ``s3://`` folder of the model files, in a bucket of this Region.
    :param invocation_latency_alarm_threshold: the average invocation latency that raises the
        model's latency alarm. Default: 30 seconds.
    """

    s3_uri: str
    invocation_latency_alarm_threshold: cdk.Duration = field(
        default_factory=lambda: DEFAULT_MODEL_LATENCY_ALARM
    )

    def __post_init__(self) -> None:
        props.check_fields(self)


@dataclass(frozen=True)
class AgentRuntimeOptions:
    """An agent on Amazon Bedrock AgentCore Runtime in VPC mode, in every AZ of the workload
    subnets that supports it, that answers with the retrieval path (the same embedding, search
    and chat model as the retrieval function); a ``bedrock-agentcore`` endpoint that lets
    callers in the VPC invoke it; and a function that asks it (``AgentClient``).

    :param code: what the runtime runs. Default: the shipped retrieval agent
        (:func:`ha_inference.agents.code.retrieval_agent_code`).
    :param supported_az_ids: the AZ IDs that support VPC mode in this Region. Default: the
        AgentCore developer guide's (:data:`ha_inference.data.zones.ZONE_SUPPORT`).
    """

    code: AgentCode | None = None
    supported_az_ids: Sequence[str] | None = None

    def __post_init__(self) -> None:
        props.check_fields(self)


@dataclass(frozen=True)
class SelfHostedModelOptions:
    """A model of your own on SageMaker real-time hosting, instances in every AZ, behind an
    internal Network Load Balancer on the SageMaker Runtime endpoint (the runtime load
    balancer).

    :param invocations_per_instance_target: invocations per instance per minute that target
        tracking aims for; load-test the model to find it.
    :param image: the container's ECR image URI. Default: the Hugging Face TGI container from
        this Region's registry.
    :param model_data_url: the ``s3://`` model archive in this Region. Default: none (the
        container downloads its model, which needs ``network_isolation=False`` and NAT).
    :param model_data_bucket_owner: the account that owns the archive's bucket; SageMaker
        reads the archive only from a bucket of that account. Default: the stack's account.
    :param environment: the container's environment. Default: ``HF_MODEL_ID=/opt/ml/model``
        with the default image and ``model_data_url``; otherwise none.
    :param instance_type: the instance type SageMaker tries first. Default: ``ml.g5.xlarge``.
    :param fallback_instance_types: types to fall back to when ``instance_type`` has no
        capacity, in priority order (the rule pack's ``HaInference-SM3`` requires at least
        one). Default: ml.g6.xlarge and ml.g6e.xlarge for ml.g5.xlarge, those this Region
        offers for hosting; none for other types.
    :param network_isolation: run the container without network access. Default: on when
        ``model_data_url`` is given.
    :param allow_internet_https: let the container reach the internet over HTTPS (through NAT),
        for a hub download; needs ``network_isolation=False``. Default: off.
    :param deletion_protection: protect the runtime load balancer from deletion. Default: off.
    :param endpoint_service: offer the model over PrivateLink to other VPCs, accounts or
        Regions; with ``allowed_regions``, :attr:`RegionalInference.runtime_route` is the route
        other Regions' failover uses (:class:`CrossRegionFailover`). Default: no endpoint
        service.
    :param zonal_autoshift: let AWS shift the runtime load balancer's traffic away from an
        impaired AZ, with weekly practice runs judged by the endpoint's 5XX and latency alarms
        and blocked while fewer instances than AZs serve. Default: off.
    :param model_latency_alarm_threshold: the average model latency that raises the endpoint's
        latency alarm. Default: 30 seconds.
    :param full_load_instances: the instances that carry the full load (peak invocations per
        minute over ``invocations_per_instance_target``); the endpoint keeps at least this many
        after losing ``RegionalInference``'s ``tolerated_az_losses`` AZs. Default: one less
        than the number of AZs.
    """

    invocations_per_instance_target: float
    image: str | None = None
    model_data_url: str | None = None
    model_data_bucket_owner: str | None = None
    environment: Mapping[str, str] | None = None
    instance_type: str = DEFAULT_INSTANCE_TYPE
    fallback_instance_types: Sequence[str] | None = None
    network_isolation: bool | None = None
    allow_internet_https: bool = False
    deletion_protection: bool = False
    endpoint_service: EndpointServiceOptions | None = None
    zonal_autoshift: bool = False
    model_latency_alarm_threshold: cdk.Duration = field(
        default_factory=lambda: DEFAULT_MODEL_LATENCY_ALARM
    )
    full_load_instances: int | None = None

    def __post_init__(self) -> None:
        props.check_fields(self)


class RegionalInference(Construct):
    """Highly available generative-AI inference in one Region, in a VPC you give: the reference
    architecture of GENREL05-BP01 as one construct.

    Resources: ``InferenceProfile`` (or ``ImportedModel``), ``BedrockEndpoints``,
    ``CollectionEndpoint``, ``Vectors`` (collection), ``Index``, ``InferenceRole``,
    ``Retrieval``, ``Ingestion``; ``LogsKey`` and ``DataKey`` unless given; optionally
    ``SelfHosted`` and ``RuntimeLoadBalancer``, ``Dashboard``, ``AzDrill``. Each is an
    attribute. It creates no stack, output, aspect or tag: your stack makes the ``CfnOutput`` s
    it wants from the attributes (for example ``retrieval.function.function_name``).

    * Every zonal part (endpoints, functions, load balancer, SageMaker instances) has a subnet
      in every AZ of the selected subnets; the collection keeps standby replicas.
    * Bedrock calls leave the Region only through the inference profile's routes; the retrieval
      function may invoke the chat and embedding models and read the index, the ingestion
      function may embed and write, nothing more.
    * Every caller is admitted on the endpoints it calls, and only there.
    * Alarms that move when serving breaks stop the AZ-loss drill and judge zonal autoshift.
    * ``tolerated_az_losses=2`` provisions the self-hosted model so that the survivors of any two
      AZ losses carry the full load with no scale-out, and refuses a VPC with fewer than three
      AZs.
    """

    SUPPORTING_KINDS = SUPPORTING_KINDS
    """What it puts in its Region, for ``RegionCoverage(supporting=...)`` over the app."""

    @props.checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        endpoint_subnets: ec2.SubnetSelection | None = None,
        workload_subnets: ec2.SubnetSelection | None = None,
        model_id: str = DEFAULT_CHAT_MODEL,
        geography: Geography = Geography.US,
        embedding_model_id: str = DEFAULT_EMBEDDING_MODEL,
        imported_model: ImportedModelOptions | None = None,
        collection_name: str = DEFAULT_COLLECTION_NAME,
        index: IndexDefinition = DEFAULT_INDEX,
        self_hosted: SelfHostedModelOptions | None = None,
        drill: bool = True,
        dashboard: bool = True,
        dashboard_name: str | None = None,
        app_dashboard: ApplicationDashboard | None = None,
        tokens_per_minute_quota: int | None = None,
        log_encryption_key: kms.IKey | None = None,
        tolerated_az_losses: int = 1,
        service_tier: ServiceTier | None = None,
        embedding_service_tier: ServiceTier | None = None,
        denied_service_tiers: Sequence[ServiceTier] = (),
        data_encryption_key: kms.IKey | None = None,
        aws_owned_data_keys: bool = False,
        agent: AgentRuntimeOptions | None = None,
        zone_ids: Mapping[str, str] | None = None,
    ) -> None:
        """
        :param vpc: the VPC to build in, for example :class:`InferenceVpc`'s.
        :param endpoint_subnets: where the interface endpoints and the load balancer go.
            Default: one subnet in every AZ of the VPC's private subnets.
        :param workload_subnets: where the functions and SageMaker instances go. Default: one
            subnet in every AZ of the VPC's private subnets.
        :param model_id: the chat model, invoked through its cross-Region inference profile.
            Default: :data:`ha_inference.data.models.DEFAULT_CHAT_MODEL`.
        :param geography: the inference profile's geography. Default: ``Geography.US``.
        :param embedding_model_id: the embedding model, invoked on demand in this Region.
            Default: :data:`ha_inference.data.models.DEFAULT_EMBEDDING_MODEL`.
        :param imported_model: a model imported into Bedrock here, as the chat model instead of
            the profile. Default: the profile.
        :param collection_name: the OpenSearch Serverless collection's name, unique in the
            account and Region. Default: ``ha-inference-vectors``.
        :param index: the vector index the functions search and write. Default:
            :data:`ha_inference.DEFAULT_INDEX`.
        :param self_hosted: a self-hosted SageMaker model the retrieval function may invoke.
            Default: none.
        :param drill: one AZ-loss drill (AWS FIS experiment template) per AZ, stopped by the
            alarms that move when serving breaks; skipped with a warning in Regions without
            FIS templates. Default: on.
        :param dashboard: this Region's CloudWatch dashboard and its alarms. Default: on.
        :param dashboard_name: the dashboard's name, unique in the account. Default: a name
            CloudFormation generates.
        :param app_dashboard: the app dashboard to add this Region's column to. Default: none.
        :param tokens_per_minute_quota: the account's cross-Region tokens-per-minute quota of
            the model (Service Quotas, service code ``bedrock``), for a quota row and alarm.
            Default: no quota alarm.
        :param log_encryption_key: the KMS key of every log group. Default: a new customer
            managed key with yearly rotation, retained with the logs (``LogsKey``).
        :param tolerated_az_losses: how many AZs the Region may lose with its own capacity still
            carrying the full load: 2 needs endpoint and workload subnets in at least three AZs
            and sizes the self-hosted model's instances and autoscaling floor so that the
            survivors of any two AZ losses carry ``full_load_instances``. AWS-managed parts
            (Bedrock, Lambda, OpenSearch Serverless) are built by AWS for the loss of one AZ;
            the AZ-loss report says what each part does. Default: 1.
        :param service_tier: the Bedrock service tier the retrieval function asks for when it
            converses with the chat model (``ServiceTier.PRIORITY`` answers faster for a higher
            price; ``RESERVED`` needs a reservation). Default: none sent, Bedrock's default tier.
        :param embedding_service_tier: the tier of the embedding calls of both functions.
            Default: none sent, Bedrock's default tier.
        :param denied_service_tiers: tiers the retrieval function's role may never use on the
            chat and embedding models (a Deny on ``bedrock:ServiceTier``), e.g.
            ``[ServiceTier.FLEX]`` for answers people wait for. Default: none denied.
        :param data_encryption_key: the KMS key of the customer data at rest: the collection's
            passages and vectors and the imported model's weights. The collection's key is fixed
            when the collection is created: a collection made under another key keeps it (deploy
            with a new ``collection_name`` to move it). Default: a new customer managed key
            (``DataKey``) with yearly rotation, retained with the stack, that the account may
            use only through OpenSearch Serverless (and Bedrock, with ``imported_model``) in
            this Region.
        :param aws_owned_data_keys: keep the collection and the imported model under AWS owned
            keys instead of a data key (no KMS key to pay for, no key policy to review).
            Default: ``False``.
        :param agent: an AgentCore agent runtime that answers with the retrieval path, in every
            supported AZ of the workload subnets, invoked privately (``Agent``,
            ``AgentEndpoint``, ``AgentClient``). Default: none.
        :param zone_ids: this account's AZ-name-to-ID mapping in the stack's Region (e.g.
            ``{"us-east-1a": "use1-az6", ...}``, as ``aws ec2 describe-availability-zones
            --query 'AvailabilityZones[].[ZoneName,ZoneId]'`` lists it), needed by ``agent``
            (VPC mode is offered only in some AZ IDs). Default: none.
        """
        super().__init__(scope, construct_id)
        _check_props(
            imported_model=imported_model,
            dashboard=dashboard,
            dashboard_name=dashboard_name,
            app_dashboard=app_dashboard,
            tokens_per_minute_quota=tokens_per_minute_quota,
        )
        _check_tiers(service_tier, embedding_service_tier, denied_service_tiers, imported_model)
        self.service_tier = service_tier
        self.embedding_service_tier = embedding_service_tier
        self.vpc = vpc
        self.endpoint_subnets = endpoint_subnets
        self.workload_subnets = workload_subnets
        self.tolerated_az_losses = tolerated_az_losses
        self._check_zones_to_lose()
        self.logs_key = log_encryption_key or self._create_logs_key()
        """The KMS key of every log group of the construct."""
        self.data_key = self._data_key(data_encryption_key, aws_owned_data_keys, imported_model)
        """The KMS key of the collection and the imported model (``None`` with
        ``aws_owned_data_keys``)."""
        self._create_chat_model(model_id, geography, imported_model)
        self._create_bedrock_endpoints(embedding_model_id)
        self._create_vector_search(collection_name, index)
        self.retrieval = self._create_retrieval(embedding_model_id, index)
        """Answers questions from the collection with the chat model, in every AZ."""
        self.ingestion = self._create_ingestion(embedding_model_id, index)
        """Embeds documents and writes them into the index, in every AZ."""
        self.denied_tiers_statement = (
            deny_service_tiers(
                self.inference_role,
                tiers=denied_service_tiers,
                targets=[self.chat_model, self.embedding_model],
            )
            if denied_service_tiers
            else None
        )
        """The Deny on ``bedrock:ServiceTier`` of the retrieval function's role, if any."""
        self.self_hosted: MultiAzSageMakerEndpoint | None = None
        self.runtime_load_balancer: SageMakerRuntimeLoadBalancer | None = None
        self.runtime_route: RuntimeRoute | None = None
        """The self-hosted model as other Regions reach it (an endpoint service that offers
        other Regions), for their :class:`CrossRegionFailover`."""
        if self_hosted is not None:
            self._create_self_hosted(self_hosted)
        self.agent: MultiAzAgentRuntime | None = None
        """The agent runtime (with ``agent``)."""
        self.agent_endpoint: AgentRuntimeVpcEndpoint | None = None
        """The ``bedrock-agentcore`` endpoint callers invoke the agent through."""
        self.agent_client: MultiAzFunction | None = None
        """The function that asks the agent (``{"question": ...}``)."""
        self.agent_alarms: AgentRuntimeAlarms | None = None
        if agent is not None:
            self._create_agent(agent, zone_ids, index)
        self._create_alarms(self_hosted, imported_model)
        self.dashboard: RegionalDashboard | None = None
        self.answer_alarm = self._create_dashboard(
            dashboard, dashboard_name, app_dashboard, tokens_per_minute_quota
        )
        """The retrieval function's 5xx-share alarm: what moves when answering breaks."""
        self.drill: AvailabilityZoneDrill | None = None
        if drill:
            self._create_drill()

    # -- the chat and embedding models ----------------------------------------------------

    def _create_logs_key(self) -> kms.Key:
        return kms.Key(
            self,
            "LogsKey",
            description="Encrypts every log group of this RegionalInference",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )

    def _check_zones_to_lose(self) -> None:
        """``tolerated_az_losses`` leaves an AZ of the endpoint and workload subnets, and is
        recorded for the rule pack and the AZ-loss report."""
        tolerated = self.tolerated_az_losses
        if not 1 <= tolerated <= MAX_TOLERATED_AZ_LOSSES:
            raise ValueError(
                f"tolerated_az_losses must be 1 or {MAX_TOLERATED_AZ_LOSSES}, got {tolerated}; "
                "use 2 to keep the full load after losing any two AZs, 1 otherwise"
            )
        for prop, selection in (
            ("endpoint_subnets", self.endpoint_subnets),
            ("workload_subnets", self.workload_subnets),
        ):
            zones = subnet_zones(self.vpc, selection)
            known = sorted({z for z in zones if not is_unresolved(z)})
            count = len(zones) if len(known) < len(zones) else len(known)
            if count <= tolerated:
                listed = f" ({', '.join(known)})" if known else ""
                raise ValueError(
                    f"tolerated_az_losses is {tolerated}, which needs {prop} in at least "
                    f"{tolerated + 1} Availability Zones so that one is left, but they span "
                    f"{count}{listed}; give the VPC more AZs (InferenceVpc(availability_zones="
                    "...)) or lower tolerated_az_losses"
                )
        mark_az_loss_tolerance(self, {"toleratedAzLosses": tolerated})

    def _data_key(
        self,
        given: kms.IKey | None,
        aws_owned: bool,
        imported: ImportedModelOptions | None,
    ) -> kms.IKey | None:
        """The given key, none with ``aws_owned_data_keys``, or a new key that only the
        services holding the data may use: OpenSearch Serverless, and Bedrock when it imports a
        model."""
        if aws_owned:
            if given is not None:
                raise ValueError(
                    "data_encryption_key is set but aws_owned_data_keys=True keeps the data "
                    "under AWS owned keys; leave data_encryption_key out or set "
                    "aws_owned_data_keys=False"
                )
            return None
        if given is not None:
            return given
        return new_data_key(
            self,
            "DataKey",
            services=["aoss", *(["bedrock"] if imported is not None else [])],
            description="Encrypts the vector collection"
            + (" and the imported model" if imported is not None else "")
            + " of this RegionalInference",
        )

    def _create_chat_model(
        self, model_id: str, geography: Geography, imported: ImportedModelOptions | None
    ) -> None:
        """The imported model, or the cross-Region inference profile of ``model_id``."""
        self.imported_model: ImportedModel | None = None
        self.profile: CrossRegionInferenceProfile | None = None
        self.chat_model: CrossRegionInferenceProfile | ImportedModel
        """The model the retrieval function converses with."""
        if imported is not None:
            self.imported_model = self.chat_model = ImportedModel(
                self,
                "ImportedModel",
                s3_uri=imported.s3_uri,
                imported_model_key=self.data_key,
                log_encryption_key=self.logs_key,
            )
        else:
            self.profile = self.chat_model = CrossRegionInferenceProfile(
                self, "InferenceProfile", model_id=model_id, geography=geography
            )

    @property
    def chat_model_id(self) -> str:
        """The ``modelId`` callers pass: the profile id, or the imported model's ARN."""
        if isinstance(self.chat_model, ImportedModel):
            return self.chat_model.model_arn
        return self.chat_model.profile_id

    def _create_bedrock_endpoints(self, embedding_model_id: str) -> None:
        """The embedding model, and the Bedrock endpoints in every AZ, whose policy allows the
        chat and embedding models only."""
        self.embedding_model = FoundationModel.in_stack_region(self, embedding_model_id)
        self.bedrock_endpoints = BedrockVpcEndpoints(
            self,
            "BedrockEndpoints",
            vpc=self.vpc,
            vpc_subnets=self.endpoint_subnets,
            invoke_targets=[self.chat_model, self.embedding_model],
        )

    # -- vector search ----------------------------------------------------------------------

    def _create_vector_search(self, collection_name: str, index: IndexDefinition) -> None:
        """The collection behind its own VPC endpoint, and its index created at deploy time."""
        self.collection_endpoint = CollectionVpcEndpoint(
            self,
            "CollectionEndpoint",
            vpc=self.vpc,
            vpc_subnets=self.endpoint_subnets,
        )
        self.collection = VectorCollection(
            self,
            "Vectors",
            collection_name=collection_name,
            vpc_endpoint=self.collection_endpoint,
            encryption_key=self.data_key,
            description="Passages the retrieval function grounds its answers in",
        )
        self.index = VectorIndex(
            self,
            "Index",
            collection=self.collection,
            vpc_endpoint=self.collection_endpoint,
            vpc_subnets=self.workload_subnets,
            definition=index,
            log_encryption_key=self.logs_key,
        )

    # -- functions ----------------------------------------------------------------------------

    def _create_retrieval(self, embedding_model_id: str, index: IndexDefinition) -> MultiAzFunction:
        self.inference_role = iam.Role(
            self,
            "InferenceRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Invokes the chat model (profile or imported) and the embedding model only",
        )
        """The retrieval function's role (the self-hosted model is granted to it too)."""
        self.chat_model.grant_invoke(self.inference_role)
        self.embedding_model.grant_invoke(self.inference_role)
        retrieval = MultiAzFunction(
            self,
            "Retrieval",
            vpc=self.vpc,
            vpc_subnets=self.workload_subnets,
            code=handler_code(),
            handler=ShippedHandler.RETRIEVAL.value,
            role=self.inference_role,
            log_encryption_key=self.logs_key,
            description="Answers a question from the vector collection with the chat model",
            environment={
                "MODEL_ID": self.chat_model_id,
                "EMBEDDING_MODEL_ID": embedding_model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                **index.to_environment(),
                **_tier_environment("SERVICE_TIER", self.service_tier),
                **_tier_environment("EMBEDDING_SERVICE_TIER", self.embedding_service_tier),
            },
        )
        # Invoked synchronously (aws lambda invoke, an API): the caller receives every error.
        acknowledge_all(retrieval.function, SYNCHRONOUS_FUNCTION)
        acknowledge(self.inference_role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        self.collection.grant_read(retrieval, index_name=index.name)
        self._admit(retrieval)
        return retrieval

    def _create_ingestion(self, embedding_model_id: str, index: IndexDefinition) -> MultiAzFunction:
        ingestion = MultiAzFunction(
            self,
            "Ingestion",
            vpc=self.vpc,
            vpc_subnets=self.workload_subnets,
            code=handler_code(),
            handler=ShippedHandler.INGESTION.value,
            description="Embeds documents and writes them into the vector index",
            timeout=cdk.Duration.minutes(5),
            log_encryption_key=self.logs_key,
            environment={
                "EMBEDDING_MODEL_ID": embedding_model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                **index.to_environment(),
                **_tier_environment("EMBEDDING_SERVICE_TIER", self.embedding_service_tier),
            },
        )
        acknowledge_all(ingestion.function, SYNCHRONOUS_FUNCTION)
        self.embedding_model.grant_invoke(ingestion)
        self.collection.grant_write_documents(ingestion, index_name=index.name)
        self._admit(ingestion)
        return ingestion

    def _admit(self, function: MultiAzFunction) -> None:
        """Opens HTTPS from ``function`` to the Bedrock and collection endpoints."""
        # Its Connections rather than the function itself: the same security-group rules,
        # without aws-cdk-lib calling back into Python for each read of ``connections``.
        self.bedrock_endpoints.connections.allow_default_port_from(function.connections)
        self.collection_endpoint.connections.allow_default_port_from(function.connections)

    # -- the self-hosted model ----------------------------------------------------------------

    def _create_self_hosted(self, options: SelfHostedModelOptions) -> None:
        """A SageMaker endpoint in every AZ behind the internal NLB on the runtime endpoint;
        the retrieval function may invoke it."""
        region = cdk.Stack.of(self).region
        self.self_hosted = MultiAzSageMakerEndpoint(
            self,
            "SelfHosted",
            vpc=self.vpc,
            vpc_subnets=self.workload_subnets,
            image=options.image or hugging_face_tgi_image(region),
            instance_type=options.instance_type,
            fallback_instance_types=_fallbacks(options, region),
            model_data_url=options.model_data_url,
            model_data_bucket_owner=options.model_data_bucket_owner,
            environment=_environment(options),
            invocations_per_instance_target=options.invocations_per_instance_target,
            tolerated_az_losses=self.tolerated_az_losses,
            full_load_instances=options.full_load_instances,
            network_isolation=options.network_isolation,
            allow_internet_https=options.allow_internet_https,
            log_encryption_key=self.logs_key,
        )
        self.runtime_load_balancer = SageMakerRuntimeLoadBalancer(
            self,
            "RuntimeLoadBalancer",
            vpc=self.vpc,
            vpc_subnets=self.endpoint_subnets,
            endpoint_arns=[self.self_hosted.endpoint_arn],
            deletion_protection=options.deletion_protection,
            log_encryption_key=self.logs_key,
            endpoint_service=options.endpoint_service,
        )
        self.self_hosted.grant_invoke(self.inference_role)
        self.runtime_load_balancer.connections.allow_default_port_from(self.retrieval)
        target_alarms = self.runtime_load_balancer.add_target_health_alarms()
        for alarm in (target_alarms.below_azs, target_alarms.none_healthy):
            acknowledge(alarm, _ALARM_ACTION, TARGET_ALARMS_WITHOUT_ACTIONS)
        service = options.endpoint_service
        if service is not None and service.allowed_regions:
            self.runtime_route = RuntimeRoute.through(
                self.runtime_load_balancer, endpoint=self.self_hosted
            )

    # -- the agent ------------------------------------------------------------------------------

    def _create_agent(
        self,
        options: AgentRuntimeOptions,
        zone_ids: Mapping[str, str] | None,
        index: IndexDefinition,
    ) -> None:
        """The runtime in the workload subnets' supported AZs with the retrieval function's
        models, collection access and settings; the endpoint that lets callers invoke it; the
        function that asks it."""
        if zone_ids is None:
            raise ValueError(
                "zone_ids must map this account's AZ names to AZ IDs when agent is set, because "
                "AgentCore Runtime's VPC mode is offered only in some AZ IDs and AZ names map to "
                "different IDs in every account; got none. Pass zone_ids={'us-east-1a': "
                "'use1-az6', ...} as `aws ec2 describe-availability-zones --query "
                "'AvailabilityZones[].[ZoneName,ZoneId]'` lists them"
            )
        region = cdk.Stack.of(self).region
        self.agent = MultiAzAgentRuntime(
            self,
            "Agent",
            vpc=self.vpc,
            code=options.code or retrieval_agent_code(),
            zone_ids=zone_ids,
            vpc_subnets=self.workload_subnets,
            supported_az_ids=options.supported_az_ids,
            models=[self.chat_model, self.embedding_model],
            description="Answers questions with the retrieval path (embed, search, converse)",
            environment={
                "MODEL_ID": self.chat_model_id,
                "EMBEDDING_MODEL_ID": self.embedding_model.model_id,
                "COLLECTION_ENDPOINT": self.collection.collection_endpoint,
                "AGENT_REGION": region,
                **index.to_environment(),
            },
            endpoint_subnets=self.endpoint_subnets,
            bedrock_endpoints=self.bedrock_endpoints,
            log_encryption_key=self.logs_key,
        )
        self.collection.grant_read(self.agent, index_name=index.name)
        self.collection_endpoint.connections.allow_default_port_from(self.agent)
        self.agent_endpoint = AgentRuntimeVpcEndpoint(
            self,
            "AgentEndpoint",
            vpc=self.vpc,
            vpc_subnets=self.endpoint_subnets,
            runtimes=[self.agent],
        )
        self.agent_client = MultiAzFunction(
            self,
            "AgentClient",
            vpc=self.vpc,
            vpc_subnets=self.workload_subnets,
            code=handler_code(),
            handler=ShippedHandler.AGENT_CLIENT.value,
            description="Asks the agent runtime a question",
            timeout=AGENT_CLIENT_TIMEOUT,
            log_encryption_key=self.logs_key,
            environment={"AGENT_RUNTIME_ARN": self.agent.agent_runtime_arn},
        )
        acknowledge_all(self.agent_client.function, SYNCHRONOUS_FUNCTION)
        self.agent.grant_invoke(self.agent_client)
        self.agent_endpoint.connections.allow_default_port_from(self.agent_client)
        self.agent_alarms = self.agent.add_alarms()
        for alarm in (self.agent_alarms.system_errors, self.agent_alarms.throttles):
            acknowledge(alarm, _ALARM_ACTION, ALARMS_WITHOUT_ACTIONS)

    @property
    def supporting_kinds(self) -> tuple[str, ...]:
        """What this construct puts in its Region, for ``RegionCoverage(supporting=...)``:
        :data:`SUPPORTING_KINDS`, and ``agentic-compute`` with an agent."""
        return (*SUPPORTING_KINDS, *((AGENTIC_COMPUTE,) if self.agent is not None else ()))

    # -- operations ---------------------------------------------------------------------------

    def _create_alarms(
        self, options: SelfHostedModelOptions | None, imported: ImportedModelOptions | None
    ) -> None:
        """Alarms on what serves: the self-hosted endpoint (which also judge zonal autoshift's
        practice runs) and the imported model; instance-type fallbacks required of the
        self-hosted variant."""
        self.endpoint_alarms: EndpointAlarms | None = None
        endpoint_alarms: list[cloudwatch.IAlarm] = []
        if self.self_hosted is not None and options is not None:
            self.endpoint_alarms = self.self_hosted.add_alarms(
                model_latency_threshold=options.model_latency_alarm_threshold
            )
            endpoint_alarms = [
                self.endpoint_alarms.errors_5xx,
                self.endpoint_alarms.model_latency,
                self.endpoint_alarms.instances_below_azs,
            ]
            require_instance_fallbacks(self)
        imported_alarms: list[cloudwatch.IAlarm] = []
        imported_stop: list[cloudwatch.IAlarm] = []
        if self.imported_model is not None and imported is not None:
            alarms = self.imported_model.add_alarms(
                invocation_latency_threshold=imported.invocation_latency_alarm_threshold
            )
            imported_alarms = [alarms.server_errors, alarms.throttles, alarms.invocation_latency]
            # Slow answers reach callers as the retrieval function's 503s (its deadline), which
            # its own alarm watches; the FIS quota of five stop conditions leaves room for one.
            imported_stop = [alarms.server_errors]
        self.model_alarms: list[cloudwatch.IAlarm] = [*endpoint_alarms, *imported_alarms]
        """The self-hosted endpoint's and the imported model's alarms."""
        self._stop_conditions = [*imported_stop, *endpoint_alarms]
        for alarm in self.model_alarms:
            acknowledge(alarm, _ALARM_ACTION, ALARMS_WITHOUT_ACTIONS)
        if options is not None and options.zonal_autoshift and self.endpoint_alarms is not None:
            assert self.runtime_load_balancer is not None
            # A shift moves the load balancer's traffic only (other Regions and VPCs), never an
            # instance: practice runs are judged by what its callers meet at the model (5XX,
            # latency). The instance count cannot move with a shift; it blocks practice runs
            # while capacity is already short instead of judging them.
            self.runtime_load_balancer.enable_zonal_autoshift(
                ZonalAutoshiftOptions(
                    outcome_alarms=[
                        self.endpoint_alarms.errors_5xx,
                        self.endpoint_alarms.model_latency,
                    ],
                    blocking_alarms=[self.endpoint_alarms.instances_below_azs],
                )
            )

    def _create_dashboard(
        self,
        enabled: bool,
        dashboard_name: str | None,
        app_dashboard: ApplicationDashboard | None,
        quota: int | None,
    ) -> cloudwatch.Alarm:
        """This Region's dashboard and its column on the app dashboard; returns the retrieval
        function's 5xx-share alarm (the dashboard's, or one of its own without the dashboard)."""
        if not enabled:
            alarm = AnswerMetrics(self.retrieval.function).add_server_error_alarm(
                self, "RetrievalServerErrorShare"
            )
            acknowledge(alarm, _ALARM_ACTION, ALARMS_WITHOUT_ACTIONS)
            return alarm
        # The app dashboard shows other Regions' metrics and takes literal ids only: the
        # profile id is one, an imported model's ARN is known at deploy time, so the imported
        # model has a row on this Region's dashboard only.
        profile_id = self.profile.profile_id if self.profile is not None else None
        self.dashboard = RegionalDashboard(
            self,
            "Dashboard",
            bedrock_model_ids=[
                *([profile_id] if profile_id else []),
                self.embedding_model.model_id,
            ],
            tokens_per_minute_quotas={profile_id: quota} if quota and profile_id else None,
            service_tiers={
                model: tier
                for model, tier in (
                    (profile_id, self.service_tier),
                    (self.embedding_model.model_id, self.embedding_service_tier),
                )
                if model and tier
            },
            imported_model=self.imported_model,
            endpoint=self.self_hosted,
            load_balancer=self.runtime_load_balancer,
            collection=self.collection,
            functions={
                "Retrieval": self.retrieval.function,
                "Ingestion": self.ingestion.function,
            },
            answering_functions={"Retrieval": self.retrieval.function},
            alarms=self.model_alarms,
            dashboard_name=dashboard_name,
        )
        acknowledge(self.dashboard, _ALARM_ACTION, ALARMS_WITHOUT_ACTIONS)
        if app_dashboard is not None:
            app_dashboard.add_region(self.dashboard.view())
        return self.dashboard.answer_alarms["Retrieval"]

    def _create_drill(self) -> None:
        """One AZ-loss drill template per AZ over the endpoints and workloads tiers, stopped by
        alarms that move when serving breaks: the retrieval function's 5xx share (its handler
        answers 502/503 instead of raising, so Lambda's ``Errors`` would not move), the imported
        model's server errors, the self-hosted endpoint's 5XX and latency, and its instance
        count (which the drill cannot lower: it guards against capacity lost for another reason
        while an AZ is off the network)."""
        region = region_of(stack_of(self))
        if region in REGIONS_WITHOUT["AWS::FIS::ExperimentTemplate"]:
            cdk.Annotations.of(self).add_warning_v2(
                "ha-inference:no-fis",
                f"No AZ-loss drill in {region}: CloudFormation offers no AWS FIS experiment "
                "templates there.",
            )
            return
        subnets = [
            self.endpoint_subnets or ec2.SubnetSelection(one_per_az=True),
            self.workload_subnets or ec2.SubnetSelection(one_per_az=True),
        ]
        zones = [zone for selection in subnets for zone in subnet_zones(self.vpc, selection)]
        if any(is_unresolved(zone) for zone in zones):
            raise ValueError(
                f"drill needs the subnets' Availability Zones at synth time (one drill template "
                f"per AZ), but {self.node.path}'s VPC has deploy-time AZs; give the stack an "
                "env and pin_availability_zones(stack), import the VPC with its AZ names, or "
                "set drill=False"
            )
        self.drill = AvailabilityZoneDrill(
            self,
            "AzDrill",
            vpc=self.vpc,
            vpc_subnets=subnets,
            stop_condition_alarms=[self.answer_alarm, *self._stop_conditions],
            log_encryption_key=self.logs_key,
        )

    @property
    def alarms(self) -> list[cloudwatch.IAlarm]:
        """Every CloudWatch alarm of the construct, in construct order: what says the Region
        is unhealthy (a delivery pipeline can roll the Region back on them)."""
        return [c for c in self.node.find_all() if isinstance(c, cloudwatch.AlarmBase)]


# -- defaults -------------------------------------------------------------------------------


def _fallbacks(options: SelfHostedModelOptions, region: str) -> tuple[str, ...]:
    if options.fallback_instance_types is not None:
        return tuple(options.fallback_instance_types)
    offered = None if is_unresolved(region) else hosting_instance_types(region)
    return tuple(
        t
        for t in DEFAULT_FALLBACKS.get(options.instance_type, ())
        if offered is None or t in offered
    )


def _tier_environment(name: str, tier: ServiceTier | None) -> dict[str, str]:
    """The handler's tier variable, or nothing (the handler then sends no tier)."""
    return {name: tier.value} if tier is not None else {}


def _environment(options: SelfHostedModelOptions) -> dict[str, str]:
    if options.environment is not None:
        return dict(options.environment)
    if options.image is None and options.model_data_url is not None:
        return dict(MODEL_IN_ARCHIVE)
    return {}


# -- checks -------------------------------------------------------------------------------


def _check_props(
    *,
    imported_model: ImportedModelOptions | None,
    dashboard: bool,
    dashboard_name: str | None,
    app_dashboard: ApplicationDashboard | None,
    tokens_per_minute_quota: int | None,
) -> None:
    """Values the annotations cannot say (their kinds are checked by ``@checked_props``)."""
    if tokens_per_minute_quota is not None and tokens_per_minute_quota < 1:
        raise ValueError(
            f"tokens_per_minute_quota must be at least 1, got {tokens_per_minute_quota}; copy the "
            "applied quota from Service Quotas (service code bedrock)"
        )
    _check_combinations(
        imported_model, dashboard, dashboard_name, app_dashboard, tokens_per_minute_quota
    )


def _check_tiers(
    tier: ServiceTier | None,
    embedding_tier: ServiceTier | None,
    denied: Sequence[ServiceTier],
    imported: ImportedModelOptions | None,
) -> None:
    """A tier the retrieval function asks for is not one its role is denied, and the chat model
    is one Bedrock offers tiers for."""
    if tier is not None and imported is not None:
        raise ValueError(
            f"service_tier is ServiceTier.{tier.name}, but imported_model replaces the "
            "inference profile, and Bedrock documents service tiers for the foundation models "
            "its service-tiers page lists, not for imported models; leave service_tier out"
        )
    for prop, value in (("service_tier", tier), ("embedding_service_tier", embedding_tier)):
        if value is not None and value in denied:
            raise ValueError(
                f"{prop} is ServiceTier.{value.name}, which denied_service_tiers refuses the "
                f"retrieval function, so every call would be denied; choose another tier or "
                f"remove ServiceTier.{value.name} from denied_service_tiers"
            )


def _check_combinations(
    imported_model: object,
    dashboard: object,
    dashboard_name: object,
    app_dashboard: object,
    quota: object,
) -> None:
    """Props that would be ignored together with others are refused instead."""
    if quota is not None and imported_model is not None:
        raise ValueError(
            f"tokens_per_minute_quota is {quota}, a quota of the cross-Region inference profile, "
            "but imported_model replaces the profile; leave tokens_per_minute_quota out"
        )
    if not dashboard:
        for prop, value in (
            ("dashboard_name", dashboard_name),
            ("app_dashboard", app_dashboard),
            ("tokens_per_minute_quota", quota),
        ):
            if value is not None:
                raise ValueError(
                    f"{prop} is set but dashboard is False, so there is no Region dashboard to "
                    f"use it; leave {prop} out or set dashboard=True"
                )
