"""An Amazon Bedrock AgentCore Runtime in every supported AZ of a VPC: :class:`MultiAzAgentRuntime`.

aws-cdk-lib's stable ``aws_bedrockagentcore.Runtime`` places a VPC-mode runtime in whatever
subnets it is given. This construct wraps it with what a VPC-mode runtime needs to start and to
serve in every AZ:

* subnets only in AZs whose AZ ID the Region supports for VPC mode (AgentCore developer guide,
  "Configure Amazon Bedrock AgentCore Runtime and tools for VPC",
  https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/agentcore-vpc.html), at least
  two, one per AZ; a subnet elsewhere fails the deploy late ("The following subnets are in
  unsupported availability zones") and rolls the stack back, so it fails synth here;
* a path to Amazon S3 through the VPC: runtimes created from 2026-05-05 on get no
  service-managed S3 gateway and fetch their code or image layers through the VPC
  (``requireServiceS3Endpoint`` in the AgentCore control plane API reference, ``VpcConfig``);
* interface endpoints for CloudWatch Logs, and for Amazon ECR with an image; Bedrock Runtime for
  the models it may invoke;
* an execution role with exactly what the code, the logs and the models need: the models
  through ha-inference's cross-Region grant (the profile, and the model in every destination
  Region only through it).
"""

from __future__ import annotations

import json
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct, IConstruct

from ha_inference._internal.nag import (
    INLINE_POLICY,
    acknowledge,
    acknowledge_all,
    wildcard_resource_finding,
)
from ha_inference._internal.names import claim_name, warn_private_dns_takes_over
from ha_inference._internal.network import (
    closed_interface_endpoint,
    closed_security_group,
    s3_prefix_list_id,
)
from ha_inference._internal.props import checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import concrete_region, select_zonal_subnets
from ha_inference._internal.zones import place_in_supported_zones
from ha_inference.agents.code import AgentCode
from ha_inference.bedrock.endpoints import BedrockVpcEndpoints
from ha_inference.bedrock.profiles import IInvokeTarget
from ha_inference.data.zones import AGENTCORE_RUNTIME
from ha_inference.metadata import AGENTIC_COMPUTE, mark_supporting
from ha_inference.regions import REGIONS_WITHOUT

SUPPORTING_KIND = AGENTIC_COMPUTE
"""What a runtime is for :class:`~ha_inference.RegionCoverage` (GENREL05-BP01's agentic
compute)."""
RUNTIME_TYPE = "AWS::BedrockAgentCore::Runtime"
INVOKE_ACTION = "bedrock-agentcore:InvokeAgentRuntime"
LOG_GROUPS = "/aws/bedrock-agentcore/runtimes/*"
"""The runtime's log groups (``/aws/bedrock-agentcore/runtimes/<runtime id>-<endpoint>``), which
the service creates on the first invocation."""
RUNTIME_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]{0,47}$")
DEFAULT_ENDPOINT = "DEFAULT"
"""The endpoint AgentCore creates with every runtime, pointing at its latest version."""
ECR_PULL_ACTIONS = ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
MAX_SESSION = cdk.Duration.hours(8)
"""The longest an agent session runs; the execution role's sessions last as long."""
LOGS = "logs"
ECR_API = "ecr.api"
ECR_DOCKER = "ecr.dkr"
_SERVICES = {
    LOGS: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    ECR_API: ec2.InterfaceVpcEndpointAwsService.ECR,
    ECR_DOCKER: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
}
ALARM_PERIOD = cdk.Duration.minutes(5)
LOG_GROUPS_REASON = (
    "The service names the runtime's log groups after the runtime id it assigns at create time "
    "(/aws/bedrock-agentcore/runtimes/<id>-<endpoint>), so the log statements name that prefix "
    "and its streams; logs:DescribeLogGroups has no resource type in the Service Authorization "
    "Reference, so only '*' authorizes it."
)
AUTHORIZATION_TOKEN_REASON = (
    "ecr:GetAuthorizationToken has no resource type in the Service Authorization Reference, so "
    "it is granted on '*'; the image itself is readable only in its repository."
)


