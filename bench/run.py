"""Synth and test-suite benchmark: ``make bench`` (or ``python bench/run.py``).

Measures, as the median of several runs (``BENCH_RUNS``, default 3):

* synth of the reference app for 1, 2, 3 and 6 Regions: ``python app.py`` exactly as the CDK
  CLI runs it (context from cdk.json through ``CDK_CONTEXT_JSON``, cdk-nag and aws-cdk-lib's
  validation on), in a fresh interpreter each time, plus one real ``cdk synth`` through the CLI;
* synth of one regional stack for 2, 3 and 6 AZs;
* the full test suite (``BENCH_TEST_RUNS``, default 1, because it takes minutes);
* resources and template bytes per stack;
* the Python synth of the default app against plain JavaScript aws-cdk-lib re-synthesizing the
  very same templates (``bench/resynth.js``: ``cloudformation-include`` on the Node.js of the
  virtualenv, with the aws-cdk-lib package jsii runs for Python), with and without aws-cdk-lib's
  built-in validation (``CDK_VALIDATION``), and the ratio of the two;
* where a fresh ``python app.py`` spends its import time (``python -X importtime``).

Prints a Markdown table and writes it to ``bench/results/<UTC time>.md`` (not committed). The
marginal cost per Region is the least-squares slope of synth time over the Region count.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ha_inference.tools.assembly import load_stacks  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
TEST_RUNS = int(os.environ.get("BENCH_TEST_RUNS", "1"))
# Six Regions need a geography that serves them all; "global" does, with destinations outside
# the app, so the destination-coverage check is off for the Region sweep.
REGION_SETS = {
    1: ["us-east-1"],
    2: ["us-east-1", "us-west-2"],
    3: ["us-east-1", "us-east-2", "us-west-2"],
    6: ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"],
}
AZ_COUNTS = (2, 3, 6)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def _context(**overrides: Any) -> dict[str, Any]:
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update({f"ha-inference:{k.replace('_', '-')}": v for k, v in overrides.items()})
    return context


def synth_app(context: dict[str, Any]) -> tuple[float, Path]:
    """Runs app.py the way the CLI does; returns wall seconds and the assembly directory."""
    outdir = Path(tempfile.mkdtemp(prefix="bench-")) / "cdk.out"
    env = _env() | {"CDK_CONTEXT_JSON": json.dumps(context), "CDK_OUTDIR": str(outdir)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, outdir


def median_synth(context: dict[str, Any]) -> tuple[float, Path]:
    times, outdir = [], Path()
    for _ in range(RUNS):
        seconds, outdir = synth_app(context)
        times.append(seconds)
    return statistics.median(times), outdir


def cli_synth() -> float:
    outdir = Path(tempfile.mkdtemp(prefix="bench-cli-")) / "cdk.out"
    start = time.perf_counter()
    subprocess.run(
        [str(ROOT / "node_modules" / ".bin" / "cdk"), "synth", "--quiet", "-o", str(outdir)],
        cwd=ROOT,
        env=_env(),
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def test_suite() -> float:
    """Median seconds of the whole suite, run by ``make pytest`` itself (two workers, bytecode
    compiled first), so the figure is the one a developer sees."""
    times = []
    for _ in range(TEST_RUNS):
        start = time.perf_counter()
        subprocess.run(
            ["make", "--no-print-directory", "pytest", "PYTEST_ARGS=-q -p no:cacheprovider"],
            cwd=ROOT,
            env=_env(),
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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


def js_resynth(assembly: Path, *, validation: bool) -> float:
    """Median seconds of ``node bench/resynth.js`` over the templates of ``assembly``."""
    node_modules = _jsii_node_modules()
    context = Path(tempfile.mkdtemp(prefix="bench-ctx-")) / "context.json"
    context.write_text(json.dumps(_context()))
    env = _env() | {"NODE_PATH": str(node_modules)}
    if not validation:
        env["CDK_VALIDATION"] = "false"
    times = []
    for _ in range(RUNS):
        outdir = Path(tempfile.mkdtemp(prefix="bench-js-"))
        start = time.perf_counter()
        subprocess.run(
            ["node", str(ROOT / "bench" / "resynth.js"), str(assembly), str(outdir), str(context)],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def python_synth(*, validation: bool) -> tuple[float, Path]:
    """Median seconds of ``python app.py`` for the default app, as the CLI runs it."""
    times, outdir = [], Path()
    for _ in range(RUNS):
        outdir = Path(tempfile.mkdtemp(prefix="bench-py-")) / "cdk.out"
        env = _env() | {"CDK_CONTEXT_JSON": json.dumps(_context()), "CDK_OUTDIR": str(outdir)}
        if not validation:
            env["CDK_VALIDATION"] = "false"
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, "app.py"], cwd=ROOT, env=env, check=True, capture_output=True
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times), outdir


def import_times() -> list[tuple[str, float]]:
    """Cumulative import seconds of the packages a fresh ``python app.py`` loads, each counted
    where it is first imported (``python -X importtime``)."""
    env = _env() | {"CDK_CONTEXT_JSON": json.dumps(_context()), "CDK_VALIDATION": "false"}
    env["CDK_OUTDIR"] = tempfile.mkdtemp(prefix="bench-imp-")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import app"],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    wanted = {"aws_cdk", "cdk_nag", "ha_inference", "stacks", "jsii"}
    found: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line.removeprefix("import time:").split("|")
        if len(fields) != 3 or not fields[1].strip().isdigit():
            continue
        name = fields[2].strip()
        if name in wanted:
            found[name] = max(found.get(name, 0.0), int(fields[1]) / 1e6)
    return sorted(found.items(), key=lambda item: -item[1])


def slope(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares slope and intercept of seconds over Regions."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x in xs)
    return b, my - b * mx


def main() -> int:
    lines = [
        f"# Benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        f", {platform.system()} {platform.release()}; median of {RUNS} runs "
        f"({TEST_RUNS} for the test suite).",
        "",
        "## Synth of the reference app by Region count",
        "",
        "| Regions | synth (s) | resources per stack | template KiB per stack |",
        "|---|---|---|---|",
    ]
    points = []
    stacks_of_three: list[Any] = []
    for count, regions in REGION_SETS.items():
        geography = "us" if count <= 3 else "global"
        seconds, outdir = median_synth(
            _context(regions=regions, bedrock_geography=geography, require_all_destinations=False)
        )
        stacks = load_stacks(outdir)
        if count == 3:
            stacks_of_three = stacks
        points.append((count, seconds))
        resources = max(len(s.resources) for s in stacks)
        size = max(s.template_path.stat().st_size for s in stacks) / 1024
        lines.append(f"| {count} | {seconds:.1f} | {resources} | {size:.1f} |")
        print(lines[-1], flush=True)
    per_region, fixed = slope(points)
    lines += [
        "",
        f"Marginal synth cost: {per_region:.2f} s per extra Region on a fixed cost of "
        f"{fixed:.1f} s (least squares over 1, 2, 3, 6 Regions).",
        f"Real `cdk synth` through the CLI, default 3 Regions: {cli_synth():.1f} s.",
        "",
        "## Synth of one regional stack by AZ count (us-east-1)",
        "",
        "| AZs | synth (s) | resources | template KiB |",
        "|---|---|---|---|",
    ]
    for zones in AZ_COUNTS:
        seconds, outdir = median_synth(
            _context(regions=["us-east-1"], az_count=zones, require_all_destinations=False)
        )
        (stack,) = load_stacks(outdir)
        size = stack.template_path.stat().st_size / 1024
        lines.append(f"| {zones} | {seconds:.1f} | {len(stack.resources)} | {size:.1f} |")
        print(lines[-1], flush=True)
    lines += ["", "## Default app, per stack", "", "| Stack | resources | bytes |", "|---|---|---|"]
    lines += [
        f"| {s.name} | {len(s.resources)} | {s.template_path.stat().st_size} |"
        for s in stacks_of_three
    ]
    lines += [
        "",
        "## Python against plain JavaScript, same templates (default app, 3 Regions)",
        "",
        "| aws-cdk-lib validation | Python `app.py` (s) | JavaScript re-synth (s) | ratio |",
        "|---|---|---|---|",
    ]
    for validation in (True, False):
        python, assembly = python_synth(validation=validation)
        javascript = js_resynth(assembly, validation=validation)
        lines.append(
            f"| {'on' if validation else 'off'} | {python:.1f} | {javascript:.1f} | "
            f"{python / javascript:.2f} |"
        )
        print(lines[-1], flush=True)
    lines += ["", "Import time of a fresh `python app.py` (cumulative, seconds):", ""]
    lines += [f"- `{name}`: {seconds:.2f}" for name, seconds in import_times()]
    suite = f"Full test suite (`make pytest`): {test_suite():.0f} s."
    lines += ["", suite, ""]
    report = "\n".join(lines)
    print(report)
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.md").write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
