"""What ``preflight`` and ``verify`` read from a stack's template (no AWS calls here).

Everything is keyed on resource types and properties, never on logical ids, so it works for any
app that uses these constructs (and mostly for apps that do not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ha_inference.metadata import PROFILE_METADATA
from ha_inference.regions import Geography
from ha_inference.tools.assembly import StackArtifact, iam_statements

FOUNDATION_MODEL_ARN = re.compile(
    r"^arn:[\w-]+:bedrock:(?P<region>[a-z0-9-]*)::foundation-model/(?P<model>.+)$"
)
"""A foundation-model ARN; an empty Region is the Region-less ARN of global profiles."""

_SYSTEM_PROFILE_ARN = re.compile(
    r"^arn:[\w-]+:bedrock:(?P<region>[a-z0-9-]+):\d*:inference-profile/(?P<profile>[^/]+)$"
)
_GEOGRAPHIES = frozenset(g.value for g in Geography)


def logical_id(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, dict):
        if isinstance(value.get("Ref"), str):
            return str(value["Ref"])
        attribute = value.get("Fn::GetAtt")
        if isinstance(attribute, list) and attribute and isinstance(attribute[0], str):
            return attribute[0]
    return None


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _as_int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return default
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and value.isdigit() else default


# --------------------------------------------------------------------------- SageMaker


@dataclass(frozen=True)
class EndpointVariant:
    """An instance-backed production variant of an endpoint, and what it can run."""

    stack: str
    endpoint_id: str
    endpoint_name: str | None
    variant: str
    model_id: str | None
    """Logical id of the variant's ``AWS::SageMaker::Model`` (when in the template)."""
    pools: tuple[tuple[str, int], ...]
    """(instance type, priority), highest priority first; one entry without instance pools."""
    initial: int
    maximum: int
    source: str
    """How ``maximum`` was found, in words."""

    @property
    def label(self) -> str:
        return f"{self.stack} {self.endpoint_name or self.endpoint_id}/{self.variant}"


def endpoint_variants(stack: StackArtifact) -> list[EndpointVariant]:
    """Every instance-backed production variant of every endpoint in ``stack``.

    The most instances a variant can run is the ``MaxCapacity`` of the scalable target whose
    ``ResourceId`` is ``endpoint/<name>/variant/<variant>``, else the maximum of managed
    instance scaling, else the initial instance count. Serverless variants are left out.
    """
    configs = stack.of_type("AWS::SageMaker::EndpointConfig")
    endpoints = stack.of_type("AWS::SageMaker::Endpoint")
    names: dict[str, str] = {}
    for endpoint_id, endpoint in endpoints.items():
        name = stack.literal(endpoint.get("Properties", {}).get("EndpointName"))
        if name:
            names[f"{endpoint_id}.EndpointName"] = name
    maxima: dict[str, int] = {}
    for target in stack.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values():
        props = target.get("Properties", {})
        if props.get("ScalableDimension") != "sagemaker:variant:DesiredInstanceCount":
            continue
        resource_id = stack.literal(props.get("ResourceId"), names)
        if resource_id:
            maxima[resource_id] = _as_int(props.get("MaxCapacity"))
    config_names = _names_of(stack, configs, "EndpointConfigName")
    model_names = _names_of(stack, stack.of_type("AWS::SageMaker::Model"), "ModelName")
    variants: list[EndpointVariant] = []
    for endpoint_id, endpoint in sorted(endpoints.items()):
        reference = endpoint.get("Properties", {}).get("EndpointConfigName")
        config_id = logical_id(reference) or config_names.get(stack.literal(reference) or "")
        config = configs.get(config_id or "", {}).get("Properties", {})
        for production in config.get("ProductionVariants", []) or []:
            model = production.get("ModelName")
            variant = _variant(
                stack,
                production,
                endpoint_id=endpoint_id,
                endpoint_name=names.get(f"{endpoint_id}.EndpointName"),
                model_id=logical_id(model) or model_names.get(stack.literal(model) or ""),
                maxima=maxima,
            )
            if variant:
                variants.append(variant)
    return variants