@dataclass(frozen=True)
class AgentRuntimeAlarms:
    """The alarms :meth:`MultiAzAgentRuntime.add_alarms` creates."""

    system_errors: cloudwatch.Alarm
    """Server-side errors of ``InvokeAgentRuntime`` (``SystemErrors``)."""
    throttles: cloudwatch.Alarm
    """Requests throttled by the service (``Throttles``)."""


@jsii.implements(ec2.IConnectable, iam.IGrantable)
class MultiAzAgentRuntime(Construct):
    """An AgentCore Runtime in VPC mode with a network interface in every supported AZ.

    Resources: ``Runtime`` (``aws_bedrockagentcore.Runtime``), ``ExecutionRole``,
    ``SecurityGroup``; unless adopted: ``S3Gateway`` (on exactly the runtime subnets' route
    tables), ``Logs`` and, for an image, ``EcrApi`` and ``EcrDocker`` interface endpoints with
    ``EndpointSecurityGroup``, and ``BedrockEndpoints`` for its models; ``Code`` for an asset.

    * one subnet in every AZ whose AZ ID supports VPC mode, at least two: losing an AZ leaves
      the runtime's other network interfaces serving;
    * every path the runtime takes at start and at work (S3, ECR, logs, Bedrock) stays in the
      VPC, admitted on HTTPS by security groups and scoped by endpoint policies;
    * models through their inference profile only, in exactly the Regions it routes to.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        code: AgentCode,
        zone_ids: Mapping[str, str],
        vpc_subnets: ec2.SubnetSelection | None = None,
        supported_az_ids: Sequence[str] | None = None,
        models: Sequence[IInvokeTarget] = (),
        runtime_name: str | None = None,
        description: str | None = None,
        environment: Mapping[str, str] | None = None,
        endpoint_subnets: ec2.SubnetSelection | None = None,
        bedrock_endpoints: BedrockVpcEndpoints | None = None,
        existing_endpoints: Mapping[str, ec2.IInterfaceVpcEndpoint] | None = None,
        s3_gateway: ec2.IGatewayVpcEndpoint | None = None,
        private_dns_enabled: bool = True,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param vpc: the VPC the runtime's network interfaces go in.
        :param code: what the runtime runs (:class:`AgentCode`).
        :param zone_ids: this account's AZ-name-to-ID mapping in the stack's Region (e.g.
            ``{"us-east-1a": "use1-az6", ...}``, as ``aws ec2 describe-availability-zones
            --query 'AvailabilityZones[].[ZoneName,ZoneId]'`` lists it): VPC mode is offered
            only in some AZ IDs, and AZ names map to different IDs in every account.
        :param vpc_subnets: the runtime's subnets, every one in a supported AZ. Default: one
            subnet in every AZ of the VPC's private subnets whose AZ ID supports VPC mode.
        :param supported_az_ids: the AZ IDs that support VPC mode in the stack's Region.
            Default: the AgentCore developer guide's, from
            :data:`ha_inference.data.zones.ZONE_SUPPORT`.
        :param models: the models the agent may invoke (a :class:`CrossRegionInferenceProfile`,
            a :class:`FoundationModel`...). Default: none.
        :param runtime_name: the runtime's name, unique in the account and Region
            (``^[a-zA-Z][a-zA-Z0-9_]{0,47}$``). Default: one derived from the construct path.
        :param description: the runtime's description. Default: none.
        :param environment: the agent's environment variables. Default: none.
        :param endpoint_subnets: where the interface endpoints this construct creates go.
            Default: the runtime's subnets.
        :param bedrock_endpoints: the VPC's Bedrock endpoints to invoke ``models`` through
            (their policy is extended with ``models``). Default: new ones, when there are
            models.
        :param existing_endpoints: the VPC's own interface endpoints to use instead of creating
            them, by short name (``logs``, ``ecr.api``, ``ecr.dkr``). Default: none.
        :param s3_gateway: the VPC's S3 gateway endpoint, on the runtime subnets' route tables.
            Default: one this app defines on those route tables (the VPC's own, as
            ``ec2.Vpc(gateway_endpoints=...)`` makes, or another runtime's), else a new one on
            exactly them. For a VPC defined elsewhere that has one, pass it
            (``GatewayVpcEndpoint.from_gateway_vpc_endpoint_id``): a route table takes one.
        :param private_dns_enabled: whether the endpoints this construct creates answer the
            services' standard hostnames inside ``vpc`` (for every caller there). Default:
            ``True``.
        :param log_encryption_key: the KMS key of the log group of the stack's S3 prefix-list
            lookup function (its security group rule to S3 names the prefix list). Default: a
            log group without a customer managed key, unless the stack's lookup exists already.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.region = concrete_region("MultiAzAgentRuntime", stack)
        name = self._check_props(runtime_name, code, existing_endpoints)
        placement = place_in_supported_zones(
            "vpc_subnets",
            vpc,
            vpc_subnets,
            scope=self,
            service=AGENTCORE_RUNTIME,
            zone_ids=zone_ids,
            supported=supported_az_ids,
        )
        self.availability_zones = placement.zonal.availability_zones
        """The AZs of the runtime's subnets."""
        self.zone_ids = placement.zone_ids
        """Their AZ IDs."""
        self.subnets = placement.zonal.subnets
        """The runtime's subnets, one per supported AZ."""
        self.vpc = vpc
        self.security_group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="AgentCore runtime: HTTPS to its endpoints and S3 only",
        )
        self._connections = ec2.Connections(security_groups=[self.security_group])
        self.role = self._create_role(name)
        """The execution role (what the agent's code runs as)."""
        self._depends: list[IConstruct] = [self.security_group]
        self.s3_gateway = self._s3_path(s3_gateway, log_encryption_key)
        """The S3 gateway endpoint the runtime fetches its code or image layers through."""
        endpoint_selection = (
            select_zonal_subnets("endpoint_subnets", vpc, endpoint_subnets, scope=self).selection
            if endpoint_subnets is not None
            else placement.zonal.selection
        )
        self.endpoints = self._interface_endpoints(
            code, endpoint_selection, dict(existing_endpoints or {}), private_dns_enabled
        )
        """The interface endpoints the runtime uses, by short name (``logs``, ``ecr.api``,
        ``ecr.dkr``)."""
        artifact = self._artifact(code)
        self.bedrock_endpoints = self._model_access(
            models, bedrock_endpoints, endpoint_selection, zone_ids, private_dns_enabled
        )
        """The Bedrock endpoints the runtime invokes its models through (none without
        models)."""
        self.runtime = agentcore.Runtime(
            self,
            "Runtime",
            agent_runtime_artifact=artifact,
            runtime_name=name,
            description=description,
            environment_variables=dict(environment) if environment else None,
            # The role's policy is written here, exactly; the L2's own grants (the whole asset
            # bucket, X-Ray and CloudWatch on '*') are not added to it.
            execution_role=self.role.without_policy_updates(),
            network_configuration=agentcore.RuntimeNetworkConfiguration.using_vpc(
                self,
                vpc=vpc,
                vpc_subnets=placement.zonal.selection,
                security_groups=[self.security_group],
            ),
        )
        """The ``aws_bedrockagentcore.Runtime``."""
        # The service fetches the code (or image) through the VPC as it creates the runtime:
        # the role's policy, the routes, the endpoints and the rules must exist first.
        self.runtime.node.add_dependency(self.role, *self._depends)
        mark_supporting(self, SUPPORTING_KIND)

    # -- props --------------------------------------------------------------------------------

    def _check_props(
        self,
        runtime_name: str | None,
        code: AgentCode,
        existing: Mapping[str, ec2.IInterfaceVpcEndpoint] | None,
    ) -> str:
        if self.region in REGIONS_WITHOUT[RUNTIME_TYPE]:
            raise ValueError(
                f"MultiAzAgentRuntime needs a Region where CloudFormation offers {RUNTIME_TYPE}, "
                f"got {self.region}; deploy the agent to another Region"
            )
        name = runtime_name or _default_name(self)
        if not is_unresolved(name) and not RUNTIME_NAME.match(name):
            raise ValueError(
                f"runtime_name must start with a letter and hold at most 48 letters, digits and "
                f"underscores (no hyphens), got {name!r}; for example 'support_agent'"
            )
        claim_name(self, "AgentCore runtime", name, "runtime_name")
        if code.is_image:
            _, image_region, _ = code.image_parts()
            if image_region != self.region:
                raise ValueError(
                    f"code's image is in {image_region}, but the runtime is in {self.region}, "
                    f"got {code.image_uri!r}; the VPC's ECR and S3 endpoints reach only their own "
                    "Region: replicate the image to this Region's ECR (ECR replication) and use "
                    "that URI"
                )
        needed = {LOGS, ECR_API, ECR_DOCKER} if code.is_image else {LOGS}
        stray = sorted(set(existing or {}) - needed)
        if stray:
            raise ValueError(
                f"existing_endpoints names {', '.join(stray)}, which this runtime does not use "
                f"(it uses {', '.join(sorted(needed))}); drop those entries"
            )
        return name

    # -- identity -----------------------------------------------------------------------------

    def _create_role(self, name: str) -> iam.Role:
        stack = cdk.Stack.of(self)
        runtimes = stack.format_arn(
            service="bedrock-agentcore",
            resource="runtime",
            resource_name=f"{name}*",
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )
        role = iam.Role(
            self,
            "ExecutionRole",
            assumed_by=iam.ServicePrincipal(
                "bedrock-agentcore.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {"aws:SourceArn": runtimes},
                },
            ),
            description="Runs the agent of an AgentCore runtime: its code, logs and models only",
            max_session_duration=MAX_SESSION,
        )
        log_groups = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name=LOG_GROUPS,
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        statements = _log_statements(log_groups, stack)
        for statement in statements:
            role.add_to_policy(statement)
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        acknowledge_all(
            role,
            {
                wildcard_resource_finding(role, arn): LOG_GROUPS_REASON
                for statement in statements
                for arn in statement.resources
            },
        )
        return role

    def add_to_role_policy(self, statement: iam.PolicyStatement) -> None:
        """Adds ``statement`` to the execution role's policy (what the agent's code may do)."""
        self.role.add_to_policy(statement)

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: grant the agent access with ``x.grant_...(runtime)``."""
        return self.role

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` invoke the runtime through its ``DEFAULT`` endpoint
        (``bedrock-agentcore:InvokeAgentRuntime`` on the runtime and that endpoint), nothing
        more."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[INVOKE_ACTION],
            resource_arns=list(self.invoke_resource_arns),
        )

    @property
    def invoke_resource_arns(self) -> tuple[str, str]:
        """What ``InvokeAgentRuntime`` is authorized on: the runtime, and the endpoint the call
        names (``qualifier``; ``DEFAULT``, the one the service creates, when it names none)."""
        arn = self.agent_runtime_arn
        return arn, f"{arn}/runtime-endpoint/{DEFAULT_ENDPOINT}"

    @property
    def agent_runtime_arn(self) -> str:
        """The runtime's ARN."""
        return str(self.runtime.agent_runtime_arn)

    # -- what it runs -------------------------------------------------------------------------

    def _artifact(self, code: AgentCode) -> agentcore.AgentRuntimeArtifact:
        """The L2 artifact, and exactly the read permission on it (object or repository)."""
        if code.kind == "image":
            assert code.image_uri is not None
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=list(ECR_PULL_ACTIONS), resources=[self._repository(code)]
                )
            )
            self.role.add_to_policy(
                iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"])
            )
            acknowledge(self.role, "AwsSolutions-IAM5[Resource::*]", AUTHORIZATION_TOKEN_REASON)
            return agentcore.AgentRuntimeArtifact.from_image_uri(code.image_uri)
        if code.kind == "asset":
            assert code.path is not None
            asset = s3_assets.Asset(self, "Code", path=code.path, exclude=list(code.exclude))
            bucket, key, version = asset.bucket, asset.s3_object_key, None
        else:
            assert code.bucket is not None and code.object_key is not None
            bucket, key, version = code.bucket, code.object_key, code.version_id
        actions = ["s3:GetObject", *(["s3:GetObjectVersion"] if version else [])]
        self.role.add_to_policy(
            iam.PolicyStatement(actions=actions, resources=[bucket.arn_for_objects(key)])
        )
        self.code_object_arn = bucket.arn_for_objects(key)
        """The code package's object ARN (code packages only)."""
        return agentcore.AgentRuntimeArtifact.from_s3(
            s3.Location(bucket_name=bucket.bucket_name, object_key=key, object_version=version),
            code.runtime,
            list(code.entrypoint),
        )

    def _repository(self, code: AgentCode) -> str:
        account, region, repository = code.image_parts()
        return cdk.Stack.of(self).format_arn(
            service="ecr",
            region=region,
            account=account,
            resource="repository",
            resource_name=repository,
            arn_format=cdk.ArnFormat.SLASH_RESOURCE_NAME,
        )

    # -- network paths ------------------------------------------------------------------------

    def _s3_path(
        self, given: ec2.IGatewayVpcEndpoint | None, log_key: kms.IKey | None
    ) -> ec2.IGatewayVpcEndpoint:
        """The S3 gateway on the runtime subnets' route tables, and HTTPS to S3 through it."""
        gateway = given or self._vpc_s3_gateway()
        if gateway is None:
            created = ec2.GatewayVpcEndpoint(
                self,
                "S3Gateway",
                vpc=self.vpc,
                service=ec2.GatewayVpcEndpointAwsService.S3,
                subnets=[ec2.SubnetSelection(subnets=list(self.subnets))],
            )
            _S3_GATEWAYS.setdefault(self.node.root, []).append(created)
            gateway = created
        if isinstance(gateway, Construct) and cdk.Stack.of(gateway) is cdk.Stack.of(self):
            self._depends.append(gateway)
        self.security_group.add_egress_rule(
            ec2.Peer.prefix_list(s3_prefix_list_id(self, log_encryption_key=log_key)),
            ec2.Port.tcp(443),
            "S3 (the agent's code or image layers) through the gateway endpoint",
        )
        return gateway

    def _vpc_s3_gateway(self) -> ec2.IGatewayVpcEndpoint | None:
        """The S3 gateway endpoint of the VPC that this app defines on every runtime subnet's
        route table (one of the VPC's own, or another runtime's); ``None`` when there is none.
        One on some of them only is refused: a second gateway for S3 on the same route table
        fails at deploy."""
        stack = cdk.Stack.of(self.vpc)
        tables = {_key(stack.resolve(s.route_table.route_table_id)) for s in self.subnets}
        vpc = _key(stack.resolve(self.vpc.vpc_id))
        candidates = [
            *(c for c in self.vpc.node.children if isinstance(c, ec2.GatewayVpcEndpoint)),
            *_S3_GATEWAYS.get(self.node.root, []),
        ]
        for child in candidates:
            cfn = child.node.default_child
            assert isinstance(cfn, ec2.CfnVPCEndpoint)
            if cdk.Stack.of(child) is not stack or _key(stack.resolve(cfn.vpc_id)) != vpc:
                continue
            if not _flat(stack.resolve(cfn.service_name)).endswith(".s3"):
                continue
            covered = {_key(t) for t in stack.resolve(cfn.route_table_ids) or []}
            if tables <= covered:
                return child
            raise ValueError(
                f"s3_gateway is not given and {child.node.path} (the VPC's S3 gateway endpoint) "
                "is on some of the runtime subnets' route tables only; a route table takes one "
                "S3 gateway, so add the runtime subnets to that endpoint's subnets, or pass it "
                "as s3_gateway once it covers them"
            )
        return None

    def _interface_endpoints(
        self,
        code: AgentCode,
        selection: ec2.SubnetSelection,
        existing: dict[str, ec2.IInterfaceVpcEndpoint],
        private_dns_enabled: bool,
    ) -> dict[str, ec2.IInterfaceVpcEndpoint]:
        """CloudWatch Logs, and ECR for an image: adopted or created, each admitting the
        runtime on HTTPS and allowing only what the runtime does through it."""
        needed = [LOGS, ECR_API, ECR_DOCKER] if code.is_image else [LOGS]
        created = [short for short in needed if short not in existing]
        group = None
        if created:
            group = closed_security_group(
                self,
                "EndpointSecurityGroup",
                vpc=self.vpc,
                description="AgentCore runtime endpoints: HTTPS from the runtime only",
            )
            self._depends.append(group)
        endpoints: dict[str, ec2.IInterfaceVpcEndpoint] = {}
        for short in needed:
            if short in existing:
                endpoints[short] = existing[short]
            else:
                assert group is not None
                endpoint = closed_interface_endpoint(
                    self,
                    _ENDPOINT_IDS[short],
                    vpc=self.vpc,
                    service=_SERVICES[short],
                    short_name=short,
                    subnets=selection,
                    security_group=group,
                    private_dns_enabled=private_dns_enabled,
                )
                for statement in self._endpoint_statements(short, code):
                    endpoint.add_to_policy(statement)
                endpoints[short] = endpoint
                self._depends.append(endpoint)
            endpoints[short].connections.allow_default_port_from(self.security_group)
        if private_dns_enabled and created:
            warn_private_dns_takes_over(self, self.vpc, created)
        return endpoints

    def _endpoint_statements(self, short: str, code: AgentCode) -> list[iam.PolicyStatement]:
        stack = cdk.Stack.of(self)
        account = {"StringEquals": {"aws:PrincipalAccount": stack.account}}
        if short == LOGS:
            log_groups = stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=LOG_GROUPS,
                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            )
            return [
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=s.actions,
                    resources=s.resources,
                    conditions=account,
                )
                for s in _log_statements(log_groups, stack)
            ]
        if short == ECR_API:
            return [
                iam.PolicyStatement(
                    principals=[iam.AnyPrincipal()],
                    actions=["ecr:GetAuthorizationToken"],
                    resources=["*"],
                    conditions=account,
                )
            ]
        return [
            iam.PolicyStatement(
                principals=[iam.AnyPrincipal()],
                actions=list(ECR_PULL_ACTIONS),
                resources=[self._repository(code)],
                conditions=account,
            )
        ]

    def _model_access(
        self,
        models: Sequence[IInvokeTarget],
        given: BedrockVpcEndpoints | None,
        selection: ec2.SubnetSelection,
        zone_ids: Mapping[str, str],
        private_dns_enabled: bool,
    ) -> BedrockVpcEndpoints | None:
        """The models on the execution role (their documented statements, with the profile
        condition) and the Bedrock endpoints that let them through."""
        if not models:
            return None
        for model in models:
            for shape in model.invoke_statements:
                self.role.add_to_policy(shape.to_statement())
        endpoints = given or BedrockVpcEndpoints(
            self,
            "BedrockEndpoints",
            vpc=self.vpc,
            vpc_subnets=selection,
            invoke_targets=list(models),
            private_dns_enabled=private_dns_enabled,
            zone_ids=zone_ids,
        )
        if given is not None:
            for model in models:
                given.allow_invoke(model)
        endpoints.connections.allow_default_port_from(self.security_group)
        if cdk.Stack.of(endpoints) is cdk.Stack.of(self):
            self._depends.append(endpoints)
        return endpoints

    # -- operations ---------------------------------------------------------------------------

    def metric_invocations(self, *, period: cdk.Duration = ALARM_PERIOD) -> cloudwatch.Metric:
        """``Invocations`` of the runtime's default endpoint (Sum; default period 5 minutes)."""
        return self.runtime.metric_invocations(period=period)

    def metric_system_errors(self, *, period: cdk.Duration = ALARM_PERIOD) -> cloudwatch.Metric:
        """``SystemErrors``: server-side errors (Sum; default period 5 minutes)."""
        return self.runtime.metric_system_errors(period=period)

    def metric_user_errors(self, *, period: cdk.Duration = ALARM_PERIOD) -> cloudwatch.Metric:
        """``UserErrors``: client-side errors (Sum; default period 5 minutes)."""
        return self.runtime.metric_user_errors(period=period)

    def metric_throttles(self, *, period: cdk.Duration = ALARM_PERIOD) -> cloudwatch.Metric:
        """``Throttles``: requests the service throttled (Sum; default period 5 minutes)."""
        return self.runtime.metric_throttles(period=period)

    def metric_latency(self, *, period: cdk.Duration = ALARM_PERIOD) -> cloudwatch.Metric:
        """``Latency``: request received to final response token (Average; default period 5
        minutes)."""
        return self.runtime.metric_latency(period=period)

    @checked_props
    def add_alarms(
        self, *, system_errors_threshold: int = 1, throttles_threshold: int = 5
    ) -> AgentRuntimeAlarms:
        """Alarms on the runtime's server-side errors and throttles, per 5 minutes, without
        actions (add yours with ``alarm.add_alarm_action``).

        :param system_errors_threshold: ``SystemErrors`` in 5 minutes that raise the alarm.
            Default: 1.
        :param throttles_threshold: ``Throttles`` in 5 minutes that raise the alarm. Default: 5.
        """
        for prop, value in (
            ("system_errors_threshold", system_errors_threshold),
            ("throttles_threshold", throttles_threshold),
        ):
            if value < 1:
                raise ValueError(f"{prop} must be at least 1, got {value}; use a count of errors")
        return AgentRuntimeAlarms(
            system_errors=self._alarm(
                "SystemErrorsAlarm",
                self.metric_system_errors(period=ALARM_PERIOD),
                system_errors_threshold,
                "The agent runtime answered with server-side errors",
            ),
            throttles=self._alarm(
                "ThrottlesAlarm",
                self.metric_throttles(period=ALARM_PERIOD),
                throttles_threshold,
                "The agent runtime throttled requests (quota or TPS)",
            ),
        )

    def _alarm(
        self, construct_id: str, metric: cloudwatch.Metric, threshold: int, description: str
    ) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )

    @property
    def connections(self) -> ec2.Connections:
        """The runtime's security group (its outbound side: VPC mode carries the runtime's
        own calls only; invocations reach it through the service). Allow it to other peers
        with ``connections.allow_to(peer, port)``."""
        return self._connections


