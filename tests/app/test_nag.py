"""cdk-nag (AwsSolutions and NIST 800-53 rev. 5) over the whole reference app, as data."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NIST80053R5Checks

from docgen.acknowledgements import DOC, acknowledgements, render
from ha_inference.checks.nag_pack import findings_of
from tests.support import Synth, new_app
from tests.support.nag import findings


def test_reference_app_has_no_unacknowledged_findings(reference: Synth) -> None:
    assert findings(reference.app) == []


def test_reference_app_has_no_unacknowledged_nist_800_53_findings(reference: Synth) -> None:
    """The pack regulated teams run beside AwsSolutions (85 rules), clean too."""
    assert findings_of(NIST80053R5Checks(), reference.app) == []


def test_the_nist_check_finds_what_it_should(tmp_path: Path) -> None:
    """Not vacuous: an unencrypted log group and a Lambda outside a VPC are reported."""
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Loose", env=cdk.Environment(account="111111111111", region="us-east-1"))
    logs.LogGroup(stack, "Logs")
    lambda_.Function(
        stack,
        "Fn",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline("def handler(e, c): return 1"),
    )
    rules = {rule for rule, _ in findings_of(NIST80053R5Checks(), app)}
    assert {
        "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        "NIST.800.53.R5-LambdaInsideVPC",
    } <= rules


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


def test_acknowledgement_review_list_is_current(reference: Synth) -> None:
    """docs/acknowledgements.md lists every acknowledgement of the reference app."""
    expected = render(acknowledgements(reference.app))
    assert DOC.read_text() == expected, "docs/acknowledgements.md is stale: run 'make docs'"
