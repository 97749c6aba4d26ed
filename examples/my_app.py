"""Your own CDK app with the whole reference architecture, in a VPC of your own, in every Region
the model's US inference profile routes to. ``python examples/my_app.py`` synthesizes it into
cdk.out with no AWS credentials; ``cdk deploy --app "python examples/my_app.py" --all`` deploys
it (after ``cdk bootstrap`` in each Region). Put your account id in ACCOUNT."""

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from ha_inference import (
    HaInferenceChecks,
    InferenceVpc,
    RegionalInference,
    RegionCoverage,
    pin_availability_zones,
)

ACCOUNT = "123456789012"
REGIONS = ("us-east-1", "us-east-2", "us-west-2")  # every Region the profile routes to


def build(app: cdk.App) -> None:
    for region in REGIONS:
        env = cdk.Environment(account=ACCOUNT, region=region)
        stack = cdk.Stack(app, f"MyInference-{region}", env=env)
        pin_availability_zones(stack)  # AZ names from ha-inference: no lookup, no credentials
        network = InferenceVpc(stack, "Network")
        inference = RegionalInference(
            stack,
            "Inference",
            vpc=network.vpc,
            endpoint_subnets=network.endpoint_subnets,
            workload_subnets=network.workload_subnets,
            log_encryption_key=network.log_encryption_key,
        )
        cdk.CfnOutput(stack, "Retrieval", value=inference.retrieval.function.function_name)
    RegionCoverage(app, "Coverage", supporting=RegionalInference.SUPPORTING_KINDS)
    checks = (AwsSolutionsChecks(app), NIST80053R5Checks(app), HaInferenceChecks(app))
    cdk.Validations.of(app).add_plugins(*checks)


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
