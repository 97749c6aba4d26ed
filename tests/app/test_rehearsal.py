"""The offline deploy rehearsal over the synthesized reference app.

Every runtime path of :data:`tests.support.rehearsal.paths.PATHS` must be allowed by every layer (DNS,
security groups, endpoint policy, identity policy, OpenSearch Serverless data access) in every
Region, and the paths that must be refused must be refused by exactly the declared layers.
The stacks must be deployable again after a rollback or a destroy (lifecycle). Each check is
then shown to fail, naming its layer, when a mutation removes the rule that made it pass.

All simulations of this module (the app and every mutation) run in one Node process.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ha_inference.compute.shipped import ShippedHandler
from stacks import RegionalStack
from tests.support import Synth, cdk_json_context
from tests.support.rehearsal.lifecycle import (
    Finding,
    custom_resources,
    deletion_protection,
    request_types_handled,
)
from tests.support.rehearsal.network import DEFAULT_EGRESS, NetworkModel
from tests.support.rehearsal.paths import PATHS, Layer, path_named, through_profile
from tests.support.rehearsal.policies import Simulator
from tests.support.rehearsal.rehearsal import Rehearsal, StackRehearsal
from tests.support.rehearsal.resolver import TemplateResolver
from tests.support.rehearsal.surgery import (
    Mutate,
    Mutation,
    changed_layers,
    default_policy,
    delete,
    drop_statement,
    get_att,
    lid,
    replace_property,
    rules,
    statements,
)

REGIONS: list[str] = list(cdk_json_context()["ha-inference:regions"])
MUTATED_REGION = REGIONS[0]

PROFILE = "retrieval -> bedrock-runtime: InvokeModel/Converse through the profile"
R_EMBED = "retrieval -> bedrock-runtime: InvokeModel on the embedding model"
R_SEARCH = "retrieval -> collection: search (aoss:ReadDocument)"
R_SAGEMAKER = "retrieval -> self-hosted model: sagemaker:InvokeEndpoint"
I_EMBED = "ingestion -> bedrock-runtime: InvokeModel on the embedding model"
I_WRITE = "ingestion -> collection: write documents (aoss:WriteDocument)"
C_DESCRIBE = "index creator -> collection: describe the index (aoss:DescribeIndex)"
C_CREATE = "index creator -> collection: create the index (aoss:CreateIndex)"
OUTSIDE = "retrieval -> bedrock-runtime: the model outside its profile"
UNROUTED = "retrieval -> bedrock-runtime: the profile to a Region it does not route to"
I_PROFILE = "ingestion -> bedrock-runtime: InvokeModel through the profile"
I_SEARCH = "ingestion -> collection: search (aoss:ReadDocument)"
R_WRITE = "retrieval -> collection: write documents (aoss:WriteDocument)"
R_CREATE = "retrieval -> collection: create the index (aoss:CreateIndex)"
I_CREATE = "ingestion -> collection: create the index (aoss:CreateIndex)"
C_WRITE = "index creator -> collection: write documents (aoss:WriteDocument)"
I_SAGEMAKER = "ingestion -> self-hosted model: sagemaker:InvokeEndpoint"

RETRIEVAL_BEDROCK = (PROFILE, R_EMBED, OUTSIDE, UNROUTED)
RETRIEVAL_COLLECTION = (R_SEARCH, R_WRITE, R_CREATE)
COLLECTION = (
    R_SEARCH,
    I_WRITE,
    C_DESCRIBE,
    C_CREATE,
    I_SEARCH,
    R_WRITE,
    R_CREATE,
    I_CREATE,
    C_WRITE,
)


# -- template surgery ---------------------------------------------------------------------------


# -- the mutations ------------------------------------------------------------------------------


def _sg_ingress_removed(t: dict[str, Any], s: RegionalStack) -> None:
    endpoint_sg, caller_sg = (
        lid(s, s.inference.collection_endpoint.security_group),
        lid(s, s.inference.retrieval.security_group),
    )
    delete(
        t,
        rules(t, "AWS::EC2::SecurityGroupIngress", endpoint_sg, "SourceSecurityGroupId", caller_sg),
    )


def _sg_egress_removed(t: dict[str, Any], s: RegionalStack) -> None:
    endpoint_sg, caller_sg = (
        lid(s, s.inference.bedrock_endpoints.security_group),
        lid(s, s.inference.retrieval.security_group),
    )
    delete(
        t,
        rules(
            t, "AWS::EC2::SecurityGroupEgress", caller_sg, "DestinationSecurityGroupId", endpoint_sg
        ),
    )


def _inline_egress_removed(t: dict[str, Any], s: RegionalStack) -> None:
    """The CDK pitfall: no inline egress, so EC2 keeps its allow-all rule next to the others."""
    props = t["Resources"][lid(s, s.inference.retrieval.security_group)]["Properties"]
    assert props.pop("SecurityGroupEgress")


def _endpoint_policy_resource_removed(t: dict[str, Any], s: RegionalStack) -> None:
    policy = t["Resources"][lid(s, s.inference.bedrock_endpoints.endpoints["bedrock-runtime"])][
        "Properties"
    ]
    statement = policy["PolicyDocument"]["Statement"][0]
    statement["Resource"].remove(s.inference.embedding_model.model_arn)


def _endpoint_policy_other_account(t: dict[str, Any], s: RegionalStack) -> None:
    policy = t["Resources"][lid(s, s.inference.bedrock_endpoints.endpoints["bedrock-runtime"])][
        "Properties"
    ]
    condition = policy["PolicyDocument"]["Statement"][0]["Condition"]["StringEquals"]
    condition["aws:PrincipalAccount"] = "222222222222"


def _sagemaker_statement_removed(t: dict[str, Any], s: RegionalStack) -> None:
    drop_statement(
        t, default_policy(t, lid(s, s.inference.inference_role)), "sagemaker:InvokeEndpoint"
    )


def _aoss_statement_removed(t: dict[str, Any], s: RegionalStack) -> None:
    role = lid(s, s.inference.ingestion.role)
    drop_statement(t, default_policy(t, role), "aoss:APIAccessAll")


def _profile_condition_removed(t: dict[str, Any], s: RegionalStack) -> None:
    found = [
        st
        for st in statements(t, default_policy(t, lid(s, s.inference.inference_role)))
        if "bedrock:InferenceProfileArn" in json.dumps(st.get("Condition", {}))
    ]
    assert len(found) == 1
    del found[0]["Condition"]


def _data_principal_removed(t: dict[str, Any], s: RegionalStack) -> None:
    policy = lid(s, s.inference.collection.data_access_policy)
    creator_role = lid(s, s.inference.index.creator.role)
    other = "arn:aws:iam::111111111111:role/someone-else"
    replace_property(t, policy, "Policy", get_att(creator_role, "Arn"), other)


def _private_dns_off(endpoint: Callable[[RegionalStack], Any]) -> Mutate:
    def mutate(t: dict[str, Any], s: RegionalStack) -> None:
        assert t["Resources"][lid(s, endpoint(s))]["Properties"].pop("PrivateDnsEnabled") is True

    return mutate


def _vpc_dns_hostnames_off(t: dict[str, Any], s: RegionalStack) -> None:
    assert t["Resources"][lid(s, s.network.vpc)]["Properties"].pop("EnableDnsHostnames") is True


def _source_vpce_removed(t: dict[str, Any], s: RegionalStack) -> None:
    endpoint = lid(s, s.inference.collection_endpoint)
    replace_property(
        t,
        lid(s, s.inference.collection.network_policy),
        "Policy",
        get_att(endpoint, "Id"),
        "vpce-0other",
    )


MUTATIONS = (
    Mutation("sg-ingress-removed", _sg_ingress_removed, Layer.SECURITY_GROUPS, RETRIEVAL_COLLECTION),
    Mutation("sg-egress-removed", _sg_egress_removed, Layer.SECURITY_GROUPS, RETRIEVAL_BEDROCK),
    Mutation("sg-default-egress", _inline_egress_removed, Layer.SECURITY_GROUPS, (*RETRIEVAL_BEDROCK, *RETRIEVAL_COLLECTION, R_SAGEMAKER)),
    Mutation("endpoint-policy-resource-removed", _endpoint_policy_resource_removed, Layer.ENDPOINT_POLICY, (R_EMBED, I_EMBED)),
    Mutation("endpoint-policy-other-account", _endpoint_policy_other_account, Layer.ENDPOINT_POLICY, (PROFILE, R_EMBED, OUTSIDE, I_EMBED, I_PROFILE)),
    Mutation("iam-sagemaker-statement-removed", _sagemaker_statement_removed, Layer.IDENTITY, (R_SAGEMAKER,)),
    Mutation("iam-aoss-statement-removed", _aoss_statement_removed, Layer.IDENTITY, (I_WRITE, I_SEARCH, I_CREATE)),
    Mutation("iam-profile-condition-removed", _profile_condition_removed, Layer.IDENTITY, (OUTSIDE,)),
    Mutation("data-policy-principal-removed", _data_principal_removed, Layer.DATA_ACCESS, (C_DESCRIBE, C_CREATE)),
    Mutation("bedrock-private-dns-off", _private_dns_off(lambda s: s.inference.bedrock_endpoints.endpoints["bedrock-runtime"]), Layer.DNS, (*RETRIEVAL_BEDROCK, I_EMBED, I_PROFILE)),
    Mutation("sagemaker-private-dns-off", _private_dns_off(lambda s: s.inference.runtime_load_balancer.vpc_endpoint), Layer.DNS, (R_SAGEMAKER, I_SAGEMAKER)),
    Mutation("source-vpce-removed", _source_vpce_removed, Layer.DNS, COLLECTION),
    Mutation("vpc-dns-hostnames-off", _vpc_dns_hostnames_off, Layer.DNS, tuple(p.name for p in PATHS)),
)  # fmt: skip


@dataclass(frozen=True)
class LifecycleMutation:
    id: str
    mutate: Mutate
    finding: Callable[[RegionalStack], tuple[str, str]]
    """(check, logical id) the rehearsal must report, in addition to the app's own findings."""


