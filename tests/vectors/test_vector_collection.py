"""VectorCollection and CollectionVpcEndpoint: private, multi-AZ, access built from grants."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.assertions import Annotations, Match, Template

from ha_inference.regions import REGIONS_WITHOUT
from ha_inference.tools.assembly import zones_of
from ha_inference.vectors.collection import (
    NAMESPACE,
    IVectorCollection,
    VectorCollection,
    policy_name,
)
from ha_inference.vectors.collection_endpoint import CollectionVpcEndpoint
from tests.support import TEST_ACCOUNT, new_app
from tests.support.lint import lint_template
from tests.support.zoned import (
    ENDPOINT_SUBNETS,
    ZonedStack,
    logical_id,
    of_type,
    private_vpc,
)

REGION = "us-east-1"
ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]


def render(value: Any) -> str:
    """A policy document as text, with each Ref/GetAtt replaced by ``<LogicalId[.Attr]>``."""
    if isinstance(value, str):
        return value
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(render(part) for part in parts)
    if "Fn::GetAtt" in value:
        return "<{}.{}>".format(*value["Fn::GetAtt"])
    if "Ref" in value:
        return f"<{value['Ref']}>"
    raise AssertionError(f"unexpected intrinsic in a policy document: {value}")


def policy_document(resource: dict[str, Any]) -> Any:
    return json.loads(render(resource["Properties"]["Policy"]))


@dataclass
class Scenario:
    stack: ZonedStack
    template: dict[str, Any]
    assertions: Template
    endpoint: CollectionVpcEndpoint
    collection: VectorCollection
    plain: VectorCollection
    imported: IVectorCollection
    reader: iam.Role
    writer: iam.Role
    outsider: iam.Role
    client: ec2.SecurityGroup
    key: kms.Key


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    app = new_app(tmp_path_factory.mktemp("vector-collection"))
    stack = ZonedStack(app, "Subject", region=REGION, zones=ZONES)
    vpc = private_vpc(stack)
    endpoint = CollectionVpcEndpoint(stack, "Endpoint", vpc=vpc, vpc_subnets=ENDPOINT_SUBNETS)
    client = ec2.SecurityGroup(stack, "Client", vpc=vpc, allow_all_outbound=False)
    endpoint.connections.allow_default_port_from(client)
    collection = VectorCollection(
        stack,
        "Collection",
        collection_name="knowledge",
        vpc_endpoint=endpoint,
        allowed_services=["bedrock.amazonaws.com", "bedrock.amazonaws.com"],
    )
    assumed_by = iam.ServicePrincipal("lambda.amazonaws.com")
    reader = iam.Role(stack, "Reader", assumed_by=assumed_by)
    writer = iam.Role(stack, "Writer", assumed_by=assumed_by)
    outsider = iam.Role(stack, "Outsider", assumed_by=assumed_by)
    collection.grant_read(reader)
    collection.grant_read(reader)  # idempotent
    collection.grant_read_write(writer)
    key = kms.Key(stack, "CollectionKey", enable_key_rotation=True)
    plain = VectorCollection(
        stack,
        "Plain",
        collection_name="scratch-vectors",
        vpc_endpoint=endpoint,
        standby_replicas=False,
        encryption_key=key,
        deletion_protection=True,
    )
    imported = VectorCollection.from_collection_attributes(
        stack,
        "Imported",
        collection_arn="arn:aws:aoss:us-east-1:222222222222:collection/abc123def456",
        collection_endpoint="https://abc123def456.us-east-1.aoss.amazonaws.com",
        collection_name="shared",
    )
    imported.grant_read(outsider)
    assertions = Template.from_stack(stack)
    return Scenario(
        stack=stack,
        template=dict(assertions.to_json()),
        assertions=assertions,
        endpoint=endpoint,
        collection=collection,
        plain=plain,
        imported=imported,
        reader=reader,
        writer=writer,
        outsider=outsider,
        client=client,
        key=key,
    )


def collection_named(template: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, r)
        for k, r in of_type(template, "AWS::OpenSearchServerless::Collection").items()
        if r["Properties"]["Name"] == name
    ]
    return found


def security_policy(template: dict[str, Any], kind: str, name: str) -> dict[str, Any]:
    (found,) = [
        r
        for r in of_type(template, "AWS::OpenSearchServerless::SecurityPolicy").values()
        if r["Properties"]["Type"] == kind and r["Properties"]["Name"] == name
    ]
    return found


def test_collection_is_vectorsearch_with_standby_replicas(scenario: Scenario) -> None:
    _, collection = collection_named(scenario.template, "knowledge")
    assert collection["Properties"]["Type"] == "VECTORSEARCH"
    assert collection["Properties"]["StandbyReplicas"] == "ENABLED"
    assert "DeletionProtection" not in collection["Properties"]


def test_collection_and_its_policies_are_removed_with_the_stack(scenario: Scenario) -> None:
    """the name is fixed and unique per account and Region; a retained
    collection (whose policies were deleted) made the next deploy fail on the taken name."""
    template = scenario.template
    _, collection = collection_named(template, "knowledge")
    assert collection["DeletionPolicy"] == "Delete"
    assert collection["UpdateReplacePolicy"] == "Delete"
    for kind, name in (("encryption", "knowledge-enc"), ("network", "knowledge-net")):
        policy = security_policy(template, kind, name)
        assert (policy.get("DeletionPolicy"), policy.get("UpdateReplacePolicy")) == (
            "Delete",
            "Delete",
        )


def test_retained_collection_keeps_its_policies(tmp_path: Path) -> None:
    """RETAIN is explicit and keeps the policies with the collection, so it stays reachable."""
    app = new_app(tmp_path)
    stack = ZonedStack(app, "Retained", region="us-east-1", zones=["us-east-1a", "us-east-1b"])
    collection = VectorCollection(
        stack,
        "Vectors",
        collection_name="kept",
        vpc_endpoint="vpce-0abc123",
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    collection.grant_read(iam.Role(stack, "Reader", assumed_by=iam.AccountRootPrincipal()))
    template = Template.from_stack(stack).to_json()
    for resource in template["Resources"].values():
        if resource["Type"].startswith("AWS::OpenSearchServerless::"):
            assert resource["DeletionPolicy"] == "Retain", resource["Type"]


def test_fails_on_two_collections_with_one_name_in_one_account_and_region(
    tmp_path: Path,
) -> None:
    """a duplicate name synthesized fine and failed at deploy."""
    app = new_app(tmp_path)
    zones = ["us-east-1a", "us-east-1b"]
    first = ZonedStack(app, "First", region="us-east-1", zones=zones)
    second = ZonedStack(app, "Second", region="us-east-1", zones=zones)
    elsewhere = ZonedStack(app, "Elsewhere", region="us-west-2", zones=["us-west-2a", "us-west-2b"])
    VectorCollection(first, "Vectors", collection_name="docs", vpc_endpoint="vpce-0abc123")
    VectorCollection(elsewhere, "Vectors", collection_name="docs", vpc_endpoint="vpce-0abc123")
    with pytest.raises(
        ValueError,
        match=r"collection_name 'docs' is already the name of OpenSearch Serverless collection "
        r"First/Vectors, in the same account and Region \(111111111111, us-east-1\).*give "
        r"Second/Vectors another collection_name",
    ):
        VectorCollection(second, "Vectors", collection_name="docs", vpc_endpoint="vpce-0abc123")


def test_collection_logical_id_is_stable(scenario: Scenario) -> None:
    """Stateful: a changed logical id would replace the collection and lose its vectors."""
    logical, _ = collection_named(scenario.template, "knowledge")
    assert logical.startswith("Collection") and logical == logical_id(
        scenario.stack, scenario.collection.collection
    )
    assert scenario.collection.collection.node.id == "Resource"


def test_encryption_policy_uses_an_aws_owned_key_and_precedes_the_collection(
    scenario: Scenario,
) -> None:
    policy = security_policy(scenario.template, "encryption", "knowledge-enc")
    assert policy_document(policy) == {
        "Rules": [{"ResourceType": "collection", "Resource": ["collection/knowledge"]}],
        "AWSOwnedKey": True,
    }
    _, collection = collection_named(scenario.template, "knowledge")
    assert (
        logical_id(scenario.stack, scenario.collection.encryption_policy) in collection["DependsOn"]
    )
    assert logical_id(scenario.stack, scenario.collection.network_policy) in collection["DependsOn"]


def test_encryption_policy_names_the_customer_key(scenario: Scenario) -> None:
    policy = security_policy(scenario.template, "encryption", "scratch-vectors-enc")
    key = logical_id(scenario.stack, scenario.key)
    assert policy_document(policy) == {
        "Rules": [{"ResourceType": "collection", "Resource": ["collection/scratch-vectors"]}],
        "AWSOwnedKey": False,
        "KmsARN": f"<{key}.Arn>",
    }


def test_network_policy_admits_only_the_endpoint_and_declared_services(
    scenario: Scenario,
) -> None:
    document = policy_document(security_policy(scenario.template, "network", "knowledge-net"))
    endpoint = logical_id(scenario.stack, scenario.endpoint.endpoint)
    assert all(rule_set["AllowFromPublic"] is False for rule_set in document)
    vpc_rules, service_rules = document
    assert vpc_rules["SourceVPCEs"] == [f"<{endpoint}.Id>"]
    assert "SourceServices" not in vpc_rules
    assert vpc_rules["Rules"] == [
        {"ResourceType": "collection", "Resource": ["collection/knowledge"]},
        {"ResourceType": "dashboard", "Resource": ["collection/knowledge"]},
    ]
    assert service_rules["SourceServices"] == ["bedrock.amazonaws.com"]
    assert "SourceVPCEs" not in service_rules
    assert service_rules["Rules"] == [
        {"ResourceType": "collection", "Resource": ["collection/knowledge"]}
    ]


def test_no_network_policy_is_public(scenario: Scenario) -> None:
    policies = of_type(scenario.template, "AWS::OpenSearchServerless::SecurityPolicy")
    networks = [r for r in policies.values() if r["Properties"]["Type"] == "network"]
    assert len(networks) == 2
    for policy in networks:
        for rule_set in policy_document(policy):
            assert rule_set["AllowFromPublic"] is False
            assert set(rule_set) & {"SourceVPCEs", "SourceServices"}


def data_policies(template: dict[str, Any]) -> list[dict[str, Any]]:
    return list(of_type(template, "AWS::OpenSearchServerless::AccessPolicy").values())


def test_data_access_policy_lists_exactly_the_granted_roles(scenario: Scenario) -> None:
    (policy,) = data_policies(scenario.template)
    assert policy["Properties"]["Type"] == "data"
    assert policy["Properties"]["Name"] == "knowledge-data"
    reader = logical_id(scenario.stack, scenario.reader)
    writer = logical_id(scenario.stack, scenario.writer)
    read, read_write = policy_document(policy)
    assert read["Principal"] == [f"<{reader}.Arn>"]
    assert read["Rules"] == [
        {
            "ResourceType": "collection",
            "Resource": ["collection/knowledge"],
            "Permission": ["aoss:DescribeCollectionItems"],
        },
        {
            "ResourceType": "index",
            "Resource": ["index/knowledge/*"],
            "Permission": ["aoss:DescribeIndex", "aoss:ReadDocument"],
        },
    ]
    assert read_write["Principal"] == [f"<{writer}.Arn>"]
    assert read_write["Rules"] == [
        {
            "ResourceType": "collection",
            "Resource": ["collection/knowledge"],
            "Permission": [
                "aoss:CreateCollectionItems",
                "aoss:DescribeCollectionItems",
                "aoss:UpdateCollectionItems",
            ],
        },
        {
            "ResourceType": "index",
            "Resource": ["index/knowledge/*"],
            "Permission": [
                "aoss:CreateIndex",
                "aoss:DescribeIndex",
                "aoss:ReadDocument",
                "aoss:UpdateIndex",
                "aoss:WriteDocument",
            ],
        },
    ]
    permissions = json.dumps(policy_document(policy))
    assert "Delete" not in permissions and '"aoss:*"' not in permissions


def test_collection_without_grants_has_no_data_access_policy(scenario: Scenario) -> None:
    assert scenario.plain.data_access_policy is None
    assert len(data_policies(scenario.template)) == 1


def role_statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every statement of every AWS::IAM::Policy attached to the role."""
    return [
        statement
        for policy in of_type(template, "AWS::IAM::Policy").values()
        if {"Ref": role_logical_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def test_grant_read_adds_api_access_on_the_collection_to_the_role(scenario: Scenario) -> None:
    collection, _ = collection_named(scenario.template, "knowledge")
    for role in (scenario.reader, scenario.writer):
        assert role_statements(scenario.template, logical_id(scenario.stack, role)) == [
            {
                "Action": "aoss:APIAccessAll",
                "Effect": "Allow",
                "Resource": {"Fn::GetAtt": [collection, "Arn"]},
            }
        ]


def test_grant_returns_a_grant_for_the_principal(scenario: Scenario) -> None:
    role = iam.Role(
        scenario.stack, "LateReader", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com")
    )
    grant = scenario.plain.grant_read(role)
    assert isinstance(grant, iam.Grant)
    assert grant.success
    assert grant.principal_statements[0].actions == ["aoss:APIAccessAll"]


def test_imported_collection_grants_only_iam(scenario: Scenario) -> None:
    outsider = logical_id(scenario.stack, scenario.outsider)
    assert role_statements(scenario.template, outsider) == [
        {
            "Action": "aoss:APIAccessAll",
            "Effect": "Allow",
            "Resource": "arn:aws:aoss:us-east-1:222222222222:collection/abc123def456",
        }
    ]
    assert isinstance(scenario.imported, IVectorCollection)
    assert scenario.imported.collection_id == "abc123def456"
    assert f"<{outsider}.Arn>" not in json.dumps(
        [policy_document(p) for p in data_policies(scenario.template)]
    )


def test_disabled_standby_replicas_warn(scenario: Scenario) -> None:
    _, plain = collection_named(scenario.template, "scratch-vectors")
    assert plain["Properties"]["StandbyReplicas"] == "DISABLED"
    assert plain["Properties"]["DeletionProtection"] == "ENABLED"
    annotations = Annotations.from_stack(scenario.stack)
    annotations.has_warning("/Subject/Plain", Match.string_like_regexp("standby_replicas=False"))
    warnings = annotations.find_warning("*", Match.string_like_regexp("standby"))
    assert [w.id for w in warnings] == ["/Subject/Plain"]


def test_endpoint_has_one_subnet_in_every_az(scenario: Scenario) -> None:
    (endpoint,) = of_type(scenario.template, "AWS::OpenSearchServerless::VpcEndpoint").values()
    assert sorted(zones_of(scenario.template, endpoint["Properties"]["SubnetIds"])) == ZONES  # type: ignore[type-var]
    assert scenario.endpoint.availability_zones == tuple(ZONES)
    assert re.fullmatch(r"[a-z][a-z0-9-]{2,31}", endpoint["Properties"]["Name"])


def test_endpoint_security_group_admits_only_allowed_peers(scenario: Scenario) -> None:
    group = logical_id(scenario.stack, scenario.endpoint.security_group)
    client = logical_id(scenario.stack, scenario.client)
    (endpoint,) = of_type(scenario.template, "AWS::OpenSearchServerless::VpcEndpoint").values()
    assert endpoint["Properties"]["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
    inline = scenario.template["Resources"][group]["Properties"]
    assert "SecurityGroupIngress" not in inline
    ingress = [
        r["Properties"]
        for r in of_type(scenario.template, "AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"]["GroupId"] == {"Fn::GetAtt": [group, "GroupId"]}
    ]
    for rule in ingress:
        rule.pop("Description")
    assert ingress == [
        {
            "FromPort": 443,
            "ToPort": 443,
            "GroupId": {"Fn::GetAtt": [group, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [client, "GroupId"]},
        }
    ]
    assert "0.0.0.0/0" not in json.dumps(inline)


def test_metrics_use_the_aoss_namespace_and_collection_dimensions(scenario: Scenario) -> None:
    stack = scenario.stack
    latency = scenario.collection.metric_search_request_latency()
    assert (latency.namespace, latency.metric_name, latency.statistic) == (
        NAMESPACE,
        "SearchRequestLatency",
        "p99",
    )
    assert stack.resolve(latency.dimensions) == {
        "ClientId": TEST_ACCOUNT,
        "CollectionId": {"Fn::GetAtt": [logical_id(stack, scenario.collection.collection), "Id"]},
        "CollectionName": "knowledge",
    }
    names = {
        m.metric_name: m.statistic
        for m in (
            scenario.collection.metric_search_request_errors(),
            scenario.collection.metric_search_request_rate(),
            scenario.collection.metric_ingestion_request_errors(),
            scenario.collection.metric_client_error(),
            scenario.collection.metric_server_error(),
        )
    }
    assert names == {
        "SearchRequestErrors": "Sum",
        "SearchRequestRate": "Sum",
        "IngestionRequestErrors": "Sum",
        "4xx": "Sum",
        "5xx": "Sum",
    }
    imported = scenario.imported.metric("SearchRequestErrors")
    assert stack.resolve(imported.dimensions) == {
        "ClientId": "222222222222",
        "CollectionId": "abc123def456",
        "CollectionName": "shared",
    }


def test_template_lints_clean(scenario: Scenario) -> None:
    """Customer key, deletion protection and disabled standby replicas are valid CloudFormation."""
    assert lint_template(scenario.template, REGION) == []


def test_policy_names_stay_within_the_api_limit() -> None:
    assert policy_name("knowledge", "data") == "knowledge-data"
    longest = "a" * 28
    assert policy_name(longest, "enc") == f"{longest}-enc"  # exactly 32
    names = {policy_name(f"{'b' * 25}{tail}", "data") for tail in ("-one-x", "-two-x")}
    assert len(names) == 2
    for name in names:
        assert re.fullmatch(r"[a-z][a-z0-9-]{2,31}", name), name
        assert name.startswith("b" * 20) and name.endswith("-data")


def test_the_region_table_knows_regions_without_opensearch_serverless() -> None:
    assert "ca-west-1" in REGIONS_WITHOUT["AWS::OpenSearchServerless::Collection"]


# Failing inputs. The constructs raise at construct time; the sandbox stack is never synthesized.


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[cdk.App, ZonedStack, ec2.Vpc]:
    app = new_app(tmp_path_factory.mktemp("vector-collection-sandbox"))
    stack = ZonedStack(app, "Sandbox", region=REGION, zones=ZONES)
    return app, stack, private_vpc(stack)


_counter = iter(range(1_000_000))


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ab", r"collection_name 'ab' is 2 characters long; .*3-32 characters"),
        ("a" * 33, r"collection_name 'a{33}' is 33 characters long"),
        ("Knowledge", r"collection_name 'Knowledge' does not start with a lowercase letter"),
        ("1knowledge", r"collection_name '1knowledge' does not start with a lowercase letter"),
        ("know_ledge", r"collection_name 'know_ledge' has characters other than lowercase"),
        ("know ledge", r"collection_name 'know ledge' has characters other than lowercase"),
    ],
)
def test_fails_on_a_bad_collection_name(
    sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc], name: str, message: str
) -> None:
    _, stack, _ = sandbox
    with pytest.raises(ValueError, match=message):
        VectorCollection(stack, fresh("C"), collection_name=name, vpc_endpoint="vpce-0abc123")


def test_fails_on_a_token_collection_name(sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc]) -> None:
    _, stack, _ = sandbox
    with pytest.raises(ValueError, match="collection_name must be a literal name"):
        VectorCollection(
            stack, fresh("C"), collection_name=cdk.Aws.STACK_NAME, vpc_endpoint="vpce-0abc123"
        )


