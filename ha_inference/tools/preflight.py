"""Before ``cdk deploy``: what would fail in this account. ``ha-inference preflight``.

Reads a synthesized cloud assembly (any app that uses these constructs) and, with the caller's
credentials, checks each stack in its own Region, read-only: the SageMaker endpoint instance
quotas against the most instances the app can run, the AZs of every interface endpoint's
subnets against the AZs its service offers, the account's AZ IDs against the mapping the app
was synthesized with and the AZ IDs that offer each AZ-limited service it places (AgentCore
Runtime in VPC mode, ``bedrock-mantle``), each cross-Region inference profile's destination
Regions against those the IAM grants, the lifecycle (Legacy, end of life) of every model in each
Region it runs in, each directly invoked model, each model-data object and
its bucket's Region, names that must be unique in the account and Region, and the CDK
bootstrap stack. Every cause it looks for otherwise costs a deploy and a rollback to find.

Exit status: 0 when every check passes (warnings allowed), 1 when one fails or could not be
checked, 2 when it cannot run (no assembly, no credentials).
"""

from __future__ import annotations

import re
import sys
import weakref
from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ha_inference.data.images import pinned_digest
from ha_inference.data.zones import AGENTCORE_RUNTIME, ZONE_IDS_COMMAND, zone_support
from ha_inference.metadata import IMPORTED_MODEL_METADATA, ZONE_PLACEMENT_METADATA
from ha_inference.regions import CUSTOM_MODEL_IMPORT_REGIONS, Geography
from ha_inference.tools._account import (
    ACCOUNT_CHECK,
    Aws,
    Connector,
    CouldNotCheckError,
    Finding,
    OrganizationDeniedError,
    Permission,
    Permissions,
    Registry,
    Target,
    command_line,
    failed,
    guarded,
    passed,
    stack_missing,
    unknown,
    warning,
    zones_of_subnets,
)
from ha_inference.tools._template import (
    FOUNDATION_MODEL_ARN,
    EndpointVariant,
    InterfaceEndpoint,
    ModelGrant,
    ProfileUse,
    UniqueName,
    endpoint_variants,
    interface_endpoints,
    model_data_owner,
    model_data_urls,
    model_grants,
    model_images,
    profiles_of,
    unique_names,
)
from ha_inference.tools.assembly import DEFAULT_QUALIFIER, UNKNOWN_ACCOUNT, StackArtifact

PERMISSIONS = Permissions(
    "preflight",
    [
        Permission("sts", "GetCallerIdentity", "", why="the caller's account"),
        Permission(
            "cloudformation",
            "DescribeStacks",
            "cloudformation:DescribeStacks",
            why="the CDK bootstrap stack; whether the app's stacks exist yet",
        ),
        Permission(
            "cloudformation",
            "ListStackResources",
            "cloudformation:ListStackResources",
            why="whether an existing name belongs to the app's own stack",
        ),
        Permission(
            "ssm",
            "GetParameter",
            "ssm:GetParameter",
            resource="arn:aws:ssm:*:*:parameter/cdk-bootstrap/*",
            why="the bootstrap version (`/cdk-bootstrap/<qualifier>/version`)",
        ),
        Permission(
            "service-quotas",
            "ListServiceQuotas",
            "servicequotas:ListServiceQuotas",
            why="SageMaker endpoint instance quotas",
        ),
        Permission(
            "cloudwatch",
            "GetMetricData",
            "cloudwatch:GetMetricData",
            why="current usage of a quota, where Service Quotas names a usage metric",
        ),
        Permission(
            "ec2",
            "DescribeVpcEndpointServices",
            "ec2:DescribeVpcEndpointServices",
            why="the AZs each interface endpoint's service offers",
        ),
        Permission(
            "ec2",
            "DescribeAvailabilityZones",
            "ec2:DescribeAvailabilityZones",
            why="the account's AZ names and their AZ ids",
        ),
        Permission(
            "ec2",
            "DescribeSubnets",
            "ec2:DescribeSubnets",
            why="the AZ of a subnet the template names by id (imported VPCs)",
        ),
        Permission(
            "ecr",
            "BatchGetImage",
            "ecr:BatchGetImage",
            resource="arn:aws:ecr:*:*:repository/*",
            why="the digest a SageMaker model's image tag stands for in its registry",
        ),
        Permission(
            "bedrock",
            "GetInferenceProfile",
            "bedrock:GetInferenceProfile",
            why="a cross-Region profile's destination Regions",
        ),
        Permission(
            "bedrock",
            "GetFoundationModel",
            "bedrock:GetFoundationModel",
            why="whether a model is offered on demand (direct calls) and its lifecycle, in each "
            "Region it runs in",
        ),
        Permission(
            "bedrock",
            "ListInferenceProfiles",
            "bedrock:ListInferenceProfiles",
            why="application inference profile names already taken",
        ),
        Permission(
            "s3",
            "GetBucketLocation",
            "s3:GetBucketLocation",
            why="the Region of a model-data bucket",
        ),
        Permission("s3", "HeadObject", "s3:GetObject", why="whether a model-data object exists"),
        Permission(
            "s3",
            "ListObjectsV2",
            "s3:ListBucket",
            why="whether a Custom Model Import source holds config.json and .safetensors files",
        ),
        Permission(
            "opensearchserverless",
            "BatchGetCollection",
            "aoss:BatchGetCollection",
            why="collection names already taken",
        ),
        Permission(
            "opensearchserverless",
            "GetSecurityPolicy",
            "aoss:GetSecurityPolicy",
            why="encryption and network policy names already taken",
        ),
        Permission(
            "opensearchserverless",
            "GetAccessPolicy",
            "aoss:GetAccessPolicy",
            why="data access policy names already taken",
        ),
        Permission(
            "sagemaker",
            "DescribeEndpoint",
            "sagemaker:DescribeEndpoint",
            why="SageMaker endpoint names already taken",
        ),
    ],
)

PREFLIGHT = Registry(PERMISSIONS, [ACCOUNT_CHECK])
"""The preflight checks, in the order they run; add one with ``@PREFLIGHT.check(...)``."""

