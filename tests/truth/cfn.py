"""What the checks share: findings, the stacks they read, and intrinsics resolved to strings.

:class:`Resolver` turns a template value into the string CloudFormation would produce, with a
*hole* (``⟨...⟩``) where only a deploy knows the value (a physical name or id). Holes contain
none of ``: / * .``, so an ARN with a hole still splits into its parts and matches a resource
type's ARN format as a concrete name would. Where a ``Fn::GetAtt`` or ``Ref`` returns an ARN,
the ARN is built in the form CloudFormation documents for that attribute (:data:`ARN_FORMS`),
with a hole for the name: a policy naming ``Fn::GetAtt [Group, Arn]`` is checked as
``arn:aws:logs:<region>:<account>:log-group:⟨Group⟩:*``. An attribute that returns an ARN (per
the CloudFormation resource schema bundled with cfn-lint) but is missing from that table
resolves to a hole marked :data:`UNKNOWN_ARN`, which the checks report instead of skipping.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from ha_inference.regions import partition_of

HOLE = "\u27e8{}\u27e9"
HOLE_PATTERN = re.compile("\u27e8[^\u27e9]*\u27e9")
UNKNOWN_ARN = "unknown-arn-form"
"""Inside a hole: an ARN whose form is not in :data:`ARN_FORMS`."""

ARN_FORMS: Mapping[tuple[str, str], str] = {
    # (resource type, attribute or "Ref"): the ARN CloudFormation returns, from the "Return
    # values" section of each type's page in the CloudFormation Template Reference.
    ("AWS::CloudWatch::Alarm", "Arn"): "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}",
    ("AWS::CloudWatch::CompositeAlarm", "Arn"): (
        "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}"
    ),
    ("AWS::IAM::Role", "Arn"): "arn:{partition}:iam::{account}:role/{name}",
    ("AWS::KMS::Key", "Arn"): "arn:{partition}:kms:{region}:{account}:key/{name}",
    ("AWS::Lambda::Function", "Arn"): "arn:{partition}:lambda:{region}:{account}:function:{name}",
    # The log group's Arn attribute ends in ":*" (the form FIS and IAM log-stream grants need).
    ("AWS::Logs::LogGroup", "Arn"): "arn:{partition}:logs:{region}:{account}:log-group:{name}:*",
    ("AWS::OpenSearchServerless::Collection", "Arn"): (
        "arn:{partition}:aoss:{region}:{account}:collection/{name}"
    ),
    ("AWS::SageMaker::Endpoint", "EndpointArn"): (
        "arn:{partition}:sagemaker:{region}:{account}:endpoint/{name}"
    ),
    ("AWS::SageMaker::Endpoint", "Ref"): (
        "arn:{partition}:sagemaker:{region}:{account}:endpoint/{name}"
    ),
    ("AWS::StepFunctions::StateMachine", "Arn"): (
        "arn:{partition}:states:{region}:{account}:stateMachine:{name}"
    ),
    ("AWS::StepFunctions::StateMachine", "Ref"): (
        "arn:{partition}:states:{region}:{account}:stateMachine:{name}"
    ),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "Ref"): (
        "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/net/{name}/{name}"
    ),
    ("AWS::ElasticLoadBalancingV2::LoadBalancer", "LoadBalancerArn"): (
        "arn:{partition}:elasticloadbalancing:{region}:{account}:loadbalancer/net/{name}/{name}"
    ),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "Ref"): (
        "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{name}"
    ),
    ("AWS::ElasticLoadBalancingV2::TargetGroup", "TargetGroupArn"): (
        "arn:{partition}:elasticloadbalancing:{region}:{account}:targetgroup/{name}/{name}"
    ),
    # The runtime's ARN (its schema's AgentRuntimeArn pattern in cfn-lint 1.58.0, botocore
    # bedrock-agentcore-control AgentRuntimeArn): runtime/<name>-<10 characters>.
    ("AWS::BedrockAgentCore::Runtime", "AgentRuntimeArn"): (
        "arn:{partition}:bedrock-agentcore:{region}:{account}:runtime/{name}"
    ),
    # A project's ARN (its schema's Arn pattern): project/default or project/proj_<id>.
    ("AWS::BedrockMantle::Project", "Arn"): (
        "arn:{partition}:bedrock-mantle:{region}:{account}:project/{name}"
    ),
    ("AWS::BedrockMantle::Project", "Ref"): (
        "arn:{partition}:bedrock-mantle:{region}:{account}:project/{name}"
    ),
    # The library's own custom resource: the ARN Bedrock's GetImportedModel returns
    # (botocore ImportedModelArn).
    ("Custom::BedrockImportedModel", "ModelArn"): (
        "arn:{partition}:bedrock:{region}:{account}:imported-model/{name}"
    ),
}

PSEUDO_PARAMETERS = frozenset(
    {
        "AWS::Partition",
        "AWS::Region",
        "AWS::AccountId",
        "AWS::URLSuffix",
        "AWS::StackName",
        "AWS::StackId",
        "AWS::NoValue",
        "AWS::NotificationARNs",
    }
)


class StackLike(Protocol):
    """One synthesized stack (``StackArtifact`` of ``ha_inference.tools.assembly`` is one)."""

    @property
    def name(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def account(self) -> str: ...

    @property
    def template(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Stack:
    """A stack for the checks: a name, its environment and its template."""

    name: str
    region: str
    account: str
    template: dict[str, Any]


@dataclass(frozen=True, order=True)
class Finding:
    """One broken rule: where (stack, logical id, place in the resource) and what."""

    stack: str
    logical_id: str
    where: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.stack} {self.logical_id} {self.where}: [{self.rule}] {self.message}"


def hole(text: str) -> str:
    """A hole naming ``text``, with the characters that split ARNs replaced."""
    return HOLE.format(re.sub(r"[:/*.?\s]", "#", text))


def has_hole(value: str) -> bool:
    return HOLE_PATTERN.search(value) is not None


@cache
def _schema(resource_type: str) -> Any:
    """cfn-lint's bundled CloudFormation resource schema of ``resource_type`` (or ``None``)."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER, ResourceNotFoundError  # noqa: PLC0415

    try:
        return PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type)
    except ResourceNotFoundError:
        return None


