"""What ``preflight`` and ``verify`` share: calls to AWS, results, rendering, the command line.

* :class:`Permissions` declares every API call a command may make and the IAM action each
  needs; :class:`Aws` refuses any other call, so the README's policy (generated from the same
  table) always matches the code.
* :meth:`Aws.call` retries throttling and transient errors a bounded number of times, then
  raises :class:`CouldNotCheckError`; access denied raises it at once, naming the missing action.
  A check turns it into a "could not check" result: never a pass.
* :class:`Registry` holds a command's checks (one function each, taking a :class:`Target`, the
  stacks of one Region, and the :class:`Aws` of that Region, and yielding :class:`Finding` s).
* :func:`command_line` is the shared entry point: exit 0 when every check passes (warnings
  allowed), 1 when one fails or could not be checked, 2 when the command cannot run.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import re
import shutil
import sys
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TextIO

try:  # boto3 is not a dependency of the library; without it the commands say how to install it
    import boto3
    from botocore import xform_name
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.retries.standard import (
        RetryContext,
        ThrottledRetryableChecker,
        TransientRetryableChecker,
    )
except ImportError:  # pragma: no cover - exercised only without boto3
    boto3 = None

from ha_inference.tools.assembly import (
    UNKNOWN_ACCOUNT,
    UNKNOWN_REGION,
    StackArtifact,
    load_stacks,
    published_subnets,
    stack_output_key,
    subnet_zones,
)

SET_CREDENTIALS = (
    "set AWS_PROFILE to a profile in ~/.aws/config (after 'aws sso login' for SSO), or "
    "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary "
    "credentials), or run where an instance or container role is available"
)

ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthorizationError",
        "Forbidden",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "403",
    }
)
"""Error codes that mean the caller lacks a permission (EC2 says UnauthorizedOperation)."""

CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "AuthFailure",
        "InvalidToken",
        "RequestExpired",
        "SignatureDoesNotMatch",
    }
)
"""Error codes that mean the credentials themselves were rejected."""

ATTEMPTS = 4
"""Attempts per call; throttling and transient errors are retried with jittered backoff."""

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 8.0


# --------------------------------------------------------------------------- results


class Status(Enum):
    PASS = "pass"
    WARNING = "warning"
    FAIL = "fail"
    UNKNOWN = "could not check"
    NOT_APPLICABLE = "not applicable"

    @property
    def ok(self) -> bool:
        """Whether this status lets the command exit 0."""
        return self in (Status.PASS, Status.WARNING, Status.NOT_APPLICABLE)


@dataclass(frozen=True)
class Finding:
    """What one check found about one subject (an endpoint, a name, an instance type...)."""

    status: Status
    subject: str
    detail: str
    fix: str = ""
    stack: str = ""


def passed(subject: str, detail: str, *, stack: str = "") -> Finding:
    return Finding(Status.PASS, subject, detail, stack=stack)


def warning(subject: str, detail: str, fix: str, *, stack: str = "") -> Finding:
    return Finding(Status.WARNING, subject, detail, fix, stack)


def failed(subject: str, detail: str, fix: str, *, stack: str = "") -> Finding:
    return Finding(Status.FAIL, subject, detail, fix, stack)


def unknown(subject: str, detail: str, fix: str, *, stack: str = "") -> Finding:
    return Finding(Status.UNKNOWN, subject, detail, fix, stack)


class CouldNotCheckError(Exception):
    """A call that did not answer the question: access denied, still throttled, an error."""

    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix

    def finding(self, subject: str, *, stack: str = "") -> Finding:
        return unknown(subject, self.detail, self.fix, stack=stack)


def guarded(
    subject: str,
    stack: str,
    find: Callable[..., Finding | Iterable[Finding]],
    *args: Any,
    **kwargs: Any,
) -> list[Finding]:
    """What ``find(*args, **kwargs)`` finds, or one "could not check" finding for ``subject``
    when one of its calls does not answer (the check's other subjects still get checked)."""
    try:
        found = find(*args, **kwargs)
        return [found] if isinstance(found, Finding) else list(found)
    except CouldNotCheckError as err:
        return [err.finding(subject, stack=stack)]


class OrganizationDeniedError(CouldNotCheckError):
    """Access denied by an explicit deny in an AWS Organizations policy (``policy``: ``service
    control policy`` or ``resource control policy``), as the error's message says."""

    def __init__(self, detail: str, fix: str, policy: str) -> None:
        super().__init__(detail, fix)
        self.policy = policy


ORGANIZATION_DENIAL = re.compile(
    r"explicit deny in an? (?P<policy>service control policy|resource control policy)", re.I
)
"""How an access-denied message names an AWS Organizations policy that refused the request
(https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html)."""


class CannotRunError(Exception):
    """The command cannot run at all (no assembly, no credentials): exit 2 with the message."""


@dataclass(frozen=True)
class Result:
    """A finding of one check in one Region."""

    region: str
    check: str
    finding: Finding

    @property
    def status(self) -> Status:
        return self.finding.status

    def to_json(self) -> dict[str, str]:
        f = self.finding
        return {
            "region": self.region,
            "stack": f.stack,
            "check": self.check,
            "subject": f.subject,
            "status": f.status.value,
            "detail": f.detail,
            "fix": f.fix,
        }


def exit_code(results: Iterable[Result]) -> int:
    return 0 if all(r.status.ok for r in results) else 1


# --------------------------------------------------------------------------- permissions


@dataclass(frozen=True)
class Permission:
    """One API call a command makes and the IAM action it needs (``""``: none needed)."""

    service: str
    """The boto3 client name, for example ``service-quotas``."""
    operation: str
    """The API operation, for example ``ListServiceQuotas``."""
    action: str
    resource: str = "*"
    why: str = ""


class Permissions:
    """The calls a command may make. :class:`Aws` refuses any call not declared here."""

    def __init__(self, command: str, entries: Iterable[Permission]) -> None:
        self.command = command
        self._entries = {(e.service, e.operation): e for e in entries}

    def __iter__(self) -> Iterator[Permission]:
        return iter(sorted(self._entries.values(), key=lambda e: (e.action, e.operation)))

    def of(self, service: str, operation: str) -> Permission:
        try:
            return self._entries[(service, operation)]
        except KeyError:
            raise LookupError(
                f"{self.command} calls {service} {operation}, which its Permissions table does "
                "not declare; add it (with its IAM action) so the README's policy lists it"
            ) from None

    @property
    def calls(self) -> frozenset[tuple[str, str]]:
        return frozenset(self._entries)

    def policy(self) -> dict[str, Any]:
        """The minimal identity policy: every declared action, grouped by resource."""
        by_resource: dict[str, set[str]] = defaultdict(set)
        for entry in self:
            if entry.action:
                by_resource[entry.resource].add(entry.action)
        statements = [
            {
                "Sid": f"HaInference{self.command.title()}{i}",
                "Effect": "Allow",
                "Action": sorted(actions),
                "Resource": resource,
            }
            for i, (resource, actions) in enumerate(
                sorted(by_resource.items(), key=lambda item: (item[0] != "*", item[0])), start=1
            )
        ]
        return {"Version": "2012-10-17", "Statement": statements}

    def markdown(self) -> str:
        """A Markdown table: IAM action, API call, what it is for."""
        lines = ["| IAM action | API call | Why |", "|---|---|---|"]
        for entry in self:
            action = f"`{entry.action}`" if entry.action else "none needed"
            lines.append(f"| {action} | `{entry.service}` `{entry.operation}` | {entry.why} |")
        return "\n".join(lines)


# --------------------------------------------------------------------------- calling AWS

ClientFactory = Callable[[str, str], Any]
"""(boto3 service name, Region) -> a botocore client."""


class Connector:
    """Builds one :class:`Aws` per Region over ``client_for``, with shared retry settings."""

    def __init__(
        self,
        client_for: ClientFactory,
        permissions: Permissions,
        *,
        attempts: int = ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
        default_region: str | None = None,
    ) -> None:
        self.permissions = permissions
        self.attempts = attempts
        self.sleep = sleep
        self.default_region = default_region
        self._client_for = client_for
        self._clients: dict[tuple[str, str], Any] = {}
        self._regions: dict[str, Aws] = {}

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._client_for(service, region)
        return self._clients[key]

    def aws(self, region: str) -> Aws:
        if region not in self._regions:
            self._regions[region] = Aws(region, self)
        return self._regions[region]


class Aws:
    """Declared, retried calls to AWS in one Region."""

    def __init__(self, region: str, connector: Connector) -> None:
        self.region = region
        self.connector = connector
        self._subnets: dict[str, str | None] = {}
        self._answers: dict[tuple[str, str, str], dict[str, Any] | None] = {}

    def elsewhere(self, region: str) -> Aws:
        return self.connector.aws(region)

    def call(
        self,
        service: str,
        operation: str,
        *,
        missing: Collection[str] | Callable[[str, str], bool] = (),
        **params: Any,
    ) -> dict[str, Any] | None:
        """The response of ``operation``, or ``None`` when it fails with a ``missing`` error.

        ``missing`` is a collection of error codes, or a predicate on (code, message), that
        mean "no such thing". Throttling and transient errors are retried with jittered
        exponential backoff, ``attempts`` times in all; access denied, rejected credentials,
        any other error, or retries running out raise :class:`CouldNotCheckError`.
        """
        permission = self.connector.permissions.of(service, operation)
        action = permission.action or f"{service} {operation}"
        client = self.connector.client(service, self.region)
        method = getattr(client, xform_name(operation))
        attempts = self.connector.attempts
        last = ""
        for attempt in range(1, attempts + 1):
            try:
                response: dict[str, Any] = method(**params)
                return response
            except ClientError as err:
                code, message = _code(err), _message(err)
                if _matches(missing, code, message):
                    return None
                if code in CREDENTIAL_CODES:
                    raise CouldNotCheckError(
                        f"{action}: the credentials were rejected ({code})",
                        f"renew the credentials; {SET_CREDENTIALS}",
                    ) from None
                if code in ACCESS_DENIED_CODES or (_status(err) == 403 and not _retryable(err)):
                    denial = ORGANIZATION_DENIAL.search(message)
                    if denial:
                        policy = denial["policy"].lower()
                        raise OrganizationDeniedError(
                            f"{action} in {self.region} was refused with an explicit deny in a "
                            f"{policy} of the organization ({code})",
                            f"ask the organization's administrators to allow {action} in "
                            f"{self.region}, or check this Region by hand",
                            policy,
                        ) from None
                    raise CouldNotCheckError(
                        f"access denied to {action} ({code})",
                        f"allow {action} for these credentials (policy: ha-inference "
                        f"{self.connector.permissions.command} --print-policy)",
                    ) from None
                if not _retryable(err):
                    raise CouldNotCheckError(
                        f"{action} failed: {code}: {message}",
                        "see the error; run again once it is fixed",
                    ) from None
                last = code
            except (BotoConnectionError, HTTPClientError) as err:
                last = type(err).__name__
            if attempt < attempts:
                ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (attempt - 1))
                self.connector.sleep(random.uniform(ceiling / 2, ceiling))
        raise CouldNotCheckError(
            f"{action} was still throttled or unavailable after {attempts} attempts ({last})",
            "run again later; if it persists, look for other callers using up the API rate",
        )

    def call_once(
        self,
        service: str,
        operation: str,
        *,
        missing: Collection[str] | Callable[[str, str], bool] = (),
        **params: Any,
    ) -> dict[str, Any] | None:
        """:meth:`call`, answered from memory when this Region was asked the same before (for
        look-ups that several stacks or checks share, such as ``GetFoundationModel`` of a
        model every regional stack routes to). A call that raises is not remembered."""
        key = (service, operation, json.dumps(params, sort_keys=True, default=str))
        if key not in self._answers:
            self._answers[key] = self.call(service, operation, missing=missing, **params)
        return self._answers[key]

    def pages(
        self,
        service: str,
        operation: str,
        key: str,
        *,
        token: str = "NextToken",
        **params: Any,
    ) -> list[Any]:
        """Every item under ``key`` across all pages (``token`` names the page token)."""
        items: list[Any] = []
        seen: set[str] = set()
        next_token: str | None = None
        while True:
            extra = {token: next_token} if next_token else {}
            response = self.call(service, operation, **params, **extra) or {}
            items.extend(response.get(key, []))
            next_token = response.get(token)
            if not next_token or next_token in seen:
                return items
            seen.add(next_token)

    def subnet_zone(self, subnet_id: str) -> str | None:
        """The AZ of an existing subnet, ``None`` if there is no such subnet (cached)."""
        if subnet_id not in self._subnets:
            response = self.call(
                "ec2",
                "DescribeSubnets",
                missing=("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"),
                SubnetIds=[subnet_id],
            )
            subnets = (response or {}).get("Subnets", [])
            self._subnets[subnet_id] = subnets[0].get("AvailabilityZone") if subnets else None
        return self._subnets[subnet_id]