def _retain(construct: Callable[[RegionalStack], Any]) -> Mutate:
    def mutate(t: dict[str, Any], s: RegionalStack) -> None:
        resource = t["Resources"][lid(s, construct(s))]
        resource["DeletionPolicy"] = resource["UpdateReplacePolicy"] = "Retain"

    return mutate


def _nlb_protected(t: dict[str, Any], s: RegionalStack) -> None:
    assert s.inference.runtime_load_balancer is not None
    props = t["Resources"][lid(s, s.inference.runtime_load_balancer.load_balancer)]["Properties"]
    for attribute in props["LoadBalancerAttributes"]:
        if attribute["Key"] == "deletion_protection.enabled":
            attribute["Value"] = "true"


def _collection_protected(t: dict[str, Any], s: RegionalStack) -> None:
    t["Resources"][lid(s, s.inference.collection)]["Properties"]["DeletionProtection"] = "ENABLED"


def _index_served_directly(t: dict[str, Any], s: RegionalStack) -> None:
    creator = lid(s, s.inference.index.creator.function)
    t["Resources"][lid(s, s.inference.index.resource)]["Properties"]["ServiceToken"] = get_att(
        creator, "Arn"
    )


def _handler_renamed(t: dict[str, Any], s: RegionalStack) -> None:
    t["Resources"][lid(s, s.inference.retrieval.function)]["Properties"]["Handler"] = (
        "answer.handler"
    )


