"""The real `cdk synth`, through the pinned CLI, with no AWS credentials in the environment."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from ha_inference.tools.assembly import load_stacks
from stacks.config import PLACEHOLDER_ACCOUNT
from tests.support import MODEL_DATA, ROOT

CDK = ROOT / "node_modules" / ".bin" / "cdk"


def jsii_package_cache() -> str:
    """Where jsii keeps unpacked packages for this user: JSII_RUNTIME_PACKAGE_CACHE_ROOT, else
    jsii's own default for the platform (its runtime's ``defaultCacheRoot``)."""
    if root := os.environ.get("JSII_RUNTIME_PACKAGE_CACHE_ROOT"):
        return root
    if sys.platform == "darwin":
        return str(Path.home() / "Library" / "Caches" / "com.amazonaws.jsii" / "package-cache")
    if sys.platform == "win32" and (local := os.environ.get("LOCALAPPDATA")):
        return str(Path(local) / "AWS" / "jsii" / "package-cache")
    return str(Path.home() / ".cache" / "aws" / "jsii" / "package-cache")


@pytest.mark.cli
def test_cdk_synth_offline_without_credentials(tmp_path: Path) -> None:
    assert CDK.exists(), "the pinned CDK CLI is missing: run 'make setup' (make test does it)"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env["CDK_DISABLE_CLI_TELEMETRY"] = "true"  # as the Makefile sets it: offline, nothing sent
    env["HOME"] = str(tmp_path)  # no ~/.aws, no cached credentials or CLI settings
    # ...but the jsii package cache stays where it was: without it, jsii unpacks aws-cdk-lib
    # (213 MB) into the empty home first, which took 9 of this test's 20 seconds.
    env["JSII_RUNTIME_PACKAGE_CACHE_ROOT"] = jsii_package_cache()
    # app.py leaves without the interpreter's teardown; jsii's exit hook must still have run,
    # and it removes the temporary folder jsii unpacks its runtime into.
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env["TMPDIR"] = str(scratch)
    out = tmp_path / "cdk.out"
    # One Region keeps this end-to-end run short (the session fixture synthesizes all three),
    # with the self-hosted and the imported model on so that every kind of construct the
    # reference app can build is validated here.
    result = subprocess.run(
        [
            str(CDK),
            "synth",
            "--quiet",
            "--output",
            str(out),
            "-c",
            'ha-inference:regions=["us-east-1"]',
            "-c",
            "ha-inference:require-all-destinations=false",
            "-c",
            f"ha-inference:self-hosted={json.dumps({'model-data': MODEL_DATA})}",
            "-c",
            "ha-inference:imported-model=s3://ha-inference-models-{region}/imported/",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert [p.name for p in scratch.iterdir()] == []
    stacks = load_stacks(out)
    assert [s.region for s in stacks] == ["us-east-1"]
    (stack,) = stacks
    kinds = {r["Type"] for r in stack.resources.values()}
    assert {"AWS::SageMaker::Endpoint", "AWS::ElasticLoadBalancingV2::LoadBalancer"} <= kinds
    assert any("ImportedModel" in name for name in stack.resources)
    assert {s.account for s in stacks} == {PLACEHOLDER_ACCOUNT}
    for stack in stacks:
        # Synthesized by the CLI: it sets version reporting, so CDK metadata is present.
        assert "CDKMetadata" in stack.resources
    # aws-cdk-lib's built-in CloudFormation validation (on by default, its findings errors with
    # @aws-cdk/core:validateAgainstDefaultRules) and app.py's cdk-nag packs ran and found
    # nothing: no finding, no annotation, for every construct of a regional stack.
    assert "CDK_VALIDATION" not in env
    report = json.loads((out / "validation-report.json").read_text())
    assert report["title"] == "Validation Report"
    assert report["pluginReports"] == []
    # The installed command reads what the CLI wrote. One Region survives the loss of an AZ,
    # never the loss of its Region: its self-hosted model is the only one.
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ha-inference"), "report", str(out), "--out", str(tmp_path / "report")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    region_loss = (tmp_path / "report" / "region-loss.md").read_text()
    assert "| us-east-1 | **nothing** |" in region_loss
    assert (
        "**Does not survive the loss of every Region:** losing us-east-1 leaves no " in region_loss
    )
    assert "Survives the loss of any one Region" not in region_loss


def test_app_registers_cdk_nag_so_findings_fail_synth(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """app.py's plugin is live: a non-compliant construct added to its app stops synth."""
    monkeypatch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)  # app.py reads it in Python
    # Settings go in as App props: CDK_CONTEXT_JSON or CDK_OUTDIR set here would never reach
    # the jsii Node.js process (it keeps the environment it started with), so the app would
    # silently build the default three Regions into a temporary folder.
    app = runpy.run_path(str(ROOT / "app.py"), run_name="reference_app")["create_app"](
        outdir=str(tmp_path / "cdk.out"),
        context={
            "ha-inference:regions": ["us-east-1"],
            "ha-inference:require-all-destinations": False,
        },
        # The cdk-nag packs are validation plugins of their own and run either way; aws-cdk-lib's
        # CloudFormation validation is not what this test is about (the CLI synth runs it).
        builtin_cloud_formation_validation=False,
    )
    assert [child.node.id for child in app.node.children if isinstance(child, cdk.Stack)] == [
        "HaInference-us-east-1"
    ]
    stack = app.node.find_child("HaInference-us-east-1")
    group = ec2.SecurityGroup(stack, "OpenGroup", vpc=stack.network.vpc)
    group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443))
    with pytest.raises(RuntimeError, match=r"(?s)ValidationFailed.*AwsSolutions-EC23"):
        app.synth()