def test_fails_on_a_bad_vpc_endpoint_id(sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc]) -> None:
    _, stack, _ = sandbox
    with pytest.raises(ValueError, match=r"vpc_endpoint must be an OpenSearch Serverless VPC"):
        VectorCollection(stack, fresh("C"), collection_name="vectors", vpc_endpoint="sg-123")


def test_fails_on_an_ec2_interface_endpoint(sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc]) -> None:
    _, stack, vpc = sandbox
    ec2_endpoint = vpc.add_interface_endpoint(
        fresh("Ep"), service=ec2.InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME
    )
    with pytest.raises(TypeError, match=r"vpc_endpoint must be a CollectionVpcEndpoint"):
        VectorCollection(
            stack,
            fresh("C"),
            collection_name="vectors",
            vpc_endpoint=ec2_endpoint,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize(
    ("services", "error", "message"),
    [
        ("bedrock.amazonaws.com", TypeError, r"allowed_services must be a list"),
        (["bedrock"], ValueError, r"allowed_services has 'bedrock', which is not a literal"),
        (["*"], ValueError, r"allowed_services has '\*'"),
    ],
)
def test_fails_on_bad_allowed_services(
    sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc],
    services: Any,
    error: type[Exception],
    message: str,
) -> None:
    _, stack, _ = sandbox
    with pytest.raises(error, match=message):
        VectorCollection(
            stack,
            fresh("C"),
            collection_name="vectors",
            vpc_endpoint="vpce-0abc123",
            allowed_services=services,
        )