def _index_does_not_wait_for_data_policy(t: dict[str, Any], s: RegionalStack) -> None:
    assert s.inference.collection.data_access_policy is not None
    t["Resources"][lid(s, s.inference.index.resource)]["DependsOn"].remove(
        lid(s, s.inference.collection.data_access_policy)
    )


LIFECYCLE_MUTATIONS = (
    LifecycleMutation("collection-retained", _retain(lambda s: s.inference.collection), lambda s: ("retained-name", lid(s, s.inference.collection))),
    LifecycleMutation("network-policy-retained", _retain(lambda s: s.inference.collection.network_policy), lambda s: ("retained-name", lid(s, s.inference.collection.network_policy))),
    LifecycleMutation("collection-endpoint-retained", _retain(lambda s: s.inference.collection_endpoint), lambda s: ("retained-name", lid(s, s.inference.collection_endpoint))),
    LifecycleMutation("sagemaker-endpoint-retained", _retain(lambda s: s.inference.self_hosted), lambda s: ("retained-name", lid(s, s.inference.self_hosted))),
    LifecycleMutation("nlb-deletion-protection", _nlb_protected, lambda s: ("deletion-protection", lid(s, s.inference.runtime_load_balancer.load_balancer))),
    LifecycleMutation("collection-deletion-protection", _collection_protected, lambda s: ("deletion-protection", lid(s, s.inference.collection))),
    LifecycleMutation("handler-not-in-code", _handler_renamed, lambda s: ("handler", lid(s, s.inference.retrieval.function))),
    LifecycleMutation("index-does-not-wait-for-data-policy", _index_does_not_wait_for_data_policy, lambda s: ("deploy-order", lid(s, s.inference.index.resource))),
    LifecycleMutation("index-without-provider-framework", _index_served_directly, lambda s: ("custom-resource", lid(s, s.inference.index.resource))),
)  # fmt: skip