def returns_arn(resource_type: str, attribute: str) -> bool:
    """Whether ``Fn::GetAtt`` of ``attribute`` (or ``Ref`` when ``attribute`` is "Ref") of a
    ``resource_type`` is an ARN, per its CloudFormation resource schema: an attribute named
    ``...Arn``, or a ``Ref`` whose primary identifier is one."""
    if (resource_type, attribute) in ARN_FORMS:
        return True
    if attribute != "Ref":
        return attribute.endswith("Arn")
    schema = _schema(resource_type)
    if schema is None:
        return False
    identifiers = schema.schema.get("primaryIdentifier", [])
    return len(identifiers) == 1 and str(identifiers[0]).endswith("Arn")


def arn_attributes(resource_type: str) -> tuple[str, ...]:
    """The attributes that return the ARN of a ``resource_type`` resource itself: ``Arn`` or
    ``<Type>Arn`` in its resource schema (``OutpostArn`` of a subnet is another resource's),
    ``Ref`` when its primary identifier is its ARN, and the entries of :data:`ARN_FORMS`; empty
    when the construct cannot give its ARN."""
    names = {attribute for (kind, attribute) in ARN_FORMS if kind == resource_type}
    schema = _schema(resource_type)
    if schema is not None:
        own = {"Arn", f"{resource_type.rsplit('::', 1)[-1]}Arn"}
        names |= {str(name) for name in schema.get_atts if str(name) in own}
        if returns_arn(resource_type, "Ref"):
            names.add("Ref")
    return tuple(sorted(names))


_SUB_VARIABLE = re.compile(r"\$\{(!?)([^}]+)\}")


