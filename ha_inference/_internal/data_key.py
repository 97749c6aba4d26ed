"""A KMS key for data at rest that only the AWS services holding the data may use.

The key policy has no ``kms:*`` for the account: the account's principals may manage the key
(no cryptographic operation), and may use it for encryption only through the named services in
the key's Region (``kms:ViaService``), which is how OpenSearch Serverless and Bedrock use a
customer managed key on behalf of the caller that creates the collection or starts the import
("Encryption in Amazon OpenSearch Serverless", "Encryption of imported custom models"). What
the callers may do is then up to their IAM policies.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

KEY_ADMINISTRATION = (
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RetireGrant",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
)
"""Managing the key (CloudFormation creates, rotates, tags and deletes it with these), with no
cryptographic operation and no ``CreateGrant``."""

SERVICE_OPERATIONS = ("kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey")
"""What OpenSearch Serverless (``DescribeKey`` and ``CreateGrant`` for its grant of
``GenerateDataKey`` and ``Decrypt``) and Bedrock Custom Model Import (the four) use a key for,
on behalf of the caller that creates the collection or the import job, and what a caller of an
imported model uses (``Decrypt``). ``kms:ViaService`` alone holds them to those services, as
Bedrock's key policy examples do; OpenSearch Serverless's example adds
``kms:GrantIsForAWSResource``, which Bedrock's pages do not show, so it is left out rather than
risk a refused import."""


def new_data_key(
    scope: Construct, construct_id: str, *, services: Sequence[str], description: str
) -> kms.Key:
    """A key with yearly rotation that the account may manage and use only through
    ``services`` (service names such as ``aoss`` and ``bedrock``) in the stack's Region.

    Retained with the stack: data it encrypted may outlive the stack (a retained collection or
    model), and it has no fixed name, so the next deploy creates a new key beside it.
    """
    stack = cdk.Stack.of(scope)
    account = iam.AccountRootPrincipal()
    via = {
        "kms:ViaService": [f"{service}.{stack.region}.amazonaws.com" for service in services],
        "kms:CallerAccount": stack.account,
    }
    policy = iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="KeyAdministration",
                principals=[account],
                actions=list(KEY_ADMINISTRATION),
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="UseThroughTheDataServices",
                principals=[account],
                actions=list(SERVICE_OPERATIONS),
                resources=["*"],
                conditions={"StringEquals": via},
            ),
        ]
    )
    return kms.Key(
        scope,
        construct_id,
        description=description,
        enable_key_rotation=True,
        policy=policy,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