_ENDPOINT_IDS = {LOGS: "Logs", ECR_API: "EcrApi", ECR_DOCKER: "EcrDocker"}
_S3_GATEWAYS: weakref.WeakKeyDictionary[IConstruct, list[ec2.GatewayVpcEndpoint]] = (
    weakref.WeakKeyDictionary()
)
"""The S3 gateway endpoints runtimes created, per app: the next runtime in the same VPC uses
one that covers its route tables instead of adding a second (which fails at deploy)."""


def _log_statements(log_groups: str, stack: cdk.Stack) -> list[iam.PolicyStatement]:
    """What the runtime writes to its log groups: what aws-cdk-lib's Runtime grants, with
    ``logs:DescribeLogGroups`` on '*' (it grants it on ``log-group:*``, which the Service
    Authorization Reference says does not authorize it)."""
    return [
        iam.PolicyStatement(
            actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"], resources=[log_groups]
        ),
        # No resource type in the Service Authorization Reference: only '*' authorizes it.
        iam.PolicyStatement(actions=["logs:DescribeLogGroups"], resources=["*"]),
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[f"{log_groups}:log-stream:*"],
        ),
    ]


def _default_name(scope: Construct) -> str:
    """A name from the construct path: letters, digits and ``_``, at most 48, a letter first."""
    name = cdk.Names.unique_resource_name(scope, max_length=47, separator="_")
    name = re.sub(r"[^a-zA-Z0-9_]", "", name)
    return name if name[:1].isalpha() else f"A{name}"[:48]


def _key(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _flat(value: object) -> str:
    """A service name as a string, or the literal parts of its ``Fn::Join``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(p if isinstance(p, str) else "" for p in parts)
    return ""