def test_fails_to_grant_to_a_non_role(sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc]) -> None:
    _, stack, _ = sandbox
    collection = VectorCollection(
        stack, fresh("C"), collection_name="granted", vpc_endpoint="vpce-0abc123"
    )
    user = iam.User(stack, fresh("User"))
    with pytest.raises(TypeError, match=r"grantee must be an IAM role .* got User whose"):
        collection.grant_read(user)
    with pytest.raises(TypeError, match=r"grantee must be an IAM role"):
        collection.grant_read_write(iam.ServicePrincipal("bedrock.amazonaws.com"))
    assert collection.data_access_policy is None


@pytest.mark.parametrize("region", sorted(REGIONS_WITHOUT["AWS::OpenSearchServerless::Collection"]))
def test_fails_in_a_region_without_opensearch_serverless(tmp_path: Path, region: str) -> None:
    app = new_app(tmp_path)
    stack = cdk.Stack(app, "Gap", env=cdk.Environment(account=TEST_ACCOUNT, region=region))
    with pytest.raises(ValueError, match=f"OpenSearch Serverless is not available in {region}; "):
        VectorCollection(stack, "C", collection_name="vectors", vpc_endpoint="vpce-0abc123")


def test_fails_to_place_an_endpoint_in_a_region_without_opensearch_serverless(
    tmp_path: Path,
) -> None:
    app = new_app(tmp_path)
    stack = ZonedStack(app, "Gap", region="ca-west-1", zones=["ca-west-1a", "ca-west-1b"])
    vpc = ec2.Vpc(stack, "Vpc", availability_zones=stack.availability_zones, nat_gateways=0)
    with pytest.raises(ValueError, match="OpenSearch Serverless is not available in ca-west-1"):
        CollectionVpcEndpoint(stack, "Endpoint", vpc=vpc)


