"""Whether a stack can be created, rolled back, destroyed and deployed again.

Each check is a small pure function over one template and returns :class:`Finding` objects:

* ``retained-name``: a resource kept on stack deletion or replacement (``DeletionPolicy`` or
  ``UpdateReplacePolicy`` ``Retain``, ``RetainExceptOnCreate`` or ``Snapshot``) whose physical
  name is fixed (a literal, or built from pseudo parameters only): the next deploy of the stack
  collides with the resource left behind. Resources without a name (log groups CloudFormation
  names) are fine;
* ``deletion-protection``: deletion protection on by default (a failed first deploy cannot
  roll back, ``cdk destroy`` fails), and stack termination protection;
* ``custom-resource``: every custom resource is served by aws-cdk-lib's provider framework
  (which answers CloudFormation when the handler fails or times out), an ``AwsCustomResource``,
  or one of aws-cdk-lib's own providers; a framework handler module handles Create, Update and
  Delete (read from its source: it must compare the request type with each of the three);
* ``handler``: every function's handler module is in the code it deploys (the staged asset).

``deploy-order`` (a custom resource whose handler takes a runtime path while CloudFormation
creates it waits for every resource that lets the path through) needs the rehearsed paths and
lives in :meth:`tests.support.rehearsal.rehearsal.StackRehearsal.deploy_order`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.rehearsal.resolver import TemplateResolver

RETAINING_POLICIES = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})

EXTRA_NAME_PROPERTIES: Mapping[str, tuple[str, ...]] = {
    "AWS::Bedrock::ApplicationInferenceProfile": ("InferenceProfileName",),
    "AWS::EC2::SecurityGroup": ("GroupName",),
    "AWS::Lambda::Function": ("FunctionName",),
    "AWS::IAM::Role": ("RoleName",),
    "AWS::IAM::ManagedPolicy": ("ManagedPolicyName",),
}
"""Name properties that the generic rule (``Name`` or ``<Type>Name``, e.g. ``EndpointName``,
``LogGroupName``, ``BucketName``) does not find."""


def _on(props: Mapping[str, Any], key: str, value: str) -> bool:
    return str(props.get(key, "")).lower() == value


def _nlb_protection(props: Mapping[str, Any]) -> bool:
    return any(
        a.get("Key") == "deletion_protection.enabled" and str(a.get("Value")).lower() == "true"
        for a in props.get("LoadBalancerAttributes", [])
    )


DELETION_PROTECTION = {
    "AWS::ElasticLoadBalancingV2::LoadBalancer": ("deletion_protection.enabled", _nlb_protection),
    "AWS::OpenSearchServerless::Collection": (
        "DeletionProtection",
        lambda p: _on(p, "DeletionProtection", "enabled"),
    ),
    "AWS::Logs::LogGroup": (
        "DeletionProtectionEnabled",
        lambda p: _on(p, "DeletionProtectionEnabled", "true"),
    ),
    "AWS::RDS::DBInstance": ("DeletionProtection", lambda p: _on(p, "DeletionProtection", "true")),
    "AWS::RDS::DBCluster": ("DeletionProtection", lambda p: _on(p, "DeletionProtection", "true")),
    "AWS::DynamoDB::Table": (
        "DeletionProtectionEnabled",
        lambda p: _on(p, "DeletionProtectionEnabled", "true"),
    ),
    "AWS::EC2::Instance": (
        "DisableApiTermination",
        lambda p: _on(p, "DisableApiTermination", "true"),
    ),
}
"""Resource types with a deletion-protection switch: the property and how to read it on."""

AWS_CDK_LIB_PROVIDERS = frozenset({"Custom::VpcRestrictDefaultSG"})
"""Custom resources that aws-cdk-lib's own constructs create with its CustomResourceProvider
(handlers shipped and tested by aws-cdk-lib): ``Vpc(restrict_default_security_group=True)``."""

AWS_CUSTOM_RESOURCE_FUNCTION = "AWS679f53fac002430cb0da5b7982bd2287"
"""The logical-id prefix of the singleton function behind every AwsCustomResource."""

REQUEST_TYPES = ("Create", "Update", "Delete")


@dataclass(frozen=True)
class Finding:
    check: str
    logical_id: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.logical_id}: {self.message}"


def name_properties(resource_type: str) -> tuple[str, ...]:
    suffix = resource_type.rsplit("::", 1)[-1]
    return ("Name", f"{suffix}Name", *EXTRA_NAME_PROPERTIES.get(resource_type, ()))


def retained_fixed_names(resolver: TemplateResolver) -> list[Finding]:
    findings = []
    for logical_id, resource in resolver.resources.items():
        policies = {resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")}
        kept = sorted(p for p in policies & RETAINING_POLICIES if p)
        if not kept:
            continue
        props = resource.get("Properties", {})
        for prop in name_properties(resource["Type"]):
            if prop in props and not resolver.references_resources(props[prop]):
                findings.append(
                    Finding(
                        "retained-name",
                        logical_id,
                        f"{resource['Type']} is kept ({'/'.join(kept)}) with the fixed "
                        f"{prop} {resolver.resolve(props[prop])!r}: after 'cdk destroy' or a "
                        "replacement the next deploy collides with it; remove the resource "
                        "with the stack by default, or let CloudFormation name it",
                    )
                )
    return findings


def deletion_protection(
    resolver: TemplateResolver, *, termination_protection: bool
) -> list[Finding]:
    findings = []
    if termination_protection:
        findings.append(
            Finding(
                "deletion-protection",
                "(stack)",
                "termination protection is on: 'cdk destroy' fails until it is turned off",
            )
        )
    for logical_id, resource in resolver.resources.items():
        switch = DELETION_PROTECTION.get(resource["Type"])
        if switch is None:
            continue
        prop, is_on = switch
        if is_on(resolver.resolved_props(logical_id)):
            findings.append(
                Finding(
                    "deletion-protection",
                    logical_id,
                    f"{resource['Type']} has {prop} on by default: a failed first deploy cannot "
                    "roll it back (ROLLBACK_FAILED) and 'cdk destroy' fails; make it an "
                    "explicit, documented opt-in",
                )
            )
    return findings


# -- functions and custom resources ---------------------------------------------------------


def code_directory(resolver: TemplateResolver, function_id: str, assembly_dir: Path) -> Path:
    """The staged asset folder a function's ``Code`` uploads (``asset.<hash>`` in the assembly)."""
    code = resolver.props(function_id).get("Code", {})
    key = resolver.resolve(code.get("S3Key", ""))
    if not isinstance(key, str) or not key.endswith(".zip"):
        raise ValueError(f"{function_id}: code {code} is not a staged directory asset")
    return assembly_dir / f"asset.{key.removesuffix('.zip')}"


