"""Runs every runtime path of a stack through every layer, over its (possibly mutated) template.

Usage::

    rehearsal = Rehearsal()
    base = rehearsal.add(stack, template)           # plans; nothing is simulated yet
    mutated = rehearsal.add(stack, mutated_template)
    rehearsal.run()                                 # one Node process for every simulation
    base.failures()                                 # [] when every path behaves

The stack's Python objects say which resources a path involves (logical ids, ARNs); the
template says everything else, exactly as CloudFormation and the services would read it.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ha_inference import MultiAzAgentRuntime, MultiAzFunction
from stacks import RegionalStack
from tests.support.rehearsal.lifecycle import Finding, lifecycle_findings
from tests.support.rehearsal.network import NetworkModel, Placement
from tests.support.rehearsal.paths import PATHS, Layer, RuntimePath, Target, sdk_hostname
from tests.support.rehearsal.policies import (
    ALLOW_ALL,
    Simulator,
    data_access,
    endpoint_policy_for,
    network_access,
    simulation,
)
from tests.support.rehearsal.resolver import TemplateResolver, UnresolvableError

PRIVATE_DNS_NAMES = {
    "sagemaker.runtime": "runtime.sagemaker.{region}.amazonaws.com",
    "ecr.api": "api.ecr.{region}.amazonaws.com",
    "ecr.dkr": "*.dkr.ecr.{region}.amazonaws.com",
}
"""Interface endpoint services whose private DNS name is not ``<service>.<region>.amazonaws.com``
(SageMaker "Connect to SageMaker AI through a VPC interface endpoint"; Amazon ECR "Amazon ECR
interface VPC endpoints (AWS PrivateLink)": the registry's name has the account in front)."""


@dataclass
class Verdict:
    """One layer's answer for one path. ``pending`` holds simulation keys still to be read."""

    allowed: bool | None  # None: not applicable on this path
    reason: str
    pending: list[tuple[str, str]] = field(default_factory=list)
    """(simulation key, what it evaluates) for layers decided by iam-simulate."""
    simulations: list[str] = field(default_factory=list)
    """The simulation keys that decided this verdict (once read)."""
    evidence: tuple[str, ...] = ()
    """Logical ids of the resources that make the layer allow the path."""


@dataclass
class PathResult:
    region: str
    path: RuntimePath
    verdicts: dict[Layer, Verdict]
    caller: str
    """The logical id of the calling function."""

    @property
    def denied_by(self) -> frozenset[Layer]:
        return frozenset(layer for layer, v in self.verdicts.items() if v.allowed is False)

    @property
    def ok(self) -> bool:
        return self.denied_by == self.path.denied_by

    def describe(self) -> str:
        lines = [f"{self.region} {self.path.name}:"]
        if self.path.must_be_denied:
            want = ", ".join(sorted(layer.value for layer in self.path.denied_by))
            got = ", ".join(sorted(layer.value for layer in self.denied_by)) or "nothing"
            lines[0] += f" must be denied by {want}, denied by {got}"
        for layer in Layer:
            verdict = self.verdicts[layer]
            state = {True: "allows", False: "DENIES", None: "n/a"}[verdict.allowed]
            lines.append(f"  [{layer.value}] {state}: {verdict.reason}")
        return "\n".join(lines)


@dataclass
class _Caller:
    """Who signs the requests of a path, and the request context AWS gives them."""

    principal: str
    role_arn: str
    context: dict[str, str]


_INPUTS: dict[tuple[int, str], tuple[str, Target | None]] = {}
"""(caller's function logical id, target) per (stack, path): asking jsii costs milliseconds
per call, and a session rehearses the same stacks many times (mutations)."""


def _inputs(stack: RegionalStack, path: RuntimePath) -> tuple[str, Target | None]:
    key = (id(stack), path.name)
    if key not in _INPUTS:
        target = path.target(stack)
        if target is None:
            _INPUTS[key] = ("", None)
            return _INPUTS[key]
        caller = path.caller(stack)
        if isinstance(caller, MultiAzAgentRuntime):
            element = caller.runtime.node.default_child
        else:
            assert isinstance(caller, MultiAzFunction)
            element = caller.function.node.default_child
        function_id = str(stack.resolve(element.logical_id))  # type: ignore[union-attr]
        _INPUTS[key] = (function_id, target)
    return _INPUTS[key]


class StackRehearsal:
    """The planned (then evaluated) paths of one stack template."""

    def __init__(
        self,
        stack: RegionalStack,
        template: Mapping[str, Any],
        simulator: Simulator,
        paths: Sequence[RuntimePath] = PATHS,
    ) -> None:
        self.stack = stack
        self.region = stack.region
        self.account = stack.account
        self.resolver = TemplateResolver(
            template, region=self.region, account=self.account, stack_name=stack.stack_name
        )
        self.network = NetworkModel(self.resolver)
        self.simulator = simulator
        self.results: list[PathResult] = []
        self._lifecycle: dict[Path, list[Finding]] = {}
        for path in paths:
            function_id, target = _inputs(stack, path)
            if target is not None:
                verdicts = self._plan(path, function_id, target)
                self.results.append(PathResult(self.region, path, verdicts, function_id))

    # -- reading results ----------------------------------------------------------------------

    def finish(self) -> None:
        for result in self.results:
            for verdict in result.verdicts.values():
                if not verdict.pending:
                    continue
                denied = []
                ignored: set[str] = set()
                for key, what in verdict.pending:
                    outcome = self.simulator.result(key)
                    ignored.update(outcome.ignored_context_keys)
                    if not outcome.allowed:
                        denied.append(f"{what}: {outcome.result}")
                verdict.simulations = [key for key, _ in verdict.pending]
                verdict.evidence += tuple(
                    sorted(
                        {
                            str(grant["policyIdentifier"]).split("/")[0]
                            for key in verdict.simulations
                            for grant in self.simulator.result(key).grants
                            if grant.get("policyType") == "identity"
                            and grant.get("policyIdentifier") != "allow-all"
                        }
                    )
                )
                verdict.pending = []
                verdict.allowed = not denied
                verdict.reason = "; ".join(denied) if denied else verdict.reason
                if ignored:
                    verdict.reason += f" (iam-simulate ignored context keys {sorted(ignored)})"

    def result(self, name: str) -> PathResult:
        for result in self.results:
            if result.path.name == name:
                return result
        raise KeyError(f"{name!r} is not a path of {self.region}")

    def failures(self) -> list[PathResult]:
        return [r for r in self.results if not r.ok]

    def lifecycle(self, assembly_dir: Path) -> list[Finding]:
        """What stops this template from rolling back, being destroyed or deployed again."""
        if assembly_dir not in self._lifecycle:
            self._lifecycle[assembly_dir] = [
                *lifecycle_findings(
                    self.resolver,
                    assembly_dir=assembly_dir,
                    termination_protection=bool(self.stack.termination_protection),
                ),
                *self.deploy_order(),
            ]
        return self._lifecycle[assembly_dir]

    def deploy_order(self) -> list[Finding]:
        """Custom resources whose handler takes a path while CloudFormation creates them must
        wait for every resource that lets the path through (``DependsOn``, ``Ref`` or
        ``Fn::GetAtt``, transitively); otherwise the handler may run before a rule exists."""
        findings = []
        for logical_id, resource in self.resolver.resources.items():
            handlers = self._custom_resource_handlers(logical_id, resource)
            if not handlers:
                continue
            waits_for = self.resolver.dependencies(logical_id)
            for result in self.results:
                if result.caller not in handlers or result.path.must_be_denied:
                    continue
                needed = {e for v in result.verdicts.values() for e in v.evidence}
                missing = sorted(needed - waits_for - {logical_id})
                if missing:
                    findings.append(
                        Finding(
                            "deploy-order",
                            logical_id,
                            f"its handler {result.caller} takes '{result.path.name}' while the "
                            f"resource is created, but it does not wait for {', '.join(missing)}; "
                            "add them to its dependencies (node.add_dependency)",
                        )
                    )
        return findings

    def _custom_resource_handlers(self, logical_id: str, resource: Mapping[str, Any]) -> set[str]:
        """The functions that serve a custom resource: its service token and, behind the
        provider framework, the user handlers."""
        if not str(resource["Type"]).startswith("Custom::"):
            return set()
        token = resource.get("Properties", {}).get("ServiceToken", {})
        if not isinstance(token, dict) or "Fn::GetAtt" not in token:
            return set()
        function = token["Fn::GetAtt"][0]
        variables = self.resolver.props(function).get("Environment", {}).get("Variables", {})
        users = {
            v["Fn::GetAtt"][0]
            for k, v in variables.items()
            if k.startswith("USER_") and isinstance(v, dict) and "Fn::GetAtt" in v
        }
        return {function, *users}

    # -- planning -----------------------------------------------------------------------------

    def _value(self, template_value: Any) -> Any:
        return self.resolver.resolve(template_value)

    def _plan(self, path: RuntimePath, function_id: str, target: Target) -> dict[Layer, Verdict]:
        placement = self.network.function_placement(function_id)
        runtime = self.resolver.type_of(function_id) == "AWS::BedrockAgentCore::Runtime"
        role_ref = self.resolver.props(function_id)["RoleArn" if runtime else "Role"]
        role_id = role_ref["Fn::GetAtt"][0]
        role_arn = self.resolver.resolve(role_ref)
        caller = _Caller(
            principal=(
                f"arn:{self.resolver.partition}:sts::{self.account}:assumed-role/"
                f"{self.resolver.ref(role_id)}/{self.resolver.ref(function_id)}"
            ),
            role_arn=role_arn,
            context={
                "aws:PrincipalArn": role_arn,
                "aws:PrincipalAccount": self.account,
                "aws:PrincipalType": "AssumedRole",
                "aws:RequestedRegion": self.region,
                "aws:SecureTransport": "true",
                "aws:SourceVpc": placement.vpc,
            },
        )
        if target.service == "aoss":
            verdicts = self._plan_collection(target, placement, role_arn)
        elif target.service == "s3":
            verdicts = self._plan_gateway(target, placement, caller)
        else:
            verdicts = self._plan_interface(target, placement, caller)
        if target.presigned:
            verdicts[Layer.IDENTITY] = Verdict(
                None, "authorized by the URL another service presigned, not the caller's role"
            )
            return verdicts
        pending = self._simulate(target, caller, self._identity_policies(role_id))
        verdicts[Layer.IDENTITY] = Verdict(
            None, f"{self.resolver.ref(role_id)} allows every evaluation", pending
        )
        return verdicts

    def _simulate(
        self,
        target: Target,
        caller: _Caller,
        identity: list[tuple[str, Any]],
        endpoint_policy: Mapping[str, Any] | None = None,
    ) -> list[tuple[str, str]]:
        """Submits one simulation per evaluation of ``target``: (key, what it evaluates)."""
        submitted = []
        for evaluation in target.evaluations:
            resource = self._value(evaluation.resource)
            key = self.simulator.submit(
                simulation(
                    principal=caller.principal,
                    action=evaluation.action,
                    resource=resource,
                    account=self.account,
                    context={**caller.context, **evaluation.context},
                    identity_policies=identity,
                    endpoint_policy=endpoint_policy,
                )
            )
            submitted.append((key, f"{evaluation.action} on {resource}"))
        return submitted

    def _plan_interface(
        self, target: Target, placement: Placement, caller: _Caller
    ) -> dict[Layer, Verdict]:
        hostname = target.hostname or sdk_hostname(target.service, self.region)
        candidates = [
            e
            for e in self.network.interface_endpoints
            if e.vpc == placement.vpc
            and fnmatch.fnmatchcase(hostname, _private_dns_name(e.service_name, self.region))
        ]
        private = [e for e in candidates if e.private_dns]
        verdicts: dict[Layer, Verdict] = {}
        vpc_problem = self.network.private_dns_problem(placement.vpc)
        if len(private) == 1 and vpc_problem:
            endpoint = private[0]
            verdicts[Layer.DNS] = Verdict(False, f"{hostname}: {vpc_problem}")
        elif len(private) == 1:
            endpoint = private[0]
            verdicts[Layer.DNS] = Verdict(
                True,
                f"{hostname} resolves to {endpoint.logical_id} (private DNS) in the VPC",
                evidence=(endpoint.logical_id,),
            )
        elif len(private) > 1:
            endpoint = private[0]
            verdicts[Layer.DNS] = Verdict(
                False,
                f"{len(private)} endpoints with private DNS for {hostname} in one VPC "
                f"({', '.join(e.logical_id for e in private)}); EC2 allows one",
            )
        elif candidates:
            endpoint = candidates[0]
            verdicts[Layer.DNS] = Verdict(
                False,
                f"{endpoint.logical_id} serves {hostname} but PrivateDnsEnabled is not true, so "
                "the SDK's hostname resolves to the public service, unreachable from the VPC",
            )
        else:
            verdicts[Layer.DNS] = Verdict(
                False, f"no interface endpoint for {hostname} in the caller's VPC {placement.vpc}"
            )
            verdicts[Layer.SECURITY_GROUPS] = Verdict(False, "no endpoint to connect to")
            verdicts[Layer.ENDPOINT_POLICY] = Verdict(None, "no endpoint")
            verdicts[Layer.DATA_ACCESS] = Verdict(None, "not an OpenSearch Serverless call")
            return verdicts
        sg = self.network.https(placement, endpoint.placement)
        verdicts[Layer.SECURITY_GROUPS] = Verdict(sg.allowed, sg.reason, evidence=sg.evidence)
        # Requests through an interface endpoint carry its id, for every later evaluation too.
        caller.context["aws:SourceVpce"] = self.resolver.ref(endpoint.logical_id)
        if endpoint.policy is None:
            verdicts[Layer.ENDPOINT_POLICY] = Verdict(
                True, f"{endpoint.logical_id} has no policy (AWS's default: full access)"
            )
        else:
            policy = endpoint_policy_for(
                endpoint.policy, role_arn=caller.role_arn, account=self.account
            )
            pending = self._simulate(target, caller, [("allow-all", ALLOW_ALL)], policy)
            verdicts[Layer.ENDPOINT_POLICY] = Verdict(
                None,
                f"{endpoint.logical_id}'s policy allows every evaluation",
                pending,
                evidence=(endpoint.logical_id,),
            )
        verdicts[Layer.DATA_ACCESS] = Verdict(None, "not an OpenSearch Serverless call")
        return verdicts

    def _plan_gateway(
        self, target: Target, placement: Placement, caller: _Caller
    ) -> dict[Layer, Verdict]:
        """S3 through a gateway endpoint: the public name, routed by the subnet's route table
        (no private DNS); the caller's egress to the S3 prefix list; the gateway's policy."""
        routed, why, gateway = self.network.s3_route(placement)
        verdicts: dict[Layer, Verdict] = {
            Layer.DNS: Verdict(
                routed, why, evidence=(gateway.logical_id,) if gateway is not None else ()
            )
        }
        sg = self.network.https_to_s3(placement)
        verdicts[Layer.SECURITY_GROUPS] = Verdict(sg.allowed, sg.reason, evidence=sg.evidence)
        if gateway is None or gateway.policy is None:
            verdicts[Layer.ENDPOINT_POLICY] = Verdict(
                True if gateway is not None else None,
                "the gateway has no policy (AWS's default: full access)"
                if gateway is not None
                else "no gateway endpoint on the way",
            )
        elif target.presigned:
            verdicts[Layer.ENDPOINT_POLICY] = Verdict(
                None, "a presigned request is signed by another principal: not modelled"
            )
        else:
            caller.context["aws:SourceVpce"] = self.resolver.ref(gateway.logical_id)
            policy = endpoint_policy_for(
                gateway.policy, role_arn=caller.role_arn, account=self.account
            )
            pending = self._simulate(target, caller, [("allow-all", ALLOW_ALL)], policy)
            verdicts[Layer.ENDPOINT_POLICY] = Verdict(
                None, f"{gateway.logical_id}'s policy allows every evaluation", pending
            )
        verdicts[Layer.DATA_ACCESS] = Verdict(None, "not an OpenSearch Serverless call")
        return verdicts

    def _plan_collection(
        self, target: Target, placement: Placement, role_arn: str
    ) -> dict[Layer, Verdict]:
        assert target.collection is not None and target.data_access is not None
        collection_id = target.collection
        name, index, permission = target.data_access
        hostname = str(self._value(target.collection_endpoint)).removeprefix("https://")
        verdicts: dict[Layer, Verdict] = {}
        endpoints = [
            e for e in self.network.collection_endpoints if e.placement.vpc == placement.vpc
        ]
        network_policies = self._aoss_policies(
            "AWS::OpenSearchServerless::SecurityPolicy", "network"
        )
        if not hostname.endswith(f".{self.region}.aoss.amazonaws.com"):
            verdicts[Layer.DNS] = Verdict(False, f"{hostname} is not an OpenSearch Serverless name")
        elif not endpoints:
            verdicts[Layer.DNS] = Verdict(
                False,
                f"no OpenSearch Serverless VPC endpoint in the caller's VPC {placement.vpc}: "
                f"{hostname} resolves to the public endpoint",
            )
        else:
            admitted = [
                (e, network_access(network_policies, collection=name, endpoint_id=e.endpoint_id))
                for e in endpoints
            ]
            good = [(e, why, policy) for e, (ok, why, policy) in admitted if ok]
            vpc_problem = self.network.private_dns_problem(placement.vpc)
            if vpc_problem:
                verdicts[Layer.DNS] = Verdict(False, f"{hostname}: {vpc_problem}")
            elif good:
                endpoint, why, policy = good[0]
                verdicts[Layer.DNS] = Verdict(
                    True,
                    f"{hostname} resolves to {endpoint.logical_id}; {why}",
                    evidence=(endpoint.logical_id, str(policy)),
                )
            else:
                verdicts[Layer.DNS] = Verdict(False, "; ".join(why for _, (_, why, _) in admitted))
        if endpoints:
            endpoint = endpoints[0]
            sg = self.network.https(placement, endpoint.placement)
            verdicts[Layer.SECURITY_GROUPS] = Verdict(sg.allowed, sg.reason, evidence=sg.evidence)
        else:
            verdicts[Layer.SECURITY_GROUPS] = Verdict(False, "no endpoint to connect to")
        verdicts[Layer.ENDPOINT_POLICY] = Verdict(
            None, "OpenSearch Serverless VPC endpoints have no endpoint policy"
        )
        data_policies = self._aoss_policies("AWS::OpenSearchServerless::AccessPolicy", "data")
        allowed, why, granting = data_access(
            data_policies, role_arn=role_arn, collection=name, index=index, permission=permission
        )
        if self.resolver.props(collection_id).get("Name") != name:
            allowed, why = False, f"{collection_id} is not named {name}"
        verdicts[Layer.DATA_ACCESS] = Verdict(
            allowed, why, evidence=(granting, collection_id) if granting else ()
        )
        return verdicts

    def _aoss_policies(self, kind: str, policy_type: str) -> list[tuple[str, Any]]:
        found = []
        for logical_id, resource in self.resolver.resources.items():
            if resource["Type"] != kind:
                continue
            props = self.resolver.resolved_props(logical_id)
            if props.get("Type") == policy_type:
                found.append((logical_id, json.loads(props["Policy"])))
        return found

    def _identity_policies(self, role_id: str) -> list[tuple[str, Any]]:
        """Inline policies of the role plus every AWS::IAM::Policy/ManagedPolicy attached to it."""
        role = self.resolver.resolved_props(role_id)
        if role.get("ManagedPolicyArns") or role.get("PermissionsBoundary"):
            raise UnresolvableError(
                f"{role_id} has managed policies or a permissions boundary, which the rehearsal "
                "cannot read offline"
            )
        policies = [
            (f"{role_id}/{p['PolicyName']}", p["PolicyDocument"]) for p in role.get("Policies", [])
        ]
        role_name = self.resolver.ref(role_id)
        for logical_id, resource in self.resolver.resources.items():
            if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                props = self.resolver.resolved_props(logical_id)
                if role_name in props.get("Roles", []):
                    policies.append((logical_id, props["PolicyDocument"]))
        return policies


def _private_dns_name(service_name: str, region: str) -> str:
    prefix = f"com.amazonaws.{region}."
    short = service_name.removeprefix(prefix)
    return PRIVATE_DNS_NAMES.get(short, "{short}.{region}.amazonaws.com").format(
        short=short, region=region
    )


class Rehearsal:
    """Plans any number of stack templates, then simulates all of them in one Node process."""

    def __init__(self) -> None:
        self.simulator = Simulator()
        self._stacks: list[StackRehearsal] = []

    def add(
        self,
        stack: RegionalStack,
        template: Mapping[str, Any],
        paths: Sequence[RuntimePath] = PATHS,
    ) -> StackRehearsal:
        planned = StackRehearsal(stack, template, self.simulator, paths)
        self._stacks.append(planned)
        return planned

    def run(self) -> None:
        self.simulator.run()
        for planned in self._stacks:
            planned.finish()
