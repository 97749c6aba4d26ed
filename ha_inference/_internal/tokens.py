"""Token checks without a round trip to the jsii kernel where Python can tell by itself.

aws-cdk-lib encodes an unresolved string as text containing ``${Token[...]}``, so a Python
``str`` is checked locally; integers are never tokens (number tokens are special doubles).
Anything else (floats, lists, objects) is asked of aws-cdk-lib as before. Each avoided call
saves a jsii round trip at synth time.
"""

from __future__ import annotations

import aws_cdk as cdk

_STRING_TOKEN = "${Token["


def is_unresolved(value: object) -> bool:
    """What ``cdk.Token.is_unresolved(value)`` answers."""
    if isinstance(value, str):
        return _STRING_TOKEN in value
    if isinstance(value, bool | int):
        return False
    return bool(cdk.Token.is_unresolved(value))
