"""The reference app (app.py, stacks/) is built from ha-inference's public API only: no private
module (``ha_inference._internal``), no ``_``-prefixed name, so anything it does a user's app
can do too."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support import ROOT

APP_FILES = [ROOT / "app.py", *sorted((ROOT / "stacks").glob("*.py"))]
EXPECTED_ASSEMBLY_MODULE = "ha_inference.tools.assembly"
"""Where the tools read an assembly from once the tools live in ``ha_inference.tools``."""


def private_imports(source: str) -> list[str]:
    """Each import of a private module or name in ``source``, as ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            names: list[str] = []
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules = [node.module]
            names = [alias.name for alias in node.names]
        else:
            continue
        for module in modules:
            if any(part.startswith("_") and part != "__future__" for part in module.split(".")):
                found.append(f"{node.lineno}: {module}")
        found += [
            f"{node.lineno}: {modules[0]}.{name}"
            for name in names
            if name.startswith("_") and modules[0] != "__future__"
        ]
    return found


def test_the_reference_app_imports_nothing_private() -> None:
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in APP_FILES
        if (found := private_imports(path.read_text()))
    }
    assert offenders == {}


def test_the_scan_finds_private_modules_and_names() -> None:
    source = (
        "from __future__ import annotations\n"
        "import ha_inference._internal.nag\n"
        "from ha_inference._internal import sequences\n"
        "from ha_inference.regions import _REGION_NAME, AVAILABILITY_ZONES\n"
        "from ha_inference import RegionalInference\n"
    )
    assert private_imports(source) == [
        "2: ha_inference._internal.nag",
        "3: ha_inference._internal",
        "4: ha_inference.regions._REGION_NAME",
    ]


def test_every_app_file_is_scanned() -> None:
    assert ROOT / "app.py" in APP_FILES
    assert {p.name for p in APP_FILES} >= {"regional_stack.py", "config.py", "__init__.py"}
    assert all(isinstance(p, Path) and p.is_file() for p in APP_FILES)
