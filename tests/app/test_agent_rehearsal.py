"""The offline deploy rehearsal of the agent runtime (the reference app with
``ha-inference:agent``): the runtime's paths to S3 (its code, or an image's layers), ECR, its logs,
Bedrock Runtime and the collection, and a caller's path to the runtime, through every layer (DNS
and routes, security groups, endpoint policy, identity, data access); each shown to fail at its
layer when the rule that lets it through is removed.

The code-package agent is the ``agent`` configuration (every Region); the image agent is built
here, in one Region. All simulations of this module run in one Node process.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stacks import RegionalStack
from tests.support import AGENT, TEST_ACCOUNT, ZONE_IDS, Configurations, Synth, synth_reference
from tests.support.rehearsal.paths import AGENT_PATHS, IMAGE_PATHS, IMAGE_REPOSITORY, Layer
from tests.support.rehearsal.rehearsal import Rehearsal, StackRehearsal
from tests.support.rehearsal.resolver import TemplateResolver
from tests.support.rehearsal.surgery import Mutation, changed_layers, get_att, lid, remove_ingress

REGIONS = ["us-east-1", "us-east-2", "us-west-2"]
IMAGE = f"{TEST_ACCOUNT}.dkr.ecr.{{region}}.amazonaws.com/{IMAGE_REPOSITORY}:1.0"

CODE = "agent -> S3: its code package (s3:GetObject through the gateway)"
LOGS = "agent -> logs: its log group (logs:PutLogEvents)"
PROFILE = "agent -> bedrock-runtime: InvokeModel/Converse through the profile"
EMBED = "agent -> bedrock-runtime: InvokeModel on the embedding model"
SEARCH = "agent -> collection: search (aoss:ReadDocument)"
INVOKE = "agent client -> bedrock-agentcore: InvokeAgentRuntime"
OUTSIDE = "agent -> bedrock-runtime: the model outside its profile"
TOKEN = "agent -> ecr.api: an authorization token"
PULL = "agent -> ecr.dkr: the image manifest and layer URLs"
LAYERS = "agent -> S3: image layers (URLs presigned by ECR)"
RETRIEVAL_INVOKE = "retrieval -> bedrock-agentcore: InvokeAgentRuntime"


def _gateway_off_the_runtime_route_tables(t: dict[str, Any], s: RegionalStack) -> None:
    agent = s.inference.agent
    assert agent is not None
    gateway = lid(s, agent.s3_gateway)
    tables = [
        {"Ref": a["Properties"]["RouteTableId"]["Ref"]}
        for a in t["Resources"].values()
        if a["Type"] == "AWS::EC2::SubnetRouteTableAssociation"
        and a["Properties"]["SubnetId"] in [{"Ref": lid(s, n)} for n in agent.subnets]
    ]
    props = t["Resources"][gateway]["Properties"]
    props["RouteTableIds"] = [r for r in props["RouteTableIds"] if r not in tables]


def _no_egress_to_s3(t: dict[str, Any], s: RegionalStack) -> None:
    agent = s.inference.agent
    assert agent is not None
    group = get_att(lid(s, agent.security_group), "GroupId")
    removed = [
        k
        for k, r in t["Resources"].items()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
        and r["Properties"]["GroupId"] == group
        and "DestinationPrefixListId" in r["Properties"]
    ]
    assert removed
    for k in removed:
        del t["Resources"][k]


def _no_code_read(t: dict[str, Any], s: RegionalStack) -> None:
    agent = s.inference.agent
    assert agent is not None
    role = {"Ref": lid(s, agent.role)}
    for resource in t["Resources"].values():
        if resource["Type"] == "AWS::IAM::Policy" and role in resource["Properties"]["Roles"]:
            statements = resource["Properties"]["PolicyDocument"]["Statement"]
            kept = [st for st in statements if "s3:GetObject" not in json.dumps(st)]
            assert len(kept) == len(statements) - 1
            resource["Properties"]["PolicyDocument"]["Statement"] = kept


def _logs_policy_for_another_prefix(t: dict[str, Any], s: RegionalStack) -> None:
    agent = s.inference.agent
    assert agent is not None
    props = t["Resources"][lid(s, agent.endpoints["logs"])]["Properties"]
    text = json.dumps(props["PolicyDocument"]).replace("bedrock-agentcore/runtimes", "lambda")
    props["PolicyDocument"] = json.loads(text)


def _invoke_endpoint_names_another_runtime(t: dict[str, Any], s: RegionalStack) -> None:
    endpoint = s.inference.agent_endpoint
    assert endpoint is not None
    props = t["Resources"][lid(s, endpoint.endpoint)]["Properties"]
    (statement,) = props["PolicyDocument"]["Statement"]
    statement["Resource"] = [
        f"arn:aws:bedrock-agentcore:us-east-1:{TEST_ACCOUNT}:runtime/other-a1b2c3d4e5"
    ]


def _client_not_admitted(t: dict[str, Any], s: RegionalStack) -> None:
    endpoint, client = s.inference.agent_endpoint, s.inference.agent_client
    assert endpoint is not None and client is not None
    remove_ingress(t, lid(s, endpoint.security_group), lid(s, client.security_group))


def _runtime_not_admitted_on_bedrock(t: dict[str, Any], s: RegionalStack) -> None:
    agent = s.inference.agent
    assert agent is not None
    remove_ingress(
        t, lid(s, s.inference.bedrock_endpoints.security_group), lid(s, agent.security_group)
    )


def _agent_not_in_the_data_policy(t: dict[str, Any], s: RegionalStack) -> None:
    agent = s.inference.agent
    assert agent is not None
    policy = lid(s, s.inference.collection.data_access_policy)
    props = t["Resources"][policy]["Properties"]
    text = json.dumps(props["Policy"]).replace(
        json.dumps(get_att(lid(s, agent.role), "Arn")), '"arn:aws:iam::111111111111:role/other"'
    )
    props["Policy"] = json.loads(text)


MUTATIONS = (
    Mutation("gateway-off-the-runtime-route-tables", _gateway_off_the_runtime_route_tables, Layer.DNS, (CODE,)),
    Mutation("no-egress-to-s3", _no_egress_to_s3, Layer.SECURITY_GROUPS, (CODE,)),
    Mutation("no-code-read", _no_code_read, Layer.IDENTITY, (CODE,)),
    Mutation("logs-policy-for-another-prefix", _logs_policy_for_another_prefix, Layer.ENDPOINT_POLICY, (LOGS,)),
    Mutation("runtime-not-admitted-on-bedrock", _runtime_not_admitted_on_bedrock, Layer.SECURITY_GROUPS, (PROFILE, EMBED, OUTSIDE)),
    Mutation("agent-not-in-the-data-policy", _agent_not_in_the_data_policy, Layer.DATA_ACCESS, (SEARCH,)),
    Mutation("invoke-endpoint-names-another-runtime", _invoke_endpoint_names_another_runtime, Layer.ENDPOINT_POLICY, (INVOKE, RETRIEVAL_INVOKE)),
    Mutation("client-not-admitted", _client_not_admitted, Layer.SECURITY_GROUPS, (INVOKE,)),
)  # fmt: skip


@dataclass
class Runs:
    assembly_dir: str
    code: dict[str, StackRehearsal]
    image: StackRehearsal
    mutated: dict[str, StackRehearsal]
    processes: int


@pytest.fixture(scope="module")
def image_agent(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The reference app in us-east-1 with an agent that runs an ECR image."""
    context = {
        **AGENT,
        "ha-inference:regions": ["us-east-1"],
        "ha-inference:zone-ids": {"us-east-1": ZONE_IDS["us-east-1"]},
        "ha-inference:require-all-destinations": False,
        "ha-inference:agent": {"image": IMAGE},
    }
    return synth_reference(tmp_path_factory.mktemp("image-agent"), context)


