"""Fixtures the handler tests share. ``collection`` and ``bedrock`` are asked for by name; a
module turns on the other two for all its tests with
``pytestmark = pytest.mark.usefixtures("requests_the_service_accepts", ...)``. A module that
needs another kind of one defines its own, which takes precedence over these."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.botocore_strict import strict_checked
from tests.support.collection_stub import (
    CollectionServer,
    FakeBedrock,
    serve_collection,
    use_fake_credentials,
)


@pytest.fixture
def requests_the_service_accepts() -> Iterator[None]:
    """Every request the test makes the handler send passes botocore's model strictly."""
    with strict_checked():
        yield


@pytest.fixture
def fake_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Credentials and Region from the environment only (:func:`use_fake_credentials`)."""
    use_fake_credentials(monkeypatch, tmp_path)


@pytest.fixture
def collection() -> Iterator[CollectionServer]:
    """A local stand-in for the collection endpoint (:func:`serve_collection`)."""
    with serve_collection() as server:
        yield server


@pytest.fixture
def bedrock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeBedrock]:
    """A :class:`FakeBedrock` installed for the test; every call it expects must come."""
    fake = FakeBedrock()
    fake.install(monkeypatch)
    yield fake
    fake.assert_done()
