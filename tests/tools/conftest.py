"""Fixtures the tool tests share."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.stubs import Stubs


@pytest.fixture
def stubs() -> Iterator[Stubs]:
    """Stubbed AWS for one test; every answer queued on it must be asked for."""
    stubs = Stubs()
    yield stubs
    stubs.assert_done()