# -- one batch for the module ------------------------------------------------------------------


@dataclass
class Runs:
    synth: Synth
    stacks: dict[str, RegionalStack]
    app: dict[str, StackRehearsal]
    mutated: dict[str, StackRehearsal]
    node_processes: int

    @property
    def assembly_dir(self) -> Path:
        return Path(self.synth.assembly.directory)


@pytest.fixture(scope="module")
def runs(reference: Synth) -> Runs:
    """The app's templates and every mutation, planned first and simulated in one batch."""
    rehearsal = Rehearsal()
    stacks = {s.region: s for s in reference.stacks}
    app = {region: rehearsal.add(stacks[region], reference.template(region)) for region in REGIONS}
    mutated = {}
    for mutation in (*MUTATIONS, *LIFECYCLE_MUTATIONS):
        template = copy.deepcopy(reference.template(MUTATED_REGION))
        mutation.mutate(template, stacks[MUTATED_REGION])
        mutated[mutation.id] = rehearsal.add(stacks[MUTATED_REGION], template)
    rehearsal.run()
    return Runs(reference, stacks, app, mutated, rehearsal.simulator.processes)


def test_all_simulations_run_in_one_node_process(runs: Runs) -> None:
    assert runs.node_processes == 1


def test_iam_simulate_evaluated_every_context_key_it_was_given(runs: Runs) -> None:
    """iam-simulate drops context keys that do not apply to the action's resource type; none of
    the rehearsal's was dropped (``bedrock:InferenceProfileArn`` among them)."""
    results = [Simulator._cache[key] for r in runs.app.values() for key in _keys(r)]
    assert results and not [r.ignored_context_keys for r in results if r.ignored_context_keys]


def _keys(rehearsal: StackRehearsal) -> list[str]:
    return [
        key
        for result in rehearsal.results
        for verdict in result.verdicts.values()
        for key in verdict.simulations
    ]


def test_every_path_of_the_table_is_rehearsed_in_every_region(runs: Runs) -> None:
    for region in REGIONS:
        assert [r.path.name for r in runs.app[region].results] == [p.name for p in PATHS]


# -- runtime paths -----------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("path", [p.name for p in PATHS])
def test_runtime_path(runs: Runs, region: str, path: str) -> None:
    result = runs.app[region].result(path)
    assert result.ok, result.describe()


@pytest.mark.parametrize("region", REGIONS)
def test_functions_call_what_the_paths_rehearse(runs: Runs, region: str) -> None:
    """The rehearsed targets are the ones the deployed code calls: the functions' environment
    (and the index resource's properties) name the profile, the embedding model, the
    collection endpoint and the index of the paths. (The self-hosted endpoint is in no
    function's environment: the shipped retrieval handler does not call it; its name is the
    stack output SelfHostedEndpointName.)"""
    stack, rehearsal = runs.stacks[region], runs.app[region]
    resolver = rehearsal.resolver

    def environment(function: Any) -> Any:
        return resolver.resolved_props(lid(stack, function))["Environment"]["Variables"]

    endpoint = resolver.resolve(stack.resolve(stack.inference.collection.collection_endpoint))
    retrieval, ingestion = (
        environment(stack.inference.retrieval.function),
        environment(stack.inference.ingestion.function),
    )
    assert retrieval["MODEL_ID"] == stack.inference.profile.profile_id
    for env in (retrieval, ingestion):
        assert env["EMBEDDING_MODEL_ID"] == stack.inference.embedding_model.model_id
        assert env["COLLECTION_ENDPOINT"] == endpoint
        assert env["INDEX_NAME"] == stack.inference.index.index_name
    index = resolver.resolved_props(lid(stack, stack.inference.index.resource))
    assert (index["CollectionEndpoint"], index["Index"]["name"]) == (
        endpoint,
        stack.inference.index.index_name,
    )


