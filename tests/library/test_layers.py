"""The package's layers, read from its source: no import cycle between its subpackages, tools
that never import aws-cdk-lib, and every ``ha-inference:*`` metadata key written through
``ha_inference.metadata``."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from pathlib import Path

import pytest

from tests.support import ROOT

PACKAGE = ROOT / "ha_inference"
CDK = frozenset({"aws_cdk", "constructs", "jsii", "cdk_nag"})
"""aws-cdk-lib and what comes with it (each starts or needs the jsii Node.js process)."""
AWS_SDK = frozenset({"boto3", "botocore"})


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test) in {
        "TYPE_CHECKING",
        "typing.TYPE_CHECKING",
    }


def _walk(node: ast.AST, *, type_checking: bool) -> Iterator[ast.AST]:
    for child in ast.iter_child_nodes(node):
        if not type_checking and _is_type_checking(child):
            continue
        yield child
        yield from _walk(child, type_checking=type_checking)


@cache
def imports_of(path: Path, *, type_checking: bool = True) -> frozenset[str]:
    """Every module the file imports: at module level, in functions and (unless
    ``type_checking`` is false) under ``if TYPE_CHECKING:``; relative imports resolved,
    ``from package import module`` counted as the module."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    found: set[str] = set()
    for node in _walk(tree, type_checking=type_checking):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if _is_module(candidate) else base)
    return frozenset(found)


def layer_of(module: str) -> str | None:
    """``ha_inference.<subpackage or top-level module>``; ``None`` outside the package."""
    parts = module.split(".")
    if parts[0] != "ha_inference":
        return None
    return ".".join(parts[:2])


def library_modules() -> Iterator[tuple[str, Path]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        yield module_name(path), path


def layer_graph() -> dict[str, set[str]]:
    """Which layers each layer imports. The package's own ``__init__`` re-exports every public
    name lazily and is no layer; a module that imports it depends on every layer."""
    graph: dict[str, set[str]] = {}
    for module, path in library_modules():
        if module == "ha_inference":
            continue
        source = layer_of(module)
        assert source is not None
        edges = graph.setdefault(source, set())
        for imported in imports_of(path):
            target = layer_of(imported)
            if target is not None and target != source:
                edges.add(target)
    return graph


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in graph.get(node, ()):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def importers(graph: Mapping[str, Iterable[str]], cycle: list[str]) -> list[str]:
    """Which module of each layer of ``cycle`` imports which other layer of it."""
    lines = []
    for module, path in library_modules():
        source = layer_of(module)
        if source not in cycle:
            continue
        for imported in sorted(imports_of(path)):
            target = layer_of(imported)
            if target in cycle and target != source:
                lines.append(f"{module} imports {imported}")
    return lines


def test_the_cycle_finder_finds_cycles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_import_reading_sees_deferred_and_type_checking_imports() -> None:
    source = PACKAGE / "tools" / "verify.py"
    assert "ha_inference.functions.retrieval" in imports_of(source), "a deferred import"
    assert "constructs" in imports_of(PACKAGE / "metadata.py"), "a TYPE_CHECKING import"
    assert "constructs" not in imports_of(PACKAGE / "metadata.py", type_checking=False)
    assert "ha_inference.checks.residency" in imports_of(PACKAGE / "__init__.py")


def test_no_import_cycle_between_subpackages() -> None:
    graph = layer_graph()
    assert {"ha_inference.checks", "ha_inference.selfhosted", "ha_inference.tools"} <= set(graph)
    found = cycles(graph)
    assert found == [], "\n".join(
        f"cycle {' -> '.join(cycle)}:\n  " + "\n  ".join(importers(graph, cycle)) for cycle in found
    )


def test_no_library_module_imports_the_package_facade() -> None:
    """``from ha_inference import X`` inside the library would depend on every layer."""
    offenders = [
        module
        for module, path in library_modules()
        if module != "ha_inference" and "ha_inference" in imports_of(path)
    ]
    assert offenders == []


def test_metadata_is_the_bottom_layer() -> None:
    """Constructs, checks and tools import it; it imports nothing of the library and no
    aws-cdk-lib at run time (``constructs`` only for type checking)."""
    imported = imports_of(PACKAGE / "metadata.py")
    assert {layer_of(m) for m in imported} == {None}
    assert imported & CDK == {"constructs"}
    assert imports_of(PACKAGE / "metadata.py", type_checking=False) & CDK == set()
    users = {
        layer_of(module)
        for module, path in library_modules()
        if "ha_inference.metadata" in imports_of(path)
    }
    assert {
        "ha_inference.bedrock",
        "ha_inference.checks",
        "ha_inference.selfhosted",
        "ha_inference.tools",
    } <= users


def _tools_closure() -> set[str]:
    """Every library module a tools module imports at run time, directly or through other
    modules."""
    paths = dict(library_modules())
    todo = [m for m in paths if m.startswith("ha_inference.tools")]
    seen: set[str] = set()
    while todo:
        module = todo.pop()
        if module in seen or module not in paths:
            continue
        seen.add(module)
        todo.extend(imports_of(paths[module], type_checking=False))
    return seen


def test_no_tools_module_imports_aws_cdk_directly_or_through_the_library() -> None:
    paths = dict(library_modules())
    offenders = sorted(
        f"{module} imports {imported}"
        for module in _tools_closure()
        for imported in imports_of(paths[module], type_checking=False)
        if imported.split(".")[0] in CDK
    )
    assert offenders == []


def test_every_metadata_key_comes_from_the_metadata_module() -> None:
    """No ``add_metadata`` call with a literal key, and no ``"ha-inference:*"`` constant passed
    to one, anywhere in the library but ``ha_inference/metadata.py``."""
    from ha_inference import metadata  # noqa: PLC0415

    offenders = []
    for module, path in library_modules():
        if module in {"ha_inference.metadata"} or module.startswith("ha_inference.functions"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_metadata"
            ):
                offenders.append(f"{module}:{node.lineno} calls add_metadata")
            if isinstance(node, ast.Constant) and node.value in metadata.KEYS:
                offenders.append(f"{module}:{node.lineno} spells out {node.value!r}")
    assert offenders == []
    keys = {
        value
        for name, value in vars(metadata).items()
        if name.endswith("_METADATA") and isinstance(value, str)
    }
    assert keys == metadata.KEYS
    assert all(key.startswith("ha-inference:") for key in keys)


# Imports each module with some top-level packages made unimportable, as on a machine without
# them, and lists the modules that failed and anything of those packages that got loaded.
PROBE = """
import importlib, json, sys
blocked = set(sys.argv[1].split(","))

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
failed = {}
for name in sys.argv[2:]:
    try:
        importlib.import_module(name)
    except Exception as err:
        failed[name] = f"{type(err).__name__}: {err}"
loaded = sorted(m for m in sys.modules if m.split(".")[0] in blocked)
print(json.dumps({"failed": failed, "loaded": loaded}))
"""

TOOLS_MODULES = sorted(
    module
    for module, _ in library_modules()
    if module.startswith("ha_inference.tools") and not module.endswith("__main__")
)


@pytest.mark.parametrize("blocked", [CDK, AWS_SDK], ids=["without aws-cdk-lib", "without boto3"])
def test_every_tools_module_imports_without(blocked: frozenset[str]) -> None:
    assert {"ha_inference.tools.cli", "ha_inference.tools.report"} <= set(TOOLS_MODULES)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(sorted(blocked)), *TOOLS_MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout) == {"failed": {}, "loaded": []}
