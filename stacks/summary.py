"""Prints one line per synthesized stack: ``python -m stacks.summary cdk.out``."""

from __future__ import annotations

import sys

from ha_inference.tools.assembly import load_stacks


def summarize(assembly_dir: str) -> list[str]:
    lines = []
    for stack in load_stacks(assembly_dir):
        azs = sorted(
            {
                r["Properties"]["AvailabilityZone"]
                for r in stack.of_type("AWS::EC2::Subnet").values()
                if isinstance(r["Properties"].get("AvailabilityZone"), str)
            }
        )
        kib = stack.template_path.stat().st_size / 1024
        lines.append(
            f"{stack.name:<28} {stack.region:<15} {len(stack.resources):>4} resources  "
            f"{kib:7.1f} KiB  AZs {','.join(azs) or '-'}"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(summarize(sys.argv[1] if len(sys.argv) > 1 else "cdk.out")))
