"""The generated blocks of docs/tools.md (and of README.md, where it still has them): each
tool's check list, IAM actions and minimal policy, and one example run of preflight, verify and
load-documents against stubbed AWS answers (real output of the real code).

An example comes from a clean run only: the generator fails, rather than record it, when a check
stops on an unexpected error, a stubbed answer is left unused, or the run prints a traceback.
``tests/tools/test_account.py`` keeps the files equal to these blocks; ``make docs`` (or ``python -m
docgen tools``) rewrites them after a change.
"""

from __future__ import annotations

import io
import json
import re
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
from botocore.response import StreamingBody
from botocore.stub import Stubber

from ha_inference.functions.retrieval import NO_PASSAGES_ANSWER
from ha_inference.tools import load_documents, preflight, verify
from ha_inference.tools._account import UNEXPECTED_ERROR, Permissions, checks_markdown
from tests.support import preflight_answers as p
from tests.support import verify_answers as v
from tests.support.stubs import NOW, PHYSICAL, STACK, Stubs, sample_stack, write_assembly

ROOT = Path(__file__).resolve().parent.parent
TOOLS_DOC = ROOT / "docs" / "tools.md"
FILES = (TOOLS_DOC, ROOT / "README.md")
"""Where generated blocks live: docs/tools.md holds every one, README.md what it still has."""

BLOCK = re.compile(
    r"<!-- BEGIN generated: (?P<name>[\w -]+) -->\n(?P<body>(?:(?!<!-- BEGIN).)*?)"
    r"<!-- END generated -->",
    re.DOTALL,
)


class ExampleError(RuntimeError):
    """An example run that is not fit to show: it hit an error the example did not intend."""


def preflight_example() -> tuple[int, str, str]:
    """One Region where the quota is short, the model bucket is in another Region, the serving
    image is pinned by tag only, the collection name is taken and reading one policy is
    denied."""
    stubs = Stubs()
    stubs.identity()
    p.toolkit(stubs)
    p.bootstrap_version(stubs, "27")
    p.quotas(stubs, 4)
    p.zones(stubs)
    p.service(stubs, "com.amazonaws.us-east-1.bedrock-runtime")
    p.service(stubs, "com.amazonaws.us-east-1.aoss")
    p.profile(stubs)
    p.foundation_model(stubs)
    p.all_active(stubs)
    p.bucket(stubs, "us-west-2")
    p.image_answer(stubs, p.DIGEST_A)
    stubs("s3").add_response("get_bucket_location", {}, p.IMPORT_BUCKET)
    p.import_listing(stubs, ("config.json", "tokenizer.json", "model-00001.safetensors"))
    p.collections(stubs, [{"name": "vectors", "id": "h4x9k2", "status": "ACTIVE"}])
    stubs("opensearchserverless").add_client_error(
        "get_security_policy", "ResourceNotFoundException", http_status_code=404
    )
    stubs.error("opensearchserverless", "get_access_policy", "AccessDeniedException", status=403)
    p.endpoint_name(stubs)
    stubs.no_stack()
    return _run(preflight.main, stubs, preflight.PERMISSIONS)


def verify_example() -> tuple[int, str, str]:
    """The same stack right after its first deploy: everything serves, no documents yet."""
    stubs = Stubs()
    stubs.identity()
    stubs.stack(PHYSICAL)
    v.target_health(stubs)
    v.target_interfaces(stubs)
    v.endpoint(stubs)
    v.vpc_endpoint(stubs)
    v.aoss_endpoint(stubs)
    v.collection(stubs)
    v.function(stubs)
    v.answer(stubs, v.proxy(200, {"answer": NO_PASSAGES_ANSWER, "sources": []}))
    return _run(verify.main, stubs, verify.PERMISSIONS)


def _run(main: Callable[..., int], stubs: Stubs, permissions: Permissions) -> tuple[int, str, str]:
    with tempfile.TemporaryDirectory() as directory:
        assembly = write_assembly(Path(directory) / "cdk.out", [sample_stack()])
        out, err = io.StringIO(), io.StringIO()
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        try:
            code = main([str(assembly)], connector=stubs.connector(permissions))
        finally:
            sys.stdout, sys.stderr = saved
    _clean(permissions.command, out.getvalue(), err.getvalue())
    try:
        stubs.assert_done()
    except AssertionError as unused:
        raise ExampleError(
            f"{permissions.command} example: an answer was not asked for: {unused}"
        ) from None
    return code, out.getvalue(), err.getvalue()


def _clean(command: str, out: str, err: str) -> None:
    for text in (out, err):
        if UNEXPECTED_ERROR in text or "Traceback" in text:
            raise ExampleError(
                f"{command} example: the run hit an error it did not intend (a call without a "
                f"stubbed answer?); fix the example, never record it:\n{out}{err}"
            )


# --------------------------------------------------------------------------- load-documents

LOAD_REGIONS = ("us-east-1", "us-west-2")
DOCUMENTS = {
    "faq.md": "# Returns\n\nItems can be returned within 30 days.\n\n"
    + "Refunds go to the original payment method. " * 30,
    "policies/shipping.txt": "Orders ship within two business days.\n",
}


