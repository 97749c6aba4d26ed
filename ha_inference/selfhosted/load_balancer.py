"""An internal NLB before the SageMaker Runtime interface endpoint, in every AZ (GENREL05-BP01).

SageMaker endpoints are invoked through the SageMaker Runtime API, so the load balancer's targets
are the private IPs of the ``sagemaker.runtime`` interface endpoint's network interfaces, one per
AZ. The listener passes TLS through (TCP 443), so clients keep the standard hostname
``runtime.sagemaker.<region>.amazonaws.com``, its AWS certificate and SigV4 signing unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from constructs import Construct

from ha_inference._internal.custom_resource import HandlerProvider
from ha_inference._internal.logs import new_log_group
from ha_inference._internal.nag import (
    CONTROL_PLANE_FUNCTION,
    INLINE_POLICY,
    acknowledge,
    acknowledge_all,
)
from ha_inference._internal.names import claim_private_dns, warn_private_dns_takes_over
from ha_inference._internal.network import closed_security_group
from ha_inference._internal.validation import select_zonal_subnets
from ha_inference.compute.multi_az_function import PYTHON_RUNTIME
from ha_inference.compute.shipped import ShippedHandler, handler_code
from ha_inference.regions import check_region_name

HTTPS = 443


@dataclass(frozen=True)
class EndpointServiceOptions:
    """A PrivateLink endpoint service on the load balancer, for consumers in other VPCs, accounts
    or Regions.

    :param allowed_principals: who may create endpoints to the service (accounts, roles, users).
    :param acceptance_required: whether each connection must be accepted. Default: ``True``.
    :param allowed_regions: Regions other than the stack's from which consumers may connect
        (cross-Region PrivateLink). Default: none, the stack's Region only.
    """

    allowed_principals: Sequence[iam.ArnPrincipal]
    acceptance_required: bool = True
    allowed_regions: Sequence[str] = field(default_factory=tuple)


@jsii.implements(ec2.IConnectable)
class SageMakerRuntimeLoadBalancer(Construct):
    """An internal Network Load Balancer in every selected AZ whose targets are the network
    interfaces of a ``sagemaker.runtime`` interface endpoint in the same AZs.

    Resources: ``Resource`` (the NLB, with its ``Listener`` on TCP 443), ``Endpoint`` (interface
    endpoint), ``EndpointSecurityGroup``, ``SecurityGroup`` (the NLB's), ``ToEndpoint`` (its only
    egress rule), ``Targets`` (IP target group),
    ``EndpointTargets`` (``Registration``, the custom resource that registers the interface
    IPs, with its ``Handler`` function, ``Role``, ``Logs`` and the provider framework
    ``Provider``), and optionally ``EndpointService`` and ``PrivateHostedZone``.

    Default settings:

    * one subnet in every AZ of the VPC's private subnets (at least two AZs, never two subnets in
      one AZ); the interface endpoint and the load balancer use exactly these subnets;
    * the interface endpoint has an ENI in every selected AZ, private DNS on, its own security
      group that admits HTTPS only from the load balancer's security group (``open=False``), and
      an endpoint policy that allows only invoking SageMaker endpoints of this account and Region
      (callers still need their own IAM permission, e.g. ``grant_invoke``);
    * the load balancer is internal, with cross-zone load balancing on (a healthy target in any AZ
      serves every AZ) and deletion protection off (so a failed deploy rolls back and the stack
      can be destroyed); it has a security group with no inbound rules;
    * ``connections`` holds both the load balancer's and the interface endpoint's security
      groups: ``connections.allow_default_port_from(peer)`` admits a caller on both paths, the
      load balancer (callers in other VPCs, through the endpoint service or the private hosted
      zone) and the endpoint's own interfaces, which the runtime hostname resolves to inside
      ``vpc`` when private DNS is on (every SDK call from this VPC);
    * a TCP 443 listener passing TLS through to an IP target group on TCP 443;
    * explicit TCP health checks every 10 seconds, 5 seconds timeout, healthy after 3 and
      unhealthy after 2 consecutive results;
    * a deploy-time custom resource through aws-cdk-lib's provider framework (a Python 3.14 arm64
      function outside the VPC, logs kept one year) resolves the endpoint's interface IPs and
      registers them; each instance records what it registered as a tag on the target group and
      removes only what no other instance claims, so replacements and failed creates never
      empty the group; when the endpoint's subnets change, it registers the new IPs before it
      deregisters the stale ones;
    * no PrivateLink endpoint service and no private hosted zone unless asked for.

    Failure detection: a target is marked unhealthy after ``health_check_interval`` x
    ``unhealthy_threshold_count`` (10 s x 2 = about 20 s with the defaults; see
    :attr:`failure_detection_time`). Cross-zone load balancing then moves that AZ's share to the
    healthy targets at once; when a whole AZ has no healthy target, the NLB also removes that
    AZ's address from its DNS name, which clients notice after the 60-second DNS TTL. A TCP check
    proves the endpoint interface accepts connections, not that the SageMaker model answers:
    watch the endpoint's own metrics for that.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        vpc_subnets: ec2.SubnetSelection | None = None,
        private_dns_enabled: bool = True,
        deletion_protection: bool = False,
        health_check_interval: cdk.Duration | None = None,
        health_check_timeout: cdk.Duration | None = None,
        healthy_threshold_count: int = 3,
        unhealthy_threshold_count: int = 2,
        endpoint_arns: Sequence[str] | None = None,
        endpoint_service: EndpointServiceOptions | None = None,
        private_hosted_zone_vpcs: Sequence[ec2.IVpc] = (),
        handler_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param vpc: the VPC of the interface endpoint and the load balancer.
        :param vpc_subnets: where both go. Default: one subnet in every AZ of the VPC's private
            subnets.
        :param private_dns_enabled: whether the interface endpoint answers the standard runtime
            hostname inside ``vpc``, for every caller there. Default: ``True``. A VPC takes one
            private-DNS endpoint per service: when ``vpc`` already has a ``sagemaker.runtime``
            endpoint with private DNS, pass ``False``; callers in ``vpc`` keep using theirs and
            the load balancer serves other VPCs through this one.
        :param deletion_protection: whether the load balancer refuses deletion. Default:
            ``False``: with it on, a failed first deploy cannot roll the load balancer back
            (ROLLBACK_FAILED) and ``cdk destroy`` fails until a deploy turns it off again. Turn
            it on for production stacks whose removal goes through a change process.
        :param health_check_interval: 5-300 seconds. Default: 10 seconds.
        :param health_check_timeout: 2-120 seconds and at most the interval. Default: 5 seconds.
        :param healthy_threshold_count: 2-10. Default: 3.
        :param unhealthy_threshold_count: 2-10. Default: 2.
        :param endpoint_arns: the SageMaker endpoints that may be invoked through the interface
            endpoint (its endpoint policy). Default: every endpoint of this account in this
            Region, and only the invoke actions.
        :param endpoint_service: a PrivateLink endpoint service on the load balancer. Default: none.
        :param private_hosted_zone_vpcs: consumer VPCs (peered or attached to a transit gateway)
            in which ``runtime.sagemaker.<region>.amazonaws.com`` should resolve to the load
            balancer, through a private hosted zone. Default: none.
        :param handler_log_retention: how long the custom resource's logs are kept. Default: one
            year.
        :param log_encryption_key: key for the custom resource's log group. Default: none,
            CloudWatch Logs' own encryption.
        """
        super().__init__(scope, construct_id)
        interval = health_check_interval or cdk.Duration.seconds(10)
        timeout = health_check_timeout or cdk.Duration.seconds(5)
        _check_health_check(interval, timeout, healthy_threshold_count, unhealthy_threshold_count)
        if endpoint_service is not None:
            _check_endpoint_service(endpoint_service)
        if endpoint_arns is not None and not endpoint_arns:
            raise ValueError(
                "endpoint_arns must name at least one SageMaker endpoint ARN, got none; leave it "
                "out to allow invoking every endpoint of this account and Region"
            )
        zonal = select_zonal_subnets("vpc_subnets", vpc, vpc_subnets, scope=self)
        self._vpc = vpc
        self._private_dns_enabled = private_dns_enabled
        for consumer in private_hosted_zone_vpcs:
            self._check_consumer_vpc(consumer)

        self.availability_zones: tuple[str, ...] = zonal.availability_zones
        self.subnets = zonal.selection
        self.health_check_interval = interval
        self.unhealthy_threshold_count = unhealthy_threshold_count
        self.failure_detection_time = cdk.Duration.seconds(
            _seconds("health_check_interval", interval) * unhealthy_threshold_count
        )
        """About how long a failed target keeps receiving new connections: health-check interval
        x unhealthy threshold (10 s x 2 = about 20 s with the defaults). When a whole AZ has no
        healthy target, clients that resolved its address follow after the 60-second DNS TTL."""

        self.security_group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="SageMaker Runtime NLB: clients are added explicitly",
        )
        self.endpoint_security_group = closed_security_group(
            self,
            "EndpointSecurityGroup",
            vpc=vpc,
            description="SageMaker Runtime interface endpoint: HTTPS from its NLB and callers",
        )
        if private_dns_enabled:
            claim_private_dns(self, vpc, "sagemaker.runtime")
            warn_private_dns_takes_over(self, vpc, ["sagemaker.runtime"])
        self.vpc_endpoint = ec2.InterfaceVpcEndpoint(
            self,
            "Endpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
            subnets=zonal.selection,
            security_groups=[self.endpoint_security_group],
            open=False,
            private_dns_enabled=private_dns_enabled,
        )
        self.vpc_endpoint.add_to_policy(
            iam.PolicyStatement(
                sid="InvokeEndpoints",
                principals=[iam.AnyPrincipal()],
                actions=["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
                resources=list(endpoint_arns)
                if endpoint_arns
                else [
                    cdk.Stack.of(self).format_arn(
                        service="sagemaker", resource="endpoint", resource_name="*"
                    )
                ],
            )
        )
        self.endpoint_security_group.add_ingress_rule(
            self.security_group,
            ec2.Port.tcp(HTTPS),
            "TLS passthrough and health checks from the SageMaker Runtime NLB",
        )
        # Written as its own resource (the rule's logical id predates closed_security_group).
        ec2.CfnSecurityGroupEgress(
            self,
            "ToEndpoint",
            group_id=self.security_group.security_group_id,
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            destination_security_group_id=self.endpoint_security_group.security_group_id,
            description="TLS passthrough and health checks to the SageMaker Runtime endpoint",
        )

        self.load_balancer = elbv2.NetworkLoadBalancer(
            self,
            "Resource",
            vpc=vpc,
            vpc_subnets=zonal.selection,
            internet_facing=False,
            cross_zone_enabled=True,
            deletion_protection=deletion_protection,
            security_groups=[self.security_group],
            # Consumers behind an endpoint service are admitted by its allowed principals and
            # acceptance; their addresses are not known here.
            enforce_security_group_inbound_rules_on_private_link_traffic=(
                False if endpoint_service is not None else None
            ),
        )
        no_access_logs = (
            "The listener is TCP so that TLS passes through to the SageMaker Runtime endpoint "
            "with its AWS certificate; Network Load Balancer access logs are written only for "
            "TLS listeners, so there is nothing to log. VPC flow logs record the connections."
        )
        acknowledge(self.load_balancer, "AwsSolutions-ELB2", no_access_logs)
        acknowledge(self.load_balancer, "NIST.800.53.R5-ELBLoggingEnabled", no_access_logs)
        if not deletion_protection:
            acknowledge(
                self.load_balancer,
                "NIST.800.53.R5-ELBDeletionProtectionEnabled",
                "Off by default so that a failed first deploy rolls the load balancer back and "
                "the stack can be destroyed (with it on, CloudFormation ends in ROLLBACK_FAILED); "
                "it holds no data and is recreated by a deploy. deletion_protection=True turns "
                "it on for stacks whose removal goes through a change process.",
            )
        self.connections = ec2.Connections(
            security_groups=[self.security_group, self.endpoint_security_group],
            default_port=ec2.Port.tcp(HTTPS),
        )
        """The load balancer's and the interface endpoint's security groups, default port 443:
        ``connections.allow_default_port_from(peer)`` admits a caller on whichever path its
        DNS resolves to (inside ``vpc`` the runtime hostname names the endpoint's interfaces)."""

        self.target_group = elbv2.NetworkTargetGroup(
            self,
            "Targets",
            vpc=vpc,
            port=HTTPS,
            protocol=elbv2.Protocol.TCP,
            target_type=elbv2.TargetType.IP,
            health_check=elbv2.HealthCheck(
                enabled=True,
                protocol=elbv2.Protocol.TCP,
                port="traffic-port",
                interval=interval,
                timeout=timeout,
                healthy_threshold_count=healthy_threshold_count,
                unhealthy_threshold_count=unhealthy_threshold_count,
            ),
        )
        self.listener = self.load_balancer.add_listener(
            "Listener",
            port=HTTPS,
            protocol=elbv2.Protocol.TCP,
            default_target_groups=[self.target_group],
        )
        acknowledge(
            self.listener,
            "NIST.800.53.R5-ELBv2ACMCertificateRequired",
            "TLS passes through this TCP listener to the SageMaker Runtime endpoint, which "
            "presents AWS's certificate for runtime.sagemaker.<region>.amazonaws.com; a listener "
            "certificate would terminate TLS here and break that hostname and SigV4 signing.",
        )

        self.targets_resource = self._register_endpoint_targets(
            handler_log_retention, log_encryption_key
        )
        self.target_ips: str = self.targets_resource.get_att_string("Ips")
        """The registered IPs, comma-separated (resolved at deploy time)."""

        self.endpoint_service: ec2.VpcEndpointService | None = None
        if endpoint_service is not None:
            self.endpoint_service = ec2.VpcEndpointService(
                self,
                "EndpointService",
                vpc_endpoint_service_load_balancers=[self.load_balancer],
                acceptance_required=endpoint_service.acceptance_required,
                allowed_principals=list(endpoint_service.allowed_principals),
                allowed_regions=list(endpoint_service.allowed_regions) or None,
            )

        self.private_hosted_zone: route53.PrivateHostedZone | None = None
        for consumer in private_hosted_zone_vpcs:
            self.add_private_hosted_zone_vpc(consumer)

    @property
    def runtime_hostname(self) -> str:
        """``runtime.sagemaker.<region>.amazonaws.com``, the name clients keep using."""
        return f"runtime.sagemaker.{cdk.Stack.of(self).region}.amazonaws.com"

    def add_private_hosted_zone_vpc(self, vpc: ec2.IVpc) -> route53.PrivateHostedZone:
        """Makes the runtime hostname resolve to this load balancer in ``vpc``.

        The first call creates a private hosted zone for the runtime hostname with an alias A
        record to the load balancer; later calls associate more VPCs with it.
        ``vpc`` must reach the load balancer's subnets (peering or transit gateway) and must not
        have its own SageMaker Runtime interface endpoint with private DNS (Route 53 refuses two
        private zones for one name in a VPC).
        """
        self._check_consumer_vpc(vpc)
        if self.private_hosted_zone is None:
            self.private_hosted_zone = route53.PrivateHostedZone(
                self,
                "PrivateHostedZone",
                zone_name=self.runtime_hostname,
                vpc=vpc,
                comment="SageMaker Runtime through the multi-AZ NLB (ha-inference)",
            )
            route53.ARecord(
                self.private_hosted_zone,
                "Alias",
                zone=self.private_hosted_zone,
                target=route53.RecordTarget.from_alias(
                    route53_targets.LoadBalancerTarget(self.load_balancer)
                ),
            )
        else:
            self.private_hosted_zone.add_vpc(vpc)
        return self.private_hosted_zone

    def _check_consumer_vpc(self, vpc: ec2.IVpc) -> None:
        if self._private_dns_enabled and (vpc is self._vpc or vpc.vpc_id == self._vpc.vpc_id):
            raise ValueError(
                f"private_hosted_zone_vpcs includes the load balancer's own VPC "
                f"({vpc.node.path}), where the interface endpoint's private DNS already answers "
                "runtime.sagemaker.<region>.amazonaws.com; leave it out (clients there reach the "
                "endpoint directly) or set private_dns_enabled=False"
            )

    def _register_endpoint_targets(
        self, retention: logs.RetentionDays, log_key: kms.IKey | None
    ) -> cdk.CustomResource:
        """The custom resource that registers the endpoint's interface IPs, served through the
        provider framework (``HandlerProvider``), which answers CloudFormation on success, error
        and handler timeout. The handler function keeps its construct id so that the deploy that
        moves an existing stack to the framework updates it before CloudFormation sends the old
        resource's Delete to it; the resource itself is new (``Registration``), since
        CloudFormation does not let a custom resource change its ServiceToken."""
        # Read-only calls of the handler; none supports resource-level permissions.
        describe_actions = (
            "ec2:DescribeNetworkInterfaces",
            "elasticloadbalancing:DescribeTags",
            "elasticloadbalancing:DescribeTargetHealth",
        )
        holder = Construct(self, "EndpointTargets")
        log_group = new_log_group(holder, "Logs", retention=retention, encryption_key=log_key)
        group_arn = self.target_group.target_group_arn
        role = iam.Role(
            holder,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Registers the SageMaker Runtime endpoint's interface IPs as NLB targets",
            inline_policies={
                "RegisterTargets": iam.PolicyDocument(
                    statements=[
                        iam.PolicyStatement(
                            sid="Logs",
                            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                            resources=[log_group.log_group_arn],
                        ),
                        iam.PolicyStatement(
                            sid="Describe",
                            actions=list(describe_actions),
                            resources=["*"],
                        ),
                        iam.PolicyStatement(
                            sid="Targets",
                            actions=[
                                "elasticloadbalancing:RegisterTargets",
                                "elasticloadbalancing:DeregisterTargets",
                                "elasticloadbalancing:AddTags",
                                "elasticloadbalancing:RemoveTags",
                            ],
                            resources=[group_arn],
                        ),
                    ]
                )
            },
        )
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            f"{', '.join(describe_actions)} support no resource-level permissions (Service "
            "Authorization Reference), so they need '*'; all are read-only. Registering and "
            "deregistering targets and writing the claim tags is limited to this construct's "
            "target group.",
        )
        function = lambda_.Function(
            holder,
            "Handler",
            description="Registers the SageMaker Runtime endpoint's interface IPs as NLB targets",
            runtime=PYTHON_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=ShippedHandler.ENDPOINT_TARGETS.value,
            code=handler_code(),
            timeout=cdk.Duration.minutes(2),
            memory_size=256,
            role=role,
            log_group=log_group,
            # The handler's endpoint_targets.TARGET_GROUP_ENV: its construct's current group.
            environment={"TARGET_GROUP_ARN": group_arn},
        )
        acknowledge_all(
            function,
            CONTROL_PLANE_FUNCTION,
        )
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        provider = HandlerProvider(holder, "Provider", on_event=function, log_group=log_group)
        return cdk.CustomResource(
            holder,
            "Registration",
            service_token=provider.service_token,
            resource_type="Custom::SageMakerRuntimeTargets",
            service_timeout=cdk.Duration.minutes(5),
            properties={
                "NetworkInterfaceIds": self.vpc_endpoint.vpc_endpoint_network_interface_ids,
                "TargetGroupArn": group_arn,
                "Port": HTTPS,
            },
        )


