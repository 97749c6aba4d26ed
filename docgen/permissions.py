"""docs/permissions.md: every IAM role of the reference app, what it may do and why.

Generated from the synthesized templates of the three shared configurations of the tests
(``tests.support.CONFIGURATIONS``), in their first Region (us-east-1; every Region has the same
roles, naming its own resources): for each role, who may assume it and on which conditions, its
purpose (the role's ``Description``, or for the few roles aws-cdk-lib makes without one, the
entry in :data:`AWS_CDK_ROLES`), and every statement of its inline and attached policies.
``make docs`` rewrites the file; tests/app/test_permissions.py fails while it is stale, and
when a role says nothing about why it exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from ha_inference._internal.nag import flatten_cfn_reference
from tests.support import CONFIGURATIONS, ROOT, Synth, synth_reference

DOC = ROOT / "docs" / "permissions.md"
REGION = "us-east-1"

AWS_CDK_ROLES: Mapping[str, str] = {
    "Custom::VpcRestrictDefaultSGCustomResourceProvider/Role": (
        "aws-cdk-lib's function behind `restrict_default_security_group` (InferenceVpc): "
        "removes every rule of the VPC's default security group at deploy time. aws-cdk-lib "
        "attaches AWSLambdaBasicExecutionRole for its logs (which go to the stack's "
        "`DefaultSecurityGroupLogs` group) and allows the four rule actions on that one group."
    ),
    "waiter-state-machine/Role": (
        "aws-cdk-lib's provider-framework waiter (a Step Functions state machine) for a "
        "long-running custom resource: invokes the framework's isComplete and onTimeout "
        "functions and delivers its execution log to the handler's log group."
    ),
}
"""Why the roles that aws-cdk-lib creates without a description exist, by path suffix."""


@dataclass(frozen=True)
class Role:
    """One role as the template has it, rendered."""

    path: str
    """The construct path inside the stack."""
    text: str
    """The rendered Markdown (without the heading)."""


def _flat(value: Any) -> str:
    return flatten_cfn_reference(value)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _conditions(condition: Mapping[str, Any] | None) -> str:
    if not condition:
        return ""
    parts = []
    for operator, block in condition.items():
        for key, values in block.items():
            shown = ", ".join(_flat(v) for v in _listed(values))
            parts.append(f"{operator} `{key}`: {shown}")
    return "; ".join(parts)


def _statement_rows(document: Mapping[str, Any]) -> list[str]:
    rows = []
    for statement in _listed(document.get("Statement", [])):
        actions = ", ".join(f"`{a}`" for a in _listed(statement.get("Action", [])))
        resources = "<br>".join(f"`{_flat(r)}`" for r in _listed(statement.get("Resource", [])))
        rows.append(
            f"| {statement.get('Sid', '')} | {statement.get('Effect', '')} | {actions} "
            f"| {resources} | {_conditions(statement.get('Condition'))} |"
        )
    return rows


def _paths(app: cdk.App, stack_name: str) -> dict[str, str]:
    """Logical id → construct path inside the stack, for the roles of ``stack_name``."""
    found = {}
    for construct in app.node.find_all():
        if isinstance(construct, cdk.CfnResource) and construct.cfn_resource_type in (
            "AWS::IAM::Role",
        ):
            stack = cdk.Stack.of(construct)
            if stack.stack_name == stack_name:
                logical = stack.resolve(construct.logical_id)
                found[logical] = construct.node.path.split("/", 1)[1].removesuffix("/Resource")
    return found


def _why(path: str, properties: Mapping[str, Any]) -> str | None:
    description = properties.get("Description")
    if isinstance(description, str) and description:
        return description
    return next((why for suffix, why in AWS_CDK_ROLES.items() if path.endswith(suffix)), None)


def roles_of(template: Mapping[str, Any], paths: Mapping[str, str]) -> list[Role]:
    """Every role of ``template``, rendered."""
    resources = template.get("Resources", {})
    attached: dict[str, list[tuple[str, Mapping[str, Any]]]] = defaultdict(list)
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::IAM::Policy":
            continue
        properties = resource.get("Properties", {})
        for role in _listed(properties.get("Roles", [])):
            if isinstance(role, dict) and "Ref" in role:
                attached[role["Ref"]].append((logical_id, properties["PolicyDocument"]))
    roles = []
    for logical_id, resource in sorted(resources.items()):
        if resource.get("Type") != "AWS::IAM::Role":
            continue
        properties = resource.get("Properties", {})
        path = paths.get(logical_id, logical_id)
        why = _why(path, properties)
        lines = [f"- *Why:* {why if why else '**(no description)**'}"]
        for trust in _listed(properties["AssumeRolePolicyDocument"].get("Statement", [])):
            principal = trust.get("Principal", {})
            who = ", ".join(
                f"{kind} `{_flat(name)}`"
                for kind, names in principal.items()
                for name in _listed(names)
            )
            conditions = _conditions(trust.get("Condition"))
            lines.append(f"*Assumed by:* {who}" + (f", when {conditions}" if conditions else ""))
        managed = [_flat(m) for m in _listed(properties.get("ManagedPolicyArns", []))]
        if managed:
            lines.append(f"- *AWS managed policies:* {', '.join(f'`{m}`' for m in managed)}")
        rows: list[str] = []
        for policy in properties.get("Policies", []) or []:
            rows += _statement_rows(policy["PolicyDocument"])
        for _, document in sorted(attached.get(logical_id, []), key=lambda item: item[0]):
            rows += _statement_rows(document)
        if rows:
            lines += [
                "",
                "| Statement | Effect | Actions | Resources | Conditions |",
                "|---|---|---|---|---|",
                *rows,
            ]
        else:
            lines += ["", "No policy statements of its own."]
        roles.append(Role(path=path, text="\n".join(lines)))
    return roles


def collect(synths: Mapping[str, Synth]) -> dict[str, list[Role]]:
    """Each configuration's roles in its first Region, the ``-CrossRegion`` stack included."""
    found: dict[str, list[Role]] = {}
    for name, synth in synths.items():
        roles: list[Role] = []
        artifacts = [synth.artifacts[REGION]]
        if REGION in synth.cross_region:
            artifacts.append(synth.cross_region[REGION])
        for artifact in artifacts:
            roles += roles_of(artifact.template, _paths(synth.app, artifact.name))
        found[name] = roles
    return found


