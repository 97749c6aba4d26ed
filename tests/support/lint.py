"""cfn-lint over a synthesized template, for the Regions it deploys to, with the project's
accepted warnings (each with its reason)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from cfnlint.config import ConfigMixIn
from cfnlint.decode.decode import decode_str
from cfnlint.rules import Rules
from cfnlint.runner import Runner, run_template_by_data

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


def lint_template(template: dict[str, Any], region: str | list[str]) -> list[str]:
    decoded, errors = decode_str(json.dumps(template))
    assert not errors and decoded is not None, errors
    regions = [region] if isinstance(region, str) else region
    config = ConfigMixIn(regions=regions, ignore_checks=sorted(IGNORED))
    matches = list(run_template_by_data(decoded, config, _rules()))
    return [f"{m.rule.id} {m.message} ({'/'.join(map(str, m.path))})" for m in matches]
