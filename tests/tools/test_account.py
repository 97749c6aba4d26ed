"""What preflight and verify share: declared calls, retries, credentials, the command line, the
README's generated blocks. No test reaches the network (``no_network``)."""

from __future__ import annotations

import ast
import io
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

import ha_inference.tools._account as account_module
from docgen import tool_examples
from ha_inference.metadata import PROFILE_METADATA
from ha_inference.tools import preflight, verify
from ha_inference.tools._account import (
    Connector,
    CouldNotCheckError,
    Finding,
    Permission,
    Permissions,
    Result,
    Status,
    exit_code,
    render_json,
    render_table,
)
from ha_inference.tools.assembly import load_stacks
from tests.support import Synth
from tests.support.stubs import (
    PHYSICAL,
    REGION,
    ZONES,
    Stubs,
    no_network,  # noqa: F401 - autouse fixture
    sample_stack,
    write_assembly,
)

COMMANDS = {"preflight": preflight, "verify": verify}


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    return write_assembly(tmp_path / "cdk.out", [sample_stack()])


# --------------------------------------------------------------------------- calls


def test_an_undeclared_call_is_refused(stubs: Stubs) -> None:
    aws = stubs.connector(Permissions("preflight", [])).aws(REGION)
    with pytest.raises(LookupError, match="calls ec2 DescribeSubnets, which its Permissions"):
        aws.call("ec2", "DescribeSubnets")


def test_rejected_credentials_are_not_retried(stubs: Stubs) -> None:
    stubs.error("ec2", "describe_availability_zones", "AuthFailure", status=401)
    aws = stubs.connector(preflight.PERMISSIONS).aws(REGION)
    with pytest.raises(CouldNotCheckError, match=r"the credentials were rejected \(AuthFailure\)"):
        aws.call("ec2", "DescribeAvailabilityZones")
    assert not stubs.sleeps


def test_server_errors_are_retried(stubs: Stubs) -> None:
    stubs.error("ec2", "describe_availability_zones", "InternalError", status=500, times=2)
    stubs("ec2").add_response("describe_availability_zones", {"AvailabilityZones": []})
    aws = stubs.connector(preflight.PERMISSIONS).aws(REGION)
    response = aws.call("ec2", "DescribeAvailabilityZones")
    assert response is not None and response["AvailabilityZones"] == []
    assert len(stubs.sleeps) == 2


def test_other_errors_are_could_not_check_with_the_message(stubs: Stubs) -> None:
    stubs.error("ec2", "describe_availability_zones", "InvalidParameterValue", message="bad filter")
    aws = stubs.connector(preflight.PERMISSIONS).aws(REGION)
    with pytest.raises(CouldNotCheckError) as raised:
        aws.call("ec2", "DescribeAvailabilityZones")
    assert raised.value.detail == (
        "ec2:DescribeAvailabilityZones failed: InvalidParameterValue: bad filter"
    )
    assert not stubs.sleeps


def test_call_once_asks_each_region_once_per_request(stubs: Stubs) -> None:
    """A look-up several checks share is answered from memory; a failed call is not kept."""
    answer = {
        "modelDetails": {
            "modelArn": "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0",
            "modelId": "amazon.titan-embed-text-v2:0",
        }
    }
    stubs.error("bedrock", "get_foundation_model", "AccessDeniedException", status=403)
    stubs("bedrock").add_response("get_foundation_model", answer)
    stubs("bedrock").add_response("get_foundation_model", answer)
    aws = stubs.connector(preflight.PERMISSIONS).aws(REGION)
    ask = {"modelIdentifier": "amazon.titan-embed-text-v2:0"}
    with pytest.raises(CouldNotCheckError):
        aws.call_once("bedrock", "GetFoundationModel", **ask)
    assert aws.call_once("bedrock", "GetFoundationModel", **ask) == answer
    assert aws.call_once("bedrock", "GetFoundationModel", **ask) == answer
    assert aws.call_once("bedrock", "GetFoundationModel", modelIdentifier="other") == answer


class _Unreachable:
    """A client whose network fails twice, then answers."""

    def __init__(self) -> None:
        self.attempts = 0

    def describe_availability_zones(self, **params: Any) -> dict[str, Any]:
        self.attempts += 1
        if self.attempts <= 2:
            raise EndpointConnectionError(endpoint_url="https://ec2.us-east-1.amazonaws.com")
        return {"AvailabilityZones": []}


