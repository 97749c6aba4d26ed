"""the constructs inside someone else's app, imported only from ``ha_inference``.

The consumer app (tests/support/consumer/consumer_app.py) has an imported VPC, an existing
bedrock-runtime endpoint, an environment-agnostic stack and a plain ``aws_lambda.Function``.
One synthesis serves every test here; the last test builds the wheel, installs it outside the
repository and synthesizes the same app from it.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Annotations, Match

from ha_inference import (
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    MultiAzFunction,
    MultiAzSageMakerEndpoint,
    SageMakerRuntimeLoadBalancer,
    VectorCollection,
)
from ha_inference.metadata import SUBNET_ZONES_METADATA
from ha_inference.tools.assembly import load_stacks
from ha_inference.tools.report import main as report_main
from tests.support import ROOT, new_app, resources
from tests.support.consumer.consumer_app import (
    EXISTING_ENDPOINT_GROUP,
    AgnosticStack,
    ExistingVpcStack,
    build,
)


@dataclass
class Consumer:
    existing: ExistingVpcStack
    agnostic: AgnosticStack
    templates: dict[str, dict[str, Any]]
    outdir: Path


@pytest.fixture(scope="module")
def consumer(tmp_path_factory: pytest.TempPathFactory) -> Consumer:
    outdir = tmp_path_factory.mktemp("consumer") / "cdk.out"
    app = new_app(outdir)
    existing, agnostic = build(app)
    assembly = app.synth()
    templates = {s.stack_name: s.template for s in assembly.stacks}
    return Consumer(existing, agnostic, templates, outdir)


def test_adopts_the_vpcs_existing_endpoint_instead_of_adding_a_second(consumer: Consumer) -> None:
    """the VPC already has a private-DNS bedrock-runtime endpoint; no second one (it
    would fail at deploy), and the caller is admitted on the existing endpoint's group."""
    template = consumer.templates["ConsumerExisting"]
    assert resources(template, "AWS::EC2::VPCEndpoint") == {}
    ingress = [
        r["Properties"] for r in resources(template, "AWS::EC2::SecurityGroupIngress").values()
    ]
    to_existing = [r for r in ingress if r["GroupId"] == EXISTING_ENDPOINT_GROUP]
    assert len(to_existing) == 1 and to_existing[0]["FromPort"] == 443
    assert "SourceSecurityGroupId" in to_existing[0]


def test_fails_on_two_private_dns_endpoints_for_one_service_in_one_vpc(tmp_path: Path) -> None:
    """the second private-DNS endpoint synthesized fine and failed at deploy."""
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Twice", env=cdk.Environment(account="111111111111", region="us-east-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=2,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(name="p", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        ],
    )
    profile = CrossRegionInferenceProfile(stack, "Profile", model_id="anthropic.claude-sonnet-5-5")
    BedrockVpcEndpoints(stack, "First", vpc=vpc, invoke_targets=[profile])
    with pytest.raises(
        ValueError,
        match=r"Twice/Second adds a bedrock-runtime interface endpoint with private DNS to Twice/Vpc, "
        r"which already has one \(Twice/First\).*private_dns_enabled=False",
    ):
        BedrockVpcEndpoints(stack, "Second", vpc=vpc, invoke_targets=[profile])
    # One without private DNS can sit beside it, and so can the runtime load balancer's.
    BedrockVpcEndpoints(
        stack, "Quiet", vpc=vpc, invoke_targets=[profile], private_dns_enabled=False
    )
    vpc.add_interface_endpoint(
        "Runtime", service=ec2.InterfaceVpcEndpointAwsService.SAGEMAKER_RUNTIME
    )
    with pytest.raises(ValueError, match=r"which already has one \(Twice/Vpc/Runtime\)"):
        SageMakerRuntimeLoadBalancer(stack, "Nlb", vpc=vpc)
    SageMakerRuntimeLoadBalancer(stack, "NlbQuiet", vpc=vpc, private_dns_enabled=False)


