"""Where the benchmark job spends its time, construct by construct: ``python bench/profile_job.py``.

Runs one job of ``bench/jobs/`` (``--job ours``, this library, in ``.venv``; ``--job peer`` in
``bench/.peer-venv``) in this process, N stacks in one app (``--stacks``, default 10), and counts
every round trip to the jsii Node.js process (create, invoke, get, set, static calls, callback
answers) with its time, by:

* the job's statements (one construct or call each), for the first stack and per extra stack;
* the innermost call site in ``ha_inference`` (or the peer package) that made it;
* the jsii member called (``aws-cdk-lib.Stack.of``, ``aws-cdk-lib.Token.isUnresolved``...);
* callbacks from Node.js into Python during synth (validations, lazy values).

Then a second app with the same stacks under ``cProfile`` (everything already imported) splits the
Python side by package, and ``python -X importtime`` lists the aws-cdk-lib modules the job imports
without touching any of their types. aws-cdk-lib's built-in validation is off unless
``--validation``; the report says so. Nothing here changes what the job synthesizes.
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import gc
import json
import os
import pstats
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsii._kernel.providers import process

BENCH = Path(__file__).resolve().parent
JOBS = BENCH / "jobs"
ROOT = BENCH.parent
LIBRARIES = {
    "ours": str(ROOT / "ha_inference") + "/",
    "peer": "/cdklabs/generative_ai_cdk_constructs/",
}
_FQN = re.compile(r'"(?:fqn|\$jsii\.byref|\$jsii\.enum|\$jsii\.interface)":\s*"([^"@/]+)')


@dataclass
class Tally:
    calls: int = 0
    seconds: float = 0.0

    def add(self, seconds: float) -> None:
        self.calls += 1
        self.seconds += seconds


@dataclass
class Recorder:
    """Counts the jsii round trips of this process."""

    library: str
    phase: str = "imports"
    statement: tuple[int, str] | None = None
    phases: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    statements: dict[tuple[int, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    sites: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    members: dict[tuple[str, str], Tally] = field(default_factory=lambda: defaultdict(Tally))
    callbacks: Counter[str] = field(default_factory=Counter)
    fqns: set[str] = field(default_factory=set)
    node_pid: int | None = None

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far of this process, and of the jsii runtime's processes (the one
        jsii starts and the Node.js process it forks; Linux only, else 0)."""
        return time.process_time(), _tree_cpu(self.node_pid) if self.node_pid else 0.0

    def site(self) -> str:
        """The innermost frame in the library under study, as ``module:line function``."""
        frame = sys._getframe(3)
        while frame is not None:
            name = frame.f_code.co_filename
            if self.library in name:
                short = name.split(self.library, 1)[1]
                return f"{short}:{frame.f_lineno} {frame.f_code.co_name}"
            frame = frame.f_back  # type: ignore[assignment]
        return "(outside the library)"

    def record(self, request: Any, response: Any, seconds: float, wire: str) -> None:
        kind = type(request).__name__.removesuffix("Request")
        member = _member(request)
        self.phases[self.phase].add(seconds)
        self.members[(kind, member)].add(seconds)
        if self.phase != "imports":
            self.sites[(self.phase, self.site())].add(seconds)
        if self.statement is not None:
            self.statements[self.statement].add(seconds)
        callback = getattr(response, "cookie", None)
        if callback is not None:
            self.callbacks[f"{self.phase}: {callback}"] += 1
        self.fqns.update(_FQN.findall(wire))


def watch_gc(recorder: Recorder) -> dict[str, Tally]:
    """CPU seconds the cyclic garbage collector runs, per phase (``gc.callbacks``)."""
    spent: dict[str, Tally] = defaultdict(Tally)
    began: list[float] = []

    def callback(event: str, _info: dict[str, int]) -> None:
        if event == "start":
            began.append(time.process_time())
        elif began:
            spent[recorder.phase].add(time.process_time() - began.pop())

    gc.callbacks.append(callback)
    return spent