def test_connection_errors_are_retried_within_the_bound() -> None:
    client, sleeps = _Unreachable(), []
    connector = Connector(lambda s, r: client, preflight.PERMISSIONS, sleep=sleeps.append)
    assert connector.aws(REGION).call("ec2", "DescribeAvailabilityZones") == {
        "AvailabilityZones": []
    }
    assert client.attempts == 3
    assert len(sleeps) == 2 and all(0 < s <= 1.0 for s in sleeps)

    stuck = Connector(
        lambda s, r: _Unreachable(), preflight.PERMISSIONS, attempts=2, sleep=sleeps.append
    )
    with pytest.raises(CouldNotCheckError, match=r"after 2 attempts \(EndpointConnectionError\)"):
        stuck.aws(REGION).call("ec2", "DescribeAvailabilityZones")


def _calls_in(module: ModuleType) -> set[tuple[str, str]]:
    """Every (service, operation) a module passes to ``.call``, ``.call_once`` or ``.pages`` as
    literals."""
    tree = ast.parse(Path(str(module.__file__)).read_text())
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("call", "call_once", "pages")
        ):
            args = node.args[:2]
            literal = len(args) == 2 and all(
                isinstance(a, ast.Constant) and isinstance(a.value, str) for a in args
            )
            forwarding = isinstance(node.func.value, ast.Name) and node.func.value.id == "self"
            assert literal or forwarding, (
                f"{module.__name__}:{node.lineno}: name the service and operation as literals"
            )
            if literal:
                found.add((args[0].value, args[1].value))  # type: ignore[attr-defined]
    return found


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_permissions_table_lists_exactly_the_calls_the_code_makes(command: str) -> None:
    """Adding a call without declaring it (and so without the README listing it) fails here."""
    module = COMMANDS[command]
    made = _calls_in(module) | _calls_in(account_module)
    assert module.PERMISSIONS.calls == made


def test_the_policy_grants_every_declared_action_and_nothing_else() -> None:
    for module in COMMANDS.values():
        policy = module.PERMISSIONS.policy()
        granted = {a for s in policy["Statement"] for a in s["Action"]}
        assert granted == {p.action for p in module.PERMISSIONS if p.action}
        assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert "lambda:InvokeFunction" in {p.action for p in verify.PERMISSIONS}
    assert not any(
        p.action.split(":")[1].startswith(("Create", "Delete", "Put", "Update", "Invoke"))
        for p in preflight.PERMISSIONS
        if p.action
    ), "preflight is read-only"


