"""cdk-nag over the reference app's configurations, every pack, as data; the crosswalk of rules
the packs share; the generated review list of acknowledgements."""

from __future__ import annotations

import re
import tarfile
from collections import defaultdict
from pathlib import Path

import aws_cdk as cdk
import cdk_nag
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from cdk_nag import NagPack

from docgen.acknowledgements import DOC, acknowledgements, render
from ha_inference._internal.nag import SAME_RULE
from ha_inference.checks.nag_pack import findings_of
from tests.support import CONFIGURATIONS, Configurations, new_app
from tests.support.nag import findings

PACKS: dict[str, type[NagPack]] = {
    "AwsSolutions": cdk_nag.AwsSolutionsChecks,
    "NIST.800.53.R4": cdk_nag.NIST80053R4Checks,
    "NIST.800.53.R5": cdk_nag.NIST80053R5Checks,
    "HIPAA.Security": cdk_nag.HIPAASecurityChecks,
    "PCI.DSS.321": cdk_nag.PCIDSS321Checks,
    "Serverless": cdk_nag.ServerlessChecks,
}
"""Every pack cdk-nag ships, by the prefix of its rule ids."""


@pytest.mark.parametrize("pack", sorted(PACKS))
@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_pack_reports_no_unacknowledged_finding(
    configurations: Configurations, name: str, pack: str
) -> None:
    """What a regulated adopter runs (AwsSolutions, NIST 800-53 rev. 4 and rev. 5, HIPAA
    Security, PCI DSS 3.2.1, Serverless) finds nothing without a reviewed reason."""
    assert findings_of(PACKS[pack](), configurations[name].app) == []


def test_every_pack_finds_what_it_should(tmp_path: Path) -> None:
    """Not vacuous: a function outside a VPC, without tracing or a dead-letter queue, and an
    unencrypted log group draw findings from every pack."""
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
    expected = {
        "AwsSolutions": "AwsSolutions-IAM4",
        "NIST.800.53.R4": "NIST.800.53.R4-LambdaInsideVPC",
        "NIST.800.53.R5": "NIST.800.53.R5-CloudWatchLogGroupEncrypted",
        "HIPAA.Security": "HIPAA.Security-LambdaDLQ",
        "PCI.DSS.321": "PCI.DSS.321-CloudWatchLogGroupEncrypted",
        "Serverless": "Serverless-LambdaTracing",
    }
    for pack, rule in expected.items():
        rules = {r.split("[")[0] for r, _ in findings_of(PACKS[pack](), app)}
        assert rule in rules, (pack, rules)


def test_the_check_finds_what_it_should(tmp_path: Path) -> None:
    """The harness is not vacuous: an open security group is reported."""
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Open", env=cdk.Environment(account="111111111111", region="us-east-1"))
    vpc = ec2.Vpc(stack, "Vpc", max_azs=2, nat_gateways=0)
    group = ec2.SecurityGroup(stack, "Group", vpc=vpc)
    group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22))
    rules = {rule for rule, _ in findings(app)}
    assert {"AwsSolutions-EC23", "AwsSolutions-VPC7"} <= rules


@pytest.mark.parametrize("name", sorted(CONFIGURATIONS))
def test_every_acknowledgement_is_narrow_and_explained(
    configurations: Configurations, name: str
) -> None:
    """One rule id (no bare prefix) per acknowledgement, on a construct below a stack; the
    same rule has the same reason in every pack."""
    acknowledged = acknowledgements(configurations[name].app)
    assert ("CloudFormation-Validate::W3010") in {rule for _, rule, _ in acknowledged}
    by_path: dict[tuple[str, str], str] = {}
    for path, rule, reason in acknowledged:
        assert "/" in path, f"{rule} acknowledged on a whole stack or the app ({path})"
        assert rule not in {"AwsSolutions-IAM5", "AwsSolutions-IAM4"}, f"bare {rule} on {path}"
        assert len(reason) >= 60, f"{rule} on {path} has a thin reason: {reason!r}"
        by_path[(path, rule)] = reason
    for (path, rule), reason in by_path.items():
        for twin in SAME_RULE.get(rule, ()):
            assert by_path.get((path, twin)) == reason, f"{twin} on {path}: not {rule}'s reason"


def _pack_rules() -> dict[str, dict[str, str]]:
    """From the installed cdk-nag's pack sources (``lib/packs/*.js`` in its jsii assembly):
    each rule function, and its id in every pack that applies it."""
    prefixes = {
        "aws-solutions": "AwsSolutions",
        "nist-800-53-r4": "NIST.800.53.R4",
        "nist-800-53-r5": "NIST.800.53.R5",
        "hipaa-security": "HIPAA.Security",
        "pci-dss-321": "PCI.DSS.321",
        "serverless": "Serverless",
    }
    (archive,) = Path(cdk_nag.__file__).parent.glob("_jsii/cdk-nag@*.jsii.tgz")
    ids: dict[str, dict[str, str]] = defaultdict(dict)
    with tarfile.open(archive) as tar:
        for pack, prefix in prefixes.items():
            member = tar.extractfile(f"package/lib/packs/{pack}.js")
            assert member is not None
            source = member.read().decode()
            override = None
            for suffix, rule in re.findall(
                r"ruleSuffixOverride:\s*['\"](\w+)['\"]|rule:\s*\w+\.(\w+)", source
            ):
                if suffix:
                    override = suffix
                    continue
                ids[rule][prefix] = f"{prefix}-{override or rule}"
                override = None
    return ids


def test_the_crosswalk_names_the_same_rule_in_every_other_pack() -> None:
    """Each id that SAME_RULE leads with, and its twins, are the ids of one cdk-nag rule
    function, in every pack that applies it and in no other."""
    by_id = {pack_id: {**packs} for packs in _pack_rules().values() for pack_id in packs.values()}
    assert len(by_id) > 300, "the pack sources were not read"
    for lead, twins in SAME_RULE.items():
        same = set(by_id[lead].values()) - {lead}
        lead_led = {i for i in same if not i.startswith("AwsSolutions-")}
        if lead.startswith("AwsSolutions-"):
            lead_led = same
        assert set(twins) == lead_led, (lead, twins, same)


@pytest.fixture(scope="module")
def review_list(configurations: Configurations) -> str:
    return render({name: acknowledgements(configurations[name].app) for name in CONFIGURATIONS})


def test_acknowledgement_review_list_is_current(review_list: str) -> None:
    """docs/acknowledgements.md lists every acknowledgement of every configuration."""
    assert DOC.read_text() == review_list, "docs/acknowledgements.md is stale: run 'make docs'"


def test_the_review_list_names_what_only_one_configuration_has(review_list: str) -> None:
    """The imported model's and the self-hosted model's acknowledgements are listed too."""
    assert "`Default/ImportedModel/HandlerRole` (imported-model)" in review_list
    assert "`Default/SelfHosted/Role` (self-hosted)" in review_list
