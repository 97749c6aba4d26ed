"""The test suite's own layout: test modules mirror the package, shared code lives in
tests/support/, no test module imports another, test names say the behaviour, and the xdist
scheduling in tests/conftest.py finds the modules it groups and orders.

Test modules live in ``tests/<subpackage>/`` for ``ha_inference/<subpackage>/``, in
``tests/app/`` for the reference app (``app.py``, ``stacks/``), ``tests/library/`` for the
package as a whole and its top-level modules, ``tests/docs/`` for the doc checks,
``tests/truth/`` for the template and request checks and ``tests/suite/`` for this module
(CONTRIBUTING.md, "Tests").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import SLOW_MODULES, TESTS, readers, reference_readers
from tests.support import ROOT

PACKAGE = ROOT / "ha_inference"
FOLDERS_BEYOND_THE_PACKAGE = {
    "app": "the reference app: app.py and stacks/",
    "library": "the package as a whole and its top-level modules (ha_inference/*.py, _internal/)",
    "docs": "the docs: generated reference, examples that run, quoted figures",
    "truth": "the template and request checks against the services' own data",
    "suite": "the test suite's own layout",
    "support": "shared helpers and fixtures, no test modules",
}
SUBPACKAGES = {
    p.parent.name for p in PACKAGE.glob("*/__init__.py") if not p.parent.name.startswith("_")
}


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _module_of(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_test_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("test_")


def imported_test_modules(source: str, module: str, *, is_package: bool = False) -> list[str]:
    """Every test module (``test_*``) that ``source``, the text of ``module``, imports: plain,
    ``from`` and relative imports, at any depth (inside functions too)."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if any(map(_is_test_module, a.name.split(".")))]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            if any(map(_is_test_module, base.split("."))):
                found.append(base)
            found += [f"{base}.{a.name}" for a in node.names if _is_test_module(a.name)]
    return found


def test_no_test_module_imports_another_test_module() -> None:
    """Shared code lives in tests/support/; docgen/ takes its example answers from there too."""
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _python_files(TESTS, ROOT / "docgen")
        for name in imported_test_modules(
            path.read_text(), _module_of(path), is_package=path.name == "__init__.py"
        )
    ]
    assert offenders == [], "move what they share into tests/support/"


@pytest.mark.parametrize(
    ("source", "module", "expected"),
    [
        (
            "from tests.tools.test_preflight import toolkit",
            "docgen.x",
            ["tests.tools.test_preflight"],
        ),
        ("from tests.tools import test_verify as v", "docgen.x", ["tests.tools.test_verify"]),
        ("import tests.app.test_cli", "tests.app.test_x", ["tests.app.test_cli"]),
        (
            "def f():\n    from .test_nag import findings",
            "tests.app.test_x",
            ["tests.app.test_nag"],
        ),
        ("from ..truth import test_truth_iam", "tests.app.test_x", ["tests.truth.test_truth_iam"]),
        ("from tests.support.nag import findings", "tests.app.test_x", []),
        ("from tests.support import lint, samples", "tests.app.test_x", []),
        ("from tests.conftest import SLOW_MODULES", "tests.suite.test_x", []),
    ],
)
def test_the_import_scan_finds_test_modules_only(
    source: str, module: str, expected: list[str]
) -> None:
    assert imported_test_modules(source, module) == expected


def test_every_test_module_sits_in_a_folder_that_mirrors_the_package() -> None:
    modules = sorted(TESTS.rglob("test_*.py"))
    assert modules, "no test modules found"
    misplaced = [
        str(path.relative_to(ROOT))
        for path in modules
        if len(path.relative_to(TESTS).parts) < 2
        or path.relative_to(TESTS).parts[0] not in SUBPACKAGES | FOLDERS_BEYOND_THE_PACKAGE.keys()
        or path.relative_to(TESTS).parts[0] == "support"
    ]
    assert misplaced == [], (
        "put a test module in tests/<subpackage>/ for ha_inference/<subpackage>/, or in one of "
        f"{sorted(FOLDERS_BEYOND_THE_PACKAGE)}"
    )


