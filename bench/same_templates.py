"""Proves that a change leaves every synthesized file as it was: ``python bench/same_templates.py``.

Synthesizes, into one folder per scenario:

* every configuration of the reference app that the tests check (``tests/support/__init__.py``
  ``CONFIGURATIONS``) and the tests' ``reference`` scenario (cdk.json plus the self-hosted model),
  in this process, the way the tests build them;
* the reference app as the CDK CLI runs it (``python app.py``: cdk.json's context, cdk-nag's
  packs), in a fresh process;
* the peer benchmark's job with this library (``bench/jobs/ours.py``) with 1 and 10 stacks, in
  a fresh process each.

``save DIR`` writes them under ``DIR``; ``compare DIR`` synthesizes them again into a temporary
folder and compares every file of every cloud assembly (templates, ``manifest.json`` with the
construct metadata the tools read, ``tree.json``, staged assets) byte for byte with ``DIR``,
listing every file that differs, is missing or is new, and exits 1 if any does. One thing is
set aside: the names of the temporary folders that jsii unpacks aws-cdk-lib
(``jsii-kernel-<random>``) and its own runtime (``tmp<random>/lib/program.js``) into, new in every
process, which the JavaScript stack traces of construct metadata (``*.metadata.json``,
aws-cdk-lib's ``validation-report.json``) name; a file that differs in nothing else counts as
the same. Typical use::

    git stash; python bench/same_templates.py save /tmp/before; git stash pop
    python bench/same_templates.py compare /tmp/before

``--only NAME`` (repeatable) limits either command to some scenarios (``--list`` names them).
"""

from __future__ import annotations

import argparse
import filecmp
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

ACCOUNT = "111111111111"
TEMPORARY_FOLDERS = (
    (re.compile(rb"jsii-kernel-[A-Za-z0-9_]+"), b"jsii-kernel-*"),
    (re.compile(rb"tmp[a-z0-9_]{8}/lib/program\.js"), b"tmp*/lib/program.js"),
)
"""jsii's temporary folders (aws-cdk-lib's JavaScript modules, the jsii runtime), each named at
random per process (``mkdtemp``), and what they read as when compared."""


def _env(**extra: str) -> dict[str, str]:
    """No AWS credentials or CDK settings from the caller; this virtualenv's Node.js first."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"] = "1"
    return env | extra


def _in_process(context: dict[str, object]) -> Callable[[Path], None]:
    def synth(outdir: Path) -> None:
        from tests.support import synth_reference  # noqa: PLC0415 (starts jsii)

        synth_reference(outdir, context)

    return synth


def _app(outdir: Path) -> None:
    """``python app.py`` as ``cdk synth`` runs it: context and output folder from the
    environment (cdk.json's context, the test account)."""
    import json  # noqa: PLC0415

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    env = _env(
        CDK_CONTEXT_JSON=json.dumps(context),
        CDK_OUTDIR=str(outdir),
        CDK_DEFAULT_ACCOUNT=ACCOUNT,
        CDK_DEFAULT_REGION="us-east-1",
    )
    subprocess.run([sys.executable, "app.py"], cwd=ROOT, env=env, check=True)


def _job(stacks: int) -> Callable[[Path], None]:
    def synth(outdir: Path) -> None:
        script = ROOT / "bench" / "jobs" / "ours.py"
        env = _env(CDK_VALIDATION="false")
        subprocess.run(
            [sys.executable, str(script), str(stacks), str(outdir)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    return synth


def scenarios() -> dict[str, Callable[[Path], None]]:
    from tests.support import CONFIGURATIONS, SELF_HOSTED  # noqa: PLC0415 (starts jsii)

    found: dict[str, Callable[[Path], None]] = {
        f"configuration-{name}": _in_process(dict(context))
        for name, context in CONFIGURATIONS.items()
    }
    found["reference"] = _in_process(dict(SELF_HOSTED))
    found["app.py"] = _app
    found["job-1"] = _job(1)
    found["job-10"] = _job(10)
    return found


def synthesize(folder: Path, only: list[str]) -> None:
    chosen = scenarios()
    unknown = sorted(set(only) - set(chosen))
    if unknown:
        raise SystemExit(f"unknown scenario {', '.join(unknown)}; --list names them")
    for name, synth in chosen.items():
        if only and name not in only:
            continue
        outdir = folder / name
        shutil.rmtree(outdir, ignore_errors=True)
        started = time.perf_counter()
        synth(outdir)
        print(f"{name}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


def differences(before: Path, after: Path) -> list[str]:
    """Every file under either folder that is not byte-for-byte the same in the other."""

    def files(folder: Path) -> set[Path]:
        return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}

    old, new = files(before), files(after)
    found = [f"missing now: {p}" for p in sorted(old - new)]
    found += [f"new: {p}" for p in sorted(new - old)]
    found += [f"differs: {p}" for p in sorted(old & new) if not same(before / p, after / p)]
    return found


def same(before: Path, after: Path) -> bool:
    """Byte for byte, but for the names of jsii's temporary folders."""
    if filecmp.cmp(before, after, shallow=False):
        return True
    old, new = before.read_bytes(), after.read_bytes()
    for pattern, replacement in TEMPORARY_FOLDERS:
        old, new = pattern.sub(replacement, old), pattern.sub(replacement, new)
    return old == new


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("command", choices=["save", "compare"], nargs="?")
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--only", action="append", default=[], help="a scenario (repeatable)")
    parser.add_argument("--list", action="store_true", help="name the scenarios and stop")
    args = parser.parse_args()
    if args.list:
        print("\n".join(scenarios()))
        return 0
    if args.command is None or args.folder is None:
        parser.error("give save DIR or compare DIR")
    folder: Path = args.folder.resolve()
    if args.command == "save":
        synthesize(folder, args.only)
        print(f"saved under {folder}")
        return 0
    with tempfile.TemporaryDirectory(prefix="same-templates-") as temporary:
        now = Path(temporary)
        synthesize(now, args.only)
        names = args.only or sorted(p.name for p in now.iterdir())
        found = [f"{name}: {d}" for name in names for d in differences(folder / name, now / name)]
        files = sum(1 for p in now.rglob("*") if p.is_file())
    if found:
        print("\n".join(found))
        print(f"{len(found)} of the files differ from {folder}")
        return 1
    print(f"all {files} files of {len(names)} scenarios are byte-for-byte the same as in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
