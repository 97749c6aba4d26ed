"""Loads a folder of documents into the vector index of every Region of a deployed app.

    ha-inference load-documents <folder> [--assembly cdk.out] [--stack NAME ...] [--dry-run]

Reads every ``*.txt`` and ``*.md`` file under ``<folder>`` (UTF-8), splits each into passages of
about :data:`PASSAGE_CHARS` characters on paragraph boundaries (a longer paragraph is split
between words; no passage is empty), gives each the id ``<relative path>#<n>`` and the metadata
``{"source": <relative path>}``, and sends them, :data:`BATCH_SIZE` at a time, to the ingestion
function of every stack of the cloud assembly whose template declares an output named
:data:`OUTPUT_KEY` (the function's name, read with ``cloudformation:DescribeStacks`` in the
stack's Region). Every Region gets every passage: each regional stack has its own collection.

Prints one line per Region: documents, passages, indexed, failed (and up to five failure
reasons). Exit status: 0 when every passage is indexed in every Region, 1 when any failed, 2
when it cannot run (no assembly, no documents, no credentials, nothing deployed), with a
message that says what to do, never a traceback.

Retries: Lambda throttling and service errors, and connection failures before a request is
sent; a batch whose result says some passages failed transiently is sent again (only those
passages) up to :data:`ROUNDS` times. An invocation that fails or times out is not sent again:
its passages may be indexed already, and the collection has no upsert.

``--dry-run`` reads the folder and the assembly and prints what would be loaded where, without
calling AWS.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from ha_inference.tools._account import Permission, Permissions
from ha_inference.tools.assembly import StackArtifact, load_stacks

try:  # boto3 comes with the development install; the library itself does not need it
    import boto3
    from botocore.config import Config
    from botocore.exceptions import (
        ClientError,
        CredentialRetrievalError,
        NoCredentialsError,
        PartialCredentialsError,
        ProfileNotFound,
        SSOError,
        TokenRetrievalError,
    )
    from botocore.exceptions import ConnectionError as NotSentError

    from ha_inference.functions.resilience import (
        Backoff,
        Deadline,
        RetriesExhaustedError,
        call_with_retries,
        error_code,
        is_retryable,
        summarize,
    )
except ImportError as missing:  # pragma: no cover - exercised only without boto3
    _MISSING: ImportError | None = missing
else:
    _MISSING = None
    CREDENTIAL_ERRORS = (
        NoCredentialsError,
        PartialCredentialsError,
        CredentialRetrievalError,
        TokenRetrievalError,
        SSOError,
    )

PERMISSIONS = Permissions(
    "load-documents",
    [
        Permission(
            "cloudformation",
            "DescribeStacks",
            "cloudformation:DescribeStacks",
            why="the ingestion function's name, from each stack's outputs",
        ),
        Permission(
            "lambda",
            "Invoke",
            "lambda:InvokeFunction",
            why="each batch of passages to the ingestion function",
        ),
    ],
)
"""The calls the loader makes, for ``docs/tools.md`` and a minimal policy; describing the
stacks and invoking their ingestion functions can be narrowed to those ARNs."""

OUTPUT_KEY = "IngestionFunctionName"
"""The stack output whose value is the ingestion function's name."""

PASSAGE_CHARS = 1000
"""The size passages are packed up to (paragraphs are not split unless longer)."""

BATCH_SIZE = 25
"""Passages per invocation of the ingestion function."""

ROUNDS = 4
"""Times a batch's transiently failed passages are sent (the first time included)."""

PATTERNS = ("*.txt", "*.md")

EXIT_OK, EXIT_FAILED, EXIT_CANNOT_RUN = 0, 1, 2

INVOKE_RETRY_CODES = frozenset(
    {"EC2ThrottledException", "ResourceNotReadyException", "ResourceConflictException"}
)
"""Lambda Invoke errors after which the function has not run, besides throttling and 5xx
(``resilience.RETRYABLE_CODES``): safe to send again."""


