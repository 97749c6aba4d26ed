"""The ``ha-inference`` command: its subcommands, its declaration, and a clean exit where a tool
cannot run (no boto3), through the command as a user runs it."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from dataclasses import replace
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from ha_inference.tools import cli
from ha_inference.tools.load_documents import OUTPUT_KEY
from tests.support import ROOT
from tests.support.stubs import sample_stack, write_assembly

TOOLS = ("preflight", "verify", "report", "load-documents", "scp")


def test_help_lists_the_five_tools(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ha-inference ")
    listed = re.findall(r"^    (\S+)", out, re.MULTILINE)
    assert listed == list(TOOLS)
    assert tuple(cli.TOOLS) == TOOLS


@pytest.mark.parametrize("tool", TOOLS)
def test_each_tool_describes_itself_as_a_subcommand(
    tool: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main([tool, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: ha-inference {tool} ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: <command>"),
        (["deploy"], "invalid choice: 'deploy' (choose from 'preflight', 'verify', 'report', "),
    ],
)
def test_fails_without_a_known_command_naming_the_commands(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_console_script_is_declared_and_installed() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"] == {"ha-inference": "ha_inference.tools.cli:main"}
    assert project["optional-dependencies"]["tools"] == ["boto3>=1.40"]
    (script,) = entry_points(group="console_scripts", name="ha-inference")
    assert script.load() is cli.main


def test_the_make_targets_call_the_command() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target, command in [
        ("preflight", "preflight cdk.out"),
        ("verify", "verify cdk.out"),
        ("report", "report cdk.out --out report"),
        ("load-documents", "load-documents $(DOCS) --assembly cdk.out"),
        ("scp", "scp cdk.out"),
    ]:
        recipe = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
        assert recipe is not None, target
        assert f"\t$(BIN)/ha-inference {command}\n" in recipe.group(1), target
    assert "-m ha_inference." not in makefile.replace("-m ha_inference.tools", "")


def test_runs_as_a_module_of_the_package() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ha_inference.tools", "report", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ha-inference report ")


# Runs the command where boto3 and botocore cannot be imported, as after a plain
# `pip install ha-inference` without the tools extra.
WITHOUT_BOTO3 = """
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"boto3", "botocore"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, Block())
from ha_inference.tools.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An assembly whose stack has an ingestion function output, and a folder of documents."""
    folder = tmp_path_factory.mktemp("inputs")
    stack = sample_stack()
    template = {**stack.template, "Outputs": {OUTPUT_KEY: {"Value": "ingest-fn"}}}
    assembly = write_assembly(folder / "cdk.out", [replace(stack, template=template)])
    documents = folder / "documents"
    documents.mkdir()
    (documents / "a.txt").write_text("One passage.\n")
    return assembly, documents


def without_boto3(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_BOTO3, *argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("tool", "message"),
    [
        ("preflight", "preflight: cannot run: boto3 is not installed; install it with: "),
        ("verify", "verify: cannot run: boto3 is not installed; install it with: "),
        ("load-documents", "load-documents: boto3 is needed to load documents ("),
    ],
)
def test_a_tool_that_calls_aws_says_what_to_install_without_boto3(
    tool: str, message: str, inputs: tuple[Path, Path]
) -> None:
    assembly, documents = inputs
    argv = (
        [str(documents), "--assembly", str(assembly)]
        if tool == "load-documents"
        else [str(assembly)]
    )
    result = without_boto3(tool, *argv)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message), result.stderr
    assert "pip install 'ha-inference[tools]'" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["report", "{assembly}"],
        ["preflight", "--print-policy"],
        ["verify", "--list-checks"],
        ["load-documents", "{documents}", "--assembly", "{assembly}", "--dry-run"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_what_calls_no_aws_runs_without_boto3(
    argv: list[str], inputs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The same output and exit status as with boto3 installed."""
    assembly, documents = inputs
    args = [a.format(assembly=assembly, documents=documents) for a in argv]
    result = without_boto3(*args)
    assert "Traceback" not in result.stderr, result.stderr
    code = cli.main(args)
    assert (result.returncode, result.stdout) == (code, capsys.readouterr().out)
    assert result.stdout
