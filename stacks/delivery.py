"""``ha-inference:pipeline``: the reference app delivered by a pipeline, one wave of Regions at a
time, instead of ``cdk deploy --all``.

Each Region's stack lives in a ``cdk.Stage`` named after the Region, with the stack name it has
without the pipeline (``HaInference-<region>``). The stage's name enters construct paths, so
some logical ids differ from a ``cdk deploy`` of the same app (docs/delivery.md, "Taking over
stacks deployed with cdk deploy"). Each stack gets one composite alarm over its health alarms
(``DeliveryHealth``, named ``HaInference-<region>-DeliveryHealth``), which the wave's rollback
condition watches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import pipelines
from constructs import Construct

from ha_inference import DeliveryWave, RegionalDeliveryPipeline, RegionDelivery, RegionHealthAlarm
from stacks.config import PipelineSettings, Settings
from stacks.regional_stack import RegionalStack

PIPELINE_STACK_NAME = "HaInferencePipeline"

VERIFY_INSTALL = ("python3 -m pip install --quiet -c constraints.txt '.[tools]'",)
"""The verify steps install ha-inference from the same checkout the pipeline synthesized."""

VERIFY_OUTPUTS = {
    "RETRIEVAL_FUNCTION_NAME": "RetrievalFunctionName",
    "INGESTION_FUNCTION_NAME": "IngestionFunctionName",
    "SELF_HOSTED_ENDPOINT_NAME": "SelfHostedEndpointName",
}
"""Stack outputs each Region's verify step receives as environment variables (those the stack
has), for checks a team adds to the step."""


def add_delivery(
    app: cdk.App, settings: Settings, stack_name: Callable[[str], str]
) -> list[RegionalStack]:
    """One stage per Region holding its regional stack, and the pipeline stack that deploys
    them in the configured waves."""
    pipeline = settings.pipeline
    assert pipeline is not None
    stacks: dict[str, RegionalStack] = {}
    for region in settings.regions:
        stage = cdk.Stage(
            app,
            region.region,
            env=cdk.Environment(account=settings.account, region=region.region),
        )
        name = stack_name(region.region)
        stacks[region.region] = RegionalStack(
            stage, name, settings=settings, region=region, stack_name=name
        )
    PipelineStack(
        app,
        PIPELINE_STACK_NAME,
        settings=settings,
        pipeline=pipeline,
        deliveries={region: _delivery(stack) for region, stack in stacks.items()},
    )
    return list(stacks.values())


def _delivery(stack: RegionalStack) -> RegionDelivery:
    health = RegionHealthAlarm(stack, "DeliveryHealth", alarms=stack.health_alarms)
    outputs = {
        variable: output
        for variable, output_id in VERIFY_OUTPUTS.items()
        if isinstance(output := stack.node.try_find_child(output_id), cdk.CfnOutput)
    }
    return RegionDelivery(stage=_stage_of(stack), alarms=[health.alarm], outputs=outputs)


def _stage_of(stack: RegionalStack) -> cdk.Stage:
    stage = cdk.Stage.of(stack)
    assert stage is not None
    return stage


class PipelineStack(cdk.Stack):
    """The delivery pipeline of the reference app, in ``ha-inference:pipeline``'s Region."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        pipeline: PipelineSettings,
        deliveries: dict[str, RegionDelivery],
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            env=cdk.Environment(account=settings.account, region=pipeline.region),
            description=(
                "ha-inference reference app: the pipeline that deploys the regional stacks in "
                "waves (" + "; ".join(f"{n}: {', '.join(r)}" for n, r in pipeline.waves) + ")"
            ),
            **kwargs,
        )
        self.delivery = RegionalDeliveryPipeline(
            self,
            "Delivery",
            source=self._source(pipeline),
            waves=[
                DeliveryWave(name=name, regions=[deliveries[region] for region in regions])
                for name, regions in pipeline.waves
            ],
            bake_time=cdk.Duration.minutes(pipeline.bake_minutes),
            synth_commands=["make synth"],
            verify_install_commands=list(VERIFY_INSTALL),
        )

    def _source(self, pipeline: PipelineSettings) -> pipelines.CodePipelineSource:
        if pipeline.codecommit_repository is not None:
            repository = codecommit.Repository.from_repository_name(
                self, "Repository", pipeline.codecommit_repository
            )
            return pipelines.CodePipelineSource.code_commit(repository, pipeline.branch)
        assert pipeline.repository is not None and pipeline.connection_arn is not None
        return pipelines.CodePipelineSource.connection(
            pipeline.repository, pipeline.branch, connection_arn=pipeline.connection_arn
        )
