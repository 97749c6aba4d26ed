"""A private, highly available OpenSearch Serverless vector collection with grant-built access."""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_opensearchserverless as aoss
from constructs import Construct

from ha_inference._internal.names import claim_name
from ha_inference._internal.opensearch import NAME_MAX, NAME_PATTERN, check_name, check_region
from ha_inference._internal.props import checked_props
from ha_inference._internal.stacks import account_of, stack_of
from ha_inference._internal.tokens import is_unresolved
from ha_inference.metadata import mark_supporting
from ha_inference.vectors.collection_endpoint import CollectionVpcEndpoint

if TYPE_CHECKING:
    # Loaded where a metric is made: importing aws_cdk.aws_cloudwatch costs about 0.07 s of CPU
    # in every process, and an app that makes no metric never needs it.
    from aws_cdk import aws_cloudwatch as cloudwatch

SUPPORTING_KIND = "vector-search"
"""What :class:`ha_inference.RegionCoverage` calls a collection."""

NAMESPACE = "AWS/AOSS"
"""CloudWatch namespace of OpenSearch Serverless metrics."""

_SERVICE_PRINCIPAL = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")
_VPCE_ID = re.compile(r"^vpce-[0-9a-z]+$")

READ_COLLECTION_PERMISSIONS = ("aoss:DescribeCollectionItems",)
READ_INDEX_PERMISSIONS = ("aoss:DescribeIndex", "aoss:ReadDocument")
WRITE_COLLECTION_PERMISSIONS = (
    "aoss:CreateCollectionItems",
    "aoss:DescribeCollectionItems",
    "aoss:UpdateCollectionItems",
)
WRITE_INDEX_PERMISSIONS = (
    "aoss:CreateIndex",
    "aoss:DescribeIndex",
    "aoss:ReadDocument",
    "aoss:UpdateIndex",
    "aoss:WriteDocument",
)
"""Data-access permissions per grant (deleting collection items or indexes is never granted)."""

WRITE_DOCUMENTS_INDEX_PERMISSIONS = ("aoss:DescribeIndex", "aoss:WriteDocument")
CREATE_INDEX_INDEX_PERMISSIONS = ("aoss:CreateIndex", "aoss:DescribeIndex", "aoss:UpdateIndex")


class _Access(enum.Enum):
    """A grant level: its rule-set name and its collection and index permissions."""

    READ = ("read", READ_COLLECTION_PERMISSIONS, READ_INDEX_PERMISSIONS)
    WRITE_DOCUMENTS = (
        "write-documents",
        READ_COLLECTION_PERMISSIONS,
        WRITE_DOCUMENTS_INDEX_PERMISSIONS,
    )
    CREATE_INDEX = ("create-index", READ_COLLECTION_PERMISSIONS, CREATE_INDEX_INDEX_PERMISSIONS)
    READ_WRITE = ("read-write", WRITE_COLLECTION_PERMISSIONS, WRITE_INDEX_PERMISSIONS)


@runtime_checkable
class IVectorCollection(Protocol):
    """An OpenSearch Serverless vector collection, defined here or imported."""

    @property
    def collection_arn(self) -> str: ...

    @property
    def collection_endpoint(self) -> str: ...

    @property
    def collection_id(self) -> str: ...

    @property
    def collection_name(self) -> str: ...

    def grant_read(self, grantee: iam.IGrantable, *, index_name: str = "*") -> iam.Grant: ...

    def grant_write_documents(
        self, grantee: iam.IGrantable, *, index_name: str = "*"
    ) -> iam.Grant: ...

    def grant_create_index(
        self, grantee: iam.IGrantable, *, index_name: str = "*"
    ) -> iam.Grant: ...

    def grant_read_write(self, grantee: iam.IGrantable) -> iam.Grant: ...

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: cdk.Duration | None = None,
        label: str | None = None,
        unit: cloudwatch.Unit | None = None,
    ) -> cloudwatch.Metric: ...

    def metric_search_request_latency(self, *, statistic: str = "p99") -> cloudwatch.Metric: ...

    def metric_search_request_errors(self) -> cloudwatch.Metric: ...

    def metric_search_request_rate(self) -> cloudwatch.Metric: ...

    def metric_ingestion_request_errors(self) -> cloudwatch.Metric: ...

    def metric_client_error(self) -> cloudwatch.Metric: ...

    def metric_server_error(self) -> cloudwatch.Metric: ...