def _code(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _message(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Message", ""))


def _status(err: Any) -> int | None:
    status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status if isinstance(status, int) else None


def _matches(missing: Collection[str] | Callable[[str, str], bool], code: str, msg: str) -> bool:
    return missing(code, msg) if callable(missing) else code in missing


def _retryable(err: Any) -> bool:
    """Throttling or transient, by botocore's own standard-mode rules (plus HTTP 429 and 5xx)."""
    context = RetryContext(attempt_number=1, parsed_response=err.response)
    return bool(
        ThrottledRetryableChecker().is_retryable(context)
        or TransientRetryableChecker().is_retryable(context)
        or _status(err) in (429, 500, 502, 503, 504)
    )


def stack_missing(code: str, message: str) -> bool:
    """CloudFormation's answer for a stack that does not exist."""
    return code == "ValidationError" and "does not exist" in message


def real_connector(permissions: Permissions) -> Connector:
    """A connector over the caller's default boto3 session; raises :class:`CannotRunError` when
    boto3 is missing or no credentials are configured."""
    if boto3 is None:
        raise CannotRunError(
            "boto3 is not installed; install it with: pip install 'ha-inference[tools]' "
            "(make setup does)"
        )
    try:
        session = boto3.Session()
        credentials = session.get_credentials()
    except BotoCoreError as err:
        raise CannotRunError(
            f"cannot read the AWS configuration ({err}); {SET_CREDENTIALS}"
        ) from None
    if credentials is None:
        raise CannotRunError(f"no AWS credentials found; {SET_CREDENTIALS}")

    def client_for(service: str, region: str) -> Any:
        # One attempt per botocore call: Aws.call does the retrying, so attempts never multiply.
        return session.client(
            service,
            region_name=region,
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=10,
                # A Lambda function may run for 15 minutes; everything else answers in seconds.
                read_timeout=910 if service == "lambda" else 60,
            ),
        )

    return Connector(client_for, permissions, default_region=session.region_name)


def caller_account(connector: Connector, region: str) -> str:
    """The account of the credentials (``sts:GetCallerIdentity``, which needs no permission)."""
    try:
        identity = connector.aws(region).call("sts", "GetCallerIdentity") or {}
    except CouldNotCheckError as err:
        raise CannotRunError(
            f"cannot read the caller's identity: {err.detail}; {err.fix}"
        ) from None
    except BotoCoreError as err:
        raise CannotRunError(f"the credentials do not work: {err}; {SET_CREDENTIALS}") from None
    return str(identity.get("Account", ""))


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class DeployedResource:
    logical_id: str
    resource_type: str
    physical_id: str
    status: str


@dataclass(frozen=True)
class Deployed:
    """A stack as CloudFormation has it: its status and its resources by logical id."""

    name: str
    status: str
    resources: Mapping[str, DeployedResource]

    def physical_id(self, logical_id: str) -> str | None:
        resource = self.resources.get(logical_id)
        return resource.physical_id if resource and resource.physical_id else None


@dataclass
class Target:
    """The stacks of one Region, the caller's account, and the command's options."""

    region: str
    stacks: Sequence[StackArtifact]
    caller_account: str
    options: Mapping[str, Any] = field(default_factory=dict)
    _deployed: dict[str, Deployed | None] = field(default_factory=dict)

    def deployed(self, stack: StackArtifact, aws: Aws) -> Deployed | None:
        """The deployed stack (``None`` when there is none), read once per run.

        ``cloudformation:ListStackResources`` rather than ``DescribeStackResources``: the
        latter returns only the first 100 resources of a stack.
        """
        if stack.name not in self._deployed:
            described = aws.call(
                "cloudformation", "DescribeStacks", missing=stack_missing, StackName=stack.name
            )
            stacks = (described or {}).get("Stacks", [])
            if not stacks:
                self._deployed[stack.name] = None
            else:
                summaries = aws.pages(
                    "cloudformation",
                    "ListStackResources",
                    "StackResourceSummaries",
                    StackName=stack.name,
                )
                self._deployed[stack.name] = Deployed(
                    name=stack.name,
                    status=str(stacks[0].get("StackStatus", "")),
                    resources={
                        s["LogicalResourceId"]: DeployedResource(
                            logical_id=s["LogicalResourceId"],
                            resource_type=s.get("ResourceType", ""),
                            physical_id=s.get("PhysicalResourceId", ""),
                            status=s.get("ResourceStatus", ""),
                        )
                        for s in summaries
                    },
                )
        return self._deployed[stack.name]


def zones_of_subnets(
    stack: StackArtifact, refs: Any, aws: Aws, others: Sequence[StackArtifact] = ()
) -> list[str | None]:
    """The AZ of each subnet a resource names: from the template for its own subnets, from the
    publishing stack's template for a subnet read from one of ``others`` through an output
    (``Fn::GetStackOutput``, ``Fn::ImportValue``), from ``ec2:DescribeSubnets`` for a literal
    subnet id; ``None`` where none tells."""
    if not isinstance(refs, list):
        return [None]
    known: dict[str, str | None] = {**published_subnets(others), **subnet_zones(stack.template)}
    zones: list[str | None] = []
    for ref in refs:
        if isinstance(ref, str) and ref.startswith("subnet-"):
            zones.append(aws.subnet_zone(ref))
        else:
            zones.append(known.get(stack_output_key(ref) or ""))
    return zones


def stack_zones(stack: StackArtifact) -> list[str]:
    """The AZs of the template's own subnets (the AZs the stack means to serve from)."""
    return sorted(set(subnet_zones(stack.template).values()))


# --------------------------------------------------------------------------- checks

CheckFunction = Callable[[Target, Aws], Iterable[Finding]]


@dataclass(frozen=True)
class Check:
    name: str
    run: CheckFunction
    summary: str
    """What the check proves, in one line (``--list-checks``)."""
    nothing: str
    """Why there can be nothing to check (the detail of its "not applicable" row)."""


class Registry:
    """A command's checks, in the order they run. Add one with :meth:`check`."""

    def __init__(self, permissions: Permissions, checks: Iterable[Check] = ()) -> None:
        self.permissions = permissions
        self.checks: list[Check] = list(checks)

    @property
    def command(self) -> str:
        return self.permissions.command

    def check(self, name: str, *, summary: str, nothing: str) -> Callable[[CheckFunction], Any]:
        def register(function: CheckFunction) -> CheckFunction:
            self.checks.append(Check(name, function, summary, nothing))
            return function

        return register


def run_checks(
    registry: Registry,
    stacks: Sequence[StackArtifact],
    connector: Connector,
    *,
    caller_account: str,
    options: Mapping[str, Any] | None = None,
    progress: TextIO | None = None,
) -> list[Result]:
    """Every check of ``registry`` on the stacks of each Region, Region by Region."""
    results: list[Result] = []
    for region, members in _by_region(stacks, connector.default_region).items():
        names = ", ".join(s.name for s in members)
        if region == UNKNOWN_REGION:
            results.append(
                Result(
                    region,
                    "environment",
                    unknown(
                        names,
                        "environment-agnostic stacks and no default Region to check them in",
                        "give the stacks an env (account and Region), or set AWS_REGION",
                    ),
                )
            )
            continue
        _say(progress, f"{registry.command}: {region}: checking {names}")
        target = Target(region, members, caller_account, dict(options or {}))
        aws = connector.aws(region)
        found: list[Result] = []
        for check in registry.checks:
            found.extend(Result(region, check.name, f) for f in run_check(check, target, aws))
        counts = Counter(r.status.value for r in found)
        _say(progress, f"{registry.command}: {region}: " + _summary(counts))
        results.extend(found)
    return results


UNEXPECTED_ERROR = "the check stopped on an unexpected error"
"""How a check's "could not check" row starts when the check itself broke."""


def run_check(check: Check, target: Target, aws: Aws) -> list[Finding]:
    """The check's findings; one "could not check" row when it stops, "not applicable" when it
    finds nothing to check."""
    try:
        findings = list(check.run(target, aws))
    except CouldNotCheckError as err:
        findings = [err.finding("")]
    except Exception as err:  # one broken check must not hide the others' results
        findings = [
            unknown(
                "",
                f"{UNEXPECTED_ERROR}: {type(err).__name__}: {err}",
                "report this, with the command's output, to the ha-inference maintainers",
            )
        ]
    return findings or [Finding(Status.NOT_APPLICABLE, "", check.nothing)]


def _by_region(
    stacks: Sequence[StackArtifact], default_region: str | None
) -> dict[str, list[StackArtifact]]:
    """Stacks by Region; an environment-agnostic stack is checked in the default Region (where
    ``cdk deploy`` would put it), so its template's ``AWS::Region`` resolves to that Region."""
    grouped: dict[str, list[StackArtifact]] = {}
    for stack in stacks:
        if stack.region == UNKNOWN_REGION and default_region:
            stack = dataclasses.replace(stack, region=default_region)  # noqa: PLW2901
        grouped.setdefault(stack.region, []).append(stack)
    return grouped


def _say(stream: TextIO | None, line: str) -> None:
    if stream is not None:
        print(line, file=stream, flush=True)


def _summary(counts: Mapping[str, int]) -> str:
    order = [s.value for s in Status]
    return ", ".join(f"{counts[s]} {s}" for s in order if counts.get(s)) or "nothing to check"


# --------------------------------------------------------------------------- rendering

_RESULT_WIDTH = len(Status.UNKNOWN.value)
TABLE_WIDTH = 120
"""Table width when the output is not a terminal (CI logs, files); a terminal's own width up
to 200 otherwise."""


def render_table(results: Sequence[Result], width: int = TABLE_WIDTH) -> str:
    """One table per Region: check, result, detail (led by the subject), fix; cells wrap."""
    check_width = max((len(r.check) for r in results), default=5)
    rest = max(width - check_width - _RESULT_WIDTH - 6, 40)
    detail_width = rest * 3 // 5
    widths = (check_width, _RESULT_WIDTH, detail_width, rest - detail_width)
    out: list[str] = []
    for region in dict.fromkeys(r.region for r in results):
        rows = [r for r in results if r.region == region]
        stacks = sorted({r.finding.stack for r in rows if r.finding.stack})
        out.append(f"{region}" + (f" ({', '.join(stacks)})" if stacks else ""))
        out.append(_row(("check", "result", "detail", "fix"), widths))
        out.append("  ".join("-" * w for w in widths))
        for result in rows:
            f = result.finding
            where = f"[{f.stack}] " if len(stacks) > 1 and f.stack and f.stack != f.subject else ""
            detail = f"{where}{f.subject}: {f.detail}" if f.subject else f"{where}{f.detail}"
            out.append(_row((result.check, f.status.value, detail, f.fix), widths))
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _row(cells: Sequence[str], widths: Sequence[int]) -> str:
    wrapped = [
        textwrap.wrap(cell, w, break_on_hyphens=False) or [""]
        for cell, w in zip(cells, widths, strict=True)
    ]
    lines = []
    for i in range(max(len(w) for w in wrapped)):
        parts = [
            (column[i] if i < len(column) else "").ljust(w)
            for column, w in zip(wrapped, widths, strict=True)
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def render_json(command: str, account: str, results: Sequence[Result]) -> str:
    counts = Counter(r.status.value for r in results)
    return json.dumps(
        {
            "command": command,
            "account": account,
            "exit_code": exit_code(results),
            "summary": {s.value: counts.get(s.value, 0) for s in Status},
            "results": [r.to_json() for r in results],
        },
        indent=2,
    )


# --------------------------------------------------------------------------- command line


def command_line(
    registry: Registry,
    *,
    description: str,
    argv: Sequence[str] | None = None,
    connector: Connector | None = None,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """The shared ``main``: parse, load the assembly, check credentials, run, render.

    ``connector`` is for tests (stubbed clients); without it the caller's default boto3
    session is used, and the command refuses to run when it has no credentials.
    """
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = argparse.ArgumentParser(
        prog=f"ha-inference {registry.command}", description=description
    )
    parser.add_argument("assembly", nargs="?", default="cdk.out", help="cloud assembly (cdk.out)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON (for CI)")
    parser.add_argument(
        "--print-policy", action="store_true", help="print the minimal IAM policy and exit"
    )
    parser.add_argument(
        "--list-checks", action="store_true", help="list the checks and the IAM actions and exit"
    )
    if add_arguments:
        add_arguments(parser)
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.print_policy:
        print(json.dumps(registry.permissions.policy(), indent=2), file=out)
        return 0
    if args.list_checks:
        print(checks_markdown(registry) + "\n\n" + registry.permissions.markdown(), file=out)
        return 0
    try:
        stacks = load_stacks(args.assembly)
        if not stacks:
            raise CannotRunError(f"{args.assembly} holds no stacks; synthesize the app first")
        connector = connector or real_connector(registry.permissions)
        first = next((s.region for s in stacks if s.region != UNKNOWN_REGION), None)
        region = first or connector.default_region
        if region is None:
            raise CannotRunError(
                "every stack is environment-agnostic and no default Region is set; set "
                "AWS_REGION or give the stacks an env"
            )
        account = caller_account(connector, region)
    except (FileNotFoundError, CannotRunError) as problem:
        print(f"{registry.command}: cannot run: {problem}", file=err)
        return 2
    options = {k: v for k, v in vars(args).items() if k not in _COMMON}
    results = run_checks(
        registry,
        stacks,
        connector,
        caller_account=account,
        options=options,
        progress=err,
    )
    if args.json:
        print(render_json(registry.command, account, results), file=out)
    else:
        width = shutil.get_terminal_size((TABLE_WIDTH, 24)).columns if out.isatty() else 0
        print(render_table(results, max(TABLE_WIDTH, min(width, 200))), file=out, end="")
        counts = Counter(r.status.value for r in results)
        print(
            f"{registry.command}: account {account}: {_summary(counts)}; exit {exit_code(results)}",
            file=out,
        )
    return exit_code(results)


_COMMON = frozenset({"assembly", "json", "print_policy", "list_checks"})


def checks_markdown(registry: Registry) -> str:
    lines = ["| Check | What it proves |", "|---|---|"]
    lines += [f"| `{c.name}` | {c.summary} |" for c in registry.checks]
    return "\n".join(lines)


def check_account(target: Target, aws: Aws) -> Iterator[Finding]:
    """Whether each stack targets the caller's account (no call: the identity is read once)."""
    for stack in target.stacks:
        if stack.account == UNKNOWN_ACCOUNT:
            yield passed(
                stack.name,
                f"environment-agnostic: deploys to the caller's account {target.caller_account}",
                stack=stack.name,
            )
        elif stack.account == target.caller_account:
            yield passed(stack.name, f"the stack targets account {stack.account}", stack=stack.name)
        else:
            yield failed(
                stack.name,
                f"the stack targets account {stack.account}, the credentials are for "
                f"{target.caller_account} (the other checks looked at {target.caller_account})",
                "use credentials for the stack's account, or synthesize for this one (cdk synth "
                "with these credentials sets CDK_DEFAULT_ACCOUNT)",
                stack=stack.name,
            )


ACCOUNT_CHECK = Check(
    "account",
    check_account,
    summary="the credentials are for the account each stack targets",
    nothing="no stacks",
)
"""The first check of both commands."""
