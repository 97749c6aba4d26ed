"""Figures the documentation quotes from a run are the figures a run gives today.

``make synth`` prints one summary line per stack (``stacks/summary.py``): Region, resources,
template size, AZs. Every such line quoted in the repository's Markdown must match what the
reference app with cdk.json's settings synthesizes now.
"""

from __future__ import annotations

import re
from pathlib import Path

from stacks.summary import summarize
from tests.support import ROOT, Configurations

SUMMARY_LINE = re.compile(
    r"^(?P<stack>HaInference-\S+)\s+(?P<region>\S+)\s+(?P<resources>\d+) resources\s+"
    r"(?P<kib>[\d.]+) KiB\s+AZs (?P<azs>\S+)$"
)

CLI_ADDITIONS = 1
"""Resources the CDK CLI adds to every stack that an in-process synth does not: the version
reporting resource ``CDKMetadata`` (``AWS::CDK::Metadata``; tests/app/test_cli.py sees it in the real
CLI's output)."""

CLI_SIZE_OVERHEAD = (1.0, 1.25)
"""The CLI's template is larger than the in-process one by the ``CDKMetadata`` resource and each
resource's ``aws:cdk:path`` metadata, which the in-process synth leaves out: 12.7 % for the
us-east-1 stack on 2026-12-08 (105.9 against 94.0 KiB). A quoted size outside this band is
stale."""


def documents() -> list[Path]:
    return sorted(
        p
        for p in [*ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md"), *ROOT.glob("*/README.md")]
        if ".venv" not in p.parts and "node_modules" not in p.parts
    )


def quoted_lines() -> list[tuple[Path, int, re.Match[str]]]:
    return [
        (path, number, found)
        for path in documents()
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if (found := SUMMARY_LINE.match(line.strip()))
    ]


def test_every_quoted_synth_summary_line_is_current(configurations: Configurations) -> None:
    quoted = quoted_lines()
    assert any(path.name == "README.md" for path, _, _ in quoted), "the README quotes make synth"
    current = {
        found["stack"]: found
        for line in summarize(str(configurations["default"].assembly.directory))
        if (found := SUMMARY_LINE.match(line))
    }
    stale = []
    for path, number, line in quoted:
        where = f"{path.relative_to(ROOT)}:{number}"
        now = current.get(line["stack"])
        if now is None:
            stale.append(f"{where}: {line['stack']} is not a stack of the reference app")
            continue
        expected = (now["region"], int(now["resources"]) + CLI_ADDITIONS, now["azs"])
        if (line["region"], int(line["resources"]), line["azs"]) != expected:
            stale.append(f"{where} says {line.group(0)!r}; make synth gives {expected}")
        low, high = (float(now["kib"]) * factor for factor in CLI_SIZE_OVERHEAD)
        if not low <= float(line["kib"]) <= high:
            stale.append(
                f"{where} says {line['kib']} KiB; make synth gives {low:.1f} to {high:.1f} KiB"
            )
    assert stale == [], "run make synth and quote its output:\n" + "\n".join(stale)
