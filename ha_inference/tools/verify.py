"""After ``cdk deploy``: prove every AZ serves. ``ha-inference verify cdk.out``.

Reads the same cloud assembly that was deployed and checks the deployed stacks, read-only
except for one test question: each stack is deployed and complete; every load balancer target
group has a healthy target in every AZ; each SageMaker endpoint is InService with at least as
many instances as AZs; every interface endpoint is available with an ENI in every subnet; each
OpenSearch Serverless collection is active with standby replicas; each VPC function's subnets
span every AZ; one question through the retrieval function comes back with an answer.
Physical ids come from ``cloudformation:ListStackResources`` (logical id -> physical id).

Exit status: 0 when every check passes (warnings allowed), 1 when one fails or could not be
checked, 2 when it cannot run (no assembly, no credentials). Meant for the pipeline step after
every deploy.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import sys
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from ha_inference.tools._account import (
    ACCOUNT_CHECK,
    Aws,
    Connector,
    CouldNotCheckError,
    Deployed,
    Finding,
    Permission,
    Permissions,
    Registry,
    Target,
    command_line,
    failed,
    guarded,
    passed,
    stack_zones,
    unknown,
    warning,
    zones_of_subnets,
)
from ha_inference.tools._template import (
    EndpointVariant,
    InterfaceEndpoint,
    endpoint_variants,
    interface_endpoints,
    load_balancer_subnets,
    logical_id,
    model_subnets,
)
from ha_inference.tools.assembly import StackArtifact

RETRIEVAL_HANDLER = "retrieval.handler"
"""The handler of the shipped retrieval function (``ShippedHandler.RETRIEVAL``)."""

DEFAULT_QUESTION = "What is this service for?"

PERMISSIONS = Permissions(
    "verify",
    [
        Permission("sts", "GetCallerIdentity", "", why="the caller's account"),
        Permission(
            "cloudformation",
            "DescribeStacks",
            "cloudformation:DescribeStacks",
            why="each stack's status",
        ),
        Permission(
            "cloudformation",
            "ListStackResources",
            "cloudformation:ListStackResources",
            why="physical ids of the stack's resources",
        ),
        Permission(
            "elbv2",
            "DescribeTargetHealth",
            "elasticloadbalancing:DescribeTargetHealth",
            why="healthy targets of each target group",
        ),
        Permission(
            "ec2",
            "DescribeNetworkInterfaces",
            "ec2:DescribeNetworkInterfaces",
            why="the AZ of each target IP and of each endpoint ENI",
        ),
        Permission(
            "ec2",
            "DescribeSubnets",
            "ec2:DescribeSubnets",
            why="the AZ of each subnet a function or model uses",
        ),
        Permission(
            "ec2",
            "DescribeVpcEndpoints",
            "ec2:DescribeVpcEndpoints",
            why="state, subnets and ENIs of each interface endpoint",
        ),
        Permission(
            "sagemaker",
            "DescribeEndpoint",
            "sagemaker:DescribeEndpoint",
            why="endpoint status and current instance counts",
        ),
        Permission(
            "opensearchserverless",
            "BatchGetCollection",
            "aoss:BatchGetCollection",
            why="collection status and standby replicas",
        ),
        Permission(
            "opensearchserverless",
            "BatchGetVpcEndpoint",
            "aoss:BatchGetVpcEndpoint",
            why="status and subnets of each OpenSearch Serverless VPC endpoint",
        ),
        Permission(
            "lambda",
            "GetFunctionConfiguration",
            "lambda:GetFunctionConfiguration",
            why="state and VPC subnets of each function",
        ),
        Permission(
            "lambda",
            "Invoke",
            "lambda:InvokeFunction",
            why="the one test question to the retrieval function",
        ),
    ],
)

VERIFY = Registry(PERMISSIONS, [ACCOUNT_CHECK])
"""The verify checks, in the order they run; add one with ``@VERIFY.check(...)``."""

_DONE = (
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "IMPORT_COMPLETE",
)


def _deployed_stacks(target: Target, aws: Aws) -> Iterator[tuple[StackArtifact, Deployed]]:
    """The target's stacks that are deployed (the ``stack`` check reports the others)."""
    for stack in target.stacks:
        deployed = target.deployed(stack, aws)
        if deployed is not None:
            yield stack, deployed


