"""mypy checks every aws-cdk-lib module this code imports (the others are skipped for speed)."""

from __future__ import annotations

import re
import tomllib

from tests.support import ROOT

_IMPORT = re.compile(
    r"^\s*(?:from aws_cdk import (?P<module>\w+)|from (?P<dotted>aws_cdk(?:\.\w+)+) import"
    r"|import (?P<plain>aws_cdk(?:\.\w+)*))",
    re.MULTILINE,
)


def _imported_cdk_modules() -> set[str]:
    found = {"aws_cdk"}
    for folder in ("ha_inference", "stacks"):
        for path in (ROOT / folder).rglob("*.py"):
            for match in _IMPORT.finditer(path.read_text()):
                if match["module"]:
                    found.add(f"aws_cdk.{match['module']}")
                else:
                    found.add((match["dotted"] or match["plain"]).split(" ")[0])
    return found


def test_every_imported_aws_cdk_module_is_followed_by_mypy() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["overrides"]
    followed = {
        module
        for override in config
        if override.get("follow_imports") == "normal"
        for module in override["module"]
    }
    missing = sorted(_imported_cdk_modules() - followed)
    assert not missing, (
        f"add {missing} to the follow_imports = 'normal' override in pyproject.toml so mypy "
        "checks how the code uses them"
    )