def _tree_cpu(root: int) -> float:
    """User and system CPU seconds of ``root`` and its descendants, from ``/proc``."""
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid, own in seconds.items():
        ancestor: int | None = pid
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root:
            total += own
    return total


def _member(request: Any) -> str:
    """``fqn.member`` of a request, as far as it names one."""
    inner = getattr(request, "complete", None)
    if inner is not None:
        return "(answer to a callback)"
    fqn = getattr(request, "fqn", None)
    objref = getattr(request, "objref", None)
    if fqn is None and objref is not None:
        fqn = objref.ref.split("@", 1)[0]
    name = getattr(request, "method", None) or getattr(request, "property", None)
    if name is None:
        return fqn or type(request).__name__
    return f"{fqn}.{name}"


def instrument(recorder: Recorder) -> None:
    """Wraps jsii's one send function (every request to Node.js goes through it)."""

    original = process._NodeProcess.send
    wires: list[str] = []
    real_dumps = process.json.dumps

    class _Json:
        def __getattr__(self, name: str) -> Any:
            return getattr(json, name)

        @staticmethod
        def dumps(*args: Any, **kwargs: Any) -> str:
            wire = real_dumps(*args, **kwargs)
            wires.append(wire)
            return wire

    process.json = _Json()  # type: ignore[assignment]

    def send(self: Any, request: Any, response_type: Any) -> Any:
        start = time.perf_counter()
        response = original(self, request, response_type)
        seconds = time.perf_counter() - start
        recorder.node_pid = self._process.pid
        recorder.record(request, response, seconds, wires.pop() if wires else "")
        return response

    process._NodeProcess.send = send  # type: ignore[method-assign]


def statements(job: Path) -> list[tuple[str, Any]]:
    """The top-level statements of the job's ``build``, compiled one by one."""
    tree = ast.parse(job.read_text())
    (build,) = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build"]
    source = job.read_text()
    compiled = []
    for node in build.body:
        text = " ".join((ast.get_source_segment(source, node) or "").split())
        label = text if len(text) <= 70 else text[:67] + "..."
        module = ast.Module(body=[node], type_ignores=[])
        compiled.append((label, compile(module, str(job), "exec")))
    return compiled


def build_app(
    job_globals: dict[str, Any],
    steps: list[tuple[str, Any]],
    *,
    stacks: int,
    outdir: str,
    validation: bool,
    recorder: Recorder | None,
) -> tuple[Any, dict[tuple[int, str], float]]:
    """An app with ``stacks`` stacks, each built statement by statement; returns the app and
    the wall seconds of each statement."""
    import aws_cdk as cdk  # noqa: PLC0415  (loaded once the kernel is instrumented)

    shared = job_globals["shared"]
    app = cdk.App(
        outdir=outdir, analytics_reporting=False, builtin_cloud_formation_validation=validation
    )
    walls: dict[tuple[int, str], float] = defaultdict(float)
    for index in range(stacks):
        stack = cdk.Stack(
            app,
            f"Job{index}",
            env=cdk.Environment(account=shared.ACCOUNT, region=shared.REGION),
        )
        namespace = dict(job_globals, stack=stack, index=index)
        for label, code in steps:
            if recorder is not None:
                recorder.statement = (min(index, 1), label)
            start = time.perf_counter()
            exec(code, namespace)
            walls[(min(index, 1), label)] += time.perf_counter() - start
    if recorder is not None:
        recorder.statement = None
    return app, walls


