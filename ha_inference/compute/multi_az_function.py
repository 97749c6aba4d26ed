"""A Lambda function in a VPC with a network interface in every selected Availability Zone."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import aws_cdk as cdk
import jsii
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from ha_inference._internal.logs import new_log_group
from ha_inference._internal.nag import INLINE_POLICY, acknowledge
from ha_inference._internal.network import closed_security_group
from ha_inference._internal.props import checked_props
from ha_inference._internal.stacks import stack_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import select_zonal_subnets
from ha_inference.metadata import mark_supporting

NETWORK_INTERFACE_ACTIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:UnassignPrivateIpAddresses",
)
"""What Lambda needs to manage a VPC function's network interfaces.

The ``ec2:*`` part of the AWS managed policy ``AWSLambdaVPCAccessExecutionRole`` (v3);
``ec2:DescribeNetworkInterfaces`` works only on ``"Resource": "*"`` (Lambda developer guide,
"Giving Lambda functions access to resources in an Amazon VPC").
"""

NETWORK_INTERFACE_MUTATIONS = (
    "ec2:AssignPrivateIpAddresses",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:UnassignPrivateIpAddresses",
)
"""The network-interface actions Lambda needs and the function's code never does: denied to
calls made with the function's own credentials (see :func:`deny_to_function_code`)."""

SUPPORTING_KIND = "compute"
"""What :class:`ha_inference.RegionCoverage` calls a function."""

TRACING_ACTIONS = ("xray:PutTelemetryRecords", "xray:PutTraceSegments")
"""What active tracing needs; X-Ray supports no resource-level permissions for these."""