# --------------------------------------------------------------------------- command line


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_refuses_to_run_without_credentials(
    command: str, assembly: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    for key in [k for k in os.environ if k.startswith("AWS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert COMMANDS[command].main([str(assembly)]) == 2
    message = capsys.readouterr().err
    assert message.startswith(f"{command}: cannot run: no AWS credentials found; set AWS_PROFILE")
    assert "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY" in message
    assert "Traceback" not in message


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_exits_2_without_an_assembly(command: str, tmp_path: Path, capsys: Any) -> None:
    assert (
        COMMANDS[command].main(
            [str(tmp_path / "missing")], connector=Stubs().connector(COMMANDS[command].PERMISSIONS)
        )
        == 2
    )
    assert "is not a cloud assembly (no manifest.json)" in capsys.readouterr().err


def test_exits_2_when_the_identity_cannot_be_read(
    stubs: Stubs, assembly: Path, capsys: Any
) -> None:
    stubs.error("sts", "get_caller_identity", "ExpiredToken", status=403)
    assert preflight.main([str(assembly)], connector=stubs.connector(preflight.PERMISSIONS)) == 2
    err = capsys.readouterr().err
    assert "cannot run: cannot read the caller's identity: sts GetCallerIdentity: the " in err
    assert "credentials were rejected (ExpiredToken); renew the credentials; set AWS_PROFILE" in err


def test_json_for_ci(stubs: Stubs, assembly: Path, capsys: Any) -> None:
    stubs.identity()
    stubs.no_stack()
    assert (
        verify.main(["--json", str(assembly)], connector=stubs.connector(verify.PERMISSIONS)) == 1
    )
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["command"] == "verify"
    assert report["account"] == "111111111111"
    assert report["exit_code"] == 1
    assert report["summary"]["fail"] == 1
    assert report["results"][1] == {
        "region": "us-east-1",
        "stack": "HaInference-us-east-1",
        "check": "stack",
        "subject": "HaInference-us-east-1",
        "status": "fail",
        "detail": "no stack HaInference-us-east-1 in us-east-1",
        "fix": "deploy it (cdk deploy), then verify again",
    }
    assert {r["status"] for r in report["results"][2:]} == {"not applicable"}
    assert captured.err.splitlines() == [
        "verify: us-east-1: checking HaInference-us-east-1",
        "verify: us-east-1: 1 pass, 1 fail, 6 not applicable",
    ]


def test_an_environment_agnostic_stack_needs_a_region(stubs: Stubs, tmp_path: Path) -> None:
    agnostic = sample_stack(account="unknown-account", region="unknown-region")
    assembly = write_assembly(tmp_path / "cdk.out", [agnostic])
    connector = stubs.connector(preflight.PERMISSIONS)
    connector.default_region = None
    out, err = io.StringIO(), io.StringIO()
    code = account_module.command_line(
        preflight.PREFLIGHT,
        description="",
        argv=[str(assembly)],
        connector=connector,
        stdout=out,
        stderr=err,
    )
    assert code == 2
    assert "every stack is environment-agnostic and no default Region is set" in err.getvalue()


def test_an_environment_agnostic_stack_is_checked_in_the_default_region(stubs: Stubs) -> None:
    agnostic = sample_stack(account="unknown-account", region="unknown-region")
    template = agnostic.template
    template["Resources"] = {
        k: r
        for k, r in template["Resources"].items()
        if r["Type"] == "AWS::OpenSearchServerless::VpcEndpoint" or r["Type"] == "AWS::EC2::Subnet"
    }
    stubs("ec2").add_response(
        "describe_availability_zones",
        {"AvailabilityZones": [{"ZoneName": z, "ZoneId": z} for z in ZONES]},
    )
    stubs("ec2").add_response(
        "describe_vpc_endpoint_services",
        {"ServiceDetails": [{"AvailabilityZones": list(ZONES)}]},
        {"ServiceNames": ["com.amazonaws.us-east-1.aoss"]},
    )
    connector = stubs.connector(preflight.PERMISSIONS)
    (endpoint_check,) = [c for c in preflight.PREFLIGHT.checks if c.name == "endpoint-azs"]
    registry = account_module.Registry(
        preflight.PERMISSIONS, [account_module.ACCOUNT_CHECK, endpoint_check]
    )
    results = account_module.run_checks(
        registry, [agnostic], connector, caller_account="111111111111"
    )
    assert [(r.region, r.check, r.status) for r in results] == [
        ("us-east-1", "account", Status.PASS),
        ("us-east-1", "endpoint-azs", Status.PASS),
    ]
    assert results[0].finding.detail == (
        "environment-agnostic: deploys to the caller's account 111111111111"
    )


def test_print_policy(capsys: Any) -> None:
    assert preflight.main(["--print-policy"]) == 0
    assert json.loads(capsys.readouterr().out) == preflight.PERMISSIONS.policy()


@pytest.mark.parametrize(
    ("statuses", "code"),
    [
        ([Status.PASS, Status.NOT_APPLICABLE], 0),
        ([Status.PASS, Status.WARNING], 0),
        ([Status.PASS, Status.FAIL], 1),
        ([Status.PASS, Status.UNKNOWN], 1),
    ],
)
def test_exit_code(statuses: list[Status], code: int) -> None:
    results = [Result(REGION, "c", Finding(s, "x", "d")) for s in statuses]
    assert exit_code(results) == code
    assert json.loads(render_json("preflight", "1", results))["exit_code"] == code


def test_table_has_a_section_per_region_and_marks_stacks_when_several() -> None:
    results = [
        Result("us-east-1", "account", Finding(Status.PASS, "A", "ok", stack="A")),
        Result(
            "us-east-1",
            "unique-names",
            Finding(Status.FAIL, "collection v", "taken", "rename", "B"),
        ),
        Result("eu-west-1", "account", Finding(Status.PASS, "C", "ok", stack="C")),
    ]
    table = render_table(results)
    assert table.splitlines()[0] == "us-east-1 (A, B)"
    assert "[B] collection v: taken" in table
    assert "\neu-west-1 (C)\n" in table


# --------------------------------------------------------------------------- README


@pytest.fixture(scope="module")
def generated() -> dict[str, str]:
    return tool_examples.blocks()


def test_generated_blocks_are_current(generated: dict[str, str]) -> None:
    """docs/tools.md holds every generated block (check lists, IAM actions, policies, example
    runs against stubbed AWS); README.md may hold some; each is what the code gives today.
    Refresh with make docs."""
    for path in tool_examples.FILES:
        found = tool_examples.file_blocks(path.read_text())
        if path == tool_examples.TOOLS_DOC:
            assert set(found) == set(generated)
        assert set(found) <= set(generated), f"{path.name} has blocks no generator writes"
        for name, text in found.items():
            assert text == generated[name], f"{path.name} block {name!r} is stale: make docs"


def test_examples_show_each_outcome(generated: dict[str, str]) -> None:
    preflight_run = generated["preflight example"]
    for status in ("pass", "fail", "could not check"):
        assert f"  {status}  " in preflight_run
    assert preflight_run.endswith("$ echo $?\n1\n```")
    verify_run = generated["verify example"]
    assert "  warning  " in verify_run and verify_run.endswith("$ echo $?\n0\n```")
    assert generated["load-documents example"].splitlines()[2:6] == [
        "us-east-1 (HaInference-us-east-1): 2 documents, 4 passages, 4 indexed, 0 failed",
        "us-west-2 (HaInference-us-west-2): 2 documents, 4 passages, 4 indexed, 0 failed",
        "$ echo $?",
        "0",
    ]


def test_an_example_that_hits_an_error_is_never_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A check that stops on an unexpected error (here: a call with no stubbed answer) fails
    the generator instead of landing in the docs as a "could not check" row."""
    monkeypatch.setattr(tool_examples.p, "endpoint_name", lambda stubs: None)
    with pytest.raises(tool_examples.ExampleError, match="error it did not intend"):
        tool_examples.preflight_example()


def test_an_example_with_an_unused_answer_is_never_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An answer the run never asked for means the example does not run what it says."""
    original = tool_examples.v.collection

    def twice(stubs: Stubs) -> None:
        original(stubs)
        original(stubs)

    monkeypatch.setattr(tool_examples.v, "collection", twice)
    with pytest.raises(tool_examples.ExampleError, match="an answer was not asked for"):
        tool_examples.verify_example()


def test_tools_doc_has_a_section_per_command() -> None:
    headings = [
        line for line in tool_examples.TOOLS_DOC.read_text().splitlines() if line.startswith("#")
    ]
    for command in ("preflight", "verify", "report", "load-documents"):
        assert f"## ha-inference {command}" in headings, command
    assert "## Exit codes" in headings and "## Permissions" in headings


# --------------------------------------------------------------------------- assembly


def test_reads_metadata_from_the_additional_metadata_file(reference: Synth) -> None:
    directory = Path(reference.assembly.directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    for stack in load_stacks(directory):
        artifact = manifest["artifacts"][stack.name]
        assert "additionalMetadataFile" in artifact
        inline = [e for es in artifact.get("metadata", {}).values() for e in es]
        assert PROFILE_METADATA not in {e["type"] for e in inline}
        if stack.name.endswith("-CrossRegion"):  # paths to other Regions' models: no profile
            assert stack.metadata_of(PROFILE_METADATA) == []
        else:
            ((_, data),) = stack.metadata_of(PROFILE_METADATA)
            assert data["sourceRegion"] == stack.region
        assert stack.bootstrap_parameter == "/cdk-bootstrap/hnb659fds/version"
        assert stack.required_bootstrap_version == 6
        code = {
            r["Properties"]["Code"]["S3Key"]
            for r in stack.of_type("AWS::Lambda::Function").values()
        }
        assert code <= {key for _, key in stack.asset_objects}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", "plain"),
        (
            {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, ".aoss"]]},
            "com.amazonaws.us-east-1.aoss",
        ),
        (
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::b-${AWS::AccountId}"},
            "arn:aws:s3:::b-111111111111",
        ),
        ({"Fn::Sub": ["x-${Name}", {"Name": "y"}]}, "x-y"),
        ({"Fn::Join": ["", ["a", {"Fn::GetAtt": ["Endpoint", "EndpointName"]}]]}, None),
        ({"Fn::Sub": "${Unknown}"}, None),
        ({"Ref": "SomeParameter"}, None),
    ],
)
def test_literal(value: Any, expected: str | None) -> None:
    assert sample_stack().literal(value) == expected


