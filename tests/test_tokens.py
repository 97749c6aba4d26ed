"""The local token check answers exactly what aws-cdk-lib does."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from ha_inference._internal.tokens import is_unresolved


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "",
        "${not a token}",
        3,
        True,
        2.5,
        cdk.Aws.REGION,
        cdk.Fn.join("-", ["a", cdk.Aws.ACCOUNT_ID]),
        f"prefix-{cdk.Aws.STACK_NAME}-suffix",
        cdk.Token.as_number(cdk.Aws.ACCOUNT_ID),
        cdk.Token.as_list(cdk.Fn.split(",", cdk.Aws.REGION)),
        ["a", "b"],
    ],
)
def test_matches_aws_cdk_lib(value: object) -> None:
    assert is_unresolved(value) is bool(cdk.Token.is_unresolved(value))
