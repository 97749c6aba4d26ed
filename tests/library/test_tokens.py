"""The local token check answers exactly what aws-cdk-lib does."""

from __future__ import annotations

from collections.abc import Callable

import aws_cdk as cdk
import pytest

from ha_inference._internal.tokens import is_unresolved

CASES: dict[str, Callable[[], object]] = {
    "plain string": lambda: "plain",
    "empty string": lambda: "",
    "dollar brace text": lambda: "${not a token}",
    "integer": lambda: 3,
    "boolean": lambda: True,
    "float": lambda: 2.5,
    "pseudo parameter": lambda: cdk.Aws.REGION,
    "join": lambda: cdk.Fn.join("-", ["a", cdk.Aws.ACCOUNT_ID]),
    "embedded token": lambda: f"prefix-{cdk.Aws.STACK_NAME}-suffix",
    "number token": lambda: cdk.Token.as_number(cdk.Aws.ACCOUNT_ID),
    "list token": lambda: cdk.Token.as_list(cdk.Fn.split(",", cdk.Aws.REGION)),
    "plain list": lambda: ["a", "b"],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_aws_cdk_lib(case: str) -> None:
    value = CASES[case]()
    assert is_unresolved(value) is bool(cdk.Token.is_unresolved(value))