class _VectorCollectionBase(Construct):
    """Grants and metrics shared by defined and imported collections."""

    _account: str

    @property
    def collection_arn(self) -> str:
        """``arn:…:aoss:<region>:<account>:collection/<id>``."""
        raise NotImplementedError

    @property
    def collection_endpoint(self) -> str:
        """The collection's HTTPS endpoint, ``https://<id>.<region>.aoss.amazonaws.com``."""
        raise NotImplementedError

    @property
    def collection_id(self) -> str:
        """The collection's id (the metric dimension ``CollectionId``)."""
        raise NotImplementedError

    @property
    def collection_name(self) -> str:
        """The collection's name."""
        raise NotImplementedError

    def grant_read(self, grantee: iam.IGrantable, *, index_name: str = "*") -> iam.Grant:
        """Lets ``grantee`` search the collection's indexes and read their documents.

        Adds ``aoss:APIAccessAll`` on this collection to the grantee's IAM policy and the
        grantee's role to the data access policy with ``aoss:DescribeCollectionItems`` on the
        collection and ``aoss:DescribeIndex`` and ``aoss:ReadDocument`` on ``index_name``
        (default: every index of the collection). ``grantee`` must be (or act through) an IAM
        role, for example a Lambda function.
        """
        return self._grant(grantee, _Access.READ, index_name)

    def grant_write_documents(self, grantee: iam.IGrantable, *, index_name: str = "*") -> iam.Grant:
        """Lets ``grantee`` write documents into ``index_name`` and nothing more: no reading,
        no creating or changing indexes (``aoss:WriteDocument``, ``aoss:DescribeIndex``)."""
        return self._grant(grantee, _Access.WRITE_DOCUMENTS, index_name)

    def grant_create_index(self, grantee: iam.IGrantable, *, index_name: str = "*") -> iam.Grant:
        """Lets ``grantee`` create and update ``index_name`` (``aoss:CreateIndex``,
        ``aoss:UpdateIndex``, ``aoss:DescribeIndex``), without reading or writing documents."""
        return self._grant(grantee, _Access.CREATE_INDEX, index_name)

    def grant_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        """Lets ``grantee`` create and update indexes and read and write their documents.

        Like :meth:`grant_read`, plus ``aoss:CreateCollectionItems`` and
        ``aoss:UpdateCollectionItems`` on the collection and ``aoss:CreateIndex``,
        ``aoss:UpdateIndex`` and ``aoss:WriteDocument`` on its indexes. Deleting indexes or
        collection items is never granted.
        """
        return self._grant(grantee, _Access.READ_WRITE, "*")

    def _grant(self, grantee: iam.IGrantable, access: _Access, index_name: str) -> iam.Grant:
        role_arn = _role_arn(grantee)
        _check_index_pattern(index_name)
        grant = iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["aoss:APIAccessAll"],
            resource_arns=[self.collection_arn],
        )
        self._add_data_access(role_arn, access, index_name)
        return grant

    def _add_data_access(self, role_arn: str, access: _Access, index_name: str) -> None:
        """Adds ``role_arn`` to the data access policy; imported collections have none."""

    def metric(
        self,
        metric_name: str,
        *,
        statistic: str = "Sum",
        period: cdk.Duration | None = None,
        label: str | None = None,
        unit: cloudwatch.Unit | None = None,
    ) -> cloudwatch.Metric:
        """A metric of this collection in the ``AWS/AOSS`` namespace.

        Dimensions ``ClientId`` (the account), ``CollectionId`` and ``CollectionName``.
        Default: the ``Sum`` over 5 minutes.
        """
        from aws_cdk import aws_cloudwatch as cloudwatch  # noqa: PLC0415 (see the imports)

        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=metric_name,
            dimensions_map={
                "ClientId": self._account,
                "CollectionId": self.collection_id,
                "CollectionName": self.collection_name,
            },
            statistic=statistic,
            period=period if period is not None else cdk.Duration.minutes(5),
            label=label,
            unit=unit,
        )

    def metric_search_request_latency(self, *, statistic: str = "p99") -> cloudwatch.Metric:
        """``SearchRequestLatency``: time to complete search requests (ms). Default: p99."""
        from aws_cdk import aws_cloudwatch as cloudwatch  # noqa: PLC0415 (see the imports)

        return self.metric(
            "SearchRequestLatency", statistic=statistic, unit=cloudwatch.Unit.MILLISECONDS
        )

    def metric_search_request_errors(self) -> cloudwatch.Metric:
        """``SearchRequestErrors``: search requests that failed (Sum)."""
        return self.metric("SearchRequestErrors")

    def metric_search_request_rate(self) -> cloudwatch.Metric:
        """``SearchRequestRate``: search requests received (Sum)."""
        return self.metric("SearchRequestRate")

    def metric_ingestion_request_errors(self) -> cloudwatch.Metric:
        """``IngestionRequestErrors``: indexing requests that failed (Sum)."""
        return self.metric("IngestionRequestErrors")

    def metric_client_error(self) -> cloudwatch.Metric:
        """``4xx``: requests the collection answered with a 4xx status, e.g. 403 (Sum)."""
        return self.metric("4xx")

    def metric_server_error(self) -> cloudwatch.Metric:
        """``5xx``: requests the collection answered with a 5xx status (Sum)."""
        return self.metric("5xx")


