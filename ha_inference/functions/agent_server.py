"""The retrieval agent: an Amazon Bedrock AgentCore Runtime entry point that answers with the
retrieval path (embed the question, search the collection, Converse; ``retrieval.py``).

Entry point: ``agent_server.py`` (run as a script). Asset: this folder, as is (standard library,
plus boto3 and botocore, which the package does not carry: see "What is not verified" in
``ha_inference/agents/README.md``). It follows AgentCore Runtime's HTTP protocol contract
(https://docs.aws.amazon.com/bedrock-agentcore/latest/devguide/runtime-http-protocol-contract.html):
an HTTP server on ``0.0.0.0:8080`` with

* ``GET /ping``: 200 ``{"status": "Healthy"}``;
* ``POST /invocations`` with ``{"question": "..."}`` (``prompt`` is accepted for ``question``):
  the retrieval handler's answer, its status and JSON body unchanged (200 with ``answer``,
  ``complete``, ``sources``; 400, 500, 502 or 503 with ``error``; see ``retrieval.py``). A
  request id (``requestId``) is made per invocation; the answer's own ``Retry-After`` is kept;
* anything else: 404 (unknown path) or 405 (wrong method), JSON ``{"error"}``.

Each invocation gets ``ANSWER_DEADLINE_SECONDS`` (default 60, 5-840) to answer, which the
retrieval path fits its retries and timeouts into. Settings are the retrieval handler's
(``MODEL_ID``, ``EMBEDDING_MODEL_ID``, ``COLLECTION_ENDPOINT``, the index settings), read at the
first invocation; ``AWS_REGION`` is taken from ``AGENT_REGION`` when the runtime does not set
it. Answers are written once; a body over ``MAX_BODY_BYTES`` is refused with 413 before it is
read.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

try:  # ha_inference.functions.agent_server (library, tests) or top-level (the runtime)
    from . import retrieval
except ImportError:  # pragma: no cover - the runtime path
    import retrieval  # type: ignore[no-redef,import-not-found]

LOGGER = logging.getLogger(__name__)

HOST = "0.0.0.0"
PORT = 8080
DEFAULT_DEADLINE_SECONDS = 60
DEADLINE_RANGE = (5, 840)
MAX_BODY_BYTES = 64 * 1024
"""Larger than any question the retrieval handler accepts (its own limit is checked after)."""

ROUTES = {"/ping": "GET", "/invocations": "POST"}
"""The contract's paths and their methods."""

Answer = Callable[[Any, Any], dict[str, Any]]


class Context:
    """What the retrieval handler reads of a Lambda context: the request id and the time left."""

    def __init__(
        self, deadline_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._clock = clock
        self._ends = clock() + deadline_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._ends - self._clock()) * 1000))


def deadline_seconds(env: Mapping[str, str]) -> int:
    """``ANSWER_DEADLINE_SECONDS``, or the default when missing, blank or out of range."""
    raw = env.get("ANSWER_DEADLINE_SECONDS", "").strip()
    low, high = DEADLINE_RANGE
    try:
        value = int(raw) if raw else DEFAULT_DEADLINE_SECONDS
    except ValueError:
        value = DEFAULT_DEADLINE_SECONDS
    if not low <= value <= high:
        LOGGER.warning(
            "ANSWER_DEADLINE_SECONDS %r is out of %d-%d; using the default", raw, low, high
        )
        value = DEFAULT_DEADLINE_SECONDS
    return value


def invoke(body: bytes, answer: Answer, deadline: float) -> tuple[int, dict[str, str], bytes]:
    """(status, headers, body) of one invocation: the request body handed to ``answer`` (the
    retrieval handler) as a proxy event, ``prompt`` read as ``question``."""
    text = body.decode("utf-8", "replace")
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        payload = None
    if isinstance(payload, dict) and "question" not in payload and "prompt" in payload:
        question = payload.pop("prompt")
        text = json.dumps({**payload, "question": question})
    result = answer({"body": text}, Context(deadline))
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool):
        LOGGER.error("the retrieval handler answered without a status")
        return 500, {"Content-Type": "application/json"}, b'{"error": "internal error"}'
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    headers.setdefault("Content-Type", "application/json")
    return status, headers, str(result.get("body", "")).encode("utf-8")


def _retrieval_answer() -> Answer:
    """The retrieval handler without its Lambda metrics (the runtime publishes its own)."""
    handler = retrieval.handler
    return cast(Answer, getattr(handler, "__wrapped__", handler))


class AgentHandler(BaseHTTPRequestHandler):
    """``GET /ping`` and ``POST /invocations``; nothing else."""

    answer: Answer = staticmethod(_retrieval_answer())
    deadline: float = DEFAULT_DEADLINE_SECONDS
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        if self.path.split("?")[0] != "/ping":
            self._send(404 if self.path != "/invocations" else 405, {"error": "not found"})
            return
        self._send(200, {"status": "Healthy"})

    def do_POST(self) -> None:
        if self.path.split("?")[0] != "/invocations":
            self._send(404 if self.path != "/ping" else 405, {"error": "not found"})
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(413, {"error": f"the request body must be 0 to {MAX_BODY_BYTES} bytes"})
            return
        body = self.rfile.read(length)
        try:
            status, headers, data = invoke(body, type(self).answer, type(self).deadline)
        except Exception:
            LOGGER.exception("the invocation failed unexpectedly")
            self._send(500, {"error": "internal error"})
            return
        self._write(status, headers, data)

    def _refused(self, served: str) -> bool:
        """Answers 404 for an unknown path, 405 for a known one with the wrong method."""
        path = self.path.split("?")[0]
        if path == served:
            return False
        if path in ROUTES:
            self._send(405, {"error": f"{path} takes {ROUTES[path]} only"})
        else:
            self._send(404, {"error": f"no such path: {path[:100]}"})
        return True

    def _send(self, status: int, body: Mapping[str, Any]) -> None:
        self._write(status, {"Content-Type": "application/json"}, json.dumps(body).encode())

    def _write(self, status: int, headers: Mapping[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        LOGGER.info("%s %s", self.address_string(), format % args)


def serve(host: str = HOST, port: int = PORT) -> ThreadingHTTPServer:
    """The agent's server, bound and ready (``serve_forever`` runs it)."""
    AgentHandler.deadline = deadline_seconds(os.environ)
    if not os.environ.get("AWS_REGION") and os.environ.get("AGENT_REGION"):
        os.environ["AWS_REGION"] = os.environ["AGENT_REGION"]
    return ThreadingHTTPServer((host, port), AgentHandler)


if __name__ == "__main__":  # pragma: no cover - the runtime starts the entry point as a script
    logging.basicConfig(level=logging.INFO)
    serve().serve_forever()