_TOOLKIT_STACK = "CDKToolkit"
_COLLECTION = "AWS::OpenSearchServerless::Collection"
_TOOLKIT_BROKEN = ("FAILED", "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "REVIEW_IN_PROGRESS")


_ZONE_IDS: weakref.WeakKeyDictionary[Aws, dict[str, str]] = weakref.WeakKeyDictionary()


def _zone_ids(aws: Aws) -> dict[str, str]:
    """The account's AZ names in the Region and their AZ IDs
    (``ec2:DescribeAvailabilityZones``), read once for every check of the Region."""
    if aws not in _ZONE_IDS:
        zones = (aws.call("ec2", "DescribeAvailabilityZones") or {}).get("AvailabilityZones")
        _ZONE_IDS[aws] = {z.get("ZoneName", ""): z.get("ZoneId", "?") for z in zones or []}
    return dict(_ZONE_IDS[aws])


# --------------------------------------------------------------------------- account, bootstrap


@PREFLIGHT.check(
    "bootstrap",
    summary="the Region is bootstrapped for the app's qualifier, at the version it needs "
    "(`CDKToolkit` stack, SSM `/cdk-bootstrap/<qualifier>/version`)",
    nothing="no stacks",
)
def check_bootstrap(target: Target, aws: Aws) -> Iterator[Finding]:
    by_parameter: dict[str, list[StackArtifact]] = defaultdict(list)
    for stack in target.stacks:
        by_parameter[stack.bootstrap_parameter].append(stack)
    account = next(
        (s.account for s in target.stacks if s.account != UNKNOWN_ACCOUNT), target.caller_account
    )
    try:
        described = aws.call(
            "cloudformation", "DescribeStacks", missing=stack_missing, StackName=_TOOLKIT_STACK
        )
        toolkit = ((described or {}).get("Stacks") or [None])[0]
    except CouldNotCheckError as err:
        yield err.finding(_TOOLKIT_STACK)
        toolkit = {}
    if toolkit:
        status = str(toolkit.get("StackStatus", ""))
        if status.endswith(_TOOLKIT_BROKEN):
            yield failed(
                _TOOLKIT_STACK,
                f"the bootstrap stack is {status}",
                f"fix or delete the {_TOOLKIT_STACK} stack, then cdk bootstrap "
                f"aws://{account}/{target.region}",
            )
    for parameter, stacks in sorted(by_parameter.items()):
        qualifier = stacks[0].bootstrap_qualifier
        required = max((s.required_bootstrap_version or 0) for s in stacks)
        command = f"cdk bootstrap aws://{account}/{target.region}" + (
            f" --qualifier {qualifier}" if qualifier != DEFAULT_QUALIFIER else ""
        )
        try:
            answer = aws.call("ssm", "GetParameter", missing=("ParameterNotFound",), Name=parameter)
        except CouldNotCheckError as err:
            yield err.finding(parameter)
            continue
        if answer is None:
            yield failed(
                parameter,
                f"{target.region} is not bootstrapped for qualifier {qualifier} (no {parameter})",
                command,
            )
            continue
        value = str(answer.get("Parameter", {}).get("Value", ""))
        version = int(value) if value.isdigit() else None
        if version is None or version < required:
            yield failed(
                parameter,
                f"bootstrap version {value!r}, the app needs at least {required}",
                f"{command} (with the CDK CLI this app uses)",
            )
        elif toolkit is None:
            yield warning(
                parameter,
                f"bootstrap version {version} (needs {required}), but there is no stack named "
                f"{_TOOLKIT_STACK}: bootstrapped with another --toolkit-stack-name?",
                "nothing, if the bootstrap stack has another name on purpose",
            )
        else:
            where = f"; stack {_TOOLKIT_STACK} {toolkit.get('StackStatus')}" if toolkit else ""
            yield passed(parameter, f"bootstrap version {version} (needs {required}){where}")


# --------------------------------------------------------------------------- SageMaker quotas


@PREFLIGHT.check(
    "endpoint-quota",
    summary="the SageMaker endpoint instance quota of each instance type covers the most "
    "instances the app's endpoints can run in the Region (autoscaling maxima, summed), and "
    "current usage where Service Quotas names a usage metric",
    nothing="no SageMaker endpoint with instances",
)
def check_endpoint_quotas(target: Target, aws: Aws) -> Iterator[Finding]:
    primary: dict[str, list[EndpointVariant]] = defaultdict(list)
    fallback: dict[str, list[EndpointVariant]] = defaultdict(list)
    for stack in target.stacks:
        for need in endpoint_variants(stack):
            for instance_type, priority in need.pools:
                kind = primary if priority == need.pools[0][1] else fallback
                kind[instance_type].append(need)
    if not primary:
        return
    quotas = {
        q.get("QuotaName"): q
        for q in aws.pages("service-quotas", "ListServiceQuotas", "Quotas", ServiceCode="sagemaker")
    }
    for instance_type in sorted(set(primary) | set(fallback)):
        yield from _quota_findings(
            aws,
            region=target.region,
            instance_type=instance_type,
            primary=primary[instance_type],
            fallback=fallback[instance_type],
            quotas=quotas,
        )


def _quota_findings(
    aws: Aws,
    *,
    region: str,
    instance_type: str,
    primary: Sequence[EndpointVariant],
    fallback: Sequence[EndpointVariant],
    quotas: dict[Any, dict[str, Any]],
) -> Iterator[Finding]:
    quota_name = f"{instance_type} for endpoint usage"
    quota = quotas.get(quota_name)
    needs = [*primary, *fallback]
    uses = "; ".join(f"{n.label}: {n.source}" for n in needs)
    if quota is None:
        yield unknown(
            instance_type,
            f"Service Quotas lists no {quota_name!r} in {region} (is the type offered for "
            f"endpoints there?); the app needs it for {uses}",
            f"check the instance type's availability in {region} (SageMaker pricing page)",
        )
        return
    value = int(quota.get("Value", 0))
    needed = sum(n.maximum for n in primary) or max(n.maximum for n in fallback)
    at_create = sum(n.initial for n in primary)
    code = quota.get("QuotaCode", "?")
    increase = (
        f"request an increase to at least {needed}: aws service-quotas "
        f"request-service-quota-increase --service-code sagemaker --quota-code {code} "
        f"--desired-value {needed} --region {region}"
    )
    usage, usage_problem = _usage(aws, quota)
    usage_text = f"; in use now {usage}" if usage is not None else ""
    detail = f"quota {value}, the app can run {needed} ({uses}){usage_text}"
    if primary and value < needed:
        effect = (
            "creating the endpoint fails" if value < at_create else f"scaling out stops at {value}"
        )
        yield failed(instance_type, f"{detail}: {effect}", increase)
    elif not primary and value < needed:
        yield warning(
            instance_type,
            f"{detail}: this fallback instance pool cannot take over every instance",
            increase,
        )
    elif usage is not None and usage + needed > value:
        yield warning(
            instance_type,
            f"{detail}: with current usage (including this app, if it is deployed) only "
            f"{max(value - usage, 0)} more can start",
            increase,
        )
    else:
        yield passed(instance_type, detail)
    if usage_problem is not None:
        yield usage_problem.finding(f"{instance_type} usage")


def _usage(aws: Aws, quota: dict[str, Any]) -> tuple[int | None, CouldNotCheckError | None]:
    """The quota's current usage from its CloudWatch usage metric (``None`` when none)."""
    metric = quota.get("UsageMetric") or {}
    if not metric.get("MetricName") or not metric.get("MetricNamespace"):
        return None, None
    now = datetime.now(UTC)
    try:
        response = aws.call(
            "cloudwatch",
            "GetMetricData",
            MetricDataQueries=[
                {
                    "Id": "usage",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": metric["MetricNamespace"],
                            "MetricName": metric["MetricName"],
                            "Dimensions": [
                                {"Name": k, "Value": v}
                                for k, v in sorted((metric.get("MetricDimensions") or {}).items())
                            ],
                        },
                        "Period": 300,
                        "Stat": metric.get("MetricStatisticRecommendation") or "Maximum",
                    },
                    "ReturnData": True,
                }
            ],
            StartTime=now - timedelta(hours=1),
            EndTime=now,
        )
    except CouldNotCheckError as err:
        return None, err
    values = [v for r in (response or {}).get("MetricDataResults", []) for v in r.get("Values", [])]
    return int(max(values, default=0)), None


