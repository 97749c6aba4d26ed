"""cdk-nag acknowledgements for what CDK Pipelines creates, each finding by its exact id, on the
construct that draws it, with why it stays.

What CDK Pipelines generates (the artifact bucket, the CodeBuild projects and their roles) is
acknowledged category by category below; the verify steps' own statements (written in
:mod:`ha_inference.delivery.verify_step`) are acknowledged on each verify role. Any finding not
listed here stays a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_iam as iam
from constructs import IConstruct

from ha_inference._internal.nag import acknowledge, acknowledge_all, wildcard_resource_finding

if TYPE_CHECKING:
    from ha_inference.delivery.pipeline import RegionalDeliveryPipeline

ARTIFACT_GRANTS = (
    "CDK Pipelines grants each role the object-level actions of one family (s3:GetObject*, "
    "s3:GetBucket*, s3:List*, s3:DeleteObject*, s3:Abort*) with bucket.grant_read or "
    "grant_read_write, on the pipeline's own artifact bucket only; the wildcard covers the "
    "versioned and tagging variants of the same reads and writes."
)
ARTIFACT_OBJECTS = (
    "Pipeline artifacts are objects CodePipeline names per execution; the role may reach "
    "every object of the pipeline's own artifact (or replication) bucket and of no other."
)
INLINE_GRANTS = (
    "CDK writes each role's grants into one inline DefaultPolicy bound to that role and "
    "deleted with it; its statements are scoped to this pipeline's bucket, projects and "
    "stacks, which a shared customer managed policy could not be without widening it."
)
SSE_S3 = (
    "Build output and pipeline artifacts stay in this account's artifact buckets encrypted "
    "with S3 managed keys (SSE-S3). A customer managed key would make CDK grant the pipeline "
    "role kms:Decrypt, Encrypt, GenerateDataKey* and ReEncrypt* on '*' for the replication "
    "keys of the other Regions, a broader grant than the encryption it adds."
)
BUILD_LOGS = (
    "CodeBuild writes a log stream per build and a report per run under names derived from "
    "the project; the wildcard is limited to this project's log group and report groups."
)
ASSET_ROLE = (
    "CDK Pipelines' one asset-publishing role runs every asset project of the pipeline "
    "(their names come after the role), so it may start and read builds and write logs and "
    "reports of any project in this account and Region; it assumes only the CDK bootstrap "
    "file-publishing roles."
)
SELF_MUTATION_LOOKUP = (
    "The self-mutation build runs cdk deploy of the pipeline stack: it reads any stack's "
    "status and lists buckets to find the CDK bootstrap resources, and assumes only roles "
    "tagged aws-cdk:bootstrap-role (condition on iam:ResourceTag) in this account."
)
PIPELINE_BUCKETS = {
    "AwsSolutions-S1": (
        "Pipeline artifacts are intermediate copies rebuilt from the source repository by "
        "every run; who reads or writes them is recorded by CloudTrail (data events, if "
        "enabled for the account), so server access logs would add a log bucket per Region "
        "for no record CloudTrail lacks."
    ),
    "NIST.800.53.R5-S3BucketLoggingEnabled": (
        "Pipeline artifacts are intermediate copies rebuilt from the source repository by "
        "every run; access is recorded by CloudTrail data events where the account enables "
        "them, not by a server access log bucket per Region."
    ),
    "NIST.800.53.R5-S3BucketReplicationEnabled": (
        "CodePipeline itself copies the artifacts each Region needs into that Region's "
        "replication bucket; losing a bucket loses nothing the next run does not rebuild from "
        "the source repository."
    ),
    "NIST.800.53.R5-S3BucketVersioningEnabled": (
        "Each execution writes new artifact objects under new keys and never overwrites one; "
        "versions would only keep copies of artifacts the next run rebuilds from source."
    ),
}
VERIFY_STACK = (
    "verify reads its own Region's stacks by name; the stack ARN ends in the id "
    "CloudFormation gives the stack when it is created, unknown at synth."
)
VERIFY_TAGGED = (
    "The names of the Region's functions and endpoints are generated at deploy time; the "
    "statement allows only resources tagged aws:cloudformation:stack-name with one of the "
    "Region's stacks, in the Region and account."
)
VERIFY_DESCRIBES = (
    "These read-only describe and batch-get calls take no resource type (Service "
    "Authorization Reference), so they name '*'; aws:RequestedRegion holds them to the "
    "Region verified."
)


def acknowledge_pipeline(delivery: RegionalDeliveryPipeline) -> None:
    """Acknowledges the findings CDK Pipelines' resources and the verify steps draw."""
    pipeline = delivery.pipeline
    acknowledge_all(
        pipeline,
        {
            **{
                f"AwsSolutions-IAM5[Action::{action}]": ARTIFACT_GRANTS
                for action in (
                    "s3:GetObject*",
                    "s3:GetBucket*",
                    "s3:List*",
                    "s3:DeleteObject*",
                    "s3:Abort*",
                )
            },
            "NIST.800.53.R5-IAMNoInlinePolicy": INLINE_GRANTS,
            "AwsSolutions-CB4": SSE_S3,
        },
    )
    code_pipeline = delivery.code_pipeline
    artifacts = code_pipeline.artifact_bucket
    acknowledge_all(artifacts, PIPELINE_BUCKETS)
    acknowledge(
        pipeline,
        wildcard_resource_finding(pipeline, artifacts.arn_for_objects("*")),
        ARTIFACT_OBJECTS,
    )
    for support in code_pipeline.cross_region_support.values():
        replication = support.replication_bucket
        acknowledge_all(replication, PIPELINE_BUCKETS)
        acknowledge(
            code_pipeline.role,
            wildcard_resource_finding(code_pipeline.role, replication.arn_for_objects("*")),
            ARTIFACT_OBJECTS,
        )
    for project in _projects(delivery):
        _acknowledge_build_logs(project)
    assets = pipeline.node.try_find_child("Assets")
    asset_role = assets.node.try_find_child("FileRole") if assets is not None else None
    if asset_role is not None:
        acknowledge_all(
            asset_role,
            {
                "AwsSolutions-IAM5[Resource::*]": ASSET_ROLE,
                _finding(asset_role, "logs", "log-group:/aws/codebuild/*"): ASSET_ROLE,
                _finding(asset_role, "codebuild", "report-group/*"): ASSET_ROLE,
            },
        )
    if pipeline.self_mutation_enabled:
        role = pipeline.self_mutation_project.role
        assert role is not None
        acknowledge_all(
            role,
            {
                "AwsSolutions-IAM5[Resource::*]": SELF_MUTATION_LOOKUP,
                f"AwsSolutions-IAM5[Resource::arn:*:iam::{_account(role)}:role/*]": (
                    SELF_MUTATION_LOOKUP
                ),
            },
        )
    for region, step in delivery.verify_steps.items():
        _acknowledge_verify(step.project.role, region, delivery.stack_names[region])


