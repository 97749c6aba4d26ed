"""The reference app's regional stacks: every configured AZ, private, flow-logged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from tests.support import Synth, assert_one_subnet_per_az, resources, synth_reference

DEFAULT_AZS = {
    "us-east-1": ("us-east-1a", "us-east-1b", "us-east-1c"),
    "us-east-2": ("us-east-2a", "us-east-2b", "us-east-2c"),
    "us-west-2": ("us-west-2a", "us-west-2b", "us-west-2c"),
}


def test_one_stack_per_configured_region(reference: Synth) -> None:
    assert sorted(reference.regions) == sorted(DEFAULT_AZS)
    assert {s.stack_name for s in reference.stacks} == {f"HaInference-{r}" for r in DEFAULT_AZS}
    assert {s.account for s in reference.stacks} == {"111111111111"}


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_subnets_cover_exactly_the_configured_azs(reference: Synth, region: str) -> None:
    template = reference.template(region)
    subnets = resources(template, "AWS::EC2::Subnet")
    by_tier: dict[str, list[str]] = {}
    for subnet in subnets.values():
        tier = next(
            t["Value"] for t in subnet["Properties"]["Tags"] if t["Key"] == "aws-cdk:subnet-name"
        )
        by_tier.setdefault(tier, []).append(subnet["Properties"]["AvailabilityZone"])
    assert {tier: sorted(azs) for tier, azs in by_tier.items()} == {
        "endpoints": list(DEFAULT_AZS[region]),
        "workloads": list(DEFAULT_AZS[region]),
    }


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_private_by_default(reference: Synth, region: str) -> None:
    template = reference.template(region)
    for kind in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EIP"):
        assert resources(template, kind) == {}, f"{kind} in a private-by-default VPC"
    for subnet in resources(template, "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    for group in resources(template, "AWS::EC2::SecurityGroup").values():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            assert rule.get("CidrIp") != "0.0.0.0/0" and rule.get("CidrIpv6") != "::/0"
    for rule in resources(template, "AWS::EC2::SecurityGroupIngress").values():
        assert rule["Properties"].get("CidrIp") != "0.0.0.0/0"


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_flow_logs_capture_all_traffic_of_the_vpc(reference: Synth, region: str) -> None:
    template = reference.template(region)
    (vpc_id,) = resources(template, "AWS::EC2::VPC")
    (flow_log,) = resources(template, "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["ResourceId"] == {"Ref": vpc_id}
    assert flow_log["Properties"]["TrafficType"] == "ALL"
    role_arn = flow_log["Properties"]["DeliverLogsPermissionArn"]
    group = template["Resources"][flow_log["Properties"]["LogGroupName"]["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup" and role_arn["Fn::GetAtt"][1] == "Arn"
    assert group["Properties"]["RetentionInDays"] == 365


def test_configured_azs_are_used_verbatim(outdir: Path) -> None:
    synth = synth_reference(
        outdir,
        {
            "ha-inference:regions": ["us-west-2", "us-east-1"],
            "ha-inference:require-all-destinations": False,
            "ha-inference:availability-zones": {
                "us-east-1": ["us-east-1b", "us-east-1d", "us-east-1f", "us-east-1a"]
            },
            "ha-inference:nat-gateways": 2,
            "ha-inference:self-hosted": {
                "model-data": {
                    "us-east-1": "s3://models-east/llm/model.tar.gz",
                    "us-west-2": "s3://models-west/llm/model.tar.gz",
                },
                "allowed-principals": ["arn:aws:iam::210987654321:root"],
            },
        },
    )
    (service,) = resources(synth.template("us-east-1"), "AWS::EC2::VPCEndpointService").values()
    assert service["Properties"]["AcceptanceRequired"] is True
    (permissions,) = resources(
        synth.template("us-east-1"), "AWS::EC2::VPCEndpointServicePermissions"
    ).values()
    assert permissions["Properties"]["AllowedPrincipals"] == ["arn:aws:iam::210987654321:root"]
    east = synth.template("us-east-1")
    azs = sorted(
        {s["Properties"]["AvailabilityZone"] for s in resources(east, "AWS::EC2::Subnet").values()}
    )
    assert azs == ["us-east-1a", "us-east-1b", "us-east-1d", "us-east-1f"]
    west = synth.template("us-west-2")
    assert len(resources(west, "AWS::EC2::NatGateway")) == 2
    assert len(resources(west, "AWS::EC2::InternetGateway")) == 1
    # NAT means egress only: public subnets hand out no public IPs, and nothing opens ingress.
    for subnet in resources(west, "AWS::EC2::Subnet").values():
        assert subnet["Properties"]["MapPublicIpOnLaunch"] is False
    assert_one_subnet_per_az(
        west,
        [
            {"Ref": k}
            for k, s in resources(west, "AWS::EC2::Subnet").items()
            if {"Key": "aws-cdk:subnet-name", "Value": "workloads"} in s["Properties"]["Tags"]
        ],
        ("us-west-2a", "us-west-2b", "us-west-2c"),
        "workloads tier",
    )


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_template_snapshot(
    reference: Synth, region: str, template_snapshot: SnapshotAssertion
) -> None:
    assert reference.template(region) == template_snapshot


def _policies_of(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in resources(template, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_vector_collection_is_private_and_highly_available(reference: Synth, region: str) -> None:
    template = reference.template(region)
    (collection,) = resources(template, "AWS::OpenSearchServerless::Collection").values()
    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    assert collection["Properties"]["StandbyReplicas"] == "ENABLED"
    (endpoint_id,) = resources(template, "AWS::OpenSearchServerless::VpcEndpoint")
    policies = resources(template, "AWS::OpenSearchServerless::SecurityPolicy").values()
    (network,) = [p for p in policies if p["Properties"]["Type"] == "network"]
    rule_sets = json.loads(_join(network["Properties"]["Policy"], {endpoint_id: "vpce-ID"}))
    for rule_set in rule_sets:
        assert rule_set["AllowFromPublic"] is False
        assert rule_set["SourceVPCEs"] == ["vpce-ID"]
        assert "SourceServices" not in rule_set


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_endpoints_and_function_cover_every_az(reference: Synth, region: str) -> None:
    template = reference.template(region)
    azs = DEFAULT_AZS[region]
    (endpoint,) = resources(template, "AWS::OpenSearchServerless::VpcEndpoint").values()
    assert_one_subnet_per_az(
        template, endpoint["Properties"]["SubnetIds"], azs, "collection endpoint"
    )
    for logical_id, vpce in resources(template, "AWS::EC2::VPCEndpoint").items():
        if vpce["Properties"].get("VpcEndpointType") == "Interface":
            assert_one_subnet_per_az(template, vpce["Properties"]["SubnetIds"], azs, logical_id)
    in_vpc = [
        f
        for f in resources(template, "AWS::Lambda::Function").values()
        if "VpcConfig" in f["Properties"]
    ]
    assert len(in_vpc) == 3, "the retrieval, ingestion and index-creator functions"
    for function in in_vpc:
        assert_one_subnet_per_az(
            template, function["Properties"]["VpcConfig"]["SubnetIds"], azs, "function"
        )


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_function_role_reads_the_collection_and_invokes_only_the_profile_and_embeddings(
    reference: Synth, region: str
) -> None:
    template = reference.template(region)
    stack = next(s for s in reference.stacks if s.region == region)
    role_id = stack.get_logical_id(stack.inference.inference_role.node.default_child)  # type: ignore[arg-type]
    statements = _policies_of(template, role_id)
    granted: dict[str, list[Any]] = {}
    for statement in statements:
        if statement["Effect"] == "Deny":
            # The network-interface actions Lambda needs, denied to the function's own code.
            assert statement["Sid"] == "NotFromFunctionCode"
            assert "lambda:SourceFunctionArn" in json.dumps(statement["Condition"])
            continue
        assert statement["Effect"] == "Allow"
        for action in _listed(statement["Action"]):
            granted.setdefault(action, []).extend(_listed(statement["Resource"]))
    bedrock = {a: sorted(map(str, r)) for a, r in granted.items() if a.startswith("bedrock:")}
    profile = (
        f"arn:aws:bedrock:{region}:111111111111:inference-profile/us.anthropic.claude-sonnet-5-5"
    )
    models = [
        f"arn:aws:bedrock:{r}::foundation-model/anthropic.claude-sonnet-5-5"
        for r in sorted(DEFAULT_AZS)
    ]
    embeddings = f"arn:aws:bedrock:{region}::foundation-model/amazon.titan-embed-text-v2:0"
    expected = sorted([profile, *models, embeddings])
    assert bedrock == {
        "bedrock:InvokeModel": expected,
        "bedrock:InvokeModelWithResponseStream": expected,
    }
    collection_id = next(iter(resources(template, "AWS::OpenSearchServerless::Collection")))
    assert granted["aoss:APIAccessAll"] == [{"Fn::GetAtt": [collection_id, "Arn"]}]
    # The self-hosted model is the one other thing this role may invoke.
    stack_endpoint = (
        stack.inference.self_hosted.endpoint_arn if stack.inference.self_hosted else None
    )
    sagemaker = {a: r for a, r in granted.items() if a.startswith("sagemaker:")}
    assert set(sagemaker) <= {
        "sagemaker:InvokeEndpoint",
        "sagemaker:InvokeEndpointWithResponseStream",
    }
    for arns in sagemaker.values():
        assert arns == [stack.resolve(stack_endpoint)]
    others = {a.split(":")[0] for a in granted} - {"bedrock", "aoss", "sagemaker"}
    assert others <= {"logs", "ec2", "xray", "kms"}, others
    # The data access policy lets this role read the index, and nothing else.
    (data,) = resources(template, "AWS::OpenSearchServerless::AccessPolicy").values()
    document = json.loads(_join(data["Properties"]["Policy"], {role_id: "ROLE"}))
    (read,) = [rule for rule in document if "ROLE" in rule["Principal"]]
    assert read["Principal"] == ["ROLE"]
    assert sorted(p for r in read["Rules"] for p in r["Permission"]) == [
        "aoss:DescribeCollectionItems",
        "aoss:DescribeIndex",
        "aoss:ReadDocument",
    ]
    assert read["Rules"][1]["Resource"] == ["index/ha-inference-vectors/passages"]


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_only_the_creator_creates_the_index_and_only_ingestion_writes(
    reference: Synth, region: str
) -> None:
    """a principal that may create the index, one that may write documents,
    and each may do that and nothing more."""
    template = reference.template(region)
    stack = next(s for s in reference.stacks if s.region == region)
    roles = {
        "CREATOR": stack.get_logical_id(stack.inference.index.creator.role.node.default_child),  # type: ignore[arg-type]
        "INGESTION": stack.get_logical_id(stack.inference.ingestion.role.node.default_child),  # type: ignore[arg-type]
        "RETRIEVAL": stack.get_logical_id(stack.inference.inference_role.node.default_child),  # type: ignore[arg-type]
    }
    (data,) = resources(template, "AWS::OpenSearchServerless::AccessPolicy").values()
    document = json.loads(
        _join(data["Properties"]["Policy"], {logical: name for name, logical in roles.items()})
    )
    index_permissions = {
        principal: sorted(rule["Rules"][1]["Permission"])
        for rule in document
        for principal in rule["Principal"]
    }
    assert index_permissions == {
        "CREATOR": ["aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex"],
        "INGESTION": ["aoss:DescribeIndex", "aoss:WriteDocument"],
        "RETRIEVAL": ["aoss:DescribeIndex", "aoss:ReadDocument"],
    }
    for rule in document:
        assert rule["Rules"][0]["Permission"] == ["aoss:DescribeCollectionItems"]
        assert rule["Rules"][1]["Resource"] == ["index/ha-inference-vectors/passages"]
    (index,) = resources(template, "Custom::VectorIndex").values()
    assert index["Properties"]["Index"]["name"] == "passages"
    assert index["Properties"]["Index"]["dimension"] == "1024"
    depends = set(index.get("DependsOn", []))
    (policy_id,) = resources(template, "AWS::OpenSearchServerless::AccessPolicy")
    assert policy_id in depends, "the index is created before the creator may create it"


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _join(value: Any, names: dict[str, str]) -> str:
    """A JSON string CDK wrote as Fn::Join, with each reference replaced by a placeholder."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    out = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            target = part.get("Ref") or part.get("Fn::GetAtt", [None])[0]
            out.append(names.get(target, "TOKEN"))
    return str(separator.join(out))


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_self_hosted_model_runs_in_every_az_behind_the_load_balancer(
    reference: Synth, region: str
) -> None:
    template = reference.template(region)
    azs = DEFAULT_AZS[region]
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["InitialInstanceCount"] >= max(len(azs), 2)
    assert variant["RoutingConfig"] == {"RoutingStrategy": "LEAST_OUTSTANDING_REQUESTS"}
    (model,) = resources(template, "AWS::SageMaker::Model").values()
    assert_one_subnet_per_az(template, model["Properties"]["VpcConfig"]["Subnets"], azs, "model")
    runtime = [
        e
        for e in resources(template, "AWS::EC2::VPCEndpoint").values()
        if str(e["Properties"]["ServiceName"]).endswith("sagemaker.runtime")
    ]
    (endpoint,) = runtime
    assert_one_subnet_per_az(template, endpoint["Properties"]["SubnetIds"], azs, "runtime endpoint")
    (nlb,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    assert nlb["Properties"]["Type"] == "network" and nlb["Properties"]["Scheme"] == "internal"
    assert_one_subnet_per_az(template, nlb["Properties"]["Subnets"], azs, "load balancer")
    attributes = {a["Key"]: a["Value"] for a in nlb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["load_balancing.cross_zone.enabled"] == "true"
    (group,) = resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    props = group["Properties"]
    assert (props["TargetType"], props["Protocol"], props["Port"]) == ("ip", "TCP", 443)
    assert props["HealthCheckProtocol"] == "TCP"
    for setting in (
        "HealthCheckIntervalSeconds",
        "HealthyThresholdCount",
        "UnhealthyThresholdCount",
        "HealthCheckTimeoutSeconds",
    ):
        assert isinstance(props[setting], int), f"{setting} is left to its default"
    (listener,) = resources(template, "AWS::ElasticLoadBalancingV2::Listener").values()
    assert (listener["Properties"]["Protocol"], listener["Properties"]["Port"]) == ("TCP", 443)
    (target,) = resources(template, "AWS::ApplicationAutoScaling::ScalableTarget").values()
    assert target["Properties"]["MinCapacity"] >= len(azs)
    assert target["Properties"]["MaxCapacity"] >= target["Properties"]["MinCapacity"]


def test_default_app_has_no_self_hosted_model(outdir: Path) -> None:
    """cdk.json's defaults deploy; the self-hosted model is off until a model
    source is configured (the session fixture turns it on)."""
    synth = synth_reference(
        outdir,
        {"ha-inference:regions": ["us-east-1"], "ha-inference:require-all-destinations": False},
    )
    template = synth.template("us-east-1")
    for kind in (
        "AWS::SageMaker::Model",
        "AWS::SageMaker::Endpoint",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
    ):
        assert resources(template, kind) == {}
    assert synth.stacks[0].inference.self_hosted is None
    assert set(template["Outputs"]) == {
        "RetrievalFunctionName",
        "IngestionFunctionName",
        *(f"AzDrillUsEast1{zone}" for zone in "abc"),
    }


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_bedrock_endpoint_policies_name_only_the_configured_models(
    reference: Synth, region: str
) -> None:
    template = reference.template(region)
    model = "anthropic.claude-sonnet-5-5"
    expected = sorted(
        [
            f"arn:aws:bedrock:{region}:111111111111:inference-profile/us.{model}",
            *(f"arn:aws:bedrock:{r}::foundation-model/{model}" for r in sorted(DEFAULT_AZS)),
            f"arn:aws:bedrock:{region}::foundation-model/amazon.titan-embed-text-v2:0",
        ]
    )
    bedrock = [
        e
        for e in resources(template, "AWS::EC2::VPCEndpoint").values()
        if ".bedrock" in str(e["Properties"]["ServiceName"])
    ]
    assert len(bedrock) == 1, "bedrock-runtime only"
    for endpoint in bedrock:
        (statement,) = endpoint["Properties"]["PolicyDocument"]["Statement"]
        assert statement["Action"] == [
            "bedrock:InvokeModel",
            "bedrock:InvokeModelWithResponseStream",
        ]
        assert sorted(statement["Resource"]) == expected
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalAccount": "111111111111"}}


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_each_region_serves_the_model_archive_of_its_own_region(
    reference: Synth, region: str
) -> None:
    """model data is per Region (the bucket must be in the endpoint's Region)."""
    template = reference.template(region)
    (model,) = resources(template, "AWS::SageMaker::Model").values()
    url = f"s3://ha-inference-models-{region}/llm/model.tar.gz"
    assert model["Properties"]["PrimaryContainer"]["ModelDataUrl"] == url
    assert model["Properties"]["PrimaryContainer"]["Environment"] == {
        "HF_MODEL_ID": "/opt/ml/model"
    }
    assert model["Properties"]["EnableNetworkIsolation"] is True


def test_self_hosted_outputs_name_the_endpoint(reference: Synth) -> None:
    template = reference.template("us-east-1")
    # The other outputs are aws-cdk-lib's weak references (Fn::GetStackOutput) read by the
    # -CrossRegion stacks: no export, nothing for a person to read.
    named = {k for k in template["Outputs"] if not k.startswith("PublishOutput")}
    assert named == {
        "RetrievalFunctionName",
        "IngestionFunctionName",
        "SelfHostedEndpointName",
        *(f"AzDrillUsEast1{zone}" for zone in "abc"),
    }
    for key, output in template["Outputs"].items():
        assert key in named or "Export" not in output


# --- failover, fallback, drills and dashboards -----------------------------------------


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_self_hosted_endpoint_falls_back_across_instance_types_and_is_alarmed(
    reference: Synth, region: str
) -> None:
    template = reference.template(region)
    (config,) = resources(template, "AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["InstancePools"] == [
        {"InstanceType": t, "Priority": i}
        for i, t in enumerate(("ml.g5.xlarge", "ml.g6.xlarge", "ml.g6e.xlarge"), start=1)
    ]
    assert "InstanceType" not in variant and "KmsKeyId" not in config["Properties"]
    (endpoint,) = resources(template, "AWS::SageMaker::Endpoint").values()
    name = endpoint["Properties"]["EndpointName"]
    endpoint_alarms = {
        logical_id.split("SelfHosted")[1].split("Alarm")[0]: a["Properties"]
        for logical_id, a in resources(template, "AWS::CloudWatch::Alarm").items()
        if name in json.dumps(a["Properties"])
    }
    assert set(endpoint_alarms) == {"Errors5xx", "ModelLatency", "InstancesBelowAzs"}
    assert endpoint_alarms["ModelLatency"]["Threshold"] == 30_000_000, "30 s in microseconds"
    instances = endpoint_alarms["InstancesBelowAzs"]
    assert instances["Threshold"] == len(DEFAULT_AZS[region])
    assert "CPUUtilization" not in json.dumps(instances), "a documented count, not sample counting"


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_runtime_load_balancer_can_be_shifted_away_from_an_az(
    reference: Synth, region: str
) -> None:
    template = reference.template(region)
    (nlb,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in nlb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["zonal_shift.config.enabled"] == "true"
    (group,) = resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert {
        "Key": "target_health_state.unhealthy.connection_termination.enabled",
        "Value": "false",
    } in group["Properties"]["TargetGroupAttributes"]


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_zonal_shift_moves_the_load_balancers_traffic_only(reference: Synth, region: str) -> None:
    """What a shift (or an autoshift practice run) moves: the load balancer, whose targets are
    the runtime endpoint's interfaces. Callers in the VPC resolve the runtime hostname to those
    interfaces through the endpoint's private DNS and never pass the load balancer, and no
    SageMaker instance is a target of anything a shift moves: no instance leaves service."""
    template = reference.template(region)
    (config,) = resources(template, "AWS::ARCZonalShift::ZonalAutoshiftConfiguration").values()
    (nlb_id,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert config["Properties"]["ResourceIdentifier"] == {"Ref": nlb_id}, "the NLB, nothing else"
    (runtime_id, runtime) = next(
        (logical_id, e)
        for logical_id, e in resources(template, "AWS::EC2::VPCEndpoint").items()
        if str(e["Properties"]["ServiceName"]).endswith("sagemaker.runtime")
    )
    (vpc_id,) = resources(template, "AWS::EC2::VPC")
    assert runtime["Properties"]["PrivateDnsEnabled"] is True
    assert runtime["Properties"]["VpcId"] == {"Ref": vpc_id}
    (registration,) = resources(template, "Custom::SageMakerRuntimeTargets").values()
    assert registration["Properties"]["NetworkInterfaceIds"] == {
        "Fn::GetAtt": [runtime_id, "NetworkInterfaceIds"]
    }, "the targets are the endpoint's interfaces"
    # The functions that call the model run in the same VPC: the private DNS answers them.
    for function in resources(template, "AWS::Lambda::Function").values():
        if "VpcConfig" in function["Properties"]:
            subnets = function["Properties"]["VpcConfig"]["SubnetIds"]
            assert all(s["Ref"] in resources(template, "AWS::EC2::Subnet") for s in subnets)
    assert resources(template, "AWS::Route53::HostedZone") == {}, (
        "no private zone sends this VPC's runtime hostname to the load balancer"
    )
    endpoint_refs = json.dumps(resources(template, "AWS::SageMaker::Endpoint"))
    assert nlb_id not in endpoint_refs and "SageMaker" not in json.dumps(
        resources(template, "AWS::ElasticLoadBalancingV2::TargetGroup")
    )


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_practice_runs_are_judged_by_alarms_that_stay_quiet_without_traffic(
    reference: Synth, region: str
) -> None:
    """Zonal autoshift's practice runs shift real traffic weekly, also at quiet hours: an outcome
    alarm that breached on missing data would fail them for nothing (the old instance alarm did).
    A shift moves no instance, so the instance count does not judge practice runs: it blocks
    them while capacity is already short."""
    template = reference.template(region)
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    (config,) = resources(template, "AWS::ARCZonalShift::ZonalAutoshiftConfiguration").values()
    practice = config["Properties"]["PracticeRunConfiguration"]
    (outcome,) = practice["OutcomeAlarms"]
    composite = template["Resources"][outcome["AlarmIdentifier"]["Fn::GetAtt"][0]]
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    judged = sorted(
        logical_id.rstrip("0123456789ABCDEF") for logical_id in alarms if logical_id in rule
    )
    assert judged == ["SelfHostedErrors5xxAlarm", "SelfHostedModelLatencyAlarm"]
    (blocking,) = practice["BlockingAlarms"]
    assert blocking["AlarmIdentifier"]["Fn::GetAtt"][0].startswith(
        "SelfHostedInstancesBelowAzsAlarm"
    )
    for logical_id in alarms:
        if logical_id.startswith("SelfHosted"):
            assert alarms[logical_id]["Properties"]["TreatMissingData"] == "notBreaching"


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_one_drill_template_per_az_with_exactly_that_azs_subnets(
    reference: Synth, region: str
) -> None:
    template = reference.template(region)
    templates = resources(template, "AWS::FIS::ExperimentTemplate")
    assert len(templates) == len(DEFAULT_AZS[region])
    subnets = resources(template, "AWS::EC2::Subnet")
    alarms = resources(template, "AWS::CloudWatch::Alarm")
    lost = []
    for experiment in templates.values():
        props = experiment["Properties"]
        (target,) = props["Targets"].values()
        refs = [arn["Fn::Join"][1][1]["Ref"] for arn in target["ResourceArns"]]
        zones = {subnets[ref]["Properties"]["AvailabilityZone"] for ref in refs}
        tiers = sorted(
            next(
                t["Value"]
                for t in subnets[ref]["Properties"]["Tags"]
                if t["Key"] == "aws-cdk:subnet-name"
            )
            for ref in refs
        )
        assert len(zones) == 1 and tiers == ["endpoints", "workloads"]
        lost.extend(zones)
        (action,) = props["Actions"].values()
        assert action["ActionId"] == "aws:network:disrupt-connectivity"
        assert action["Parameters"]["scope"] == "all"
        stops = sorted(c["Value"]["Fn::GetAtt"][0] for c in props["StopConditions"])
        assert [s.rstrip("0123456789ABCDEF") for s in stops] == [
            "DashboardRetrievalServerErrorShare",
            "SelfHostedErrors5xxAlarm",
            "SelfHostedInstancesBelowAzsAlarm",
            "SelfHostedModelLatencyAlarm",
        ], "the retrieval function's answers and the endpoint's alarms"
        for stop in stops:
            watched = json.dumps(alarms[stop]["Properties"])
            assert '"AWS/Lambda"' not in watched, "Errors cannot move: the handlers answer 5xx"
            assert alarms[stop]["Properties"]["TreatMissingData"] == "notBreaching"
    assert sorted(lost) == list(DEFAULT_AZS[region])


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_the_drill_takes_subnets_off_the_network_and_nothing_else(
    reference: Synth, region: str
) -> None:
    """The drill's only targets are subnets and its only action cuts their network: it moves
    every ENI in the lost AZ's subnets, and it stops, starts or removes no SageMaker instance
    (which serves through SageMaker Runtime, not through its ENI in the VPC)."""
    template = reference.template(region)
    for experiment in resources(template, "AWS::FIS::ExperimentTemplate").values():
        props = experiment["Properties"]
        assert {t["ResourceType"] for t in props["Targets"].values()} == {"aws:ec2:subnet"}
        assert {a["ActionId"] for a in props["Actions"].values()} == {
            "aws:network:disrupt-connectivity"
        }
        assert "SageMaker" not in json.dumps(props["Targets"])


def test_a_dashboard_per_region_and_one_app_dashboard_in_the_first(reference: Synth) -> None:
    names = {
        region: sorted(
            d["Properties"]["DashboardName"]
            for d in resources(reference.template(region), "AWS::CloudWatch::Dashboard").values()
        )
        for region in reference.regions
    }
    assert names == {
        "us-east-1": ["HaInference", "HaInference-us-east-1"],
        "us-east-2": ["HaInference-us-east-2"],
        "us-west-2": ["HaInference-us-west-2"],
    }
    (app,) = [
        d
        for d in resources(reference.template("us-east-1"), "AWS::CloudWatch::Dashboard").values()
        if d["Properties"]["DashboardName"] == "HaInference"
    ]
    body = json.loads(app["Properties"]["DashboardBody"])
    regions = {w["properties"]["region"] for w in body["widgets"] if w["type"] == "metric"}
    assert regions == set(DEFAULT_AZS)
    headers = [w for w in body["widgets"] if w["type"] == "text" and w["y"] == 0]
    assert [w["x"] for w in headers] == [0, 8, 16], "the Regions side by side"


@pytest.mark.parametrize("region", sorted(DEFAULT_AZS))
def test_bedrock_profile_is_alarmed_on_throttles(reference: Synth, region: str) -> None:
    throttled = sorted(
        a["Properties"]["Dimensions"][0]["Value"]
        for a in resources(reference.template(region), "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "InvocationThrottles"
    )
    assert throttled == [
        "amazon.titan-embed-text-v2:0",
        "us.anthropic.claude-sonnet-5-5",
    ]


def test_zonal_autoshift_and_quota_settings(outdir: Path) -> None:
    synth = synth_reference(
        outdir,
        {
            "ha-inference:regions": ["us-east-1"],
            "ha-inference:require-all-destinations": False,
            "ha-inference:self-hosted": {"model-data": "s3://models-east/llm/model.tar.gz"},
            "ha-inference:zonal-autoshift": True,
            "ha-inference:bedrock-tokens-per-minute-quota": 400_000,
        },
    )
    template = synth.template("us-east-1")
    (config,) = resources(template, "AWS::ARCZonalShift::ZonalAutoshiftConfiguration").values()
    (nlb_id,) = resources(template, "AWS::ElasticLoadBalancingV2::LoadBalancer")
    assert config["Properties"]["ResourceIdentifier"] == {"Ref": nlb_id}
    (outcome,) = config["Properties"]["PracticeRunConfiguration"]["OutcomeAlarms"]
    composite = template["Resources"][outcome["AlarmIdentifier"]["Fn::GetAtt"][0]]
    assert composite["Type"] == "AWS::CloudWatch::CompositeAlarm"
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    endpoint_alarms = [
        logical_id
        for logical_id, a in resources(template, "AWS::CloudWatch::Alarm").items()
        if logical_id.startswith("SelfHosted")
    ]
    assert len(endpoint_alarms) == 3
    assert [a for a in endpoint_alarms if a in rule] == [
        a for a in endpoint_alarms if "InstancesBelowAzs" not in a
    ], "5XX and latency judge practice runs; the instance count blocks them"
    (quota,) = [
        a["Properties"]
        for a in resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "EstimatedTPMQuotaUsage"
    ]
    assert quota["Threshold"] == 320_000
    assert quota["Dimensions"] == [{"Name": "ModelId", "Value": "us.anthropic.claude-sonnet-5-5"}]
