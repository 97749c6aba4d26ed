"""The reference app with the agent runtime on (``ha-inference:agent``, the ``agent``
configuration): where it runs, what reaches it, the checks over it; its settings; and the rule
that every Region using a profile runs an agent once one does."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from ha_inference import (
    CrossRegionInferenceProfile,
    MultiAzAgentRuntime,
    RegionCoverage,
    retrieval_agent_code,
)
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.tools.report import analyse
from stacks.config import SettingsError, load_settings
from tests.support import (
    ZONE_IDS,
    Configurations,
    ZonalStack,
    new_app,
    resources,
    subnet_azs_of,
)
from tests.support.lint import lint_template

REGIONS = ["us-east-1", "us-east-2", "us-west-2"]
AGENT_AZS = {
    "us-east-1": ["us-east-1b", "us-east-1c"],  # us-east-1a is use1-az6: no VPC mode there
    "us-east-2": ["us-east-2a", "us-east-2b", "us-east-2c"],
    "us-west-2": ["us-west-2a", "us-west-2b", "us-west-2c"],
}


def template(configurations: Configurations, region: str) -> dict[str, Any]:
    return configurations["agent"].template(region)


def one(template_: dict[str, Any], kind: str, prefix: str = "") -> tuple[str, dict[str, Any]]:
    ((logical_id, body),) = [
        (k, r) for k, r in resources(template_, kind).items() if k.startswith(prefix)
    ]
    return logical_id, body["Properties"]


@pytest.mark.parametrize("region", REGIONS)
def test_the_agent_runs_in_every_supported_az_of_the_workload_tier(
    configurations: Configurations, region: str
) -> None:
    t = template(configurations, region)
    _, runtime = one(t, "AWS::BedrockAgentCore::Runtime")
    subnets = runtime["NetworkConfiguration"]["NetworkModeConfig"]["Subnets"]
    assert subnet_azs_of(t, subnets) == AGENT_AZS[region]
    names = {t["Resources"][s["Ref"]]["Properties"]["Tags"][0]["Value"] for s in subnets}
    assert names == {"workloads"}
    code = runtime["AgentRuntimeArtifact"]["CodeConfiguration"]
    assert code["EntryPoint"] == ["agent_server.py"]
    assert runtime["EnvironmentVariables"]["AGENT_REGION"] == region


def test_default_settings_deploy_no_agent(configurations: Configurations) -> None:
    """Off by default: turning it on needs the account's AZ-name-to-ID mapping."""
    default = configurations["default"]
    for region in default.regions:
        assert resources(default.template(region), "AWS::BedrockAgentCore::Runtime") == {}


