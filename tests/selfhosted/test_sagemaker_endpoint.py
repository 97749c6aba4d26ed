"""MultiAzSageMakerEndpoint: an instance in every AZ, least privilege, alarms, clear errors."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Template
from syrupy.assertion import SnapshotAssertion

from docgen.acknowledgements import acknowledgements
from ha_inference._internal.network import NO_TRAFFIC_RULE
from ha_inference.checks.nag_pack import HaInferenceChecks, findings_of
from ha_inference.selfhosted.capacity import require_instance_fallbacks
from ha_inference.selfhosted.endpoint import (
    DEFAULT_INSTANCE_TYPE,
    MultiAzSageMakerEndpoint,
    has_local_nvme_storage,
)
from ha_inference.selfhosted.instance_types import hosting_instance_types
from ha_inference.tools.assembly import zones_of
from tests.support import (
    TEST_ACCOUNT,
    ZonalStack,
    isolated_vpc,
    new_app,
    one_resource,
    resources,
    without_twins,
)
from tests.support.lint import lint_template
from tests.support.nag import findings

IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:"
    "2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
OWN_IMAGE = f"{TEST_ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/models/llm@sha256:{'ab' * 32}"
MODEL_DATA = "s3://model-artifacts-111111111111/llm/model.tar.gz"
REGIONS = ("us-east-1", "us-west-2")
GPU_FALLBACKS = ("ml.g6.xlarge", "ml.g6e.xlarge")
CPU_FALLBACKS = ("ml.m7i.xlarge", "ml.c6i.2xlarge")


@dataclass
class Scenario:
    app: cdk.App
    stacks: dict[str, ZonalStack]
    gpu: dict[str, MultiAzSageMakerEndpoint]
    cpu: dict[str, MultiAzSageMakerEndpoint]
    client: dict[str, iam.Role]
    grant: dict[str, iam.Grant]
    agnostic: cdk.Stack
    templates: dict[str, dict[str, Any]]

    @property
    def template(self) -> dict[str, Any]:
        return self.templates["us-east-1"]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """One app, built once: the same endpoints in two Regions, plus an env-agnostic stack."""
    app = new_app(tmp_path_factory.mktemp("sagemaker-endpoint"))
    stacks, gpu, cpu, client, grant = {}, {}, {}, {}, {}
    for region in REGIONS:
        stack = ZonalStack(app, f"Endpoint-{region}", region=region, groups=("workloads", "other"))
        stacks[region] = stack
        gpu[region] = MultiAzSageMakerEndpoint(
            stack,
            "Llm",
            vpc=stack.vpc,
            image=IMAGE.replace("us-east-1", region),
            model_data_url=MODEL_DATA,
            environment={"HF_MODEL_ID": "/opt/ml/model", "SM_NUM_GPUS": "1"},
            invocations_per_instance_target=30,
        )
        gpu[region].add_alarms(model_latency_threshold=cdk.Duration.seconds(20))
        cpu[region] = MultiAzSageMakerEndpoint(
            stack,
            "Embeddings",
            vpc=stack.vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_group_name="workloads"),
            image=OWN_IMAGE.replace("us-east-1", region),
            instance_type="ml.m5.xlarge",
            instance_count=4,
            max_capacity=6,
            endpoint_name="embeddings",
            invocations_per_instance_target=600,
        )
        client[region] = iam.Role(
            stack, "Client", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
        )
        grant[region] = gpu[region].grant_invoke(client[region])
    agnostic = cdk.Stack(app, "Agnostic")
    MultiAzSageMakerEndpoint(
        agnostic,
        "Llm",
        vpc=isolated_vpc(agnostic, "Vpc", groups=("workloads", "other")),
        image=OWN_IMAGE,
        instance_type="ml.inf2.xlarge",
        invocations_per_instance_target=30,
    )
    templates = {region: dict(Template.from_stack(stacks[region]).to_json()) for region in REGIONS}
    return Scenario(app, stacks, gpu, cpu, client, grant, agnostic, templates)


def _one(template: dict[str, Any], resource_type: str, prefix: str) -> dict[str, Any]:
    return one_resource(template, resource_type, prefix)[1]


def _logical_id(template: dict[str, Any], resource_type: str, prefix: str) -> str:
    return one_resource(template, resource_type, prefix)[0]


def _variant(template: dict[str, Any], prefix: str) -> dict[str, Any]:
    config = _one(template, "AWS::SageMaker::EndpointConfig", prefix)
    (variant,) = config["Properties"]["ProductionVariants"]
    assert isinstance(variant, dict)
    return variant


def _statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        statement
        for policy in role["Properties"].get("Policies", [])
        for statement in policy["PolicyDocument"]["Statement"]
    ]


# --- every AZ ---------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["Llm", "Embeddings"])
def test_instance_count_covers_every_az(scenario: Scenario, prefix: str) -> None:
    variant = _variant(scenario.template, prefix)
    azs = len(scenario.stacks["us-east-1"].availability_zones)
    assert variant["InitialInstanceCount"] >= azs >= 2
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}


def test_instance_count_defaults_to_the_number_of_azs(scenario: Scenario) -> None:
    assert _variant(scenario.template, "Llm")["InitialInstanceCount"] == 3
    assert _variant(scenario.template, "Embeddings")["InitialInstanceCount"] == 4
    assert scenario.gpu["us-east-1"].availability_zones == (
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    )


@pytest.mark.parametrize("prefix", ["Llm", "Embeddings"])
def test_model_subnets_cover_every_az_once(scenario: Scenario, prefix: str) -> None:
    model = _one(scenario.template, "AWS::SageMaker::Model", prefix)
    subnets = model["Properties"]["VpcConfig"]["Subnets"]
    assert sorted(zones_of(scenario.template, subnets)) == [  # type: ignore[type-var]
        "us-east-1a",
        "us-east-1b",
        "us-east-1c",
    ]
    assert model["Properties"]["VpcConfig"]["SecurityGroupIds"] == [
        {
            "Fn::GetAtt": [
                _logical_id(scenario.template, "AWS::EC2::SecurityGroup", prefix),
                "GroupId",
            ]
        }
    ]


def test_selected_subnet_group_is_used(scenario: Scenario) -> None:
    model = _one(scenario.template, "AWS::SageMaker::Model", "Embeddings")
    subnets = {ref["Ref"] for ref in model["Properties"]["VpcConfig"]["Subnets"]}
    assert all(logical_id.startswith("Vpcworkloads") for logical_id in subnets), subnets


@pytest.mark.parametrize(("prefix", "minimum", "maximum"), [("Llm", 3, 6), ("Embeddings", 4, 6)])
def test_scalable_target_keeps_an_instance_in_every_az(
    scenario: Scenario, prefix: str, minimum: int, maximum: int
) -> None:
    template = scenario.template
    target = _one(template, "AWS::ApplicationAutoScaling::ScalableTarget", prefix)
    props = target["Properties"]
    assert props["MinCapacity"] == minimum >= 3
    assert props["MaxCapacity"] == maximum
    assert props["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert props["ServiceNamespace"] == "sagemaker"
    endpoint_id = _logical_id(template, "AWS::SageMaker::Endpoint", prefix)
    name = template["Resources"][endpoint_id]["Properties"]["EndpointName"]
    assert props["ResourceId"] == f"endpoint/{name}/variant/AllTraffic"
    assert endpoint_id in target["DependsOn"]
    assert props["RoleARN"].endswith(
        ":role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/"
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
    )


def test_scaling_tracks_invocations_per_instance(scenario: Scenario) -> None:
    policy = _one(scenario.template, "AWS::ApplicationAutoScaling::ScalingPolicy", "Llm")
    config = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert config == {
        "PredefinedMetricSpecification": {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        },
        "TargetValue": 30,
    }
    assert policy["Properties"]["ScalingTargetId"] == {
        "Ref": _logical_id(scenario.template, "AWS::ApplicationAutoScaling::ScalableTarget", "Llm")
    }


def test_endpoint_names(scenario: Scenario) -> None:
    template = scenario.template
    llm = _one(template, "AWS::SageMaker::Endpoint", "Llm")["Properties"]
    assert re.fullmatch(r"endpointuseast1-llm-[0-9a-f]{8}", llm["EndpointName"])
    assert llm["EndpointName"] == scenario.gpu["us-east-1"].endpoint_name
    embeddings = _one(template, "AWS::SageMaker::Endpoint", "Embeddings")["Properties"]
    assert embeddings["EndpointName"] == "embeddings"
    assert "ModelName" not in _one(template, "AWS::SageMaker::Model", "Llm")["Properties"]


# --- encryption -------------------------------------------------------------------------------


def test_nvme_instance_type_gets_no_kms_key(scenario: Scenario) -> None:
    config = _one(scenario.template, "AWS::SageMaker::EndpointConfig", "Llm")
    assert "KmsKeyId" not in config["Properties"]
    assert scenario.gpu["us-east-1"].volume_key is None
    assert not any(
        logical_id.startswith("Llm") for logical_id in resources(scenario.template, "AWS::KMS::Key")
    )


def test_ebs_instance_type_gets_a_rotating_customer_key(scenario: Scenario) -> None:
    template = scenario.template
    key_id = _logical_id(template, "AWS::KMS::Key", "Embeddings")
    assert template["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    config = _one(template, "AWS::SageMaker::EndpointConfig", "Embeddings")
    assert config["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    role = _one(template, "AWS::IAM::Role", "EmbeddingsRole")
    key_statements = [s for s in _statements(role) if str(s["Action"]).count("kms:")]
    assert {str(s["Resource"]) for s in key_statements} == {str({"Fn::GetAtt": [key_id, "Arn"]})}
    (grant,) = [s for s in key_statements if s["Action"] == "kms:CreateGrant"]
    assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}


@pytest.mark.parametrize(
    ("instance_type", "nvme"),
    [
        # "ML instance families with the NVMe-type instance storage include ml.p4d, ml.g4dn, and
        # ml.g5" / "ML instance families that use EBS volumes include ml.c5 and ml.p2"
        # (SageMaker model-train-storage-tips-considerations).
        ("ml.p4d.24xlarge", True),
        ("ml.g4dn.xlarge", True),
        ("ml.g5.xlarge", True),
        ("ml.c5.xlarge", False),
        ("ml.p2.xlarge", False),
        # EC2 instance-store tables.
        ("ml.m5d.large", True),
        ("ml.r7gd.medium", True),
        ("ml.p5.48xlarge", True),
        ("ml.g6e.2xlarge", True),
        ("ml.trn1.32xlarge", True),
        ("ml.p6-b200.48xlarge", True),
        ("ml.m5.xlarge", False),
        ("ml.inf2.xlarge", False),
        ("ml.c6gn.large", False),
        ("ml.c7i.large", False),
        ("m5.xlarge", False),
    ],
)
def test_local_nvme_storage_lookup(instance_type: str, nvme: bool) -> None:
    assert has_local_nvme_storage(instance_type) is nvme


# --- least privilege ---------------------------------------------------------------------------


def test_execution_role_has_no_managed_policies_and_trusts_sagemaker(scenario: Scenario) -> None:
    for prefix in ("LlmRole", "EmbeddingsRole"):
        role = _one(scenario.template, "AWS::IAM::Role", prefix)
        assert "ManagedPolicyArns" not in role["Properties"]
        (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
        # Confused-deputy prevention: SageMaker acting for this account and Region only.
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": TEST_ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:sagemaker:us-east-1:{TEST_ACCOUNT}:*"},
        }
        actions = [a for s in _statements(role) for a in _list(s["Action"])]
        assert not any(a.startswith("sagemaker:") or a.endswith(":*") for a in actions), actions
    assert "AmazonSageMakerFullAccess" not in str(scenario.template)


def test_execution_role_is_scoped_to_this_endpoint(scenario: Scenario) -> None:
    role = _one(scenario.template, "AWS::IAM::Role", "LlmRole")
    by_sid = {s["Sid"]: s for s in _statements(role)}
    assert by_sid["PullImage"]["Resource"] == (
        "arn:aws:ecr:us-east-1:763104351884:repository/huggingface-pytorch-tgi-inference"
    )
    # Only from a bucket of the stack's account: a bucket name someone else owns is never read.
    assert by_sid["ReadModelData"] == {
        "Sid": "ReadModelData",
        "Action": "s3:GetObject",
        "Effect": "Allow",
        "Resource": "arn:aws:s3:::model-artifacts-111111111111/llm/model.tar.gz",
        "Condition": {"StringEquals": {"aws:ResourceAccount": TEST_ACCOUNT}},
    }
    name = scenario.gpu["us-east-1"].endpoint_name
    group = f"arn:aws:logs:us-east-1:{TEST_ACCOUNT}:log-group:/aws/sagemaker/Endpoints/{name}"
    assert by_sid["EndpointLogs"]["Resource"] == [group, f"{group}:*"]
    (wildcard,) = [s for s in _statements(role) if s["Resource"] == "*"]
    assert sorted(_list(wildcard["Action"])) == [
        "cloudwatch:PutMetricData",
        "ec2:DeleteNetworkInterfacePermission",
        "ec2:DescribeDhcpOptions",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeVpcs",
        "ecr:GetAuthorizationToken",
    ]
    assert "Condition" not in wildcard
    assert "UseVolumeKey" not in by_sid


def test_network_interfaces_are_scoped_to_the_endpoint_subnets_and_vpc(scenario: Scenario) -> None:
    """the create/delete/permission ENI actions name the subnets, the security
    group and the VPC (ec2:Subnet, ec2:Vpc) instead of '*'."""
    template = scenario.template
    role = _one(template, "AWS::IAM::Role", "LlmRole")
    by_sid = {s["Sid"]: s for s in _statements(role)}
    prefix = f"arn:aws:ec2:us-east-1:{TEST_ACCOUNT}:"
    endpoint = scenario.gpu["us-east-1"]
    model = _one(template, "AWS::SageMaker::Model", "LlmModel")["Properties"]
    subnet_ids = model["VpcConfig"]["Subnets"]
    subnet_arns = [{"Fn::Join": ["", [f"{prefix}subnet/", ref]]} for ref in subnet_ids]
    group_id = model["VpcConfig"]["SecurityGroupIds"][0]
    create = by_sid["CreateNetworkInterfaces"]
    assert create["Action"] == "ec2:CreateNetworkInterface"
    expected = [
        f"{prefix}network-interface/*",
        *subnet_arns,
        {"Fn::Join": ["", [f"{prefix}security-group/", group_id]]},
    ]
    assert sorted(map(json.dumps, create["Resource"])) == sorted(map(json.dumps, expected))
    manage = by_sid["ManageNetworkInterfaces"]
    assert manage["Action"] == [
        "ec2:CreateNetworkInterfacePermission",
        "ec2:DeleteNetworkInterface",
    ]
    assert manage["Resource"] == f"{prefix}network-interface/*"
    conditions = manage["Condition"]["ArnEquals"]
    assert sorted(map(json.dumps, conditions["ec2:Subnet"])) == sorted(map(json.dumps, subnet_arns))
    assert conditions["ec2:Vpc"]["Fn::Join"][1][0] == f"{prefix}vpc/"
    assert len(endpoint.availability_zones) == len(subnet_ids) == 3


def test_execution_role_pulls_a_nested_repository(scenario: Scenario) -> None:
    role = _one(scenario.template, "AWS::IAM::Role", "EmbeddingsRole")
    (pull,) = [s for s in _statements(role) if s["Sid"] == "PullImage"]
    assert pull["Resource"] == f"arn:aws:ecr:us-east-1:{TEST_ACCOUNT}:repository/models/llm"
    assert "ReadModelData" not in {s["Sid"] for s in _statements(role)}


def test_grant_invoke_attaches_exactly_the_endpoint_to_the_grantee(scenario: Scenario) -> None:
    template = scenario.template
    assert scenario.grant["us-east-1"].success
    endpoint_id = _logical_id(template, "AWS::SageMaker::Endpoint", "Llm")
    client_id = _logical_id(template, "AWS::IAM::Role", "Client")
    (policy,) = [
        p
        for p in resources(template, "AWS::IAM::Policy").values()
        if p["Properties"]["Roles"] == [{"Ref": client_id}]
    ]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement == {
        "Action": ["sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointWithResponseStream"],
        "Effect": "Allow",
        "Resource": {"Fn::GetAtt": [endpoint_id, "EndpointArn"]},
    }


def test_security_group_admits_nothing_and_sends_https_to_s3_only(scenario: Scenario) -> None:
    """no 0.0.0.0/0 egress; HTTPS to the Region's S3 prefix list (looked
    up at deploy time) for the model data, and nothing else."""
    template = scenario.template
    group_id = _logical_id(template, "AWS::EC2::SecurityGroup", "Llm")
    group = template["Resources"][group_id]["Properties"]
    assert "SecurityGroupIngress" not in group
    assert group["SecurityGroupEgress"] == [NO_TRAFFIC_RULE]
    (egress,) = [
        r["Properties"]
        for r in resources(template, "AWS::EC2::SecurityGroupEgress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    ]
    lookup = _logical_id(template, "Custom::AWS", "HaInferenceS3PrefixList")
    assert egress["DestinationPrefixListId"] == {
        "Fn::GetAtt": [lookup, "PrefixLists.0.PrefixListId"]
    }
    assert (egress["IpProtocol"], egress["FromPort"], egress["ToPort"]) == ("tcp", 443, 443)
    (call,) = {
        json.dumps(r["Properties"]["Create"]) for r in resources(template, "Custom::AWS").values()
    }
    assert "com.amazonaws.us-east-1.s3" in call and "describeManagedPrefixLists" in call
    assert not resources(template, "AWS::EC2::SecurityGroupIngress")
    assert "0.0.0.0/0" not in json.dumps(template)
    assert scenario.gpu["us-east-1"].connections.security_groups == [
        scenario.gpu["us-east-1"].security_group
    ]


def test_model_runs_with_network_isolation_when_its_data_comes_from_s3(scenario: Scenario) -> None:
    """the third-party container gets no network when the model is in S3."""
    llm = _one(scenario.template, "AWS::SageMaker::Model", "LlmModel")["Properties"]
    assert llm["PrimaryContainer"]["ModelDataUrl"].startswith("s3://")
    assert llm["EnableNetworkIsolation"] is True
    assert scenario.gpu["us-east-1"].network_isolation is True
    embeddings = _one(scenario.template, "AWS::SageMaker::Model", "EmbeddingsModel")["Properties"]
    assert "ModelDataUrl" not in embeddings["PrimaryContainer"]
    assert embeddings["EnableNetworkIsolation"] is False


def test_fails_when_internet_egress_is_asked_for_an_isolated_container(
    scratch: ZonalStack,
) -> None:
    with pytest.raises(
        ValueError, match=r"allow_internet_https=True needs network_isolation=False"
    ):
        _endpoint(
            scratch,
            "Isolated",
            model_data_url="s3://models-us-east-1/llm/model.tar.gz",
            allow_internet_https=True,
        )


def test_fails_on_a_model_data_bucket_owner_that_is_no_account(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"model_data_bucket_owner must be the 12-digit id of the account that owns the "
        r"model archive's bucket, got 'models-team'; leave it out",
    ):
        _endpoint(
            scratch,
            "Owner",
            model_data_url="s3://models-us-east-1/llm/model.tar.gz",
            model_data_bucket_owner="models-team",
        )


def test_fails_on_a_model_data_bucket_owner_without_model_data(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"model_data_bucket_owner is '222222222222' but there is no model_data_url",
    ):
        _endpoint(scratch, "NoData", model_data_bucket_owner="222222222222")


def test_model_data_of_another_account_is_read_only_from_that_accounts_bucket(
    scratch: ZonalStack,
) -> None:
    endpoint = _endpoint(
        scratch,
        "Shared",
        model_data_url="s3://models-us-east-1/llm/model.tar.gz",
        model_data_bucket_owner="222222222222",
    )
    role = scratch.resolve(endpoint.role.node.default_child.policies)  # type: ignore[union-attr]
    (read,) = [s for s in role[0]["policyDocument"]["Statement"] if s.get("Sid") == "ReadModelData"]
    assert read["Condition"] == {"StringEquals": {"aws:ResourceAccount": "222222222222"}}


# --- metrics and alarms ------------------------------------------------------------------------


def test_metrics_name_the_endpoint_and_variant(scenario: Scenario) -> None:
    endpoint = scenario.gpu["us-east-1"]
    dimensions = {"EndpointName": endpoint.endpoint_name, "VariantName": "AllTraffic"}
    for metric, name in [
        (endpoint.metric_invocations(), "Invocations"),
        (endpoint.metric_invocations_per_instance(), "InvocationsPerInstance"),
        (endpoint.metric_4xx_errors(), "Invocation4XXErrors"),
        (endpoint.metric_5xx_errors(), "Invocation5XXErrors"),
        (endpoint.metric_model_latency(), "ModelLatency"),
    ]:
        assert (metric.metric_name, metric.namespace) == (name, "AWS/SageMaker")
        assert metric.dimensions == dimensions
        assert metric.period.to_seconds() == 60


def test_instances_are_counted_from_documented_invocation_metrics(scenario: Scenario) -> None:
    """SageMaker sends 1/numberOfInstances as InvocationsPerInstance for each request (API
    reference, ScalingPolicyMetric): Invocations / InvocationsPerInstance is the instance count.
    No CPUUtilization sample counting (how that metric is sampled is not documented)."""
    endpoint = scenario.gpu["us-east-1"]
    instances = endpoint.metric_instances()
    assert instances.expression == "invocations / perInstance"
    inputs = {key: (m.metric_name, m.statistic) for key, m in instances.using_metrics.items()}
    assert inputs == {
        "invocations": ("Invocations", "Sum"),
        "perInstance": ("InvocationsPerInstance", "Sum"),
    }
    assert not hasattr(endpoint, "metric_instances_reporting")


def _alarm(template: dict[str, Any], construct_id: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for logical_id, a in resources(template, "AWS::CloudWatch::Alarm").items()
        if construct_id in logical_id
    ]
    return alarm


def _inputs(alarm: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        q["Id"]: (
            q["MetricStat"]["Metric"]["Namespace"],
            q["MetricStat"]["Metric"]["MetricName"],
            q["MetricStat"]["Stat"],
        )
        for q in alarm["Metrics"]
        if "MetricStat" in q
    }


def test_alarms_cover_errors_latency_and_lost_azs(scenario: Scenario) -> None:
    alarms = resources(scenario.template, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 3
    errors = _alarm(scenario.template, "Errors5xxAlarm")
    assert (errors["MetricName"], errors["ComparisonOperator"], errors["Threshold"]) == (
        "Invocation5XXErrors",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    latency = _alarm(scenario.template, "ModelLatencyAlarm")
    assert latency["MetricName"] == "ModelLatency"
    assert latency["Threshold"] == 20_000_000, "microseconds"
    instances = _alarm(scenario.template, "InstancesBelowAzsAlarm")
    (expression,) = [q for q in instances["Metrics"] if "Expression" in q]
    assert expression["Expression"] == "invocations / perInstance"
    assert _inputs(instances) == {
        "invocations": ("AWS/SageMaker", "Invocations", "Sum"),
        "perInstance": ("AWS/SageMaker", "InvocationsPerInstance", "Sum"),
    }
    assert instances["ComparisonOperator"] == "LessThanThreshold"
    assert instances["Threshold"] == 3, "the number of AZs"


def test_no_traffic_trips_no_endpoint_alarm(scenario: Scenario) -> None:
    """Every one of these metrics exists only while there are requests; the alarms stop drills
    and judge practice runs, so a quiet hour must not put them in ALARM."""
    for alarm in resources(scenario.template, "AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching"


# --- checks on the whole output -----------------------------------------------------------------


def test_no_unacknowledged_nag_findings(scenario: Scenario) -> None:
    assert findings(scenario.app) == []


def test_no_ha_inference_findings(scenario: Scenario) -> None:
    assert findings_of(HaInferenceChecks(), scenario.app) == []


def test_acknowledgements_are_narrow_and_explained(scenario: Scenario) -> None:
    """The three IAM5 findings of each execution role and its inline policy, on that role, and
    the KMS finding of an NVMe instance type's config (no volume to encrypt)."""
    acknowledged = [
        (path, rule.removeprefix("Annotation::"), reason)
        for path, rule, reason in without_twins(acknowledgements(scenario.app))
        if "/Llm/" in path or "/Embeddings/" in path
    ]
    nvme = [a for a in acknowledged if a[0].endswith("/Llm/Config")]
    assert [rule for _, rule, _ in nvme] == [
        "NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured"
    ] * len(nvme)
    assert len(nvme) == len({p.split("/")[0] for p, _, _ in nvme}) >= 2  # g5 configs only
    acknowledged = [a for a in acknowledged if a not in nvme]
    assert len(acknowledged) == 4 * 5, acknowledged
    for path, rule, reason in acknowledged:
        assert path.endswith(("/Llm/Role", "/Embeddings/Role")), path
        assert rule.startswith("AwsSolutions-IAM5[Resource::") or rule == (
            "NIST.800.53.R5-IAMNoInlinePolicy"
        ), rule
        assert len(reason) >= 60, reason
    assert (
        "Agnostic/Llm/Role",
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:"
        "log-group:/aws/sagemaker/Endpoints/agnostic-llm-587b8584:*]",
    ) in {(path, rule) for path, rule, _ in acknowledged}


