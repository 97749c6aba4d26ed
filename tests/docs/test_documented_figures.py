"""Figures the documentation quotes from a run are the figures a run gives today.

``make synth`` prints one summary line per stack (``stacks/summary.py``): Region, resources,
template size, AZs. Every such line quoted in the repository's Markdown must match what the
reference app with cdk.json's settings synthesizes now.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path

import pytest

from stacks.summary import summarize
from tests.support import ROOT, cdk_json_context

SUMMARY_LINE = re.compile(
    r"^(?P<stack>HaInference-\S+)\s+(?P<region>\S+)\s+(?P<resources>\d+) resources\s+"
    r"(?P<kib>[\d.]+) KiB\s+AZs (?P<azs>\S+)$"
)

CLI_CONTEXT = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}
"""What the CDK CLI adds to cdk.json's context on every synth: with it, ``app.py``'s
``create_app`` synthesized in this process writes the very templates ``make synth`` writes
(byte for byte, checked against a ``make synth`` on 2026-12-08), so every figure of its summary
line can be compared exactly."""


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


@pytest.fixture(scope="module")
def make_synth_summary(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The summary lines ``make synth`` prints today, by stack name: the reference app built by
    ``app.py``'s ``create_app`` (its cdk-nag packs registered) with cdk.json's context and the
    CLI's, without credentials (no ``CDK_DEFAULT_ACCOUNT``: the placeholder account). aws-cdk-lib's
    built-in validation, which writes no template, is left to tests/app/test_cli.py."""
    outdir = tmp_path_factory.mktemp("make-synth")
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
        create_app = runpy.run_path(str(ROOT / "app.py"), run_name="reference_app")["create_app"]
        app = create_app(
            outdir=str(outdir),
            context={**cdk_json_context(), **CLI_CONTEXT, "aws:cdk:bundling-stacks": []},
            builtin_cloud_formation_validation=False,
        )
        app.synth()
    return {line.split()[0]: line for line in summarize(str(outdir))}


def stale_lines(quoted: list[tuple[str, re.Match[str]]], printed: dict[str, str]) -> list[str]:
    """Each quoted line (where, match) that is not what ``make synth`` prints today."""
    stale = []
    for where, line in quoted:
        now = printed.get(line["stack"])
        if now is None:
            stale.append(f"{where}: {line['stack']} is not a stack of the reference app")
        elif line.group(0).split() != now.split():
            stale.append(f"{where} says {line.group(0)!r}; make synth prints {now!r}")
    return stale


def test_every_quoted_synth_summary_line_is_current(make_synth_summary: dict[str, str]) -> None:
    quoted = quoted_lines()
    assert any(path.name == "README.md" for path, _, _ in quoted), "the README quotes make synth"
    found = stale_lines(
        [(f"{path.relative_to(ROOT)}:{number}", line) for path, number, line in quoted],
        make_synth_summary,
    )
    assert found == [], "run make synth and quote its output:\n" + "\n".join(found)


def test_a_figure_off_by_a_tenth_or_another_stack_is_reported(
    make_synth_summary: dict[str, str],
) -> None:
    now = make_synth_summary["HaInference-us-east-1"]
    kib = re.search(r"([\d.]+) KiB", now)
    assert kib is not None
    samples = {
        "today": now,
        "size": now.replace(f"{kib[1]} KiB", f"{float(kib[1]) + 0.1:.1f} KiB"),
        "stack": now.replace("HaInference-us-east-1", "HaInference-eu-west-9"),
    }
    quoted = [(where, SUMMARY_LINE.match(line.strip())) for where, line in samples.items()]
    assert all(match is not None for _, match in quoted)
    found = stale_lines([(w, m) for w, m in quoted if m is not None], make_synth_summary)
    assert [line.split(" ", 1)[0] for line in found] == ["size", "stack:"]