class Resolver:
    """Resolves the intrinsics of one stack's template to strings (see the module docstring)."""

    def __init__(self, stack: StackLike) -> None:
        self.stack = stack
        self.resources: Mapping[str, Mapping[str, Any]] = stack.template.get("Resources", {})
        self.partition = partition_of(stack.region)
        self.pseudo = {
            "AWS::Partition": self.partition,
            "AWS::Region": stack.region,
            "AWS::AccountId": stack.account,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": stack.name,
            "AWS::StackId": (
                f"arn:{self.partition}:cloudformation:{stack.region}:{stack.account}:stack/"
                f"{stack.name}/{hole('stack-id')}"
            ),
        }

    def type_of(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return None if resource is None else str(resource.get("Type"))

    def attribute(self, logical_id: str, attribute: str) -> str:
        """``Fn::GetAtt [logical_id, attribute]`` (``attribute`` "Ref": ``Ref logical_id``)."""
        kind = self.type_of(logical_id)
        if kind is None:
            return hole(f"missing {logical_id}")
        form = ARN_FORMS.get((kind, attribute))
        if form is not None:
            return form.format(
                partition=self.partition,
                region=self.stack.region,
                account=self.stack.account,
                name=hole(logical_id),
            )
        if returns_arn(kind, attribute):
            return hole(f"{UNKNOWN_ARN} {kind} {logical_id} {attribute}")
        return hole(logical_id if attribute == "Ref" else f"{logical_id} {attribute}")

    def ref(self, name: str) -> str | None:
        if name == "AWS::NoValue":
            return None
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.resources:
            return self.attribute(name, "Ref")
        return hole(f"parameter {name}")

    def string(self, value: Any) -> str | None:
        """``value`` as CloudFormation would resolve it (``None`` for ``AWS::NoValue``)."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return str(value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            return self._function(function, argument)
        return hole("not a string")

    def strings(self, value: Any) -> list[str]:
        """A list value (a literal list, ``Fn::Split``, ``Fn::If`` over lists) as strings; both
        branches of an ``Fn::If`` are kept, ``AWS::NoValue`` is dropped."""
        if isinstance(value, list):
            return [s for item in value for s in self.strings(item)]
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Fn::If" and isinstance(argument, list) and len(argument) == 3:
                return self.strings(argument[1]) + self.strings(argument[2])
            if function == "Fn::Split":
                separator, source = argument
                resolved = self.string(source)
                return [] if resolved is None else resolved.split(separator)
        resolved = self.string(value)
        return [] if resolved is None else [resolved]

    def _function(self, function: str, argument: Any) -> str | None:
        if function == "Ref":
            return self.ref(str(argument))
        if function == "Fn::GetAtt":
            logical_id, attribute = (
                argument if isinstance(argument, list) else str(argument).split(".", 1)
            )
            return self.attribute(str(logical_id), str(attribute))
        if function == "Fn::Join":
            separator, items = argument
            if not isinstance(items, list):
                return separator.join(self.strings(items))
            parts = [self.string(item) for item in items]
            return separator.join(part for part in parts if part is not None)
        if function == "Fn::Sub":
            return self._sub(argument)
        if function == "Fn::Select":
            index, items = argument
            chosen = self.strings(items)
            position = int(self.string(index) or 0)
            return chosen[position] if position < len(chosen) else hole("select")
        if function == "Fn::If":
            # In a string, only the first branch (lists keep both: see strings()).
            return self.string(argument[1])
        if function == "Fn::FindInMap":
            return self._find_in_map(argument)
        if function in ("Fn::GetStackOutput", "Fn::ImportValue"):
            name = argument.get("OutputName") if isinstance(argument, dict) else argument
            return hole(f"output {name}")
        return hole(function)

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument

        def replace(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name + "}"
            if name in variables:
                return self.string(variables[name]) or ""
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return self.attribute(logical_id, attribute)
            return self.ref(name) or ""

        return _SUB_VARIABLE.sub(replace, text)

    def _find_in_map(self, argument: Sequence[Any]) -> str | None:
        name, first, second = (self.string(part) for part in argument)
        mappings = self.stack.template.get("Mappings", {})
        found = mappings.get(name, {}).get(first, {}).get(second)
        return hole("find-in-map") if found is None else self.string(found)


def resources_of(stack: StackLike) -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield from stack.template.get("Resources", {}).items()


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every (path, value) under ``value``, ``value`` first; intrinsic functions are values,
    not walked into."""
    yield path, value
    if isinstance(value, dict):
        if len(value) == 1 and (next(iter(value)) == "Ref" or next(iter(value)).startswith("Fn::")):
            return
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")
