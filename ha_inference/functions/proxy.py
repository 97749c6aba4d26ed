"""Request and response shapes shared by the shipped HTTP-style handlers (``retrieval``,
``self_hosted``): a direct invocation's event, or a proxy event (API Gateway, function URL,
ALB) whose JSON ``body`` may be base64-encoded. Standard library only."""

from __future__ import annotations

import base64
import json
import logging
import math
from collections.abc import Mapping
from typing import Any

LOGGER = logging.getLogger(__name__)


class BadRequestError(Exception):
    """The caller's input is unusable; ``field`` names what to fix."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def event_object(event: Any, field: str) -> dict[str, Any]:
    """The event itself, which must be a JSON object (``{"<field>": "..."}`` or a proxy event)."""
    if not isinstance(event, dict):
        raise BadRequestError(
            f'the event must be a JSON object like {{"{field}": "..."}}, got '
            f"{type(event).__name__}",
            "body",
        )
    return event


def json_body(event: Mapping[str, Any], *, field: str, max_body_bytes: int) -> dict[str, Any]:
    """The JSON object in a proxy event's ``body``. ``field`` is the request's main field
    (``question``, ``inputs``), named in the messages; a body over ``max_body_bytes`` is refused
    before it is parsed, and so is one nested deeper than Python's recursion limit."""
    example = f'{{"{field}": "..."}}'
    body = event["body"]
    if body is None or body == "":
        raise BadRequestError(f"{field} is required; send {example}", field)
    if not isinstance(body, str):
        raise BadRequestError("body must be a JSON string", "body")
    if event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode("utf-8")
        except ValueError:  # binascii.Error, UnicodeDecodeError, and text that is not ASCII
            raise BadRequestError("body is marked base64 but does not decode", "body") from None
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > max_body_bytes:
        raise BadRequestError(
            f"body is {size} bytes, over the limit of {max_body_bytes}; shorten the {field}",
            "body",
        )
    try:
        payload = json.loads(body)
    except RecursionError:
        raise BadRequestError("body is nested too deeply to be a request", "body") from None
    except ValueError as err:
        raise BadRequestError(f"body must be a JSON object like {example}: {err}", "body") from None
    if not isinstance(payload, dict):
        raise BadRequestError(
            f"body must be a JSON object like {example}, got {type(payload).__name__}", "body"
        )
    return payload


def loads_finite(text: str | bytes) -> Any:
    """``json.loads``, with the numbers JSON cannot carry (``NaN``, ``Infinity``, ``-Infinity``
    and literals that overflow a float, such as ``1e999``) read as ``None``: what a handler
    parses, it can write back as strict JSON. Raises ``ValueError`` for text that is not JSON
    and ``RecursionError`` for JSON nested deeper than Python's recursion limit."""
    return json.loads(text, parse_constant=_no_constant, parse_float=_finite_float)


def _no_constant(_: str) -> None:
    return None


def _finite_float(text: str) -> float | None:
    value = float(text)
    return value if math.isfinite(value) else None


def respond(
    status: int, body: Mapping[str, Any], *, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """A proxy-shaped answer: ``statusCode``, a JSON content type (and ``headers``) and the
    ``body`` as strict JSON (RFC 8259: no ``NaN`` or ``Infinity``). A body that cannot be
    written so is a bug: it is logged and answered as a 500 "internal error" instead, so the
    handler still answers exactly once."""
    try:
        text = json.dumps(body, allow_nan=False)
    except (ValueError, TypeError, RecursionError):
        LOGGER.exception("the %d answer cannot be written as JSON", status)
        status = 500
        text = json.dumps({"error": "internal error", "requestId": str(body.get("requestId"))})
        headers = None
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": text,
    }


def misconfigured(message: str, setting: str, request_id: str) -> dict[str, Any]:
    """The 500 a handler answers while one of its settings is missing or invalid: ``message``
    (``settings.misconfigured``), the setting's name (never its value) and the request id."""
    return respond(500, {"error": message, "setting": setting, "requestId": request_id})
