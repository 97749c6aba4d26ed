"""The generated reference docs are current, and the docstrings they come from say what they
must: every prop documented once, in its ``:param`` line, with its default."""

from __future__ import annotations

import re
from pathlib import Path

import griffe
import pytest

import ha_inference
from docgen import api, rules
from tests.support import ROOT


@pytest.fixture(scope="module")
def package() -> griffe.Module:
    return api._load()


def test_api_reference_is_current() -> None:
    generated = api.pages()
    committed = {p.name: p.read_text() for p in api.OUT.iterdir() if p.is_file()}
    stale = sorted(
        n for n in generated.keys() | committed.keys() if generated.get(n) != committed.get(n)
    )
    assert stale == [], f"docs/api is out of date in {stale}: run 'make docs' and commit it"


def test_api_reference_is_the_same_on_every_run() -> None:
    assert api.pages() == api.pages()


def test_api_reference_has_a_page_per_subpackage_with_every_public_name() -> None:
    generated = api.pages()
    for name in ha_inference.__all__:
        page = ha_inference._EXPORTS[name].split(".")[1]
        assert f"\n## {name}\n" in generated[f"{page}.md"], f"{name} is missing from {page}.md"
        assert f"[`{name}`]({page}.md#{name.lower()})" in generated["README.md"]


def test_rules_doc_is_current() -> None:
    assert rules.DOC.read_text() == rules.render(), "docs/rules.md is stale: run 'make docs'"


def test_rules_doc_lists_every_rule_of_the_pack() -> None:
    from ha_inference import HaInferenceChecks  # noqa: PLC0415

    listed = re.findall(r"^\| `(HaInference-\w+)` \|", rules.render(), re.MULTILINE)
    assert listed == HaInferenceChecks().rule_ids


def _props(package: griffe.Module) -> list[tuple[str, griffe.Parameter, str | None]]:
    """(owner.prop, parameter, its documentation) for every prop of every public name."""
    found = []
    for name in sorted(ha_inference.__all__):
        module = ha_inference._EXPORTS[name].removeprefix("ha_inference.")
        obj = api._target(package[f"{module}.{name}"])
        if obj.is_class and api._class_kind(obj) in ("enum", "protocol"):  # type: ignore[arg-type]
            continue
        if obj.is_class:
            function = obj.members.get("__init__")
            documented = api._parameters(obj) | api._parameters(function)
            documented |= api._field_docs(obj)  # type: ignore[arg-type]
        elif obj.is_function:
            function, documented = obj, api._parameters(obj)
        else:
            continue
        for parameter in getattr(function, "parameters", ()):
            if parameter.name not in ("self", "scope", "construct_id"):
                found.append(
                    (f"{name}.{parameter.name}", parameter, documented.get(parameter.name))
                )
    return found


def test_every_prop_is_documented(package: griffe.Module) -> None:
    undocumented = [prop for prop, _, text in _props(package) if not text]
    assert undocumented == [], f"add a :param line for {undocumented}"


def test_every_optional_prop_states_its_default_in_its_param_line(package: griffe.Module) -> None:
    """Defaults are written once, in the prop's own line (aws-cdk's ``@default``)."""
    silent = [
        prop
        for prop, parameter, text in _props(package)
        if parameter.default is not None and text and "Default" not in text
    ]
    assert silent == [], f"say the default ('Default: ...') in the :param line of {silent}"


def test_class_docstrings_are_a_summary_resources_and_a_few_ha_points(
    package: griffe.Module,
) -> None:
    """The defaults live in the :param lines; a class docstring that lists them again drifts."""
    repeated = []
    for name in sorted(ha_inference.__all__):
        module = ha_inference._EXPORTS[name].removeprefix("ha_inference.")
        obj = api._target(package[f"{module}.{name}"])
        text = obj.docstring.value if obj.docstring else ""
        if obj.is_class and "Default settings" in text:
            repeated.append(name)
    assert repeated == [], f"move the 'Default settings' of {repeated} into their :param lines"


PRIVATE = re.compile(r"\bissues? #?\d|aws-facts|\bshared/|(?:\"\"\"|#)\s*items? \d", re.IGNORECASE)


def _shipped_and_test_sources() -> list[Path]:
    roots = [ROOT / "ha_inference", ROOT / "tests", ROOT / "stacks", ROOT / "docgen"]
    sources = [p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts]
    sources += [*(ROOT / "ha_inference").rglob("README.md"), *(ROOT / "docs").rglob("*.md")]
    return sorted(sources)


def test_docstrings_and_tests_cite_nothing_private() -> None:
    """Shipped code and tests cite public AWS documentation, never a file outside the
    repository or a tracker item."""
    cited = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in _shipped_and_test_sources()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if PRIVATE.search(line) and path.name != "test_api_docs.py"
    ]
    assert cited == []
