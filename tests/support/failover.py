"""Stubbed ``sagemaker-runtime`` clients per Region for the failover client and the
self-hosted handler, and the fake clock they run on."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.response import StreamingBody
from botocore.stub import Stubber

BODY = b'{"inputs": "Hello"}'
ANSWER = b'[{"generated_text": "Hi"}]'


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@cache
def _session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing")


def answer(data: bytes = ANSWER) -> dict[str, Any]:
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ContentType": "application/json"}


@dataclass
class Stubbed:
    """Real clients per Region behind Stubbers; the factory records each config it was given."""

    clients: dict[str, Any] = field(default_factory=dict)
    stubbers: dict[str, Stubber] = field(default_factory=dict)
    configs: list[tuple[str, Config]] = field(default_factory=list)

    def stub(self, region: str) -> Stubber:
        if region not in self.stubbers:
            client = _session().client("sagemaker-runtime", region_name=region)
            self.clients[region] = client
            self.stubbers[region] = Stubber(client)
            self.stubbers[region].activate()
        return self.stubbers[region]

    def factory(self, region: str, config: Config) -> Any:
        self.configs.append((region, config))
        self.stub(region)
        return self.clients[region]

    def expect(self, region: str, endpoint: str) -> None:
        self.stub(region).add_response(
            "invoke_endpoint",
            answer(),
            {
                "EndpointName": endpoint,
                "Body": BODY,
                "ContentType": "application/json",
                "Accept": "application/json",
            },
        )

    def refuse(self, region: str, code: str, status: int) -> None:
        self.stub(region).add_client_error(
            "invoke_endpoint",
            service_error_code=code,
            service_message="User: arn:aws:sts::111111111111:assumed-role/r/x is not allowed",
            http_status_code=status,
        )

    def verify(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()