class CannotRunError(Exception):
    """The loader cannot run at all; the message says what to set or do."""


@dataclass(frozen=True)
class Passage:
    text: str
    id: str
    source: str

    def document(self) -> dict[str, Any]:
        return {"text": self.text, "id": self.id, "metadata": {"source": self.source}}


@dataclass
class Report:
    """What happened in one Region."""

    region: str
    stack: str
    documents: int
    passages: int
    indexed: int = 0
    errors: list[str] = field(default_factory=list)
    problem: str = ""

    @property
    def failed(self) -> int:
        return self.passages - self.indexed

    def line(self) -> str:
        head = f"{self.region} ({self.stack}): "
        if self.problem:
            return f"{head}not loaded: {self.problem}"
        return (
            f"{head}{self.documents} documents, {self.passages} passages, "
            f"{self.indexed} indexed, {self.failed} failed"
        )


# --- passages --------------------------------------------------------------------------------


def split_passages(text: str, limit: int = PASSAGE_CHARS) -> list[str]:
    """``text`` in passages of at most ``limit`` characters, packed from whole paragraphs; a
    paragraph longer than ``limit`` is cut between words (a word longer than ``limit`` is cut
    where it must). No passage is empty or only whitespace."""
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.strip():
            pieces.extend(_cut(paragraph.strip(), limit))
    passages: list[str] = []
    for piece in pieces:
        if passages and len(passages[-1]) + 2 + len(piece) <= limit:
            passages[-1] = f"{passages[-1]}\n\n{piece}"
        else:
            passages.append(piece)
    return passages


def _cut(paragraph: str, limit: int) -> Iterator[str]:
    """``paragraph`` as it is when it fits, else in pieces of at most ``limit`` characters cut
    at whitespace."""
    if len(paragraph) <= limit:
        yield paragraph
        return
    current = ""
    for whole in paragraph.split():
        word = whole
        while len(word) > limit:
            if current:
                yield current
                current = ""
            yield word[:limit]
            word = word[limit:]
        if not word:
            continue
        if not current:
            current = word
        elif len(current) + 1 + len(word) <= limit:
            current = f"{current} {word}"
        else:
            yield current
            current = word
    if current:
        yield current


def read_passages(folder: Path) -> tuple[int, list[Passage]]:
    """The number of documents under ``folder`` and their passages, in path order."""
    if not folder.is_dir():
        raise CannotRunError(f"{folder} is not a folder; pass the folder of *.txt and *.md files")
    files = sorted({p for pattern in PATTERNS for p in folder.rglob(pattern) if p.is_file()})
    if not files:
        raise CannotRunError(f"no *.txt or *.md files under {folder}")
    passages: list[Passage] = []
    for path in files:
        source = path.relative_to(folder).as_posix()
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError) as err:
            raise CannotRunError(
                f"{path} cannot be read as UTF-8 text ({err}); fix or remove it"
            ) from None
        for n, chunk in enumerate(split_passages(text), start=1):
            passages.append(Passage(chunk, f"{source}#{n}", source))
    return len(files), passages


# --- stacks ----------------------------------------------------------------------------------


def ingestion_stacks(assembly: Path, names: Sequence[str]) -> list[StackArtifact]:
    """The stacks of ``assembly`` (only ``names``, when given) that declare :data:`OUTPUT_KEY`."""
    try:
        stacks = load_stacks(assembly)
    except FileNotFoundError as err:
        raise CannotRunError(str(err)) from None
    if names:
        known = {stack.name for stack in stacks}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CannotRunError(
                f"stack {unknown[0]} is not in the assembly {assembly} (its stacks: "
                f"{', '.join(sorted(known)) or 'none'}); check --stack"
            )
        stacks = [stack for stack in stacks if stack.name in names]
    chosen = [s for s in stacks if OUTPUT_KEY in (s.template.get("Outputs") or {})]
    if not chosen:
        raise CannotRunError(
            f"no stack in {assembly} has an output named {OUTPUT_KEY}; synthesize an app "
            "with an ingestion function ('make synth')"
        )
    return chosen


