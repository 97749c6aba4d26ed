"""Every Python block of README.md, CONTRIBUTING.md, docs/*.md and the subpackage READMEs runs
against the fixture (tests/support/doc_fixture.py), and the app they build synthesizes.

A block that must not run says so in its fence: ```` ```python not-run: <reason> ```` (for
example, a client call to a deployed endpoint). There are few, and each names its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest

from tests.support import ROOT
from tests.support.doc_fixture import DocApp

FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
NOT_RUN = re.compile(r"^python\s+not-run:\s*\S")
MAX_NOT_RUN = 6
"""Blocks that do not run hide mistakes: keep them few."""


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    info: str
    code: str

    @property
    def label(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def runs(self) -> bool:
        return not self.info.startswith("python not-run")


def documents() -> list[Path]:
    found = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    found += sorted((ROOT / "ha_inference").rglob("README.md"))
    return [path for path in found if path.exists()]


def python_blocks() -> list[Block]:
    blocks = []
    for path in documents():
        text = path.read_text()
        for match in FENCE.finditer(text):
            info = match["info"].strip()
            if info.split(" ", 1)[0] != "python":
                continue
            line = text.count("\n", 0, match.start()) + 1
            blocks.append(Block(path, line, info, match["body"]))
    return blocks


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> dict[str, BaseException | None]:
    """Runs every block (each in its own stack of one app), then synthesizes the app once."""
    doc_app = DocApp(tmp_path_factory.mktemp("docs"))
    outcome: dict[str, BaseException | None] = {}
    for block in python_blocks():
        if not block.runs:
            continue
        code = compile(block.code, block.label, "exec")
        namespace = doc_app.namespace(block.label, code)
        try:
            exec(code, namespace, namespace)
            app = namespace.get("app")  # the block's own app, when it has one
            if isinstance(app, cdk.App) and app is not doc_app.app:
                app.synth()
            outcome[block.label] = None
        except Exception as error:  # reported per block below
            outcome[block.label] = error
    try:
        doc_app.synth()
    except Exception as error:
        outcome["synth"] = error
    return outcome


def test_the_docs_have_python_examples() -> None:
    assert sum(block.runs for block in python_blocks()) >= 10


@pytest.mark.parametrize("label", [b.label for b in python_blocks() if b.runs])
def test_block_runs(ran: dict[str, BaseException | None], label: str) -> None:
    error = ran[label]
    assert error is None, f"{label}: {type(error).__name__}: {error}"


def test_the_app_the_blocks_build_synthesizes(ran: dict[str, BaseException | None]) -> None:
    error = ran.get("synth")
    assert error is None, f"synth: {type(error).__name__}: {error}"


def test_blocks_that_do_not_run_say_why_and_are_few() -> None:
    skipped = [b for b in python_blocks() if not b.runs]
    assert [b.label for b in skipped if not NOT_RUN.match(b.info)] == [], (
        "a block that does not run names its reason: ```python not-run: <reason>"
    )
    assert len(skipped) <= MAX_NOT_RUN, [b.label for b in skipped]


LINK = re.compile(r"\]\((?P<target>[^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation but ``-`` and ``_`` dropped,
    spaces as ``-``."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {_slug(m[1]) for m in re.finditer(r"^#{1,6} (.+)$", text, re.MULTILINE)}


def test_relative_links_of_the_docs_resolve() -> None:
    """Links between the docs (files and their headings) lead somewhere; the generated API
    reference included."""
    broken = []
    for path in [*documents(), *sorted((ROOT / "docs" / "api").glob("*.md"))]:
        for match in LINK.finditer(FENCE.sub("", path.read_text())):
            target = match["target"]
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            file, _, anchor = target.partition("#")
            resolved = (path.parent / file).resolve() if file else path
            if not resolved.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{path.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []
