"""One alarm per Region that a delivery pipeline can gate on: in ALARM when any of the Region's
health alarms is."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ha_inference._internal.props import checked_props
from ha_inference._internal.tokens import is_unresolved

MAX_ALARM_NAME = 255
"""CloudWatch ``AlarmName``: 1 to 255 characters (botocore ``cloudwatch`` model)."""
MAX_CHILDREN = 100
"""``PutCompositeAlarm``: "The AlarmRule can specify as many as 100 'children' alarms"
(botocore ``cloudwatch`` model)."""


class RegionHealthAlarm(Construct):
    """A composite alarm over a Region's health alarms, with a name known at synth time.

    A CodePipeline stage condition holds one condition of at most five rules, and a wave of
    several Regions is one stage: one rule per alarm runs out at five alarms per wave. One
    composite alarm per Region keeps it at one rule per Region. The name is literal because
    the pipeline lives in another stack and cannot read a name CloudFormation generates.

    Resources: ``Resource`` (AWS::CloudWatch::CompositeAlarm), without actions.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        alarms: Sequence[cloudwatch.IAlarm],
        alarm_name: str | None = None,
    ) -> None:
        """
        :param alarms: the Region's health alarms, all in this stack's account and Region (a
            composite alarm can only watch those).
        :param alarm_name: the composite alarm's name, unique in the account and Region.
            Default: ``<stack name>-<construct id>``.
        """
        super().__init__(scope, construct_id)
        stack = cdk.Stack.of(self)
        _check_alarms(alarms, stack)
        self.alarm_name = _name(alarm_name, stack, construct_id)
        self.alarms = tuple(alarms)
        self.alarm = cloudwatch.CompositeAlarm(
            self,
            "Resource",
            composite_alarm_name=self.alarm_name,
            alarm_rule=cloudwatch.AlarmRule.any_of(
                *(cloudwatch.AlarmRule.from_alarm(a, cloudwatch.AlarmState.ALARM) for a in alarms)
            ),
            alarm_description=(
                f"In ALARM when any of the {len(alarms)} health alarms of {stack.stack_name} "
                "is: a delivery pipeline rolls the Region back on it"
            ),
        )


def _name(given: str | None, stack: cdk.Stack, construct_id: str) -> str:
    if given is None:
        if is_unresolved(stack.stack_name):
            raise ValueError(
                f"alarm_name is needed: stack {stack.node.path!r} has a deploy-time name, so no "
                "literal alarm name can be derived from it; pass alarm_name"
            )
        given = f"{stack.stack_name}-{construct_id}"
    if not isinstance(given, str):
        raise TypeError(f"alarm_name must be a string, got {given!r}")
    if is_unresolved(given) or not 1 <= len(given) <= MAX_ALARM_NAME:
        raise ValueError(
            f"alarm_name must be a literal name of 1 to {MAX_ALARM_NAME} characters (a pipeline "
            f"in another stack reads it), got {given!r}; pass a plain string"
        )
    return given


def is_alarm(value: object) -> bool:
    """Whether ``value`` is a ``cloudwatch.IAlarm`` (jsii interfaces cannot be checked with
    ``isinstance``: every alarm of aws-cdk-lib is an ``AlarmBase``, others are told by the
    interface's attributes)."""
    return isinstance(value, cloudwatch.AlarmBase) or (
        isinstance(value, Construct)
        and hasattr(value, "alarm_arn")
        and hasattr(value, "alarm_name")
    )


def _check_alarms(alarms: Sequence[cloudwatch.IAlarm], stack: cdk.Stack) -> None:
    if isinstance(alarms, str | bytes) or not isinstance(alarms, Sequence):
        raise TypeError(f"alarms must be a list of cloudwatch.IAlarm, got {alarms!r}")
    if not alarms:
        raise ValueError(
            "alarms is empty, so the composite alarm could never go into ALARM and would gate "
            "nothing; pass the Region's health alarms"
        )
    if len(alarms) > MAX_CHILDREN:
        raise ValueError(
            f"alarms holds {len(alarms)} alarms, but a composite alarm's rule may name at most "
            f"{MAX_CHILDREN}; combine some of them in composite alarms of their own first"
        )
    for index, alarm in enumerate(alarms):
        if not is_alarm(alarm):
            raise TypeError(f"alarms[{index}] must be a cloudwatch.IAlarm, got {alarm!r}")
        other = cdk.Stack.of(alarm)
        for what, mine, theirs in (
            ("Region", stack.region, other.region),
            ("account", stack.account, other.account),
        ):
            if not is_unresolved(mine) and not is_unresolved(theirs) and mine != theirs:
                raise ValueError(
                    f"alarms[{index}] ({alarm.node.path}) is in {what} {theirs}, this composite "
                    f"alarm in {mine}; a composite alarm watches alarms of its own account and "
                    "Region only, so give each Region a RegionHealthAlarm of its own"
                )