class VectorCollection(_VectorCollectionBase):
    """An OpenSearch Serverless collection of type ``VECTORSEARCH``, reachable only privately.

    Resources: ``Resource`` (AWS::OpenSearchServerless::Collection), ``EncryptionPolicy`` and
    ``NetworkPolicy`` (AWS::OpenSearchServerless::SecurityPolicy), and, after the first
    ``grant_*`` call, ``DataAccessPolicy`` (AWS::OpenSearchServerless::AccessPolicy).

    * standby replicas keep capacity in another Availability Zone (turning them off is allowed
      only explicitly, and warns);
    * a network policy admits the collection and Dashboards endpoints only from the given
      OpenSearch Serverless VPC endpoint (plus ``allowed_services``); never from the internet;
    * a data access policy built from ``grant_*`` calls, one rule set per access level, created
      with the first grant; policy names derived from the collection name (``<name>-enc``,
      ``-net``, ``-data``; shortened with a 6-character hash when over 32 characters);
    * a second collection (or endpoint) of the app with the same name in the same account and
      Region is an error naming both constructs; a Region without OpenSearch Serverless is a
      synth error.
    """

    @checked_props
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        collection_name: str,
        vpc_endpoint: CollectionVpcEndpoint | str,
        allowed_services: Sequence[str] = (),
        standby_replicas: bool = True,
        encryption_key: kms.IKey | None = None,
        description: str | None = None,
        deletion_protection: bool = False,
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.DESTROY,
    ) -> None:
        """
        :param collection_name: 3-32 characters of ``[a-z0-9-]``, starting with a letter.
        :param vpc_endpoint: The OpenSearch Serverless VPC endpoint clients connect through: a
            :class:`CollectionVpcEndpoint`, or the ``vpce-…`` id of one defined elsewhere.
        :param allowed_services: AWS services that may reach the collection privately, by
            service principal, e.g. ``["bedrock.amazonaws.com"]`` for Bedrock knowledge bases
            (network policy ``SourceServices``). Default: none.
        :param standby_replicas: Keep standby replicas in another AZ. Default: ``True``.
            ``False`` halves the minimum capacity but loses AZ redundancy, and warns.
        :param encryption_key: Customer managed key for the data at rest. Its key policy must
            let the deploying role use it (the default key policy does). Default: an AWS owned
            key.
        :param description: Up to 1,000 characters. Default: none.
        :param deletion_protection: Refuse ``DeleteCollection`` calls. Default: ``False``.
        :param removal_policy: What a stack deletion does to the collection and its policies.
            Default: ``DESTROY``: the collection has a fixed name, unique per account and
            Region, so a retained one would make the next deploy of this stack fail. With
            ``RETAIN`` the collection keeps its vectors and its policies stay with it (it stays
            reachable for recovery); deploying the stack again then needs another
            ``collection_name`` or the old collection deleted first.
        """
        super().__init__(scope, construct_id)
        check_region(self, "VectorCollection")
        mark_supporting(self, SUPPORTING_KIND)
        check_name("collection_name", collection_name)
        services = _check_services(allowed_services)
        endpoint_id = _endpoint_id(vpc_endpoint)
        if (
            description is not None
            and not is_unresolved(description)
            and not 1 <= len(description) <= 1000
        ):
            raise ValueError(
                f"description must be 1-1000 characters, got {len(description)}; shorten it"
            )
        claim_name(self, "OpenSearch Serverless collection", collection_name, "collection_name")
        stack = stack_of(self)
        self._account = account_of(stack)
        self._name = collection_name

        encryption_rule: dict[str, Any] = {
            "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{collection_name}"]}]
        }
        if encryption_key is None:
            encryption_rule["AWSOwnedKey"] = True
        else:
            encryption_rule["AWSOwnedKey"] = False
            encryption_rule["KmsARN"] = encryption_key.key_arn
        self.encryption_policy = aoss.CfnSecurityPolicy(
            self,
            "EncryptionPolicy",
            name=policy_name(collection_name, "enc"),
            type="encryption",
            description=f"Encryption at rest for collection {collection_name}",
            policy=stack.to_json_string(encryption_rule),
        )

        network_rules: list[dict[str, Any]] = [
            {
                "Description": f"Collection and Dashboards of {collection_name} from the VPC "
                "endpoint only",
                "Rules": [
                    {"ResourceType": "collection", "Resource": [f"collection/{collection_name}"]},
                    {"ResourceType": "dashboard", "Resource": [f"collection/{collection_name}"]},
                ],
                "AllowFromPublic": False,
                "SourceVPCEs": [endpoint_id],
            }
        ]
        if services:
            network_rules.append(
                {
                    "Description": f"Collection {collection_name} from {', '.join(services)}",
                    "Rules": [
                        {
                            "ResourceType": "collection",
                            "Resource": [f"collection/{collection_name}"],
                        }
                    ],
                    "AllowFromPublic": False,
                    "SourceServices": list(services),
                }
            )
        self.network_policy = aoss.CfnSecurityPolicy(
            self,
            "NetworkPolicy",
            name=policy_name(collection_name, "net"),
            type="network",
            description=f"Private access only to collection {collection_name}",
            policy=stack.to_json_string(network_rules),
        )

        self.collection = aoss.CfnCollection(
            self,
            "Resource",
            name=collection_name,
            type="VECTORSEARCH",
            standby_replicas="ENABLED" if standby_replicas else "DISABLED",
            description=description,
            deletion_protection="ENABLED" if deletion_protection else None,
        )
        for resource in (self.collection, self.encryption_policy, self.network_policy):
            resource.apply_removal_policy(removal_policy)
        self._removal_policy = removal_policy
        # CreateCollection fails without a matching encryption policy; the network policy
        # first too, so the collection is never reachable by a route we did not declare.
        self.collection.add_resource_dependency(self.encryption_policy)
        self.collection.add_resource_dependency(self.network_policy)
        if not standby_replicas:
            cdk.Annotations.of(self).add_warning_v2(
                "ha-inference:standby-replicas-disabled",
                f"Collection {collection_name} has standby_replicas=False: OpenSearch Serverless "
                "keeps no standby replicas in another Availability Zone, so losing an AZ can "
                "interrupt search and indexing (GENREL05-BP01). Use it for tests only; set "
                "standby_replicas=True for production.",
            )

        self.data_access_policy: aoss.CfnAccessPolicy | None = None
        """The data access policy, created by the first ``grant_*`` call."""
        self._principals: dict[tuple[_Access, str], dict[str, str]] = {}

    @classmethod
    def from_collection_attributes(
        cls,
        scope: Construct,
        construct_id: str,
        *,
        collection_arn: str,
        collection_endpoint: str,
        collection_name: str,
        collection_id: str | None = None,
    ) -> IVectorCollection:
        """A collection defined elsewhere.

        Its ``grant_*`` methods add **only** the IAM side (``aoss:APIAccessAll`` on the
        collection); OpenSearch Serverless also needs the grantee in the collection's data
        access policy, which must be granted where the collection is defined.

        :param collection_id: Default: the last part of ``collection_arn``.
        """
        return _ImportedVectorCollection(
            scope,
            construct_id,
            collection_arn=collection_arn,
            collection_endpoint=collection_endpoint,
            collection_name=collection_name,
            collection_id=collection_id,
        )

    @property
    def collection_arn(self) -> str:
        return self.collection.attr_arn

    @property
    def collection_endpoint(self) -> str:
        return self.collection.attr_collection_endpoint

    @property
    def collection_id(self) -> str:
        return self.collection.attr_id

    @property
    def collection_name(self) -> str:
        return self._name

    def _add_data_access(self, role_arn: str, access: _Access, index_name: str) -> None:
        self._principals.setdefault((access, index_name), {})[role_arn] = role_arn
        if self.data_access_policy is None:
            self.data_access_policy = aoss.CfnAccessPolicy(
                self,
                "DataAccessPolicy",
                name=policy_name(self._name, "data"),
                type="data",
                description=f"Data access to collection {self._name}, built from grants",
                policy=cdk.Lazy.uncached_string(_DataPolicy(self)),
            )
            self.data_access_policy.apply_removal_policy(self._removal_policy)

    def _render_data_policy(self) -> str:
        name = self._name
        order = list(_Access)
        rule_sets = [
            {
                "Description": f"{access.value[0]} access to "
                + (f"{name}" if index == "*" else f"index {index} of {name}"),
                "Rules": [
                    {
                        "ResourceType": "collection",
                        "Resource": [f"collection/{name}"],
                        "Permission": list(access.value[1]),
                    },
                    {
                        "ResourceType": "index",
                        "Resource": [f"index/{name}/{index}"],
                        "Permission": list(access.value[2]),
                    },
                ],
                "Principal": list(principals.values()),
            }
            for (access, index), principals in sorted(
                self._principals.items(), key=lambda item: (order.index(item[0][0]), item[0][1])
            )
        ]
        return stack_of(self).to_json_string(rule_sets)


