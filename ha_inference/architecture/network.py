"""A private VPC for inference, and Availability Zones an env-specific stack can use offline.

An env-specific stack (``env=cdk.Environment(account=..., region=...)``) asks the CDK CLI to look
its Availability Zones up in the account (``ec2:DescribeAvailabilityZones``) the first time
anything reads ``stack.availability_zones``, as ``ec2.Vpc`` does; without credentials that first
synth fails. :func:`pin_availability_zones` answers the lookup from ha-inference's Region table
instead, so the stack synthesizes offline and the same way on every machine.
"""

from __future__ import annotations

import ipaddress
import weakref
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from ha_inference._internal import props
from ha_inference._internal.logs import new_log_group
from ha_inference._internal.nag import INLINE_POLICY, acknowledge
from ha_inference._internal.sequences import repeated
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import MIN_AZS
from ha_inference.regions import AVAILABILITY_ZONES, ZONES_PER_ACCOUNT

ENDPOINTS = "endpoints"
"""The subnet group of interface endpoints and load balancers."""
WORKLOADS = "workloads"
"""The subnet group of functions and SageMaker instances."""
EGRESS = "egress"
"""The public subnet group that holds the NAT gateways (only with ``nat_gateways`` > 0)."""
DEFAULT_AZ_COUNT = 3
ENDPOINT_MASK, WORKLOAD_MASK, EGRESS_MASK = 24, 22, 26
AZ_CONTEXT_KEY = "availability-zones:account={account}:region={region}"
RESTRICT_DEFAULT_SG_PROVIDER = "Custom::VpcRestrictDefaultSGCustomResourceProvider"
"""The id of aws-cdk-lib's stack-wide provider behind ``restrict_default_security_group``
(``aws-ec2/lib/vpc.ts``), whose ``Handler`` is a raw ``AWS::Lambda::Function``."""
_LOGGED: weakref.WeakKeyDictionary[IConstruct, set[str]] = weakref.WeakKeyDictionary()
"""Per app: the restrict-default-security-group handlers already given a log group."""
"""The context key under which the CDK CLI records a stack's Availability Zone lookup
(aws-cdk-lib ``ContextProvider.getKey`` for the ``availability-zones`` provider)."""


@props.checked_props
def pin_availability_zones(stack: cdk.Stack, *, zones: Sequence[str] | None = None) -> list[str]:
    """Answers ``stack``'s Availability Zone lookup without calling AWS; returns the zones.

    Call it right after creating an env-specific stack, before adding constructs to it. The
    zones become the stack's context under the key the CDK CLI would record after a lookup
    (``availability-zones:account=<account>:region=<region>``), so ``stack.availability_zones``,
    ``ec2.Vpc`` and every construct that spreads over AZs read them and no lookup happens.

    :param stack: an env-specific stack (literal account and Region).
    :param zones: the AZ names to use. Default: every AZ name ha-inference knows in the
        stack's Region (:data:`ha_inference.regions.AVAILABILITY_ZONES`), unless the stack's
        context already holds a lookup result (``cdk.context.json``), which is kept. Regions
        where accounts see different subsets of the names (us-west-1, ca-central-1) need them
        given.
    """
    props.check_instance("stack", stack, cdk.Stack, "the cdk.Stack to pin the AZs of")
    account, region = stack.account, stack.region
    if is_unresolved(account) or is_unresolved(region):
        raise ValueError(
            f"stack {stack.node.path} is environment-agnostic, so it uses two deploy-time AZs "
            "and makes no lookup to pin; give it env=cdk.Environment(account='123456789012', "
            "region='us-east-1') to use every AZ you choose"
        )
    if stack.node.children:
        raise ValueError(
            f"stack {stack.node.path} already holds constructs "
            f"({', '.join(c.node.id for c in stack.node.children)}), and context can only be set "
            "before the first one; call pin_availability_zones(stack) right after creating it"
        )
    key = AZ_CONTEXT_KEY.format(account=account, region=region)
    known = AVAILABILITY_ZONES.get(region)
    if zones is None:
        found = stack.node.try_get_context(key)
        if isinstance(found, list) and found:
            return [str(zone) for zone in found]
        if known is None or region in ZONES_PER_ACCOUNT:
            raise ValueError(
                f"zones must be given for {region}: "
                + (
                    "ha-inference has no AZ table for it"
                    if known is None
                    else f"an account sees {ZONES_PER_ACCOUNT[region]} of "
                    f"{', '.join(known)}, and which ones differs per account"
                )
                + f"; pass zones=[...] as 'aws ec2 describe-availability-zones --region {region}' "
                "lists them"
            )
        chosen = list(known)
    else:
        props.check_strings("zones", zones, f"['{region}a', '{region}b']")
        chosen = list(zones)
        _check_zones("zones", chosen, region)
    stack.node.set_context(key, chosen)
    return chosen