_HANDLER = re.compile(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*$")


PYTHON_RUNTIME = lambda_.Runtime.PYTHON_3_14
"""The Python runtime of every function this library creates unless told otherwise.

Pinned here, not taken from the newest runtime of the installed aws-cdk-lib, so that upgrading
aws-cdk-lib never changes a deployed function's runtime; this library moves it in a release
(with a CHANGELOG entry). cdk-nag's AwsSolutions-L1 flags it once a newer Python runtime exists.
"""


@jsii.implements(ec2.IConnectable)
@jsii.implements(iam.IGrantable)
class MultiAzFunction(Construct):
    """A Lambda function attached to a subnet in every selected AZ of a VPC.

    Lambda runs a VPC function in the AZs of its subnets; with a subnet in each AZ, it keeps
    serving when one AZ is lost (AWS Config ``lambda-vpc-multi-az-check``, Security Hub
    Lambda.5).

    Resources: ``Resource`` (the lambda_.Function), ``ServiceRole``, ``NetworkAndTracing``
    (the role's wildcard-resource permissions), ``SecurityGroup``, ``LogGroup`` and
    ``EnvironmentKey``.

    * a subnet in every selected AZ (at least two, one each);
    * its own security group with no inbound and no outbound rules: the function reaches
      exactly what is allowed to it, for example ``endpoints.connections.allow_default_port_from(
      function)`` for VPC endpoints, or ``function.connections.allow_to(peer, port)``. It is
      never opened to ``0.0.0.0/0``; with NAT, open HTTPS egress explicitly if the code needs
      the internet;
    * an execution role with no AWS managed policies: writes to its own log group, lets
      Lambda manage the function's network interfaces (denied to the function's own code,
      ``lambda:SourceFunctionArn``) and sends traces (active X-Ray tracing). Everything else
      comes from ``grant_*`` calls on other constructs (``collection.grant_read(function)``);
    * the log group is kept on stack deletion (it has a generated name, so a retained one never
      blocks the next deploy); the environment key is scheduled for deletion with the stack.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        code: lambda_.Code,
        handler: str,
        vpc_subnets: ec2.SubnetSelection | None = None,
        runtime: lambda_.Runtime = PYTHON_RUNTIME,
        architecture: lambda_.Architecture = lambda_.Architecture.ARM_64,
        layers: Sequence[lambda_.ILayerVersion] = (),
        ephemeral_storage_size: cdk.Size | None = None,
        environment: Mapping[str, str] | None = None,
        description: str | None = None,
        memory_size: int = 512,
        timeout: cdk.Duration | None = None,
        reserved_concurrent_executions: int | None = None,
        on_failure: lambda_.IDestination | None = None,
        dead_letter_queue: sqs.IQueue | None = None,
        environment_encryption: kms.IKey | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
        role: iam.IRole | None = None,
    ) -> None:
        """
        :param vpc: The VPC the function's network interfaces live in.
        :param code: The function's code, e.g. ``lambda_.Code.from_asset(path)``.
        :param handler: ``module.function``, e.g. ``index.handler``.
        :param vpc_subnets: Where the network interfaces go. Default: one subnet in every AZ of
            the VPC's private subnets.
        :param runtime: Default: Python 3.14 (:data:`PYTHON_RUNTIME`).
        :param architecture: Default: ``arm64`` (Graviton).
        :param layers: Lambda layers. Default: none.
        :param ephemeral_storage_size: ``/tmp`` size, 512 MiB to 10 GiB. Default: 512 MiB.
        :param environment: Environment variables. Default: none.
        :param description: Default: none.
        :param memory_size: MiB, 128-10,240. Default: 512.
        :param timeout: Up to 15 minutes. Default: 60 seconds.
        :param reserved_concurrent_executions: Concurrency reserved for (and capping) this
            function, at least 1. Default: none, the function shares the account's pool.
        :param on_failure: Where failed asynchronous invocations go. Default: nowhere.
        :param dead_letter_queue: SQS queue for failed asynchronous events. Default: none.
        :param environment_encryption: Key for the environment variables at rest.
            Default: a new customer managed key with rotation.
        :param log_retention: How long the log group keeps events. Default: one year.
        :param log_encryption_key: Customer managed key for the log group (a key defined in
            the app gets the policy statement CloudWatch Logs needs). Default: none, CloudWatch
            Logs' own encryption.
        :param role: Execution role to use instead of a new one; the function adds its log,
            network-interface and tracing permissions to it. Default: a new role.
        """
        super().__init__(scope, construct_id)
        mark_supporting(self, SUPPORTING_KIND)
        _check_handler(handler)
        _check_memory(memory_size)
        timeout = timeout if timeout is not None else cdk.Duration.seconds(60)
        _check_timeout(timeout)
        if reserved_concurrent_executions is not None and reserved_concurrent_executions < 1:
            raise ValueError(
                "reserved_concurrent_executions must be at least 1, got "
                f"{reserved_concurrent_executions}; 0 would throttle every invocation, leave it "
                "unset to share the account's concurrency"
            )

        zonal = select_zonal_subnets("vpc_subnets", vpc, vpc_subnets, scope=self)
        self.availability_zones = zonal.availability_zones
        """The AZs of the function's subnets, in subnet order (tokens for an imported VPC)."""

        self.security_group = closed_security_group(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Lambda function network interfaces: outbound HTTPS only",
        )

        self.role: iam.IRole = (
            role
            if role is not None
            else iam.Role(
                self,
                "ServiceRole",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=_role_description(description),
            )
        )
        self.log_group = new_log_group(
            self, "LogGroup", retention=log_retention, encryption_key=log_encryption_key
        )
        if environment_encryption is None:
            environment_encryption = kms.Key(
                self,
                "EnvironmentKey",
                description="Encrypts the environment variables of one Lambda function",
                enable_key_rotation=True,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
        self.environment_key = environment_encryption

        wildcard = iam.Policy(
            self,
            "NetworkAndTracing",
            statements=[
                iam.PolicyStatement(
                    sid="ManageNetworkInterfaces",
                    actions=list(NETWORK_INTERFACE_ACTIONS),
                    resources=["*"],
                ),
                deny_to_function_code(self, NETWORK_INTERFACE_MUTATIONS),
                iam.PolicyStatement(
                    sid="SendTraces", actions=list(TRACING_ACTIONS), resources=["*"]
                ),
            ],
            roles=[self.role],
        )
        acknowledge(wildcard, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        if role is None:
            acknowledge(self.role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
        acknowledge(
            wildcard,
            "AwsSolutions-IAM5[Resource::*]",
            "Only network-interface management for the function's VPC attachment (the ec2 "
            "actions of AWSLambdaVPCAccessExecutionRole; DescribeNetworkInterfaces works only on "
            "*), which Lambda itself calls when it attaches the function; the same policy denies "
            "creating, deleting and re-addressing interfaces to calls made with the function's "
            "own credentials (lambda:SourceFunctionArn), so the code holds none of it. Plus "
            "X-Ray PutTraceSegments/PutTelemetryRecords, which support no resource-level "
            "permissions. Every other permission of the role is scoped and lives in another "
            "policy.",
        )

        self._connections: ec2.Connections | None = None
        self.function = lambda_.Function(
            self,
            "Resource",
            runtime=runtime,
            architecture=architecture,
            layers=list(layers) or None,
            ephemeral_storage_size=ephemeral_storage_size,
            code=code,
            handler=handler,
            description=description,
            environment=dict(environment or {}),
            environment_encryption=environment_encryption,
            memory_size=memory_size,
            timeout=timeout,
            reserved_concurrent_executions=reserved_concurrent_executions,
            on_failure=on_failure,
            dead_letter_queue=dead_letter_queue,
            role=self.role,
            log_group=self.log_group,
            vpc=vpc,
            vpc_subnets=zonal.selection,
            security_groups=[self.security_group],
        )
        # Tracing on the L1: lambda_.Function(tracing=ACTIVE) would add the X-Ray statement
        # (Resource "*") to the role's default policy, where grants from other constructs go;
        # keeping every wildcard in NetworkAndTracing keeps its acknowledgement narrow.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        cfn_function.tracing_config = lambda_.CfnFunction.TracingConfigProperty(mode="Active")
        # Lambda creates the network interfaces while it creates the function.
        self.function.node.add_dependency(wildcard)
        self.log_group.grant_write(self.role)
        environment_encryption.grant_decrypt(self.role)

    @property
    def connections(self) -> ec2.Connections:
        """The function's security group; ``connections.allow_to(peer)`` opens more egress."""
        # Read once: aws-cdk-lib asks for it on every rule it adds (a callback into Python,
        # which jsii finds only on a plain property), and a function's Connections object is
        # made with the function and never replaced.
        if self._connections is None:
            self._connections = self.function.connections
        return self._connections

    @property
    def grant_principal(self) -> iam.IPrincipal:
        """The execution role: pass the function to other constructs' ``grant_*`` methods."""
        return self.role


def _role_description(function_description: str | None) -> str:
    """The execution role's description: what its function does, when the function says."""
    base = "Execution role of a multi-AZ Lambda function (no managed policies)"
    if function_description is None or is_unresolved(function_description):
        return base
    return f"{base}: {function_description}"[:1000]


def deny_to_function_code(scope: Construct, actions: tuple[str, ...]) -> iam.PolicyStatement:
    """A statement denying ``actions`` to calls made with a Lambda function's own credentials.

    Lambda puts ``lambda:SourceFunctionArn`` into the request context of every call the
    function's code makes with its execution role's credentials, and leaves it out of the calls
    Lambda makes on the function's behalf, among them creating and deleting a VPC function's
    network interfaces ("Using source function ARN to control function access behavior", Lambda
    developer guide). Any function of this account and Region matches, so the statement also
    holds for every function a shared role serves.
    """
    stack = stack_of(scope)
    return iam.PolicyStatement(
        sid="NotFromFunctionCode",
        effect=iam.Effect.DENY,
        actions=list(actions),
        resources=["*"],
        conditions={
            "ArnLike": {
                "lambda:SourceFunctionArn": stack.format_arn(
                    service="lambda",
                    resource="function",
                    resource_name="*",
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            }
        },
    )


def _check_handler(handler: str) -> None:
    if not isinstance(handler, str) or not _HANDLER.match(handler):
        raise ValueError(
            f"handler must be 'module.function' (e.g. 'index.handler'), got {handler!r}"
        )


def _check_memory(memory_size: int) -> None:
    if is_unresolved(memory_size):
        return
    if not isinstance(memory_size, int) or not 128 <= memory_size <= 10240:
        raise ValueError(
            f"memory_size must be 128-10240 MiB, got {memory_size!r}; pick a size in that range"
        )


def _check_timeout(timeout: cdk.Duration) -> None:
    if timeout.is_unresolved():
        return
    seconds = timeout.to_seconds()
    if not 1 <= seconds <= 900:
        raise ValueError(
            f"timeout must be 1 second to 15 minutes, got {timeout.to_human_string()}; "
            "Lambda stops functions at 15 minutes"
        )