@jsii.implements(cdk.IStringProducer)
class _DataPolicy:
    """Renders the data access policy when the template is synthesized (after every grant)."""

    def __init__(self, collection: VectorCollection) -> None:
        self._collection = collection

    def produce(self, context: cdk.IResolveContext) -> str:
        return self._collection._render_data_policy()


class _ImportedVectorCollection(_VectorCollectionBase):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        collection_arn: str,
        collection_endpoint: str,
        collection_name: str,
        collection_id: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        if not is_unresolved(collection_name):
            check_name("collection_name", collection_name)
        parts = cdk.Arn.split(collection_arn, cdk.ArnFormat.SLASH_RESOURCE_NAME)
        if not is_unresolved(collection_arn) and (
            parts.service != "aoss" or parts.resource != "collection" or not parts.resource_name
        ):
            raise ValueError(
                f"collection_arn must be an OpenSearch Serverless collection ARN "
                f"(arn:aws:aoss:<region>:<account>:collection/<id>), got {collection_arn!r}"
            )
        if not is_unresolved(collection_endpoint) and not collection_endpoint.startswith(
            "https://"
        ):
            raise ValueError(
                f"collection_endpoint must be the collection's https:// endpoint, got "
                f"{collection_endpoint!r}; use the CollectionEndpoint attribute of the collection"
            )
        self._arn = collection_arn
        self._endpoint = collection_endpoint
        self._name = collection_name
        self._id = collection_id if collection_id is not None else str(parts.resource_name)
        self._account = str(parts.account) if parts.account else cdk.Stack.of(self).account

    @property
    def collection_arn(self) -> str:
        return self._arn

    @property
    def collection_endpoint(self) -> str:
        return self._endpoint

    @property
    def collection_id(self) -> str:
        return self._id

    @property
    def collection_name(self) -> str:
        return self._name