def render(by_configuration: Mapping[str, Iterable[Role]]) -> str:
    names = list(by_configuration)
    variants: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, roles in by_configuration.items():
        for role in roles:
            variants[role.path][role.text].append(name)
    lines = [
        "# Permissions of the reference app, role by role",
        "",
        "Generated by `make docs` (docgen/permissions.py) from the synthesized templates of the",
        f"reference app in the configurations the tests check ({', '.join(names)}), in",
        f"{REGION} (every Region has the same roles, naming its own resources);",
        "`tests/app/test_permissions.py` fails when it is stale. For each role: why it exists,",
        "who may assume it, and every",
        "statement of its inline and attached policies. `<Id.Arn>` stands for a resource of the",
        "same template. Every statement is checked against the Service Authorization Reference",
        "(`tests/truth/iam.py`); the findings cdk-nag reports on them, with their reasons, are in",
        "[acknowledgements.md](acknowledgements.md).",
        "",
    ]
    for path in sorted(variants):
        lines += [f"## `{path}`", ""]
        texts = variants[path]
        for text, found_in in sorted(texts.items(), key=lambda item: names.index(item[1][0])):
            if len(texts) > 1 or len(found_in) < len(names):
                lines += [f"In {', '.join(found_in)}:", ""]
            lines += [text, ""]
    return "\n".join(lines)


def roles_without_why(by_configuration: Mapping[str, Iterable[Role]]) -> list[str]:
    """The paths of roles that say nothing about why they exist."""
    return sorted(
        {
            r.path
            for roles in by_configuration.values()
            for r in roles
            if "(no description)" in r.text
        }
    )


def write(outdir: Path) -> Path:
    """Synthesizes the configurations into ``outdir`` and rewrites docs/permissions.md."""
    synths = {
        name: synth_reference(outdir / name, context) for name, context in CONFIGURATIONS.items()
    }
    DOC.write_text(render(collect(synths)))
    return DOC