def handler_source(directory: Path, handler: str, runtime: str) -> tuple[Path, str | None]:
    """The file a Lambda handler setting names and its source (``None`` when it is missing)."""
    module = handler.rsplit(".", 1)[0].replace(".", "/")
    suffixes = (".py",) if runtime.startswith("python") else (".js", ".mjs", ".cjs")
    for suffix in suffixes:
        path = directory / f"{module}{suffix}"
        if path.is_file():
            return path, path.read_text()
    return directory / f"{module}{suffixes[0]}", None


def request_types_handled(source: str) -> frozenset[str]:
    """The CloudFormation request types a Python handler module tells apart.

    A request type counts when its name is compared with something (``==``, ``!=``, ``in``,
    also inside a set/tuple/list literal), is a ``case`` value, or is a key of a dict literal
    (a dispatch table), in a module that reads ``"RequestType"`` at all.
    """
    tree = ast.parse(source)
    if not any(isinstance(n, ast.Constant) and n.value == "RequestType" for n in ast.walk(tree)):
        return frozenset()
    named: set[str] = set()

    def strings(node: ast.AST) -> Iterable[str]:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, (ast.Set, ast.Tuple, ast.List)):
            for element in node.elts:
                yield from strings(element)

    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                named.update(strings(side))
        elif isinstance(node, ast.MatchValue):
            named.update(strings(node.value))
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if key is not None:
                    named.update(strings(key))
    return frozenset(named) & frozenset(REQUEST_TYPES)


def defines(source: str, name: str) -> bool:
    tree = ast.parse(source)
    return any(
        isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == name for n in tree.body
    ) or any(
        isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == name for t in n.targets)
        for n in tree.body
    )