def policy_name(collection_name: str, suffix: str) -> str:
    """The name of a policy for ``collection_name`` (``<name>-<suffix>``, at most 32 chars).

    A name that would be too long keeps its first characters and gains a 6-character hash of
    the full collection name, so different collections never share a policy name.
    """
    name = f"{collection_name}-{suffix}"
    if len(name) > NAME_MAX:
        digest = hashlib.sha256(collection_name.encode()).hexdigest()[:6]
        keep = NAME_MAX - len(suffix) - len(digest) - 2
        name = f"{collection_name[:keep].rstrip('-')}-{digest}-{suffix}"
    if not NAME_PATTERN.match(name):  # pragma: no cover - guarded by check_name
        raise AssertionError(f"derived policy name {name!r} is invalid")
    return name


_INDEX_PATTERN = re.compile(r"^(\*|[a-z0-9][a-z0-9_.+-]{0,254}\*?)$")


def _check_index_pattern(index_name: str) -> None:
    if is_unresolved(index_name) or not _INDEX_PATTERN.match(index_name):
        raise ValueError(
            f"index_name must be a literal index name (lowercase, starting with a letter or "
            f"digit) or a prefix ending in '*', got {index_name!r}; for example 'passages'"
        )


def _check_services(allowed_services: Sequence[str]) -> tuple[str, ...]:
    if isinstance(allowed_services, str):
        raise TypeError(
            f"allowed_services must be a list of service principals, got the string "
            f"{allowed_services!r}; write allowed_services=[{allowed_services!r}]"
        )
    services: list[str] = []
    for service in allowed_services:
        if is_unresolved(service) or not _SERVICE_PRINCIPAL.match(service):
            raise ValueError(
                f"allowed_services has {service!r}, which is not a literal AWS service "
                "principal; name services like 'bedrock.amazonaws.com'"
            )
        if service not in services:
            services.append(service)
    return tuple(services)


