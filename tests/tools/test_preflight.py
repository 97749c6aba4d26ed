"""preflight: every check against stubbed AWS (pass, fail, access denied, throttling), and the
template readers against the reference app. No test reaches the network (``no_network``)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from ha_inference.data import images
from ha_inference.metadata import IMPORTED_MODEL_METADATA
from ha_inference.tools._account import Finding, Status, run_check
from ha_inference.tools._template import (
    endpoint_variants,
    interface_endpoints,
    model_data_urls,
    model_grants,
    profiles_of,
    unique_names,
)
from ha_inference.tools.assembly import StackArtifact
from ha_inference.tools.preflight import PERMISSIONS, PREFLIGHT
from tests.support import Synth
from tests.support.preflight_answers import (
    DIGEST_A,
    DIGEST_B,
    FUTURE,
    IMPORT_BUCKET,
    PAST,
    all_active,
    bootstrap_version,
    bucket,
    collections,
    endpoint_name,
    foundation_model,
    head,
    image_answer,
    import_listing,
    lifecycle,
    policies,
    profile,
    quotas,
    service,
    toolkit,
    usage,
    zones,
)
from tests.support.stubs import (
    EMBEDDING_MODEL_ID,
    IMPORT_SOURCE,
    MODEL_DATA,
    MODEL_ID,
    PHYSICAL,
    PROFILE_ID,
    PROFILE_REGIONS,
    REGION,
    SAMPLE_IMAGE,
    STACK,
    ZONE_IDS,
    ZONES,
    ApiErrorCase,
    Stubs,
    access_denied,
    agent_placement,
    api_error,
    assert_could_not_check,
    findings,
    no_network,  # noqa: F401 - autouse fixture
    only,
    sample_stack,
    sample_template,
    target,
    throttled,
    without,
)


def check(name: str, stubs: Stubs, *stacks: StackArtifact) -> list[Finding]:
    """Runs one preflight check as the command does (errors become "could not check")."""
    (found,) = [c for c in PREFLIGHT.checks if c.name == name]
    return run_check(found, target(*stacks), stubs.connector(PERMISSIONS).aws(REGION))


# --------------------------------------------------------------------------- account


def test_account_passes_for_the_stacks_account(stubs: Stubs) -> None:
    assert findings(check("account", stubs)) == [("pass", STACK)]


def test_fails_when_the_credentials_are_for_another_account(stubs: Stubs) -> None:
    finding = only(check("account", stubs, sample_stack(account="000000000000")))
    assert finding.status is Status.FAIL
    assert "targets account 000000000000, the credentials are for 111111111111" in finding.detail


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_passes_with_the_toolkit_stack_and_a_new_enough_version(stubs: Stubs) -> None:
    toolkit(stubs)
    bootstrap_version(stubs, "27")
    finding = only(check("bootstrap", stubs))
    assert finding.status is Status.PASS
    assert "bootstrap version 27 (needs 6); stack CDKToolkit UPDATE_COMPLETE" in finding.detail


def test_fails_when_the_region_is_not_bootstrapped(stubs: Stubs) -> None:
    stubs.no_stack("CDKToolkit")
    stubs.error("ssm", "get_parameter", "ParameterNotFound")
    finding = only(check("bootstrap", stubs))
    assert finding.status is Status.FAIL
    assert "us-east-1 is not bootstrapped for qualifier hnb659fds" in finding.detail
    assert finding.fix == "cdk bootstrap aws://111111111111/us-east-1"


def test_fails_when_the_bootstrap_version_is_too_old(stubs: Stubs) -> None:
    toolkit(stubs)
    bootstrap_version(stubs, "5")
    finding = only(check("bootstrap", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "bootstrap version '5', the app needs at least 6",
    )


def test_bootstrap_reads_a_custom_qualifier_from_the_assembly(stubs: Stubs) -> None:
    stack = sample_stack(
        properties={
            "requiresBootstrapStackVersion": 6,
            "bootstrapStackVersionSsmParameter": "/cdk-bootstrap/team42/version",
        }
    )
    toolkit(stubs)
    stubs.error("ssm", "get_parameter", "ParameterNotFound")
    finding = only(check("bootstrap", stubs, stack))
    assert finding.subject == "/cdk-bootstrap/team42/version"
    assert finding.fix == "cdk bootstrap aws://111111111111/us-east-1 --qualifier team42"


def test_bootstrap_warns_when_the_toolkit_stack_has_another_name(stubs: Stubs) -> None:
    stubs.no_stack("CDKToolkit")
    bootstrap_version(stubs)
    assert findings(check("bootstrap", stubs)) == [("warning", "/cdk-bootstrap/hnb659fds/version")]


def test_fails_when_the_toolkit_stack_is_broken(stubs: Stubs) -> None:
    toolkit(stubs, "UPDATE_ROLLBACK_FAILED")
    bootstrap_version(stubs)
    assert [f.status for f in check("bootstrap", stubs)] == [Status.FAIL, Status.PASS]


# --------------------------------------------------------------------------- endpoint quota


def test_quota_passes_when_it_covers_the_autoscaling_maximum(stubs: Stubs) -> None:
    quotas(stubs, 8, usage_metric=True)
    usage(stubs, [0.0, 1.0])
    finding = only(check("endpoint-quota", stubs))
    assert (finding.status, finding.subject) == (Status.PASS, "ml.g5.xlarge")
    assert finding.detail == (
        "quota 8, the app can run 6 (HaInference-us-east-1 llm-endpoint/AllTraffic: 3 at "
        "create, up to 6 by autoscaling); in use now 1"
    )


def test_fails_when_the_quota_is_below_the_initial_count(stubs: Stubs) -> None:
    quotas(stubs, 0)
    finding = only(check("endpoint-quota", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail.endswith("creating the endpoint fails")
    assert "--quota-code L-1234ABCD --desired-value 6 --region us-east-1" in finding.fix


def test_fails_when_the_quota_is_below_the_autoscaling_maximum(stubs: Stubs) -> None:
    quotas(stubs, 4)
    finding = only(check("endpoint-quota", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail.endswith("scaling out stops at 4")


def test_quota_warns_when_current_usage_leaves_too_little(stubs: Stubs) -> None:
    quotas(stubs, 8, usage_metric=True)
    usage(stubs, [5.0])
    finding = only(check("endpoint-quota", stubs))
    assert finding.status is Status.WARNING
    assert "only 3 more can start" in finding.detail


def test_quota_sums_the_stacks_of_a_region(stubs: Stubs) -> None:
    quotas(stubs, 8)
    other = sample_stack(name="Other")
    finding = only(check("endpoint-quota", stubs, sample_stack(), other))
    assert (finding.status, finding.detail.split(" (")[0]) == (
        Status.FAIL,
        "quota 8, the app can run 12",
    )


def test_quota_counts_every_type_of_an_instance_pool(stubs: Stubs) -> None:
    template = sample_template()
    variant = template["Resources"]["Config"]["Properties"]["ProductionVariants"][0]
    del variant["InstanceType"]
    variant["InstancePools"] = [
        {"InstanceType": "ml.g6.xlarge", "Priority": 2},
        {"InstanceType": "ml.g5.xlarge", "Priority": 1},
    ]
    quotas(stubs, 6)
    found = check("endpoint-quota", stubs, sample_stack(template))
    assert [(f.status, f.subject) for f in found] == [
        (Status.PASS, "ml.g5.xlarge"),
        (Status.UNKNOWN, "ml.g6.xlarge"),
    ]
    assert "lists no 'ml.g6.xlarge for endpoint usage'" in found[1].detail


def test_quota_is_not_applicable_without_sagemaker(stubs: Stubs) -> None:
    template = without(sample_template(), "AWS::SageMaker::Endpoint")
    assert findings(check("endpoint-quota", stubs, sample_stack(template))) == [
        ("not applicable", "")
    ]


def test_quota_usage_denied_is_reported_apart_from_the_quota(stubs: Stubs) -> None:
    quotas(stubs, 8, usage_metric=True)
    access_denied(stubs, "cloudwatch", "get_metric_data")
    found = check("endpoint-quota", stubs)
    assert [(f.status, f.subject) for f in found] == [
        (Status.PASS, "ml.g5.xlarge"),
        (Status.UNKNOWN, "ml.g5.xlarge usage"),
    ]
    assert "access denied to cloudwatch:GetMetricData" in found[1].detail


# --------------------------------------------------------------------------- endpoint AZs


def test_endpoint_azs_pass_when_every_service_offers_every_subnet_az(stubs: Stubs) -> None:
    zones(stubs)
    service(stubs, "com.amazonaws.us-east-1.bedrock-runtime")
    service(stubs, "com.amazonaws.us-east-1.aoss")
    found = check("endpoint-azs", stubs)
    assert findings(found) == [
        ("pass", "bedrock-runtime (BedrockRuntime)"),
        ("pass", "aoss (CollectionEndpoint)"),
    ]
    assert found[0].detail == (
        "offered in us-east-1a (use1-az6), us-east-1b (use1-az1), us-east-1c (use1-az2)"
    )


def test_fails_when_a_service_is_not_offered_in_a_subnet_az(stubs: Stubs) -> None:
    zones(stubs)
    service(stubs, "com.amazonaws.us-east-1.bedrock-runtime", ZONES[:2])
    service(stubs, "com.amazonaws.us-east-1.aoss")
    finding = check("endpoint-azs", stubs)[0]
    assert finding.status is Status.FAIL
    assert finding.detail.startswith(
        "com.amazonaws.us-east-1.bedrock-runtime is not offered in us-east-1c (use1-az2)"
    )


def test_fails_when_a_service_is_not_offered_in_the_region(stubs: Stubs) -> None:
    zones(stubs)
    stubs.error("ec2", "describe_vpc_endpoint_services", "InvalidServiceName")
    service(stubs, "com.amazonaws.us-east-1.aoss")
    finding = check("endpoint-azs", stubs)[0]
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "com.amazonaws.us-east-1.bedrock-runtime is not offered in us-east-1",
    )


def test_fails_when_a_subnet_az_does_not_exist_in_the_account(stubs: Stubs) -> None:
    template = sample_template()
    template["Resources"]["SubnetC"]["Properties"]["AvailabilityZone"] = "us-east-1f"
    zones(stubs)
    found = check("endpoint-azs", stubs, sample_stack(template))
    assert [f.status for f in found] == [Status.FAIL, Status.FAIL]
    assert found[0].detail.startswith("subnet AZ us-east-1f does not exist in us-east-1")


def test_endpoint_azs_look_up_imported_subnets_and_never_pass_unknown_ones(stubs: Stubs) -> None:
    template = without(sample_template(), "AWS::OpenSearchServerless::VpcEndpoint")
    endpoint = template["Resources"]["BedrockRuntime"]["Properties"]
    endpoint["SubnetIds"] = ["subnet-0imported", {"Fn::ImportValue": "OtherSubnet"}]
    zones(stubs)
    stubs("ec2").add_response(
        "describe_subnets",
        {"Subnets": [{"SubnetId": "subnet-0imported", "AvailabilityZone": "us-east-1b"}]},
        {"SubnetIds": ["subnet-0imported"]},
    )
    service(stubs, "com.amazonaws.us-east-1.bedrock-runtime")
    finding = only(check("endpoint-azs", stubs, sample_stack(template)))
    assert finding.status is Status.UNKNOWN
    assert finding.detail.startswith("1 of 2 subnets have an AZ the template does not tell")


# --------------------------------------------------------------------------- zone placements


def placed(**changes: Any) -> StackArtifact:
    """The sample stack with one placement (``ha-inference:zone-placement``) changed."""
    stack = sample_stack()
    return StackArtifact(
        **{
            **stack.__dict__,
            "metadata": {
                **stack.metadata,
                f"/{STACK}/Agent": (
                    {"type": "ha-inference:zone-placement", "data": agent_placement(**changes)},
                ),
            },
        }
    )


def service_ids(stubs: Stubs, name: str, ids: list[str]) -> None:
    stubs("ec2").add_response(
        "describe_vpc_endpoint_services",
        {"ServiceDetails": [{"ServiceName": name, "AvailabilityZoneIds": ids}]},
        {"ServiceNames": [name]},
    )


def test_zone_ids_pass_when_the_mapping_and_the_azs_hold(stubs: Stubs) -> None:
    zones(stubs)
    finding = only(check("zone-ids", stubs))
    assert (finding.status, finding.subject) == (
        Status.PASS,
        f"bedrock-agentcore-runtime ({STACK}/Agent)",
    )
    assert finding.detail == "in us-east-1b (use1-az1), us-east-1c (use1-az2)"


def test_fails_when_the_account_maps_an_az_name_to_another_id(stubs: Stubs) -> None:
    zones(stubs)
    stack = placed(zoneIds={**ZONE_IDS, "us-east-1b": "use1-az4"})
    finding = only(check("zone-ids", stubs, stack))
    assert finding.status is Status.FAIL
    assert finding.detail == (
        "the app was synthesized with us-east-1b = use1-az4, but in this account us-east-1b is "
        "use1-az1"
    )
    assert "ha-inference:zone-ids" in finding.fix
    assert "describe-availability-zones" in finding.fix


def test_fails_when_a_runtime_subnet_is_in_an_unsupported_az(stubs: Stubs) -> None:
    zones(stubs)
    stack = placed(subnets=[{"Ref": "SubnetA"}, {"Ref": "SubnetB"}])
    finding = only(check("zone-ids", stubs, stack))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith(
        "bedrock-agentcore-runtime is not offered in us-east-1a (use1-az6); it is offered in "
        "AZ IDs use1-az1, use1-az2, use1-az4"
    )


def test_runtime_placements_warn_when_built_for_other_az_ids_than_the_table(
    stubs: Stubs,
) -> None:
    zones(stubs)
    stack = placed(supportedAzIds=["use1-az1", "use1-az2"])
    finding = only(check("zone-ids", stubs, stack))
    assert finding.status is Status.WARNING
    assert "this ha-inference's table (2026-12-07) says use1-az1, use1-az2, use1-az4" in (
        finding.detail
    )


def test_endpoint_placements_are_checked_against_the_real_offering(stubs: Stubs) -> None:
    zones(stubs)
    service_ids(stubs, "com.amazonaws.us-east-1.bedrock-mantle", ["use1-az1"])
    stack = placed(service="bedrock-mantle", supportedAzIds=["use1-az1", "use1-az2"])
    finding = only(check("zone-ids", stubs, stack))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith("bedrock-mantle is not offered in us-east-1c (use1-az2)")


def test_endpoint_placements_warn_when_the_app_was_built_for_fewer_azs(stubs: Stubs) -> None:
    zones(stubs)
    service_ids(
        stubs, "com.amazonaws.us-east-1.bedrock-mantle", ["use1-az1", "use1-az2", "use1-az6"]
    )
    stack = placed(service="bedrock-mantle", supportedAzIds=["use1-az1", "use1-az2"])
    finding = only(check("zone-ids", stubs, stack))
    assert finding.status is Status.WARNING
    assert "the service offers use1-az1, use1-az2, use1-az6" in finding.detail


def test_zone_ids_are_not_applicable_without_placements(stubs: Stubs) -> None:
    stack = sample_stack(metadata={})
    assert findings(check("zone-ids", stubs, stack)) == [("not applicable", "")]


# --------------------------------------------------------------------------- inference profile


def test_profile_passes_when_it_routes_to_exactly_the_granted_regions(stubs: Stubs) -> None:
    profile(stubs)
    finding = only(check("inference-profile", stubs))
    assert (finding.status, finding.subject) == (Status.PASS, PROFILE_ID)
    assert finding.detail == (
        "routes to us-east-1, us-east-2, us-west-2, exactly what the IAM grants"
    )


def test_fails_when_the_profile_routes_where_the_iam_grants_nothing(stubs: Stubs) -> None:
    profile(stubs, (*PROFILE_REGIONS, "us-west-1"))
    finding = only(check("inference-profile", stubs))
    assert finding.status is Status.FAIL
    assert "calls routed to us-west-1 would be denied" in finding.detail


def test_profile_warns_when_the_iam_grants_a_region_it_does_not_route_to(stubs: Stubs) -> None:
    profile(stubs, ("us-east-1", "us-east-2"))
    finding = only(check("inference-profile", stubs))
    assert finding.status is Status.WARNING
    assert finding.detail.startswith("the IAM grants us-west-2 too, where the profile does not")


def test_fails_when_the_profile_does_not_exist_in_the_region(stubs: Stubs) -> None:
    stubs.error("bedrock", "get_inference_profile", "ResourceNotFoundException", status=404)
    finding = only(check("inference-profile", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "the profile does not exist in us-east-1",
    )


def test_profile_grants_fall_back_to_the_constructs_routes_without_iam(stubs: Stubs) -> None:
    template = without(sample_template(), "AWS::IAM::Policy")
    profile(stubs, (*PROFILE_REGIONS, "us-west-1"))
    finding = only(check("inference-profile", stubs, sample_stack(template)))
    assert finding.status is Status.FAIL
    assert "the construct routes to (no IAM grant in this template) only" in finding.detail


# --------------------------------------------------------------------------- foundation model


def test_direct_model_passes_when_offered_on_demand(stubs: Stubs) -> None:
    foundation_model(stubs)
    assert findings(check("foundation-model", stubs)) == [
        ("pass", f"{EMBEDDING_MODEL_ID} in us-east-1")
    ]


def test_fails_when_the_direct_model_is_not_offered_in_the_region(stubs: Stubs) -> None:
    stubs.error("bedrock", "get_foundation_model", "ResourceNotFoundException", status=404)
    finding = only(check("foundation-model", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        f"Bedrock does not offer {EMBEDDING_MODEL_ID} in us-east-1",
    )


def test_fails_when_the_direct_model_is_offered_only_through_profiles(stubs: Stubs) -> None:
    foundation_model(stubs, ("INFERENCE_PROFILE",))
    finding = only(check("foundation-model", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail == (
        "offered in us-east-1 only as INFERENCE_PROFILE: a direct invocation fails"
    )


def test_direct_model_fails_past_its_end_of_life(stubs: Stubs) -> None:
    lifecycle(
        stubs,
        REGION,
        "LEGACY",
        model_id=EMBEDDING_MODEL_ID,
        kinds=("ON_DEMAND",),
        legacyTime=PAST,
        endOfLifeTime=PAST,
    )
    finding = only(check("foundation-model", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "past its end of life on 2020-01-01: every call fails",
    )


# --------------------------------------------------------------------------- model lifecycle


def test_profile_model_passes_when_active_in_every_destination(stubs: Stubs) -> None:
    all_active(stubs)
    assert findings(check("model-lifecycle", stubs)) == [
        ("pass", f"{MODEL_ID} in {region} (through {PROFILE_ID})") for region in PROFILE_REGIONS
    ]


def test_profile_model_warns_where_it_is_legacy(stubs: Stubs) -> None:
    """Preflight used to judge lifecycle only for models called directly; the model behind a
    profile is judged in each Region the profile routes to."""
    lifecycle(stubs, "us-east-1")
    lifecycle(stubs, "us-east-2", "LEGACY", legacyTime=PAST, endOfLifeTime=FUTURE)
    lifecycle(stubs, "us-west-2")
    found = check("model-lifecycle", stubs)
    assert [f.status for f in found] == [Status.PASS, Status.WARNING, Status.PASS]
    assert found[1].subject == f"{MODEL_ID} in us-east-2 (through {PROFILE_ID})"
    assert found[1].detail == "marked LEGACY since 2020-01-01; end of life 2100-01-01"


def test_profile_model_fails_past_its_end_of_life(stubs: Stubs) -> None:
    lifecycle(stubs, "us-east-1", "LEGACY", endOfLifeTime=PAST)
    lifecycle(stubs, "us-east-2", "LEGACY", endOfLifeTime=PAST)
    lifecycle(stubs, "us-west-2", "LEGACY", endOfLifeTime=PAST)
    found = check("model-lifecycle", stubs)
    assert {f.status for f in found} == {Status.FAIL}
    assert found[0].detail == "past its end of life on 2020-01-01: every call fails"


def test_profile_model_fails_where_a_destination_does_not_offer_it(stubs: Stubs) -> None:
    lifecycle(stubs, "us-east-1")
    lifecycle(stubs, "us-east-2")
    stubs.error(
        "bedrock",
        "get_foundation_model",
        "ResourceNotFoundException",
        status=404,
        region="us-west-2",
    )
    finding = check("model-lifecycle", stubs)[2]
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        f"Bedrock does not offer {MODEL_ID} in us-west-2, where the profile routes calls",
    )


SCP_DENIAL = (
    "User: arn:aws:sts::111111111111:assumed-role/ci/session is not authorized to perform: "
    "bedrock:GetFoundationModel with an explicit deny in a service control policy: "
    "arn:aws:organizations::222222222222:policy/o-abc/service_control_policy/p-abc"
)


def test_profile_model_says_when_an_organization_policy_denies_a_destination(
    stubs: Stubs,
) -> None:
    """A Region-deny SCP refuses the read in a destination Region: preflight says the
    organization denies the Region, that calls routed there fail unless the policy lets
    profile calls through, and prints the remedy."""
    lifecycle(stubs, "us-east-1")
    lifecycle(stubs, "us-east-2")
    stubs.error(
        "bedrock",
        "get_foundation_model",
        "AccessDeniedException",
        status=403,
        region="us-west-2",
        message=SCP_DENIAL,
    )
    found = check("model-lifecycle", stubs)
    assert [f.status for f in found] == [Status.PASS, Status.PASS, Status.WARNING]
    denied = found[2]
    assert denied.detail.startswith(
        "bedrock:GetFoundationModel in us-west-2 was refused with an explicit deny in a service "
        f"control policy: the organization denies requests in us-west-2, where {PROFILE_ID} "
        "routes calls from us-east-1; every call routed there fails with AccessDeniedException"
    )
    assert "'ha-inference scp cdk.out' prints the statements" in denied.fix
    assert "111111111111" not in denied.detail + denied.fix


def test_profile_model_denied_by_iam_is_not_blamed_on_the_organization(stubs: Stubs) -> None:
    lifecycle(stubs, "us-east-1")
    lifecycle(stubs, "us-east-2")
    stubs.error(
        "bedrock",
        "get_foundation_model",
        "AccessDeniedException",
        status=403,
        region="us-west-2",
        message="User: x is not authorized to perform: bedrock:GetFoundationModel because no "
        "identity-based policy allows the bedrock:GetFoundationModel action",
    )
    denied = check("model-lifecycle", stubs)[2]
    assert denied.status is Status.UNKNOWN and "control policy" not in denied.detail


def test_profile_model_is_asked_once_per_region_for_several_stacks(stubs: Stubs) -> None:
    """Every regional stack routes to the same Regions: each is asked once per run."""
    all_active(stubs)
    first, second = sample_stack(), sample_stack(name="HaInference-other")
    assert len(check("model-lifecycle", stubs, first, second)) == 6


# --------------------------------------------------------------------------- model data


def test_model_data_passes_when_the_object_is_in_the_endpoints_region(stubs: Stubs) -> None:
    bucket(stubs)  # no LocationConstraint: us-east-1
    head(stubs)
    finding = only(check("model-data", stubs))
    assert (finding.status, finding.subject, finding.detail) == (
        Status.PASS,
        MODEL_DATA,
        "4200000000 bytes, bucket of account 111111111111 in us-east-1",
    )


def test_fails_when_the_model_bucket_is_in_another_region(stubs: Stubs) -> None:
    bucket(stubs, "us-west-2")
    finding = only(check("model-data", stubs))
    assert finding.status is Status.FAIL
    assert finding.detail == (
        "bucket models-us-east-1 is in us-west-2, the endpoint in us-east-1: SageMaker needs "
        "the model in its own Region"
    )


def test_fails_when_the_model_object_does_not_exist(stubs: Stubs) -> None:
    bucket(stubs)
    stubs.error("s3", "head_object", "404", status=404)
    finding = only(check("model-data", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "no object llm/model.tar.gz in bucket models-us-east-1",
    )


def test_model_data_object_denied_explains_the_403(stubs: Stubs) -> None:
    bucket(stubs)
    stubs.error("s3", "head_object", "403", status=403)
    finding = only(check("model-data", stubs))
    assert finding.status is Status.UNKNOWN
    assert finding.detail == (
        "access denied to s3:GetObject (403): the bucket does not belong to account "
        "111111111111, or these credentials may not read it (without s3:ListBucket S3 also "
        "answers 403 for a missing object)"
    )


def test_model_data_bucket_of_another_owner_is_not_passed(stubs: Stubs) -> None:
    """S3 answers 403 to ExpectedBucketOwner when someone else owns the bucket (a mistyped or
    deleted name registered by another account): preflight says so instead of passing."""
    stubs.error("s3", "get_bucket_location", "AccessDenied", status=403)
    finding = only(check("model-data", stubs))
    assert finding.status is Status.UNKNOWN
    assert "does not belong to account 111111111111" in finding.detail
    assert finding.fix.startswith("check that account 111111111111 owns the bucket")


def test_model_data_owner_is_the_one_the_execution_role_pins(stubs: Stubs) -> None:
    """The account comes from the template: the execution role's aws:ResourceAccount."""
    template = copy.deepcopy(sample_template())
    resources = template["Resources"]
    (model,) = [r for r in resources.values() if r["Type"] == "AWS::SageMaker::Model"]
    model["Properties"]["ExecutionRoleArn"] = {"Fn::GetAtt": ["ModelRole", "Arn"]}
    resources["ModelRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "Policies": [
                {
                    "PolicyName": "Execution",
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "s3:GetObject",
                                "Resource": "arn:aws:s3:::models-us-east-1/llm/model.tar.gz",
                                "Condition": {
                                    "StringEquals": {"aws:ResourceAccount": "222222222222"}
                                },
                            }
                        ]
                    },
                }
            ]
        },
    }
    bucket(stubs, owner="222222222222")
    head(stubs, owner="222222222222")
    finding = only(check("model-data", stubs, sample_stack(template=template)))
    assert finding.detail == "4200000000 bytes, bucket of account 222222222222 in us-east-1"


