"""docs/api/: the API reference in Markdown, one page per subpackage, from the docstrings.

The public names are those of ``ha_inference.__all__``; each goes on the page of the subpackage
(or top-level module) that defines it. The source is read with griffe (static analysis, no
import, so no jsii signature in the way), its reST docstrings (``:param x:``) parsed by griffe's
Sphinx parser and written out as Markdown by :func:`render`. Everything is sorted, so the output
is the same on every run.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import griffe

import ha_inference

PACKAGE = "ha_inference"
OUT = Path(__file__).resolve().parent.parent / "docs" / "api"

_ROLE = re.compile(r":(?:class|meth|func|data|attr|mod|obj|exc|const):`(?P<body>[^`]+)`")
_LITERAL = re.compile(r"``(?P<body>[^`]+?)``")


def pages() -> dict[str, str]:
    """File name (relative to docs/api/) to Markdown, for every page."""
    package = _load()
    by_page: dict[str, list[tuple[str, griffe.Object]]] = defaultdict(list)
    for name in sorted(ha_inference.__all__):
        module = ha_inference._EXPORTS[name]
        path = f"{module.removeprefix(PACKAGE + '.')}.{name}"
        by_page[module.split(".")[1]].append((name, _target(package[path])))
    rendered = {
        f"{page}.md": _page(page, package[page], members) for page, members in by_page.items()
    }
    rendered["README.md"] = _index(by_page)
    return dict(sorted(rendered.items()))


def write(out: Path = OUT) -> list[Path]:
    """Writes every page to ``out`` and removes pages that are no longer generated."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    generated = pages()
    for stale in sorted(out.iterdir()):
        if stale.name not in generated:
            stale.unlink()
    for name, text in generated.items():
        (out / name).write_text(text)
        written.append(out / name)
    return written


def _load() -> griffe.Module:
    loader = griffe.GriffeLoader(docstring_parser=griffe.Parser("sphinx"), allow_inspection=False)
    package = loader.load(PACKAGE)
    loader.resolve_aliases(external=False, implicit=False)
    return package  # type: ignore[return-value]


def _target(obj: griffe.Object | griffe.Alias) -> griffe.Object:
    return obj.final_target if isinstance(obj, griffe.Alias) else obj  # type: ignore[return-value]


# ------------------------------------------------------------------------------------ pages


def _index(by_page: dict[str, list[tuple[str, griffe.Object]]]) -> str:
    lines = [
        "# API reference",
        "",
        _generated_note(),
        "",
        "Every name here is importable from `ha_inference` (`from ha_inference import ...`).",
        "",
        "| Page | Names |",
        "|---|---|",
    ]
    for page, members in sorted(by_page.items()):
        names = ", ".join(f"[`{name}`]({page}.md#{_anchor(name)})" for name, _ in members)
        lines.append(f"| [{PACKAGE}.{page}]({page}.md) | {names} |")
    return "\n".join(lines) + "\n"


def _page(page: str, module: griffe.Object, members: list[tuple[str, griffe.Object]]) -> str:
    lines = [f"# `{PACKAGE}.{page}`", "", _generated_note(), ""]
    summary = _docstring_text(module)
    if summary:
        lines += [summary, ""]
    filepath = Path(module.filepath)  # type: ignore[arg-type]
    readme = filepath.parent / "README.md" if filepath.name == "__init__.py" else None
    if readme is not None and readme.exists():
        lines += [
            f"Guide: [ha_inference/{page}/README.md](../../ha_inference/{page}/README.md).",
            "",
        ]
    lines += [f"- [`{name}`](#{_anchor(name)})" for name, _ in members]
    lines.append("")
    for name, obj in members:
        lines += _object(name, obj)
    return "\n".join(lines).rstrip("\n") + "\n"


def _generated_note() -> str:
    return "<!-- Generated from the docstrings by `make docs` (docgen/api.py); do not edit. -->"


def _anchor(name: str) -> str:
    return name.lower()


def _object(name: str, obj: griffe.Object) -> list[str]:
    if obj.is_class:
        return _class(name, obj)  # type: ignore[arg-type]
    if obj.is_function:
        return _function(name, obj, level=2)  # type: ignore[arg-type]
    return _attribute(name, obj, level=2)


