"""Private paths to the self-hosted model of other Regions, and a client that fails over to them.

GENREL05-BP01 step 5: "Consider using Amazon VPC Lattice, Amazon Transit Gateway, or other
cross-Region networking solutions to facilitate cross-region network traffic for model
inference." Bedrock routes across Regions by itself (inference profiles); a self-hosted model
does not, so each Region's callers need a private path to the other Regions' models and a client
that moves to another Region when theirs fails.

The path is cross-Region PrivateLink to the other Region's :class:`SageMakerRuntimeLoadBalancer`:

1. the provider Region's load balancer has a PrivateLink endpoint service that offers the
   consumer Regions (``SupportedRegions``) to the allowed principals;
   :meth:`RuntimeRoute.through` describes it for the consumers;
2. in the consumer Region, :class:`CrossRegionRuntimePaths` creates an interface endpoint with
   ``ServiceRegion`` = the provider Region in every AZ of the consumer VPC, and a private hosted
   zone that makes the provider Region's standard hostname
   ``runtime.sagemaker.<region>.amazonaws.com`` resolve to that endpoint inside the VPC;
3. TLS passes through the endpoint and the load balancer to the provider Region's
   ``sagemaker.runtime`` interface endpoint, so the AWS certificate for that hostname and SigV4
   signing for that Region work unchanged: a caller just builds a ``sagemaker-runtime`` client
   for the other Region (:class:`SageMakerFailoverFunction` does, with ``failover.py``).

The service's name. AWS names an endpoint service when it creates it
(``com.amazonaws.vpce.<region>.vpce-svc-<id>``), so the consumer's stack learns it at deploy
time: the route carries the service's id as a reference to the provider's stack, which
aws-cdk-lib renders as CloudFormation's ``Fn::GetStackOutput`` with the provider's Region when
the app sets ``@aws-cdk/core:defaultCrossStackReferences`` to ``weak`` (aws-cdk-lib's
recommended value; the reference app does). CloudFormation resolves it when it creates or
updates the consumer stack, and aws-cdk-lib makes the consumer stack deploy after the
provider's. A weak reference does not stop the provider's stack from changing or going away;
the endpoint service itself refuses deletion while endpoints are connected, so destroy consumers
first. With ``strong`` references, aws-cdk-lib needs ``crossRegionReferences=True`` on the
consumer stack and carries the value through SSM parameters it writes into the consumer's
Region (ExportWriter/ExportReader custom resources). The name is built in the consumer's
template from the provider Region and the id (never from ``AWS::Region``, which would name the
consumer's Region).

Why this path. Cross-Region PrivateLink connects one service, not two networks: the VPCs may
overlap (the reference app uses 10.0.0.0/16 in every Region), nothing needs routes, and traffic
flows only from consumer to provider, on 443, to a load balancer whose only targets are the
SageMaker Runtime endpoint's interfaces. Transit Gateway inter-Region peering needs disjoint
CIDRs, a gateway, an attachment per VPC, a peering attachment that the peer Region must accept
(CloudFormation has no resource to accept it) and static routes on both sides, and opens
network reachability between whole VPCs. VPC Lattice service networks are Regional: they do not
carry traffic between Regions. SageMaker Runtime itself is not one of the AWS services offered
over cross-Region PrivateLink, which is why the path ends at our own endpoint service.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import region_info
from constructs import Construct

from ha_inference._internal import sequences
from ha_inference._internal.nag import acknowledge
from ha_inference._internal.names import claim_name
from ha_inference._internal.network import closed_security_group
from ha_inference._internal.props import check_fields, checked_props
from ha_inference._internal.validation import concrete_region, select_zonal_subnets
from ha_inference.compute.multi_az_function import MultiAzFunction
from ha_inference.compute.shipped import ShippedHandler, handler_code
from ha_inference.metadata import mark_cross_region_paths, mark_published_runtime
from ha_inference.regions import check_region_name
from ha_inference.selfhosted.endpoint import MultiAzSageMakerEndpoint
from ha_inference.selfhosted.load_balancer import HTTPS, SageMakerRuntimeLoadBalancer

INVOKE_ACTIONS = ("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream")

NO_ENDPOINT_POLICY = (
    "The endpoint connects to a PrivateLink endpoint service of this app (a Network Load "
    "Balancer), not to an AWS service: PrivateLink allows full access through such endpoints "
    "and accepts no endpoint policy. Access is limited by the endpoint's security group (callers "
    "admitted one by one), the provider's allowed principals, IAM (sagemaker:InvokeEndpoint on "
    "the named endpoints only) and the provider Region's sagemaker.runtime endpoint policy."
)

_ACCOUNT = re.compile(r"^\d{12}$")
_ENDPOINT_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def runtime_hostname(region: str) -> str:
    """``runtime.sagemaker.<region>.<domain>``: the SageMaker Runtime hostname of ``region``."""
    suffix = region_info.RegionInfo.get(region).domain_suffix or "amazonaws.com"
    return f"runtime.sagemaker.{region}.{suffix}"


def endpoint_service_name_prefix(region: str) -> str:
    """``com.amazonaws.vpce`` (``cn.com.amazonaws.vpce`` in China): endpoint service names of
    ``region`` start with it, then the Region, then the service id."""
    prefix = region_info.RegionInfo.get(region).vpc_endpoint_service_name_prefix
    return prefix or "com.amazonaws.vpce"


@dataclass(frozen=True)
class RuntimeRoute:
    """One Region's self-hosted model as callers see it: where it is, and (for callers in other
    Regions) which endpoint service leads to it.

    Get one from :meth:`through` (a load balancer with an endpoint service, in this app) or
    :meth:`of` (the caller's own Region), or write one for a model deployed elsewhere with its
    ``service_name``.

    :param region: the Region that hosts the model.
    :param account: the account of the endpoint.
    :param endpoint_name: the SageMaker endpoint's name.
    :param service_id: the endpoint service's id (``vpce-svc-...``), typically a reference to
        the provider's stack (``VpcEndpointService.vpc_endpoint_service_id``). Default: none;
        a route to another Region needs ``service_id`` or ``service_name``.
    :param service_name: the endpoint service's full name
        (``com.amazonaws.vpce.<region>.vpce-svc-...``), for a service outside this app.
        Default: none; use ``service_id`` or ``service_name``.
    """

    region: str
    account: str
    endpoint_name: str
    service_id: str | None = None
    service_name: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        check_region_name("RuntimeRoute.region", self.region)
        if not isinstance(self.account, str) or not _ACCOUNT.match(self.account):
            raise ValueError(
                f"RuntimeRoute.account must be a 12-digit account id, got {self.account!r}; "
                "build the route in a stack with an explicit env (account and Region)"
            )
        if not _ENDPOINT_NAME.match(self.endpoint_name):
            raise ValueError(
                f"RuntimeRoute.endpoint_name must be a SageMaker endpoint name, got "
                f"{self.endpoint_name!r}"
            )
        if self.service_id is not None and self.service_name is not None:
            raise ValueError(
                "RuntimeRoute takes service_id or service_name, not both, got "
                f"{self.service_id!r} and {self.service_name!r}"
            )
        if (
            self.service_name is not None
            and not cdk.Token.is_unresolved(self.service_name)
            and not re.match(
                rf"^([a-z0-9-]+\.)+vpce\.{re.escape(self.region)}\.vpce-svc-[0-9a-f]+$",
                self.service_name,
            )
        ):
            raise ValueError(
                f"RuntimeRoute.service_name must be an endpoint service name of {self.region} "
                f"(com.amazonaws.vpce.{self.region}.vpce-svc-...), got {self.service_name!r}"
            )

    @classmethod
    def of(cls, endpoint: MultiAzSageMakerEndpoint) -> RuntimeRoute:
        """The route to ``endpoint`` in its own Region (no endpoint service: callers in that
        Region reach it through the Region's own ``sagemaker.runtime`` endpoint)."""
        stack = cdk.Stack.of(endpoint)
        return cls(
            region=concrete_region("RuntimeRoute.of(endpoint)", stack),
            account=_concrete_account("RuntimeRoute.of(endpoint)", stack),
            endpoint_name=endpoint.endpoint_name,
        )

    @classmethod
    def through(
        cls, load_balancer: SageMakerRuntimeLoadBalancer, *, endpoint: MultiAzSageMakerEndpoint
    ) -> RuntimeRoute:
        """The route to ``endpoint`` for callers in other Regions, through ``load_balancer``'s
        PrivateLink endpoint service, which must offer them (``allowed_regions``) and admit them
        (``allowed_principals``: for consumers in the same account, the roles that deploy the
        consumers' stacks, with ``acceptance_required=False``, since CloudFormation cannot accept
        a connection)."""
        stack = cdk.Stack.of(load_balancer)
        region = concrete_region("RuntimeRoute.through(load_balancer)", stack)
        service = load_balancer.endpoint_service
        if service is None:
            raise ValueError(
                f"load_balancer {load_balancer.node.path} has no endpoint service, so no other "
                "Region can reach it; pass endpoint_service=EndpointServiceOptions("
                "allowed_principals=[...], allowed_regions=[<consumer Regions>]) to it"
            )
        (cfn_service,) = (
            child for child in service.node.children if isinstance(child, ec2.CfnVPCEndpointService)
        )
        offered = stack.resolve(cfn_service.supported_regions) or []
        if not offered:
            raise ValueError(
                f"load_balancer {load_balancer.node.path}'s endpoint service offers no other "
                "Region (allowed_regions is empty), so consumers elsewhere cannot connect; list "
                "the consumer Regions in EndpointServiceOptions(allowed_regions=[...])"
            )
        endpoint_region = cdk.Stack.of(endpoint).region
        if endpoint_region != region:
            raise ValueError(
                f"endpoint {endpoint.node.path} is in {endpoint_region}, not in {region} where "
                "load_balancer is; route each Region's model through its own load balancer"
            )
        mark_published_runtime(
            service, {"endpointName": endpoint.endpoint_name, "offeredRegions": list(offered)}
        )
        return cls(
            region=region,
            account=_concrete_account("RuntimeRoute.through(load_balancer)", stack),
            endpoint_name=endpoint.endpoint_name,
            service_id=service.vpc_endpoint_service_id,
        )

    @property
    def hostname(self) -> str:
        return runtime_hostname(self.region)

    @property
    def published(self) -> bool:
        """Whether callers in other Regions can reach it (an endpoint service is known)."""
        return self.service_id is not None or self.service_name is not None

    def endpoint_service_name(self) -> str:
        """The endpoint service's name: ``service_name``, or built from the Region and
        ``service_id`` (in the consumer's template, so never from its ``AWS::Region``)."""
        if self.service_name is not None:
            return self.service_name
        if self.service_id is None:
            raise ValueError(f"the route to {self.region} names no endpoint service")
        return cdk.Fn.join(
            ".", [endpoint_service_name_prefix(self.region), self.region, self.service_id]
        )

    def endpoint_arn(self, scope: Construct) -> str:
        """The endpoint's ARN (SageMaker writes endpoint names in lower case in ARNs)."""
        return cdk.Stack.of(scope).format_arn(
            service="sagemaker",
            region=self.region,
            account=self.account,
            resource="endpoint",
            resource_name=self.endpoint_name.lower(),
        )


def _concrete_account(prop: str, stack: cdk.Stack) -> str:
    if cdk.Token.is_unresolved(stack.account):
        raise ValueError(
            f"{prop} needs a concrete account but stack {stack.node.path!r} is environment-"
            "agnostic; give the stack env=cdk.Environment(account=..., region=...)"
        )
    return stack.account


@jsii.implements(ec2.IConnectable)
class CrossRegionRuntimePaths(Construct):
    """Private paths from a VPC to the self-hosted models of other Regions, over cross-Region
    PrivateLink.

    Resources: ``SecurityGroup`` (of every endpoint here), and per route a child named after its
    Region with ``Endpoint`` (interface endpoint, ``ServiceRegion`` = that Region) and ``Zone``
    (private hosted zone ``runtime.sagemaker.<region>.amazonaws.com`` with its ``Alias`` A
    record to the endpoint).

    * one subnet in every selected AZ, the same for every endpoint: a caller in any AZ has a
      local interface to every other Region;
    * one security group for all the endpoints, with no rules: admit callers with
      ``connections.allow_default_port_from(caller)`` (or ``caller.connections.
      allow_to_default_port(paths.connections)`` from a stack that depends on this one);
    * no endpoint policy (PrivateLink accepts none for endpoint services that are not AWS
      services); who may call is decided by the security group and by IAM: ``grant_invoke``
      allows ``sagemaker:InvokeEndpoint`` on the routes' endpoints only.

    The service names come from the routes (see the module docstring: a route from
    :meth:`RuntimeRoute.through` in another stack becomes ``Fn::GetStackOutput`` on that stack,
    and this stack deploys after it).

    DNS and TLS: inside the VPC, ``runtime.sagemaker.<remote region>.amazonaws.com`` resolves to
    this VPC's interfaces of the endpoint to that Region; TLS passes through to that Region's
    SageMaker Runtime endpoint, whose certificate matches the hostname, and the request is signed
    for that Region. A ``sagemaker-runtime`` client for the remote Region works unchanged.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        routes: Sequence[RuntimeRoute],
        vpc_subnets: ec2.SubnetSelection | None = None,
    ) -> None:
        """
        :param vpc: the VPC of the callers.
        :param routes: the other Regions' models (:meth:`RuntimeRoute.through`).
        :param vpc_subnets: where the endpoints' interfaces go. Default: one subnet in every AZ
            of the VPC's private subnets.
        """
        super().__init__(scope, construct_id)
        region = concrete_region("CrossRegionRuntimePaths", cdk.Stack.of(self))
        self.routes: tuple[RuntimeRoute, ...] = _check_routes(self, routes, region, vpc)
        zonal = select_zonal_subnets("vpc_subnets", vpc, vpc_subnets, scope=self)
        self.availability_zones: tuple[str, ...] = zonal.availability_zones
        self.security_group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Cross-Region PrivateLink endpoints to self-hosted models: HTTPS from "
            "callers",
        )
        self._connections = ec2.Connections(
            security_groups=[self.security_group], default_port=ec2.Port.tcp(HTTPS)
        )
        self.endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        """The interface endpoint to each remote Region."""
        self.hosted_zones: dict[str, route53.PrivateHostedZone] = {}
        """The private hosted zone of each remote Region's runtime hostname."""
        for route in self.routes:
            self._add_path(vpc, zonal.selection, route)
        mark_cross_region_paths(self, {"regions": [route.region for route in self.routes]})

    @property
    def connections(self) -> ec2.Connections:
        """The endpoints' security group, default port 443."""
        return self._connections

    def _add_path(self, vpc: ec2.IVpc, subnets: ec2.SubnetSelection, route: RuntimeRoute) -> None:
        """The endpoint to one Region, and the zone that points its hostname at it."""
        holder = Construct(self, route.region)
        endpoint = ec2.InterfaceVpcEndpoint(
            holder,
            "Endpoint",
            vpc=vpc,
            service=ec2.InterfaceVpcEndpointService(route.endpoint_service_name(), HTTPS),
            service_region=route.region,
            subnets=subnets,
            security_groups=[self.security_group],
            open=False,
            private_dns_enabled=False,
        )
        acknowledge(endpoint, "HaInference-VPCE2[no-policy]", NO_ENDPOINT_POLICY)
        zone = route53.PrivateHostedZone(
            holder,
            "Zone",
            zone_name=route.hostname,
            vpc=vpc,
            comment=f"SageMaker Runtime of {route.region} over cross-Region PrivateLink "
            "(ha-inference)",
        )
        route53.ARecord(
            zone,
            "Alias",
            zone=zone,
            target=route53.RecordTarget.from_alias(
                route53_targets.InterfaceVpcEndpointTarget(endpoint)
            ),
        )
        self.endpoints[route.region] = endpoint
        self.hosted_zones[route.region] = zone

    def hostname(self, region: str) -> str:
        """The runtime hostname that resolves to the endpoint to ``region`` in the VPC."""
        if region not in self.endpoints:
            raise KeyError(f"no cross-Region path to {region}; paths: {', '.join(self.endpoints)}")
        return runtime_hostname(region)

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` invoke the routes' endpoints (also with response streaming), and
        nothing else. The caller also needs the network: ``connections``."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=list(INVOKE_ACTIONS),
            resource_arns=[route.endpoint_arn(self) for route in self.routes],
        )


def _check_routes(
    scope: Construct, routes: Sequence[RuntimeRoute], region: str, vpc: ec2.IVpc
) -> tuple[RuntimeRoute, ...]:
    if not routes:
        raise ValueError(
            "routes must name at least one other Region's model, got none; pass "
            "RuntimeRoute.through(load_balancer, endpoint=...) of the other Regions"
        )
    regions = [route.region for route in routes]
    repeated = sequences.repeated(regions)
    if repeated:
        raise ValueError(
            f"routes names {', '.join(repeated)} more than once, got {regions}; a VPC takes one "
            "path (one private hosted zone) per Region"
        )
    if region in regions:
        raise ValueError(
            f"routes includes this stack's own Region {region}, got {regions}; callers here "
            "reach their own Region's model through its sagemaker.runtime endpoint (or the "
            "load balancer), not over cross-Region PrivateLink: leave it out"
        )
    unpublished = [route.region for route in routes if not route.published]
    if unpublished:
        raise ValueError(
            f"routes to {', '.join(unpublished)} name no endpoint service (service_id or "
            "service_name), so no endpoint can connect to them; use RuntimeRoute.through("
            "load_balancer, endpoint=...)"
        )
    vpc_key = vpc.node.path if cdk.Token.is_unresolved(vpc.vpc_id) else vpc.vpc_id
    for route in routes:
        # Route 53 refuses two private zones for one name in one VPC.
        claim_name(scope, f"private hosted zone in VPC {vpc_key}", route.hostname, "routes")
    return tuple(routes)


@jsii.implements(ec2.IConnectable)
@jsii.implements(iam.IGrantable)
class SageMakerFailoverFunction(Construct):
    """A Lambda function in every AZ that invokes the self-hosted model in the order of
    ``routes`` (its own Region first), moving to the next Region on connection failures,
    timeouts, throttling and 5xx, within its deadline, with a circuit breaker per Region
    (the shipped ``self_hosted.handler`` on ``failover.py``).

    Resources: ``Function`` (a :class:`MultiAzFunction`).

    * the routes in the order given; a route in the function's own Region goes through
      ``local_network`` (the Region's :class:`SageMakerRuntimeLoadBalancer`, whose runtime
      endpoint answers the Region's hostname in the VPC), every other one through ``paths``;
    * IAM: ``sagemaker:InvokeEndpoint`` on exactly the routes' endpoints; network: HTTPS to
      ``local_network`` and ``paths`` only (rules written in this function's stack, so a stack
      that depends on the load balancer's stack can hold the function);
    * each attempt waits within a fair share of the time left, so every Region can get a full
      attempt; the function is created after ``paths`` (its DNS and security groups), so its
      first call can use them.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        routes: Sequence[RuntimeRoute],
        local_network: ec2.IConnectable | None = None,
        paths: CrossRegionRuntimePaths | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        timeout: cdk.Duration | None = None,
        connect_timeout: cdk.Duration | None = None,
        max_attempt_time: cdk.Duration | None = None,
        breaker_failures: int = 2,
        breaker_cooldown: cdk.Duration | None = None,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param vpc: the VPC the function runs in (where ``paths`` and ``local_network`` are).
        :param routes: the Regions to try, in order (this Region first:
            ``RuntimeRoute.of(endpoint)``, then ``RuntimeRoute.through(...)`` of the others).
        :param local_network: how the function reaches its own Region's model. Required when a
            route is in the function's Region. Default: none.
        :param paths: the cross-Region paths. Required when a route is in another Region.
            Default: none.
        :param vpc_subnets: Default: one subnet in every AZ of the VPC's private subnets.
        :param timeout: Default: 70 seconds per route, at most 15 minutes.
        :param connect_timeout: per address of a runtime hostname. Default: 2 seconds.
        :param max_attempt_time: the longest wait for one Region's answer. Default: 60 seconds.
        :param breaker_failures: consecutive failures that open a Region's circuit. Default: 2.
        :param breaker_cooldown: how long an open circuit skips its Region. Default: 30 s.
        :param log_encryption_key: key for the function's log group. Default: none.
        """
        super().__init__(scope, construct_id)
        region = concrete_region("SageMakerFailoverFunction", cdk.Stack.of(self))
        self.routes: tuple[RuntimeRoute, ...] = tuple(routes)
        _check_failover_routes(self.routes, region, local_network, paths)
        settings = {
            "connect_timeout": _whole_seconds("connect_timeout", connect_timeout, 2, 1, 10),
            "max_attempt_time": _whole_seconds("max_attempt_time", max_attempt_time, 60, 1, 900),
            "breaker_cooldown": _whole_seconds("breaker_cooldown", breaker_cooldown, 30, 1, 3600),
        }
        if not 1 <= breaker_failures <= 100:
            raise ValueError(
                f"breaker_failures must be 1-100 consecutive failures, got {breaker_failures}; "
                "use 2 to skip a Region after two failed calls"
            )
        seconds = _whole_seconds("timeout", timeout, min(900, 70 * len(self.routes)), 3, 900)
        # A runtime hostname resolves to one interface per AZ of its endpoint.
        zones = [len(paths.availability_zones)] if paths is not None else []
        if isinstance(local_network, SageMakerRuntimeLoadBalancer):
            zones.append(len(local_network.availability_zones))
        addresses = max(zones, default=3)
        self.function = MultiAzFunction(
            self,
            "Function",
            vpc=vpc,
            vpc_subnets=vpc_subnets,
            code=handler_code(),
            handler=ShippedHandler.SELF_HOSTED.value,
            description="Invokes the self-hosted model in this Region first, then the others",
            timeout=cdk.Duration.seconds(seconds),
            log_encryption_key=log_encryption_key,
            environment={
                "ROUTES": json.dumps(
                    [{"region": r.region, "endpointName": r.endpoint_name} for r in self.routes]
                ),
                "CONNECT_TIMEOUT_SECONDS": str(settings["connect_timeout"]),
                "CONNECT_ADDRESSES": str(addresses),
                "MAX_ATTEMPT_SECONDS": str(settings["max_attempt_time"]),
                "BREAKER_FAILURES": str(breaker_failures),
                "BREAKER_COOLDOWN_SECONDS": str(settings["breaker_cooldown"]),
            },
        )
        iam.Grant.add_to_principal(
            grantee=self.function,
            actions=list(INVOKE_ACTIONS),
            resource_arns=[route.endpoint_arn(self) for route in self.routes],
        )
        # Rules go through the peers' Connections objects (jsii reads IConnectable.connections
        # as a property), and are written in this function's stack.
        if local_network is not None:
            self.function.connections.allow_to_default_port(
                local_network.connections, "HTTPS to this Region's SageMaker Runtime"
            )
        if paths is not None:
            self.function.connections.allow_to_default_port(
                paths.connections, "HTTPS to the cross-Region PrivateLink endpoints"
            )
            # The function (not its security group, which the paths' rules name) comes after
            # the endpoints and the DNS records it calls through.
            self.function.function.node.add_dependency(
                *paths.endpoints.values(), *paths.hosted_zones.values()
            )

    @property
    def connections(self) -> ec2.Connections:
        """The function's security group."""
        return self.function.connections

    @property
    def grant_principal(self) -> iam.IPrincipal:
        return self.function.grant_principal

    def grant_invoke(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` invoke the function."""
        return self.function.function.grant_invoke(grantee)


def _check_failover_routes(
    routes: Sequence[RuntimeRoute],
    region: str,
    local_network: ec2.IConnectable | None,
    paths: CrossRegionRuntimePaths | None,
) -> None:
    regions = [route.region for route in routes]
    if not routes:
        raise ValueError(
            "routes must name at least one Region's model, got none; pass "
            "[RuntimeRoute.of(endpoint), *RuntimeRoute.through(...) of the other Regions]"
        )
    repeated = sequences.repeated(regions)
    if repeated:
        raise ValueError(
            f"routes names {', '.join(repeated)} more than once, got {regions}; list each "
            "Region once, in the order to try"
        )
    if region in regions and local_network is None:
        raise ValueError(
            f"routes includes this Region ({region}) but local_network is not given, so the "
            "function could not reach it; pass local_network=<the Region's "
            "SageMakerRuntimeLoadBalancer>"
        )
    reachable = {route.region for route in paths.routes} if paths is not None else set()
    missing = [r for r in regions if r != region and r not in reachable]
    if missing:
        raise ValueError(
            f"routes includes {', '.join(missing)} but paths has no cross-Region path there "
            f"(paths reach {', '.join(sorted(reachable)) or 'nothing'}); add the route to "
            "CrossRegionRuntimePaths and pass it as paths"
        )


def _whole_seconds(prop: str, value: cdk.Duration | None, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    seconds = value.to_seconds(integral=False)
    if cdk.Token.is_unresolved(seconds) or seconds != int(seconds) or not low <= seconds <= high:
        raise ValueError(
            f"{prop} must be a literal whole number of seconds from {low} to {high}, got "
            f"{value.to_human_string()}; use e.g. cdk.Duration.seconds({default})"
        )
    return int(seconds)
