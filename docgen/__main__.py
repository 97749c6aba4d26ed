"""``python -m docgen [NAME ...]``: regenerates the committed docs (all of them by default).

NAME is one of ``api``, ``rules``, ``acknowledgements``, ``permissions``, ``tools``. The AZ- and
Region-loss pages need a ``cdk synth`` first; ``make docs`` runs both.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path


def _api() -> list[Path]:
    from docgen import api  # noqa: PLC0415 - each generator loads only what it needs

    return api.write()


def _rules() -> list[Path]:
    from docgen import rules  # noqa: PLC0415

    return [rules.write()]


def _acknowledgements() -> list[Path]:
    from docgen import acknowledgements  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="ha-inference-docs-") as outdir:
        return [acknowledgements.write(Path(outdir))]


def _permissions() -> list[Path]:
    from docgen import permissions  # noqa: PLC0415

    with tempfile.TemporaryDirectory(prefix="ha-inference-docs-") as outdir:
        return [permissions.write(Path(outdir))]


def _tools() -> list[Path]:
    from docgen import tool_examples  # noqa: PLC0415

    return tool_examples.write()


GENERATORS: dict[str, Callable[[], list[Path]]] = {
    "api": _api,
    "rules": _rules,
    "acknowledgements": _acknowledgements,
    "permissions": _permissions,
    "tools": _tools,
}


def main(argv: list[str]) -> int:
    names = argv or list(GENERATORS)
    unknown = [n for n in names if n not in GENERATORS]
    if unknown:
        print(f"unknown generator {unknown[0]!r}; choose from {', '.join(GENERATORS)}")
        return 2
    for name in names:
        for path in GENERATORS[name]():
            shown = path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path
            print(f"docgen {name}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
