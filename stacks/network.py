"""The reference app's VPC: one subnet per configured AZ in each tier, private by default."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ha_inference._internal.logs import new_log_group
from ha_inference._internal.nag import INLINE_POLICY, acknowledge

ENDPOINTS = "endpoints"
WORKLOADS = "workloads"


class Network(Construct):
    """A VPC spanning every given AZ, with an ``endpoints`` and a ``workloads`` subnet in each.

    Default settings:

    * no internet gateway and no NAT gateway: both tiers are isolated and reach AWS services
      only through VPC endpoints (an S3 gateway endpoint is always added, it is free);
    * with ``nat_gateways`` > 0, a small public tier for the NAT gateways and workloads that
      egress through them; nothing is exposed inbound either way;
    * the default security group has no rules (``restrict_default_security_group``);
    * VPC flow logs of all traffic to a CloudWatch Logs group kept for one year (encrypted with
      ``log_encryption_key`` when given).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        availability_zones: Sequence[str],
        cidr: str = "10.0.0.0/16",
        nat_gateways: int = 0,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        subnets = [
            ec2.SubnetConfiguration(
                name=ENDPOINTS, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            ),
            ec2.SubnetConfiguration(
                name=WORKLOADS,
                subnet_type=(
                    ec2.SubnetType.PRIVATE_WITH_EGRESS
                    if nat_gateways
                    else ec2.SubnetType.PRIVATE_ISOLATED
                ),
                cidr_mask=22,
            ),
        ]
        if nat_gateways:
            subnets.append(
                ec2.SubnetConfiguration(
                    name="egress",
                    subnet_type=ec2.SubnetType.PUBLIC,
                    cidr_mask=26,
                    map_public_ip_on_launch=False,
                )
            )
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=list(availability_zones),
            subnet_configuration=subnets,
            nat_gateways=nat_gateways,
            restrict_default_security_group=True,
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
            },
        )
        cdk.Validations.of(self.vpc).acknowledge(
            cdk.Acknowledgment(
                id="CloudFormation-Validate::W3010",
                reason=(
                    "The subnets name their AZs on purpose: the AZs come from the app's "
                    "configuration (ha-inference:availability-zones) so that synth is offline, "
                    "deterministic and uses every configured AZ; Fn::GetAZs would pick AZs for us."
                ),
            )
        )
        self.flow_log_group = new_log_group(
            self, "FlowLogs", retention=flow_log_retention, encryption_key=log_encryption_key
        )
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"),
            description="Lets VPC flow logs write to the flow log group of this VPC",
        )
        acknowledge(flow_log_role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, flow_log_role
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    @property
    def endpoint_subnets(self) -> ec2.SubnetSelection:
        """One subnet per AZ in the endpoints tier (interface endpoints, NLB)."""
        return ec2.SubnetSelection(subnet_group_name=ENDPOINTS, one_per_az=True)

    @property
    def workload_subnets(self) -> ec2.SubnetSelection:
        """One subnet per AZ in the workloads tier (functions, SageMaker instances)."""
        return ec2.SubnetSelection(subnet_group_name=WORKLOADS, one_per_az=True)
