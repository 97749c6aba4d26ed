"""Type checks of construct props, each raising a ``TypeError`` that names the prop, shows what
was given and says what to pass instead."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import aws_cdk as cdk


def given(value: Any) -> str:
    """What was passed, for a message: its type and a short repr."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def check_instance(prop: str, value: Any, kind: type | tuple[type, ...], fix: str) -> None:
    if not isinstance(value, kind):
        raise TypeError(f"{prop} must be {fix}, got {given(value)}")


def check_optional(prop: str, value: Any, kind: type | tuple[type, ...], fix: str) -> None:
    if value is not None:
        check_instance(prop, value, kind, fix)


def check_bool(prop: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{prop} must be True or False, got {given(value)}")


def check_str(prop: str, value: Any, example: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{prop} must be a string such as {example!r}, got {given(value)}")


def check_optional_str(prop: str, value: Any, example: str) -> None:
    if value is not None:
        check_str(prop, value, example)


def check_whole(prop: str, value: Any, *, minimum: int, fix: str) -> None:
    """A whole number (never a bool) of at least ``minimum``; tokens pass unchecked."""
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and cdk.Token.is_unresolved(value):
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{prop} must be a whole number, got {given(value)}; {fix}")
    if value < minimum:
        raise ValueError(f"{prop} must be at least {minimum}, got {value}; {fix}")


def check_duration(prop: str, value: Any, example: str) -> None:
    if not isinstance(value, cdk.Duration):
        raise TypeError(f"{prop} must be a cdk.Duration such as {example}, got {given(value)}")


def check_strings(prop: str, value: Any, example: str) -> None:
    """A list of strings (a single string is refused: it would be read letter by letter)."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"{prop} must be a list of strings such as {example}, got {given(value)}")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise TypeError(
                f"{prop}[{index}] must be a string such as {example}, got {given(item)}"
            )


def check_string_map(prop: str, value: Any, example: str) -> None:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError(
            f"{prop} must map names to string values such as {example}, got {given(value)}"
        )


def is_key(value: Any) -> bool:
    """Whether ``value`` is a ``kms.IKey`` (jsii interfaces cannot be used with isinstance)."""
    return hasattr(value, "key_arn") and hasattr(value, "grant_encrypt_decrypt")


def is_vpc(value: Any) -> bool:
    """Whether ``value`` is an ``ec2.IVpc``."""
    return hasattr(value, "vpc_id") and hasattr(value, "select_subnets")


def check_key(prop: str, value: Any) -> None:
    if value is not None and not is_key(value):
        raise TypeError(
            f"{prop} must be a kms.IKey (a kms.Key, or kms.Key.from_key_arn(...)), got "
            f"{given(value)}; pass the key construct, not its ARN or alias"
        )


def check_vpc(prop: str, value: Any) -> None:
    if not is_vpc(value):
        raise TypeError(
            f"{prop} must be an ec2.IVpc (an ec2.Vpc, or ec2.Vpc.from_lookup/"
            f"from_vpc_attributes), got {given(value)}; pass the VPC construct, not its id"
        )
