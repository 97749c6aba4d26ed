"""ARNs and other strings with a required form.

Rules:

``hand-built-arn``
    An ARN string (``Fn::Join``, ``Fn::Sub`` or a literal) names a resource of the same template
    that has an ARN attribute (per its CloudFormation resource schema, bundled with cfn-lint),
    in the resource's own service, built from its name or id (a ``Ref`` or a non-ARN attribute
    of it, or the literal name the template gives it) instead of taken from the attribute. A
    hand-built ARN is a guess at a form that the service may not use (the FIS log group ARN
    needs the ``:*`` that ``LogGroup.log_group_arn`` has). ARNs derived from the attribute
    itself (``Fn::Join [Fn::GetAtt Function.Arn, ":*"]`` for a function's versions) pass.
    :data:`ALLOWED_HAND_BUILT` lists accepted exceptions with their reasons.
``required-form``
    Fields whose form a service requires beyond what its schema says (:data:`REQUIRED_FORMS`).
``schema-pattern``
    A string property whose value CloudFormation computes (an intrinsic function) matches the
    ``pattern``, ``minLength`` and ``maxLength`` of its resource schema once resolved, where the
    resolved value is concrete (no part known only at deploy time). cfn-lint checks literal
    values against the same schemas; this covers what it cannot resolve.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tests.truth.cfn import (
    HOLE_PATTERN,
    Finding,
    Resolver,
    StackLike,
    _schema,
    arn_attributes,
    hole,
    resources_of,
    returns_arn,
    walk,
)

REQUIRED_FORMS: Mapping[tuple[str, str], tuple[re.Pattern[str], str]] = {
    (
        "AWS::FIS::ExperimentTemplate",
        "LogConfiguration.CloudWatchLogsConfiguration.LogGroupArn",
    ): (
        re.compile(r"^arn:[a-z-]+:logs:[a-z0-9-]+:[0-9]{12}:log-group:[^:]+:\*$"),
        "FIS accepts a log group ARN only in the form ending in ':*' (the log group's Arn "
        "attribute) and refuses '...:log-group:<name>' with 'ValidationException: The "
        "logGroupArn ... is not valid' (hashicorp/terraform-provider-aws pull request 35941)",
    ),
}
"""(resource type, property path): (pattern of the resolved value, why)."""

ALLOWED_HAND_BUILT: Mapping[tuple[str, str], str] = {}
"""(resource type, property path prefix) of an accepted hand-built ARN: the reason."""

SERVICE_OF_NAMESPACE = {
    "ApplicationAutoScaling": "application-autoscaling",
    "ARCZonalShift": "arc-zonal-shift",
    "CertificateManager": "acm",
    "ElasticLoadBalancingV2": "elasticloadbalancing",
    "OpenSearchServerless": "aoss",
    "StepFunctions": "states",
}
"""The ARN service of CloudFormation namespaces whose lower-cased name is not it."""


def arn_service(resource_type: str) -> str:
    """The service part of the ARNs of a ``resource_type`` (``AWS::Logs::LogGroup``: logs)."""
    parts = resource_type.split("::")
    if len(parts) != 3 or parts[0] != "AWS":
        return ""
    return SERVICE_OF_NAMESPACE.get(parts[1], parts[1].lower())


def _references(value: Any) -> Iterator[tuple[str, str]]:
    """(logical id, attribute or "Ref") of every reference inside an intrinsic value."""
    if isinstance(value, dict):
        for function, argument in value.items():
            if function == "Ref" and isinstance(argument, str):
                yield argument, "Ref"
            elif function == "Fn::GetAtt":
                logical_id, attribute = (
                    argument if isinstance(argument, list) else str(argument).split(".", 1)
                )
                yield str(logical_id), str(attribute)
            elif function == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                for name in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    if "." in name and not name.startswith("AWS::"):
                        logical_id, attribute = name.split(".", 1)
                        yield logical_id, attribute
                    else:
                        yield name, "Ref"
                if not isinstance(argument, str):
                    yield from _references(argument[1])
            else:
                yield from _references(argument)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _names(stack: StackLike, resolver: Resolver) -> dict[str, tuple[str, str]]:
    """Logical id -> (type, name) of each resource with an ARN attribute whose name the
    template sets (``<Type>Name``, ``Name`` or its primary identifier), resolved (holes for
    deploy-time parts)."""
    names = {}
    for logical_id, resource in resources_of(stack):
        kind = str(resource.get("Type"))
        schema = _schema(kind)
        if schema is None or not arn_attributes(kind):
            continue
        identifiers = [
            str(identifier).removeprefix("/properties/")
            for identifier in schema.schema.get("primaryIdentifier", [])
        ]
        for prop in (f"{kind.rsplit('::', 1)[-1]}Name", "Name", *identifiers):
            value = resource.get("Properties", {}).get(prop)
            if value is not None and not prop.endswith("Arn"):
                name = resolver.string(value)
                if name and len(name) > 3:
                    names[logical_id] = (kind, name)
                break
    return names


def _arn_strings(stack: StackLike) -> Iterator[tuple[str, str, str, Any]]:
    """(logical id, type, path, value) of every literal or Join/Sub value in resource
    properties."""
    for logical_id, resource in resources_of(stack):
        for path, value in walk(resource.get("Properties", {})):
            if isinstance(value, str) or (
                isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _BUILDERS
            ):
                yield logical_id, str(resource.get("Type")), path, value


_BUILDERS = ("Fn::Join", "Fn::Sub")


def check_hand_built(
    stack: StackLike, allowed: Mapping[tuple[str, str], str] = ALLOWED_HAND_BUILT
) -> list[Finding]:
    """The ``hand-built-arn`` rule over ``stack``, except where ``allowed`` (resource type,
    property path prefix: reason) accepts it."""
    for place, reason in allowed.items():
        if len(reason) < 40:
            raise ValueError(f"the exception {place} needs its reason, got {reason!r}")

    def _allowed(kind: str, path: str) -> bool:
        return any(kind == k and path.startswith(prefix) for (k, prefix) in allowed)

    resolver = Resolver(stack)
    names = _names(stack, resolver)
    findings = []
    for logical_id, kind, path, value in _arn_strings(stack):
        arn = resolver.string(value) or ""
        if not arn.startswith("arn:") or arn.count(":") < 5 or _allowed(kind, path):
            continue
        service = arn.split(":")[2]
        culprits = set()
        for target, attribute in _references(value):
            target_kind = resolver.type_of(target)
            if (
                target_kind is not None
                and arn_service(target_kind) == service
                and arn_attributes(target_kind)
                and not returns_arn(target_kind, attribute)
            ):
                culprits.add((target, target_kind, f"its {attribute}"))
        resource_part = arn.split(":", 5)[5]
        for target, (target_kind, name) in names.items():
            if arn_service(target_kind) == service and _names_it(resource_part, name):
                culprits.add((target, target_kind, f"its name {name!r}"))
        for target, target_kind, how in sorted(culprits):
            attributes = ", ".join(a for a in arn_attributes(target_kind) if a != "Ref")
            findings.append(
                Finding(
                    stack.name,
                    logical_id,
                    path,
                    "hand-built-arn",
                    f"{arn} is built by hand from {how} of {target} ({target_kind}), which "
                    f"this template creates; take the ARN from the construct (Fn::GetAtt "
                    f"{target}.{attributes or 'Ref'})",
                )
            )
    return findings


def _names_it(resource_part: str, name: str) -> bool:
    """Whether an ARN's resource part ends with ``name`` as a whole segment (maybe followed
    by a ``:*`` or ``/*`` wildcard)."""
    trimmed = re.sub(r"[:/]\*$", "", resource_part)
    return trimmed == name or trimmed.endswith((f"/{name}", f":{name}"))


def check_required_forms(stack: StackLike) -> list[Finding]:
    """The ``required-form`` rule over ``stack``."""
    resolver = Resolver(stack)
    findings = []
    for logical_id, resource in resources_of(stack):
        kind = str(resource.get("Type"))
        for (form_kind, form_path), (pattern, why) in REQUIRED_FORMS.items():
            if kind != form_kind:
                continue
            for path, value in walk(resource.get("Properties", {})):
                if path != form_path:
                    continue
                resolved = resolver.string(value) or ""
                if not pattern.match(resolved):
                    findings.append(
                        Finding(
                            stack.name,
                            logical_id,
                            path,
                            "required-form",
                            f"{resolved!r} does not match {pattern.pattern}: {why}",
                        )
                    )
    return findings


# -- schema patterns -----------------------------------------------------------------------------


def _subschema(schema: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        reference = str(node["$ref"])
        if not reference.startswith("#/"):
            return {}
        target: Any = schema
        for part in reference[2:].split("/"):
            target = target.get(part, {})
        node = target
    return node


def _property_schema(kind: str, path: str) -> Mapping[str, Any] | None:
    """The schema of the property at ``path`` (``A.B[0].C``) of a ``kind`` resource."""
    loaded = _schema(kind)
    if loaded is None:
        return None
    schema = loaded.schema
    node: Mapping[str, Any] = schema
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        node = _subschema(schema, node)
        if part.startswith("["):
            node = node.get("items", {})
        else:
            properties = node.get("properties")
            if not isinstance(properties, dict) or part not in properties:
                return None
            node = properties[part]
    return _subschema(schema, node)


SAMPLE_IDS = {
    "AWS::EC2::VPC": "vpc-0a1b2c3d4e5f6a7b8",
    "AWS::EC2::Subnet": "subnet-0a1b2c3d4e5f6a7b8",
    "AWS::EC2::SecurityGroup": "sg-0a1b2c3d4e5f6a7b8",
    "AWS::EC2::RouteTable": "rtb-0a1b2c3d4e5f6a7b8",
    "AWS::EC2::VPCEndpoint": "vpce-0a1b2c3d4e5f6a7b8",
    "AWS::EC2::VPCEndpointService": "vpce-svc-0a1b2c3d4e5f6a7b8",
    "AWS::OpenSearchServerless::VpcEndpoint": "vpce-0a1b2c3d4e5f6a7b8",
    "AWS::Route53::HostedZone": "Z0A1B2C3D4E5F6A7B8C9D",
}
"""What a ``Ref`` (or id attribute) of these types looks like, for the pattern check."""
SAMPLE_NAME = "a1b2c3d4e5f6a7b8c9d0"
"""Any other deploy-time name or id: short, lowercase letters and digits."""


def _sample(resolver: Resolver, value: str) -> str | None:
    """``value`` with each hole replaced by a plausible physical id (``None`` when a hole is
    an output, a parameter or an ARN of unknown form: the schema cannot judge a guess)."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(0)[1:-1]
        logical_id = inner.split("#", 1)[0]
        kind = resolver.type_of(logical_id)
        if kind is None:
            raise LookupError(inner)
        if "#" in inner and not inner.endswith(("#GroupId", "#DefaultSecurityGroup", "#Id")):
            return SAMPLE_NAME
        if inner.endswith("#DefaultSecurityGroup"):
            return SAMPLE_IDS["AWS::EC2::SecurityGroup"]
        return SAMPLE_IDS.get(kind, SAMPLE_NAME)

    try:
        return HOLE_PATTERN.sub(replace, value)
    except LookupError:
        return None


def check_schema_patterns(stack: StackLike) -> list[Finding]:
    """The ``schema-pattern`` rule over ``stack``."""
    resolver = Resolver(stack)
    findings = []
    for logical_id, resource in resources_of(stack):
        kind = str(resource.get("Type"))
        for path, value in walk(resource.get("Properties", {})):
            if not (path and isinstance(value, dict) and len(value) == 1):
                continue
            function = next(iter(value))
            if function != "Ref" and not function.startswith("Fn::"):
                continue
            resolved = resolver.string(value)
            sample = None if resolved is None else _sample(resolver, resolved)
            if sample is None:
                continue
            schema = _property_schema(kind, path)
            if not schema or schema.get("type") not in ("string", None):
                continue
            problem = _against(schema, sample)
            if problem:
                findings.append(
                    Finding(
                        stack.name,
                        logical_id,
                        path,
                        "schema-pattern",
                        f"{resolved!r} (from {function}; as {sample!r} with sample ids) "
                        f"{problem} of the {kind} schema",
                    )
                )
    return findings


def _against(schema: Mapping[str, Any], value: str) -> str | None:
    pattern = schema.get("pattern")
    try:
        mismatch = isinstance(pattern, str) and re.search(pattern, value) is None
    except re.error:  # an ECMAScript pattern Python cannot read: checked by cfn-lint alone
        mismatch = False
    if mismatch:
        return f"does not match the pattern {pattern!r}"
    if len(value) < int(schema.get("minLength", 0)):
        return f"is shorter than the minLength {schema['minLength']}"
    if "maxLength" in schema and len(value) > int(schema["maxLength"]):
        return f"is longer than the maxLength {schema['maxLength']}"
    return None


def check_stack(stack: StackLike) -> list[Finding]:
    """Every rule of this module over ``stack``."""
    return check_hand_built(stack) + check_required_forms(stack) + check_schema_patterns(stack)


__all__ = ["check_stack", "hole"]
