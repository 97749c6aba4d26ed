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

from aws_cdk import aws_ec2 as ec2
from constructs import Construct

NO_TRAFFIC_RULE = {
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
    # real rule anyway: keep only the inline placeholder.
    for child in list(group.node.children):
        if (
            isinstance(child, ec2.CfnSecurityGroupEgress)
            and child.cidr_ip == NO_TRAFFIC_RULE["CidrIp"]
        ):
            group.node.try_remove_child(child.node.id)
    cfn = group.node.default_child
    assert isinstance(cfn, ec2.CfnSecurityGroup)
    cfn.add_property_override("SecurityGroupEgress", [NO_TRAFFIC_RULE])
    return group
