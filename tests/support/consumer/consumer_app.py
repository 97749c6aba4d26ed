"""A consumer's CDK app: someone else's VPC, endpoints and functions, with ha-inference added.

It imports only ``ha_inference`` (never ``stacks``), as an app that installed the wheel would,
and is synthesized both from the repository (tests/library/test_consumer_app.py) and from the built
wheel installed outside it. Run it as a script to synthesize into the directory given as the
first argument.
"""

from __future__ import annotations

import sys

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_

import ha_inference
from ha_inference import (
    DEFAULT_INDEX,
    BedrockVpcEndpoints,
    CollectionVpcEndpoint,
    CrossRegionInferenceProfile,
    FoundationModel,
    MultiAzFunction,
    ShippedHandler,
    VectorCollection,
    handler_code,
)

ACCOUNT = "111111111111"
REGION = "us-east-1"
AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]
EXISTING_ENDPOINT_GROUP = "sg-0aaaaaaaaaaaaaaaa"


class ExistingVpcStack(cdk.Stack):
    """A stack in an account that already has a VPC and a bedrock-runtime endpoint."""

    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id, env=cdk.Environment(account=ACCOUNT, region=REGION))
        self.vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=AZS,
            private_subnet_ids=[
                "subnet-0aaaaaaaaaaaaaaa1",
                "subnet-0aaaaaaaaaaaaaaa2",
                "subnet-0aaaaaaaaaaaaaaa3",
            ],
        )
        self.existing_endpoint = ec2.InterfaceVpcEndpoint.from_interface_vpc_endpoint_attributes(
            self,
            "ExistingBedrockRuntime",
            vpc_endpoint_id="vpce-0123456789abcdef0",
            port=443,
            security_groups=[
                ec2.SecurityGroup.from_security_group_id(
                    self, "ExistingEndpointGroup", EXISTING_ENDPOINT_GROUP
                )
            ],
        )
        self.profile = CrossRegionInferenceProfile(
            self, "Profile", model_id="anthropic.claude-sonnet-5-5"
        )
        self.bedrock = BedrockVpcEndpoints(
            self,
            "Bedrock",
            vpc=self.vpc,
            existing_endpoints={"bedrock-runtime": self.existing_endpoint},
            invoke_targets=[self.profile],
        )
        # The consumer's own function: a plain aws_lambda.Function running the shipped handler.
        self.function = lambda_.Function(
            self,
            "Answers",
            runtime=lambda_.Runtime.PYTHON_3_13,
            code=handler_code(),
            handler=ShippedHandler.RETRIEVAL.value,
            vpc=self.vpc,
            environment={
                "MODEL_ID": self.profile.profile_id,
                "EMBEDDING_MODEL_ID": "amazon.titan-embed-text-v2:0",
                "COLLECTION_ENDPOINT": "https://abc123.us-east-1.aoss.amazonaws.com",
                **DEFAULT_INDEX.to_environment(),
            },
        )
        self.profile.grant_invoke(self.function)
        FoundationModel.in_stack_region(self, "amazon.titan-embed-text-v2:0").grant_invoke(
            self.function
        )
        self.bedrock.connections.allow_default_port_from(self.function)
        # A Node.js function on x86 in every AZ of the existing VPC.
        self.node_function = MultiAzFunction(
            self,
            "NodeWorker",
            vpc=self.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            code=lambda_.Code.from_inline("exports.handler = async () => ({ ok: true });"),
            handler="index.handler",
            runtime=lambda_.Runtime.NODEJS_22_X,
            architecture=lambda_.Architecture.X86_64,
        )


class AgnosticStack(cdk.Stack):
    """An environment-agnostic stack: CDK gives its VPC two AZs whatever max_azs says."""

    def __init__(self, scope: cdk.App, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            max_azs=3,
            nat_gateways=0,
            subnet_configuration=[
                ec2.SubnetConfiguration(
                    name="apps", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
                ec2.SubnetConfiguration(
                    name="data", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
                ),
            ],
        )
        self.endpoint = CollectionVpcEndpoint(self, "SearchEndpoint", vpc=self.vpc)
        self.collection = VectorCollection(
            self, "Search", collection_name="consumer-docs", vpc_endpoint=self.endpoint
        )


def build(app: cdk.App) -> tuple[ExistingVpcStack, AgnosticStack]:
    return ExistingVpcStack(app, "ConsumerExisting"), AgnosticStack(app, "ConsumerAgnostic")


if __name__ == "__main__":
    print(f"ha_inference from {ha_inference.__file__}")
    app = cdk.App(outdir=sys.argv[1], context={"aws:cdk:bundling-stacks": []})
    build(app)
    app.synth()