def _endpoint_id(vpc_endpoint: CollectionVpcEndpoint | str) -> str:
    if isinstance(vpc_endpoint, CollectionVpcEndpoint):
        return vpc_endpoint.endpoint_id
    if isinstance(vpc_endpoint, str):
        if is_unresolved(vpc_endpoint) or _VPCE_ID.match(vpc_endpoint):
            return vpc_endpoint
        raise ValueError(
            f"vpc_endpoint must be an OpenSearch Serverless VPC endpoint id (vpce-…), got "
            f"{vpc_endpoint!r}; pass a CollectionVpcEndpoint or its endpoint_id"
        )
    raise TypeError(
        f"vpc_endpoint must be a CollectionVpcEndpoint or a vpce-… id, got "
        f"{type(vpc_endpoint).__name__}; an ec2.InterfaceVpcEndpoint cannot serve OpenSearch "
        "Serverless collections, create a CollectionVpcEndpoint"
    )


def _role_arn(grantee: iam.IGrantable) -> str:
    principal = grantee.grant_principal
    role_arn = getattr(principal, "role_arn", None)
    if not isinstance(role_arn, str):
        raise TypeError(
            f"grantee must be an IAM role or act through one (a Lambda function, an iam.Role), "
            f"got {type(grantee).__name__} whose principal is {type(principal).__name__}; "
            "OpenSearch Serverless data access policies here name roles, so grant to the role "
            "your workload assumes"
        )
    return role_arn