@pytest.mark.parametrize("region", REGIONS)
def test_template_lints_clean(scenario: Scenario, region: str) -> None:
    assert lint_template(scenario.templates[region], region) == []


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2", "us-west-2"])
@pytest.mark.parametrize(
    "instance_type", [DEFAULT_INSTANCE_TYPE, "ml.m5.xlarge", *GPU_FALLBACKS, *CPU_FALLBACKS]
)
def test_instance_types_are_offered_for_hosting_in_the_region(
    region: str, instance_type: str
) -> None:
    """The library's hosting table (a copy of cfn-lint's E3642 table, from the pricing API;
    cfn-lint applies it to inference experiments only, so endpoint configs are checked here)."""
    offered = hosting_instance_types(region)
    assert offered is not None and instance_type in offered


def test_snapshot(scenario: Scenario, template_snapshot: SnapshotAssertion) -> None:
    assert scenario.template == template_snapshot


# --- validation ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> ZonalStack:
    """A stack that is never synthesized, for constructs that must fail."""
    return ZonalStack(
        new_app(tmp_path_factory.mktemp("scratch")),
        "Scratch",
        region="us-east-1",
        groups=("workloads", "other"),
    )


def _endpoint(stack: ZonalStack, construct_id: str, **props: Any) -> MultiAzSageMakerEndpoint:
    props = {
        "vpc": stack.vpc,
        "image": OWN_IMAGE,
        "invocations_per_instance_target": 30,
        **props,
    }
    return MultiAzSageMakerEndpoint(stack, construct_id, **props)