def test_model_data_published_as_a_cdk_asset_passes_without_calls(stubs: Stubs) -> None:
    stack = sample_stack()
    stack = StackArtifact(
        **{**stack.__dict__, "asset_objects": frozenset({("models-us-east-1", "llm/model.tar.gz")})}
    )
    assert findings(check("model-data", stubs, stack)) == [("pass", MODEL_DATA)]


# --------------------------------------------------------------------------- serving images


def test_image_by_tag_only_warns_with_the_digest_to_pin(stubs: Stubs) -> None:
    image_answer(stubs, DIGEST_A)
    finding = only(check("serving-image", stubs))
    assert (finding.status, finding.subject) == (Status.WARNING, SAMPLE_IMAGE)
    assert finding.detail == (
        f"pinned by tag only: 1 stands for {DIGEST_A} today, and a tag can be pushed again"
    )
    assert (
        finding.fix
        == f"pin the digest: 123456789012.dkr.ecr.us-east-1.amazonaws.com/model@{DIGEST_A}"
    )


def test_fails_when_the_image_is_not_in_the_registry(stubs: Stubs) -> None:
    image_answer(stubs, None)
    finding = only(check("serving-image", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "the registry has no such image (ImageNotFound)",
    )


def _with_image(image: str) -> StackArtifact:
    template = copy.deepcopy(sample_template())
    (model,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Model"]
    model["Properties"]["PrimaryContainer"]["Image"] = image
    return sample_stack(template=template)


def test_image_by_digest_passes_when_it_exists(stubs: Stubs) -> None:
    image = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/model@{DIGEST_A}"
    image_answer(stubs, DIGEST_A, {"imageDigest": DIGEST_A})
    finding = only(check("serving-image", stubs, _with_image(image)))
    assert (finding.status, finding.detail) == (
        Status.PASS,
        "pinned by digest; the image exists",
    )


def test_fails_when_the_tag_no_longer_stands_for_the_pinned_digest(
    stubs: Stubs, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The data module pins a digest for the default image's tag; the registry now answers
    another: the tag was pushed again, and preflight refuses to deploy an unreviewed image."""
    tag = images.HUGGING_FACE_TGI_TAG
    pin = images.PinnedDigest(tag=tag, digest=DIGEST_A, source="a release note", read="2026-12-08")
    monkeypatch.setattr(images, "HUGGING_FACE_TGI_DIGESTS", {"us-east-1": pin})
    image = images.ecr_image_uri(
        "763104351884", "us-east-1", images.HUGGING_FACE_TGI_REPOSITORY, tag
    )
    stubs("ecr").add_response(
        "batch_get_image",
        {"images": [{"imageId": {"imageTag": tag, "imageDigest": DIGEST_B}}], "failures": []},
        {
            "registryId": "763104351884",
            "repositoryName": images.HUGGING_FACE_TGI_REPOSITORY,
            "imageIds": [{"imageTag": tag}],
            "acceptedMediaTypes": [
                "application/vnd.docker.distribution.manifest.v2+json",
                "application/vnd.oci.image.manifest.v1+json",
            ],
        },
    )
    finding = only(check("serving-image", stubs, _with_image(image)))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith(f"tag {tag} now stands for {DIGEST_B}, not {DIGEST_A}")


# --------------------------------------------------------------------------- imported models

IMPORTED = f"support-llm from {IMPORT_SOURCE}"


def test_imported_model_source_passes_with_config_and_weights(stubs: Stubs) -> None:
    stubs("s3").add_response("get_bucket_location", {}, IMPORT_BUCKET)
    import_listing(stubs, ("config.json", "tokenizer.json", "model-00001.safetensors"))
    finding = only(check("imported-model", stubs))
    assert (finding.status, finding.subject, finding.detail) == (
        Status.PASS,
        IMPORTED,
        "3 objects, bucket of account 111111111111 in us-east-1",
    )


def test_import_source_bucket_must_belong_to_the_models_bucket_owner(stubs: Stubs) -> None:
    """The owner comes from the model's metadata (ImportedModel's bucket_owner)."""
    owner = {"Bucket": "imports-us-east-1", "ExpectedBucketOwner": "222222222222"}
    stubs("s3").add_response("get_bucket_location", {}, owner)
    stubs("s3").add_response(
        "list_objects_v2",
        {"Contents": [{"Key": "support-llm/config.json"}, {"Key": "support-llm/m.safetensors"}]},
        {**owner, "Prefix": "support-llm/", "MaxKeys": 1000},
    )
    imported = {
        "type": IMPORTED_MODEL_METADATA,
        "data": {
            "importedModelName": "support-llm",
            "region": REGION,
            "s3Uri": IMPORT_SOURCE,
            "bucketOwner": "222222222222",
        },
    }
    stack = sample_stack(metadata={f"/{STACK}/Imported": (imported,)})
    finding = only(check("imported-model", stubs, stack))
    assert finding.detail == "2 objects, bucket of account 222222222222 in us-east-1"


def test_fails_when_the_import_source_has_no_weights(stubs: Stubs) -> None:
    stubs("s3").add_response("get_bucket_location", {}, IMPORT_BUCKET)
    import_listing(stubs, ("config.json",))
    finding = only(check("imported-model", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "no .safetensors under s3://imports-us-east-1/support-llm/",
    )


def test_fails_when_the_import_source_bucket_is_in_another_region(stubs: Stubs) -> None:
    stubs("s3").add_response(
        "get_bucket_location",
        {"LocationConstraint": "eu-central-1"},
        IMPORT_BUCKET,
    )
    finding = only(check("imported-model", stubs))
    assert (finding.status, finding.detail) == (
        Status.FAIL,
        "bucket imports-us-east-1 is in eu-central-1, the import in us-east-1",
    )


def test_fails_where_custom_model_import_is_not_offered(stubs: Stubs) -> None:
    """No call at all: the Region list is data (ha_inference.regions)."""
    stack = sample_stack(region="us-west-1")
    finding = only(check("imported-model", stubs, stack))
    assert finding.status is Status.FAIL
    assert finding.detail.startswith("Bedrock Custom Model Import is not offered in us-west-1")


# --------------------------------------------------------------------------- unique names


def test_names_pass_when_free(stubs: Stubs) -> None:
    collections(stubs)
    policies(stubs)
    endpoint_name(stubs)
    assert findings(check("unique-names", stubs)) == [
        ("pass", "collection vectors"),
        ("pass", "encryption security policy vectors-enc"),
        ("pass", "data access policy vectors-data"),
        ("pass", "SageMaker endpoint llm-endpoint"),
    ]


def test_fails_when_a_name_is_taken_outside_the_stack(stubs: Stubs) -> None:
    collections(stubs, [{"name": "vectors", "id": "other99", "status": "ACTIVE"}])
    policies(stubs)
    endpoint_name(stubs)
    stubs.no_stack()
    found = check("unique-names", stubs)
    taken = [f for f in found if f.status is Status.FAIL]
    assert [f.subject for f in taken] == ["collection vectors"]
    assert taken[0].detail == (
        "already exists in us-east-1 (ACTIVE) and is not this stack's Vectors: creating it fails"
    )


def test_names_already_owned_by_the_stack_pass(stubs: Stubs) -> None:
    collections(stubs, [{"name": "vectors", "id": "coll1234", "status": "ACTIVE"}])
    policies(stubs, encryption=True, data=True)
    endpoint_name(stubs, exists=True)
    stubs.stack(PHYSICAL)
    found = check("unique-names", stubs)
    assert {f.status for f in found} == {Status.PASS}
    assert {f.detail.split(" (")[0] for f in found} == {"already this stack's"}


def test_fails_when_an_application_profile_name_is_taken(stubs: Stubs) -> None:
    template = {
        "Resources": {
            "Profile": {
                "Type": "AWS::Bedrock::ApplicationInferenceProfile",
                "Properties": {"InferenceProfileName": "claude-support"},
            }
        }
    }
    stubs("bedrock").add_response(
        "list_inference_profiles",
        {
            "inferenceProfileSummaries": [
                {
                    "inferenceProfileName": "claude-support",
                    "inferenceProfileArn": "arn:aws:bedrock:us-east-1:1:application-inference-profile/x",
                    "inferenceProfileId": "x",
                    "models": [
                        {"modelArn": f"arn:aws:bedrock:us-east-1::foundation-model/{MODEL_ID}"}
                    ],
                    "status": "ACTIVE",
                    "type": "APPLICATION",
                }
            ]
        },
        {"typeEquals": "APPLICATION"},
    )
    stubs.no_stack()
    finding = only(check("unique-names", stubs, sample_stack(template)))
    assert (finding.status, finding.subject) == (Status.FAIL, "inference profile claude-support")


# --------------------------------------------------------------------------- API errors, per check

# check name -> (answers before the failing call, service, method, IAM action, answers after)
Setup = Callable[[Stubs], None]


def _nothing(stubs: Stubs) -> None:
    return None


API_ERRORS: dict[str, ApiErrorCase] = {
    "bootstrap": (toolkit, "ssm", "get_parameter", "ssm:GetParameter", _nothing),
    "endpoint-quota": (
        _nothing,
        "service-quotas",
        "list_service_quotas",
        "servicequotas:ListServiceQuotas",
        _nothing,
    ),
    "endpoint-azs": (
        _nothing,
        "ec2",
        "describe_availability_zones",
        "ec2:DescribeAvailabilityZones",
        _nothing,
    ),
    "zone-ids": (
        _nothing,
        "ec2",
        "describe_availability_zones",
        "ec2:DescribeAvailabilityZones",
        _nothing,
    ),
    "inference-profile": (
        _nothing,
        "bedrock",
        "get_inference_profile",
        "bedrock:GetInferenceProfile",
        _nothing,
    ),
    "foundation-model": (
        _nothing,
        "bedrock",
        "get_foundation_model",
        "bedrock:GetFoundationModel",
        _nothing,
    ),
    "model-lifecycle": (
        _nothing,
        "bedrock",
        "get_foundation_model",
        "bedrock:GetFoundationModel",
        lambda stubs: all_active(stubs, ("us-east-2", "us-west-2")),
    ),
    "model-data": (_nothing, "s3", "get_bucket_location", "s3:GetBucketLocation", _nothing),
    "imported-model": (_nothing, "s3", "get_bucket_location", "s3:GetBucketLocation", _nothing),
    "serving-image": (_nothing, "ecr", "batch_get_image", "ecr:BatchGetImage", _nothing),
    "unique-names": (
        _nothing,
        "opensearchserverless",
        "batch_get_collection",
        "aoss:BatchGetCollection",
        lambda stubs: (policies(stubs), endpoint_name(stubs)),
    ),
}


def test_every_check_that_calls_aws_has_an_api_error_case() -> None:
    calling = {c.name for c in PREFLIGHT.checks} - {"account"}
    assert set(API_ERRORS) == calling


@pytest.mark.parametrize("throttle", [False, True], ids=["access-denied", "throttled"])
@pytest.mark.parametrize("name", sorted(API_ERRORS))
def test_api_errors_are_could_not_check_naming_the_action(
    stubs: Stubs, name: str, throttle: bool
) -> None:
    action = api_error(stubs, API_ERRORS[name], throttle=throttle)
    assert_could_not_check(check(name, stubs), action, stubs, throttled=throttle)


def test_throttling_then_an_answer_passes(stubs: Stubs) -> None:
    throttled(stubs, "bedrock", "get_foundation_model", times=2)
    foundation_model(stubs)
    assert findings(check("foundation-model", stubs)) == [
        ("pass", f"{EMBEDDING_MODEL_ID} in us-east-1")
    ]
    assert len(stubs.sleeps) == 2


# --------------------------------------------------------------------------- template readers


def test_reads_the_reference_app(reference: Synth) -> None:
    """The readers understand what the constructs synthesize (keyed on types, not ids)."""
    for region, stack in reference.artifacts.items():
        resources = stack.resources
        configs = [r for r in resources.values() if r["Type"] == "AWS::SageMaker::EndpointConfig"]
        variants = endpoint_variants(stack)
        assert [v.pools[0][0] for v in variants] == [
            # The first choice: the variant's one type, or its priority-1 instance pool.
            p.get("InstanceType")
            or min(p["InstancePools"], key=lambda pool: pool["Priority"])["InstanceType"]
            for c in configs
            for p in c["Properties"]["ProductionVariants"]
        ]
        maxima = [
            r["Properties"]["MaxCapacity"]
            for r in resources.values()
            if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
        ]
        assert [v.maximum for v in variants] == maxima
        assert all(v.model_id in resources for v in variants)

        endpoints = interface_endpoints(stack)
        interface = [
            r
            for r in resources.values()
            if r["Type"] == "AWS::OpenSearchServerless::VpcEndpoint"
            or (
                r["Type"] == "AWS::EC2::VPCEndpoint"
                and r["Properties"].get("VpcEndpointType") == "Interface"
            )
        ]
        assert len(endpoints) == len(interface) > 0
        assert all(
            e.service and e.service.startswith(f"com.amazonaws.{region}.") for e in endpoints
        )

        (use,) = profiles_of(stack)
        grants = model_grants(stack)
        granted = {g.region for g in grants if g.model_id == use.model_id and g.through_profile}
        assert granted == use.destinations
        assert {(g.model_id, g.region) for g in grants if not g.through_profile} >= {
            ("amazon.titan-embed-text-v2:0", region)
        }
        collection_names = {
            r["Properties"]["Name"]
            for r in resources.values()
            if r["Type"] == "AWS::OpenSearchServerless::Collection"
        }
        assert collection_names <= {n.name for n in unique_names(stack)}
        assert all(url is None or url.startswith("s3://") for _, url in model_data_urls(stack))


def test_endpoint_variants_resolve_joined_resource_ids_and_literal_names() -> None:
    template = sample_template()
    resources = template["Resources"]
    resources["Scaling"]["Properties"]["ResourceId"] = {
        "Fn::Join": [
            "",
            ["endpoint/", {"Fn::GetAtt": ["Endpoint", "EndpointName"]}, "/variant/AllTraffic"],
        ]
    }
    resources["Config"]["Properties"]["EndpointConfigName"] = "llm-config"
    resources["Endpoint"]["Properties"]["EndpointConfigName"] = "llm-config"
    (variant,) = endpoint_variants(sample_stack(template))
    assert (variant.initial, variant.maximum, variant.model_id) == (3, 6, "Model")


def test_serverless_variants_need_no_instance_quota() -> None:
    template = copy.deepcopy(sample_template())
    variant = template["Resources"]["Config"]["Properties"]["ProductionVariants"][0]
    variant.pop("InstanceType")
    variant["ServerlessConfig"] = {"MaxConcurrency": 5, "MemorySizeInMB": 2048}
    assert endpoint_variants(sample_stack(template)) == []
