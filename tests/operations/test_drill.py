"""AvailabilityZoneDrill: one FIS template per AZ, exactly that AZ's subnets, a scoped role."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from docgen.acknowledgements import acknowledgements
from ha_inference.operations.drill import AvailabilityZoneDrill
from ha_inference.tools.assembly import zones_of
from tests.support import TEST_ACCOUNT, ZonalStack, isolated_vpc, new_app, resources, without_twins
from tests.support.lint import lint_template
from tests.support.nag import findings

ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")
TIERS = ("endpoints", "workloads")


@dataclass
class Scenario:
    app: cdk.App
    stack: ZonalStack
    drill: AvailabilityZoneDrill
    everything: AvailabilityZoneDrill
    alarms: list[cloudwatch.Alarm]
    template: dict[str, Any]


def _alarms(stack: cdk.Stack, count: int) -> list[cloudwatch.Alarm]:
    metric = cloudwatch.Metric(namespace="Test", metric_name="Errors")
    return [
        metric.create_alarm(stack, f"Alarm{i}", threshold=1, evaluation_periods=1)
        for i in range(count)
    ]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """A drill over two tiers of a three-AZ VPC, and one over every subnet of another VPC."""
    app = new_app(tmp_path_factory.mktemp("drill"))
    stack = ZonalStack(app, "Drill", zones=ZONES, groups=(*TIERS, "data"))
    alarms = _alarms(stack, 2)
    drill = AvailabilityZoneDrill(
        stack,
        "Drill",
        vpc=stack.vpc,
        vpc_subnets=[ec2.SubnetSelection(subnet_group_name=tier) for tier in TIERS],
        stop_condition_alarms=alarms,
    )
    other = isolated_vpc(stack, "Other", zones=list(ZONES), groups=("apps",), cidr="10.1.0.0/16")
    everything = AvailabilityZoneDrill(
        stack,
        "Everything",
        vpc=other,
        stop_condition_alarms=alarms[:1],
        duration=cdk.Duration.hours(1),
    )
    template = dict(Template.from_stack(stack).to_json())
    return Scenario(app, stack, drill, everything, alarms, template)


def _templates(template: dict[str, Any], prefix: str = "Drill") -> dict[str, dict[str, Any]]:
    return {
        logical_id: resource["Properties"]
        for logical_id, resource in resources(template, "AWS::FIS::ExperimentTemplate").items()
        if logical_id.startswith(prefix)
    }


def _zone_of_template(props: dict[str, Any]) -> str:
    return str(props["Tags"]["Name"]).rsplit("-lose-", 1)[1]


def _subnet_refs(arns: list[Any]) -> list[Any]:
    """The subnet references inside ``arn:...:subnet/<ref>`` joins."""
    return [arn["Fn::Join"][1][1] for arn in arns]


def test_one_template_per_az_with_exactly_that_azs_subnets(scenario: Scenario) -> None:
    template = scenario.template
    templates = _templates(template)
    assert sorted(_zone_of_template(p) for p in templates.values()) == list(ZONES)
    assert scenario.drill.availability_zones == ZONES
    tiers = {
        logical_id: next(
            t["Value"] for t in subnet["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name"
        )
        for logical_id, subnet in resources(template, "AWS::EC2::Subnet").items()
    }
    for props in templates.values():
        zone = _zone_of_template(props)
        (target,) = props["Targets"].values()
        assert target["ResourceType"] == "aws:ec2:subnet"
        assert target["SelectionMode"] == "ALL"
        for arn in target["ResourceArns"]:
            assert arn["Fn::Join"][1][0] == f"arn:aws:ec2:us-east-1:{TEST_ACCOUNT}:subnet/"
        refs = _subnet_refs(target["ResourceArns"])
        assert zones_of(template, refs) == [zone, zone]
        assert sorted(tiers[ref["Ref"]] for ref in refs) == sorted(TIERS), "not the data tier"


def test_action_blocks_all_traffic_of_the_targets_for_the_duration(scenario: Scenario) -> None:
    for props in _templates(scenario.template).values():
        (action,) = props["Actions"].values()
        assert action["ActionId"] == "aws:network:disrupt-connectivity"
        assert action["Parameters"] == {"scope": "all", "duration": "PT10M"}
        assert action["Targets"] == {"Subnets": next(iter(props["Targets"]))}
        assert props["ExperimentOptions"] == {
            "AccountTargeting": "single-account",
            "EmptyTargetResolutionMode": "fail",
        }
    for props in _templates(scenario.template, "Everything").values():
        (action,) = props["Actions"].values()
        assert action["Parameters"]["duration"] == "PT60M"


def test_stop_conditions_are_the_given_alarms(scenario: Scenario) -> None:
    alarm_ids = [
        logical_id
        for logical_id in resources(scenario.template, "AWS::CloudWatch::Alarm")
        if logical_id.startswith("Alarm")
    ]
    for props in _templates(scenario.template).values():
        assert props["StopConditions"] == [
            {"Source": "aws:cloudwatch:alarm", "Value": {"Fn::GetAtt": [alarm, "Arn"]}}
            for alarm in sorted(alarm_ids)
        ]


def test_experiments_log_to_a_retained_log_group(scenario: Scenario) -> None:
    template = scenario.template
    (log_group_id,) = [
        k for k in resources(template, "AWS::Logs::LogGroup") if k.startswith("DrillLogs")
    ]
    log_group = template["Resources"][log_group_id]
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["DeletionPolicy"] == "Retain"
    for props in _templates(template).values():
        configuration = props["LogConfiguration"]
        assert configuration["LogSchemaVersion"] == 2
        # The log group's Arn attribute ends in ":*", the only form FIS accepts.
        assert configuration["CloudWatchLogsConfiguration"] == {
            "LogGroupArn": {"Fn::GetAtt": [log_group_id, "Arn"]}
        }


def test_role_is_trusted_by_fis_for_this_account_only(scenario: Scenario) -> None:
    for props in _templates(scenario.template).values():
        role = scenario.template["Resources"][props["RoleArn"]["Fn::GetAtt"][0]]
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "fis.amazonaws.com"}
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": TEST_ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:fis:us-east-1:{TEST_ACCOUNT}:experiment/*"},
        }
        assert "ManagedPolicyArns" not in role["Properties"]


def test_role_changes_only_fis_acls_and_this_azs_subnets(scenario: Scenario) -> None:
    template = scenario.template
    vpc_id = next(k for k in resources(template, "AWS::EC2::VPC") if k.startswith("Vpc"))
    vpc_arn = {"Fn::Join": ["", [f"arn:aws:ec2:us-east-1:{TEST_ACCOUNT}:vpc/", {"Ref": vpc_id}]]}
    acls = f"arn:aws:ec2:us-east-1:{TEST_ACCOUNT}:network-acl/*"
    for props in _templates(template).values():
        role = template["Resources"][props["RoleArn"]["Fn::GetAtt"][0]]
        (policy,) = role["Properties"]["Policies"]
        by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
        assert by_sid["CreateTaggedNetworkAcl"]["Resource"] == acls
        assert by_sid["CreateTaggedNetworkAcl"]["Condition"] == {
            "StringEquals": {"aws:RequestTag/managedByFIS": "true"}
        }
        assert by_sid["CreateNetworkAclInVpc"]["Resource"] == vpc_arn
        assert by_sid["TagNetworkAclOnCreate"]["Condition"]["StringEquals"] == {
            "ec2:CreateAction": "CreateNetworkAcl",
            "aws:RequestTag/managedByFIS": "true",
        }
        change = by_sid["ChangeOnlyFisNetworkAcls"]
        assert change["Action"] == ["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"]
        assert change["Condition"] == {
            "StringEquals": {"ec2:ResourceTag/managedByFIS": "true"},
            "ArnEquals": {"ec2:Vpc": vpc_arn},
        }
        swap = by_sid["SwapNetworkAclsOfTheseSubnets"]
        (target,) = props["Targets"].values()
        assert sorted(map(json.dumps, swap["Resource"])) == sorted(
            map(json.dumps, [*target["ResourceArns"], acls])
        )
        assert swap["Condition"] == {"ArnEquals": {"ec2:Vpc": vpc_arn}}
        (wildcard,) = [s for s in by_sid.values() if s["Resource"] == "*"]
        assert sorted(wildcard["Action"]) == [
            "ec2:DescribeManagedPrefixLists",
            "ec2:DescribeNetworkAcls",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcs",
            "logs:CreateLogDelivery",
            "logs:DescribeLogGroups",
            "logs:DescribeResourcePolicies",
            "logs:PutResourcePolicy",
        ]
        actions = {a for s in by_sid.values() for a in _listed(s["Action"])}
        assert not any(a.startswith("fis:") for a in actions), "nothing starts an experiment"


def test_nothing_runs_at_deploy_time(scenario: Scenario) -> None:
    """A template is not an experiment: the drills hold templates, roles and a log group, and no
    custom resource, function or rule that could start one."""
    kinds = {
        resource["Type"]
        for logical_id, resource in scenario.template["Resources"].items()
        if logical_id.startswith(("Drill", "Everything"))
    }
    assert kinds == {"AWS::FIS::ExperimentTemplate", "AWS::IAM::Role", "AWS::Logs::LogGroup"}
    assert "StartExperiment" not in json.dumps(scenario.template)


def test_default_takes_every_subnet_of_the_vpc(scenario: Scenario) -> None:
    template = scenario.template
    for props in _templates(template, "Everything").values():
        (target,) = props["Targets"].values()
        refs = _subnet_refs(target["ResourceArns"])
        assert [r["Ref"].startswith("Otherapps") for r in refs] == [True]
    assert scenario.everything.availability_zones == ZONES


def test_no_unacknowledged_nag_findings_and_narrow_acknowledgements(scenario: Scenario) -> None:
    assert findings(scenario.app) == []
    acknowledged = [
        (path, rule)
        for path, rule, _ in without_twins(acknowledgements(scenario.app))
        if "/Drill/" in path
    ]
    assert {path.rsplit("/", 2)[-2] for path, _ in acknowledged} == set(ZONES)
    assert all(path.endswith("/Role") for path, _ in acknowledged)
    assert len(acknowledged) == 4 * len(ZONES), acknowledged


def test_template_lints_clean(scenario: Scenario) -> None:
    assert lint_template(scenario.template, "us-east-1") == []


# --- validation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> ZonalStack:
    """A stack that is never synthesized, for drills that must fail."""
    return ZonalStack(new_app(tmp_path_factory.mktemp("drill-scratch")), "Scratch", zones=ZONES)


_counter = iter(range(1_000_000))


def _drill(stack: cdk.Stack, vpc: ec2.IVpc, *, alarms: int = 1, **props: Any) -> None:
    case = next(_counter)
    metric = cloudwatch.Metric(namespace="Test", metric_name="Errors")
    stop = [
        metric.create_alarm(stack, f"Case{case}Alarm{i}", threshold=1, evaluation_periods=1)
        for i in range(alarms)
    ]
    AvailabilityZoneDrill(stack, f"Case{case}", vpc=vpc, stop_condition_alarms=stop, **props)


@pytest.mark.parametrize("count", [0, 6])
def test_fails_on_a_stop_condition_count_fis_rejects(scratch: ZonalStack, count: int) -> None:
    with pytest.raises(
        ValueError, match=rf"stop_condition_alarms must name 1 to 5 alarms .* got {count};"
    ):
        _drill(scratch, scratch.vpc, alarms=count)


@pytest.mark.parametrize(
    "duration", [cdk.Duration.seconds(90), cdk.Duration.hours(13), cdk.Duration.seconds(30)]
)
def test_fails_on_a_duration_fis_rejects(scratch: ZonalStack, duration: cdk.Duration) -> None:
    with pytest.raises(
        ValueError, match=r"duration must be a whole number of minutes from 1 minute to 12 hours"
    ):
        _drill(scratch, scratch.vpc, duration=duration)


def test_fails_on_subnets_in_one_az(scratch: ZonalStack) -> None:
    one_az = ec2.SubnetSelection(subnet_group_name="private", availability_zones=["us-east-1a"])
    with pytest.raises(
        ValueError, match=r"vpc_subnets must span at least 2 Availability Zones .* got us-east-1a"
    ):
        _drill(scratch, scratch.vpc, vpc_subnets=[one_az])


def test_fails_on_an_empty_subnet_selection_list(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"vpc_subnets must hold at least one subnet selection, got none"
    ):
        _drill(scratch, scratch.vpc, vpc_subnets=[])


def test_fails_on_more_than_five_subnets_per_az(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "Crowded", zones=ZONES, groups=tuple("abcdef"))
    with pytest.raises(
        ValueError,
        match=r"vpc_subnets puts more than 5 subnets in one AZ \(us-east-1a: 6, us-east-1b: 6",
    ):
        _drill(stack, stack.vpc)


def test_fails_on_deploy_time_availability_zones(tmp_path: Path) -> None:
    stack = cdk.Stack(new_app(tmp_path), "Agnostic")
    with pytest.raises(
        ValueError, match=r"vpc_subnets must name their Availability Zones at synth time"
    ):
        _drill(stack, isolated_vpc(stack, "Vpc"))


def test_fails_in_a_region_without_fis(tmp_path: Path) -> None:
    stack = ZonalStack(new_app(tmp_path), "Calgary", region="ca-west-1")
    with pytest.raises(
        ValueError,
        match=r"AvailabilityZoneDrill needs AWS FIS, which CloudFormation does not offer in "
        r"ca-west-1",
    ):
        _drill(stack, stack.vpc)


def _listed(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]