class _Session:
    """A boto3 session whose clients answer from stubs, one per service and Region."""

    def __init__(self) -> None:
        self.stubbers: dict[tuple[str, str], Stubber] = {}

    def stub(self, service: str, region: str) -> Stubber:
        if (service, region) not in self.stubbers:
            client = boto3.Session(
                aws_access_key_id="AKIDEXAMPLE",
                aws_secret_access_key="example",
                region_name=region,
            ).client(service, region_name=region)
            self.stubbers[service, region] = Stubber(client)
            self.stubbers[service, region].activate()
        return self.stubbers[service, region]

    def client(self, service: str, region_name: str, config: Any = None) -> Any:
        return self.stub(service, region_name).client

    def get_credentials(self) -> object:
        return object()


def load_documents_example() -> tuple[int, str, str]:
    """Two documents into the two Regions of a deployed app: everything indexed."""
    session = _Session()
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory) / "documents"
        for name, text in DOCUMENTS.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
        _, passages = load_documents.read_passages(folder)
        stacks = []
        for region in LOAD_REGIONS:
            name = STACK.replace("us-east-1", region)
            function = f"{name}-Ingestion-1"
            stacks.append(
                replace(
                    sample_stack(name=name, region=region),
                    template={"Outputs": {load_documents.OUTPUT_KEY: {"Value": "x"}}},
                )
            )
            _described(session, region, name, function)
            _invoked(session, region, function, passages)
        assembly = write_assembly(Path(directory) / "cdk.out", stacks)
        out, err = io.StringIO(), io.StringIO()
        code = load_documents.main(
            [str(folder), "--assembly", str(assembly)],
            session=session,
            out=out,
            err=err,
            sleep=lambda _: None,
        )
    _clean("load-documents", out.getvalue(), err.getvalue())
    for (service, region), stubber in session.stubbers.items():
        try:
            stubber.assert_no_pending_responses()
        except AssertionError as unused:
            raise ExampleError(
                f"load-documents example: an answer was not asked for: {service} in {region}: "
                f"{unused}"
            ) from None
    return code, out.getvalue(), err.getvalue()


def _described(session: _Session, region: str, name: str, function: str) -> None:
    outputs = [{"OutputKey": load_documents.OUTPUT_KEY, "OutputValue": function}]
    session.stub("cloudformation", region).add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": name,
                    "CreationTime": NOW,
                    "StackStatus": "UPDATE_COMPLETE",
                    "Outputs": outputs,
                }
            ]
        },
        {"StackName": name},
    )


def _invoked(
    session: _Session, region: str, function: str, passages: Sequence[load_documents.Passage]
) -> None:
    size = load_documents.BATCH_SIZE
    for start in range(0, len(passages), size):
        batch = passages[start : start + size]
        answer = json.dumps(
            {"indexed": len(batch), "failed": [], "retryable": False, "requestId": "r"}
        ).encode()
        session.stub("lambda", region).add_response(
            "invoke",
            {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(answer), len(answer))},
            {
                "FunctionName": function,
                "InvocationType": "RequestResponse",
                "Payload": json.dumps({"documents": [q.document() for q in batch]}).encode(),
            },
        )


# --------------------------------------------------------------------------- blocks


def _example(command: str, argv: str, result: tuple[int, str, str]) -> str:
    code, out, err = result
    return f"```text\n$ ha-inference {command} {argv}\n{err}{out}$ echo $?\n{code}\n```"


def _policy(permissions: Permissions) -> str:
    return "```json\n" + json.dumps(permissions.policy(), indent=2) + "\n```"


def blocks() -> dict[str, str]:
    """Every generated block, by name."""
    return {
        "preflight checks": checks_markdown(preflight.PREFLIGHT),
        "preflight example": _example("preflight", "cdk.out", preflight_example()),
        "verify checks": checks_markdown(verify.VERIFY),
        "verify example": _example("verify", "cdk.out", verify_example()),
        "preflight actions": preflight.PERMISSIONS.markdown(),
        "preflight policy": _policy(preflight.PERMISSIONS),
        "verify actions": verify.PERMISSIONS.markdown(),
        "verify policy": _policy(verify.PERMISSIONS),
        "load-documents example": _example("load-documents", "documents", load_documents_example()),
        "load-documents actions": load_documents.PERMISSIONS.markdown(),
        "load-documents policy": _policy(load_documents.PERMISSIONS),
    }


def file_blocks(text: str) -> dict[str, str]:
    return {m["name"]: m["body"].rstrip("\n") for m in BLOCK.finditer(text)}


def write() -> list[Path]:
    """Rewrites the generated blocks of :data:`FILES`; returns the files written."""
    generated = blocks()
    for path in FILES:
        text = path.read_text()
        updated = BLOCK.sub(
            lambda m: (
                f"<!-- BEGIN generated: {m['name']} -->\n{generated[m['name']]}\n"
                "<!-- END generated -->"
            ),
            text,
        )
        path.write_text(updated)
    return list(FILES)
