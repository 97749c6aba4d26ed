"""Requests checked against botocore's service models the way the services check them.

botocore's own ``ParamValidator`` (what a client and ``Stubber`` run before a request goes out)
checks required members, types and minimum lengths, but not patterns, maximum lengths, numeric
ranges above the minimum or enums: a request can pass it and still be refused by the service
with ``ValidationException`` at deploy time. :func:`strict_errors` checks all of them, from the
same models:

* structures: required members present, no unknown members, a union with exactly one member;
* lists and maps: ``min``/``max`` entries;
* strings: type, ``min``/``max`` length (characters), ``enum``, and ``pattern``, matched against
  the whole value (the API references show these patterns anchored, ``^...$``: the services
  match the whole string; Smithy-era models dropped the anchors), with Java's POSIX classes
  (``\\p{Print}``, ``\\p{ASCII}``...) read as the US-ASCII classes Java defines and Unicode
  categories (``\\p{L}``) by the ``regex`` module (a dependency of cfn-lint);
* numbers: type (``bool`` is not a number) and ``min``/``max`` values;
* blobs: bytes, text or a readable file, ``min``/``max`` length in bytes;
* booleans, timestamps and documents: type.

:func:`recording` records every request any botocore client sends (through ``Stubber``,
``before-send`` hooks or moto alike) with its strict errors, so a test can assert that what a
shipped handler sent would be accepted.
"""

from __future__ import annotations

import contextlib
import datetime
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import botocore.session
import regex
from botocore.client import BaseClient
from botocore.model import OperationModel, ServiceModel, Shape

_POSIX = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
}
"""Java's POSIX character classes (``java.util.regex.Pattern``: US-ASCII only)."""


@cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


@cache
def service_model(service: str) -> ServiceModel:
    return _session().get_service_model(service)


def operation_model(service: str, operation: str) -> OperationModel:
    """The operation by its API name (``CreateModelImportJob``) or its Python name
    (``create_model_import_job``)."""
    model = service_model(service)
    if operation in model.operation_names:
        return model.operation_model(operation)
    by_python_name = {botocore.xform_name(name): name for name in model.operation_names}
    if operation not in by_python_name:
        raise KeyError(f"{service} has no operation {operation}")
    return model.operation_model(by_python_name[operation])


def translate(pattern: str) -> str:
    """A Java/ECMAScript pattern of a service model as a ``regex`` pattern: Java's POSIX classes
    as ASCII ranges (inside a class, or wrapped in one outside), ``\\z`` as ``\\Z``."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            if pattern.startswith("\\p{", i):
                end = pattern.index("}", i)
                name = pattern[i + 3 : end]
                if name in _POSIX:
                    out.append(_POSIX[name] if in_class else f"[{_POSIX[name]}]")
                    i = end + 1
                    continue
            if pattern[i + 1] == "z":
                out.append("\\Z")
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        i += 1
    return "".join(out)


@cache
def _compiled(pattern: str) -> Any:
    return regex.compile(translate(pattern), regex.V0)


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` as a whole matches a service model's ``pattern``."""
    return _compiled(pattern).fullmatch(value) is not None