def test_fails_when_subnets_span_one_az(scratch: ZonalStack) -> None:
    one_az = ec2.SubnetSelection(subnet_group_name="workloads", availability_zones=["us-east-1a"])
    with pytest.raises(
        ValueError,
        match=r"vpc_subnets must span at least 2 Availability Zones .* got 1 \(us-east-1a\)",
    ):
        _endpoint(scratch, "OneAz", vpc_subnets=one_az)


def test_fails_when_two_subnets_share_an_az(scratch: ZonalStack) -> None:
    crowded = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
    with pytest.raises(
        ValueError,
        match="vpc_subnets puts more than one subnet in us-east-1a, us-east-1b, us-east-1c",
    ):
        _endpoint(scratch, "Crowded", vpc_subnets=crowded)


def test_fails_when_instance_count_is_below_the_az_count(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=re.escape(
            "instance_count must be at least the number of Availability Zones (3: us-east-1a, "
            "us-east-1b, us-east-1c) and at least 2"
        )
        + ".* got 2; raise instance_count or select fewer AZs",
    ):
        _endpoint(scratch, "TooFew", instance_count=2)


def test_fails_when_instance_count_is_one(scratch: ZonalStack) -> None:
    two_azs = ec2.SubnetSelection(
        subnet_group_name="workloads", availability_zones=["us-east-1a", "us-east-1b"]
    )
    with pytest.raises(ValueError, match=r"instance_count must be at least .* got 1"):
        _endpoint(scratch, "One", vpc_subnets=two_azs, instance_count=1)