def _not_deployed(stack: StackArtifact, subject: str, logical: str) -> Finding:
    return failed(
        subject,
        f"{logical} is in the template but not in the deployed stack",
        "deploy this assembly (cdk deploy), then verify again",
        stack=stack.name,
    )


def _physical_subnets(deployed: Deployed, refs: Any) -> list[str | None]:
    """The subnet ids a template names: physical ids of its own subnets, literal ids as is."""
    found: list[str | None] = []
    for ref in refs if isinstance(refs, list) else []:
        if isinstance(ref, str):
            found.append(ref)
        else:
            found.append(deployed.physical_id(logical_id(ref) or ""))
    return found


def _expected_zones(
    stack: StackArtifact, refs: Any, aws: Aws, others: Sequence[StackArtifact] = ()
) -> list[str]:
    """The AZs a zonal resource must cover: the stack's, else those of the subnets it names
    (its own, or another stack's read through an output: a ``-CrossRegion`` stack's functions
    run in its regional stack's subnets)."""
    return stack_zones(stack) or sorted(
        {z for z in zones_of_subnets(stack, refs, aws, others) if z}
    )


# --------------------------------------------------------------------------- checks


@VERIFY.check(
    "stack",
    summary="each stack is deployed and its last operation completed",
    nothing="no stacks",
)
def check_stacks(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack in target.stacks:
        try:
            deployed = target.deployed(stack, aws)
        except CouldNotCheckError as err:
            yield err.finding(stack.name, stack=stack.name)
            continue
        if deployed is None:
            yield failed(
                stack.name,
                f"no stack {stack.name} in {target.region}",
                "deploy it (cdk deploy), then verify again",
                stack=stack.name,
            )
        elif deployed.status in _DONE:
            # Resources under a Condition may rightly be absent.
            expected = {k for k, r in stack.resources.items() if "Condition" not in r}
            missing = sorted(expected - set(deployed.resources))
            if missing:
                yield failed(
                    stack.name,
                    f"{deployed.status}, but {len(missing)} resources of this assembly are not "
                    f"deployed ({', '.join(missing[:5])}{'...' if len(missing) > 5 else ''})",
                    "deploy this assembly (cdk deploy), then verify again",
                    stack=stack.name,
                )
            else:
                yield passed(
                    stack.name,
                    f"{deployed.status}, {len(deployed.resources)} resources",
                    stack=stack.name,
                )
        else:
            yield failed(
                stack.name,
                f"the stack is {deployed.status}",
                "wait for the operation to end, or see the stack events (a ROLLBACK status means "
                "the last deploy failed)",
                stack=stack.name,
            )


@VERIFY.check(
    "load-balancer",
    summary="every load balancer target group has a healthy target in every AZ",
    nothing="no load balancer target groups",
)
def check_target_health(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack, deployed in _deployed_stacks(target, aws):
        groups = stack.of_type("AWS::ElasticLoadBalancingV2::TargetGroup")
        for group_id, group in sorted(groups.items()):
            if group.get("Properties", {}).get("TargetType") == "lambda":
                continue
            yield from guarded(
                group_id, stack.name, _target_health_finding, stack, deployed, group_id, group, aws
            )


def _target_health_finding(
    stack: StackArtifact, deployed: Deployed, group_id: str, group: dict[str, Any], aws: Aws
) -> Finding:
    arn = deployed.physical_id(group_id)
    if arn is None:
        return _not_deployed(stack, group_id, group_id)
    expected = _expected_zones(stack, load_balancer_subnets(stack, group_id), aws)
    health = aws.call("elbv2", "DescribeTargetHealth", TargetGroupArn=arn) or {}
    descriptions = health.get("TargetHealthDescriptions", [])
    vpc_id = deployed.physical_id(logical_id(group.get("Properties", {}).get("VpcId")) or "")
    zones = _target_zones(aws, [d.get("Target", {}) for d in descriptions], vpc_id)
    healthy: dict[str, int] = defaultdict(int)
    states: dict[str, list[str]] = defaultdict(list)
    for description in descriptions:
        zone = zones.get(description.get("Target", {}).get("Id", ""))
        state = description.get("TargetHealth", {})
        if state.get("State") == "healthy" and zone:
            healthy[zone] += 1
        states[zone or "an unknown AZ"].append(
            "/".join(x for x in (state.get("State"), state.get("Reason")) if x)
        )
    covered = ", ".join(f"{z} ({healthy[z]})" for z in sorted(healthy))
    empty = [z for z in expected if not healthy.get(z)]
    if not expected:
        return unknown(
            group_id,
            f"the load balancer's AZs cannot be told from the template; healthy in {covered}",
            "give the stack concrete AZs",
            stack=stack.name,
        )
    if empty and any(
        d.get("TargetHealth", {}).get("State") == "healthy"
        and not zones.get(d.get("Target", {}).get("Id", ""))
        for d in descriptions
    ):
        return unknown(
            group_id,
            f"no healthy target known in {', '.join(empty)}, but healthy targets whose AZ "
            "cannot be told (not IP targets in the VPC)"
            + (f"; healthy in {covered}" if covered else ""),
            "register IP targets, or check the targets' AZs by hand",
            stack=stack.name,
        )
    if empty:
        seen = "; ".join(f"{z}: {', '.join(states[z]) or 'no targets'}" for z in empty)
        return failed(
            group_id,
            f"no healthy target in {', '.join(empty)} ({seen})"
            + (f"; healthy in {covered}" if covered else ""),
            "see why the targets fail their health checks (the service behind them, security "
            "groups, the health-check port)",
            stack=stack.name,
        )
    return passed(group_id, f"healthy targets in {covered}", stack=stack.name)


def _target_zones(
    aws: Aws, targets: Sequence[dict[str, Any]], vpc_id: str | None
) -> dict[str, str]:
    """Target id -> AZ: as the load balancer reports it, else from the ENI holding the IP."""
    zones = {
        t["Id"]: t["AvailabilityZone"]
        for t in targets
        if t.get("AvailabilityZone") not in (None, "all") and t.get("Id")
    }
    addresses = sorted({t["Id"] for t in targets if _is_ip(t.get("Id")) and t["Id"] not in zones})
    if addresses:
        filters = [{"Name": "addresses.private-ip-address", "Values": addresses}]
        if vpc_id:
            filters.append({"Name": "vpc-id", "Values": [vpc_id]})
        for interface in aws.pages(
            "ec2", "DescribeNetworkInterfaces", "NetworkInterfaces", Filters=filters
        ):
            for address in interface.get("PrivateIpAddresses", []):
                ip = address.get("PrivateIpAddress")
                if ip in addresses and interface.get("AvailabilityZone"):
                    zones[ip] = interface["AvailabilityZone"]
    return zones


def _is_ip(value: Any) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


@VERIFY.check(
    "sagemaker-endpoint",
    summary="each SageMaker endpoint is InService with at least as many instances as its "
    "model's AZs in every variant",
    nothing="no SageMaker endpoints",
)
def check_sagemaker_endpoints(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack, deployed in _deployed_stacks(target, aws):
        variants = endpoint_variants(stack)
        for endpoint_id, endpoint in sorted(stack.of_type("AWS::SageMaker::Endpoint").items()):
            yield from guarded(
                endpoint_id,
                stack.name,
                _endpoint_findings,
                stack,
                deployed,
                endpoint_id,
                endpoint,
                aws,
                variants=[v for v in variants if v.endpoint_id == endpoint_id],
            )


def _endpoint_findings(
    stack: StackArtifact,
    deployed: Deployed,
    endpoint_id: str,
    endpoint: dict[str, Any],
    aws: Aws,
    *,
    variants: Sequence[EndpointVariant],
) -> Iterator[Finding]:
    arn = deployed.physical_id(endpoint_id)
    if arn is None:
        yield _not_deployed(stack, endpoint_id, endpoint_id)
        return
    name = stack.literal(endpoint.get("Properties", {}).get("EndpointName")) or arn.split("/")[-1]
    described = aws.call(
        "sagemaker",
        "DescribeEndpoint",
        missing=lambda code, message: (
            code == "ValidationException" and "could not find" in message.lower()
        ),
        EndpointName=name,
    )
    if described is None:
        yield failed(
            name, "the endpoint does not exist", "deploy the stack again", stack=stack.name
        )
        return
    status = described.get("EndpointStatus")
    if status != "InService":
        reason = described.get("FailureReason")
        yield failed(
            name,
            f"the endpoint is {status}" + (f": {reason}" if reason else ""),
            "wait for InService, or see the failure reason and the endpoint's CloudWatch logs",
            stack=stack.name,
        )
        return
    counts = {
        v.get("VariantName"): v.get("CurrentInstanceCount")
        for v in described.get("ProductionVariants", [])
    }
    if not variants:
        yield passed(name, "InService (no instance-backed variants)", stack=stack.name)
    for variant in variants:
        subject = f"{name}/{variant.variant}"
        zones = zones_of_subnets(stack, model_subnets(stack, variant.model_id), aws)
        azs = sorted({z for z in zones if z})
        current = counts.get(variant.variant)
        if current is None:
            yield failed(
                subject,
                "InService, but the variant is not deployed",
                "deploy the stack again",
                stack=stack.name,
            )
        elif not azs or None in zones:
            yield unknown(
                subject,
                f"InService with {current} instances; the model's AZs cannot be told (no VPC "
                "config or subnets outside the template)",
                "run the model in a VPC whose subnets the template names",
                stack=stack.name,
            )
        elif current < len(azs):
            yield failed(
                subject,
                f"InService with {current} instances for {len(azs)} AZs ({', '.join(azs)}): "
                "at least one AZ has none",
                f"keep at least {len(azs)} instances (the autoscaling minimum)",
                stack=stack.name,
            )
        else:
            yield passed(
                subject,
                f"InService with {current} instances over {len(azs)} AZs ({', '.join(azs)})",
                stack=stack.name,
            )


@VERIFY.check(
    "interface-endpoint",
    summary="every interface endpoint is available with an ENI in every one of its subnets",
    nothing="no interface endpoints",
)
def check_interface_endpoints(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack, deployed in _deployed_stacks(target, aws):
        for endpoint in interface_endpoints(stack):
            yield from guarded(
                endpoint.label,
                stack.name,
                _interface_endpoint_finding,
                stack,
                deployed,
                endpoint,
                aws,
            )


def _interface_endpoint_finding(
    stack: StackArtifact, deployed: Deployed, endpoint: InterfaceEndpoint, aws: Aws
) -> Finding:
    subject = endpoint.label
    endpoint_id = deployed.physical_id(endpoint.logical_id)
    if endpoint_id is None:
        return _not_deployed(stack, subject, endpoint.logical_id)
    expected = _physical_subnets(deployed, endpoint.subnets)
    if not expected or None in expected:
        return unknown(
            subject,
            "the endpoint's subnets cannot be told from the template and the stack",
            "name the subnets in the template",
            stack=stack.name,
        )
    subnets = [s for s in expected if s]
    if endpoint.resource_type == "AWS::OpenSearchServerless::VpcEndpoint":
        answer = aws.call("opensearchserverless", "BatchGetVpcEndpoint", ids=[endpoint_id]) or {}
        details = answer.get("vpcEndpointDetails") or [{}]
        state = str(details[0].get("status", "missing"))
        placed = set(details[0].get("subnetIds") or [])
        healthy = state == "ACTIVE"
        where = "subnets"
    else:
        answer = (
            aws.call(
                "ec2",
                "DescribeVpcEndpoints",
                missing=("InvalidVpcEndpointId.NotFound",),
                VpcEndpointIds=[endpoint_id],
            )
            or {}
        )
        details = answer.get("VpcEndpoints") or [{}]
        state = str(details[0].get("State", "missing"))
        healthy = state.lower() == "available"
        interfaces = details[0].get("NetworkInterfaceIds") or []
        found = (
            aws.pages(
                "ec2",
                "DescribeNetworkInterfaces",
                "NetworkInterfaces",
                NetworkInterfaceIds=interfaces,
            )
            if interfaces
            else []
        )
        placed = {i.get("SubnetId") for i in found}
        where = "ENIs"
    lacking = [s for s in subnets if s not in placed]
    zones = {s: aws.subnet_zone(s) or "?" for s in lacking}
    if not healthy:
        return failed(
            subject,
            f"the endpoint is {state}",
            "see the endpoint in the VPC console; deploy again if it failed",
            stack=stack.name,
        )
    if lacking:
        return failed(
            subject,
            f"{state}, but no {where[:-1]} in " + ", ".join(f"{s} ({zones[s]})" for s in lacking),
            "add the subnets to the endpoint (deploy the template again)",
            stack=stack.name,
        )
    if where == "subnets":
        placement = f"in all {len(subnets)} subnets (OpenSearch Serverless manages its ENIs)"
    else:
        placement = f"an ENI in each of its {len(subnets)} subnets"
    return passed(subject, f"{state}, {placement}", stack=stack.name)


@VERIFY.check(
    "collection",
    summary="each OpenSearch Serverless collection is ACTIVE with standby replicas, under the "
    "KMS key its encryption policy names when that key is the stack's",
    nothing="no OpenSearch Serverless collections",
)
def check_collections(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack, deployed in _deployed_stacks(target, aws):
        for collection_id, collection in sorted(
            stack.of_type("AWS::OpenSearchServerless::Collection").items()
        ):
            name = stack.literal(collection.get("Properties", {}).get("Name")) or collection_id
            yield from guarded(
                name, stack.name, _collection_finding, stack, deployed, collection_id, name, aws
            )


def _collection_finding(
    stack: StackArtifact, deployed: Deployed, collection_id: str, name: str, aws: Aws
) -> Finding:
    physical = deployed.physical_id(collection_id)
    if physical is None:
        return _not_deployed(stack, name, collection_id)
    answer = aws.call("opensearchserverless", "BatchGetCollection", ids=[physical]) or {}
    details = answer.get("collectionDetails") or []
    if not details:
        return failed(name, "the collection does not exist", "deploy again", stack=stack.name)
    status, standby = details[0].get("status"), details[0].get("standbyReplicas")
    if status != "ACTIVE":
        reason = details[0].get("failureMessage")
        return failed(
            name,
            f"the collection is {status}" + (f": {reason}" if reason else ""),
            "wait for ACTIVE, or see the failure message",
            stack=stack.name,
        )
    if standby != "ENABLED":
        return failed(
            name,
            f"ACTIVE, but standby replicas are {standby}: one AZ holds the data",
            "recreate the collection with StandbyReplicas ENABLED (it cannot be changed)",
            stack=stack.name,
        )
    key = _collection_key(stack, deployed, name)
    if key is None:
        return passed(name, "ACTIVE with standby replicas", stack=stack.name)
    actual = str(details[0].get("kmsKeyArn") or "")
    if actual.rsplit("/", 1)[-1] != key:
        return failed(
            name,
            f"ACTIVE with standby replicas, but encrypted with "
            f"{'key ' + actual.rsplit('/', 1)[-1] if '/' in actual else 'an AWS owned key'}, not "
            f"the key {key} its encryption policy names: OpenSearch Serverless keeps the key a "
            "collection was created with",
            "deploy with a new collection name to create the collection under the stack's key, "
            "then load the documents again",
            stack=stack.name,
        )
    return passed(name, f"ACTIVE with standby replicas, encrypted with key {key}", stack=stack.name)


def _collection_key(stack: StackArtifact, deployed: Deployed, name: str) -> str | None:
    """The id of the deployed KMS key the collection's encryption policy names, or ``None``
    (an AWS owned key, or a key the template does not define)."""
    for policy in stack.of_type("AWS::OpenSearchServerless::SecurityPolicy").values():
        properties = policy.get("Properties", {})
        if properties.get("Type") != "encryption":
            continue
        text = json.dumps(properties.get("Policy"))
        if f"collection/{name}" not in text:
            continue
        keys = [
            logical
            for logical in stack.of_type("AWS::KMS::Key")
            if json.dumps({"Fn::GetAtt": [logical, "Arn"]}) in text
        ]
        return deployed.physical_id(keys[0]) if keys else None
    return None


@VERIFY.check(
    "function-vpc",
    summary="each VPC Lambda function is Active with subnets in every AZ of the stack",
    nothing="no Lambda functions in a VPC",
)
def check_functions(target: Target, aws: Aws) -> Iterator[Finding]:
    for stack, deployed in _deployed_stacks(target, aws):
        for function_id, function in sorted(stack.of_type("AWS::Lambda::Function").items()):
            refs = (function.get("Properties", {}).get("VpcConfig") or {}).get("SubnetIds")
            if not refs:
                continue
            yield from guarded(
                function_id,
                stack.name,
                _function_finding,
                stack,
                deployed,
                function_id,
                refs,
                aws,
                others=target.stacks,
            )


def _function_finding(
    stack: StackArtifact,
    deployed: Deployed,
    function_id: str,
    refs: Any,
    aws: Aws,
    *,
    others: Sequence[StackArtifact] = (),
) -> Finding:
    name = deployed.physical_id(function_id)
    if name is None:
        return _not_deployed(stack, function_id, function_id)
    config = (
        aws.call(
            "lambda",
            "GetFunctionConfiguration",
            missing=("ResourceNotFoundException",),
            FunctionName=name,
        )
        or {}
    )
    if not config:
        return failed(name, "the function does not exist", "deploy again", stack=stack.name)
    state = config.get("State", "Active")
    if state != "Active" or config.get("LastUpdateStatus", "Successful") == "Failed":
        reason = config.get("StateReason") or config.get("LastUpdateStatusReason") or ""
        return failed(
            name,
            f"the function is {state} (last update {config.get('LastUpdateStatus')}): {reason}",
            "see the reason (ENI limits, subnet IP addresses, role permissions)",
            stack=stack.name,
        )
    subnets = (config.get("VpcConfig") or {}).get("SubnetIds") or []
    zones = sorted({z for z in (aws.subnet_zone(s) for s in subnets) if z})
    expected = _expected_zones(stack, refs, aws, others)
    if not expected:
        return unknown(
            name,
            f"Active, subnets in {', '.join(zones) or 'no AZ'}; the AZs it should cover cannot "
            "be told from the assembly (its subnets come from a stack outside it)",
            "synthesize the stack that owns the subnets into the same assembly, or compare the "
            "function's subnets with the VPC's AZs by hand",
            stack=stack.name,
        )
    lacking = [z for z in expected if z not in zones]
    if lacking:
        return failed(
            name,
            f"subnets in {', '.join(zones) or 'no AZ'}, none in {', '.join(lacking)}",
            "give the function a subnet in every AZ (MultiAzFunction does) and deploy again",
            stack=stack.name,
        )
    return passed(
        name, f"Active, subnets in {', '.join(zones)} ({len(subnets)} subnets)", stack=stack.name
    )


@VERIFY.check(
    "question",
    summary='one question (`{"question": ...}`) through each retrieval function '
    "(`retrieval.handler`) returns an answer with sources",
    nothing="no retrieval function (handler retrieval.handler)",
)
def check_question(target: Target, aws: Aws) -> Iterator[Finding]:
    question = str(target.options.get("question") or DEFAULT_QUESTION)
    for stack, deployed in _deployed_stacks(target, aws):
        for function_id, function in sorted(stack.of_type("AWS::Lambda::Function").items()):
            if function.get("Properties", {}).get("Handler") != RETRIEVAL_HANDLER:
                continue
            name = deployed.physical_id(function_id)
            if name is None:
                yield _not_deployed(stack, function_id, function_id)
                continue
            yield from guarded(name, stack.name, _question_finding, stack, name, question, aws)


def _question_finding(stack: StackArtifact, name: str, question: str, aws: Aws) -> Finding:
    answer = (
        aws.call(
            "lambda",
            "Invoke",
            FunctionName=name,
            InvocationType="RequestResponse",
            Payload=json.dumps({"question": question}).encode(),
        )
        or {}
    )
    payload = answer.get("Payload", b"")
    raw = payload.read() if hasattr(payload, "read") else payload
    try:
        response = json.loads(raw or b"null")
    except ValueError:
        response = None
    if answer.get("FunctionError"):
        message = response.get("errorMessage") if isinstance(response, dict) else raw[:200]
        return failed(
            name,
            f"the function failed ({answer['FunctionError']}): {message}",
            "see the function's log group",
            stack=stack.name,
        )
    if not isinstance(response, dict) or "statusCode" not in response:
        return failed(
            name,
            f"an answer that is not the documented proxy response: {str(raw)[:200]}",
            "check the function's handler",
            stack=stack.name,
        )
    try:
        body = json.loads(response.get("body") or "{}")
    except ValueError:
        body = {}
    status = response["statusCode"]
    if status == 502 and "control policy" in str(body.get("error", "")):
        return failed(
            name,
            f"HTTP 502: {body.get('error')}: an AWS Organizations policy refused a Bedrock call, "
            "for example in a Region the inference profile routes to",
            "a Region-deny SCP must let the profile's calls through in every destination Region: "
            "'ha-inference scp cdk.out' prints the statements to add; the function's log names "
            "the Region and the policy",
            stack=stack.name,
        )
    if status != 200:
        return failed(
            name,
            f"HTTP {status}: {body.get('error', body)}",
            "see the function's log group; 502 names the dependency that refused",
            stack=stack.name,
        )
    sources = body.get("sources") or []
    text = str(body.get("answer", ""))
    if sources:
        return passed(
            name,
            f"answered from {len(sources)} sources: {text[:100]}{'...' if len(text) > 100 else ''}",
            stack=stack.name,
        )
    # The shipped handler imports botocore; this runs only once boto3 answered a call.
    from ha_inference.functions.retrieval import NO_PASSAGES_ANSWER  # noqa: PLC0415

    if text == NO_PASSAGES_ANSWER:
        return warning(
            name,
            "embedding and search work, but no passages matched (no documents loaded?), so the "
            "model path was not exercised",
            "load documents into the index, then verify again",
            stack=stack.name,
        )
    return failed(
        name,
        f"HTTP 200 without sources: {text[:100]}",
        "check the index and the function's configuration",
        stack=stack.name,
    )


# --------------------------------------------------------------------------- command line


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--question",
        default=DEFAULT_QUESTION,
        help=f"the test question for the retrieval function (default: {DEFAULT_QUESTION!r})",
    )


def main(argv: Sequence[str] | None = None, *, connector: Connector | None = None) -> int:
    return command_line(
        VERIFY,
        description="After cdk deploy: prove that every AZ of every deployed stack serves.",
        argv=argv,
        connector=connector,
        add_arguments=_arguments,
    )


if __name__ == "__main__":
    sys.exit(main())
