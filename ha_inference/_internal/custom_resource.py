"""Custom resources through aws-cdk-lib's provider framework, with the library's defaults.

``custom_resources.Provider`` answers CloudFormation for the handler on success, on error and
when the handler times out, so a handler only returns a result or raises. This module adds what
every provider here needs: a framework role with no managed policies, the framework's logs in
the handler's log group, and the acknowledgements its framework function draws.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import custom_resources as cr
from constructs import Construct

from ha_inference._internal.nag import (
    CLOUDFORMATION_EVENT_FUNCTION,
    FRAMEWORK_FUNCTION,
    INLINE_POLICY,
    acknowledge,
    acknowledge_all,
    wildcard_resource_finding,
)

WAITER_NO_TRACING = (
    "The waiter is aws-cdk-lib's provider-framework state machine, which exposes no tracing "
    "option; it only polls the isComplete function at a fixed interval, and every poll and "
    "state transition is in its log (level ALL), which is what tracing would show."
)


class HandlerProvider(Construct):
    """A ``custom_resources.Provider`` for one handler function.

    Resources: ``Provider`` (the framework's onEvent function, and with ``is_complete`` its
    waiter state machine and functions), ``FrameworkRole`` and, with ``is_complete``,
    ``FrameworkCompleteRole``.

    Defaults: the framework functions log to ``log_group`` (the handler's); the onEvent
    function's role may only invoke the handlers, start the waiter and write that log group.
    With ``is_complete``, the framework's isComplete and onTimeout functions get a role of
    their own that may only invoke the handlers and write the log group (one shared role
    would be a dependency cycle: the onEvent role's policy names the waiter, which names the
    functions, which wait for their role's policy), and the waiter state machine logs every
    state transition (level ALL, without execution data: the events carry CloudFormation's
    pre-signed response URL) to the same log group. The functions' environment is encrypted
    with ``environment_key`` when given.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        on_event: lambda_.IFunction,
        log_group: logs.ILogGroup,
        is_complete: lambda_.IFunction | None = None,
        query_interval: cdk.Duration | None = None,
        total_timeout: cdk.Duration | None = None,
        environment_key: kms.IKey | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "FrameworkRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="CloudFormation custom-resource framework: invokes one handler only",
        )
        log_group.grant_write(self.role)
        self.complete_role: iam.Role | None = None
        if is_complete is not None:
            self.complete_role = iam.Role(
                self,
                "FrameworkCompleteRole",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description="CloudFormation custom-resource framework: waits on one resource",
            )
            log_group.grant_write(self.complete_role)
        self.provider = cr.Provider(
            self,
            "Provider",
            on_event_handler=on_event,
            is_complete_handler=is_complete,
            query_interval=query_interval,
            total_timeout=total_timeout,
            framework_on_event_role=self.role,
            framework_complete_and_timeout_role=self.complete_role,
            log_group=log_group,
            provider_function_env_encryption=environment_key,
            waiter_state_machine_log_options=(
                cr.LogOptions(
                    destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False
                )
                if is_complete is not None
                else None
            ),
            disable_waiter_state_machine_logging=False if is_complete is not None else None,
        )
        # aws-cdk-lib lets every framework function invoke every user handler.
        handlers = [on_event] if is_complete is None else [on_event, is_complete]
        for role in (self.role, self.complete_role):
            if role is None:
                continue
            for handler in handlers:
                acknowledge(
                    role,
                    wildcard_resource_finding(self, f"{handler.function_arn}:*"),
                    "The framework invokes the handler functions by ARN; the provider framework "
                    "also allows those functions' versions and aliases (<arn>:*), nothing else.",
                )
            acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        for child in self.provider.node.children:
            if isinstance(child, lambda_.Function):
                # CloudFormation invokes the onEvent function; the waiter the other two.
                acknowledge_all(
                    child,
                    CLOUDFORMATION_EVENT_FUNCTION
                    if child.node.id == "framework-onEvent"
                    else FRAMEWORK_FUNCTION,
                )
        if is_complete is not None:
            self._acknowledge_waiter()

    def _acknowledge_waiter(self) -> None:
        """What the framework's waiter state machine (``waiter-state-machine``) draws."""
        waiter = self.provider.node.find_child("waiter-state-machine")
        waiter_role = waiter.node.find_child("Role")
        _trust_state_machines_of_this_account(waiter_role)
        for function_id in ("framework-isComplete", "framework-onTimeout"):
            function = self.provider.node.find_child(function_id)
            assert isinstance(function, lambda_.Function)
            acknowledge(
                waiter_role,
                wildcard_resource_finding(self, f"{function.function_arn}:*"),
                "The waiter invokes the framework's isComplete and onTimeout functions by ARN; "
                "Grant.grantInvoke also allows those functions' versions and aliases (<arn>:*), "
                "nothing else.",
            )
        acknowledge(
            waiter_role,
            "AwsSolutions-IAM5[Resource::*]",
            "aws-cdk-lib's waiter grants its role, on '*' and with no option to narrow them, the "
            "CloudWatch Logs actions Step Functions needs to deliver execution logs: the "
            "vended-log-delivery actions (Create/Get/Update/Delete/ListLogDeliveries, "
            "Put/DescribeResourcePolicies, DescribeLogGroups), which support no resource-level "
            "permissions, plus CreateLogStream and PutLogEvents. The role can otherwise only "
            "invoke the two framework functions.",
        )
        acknowledge(waiter_role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        acknowledge(waiter, "AwsSolutions-SF2", WAITER_NO_TRACING)

    @property
    def service_token(self) -> str:
        """The ``ServiceToken`` of custom resources served by this provider."""
        return self.provider.service_token


def _trust_state_machines_of_this_account(role: object) -> None:
    """Narrows the trust of aws-cdk-lib's waiter role to Step Functions acting for a state
    machine of this account and Region (Step Functions' "Prevent cross-service confused deputy
    issue"); aws-cdk-lib offers no option for it, and the state machine's name is generated."""
    assert isinstance(role, iam.Role)
    cfn = role.node.default_child
    assert isinstance(cfn, iam.CfnRole)
    stack = cdk.Stack.of(role)
    cfn.add_property_override(
        "AssumeRolePolicyDocument.Statement.0.Condition",
        {
            "StringEquals": {"aws:SourceAccount": stack.account},
            "ArnLike": {
                "aws:SourceArn": stack.format_arn(
                    service="states",
                    resource="stateMachine",
                    resource_name="*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            },
        },
    )
