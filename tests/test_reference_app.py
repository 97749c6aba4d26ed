"""The reference app's regional stacks: every configured AZ, private, flow-logged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.support import Synth, assert_one_subnet_per_az, resources, synth_reference

DEFAULT_AZS = {
    "us-east-1": ("us-east-1a", "us-east-1b", "us-east-1c"),
    "us-east-2": ("us-east-2a", "us-east-2b", "us-east-2c"),
    "us-west-2": ("us-west-2a", "us-west-2b", "us-west-2c"),
}


def test_one_stack_per_configured_region(reference: Synth) -> None:
    assert sorted(reference.regions) == sorted(DEFAULT_AZS)
    assert {s.stack_name for s in reference.stacks} == {f"HaInference-{r}" for r in DEFAULT_AZS}
    assert {s.account for s in reference.stacks} == {"111111111111"}


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_subnets_cover_exactly_the_configured_azs(reference: Synth, region: str) -> None:
    template = reference.template(region)
    subnets = resources(template, "AWS::EC2::Subnet")
    by_tier: dict[str, list[str]] = {}
    for subnet in subnets.values():
        tier = next(
            t["Value"] for t in subnet["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name"
        )
        by_tier.setdefault(tier, []).append(subnet["Properties"]["AvailabilityZone"])
    assert {tier: sorted(azs) for tier, azs in by_tier.items()} == {
        "endpoints": list(DEFAULT_AZS[region]),
        "workloads": list(DEFAULT_AZS[region]),
    }


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_private_by_default(reference: Synth, region: str) -> None:
    template = reference.template(region)
    for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
        assert resources(template, kind) == {}, f"{kind} in a private-by-default VPC"
    for subnet in resources(template, "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    for group in resources(template, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0" and rule.get("CidrIpv6") != "::/0"
    for rule in resources(template, "AWS::EC2::SecurityGroupIngress").values():
        assert rule["Properties"].get("CidrIp") != "0.0.0.0/0"


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_flow_logs_capture_all_traffic_of_the_vpc(reference: Synth, region: str) -> None:
    template = reference.template(region)
    (vpc_id,) = resources(template, "AWS::EC2::VPC")
    (flow_log,) = resources(template, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    (group,) = resources(template, "AWS::Logs::LogGroup").values()
    assert group["Properties"]["RetentionInDays"] == 365


def test_builtin_cloudformation_validation_is_clean(reference: Synth) -> None:
    """aws-cdk-lib's validation ran on the reference synth; nothing is left unacknowledged."""
    report_path = Path(reference.assembly.directory) / "validation-report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else {}
    violations = [
        (v.get("ruleName"), r.get("constructPath"))
        for plugin in report.get("pluginReports", [])
        for v in plugin.get("violations", [])
        for r in v.get("violatingConstructs", [])
    ]
    assert violations == []


def test_configured_azs_are_used_verbatim(outdir: Path) -> None:
    synth = synth_reference(
        outdir,
        {
            "ha-inference:regions": ["us-west-2", "us-east-1"],
            "ha-inference:require-all-destinations": False,
            "ha-inference:availability-zones": {
                "us-east-1": ["us-east-1b", "us-east-1d", "us-east-1f", "us-east-1a"]
            },
            "ha-inference:nat-gateways": 2,
        },
    )
    east = synth.template("us-east-1")
    azs = sorted(
        {s["Properties"]["AvailabilityZone"] for s in resources(east, "AWS::EC2::Subnet").values()}
    )
    assert azs == ["us-east-1a", "us-east-1b", "us-east-1d", "us-east-1f"]
    west = synth.template("us-west-2")
    assert len(resources(west, "AWS::EC2::NatGateway")) == 2
    assert len(resources(west, "AWS::EC2::InternetGateway")) == 1
    # NAT means egress only: public subnets hand out no public IPs, and nothing opens ingress.
    for subnet in resources(west, "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    assert_one_subnet_per_az(
        west,
        [
            {"Ref": k}
            for k, s in resources(west, "AWS::EC2::Subnet").items()
            if {"Key": "aws-cdk:subnet-name", "Value": "workloads"} in s["Properties"]["Tags"]
        ],
        ("us-west-2a", "us-west-2b", "us-west-2c"),
        "workloads tier",
    )


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_template_snapshot(
    reference: Synth, region: str, template_snapshot: SnapshotAssertion
) -> None:
    assert reference.template(region) == template_snapshot
