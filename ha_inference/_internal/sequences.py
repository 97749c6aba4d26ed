"""Small helpers over plain sequences, shared by the input checks (standard library only)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


def repeated(values: Iterable[str]) -> list[str]:
    """The values that occur more than once, each named once, sorted: what an error message
    about a list that must name each item once should show."""
    return sorted(value for value, count in Counter(values).items() if count > 1)