def _names_of(
    stack: StackArtifact, resources: dict[str, dict[str, Any]], key: str
) -> dict[str, str]:
    """Literal name -> logical id, for resources that set ``key``."""
    found = {}
    for resource_id, resource in resources.items():
        name = stack.literal(resource.get("Properties", {}).get(key))
        if name:
            found[name] = resource_id
    return found


def _variant(
    stack: StackArtifact,
    production: dict[str, Any],
    *,
    endpoint_id: str,
    endpoint_name: str | None,
    model_id: str | None,
    maxima: dict[str, int],
) -> EndpointVariant | None:
    if production.get("ServerlessConfig"):
        return None
    pools: tuple[tuple[str, int], ...]
    if isinstance(production.get("InstanceType"), str):
        pools = ((production["InstanceType"], 1),)
    else:
        pools = tuple(
            sorted(
                (
                    (p["InstanceType"], _as_int(p.get("Priority"), 1))
                    for p in production.get("InstancePools") or []
                    if isinstance(p.get("InstanceType"), str)
                ),
                key=lambda pool: pool[1],
            )
        )
    if not pools:
        return None
    name = str(production.get("VariantName", "?"))
    initial = _as_int(production.get("InitialInstanceCount"), 1)
    managed = production.get("ManagedInstanceScaling") or {}
    scaled = maxima.get(f"endpoint/{endpoint_name}/variant/{name}") if endpoint_name else None
    if scaled is not None:
        maximum, source = scaled, f"{initial} at create, up to {scaled} by autoscaling"
    elif managed.get("Status") == "ENABLED" and managed.get("MaxInstanceCount"):
        maximum = _as_int(managed["MaxInstanceCount"])
        source = f"{initial} at create, up to {maximum} by managed instance scaling"
    else:
        maximum, source = initial, f"{initial} (no autoscaling target for the variant)"
    return EndpointVariant(
        stack=stack.name,
        endpoint_id=endpoint_id,
        endpoint_name=endpoint_name,
        variant=name,
        model_id=model_id,
        pools=pools,
        initial=initial,
        maximum=max(initial, maximum),
        source=source,
    )


def model_subnets(stack: StackArtifact, model_id: str | None) -> Any:
    """The ``VpcConfig.Subnets`` of a model in the template (``None`` without a VPC)."""
    model = stack.resources.get(model_id or "", {})
    return (model.get("Properties", {}).get("VpcConfig") or {}).get("Subnets")


def model_data_urls(stack: StackArtifact) -> list[tuple[str, str | None]]:
    """(model logical id, ``ModelDataUrl``) of every container; ``None`` when not a literal."""
    found = []
    for model_id, model in sorted(stack.of_type("AWS::SageMaker::Model").items()):
        props = model.get("Properties", {})
        for container in [props.get("PrimaryContainer"), *(props.get("Containers") or [])]:
            if isinstance(container, dict) and container.get("ModelDataUrl") is not None:
                found.append((model_id, stack.literal(container["ModelDataUrl"])))
    return found


def model_images(stack: StackArtifact) -> list[tuple[str, str | None]]:
    """(model logical id, container ``Image``) of every container; ``None`` when not a
    literal."""
    found = []
    for model_id, model in sorted(stack.of_type("AWS::SageMaker::Model").items()):
        props = model.get("Properties", {})
        for container in [props.get("PrimaryContainer"), *(props.get("Containers") or [])]:
            if isinstance(container, dict) and container.get("Image") is not None:
                found.append((model_id, stack.literal(container["Image"])))
    return found


