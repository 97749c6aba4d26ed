"""Where the reference app's round trips to jsii go, by library function, and what each extra
Region adds: ``python bench/profile_app.py``.

Builds and synthesizes the reference app in this process the way ``python app.py`` does
(cdk.json's context, cdk-nag's two packs, aws-cdk-lib's validation on), geography ``global``,
once with 1 Region and once with 6 (``bench/run.py``'s two apps), each in a fresh process, and
counts every jsii call with the counter of ``bench/profile_job.py``: per phase (build, synth),
per function of ``ha_inference`` that made it, and per jsii member; then prints, for each, the
calls per extra Region ((6 Regions - 1 Region) / 5), costliest first. Counts are exact and
repeatable (unlike seconds on a shared machine); ``--top`` limits the lists.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def count(regions: list[str]) -> dict[str, dict[str, int]]:
    """Runs this script's ``--child`` mode in a fresh process: a Node.js process of its own, and
    cdk.json's context through the environment, as the CLI passes it."""
    sys.path.insert(0, str(BENCH))
    from run import _context, _env  # noqa: PLC0415 (the benchmark's own settings)

    context = _context(regions=regions, bedrock_geography="global", require_all_destinations=False)
    env = _env(
        CDK_CONTEXT_JSON=json.dumps(context),
        CDK_OUTDIR=str(Path(tempfile.mkdtemp(prefix="profile-app-")) / "cdk.out"),
    )
    result = subprocess.run(
        [sys.executable, __file__, "--child"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    counts: dict[str, dict[str, int]] = json.loads(result.stdout.strip().splitlines()[-1])
    return counts


def child() -> None:
    """Builds and synthesizes the app with every jsii call counted; prints the counts as JSON."""
    sys.path[:0] = [str(ROOT), str(BENCH)]
    from profile_job import Recorder, instrument  # noqa: PLC0415

    recorder = Recorder(library=str(ROOT / "ha_inference") + "/")
    instrument(recorder)
    import aws_cdk as cdk  # noqa: PLC0415 (counted from here on)

    from app import create_app  # noqa: PLC0415

    recorder.phase = "build"
    app = create_app()
    recorder.phase = "synth"
    app.synth()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for (phase, site), tally in recorder.sites.items():
        where, _space, name = site.partition(" ")
        key = f"{where.rsplit(':', 1)[0]} {name}"
        counts[phase][key] = counts[phase].get(key, 0) + tally.calls
    for (kind, member), tally in recorder.members.items():
        counts["members"][f"{kind} {member}"] = tally.calls
    for phase in ("build", "synth"):
        counts["total"][phase] = recorder.phases[phase].calls
    del cdk
    print(json.dumps(counts))
    sys.stdout.flush()
    os._exit(0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child()
    one = count(["us-east-1"])
    six = count(
        ["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-northeast-1"]
    )
    print("# jsii calls of the reference app (geography global, cdk-nag and validation on)")
    print()
    print("| phase | 1 Region | 6 Regions | per extra Region |")
    print("|---|---|---|---|")
    for phase in ("build", "synth"):
        a, b = one["total"][phase], six["total"][phase]
        print(f"| {phase} | {a} | {b} | {(b - a) / 5:.0f} |")
    for section in ("build", "synth", "members"):
        keys = set(one.get(section, {})) | set(six.get(section, {}))
        extra = {
            key: (six.get(section, {}).get(key, 0) - one.get(section, {}).get(key, 0)) / 5
            for key in keys
        }
        title = "jsii member" if section == "members" else f"{section}: function of the library"
        print()
        print(f"| {title} | 1 Region | per extra Region |")
        print("|---|---|---|")
        for key, per in sorted(extra.items(), key=lambda item: -item[1])[: args.top]:
            print(f"| `{key}` | {one.get(section, {}).get(key, 0)} | {per:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