@dataclass
class ImportClock:
    """Own and cumulative seconds of every module executed while it runs, and who imported it.

    ``python -X importtime`` misses modules loaded through ``importlib.import_module``, which is
    how aws-cdk-lib's package loads its submodules (``from aws_cdk import aws_ec2`` goes through
    the package's ``__getattr__``): their time shows as the importer's own. This clock wraps
    the loaders' ``exec_module`` instead, and names as importer the first frame outside the
    import machinery and outside packages' lazy ``__getattr__``.
    """

    rows: dict[str, tuple[float, float, str]] = field(default_factory=dict)
    """Module: own CPU seconds of this process, cumulative wall seconds, importer."""
    _nested: list[float] = field(default_factory=list)

    def start(self) -> None:
        import importlib._bootstrap_external as external  # noqa: PLC0415

        original = external._LoaderBasics.exec_module

        def exec_module(loader: Any, module: Any) -> None:
            importer = _importer()
            begin, cpu = time.perf_counter(), time.process_time()
            self._nested.append(0.0)
            try:
                original(loader, module)
            finally:
                used = time.process_time() - cpu
                children = self._nested.pop()
                if self._nested:
                    self._nested[-1] += used
                total = time.perf_counter() - begin
                self.rows[module.__name__] = (used - children, total, importer)

        external._LoaderBasics.exec_module = exec_module  # type: ignore[method-assign]


def _importer() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        machinery = code.co_filename.startswith("<frozen importlib") or code.co_filename.endswith(
            "importlib/__init__.py"
        )
        if not machinery and code.co_name != "__getattr__":
            return str(frame.f_globals.get("__name__", "?"))
        frame = frame.f_back  # type: ignore[assignment]
    return "?"


def import_report(clock: ImportClock, used: set[str], library: str) -> list[str]:
    """What the imports cost, and the aws-cdk-lib modules whose types never cross to Node.js."""
    rows = clock.rows
    used_modules = {_python_module(fqn) for fqn in used}
    package = library.rstrip("/").rsplit("/", 1)[-1]
    groups: dict[str, float] = defaultdict(float)
    for name, (own, _total, _by) in rows.items():
        top = name.split(".", 1)[0]
        if name.startswith("aws_cdk.") and name.endswith("._jsii"):
            top = "aws_cdk assemblies (jsii loads)"
        elif name in {"aws_cdk._jsii", "aws_cdk"}:
            top = "aws_cdk (core module, jsii start)"
        groups[top] += own
    unused = [
        (name, own, by)
        for name, (own, _total, by) in rows.items()
        if name.startswith("aws_cdk.")
        and not name.endswith("_jsii")
        and name not in used_modules
        and not any(u.startswith(name + ".") for u in used_modules)
    ]
    lines = [
        "Own import time by top-level package (CPU seconds of this process: the jsii",
        "Node.js process's work, such as loading an assembly, is not in it; a machine's other",
        "load is not in it either):",
        "",
        *(
            f"- `{name}`: {own:.3f}"
            for name, own in sorted(groups.items(), key=lambda item: -item[1])[:12]
        ),
        "",
        "aws-cdk-lib modules, own CPU time, cumulative wall time and first importer:",
        "",
        *(
            f"- `{name}` {own:.3f} s (cumulative {total:.3f}), by `{by}`"
            for name, (own, total, by) in sorted(rows.items(), key=lambda item: -item[1][0])
            if name.startswith("aws_cdk.") and not name.endswith("_jsii")
        ),
        "",
        f"Imported, but none of their types crossed to Node.js in this job ({len(unused)}, own "
        f"CPU time {sum(u[1] for u in unused):.3f} s):",
        "",
        *(
            f"- `{name}` {own:.3f} s, by `{by}`{' (the library)' if by.startswith(package) else ''}"
            for name, own, by in sorted(unused, key=lambda u: -u[1])
        ),
    ]
    return lines


def _python_module(fqn: str) -> str:
    """``aws-cdk-lib.aws_ec2.Vpc`` -> ``aws_cdk.aws_ec2``."""
    if not fqn.startswith("aws-cdk-lib"):
        return fqn
    parts = fqn.split(".")
    modules = [p for p in parts[1:] if p[:1].islower()]
    return ".".join(["aws_cdk", *modules])