def model_data_owner(stack: StackArtifact, model_id: str) -> str | None:
    """The account a model's execution role may read model data from: the
    ``aws:ResourceAccount`` of an ``s3:GetObject`` statement of the role (inline, or a policy
    attached to it); ``None`` when no statement pins one or it is not a literal."""
    model = stack.template.get("Resources", {}).get(model_id, {})
    role_id = logical_id(model.get("Properties", {}).get("ExecutionRoleArn"))
    if role_id is None:
        return None
    documents = []
    for resource_id, resource in stack.template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        if resource_id == role_id and resource.get("Type") == "AWS::IAM::Role":
            documents += [p.get("PolicyDocument") or {} for p in props.get("Policies") or []]
        elif resource.get("Type") == "AWS::IAM::Policy" and role_id in {
            logical_id(r) for r in as_list(props.get("Roles") or [])
        }:
            documents.append(props.get("PolicyDocument") or {})
    for document in documents:
        for statement in as_list(document.get("Statement") or []):
            if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
                continue
            if "s3:GetObject" not in as_list(statement.get("Action")):
                continue
            for operator, block in (statement.get("Condition") or {}).items():
                if operator != "StringEquals" or not isinstance(block, dict):
                    continue
                for key, value in block.items():
                    if key.lower() == "aws:resourceaccount":
                        return stack.literal(value)
    return None


# --------------------------------------------------------------------------- networking


@dataclass(frozen=True)
class InterfaceEndpoint:
    """An interface endpoint: EC2 (type Interface) or OpenSearch Serverless."""

    stack: StackArtifact
    logical_id: str
    resource_type: str
    service: str | None
    subnets: Any

    @property
    def label(self) -> str:
        short = (self.service or "?").split(".", 3)[-1]
        return f"{short} ({self.logical_id})"


def interface_endpoints(stack: StackArtifact) -> list[InterfaceEndpoint]:
    """Every interface endpoint of ``stack``: EC2 ones of type Interface, and OpenSearch
    Serverless ones (whose service is ``com.amazonaws.<region>.aoss``)."""
    found = []
    for endpoint_id, resource in sorted(stack.of_type("AWS::EC2::VPCEndpoint").items()):
        props = resource.get("Properties", {})
        if props.get("VpcEndpointType") == "Interface":
            found.append(
                InterfaceEndpoint(
                    stack,
                    endpoint_id,
                    "AWS::EC2::VPCEndpoint",
                    stack.literal(props.get("ServiceName")),
                    props.get("SubnetIds"),
                )
            )
    aoss = stack.literal({"Fn::Sub": "com.amazonaws.${AWS::Region}.aoss"})
    for endpoint_id, resource in sorted(
        stack.of_type("AWS::OpenSearchServerless::VpcEndpoint").items()
    ):
        found.append(
            InterfaceEndpoint(
                stack,
                endpoint_id,
                "AWS::OpenSearchServerless::VpcEndpoint",
                aoss,
                resource.get("Properties", {}).get("SubnetIds"),
            )
        )
    return found


def load_balancer_subnets(stack: StackArtifact, target_group_id: str) -> Any:
    """The subnets of the load balancer whose listener forwards to ``target_group_id``."""
    for listener in stack.of_type("AWS::ElasticLoadBalancingV2::Listener").values():
        props = listener.get("Properties", {})
        forwards = {
            logical_id(action.get("TargetGroupArn")) for action in props.get("DefaultActions") or []
        } | {
            logical_id(group.get("TargetGroupArn"))
            for action in props.get("DefaultActions") or []
            for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []
        }
        if target_group_id in forwards:
            balancer = stack.resources.get(logical_id(props.get("LoadBalancerArn")) or "", {})
            balancer_props = balancer.get("Properties", {})
            mappings = balancer_props.get("SubnetMappings")
            if mappings:
                return [m.get("SubnetId") for m in mappings]
            return balancer_props.get("Subnets")
    return None


# --------------------------------------------------------------------------- Bedrock


@dataclass(frozen=True)
class ModelGrant:
    """An Allow of the invoke actions on a foundation model in one Region (``""``: any)."""

    model_id: str
    region: str
    profiles: tuple[str | None, ...]
    """The ``bedrock:InferenceProfileArn`` condition values (``None``: not a literal)."""

    @property
    def through_profile(self) -> bool:
        return bool(self.profiles)


def _invokes(action: Any) -> bool:
    return isinstance(action, str) and (
        action in ("*", "bedrock:*") or action.lower().startswith("bedrock:invoke")
    )