def test_the_agent_uses_the_vpcs_s3_gateway(configurations: Configurations) -> None:
    t = template(configurations, "us-east-1")
    gateways = [
        r
        for r in resources(t, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Gateway"
    ]
    assert len(gateways) == 1  # InferenceVpc's, on every route table: no second one


def test_the_agent_shares_the_bedrock_endpoint_and_adds_logs_and_agentcore(
    configurations: Configurations,
) -> None:
    t = template(configurations, "us-east-1")
    services = sorted(
        r["Properties"]["ServiceName"].split("us-east-1.")[1]
        for r in resources(t, "AWS::EC2::VPCEndpoint").values()
        if r["Properties"].get("VpcEndpointType") == "Interface"
    )
    assert services == ["bedrock-agentcore", "bedrock-runtime", "logs"]


def test_the_client_may_invoke_the_agent_and_nothing_else_new(
    configurations: Configurations,
) -> None:
    t = template(configurations, "us-east-1")
    _, function = one(t, "AWS::Lambda::Function", "AgentClient")
    runtime_id, _ = one(t, "AWS::BedrockAgentCore::Runtime")
    arn = {"Fn::GetAtt": [runtime_id, "AgentRuntimeArn"]}
    assert function["Environment"]["Variables"] == {"AGENT_RUNTIME_ARN": arn}
    assert function["Handler"] == "agent_client.handler"
    role = function["Role"]["Fn::GetAtt"][0]
    granted = [
        s
        for p in resources(t, "AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "bedrock-agentcore" in json.dumps(s)
    ]
    assert granted == [
        {
            "Action": "bedrock-agentcore:InvokeAgentRuntime",
            "Effect": "Allow",
            "Resource": [arn, {"Fn::Join": ["", [arn, "/runtime-endpoint/DEFAULT"]]}],
        }
    ]
    assert "AgentClientFunctionName" in t["Outputs"]


def test_no_unacknowledged_nag_findings(configurations: Configurations) -> None:
    app = configurations["agent"].app
    for pack in (AwsSolutionsChecks(), NIST80053R5Checks(), HaInferenceChecks()):
        assert findings_of(pack, app) == [], type(pack).__name__


def test_templates_lint_clean(configurations: Configurations) -> None:
    """The Regions' templates differ only in their Region and AZs (us-east-1 has one fewer
    agent subnet): us-east-1's is linted in all three Regions, in one run."""
    assert lint_template(template(configurations, "us-east-1"), REGIONS) == []


def test_the_az_loss_report_lists_the_agent(configurations: Configurations) -> None:
    reports = {r.region: r for r in analyse(configurations["agent"].assembly.directory)}
    east = reports["us-east-1"]
    (agent,) = [c for c in east.components if c.kind == "agent runtime"]
    assert list(agent.zones) == AGENT_AZS["us-east-1"]
    assert [agent.remaining(z) for z in ("us-east-1a", "us-east-1b", "us-east-1c")] == [2, 1, 1]


# -- settings -----------------------------------------------------------------------------------


def load(**context: Any) -> Any:
    full = {f"ha-inference:{key.replace('_', '-')}": value for key, value in context.items()}
    return load_settings(full.get, known_keys=full)


def test_agent_settings_carry_the_mapping_per_region() -> None:
    settings = load(agent=True, zone_ids=ZONE_IDS)
    assert settings.agent is not None and settings.agent.image is None
    assert settings.zone_ids_in("us-east-1") == ZONE_IDS["us-east-1"]
    image = load(
        agent={"image": "111111111111.dkr.ecr.{region}.amazonaws.com/agent:1"}, zone_ids=ZONE_IDS
    ).agent
    assert image.image_in("us-west-2") == "111111111111.dkr.ecr.us-west-2.amazonaws.com/agent:1"
    assert load().agent is None


@pytest.mark.parametrize(
    ("context", "message"),
    [
        (
            {"agent": True},
            r"ha-inference:agent is on, but ha-inference:zone-ids has no AZ-name-to-ID mapping "
            r"for us-east-1, us-east-2, us-west-2.*describe-availability-zones",
        ),
        (
            {"agent": True, "regions": ["us-west-1"], "az_count": 2},
            r"no data on the AZs that support AgentCore Runtime's VPC mode in us-west-1",
        ),
        ({"agent": "yes"}, r"ha-inference:agent must be true"),
        ({"agent": {"image": "agent:1"}}, r"ha-inference:agent.image must be a linux/arm64 image"),
        ({"zone_ids": ["use1-az1"]}, r"ha-inference:zone-ids must map Region names"),
        ({"zone_ids": {"eu-west-1": {}}}, r"ha-inference:zone-ids names eu-west-1, not in"),
        (
            {"zone_ids": {"us-east-1": {"us-east-1a": "usw2-az1", "us-east-1b": "use1-az1"}}},
            r"ha-inference:zone-ids.us-east-1 mixes AZ IDs of several Regions",
        ),
    ],
)
def test_fails_on_bad_agent_setting(context: dict[str, Any], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load(**context)


# -- coverage -------------------------------------------------------------------------------------


def agent_app(tmp_path: Path, with_agent: set[str]) -> cdk.App:
    app = new_app(tmp_path)
    zone_ids = {
        "us-east-1": {"us-east-1a": "use1-az1", "us-east-1b": "use1-az2", "us-east-1c": "use1-az4"},
        "us-west-2": {"us-west-2a": "usw2-az1", "us-west-2b": "usw2-az2", "us-west-2c": "usw2-az3"},
    }
    for region in ("us-east-1", "us-west-2"):
        stack = ZonalStack(app, f"S-{region}", region=region, groups=("private",))
        CrossRegionInferenceProfile(stack, "Profile", model_id="anthropic.claude-sonnet-5-5")
        if region in with_agent:
            MultiAzAgentRuntime(
                stack,
                "Agent",
                vpc=stack.vpc,
                code=retrieval_agent_code(),
                zone_ids=zone_ids[region],
            )
    RegionCoverage(app, "Coverage", require_all_destinations=False)
    return app


def test_coverage_fails_when_one_region_runs_an_agent_and_another_does_not(
    tmp_path: Path,
) -> None:
    app = agent_app(tmp_path, {"us-east-1"})
    with pytest.raises(
        RuntimeError,
        match=r"RegionCoverage: us-west-2 uses an inference profile but runs no agent runtime "
        r"\(agentic-compute\), while us-east-1 does",
    ):
        app.synth()


def test_coverage_passes_with_an_agent_in_every_region(tmp_path: Path) -> None:
    agent_app(tmp_path, {"us-east-1", "us-west-2"}).synth()