@pytest.fixture(scope="module")
def runs(configurations: Configurations, image_agent: Synth) -> Runs:
    agent = configurations["agent"]
    stacks = {s.region: s for s in agent.stacks}
    rehearsal = Rehearsal()
    code = {r: rehearsal.add(stacks[r], agent.template(r), AGENT_PATHS) for r in REGIONS}
    (image_stack,) = image_agent.stacks
    image = rehearsal.add(image_stack, image_agent.template("us-east-1"), IMAGE_PATHS)
    mutated = {}
    for mutation in MUTATIONS:
        template = copy.deepcopy(agent.template("us-east-1"))
        mutation.mutate(template, stacks["us-east-1"])
        mutated[mutation.id] = rehearsal.add(stacks["us-east-1"], template, AGENT_PATHS)
    rehearsal.run()
    return Runs(agent.assembly.directory, code, image, mutated, rehearsal.simulator.processes)


def test_all_simulations_run_in_one_node_process(runs: Runs) -> None:
    assert runs.processes == 1


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("path", [p.name for p in AGENT_PATHS])
def test_agent_path(runs: Runs, region: str, path: str) -> None:
    result = runs.code[region].result(path)
    assert result.ok, result.describe()


@pytest.mark.parametrize("path", [p.name for p in IMAGE_PATHS])
def test_image_agent_path(runs: Runs, path: str) -> None:
    result = runs.image.result(path)
    assert result.ok, result.describe()