def _class(name: str, cls: griffe.Class) -> list[str]:
    kind = _class_kind(cls)
    lines = [
        f"## {name}",
        "",
        f"*{kind}* · `from {PACKAGE} import {name}` · defined in `{cls.module.path}`",
        "",
    ]
    if kind == "enum":
        lines += _paragraphs(cls)
        lines += ["| Member | Value |", "|---|---|"]
        for member in _own_members(cls):
            if member.is_attribute and member.value is not None:
                lines.append(f"| `{name}.{member.name}` | `{member.value}` |")
        return [*lines, ""]
    init = cls.members.get("__init__")
    if kind != "protocol" and isinstance(init, griffe.Function):
        lines += _signature(name, init)
    lines += _paragraphs(cls)
    documented = _field_docs(cls) | _parameters(init) | _parameters(cls)
    if isinstance(init, griffe.Function):
        lines += _parameter_list(init, documented)
    attributes = [m for m in _public_members(cls) if m.is_attribute and "property" not in m.labels]
    if attributes and kind != "dataclass":
        lines += ["**Attributes**", ""]
        lines += [_attribute_line(m) for m in attributes]
        lines.append("")
    for member in _public_members(cls):
        if member.is_function:
            lines += _function(f"{name}.{member.name}", member, level=3)  # type: ignore[arg-type]
        elif "property" in member.labels:
            lines += _attribute(f"{name}.{member.name}", member, level=3)
    return lines


def _class_kind(cls: griffe.Class) -> str:
    bases = {str(base).rsplit(".", 1)[-1] for base in cls.bases}
    if "Enum" in bases or "StrEnum" in bases:
        return "enum"
    if "Protocol" in bases:
        return "protocol"
    if "dataclass" in cls.labels or any("dataclass" in str(d.value) for d in cls.decorators):
        return "dataclass"
    return "construct" if bases & {"Construct", "Resource"} else "class"


def _function(title: str, function: griffe.Function, *, level: int) -> list[str]:
    labels = sorted(function.labels & {"classmethod", "staticmethod"})
    prefix = f"*{labels[0]}* · " if labels else ""
    lines = [f"{'#' * level} {title}", ""]
    if level == 2:
        lines += [
            f"*function* · `from {PACKAGE} import {title}` · defined in `{function.module.path}`",
            "",
        ]
    elif prefix:
        lines += [prefix.removesuffix(" · "), ""]
    lines += _signature(title.rsplit(".", 1)[-1], function)
    lines += _paragraphs(function)
    lines += _parameter_list(function, _parameters(function), every=False)
    for section in _sections(function, "returns"):
        text = " ".join(_md(item.description) for item in section.value if item.description)
        if text:
            lines += [f"**Returns:** {text}", ""]
    return lines


def _attribute(title: str, attribute: griffe.Object, *, level: int) -> list[str]:
    lines = [f"{'#' * level} {title}", ""]
    annotation = getattr(attribute, "annotation", None)
    if level == 2:
        lines += [
            f"*constant* · `from {PACKAGE} import {title}` · defined in `{attribute.module.path}`",
            "",
        ]
    if annotation is not None:
        lines += [f"Type: `{annotation}`", ""]
    elif "property" in attribute.labels:
        returns = getattr(attribute, "returns", None)
        if returns is not None:
            lines += [f"Type: `{returns}`", ""]
    lines += _paragraphs(attribute)
    return lines


def _attribute_line(attribute: griffe.Object) -> str:
    annotation = getattr(attribute, "annotation", None)
    kind = f" (`{annotation}`)" if annotation is not None else ""
    text = _md(_docstring_text(attribute)).replace("\n", " ")
    return f"- `{attribute.name}`{kind}" + (f": {text}" if text else "")


