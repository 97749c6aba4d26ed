"""Template surgery for the rehearsal's mutation tests: find a construct's resources in a
synthesized template, remove or change one rule, and say which verdicts the change moved."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stacks import RegionalStack
from tests.support.rehearsal.paths import Layer
from tests.support.rehearsal.rehearsal import StackRehearsal


def lid(stack: RegionalStack, construct: Any) -> str:
    """The logical id of ``construct`` (or of its default child) in ``stack``'s template."""
    element = getattr(construct.node, "default_child", None) or construct
    return str(stack.resolve(element.logical_id))


def get_att(logical_id: str, attribute: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


def rules(template: dict[str, Any], kind: str, group: str, peer_key: str, peer: str) -> list[str]:
    """Separate security-group rules of ``group`` whose peer is the group ``peer``."""
    return [
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"] == kind
        and r["Properties"]["GroupId"] == get_att(group, "GroupId")
        and r["Properties"].get(peer_key) == get_att(peer, "GroupId")
    ]


def delete(template: dict[str, Any], logical_ids: list[str]) -> None:
    assert logical_ids, "the mutation found nothing to remove"
    for logical_id in logical_ids:
        del template["Resources"][logical_id]


def replace_in(value: Any, old: Any, new: Any) -> tuple[Any, int]:
    """``value`` with every occurrence of ``old`` (a JSON value) replaced by ``new``."""
    if value == old:
        return new, 1
    if isinstance(value, list):
        pairs = [replace_in(v, old, new) for v in value]
        return [p[0] for p in pairs], sum(p[1] for p in pairs)
    if isinstance(value, dict):
        pairs_d = {k: replace_in(v, old, new) for k, v in value.items()}
        return {k: p[0] for k, p in pairs_d.items()}, sum(p[1] for p in pairs_d.values())
    return value, 0


def replace_property(
    template: dict[str, Any], logical_id: str, prop: str, old: Any, new: Any
) -> None:
    props = template["Resources"][logical_id]["Properties"]
    props[prop], count = replace_in(props[prop], old, new)
    assert count, f"{old} not found in {logical_id}.{prop}"


def statements(template: dict[str, Any], policy_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = template["Resources"][policy_id]["Properties"]["PolicyDocument"][
        "Statement"
    ]
    return found


def default_policy(template: dict[str, Any], role_id: str) -> str:
    """The logical id of the AWS::IAM::Policy that grants land in for ``role_id``."""
    return next(
        logical_id
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy"
        and {"Ref": role_id} in r["Properties"]["Roles"]
        and "DefaultPolicy" in logical_id
    )


def drop_statement(template: dict[str, Any], policy_id: str, action: str) -> None:
    kept = [s for s in statements(template, policy_id) if action not in listed(s["Action"])]
    assert len(kept) == len(statements(template, policy_id)) - 1, f"no single {action} statement"
    template["Resources"][policy_id]["Properties"]["PolicyDocument"]["Statement"] = kept


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else value


Mutate = Callable[[dict[str, Any], RegionalStack], None]


@dataclass(frozen=True)
class Mutation:
    """One rule removed; ``layer`` must then be reported on exactly ``paths``."""

    id: str
    mutate: Mutate
    layer: Layer
    paths: tuple[str, ...]


def changed_layers(mutated: StackRehearsal) -> set[tuple[str, Layer]]:
    """(path, layer) pairs whose verdict in ``mutated`` differs from what the path declares."""
    return {
        (result.path.name, layer)
        for result in mutated.results
        for layer in result.denied_by ^ result.path.denied_by
    }


def remove_ingress(template: dict[str, Any], group: str, source: str) -> None:
    """Removes the one separate ingress rule of security group ``group`` from group ``source``
    (logical ids)."""
    found = rules(
        template, "AWS::EC2::SecurityGroupIngress", group, "SourceSecurityGroupId", source
    )
    assert len(found) == 1, found
    delete(template, found)