def _seconds(prop: str, value: cdk.Duration) -> float:
    seconds = value.to_seconds(integral=False)
    if cdk.Token.is_unresolved(seconds):
        raise TypeError(
            f"{prop} must be a literal duration (the failure-detection time is computed from "
            "it), got a deploy-time token; pass e.g. cdk.Duration.seconds(10)"
        )
    if seconds != int(seconds):
        raise ValueError(
            f"{prop} must be a whole number of seconds, got {value.to_human_string()}; round it"
        )
    return seconds


def _check_health_check(
    interval: cdk.Duration, timeout: cdk.Duration, healthy: int, unhealthy: int
) -> None:
    interval_s = _seconds("health_check_interval", interval)
    timeout_s = _seconds("health_check_timeout", timeout)
    if not 5 <= interval_s <= 300:
        raise ValueError(
            f"health_check_interval must be between 5 and 300 seconds (the range Network Load "
            f"Balancers accept), got {interval_s:g} seconds; use e.g. cdk.Duration.seconds(10)"
        )
    if not 2 <= timeout_s <= 120:
        raise ValueError(
            f"health_check_timeout must be between 2 and 120 seconds (the range Network Load "
            f"Balancers accept), got {timeout_s:g} seconds; use e.g. cdk.Duration.seconds(5)"
        )
    if timeout_s > interval_s:
        raise ValueError(
            f"health_check_timeout must not be longer than health_check_interval "
            f"({interval_s:g} seconds), got {timeout_s:g} seconds; shorten the timeout or "
            "lengthen the interval"
        )
    for prop, count in (
        ("healthy_threshold_count", healthy),
        ("unhealthy_threshold_count", unhealthy),
    ):
        if not 2 <= count <= 10:
            raise ValueError(
                f"{prop} must be between 2 and 10 consecutive health checks (the range Network "
                f"Load Balancers accept), got {count}; use e.g. 2 for fast failure detection"
            )


def _check_endpoint_service(options: EndpointServiceOptions) -> None:
    if not options.allowed_principals:
        raise ValueError(
            "endpoint_service.allowed_principals must name at least one principal (an account, "
            "role or user ARN as iam.ArnPrincipal), got none; nobody could connect otherwise"
        )
    for region in options.allowed_regions:
        check_region_name("endpoint_service.allowed_regions", region)
