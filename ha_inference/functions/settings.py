"""Reading a shipped handler's settings from its environment, with errors that name the setting.

Standard library only. A handler reads its settings once, at its first invocation; a
:class:`ConfigError` there is a deployment mistake, which the handler reports (naming the
setting, never its value) instead of failing on every call with a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A missing or invalid setting; ``setting`` names it (an environment variable or property)."""

    def __init__(self, setting: str, message: str) -> None:
        super().__init__(message)
        self.setting = setting


def required(env: Mapping[str, str], name: str) -> str:
    """The value of ``name``, stripped; raises :class:`ConfigError` when missing or blank."""
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(name, f"environment variable {name} is required and is not set")
    return value


def optional(env: Mapping[str, str], name: str, default: str) -> str:
    """The value of ``name``, stripped, or ``default`` when it is missing or blank."""
    return env.get(name, "").strip() or default


def integer(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    """The whole number in ``name`` (``default`` when missing or blank), within ``low..high``."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(name, f"{name} must be {low}-{high}, got {value}")
    return value


def setup_once(current: T | ConfigError | None, build: Callable[[], T]) -> T | ConfigError:
    """``current`` once it is set; otherwise what ``build()`` returns, or the
    :class:`ConfigError` it raised, logged here (so once per execution environment)."""
    if current is not None:
        return current
    try:
        return build()
    except ConfigError as err:
        logging.getLogger(__name__).error("the function is misconfigured: %s", err)
        return err


def misconfigured(err: ConfigError) -> str:
    """What a handler tells its caller about a bad setting: its name, never its value."""
    return (
        f"the function is misconfigured: setting {err.setting} is missing or invalid "
        "(details in the function's log)"
    )