def model_grants(stack: StackArtifact) -> list[ModelGrant]:
    """Every foundation model the stack's identity policies allow invoking, and how."""
    grants = []
    for statement in iam_statements(stack.template):
        if statement.get("Effect") != "Allow":
            continue
        if not any(_invokes(a) for a in as_list(statement.get("Action"))):
            continue
        profiles = tuple(
            stack.literal(value)
            for block in (statement.get("Condition") or {}).values()
            if isinstance(block, dict)
            for key, values in block.items()
            if key.lower() == "bedrock:inferenceprofilearn"
            for value in as_list(values)
        )
        for resource in as_list(statement.get("Resource")):
            found = FOUNDATION_MODEL_ARN.match(stack.literal(resource) or "")
            if found:
                grants.append(ModelGrant(found["model"], found["region"], profiles))
    return grants


@dataclass(frozen=True)
class ProfileUse:
    """A system cross-Region inference profile the stack uses."""

    profile_id: str
    destinations: frozenset[str] | None
    """From the construct's metadata; ``None`` when the profile is known only from IAM."""

    @property
    def geography(self) -> str | None:
        return geography_of(self.profile_id)

    @property
    def model_id(self) -> str:
        return self.profile_id.split(".", 1)[1]


def geography_of(profile_id: str) -> str | None:
    """The geography prefix of a system profile id (``us``, ``eu``, ``global``...)."""
    prefix = profile_id.split(".", 1)[0]
    return prefix if prefix in _GEOGRAPHIES and "." in profile_id else None


def profiles_of(stack: StackArtifact) -> list[ProfileUse]:
    """The system profiles the stack uses: marked by the constructs (metadata
    ``ha-inference:inference-profile``), or named in its identity policies."""
    found: dict[str, frozenset[str] | None] = {}
    for _path, data in stack.metadata_of(PROFILE_METADATA):
        if isinstance(data, dict) and isinstance(data.get("profileId"), str):
            found[data["profileId"]] = frozenset(data.get("destinationRegions") or [])
    for statement in iam_statements(stack.template):
        if statement.get("Effect") != "Allow":
            continue
        for resource in as_list(statement.get("Resource")):
            arn = _SYSTEM_PROFILE_ARN.match(stack.literal(resource) or "")
            if arn and arn["region"] == stack.region and geography_of(arn["profile"]):
                found.setdefault(arn["profile"], None)
    return [ProfileUse(p, d) for p, d in sorted(found.items())]


# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class UniqueName:
    """A name that must be unique per account and Region, and the resource that sets it."""

    kind: str
    name: str
    logical_id: str
    resource_type: str
    policy_type: str = ""

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


_NAMED = {
    "AWS::OpenSearchServerless::Collection": ("collection", "Name"),
    "AWS::OpenSearchServerless::SecurityPolicy": ("security policy", "Name"),
    "AWS::OpenSearchServerless::AccessPolicy": ("access policy", "Name"),
    "AWS::SageMaker::Endpoint": ("SageMaker endpoint", "EndpointName"),
    "AWS::Bedrock::ApplicationInferenceProfile": ("inference profile", "InferenceProfileName"),
}


def unique_names(stack: StackArtifact) -> list[UniqueName]:
    """Every literal name of a resource whose name is unique per account and Region, kind by
    kind (collections, security policies, access policies, endpoints, profiles)."""
    names = []
    for resource_id, resource in sorted(stack.resources.items()):
        resource_type = resource.get("Type", "")
        if resource_type not in _NAMED:
            continue
        kind, key = _NAMED[resource_type]
        props = resource.get("Properties", {})
        name = stack.literal(props.get(key))
        if not name:
            continue
        policy_type = str(props.get("Type", "")) if resource_type.endswith("Policy") else ""
        names.append(
            UniqueName(
                f"{policy_type} {kind}" if policy_type else kind,
                name,
                resource_id,
                resource_type,
                policy_type,
            )
        )
    order = list(_NAMED)
    return sorted(names, key=lambda n: (order.index(n.resource_type), n.name))
