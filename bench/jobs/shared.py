"""What both versions of the peer-benchmark job share: the command line, the stacks' account and
Region, the VPC, the model, the function's code and settings, and the phase timings they print.

It imports aws-cdk-lib only, because it runs in two virtualenvs: this project's (``ours.py``) and
the peer's (``peer.py``, ``bench/.peer-venv``). Each job builds ``<stacks>`` stacks in one app and
synthesizes them into ``<outdir>``; aws-cdk-lib's built-in CloudFormation validation follows
``CDK_VALIDATION`` (set by ``bench/run.py`` alike for both). No asset is bundled: the function's
code is this folder's ``handler/``, staged as it is.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

ACCOUNT = "111111111111"
REGION = "us-east-1"
AVAILABILITY_ZONES = [f"{REGION}{letter}" for letter in "abc"]
MODEL_ID = "anthropic.claude-sonnet-5-5"  # the library's default chat model (Active)
HANDLER = "index.handler"
MEMORY_MIB = 512
TIMEOUT = cdk.Duration.seconds(60)


def vpc(stack: cdk.Stack) -> ec2.Vpc:
    """Three AZs, one private isolated subnet in each, no NAT: the same VPC for both jobs."""
    return ec2.Vpc(
        stack,
        "Vpc",
        ip_addresses=ec2.IpAddresses.cidr("10.0.0.0/16"),
        availability_zones=AVAILABILITY_ZONES,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
            )
        ],
    )


def code() -> lambda_.Code:
    return lambda_.Code.from_asset(str(Path(__file__).resolve().parent / "handler"))


def collection_name(index: int) -> str:
    return f"passages-{index}"


def run(imported_at: float, build: Callable[[cdk.Stack, int], None]) -> None:
    """``python <job>.py <stacks> <outdir>``: builds the stacks, synthesizes, prints the phase
    seconds as JSON (imports from ``imported_at``'s counterpart, the job's first line)."""
    stacks, outdir = int(sys.argv[1]), sys.argv[2]
    started = time.perf_counter()
    app = cdk.App(outdir=outdir, analytics_reporting=False)
    for index in range(stacks):
        stack = cdk.Stack(app, f"Job{index}", env=cdk.Environment(account=ACCOUNT, region=REGION))
        build(stack, index)
    built = time.perf_counter()
    app.synth()
    done = time.perf_counter()
    phases = {"build": built - started, "synth": done - built}
    print(json.dumps({"imports": started - imported_at, **phases}))
