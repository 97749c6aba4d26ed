"""How the reference app's process ends after a synth (stacks/process.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

# A stack with no resources: aws-cdk-lib's validation warns about it on Node.js's stderr during
# synth, just before the process leaves. The leaving must wait for jsii to copy that output.
SCRIPT = """
import sys
import aws_cdk as cdk
from stacks.process import leave_after_synth
app = cdk.App(outdir=sys.argv[1])
cdk.Stack(app, "Empty")
app.synth()
print("synthesized", flush=True)
leave_after_synth()
print("never printed")
"""


def test_leaves_with_status_0_after_the_exit_hooks_and_all_output(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch)}
    env.pop("CDK_VALIDATION", None)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "cdk.out")],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines()[-1] == "synthesized"
    assert (tmp_path / "cdk.out" / "Empty.template.json").is_file()
    # What Node.js wrote during synth arrived.
    assert "Resources section must exist and be non-empty" in result.stderr
    # jsii's exit hook ran: it removes the folder it unpacked its runtime into.
    assert [p.name for p in scratch.iterdir()] == []