def test_every_test_folder_is_a_package_and_none_is_named_constructs() -> None:
    """Each folder with Python files has an ``__init__.py`` (modules are
    ``tests.<folder>.<module>``, so two folders may hold modules of the same name); none is
    named ``constructs``, which would shadow the dependency aws-cdk-lib imports. A folder with
    no Python file (one a branch switch left with only ``__pycache__``) does not count."""
    folders = [
        p
        for p in [TESTS, *TESTS.rglob("*")]
        if p.is_dir()
        and not {"__pycache__", "__snapshots__"} & set(p.parts)
        and not any(part.startswith(".") for part in p.relative_to(TESTS).parts)
        and any(p.glob("*.py"))
    ]
    assert [str(p.relative_to(ROOT)) for p in folders if not (p / "__init__.py").is_file()] == []
    assert [str(p.relative_to(ROOT)) for p in folders if p.name == "constructs"] == []


def test_every_snapshot_folder_belongs_to_a_module_beside_it() -> None:
    """syrupy keeps a module's snapshots in ``__snapshots__/<module>/`` beside it: a folder
    left behind by a moved or renamed module would never be compared again."""
    orphans = [
        str(folder.relative_to(ROOT))
        for folder in TESTS.rglob("__snapshots__/*")
        if folder.is_dir() and not (folder.parent.parent / f"{folder.name}.py").is_file()
    ]
    assert orphans == []


TRACKER_NUMBER = re.compile(
    r"(?:issue|item|ticket|tracker|fault|bug|finding|task|step)_?\d",
    re.IGNORECASE,
)
"""A tracker item's number in a test name (``test_issue_28``, ``test_item_3``, ``fault_2``,
``bug1``)."""


def tracker_numbers(source: str) -> list[str]:
    """The names of the test functions and classes in ``source`` that carry a tracker number."""
    return [
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.name.lower().startswith("test")
        and TRACKER_NUMBER.search(node.name)
    ]


def test_test_names_say_the_behaviour_never_a_tracker_number() -> None:
    named = [
        f"{path.relative_to(ROOT)}::{name}"
        for path in _python_files(TESTS)
        for name in tracker_numbers(path.read_text())
    ]
    assert named == [], "name the test for the behaviour it checks"


@pytest.mark.parametrize(
    ("name", "flagged"),
    [
        ("test_issue_28_is_fixed", True),
        ("test_item_3", True),
        ("test_fault_2_answers_503", True),
        ("test_bug1", True),
        ("test_finding_4_region_loss", True),
        ("test_p95_latency_alarm", False),
        ("test_fails_on_a_list_item_of_the_wrong_kind_naming_its_position", False),
        ("test_the_alarm_watches_the_5xx_share_of_the_published_answers", False),
        ("test_reference_app_has_no_unacknowledged_nist_800_53_findings", False),
        ("test_sonnet_4_5_card_has_no_canadian_west_israeli_or_apac_source", False),
    ],
)
def test_the_name_check_flags_tracker_numbers_only(name: str, flagged: bool) -> None:
    assert bool(tracker_numbers(f"def {name}() -> None: ...")) is flagged


def test_every_slow_module_names_a_test_module() -> None:
    """An entry that names no module would silently drop out of the slow-first order."""
    missing = [name for name in SLOW_MODULES if not (TESTS / f"{name}.py").is_file()]
    assert missing == [], "fix SLOW_MODULES in tests/conftest.py"


def test_the_session_fixture_readers_are_found_in_every_subfolder(tmp_path: Path) -> None:
    """The scheduling groups the readers of a session fixture into one work unit; it must see
    modules at any depth, named as pytest-xdist names them (path from the rootdir)."""
    assert {"tests/app/test_reference_app.py", "tests/truth/test_cfn_lint.py"} <= (
        reference_readers()
    )
    assert "tests/truth/test_truth_iam.py" in readers("configurations")
    folder = tmp_path / "tests"
    (folder / "deep" / "er").mkdir(parents=True)
    (folder / "deep" / "er" / "test_a.py").write_text("def test_a(reference, tmp_path): ...\n")
    (folder / "deep" / "test_b.py").write_text("def test_b(references): ...\n")
    assert reference_readers(folder) == {"tests/deep/er/test_a.py"}
