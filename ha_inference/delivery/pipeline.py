"""Deliver a multi-Region app one geography at a time: a CDK Pipelines wave per geography, a
verify step after each Region, and a rollback of the wave when a Region's alarms fire.

CDK Pipelines turns each wave into one CodePipeline stage. It does not expose stage conditions
(``WaveProps`` and ``AddStageOpts`` take only ``pre``, ``post`` and ``stack_steps``), so the
wave's on-success condition is written into the built pipeline with ``add_property_override``,
the escape hatch the AWS CDK guide documents for properties an L2 does not model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct

from ha_inference._internal import sequences
from ha_inference._internal.props import check_fields, checked_props
from ha_inference._internal.tokens import is_unresolved
from ha_inference.delivery.acknowledgements import acknowledge_pipeline
from ha_inference.delivery.health import is_alarm
from ha_inference.delivery.verify_step import verify_step

MAX_RULES_PER_CONDITION = 5
"""A stage's ``OnSuccess`` holds exactly one condition (botocore ``codepipeline``
``ConditionList``: min 1, max 1) of 1 to 5 rules (``RuleDeclarationList``; API_Condition)."""

MAX_ACTIONS_PER_STAGE = 50
"""Actions in one CodePipeline stage: an older copy of the CodePipeline quotas page states
"Number of actions in a stage: minimum of 1, maximum of 50" (not confirmed on the current page),
and CDK Pipelines splits a wave into stages ``<wave>.1``, ``<wave>.2``... of at most 50 actions
(``chunkTranches(50, ...)`` in ``pipelines/lib/codepipeline/codepipeline.js``)."""

STAGE_NAME = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
"""CodePipeline ``StageName`` (botocore ``codepipeline`` model)."""

RESERVED_STAGE_NAMES = frozenset({"Source", "Build", "UpdatePipeline", "Assets"})
"""Stages CDK Pipelines adds before the waves."""

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

CLOUDWATCH_ALARM_RULE = {
    "Category": "Rule",
    "Owner": "AWS",
    "Provider": "CloudWatchAlarm",
    "Version": "1",
}
"""CodePipeline rule reference, "CloudWatchAlarm"."""


@dataclass(frozen=True)
class RegionDelivery:
    """One Region of a wave.

    :param stage: the ``cdk.Stage`` holding the Region's stacks, with an explicit Region.
    :param alarms: alarms in that Region whose ALARM state rolls the wave back (each with a
        name known at synth, for example a ``RegionHealthAlarm``). Default: none, the Region is
        verified but never rolled back on an alarm.
    :param outputs: stack outputs of the stage handed to the Region's verify step as environment
        variables (``env_from_cfn_outputs``), for commands added to it. Default: none.
    """

    stage: cdk.Stage
    alarms: Sequence[cloudwatch.IAlarm] = ()
    outputs: Mapping[str, cdk.CfnOutput] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self)


@dataclass(frozen=True)
class DeliveryWave:
    """Regions deployed together (one geography), before the next wave starts.

    :param name: the wave's name: the CodePipeline stage's name when the wave has two or more
        Regions (a one-Region wave takes its stage's name, as CDK Pipelines does).
    :param regions: the wave's Regions, deployed in parallel.
    """

    name: str
    regions: Sequence[RegionDelivery]

    def __post_init__(self) -> None:
        check_fields(self)


class RegionalDeliveryPipeline(Construct):
    """A self-mutating CodePipeline (type V2) that deploys one wave of Regions at a time.

    Every Region's stacks deploy from the one synthesized assembly; after they deploy, a
    CodeBuild step runs ``ha-inference verify`` on that Region's stacks, and a Region
    that does not serve in every AZ fails the wave, which stops the pipeline. When every Region
    of a wave has verified, the wave's on-success condition runs CodePipeline's
    ``CloudWatchAlarm`` rule on each Region's alarms (``WaitTime`` = ``bake_time``) and rolls the
    whole wave back to the last run that passed it (result ``ROLLBACK``) when a rule fails.
    What ``WaitTime`` waits for is described two ways by AWS (docs/delivery.md, "What the alarm
    gate does"): per the CodePipeline user guide's console steps, an alarm in OK at the first
    check passes at once and one in ALARM gets ``WaitTime`` minutes to recover.

    Resources: ``Pipeline`` (``pipelines.CodePipeline``: artifact bucket, roles, the synth,
    self-mutation, asset and verify CodeBuild projects) and, for every Region outside the
    pipeline's, a replication stack CDK adds next to this stack. Artifacts are encrypted with
    S3 managed keys.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source: pipelines.CodePipelineSource,
        waves: Sequence[DeliveryWave],
        verify_install_commands: Sequence[str],
        bake_time: cdk.Duration | None = None,
        synth_commands: Sequence[str] = ("make synth",),
        pipeline_name: str | None = None,
    ) -> None:
        """
        :param source: where the app's code comes from, for example
            ``pipelines.CodePipelineSource.connection("owner/repo", "main", connection_arn=...)``.
        :param waves: the waves in the order they deploy; each Region in exactly one.
        :param verify_install_commands: what installs ha-inference with its ``tools`` extra
            (boto3) in the verify steps, run in the source checkout, for example
            ``["pip install -r requirements.txt"]`` when your requirements name
            ``ha-inference[tools]``.
        :param bake_time: the ``WaitTime`` of each alarm rule, in whole minutes. Default: 30
            minutes.
        :param synth_commands: the commands that synthesize the app into ``cdk.out``. Default:
            ``make synth``.
        :param pipeline_name: the pipeline's name. Default: one CloudFormation generates.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        self.waves = _checked_waves(waves, stack)
        self.bake_minutes = _bake_minutes(bake_time or cdk.Duration.minutes(30))
        if not isinstance(source, pipelines.CodePipelineSource):
            raise TypeError(
                f"source must be a pipelines.CodePipelineSource (connection, code_commit, s3, "
                f"ecr), got {source!r}"
            )
        self.synth = pipelines.ShellStep(
            "Synth",
            input=source,
            commands=_commands("synth_commands", synth_commands),
            primary_output_directory="cdk.out",
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            synth=self.synth,
            pipeline_type=codepipeline.PipelineType.V2,
            pipeline_name=pipeline_name,
            cross_account_keys=False,
        )
        install = _commands("verify_install_commands", verify_install_commands)
        self.verify_steps: dict[str, pipelines.CodeBuildStep] = {}
        """Each Region's verify step, by Region."""
        self.stack_names: dict[str, list[str]] = {}
        """The stacks each Region's stage deploys, by Region."""
        for wave in self.waves:
            self._add_wave(wave, source, install)
        self.pipeline.build_pipeline()
        self.code_pipeline: codepipeline.Pipeline = self.pipeline.pipeline
        self.stage_names = self._stage_names()
        """The CodePipeline stage of each wave, by wave name."""
        self._add_rollback_conditions()
        acknowledge_pipeline(self)

    def _add_wave(
        self, wave: DeliveryWave, source: pipelines.IFileSetProducer, install: list[str]
    ) -> None:
        """One CDK Pipelines wave: each Region's stage, with its verify step after it."""
        added = self.pipeline.add_wave(wave.name)
        stack = cdk.Stack.of(self)
        for delivery in wave.regions:
            stage = delivery.stage
            region = str(stage.region)
            self.stack_names[region] = _stack_names(stage)
            step = verify_step(
                f"Verify-{region}",
                source=source,
                assembly=self.synth,
                assembly_path=stage.artifact_id,
                region=region,
                account=str(stage.account or stack.account),
                partition=stack.partition,
                stack_names=self.stack_names[region],
                outputs=delivery.outputs,
                install_commands=install,
            )
            self.verify_steps[region] = step
            added.add_stage(stage, post=[step])

    def _stage_names(self) -> dict[str, str]:
        """The one CodePipeline stage of each wave: CDK Pipelines names it after the wave, or
        after the wave's only stage; a wave of more than 50 actions it splits into several
        (``<name>.1``, ``<name>.2``...), where a rollback would undo only the last part."""
        built = {stage.stage_name: len(stage.actions) for stage in self.code_pipeline.stages}
        names = {}
        for wave in self.waves:
            name = wave.name if len(wave.regions) > 1 else wave.regions[0].stage.stage_name
            parts = [n for n in built if n.startswith(f"{name}.") and n[len(name) + 1 :].isdigit()]
            if name not in built and parts:
                raise ValueError(
                    f"waves: wave {wave.name!r} needs {sum(built[p] for p in parts)} actions "
                    f"(two per stack and one verify step per Region), more than the "
                    f"{MAX_ACTIONS_PER_STAGE} one CodePipeline stage holds, so CDK Pipelines "
                    f"splits it into {', '.join(parts)}, and a rollback of the wave would undo "
                    "only the last part; split the wave into waves of fewer Regions"
                )
            if name not in built:  # pragma: no cover - a change in how CDK Pipelines names stages
                raise RuntimeError(
                    f"wave {wave.name!r} has no CodePipeline stage named {name!r} (stages: "
                    f"{', '.join(built)}); CDK Pipelines changed how it names a wave's stage"
                )
            names[wave.name] = name
        return names

    def _add_rollback_conditions(self) -> None:
        """Each wave's on-success condition (one rule per alarm), and the pipeline role's
        permission to read exactly those alarms."""
        stack = cdk.Stack.of(self)
        cfn = self.code_pipeline.node.default_child
        assert isinstance(cfn, codepipeline.CfnPipeline)
        built = [stage.stage_name for stage in self.code_pipeline.stages]
        arns: list[str] = []
        for wave in self.waves:
            rules = []
            for delivery in wave.regions:
                region = str(delivery.stage.region)
                account = str(delivery.stage.account or stack.account)
                for index, alarm in enumerate(delivery.alarms, start=1):
                    name = literal_alarm_name(alarm)
                    rules.append(
                        {
                            "Name": f"{region}-alarm-{index}",
                            "RuleTypeId": CLOUDWATCH_ALARM_RULE,
                            "Configuration": {
                                "AlarmName": name,
                                "WaitTime": str(self.bake_minutes),
                            },
                            "Region": region,
                        }
                    )
                    arns.append(f"arn:{stack.partition}:cloudwatch:{region}:{account}:alarm:{name}")
            if rules:
                index = built.index(self.stage_names[wave.name])
                cfn.add_property_override(
                    f"Stages.{index}.OnSuccess",
                    {"Conditions": [{"Result": "ROLLBACK", "Rules": rules}]},
                )
        if arns:
            self.code_pipeline.add_to_role_policy(
                iam.PolicyStatement(
                    sid="ReadTheWavesAlarms", actions=["cloudwatch:DescribeAlarms"], resources=arns
                )
            )


def literal_alarm_name(alarm: cloudwatch.IAlarm) -> str:
    """The alarm's name, known at synth: ``alarm_name``, or the name its CloudFormation resource
    was given (``IAlarm.alarm_name`` of a created alarm is a reference even then)."""
    name = alarm.alarm_name
    if not is_unresolved(name):
        return name
    resource = alarm.node.default_child
    given = getattr(resource, "alarm_name", None)
    if isinstance(given, str) and not is_unresolved(given):
        return given
    raise ValueError(
        f"alarms: {alarm.node.path} has a name CloudFormation generates at deploy time, which "
        "the pipeline (another stack) cannot read; give the alarm an alarm_name, or combine "
        "the Region's alarms in a RegionHealthAlarm, which names itself"
    )


def _stack_names(stage: cdk.Stage) -> list[str]:
    names = [
        child.stack_name
        for child in stage.node.find_all()
        if isinstance(child, cdk.Stack) and _in_stage(child, stage)
    ]
    if not names:
        raise ValueError(
            f"waves: stage {stage.node.path!r} holds no stack, so there is nothing to deploy "
            "or verify there; add the Region's stacks to the stage"
        )
    unresolved = [n for n in names if is_unresolved(n)]
    if unresolved:
        raise ValueError(
            f"waves: stage {stage.node.path!r} has a stack with a deploy-time name; give each "
            "stack a literal stack_name (verify and its permissions name the stacks)"
        )
    return names


def _in_stage(construct: Construct, stage: cdk.Stage) -> bool:
    """Whether ``construct`` belongs to ``stage`` itself (not to a stage nested in it)."""
    owner = cdk.Stage.of(construct)
    return owner is not None and owner.node.path == stage.node.path


def _commands(prop: str, commands: Sequence[str]) -> list[str]:
    if (
        isinstance(commands, str)
        or not isinstance(commands, Sequence)
        or not commands
        or not all(isinstance(c, str) and c.strip() for c in commands)
    ):
        raise TypeError(f"{prop} must be a non-empty list of shell commands, got {commands!r}")
    return list(commands)


def _bake_minutes(bake_time: cdk.Duration) -> int:
    if not isinstance(bake_time, cdk.Duration):
        raise TypeError(f"bake_time must be a cdk.Duration, got {bake_time!r}")
    minutes = bake_time.to_minutes(integral=False)
    if is_unresolved(minutes) or minutes < 1 or minutes != int(minutes):
        raise ValueError(
            f"bake_time must be a whole number of minutes, at least 1 (the rule's WaitTime is "
            f"in minutes), got {bake_time.to_human_string()}; use cdk.Duration.minutes(30)"
        )
    return int(minutes)


def _checked_waves(waves: Sequence[DeliveryWave], stack: cdk.Stack) -> tuple[DeliveryWave, ...]:
    """Every check that needs no built pipeline: names, Regions once each, alarm rule count."""
    if isinstance(waves, str) or not isinstance(waves, Sequence) or not waves:
        raise ValueError(f"waves must be a non-empty list of DeliveryWave, got {waves!r}")
    for index, wave in enumerate(waves):
        if not isinstance(wave, DeliveryWave):
            raise TypeError(f"waves[{index}] must be a DeliveryWave, got {wave!r}")
        _check_wave(f"waves[{index}]", wave, stack)
    repeated = sequences.repeated(w.name for w in waves)
    if repeated:
        raise ValueError(
            f"waves: {', '.join(repeated)} names more than one wave; name each wave once"
        )
    regions = [str(d.stage.region) for w in waves for d in w.regions]
    repeated = sequences.repeated(regions)
    if repeated:
        raise ValueError(
            f"waves list {', '.join(repeated)} in more than one wave (or twice in one); deploy "
            "each Region in exactly one wave"
        )
    return tuple(waves)


def _check_wave(prop: str, wave: DeliveryWave, stack: cdk.Stack) -> None:
    if not isinstance(wave.name, str) or not STAGE_NAME.match(wave.name):
        raise ValueError(
            f"{prop}.name must be 1 to 100 letters, digits or . @ - _ (a CodePipeline stage "
            f"name), got {wave.name!r}"
        )
    if wave.name in RESERVED_STAGE_NAMES:
        raise ValueError(
            f"{prop}.name {wave.name!r} is a stage CDK Pipelines adds itself "
            f"({', '.join(sorted(RESERVED_STAGE_NAMES))}); choose another name"
        )
    if isinstance(wave.regions, str) or not isinstance(wave.regions, Sequence) or not wave.regions:
        raise ValueError(
            f"{prop} ({wave.name}) has no Region; give it at least one RegionDelivery or leave "
            "the wave out"
        )
    rules = 0
    for index, delivery in enumerate(wave.regions):
        where = f"{prop}.regions[{index}]"
        if not isinstance(delivery, RegionDelivery) or not cdk.Stage.is_stage(delivery.stage):
            raise TypeError(f"{where} must be a RegionDelivery over a cdk.Stage, got {delivery!r}")
        _check_delivery(where, delivery, stack)
        rules += len(delivery.alarms)
    if rules > MAX_RULES_PER_CONDITION:
        raise ValueError(
            f"{prop} ({wave.name}) gates on {rules} alarms, but a CodePipeline stage takes one "
            f"on-success condition of at most {MAX_RULES_PER_CONDITION} rules and a wave is one "
            "stage; give each Region one alarm (a RegionHealthAlarm over its health alarms) "
            f"or split the wave so it holds at most {MAX_RULES_PER_CONDITION} alarms"
        )


def _check_delivery(where: str, delivery: RegionDelivery, stack: cdk.Stack) -> None:
    stage = delivery.stage
    region, account = stage.region, stage.account
    if region is None or is_unresolved(region):
        raise ValueError(
            f"{where}.stage ({stage.node.path}) has no explicit Region; create the stage with "
            "env=cdk.Environment(account=..., region=...)"
        )
    literal = (
        account is not None and not is_unresolved(account) and not is_unresolved(stack.account)
    )
    if literal and account != stack.account:
        raise ValueError(
            f"{where}.stage ({stage.node.path}) deploys to account {account}, the pipeline "
            f"is in {stack.account}; this pipeline delivers to its own account only (the "
            "alarm rules and verify steps run with its roles), so deploy a pipeline per "
            "account"
        )
    if isinstance(delivery.alarms, str) or not isinstance(delivery.alarms, Sequence):
        raise TypeError(f"{where}.alarms must be a list of cloudwatch.IAlarm")
    for index, alarm in enumerate(delivery.alarms):
        if not is_alarm(alarm):
            raise TypeError(f"{where}.alarms[{index}] must be a cloudwatch.IAlarm, got {alarm!r}")
        literal_alarm_name(alarm)
        alarm_region = cdk.Stack.of(alarm).region
        if not is_unresolved(alarm_region) and alarm_region != region:
            raise ValueError(
                f"{where}.alarms[{index}] ({alarm.node.path}) is in {alarm_region}, the stage in "
                f"{region}; give each Region its own Region's alarms"
            )
    if not isinstance(delivery.outputs, Mapping):
        raise TypeError(f"{where}.outputs must map environment variable names to cdk.CfnOutput")
    for name, output in delivery.outputs.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise ValueError(
                f"{where}.outputs has {name!r}, which is not an environment variable name; use "
                "letters, digits and _ (not starting with a digit)"
            )
        if not isinstance(output, cdk.CfnOutput) or not _in_stage(output, stage):
            raise ValueError(
                f"{where}.outputs[{name!r}] must be a cdk.CfnOutput of a stack in the Region's "
                "stage (the verify step runs after that stage deploys)"
            )
