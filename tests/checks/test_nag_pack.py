"""The GENREL05-BP01 rule pack: every rule fails a non-HA sample and passes the HA one."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sagemaker as sagemaker

from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.checks.nag_rules import RULES
from ha_inference.selfhosted.capacity import require_instance_fallbacks
from tests.support import Synth, new_app
from tests.support.samples import sample_stack

EXPECTED = {
    "HaInference-SM1[primary:1]": "NonHa/EndpointConfig",
    "HaInference-SM2": "NonHa/Model",
    "HaInference-SM3[primary]": "NonHa/EndpointConfig",
    "HaInference-SM4": "NonHa/Model",
    "HaInference-SM5": "NonHa/Model",
    "HaInference-SM6[primary:instances]": "NonHa/EndpointConfig",
    "HaInference-AZ1": "NonHa/Function",
    "HaInference-ELB1": "NonHa/LoadBalancer",
    "HaInference-ELB2": "NonHa/TargetGroup",
    "HaInference-ELB3": "NonHa/LoadBalancer",
    "HaInference-ELB4": "NonHa/LoadBalancer",
    "HaInference-VPCE1": "NonHa/RuntimeEndpoint",
    "HaInference-VPCE2[no-policy]": "NonHa/RuntimeEndpoint",
    "HaInference-VPCE3": "NonHa/RuntimeEndpoint",
    "HaInference-VPCE4": "NonHa/RuntimeEndpoint",
    "HaInference-VPCE5[regions-not-explicit]": "NonHa/EndpointService",
    "HaInference-VPCE5[no-acceptance-or-principals]": "NonHa/EndpointService",
    "HaInference-AOSS1": "NonHa/Collection",
    "HaInference-AOSS2": "NonHa/NetworkPolicy",
    "HaInference-AOSS3": "NonHa/CollectionEndpoint",
    "HaInference-LAMBDA1": "NonHa/Function",
    "HaInference-LAMBDA2[aoss]": "NonHa/Function",
    "HaInference-LAMBDA2[bedrock-agentcore]": "NonHa/Function",
    "HaInference-AGENT1[fewer-than-two-azs]": "NonHa/AgentRuntime",
    "HaInference-AGENT2[VpcprivateSubnet1SubnetCEAD3716]": "NonHa/AgentRuntime",
    "HaInference-AGENT3[bedrock-runtime]": "NonHa/AgentRuntime",
    "HaInference-BR1[arn-aws-bedrock-*--foundation-model/*]": "NonHa/FunctionRole/DefaultPolicy/Resource",
    "HaInference-BR2[us-west-2/anthropic.claude-sonnet-4-5-20250929-v1:0]": "NonHa/FunctionRole/DefaultPolicy/Resource",
    # The wildcard model statement also lets callers bypass the profile.
    "HaInference-BR2[*/*]": "NonHa/FunctionRole/DefaultPolicy/Resource",
}
"""Every finding the non-HA sample must produce: rule id (with finding) -> construct path."""


class Samples:
    def __init__(self, outdir: Path) -> None:
        self.app = new_app(outdir)
        self.non_ha = sample_stack(self.app, "NonHa", ha=False)
        self.ha = sample_stack(self.app, "Ha", ha=True)
        self.findings = findings_of(HaInferenceChecks(), self.app)

    def of(self, stack: str) -> set[tuple[str, str]]:
        return {
            (rule, path.removesuffix("/Resource"))
            for rule, path in self.findings
            if path.startswith(f"{stack}/")
        }


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Samples:
    return Samples(tmp_path_factory.mktemp("samples"))


def test_non_ha_sample_reports_every_expected_finding(samples: Samples) -> None:
    expected = {(rule, path.removesuffix("/Resource")) for rule, path in EXPECTED.items()}
    assert samples.of("NonHa") == expected


def test_every_rule_is_exercised_by_the_non_ha_sample() -> None:
    exercised = {rule.split("[")[0].removeprefix("HaInference-") for rule in EXPECTED}
    assert exercised == {rule.suffix for rule in RULES}


@pytest.mark.parametrize("rule", [r.suffix for r in RULES])
def test_rule_passes_the_ha_sample(samples: Samples, rule: str) -> None:
    assert [f for f in samples.of("Ha") if f[0].startswith(f"HaInference-{rule}")] == []


@pytest.mark.parametrize("rule", [r.suffix for r in RULES])
def test_rule_fails_the_non_ha_sample(samples: Samples, rule: str) -> None:
    assert [f for f in samples.of("NonHa") if f[0].split("[")[0] == f"HaInference-{rule}"]


def test_rules_have_stable_ids_and_text() -> None:
    suffixes = [rule.suffix for rule in RULES]
    assert len(suffixes) == len(set(suffixes))
    for rule in RULES:
        assert rule.info.endswith(".") and len(rule.info) < 120, rule.suffix
        assert len(rule.explanation) > len(rule.info), rule.suffix


def test_acknowledging_a_finding_hides_only_that_finding(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    stack = sample_stack(app, "NonHa", ha=False)
    cdk.Validations.of(stack.node.find_child("Collection")).acknowledge(
        cdk.Acknowledgment(id="HaInference-AOSS1", reason="a test collection that may lose its AZ")
    )
    rules = {rule for rule, _ in findings_of(HaInferenceChecks(), app)}
    assert "HaInference-AOSS1" not in rules and "HaInference-AOSS2" in rules


def test_pack_runs_as_a_plugin_and_fails_synth(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    sample_stack(app, "NonHa", ha=False)
    cdk.Validations.of(app).add_plugins(HaInferenceChecks(app))
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed.*HaInference-LAMBDA1"):
        app.synth()


def test_reference_app_passes_the_pack(reference: Synth) -> None:
    assert findings_of(HaInferenceChecks(), reference.app) == []


def test_fallback_rule_applies_only_where_the_app_asks(tmp_path: Path) -> None:
    """HaInference-SM3 reads require_instance_fallbacks from the construct or its ancestors: a
    single-type variant is reported in the stack that asked, and nowhere else."""
    app = new_app(tmp_path)
    for name in ("Asked", "NotAsked"):
        stack = cdk.Stack(app, name)
        if name == "Asked":
            require_instance_fallbacks(stack)
        sagemaker.CfnEndpointConfig(
            stack,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name="only",
                    model_name="model",
                    instance_type="ml.g5.xlarge",
                    initial_instance_count=2,
                ),
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name="serverless",
                    model_name="model",
                    serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                        max_concurrency=1, memory_size_in_mb=2048
                    ),
                ),
            ],
        )
    assert [f for f in findings_of(HaInferenceChecks(), app) if "SM3" in f[0]] == [
        ("HaInference-SM3[only]", "Asked/Config")
    ]