def function_handlers(resolver: TemplateResolver, assembly_dir: Path) -> list[Finding]:
    """Every function's handler file is in its staged code and defines the handler."""
    findings = []
    for logical_id, resource in resolver.resources.items():
        if resource["Type"] != "AWS::Lambda::Function":
            continue
        props = resolver.resolved_props(logical_id)
        if "ZipFile" in props.get("Code", {}):
            continue
        directory = code_directory(resolver, logical_id, assembly_dir)
        handler, runtime = props["Handler"], props.get("Runtime", "")
        path, source = handler_source(directory, handler, runtime)
        if source is None:
            findings.append(
                Finding(
                    "handler",
                    logical_id,
                    f"handler {handler!r} names {path.name}, which is not in the function's "
                    f"code ({directory.name}: {', '.join(sorted(p.name for p in directory.iterdir()))}); "
                    "Lambda fails every invocation with Runtime.ImportModuleError",
                )
            )
        elif runtime.startswith("python") and not defines(source, handler.rsplit(".", 1)[1]):
            findings.append(
                Finding(
                    "handler", logical_id, f"{path.name} defines no {handler.rsplit('.', 1)[1]!r}"
                )
            )
    return findings


def custom_resources(resolver: TemplateResolver, assembly_dir: Path) -> list[Finding]:
    findings = []
    for logical_id, resource in resolver.resources.items():
        kind = resource["Type"]
        if not (kind.startswith("Custom::") or kind == "AWS::CloudFormation::CustomResource"):
            continue
        token = resource.get("Properties", {}).get("ServiceToken")
        target = token.get("Fn::GetAtt") if isinstance(token, dict) else None
        if not target or resolver.type_of(target[0]) != "AWS::Lambda::Function":
            findings.append(
                Finding(
                    "custom-resource",
                    logical_id,
                    f"ServiceToken {token} is not a function of this stack",
                )
            )
            continue
        function_id = target[0]
        function = resolver.resolved_props(function_id)
        variables = function.get("Environment", {}).get("Variables", {})
        if function_id.startswith(AWS_CUSTOM_RESOURCE_FUNCTION) or kind in AWS_CDK_LIB_PROVIDERS:
            continue
        if (
            function.get("Handler") != "framework.onEvent"
            or "USER_ON_EVENT_FUNCTION_ARN" not in variables
        ):
            findings.append(
                Finding(
                    "custom-resource",
                    logical_id,
                    f"{kind}'s ServiceToken is the function {function_id} itself, not aws-cdk-lib's "
                    "provider framework: when the handler crashes or times out nobody answers "
                    "CloudFormation, which waits out ServiceTimeout and leaves the stack stuck in "
                    "CREATE/DELETE_IN_PROGRESS; serve it through custom_resources.Provider "
                    "(ha_inference._internal.custom_resource.HandlerProvider)",
                )
            )
            continue
        raw_variables = resolver.props(function_id)["Environment"]["Variables"]
        for variable in ("USER_ON_EVENT_FUNCTION_ARN", "USER_IS_COMPLETE_FUNCTION_ARN"):
            if variable not in raw_variables:
                continue
            user_id = raw_variables[variable]["Fn::GetAtt"][0]
            user = resolver.resolved_props(user_id)
            directory = code_directory(resolver, user_id, assembly_dir)
            path, source = handler_source(directory, user["Handler"], user.get("Runtime", ""))
            if source is None:
                findings.append(
                    Finding(
                        "custom-resource",
                        logical_id,
                        f"the handler {user['Handler']!r} of {user_id} is missing from its code "
                        f"({path.name} not in {directory.name}): every request fails",
                    )
                )
                continue
            if variable == "USER_IS_COMPLETE_FUNCTION_ARN":
                continue
            missing = [t for t in REQUEST_TYPES if t not in request_types_handled(source)]
            if missing:
                findings.append(
                    Finding(
                        "custom-resource",
                        logical_id,
                        f"{path.name} (handler of {user_id}) does not handle RequestType "
                        f"{', '.join(missing)}: it must tell Create, Update and Delete apart "
                        "(a Delete it treats as a Create re-creates what the stack removes)",
                    )
                )
    return findings


def lifecycle_findings(
    resolver: TemplateResolver, *, assembly_dir: Path, termination_protection: bool
) -> list[Finding]:
    return [
        *retained_fixed_names(resolver),
        *deletion_protection(resolver, termination_protection=termination_protection),
        *custom_resources(resolver, assembly_dir),
        *function_handlers(resolver, assembly_dir),
    ]
