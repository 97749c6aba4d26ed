"""The post-deploy step of one Region: ``ha-inference verify`` on that Region's part of the
cloud assembly the pipeline synthesized, with the calls verify makes allowed in that Region and
account only.

verify reads the deployed stacks' templates to know what must serve in which AZ, so the step
gets the synth step's output (the same assembly this run deploys) next to the source checkout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines

from ha_inference.tools.verify import PERMISSIONS

VERIFY_COMMAND = "python3 -m ha_inference.tools verify"
"""``ha-inference verify`` through the interpreter: a console script that pip installs may not
be on the build image's ``PATH`` (pyenv shims, ``--user`` installs), ``python3`` is."""

ASSEMBLY_DIR = "cdk.out"
"""Where the step finds the synth step's output, relative to the source checkout."""

STACK_NAME_TAG = "aws:cloudformation:stack-name"
"""The tag CloudFormation puts on every resource it creates that supports tags (AWS
CloudFormation User Guide, "Resource tag"), naming the stack."""

BY_STACK = frozenset({"cloudformation:DescribeStacks", "cloudformation:ListStackResources"})
"""Actions on the stack itself: the Region's stack ARNs are known at synth."""

BY_STACK_TAG = {
    "lambda:GetFunctionConfiguration": ("lambda", "function:*"),
    "lambda:InvokeFunction": ("lambda", "function:*"),
    "sagemaker:DescribeEndpoint": ("sagemaker", "endpoint/*"),
}
"""Actions on resources whose names CloudFormation generates at deploy time: any of them in the
Region and account, only if tagged with one of the Region's stack names (both resource types
take ``aws:ResourceTag/${TagKey}``, Service Authorization Reference)."""

BY_REGION = frozenset(
    {
        "elasticloadbalancing:DescribeTargetHealth",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "aoss:BatchGetCollection",
        "aoss:BatchGetVpcEndpoint",
    }
)
"""Read-only calls that name no resource type (Service Authorization Reference): ``*``, held to
the Region with ``aws:RequestedRegion``."""


def verify_step(
    step_id: str,
    *,
    source: pipelines.IFileSetProducer,
    assembly: pipelines.IFileSetProducer,
    assembly_path: str,
    region: str,
    account: str,
    partition: str,
    stack_names: Sequence[str],
    outputs: Mapping[str, cdk.CfnOutput],
    install_commands: Sequence[str],
) -> pipelines.CodeBuildStep:
    """A CodeBuild step that runs verify on ``assembly_path`` (a folder of the synth output)."""
    return pipelines.CodeBuildStep(
        step_id,
        input=source,
        additional_inputs={ASSEMBLY_DIR: assembly},
        env_from_cfn_outputs=dict(outputs),
        install_commands=list(install_commands),
        commands=[f"{VERIFY_COMMAND} {ASSEMBLY_DIR}/{assembly_path}"],
        role_policy_statements=verify_statements(
            region=region, account=account, partition=partition, stack_names=stack_names
        ),
    )


def verify_statements(
    *, region: str, account: str, partition: str, stack_names: Sequence[str]
) -> list[iam.PolicyStatement]:
    """What ``ha-inference verify`` may call for ``stack_names`` in ``region``, and nothing more."""
    actions = sorted(p.action for p in PERMISSIONS if p.action)
    unknown = [a for a in actions if a not in BY_STACK | BY_STACK_TAG.keys() | BY_REGION]
    if unknown:
        raise LookupError(
            f"ha-inference verify calls {', '.join(unknown)}, which the delivery pipeline's "
            "verify step does not know how to scope; add each action to BY_STACK, BY_STACK_TAG "
            "or BY_REGION in ha_inference/delivery/verify_step.py"
        )

    def arn(service: str, resource: str) -> str:
        return f"arn:{partition}:{service}:{region}:{account}:{resource}"

    statements = [
        iam.PolicyStatement(
            sid="VerifyReadsTheRegionsStacks",
            actions=[a for a in actions if a in BY_STACK],
            resources=[arn("cloudformation", f"stack/{name}/*") for name in stack_names],
        )
    ]
    for service in sorted({service for service, _ in BY_STACK_TAG.values()}):
        scoped = [a for a in actions if a in BY_STACK_TAG and BY_STACK_TAG[a][0] == service]
        statements.append(
            iam.PolicyStatement(
                sid=f"VerifyReadsTheStacks{service.title()}Resources",
                actions=scoped,
                resources=sorted({arn(service, BY_STACK_TAG[a][1]) for a in scoped}),
                conditions={
                    "StringEquals": {f"aws:ResourceTag/{STACK_NAME_TAG}": list(stack_names)}
                },
            )
        )
    statements.append(
        iam.PolicyStatement(
            sid="VerifyDescribesInTheRegion",
            actions=[a for a in actions if a in BY_REGION],
            resources=["*"],
            conditions={"StringEquals": {"aws:RequestedRegion": region}},
        )
    )
    return statements