def test_profile_path_evaluates_every_destination_with_the_profile_context(runs: Runs) -> None:
    """The identity layer saw the profile ARN without, and each destination's model with,
    ``bedrock:InferenceProfileArn`` (what Bedrock sets, as the Bedrock user guide's inference profile prerequisites say)."""
    stack = runs.stacks[MUTATED_REGION]
    target = through_profile(stack.inference.profile)
    destinations = sorted(stack.inference.profile.destination_regions)
    assert [e.resource for e in target.evaluations] == [
        stack.inference.profile.profile_arn,
        *(
            f"arn:aws:bedrock:{r}::foundation-model/{stack.inference.profile.model_id}"
            for r in destinations
        ),
    ]
    assert "bedrock:InferenceProfileArn" not in target.evaluations[0].context
    assert all(
        e.context["bedrock:InferenceProfileArn"] == stack.inference.profile.profile_arn
        for e in target.evaluations[1:]
    )


def test_security_groups_treat_a_missing_inline_egress_as_ec2_allow_all(runs: Runs) -> None:
    """EC2 keeps its default egress rule when SecurityGroupEgress is absent or empty, whatever
    separate AWS::EC2::SecurityGroupEgress resources add."""
    stack = runs.stacks[MUTATED_REGION]
    group = lid(stack, stack.inference.retrieval.security_group)
    for inline in (None, []):
        template = copy.deepcopy(runs.synth.template(MUTATED_REGION))
        props = template["Resources"][group]["Properties"]
        props.pop("SecurityGroupEgress")
        if inline is not None:
            props["SecurityGroupEgress"] = inline
        for logical_id in [
            k
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::EC2::SecurityGroupEgress"
            and r["Properties"]["GroupId"] == get_att(group, "GroupId")
        ]:
            del template["Resources"][logical_id]
        resolver = TemplateResolver(
            template, region=MUTATED_REGION, account=stack.account, stack_name=stack.stack_name
        )
        network = NetworkModel(resolver)
        group_id = resolver.ref(group)
        collection_endpoint = network.collection_endpoints[0].placement
        assert network._egress(group_id, collection_endpoint) == DEFAULT_EGRESS
        caller = network.function_placement(lid(stack, stack.inference.retrieval.function))
        verdict = network.https(caller, collection_endpoint)
        assert not verdict.allowed and verdict.relies_on_default_egress, verdict.reason


def test_the_disallow_all_placeholder_matches_nothing(runs: Runs) -> None:
    """The ingestion group's only inline egress is aws-cdk-lib's placeholder: without its
    separate rule to the SageMaker Runtime endpoint, it reaches nothing there."""
    result = runs.app[MUTATED_REGION].result(I_SAGEMAKER)
    assert result.verdicts[Layer.SECURITY_GROUPS].allowed is False
    assert "no egress rule" in result.verdicts[Layer.SECURITY_GROUPS].reason


def _load_balancer_to_endpoint(template: dict[str, Any], stack: RegionalStack) -> Any:
    """Whether the SageMaker Runtime NLB reaches every interface of its endpoint on 443 (TLS
    passthrough and health checks): not an SDK call, so only the security groups decide."""
    balancer = stack.inference.runtime_load_balancer
    assert balancer is not None
    resolver = TemplateResolver(
        template, region=stack.region, account=stack.account, stack_name=stack.stack_name
    )
    network = NetworkModel(resolver)
    endpoint = next(
        e for e in network.interface_endpoints if e.logical_id == lid(stack, balancer.vpc_endpoint)
    )
    nlb = network.load_balancer_placement(lid(stack, balancer.load_balancer))
    return network.https(nlb, endpoint.placement)


@pytest.mark.parametrize("region", REGIONS)
def test_load_balancer_reaches_the_runtime_endpoint(runs: Runs, region: str) -> None:
    verdict = _load_balancer_to_endpoint(runs.synth.template(region), runs.stacks[region])
    assert verdict.allowed, f"[{Layer.SECURITY_GROUPS.value}] {verdict.reason}"


