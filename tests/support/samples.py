"""Small apps written without ha_inference's constructs, for the rule pack and the AZ-loss report.

``sample_stack(app, ha=False)`` breaks every GENREL05-BP01 invariant once; ``ha=True`` builds the
same resources the highly available way. Each resource has a stable construct id so tests can
name the finding they expect.
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_bedrockagentcore as agentcore
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_sagemaker as sagemaker

from ha_inference._internal.network import closed_security_group
from ha_inference.metadata import mark_az_loss_tolerance
from ha_inference.selfhosted.capacity import require_instance_fallbacks
from tests.support import ZonalStack

MODEL = "anthropic.claude-sonnet-4-5-20250929-v1:0"


def sample_stack(app: cdk.App, construct_id: str, *, ha: bool, zones: int = 3) -> ZonalStack:
    region = "us-east-1"
    stack = ZonalStack(
        app, construct_id, region=region, zones=tuple(f"{region}{c}" for c in "abc"[:zones])
    )
    private = stack.vpc.select_subnets(subnet_group_name="private").subnets
    subnets = private if ha else private[:1]
    subnet_ids = [s.subnet_id for s in subnets]
    count = len(subnets)
    # Both samples ask for instance-type fallbacks; only the HA one has them.
    require_instance_fallbacks(stack)

    # HA: HTTPS to the S3 prefix list only, network isolation on; non-HA: EC2's default egress.
    if ha:
        model_group = closed_security_group(stack, "ModelGroup", vpc=stack.vpc, description="m")
        model_group.add_egress_rule(ec2.Peer.prefix_list("pl-63a5400a"), ec2.Port.tcp(443))
    else:
        model_group = ec2.SecurityGroup(stack, "ModelGroup", vpc=stack.vpc)
    model = sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=f"arn:aws:iam::{stack.account}:role/sagemaker",
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image="123456789012.dkr.ecr.us-east-1.amazonaws.com/model:1",
            model_data_url="s3://models-us-east-1/llm/model.tar.gz",
        ),
        enable_network_isolation=True if ha else None,
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            security_group_ids=[model_group.security_group_id], subnets=subnet_ids
        ),
    )
    config = sagemaker.CfnEndpointConfig(
        stack,
        "EndpointConfig",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="primary",
                model_name=model.attr_model_name,
                initial_instance_count=max(count, 2) if ha else 1,
                instance_type=None if ha else "ml.m5.large",
                instance_pools=[
                    sagemaker.CfnEndpointConfig.InstancePoolProperty(
                        instance_type=instance_type, priority=priority
                    )
                    for priority, instance_type in enumerate(("ml.m5.large", "ml.m7i.large"), 1)
                ]
                if ha
                else None,
                initial_variant_weight=1,
            )
        ],
    )

    lb_group = ec2.SecurityGroup(
        stack, "LoadBalancerGroup", vpc=stack.vpc, allow_all_outbound=False
    )
    elbv2.CfnLoadBalancer(
        stack,
        "LoadBalancer",
        type="network",
        scheme="internal",
        subnets=subnet_ids,
        security_groups=[lb_group.security_group_id],
        load_balancer_attributes=[
            elbv2.CfnLoadBalancer.LoadBalancerAttributeProperty(
                key="load_balancing.cross_zone.enabled", value="true" if ha else "false"
            ),
            *(
                [
                    elbv2.CfnLoadBalancer.LoadBalancerAttributeProperty(
                        key="zonal_shift.config.enabled", value="true"
                    )
                ]
                if ha
                else []
            ),
        ],
    )
    elbv2.CfnTargetGroup(
        stack,
        "TargetGroup",
        target_type="ip",
        protocol="TCP",
        port=443,
        vpc_id=stack.vpc.vpc_id,
        target_group_attributes=[
            elbv2.CfnTargetGroup.TargetGroupAttributeProperty(
                key="load_balancing.cross_zone.enabled",
                value="use_load_balancer_configuration" if ha else "false",
            ),
            # Zonal shift on a cross-zone NLB needs this on every target group.
            elbv2.CfnTargetGroup.TargetGroupAttributeProperty(
                key="target_health_state.unhealthy.connection_termination.enabled",
                value="false" if ha else "true",
            ),
        ],
    )

    endpoint_group = ec2.SecurityGroup(
        stack, "EndpointGroup", vpc=stack.vpc, allow_all_outbound=not ha
    )
    function_group = ec2.SecurityGroup(stack, "FunctionGroup", vpc=stack.vpc)
    endpoint_group.add_ingress_rule(
        function_group if ha else ec2.Peer.any_ipv4(), ec2.Port.tcp(443)
    )
    agent_runtime(stack, subnets=subnets, endpoint_group=endpoint_group, ha=ha)
    ec2.CfnVPCEndpoint(
        stack,
        "RuntimeEndpoint",
        vpc_id=stack.vpc.vpc_id,
        vpc_endpoint_type="Interface",
        service_name=f"com.amazonaws.{region}.bedrock-runtime",
        subnet_ids=subnet_ids,
        security_group_ids=[endpoint_group.security_group_id],
        private_dns_enabled=True,
        policy_document={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "bedrock:InvokeModel",
                    "Resource": f"arn:aws:bedrock:{region}::foundation-model/{MODEL}",
                }
            ]
        }
        if ha
        else None,
    )

    service = ec2.CfnVPCEndpointService(
        stack,
        "EndpointService",
        network_load_balancer_arns=[
            f"arn:aws:elasticloadbalancing:{region}:{stack.account}:loadbalancer/net/runtime/1"
        ],
        acceptance_required=False,
        supported_regions=["us-west-2"] if ha else ["us-west-2", "*"],
    )
    ec2.CfnVPCEndpointServicePermissions(
        stack,
        "EndpointServicePermissions",
        service_id=service.ref,
        allowed_principals=[f"arn:aws:iam::{stack.account}:root"] if ha else ["*"],
    )

    aoss.CfnCollection(
        stack,
        "Collection",
        name="vectors",
        type="VECTORSEARCH",
        standby_replicas="ENABLED" if ha else "DISABLED",
    )
    aoss.CfnSecurityPolicy(
        stack,
        "NetworkPolicy",
        name="vectors-net",
        type="network",
        policy=json.dumps(
            [
                {
                    "Rules": [{"ResourceType": "collection", "Resource": ["collection/vectors"]}],
                    "AllowFromPublic": not ha,
                    **({"SourceVPCEs": ["vpce-0123456789abcdef0"]} if ha else {}),
                }
            ]
        ),
    )
    # HA: the function is admitted on the collection endpoint; non-HA: granted, never admitted.
    collection_group = ec2.SecurityGroup(
        stack, "CollectionEndpointGroup", vpc=stack.vpc, allow_all_outbound=False
    )
    if ha:
        collection_group.add_ingress_rule(function_group, ec2.Port.tcp(443))
    aoss.CfnVpcEndpoint(
        stack,
        "CollectionEndpoint",
        name="vectors-vpce",
        vpc_id=stack.vpc.vpc_id,
        subnet_ids=subnet_ids,
        security_group_ids=[collection_group.security_group_id],
    )

    role = iam.Role(stack, "FunctionRole", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
    agent_endpoint(stack, role=role, function_group=function_group, ha=ha)
    function = lambda_.CfnFunction(
        stack,
        "Function",
        role=role.role_arn,
        runtime="python3.14",
        handler="index.handler",
        code=lambda_.CfnFunction.CodeProperty(
            zip_file="def handler(event, context):\n    return event\n"
        ),
        vpc_config=lambda_.CfnFunction.VpcConfigProperty(
            subnet_ids=subnet_ids, security_group_ids=[function_group.security_group_id]
        ),
    )
    if not ha:
        # Claims the non-HA variant and function cannot keep: two AZ losses from one AZ.
        for claimant in (config, function):
            mark_az_loss_tolerance(claimant, {"toleratedAzLosses": 2})
    profile = f"arn:aws:bedrock:{region}:{stack.account}:inference-profile/us.{MODEL}"
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["aoss:APIAccessAll"],
            resources=[f"arn:aws:aoss:{region}:{stack.account}:collection/vectors-id"],
        )
    )
    if ha:
        role.add_to_policy(
            iam.PolicyStatement(actions=["bedrock:InvokeModel"], resources=[profile])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[
                    f"arn:aws:bedrock:{r}::foundation-model/{MODEL}"
                    for r in ("us-east-1", "us-east-2", "us-west-2")
                ],
                conditions={"StringEquals": {"bedrock:InferenceProfileArn": profile}},
            )
        )
    else:
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel*"],
                resources=[profile, "arn:aws:bedrock:*::foundation-model/*"],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["bedrock:InvokeModel"],
                resources=[f"arn:aws:bedrock:us-west-2::foundation-model/{MODEL}"],
            )
        )
    return stack


def agent_runtime(
    stack: ZonalStack, *, subnets: list[ec2.ISubnet], endpoint_group: ec2.SecurityGroup, ha: bool
) -> None:
    """An AgentCore runtime in VPC mode granted a model: HA in every AZ, with an S3 gateway on
    its route tables and HTTPS to the Bedrock endpoint; non-HA in one AZ, with neither."""
    group = closed_security_group(stack, "AgentGroup", vpc=stack.vpc, description="agent")
    role = iam.Role(
        stack, "AgentRole", assumed_by=iam.ServicePrincipal("bedrock-agentcore.amazonaws.com")
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["bedrock:InvokeModel"],
            resources=[f"arn:aws:bedrock:{stack.region}::foundation-model/{MODEL}"],
        )
    )
    if ha:
        ec2.CfnVPCEndpoint(
            stack,
            "S3Gateway",
            vpc_id=stack.vpc.vpc_id,
            vpc_endpoint_type="Gateway",
            service_name=f"com.amazonaws.{stack.region}.s3",
            route_table_ids=[s.route_table.route_table_id for s in subnets],
        )
        group.add_egress_rule(ec2.Peer.prefix_list("pl-63a5400a"), ec2.Port.tcp(443))
        group.connections.allow_to(endpoint_group, ec2.Port.tcp(443))
    agentcore.CfnRuntime(
        stack,
        "AgentRuntime",
        agent_runtime_name="sample_agent",
        role_arn=role.role_arn,
        agent_runtime_artifact=agentcore.CfnRuntime.AgentRuntimeArtifactProperty(
            container_configuration=agentcore.CfnRuntime.ContainerConfigurationProperty(
                container_uri=f"{stack.account}.dkr.ecr.{stack.region}.amazonaws.com/agent:1"
            )
        ),
        network_configuration=agentcore.CfnRuntime.NetworkConfigurationProperty(
            network_mode="VPC",
            network_mode_config=agentcore.CfnRuntime.VpcConfigProperty(
                subnets=[s.subnet_id for s in subnets],
                security_groups=[group.security_group_id],
            ),
        ),
    )


def agent_endpoint(
    stack: ZonalStack, *, role: iam.Role, function_group: ec2.SecurityGroup, ha: bool
) -> None:
    """The AgentCore data-plane endpoint in every AZ; the function may invoke a runtime, and is
    admitted on the endpoint only in the HA sample."""
    group = closed_security_group(stack, "AgentEndpointGroup", vpc=stack.vpc, description="e")
    if ha:
        group.add_ingress_rule(function_group, ec2.Port.tcp(443))
    ec2.CfnVPCEndpoint(
        stack,
        "AgentEndpoint",
        vpc_id=stack.vpc.vpc_id,
        vpc_endpoint_type="Interface",
        service_name=f"com.amazonaws.{stack.region}.bedrock-agentcore",
        subnet_ids=[
            s.subnet_id for s in stack.vpc.select_subnets(subnet_group_name="private").subnets
        ],
        security_group_ids=[group.security_group_id],
        private_dns_enabled=True,
        policy_document={
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "bedrock-agentcore:InvokeAgentRuntime",
                    "Resource": f"arn:aws:bedrock-agentcore:{stack.region}:{stack.account}:runtime/*",
                }
            ]
        },
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["bedrock-agentcore:InvokeAgentRuntime"],
            resources=[f"arn:aws:bedrock-agentcore:{stack.region}:{stack.account}:runtime/*"],
        )
    )
