"""Loading a folder of documents into every Region: botocore Stubber for CloudFormation and
Lambda, a temporary folder and a hand-written cloud assembly."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from hypothesis import given
from hypothesis import strategies as st

from ha_inference.tools import load_documents
from ha_inference.tools.load_documents import (
    OUTPUT_KEY,
    PERMISSIONS,
    Passage,
    main,
    read_passages,
    split_passages,
)
from tests.support.collection_stub import use_fake_credentials

ROOT = Path(__file__).resolve().parents[2]
EAST, WEST = "us-east-1", "us-west-2"
STACKS = {EAST: "HaInference-us-east-1", WEST: "HaInference-us-west-2"}
FUNCTIONS = {EAST: "ingest-east", WEST: "ingest-west"}


# --- passages --------------------------------------------------------------------------------


def test_packs_whole_paragraphs_up_to_the_limit() -> None:
    text = "First paragraph.\n\nSecond one.\n \n\n\nThird, after blank lines.\n\n"
    assert split_passages(text, limit=40) == [
        "First paragraph.\n\nSecond one.",
        "Third, after blank lines.",
    ]
    assert split_passages(text) == ["First paragraph.\n\nSecond one.\n\nThird, after blank lines."]


def test_cuts_a_long_paragraph_between_words_and_a_long_word_where_it_must() -> None:
    words = " ".join(f"word{n:03}" for n in range(300))  # 2399 characters
    passages = split_passages(words, limit=1000)
    assert [len(p) for p in passages] == [999, 999, 399]
    assert " ".join(passages) == words
    assert split_passages("x" * 2500, limit=1000) == ["x" * 1000, "x" * 1000, "x" * 500]


def test_keeps_line_breaks_inside_a_paragraph_that_fits() -> None:
    assert split_passages("- one\n- two\n- three") == ["- one\n- two\n- three"]


def test_whitespace_only_text_has_no_passages() -> None:
    assert split_passages(" \n\n\t\n") == []


@given(text=st.text(alphabet=st.sampled_from("ab \n\t."), max_size=3000), limit=st.integers(5, 300))
def test_passages_are_never_empty_never_too_long_and_keep_every_word(text: str, limit: int) -> None:
    passages = split_passages(text, limit=limit)
    assert all(p.strip() and len(p) <= limit for p in passages)
    assert "".join("".join(p.split()) for p in passages) == "".join(text.split())


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.md").write_text("# Availability\n\nStandby replicas run in another AZ.\n")
    (folder / "sub" / "b.txt").write_text(" ".join(["zonal"] * 400))  # 2399 characters
    (folder / "empty.md").write_text("\n \n")
    (folder / "notes.csv").write_text("ignored")
    return folder


def test_reads_txt_and_md_files_with_relative_sources(docs: Path) -> None:
    documents, passages = read_passages(docs)
    assert documents == 3
    assert [(p.id, p.source, len(p.text)) for p in passages] == [
        ("a.md#1", "a.md", 51),
        ("sub/b.txt#1", "sub/b.txt", 995),
        ("sub/b.txt#2", "sub/b.txt", 995),
        ("sub/b.txt#3", "sub/b.txt", 407),
    ]
    assert passages[0].document() == {
        "text": "# Availability\n\nStandby replicas run in another AZ.",
        "id": "a.md#1",
        "metadata": {"source": "a.md"},
    }


# --- the assembly and AWS --------------------------------------------------------------------


def write_assembly(folder: Path, regions: dict[str, bool]) -> Path:
    """A cloud assembly with a stack per Region (with the output when ``regions[r]``) and a
    global stack without it."""
    folder.mkdir()
    artifacts: dict[str, Any] = {}
    stacks = {STACKS[r]: (r, has_output) for r, has_output in regions.items()}
    stacks["HaInference-global"] = (EAST, False)
    for name, (region, has_output) in stacks.items():
        template: dict[str, Any] = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function"}}}
        if has_output:
            template["Outputs"] = {OUTPUT_KEY: {"Value": {"Ref": "Fn"}}}
        (folder / f"{name}.template.json").write_text(json.dumps(template))
        artifacts[name] = {
            "type": "aws:cloudformation:stack",
            "environment": f"aws://111111111111/{region}",
            "properties": {"templateFile": f"{name}.template.json", "stackName": name},
        }
    (folder / "manifest.json").write_text(json.dumps({"version": "48.0.0", "artifacts": artifacts}))
    return folder


@pytest.fixture
def assembly(tmp_path: Path) -> Path:
    return write_assembly(tmp_path / "cdk.out", {EAST: True, WEST: True})


@dataclass
class FakeSession:
    """A boto3 session whose clients are stubbed, one per service and Region."""

    stubbers: dict[tuple[str, str], Stubber] = field(default_factory=dict)
    configs: list[Any] = field(default_factory=list)
    calls: list[tuple[str, str]] = field(default_factory=list)
    """(boto3 service name, API operation) of every call the loader made."""

    def stub(self, service: str, region: str) -> Stubber:
        if (service, region) not in self.stubbers:
            client = boto3.client(service, region_name=region)
            client.meta.events.register(
                "before-parameter-build",
                lambda model, **_: self.calls.append((service, model.name)),
            )
            self.stubbers[service, region] = Stubber(client)
            self.stubbers[service, region].activate()
        return self.stubbers[service, region]

    def client(self, service: str, region_name: str, config: Any = None) -> Any:
        self.configs.append(config)
        return self.stub(service, region_name).client

    def described(self, region: str, outputs: bool = True) -> None:
        stack = {
            "StackName": STACKS[region],
            "CreationTime": "2026-01-01T00:00:00Z",
            "StackStatus": "CREATE_COMPLETE",
        }
        if outputs:
            stack["Outputs"] = [
                {"OutputKey": "Other", "OutputValue": "x"},
                {"OutputKey": OUTPUT_KEY, "OutputValue": FUNCTIONS[region]},
            ]
        self.stub("cloudformation", region).add_response(
            "describe_stacks", {"Stacks": [stack]}, {"StackName": STACKS[region]}
        )

    def invoked(
        self,
        region: str,
        passages: list[Passage],
        result: Any,
        *,
        function_error: str | None = None,
    ) -> None:
        raw = json.dumps(result).encode()
        response: dict[str, Any] = {
            "StatusCode": 200,
            "Payload": StreamingBody(io.BytesIO(raw), len(raw)),
        }
        if function_error:
            response["FunctionError"] = function_error
        payload = json.dumps({"documents": [p.document() for p in passages]}).encode()
        self.stub("lambda", region).add_response(
            "invoke",
            response,
            {
                "FunctionName": FUNCTIONS[region],
                "InvocationType": "RequestResponse",
                "Payload": payload,
            },
        )

    def error(
        self,
        service: str,
        region: str,
        operation: str,
        *,
        code: str,
        status: int,
        message: str = "",
    ) -> None:
        self.stub(service, region).add_client_error(
            operation,
            service_error_code=code,
            service_message=message or code,
            http_status_code=status,
        )

    def get_credentials(self) -> object:
        return object()

    def assert_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()


def indexed(count: int, failed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    failed = failed or []
    return {
        "indexed": count,
        "failed": failed,
        "retryable": any(f["retryable"] for f in failed),
        "requestId": "r",
    }


@dataclass
class Run:
    status: int
    out: str
    err: str
    sleeps: list[float]


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[FakeSession]:
    use_fake_credentials(monkeypatch, tmp_path)
    fake = FakeSession()
    yield fake
    fake.assert_done()


def run(*argv: str, session: Any = None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    sleeps: list[float] = []
    status = main(list(argv), session=session, out=out, err=err, sleep=sleeps.append)
    return Run(status, out.getvalue(), err.getvalue(), sleeps)


def test_loads_every_region_in_batches(
    docs: Path, assembly: Path, session: FakeSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(load_documents, "BATCH_SIZE", 3)
    _, passages = read_passages(docs)
    for region in (EAST, WEST):
        session.described(region)
        session.invoked(region, passages[:3], indexed(3))
        session.invoked(region, passages[3:], indexed(1))

    result = run(str(docs), "--assembly", str(assembly), session=session)

    assert result.status == 0, result.err
    assert result.out.splitlines() == [
        "us-east-1 (HaInference-us-east-1): 3 documents, 4 passages, 4 indexed, 0 failed",
        "us-west-2 (HaInference-us-west-2): 3 documents, 4 passages, 4 indexed, 0 failed",
    ]
    assert result.sleeps == []
    for config in session.configs:
        assert config.read_timeout == 900 and config.retries == {
            "mode": "standard",
            "total_max_attempts": 1,
        }
    # docs/tools.md lists these calls and their IAM actions from PERMISSIONS.
    assert set(session.calls) == PERMISSIONS.calls


def test_retries_throttling(docs: Path, assembly: Path, session: FakeSession) -> None:
    _, passages = read_passages(docs)
    session.error(
        "cloudformation",
        EAST,
        "describe_stacks",
        code="Throttling",
        status=400,
        message="Rate exceeded",
    )
    session.described(EAST)
    session.error("lambda", EAST, "invoke", code="TooManyRequestsException", status=429)
    session.invoked(EAST, passages, indexed(4))

    result = run(str(docs), "--assembly", str(assembly), "--stack", STACKS[EAST], session=session)

    assert result.status == 0, result.out + result.err
    assert len(result.sleeps) == 2


def test_sends_transiently_failed_passages_again(
    docs: Path, assembly: Path, session: FakeSession
) -> None:
    _, passages = read_passages(docs)
    session.described(EAST)
    busy = {
        "position": 2,
        "id": passages[2].id,
        "error": "the embedding model is unavailable (ThrottlingException)",
        "retryable": True,
    }
    session.invoked(EAST, passages, indexed(3, [busy]))
    session.invoked(EAST, [passages[2]], indexed(1))

    result = run(str(docs), "--assembly", str(assembly), "--stack", STACKS[EAST], session=session)

    assert result.status == 0
    assert result.out.splitlines() == [
        "us-east-1 (HaInference-us-east-1): 3 documents, 4 passages, 4 indexed, 0 failed"
    ]
    assert result.sleeps == [2.0]


def test_exits_1_when_a_passage_fails(docs: Path, assembly: Path, session: FakeSession) -> None:
    _, passages = read_passages(docs)
    session.described(EAST)
    refused = {
        "position": 0,
        "id": "a.md#1",
        "error": "the embedding model refused the text (ValidationException)",
        "retryable": False,
    }
    session.invoked(EAST, passages, indexed(3, [refused]))

    result = run(str(docs), "--assembly", str(assembly), "--stack", STACKS[EAST], session=session)

    assert result.status == 1
    assert result.out.splitlines() == [
        "us-east-1 (HaInference-us-east-1): 3 documents, 4 passages, 3 indexed, 1 failed",
        "  a.md#1: the embedding model refused the text (ValidationException)",
    ]


def test_never_resends_a_batch_whose_function_failed(
    docs: Path, assembly: Path, session: FakeSession
) -> None:
    _, passages = read_passages(docs)
    session.described(EAST)
    session.invoked(
        EAST,
        passages,
        {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out"},
        function_error="Unhandled",
    )

    result = run(str(docs), "--assembly", str(assembly), "--stack", STACKS[EAST], session=session)

    assert result.status == 1
    assert "4 passages, 0 indexed, 4 failed" in result.out
    assert "a.md#1 and the rest of its batch: the function failed (Sandbox.Timedout)" in result.out


def test_a_region_that_is_not_deployed_fails_but_the_others_load(
    docs: Path, assembly: Path, session: FakeSession
) -> None:
    _, passages = read_passages(docs)
    session.error(
        "cloudformation",
        EAST,
        "describe_stacks",
        code="ValidationError",
        status=400,
        message=f"Stack with id {STACKS[EAST]} does not exist",
    )
    session.described(WEST)
    session.invoked(WEST, passages, indexed(4))

    result = run(str(docs), "--assembly", str(assembly), session=session)

    assert result.status == 1
    assert result.out.splitlines() == [
        "us-east-1 (HaInference-us-east-1): not loaded: the stack is not deployed; run 'make deploy'",
        "us-west-2 (HaInference-us-west-2): 3 documents, 4 passages, 4 indexed, 0 failed",
    ]


def test_a_deployed_stack_without_the_output_is_reported(
    docs: Path, assembly: Path, session: FakeSession
) -> None:
    session.described(EAST, outputs=False)
    result = run(str(docs), "--assembly", str(assembly), "--stack", STACKS[EAST], session=session)
    assert result.status == 1
    assert (
        f"not loaded: the deployed stack has no {OUTPUT_KEY} output; deploy it again" in result.out
    )


def test_access_denied_is_reported_per_region(
    docs: Path, assembly: Path, session: FakeSession
) -> None:
    session.error(
        "cloudformation",
        EAST,
        "describe_stacks",
        code="AccessDenied",
        status=403,
        message="User: arn:aws:iam::123456789012:user/x is not authorized",
    )
    result = run(str(docs), "--assembly", str(assembly), "--stack", STACKS[EAST], session=session)
    assert result.status == 1
    assert "not loaded: AWS refused the request (AccessDenied)" in result.out
    assert "arn:" not in result.out


def test_expired_credentials_cannot_run(docs: Path, assembly: Path, session: FakeSession) -> None:
    session.error(
        "cloudformation",
        EAST,
        "describe_stacks",
        code="ExpiredToken",
        status=403,
        message="The security token included in the request is expired",
    )
    result = run(str(docs), "--assembly", str(assembly), "--stack", STACKS[EAST], session=session)
    assert result.status == 2
    assert result.err == (
        "load-documents: the AWS credentials were refused (ExpiredToken); renew them (for example "
        "with 'aws sso login') and run again\n"
    )


def test_dry_run_calls_nothing(docs: Path, assembly: Path) -> None:
    result = run(str(docs), "--assembly", str(assembly), "--dry-run")
    assert result.status == 0
    assert result.out.splitlines() == [
        "us-east-1 (HaInference-us-east-1): 3 documents, 4 passages (dry run: nothing sent)",
        "us-west-2 (HaInference-us-west-2): 3 documents, 4 passages (dry run: nothing sent)",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["missing-folder"],
            r"missing-folder is not a folder; pass the folder of \*.txt and \*.md files",
        ),
        (["{empty}"], r"no \*.txt or \*.md files under "),
        (
            ["{docs}", "--assembly", "nowhere"],
            r"nowhere is not a cloud assembly \(no manifest.json\); synthesize your app first",
        ),
        (
            ["{docs}", "--stack", "Nope"],
            r"stack Nope is not in the assembly .* \(its stacks: HaInference-global, HaInference-us-east-1, HaInference-us-west-2\); check --stack",
        ),
        (
            ["{docs}", "--stack", "HaInference-global"],
            rf"no stack in .* has an output named {OUTPUT_KEY}",
        ),
    ],
)
def test_exits_2_with_a_clear_message_when_it_cannot_run(
    docs: Path, assembly: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "empty").mkdir()
    argv = [a.format(docs=docs, empty=tmp_path / "empty") for a in args]
    if "--assembly" not in argv:
        argv += ["--assembly", str(assembly)]
    result = run(*argv)
    assert result.status == 2
    assert result.err.startswith("load-documents: ")
    assert re.search(message, result.err), result.err
    assert result.out == ""


def test_exits_2_without_credentials(
    docs: Path, assembly: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    result = run(str(docs), "--assembly", str(assembly))
    assert result.status == 2
    assert result.err == (
        "load-documents: no AWS credentials found; set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY), or run 'aws sso login'\n"
    )


def test_runs_as_a_command_without_a_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ha_inference.tools",
            "load-documents",
            str(tmp_path),
            "--assembly",
            str(tmp_path / "cdk.out"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == f"load-documents: no *.txt or *.md files under {tmp_path}\n"