def test_fails_when_max_capacity_is_below_the_minimum(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"max_capacity must be at least instance_count \(4\).* got 3"
    ):
        _endpoint(scratch, "MaxBelowMin", instance_count=4, max_capacity=3)


@pytest.mark.parametrize(
    ("prop", "value"),
    [
        ("endpoint_name", "my_endpoint"),
        ("endpoint_name", "-leading"),
        ("endpoint_name", "trailing-"),
        ("endpoint_name", "x" * 64),
        ("variant_name", "All Traffic"),
        ("variant_name", ""),
    ],
)
def test_fails_on_names_cloudformation_rejects(scratch: ZonalStack, prop: str, value: str) -> None:
    with pytest.raises(
        ValueError, match=rf"{prop} must be 1-63 letters, digits and hyphens.* got {value!r}"
    ):
        _endpoint(scratch, f"Bad{prop}{len(value)}{value[:1]}", **{prop: value})


def test_fails_on_a_token_endpoint_name(scratch: ZonalStack) -> None:
    with pytest.raises(ValueError, match="endpoint_name must be a literal name"):
        _endpoint(scratch, "TokenName", endpoint_name=cdk.Aws.STACK_NAME)


def test_fails_on_an_instance_type_without_ml_prefix(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"instance_type must be a SageMaker ML instance type .* got 'g5.xlarge'"
    ):
        _endpoint(scratch, "NoPrefix", instance_type="g5.xlarge")