# --- AWS -------------------------------------------------------------------------------------

REFUSED_CREDENTIALS = frozenset(
    {"ExpiredToken", "ExpiredTokenException", "UnrecognizedClientException", "InvalidClientTokenId"}
)


class Loader:
    """Sends passages to the ingestion function of each stack, through ``session``'s clients."""

    def __init__(self, session: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self.backoff = Backoff(max_attempts=6, base_delay=1.0, max_delay=20.0, sleep=sleep)
        self.sleep = sleep
        self.config = Config(
            connect_timeout=10,
            read_timeout=900,  # the longest a Lambda function runs
            retries={"mode": "standard", "total_max_attempts": 1},
        )

    def load_stack(self, stack: StackArtifact, passages: Sequence[Passage], report: Report) -> None:
        """Loads ``passages`` through ``stack``'s ingestion function, recording in ``report``."""
        if stack.region.startswith("unknown"):
            report.problem = "the stack has no Region (an environment-agnostic stack)"
            return
        try:
            function = self.function_name(stack)
            client = self.session.client("lambda", region_name=stack.region, config=self.config)
            for start in range(0, len(passages), BATCH_SIZE):
                self._load_batch(client, function, passages[start : start + BATCH_SIZE], report)
        except LookupError as problem:
            report.problem = str(problem)
        except ClientError as err:
            if error_code(err) in REFUSED_CREDENTIALS:
                raise CannotRunError(
                    f"the AWS credentials were refused ({error_code(err)}); {_RENEW}"
                ) from None
            report.problem = f"AWS refused the request ({summarize(err)})"

    def function_name(self, stack: StackArtifact) -> str:
        """The value of the deployed stack's :data:`OUTPUT_KEY` output."""
        cloudformation = self.session.client(
            "cloudformation", region_name=stack.region, config=self.config
        )
        try:
            described = self._retry(lambda: cloudformation.describe_stacks(StackName=stack.name))
        except ClientError as err:
            if error_code(err) == "ValidationError" and "does not exist" in str(err):
                raise LookupError("the stack is not deployed; run 'make deploy'") from None
            raise
        for output in described["Stacks"][0].get("Outputs", []):
            if output.get("OutputKey") == OUTPUT_KEY:
                return str(output["OutputValue"])
        raise LookupError(f"the deployed stack has no {OUTPUT_KEY} output; deploy it again")

    def _load_batch(
        self, client: Any, function: str, batch: Sequence[Passage], report: Report
    ) -> None:
        pending = list(batch)
        for round_ in range(1, ROUNDS + 1):
            result = self._invoke(client, function, pending, report)
            if result is None:
                return
            report.indexed += int(result.get("indexed", 0))
            if result.get("error"):
                report.errors.append(
                    f"{pending[0].id} and the rest of its batch: {result['error']}"
                )
            again: list[Passage] = []
            for failure in result.get("failed", []):
                passage = pending[int(failure["position"])]
                if failure.get("retryable") and round_ < ROUNDS:
                    again.append(passage)
                else:
                    report.errors.append(f"{passage.id}: {failure.get('error')}")
            if not again:
                return
            self.sleep(2.0**round_)
            pending = again

    def _invoke(
        self, client: Any, function: str, batch: Sequence[Passage], report: Report
    ) -> dict[str, Any] | None:
        """The function's result, or ``None`` when the invocation failed (then reported)."""
        payload = json.dumps({"documents": [p.document() for p in batch]}).encode()
        where = f"{batch[0].id} and the rest of its batch"
        try:
            response = self._retry(
                lambda: client.invoke(
                    FunctionName=function, InvocationType="RequestResponse", Payload=payload
                )
            )
        except ClientError:
            raise
        except Exception as err:  # a lost answer: the function may have run, never resent
            report.errors.append(f"{where}: the invocation failed ({summarize(err)})")
            return None
        try:
            answer = json.loads(response["Payload"].read() or b"null")
        except ValueError:
            answer = None
        if response.get("FunctionError") or not isinstance(answer, dict):
            kind = answer.get("errorType", "error") if isinstance(answer, dict) else "no result"
            report.errors.append(f"{where}: the function failed ({kind})")
            return None
        return answer

    def _retry(self, call: Callable[[], Any]) -> Any:
        """``call()``, again after throttling or a failure to send (the call never ran)."""
        try:
            return call_with_retries(
                "AWS call",
                lambda _: call(),
                deadline=Deadline.after(3600),
                backoff=self.backoff,
                retryable=_did_not_run,
            )
        except RetriesExhaustedError as err:
            raise err.last from None


def _did_not_run(err: BaseException) -> bool:
    """Throttling and service errors of AWS APIs, and connections that never opened."""
    if isinstance(err, ClientError):
        return is_retryable(err) or error_code(err) in INVOKE_RETRY_CODES
    return isinstance(err, NotSentError)


# --- command line ----------------------------------------------------------------------------


def main(
    argv: Sequence[str] | None = None,
    *,
    session: Any = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Runs the loader; returns the exit status. ``out`` and ``err``: the streams of the moment
    (``sys.stdout``, ``sys.stderr``) unless given."""
    out = out or sys.stdout
    err = err or sys.stderr
    args = _parser().parse_args(argv)
    try:
        documents, passages = read_passages(Path(args.folder))
        stacks = ingestion_stacks(Path(args.assembly), args.stack or [])
        if args.dry_run:
            for stack in stacks:
                out.write(
                    f"{stack.region} ({stack.name}): {documents} documents, {len(passages)} "
                    "passages (dry run: nothing sent)\n"
                )
            return EXIT_OK
        reports = _load_everywhere(stacks, documents, passages, session, sleep)
    except CannotRunError as problem:
        err.write(f"load-documents: {problem}\n")
        return EXIT_CANNOT_RUN
    for report in reports:
        out.write(report.line() + "\n")
        for reason in report.errors[:5]:
            out.write(f"  {reason}\n")
    failed = any(r.problem or r.failed for r in reports)
    return EXIT_FAILED if failed else EXIT_OK


def _load_everywhere(
    stacks: Sequence[StackArtifact],
    documents: int,
    passages: Sequence[Passage],
    session: Any,
    sleep: Callable[[float], None],
) -> list[Report]:
    if _MISSING is not None:
        raise CannotRunError(
            f"boto3 is needed to load documents ({_MISSING}); pip install 'ha-inference[tools]'"
        )
    loader = Loader(session or _session(), sleep=sleep)
    reports = []
    for stack in stacks:
        report = Report(stack.region, stack.name, documents, len(passages))
        try:
            loader.load_stack(stack, passages, report)
        except CREDENTIAL_ERRORS as problem:
            raise CannotRunError(f"{_NO_CREDENTIALS} ({problem})") from None
        reports.append(report)
    return reports


_NO_CREDENTIALS = (
    "no AWS credentials found; set AWS_PROFILE (or AWS_ACCESS_KEY_ID and "
    "AWS_SECRET_ACCESS_KEY), or run 'aws sso login'"
)
_RENEW = "renew them (for example with 'aws sso login') and run again"


def _session() -> Any:
    try:
        session = boto3.session.Session()
    except ProfileNotFound as problem:
        raise CannotRunError(f"{problem}; set AWS_PROFILE to a configured profile") from None
    if session.get_credentials() is None:
        raise CannotRunError(_NO_CREDENTIALS)
    return session


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ha-inference load-documents",
        description="Load *.txt and *.md files into the vector index of every deployed Region.",
    )
    parser.add_argument("folder", help="folder of *.txt and *.md files (searched recursively)")
    parser.add_argument("--assembly", default="cdk.out", help="cloud assembly (default cdk.out)")
    parser.add_argument(
        "--stack", action="append", metavar="NAME", help="load only this stack (repeatable)"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be loaded where")
    return parser


if __name__ == "__main__":
    sys.exit(main())
