"""Security groups whose egress is exactly the rules added to them.

A VPC security group created without inline egress rules keeps EC2's default rule that allows
all outbound traffic ("The default rule is removed only when you specify one or more egress
rules in the SecurityGroupEgress property", AWS::EC2::SecurityGroup). aws-cdk-lib's
``SecurityGroup(allow_all_outbound=False)`` writes an inline placeholder rule for that reason,
but removes it as soon as any egress rule is added, also one it writes as a separate
``AWS::EC2::SecurityGroupEgress`` (every rule whose peer is another security group or a prefix
list): the group then allows all outbound traffic again. :func:`closed_security_group` keeps
the placeholder inline for good and writes every real rule as its own resource.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from ha_inference._internal.logs import new_log_group
from ha_inference._internal.nag import (
    CLOUDFORMATION_EVENT_FUNCTION,
    INLINE_POLICY,
    acknowledge,
    acknowledge_all,
)
from ha_inference._internal.names import claim_private_dns

NO_TRAFFIC_RULE: dict[str, str | int] = {
    "CidrIp": "255.255.255.255/32",
    "Description": "Disallow all traffic",
    "FromPort": 252,
    "IpProtocol": "icmp",
    "ToPort": 86,
}
"""aws-cdk-lib's placeholder: ICMP type 252 code 86 to 255.255.255.255/32 matches no traffic."""


def closed_security_group(
    scope: Construct, construct_id: str, *, vpc: ec2.IVpc, description: str
) -> ec2.SecurityGroup:
    """A security group with no inbound and no outbound traffic until rules are added."""
    group = ec2.SecurityGroup(
        scope,
        construct_id,
        vpc=vpc,
        description=description,
        allow_all_outbound=False,
        disable_inline_rules=True,
    )
    # With inline rules disabled, aws-cdk-lib writes its placeholder as a separate rule, which
    # would duplicate the inline one (EC2 rejects duplicate rules) and is dropped by the first
    # real rule anyway: keep only the inline placeholder. (One walk over the group's two
    # children also finds its L1, the child aws-cdk-lib names "Resource": its default child.)
    node = group.node
    cfn = None
    for child in node.children:
        if isinstance(child, ec2.CfnSecurityGroup):
            cfn = child
        elif (
            isinstance(child, ec2.CfnSecurityGroupEgress)
            and child.cidr_ip == NO_TRAFFIC_RULE["CidrIp"]
        ):
            node.try_remove_child(child.node.id)
    assert isinstance(cfn, ec2.CfnSecurityGroup)
    # Replaces aws-cdk-lib's lazy inline list (empty with inline rules disabled) for good, where
    # readers of the L1 (cdk-nag rules included) see it.
    cfn.security_group_egress = [
        ec2.CfnSecurityGroup.EgressProperty(
            cidr_ip="255.255.255.255/32",
            description="Disallow all traffic",
            from_port=252,
            ip_protocol="icmp",
            to_port=86,
        )
    ]
    return group


def closed_interface_endpoint(
    scope: Construct,
    construct_id: str,
    *,
    vpc: ec2.IVpc,
    service: ec2.IInterfaceVpcEndpointService,
    short_name: str,
    subnets: ec2.SubnetSelection,
    security_group: ec2.ISecurityGroup,
    private_dns_enabled: bool,
) -> ec2.InterfaceVpcEndpoint:
    """An interface endpoint that admits only what ``security_group`` admits (``open=False``:
    aws-cdk-lib would otherwise open HTTPS to the whole VPC), its private DNS name claimed for
    ``scope`` in ``vpc`` when enabled (a second private-DNS endpoint for ``short_name`` there
    fails synth instead of the deploy)."""
    if private_dns_enabled:
        claim_private_dns(scope, vpc, short_name)
    return ec2.InterfaceVpcEndpoint(
        scope,
        construct_id,
        vpc=vpc,
        service=service,
        subnets=subnets,
        private_dns_enabled=private_dns_enabled,
        security_groups=[security_group],
        open=False,
    )


_PREFIX_LIST_LOOKUP = "HaInferenceS3PrefixList"
_SDK_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"
"""The id aws-cdk-lib gives the singleton function behind every AwsCustomResource of a stack."""


def s3_prefix_list_id(scope: Construct, *, log_encryption_key: kms.IKey | None = None) -> str:
    """The id of the Region's AWS-managed Amazon S3 prefix list (``com.amazonaws.<region>.s3``).

    Security-group rules to an S3 gateway endpoint name its prefix list, whose id differs per
    Region and is not known at synth time; one ``AwsCustomResource`` per stack looks it up at
    deploy time (``ec2:DescribeManagedPrefixLists``, read-only) and is shared by every caller.
    Its function logs to a log group kept one year, under a role without managed policies.
    """
    stack = cdk.Stack.of(scope)
    lookup = stack.node.try_find_child(_PREFIX_LIST_LOOKUP)
    if lookup is None:
        lookup = _prefix_list_lookup(stack, log_encryption_key)
    assert isinstance(lookup, cr.AwsCustomResource)
    return lookup.get_response_field("PrefixLists.0.PrefixListId")


def _prefix_list_lookup(stack: cdk.Stack, log_key: kms.IKey | None) -> cr.AwsCustomResource:
    name = f"com.amazonaws.{stack.region}.s3"
    call = cr.AwsSdkCall(
        service="EC2",
        action="describeManagedPrefixLists",
        parameters={"Filters": [{"Name": "prefix-list-name", "Values": [name]}]},
        physical_resource_id=cr.PhysicalResourceId.of(name),
        output_paths=["PrefixLists.0.PrefixListId"],
    )
    holder = Construct(stack, f"{_PREFIX_LIST_LOOKUP}Provider")
    log_group = new_log_group(
        holder, "Logs", retention=logs.RetentionDays.ONE_YEAR, encryption_key=log_key
    )
    role = iam.Role(
        holder,
        "Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description="Runs the read-only AWS SDK lookups of this stack's AwsCustomResources",
    )
    log_group.grant_write(role)
    lookup = cr.AwsCustomResource(
        stack,
        _PREFIX_LIST_LOOKUP,
        on_create=call,
        on_update=call,
        policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
            resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
        ),
        role=role,
        log_group=log_group,
        install_latest_aws_sdk=False,
    )
    policy = lookup.node.find_child("CustomResourcePolicy")
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::*]",
        "ec2:DescribeManagedPrefixLists lists no resource types in the Service Authorization "
        "Reference, so it is granted on '*'; it is read-only and the only action here.",
    )
    acknowledge(policy, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
    acknowledge(role, "NIST.800.53.R5-IAMNoInlinePolicy", INLINE_POLICY)
    acknowledge_all(
        stack.node.find_child(_SDK_PROVIDER),
        CLOUDFORMATION_EVENT_FUNCTION,
    )
    return lookup