def cprofile_report(run: Callable[[], Any], top: int) -> list[str]:
    """The Python side of ``run`` by package (own time), and its costliest functions."""
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.runcall(run)
    wall = time.perf_counter() - start
    stats = pstats.Stats(profile)
    groups: dict[str, float] = defaultdict(float)
    functions = []
    for (filename, line, name), row in stats.stats.items():  # type: ignore[attr-defined]
        own = row[2]
        groups[_group(filename, name)] += own
        functions.append((own, row[1], f"{_short(filename)}:{line} {name}"))
    lines = [
        f"Wall {wall:.2f} s under cProfile (which slows the Python side). Own time by package:",
        "",
        "| package | seconds |",
        "|---|---|",
        *(f"| {g} | {s:.2f} |" for g, s in sorted(groups.items(), key=lambda i: -i[1])),
        "",
        f"Top {top} functions by own time (seconds, calls):",
        "",
        *(f"- {o:.3f} s, {c} calls: `{where}`" for o, c, where in sorted(functions)[::-1][:top]),
    ]
    return lines


def _group(filename: str, name: str) -> str:
    if "'readline'" in name or "'flush'" in name:
        return "waiting for Node.js (pipe write and read)"
    if filename == "~":
        return "builtins (other)"
    for marker, group in (
        ("/jsii/", "jsii runtime (marshalling, type checks)"),
        ("/typeguard/", "typeguard (jsii's argument type checks)"),
        ("/cattrs/", "cattrs (jsii's message (de)serialization)"),
        ("/attr/", "attrs"),
        ("/json/", "json"),
        ("/aws_cdk/", "aws_cdk bindings (generated Python)"),
        ("/ha_inference/", "ha_inference"),
        ("/generative_ai_cdk_constructs/", "peer bindings (generated Python)"),
        ("/bench/", "this profiler and the job"),
        ("/typing.py", "typing"),
    ):
        if marker in filename:
            return group
    return "other Python"