# --------------------------------------------------------------------------- endpoint AZs


@PREFLIGHT.check(
    "endpoint-azs",
    summary="every interface endpoint's service (Bedrock, SageMaker Runtime...; OpenSearch "
    "Serverless VPC endpoints against `com.amazonaws.<region>.aoss`) is offered in the AZ of "
    "each of its subnets, and those AZs exist in the account",
    nothing="no interface endpoints",
)
def check_endpoint_zones(target: Target, aws: Aws) -> Iterator[Finding]:
    endpoints = [e for stack in target.stacks for e in interface_endpoints(stack)]
    if not endpoints:
        return
    zone_ids = _zone_ids(aws)
    offered: dict[str, list[str] | None] = {}
    for endpoint in endpoints:
        yield from guarded(
            endpoint.label,
            endpoint.stack.name,
            _endpoint_zone_finding,
            endpoint,
            aws,
            zone_ids,
            offered,
        )


def _endpoint_zone_finding(
    endpoint: InterfaceEndpoint,
    aws: Aws,
    zone_ids: dict[str, str],
    offered: dict[str, list[str] | None],
) -> Finding:
    stack = endpoint.stack.name
    if endpoint.service is None:
        return unknown(
            endpoint.label,
            "the service name is not a literal in the template",
            "nothing to do here; check the service's AZs by hand",
            stack=stack,
        )
    zones = zones_of_subnets(endpoint.stack, endpoint.subnets, aws)
    named = [z for z in zones if z is not None]
    absent = sorted({z for z in named if z not in zone_ids})
    if absent:
        return failed(
            endpoint.label,
            f"subnet AZ {', '.join(absent)} does not exist in {aws.region} for this account "
            f"(it has {', '.join(sorted(zone_ids))})",
            "configure AZ names this account has (aws ec2 describe-availability-zones)",
            stack=stack,
        )
    if endpoint.service not in offered:
        response = aws.call(
            "ec2",
            "DescribeVpcEndpointServices",
            missing=("InvalidServiceName",),
            ServiceNames=[endpoint.service],
        )
        details = (response or {}).get("ServiceDetails") or []
        offered[endpoint.service] = details[0].get("AvailabilityZones", []) if details else None
    service_zones = offered[endpoint.service]
    if service_zones is None:
        return failed(
            endpoint.label,
            f"{endpoint.service} is not offered in {aws.region}",
            "deploy to a Region that offers the service, or drop this endpoint",
            stack=stack,
        )
    missing = sorted({z for z in named if z not in service_zones})
    if missing:
        return failed(
            endpoint.label,
            f"{endpoint.service} is not offered in "
            + ", ".join(f"{z} ({zone_ids.get(z, '?')})" for z in missing)
            + f"; it is offered in {', '.join(service_zones)}",
            "use subnets in AZs the service offers (the AZ ids matter: AZ names map to "
            "different ids in each account)",
            stack=stack,
        )
    if len(named) < len(zones):
        return unknown(
            endpoint.label,
            f"{len(zones) - len(named)} of {len(zones)} subnets have an AZ the template does "
            "not tell (imported or token); the others are offered",
            "give the stack concrete AZs (an env-specific stack) so they can be checked",
            stack=stack,
        )
    return passed(
        endpoint.label,
        "offered in " + ", ".join(f"{z} ({zone_ids.get(z, '?')})" for z in sorted(set(named))),
        stack=stack,
    )


