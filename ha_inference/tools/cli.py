"""The ``ha-inference`` command: one entry point for the five tools.

    ha-inference preflight [cdk.out] [--json] [--print-policy] [--list-checks]
    ha-inference verify [cdk.out] [--json] [--question TEXT] [--print-policy] [--list-checks]
    ha-inference report [cdk.out] [--out DIR] [--subnet-zone SUBNET=AZ ...]
    ha-inference load-documents <folder> [--assembly cdk.out] [--stack NAME ...] [--dry-run]
    ha-inference scp [cdk.out] [--approved-region REGION ...] [--json]

``ha-inference <command> --help`` describes each. A tool is imported only when its command runs,
so ``report`` needs nothing beyond the standard library, and a tool that calls AWS without boto3
installed says what to install and exits 2 (the exit status of "cannot run").
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

PROG = "ha-inference"


@dataclass(frozen=True)
class Tool:
    """One subcommand: the module whose ``main(argv)`` runs it, and what it does in a line."""

    module: str
    summary: str

    def main(self) -> Callable[[Sequence[str]], int]:
        run: Callable[[Sequence[str]], int] = importlib.import_module(self.module).main
        return run


TOOLS = {
    "preflight": Tool(
        "ha_inference.tools.preflight",
        "before 'cdk deploy': what in the target account would make the deploy fail (AWS, "
        "read-only)",
    ),
    "verify": Tool(
        "ha_inference.tools.verify",
        "after 'cdk deploy': prove that every AZ of every deployed stack serves (AWS, asks one "
        "test question)",
    ),
    "report": Tool(
        "ha_inference.tools.report",
        "what survives the loss of each Availability Zone and each Region (templates only, no AWS)",
    ),
    "load-documents": Tool(
        "ha_inference.tools.load_documents",
        "load a folder of *.txt and *.md files into every deployed Region's vector index (AWS)",
    ),
    "scp": Tool(
        "ha_inference.tools.scp",
        "the service control policy statements that keep the app's inference profiles working "
        "under a Region-deny SCP (templates only, no AWS)",
    ),
}
"""The subcommands, in the order a deploy uses them."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="The ha-inference tools. Each reads a synthesized cloud assembly (cdk.out).",
        epilog=f"'{PROG} <command> --help' describes a command. Exit status: 0 all good, 1 a "
        "check failed, 2 the command cannot run (report: 3 when it cannot tell).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="<command>", required=True)
    for name, tool in TOOLS.items():
        commands.add_parser(name, help=tool.summary, add_help=False)
    return parser


def _version() -> str:
    try:
        return version("ha-inference")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout not installed
        return "(not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Runs ``ha-inference <command> ...`` and returns its exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in TOOLS:
        return TOOLS[args[0]].main()(args[1:])
    # --help and --version exit 0 here; no command, or an unknown one, exits 2 naming them.
    namespace, rest = _parser().parse_known_args(args)
    return TOOLS[namespace.command].main()(rest)


if __name__ == "__main__":
    sys.exit(main())
