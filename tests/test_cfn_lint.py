"""cfn-lint over every synthesized template, for the Region the template deploys to."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.rules import Rules
from cfnlint.runner import Runner, run_template_by_data

from tests.support import Synth

IGNORED = {
    # The reference app names its AZs on purpose (configured, offline, deterministic synth).
    # cfn-lint skips W3010 itself for templates with AWS::CDK::Metadata, which test synths lack.
    "W3010": "AZ names come from ha-inference:availability-zones by design",
    # CDK writes DependsOn next to a GetAtt that already implies it (aws/aws-cdk#5309).
    "W3005": "redundant DependsOn emitted by aws-cdk-lib itself",
}
"""Warnings we accept, each with its reason. Errors are never ignored."""


@cache
def _rules() -> Rules:
    """cfn-lint's rules, loaded once (cfnlint.api.lint reloads them on every call)."""
    return Runner(ConfigMixIn(regions=["us-east-1"])).rules


def lint_template(template: dict[str, Any], region: str) -> list[str]:
    decoded, errors = decode_str(json.dumps(template))
    assert not errors and decoded is not None, errors
    config = ConfigMixIn(regions=[region], ignore_checks=sorted(IGNORED))
    matches = list(run_template_by_data(decoded, config, _rules()))
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2", "us-west-2"])
def test_reference_template_lints_clean_in_its_region(reference: Synth, region: str) -> None:
    assert lint_template(reference.template(region), region) == []


def test_lint_reports_a_resource_type_missing_in_the_region() -> None:
    """The check can fail: OpenSearch Serverless does not exist in ca-west-1 (E3006)."""
    template = {
        "Resources": {
            "Collection": {
                "Type": "AWS::OpenSearchServerless::Collection",
                "Properties": {"Name": "vectors", "Type": "VECTORSEARCH"},
            }
        }
    }
    assert lint_template(template, "us-east-1") == []
    (problem,) = lint_template(template, "ca-west-1")
    assert problem.startswith("E3006")