def strict_errors(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """Every way ``params`` breaks the input shape of ``operation``, each naming its path;
    empty when the service would accept the request's shape."""
    shape = operation_model(service, operation).input_shape
    errors: list[str] = []
    if shape is None:
        if params:
            errors.append(f"{operation} takes no input, got {sorted(params)}")
        return errors
    _check(shape, params, "params", errors)
    return errors


def _check(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    kind = shape.type_name
    if kind == "structure" and getattr(shape, "is_document_type", False):
        return
    checker = _CHECKS.get(kind)
    if checker is None:
        errors.append(f"{path}: shape type {kind} is not checked")
        return
    checker(shape, value, path, errors)


def _structure(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be an object, got {type(value).__name__}")
        return
    members = shape.members  # type: ignore[attr-defined]
    for name in shape.required_members:  # type: ignore[attr-defined]
        if name not in value:
            errors.append(f"{path}: missing required member {name}")
    for name in value:
        if name not in members:
            errors.append(f"{path}: unknown member {name}")
    present = [name for name in value if name in members]
    if shape.metadata.get("union") and len(present) != 1:
        errors.append(f"{path}: a union must set exactly one member, got {present}")
    for name in present:
        _check(members[name], value[name], f"{path}.{name}", errors)


def _count(shape: Shape, size: int, what: str, path: str, errors: list[str]) -> None:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    if low is not None and size < low:
        errors.append(f"{path}: {what} {size} is below the minimum {low}")
    if high is not None and size > high:
        errors.append(f"{path}: {what} {size} is above the maximum {high}")


def _list(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, list | tuple):
        errors.append(f"{path}: must be a list, got {type(value).__name__}")
        return
    _count(shape, len(value), "length", path, errors)
    for position, item in enumerate(value):
        _check(shape.member, item, f"{path}[{position}]", errors)  # type: ignore[attr-defined]


def _map(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, Mapping):
        errors.append(f"{path}: must be a map, got {type(value).__name__}")
        return
    _count(shape, len(value), "entries", path, errors)
    for key, item in value.items():
        _check(shape.key, key, f"{path} key {key!r}", errors)  # type: ignore[attr-defined]
        _check(shape.value, item, f"{path}[{key!r}]", errors)  # type: ignore[attr-defined]


def _string(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, str):
        errors.append(f"{path}: must be a string, got {type(value).__name__}")
        return
    _count(shape, len(value), "length", path, errors)
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        errors.append(f"{path}: {value!r} is not one of {enum}")
    pattern = shape.metadata.get("pattern")
    if pattern is not None and not matches(pattern, value):
        errors.append(f"{path}: {value!r} does not match the pattern {pattern}")


def _number(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    integral = shape.type_name in {"integer", "long"}
    allowed: tuple[type, ...] = (int,) if integral else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        errors.append(f"{path}: must be of type {shape.type_name}, got {type(value).__name__}")
        return
    _count(shape, value, "value", path, errors)


def _boolean(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if not isinstance(value, bool):
        errors.append(f"{path}: must be a boolean, got {type(value).__name__}")


def _blob(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if isinstance(value, bytes | bytearray):
        _count(shape, len(value), "size in bytes", path, errors)
    elif not (isinstance(value, io.IOBase) or hasattr(value, "read")):
        errors.append(f"{path}: must be bytes, text or a readable file, got {type(value).__name__}")


def _timestamp(shape: Shape, value: Any, path: str, errors: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(
        value, datetime.datetime | datetime.date | str | int | float
    ):
        errors.append(f"{path}: must be a timestamp, got {type(value).__name__}")


_CHECKS = {
    "structure": _structure,
    "list": _list,
    "map": _map,
    "string": _string,
    "integer": _number,
    "long": _number,
    "float": _number,
    "double": _number,
    "boolean": _boolean,
    "blob": _blob,
    "timestamp": _timestamp,
}


@dataclass(frozen=True)
class Sent:
    """One request a client sent: service (botocore's name), API operation, parameters, and
    what :func:`strict_errors` found wrong with it."""

    service: str
    operation: str
    params: Mapping[str, Any]
    errors: tuple[str, ...]


@dataclass
class Recording:
    sent: list[Sent] = field(default_factory=list)

    def operations(self) -> set[tuple[str, str]]:
        return {(s.service, s.operation) for s in self.sent}

    def refused(self) -> list[Sent]:
        return [s for s in self.sent if s.errors]


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """Records every request any botocore client sends while it is active."""
    found = Recording()
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: Mapping[str, Any]) -> Any:
        service = client.meta.service_model.service_name
        errors = tuple(strict_errors(service, operation, params))
        found.sent.append(Sent(service, operation, dict(params), errors))
        return original(client, operation, params)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield found
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


@contextlib.contextmanager
def strict_checked() -> Iterator[Recording]:
    """:func:`recording`, failing at the end if any request broke its service model (use it in
    an autouse fixture of a handler's tests: a handler may catch the error a refused request
    raises inside it, but not this check)."""
    with recording() as found:
        yield found
    refused = [f"{s.service} {s.operation}: {'; '.join(s.errors)}" for s in found.refused()]
    assert not refused, "requests the service would refuse:\n" + "\n".join(refused)