@pytest.mark.parametrize("region", REGIONS)
def test_the_agent_app_deploys_again_after_a_rollback_or_destroy(runs: Runs, region: str) -> None:
    """No retained fixed name, no deletion protection, custom resources that handle Delete,
    handlers in their code, custom resources that wait for their paths (the runtime's name is
    its only create-only property, so an update never collides with itself)."""
    findings = runs.code[region].lifecycle(Path(runs.assembly_dir))
    assert not findings, "\n".join(map(str, findings))


def test_every_path_is_rehearsed(runs: Runs) -> None:
    for region in REGIONS:
        assert [r.path.name for r in runs.code[region].results] == [p.name for p in AGENT_PATHS]
    assert [r.path.name for r in runs.image.results] == [p.name for p in IMAGE_PATHS]


def test_the_code_path_goes_through_the_gateway_on_the_runtime_route_tables(runs: Runs) -> None:
    verdicts = runs.code["us-east-1"].result(CODE).verdicts
    assert verdicts[Layer.DNS].allowed is True
    assert "sends S3 traffic to NetworkVpcS3" in verdicts[Layer.DNS].reason
    assert verdicts[Layer.SECURITY_GROUPS].allowed is True


def test_layers_are_fetched_through_the_gateway_with_ecrs_urls(runs: Runs) -> None:
    verdicts = runs.image.result(LAYERS).verdicts
    assert (verdicts[Layer.DNS].allowed, verdicts[Layer.SECURITY_GROUPS].allowed) == (True, True)
    assert verdicts[Layer.IDENTITY].allowed is None


def test_the_image_agent_uses_the_registrys_private_names(runs: Runs) -> None:
    for path in (TOKEN, PULL):
        reason = runs.image.result(path).verdicts[Layer.DNS].reason
        assert "(private DNS)" in reason, reason


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_mutation_is_reported_at_its_layer(runs: Runs, mutation: Mutation) -> None:
    assert changed_layers(runs.mutated[mutation.id]) == {
        (path, mutation.layer) for path in mutation.paths
    }
    for path in mutation.paths:
        result = runs.mutated[mutation.id].result(path)
        assert f"[{mutation.layer.value}]" in result.describe()


def test_paths_of_the_runtime_start_are_created_before_it(configurations: Configurations) -> None:
    """The service fetches the code through the gateway and the runtime's egress rule while it
    creates the runtime: CloudFormation must create them (and the role's policy) first."""
    agent = configurations["agent"]
    stack = next(s for s in agent.stacks if s.region == "us-east-1")
    runtime = stack.inference.agent
    assert runtime is not None
    resolver = TemplateResolver(
        agent.template("us-east-1"),
        region="us-east-1",
        account=TEST_ACCOUNT,
        stack_name=stack.stack_name,
    )
    waits_for = resolver.dependencies(lid(stack, runtime.runtime))
    role = lid(stack, runtime.role)
    policies = {
        k
        for k, r in agent.template("us-east-1")["Resources"].items()
        if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    }
    egress = {
        k
        for k, r in agent.template("us-east-1")["Resources"].items()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
        and r["Properties"]["GroupId"] == get_att(lid(stack, runtime.security_group), "GroupId")
    }
    assert {role, lid(stack, runtime.s3_gateway), *policies, *egress} <= waits_for


def test_the_image_agents_template_names_the_image(image_agent: Synth) -> None:
    template = image_agent.template("us-east-1")
    (runtime,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::BedrockAgentCore::Runtime"
    ]
    assert runtime["Properties"]["AgentRuntimeArtifact"] == {
        "ContainerConfiguration": {"ContainerUri": IMAGE.format(region="us-east-1")}
    }
