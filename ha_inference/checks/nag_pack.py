"""``HaInferenceChecks``: the GENREL05-BP01 rule pack for cdk-nag 3 (any CDK app).

Register it like any cdk-nag pack::

    cdk.Validations.of(app).add_plugins(HaInferenceChecks(app))

Acknowledge a finding on one construct with its rule id, for example
``cdk.Validations.of(function).acknowledge(cdk.Acknowledgment(id="HaInference-LAMBDA1",
reason="..."))``. Rules with several findings per resource (SM1, SM6, VPCE2, BR1, BR2) use
``HaInference-<rule>[<finding>]`` ids.
"""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
import jsii
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance
from constructs import IConstruct

from ha_inference._internal.props import checked_props
from ha_inference.checks.nag_rules import RULES, IndexCache, Rule, stack_indexes

PACK_NAME = "HaInference"


@jsii.implements(IApplyRule)
class _Application:
    """One rule applied to one resource, in the shape cdk-nag's ``applyRule`` reads."""

    def __init__(self, rule: Rule, node: cdk.CfnResource) -> None:
        self._rule = rule
        self._node = node

    @property
    def node(self) -> cdk.CfnResource:
        return self._node

    @property
    def rule_suffix_override(self) -> str:
        return self._rule.suffix

    @property
    def info(self) -> str:
        return self._rule.info

    @property
    def explanation(self) -> str:
        return self._rule.explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    def rule(self, node: cdk.CfnResource) -> NagRuleCompliance | list[str]:
        return self._rule.check(node)


class HaInferenceChecks(NagPack):
    """Checks any app against GENREL05-BP01: every zonal component in at least two AZs,
    cross-zone load balancing, standby replicas, private endpoints with scoped policies, and
    Bedrock permissions without Region wildcards that keep the model behind its profile.

    Rule ids are ``HaInference-<suffix>``; each rule's info and explanation are in
    :data:`ha_inference.checks.nag_rules.RULES` and docs/rules.md. All are errors.
    """

    @checked_props
    def __init__(self, scope: IConstruct | None = None, *, verbose: bool = False) -> None:
        """
        :param scope: the app (or scope) the pack validates, as cdk-nag packs take it.
            Default: none, for ``validate_scope(scope)`` calls.
        :param verbose: add each rule's explanation to its findings. Default: ``False``.
        """
        super().__init__(scope, verbose=verbose)
        self._pack_name = PACK_NAME
        self._by_type: dict[str, list[Rule]] = {}
        self._indexes: IndexCache = {}
        """One index per stack for the rules that look across resources; a pack instance
        validates one finished app (create another to validate a changed one)."""
        for rule in RULES:
            for resource_type in rule.resource_types:
                self._by_type.setdefault(resource_type, []).append(rule)

    @property
    def name(self) -> str:
        return PACK_NAME

    @property
    def rule_ids(self) -> list[str]:
        return [f"{PACK_NAME}-{rule.suffix}" for rule in RULES]

    def _check_resource(self, node: cdk.CfnResource) -> None:
        rules = self._by_type.get(node.cfn_resource_type, ())
        if not rules:
            return
        # One walk per stack and pack for the rules that look across resources.
        with stack_indexes(self._indexes):
            for rule in rules:
                # jsii reads the application through properties; mypy wants settable ones.
                self._apply_rule(cast(IApplyRule, _Application(rule, node)))


def findings_of(pack: NagPack, scope: IConstruct) -> list[tuple[str, str]]:
    """Every unacknowledged finding of ``pack`` under ``scope`` as (rule id, construct path)."""
    report: Any = pack.validate_scope(scope)
    return sorted(
        (violation.rule_name, resource.construct_path)
        for violation in report.violations
        for resource in violation.violating_resources
    )
