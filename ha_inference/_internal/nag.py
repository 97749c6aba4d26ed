"""cdk-nag acknowledgements that name one finding on one construct, with the finding rendered the
way cdk-nag renders it (``src/utils/flatten-cfn-reference.ts``, cdk-nag 3.0.2).

cdk-nag's packs share rule functions: NIST 800-53 rev. 5's ``LambdaDLQ`` is also HIPAA
Security's and Serverless's ``LambdaDLQ``. An acknowledgement of a rule is given, with the same
reason, to the same rule in every other pack (:data:`SAME_RULE`), so a regulated adopter who runs
NIST 800-53 rev. 4, HIPAA Security, PCI DSS 3.2.1 or Serverless sees the reason reviewed once."""

from __future__ import annotations

import json
import weakref
from typing import Any

import aws_cdk as cdk
from constructs import IConstruct

from ha_inference._internal.stacks import stack_of


def flatten_cfn_reference(node: Any) -> str:
    """A resolved CloudFormation value as cdk-nag flattens it for finding ids.

    ``{"Ref": "X"}`` becomes ``<X>``, ``{"Fn::GetAtt": ["X", "Arn"]}`` becomes ``<X.Arn>``,
    ``Fn::Join`` is joined, ``${X}`` in ``Fn::Sub`` becomes ``<X>``.
    """
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(flatten_cfn_reference(item) for item in items)
        if "Fn::Sub" in node:
            return flatten_cfn_reference(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten_cfn_reference(resource)}.{flatten_cfn_reference(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten_cfn_reference(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten_cfn_reference(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))


def wildcard_resource_finding(scope: IConstruct, resource: str) -> str:
    """The AwsSolutions-IAM5 finding id that ``resource`` (an ARN, maybe with tokens) draws."""
    resolved = stack_of(scope).resolve(resource)
    return f"AwsSolutions-IAM5[Resource::{flatten_cfn_reference(resolved)}]"


def acknowledge(scope: IConstruct, finding: str, reason: str) -> None:
    """Acknowledges exactly ``finding`` on ``scope`` (and what is below it), with ``reason``."""
    acknowledge_all(scope, {finding: reason})


SYNCHRONOUS_NO_DLQ = (
    "The function is invoked synchronously (by a caller or by CloudFormation's custom-resource "
    "framework), which receives every error itself; a dead-letter queue only receives failed "
    "asynchronous events, so there is nothing to send to one."
)
NO_RESERVED_CONCURRENCY = (
    "Reserved concurrency is left to the app owner: Lambda refuses a reservation that leaves "
    "fewer than 10 unreserved executions, so a default reservation would fail the first deploy "
    "in accounts with the default concurrency quota; the function's own retries and timeouts "
    "bound its load instead."
)
CONTROL_PLANE_OUTSIDE_VPC = (
    "A deploy-time function that calls only AWS control-plane APIs (and the pre-signed S3 "
    "response URL of CloudFormation); it handles no application data, and running it in the VPC "
    "would need NAT or extra interface endpoints just to reach those APIs."
)
INLINE_POLICY = (
    "The policy is bound to exactly one role and is created and deleted with it; its statements "
    "are scoped to this construct's resources, which a shared customer managed policy could not "
    "be without widening it."
)


DEPLOY_TIME_NO_TRACING = (
    "A deploy-time function that makes a few control-plane calls per deploy and logs each call "
    "and its outcome to its log group; X-Ray active tracing would add a trace per invocation "
    "(and an X-Ray permission on '*') without showing more than that log."
)
FRAMEWORK_MEMORY = (
    "aws-cdk-lib's custom-resource framework function (provider framework or AwsCustomResource) "
    "relays one CloudFormation event and its answer, or makes one read-only AWS SDK call; it "
    "runs with the memory aws-cdk-lib gives it (Lambda's 128 MB default), which aws-cdk-lib "
    "offers no option to set."
)


SYNCHRONOUS_FUNCTION = {
    "NIST.800.53.R5-LambdaConcurrency": NO_RESERVED_CONCURRENCY,
    "NIST.800.53.R5-LambdaDLQ": SYNCHRONOUS_NO_DLQ,
}
"""What NIST 800-53 asks of a function that is only ever invoked synchronously."""

CONTROL_PLANE_FUNCTION = {
    **SYNCHRONOUS_FUNCTION,
    "NIST.800.53.R5-LambdaInsideVPC": CONTROL_PLANE_OUTSIDE_VPC,
}
"""...and of a synchronous deploy-time function that calls only control-plane APIs."""

DEPLOY_TIME_HANDLER = {
    **CONTROL_PLANE_FUNCTION,
    "Serverless-LambdaTracing": DEPLOY_TIME_NO_TRACING,
}
"""...and of this library's deploy-time handler functions (custom resources), for every pack."""

FRAMEWORK_FUNCTION = {
    **DEPLOY_TIME_HANDLER,
    "Serverless-LambdaDefaultMemorySize": FRAMEWORK_MEMORY,
}
"""...and of aws-cdk-lib's own custom-resource framework functions that the framework invokes
synchronously (the waiter's isComplete and onTimeout)."""

CLOUDFORMATION_EVENT_NO_DLQ = (
    "CloudFormation invokes this aws-cdk-lib function asynchronously with the stack event "
    '(Lambda developer guide, "Using Lambda with CloudFormation"); the function answers '
    "CloudFormation itself, FAILED included, and should it never answer, Lambda retries the "
    "event twice and CloudFormation fails the stack operation once the resource's timeout "
    "passes, which the stack's events show. A dead-letter queue would only keep the event, "
    "with its pre-signed response URL that can answer for the stack, in a queue."
)

CLOUDFORMATION_EVENT_FUNCTION = {
    **FRAMEWORK_FUNCTION,
    "NIST.800.53.R5-LambdaDLQ": CLOUDFORMATION_EVENT_NO_DLQ,
}
"""...and of aws-cdk-lib's functions that CloudFormation invokes (the provider framework's
onEvent, the AwsCustomResource singleton)."""


SAME_RULE: dict[str, tuple[str, ...]] = {
    "NIST.800.53.R5-CloudWatchAlarmAction": (
        "NIST.800.53.R4-CloudWatchAlarmAction",
        "HIPAA.Security-CloudWatchAlarmAction",
    ),
    "NIST.800.53.R5-CloudWatchLogGroupEncrypted": (
        "NIST.800.53.R4-CloudWatchLogGroupEncrypted",
        "PCI.DSS.321-CloudWatchLogGroupEncrypted",
        "HIPAA.Security-CloudWatchLogGroupEncrypted",
    ),
    "NIST.800.53.R5-ELBDeletionProtectionEnabled": (
        "NIST.800.53.R4-ELBDeletionProtectionEnabled",
        "HIPAA.Security-ELBDeletionProtectionEnabled",
    ),
    "NIST.800.53.R5-ELBLoggingEnabled": (
        "NIST.800.53.R4-ELBLoggingEnabled",
        "PCI.DSS.321-ELBLoggingEnabled",
        "HIPAA.Security-ELBLoggingEnabled",
    ),
    "NIST.800.53.R5-ELBv2ACMCertificateRequired": (
        "PCI.DSS.321-ELBv2ACMCertificateRequired",
        "HIPAA.Security-ELBv2ACMCertificateRequired",
    ),
    "NIST.800.53.R5-IAMNoInlinePolicy": (
        "NIST.800.53.R4-IAMNoInlinePolicy",
        "PCI.DSS.321-IAMNoInlinePolicy",
        "HIPAA.Security-IAMNoInlinePolicy",
    ),
    "NIST.800.53.R5-LambdaConcurrency": ("HIPAA.Security-LambdaConcurrency",),
    "NIST.800.53.R5-LambdaDLQ": ("HIPAA.Security-LambdaDLQ", "Serverless-LambdaDLQ"),
    "NIST.800.53.R5-LambdaInsideVPC": (
        "NIST.800.53.R4-LambdaInsideVPC",
        "PCI.DSS.321-LambdaInsideVPC",
        "HIPAA.Security-LambdaInsideVPC",
    ),
    "NIST.800.53.R5-S3BucketLoggingEnabled": (
        "NIST.800.53.R4-S3BucketLoggingEnabled",
        "PCI.DSS.321-S3BucketLoggingEnabled",
        "HIPAA.Security-S3BucketLoggingEnabled",
    ),
    "NIST.800.53.R5-S3BucketReplicationEnabled": (
        "NIST.800.53.R4-S3BucketReplicationEnabled",
        "PCI.DSS.321-S3BucketReplicationEnabled",
        "HIPAA.Security-S3BucketReplicationEnabled",
    ),
    "NIST.800.53.R5-S3BucketVersioningEnabled": (
        "NIST.800.53.R4-S3BucketVersioningEnabled",
        "PCI.DSS.321-S3BucketVersioningEnabled",
        "HIPAA.Security-S3BucketVersioningEnabled",
    ),
    "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured": (
        "NIST.800.53.R4-SageMakerEndpointConfigurationKMSKeyConfigured",
        "PCI.DSS.321-SageMakerEndpointConfigurationKMSKeyConfigured",
        "HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured",
    ),
    "AwsSolutions-SF2": ("Serverless-StepFunctionStateMachineXray",),
}
"""The crosswalk: a rule id the library acknowledges, and the ids under which cdk-nag 3.0.2's
other packs apply the same rule function (``src/packs/*.ts``). The NIST 800-53 rev. 5 id leads
where a rule has one (AwsSolutions' ``ELB2`` and ``S1`` are acknowledged beside it with the
same reason); AwsSolutions leads where rev. 5 lacks the rule."""


def acknowledge_all(scope: IConstruct, reasons: dict[str, str]) -> None:
    """Acknowledges each finding id in ``reasons`` on ``scope`` with its reason (one call), and
    the same rule in the other packs (:data:`SAME_RULE`) with the same reason."""
    expanded = dict(reasons)
    for finding, reason in reasons.items():
        for twin in SAME_RULE.get(finding, ()):
            expanded.setdefault(twin, reason)
    _validations(scope).acknowledge(
        *(cdk.Acknowledgment(id=finding, reason=reason) for finding, reason in expanded.items())
    )


_VALIDATIONS: weakref.WeakKeyDictionary[IConstruct, cdk.Validations] = weakref.WeakKeyDictionary()
"""``cdk.Validations.of`` per scope object: a stateless wrapper of its scope (aws-cdk-lib makes
a new one on every call), so one per scope saves a round trip to the jsii kernel on every
further acknowledgement there."""


def _validations(scope: IConstruct) -> cdk.Validations:
    found = _VALIDATIONS.get(scope)
    if found is None:
        found = _VALIDATIONS[scope] = cdk.Validations.of(scope)
    return found
