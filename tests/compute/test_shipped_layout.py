"""The shipped handler folder as the Lambda Python runtime loads it: each module at the top
level of the asset, with only the standard library and the runtime's boto3/botocore."""

from __future__ import annotations

import json
import subprocess
import sys

from ha_inference.compute.shipped import FUNCTIONS_DIR

MODULES = sorted(p.stem for p in FUNCTIONS_DIR.glob("*.py") if p.stem != "__init__")

# Imports each module the way the runtime does (the asset root on sys.path, no package), then
# lists what got loaded that the runtime does not have, and any sibling a module holds that is
# not the top-level module (``from . import x`` must fall back to ``import x``).
PROBE = """
import importlib, json, sys
sys.path.insert(0, sys.argv[1])
for name in sys.argv[2:]:
    importlib.import_module(name)
foreign = sorted(
    m for m in sys.modules
    if m.split(".")[0] in {"ha_inference", "aws_cdk", "constructs", "jsii", "cdk_nag", "typeguard"}
)
# Each sibling a module uses is the top-level module of the asset, not a package copy.
siblings = sorted(
    f"{name}.{attr}"
    for name in sys.argv[2:]
    for attr, value in vars(sys.modules[name]).items()
    if type(value) is type(sys) and value.__name__ in sys.argv[2:]
    and sys.modules[value.__name__] is not value
)
print(json.dumps({"foreign": foreign, "stray siblings": siblings}))
"""


def test_every_module_imports_at_the_top_level_with_the_runtime_libraries_only() -> None:
    assert {"retrieval", "ingestion", "self_hosted", "proxy", "resilience"} <= set(MODULES)
    result = subprocess.run(
        [sys.executable, "-I", "-c", PROBE, str(FUNCTIONS_DIR), *MODULES],
        cwd=FUNCTIONS_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {"foreign": [], "stray siblings": []}
