"""docs/rules.md: the GENREL05-BP01 rule pack, one row per rule, from its rule table
(``ha_inference.checks.nag_rules.RULES``), as cdk-nag's RULES.md is generated from its packs."""

from __future__ import annotations

from pathlib import Path

from ha_inference.checks.nag_pack import PACK_NAME
from ha_inference.checks.nag_rules import RULES

DOC = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def render() -> str:
    lines = [
        "# The GENREL05-BP01 rule pack (`HaInferenceChecks`)",
        "",
        "<!-- Generated from ha_inference/checks/nag_rules.py by `make docs` (docgen/rules.py); "
        "do not edit. -->",
        "",
        "A cdk-nag 3 pack for any CDK app. Every finding is an error: acknowledge one on the "
        "construct that draws it with `cdk.Validations.of(construct).acknowledge("
        'cdk.Acknowledgment(id="<Rule>", reason="..."))`. How to register the pack: '
        "[ha_inference/checks/README.md](../ha_inference/checks/README.md).",
        "",
        f"{len(RULES)} rules.",
        "",
        "| Rule | Resource types | Fails when | Why |",
        "|---|---|---|---|",
    ]
    for rule in RULES:
        types = ", ".join(f"`{t}`" for t in sorted(rule.resource_types))
        cells = (f"`{PACK_NAME}-{rule.suffix}`", types, rule.info, rule.explanation)
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def write() -> Path:
    DOC.write_text(render())
    return DOC