def test_warns_that_private_dns_takes_over_an_existing_vpc(tmp_path: Path) -> None:
    """new private-DNS endpoints in a VPC the app did not create change every existing
    caller's path; the construct says so."""
    app = new_app(tmp_path)
    stack = cdk.Stack(
        app, "Takeover", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["us-east-1a", "us-east-1b"],
        isolated_subnet_ids=["subnet-01", "subnet-02"],
    )
    profile = CrossRegionInferenceProfile(stack, "Profile", model_id="anthropic.claude-sonnet-5-5")
    BedrockVpcEndpoints(stack, "Bedrock", vpc=vpc, invoke_targets=[profile])
    warnings = Annotations.from_stack(stack).find_warning(
        "/Takeover/Bedrock",
        Match.string_like_regexp("every caller in that VPC reaches those services"),
    )
    assert len(warnings) == 1


def test_functions_choose_runtime_and_architecture(consumer: Consumer) -> None:
    """Node.js on x86 in every AZ of the imported VPC."""
    template = consumer.templates["ConsumerExisting"]
    node = [
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Runtime") == "nodejs22.x"
    ]
    assert len(node) == 1 and node[0]["Architectures"] == ["x86_64"]
    assert len(node[0]["VpcConfig"]["SubnetIds"]) == 3