def _acknowledge_verify(role: iam.IRole | None, region: str, stack_names: list[str]) -> None:
    assert role is not None
    findings = {
        _finding(role, "cloudformation", f"stack/{name}/*", region): VERIFY_STACK
        for name in stack_names
    }
    findings[_finding(role, "lambda", "function:*", region)] = VERIFY_TAGGED
    findings[_finding(role, "sagemaker", "endpoint/*", region)] = VERIFY_TAGGED
    findings["AwsSolutions-IAM5[Resource::*]"] = VERIFY_DESCRIBES
    acknowledge_all(role, findings)


def _acknowledge_build_logs(project: codebuild.IProject) -> None:
    role = project.role
    assert role is not None
    name = project.project_name
    acknowledge_all(
        role,
        {
            _finding(role, "logs", f"log-group:/aws/codebuild/{name}:*"): BUILD_LOGS,
            _finding(role, "codebuild", f"report-group/{name}-*"): BUILD_LOGS,
        },
    )


def _projects(delivery: RegionalDeliveryPipeline) -> Iterator[codebuild.IProject]:
    """The CodeBuild projects with a role of their own: synth, self-mutation, verify steps."""
    pipeline = delivery.pipeline
    yield pipeline.synth_project
    if pipeline.self_mutation_enabled:
        yield pipeline.self_mutation_project
    for step in delivery.verify_steps.values():
        yield step.project


def _account(scope: IConstruct) -> str:
    return str(cdk.Stack.of(scope).account)


def _finding(scope: IConstruct, service: str, resource: str, region: str | None = None) -> str:
    """The IAM5 finding of ``arn:<partition>:<service>:<region>:<account>:<resource>``."""
    stack = cdk.Stack.of(scope)
    arn = f"arn:{stack.partition}:{service}:{region or stack.region}:{stack.account}:{resource}"
    return wildcard_resource_finding(scope, arn)