def test_fails_on_an_endpoint_in_one_az(sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc]) -> None:
    _, stack, vpc = sandbox
    with pytest.raises(ValueError, match=r"vpc_subnets must span at least 2 Availability Zones"):
        CollectionVpcEndpoint(
            stack,
            fresh("Endpoint"),
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(
                subnet_group_name="endpoints", availability_zones=["us-east-1a"]
            ),
        )


def test_fails_on_an_endpoint_with_two_subnets_in_one_az(
    sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc],
) -> None:
    _, stack, vpc = sandbox
    same_az = [
        subnet for subnet in vpc.isolated_subnets if subnet.availability_zone == "us-east-1a"
    ]
    assert len(same_az) == 2
    with pytest.raises(ValueError, match=r"vpc_subnets puts more than one subnet in us-east-1a"):
        CollectionVpcEndpoint(
            stack, fresh("Endpoint"), vpc=vpc, vpc_subnets=ec2.SubnetSelection(subnets=same_az)
        )


def test_fails_on_an_endpoint_with_more_than_six_subnets(tmp_path: Path) -> None:
    app = new_app(tmp_path)
    zones = [f"us-east-1{letter}" for letter in "abcdefg"]
    stack = ZonedStack(app, "Wide", region=REGION, zones=zones)
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        availability_zones=zones,
        nat_gateways=0,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="endpoints", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=24
            )
        ],
    )
    with pytest.raises(ValueError, match=r"vpc_subnets selects 7 subnets .* takes at most 6"):
        CollectionVpcEndpoint(stack, "Endpoint", vpc=vpc)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("ep", r"name 'ep' is 2 characters long"),
        ("Endpoint", r"name 'Endpoint' does not start with a lowercase letter"),
        ("end_point", r"name 'end_point' has characters other than lowercase"),
    ],
)
def test_fails_on_a_bad_endpoint_name(
    sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc], name: str, message: str
) -> None:
    _, stack, vpc = sandbox
    with pytest.raises(ValueError, match=message):
        CollectionVpcEndpoint(stack, fresh("Endpoint"), vpc=vpc, name=name)


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        (
            {"collection_arn": "arn:aws:s3:::bucket"},
            r"collection_arn must be an OpenSearch Serverless collection ARN",
        ),
        (
            {"collection_endpoint": "http://abc.us-east-1.aoss.amazonaws.com"},
            r"collection_endpoint must be the collection's https:// endpoint",
        ),
        ({"collection_name": "Shared"}, r"collection_name 'Shared' does not start with"),
    ],
)
def test_fails_to_import_with_bad_attributes(
    sandbox: tuple[cdk.App, ZonedStack, ec2.Vpc], attributes: dict[str, str], message: str
) -> None:
    _, stack, _ = sandbox
    good = {
        "collection_arn": "arn:aws:aoss:us-east-1:111111111111:collection/abc",
        "collection_endpoint": "https://abc.us-east-1.aoss.amazonaws.com",
        "collection_name": "shared",
    }
    with pytest.raises(ValueError, match=message):
        VectorCollection.from_collection_attributes(stack, fresh("I"), **{**good, **attributes})