def test_physical_ids_of_the_sample_are_complete() -> None:
    """The verify stubs describe every resource of the sample template."""
    assert set(PHYSICAL) == set(sample_stack().resources)


def test_permission_markdown_lists_every_call() -> None:
    table = Permissions(
        "preflight",
        [
            Permission("sts", "GetCallerIdentity", "", why="who"),
            Permission("s3", "HeadObject", "s3:GetObject", why="x"),
        ],
    ).markdown()
    assert table.splitlines()[2:] == [
        "| none needed | `sts` `GetCallerIdentity` | who |",
        "| `s3:GetObject` | `s3` `HeadObject` | x |",
    ]


# --------------------------------------------------------------------------- the reference app


class _Plausible:
    """A client that answers every call with a plausible shape (not a Stubber: the point is
    that no check trips over the reference app's real templates, whatever the verdicts)."""

    def __init__(self, region: str) -> None:
        zones = [f"{region}{z}" for z in "abc"]
        body = json.dumps({"answer": "a", "sources": [{"id": "1"}]})
        self.answers: dict[str, Any] = {
            "get_caller_identity": {"Account": "111111111111"},
            "describe_stacks": {"Stacks": [{"StackStatus": "UPDATE_COMPLETE"}]},
            "get_parameter": {"Parameter": {"Value": "27"}},
            "list_service_quotas": {
                "Quotas": [{"QuotaName": "ml.g5.xlarge for endpoint usage", "Value": 12.0}]
            },
            "describe_availability_zones": {
                "AvailabilityZones": [{"ZoneName": z, "ZoneId": z} for z in zones]
            },
            "describe_vpc_endpoint_services": {"ServiceDetails": [{"AvailabilityZones": zones}]},
            "get_inference_profile": {"models": []},
            "get_foundation_model": {"modelDetails": {"inferenceTypesSupported": ["ON_DEMAND"]}},
            "describe_endpoint": {
                "EndpointStatus": "InService",
                "ProductionVariants": [{"VariantName": "AllTraffic", "CurrentInstanceCount": 3}],
            },
            "describe_subnets": {"Subnets": [{"AvailabilityZone": zones[0]}]},
            "get_function_configuration": {"State": "Active", "VpcConfig": {"SubnetIds": []}},
            "invoke": {
                "StatusCode": 200,
                "Payload": json.dumps({"statusCode": 200, "body": body}).encode(),
            },
            "batch_get_collection": {
                "collectionDetails": [{"status": "ACTIVE", "standbyReplicas": "ENABLED"}]
            },
        }
        self.resources: dict[str, list[dict[str, str]]] = {}
        """Per stack name (a Region holds its regional and its -CrossRegion stack)."""

    def __getattr__(self, method: str) -> Any:
        if method == "list_stack_resources":
            return lambda **params: {
                "StackResourceSummaries": self.resources.get(params.get("StackName", ""), [])
            }
        return lambda **params: self.answers.get(method, {})


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_check_reads_the_reference_app(command: str, reference: Synth) -> None:
    """Both commands run every check over the reference app's real templates without
    stopping on an unexpected error (the verdicts come from canned answers)."""
    stacks = load_stacks(reference.assembly.directory)
    clients: dict[str, _Plausible] = {}

    def client_for(service: str, region: str) -> _Plausible:
        if region not in clients:
            clients[region] = _Plausible(region)
            clients[region].resources = {
                stack.name: [
                    {"LogicalResourceId": k, "PhysicalResourceId": k, "ResourceType": r["Type"]}
                    for k, r in stack.resources.items()
                ]
                for stack in stacks
                if stack.region == region
            }
        return clients[region]

    module = COMMANDS[command]
    connector = Connector(client_for, module.PERMISSIONS, sleep=lambda s: None)
    registry = module.PREFLIGHT if command == "preflight" else module.VERIFY
    results = account_module.run_checks(registry, stacks, connector, caller_account="111111111111")
    assert [r.finding.detail for r in results if "unexpected error" in r.finding.detail] == []
    for stack in stacks:
        ran = {r.check for r in results if r.region == stack.region}
        assert ran == {c.name for c in registry.checks}