def test_plain_function_runs_the_shipped_handler_with_the_shipped_index(consumer: Consumer) -> None:
    """handler_code() and DEFAULT_INDEX from the package, no path into the repository."""
    template = consumer.templates["ConsumerExisting"]
    (answers,) = [
        f["Properties"]
        for f in resources(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("Handler") == "retrieval.handler"
    ]
    env = answers["Environment"]["Variables"]
    assert (env["INDEX_NAME"], env["VECTOR_FIELD"], env["EMBEDDING_DIMENSIONS"]) == (
        "passages",
        "vector",
        "1024",
    )
    assert answers["Code"]["S3Key"].endswith(".zip")


def test_construct_props_follow_aws_cdk_lib_names() -> None:
    """vpc_subnets, as aws-cdk-lib names it, on every zonal construct."""
    for construct in (
        BedrockVpcEndpoints,
        CollectionVpcEndpoint,
        MultiAzFunction,
        MultiAzSageMakerEndpoint,
        SageMakerRuntimeLoadBalancer,
    ):
        parameters = inspect.signature(construct.__init__).parameters
        assert "vpc_subnets" in parameters and "subnets" not in parameters, construct


def test_warns_that_an_environment_agnostic_stack_gets_two_azs(consumer: Consumer) -> None:
    """max_azs=3 in an env-agnostic stack gives two AZs; the construct says so."""
    warnings = Annotations.from_stack(consumer.agnostic).find_warning(
        "/ConsumerAgnostic/SearchEndpoint", Match.string_like_regexp("is environment-agnostic")
    )
    assert len(warnings) == 1
    assert len(consumer.agnostic.endpoint.availability_zones) == 2


def test_report_maps_the_imported_vpc_by_the_zones_its_constructs_recorded(
    consumer: Consumer, capsys: pytest.CaptureFixture[str]
) -> None:
    """The VPC is imported with its AZs; the templates name its subnets by id only. The
    library's MultiAzFunction records each subnet's AZ, so the report maps it, and with it the
    consumer's own plain function in the same subnets, and judges the stack."""
    assert report_main([str(consumer.outdir)]) == 0
    out = capsys.readouterr().out
    section = out[out.index("## ConsumerExisting") : out.index("## ConsumerAgnostic")]
    header = "| Component | us-east-1a | us-east-1b | us-east-1c | lose us-east-1a |"
    assert header in section
    zones_table, loss_levels = section.split("### ConsumerExisting: one AZ, two AZs, the Region")
    for function in ("Answers", "NodeWorker"):
        (row,) = [line for line in zones_table.splitlines() if f"function: {function}" in line]
        assert row.endswith(" | 1 | 1 | 1 | 2 | 2 | 2 |"), row
        (row,) = [line for line in loss_levels.splitlines() if f"function: {function}" in line]
        assert row.split(" | ")[1:3] == ["serves (2 of 3)", "serves (1 of 3)"], row
    assert "**Survives the loss of any one AZ.**" in section
    (existing,) = [s for s in load_stacks(consumer.outdir) if s.name == "ConsumerExisting"]
    recorded = [zones for _path, zones in existing.metadata_of(SUBNET_ZONES_METADATA)]
    assert recorded and all(
        zones
        == {
            "subnet-0aaaaaaaaaaaaaaa1": "us-east-1a",
            "subnet-0aaaaaaaaaaaaaaa2": "us-east-1b",
            "subnet-0aaaaaaaaaaaaaaa3": "us-east-1c",
        }
        for zones in recorded
    )


def test_fails_on_duplicate_collection_names_naming_both(consumer: Consumer) -> None:
    """the second collection with one name in one account and Region fails at synth."""
    with pytest.raises(
        ValueError,
        match=r"collection_name 'consumer-docs' is already the name of OpenSearch Serverless "
        r"collection ConsumerAgnostic/Search.*give ConsumerAgnostic/Again another collection_name",
    ):
        VectorCollection(
            consumer.agnostic, "Again", collection_name="consumer-docs", vpc_endpoint="vpce-0abc"
        )


def test_warns_when_the_default_picks_among_private_subnet_groups(consumer: Consumer) -> None:
    """two isolated groups (apps, data); the default takes the first, and says so."""
    warnings = Annotations.from_stack(consumer.agnostic).find_warning(
        "/ConsumerAgnostic/SearchEndpoint",
        Match.string_like_regexp("has more than one private subnet per AZ"),
    )
    assert len(warnings) == 1


def test_a_model_without_a_card_row_needs_its_routes(tmp_path: Path) -> None:
    """A model the library has read no card for no longer gets another model's
    routes: it fails synth until its own routes are given."""
    app = new_app(tmp_path)
    stack = cdk.Stack(
        app, "Models", env=cdk.Environment(account="111111111111", region="us-east-1")
    )
    with pytest.raises(
        ValueError,
        match=r"model_id 'amazon\.nova-pro-v1:0' has no routing table in ha-inference .*; pass "
        r"routes=\{source Region: \[destination Regions\]\} from the model's card",
    ):
        CrossRegionInferenceProfile(stack, "Nova", model_id="amazon.nova-pro-v1:0")
    routed = CrossRegionInferenceProfile(
        stack,
        "NovaRouted",
        model_id="amazon.nova-pro-v1:0",
        routes={"us-east-1": ["us-east-1", "us-east-2", "us-west-2"]},
    )
    assert routed.destination_regions == {"us-east-1", "us-east-2", "us-west-2"}


def test_wheel_installed_outside_the_repository_synthesizes_the_consumer_app(
    tmp_path: Path,
) -> None:
    """The built wheel, installed into a folder outside the repository and first on the path,
    synthesizes the consumer app: the package ships everything it needs (handlers, data)."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(ROOT)],
        check=True, cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = wheels.glob("ha_inference-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site), str(wheel)],
        check=True, cwd=tmp_path,
    )  # fmt: skip
    work = tmp_path / "consumer"
    work.mkdir()
    shutil.copy(
        ROOT / "tests" / "support" / "consumer" / "consumer_app.py", work / "consumer_app.py"
    )
    # aws-cdk-lib's CloudFormation validation (3 s here) is not what this test is about; the
    # real CLI synth in tests/app/test_cli.py runs it.
    env = {**os.environ, "PYTHONPATH": str(site), "CDK_VALIDATION": "false"}
    result = subprocess.run(
        [sys.executable, "consumer_app.py", str(work / "cdk.out")],
        cwd=work, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"ha_inference from {site}" in result.stdout
    manifest = json.loads((work / "cdk.out" / "manifest.json").read_text())
    stacks = {
        k for k, v in manifest["artifacts"].items() if v["type"] == "aws:cloudformation:stack"
    }
    assert stacks == {"ConsumerExisting", "ConsumerAgnostic"}
    assert (site / "ha_inference" / "functions" / "retrieval.py").is_file()
    # The wheel's console script runs the installed tools on what the installed library wrote.
    script = site / "bin" / "ha-inference"
    assert script.is_file()
    listed = subprocess.run(
        [str(script), "--help"], env=env, capture_output=True, text=True, check=False
    )
    assert listed.returncode == 0, listed.stderr
    assert all(
        tool in listed.stdout for tool in ("preflight", "verify", "report", "load-documents")
    )
    report = subprocess.run(
        [str(script), "report", str(work / "cdk.out")],
        cwd=work, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert report.returncode == 0, report.stdout[-2000:] + report.stderr[-2000:]
    assert "## ConsumerExisting (us-east-1)" in report.stdout