def test_load_balancer_without_its_egress_rule_is_reported(runs: Runs) -> None:
    stack = runs.stacks[MUTATED_REGION]
    assert stack.inference.runtime_load_balancer is not None
    template = copy.deepcopy(runs.synth.template(MUTATED_REGION))
    nlb_sg = lid(stack, stack.inference.runtime_load_balancer.security_group)
    endpoint_sg = lid(stack, stack.inference.runtime_load_balancer.endpoint_security_group)
    delete(
        template,
        rules(
            template,
            "AWS::EC2::SecurityGroupEgress",
            nlb_sg,
            "DestinationSecurityGroupId",
            endpoint_sg,
        ),
    )
    verdict = _load_balancer_to_endpoint(template, stack)
    assert not verdict.allowed and verdict.reason.startswith("no egress rule"), verdict.reason


# -- the checks fail when the rule that made them pass is removed ---------------------------------


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_mutation_is_reported_at_its_layer(runs: Runs, mutation: Mutation) -> None:
    assert changed_layers(runs.mutated[mutation.id]) == {
        (path, mutation.layer) for path in mutation.paths
    }
    for path in mutation.paths:
        result = runs.mutated[mutation.id].result(path)
        assert not result.ok
        # A path that must be denied by this layer is now let through by it; any other now
        # fails at it. Either way the failure message names the layer.
        state = "allows" if mutation.layer in path_named(path).denied_by else "DENIES"
        assert f"[{mutation.layer.value}] {state}" in result.describe(), result.describe()


# -- lifecycle ---------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(
    "check", ["retained-name", "deletion-protection", "custom-resource", "handler", "deploy-order"]
)
def test_lifecycle(runs: Runs, region: str, check: str) -> None:
    findings = [f for f in runs.app[region].lifecycle(runs.assembly_dir) if f.check == check]
    assert not findings, "\n".join(map(str, findings))


@pytest.mark.parametrize("mutation", LIFECYCLE_MUTATIONS, ids=lambda m: m.id)
def test_lifecycle_mutation_is_reported(runs: Runs, mutation: LifecycleMutation) -> None:
    def found(rehearsal: StackRehearsal) -> set[Finding]:
        return set(rehearsal.lifecycle(runs.assembly_dir))

    new = found(runs.mutated[mutation.id]) - found(runs.app[MUTATED_REGION])
    assert {(f.check, f.logical_id) for f in new} == {
        mutation.finding(runs.stacks[MUTATED_REGION])
    }, "\n".join(map(str, new))


def test_stack_termination_protection_is_reported(runs: Runs) -> None:
    resolver = runs.app[MUTATED_REGION].resolver
    assert deletion_protection(resolver, termination_protection=False) == []
    assert [f.logical_id for f in deletion_protection(resolver, termination_protection=True)] == [
        "(stack)"
    ]


HANDLER = """
def on_event(event, context):
    request_type = event["RequestType"]
    if request_type in {"Create", "Update"}:
        return {"PhysicalResourceId": "index"}
    {delete}
    raise ValueError(f"unknown RequestType {request_type}")
"""


@pytest.mark.parametrize(
    ("delete_branch", "handled"),
    [
        ('if request_type == "Delete":\n        return {}', {"Create", "Update", "Delete"}),
        ("pass", {"Create", "Update"}),
    ],
)
def test_custom_resource_handler_must_handle_delete(
    runs: Runs, tmp_path: Path, delete_branch: str, handled: set[str]
) -> None:
    """The custom-resource check reads the handler module the function deploys: a handler
    without a Delete branch is reported, one with it is not."""
    source = HANDLER.replace("{delete}", delete_branch)
    assert request_types_handled(source) == handled
    stack = runs.stacks[MUTATED_REGION]
    rehearsal = runs.app[MUTATED_REGION]
    creator = lid(stack, stack.inference.index.creator.function)
    key = rehearsal.resolver.props(creator)["Code"]["S3Key"].removesuffix(".zip")
    module = ShippedHandler.CREATE_INDEX.value.split(".")[0]
    (tmp_path / f"asset.{key}").mkdir()
    (tmp_path / f"asset.{key}" / f"{module}.py").write_text(source)
    findings = [
        f
        for f in custom_resources(rehearsal.resolver, tmp_path)
        if f.logical_id == lid(stack, stack.inference.index.resource)
    ]
    if "Delete" in handled:
        assert findings == []
    else:
        assert len(findings) == 1 and "does not handle RequestType Delete" in findings[0].message