@PREFLIGHT.check(
    "zone-ids",
    summary="the account's AZ-name-to-ID mapping is the one the app was synthesized with "
    "(`zone_ids`, `ha-inference:zone-ids`), and every subnet of an AZ-limited service "
    "(AgentCore Runtime in VPC mode, `bedrock-mantle`) is in an AZ whose AZ ID offers it; for "
    "an endpoint service, also against `DescribeVpcEndpointServices`",
    nothing="no AZ-limited services",
)
def check_zone_placements(target: Target, aws: Aws) -> Iterator[Finding]:
    placements = [
        (stack, path, data)
        for stack in target.stacks
        for path, data in stack.metadata_of(ZONE_PLACEMENT_METADATA)
        if isinstance(data, dict)
    ]
    if not placements:
        return
    account = _zone_ids(aws)
    offered: dict[str, list[str] | None] = {}
    for stack, path, data in placements:
        label = f"{data.get('service', '?')} ({path.lstrip('/')})"
        yield from guarded(
            label,
            stack.name,
            _zone_placement_finding,
            stack,
            label,
            data,
            aws=aws,
            account=account,
            offered=offered,
        )


def _zone_placement_finding(
    stack: StackArtifact,
    label: str,
    data: dict[str, Any],
    *,
    aws: Aws,
    account: dict[str, str],
    offered: dict[str, list[str] | None],
) -> Finding:
    service = str(data.get("service", ""))
    recorded: dict[str, str] = dict(data.get("zoneIds") or {})
    fix_mapping = (
        "update zone_ids (the reference app: ha-inference:zone-ids) from `"
        + ZONE_IDS_COMMAND.format(region=aws.region)
        + "` and synthesize again"
    )
    wrong = sorted(name for name, zone_id in recorded.items() if account.get(name) != zone_id)
    if wrong:
        return failed(
            label,
            "the app was synthesized with "
            + ", ".join(f"{n} = {recorded[n]}" for n in wrong)
            + ", but in this account "
            + ", ".join(f"{n} is {account.get(n, 'not an AZ')}" for n in wrong),
            fix_mapping,
            stack=stack.name,
        )
    supported = set(data.get("supportedAzIds") or [])
    if service != AGENTCORE_RUNTIME:
        actual = _offered_zone_ids(f"com.amazonaws.{aws.region}.{service}", aws, offered)
        if actual is None:
            return failed(
                label,
                f"{service} is not offered in {aws.region}",
                "deploy to a Region that offers the service, or drop it",
                stack=stack.name,
            )
        supported = set(actual)
    zones = zones_of_subnets(stack, data.get("subnets"), aws)
    placed = {z: account.get(z, "?") for z in zones if z is not None}
    outside = sorted(z for z, zone_id in placed.items() if zone_id not in supported)
    if outside:
        return failed(
            label,
            f"{service} is not offered in "
            + ", ".join(f"{z} ({placed[z]})" for z in outside)
            + f"; it is offered in AZ IDs {', '.join(sorted(supported))}",
            "place it only in AZs whose AZ ID offers it (pass the right zone_ids, or "
            "supported_az_ids) and synthesize again",
            stack=stack.name,
        )
    if len(placed) < len(zones):
        return unknown(
            label,
            f"{len(zones) - len(placed)} of {len(zones)} subnets have an AZ the assembly does not "
            "tell; the others are in supported AZs",
            "give the stack concrete AZs so they can be checked",
            stack=stack.name,
        )
    detail = "in " + ", ".join(f"{z} ({placed[z]})" for z in sorted(placed))
    built = set(data.get("supportedAzIds") or [])
    row = zone_support(service)
    table = row.supported(aws.region) if row is not None and row.published else None
    if row is not None and service == AGENTCORE_RUNTIME and table is not None and built != table:
        return warning(
            label,
            f"{detail}, as the app was built; but it was built for AZ IDs "
            f"{', '.join(sorted(built))} and this ha-inference's table ({row.read_on}) says "
            f"{', '.join(sorted(table))}",
            "check the AgentCore developer guide's supported AZs and pass supported_az_ids, or "
            "synthesize with this version's table",
            stack=stack.name,
        )
    if service != AGENTCORE_RUNTIME and built != supported:
        return warning(
            label,
            f"{detail}, all offered; but the app was built for AZ IDs "
            f"{', '.join(sorted(built))} and the service offers {', '.join(sorted(supported))}",
            "pass supported_az_ids as DescribeVpcEndpointServices reports them, to use every "
            "AZ that offers the service",
            stack=stack.name,
        )
    return passed(label, detail, stack=stack.name)


def _offered_zone_ids(
    service_name: str, aws: Aws, offered: dict[str, list[str] | None]
) -> list[str] | None:
    """``AvailabilityZoneIds`` of an endpoint service (``None`` when not offered), read once."""
    if service_name not in offered:
        response = aws.call(
            "ec2",
            "DescribeVpcEndpointServices",
            missing=("InvalidServiceName",),
            ServiceNames=[service_name],
        )
        details = (response or {}).get("ServiceDetails") or []
        offered[service_name] = details[0].get("AvailabilityZoneIds", []) if details else None
    return offered[service_name]


# --------------------------------------------------------------------------- Bedrock


