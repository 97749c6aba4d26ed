"""cdk-nag (AwsSolutions) over the whole reference app, collected as data."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

from ha_inference.checks.nag_pack import findings_of
from tests.support import Synth, new_app


def findings(scope: IConstruct) -> list[tuple[str, str]]:
    """Every unacknowledged AwsSolutions finding under ``scope`` as (rule, construct path)."""
    return findings_of(AwsSolutionsChecks(), scope)


def acknowledgements(scope: IConstruct) -> list[tuple[str, str, str]]:
    """Every acknowledgement in the tree as (construct path, rule id, reason)."""
    return [
        (node.node.path, rule, reason)
        for node in scope.node.find_all()
        for entry in node.node.metadata
        if entry.type == "aws:cdk:acknowledged-rules"
        for rule, reason in entry.data.items()
    ]


def test_reference_app_has_no_unacknowledged_findings(reference: Synth) -> None:
    assert findings(reference.app) == []


def test_every_acknowledgement_is_narrow_and_explained(reference: Synth) -> None:
    """One rule id (no bare prefix) per acknowledgement, on a construct below a stack."""
    acknowledged = acknowledgements(reference.app)
    assert ("CloudFormation-Validate::W3010") in {rule for _, rule, _ in acknowledged}
    for path, rule, reason in acknowledged:
        assert "/" in path, f"{rule} acknowledged on a whole stack or the app ({path})"
        assert rule not in {"AwsSolutions-IAM5", "AwsSolutions-IAM4"}, f"bare {rule} on {path}"
        assert len(reason) >= 60, f"{rule} on {path} has a thin reason: {reason!r}"


def test_the_check_finds_what_it_should(tmp_path: Path) -> None:
    """The harness is not vacuous: an open security group is reported."""
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Open", env=cdk.Environment(account="111111111111", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    group = ec2.SecurityGroup(stack, "Group", vpc=vpc)
    group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    rules = {rule for rule, _ in findings(app)}
    assert {"AwsSolutions-EC23", "AwsSolutions-VPC7"} <= rules
