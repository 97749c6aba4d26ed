"""The committed API reference (docs/api/) is what `make docs` generates from the code today."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

COMMITTED = ROOT / "docs" / "api"


def _api_docs_command() -> str:
    """The Makefile's ``API_DOCS`` recipe: the test runs exactly what ``make docs`` runs."""
    (line,) = re.findall(r"^API_DOCS = (.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    return line


def test_makefile_pins_the_hash_seed() -> None:
    """pdoc prints the routing tables' frozensets in hash order: without a fixed seed the
    reference changes on every run."""
    assert _api_docs_command().startswith("PYTHONHASHSEED=0 ")


def test_api_reference_is_current(tmp_path: Path) -> None:
    out = tmp_path / "api"
    command = _api_docs_command().replace("$(BIN)/", "").removesuffix("-o docs/api").split()
    seed, pdoc, *arguments = command
    env = {**os.environ, seed.split("=")[0]: seed.split("=")[1]}
    result = subprocess.run(
        [sys.executable, "-m", pdoc, *arguments, "-o", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    generated = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    committed = {
        p.relative_to(COMMITTED): p.read_bytes() for p in COMMITTED.rglob("*") if p.is_file()
    }
    stale = sorted(str(name) for name in generated.keys() | committed.keys()
                   if generated.get(name) != committed.get(name))  # fmt: skip
    assert stale == [], f"docs/api is out of date in {stale}: run 'make docs' and commit it"