@PREFLIGHT.check(
    "inference-profile",
    summary="each cross-Region inference profile exists in the stack's Region and routes to "
    "exactly the Regions the IAM grants (one it lacks fails: calls would be denied)",
    nothing="no cross-Region inference profiles",
)
def check_inference_profiles(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack in target.stacks:
        grants = model_grants(stack)
        for use in profiles_of(stack):
            yield from guarded(
                use.profile_id, stack.name, _profile_finding, stack, use, grants, aws
            )


def _granted_regions(
    use: ProfileUse, grants: Sequence[ModelGrant]
) -> tuple[frozenset[str] | None, str]:
    model_id = use.model_id
    suffix = f":inference-profile/{use.profile_id}"
    regions = frozenset(
        g.region
        for g in grants
        if g.model_id == model_id
        and g.through_profile
        and any(p is None or p.endswith(suffix) for p in g.profiles)
    )
    if regions:
        return regions, "the IAM grants"
    if use.destinations is not None:
        return use.destinations, "the construct routes to (no IAM grant in this template)"
    return None, ""


def _profile_finding(
    stack: StackArtifact, use: ProfileUse, grants: Sequence[ModelGrant], aws: Aws
) -> Finding:
    profile = aws.call(
        "bedrock",
        "GetInferenceProfile",
        missing=("ResourceNotFoundException", "ValidationException"),
        inferenceProfileIdentifier=use.profile_id,
    )
    subject = use.profile_id
    if profile is None:
        return failed(
            subject,
            f"the profile does not exist in {stack.region}",
            "use a geography whose profile serves this Region (CrossRegionInferenceProfile "
            "geography=...), or deploy only to the profile's source Regions",
            stack=stack.name,
        )
    routes = frozenset(
        m.group("region")
        for m in (
            FOUNDATION_MODEL_ARN.match(x.get("modelArn", "")) for x in profile.get("models", [])
        )
        if m
    )
    granted, source = _granted_regions(use, grants)
    if granted is None:
        return unknown(
            subject,
            f"routes to {_regions(routes)}; the template grants the model through it nowhere",
            "grant invoke through the construct (profile.grant_invoke(role))",
            stack=stack.name,
        )
    if use.geography == Geography.GLOBAL.value:
        if "" in granted:
            return passed(
                subject,
                f"global profile routing to {len(routes - {''})} Regions; the IAM grants the "
                "Region-less model ARN",
                stack=stack.name,
            )
        return failed(
            subject,
            "global profile, but the IAM does not grant the Region-less model ARN: calls "
            "routed to other Regions would be denied",
            "grant through CrossRegionInferenceProfile(geography=Geography.GLOBAL)",
            stack=stack.name,
        )
    denied = sorted(routes - granted)
    extra = sorted(granted - routes)
    if denied:
        return failed(
            subject,
            f"routes to {_regions(routes)}, but {source} only {_regions(granted)}: calls "
            f"routed to {', '.join(denied)} would be denied",
            "add the Regions to the profile's routes (CrossRegionInferenceProfile(routes=...)) "
            "and synth again",
            stack=stack.name,
        )
    if extra:
        return warning(
            subject,
            f"{source} {', '.join(extra)} too, where the profile does not route "
            f"(it routes to {_regions(routes)})",
            "drop those Regions from the profile's routes to keep the grant minimal",
            stack=stack.name,
        )
    return passed(subject, f"routes to {_regions(routes)}, exactly what {source}", stack=stack.name)


def _regions(regions: frozenset[str]) -> str:
    return ", ".join(sorted(r for r in regions if r)) or "no Region"


@PREFLIGHT.check(
    "foundation-model",
    summary="every model invoked directly (granted without a `bedrock:InferenceProfileArn` "
    "condition, such as the embedding model) is offered on demand in its Region, and is not "
    "Legacy or past its end of life there",
    nothing="no foundation model granted for direct invocation",
)
def check_direct_models(target: Target, aws: Aws) -> Iterator[Finding]:
    now = datetime.now(UTC)
    for stack in target.stacks:
        direct = sorted(
            {(g.model_id, g.region) for g in model_grants(stack) if not g.through_profile}
        )
        for model_id, region in direct:
            if not region:
                continue
            subject = f"{model_id} in {region}"
            yield from guarded(
                subject,
                stack.name,
                _model_finding,
                stack,
                model_id,
                region,
                aws.elsewhere(region),
                subject,
                now=now,
            )


def _model_finding(
    stack: StackArtifact, model_id: str, region: str, aws: Aws, subject: str, *, now: datetime
) -> Finding:
    answer = _foundation_model(aws, model_id)
    if answer is None:
        return failed(
            subject,
            f"Bedrock does not offer {model_id} in {region}",
            f"choose a model offered there (aws bedrock list-foundation-models --region "
            f"{region}), or invoke it through a cross-Region inference profile",
            stack=stack.name,
        )
    details = answer.get("modelDetails", {})
    kinds = details.get("inferenceTypesSupported") or []
    if "ON_DEMAND" not in kinds:
        return failed(
            subject,
            f"offered in {region} only as {', '.join(kinds) or 'nothing'}: a direct invocation "
            "fails",
            "invoke it through an inference profile (CrossRegionInferenceProfile)",
            stack=stack.name,
        )
    return _lifecycle_finding(
        subject, details, now, stack=stack.name, active=f"offered on demand in {region}"
    )


@PREFLIGHT.check(
    "model-lifecycle",
    summary="the model behind every cross-Region inference profile is offered, and not Legacy "
    "or past its end of life, in each Region the profile routes to (`modelLifecycle` of "
    "`GetFoundationModel` in that Region)",
    nothing="no cross-Region inference profiles",
)
def check_profile_models(target: Target, aws: Aws) -> Iterator[Finding]:
    now = datetime.now(UTC)
    for stack in target.stacks:
        grants = model_grants(stack)
        for use in profiles_of(stack):
            for region in _routed_regions(stack, use, grants):
                subject = f"{use.model_id} in {region} (through {use.profile_id})"
                yield from guarded(
                    subject,
                    stack.name,
                    _profile_model_finding,
                    stack,
                    use,
                    region,
                    aws.elsewhere(region),
                    subject,
                    now=now,
                )


def _routed_regions(
    stack: StackArtifact, use: ProfileUse, grants: Sequence[ModelGrant]
) -> list[str]:
    """Where the profile's calls run: the construct's destinations, else the Regions the IAM
    grants (a global profile's Region-less grant names none), else the stack's Region."""
    granted, _ = _granted_regions(use, grants)
    regions = set(use.destinations or granted or ()) - {""}
    return sorted(regions or {stack.region})


def _profile_model_finding(
    stack: StackArtifact, use: ProfileUse, region: str, aws: Aws, subject: str, *, now: datetime
) -> Finding:
    model_id = use.model_id
    try:
        answer = _foundation_model(aws, model_id)
    except OrganizationDeniedError as err:
        return _organization_denied(stack, use, region, subject, err)
    if answer is None:
        return failed(
            subject,
            f"Bedrock does not offer {model_id} in {region}, where the profile routes calls",
            "check the profile's destinations (aws bedrock get-inference-profile) and the "
            "model's card, and grant only Regions that serve the model",
            stack=stack.name,
        )
    return _lifecycle_finding(
        subject, answer.get("modelDetails", {}), now, stack=stack.name, active="ACTIVE"
    )


def _organization_denied(
    stack: StackArtifact, use: ProfileUse, region: str, subject: str, err: OrganizationDeniedError
) -> Finding:
    """A destination Region the organization denies: the profile's calls routed there fail
    unless the policy lets them through (a Region-deny SCP that exempts calls made through an
    inference profile, as AWS's example does, still refuses this read)."""
    return warning(
        subject,
        f"bedrock:GetFoundationModel in {region} was refused with an explicit deny in a "
        f"{err.policy}: the organization denies requests in {region}, where {use.profile_id} "
        f"routes calls from {stack.region}; every call routed there fails with "
        "AccessDeniedException unless the policy lets inference-profile calls through (the "
        "model's lifecycle there is not checked)",
        "make the policy let the profile's calls through in every destination Region: "
        "'ha-inference scp cdk.out' prints the statements (after AWS's example); confirm after "
        "deploy with 'ha-inference verify'",
        stack=stack.name,
    )


def _foundation_model(aws: Aws, model_id: str) -> dict[str, Any] | None:
    return aws.call_once(
        "bedrock",
        "GetFoundationModel",
        missing=("ResourceNotFoundException", "ValidationException"),
        modelIdentifier=model_id,
    )


def _lifecycle_finding(
    subject: str, details: dict[str, Any], now: datetime, *, stack: str, active: str
) -> Finding:
    """Fails past ``endOfLifeTime``, warns while ``LEGACY``, passes ``ACTIVE`` (botocore
    ``FoundationModelLifecycle``)."""
    lifecycle = details.get("modelLifecycle") or {}
    status = str(lifecycle.get("status", "")) or "unknown"
    end = lifecycle.get("endOfLifeTime")
    legacy = lifecycle.get("legacyTime")
    if isinstance(end, datetime) and end <= now:
        return failed(
            subject,
            f"past its end of life on {_day(end)}: every call fails",
            "move to an Active model (the model's card names its successor) and synth again",
            stack=stack,
        )
    if status == "LEGACY":
        since = f" since {_day(legacy)}" if isinstance(legacy, datetime) else ""
        ends = f"end of life {_day(end)}" if isinstance(end, datetime) else "end of life ahead"
        return warning(
            subject,
            f"marked LEGACY{since}; {ends}",
            "plan the move to an Active model before its end of life",
            stack=stack,
        )
    if status != "ACTIVE":
        return warning(
            subject,
            f"lifecycle status {status!r}, neither ACTIVE nor LEGACY",
            "read the model's card before deploying",
            stack=stack,
        )
    ends = f"; end of life {_day(end)}" if isinstance(end, datetime) else ""
    return passed(subject, f"{active}{ends}", stack=stack)


def _day(moment: datetime) -> str:
    return moment.date().isoformat()


# --------------------------------------------------------------------------- model data


def _bucket_region(aws: Aws, bucket: str, owner: str) -> str | None:
    """The Region of ``bucket`` if ``owner``'s account has it (GetBucketLocation with
    ExpectedBucketOwner; an empty answer means us-east-1, EU means eu-west-1), else ``None``."""
    location = aws.call(
        "s3",
        "GetBucketLocation",
        missing=("NoSuchBucket", "404"),
        Bucket=bucket,
        ExpectedBucketOwner=owner,
    )
    if location is None:
        return None
    constraint = location.get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return "eu-west-1" if constraint == "EU" else str(constraint)


@PREFLIGHT.check(
    "model-data",
    summary="each SageMaker model-data object (`ModelDataUrl`) exists, its bucket is in the "
    "endpoint's Region and belongs to the account the execution role may read from "
    "(`ExpectedBucketOwner`)",
    nothing="no SageMaker model with a ModelDataUrl",
)
def check_model_data(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack in target.stacks:
        for logical_id, url in model_data_urls(stack):
            subject = url or logical_id
            owner = _expected_owner(
                model_data_owner(stack, logical_id), stack, target.caller_account
            )
            try:
                yield _model_data_finding(stack, logical_id, url, aws, owner)
            except CouldNotCheckError as err:
                yield _owner_or_access(err, subject, owner, stack.name)


def _expected_owner(pinned: Any, stack: StackArtifact, caller: str) -> str:
    """The account a bucket must belong to: the one the template pins, else the stack's (or
    the caller's, for an environment-agnostic stack)."""
    if isinstance(pinned, str) and len(pinned) == 12 and pinned.isdigit():
        return pinned
    return stack.account if stack.account != UNKNOWN_ACCOUNT else caller


def _owner_or_access(err: CouldNotCheckError, subject: str, owner: str, stack: str) -> Finding:
    """S3 answers 403 both when the bucket belongs to another account than
    ``ExpectedBucketOwner`` and when the caller may not make the call."""
    if not err.detail.startswith("access denied to s3:"):
        return err.finding(subject, stack=stack)
    detail = (
        f"{err.detail}: the bucket does not belong to account {owner}, or these credentials "
        "may not read it"
    )
    if "s3:GetObject" in err.detail:
        detail += " (without s3:ListBucket S3 also answers 403 for a missing object)"
    return unknown(
        subject,
        detail,
        f"check that account {owner} owns the bucket (SageMaker and Bedrock read it only from "
        f"that account), then {err.fix}",
        stack=stack,
    )


def _model_data_finding(
    stack: StackArtifact, logical_id: str, url: str | None, aws: Aws, owner: str
) -> Finding:
    if url is None:
        return unknown(
            logical_id,
            "ModelDataUrl is not a literal in the template",
            "check the object and its bucket's Region by hand",
            stack=stack.name,
        )
    bucket, _, key = url.removeprefix("s3://").partition("/")
    if not url.startswith("s3://") or not bucket or not key:
        return failed(
            url,
            "ModelDataUrl must be s3://<bucket>/<key> of a model archive",
            "point it at the model's .tar.gz",
            stack=stack.name,
        )
    if (bucket, key) in stack.asset_objects:
        return passed(
            url, "a CDK asset of this stack: cdk deploy uploads it first", stack=stack.name
        )
    region = _bucket_region(aws, bucket, owner)
    if region is None:
        return failed(
            url, f"bucket {bucket} does not exist", "create it or fix the URL", stack=stack.name
        )
    if region != stack.region:
        return failed(
            url,
            f"bucket {bucket} is in {region}, the endpoint in {stack.region}: SageMaker needs "
            "the model in its own Region",
            f"copy the archive to a bucket in {stack.region} (aws s3 cp {url} "
            f"s3://<bucket-in-{stack.region}>/{key}) and use that URL for this Region",
            stack=stack.name,
        )
    head = aws.elsewhere(region).call(
        "s3",
        "HeadObject",
        missing=("404", "NoSuchKey", "NotFound"),
        Bucket=bucket,
        Key=key,
        ExpectedBucketOwner=owner,
    )
    if head is None:
        return failed(
            url,
            f"no object {key} in bucket {bucket}",
            "upload the model archive, or fix the URL",
            stack=stack.name,
        )
    return passed(
        url,
        f"{head.get('ContentLength', '?')} bytes, bucket of account {owner} in {region}",
        stack=stack.name,
    )


# --------------------------------------------------------------------------- serving images

_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)
MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
)


@PREFLIGHT.check(
    "serving-image",
    summary="each SageMaker model's ECR image exists in its registry; an image named by tag "
    "is resolved to the digest it stands for today and compared with the digest "
    "ha_inference.data.images pins for it, if any",
    nothing="no SageMaker model with a literal ECR image",
)
def check_serving_images(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack in target.stacks:
        for logical_id, image in model_images(stack):
            subject = image or logical_id
            yield from guarded(subject, stack.name, _image_finding, stack, logical_id, image, aws)


def _image_finding(stack: StackArtifact, logical_id: str, image: str | None, aws: Aws) -> Finding:
    if image is None:
        return unknown(
            logical_id,
            "the container image is not a literal in the template",
            "check that the image exists (aws ecr batch-get-image) by hand",
            stack=stack.name,
        )
    match = _ECR_IMAGE.match(image)
    if match is None or not (match["tag"] or match["digest"]):
        return unknown(
            image,
            "not an ECR image URI with a tag or digest",
            "name the image as <account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag> or "
            "@sha256:<digest>",
            stack=stack.name,
        )
    region, repository, tag, digest = (
        match["region"],
        match["repository"],
        match["tag"],
        match["digest"],
    )
    answer = aws.elsewhere(region).call(
        "ecr",
        "BatchGetImage",
        missing=("RepositoryNotFoundException",),
        registryId=match["account"],
        repositoryName=repository,
        imageIds=[{"imageDigest": digest} if digest else {"imageTag": tag}],
        acceptedMediaTypes=list(MANIFEST_TYPES),
    )
    images = (answer or {}).get("images") or []
    if not images:
        failures = (answer or {}).get("failures") or [{}]
        reason = failures[0].get("failureCode") or "RepositoryNotFound"
        return failed(
            image,
            f"the registry has no such image ({reason})",
            "use an image that exists in that Region's registry (for the Hugging Face TGI "
            "container, a tag of the SageMaker Python SDK's huggingface-llm table)",
            stack=stack.name,
        )
    found = str(images[0].get("imageId", {}).get("imageDigest") or "?")
    if digest:
        return passed(image, "pinned by digest; the image exists", stack=stack.name)
    pinned = pinned_digest(region, repository, tag)
    if pinned is not None and pinned.digest != found:
        return failed(
            image,
            f"tag {tag} now stands for {found}, not {pinned.digest} ({pinned.source}, read "
            f"{pinned.read}): the tag was pushed again",
            "review the new image, then update ha_inference.data.images or pin the image you "
            "reviewed with its digest",
            stack=stack.name,
        )
    if pinned is not None:
        return passed(image, f"tag {tag} is {found}, the pinned digest", stack=stack.name)
    return warning(
        image,
        f"pinned by tag only: {tag} stands for {found} today, and a tag can be pushed again",
        f"pin the digest: {image.rsplit(':', 1)[0]}@{found}",
        stack=stack.name,
    )


# --------------------------------------------------------------------------- imported models


@PREFLIGHT.check(
    "imported-model",
    summary="each Bedrock Custom Model Import source is in a Region that offers the import, "
    "in a bucket of that Region, and holds a Hugging Face model (`config.json`, `.safetensors`)",
    nothing="no imported model (ha-inference:imported-model metadata)",
)
def check_imported_models(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack in target.stacks:
        for _path, model in stack.metadata_of(IMPORTED_MODEL_METADATA):
            if not isinstance(model, dict):
                continue
            source = str(model.get("s3Uri", ""))
            subject = f"{model.get('importedModelName', '?')} from {source}"
            owner = _expected_owner(model.get("bucketOwner"), stack, target.caller_account)
            try:
                yield _imported_model_finding(stack, source, aws, subject, owner)
            except CouldNotCheckError as err:
                yield _owner_or_access(err, subject, owner, stack.name)


def _imported_model_finding(
    stack: StackArtifact, source: str, aws: Aws, subject: str, owner: str
) -> Finding:
    if stack.region not in CUSTOM_MODEL_IMPORT_REGIONS:
        return failed(
            subject,
            f"Bedrock Custom Model Import is not offered in {stack.region} (offered in "
            f"{', '.join(sorted(CUSTOM_MODEL_IMPORT_REGIONS))})",
            "serve the model from a Region that offers the import, or leave it out of this one",
            stack=stack.name,
        )
    bucket, _, prefix = source.removeprefix("s3://").partition("/")
    region = _bucket_region(aws, bucket, owner)
    if region is None:
        return failed(
            subject, f"bucket {bucket} does not exist", "create it or fix the URI", stack=stack.name
        )
    if region != stack.region:
        return failed(
            subject,
            f"bucket {bucket} is in {region}, the import in {stack.region}",
            f"copy the model to a bucket in {stack.region} and use that URI for this Region",
            stack=stack.name,
        )
    listing = aws.elsewhere(region).call(
        "s3",
        "ListObjectsV2",
        Bucket=bucket,
        Prefix=prefix,
        MaxKeys=1000,
        ExpectedBucketOwner=owner,
    )
    keys = [str(o.get("Key", "")) for o in (listing or {}).get("Contents", [])]
    has_config = any(k.endswith("config.json") for k in keys)
    has_weights = any(k.endswith(".safetensors") for k in keys)
    if not (has_config and has_weights):
        missing = [
            n for n, ok in (("config.json", has_config), (".safetensors", has_weights)) if not ok
        ]
        return failed(
            subject,
            f"no {' and no '.join(missing)} under s3://{bucket}/{prefix}",
            "upload the model in Hugging Face format (config.json, tokenizer, .safetensors)",
            stack=stack.name,
        )
    return passed(
        subject,
        f"{len(keys)} objects, bucket of account {owner} in {region}",
        stack=stack.name,
    )


# --------------------------------------------------------------------------- unique names


@PREFLIGHT.check(
    "unique-names",
    summary="names unique per account and Region (collections, their security and access "
    "policies, SageMaker endpoints, application inference profiles) are free or already "
    "this stack's",
    nothing="no resource with a fixed name that must be unique",
)
def check_unique_names(target: Target, aws: Aws) -> Iterator[Finding]:
    existing = _Existing(aws)
    for stack in target.stacks:
        names = unique_names(stack)
        existing.collection_names.extend(n.name for n in names if n.resource_type == _COLLECTION)
        for name in names:
            yield from guarded(name.label, stack.name, _name_finding, target, stack, name, existing)


class _Existing:
    """What already exists in the Region under the names the app wants, asked lazily: the
    collections in one batch, the application inference profiles in one listing."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.collection_names: list[str] = []
        self._collections: dict[str, dict[str, Any]] | None = None
        self._applications: list[dict[str, Any]] | None = None

    def holder(self, name: UniqueName) -> tuple[set[str], str] | None:
        """The identifiers and state of the resource holding ``name``, or ``None``."""
        aws = self.aws
        if name.resource_type == _COLLECTION:
            found = self._collection(name.name)
            if not found:
                return None
            return {found.get("id", ""), found.get("arn", "")}, str(found.get("status", ""))
        if name.resource_type == "AWS::OpenSearchServerless::SecurityPolicy":
            answer = aws.call(
                "opensearchserverless",
                "GetSecurityPolicy",
                missing=("ResourceNotFoundException",),
                type=name.policy_type,
                name=name.name,
            )
            return ({name.name}, "") if answer else None
        if name.resource_type == "AWS::OpenSearchServerless::AccessPolicy":
            answer = aws.call(
                "opensearchserverless",
                "GetAccessPolicy",
                missing=("ResourceNotFoundException",),
                type=name.policy_type,
                name=name.name,
            )
            return ({name.name}, "") if answer else None
        if name.resource_type == "AWS::SageMaker::Endpoint":
            answer = aws.call(
                "sagemaker",
                "DescribeEndpoint",
                missing=lambda code, message: (
                    code == "ValidationException" and "could not find" in message.lower()
                ),
                EndpointName=name.name,
            )
            if not answer:
                return None
            return {answer.get("EndpointArn", ""), name.name}, str(answer.get("EndpointStatus", ""))
        profile = next(
            (p for p in self._profiles() if p.get("inferenceProfileName") == name.name), None
        )
        if profile is None:
            return None
        return {profile.get("inferenceProfileArn", ""), profile.get("inferenceProfileId", "")}, ""

    def _collection(self, name: str) -> dict[str, Any] | None:
        if self._collections is None:
            answer = self.aws.call(
                "opensearchserverless",
                "BatchGetCollection",
                names=sorted(set(self.collection_names)),
            )
            found = (answer or {}).get("collectionDetails", [])
            self._collections = {c.get("name", ""): c for c in found}
        return self._collections.get(name)

    def _profiles(self) -> list[dict[str, Any]]:
        if self._applications is None:
            self._applications = self.aws.pages(
                "bedrock",
                "ListInferenceProfiles",
                "inferenceProfileSummaries",
                token="nextToken",
                typeEquals="APPLICATION",
            )
        return self._applications


def _name_finding(
    target: Target, stack: StackArtifact, name: UniqueName, existing: _Existing
) -> Finding:
    holder = existing.holder(name)
    if holder is None:
        return passed(name.label, f"free in {target.region}", stack=stack.name)
    identifiers, state = holder
    deployed = target.deployed(stack, existing.aws)
    mine = deployed.resources.get(name.logical_id) if deployed else None
    if mine and mine.resource_type == name.resource_type:
        parts = {p.lower() for p in mine.physical_id.split("|")} | {mine.physical_id.lower()}
        if parts & {i.lower() for i in identifiers if i}:
            return passed(name.label, f"already this stack's ({name.logical_id})", stack=stack.name)
    state_text = f" ({state})" if state else ""
    return failed(
        name.label,
        f"already exists in {target.region}{state_text} and is not this stack's "
        f"{name.logical_id}: creating it fails",
        f"delete the existing {name.kind} (a retained one keeps its name after its stack is "
        "deleted) or choose another name",
        stack=stack.name,
    )


# --------------------------------------------------------------------------- command line


def main(argv: Sequence[str] | None = None, *, connector: Connector | None = None) -> int:
    return command_line(
        PREFLIGHT,
        description="Before cdk deploy: what would fail in this account, Region by Region.",
        argv=argv,
        connector=connector,
    )


if __name__ == "__main__":
    sys.exit(main())