def _signature(name: str, function: griffe.Function) -> list[str]:
    parameters = [p for p in function.parameters if p.name not in ("self", "cls")]
    rendered: list[str] = []
    star = False
    for parameter in parameters:
        kind = parameter.kind.value if parameter.kind is not None else ""
        if kind == "keyword-only" and not star:
            rendered.append("*")
            star = True
        text = {"variadic positional": "*", "variadic keyword": "**"}.get(kind, "") + parameter.name
        if kind == "variadic positional":
            star = True
        if parameter.annotation is not None:
            text += f": {parameter.annotation}"
        if parameter.default is not None:
            text += (
                f" = {parameter.default}"
                if parameter.annotation is not None
                else f"={parameter.default}"
            )
        rendered.append(text)
    returns = (
        f" -> {function.returns}" if function.returns is not None and name != "__init__" else ""
    )
    if function.name == "__init__":
        returns = ""
    one_line = f"{name}({', '.join(rendered)}){returns}"
    if len(one_line) <= 88:
        body = one_line
    else:
        body = f"{name}(\n" + "".join(f"    {p},\n" for p in rendered) + f"){returns}"
    return ["```python", body, "```", ""]


def _parameter_list(
    function: griffe.Function, documented: dict[str, str], *, every: bool = True
) -> list[str]:
    """The parameters with their documentation: all of a constructor's (an undocumented prop
    shows), only the documented ones of a method or function."""
    lines = []
    for parameter in function.parameters:
        if parameter.name in ("self", "cls", "scope", "construct_id"):
            continue
        text = _md(documented.get(parameter.name, "")).replace("\n", " ")
        if not text and not every:
            continue
        kind = f" (`{parameter.annotation}`)" if parameter.annotation is not None else ""
        variadic = parameter.kind is not None and parameter.kind.value.startswith("variadic")
        required = parameter.default is None and not variadic
        parts = [f"- **`{parameter.name}`**{kind}" + (":" if text else "")]
        parts += [text] if text else []
        parts += ["**Required.**"] if required else []
        lines.append(" ".join(parts))
    return ["**Parameters**", "", *lines, ""] if lines else []


def _parameters(obj: griffe.Object | None) -> dict[str, str]:
    if obj is None or obj.docstring is None:
        return {}
    return {
        item.name: item.description
        for section in _sections(obj, "parameters")
        for item in section.value
    }


def _field_docs(cls: griffe.Class) -> dict[str, str]:
    """The docstrings written under a dataclass's fields (none for other classes)."""
    if _class_kind(cls) != "dataclass":
        return {}
    return {
        name: _docstring_text(member)
        for name, member in cls.members.items()
        if member.is_attribute and member.docstring is not None
    }


def _sections(obj: griffe.Object, kind: str) -> Iterable[Any]:
    if obj.docstring is None:
        return []
    return [section for section in obj.docstring.parsed if section.kind.value == kind]


def _docstring_text(obj: griffe.Object) -> str:
    return "\n\n".join(_md(section.value) for section in _sections(obj, "text")).strip()


def _paragraphs(obj: griffe.Object) -> list[str]:
    text = _docstring_text(obj)
    return [text, ""] if text else []


def _own_members(cls: griffe.Class) -> list[griffe.Object]:
    return [_target(m) for m in cls.members.values()]


def _public_members(cls: griffe.Class) -> list[griffe.Object]:
    """Public members of ``cls`` and of its bases in this package, in source order."""
    seen: dict[str, griffe.Object] = {}
    for klass in [cls, *_package_bases(cls)]:
        for name, member in klass.members.items():
            if name.startswith("_") or name in seen:
                continue
            seen[name] = _target(member)
    return sorted(seen.values(), key=lambda m: (m.filepath != cls.filepath, m.lineno or 0, m.name))


def _package_bases(cls: griffe.Class) -> list[griffe.Class]:
    found = []
    for base in cls.resolved_bases:
        if isinstance(base, griffe.Class) and base.path.startswith(PACKAGE + "."):
            found += [base, *_package_bases(base)]
    return found


def _md(text: str) -> str:
    """reST inline markup as Markdown: ``x`` and :role:`~a.b.C` become `x` and `C`."""

    def role(match: re.Match[str]) -> str:
        body = match["body"]
        if body.startswith("~"):
            body = body.rsplit(".", 1)[-1]
        body = re.sub(r"^(.*?)\s*<.*>$", r"\1", body)
        return f"`{body}`"

    text = _ROLE.sub(role, text)
    text = _LITERAL.sub(lambda m: f"`{m['body']}`", text)
    return re.sub(r"::\n", ":\n", text)