def _short(filename: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def table(title: str, rows: list[tuple[str, Tally]], per: int, limit: int) -> list[str]:
    lines = [title, "", "| | jsii calls | jsii seconds |", "|---|---|---|"]
    for name, tally in rows[:limit]:
        lines.append(f"| `{name}` | {tally.calls / per:.1f} | {tally.seconds / per:.4f} |")
    return [*lines, ""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--job", choices=sorted(LIBRARIES), default="ours")
    parser.add_argument("--stacks", type=int, default=10)
    parser.add_argument("--validation", action="store_true", help="built-in validation on")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    job = JOBS / f"{args.job}.py"
    sys.path.insert(0, str(JOBS))
    sys.path.insert(1, str(ROOT))

    recorder = Recorder(library=LIBRARIES[args.job])
    instrument(recorder)
    clock = ImportClock()
    clock.start()
    collections = watch_gc(recorder)
    cpu = [recorder.cpu()]
    started = time.perf_counter()
    job_globals: dict[str, Any] = {"__name__": "job", "__file__": str(job)}
    exec(compile(job.read_text(), str(job), "exec"), job_globals)
    imported = time.perf_counter()
    cpu.append(recorder.cpu())

    recorder.phase = "build"
    steps = statements(job)
    outdir = tempfile.mkdtemp(prefix="profile-")
    app, walls = build_app(
        job_globals,
        steps,
        stacks=args.stacks,
        outdir=outdir,
        validation=args.validation,
        recorder=recorder,
    )
    built = time.perf_counter()
    cpu.append(recorder.cpu())
    recorder.phase = "synth"
    app.synth()
    synthesized = time.perf_counter()
    cpu.append(recorder.cpu())

    extra = max(args.stacks - 1, 1)
    out = [
        f"# Profile of the `{args.job}` job: {args.stacks} stacks, aws-cdk-lib validation "
        f"{'on' if args.validation else 'off'}",
        "",
        "| phase | wall s | jsii calls | jsii s | CPU s, Python | CPU s, Node.js | cyclic gc CPU s "
        "(collections) |",
        "|---|---|---|---|---|---|---|",
    ]
    for number, (phase, wall) in enumerate(
        (
            ("imports", imported - started),
            ("build", built - imported),
            ("synth", synthesized - built),
        )
    ):
        tally = recorder.phases[phase]
        python, node = (cpu[number + 1][i] - cpu[number][i] for i in (0, 1))
        gc_time = collections[phase]
        out.append(
            f"| {phase} | {wall:.2f} | {tally.calls} | {tally.seconds:.2f} | {python:.2f} | "
            f"{node:.2f} | {gc_time.seconds:.2f} ({gc_time.calls}) |"
        )
    out += [
        "",
        "Per job statement: the first stack, then the mean of each further stack (wall seconds,",
        "of which jsii round trips; the rest is Python).",
        "",
        "| statement | first: wall | calls | jsii s | further: wall | calls | jsii s |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, _code in steps:
        first, more = recorder.statements[(0, label)], recorder.statements[(1, label)]
        out.append(
            f"| `{label}` | {walls[(0, label)]:.3f} | {first.calls} | {first.seconds:.3f} | "
            f"{walls[(1, label)] / extra:.3f} | {more.calls / extra:.0f} | "
            f"{more.seconds / extra:.3f} |"
        )
    first = [recorder.statements[(0, label)] for label, _ in steps]
    more = [recorder.statements[(1, label)] for label, _ in steps]
    out += [
        f"| **total** | {sum(walls[(0, label)] for label, _ in steps):.3f} | "
        f"{sum(t.calls for t in first)} | {sum(t.seconds for t in first):.3f} | "
        f"{sum(walls[(1, label)] for label, _ in steps) / extra:.3f} | "
        f"{sum(t.calls for t in more) / extra:.0f} | {sum(t.seconds for t in more) / extra:.3f} |",
        "",
    ]
    for phase in ("build", "synth"):
        functions: dict[str, Tally] = defaultdict(Tally)
        for (p, site), tally in recorder.sites.items():
            if p == phase:
                where, _space, name = site.partition(" ")
                function = functions[f"{where.rsplit(':', 1)[0]} {name}"]
                function.calls += tally.calls
                function.seconds += tally.seconds
        out += table(
            f"Functions of the library, {phase}, per stack (by jsii calls they make):",
            sorted(functions.items(), key=lambda item: -item[1].calls),
            args.stacks,
            args.top,
        )
        out += table(
            f"Call sites in the library, {phase}, per stack (by jsii time):",
            sorted(
                ((site, t) for (p, site), t in recorder.sites.items() if p == phase),
                key=lambda item: -item[1].seconds,
            ),
            args.stacks,
            args.top,
        )
    members = sorted(
        ((f"{kind} {member}", t) for (kind, member), t in recorder.members.items()),
        key=lambda item: -item[1].calls,
    )
    out += table("jsii members, whole run, per stack (by calls):", members, args.stacks, args.top)
    out += ["Callbacks from Node.js into Python (whole run):", ""]
    out += [f"- {name}: {count}" for name, count in recorder.callbacks.most_common(args.top)]
    out += ["", "## Imports", ""]
    out += import_report(clock, recorder.fqns, LIBRARIES[args.job])

    second = tempfile.mkdtemp(prefix="profile-2-")
    holder: list[Any] = []

    def build_again() -> None:
        app, _walls = build_app(
            job_globals,
            steps,
            stacks=args.stacks,
            outdir=second,
            validation=args.validation,
            recorder=None,
        )
        holder.append(app)

    out += ["", "## The Python side of a second build (cProfile)", ""]
    out += cprofile_report(build_again, args.top)
    out += ["", "## The Python side of its synth (cProfile)", ""]
    out += cprofile_report(holder[0].synth, args.top)
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
