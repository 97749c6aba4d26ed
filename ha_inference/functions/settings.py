"""Reading a shipped handler's settings from its environment, with errors that name the setting.

Standard library only. A handler reads its settings once, at its first invocation; a
:class:`ConfigError` there is a deployment mistake, which the handler reports (naming the
setting, never its value) instead of failing on every call with a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping


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
