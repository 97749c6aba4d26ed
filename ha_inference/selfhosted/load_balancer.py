"""An internal NLB before the SageMaker Runtime interface endpoint, in every AZ (GENREL05-BP01).

SageMaker endpoints are invoked through the SageMaker Runtime API, so the load balancer's targets
are the private IPs of the ``sagemaker.runtime`` interface endpoint's network interfaces, one per
AZ. The listener passes TLS through (TCP 443), so clients keep the standard hostname
``runtime.sagemaker.<region>.amazonaws.com``, its AWS certificate and SigV4 signing unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
import jsii
from aws_cdk import aws_arczonalshift as arczonalshift
from aws_cdk import aws_cloudwatch as cloudwatch
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
    DEPLOY_TIME_HANDLER,
    INLINE_POLICY,
    acknowledge,
    acknowledge_all,
)
from ha_inference._internal.names import warn_private_dns_takes_over
from ha_inference._internal.network import closed_interface_endpoint, closed_security_group
from ha_inference._internal.props import check_fields, checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import select_zonal_subnets
from ha_inference.compute.multi_az_function import PYTHON_RUNTIME
from ha_inference.compute.shipped import ShippedHandler, handler_code
from ha_inference.regions import check_region_name

HTTPS = 443
UNHEALTHY_CONNECTION_TERMINATION = "target_health_state.unhealthy.connection_termination.enabled"
"""Must be ``false`` on every target group of a cross-zone NLB with zonal shift ("Enable zonal
shift for your Network Load Balancer"); the API default is ``true``."""


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

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class TargetHealthAlarms:
    """The alarms :meth:`SageMakerRuntimeLoadBalancer.add_target_health_alarms` creates."""

    below_azs: cloudwatch.Alarm
    """Fewer healthy targets than AZs: some AZ's endpoint interface is down (degraded)."""
    none_healthy: cloudwatch.Alarm
    """No healthy target: the Region's self-hosted model cannot be reached (fail over)."""


@dataclass(frozen=True)
class ZonalAutoshiftOptions:
    """Zonal autoshift for the load balancer: AWS shifts its traffic away from an AZ that AWS
    finds impaired, and practises that shift weekly (Amazon Application Recovery Controller).

    :param outcome_alarms: alarms that watch the application during practice runs; ARC ends a
        practice run early and marks it failed when the outcome alarm goes into ALARM. Pass
        alarms that move when the load balancer's callers are hurt and stay quiet without
        traffic (a practice run at a quiet hour must not fail for want of data), e.g. the
        SageMaker endpoint's 5XX and latency alarms from
        :meth:`MultiAzSageMakerEndpoint.add_alarms`. The shift moves only the load balancer's
        own traffic and no instance: alarms on callers that reach the endpoint another way
        (private DNS in the load balancer's VPC), or on the instance count, judge nothing the
        shift did (the instance alarm fits ``blocking_alarms``). ARC takes one
        outcome alarm: with several, the construct combines them into a composite alarm that is
        in ALARM when any of them is.
    :param blocking_alarms: alarms that keep practice runs from starting (or stop one) while in
        ALARM, e.g. a deployment in progress. Combined like ``outcome_alarms``. Default: none.
    :param blocked_dates: ``YYYY-MM-DD`` days without practice runs (at most 15). Default: none.
    :param blocked_windows: ``Mon:HH:MM-Mon:HH:MM`` weekly windows (UTC) without practice runs
        (at most 15). Default: none.
    """

    outcome_alarms: Sequence[cloudwatch.IAlarm]
    blocking_alarms: Sequence[cloudwatch.IAlarm] = field(default_factory=tuple)
    blocked_dates: Sequence[str] = field(default_factory=tuple)
    blocked_windows: Sequence[str] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        check_fields(self)


@jsii.implements(ec2.IConnectable)
class SageMakerRuntimeLoadBalancer(Construct):
    """An internal Network Load Balancer in every selected AZ whose targets are the network
    interfaces of a ``sagemaker.runtime`` interface endpoint in the same AZs.

    Resources: ``Resource`` (the NLB, with its ``Listener`` on TCP 443), ``Endpoint`` (interface
    endpoint), ``EndpointSecurityGroup``, ``SecurityGroup`` (the NLB's), ``ToEndpoint`` (its only
    egress rule), ``Targets`` (IP target group),
    ``EndpointTargets`` (``Registration``, the custom resource that registers the interface
    IPs, with its ``Handler`` function, ``Role``, ``Logs`` and the provider framework
    ``Provider``), and optionally ``EndpointService``, ``PrivateHostedZone`` and
    ``ZonalAutoshift`` (with ``PracticeRunOutcome`` and ``PracticeRunBlocking`` composite alarms
    when several alarms are given).

    * the interface endpoint and the load balancer in exactly the selected subnets, one per AZ;
      cross-zone load balancing on (a healthy target in any AZ serves every AZ); the endpoint's
      security group admits HTTPS only from the load balancer and the callers you allow, and its
      policy allows only principals of this account (``aws:PrincipalAccount``) to invoke only
      SageMaker endpoints of this account and Region;
    * ``connections`` holds both security groups: ``connections.allow_default_port_from(peer)``
      admits a caller on both paths, the load balancer (callers in other VPCs, through the
      endpoint service or the private hosted zone) and the endpoint's own interfaces, which
      the runtime hostname resolves to inside ``vpc`` when private DNS is on;
    * zonal shift moves the load balancer's traffic away from one AZ in one action (``aws
      arc-zonal-shift start-zonal-shift``): its address there leaves DNS and its targets there
      get no new connections. A shift moves only what comes through this load balancer: callers
      in ``vpc`` reach the endpoint's own interfaces and never pass it, and its targets are
      those interfaces, not SageMaker instances (SageMaker keeps balancing over the instances
      in every AZ). As zonal shift on a cross-zone NLB requires, the target group keeps
      connections to unhealthy targets open until they close;
    * a deploy-time custom resource registers the endpoint's interface IPs; each instance
      records what it registered as a tag on the target group and removes only what no other
      instance claims, so replacements and failed creates never empty the group; when the
      endpoint's subnets change, it registers the new IPs before it deregisters the stale ones;
    * failure detection: a target is unhealthy after ``health_check_interval`` x
      ``unhealthy_threshold_count`` (about 20 s with the defaults, :attr:`failure_detection_time`);
      cross-zone load balancing moves its share at once, and an AZ with no healthy target
      leaves the load balancer's DNS name (60-second TTL). A TCP check proves the endpoint
      interface accepts connections, not that the model answers: watch the endpoint's metrics.
    """

    @checked_props
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
        zonal_shift: bool = True,
        zonal_autoshift: ZonalAutoshiftOptions | None = None,
        client_routing_policy: elbv2.ClientRoutingPolicy | None = None,
        target_group_health: elbv2.TargetGroupHealth | None = None,
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
        :param zonal_shift: whether ARC zonal shift may move traffic away from an AZ
            (``zonal_shift.config.enabled``). Default: ``True``. Turning it off also lets the
            target group reset connections to unhealthy targets again (the API default).
        :param zonal_autoshift: let AWS shift traffic away from an AZ it finds impaired, with
            weekly practice runs judged by your alarms (needs ``zonal_shift``). Default: off:
            shifts happen only when someone starts one. Practice runs shift real traffic for
            about 30 minutes a week; the capacity left in the other AZs must carry it.
        :param client_routing_policy: how the load balancer's DNS name spreads clients over its
            AZs (``dns_record.client_routing_policy``). ``AVAILABILITY_ZONE_AFFINITY`` (100 %)
            and ``PARTIAL_AVAILABILITY_ZONE_AFFINITY`` (85 %) keep Route 53 Resolver clients on
            the address in their own AZ: less cross-AZ latency and data-transfer cost, but an AZ
            with many clients concentrates them on its load balancer node, and clients that do
            not resolve through Route 53 Resolver get no affinity. Default: the AWS default,
            ``ANY_AVAILABILITY_ZONE``: every healthy AZ's address, so clients spread evenly.
        :param target_group_health: minimum healthy targets (count or percentage, ``0`` = off)
            below which the load balancer fails DNS over (marks the zone unhealthy) or routes to
            all targets including unhealthy ones (routing failover). The targets are the
            interface endpoint's addresses, one per AZ; with cross-zone load balancing (the
            default here) the thresholds apply to all of them together, so they choose between
            serving from the healthy ones and failing open, not which AZ to leave (zonal shift
            does that). A DNS threshold must be at least the routing one, and a count at most the
            number of AZs. Default: the AWS defaults (1 healthy target for both, percentages off).
        """
        super().__init__(scope, construct_id)
        interval = health_check_interval or cdk.Duration.seconds(10)
        timeout = health_check_timeout or cdk.Duration.seconds(5)
        _check_health_check(interval, timeout, healthy_threshold_count, unhealthy_threshold_count)
        _check_zonal_shift(zonal_shift, zonal_autoshift, client_routing_policy)
        if endpoint_service is not None:
            _check_endpoint_service(endpoint_service)
        if endpoint_arns is not None and not endpoint_arns:
            raise ValueError(
                "endpoint_arns must name at least one SageMaker endpoint ARN, got none; leave it "
                "out to allow invoking every endpoint of this account and Region"
            )
        zonal = select_zonal_subnets("vpc_subnets", vpc, vpc_subnets, scope=self)
        if target_group_health is not None:
            _check_target_group_health(target_group_health, len(zonal.subnets))
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
            warn_private_dns_takes_over(self, vpc, ["sagemaker.runtime"])
        self.vpc_endpoint = closed_interface_endpoint(
            self,
            "Endpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME,
            short_name="sagemaker.runtime",
            subnets=zonal.selection,
            security_group=self.endpoint_security_group,
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
                # Principals of this account only, as on the Bedrock endpoints: the interface
                # endpoint does not carry another account's calls to SageMaker.
                conditions={"StringEquals": {"aws:PrincipalAccount": cdk.Stack.of(self).account}},
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
            zonal_shift=zonal_shift,
            client_routing_policy=client_routing_policy,
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
        self._connections = ec2.Connections(
            security_groups=[self.security_group, self.endpoint_security_group],
            default_port=ec2.Port.tcp(HTTPS),
        )

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
            target_group_health=target_group_health,
        )
        self.zonal_shift = zonal_shift
        self.zonal_autoshift: arczonalshift.CfnZonalAutoshiftConfiguration | None = None
        if zonal_shift:
            self._keep_connections_to_unhealthy_targets()
        if zonal_autoshift is not None:
            self.enable_zonal_autoshift(zonal_autoshift)
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

    def _keep_connections_to_unhealthy_targets(self) -> None:
        """Zonal shift on a cross-zone NLB needs every target group to keep connections to
        unhealthy targets and to follow the load balancer's cross-zone setting (the default of
        ``NetworkTargetGroup``, which writes no ``load_balancing.cross_zone.enabled``)."""
        self.target_group.set_attribute(UNHEALTHY_CONNECTION_TERMINATION, "false")

    def enable_zonal_autoshift(
        self, options: ZonalAutoshiftOptions
    ) -> arczonalshift.CfnZonalAutoshiftConfiguration:
        """Turns zonal autoshift on after construction (what ``zonal_autoshift`` does), e.g.
        once the alarms that judge practice runs exist. Once per load balancer."""
        if self.zonal_autoshift is not None:
            raise ValueError(
                f"zonal autoshift is already enabled on {self.node.path}; configure it once, "
                "with every outcome alarm"
            )
        _check_zonal_shift(self.zonal_shift, options, None)
        self.zonal_autoshift = self._create_zonal_autoshift(options)
        return self.zonal_autoshift

    def _create_zonal_autoshift(
        self, options: ZonalAutoshiftOptions
    ) -> arczonalshift.CfnZonalAutoshiftConfiguration:
        """Autoshift with weekly practice runs; one outcome (and blocking) alarm, as ARC takes."""
        outcome = _one_alarm(self, "PracticeRunOutcome", options.outcome_alarms, "practice runs")
        blocking = (
            _one_alarm(
                self, "PracticeRunBlocking", options.blocking_alarms, "blocking practice runs"
            )
            if options.blocking_alarms
            else None
        )
        return arczonalshift.CfnZonalAutoshiftConfiguration(
            self,
            "ZonalAutoshift",
            resource_identifier=self.load_balancer.load_balancer_arn,
            zonal_autoshift_status="ENABLED",
            practice_run_configuration=arczonalshift.CfnZonalAutoshiftConfiguration.PracticeRunConfigurationProperty(
                outcome_alarms=[_control_condition(outcome)],
                blocking_alarms=None if blocking is None else [_control_condition(blocking)],
                blocked_dates=list(options.blocked_dates) or None,
                blocked_windows=list(options.blocked_windows) or None,
            ),
        )

    def metric_healthy_host_count(
        self, *, availability_zone: str | None = None, statistic: str = "Minimum"
    ) -> cloudwatch.Metric:
        """``HealthyHostCount`` of the target group (``AWS/NetworkELB``), in one AZ when
        ``availability_zone`` is given (dimension ``AvailabilityZone``). Default: the minimum
        over one minute."""
        return self._target_metric("HealthyHostCount", availability_zone, statistic)

    def metric_unhealthy_host_count(
        self, *, availability_zone: str | None = None, statistic: str = "Maximum"
    ) -> cloudwatch.Metric:
        """``UnHealthyHostCount`` of the target group, in one AZ when ``availability_zone`` is
        given. Default: the maximum over one minute."""
        return self._target_metric("UnHealthyHostCount", availability_zone, statistic)

    def _target_metric(
        self, metric_name: str, availability_zone: str | None, statistic: str
    ) -> cloudwatch.Metric:
        dimensions = {
            "LoadBalancer": self.load_balancer.load_balancer_full_name,
            "TargetGroup": self.target_group.target_group_full_name,
        }
        if availability_zone is not None:
            dimensions["AvailabilityZone"] = availability_zone
        return cloudwatch.Metric(
            namespace="AWS/NetworkELB",
            metric_name=metric_name,
            dimensions_map=dimensions,
            statistic=statistic,
            period=cdk.Duration.minutes(1),
            label=availability_zone,
        )

    @property
    def connections(self) -> ec2.Connections:
        """The load balancer's and the interface endpoint's security groups, default port 443:
        ``connections.allow_default_port_from(peer)`` admits a caller on whichever path its
        DNS resolves to (inside ``vpc`` the runtime hostname names the endpoint's interfaces).
        A property, so that aws-cdk-lib can read it through jsii when the balancer is passed as
        an ``IConnectable`` (``fn.connections.allow_to_default_port(balancer)``)."""
        return self._connections

    @property
    def runtime_hostname(self) -> str:
        """``runtime.sagemaker.<region>.amazonaws.com``, the name clients keep using."""
        return f"runtime.sagemaker.{cdk.Stack.of(self).region}.amazonaws.com"

    def add_target_health_alarms(self, *, evaluation_periods: int = 2) -> TargetHealthAlarms:
        """Adds two alarms (without actions; add yours) on the healthy targets:

        * ``HealthyTargetsBelowAzsAlarm``: fewer healthy targets than AZs for
          ``evaluation_periods`` minutes (an AZ's endpoint interface fails its health checks);
        * ``NoHealthyTargetsAlarm``: no healthy target for one minute: nothing in this Region
          reaches the model through the load balancer, so callers in other Regions fail over.

        Missing data counts as breaching: the load balancer reports the metric while targets
        are registered, so no data means the targets are gone.
        """
        if self.node.try_find_child("NoHealthyTargetsAlarm") is not None:
            raise ValueError(
                f"add_target_health_alarms was already called on {self.node.path}; call it "
                "once and keep the returned alarms"
            )
        if evaluation_periods < 1:
            raise ValueError(
                f"evaluation_periods must be at least 1 minute, got {evaluation_periods}"
            )
        azs = len(self.availability_zones)
        below = self.metric_healthy_host_count().create_alarm(
            self,
            "HealthyTargetsBelowAzsAlarm",
            alarm_description=(
                f"SageMaker Runtime load balancer {self.node.path}: fewer healthy targets than "
                f"its {azs} Availability Zones"
            ),
            threshold=azs,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        none = self.metric_healthy_host_count().create_alarm(
            self,
            "NoHealthyTargetsAlarm",
            alarm_description=(
                f"SageMaker Runtime load balancer {self.node.path}: no healthy target, the "
                "self-hosted model is unreachable in this Region"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        return TargetHealthAlarms(below_azs=below, none_healthy=none)

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
        describe_reason = (
            f"{', '.join(describe_actions)} support no resource-level permissions (Service "
            "Authorization Reference), so they need '*'; all are read-only. Registering and "
            "deregistering targets and writing the claim tags is limited to this construct's "
            "target group."
        )
        # The same '*' as Serverless' LambdaStarPermissions sees it (an inline policy of a
        # Lambda role with Resource "*").
        acknowledge_all(
            role,
            {
                "AwsSolutions-IAM5[Resource::*]": describe_reason,
                "Serverless-LambdaStarPermissions": describe_reason,
            },
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
            DEPLOY_TIME_HANDLER,
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
    if is_unresolved(seconds):
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


_BLOCKED_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_BLOCKED_WINDOW = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun):[0-9]{2}:[0-9]{2}-(Mon|Tue|Wed|Thu|Fri|Sat|Sun):[0-9]{2}:[0-9]{2}$"
)
_MAX_BLOCKED = 15
"""``BlockedDates`` and ``BlockedWindows`` hold at most 15 entries each (registry schema)."""


def _check_zonal_shift(
    zonal_shift: bool,
    autoshift: ZonalAutoshiftOptions | None,
    client_routing_policy: elbv2.ClientRoutingPolicy | None,
) -> None:
    if client_routing_policy is not None and not isinstance(
        client_routing_policy, elbv2.ClientRoutingPolicy
    ):
        raise TypeError(
            f"client_routing_policy must be an elbv2.ClientRoutingPolicy, got "
            f"{client_routing_policy!r}; pass e.g. elbv2.ClientRoutingPolicy."
            "PARTIAL_AVAILABILITY_ZONE_AFFINITY, or leave it out for any AZ"
        )
    if autoshift is None:
        return
    if not zonal_shift:
        raise ValueError(
            "zonal_autoshift needs zonal_shift=True, got zonal_shift=False; ARC can shift (and "
            "autoshift) only a load balancer with zonal shift on: turn zonal_shift on or leave "
            "zonal_autoshift out"
        )
    if not autoshift.outcome_alarms:
        raise ValueError(
            "zonal_autoshift.outcome_alarms must name at least one alarm, got none; ARC needs an "
            "outcome alarm to judge practice runs: pass the alarms of the service behind the "
            "load balancer, e.g. MultiAzSageMakerEndpoint.add_alarms()"
        )
    for prop, values, pattern, example in (
        ("blocked_dates", autoshift.blocked_dates, _BLOCKED_DATE, "2026-12-24"),
        ("blocked_windows", autoshift.blocked_windows, _BLOCKED_WINDOW, "Mon:09:00-Mon:17:00"),
    ):
        if len(values) > _MAX_BLOCKED:
            raise ValueError(
                f"zonal_autoshift.{prop} may hold at most {_MAX_BLOCKED} entries, got "
                f"{len(values)}; keep the most important ones"
            )
        for value in values:
            if not pattern.match(value):
                raise ValueError(
                    f"zonal_autoshift.{prop} entries must look like {example!r}, got "
                    f"{value!r}; fix the entry"
                )


def _check_target_group_health(health: elbv2.TargetGroupHealth, targets: int) -> None:
    """The thresholds the API accepts, ordered as ELB requires, and reachable with ``targets``."""
    values = {
        "dns_minimum_healthy_target_count": health.dns_minimum_healthy_target_count,
        "dns_minimum_healthy_target_percentage": health.dns_minimum_healthy_target_percentage,
        "routing_minimum_healthy_target_count": health.routing_minimum_healthy_target_count,
        "routing_minimum_healthy_target_percentage": (
            health.routing_minimum_healthy_target_percentage
        ),
    }
    for prop, value in values.items():
        if value is None:
            continue
        lowest = 1 if prop == "routing_minimum_healthy_target_count" else 0
        highest = 100 if prop.endswith("percentage") else targets
        if value != int(value) or not lowest <= value <= highest:
            what = (
                "a percentage from 1 to 100, or 0 for off"
                if prop.endswith("percentage")
                else f"a number of targets from {lowest} to {targets} (one interface endpoint "
                "address per AZ)" + (", or 0 for off" if lowest == 0 else "")
            )
            raise ValueError(
                f"target_group_health.{prop} must be {what}, got {value}; a threshold above the "
                "number of targets could never be met, so every zone would count as unhealthy"
            )
    for kind in ("count", "percentage"):
        dns = values[f"dns_minimum_healthy_target_{kind}"]
        routing = values[f"routing_minimum_healthy_target_{kind}"]
        if dns is not None and routing is not None and dns != 0 and dns < routing:
            raise ValueError(
                f"target_group_health.dns_minimum_healthy_target_{kind} must be at least "
                f"routing_minimum_healthy_target_{kind} ({routing}), got {dns}; Elastic Load "
                "Balancing requires DNS failover to happen with or before routing failover "
                "(Target group health): raise the DNS threshold or lower the routing one"
            )


def _one_alarm(
    scope: Construct, construct_id: str, alarms: Sequence[cloudwatch.IAlarm], purpose: str
) -> cloudwatch.IAlarm:
    """The single alarm ARC takes: the alarm itself, or a composite of several (any of them)."""
    if len(alarms) == 1:
        return alarms[0]
    return cloudwatch.CompositeAlarm(
        scope,
        construct_id,
        alarm_rule=cloudwatch.AlarmRule.any_of(*alarms),
        alarm_description=f"In ALARM when any alarm given for {purpose} is",
    )


def _control_condition(
    alarm: cloudwatch.IAlarm,
) -> arczonalshift.CfnZonalAutoshiftConfiguration.ControlConditionProperty:
    return arczonalshift.CfnZonalAutoshiftConfiguration.ControlConditionProperty(
        alarm_identifier=alarm.alarm_arn, type="CLOUDWATCH"
    )


def _check_endpoint_service(options: EndpointServiceOptions) -> None:
    if not options.allowed_principals:
        raise ValueError(
            "endpoint_service.allowed_principals must name at least one principal (an account, "
            "role or user ARN as iam.ArnPrincipal), got none; nobody could connect otherwise"
        )
    for region in options.allowed_regions:
        check_region_name("endpoint_service.allowed_regions", region)