def test_fails_on_a_non_positive_scaling_target(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"invocations_per_instance_target must be a positive number.* got 0"
    ):
        _endpoint(scratch, "ZeroTarget", invocations_per_instance_target=0)


def test_fails_on_a_volume_key_for_an_nvme_instance_type(scratch: ZonalStack) -> None:
    key = kms.Key.from_key_arn(
        scratch, "ImportedKey", f"arn:aws:kms:us-east-1:{TEST_ACCOUNT}:key/" + "1" * 36
    )
    with pytest.raises(
        ValueError, match=r"volume_key cannot be used with ml.g5.xlarge: .* local NVMe storage"
    ):
        _endpoint(scratch, "NvmeKey", volume_key=key)


def test_fails_on_a_non_ecr_image(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"image must be an Amazon ECR image URI .* got 'ghcr.io/huggingface/tgi:3.0'",
    ):
        _endpoint(scratch, "Ghcr", image="ghcr.io/huggingface/tgi:3.0")


def test_fails_on_a_token_image_without_its_repository(scratch: ZonalStack) -> None:
    repository = ecr.Repository.from_repository_name(scratch, "Repo", "models/llm")
    with pytest.raises(ValueError, match=r"image is a deploy-time token.* pass image_repository"):
        _endpoint(scratch, "TokenImage", image=repository.repository_uri_for_tag("v1"))
    endpoint = _endpoint(
        scratch,
        "TokenImageWithRepository",
        image=repository.repository_uri_for_tag("v1"),
        image_repository=repository,
    )
    assert endpoint.model.primary_container is not None