def _check_zones(prop: str, zones: list[str], region: str | None) -> None:
    if len(zones) < MIN_AZS:
        raise ValueError(
            f"{prop} must name at least {MIN_AZS} Availability Zones so that losing one leaves "
            f"capacity, got {zones!r}; add another AZ"
        )
    twice = repeated(zones)
    if twice:
        raise ValueError(f"{prop} names {', '.join(twice)} more than once, got {zones!r}")
    known = AVAILABILITY_ZONES.get(region or "")
    foreign = [z for z in zones if known is not None and z not in known]
    if foreign:
        raise ValueError(
            f"{prop} has {', '.join(foreign)}, not an Availability Zone of {region}, got "
            f"{zones!r}; use AZs of that Region: {', '.join(known or ())}"
        )


class InferenceVpc(Construct):
    """A private VPC with an ``endpoints`` and a ``workloads`` subnet in every Availability Zone
    it spans, for the reference architecture (:class:`RegionalInference`) or your own.

    Resources: ``Vpc`` (ec2.Vpc with an S3 gateway endpoint, the default security group without
    rules, and flow logs of all traffic), ``FlowLogs`` (its log group), ``FlowLogRole``,
    ``DefaultSecurityGroupLogs`` (the log group of aws-cdk-lib's function that empties the
    default security group, unless another ``InferenceVpc`` of the stack made it), and
    ``LogsKey`` unless a key is given.

    * No internet gateway and no NAT gateway by default: both tiers are isolated and reach AWS
      services only through VPC endpoints; with NAT gateways, workloads egress through them and
      nothing is exposed inbound either way.
    * One subnet per AZ in each tier, so every zonal consumer (endpoints, load balancer,
      functions, SageMaker) spans every AZ of the VPC.
    """

    @props.checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: Sequence[str] | None = None,
        cidr: str = "10.0.0.0/16",
        nat_gateways: int = 0,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param availability_zones: the AZs to span (literal names, two or more). Default: the
            first three of the stack's AZs (pin them with :func:`pin_availability_zones` so an
            env-specific stack synthesizes offline).
        :param cidr: the VPC's IPv4 block; it must hold a /24 endpoints and a /22 workloads
            subnet (and a /26 egress subnet with NAT gateways) per AZ. Default: 10.0.0.0/16.
        :param nat_gateways: NAT gateways for workloads that must reach the internet (a model
            downloaded from a hub), at most one per AZ; 0 keeps the VPC isolated. Default: 0.
        :param flow_log_retention: how long the flow log group keeps records. Default: one
            year.
        :param log_encryption_key: the KMS key of the flow log group; pass the same key to
            :class:`RegionalInference` to encrypt every log group with one key. Default: a new
            customer managed key with yearly rotation, retained with the logs (``LogsKey``).
        """
        super().__init__(scope, construct_id)
        zones = self._check_props(availability_zones, cidr, nat_gateways, log_encryption_key)
        props.check_instance(
            "flow_log_retention",
            flow_log_retention,
            logs.RetentionDays,
            "a logs.RetentionDays such as logs.RetentionDays.ONE_YEAR",
        )
        self.log_encryption_key: kms.IKey = log_encryption_key or kms.Key(
            self,
            "LogsKey",
            description="Encrypts the flow logs of this VPC",
            enable_key_rotation=True,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        """The KMS key of the flow log group."""
        self.vpc = self._create_vpc(zones, cidr, nat_gateways)
        """The VPC."""
        self.flow_log_group = self._create_flow_logs(flow_log_retention, self.log_encryption_key)
        """The flow log group."""
        self._log_default_security_group_handler(self.log_encryption_key)

    def _check_props(
        self,
        availability_zones: Sequence[str] | None,
        cidr: str,
        nat_gateways: int,
        log_encryption_key: kms.IKey | None,
    ) -> list[str] | None:
        zones = None
        if availability_zones is not None:
            props.check_strings(
                "availability_zones", availability_zones, "['us-east-1a', 'us-east-1b']"
            )
            zones = list(availability_zones)
            region = cdk.Stack.of(self).region
            _check_zones("availability_zones", zones, None if is_unresolved(region) else region)
        props.check_str("cidr", cidr, "10.0.0.0/16")
        props.check_whole(
            "nat_gateways", nat_gateways, minimum=0, fix="use 0 (isolated) or one per AZ"
        )
        count = len(zones) if zones is not None else DEFAULT_AZ_COUNT
        if nat_gateways > count:
            raise ValueError(
                f"nat_gateways is {nat_gateways} but the VPC spans {count} AZs; use at most one "
                "NAT gateway per AZ"
            )
        try:
            network = ipaddress.IPv4Network(cidr)
        except ValueError:
            raise ValueError(
                f"cidr must be an IPv4 CIDR block such as 10.0.0.0/16, got {cidr!r}"
            ) from None
        per_zone = 2 ** (32 - ENDPOINT_MASK) + 2 ** (32 - WORKLOAD_MASK)
        per_zone += 2 ** (32 - EGRESS_MASK) if nat_gateways else 0
        if network.num_addresses < per_zone * count:
            raise ValueError(
                f"cidr {cidr} holds {network.num_addresses} addresses, but {count} AZs need "
                f"{per_zone * count} (a /24 endpoints and a /22 workloads subnet per AZ"
                f"{', and a /26 egress subnet' if nat_gateways else ''}); use a larger block "
                "such as a /16"
            )
        props.check_key("log_encryption_key", log_encryption_key)
        return zones

    def _create_vpc(self, zones: list[str] | None, cidr: str, nat_gateways: int) -> ec2.Vpc:
        subnets = [
            ec2.SubnetConfiguration(
                name=ENDPOINTS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=ENDPOINT_MASK
            ),
            ec2.SubnetConfiguration(
                name=WORKLOADS,
                subnet_type=(
                    ec2.SubnetType.PRIVATE_WITH_EGRESS
                    if nat_gateways
                    else ec2.SubnetType.PRIVATE_ISOLATED
                ),
                cidr_mask=WORKLOAD_MASK,
            ),
        ]
        if nat_gateways:
            subnets.append(
                ec2.SubnetConfiguration(
                    name=EGRESS,
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=EGRESS_MASK,
                    map_public_ip_on_launch=False,
                )
            )
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=zones,
            max_azs=None if zones is not None else DEFAULT_AZ_COUNT,
            subnet_configuration=subnets,
            nat_gateways=nat_gateways,
            restrict_default_security_group=True,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        cdk.Validations.of(vpc).acknowledge(
            cdk.Acknowledgment(
                id="CloudFormation-Validate::W3010",
                reason=(
                    "The subnets name their AZs on purpose: the AZs are given (or pinned with "
                    "pin_availability_zones) so that synth is offline, deterministic and uses "
                    "every chosen AZ; Fn::GetAZs would pick AZs for us."
                ),
            )
        )
        return vpc

    def _create_flow_logs(
        self, retention: logs.RetentionDays, log_encryption_key: kms.IKey
    ) -> logs.LogGroup:
        group = new_log_group(
            self, "FlowLogs", retention=retention, encryption_key=log_encryption_key
        )
        stack = cdk.Stack.of(self)
        role = iam.Role(
            self,
            "FlowLogRole",
            # Only flow logs of this account and Region ("IAM role for publishing flow logs to
            # CloudWatch Logs"; the flow log's id is not known before it exists).
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={
                    "StringEquals": {"aws:SourceAccount": stack.account},
                    "ArnLike": {
                        "aws:SourceArn": stack.format_arn(
                            service="ec2", resource="vpc-flow-log", resource_name="*"
                        )
                    },
                },
            ),
            description="Lets VPC flow logs write to the flow log group of this VPC",
        )
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(group, role),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )
        return group

    def _log_default_security_group_handler(self, key: kms.IKey) -> None:
        """Gives aws-cdk-lib's restrict-default-security-group function a log group of this
        stack, encrypted with ``key`` and kept a year: aws-cdk-lib writes that function as a raw
        ``AWS::Lambda::Function`` without ``LoggingConfig``, so Lambda would log to an implicit
        ``/aws/lambda/<name>`` group, unencrypted, never expiring and outside the stack. The
        provider is one per stack; the first ``InferenceVpc`` of the stack sets its group."""
        stack = cdk.Stack.of(self)
        provider = stack.node.try_find_child(RESTRICT_DEFAULT_SG_PROVIDER)
        if provider is None:
            return
        handler = provider.node.find_child("Handler")
        assert isinstance(handler, cdk.CfnResource)
        done = _LOGGED.setdefault(self.node.root, set())
        if handler.node.path in done:
            return
        group = new_log_group(
            self,
            "DefaultSecurityGroupLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            encryption_key=key,
        )
        handler.add_property_override("LoggingConfig", {"LogGroup": group.log_group_name})
        done.add(handler.node.path)

    @property
    def endpoint_subnets(self) -> ec2.SubnetSelection:
        """One subnet per AZ in the endpoints tier (interface endpoints, load balancer)."""
        return ec2.SubnetSelection(subnet_group_name=ENDPOINTS, one_per_az=True)

    @property
    def workload_subnets(self) -> ec2.SubnetSelection:
        """One subnet per AZ in the workloads tier (functions, SageMaker instances)."""
        return ec2.SubnetSelection(subnet_group_name=WORKLOADS, one_per_az=True)

    @property
    def availability_zones(self) -> list[str]:
        """The AZs the VPC spans."""
        return list(self.vpc.availability_zones)
