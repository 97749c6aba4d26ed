"""Resolves a synthesized template the way CloudFormation would, with made-up physical ids.

Every resource gets a deterministic fake physical id and ARN derived from its logical id, so
that an ``Fn::GetAtt`` in one place (a policy's ``Resource``) and the same ``Fn::GetAtt`` in
another (a data access policy's ``Principal``) resolve to the same string, and different
resources never collide. Only what the reference app's templates use is supported; anything
else (``Fn::If``, ``Fn::ImportValue``, a ``Ref`` to a missing resource...) raises
:class:`UnresolvableError` rather than being guessed.

Physical ids follow the service formats closely enough for policy matching:

* ``AWS::IAM::Role``: ``Ref`` is the role name (``RoleName``, else ``<logicalId>-fake``),
  ``Arn`` is ``arn:<partition>:iam::<account>:role/<name>``;
* VPC things: ``vpc-``, ``subnet-``, ``sg-``, ``vpce-`` + 17 hex digits from the logical id;
* ``AWS::OpenSearchServerless::Collection``: ``Ref``/``Id`` a 20-character id, ``Arn``
  ``arn:…:aoss:<region>:<account>:collection/<id>``, ``CollectionEndpoint``
  ``https://<id>.<region>.aoss.amazonaws.com``;
* ``AWS::SageMaker::Endpoint``: ``Ref``/``EndpointArn`` ``arn:…:sagemaker:<region>:<account>:
  endpoint/<lowercased EndpointName>`` (SageMaker lowercases names in ARNs);
* ``AWS::BedrockAgentCore::Runtime``: ``AgentRuntimeId`` ``<AgentRuntimeName>-<10 characters>``,
  ``AgentRuntimeArn`` ``arn:…:bedrock-agentcore:<region>:<account>:runtime/<id>``;
* anything else: ``Ref`` ``<logicalId>-physical-id``, ``Arn`` a generic ARN naming the
  logical id, other attributes ``<logicalId>.<Attribute>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

PSEUDO = ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::URLSuffix", "AWS::StackName")


class UnresolvableError(ValueError):
    """The template uses something this resolver does not model."""


def _hex(logical_id: str, length: int = 17) -> str:
    return hashlib.sha256(logical_id.encode()).hexdigest()[:length]


_PREFIXED_IDS = {
    "AWS::EC2::VPC": "vpc-",
    "AWS::EC2::Subnet": "subnet-",
    "AWS::EC2::SecurityGroup": "sg-",
    "AWS::EC2::VPCEndpoint": "vpce-",
    "AWS::OpenSearchServerless::VpcEndpoint": "vpce-",
    "AWS::EC2::RouteTable": "rtb-",
}


class TemplateResolver:
    """Resolves intrinsics in one stack's template with fake physical ids."""

    def __init__(
        self, template: Mapping[str, Any], *, region: str, account: str, stack_name: str
    ) -> None:
        self.template = template
        self.resources: Mapping[str, Mapping[str, Any]] = template.get("Resources", {})
        self.region = region
        self.account = account
        self.partition = "aws-cn" if region.startswith("cn-") else "aws"
        self.pseudo = {
            "AWS::Partition": self.partition,
            "AWS::Region": region,
            "AWS::AccountId": account,
            "AWS::URLSuffix": "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com",
            "AWS::StackName": stack_name,
        }
        self._physical: dict[str, str] = {}
        self._resolved: dict[str, Any] = {}

    # -- physical ids -------------------------------------------------------------------------

    def type_of(self, logical_id: str) -> str:
        if logical_id not in self.resources:
            raise UnresolvableError(f"no resource {logical_id!r} in the template")
        return str(self.resources[logical_id]["Type"])

    def props(self, logical_id: str) -> Mapping[str, Any]:
        props: Mapping[str, Any] = self.resources[logical_id].get("Properties", {})
        return props

    def resolved_props(self, logical_id: str) -> Mapping[str, Any]:
        """The resource's ``Properties`` with every intrinsic resolved (computed once)."""
        if logical_id not in self._resolved:
            self._resolved[logical_id] = self.resolve(self.props(logical_id))
        props: Mapping[str, Any] = self._resolved[logical_id]
        return props

    def ref(self, logical_id: str) -> str:
        """What ``{"Ref": logical_id}`` returns."""
        if logical_id in self.pseudo:
            return self.pseudo[logical_id]
        if logical_id not in self._physical:
            self._physical[logical_id] = self._make_ref(logical_id)
        return self._physical[logical_id]

    def _make_ref(self, logical_id: str) -> str:
        kind = self.type_of(logical_id)
        if kind in _PREFIXED_IDS:
            return _PREFIXED_IDS[kind] + _hex(logical_id)
        if kind == "AWS::IAM::Role":
            name = self.props(logical_id).get("RoleName")
            return self.resolve(name) if name is not None else f"{logical_id}-fake"
        if kind == "AWS::OpenSearchServerless::Collection":
            return _hex(logical_id, 20)
        if kind == "AWS::SageMaker::Endpoint":
            return self.get_att(logical_id, "EndpointArn")
        return f"{logical_id}-physical-id"

    def get_att(self, logical_id: str, attribute: str) -> str:
        """What ``{"Fn::GetAtt": [logical_id, attribute]}`` returns."""
        kind = self.type_of(logical_id)
        region, account, partition = self.region, self.account, self.partition
        if kind == "AWS::IAM::Role":
            if attribute == "Arn":
                return f"arn:{partition}:iam::{account}:role/{self.ref(logical_id)}"
            if attribute == "RoleId":
                return "AROA" + _hex(logical_id, 17).upper()
        if kind == "AWS::EC2::SecurityGroup" and attribute == "GroupId":
            return self.ref(logical_id)
        if kind in ("AWS::EC2::VPCEndpoint", "AWS::OpenSearchServerless::VpcEndpoint") and (
            attribute == "Id"
        ):
            return self.ref(logical_id)
        if kind == "AWS::EC2::VPC":
            if attribute == "CidrBlock":
                return str(self.resolve(self.props(logical_id)["CidrBlock"]))
            if attribute == "DefaultSecurityGroup":
                return "sg-" + _hex(logical_id + "/default")
        if kind == "AWS::OpenSearchServerless::Collection":
            collection_id = self.ref(logical_id)
            if attribute == "Id":
                return collection_id
            if attribute == "Arn":
                return f"arn:{partition}:aoss:{region}:{account}:collection/{collection_id}"
            if attribute == "CollectionEndpoint":
                return f"https://{collection_id}.{region}.aoss.amazonaws.com"
            if attribute == "DashboardEndpoint":
                return f"https://{collection_id}.{region}.aoss.amazonaws.com/_dashboards"
        if kind == "AWS::SageMaker::Endpoint" and attribute in ("EndpointArn", "EndpointName"):
            name = str(self.resolve(self.props(logical_id).get("EndpointName", logical_id)))
            if attribute == "EndpointName":
                return name
            return f"arn:{partition}:sagemaker:{region}:{account}:endpoint/{name.lower()}"
        if kind == "AWS::BedrockAgentCore::Runtime" and attribute in (
            "AgentRuntimeArn",
            "AgentRuntimeId",
        ):
            name = str(self.resolve(self.props(logical_id).get("AgentRuntimeName", "agent")))
            runtime_id = f"{name}-{_hex(logical_id, 10)}"
            if attribute == "AgentRuntimeId":
                return runtime_id
            return f"arn:{partition}:bedrock-agentcore:{region}:{account}:runtime/{runtime_id}"
        if kind == "AWS::Lambda::Function" and attribute == "Arn":
            return f"arn:{partition}:lambda:{region}:{account}:function:{self.ref(logical_id)}"
        if attribute == "Arn":
            service = kind.split("::")[1].lower() if kind.startswith("AWS::") else "custom"
            return f"arn:{partition}:{service}:{region}:{account}:{logical_id.lower()}/fake"
        return f"{logical_id}.{attribute}"

    # -- intrinsics ---------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic function replaced by what it returns."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical_id, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
                return self.get_att(logical_id, self.resolve(attribute))
            if key == "Fn::Join":
                separator, items = arg
                return str(separator).join(str(item) for item in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.resolve(text)).split(separator)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key.startswith("Fn::") or key == "Condition":
                raise UnresolvableError(f"{key} is not modelled by the rehearsal's resolver")
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, arg: Any) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else arg
        values = {name: self.resolve(v) for name, v in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in values:
                return str(values[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return self.get_att(logical_id, attribute)
            return self.ref(name)

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def references_resources(self, value: Any) -> bool:
        """Whether ``value`` depends on any resource of the template (not only on literals and
        pseudo parameters): such a value differs per deploy; anything else is fixed."""
        if isinstance(value, list):
            return any(self.references_resources(item) for item in value)
        if not isinstance(value, dict):
            return False
        if "Ref" in value:
            return value["Ref"] not in self.pseudo
        if "Fn::GetAtt" in value:
            return True
        if "Fn::Sub" in value:
            arg = value["Fn::Sub"]
            text, variables = (arg, {}) if isinstance(arg, str) else arg
            names = re.findall(r"\$\{([^}!]+)\}", text)
            return any(
                (n in variables and self.references_resources(variables[n]))
                or (n not in variables and n.split(".")[0] not in self.pseudo)
                for n in names
            )
        return any(self.references_resources(item) for item in value.values())

    def dependencies(self, logical_id: str) -> set[str]:
        """Every resource CloudFormation creates before ``logical_id``: its ``DependsOn`` and the
        resources its properties ``Ref``/``Fn::GetAtt``/``Fn::Sub``, transitively."""
        seen: set[str] = set()
        todo = [logical_id]
        while todo:
            current = todo.pop()
            resource = self.resources[current]
            depends_on = resource.get("DependsOn", [])
            direct = {depends_on} if isinstance(depends_on, str) else set(depends_on)
            direct |= self._referenced(resource.get("Properties", {}))
            for found in direct - seen:
                seen.add(found)
                todo.append(found)
        return seen

    def _referenced(self, value: Any) -> set[str]:
        if isinstance(value, list):
            return set().union(*(self._referenced(v) for v in value)) if value else set()
        if not isinstance(value, dict):
            return set()
        found: set[str] = set()
        for key, arg in value.items():
            if key == "Ref" and arg in self.resources:
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                names = {n.split(".", 1)[0] for n in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= names & set(self.resources)
                if not isinstance(arg, str):
                    found |= self._referenced(arg[1])
            else:
                found |= self._referenced(arg)
        return found

    def logical_id_of(self, physical_id: str) -> str | None:
        """The logical id whose ``Ref`` is ``physical_id`` (for messages)."""
        for logical_id in self.resources:
            if self.ref(logical_id) == physical_id:
                return logical_id
        return None