def test_fails_on_a_model_data_url_that_is_not_s3(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError, match=r"model_data_url must be the S3 URL .* got 'https://example.com/m.tar.gz'"
    ):
        _endpoint(scratch, "HttpsModel", model_data_url="https://example.com/m.tar.gz")


def test_fails_when_alarms_are_added_twice(scratch: ZonalStack) -> None:
    endpoint = _endpoint(scratch, "TwiceAlarmed")
    endpoint.add_alarms(model_latency_threshold=cdk.Duration.seconds(5))
    with pytest.raises(ValueError, match="add_alarms was already called"):
        endpoint.add_alarms(model_latency_threshold=cdk.Duration.seconds(5))


def test_fails_on_a_zero_latency_threshold(scratch: ZonalStack) -> None:
    endpoint = _endpoint(scratch, "ZeroLatency")
    with pytest.raises(ValueError, match="model_latency_threshold must be a positive duration"):
        endpoint.add_alarms(model_latency_threshold=cdk.Duration.seconds(0))


def _list(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


# --- capacity fallback (instance pools) -------------------------------------------------------


@dataclass
class Pooled:
    app: cdk.App
    gpu: MultiAzSageMakerEndpoint
    cpu: MultiAzSageMakerEndpoint
    mixed: MultiAzSageMakerEndpoint
    template: dict[str, Any]


@pytest.fixture(scope="module")
def pooled(tmp_path_factory: pytest.TempPathFactory) -> Pooled:
    """An app that asks for fallbacks, with a GPU pool (NVMe), a CPU pool (EBS-backed) and a
    mixed pool, in one stack."""
    app = new_app(tmp_path_factory.mktemp("pooled"))
    require_instance_fallbacks(app)
    stack = ZonalStack(app, "Pooled", region="us-east-1", groups=("workloads", "other"))

    def endpoint(construct_id: str, **props: Any) -> MultiAzSageMakerEndpoint:
        return MultiAzSageMakerEndpoint(
            stack,
            construct_id,
            vpc=stack.vpc,
            image=OWN_IMAGE,
            invocations_per_instance_target=30,
            **props,
        )

    gpu = endpoint(
        "Llm",
        fallback_instance_types=GPU_FALLBACKS,
        instance_provision_timeout=cdk.Duration.minutes(20),
    )
    gpu.add_alarms(model_latency_threshold=cdk.Duration.seconds(20))
    cpu = endpoint(
        "Embeddings", instance_type="ml.m5.xlarge", fallback_instance_types=CPU_FALLBACKS
    )
    mixed = endpoint(
        "Mixed", instance_type="ml.m5.xlarge", fallback_instance_types=["ml.m5d.xlarge"]
    )
    return Pooled(app, gpu, cpu, mixed, dict(Template.from_stack(stack).to_json()))


def test_instance_pools_replace_the_instance_type_in_priority_order(pooled: Pooled) -> None:
    variant = _variant(pooled.template, "Llm")
    assert "InstanceType" not in variant
    assert variant["InstancePools"] == [
        {"InstanceType": "ml.g5.xlarge", "Priority": 1},
        {"InstanceType": "ml.g6.xlarge", "Priority": 2},
        {"InstanceType": "ml.g6e.xlarge", "Priority": 3},
    ]
    assert variant["VariantInstanceProvisionTimeoutInSeconds"] == 1200
    assert variant["InitialInstanceCount"] == 3
    assert pooled.gpu.instance_types == ("ml.g5.xlarge", *GPU_FALLBACKS)
    assert "VariantInstanceProvisionTimeoutInSeconds" not in _variant(pooled.template, "Mixed")


def test_one_instance_type_keeps_the_plain_variant(scenario: Scenario) -> None:
    variant = _variant(scenario.template, "Llm")
    assert variant["InstanceType"] == DEFAULT_INSTANCE_TYPE
    assert "InstancePools" not in variant
    assert scenario.gpu["us-east-1"].instance_types == (DEFAULT_INSTANCE_TYPE,)


@pytest.mark.parametrize(
    ("prefix", "keyed"), [("Llm", False), ("Embeddings", True), ("Mixed", False)]
)
def test_pool_gets_a_volume_key_only_when_every_type_is_ebs_backed(
    pooled: Pooled, prefix: str, keyed: bool
) -> None:
    """ml.g5/g6/g6e and ml.m5d have local NVMe storage; KmsKeyId is one per endpoint config."""
    config = _one(pooled.template, "AWS::SageMaker::EndpointConfig", prefix)["Properties"]
    keys = [k for k in resources(pooled.template, "AWS::KMS::Key") if k.startswith(prefix)]
    if keyed:
        (key_id,) = keys
        assert config["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    else:
        assert "KmsKeyId" not in config and keys == []


def test_instance_alarm_counts_instances_of_every_pool(pooled: Pooled) -> None:
    """Invocation metrics are published per variant (EndpointName, VariantName), whatever type
    each instance is, so the instance-count alarm of a pooled variant counts all of them."""
    alarm = _alarm(pooled.template, "LlmInstancesBelowAzsAlarm")
    for query in alarm["Metrics"]:
        if "MetricStat" in query:
            assert query["MetricStat"]["Metric"]["Dimensions"] == [
                {"Name": "EndpointName", "Value": pooled.gpu.endpoint_name},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ]
    assert alarm["Threshold"] == 3


def test_pooled_variants_pass_the_fallback_rule(pooled: Pooled) -> None:
    assert findings_of(HaInferenceChecks(), pooled.app) == []


def test_pooled_template_lints_clean(pooled: Pooled) -> None:
    assert lint_template(pooled.template, "us-east-1") == []


def test_fails_on_more_than_five_instance_types(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"fallback_instance_types may name at most 4 types .* got 5 \(ml.g6.xlarge, ",
    ):
        _endpoint(
            scratch,
            "SixTypes",
            fallback_instance_types=[
                "ml.g6.xlarge",
                "ml.g6e.xlarge",
                "ml.g5.2xlarge",
                "ml.g6.2xlarge",
                "ml.g4dn.2xlarge",
            ],
        )


def test_fails_on_a_repeated_instance_type(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"fallback_instance_types\[1\] repeats ml.g5.xlarge, which instance_type already "
        r"names",
    ):
        _endpoint(scratch, "Repeated", fallback_instance_types=["ml.g6.xlarge", "ml.g5.xlarge"])


def test_fails_on_a_fallback_without_ml_prefix(scratch: ZonalStack) -> None:
    with pytest.raises(
        ValueError,
        match=r"fallback_instance_types\[0\] must be a SageMaker ML instance type .* got 'g6.xlarge'",
    ):
        _endpoint(scratch, "NoPrefixFallback", fallback_instance_types=["g6.xlarge"])


def test_fails_on_a_type_not_offered_in_the_region(tmp_path: Path) -> None:
    """ml.g6e is not offered for hosting in eu-west-1 (the hosting table) and ml.g6.64xlarge
    nowhere; each error names what the family offers there."""
    stack = ZonalStack(new_app(tmp_path), "Ireland", region="eu-west-1", groups=("workloads",))
    with pytest.raises(
        ValueError,
        match=r"fallback_instance_types\[1\] must be offered for SageMaker real-time hosting in "
        r"eu-west-1, got 'ml.g6e.xlarge', which is not .*; eu-west-1 offers no ml.g6e type",
    ):
        _endpoint(stack, "NotOffered", fallback_instance_types=["ml.g6.xlarge", "ml.g6e.xlarge"])
    with pytest.raises(
        ValueError,
        match=r"instance_type must be offered .* got 'ml.g6.64xlarge', .*; the g6 types offered "
        r"there are ml.g6.12xlarge, ",
    ):
        _endpoint(stack, "NoSuchSize", instance_type="ml.g6.64xlarge")


def test_fails_on_a_volume_key_for_a_pool_with_an_nvme_type(scratch: ZonalStack) -> None:
    key = kms.Key.from_key_arn(
        scratch, "PoolKey", f"arn:aws:kms:us-east-1:{TEST_ACCOUNT}:key/" + "2" * 36
    )
    with pytest.raises(
        ValueError,
        match=r"volume_key cannot be used with ml.m5d.xlarge: .* every instance type must be "
        r"EBS-backed",
    ):
        _endpoint(
            scratch,
            "NvmePool",
            instance_type="ml.m5.xlarge",
            fallback_instance_types=["ml.m5d.xlarge"],
            volume_key=key,
        )


@pytest.mark.parametrize("timeout", [cdk.Duration.minutes(4), cdk.Duration.minutes(61)])
def test_fails_on_a_provision_timeout_sagemaker_rejects(
    scratch: ZonalStack, timeout: cdk.Duration
) -> None:
    with pytest.raises(
        ValueError, match=r"instance_provision_timeout must be a whole number of seconds from 5"
    ):
        _endpoint(scratch, f"Timeout{timeout.to_minutes()}", instance_provision_timeout=timeout)
