"""Log groups of the constructs, optionally encrypted with a customer managed key.

CloudWatch Logs encrypts with a KMS key only when the key policy lets the Logs service of the
Region use it for log groups of this account ("Encrypt log data in CloudWatch Logs using AWS
KMS"). :func:`allow_logs_service` adds that statement to a key defined in the app; for an
imported key, the key's owner adds it.
"""

from __future__ import annotations

import weakref

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from ha_inference._internal.stacks import region_of, stack_of

_ALLOWED: weakref.WeakKeyDictionary[IConstruct, set[str]] = weakref.WeakKeyDictionary()
"""Per app: the keys whose policy already admits CloudWatch Logs."""
_ALLOWED_OBJECTS: weakref.WeakSet[kms.Key] = weakref.WeakSet()
"""The key objects found in :data:`_ALLOWED` already: the same object is the same key, so
asking again needs no round trip to the jsii kernel (a key reached through another Python
object is looked up by its path as before)."""


def new_log_group(
    scope: Construct,
    construct_id: str,
    *,
    retention: logs.RetentionDays,
    encryption_key: kms.IKey | None,
    removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
) -> logs.LogGroup:
    """A log group without a fixed name (so a retained one never blocks the next deploy),
    encrypted with ``encryption_key`` when given."""
    if encryption_key is not None:
        allow_logs_service(encryption_key)
    group = logs.LogGroup(
        scope,
        construct_id,
        retention=retention,
        encryption_key=encryption_key,
        removal_policy=removal_policy,
    )
    return group


def allow_logs_service(key: kms.IKey) -> None:
    """Lets CloudWatch Logs in the key's Region use ``key`` for this account's log groups
    (once per key); an imported key is left alone (its policy is not ours to change)."""
    if not isinstance(key, kms.Key) or key in _ALLOWED_OBJECTS:
        return
    node = key.node
    done, path = _ALLOWED.setdefault(node.root, set()), node.path
    if path in done:
        _ALLOWED_OBJECTS.add(key)
        return
    stack = stack_of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsOfThisAccount",
            principals=[iam.ServicePrincipal(f"logs.{region_of(stack)}.amazonaws.com")],
            actions=[
                "kms:Encrypt*",
                "kms:Decrypt*",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:Describe*",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        )
    )
    done.add(path)
    _ALLOWED_OBJECTS.add(key)
